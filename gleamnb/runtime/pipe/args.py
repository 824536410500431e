"""``pipe_as_args(template)``: one command per row, the row's fields as shell-quoted words."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from gleamnb.errors import FieldError, PipeCommandError, truncate
from gleamnb.rows import batch_to_rows
from gleamnb.runtime.pipe import lines
from gleamnb.runtime.pipe.process import STDERR_TAIL_BYTES, exit_error, kill_group, spawn
from gleamnb.runtime.pipe.tsv import format_columns

__all__ = ["pipe_as_args"]

_PLACEHOLDER = re.compile(r"\$(?:\{(\d+)\}|(\d+))")


def _parse_template(template: str) -> list[str | int]:
    """Literal text and 0-based field indexes; ``$0`` is left to the shell."""
    parts: list[str | int] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        index = int(m.group(1) or m.group(2))
        if index == 0:
            continue
        parts.append(template[pos : m.start()])
        parts.append(index - 1)
        pos = m.end()
    parts.append(template[pos:])
    return [p for p in parts if p != ""]


class _Result:
    __slots__ = ("code", "stderr", "stdout")

    def __init__(self, code: int, stdout: bytes, stderr: bytes) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr


class _ArgsRunner:
    """Runs one command per row in a few threads, tracking live children to kill them."""

    def __init__(self, env: dict[str, str] | None, step: Any, shard: Any) -> None:
        self.env = env
        self.step = step
        self.shard = shard
        self.stopped = False
        self._live: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def run(self, command: str) -> _Result:
        if self.stopped:
            return _Result(-signal.SIGKILL, b"", b"")
        proc = spawn(
            command, stdin=subprocess.DEVNULL, env=self.env, step=self.step, shard=self.shard
        )
        with self._lock:
            self._live.add(proc)
            if self.stopped:
                kill_group(proc)
        try:
            out, err = proc.communicate()
        finally:
            with self._lock:
                self._live.discard(proc)
        return _Result(proc.returncode, out, err)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for proc in self._live:
                kill_group(proc)


def pipe_as_args(
    template: str,
    batches: Iterator[pa.RecordBatch],
    *,
    step: str | None = None,
    shard: object = None,
    env: dict[str, str] | None = None,
    workers: int = 4,
) -> Iterator[pa.RecordBatch]:
    """Run a command once per row, with the row's fields as shell-quoted arguments.

    In ``template``, ``$1``, ``$2``, ... and ``${1}`` stand for the row's fields (``$12`` is
    field 12; ``$0`` is left to the shell). Each is replaced by the field's text, formatted
    as :func:`~gleamnb.runtime.pipe.tsv.format_field` does, then quoted with
    :func:`shlex.quote`, so a field is always one word and never shell code. Placeholders are
    replaced everywhere, inside quotes too. The commands run with ``/bin/sh -c``, stdin
    closed, up to ``workers`` at a time; their stdout lines become rows as in
    :func:`~gleamnb.runtime.pipe.stream.pipe_batches`, in the order of the input rows.

    Parameters
    ----------
    template
        Shell code with placeholders, e.g. ``"wc -c < $1"``.
    batches
        The shard's input rows.
    step, shard, env
        As for :func:`~gleamnb.runtime.pipe.stream.pipe_batches`; ``env`` is every command's.
    workers
        How many commands may run at once (1: one after the other).

    Yields
    ------
    pyarrow.RecordBatch
        The commands' output rows, in the input rows' order, batched as by ``pipe_batches``.

    Raises
    ------
    PipeCommandError
        A command exited with a non-zero code; the error names the row.
    SchemaError
        As for ``pipe_batches``: all the commands' output lines are one step's output.
    FieldError
        The template names a field the rows do not have.

    Examples
    --------
    >>> from gleamnb.rows import batch_to_rows, rows_to_batch
    >>> rows = rows_to_batch([("a b", 1), ("it's; rm -rf /", 2)])
    >>> out = pipe_as_args("echo $2-$1", iter([rows]))
    >>> [row for b in out for row in batch_to_rows(b)]
    [('1-a b',), ("2-it's; rm -rf /",)]
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    parts = _parse_template(template)
    needed = max((p for p in parts if isinstance(p, int)), default=-1) + 1
    runner = _ArgsRunner(env, step, shard)
    parser = lines.LineParser(step=step, shard=shard)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipe-args")
    window: deque[tuple[Future[_Result], str, pa.RecordBatch, int, int]] = deque()
    out: list[pa.RecordBatch] = []
    out_rows = 0

    def commands() -> Iterator[tuple[str, pa.RecordBatch, int, int]]:
        seen = 0
        for batch in batches:
            if isinstance(batch, pa.Table):
                batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
                if batch is None:
                    continue
            if batch.num_rows and batch.num_columns < needed:
                raise FieldError(
                    f"pipe_as_args template {truncate(template, 120)!r} uses ${needed}, "
                    f"but the rows have {batch.num_columns} field(s)",
                    step=step,
                    shard=shard,
                    row=batch_to_rows(batch.slice(0, 1))[0],
                    hint=f"use $1 .. ${batch.num_columns} only",
                )
            texts = [
                [shlex.quote(b.decode("utf-8", "surrogateescape")) for b in col.to_pylist()]
                for col in format_columns(batch)
            ]
            for i in range(batch.num_rows):
                command = "".join(p if isinstance(p, str) else texts[p][i] for p in parts)
                yield command, batch, i, seen + i + 1
            seen += batch.num_rows

    def finish(
        future: Future[_Result], command: str, batch: pa.RecordBatch, i: int, number: int
    ) -> None:
        nonlocal out_rows

        def row() -> Any:
            return batch_to_rows(batch.slice(i, 1))[0]

        try:
            result = future.result()
        except PipeCommandError as exc:  # could not even start it (a NUL byte in a field)
            raise exc.with_context(row=row()) from exc.__cause__

        if result.code != 0:
            tail = result.stderr[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")
            raise exit_error(
                command,
                result.code,
                tail,
                truncated=len(result.stderr) > STDERR_TAIL_BYTES,
                step=step,
                shard=shard,
                row=row(),
                env=env,
            )
        batch_out = parser.parse(
            result.stdout,
            first_line=1,
            command=command,
            source=f"stdout of row {number}",
            row=row,
        )
        if batch_out is not None:
            out.append(batch_out)
            out_rows += batch_out.num_rows

    def flush(final: bool) -> Iterator[pa.RecordBatch]:
        nonlocal out, out_rows
        if out and (final or out_rows >= lines.BATCH_LINES):
            table = pa.Table.from_batches(out).combine_chunks()
            out, out_rows = [], 0
            for b in table.to_batches():
                yield from lines.slices(b)

    try:
        for command, batch, i, number in commands():
            window.append((pool.submit(runner.run, command), command, batch, i, number))
            if len(window) >= 2 * workers:
                finish(*window.popleft())
                yield from flush(final=False)
        while window:
            finish(*window.popleft())
            yield from flush(final=False)
        yield from flush(final=True)
    finally:
        for future, *_ in window:
            future.cancel()
        runner.stop()
        pool.shutdown(wait=True)
        close = getattr(batches, "close", None)
        if close is not None:
            close()
