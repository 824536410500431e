"""The executor: a process that runs stage tasks until its stdin closes.

See :mod:`gleamnb.runtime.protocol` for the messages. :func:`run_one` is also what an
in-process ("inline") runner calls, so both paths run exactly the same code.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import io
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

import pyarrow as pa

from gleamnb.errors import GleamError, RowText, RunCancelledError, exception_text
from gleamnb.runtime import THREADS_ENV
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.ops.base import user_traceback
from gleamnb.runtime.pandas_probe import defer_pandas
from gleamnb.runtime.protocol import (
    Progress,
    Ready,
    RunTask,
    StopTask,
    TaskDone,
    TaskFailed,
    open_function,
    receive,
    send,
)
from gleamnb.runtime.stage import StageSpec, execute_task
from gleamnb.runtime.store import FileInputs, FileSink

__all__ = ["StageCache", "run_one", "main", "TaskInterrupted", "in_task"]


class TaskInterrupted(BaseException):
    """Raised inside a running task when the runner asks it to stop (SIGUSR1)."""


class _Interrupts:
    """When SIGUSR1 may interrupt: only inside a task, never while a frame is being sent.

    ``signals`` counts every SIGUSR1 received; with the StopTask frames read, it tells
    whether a signal's frame is still to come (see the protocol's StopTask).
    """

    def __init__(self) -> None:
        self.in_task = False
        self.armed = False
        self.pending = False
        self.signals = 0

    def handler(self, signum: int, frame: object) -> None:
        self.signals += 1
        if self.armed:
            self.armed = False
            raise TaskInterrupted
        self.pending = True  # the task sees it when it next arms

    def arm(self) -> None:
        self.armed = True
        if self.pending:
            self.pending = False
            self.armed = False
            raise TaskInterrupted


_interrupts = _Interrupts()


def in_task() -> bool:
    """True while this process (an executor, or an inline runner's) runs a task's code.

    Runners refuse to start a run then: a function that calls ``collect()`` would start
    executors inside an executor (see :mod:`gleamnb.runners.default`).
    """
    return _interrupts.in_task


class StageCache:
    """The stages and user functions this process holds, as the runner tells it.

    A stage's spec names its functions by digest (see :mod:`gleamnb.runtime.protocol`); a
    function is unpickled when a stage first needs it and kept, across tasks and runs, until
    a task's message says to forget it. The runner keeps a record of what each executor
    holds, so nothing is dropped here unless the runner says so.
    """

    def __init__(self) -> None:
        self.stages: dict[str, StageSpec] = {}
        self.functions: dict[str, Any] = {}
        self.payloads: dict[str, tuple[bytes | memoryview, list[memoryview]]] = {}

    def receive(self, msg: RunTask) -> None:
        """Let go of what ``msg`` says to forget, then keep the functions it brings."""
        for key in msg.forget:
            self.stages.pop(key, None)
            self.functions.pop(key, None)
            self.payloads.pop(key, None)
        for fn in msg.functions:
            self.payloads[fn.digest] = open_function(fn)

    def function(self, digest: str) -> Any:
        """The function with this digest, unpickled the first time it is asked for."""
        if digest not in self.functions:
            payload = self.payloads.get(digest)
            if payload is None:
                raise GleamError(f"executor has no function {digest!r} and was not sent it")
            data, buffers = payload
            self.functions[digest] = pickle.loads(data, buffers=buffers)
            del self.payloads[digest]
        return self.functions[digest]

    def get(self, key: str, blob: bytes | None) -> StageSpec:
        stage = self.stages.get(key)
        if stage is None:
            if blob is None:
                raise GleamError(f"executor has no stage {key!r} and was not sent it")
            stage = self.stages[key] = _StageUnpickler(blob, self).load()
        return stage


class _StageUnpickler(pickle.Unpickler):
    """Unpickles a stage's spec, taking its functions (persistent ids) from a cache."""

    def __init__(self, blob: bytes, cache: StageCache) -> None:
        super().__init__(io.BytesIO(blob))
        self.cache = cache

    def persistent_load(self, pid: Any) -> Any:
        return self.cache.function(pid)


def _portable(err: GleamError) -> GleamError:
    """Make an error safe to pickle: the offending row travels as its repr."""
    if err.row is not None and not isinstance(err.row, RowText):
        err.row = RowText.of(err.row)
    return err


def _cancelled(msg: RunTask) -> TaskFailed:
    return TaskFailed(msg.task, RunCancelledError("task stopped by the runner", **msg.where))


def _stopped_before_start(msg: RunTask, proto_in: BinaryIO, stops: int) -> tuple[bool, int]:
    """Whether ``msg``'s task was stopped before it started, and the StopTask frames read.

    The runner writes a StopTask frame before each signal. A signal whose frame has not been
    read yet therefore came for the task just read, and its frame follows it in the stream.
    """
    _interrupts.pending = False  # every signal so far is accounted for below
    if _interrupts.signals <= stops:
        return False, stops
    stop = receive(proto_in)
    return isinstance(stop, StopTask) and stop.task == msg.task, stops + 1


def run_one(
    msg: RunTask,
    stages: StageCache,
    progress: Callable[[Progress], None] | None = None,
) -> TaskDone | TaskFailed:
    """Run one task message and return its reply (never raises for task errors).

    ``progress`` gets the task's :class:`~gleamnb.runtime.protocol.Progress` now and then.
    """
    sink: FileSink | None = None
    stage: StageSpec | None = None
    _interrupts.in_task = True
    try:
        _interrupts.arm()
        for entry in reversed(msg.sys_path):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        stage = stages.get(msg.stage_key, msg.stage_blob)
        ctx = TaskContext(
            flow=stage.flow,
            stage=stage.name,
            shard=msg.shard,
            num_shards=stage.num_tasks,
            inputs=FileInputs(msg.inputs),
            params=msg.params,
            progress=(
                (lambda *figures: progress(Progress(msg.task, *figures))) if progress else None
            ),
        )
        # the runner's share of shared memory for this task: past it, pieces go to spill_dir
        sink = FileSink(
            msg.out_dir,
            msg.prefix,
            stage.output.buckets,
            spill_dir=msg.params.get("spill_dir"),
            allowance=msg.params.get("memory_allowance"),
        )
        outcome = execute_task(stage, ctx, sink)
        pieces = sink.close()
        _interrupts.armed = False
        return TaskDone(msg.task, pieces, outcome.stats, outcome.extras, outcome.seconds)
    except TaskInterrupted:
        if sink is not None:
            sink.abort()
        return _cancelled(msg)
    except GleamError as err:
        if sink is not None:
            sink.abort()
        return TaskFailed(msg.task, _portable(err.with_context(**msg.where)))
    except Exception as exc:
        if sink is not None:
            sink.abort()
        where: dict[str, Any] = dict(msg.where)
        if stage is None:
            err = GleamError(
                "the executor cannot load the functions of this stage: "
                f"{type(exc).__name__}: {exception_text(exc)}",
                detail=user_traceback(exc, 0),
                hint="functions from your own modules are imported by name in the executors: "
                "keep those modules importable (on sys.path, or installed), or define the "
                "function in the notebook or script itself",
                **where,
            )
        else:
            err = GleamError(
                f"task failed: {type(exc).__name__}: {exception_text(exc)}",
                detail=user_traceback(exc, 0),
                **where,
            )
        return TaskFailed(msg.task, err)
    finally:
        _interrupts.armed = _interrupts.in_task = _interrupts.pending = False


def _prepare() -> None:
    """Do the one-time work of a first task before saying Ready.

    Import the operators and sources that stages are made of, Arrow's compute functions (the
    kernels import them where they run, so that a driver planning a flow does not) and query
    engine (joins and hash aggregates run on it), so the first task of a run does not pay for
    them;
    pyarrow makes its one-time check for pandas without importing it (see
    :mod:`gleamnb.runtime.pandas_probe`).
    """
    defer_pandas()
    import pyarrow.acero
    import pyarrow.compute
    import pyarrow.orc
    import pyarrow.parquet  # noqa: F401 - the readers and writer import them where they open files

    import gleamnb.runtime.ops.aggregate
    import gleamnb.runtime.ops.io
    import gleamnb.runtime.ops.join
    import gleamnb.runtime.ops.mappers
    import gleamnb.runtime.ops.relational
    import gleamnb.runtime.ops.udf
    import gleamnb.runtime.sources  # noqa: F401


#: A finished task's memory goes back to the system when its executor is left idle: this many
#: seconds without a next task. Between two tasks run back to back it is kept (the next task
#: would fault the same pages in again, which costs more than the work on small shards) unless
#: the process holds more than :data:`KEEP_BYTES` above its footprint at start-up.
IDLE_SECONDS = 0.02
KEEP_BYTES = 256 << 20
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _resident() -> int:
    """This process's resident memory in bytes (0 where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _more_within(stream: BinaryIO, seconds: float) -> bool:
    """Whether the next frame starts arriving on ``stream`` within ``seconds``.

    Only the pipe is looked at: a frame already read ahead into the stream's buffer counts as
    none, so the answer errs toward handing memory back.
    """
    readable, _, _ = select.select([stream], [], [], seconds)
    return bool(readable)


def release_memory(pool: pa.MemoryPool) -> None:
    """Hand a finished task's memory back to the system.

    An idle executor should not sit on the peak of its last task: the next stage (and the
    memory budget) need it. Collect reference cycles left by the task's generators, free
    Arrow's cached pages, and trim the C heap.
    """
    gc.collect()
    pool.release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


#: Seconds between an executor's looks at whether the process that started it still runs.
PARENT_CHECK_SECONDS = 0.5


def _exit_with_parent() -> None:
    """End this process soon after the one that started it is gone (a driver killed with
    SIGKILL), even in the middle of a task: nobody waits for its results, and it would go on
    using the cores and writing into a run folder the next runner removes."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="gleamnb-parent-watch", daemon=True).start()


def main() -> None:
    """Entry point of ``python -m gleamnb.runtime``."""
    _exit_with_parent()
    proto_in: BinaryIO = os.fdopen(os.dup(0), "rb")
    proto_out: BinaryIO = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # user prints go to stderr, never into the protocol stream
    sys.stdout = sys.stderr
    faulthandler.enable(sys.stderr)
    threads = os.environ.get(THREADS_ENV)
    if threads:  # this process's share of the cores (see gleamnb.runners.spawn)
        pa.set_cpu_count(int(threads))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides about cancelling
    signal.signal(signal.SIGUSR1, _interrupts.handler)
    stages = StageCache()

    def progress(report: Progress) -> None:
        _interrupts.armed = False  # a frame must go out whole
        send(proto_out, report)
        _interrupts.arm()

    _prepare()
    # what the imports made lives as long as the process: keep it out of the collections
    # that release_memory runs after each task (a full one walks every module's objects)
    gc.freeze()
    send(proto_out, Ready(os.getpid()))
    pool = pa.default_memory_pool()
    footprint = _resident()
    stops = 0  # StopTask frames read
    while True:
        msg = receive(proto_in)
        if msg is None:
            break
        if isinstance(msg, StopTask):  # for a task that already ended
            stops += 1
        elif isinstance(msg, RunTask):
            stages.receive(msg)  # what it brings and forgets, whether the task runs or not
            stopped, stops = _stopped_before_start(msg, proto_in, stops)
            if stopped:
                send(proto_out, _cancelled(msg))
                continue
            reply = run_one(msg, stages, progress)
            send(proto_out, reply)
            if (not isinstance(reply, TaskDone) or reply.seconds > 0.05) and (
                _resident() - footprint > KEEP_BYTES or not _more_within(proto_in, IDLE_SECONDS)
            ):
                release_memory(pool)
    sys.stderr.flush()
