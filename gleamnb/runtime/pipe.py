"""The runtime of the ``pipe(command)`` and ``pipe_as_args(template)`` steps.

Both run inside an executor over one shard (a stream of Arrow record batches) and start the
user's command with ``/bin/sh -c`` as a child process of the executor.

Rows out: one TSV line per row
------------------------------
A row becomes one line: its fields' texts joined by TAB, ending with LF. A field's text is

==========================  ==========================================================
``None``                    the empty string
``str``                     the string itself
``bool``                    ``true`` / ``false``
``int``                     ``str(value)``: ``42``, ``-7``
``float``                   ``repr(value)``, the shortest text that reads back as the
                            same float: ``0.1``, ``1.0``, ``1e+16``, ``nan``, ``inf``.
                            A float32 column is written at its own precision (``0.1``,
                            not ``0.10000000149011612``).
``bytes``                   the bytes themselves (not necessarily UTF-8)
dates, times, Decimal       ``str(value)``: ``2024-05-01 12:00:00``, ``1.50``
anything else (lists, ...)  ``repr(value)``
==========================  ==========================================================

Numbers are never dropped (Gleam wrote only string fields to a pipe). So that a field can
never break the framing, four characters in every field's text are escaped, backslash
first: ``\\`` becomes the two characters ``\\\\``, TAB becomes ``\\t``, LF ``\\n`` and CR
``\\r``. A row of ``k`` fields therefore always gives a line with exactly ``k - 1`` TABs.
``pipe_as_args`` substitutes the same texts (then shell-quoted) into its template.

Lines in: one row of strings per line
-------------------------------------
The command's stdout is read incrementally and cut into lines at LF; one CR at the end of a
line is dropped (CRLF output), and a last line without LF still counts. Each line is split on
TAB only (no other whitespace, no quoting) into string fields named ``_1 .. _k``, and the
escapes are undone: ``\\\\``, ``\\t``, ``\\n`` and ``\\r`` become backslash, TAB, LF and
CR again, so a command that passes lines through (``cat``, ``grep``, ``sort``) gives back the
very fields it was given; a backslash before any other character is kept as it is. Every line
of one step's output must have the same number of fields, or a
:class:`~gleamnb.errors.SchemaError` names the line.
Bytes that are not valid UTF-8 are replaced by U+FFFD. Output comes in record batches of at
most :data:`BATCH_LINES` lines; a command that prints nothing gives no batch at all.

Errors
------
A non-zero exit code is a :class:`~gleamnb.errors.PipeCommandError` carrying the command, the
exit code and the last :data:`STDERR_TAIL_BYTES` bytes of its stderr; exit code 127 says the
command was not found. A command that stops reading early (``head -n 3``) is fine: the rows
it did not read are simply not written, and only its exit code counts. When the consumer of
the output stops early, the command's whole process group is killed and reaped.

Examples
--------
>>> from gleamnb.rows import batch_to_rows, rows_to_batch
>>> batch = rows_to_batch([("apple", 3, 0.5), ("pear", None, 2.0)])
>>> batch_to_tsv_lines(batch)
b'apple\\t3\\t0.5\\npear\\t\\t2.0\\n'
>>> out = pipe_batches("tr a-z A-Z", iter([batch]))
>>> [batch_to_rows(b) for b in out]
[[('APPLE', '3', '0.5'), ('PEAR', '', '2.0')]]
"""

from __future__ import annotations

import datetime
import decimal
import functools
import os
import re
import shlex
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gleamnb.errors import FieldError, PipeCommandError, SchemaError, truncate
from gleamnb.plan.fields import positional_names
from gleamnb.rows import batch_to_rows, column_to_pylist

__all__ = [
    "BATCH_LINES",
    "STDERR_TAIL_BYTES",
    "format_field",
    "format_row",
    "batch_to_tsv_lines",
    "pipe_batches",
    "pipe_as_args",
]

BATCH_LINES = 65536
"""Most lines of command output in one output record batch."""

STDERR_TAIL_BYTES = 4096
"""How much of the end of a command's stderr an error shows."""

_BATCH_BYTES = 32 << 20  # cut a batch early when lines are long
_READ_SIZE = 1 << 20
_WRITE_SIZE = 1 << 20
_PIPE_SIZE = 1 << 20  # a bigger pipe buffer means fewer wake-ups on both sides
_SHELL = "/bin/sh"

_BIN = pa.large_binary()


@functools.cache
def _scalar(value: bytes) -> pa.Scalar:
    """A binary scalar, made on first use (making one imports pandas, if installed)."""
    return pa.scalar(value, _BIN)


_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NEEDS_ESCAPE = np.zeros(256, dtype=bool)
_NEEDS_ESCAPE[[ord("\\"), ord("\t"), ord("\n"), ord("\r")]] = True


# ---------------------------------------------------------------------------------------------
# Rows -> TSV lines


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        for old, new in _ESCAPES:
            text = text.replace(old, new)
    return text


def _short_float(value: Any) -> str:
    """A float32 (or float16) written with the digits of its own precision, laid out as repr."""
    return float.__repr__(float(str(value)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float):  # np.float64 too: its own repr would add "np.float64(...)"
        return float.__repr__(value)
    if isinstance(value, np.floating):
        return _short_float(value) if value.itemsize <= 4 else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)):
        return str(value)
    return repr(value)


def format_field(value: Any) -> str:
    """The text of one field in a ``pipe`` line (see the module docstring for the rules).

    Parameters
    ----------
    value
        A field's Python value.

    Returns
    -------
    str
        Its text, with backslash, TAB, LF and CR escaped as ``\\\\``, ``\\t``, ``\\n``, ``\\r``.
        Bytes that are not UTF-8 come back as surrogate escapes, so that
        ``text.encode("utf-8", "surrogateescape")`` gives the original bytes.

    Examples
    --------
    >>> [format_field(v) for v in (7, 0.1, 1.0, True, None, b"raw", [1, 2])]
    ['7', '0.1', '1.0', 'true', '', 'raw', '[1, 2]']
    >>> print(format_field("a\\tb\\\\c"))
    a\\tb\\\\c
    """
    return _escape(_text(value))


def format_row(fields: Iterable[Any]) -> str:
    """One row as a ``pipe`` input line: the fields' texts joined by TAB, ending with LF.

    Parameters
    ----------
    fields
        The row's field values.

    Returns
    -------
    str
        The line, newline included.

    Examples
    --------
    >>> format_row(("word", 3, None, 2.5))
    'word\\t3\\t\\t2.5\\n'
    >>> format_row(("two\\nlines",))
    'two\\\\nlines\\n'
    """
    return "\t".join(map(format_field, fields)) + "\n"


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that did not come from undecodable bytes
        return text.encode("utf-8", "backslashreplace")


def _python_column(values: Sequence[Any]) -> pa.Array:
    return pa.array([_encode(format_field(v)) for v in values], type=_BIN)


def _escape_column(arr: pa.Array) -> pa.Array:
    data = arr.buffers()[2]
    if data is None or not _NEEDS_ESCAPE[np.frombuffer(data, dtype=np.uint8)].any():
        return arr
    for old, new in _ESCAPES:
        arr = pc.replace_substring(arr, old.encode(), new.encode())
    return arr


def _format_column(arr: pa.Array) -> pa.Array:
    """Field texts of one column as a ``large_binary`` array without nulls, escaped."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if isinstance(t, pa.ExtensionType):
        return _python_column(column_to_pylist(arr))
    if pa.types.is_null(t):
        return pa.nulls(len(arr), _BIN).fill_null(_scalar(b""))
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        out = _escape_column(arr.cast(_BIN))
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        # Arrow writes ints as str() does and bools as true/false; neither needs escaping.
        out = arr.cast(pa.large_string()).cast(_BIN)
    elif pa.types.is_float64(t):
        # Arrow's float text differs from repr ("1" for 1.0), so these go through Python.
        out = pa.array(
            [None if v is None else float.__repr__(v) for v in arr.to_pylist()],
            type=pa.large_string(),
        ).cast(_BIN)
    elif pa.types.is_float32(t) or pa.types.is_float16(t):
        shortest = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(str)
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        out = pa.array(
            [float.__repr__(float(s)) if ok else None for s, ok in zip(shortest, valid)],
            type=pa.large_string(),
        ).cast(_BIN)
    else:
        return _python_column(column_to_pylist(arr))
    return out.fill_null(_scalar(b"")) if out.null_count else out


def _formatted_columns(batch: pa.RecordBatch) -> list[pa.Array]:
    return [_format_column(col) for col in batch.columns]


def batch_to_tsv_lines(batch: pa.RecordBatch | pa.Table) -> bytes:
    """All rows of a batch as ``pipe`` input lines, formatted with Arrow compute kernels.

    Gives the same bytes as ``format_row`` on every row, encoded as UTF-8 (bytes fields
    written as they are).

    Parameters
    ----------
    batch
        The rows; a table is taken batch by batch.

    Returns
    -------
    bytes
        One line per row, each ending with LF; empty for no rows.

    Examples
    --------
    >>> batch = pa.record_batch({"word": ["a b", "tab\\there"], "n": [1, None]})
    >>> batch_to_tsv_lines(batch)
    b'a b\\t1\\ntab\\\\there\\t\\n'
    """
    if isinstance(batch, pa.Table):
        return b"".join(batch_to_tsv_lines(b) for b in batch.to_batches())
    n = batch.num_rows
    if n == 0:
        return b""
    if batch.num_columns == 0:
        return b"\n" * n
    cols = _formatted_columns(batch)
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, _scalar(b"\t"))
    lines = pc.binary_join_element_wise(joined, _scalar(b""), _scalar(b"\n"))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, stop = int(offsets[lines.offset]), int(offsets[lines.offset + n])
    return lines.buffers()[2][start:stop].to_pybytes()


# ---------------------------------------------------------------------------------------------
# stdout lines -> record batches of strings


class _LineParser:
    """Cuts a command's stdout into lines and lines into string fields, checking the arity."""

    def __init__(self, *, step: str | None, shard: Any) -> None:
        self.step = step
        self.shard = shard
        self.arity: int | None = None
        self.arity_where = ""

    def parse(
        self,
        data: bytes | memoryview,
        *,
        first_line: int,
        command: str,
        source: str = "stdout",
        row: Callable[[], Any] | None = None,
    ) -> pa.RecordBatch | None:
        """Parse whole lines (the last may lack its LF); ``first_line`` numbers the first.

        ``source`` names where the lines come from in errors; ``row`` gives the input row.
        """
        buf = np.frombuffer(data, dtype=np.uint8)
        size = len(buf)
        if size == 0:
            return None
        newlines = np.flatnonzero(buf == 10)
        ends = newlines if buf[-1] == 10 else np.append(newlines, size)
        n = len(ends)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        keep = np.ones(size, dtype=bool)
        keep[newlines] = False
        if has_cr.any():
            keep[ends[has_cr] - 1] = False
            ends = ends - has_cr
        values = buf[keep]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])

        tabs = np.flatnonzero(values == 9)
        arities = np.diff(np.searchsorted(tabs, offsets)) + 1
        if self.arity is None:
            self.arity = int(arities[0])
            self.arity_where = f"{source} line {first_line}"
        bad = np.flatnonzero(arities != self.arity)

        lines = pa.Array.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(values)]
        )
        try:
            text = lines.cast(pa.large_string())
        except pa.ArrowInvalid:  # not UTF-8: replace the bad bytes, as documented
            text = pa.array(
                [b.decode("utf-8", "replace") for b in lines.to_pylist()], type=pa.large_string()
            )
        if bad.size:
            i = int(bad[0])
            line = text[i].as_py()
            where = f"{source} line {first_line + i}"
            raise SchemaError(
                f"the output of pipe command {truncate(command, 120)!r} changes arity: "
                f"{self.arity_where} has {self.arity} field(s), {where} has {arities[i]}",
                step=self.step,
                shard=self.shard,
                location=where,
                row=row() if row is not None else tuple(line.split("\t")),
                hint="make the command print the same number of tab-separated fields on every line",
            )
        k = self.arity
        if k == 1:
            columns = [text]
        else:
            fields = pc.list_flatten(pc.split_pattern(text, "\t"))
            columns = [fields.take(pa.array(np.arange(j, n * k, k))) for j in range(k)]
        if (values == 92).any():  # a backslash somewhere: undo the escapes
            columns = [_unescape_column(c) for c in columns]
        return pa.RecordBatch.from_arrays(
            [c.cast(pa.string()) for c in columns], names=positional_names(k)
        )


def _unescape_column(column: pa.Array) -> pa.Array:
    """``column`` with the four escapes undone, scanning each value left to right.

    Cutting at every ``\\\\`` pair first (leftmost pairs, as a left-to-right scan takes them)
    leaves single backslashes only; in the pieces, ``\\t``, ``\\n`` and ``\\r`` are escapes,
    and joining the pieces with one backslash undoes the pairs.
    """
    if not pc.any(pc.match_substring(column, "\\")).as_py():
        return column
    pieces = pc.split_pattern(column, "\\\\")
    flat = pieces.flatten()
    for escape, plain in (("\\t", "\t"), ("\\n", "\n"), ("\\r", "\r")):
        flat = pc.replace_substring(flat, escape, plain)
    rebuilt = type(pieces).from_arrays(pieces.offsets, flat)
    return pc.binary_join(rebuilt, pa.scalar("\\", column.type))


def _slices(batch: pa.RecordBatch | None) -> Iterator[pa.RecordBatch]:
    if batch is None:
        return
    for start in range(0, batch.num_rows, BATCH_LINES):
        yield batch.slice(start, BATCH_LINES)


# ---------------------------------------------------------------------------------------------
# Child processes


def _child_env(env: dict[str, str] | None) -> dict[str, str] | None:
    return None if env is None else {**os.environ, **env}


def _spawn(
    command: str, *, stdin: int, env: dict[str, str] | None, step: Any, shard: Any, row: Any = None
) -> subprocess.Popen[bytes]:
    try:
        # A process group of its own, so that stopping early kills the whole pipeline
        # (``sort | uniq -c``), not only the shell. close_fds keeps the executor's other
        # descriptors (sockets, shard files) out of the child.
        return subprocess.Popen(
            [_SHELL, "-c", command],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            process_group=0,
            env=_child_env(env),
        )
    except (OSError, ValueError) as exc:
        raise PipeCommandError(
            f"could not start pipe command {truncate(command, 120)!r}: {exc}",
            step=step,
            shard=shard,
            row=row,
            hint="a command cannot hold NUL bytes; check that /bin/sh exists"
            if isinstance(exc, ValueError)
            else "check that /bin/sh exists and the executor may start processes",
        ) from exc


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group; only while the child is not reaped (its pid is ours)."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


class _StderrTail:
    """Drains a child's stderr in a thread, keeping its last bytes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._tail = bytearray()
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, name="pipe-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        fd = self._stream.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._tail += chunk
                if len(self._tail) > 2 * STDERR_TAIL_BYTES:
                    del self._tail[:-STDERR_TAIL_BYTES]
                    self.truncated = True
        except OSError:
            pass
        finally:
            self._stream.close()

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)  # a grandchild may keep stderr open: do not wait forever
        tail = bytes(self._tail)
        if len(tail) > STDERR_TAIL_BYTES:
            tail, self.truncated = tail[-STDERR_TAIL_BYTES:], True
        return tail.decode("utf-8", "replace")


_NOT_FOUND = re.compile(r"([^\s:]+): (?:command )?not found\s*$", re.MULTILINE)


def _exit_error(
    command: str,
    code: int,
    stderr: str,
    *,
    truncated: bool,
    step: Any,
    shard: Any,
    row: Any = None,
    env: dict[str, str] | None = None,
) -> PipeCommandError:
    shown = truncate(command, 200)
    if code == 127:
        found = _NOT_FOUND.search(stderr)
        name = f" ({found.group(1)!r})" if found else ""
        path = (env or {}).get("PATH", os.environ.get("PATH", ""))
        message = f"pipe command not found{name}: {shown!r} exited with code 127"
        hint = (
            "check the spelling of the program and that it is installed on the executor's "
            f"PATH ({truncate(path, 300)})"
        )
    elif code == 126:
        message = f"pipe command could not be executed: {shown!r} exited with code 126"
        hint = "check that the program is an executable file (chmod +x), not a directory"
    elif code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        message = f"pipe command {shown!r} was killed by {name}"
        hint = "the command crashed or was killed (out of memory?); see its stderr below"
    else:
        message = f"pipe command {shown!r} exited with code {code}"
        hint = "see the command's stderr below; run it by hand on a few input lines to debug"
    if stderr.strip():
        head = "stderr (last 4 KiB):" if truncated else "stderr:"
        detail = head + "\n" + ("..." if truncated else "") + stderr.rstrip()
    else:
        detail = "stderr: (empty)"
    return PipeCommandError(message, step=step, shard=shard, row=row, hint=hint, detail=detail)


# ---------------------------------------------------------------------------------------------
# pipe


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
            _kill_group(self._proc)
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
        String columns ``_1 .. _k``, at most :data:`BATCH_LINES` rows each.

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
    proc = _spawn(command, stdin=subprocess.PIPE, env=env, step=step, shard=shard)
    assert proc.stdin is not None and proc.stdout is not None
    _grow_pipe(proc.stdin.fileno())
    _grow_pipe(proc.stdout.fileno())
    stderr = _StderrTail(proc.stderr)
    writer = _Writer(iter(batches), proc)
    parser = _LineParser(step=step, shard=shard)
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
            if pending_lines >= BATCH_LINES or (pending_bytes >= _BATCH_BYTES and pending_lines):
                data = b"".join(parts)
                cut, lines = _cut(data)
                batch = parser.parse(memoryview(data)[:cut], first_line=line_no, command=command)
                line_no += lines
                rest = data[cut:]
                parts = [rest] if rest else []
                pending_bytes, pending_lines = len(rest), pending_lines - lines
                yield from _slices(batch)

        proc.wait()
        writer.stop.set()  # the command is gone: nothing more can be written
        if not writer.join(1.0) and writer.writing and _group_alive(proc.pid):
            # Only a leftover grandchild (in the command's group) can hold stdin open
            # without reading it; the command has exited, so end its group.
            os.killpg(proc.pid, signal.SIGKILL)
        writer.join()
        tail = stderr.text()
        if writer.error is not None:
            raise writer.error
        if proc.returncode != 0:
            raise _exit_error(
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
        yield from _slices(batch)
    finally:
        if not finished:
            writer.stop.set()
            _kill_group(proc)
            proc.wait()
            writer.join(5.0)
        proc.stdout.close()


def _cut(data: bytes) -> tuple[int, int]:
    """Where to cut pending output: after a whole number of full batches of lines, or after
    the last whole line when there is less than a batch (lines too long for a full one)."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    lines = len(newlines) // BATCH_LINES * BATCH_LINES or len(newlines)
    return int(newlines[lines - 1]) + 1, lines


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# pipe_as_args

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
        proc = _spawn(
            command, stdin=subprocess.DEVNULL, env=self.env, step=self.step, shard=self.shard
        )
        with self._lock:
            self._live.add(proc)
            if self.stopped:
                _kill_group(proc)
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
                _kill_group(proc)


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
    as :func:`format_field` does, then quoted with :func:`shlex.quote`, so a field is always
    one word and never shell code. Placeholders are replaced everywhere, inside quotes too.
    The commands run with ``/bin/sh -c``, stdin closed, up to ``workers`` at a time; their
    stdout lines become rows as in :func:`pipe_batches`, in the order of the input rows.

    Parameters
    ----------
    template
        Shell code with placeholders, e.g. ``"wc -c < $1"``.
    batches
        The shard's input rows.
    step, shard
        Named in errors.
    env
        Variables added to (or overriding) the executor's environment for the commands.
    workers
        How many commands may run at once (1: one after the other).

    Yields
    ------
    pyarrow.RecordBatch
        String columns ``_1 .. _k``, at most :data:`BATCH_LINES` rows each.

    Raises
    ------
    PipeCommandError
        A command exited with a non-zero code; the error names the row.
    SchemaError
        Output lines with different numbers of tab-separated fields.
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
    parser = _LineParser(step=step, shard=shard)
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
                for col in _formatted_columns(batch)
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
            raise _exit_error(
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
        if out and (final or out_rows >= BATCH_LINES):
            table = pa.Table.from_batches(out).combine_chunks()
            out, out_rows = [], 0
            for b in table.to_batches():
                yield from _slices(b)

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
