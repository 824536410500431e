"""``pipe(command)``: a shard's rows through one command, as TSV lines on its stdin.

A writer thread feeds the command's stdin while the generator reads its stdout, so large
inputs and outputs cannot deadlock. Neither side holds more than about a batch beyond the
longest line, and that line once: the writer writes pieces of bounded size
(:func:`~gleamnb.runtime.pipe.tsv.tsv_pieces`), and the reader reads into one growing buffer
that it hands to the parser as it is, which makes the fields in that same memory.
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
from gleamnb.runtime.pipe.tsv import tsv_pieces

__all__ = ["pipe_batches"]

_BATCH_BYTES = 32 << 20  # cut a batch early when lines are long
_READ_SIZE = 1 << 20


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
                self.writing = True
                for piece in tsv_pieces(batch):
                    data = memoryview(piece)
                    while data and not self.stop.is_set():
                        data = data[os.write(fd, data) :]
                    if self.stop.is_set():
                        break
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
        out = _Output(fd)
        line_no = 1
        while out.read():
            if out.lines >= lines.BATCH_LINES or (out.size >= _BATCH_BYTES and out.lines):
                count, data = out.take()
                batch = parser.parse(data, first_line=line_no, command=command)
                line_no += count
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
        batch = parser.parse(out.rest(), first_line=line_no, command=command)
        finished = True
        yield from lines.slices(batch)
    finally:
        if not finished:
            writer.stop.set()
            kill_group(proc)
            proc.wait()
            writer.join(5.0)
        proc.stdout.close()


class _Output:
    """The command's stdout not parsed yet, read into one buffer that grows as it fills.

    ``buf[:size]`` holds the bytes read, ``lines`` of them ended by LF.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.size = 0
        self.lines = 0
        self._counted = 0  # the lines before the last read
        self._last_read = 0

    def read(self) -> int:
        """Read what the command has written, up to :data:`_READ_SIZE`; 0 at its end."""
        room = len(self.buf) - self.size
        if room < _READ_SIZE:
            self.buf.extend(bytes(_READ_SIZE - room))
        n = os.readv(self.fd, [memoryview(self.buf)[self.size : self.size + _READ_SIZE]])
        self._counted, self._last_read = self.lines, n
        self.lines += self.buf.count(b"\n", self.size, self.size + n)
        self.size += n
        return n

    def take(self) -> tuple[int, bytearray]:
        """Hand out the whole lines read, as the buffer itself: after a whole number of
        batches of :data:`~gleamnb.runtime.pipe.lines.BATCH_LINES` lines when there are that
        many, else after the last LF. What follows (a line not ended yet, most often less than a
        read, at most about :data:`_BATCH_BYTES`) starts a new buffer.
        """
        if self.lines >= lines.BATCH_LINES:
            whole = self.lines // lines.BATCH_LINES * lines.BATCH_LINES
            start = self.size - self._last_read
            last = np.frombuffer(self.buf, dtype=np.uint8, count=self.size)[start:]
            cut = start + int(np.flatnonzero(last == 10)[whole - self._counted - 1]) + 1
            del last
        else:
            whole = self.lines
            cut = self.buf.rfind(b"\n", 0, self.size) + 1
        buf = self.buf
        self.buf = bytearray(memoryview(buf)[cut : self.size])
        del buf[cut:]
        self.size -= cut
        self.lines -= whole
        return whole, buf

    def rest(self) -> bytearray:
        """All that is left, the last line maybe without its LF."""
        del self.buf[self.size :]
        return self.buf
