"""``pipe(command)``: a shard's rows through one command, as TSV lines on its stdin.

A writer thread feeds the command's stdin while the generator reads its stdout, so large
inputs and outputs cannot deadlock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from gleamnb.runtime.pipe import lines
from gleamnb.runtime.pipe.process import (
    StderrTail,
    exit_error,
    group_alive,
    grow_pipe,
    kill_group,
    spawn,
)
from gleamnb.runtime.pipe.tsv import batch_to_tsv_lines

__all__ = ["pipe_batches"]

_BATCH_BYTES = 32 << 20  # cut a batch early when lines are long
_READ_SIZE = 1 << 20
_WRITE_SIZE = 1 << 20


class _Writer:
    """Writes the TSV lines of every input batch to the child's stdin, in its own thread.

    The input iterator is consumed (and, at the end, closed) in this thread. A child that
    stops reading makes writes fail with EPIPE: the writer then stops quietly. Any other
    failure (the upstream steps raising) is kept in ``error`` and kills the child.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch], proc: subprocess.Popen[bytes]) -> None:
        self._batches = batches
        self._proc = proc
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.writing = False
        self._thread = threading.Thread(target=self._run, name="pipe-stdin", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        fd = stdin.fileno()
        try:
            for batch in self._batches:
                if self.stop.is_set():
                    break
                data = memoryview(batch_to_tsv_lines(batch))
                self.writing = True
                while data and not self.stop.is_set():
                    written = os.write(fd, data[:_WRITE_SIZE])
                    data = data[written:]
                self.writing = False
        except BrokenPipeError:
            pass  # the command exited without reading everything: its exit code decides
        except BaseException as exc:
            self.error = exc
            kill_group(self._proc)
        finally:
            self.writing = False
            try:
                stdin.close()
            except OSError:
                pass
            close = getattr(self._batches, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException as exc:
                    if self.error is None:
                        self.error = exc

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the writer; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def pipe_batches(
    command: str,
    batches: Iterator[pa.RecordBatch],
    *,
    step: str | None = None,
    shard: object = None,
    env: dict[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Run ``command`` over a shard: its rows as TSV lines on stdin, stdout lines back as rows.

    The command runs with ``/bin/sh -c`` in a process group of its own, fed by a writer
    thread (so large inputs and outputs cannot deadlock) while this generator reads its
    stdout incrementally. Closing the generator early kills the command and reaps it.

    Parameters
    ----------
    command
        Shell code, e.g. ``"sort | uniq -c"``.
    batches
        The shard's input. It is consumed in the writer thread, and closed when done.
    step, shard
        Named in errors.
    env
        Variables added to (or overriding) the executor's environment for the command.

    Yields
    ------
    pyarrow.RecordBatch
        String columns ``_1 .. _k``, at most
        :data:`~gleamnb.runtime.pipe.lines.BATCH_LINES` rows each.

    Raises
    ------
    PipeCommandError
        The command exited with a non-zero code (127: not found), with its stderr tail.
    SchemaError
        Output lines with different numbers of tab-separated fields.

    Examples
    --------
    >>> from gleamnb.rows import batch_to_rows, rows_to_batch
    >>> rows = rows_to_batch([("b", 2), ("a", 1), ("c", 3)])
    >>> out = pipe_batches("sort | awk -F'\\t' '{print $2 \\"\\t\\" $1}'", iter([rows]))
    >>> [row for b in out for row in batch_to_rows(b)]
    [('1', 'a'), ('2', 'b'), ('3', 'c')]
    >>> list(pipe_batches("echo oops >&2; exit 3", iter([rows])))
    Traceback (most recent call last):
    ...
    gleamnb.errors.PipeCommandError: pipe command 'echo oops >&2; exit 3' exited with code 3
      fix: see the command's stderr below; run it by hand on a few input lines to debug
    stderr:
    oops
    """
    proc = spawn(command, stdin=subprocess.PIPE, env=env, step=step, shard=shard)
    assert proc.stdin is not None and proc.stdout is not None
    grow_pipe(proc.stdin.fileno())
    grow_pipe(proc.stdout.fileno())
    stderr = StderrTail(proc.stderr)
    writer = _Writer(iter(batches), proc)
    parser = lines.LineParser(step=step, shard=shard)
    fd = proc.stdout.fileno()
    finished = False
    try:
        parts: list[bytes] = []
        pending_bytes = pending_lines = 0
        line_no = 1
        while chunk := os.read(fd, _READ_SIZE):
            parts.append(chunk)
            pending_bytes += len(chunk)
            pending_lines += chunk.count(b"\n")
            full = pending_lines >= lines.BATCH_LINES
            if full or (pending_bytes >= _BATCH_BYTES and pending_lines):
                data = b"".join(parts)
                cut, count = _cut(data)
                batch = parser.parse(memoryview(data)[:cut], first_line=line_no, command=command)
                line_no += count
                rest = data[cut:]
                parts = [rest] if rest else []
                pending_bytes, pending_lines = len(rest), pending_lines - count
                yield from lines.slices(batch)

        proc.wait()
        writer.stop.set()  # the command is gone: nothing more can be written
        if not writer.join(1.0) and writer.writing and group_alive(proc.pid):
            # Only a leftover grandchild (in the command's group) can hold stdin open
            # without reading it; the command has exited, so end its group.
            os.killpg(proc.pid, signal.SIGKILL)
        writer.join()
        tail = stderr.text()
        if writer.error is not None:
            raise writer.error
        if proc.returncode != 0:
            raise exit_error(
                command,
                proc.returncode,
                tail,
                truncated=stderr.truncated,
                step=step,
                shard=shard,
                env=env,
            )
        data = b"".join(parts)
        batch = parser.parse(data, first_line=line_no, command=command)
        finished = True
        yield from lines.slices(batch)
    finally:
        if not finished:
            writer.stop.set()
            kill_group(proc)
            proc.wait()
            writer.join(5.0)
        proc.stdout.close()


def _cut(data: bytes) -> tuple[int, int]:
    """Where to cut pending output: after a whole number of full batches of lines, or after
    the last whole line when there is less than a batch (lines too long for a full one)."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    whole = len(newlines) // lines.BATCH_LINES * lines.BATCH_LINES or len(newlines)
    return int(newlines[whole - 1]) + 1, whole
