"""The protocol between a runner and an executor process (``python -m gleamnb.runtime``).

Transport
    The runner starts the executor with three pipes. Control messages travel on the
    executor's stdin (runner -> executor) and stdout (executor -> runner) as **frames**: a
    4-byte big-endian length, then a pickle of one message dataclass below. The executor
    moves its own fd 1 to stderr before running any user code, so a ``print`` in a UDF can
    never corrupt the stream (a Gleam flaw). stderr carries the user's prints and, after a
    crash, Python's fault handler dump; the runner forwards it and keeps its tail.

Data
    Shard data never travels in frames and is never pickled row by row: tasks read their
    inputs from Arrow IPC files (memory-mapped) and write their outputs to new IPC files in
    the folders the runner names; frames carry only paths, counts and statistics. A user
    function of 1 MiB or more (with the data it captures) does not travel in a frame either:
    it is a file the executor maps (:class:`Function`).

Sequence::

    executor                                runner
    Ready(pid, version)           ----->
                                  <-----    RunTask(task, stage key, stage blob once,
                                                    functions it lacks, keys to forget, ...)
    Progress(task, read, written) ----->    (throttled, ~5 per second)
    TaskDone(task, pieces, stats) ----->
      or TaskFailed(task, error)  ----->
                                  <-----    RunTask(...) ...
                                            stdin closed  => executor exits

Stopping a task (the run failed elsewhere, or was cancelled)::

                                  <-----    StopTask(task), then the signal SIGUSR1
    TaskFailed(task, cancelled)   ----->    (or TaskDone, if it had just finished)

The signal interrupts the task wherever its Python code is. It may also reach an executor
that has not yet read that task's RunTask, or has just replied to it; the StopTask frame,
always written before the signal, says which task the signal was for, so a task is never
cancelled by a signal meant for another. The executor counts the signals it got and the
StopTask frames it read: when it reads a RunTask while a signal's frame is still unread,
that frame follows the RunTask (the signal came for that task before it started) and the
task is cancelled if the frame names it; a StopTask read between tasks is only counted.

Each executor runs one task at a time. ``stage_blob`` (the cloudpickled
:class:`~gleamnb.runtime.stage.StageSpec`) is sent with the first task of a stage that
executor runs and cached by ``stage_key`` afterwards. The user functions in it are persistent
ids: the digests of :class:`Function` payloads, which the executor keeps across tasks and runs
until a RunTask's ``forget`` names them (it names stages of past runs too). The runner sends a
function only to executors that do not hold it, and keeps a record of what each one holds;
an executor changes what it holds only as told, so the two always agree: it takes in what a
RunTask brings and forgets even when that task is cancelled before it starts. An executor
that dies mid-task (``os._exit``, a signal, the OOM killer) is seen by the runner as
end-of-file on its stdout; the runner fails that task with an executor-crash error and
starts a fresh executor for later tasks.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from gleamnb.errors import GleamError
from gleamnb.runtime.context import StepStats
from gleamnb.runtime.store import Piece

__all__ = [
    "Ready",
    "Function",
    "write_function",
    "open_function",
    "RunTask",
    "StopTask",
    "Progress",
    "TaskDone",
    "TaskFailed",
    "send",
    "receive",
    "PROTOCOL_VERSION",
]

PROTOCOL_VERSION = 2
_HEADER = struct.Struct(">I")
_ALIGN = mmap.ALLOCATIONGRANULARITY


@dataclass(frozen=True)
class Ready:
    """First message of an executor: it is up and waiting for tasks."""

    pid: int
    version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Function:
    """A user function an executor keeps by ``digest``, the digest of its pickle's parts.

    A small one travels in the frame: ``data`` is its pickle (and ``buffers`` its
    out-of-band buffers, where no file is shared with the runner). A large one is the file
    ``path``, which holds its pickle and then its out-of-band buffers (a numpy array's data)
    at ``spans``, ``(offset, size)`` each, page-aligned: the executor maps each part
    copy-on-write, so executors share its pages and nothing is copied on the way.
    """

    digest: str
    data: bytes = b""
    path: str | None = None
    spans: tuple[tuple[int, int], ...] = ()
    buffers: tuple[bytes, ...] = ()


def write_function(path: str, digest: str, parts: Sequence[bytes | memoryview]) -> Function:
    """Write a function's pickle and buffers (``parts``) to ``path`` for executors to map.

    >>> import os, shutil, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> data, buffers = open_function(write_function(f"{folder}/f", "d1", [b"pickle", b"buf"]))
    >>> shutil.rmtree(folder)
    >>> bytes(data), [bytes(b) for b in buffers]
    (b'pickle', [b'buf'])
    """
    spans = []
    with open(path, "wb") as f:
        offset = 0
        for part in parts:
            size = memoryview(part).nbytes
            spans.append((offset, size))
            f.write(part)
            offset += size
            pad = -offset % _ALIGN
            f.write(b"\0" * pad)
            offset += pad
    return Function(digest, path=path, spans=tuple(spans))


def open_function(fn: Function) -> tuple[bytes | memoryview, list[memoryview]]:
    """The pickle of ``fn`` and its buffers, mapped copy-on-write from its file if it has one.

    The buffers stay valid after the file is removed (the mapping holds the pages).
    """
    if fn.path is None:
        return fn.data, [memoryview(b) for b in fn.buffers]
    fd = os.open(fn.path, os.O_RDONLY)
    try:
        parts = [
            memoryview(mmap.mmap(fd, size, access=mmap.ACCESS_COPY, offset=offset))
            if size
            else memoryview(b"")
            for offset, size in fn.spans
        ]
    finally:
        os.close(fd)
    return parts[0], parts[1:]


@dataclass(frozen=True)
class RunTask:
    """Run task ``task`` (shard ``shard``) of stage ``stage_key``.

    ``inputs[k]`` lists the piece files of input ``k`` in order; ``params`` holds the task's
    own parameters (its file splits, its int range, the cut points of a range sort, its
    ``memory_budget`` for sorting) and, for a stage whose output may live in shared memory, its
    ``memory_allowance`` of it and the ``spill_dir``. The output pieces, named
    ``{prefix}-b{bucket}.arrow``, go to ``out_dir`` (shared memory, or the disk folder of an
    ``on_disk()`` stage); once writing them would pass the allowance, every bucket continues in
    a file in ``spill_dir`` (see :class:`~gleamnb.runtime.store.FileSink`).
    ``where`` (flow, stage, shard) names the task in errors raised before its stage is
    loaded; ``sys_path`` is the driver's import path, so functions that travel by reference
    (from modules next to the user's script) import in the executor too. ``functions`` are
    the stage's functions the executor does not hold yet; ``forget`` the stage keys and
    function digests it may let go, before it takes these.
    """

    task: int
    stage_key: str
    stage_blob: bytes | None
    shard: int
    inputs: list[list[str]]
    params: dict[str, Any]
    out_dir: str
    prefix: str
    where: dict[str, Any] = field(default_factory=dict)
    sys_path: tuple[str, ...] = ()
    functions: tuple[Function, ...] = ()
    forget: tuple[str, ...] = ()


@dataclass(frozen=True)
class StopTask:
    """Stop task ``task`` (sent just before SIGUSR1; see the module docstring)."""

    task: int


@dataclass(frozen=True)
class Progress:
    """How far running task ``task`` has got (sent at most 5 times a second).

    ``read_rows``/``read_bytes``: what the stage's head has emitted so far (the rows it read
    from its files, range or input pieces); ``rows``/``bytes``: what its last step has emitted
    so far (the rows it wrote to its output). A task reports each of them only growing.
    """

    task: int
    read_rows: int = 0
    read_bytes: int = 0
    rows: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class TaskDone:
    """Task ``task`` finished: ``pieces[b]`` is its output bucket ``b`` (None if it has none;
    a piece's ``rest`` continues it in ``spill_dir``), ``stats`` one entry per step."""

    task: int
    pieces: list[Piece | None]
    stats: list[StepStats]
    extras: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class TaskFailed:
    task: int
    error: GleamError


def send(stream: BinaryIO, message: object) -> None:
    """Write one frame and flush."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """Read one frame; None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)
