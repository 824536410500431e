"""Rows out: fields and rows as the TSV lines a ``pipe`` command reads on its stdin.

The field texts and the four escapes are described in :mod:`gleamnb.runtime.pipe`.
:func:`tsv_pieces` formats a batch with Arrow kernels, in pieces of bounded size however long a
line is, and gives the same bytes as :func:`format_row` on every row (:func:`batch_to_tsv_lines`
joins them); :func:`format_columns` gives the escaped texts column by column (``pipe_as_args``
substitutes them into its template).
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.rows import column_to_pylist

__all__ = [
    "PIECE_BYTES",
    "format_field",
    "format_row",
    "format_columns",
    "batch_to_tsv_lines",
    "tsv_pieces",
]

PIECE_BYTES = 1 << 20
"""About how many bytes of TSV lines :func:`tsv_pieces` makes at a time."""

_BIN = pa.large_binary()


@functools.cache
def _scalar(value: bytes) -> pa.Scalar:
    """A binary scalar, made on first use (making one imports pandas, if installed)."""
    return pa.scalar(value, _BIN)


_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# The letter after the backslash in the escape of each byte that has one.
_LETTER = np.zeros(256, dtype=np.uint8)
_LETTER[[ord("\\"), ord("\t"), ord("\n"), ord("\r")]] = [ord("\\"), ord("t"), ord("n"), ord("r")]


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


def _data_range(arr: pa.Array) -> tuple[int, int]:
    """Where the values of a ``large_binary`` array (maybe a slice) lie in its data buffer."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    return int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])


def _escape_data(data: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``data`` (bytes as ``uint8``) with the four escapes made, and where the bytes that
    needed one were; None when none did."""
    special = data == 92
    other = np.empty_like(special)
    for byte in (9, 10, 13):
        special |= np.equal(data, byte, out=other)
    at = np.flatnonzero(special)
    if not at.size:
        return None
    del special, other
    backslash = at + np.arange(len(at))  # where each escape's backslash goes
    out = np.empty(len(data) + len(at), dtype=np.uint8)
    moved = np.ones(len(out), dtype=bool)
    moved[backslash] = False
    out[moved] = data
    out[backslash + 1] = _LETTER[data[at]]
    out[backslash] = 92
    return out, at


def _escape_column(arr: pa.Array) -> pa.Array:
    """A ``large_binary`` array without nulls (maybe a slice) with its values escaped."""
    first, last = _data_range(arr)
    if first == last:
        return arr
    escaped = _escape_data(np.frombuffer(arr.buffers()[2], dtype=np.uint8)[first:last])
    if escaped is None:
        return arr
    data, at = escaped
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    offsets = offsets - first
    offsets += np.searchsorted(at, offsets)  # each value starts after the escapes before it
    return pa.Array.from_buffers(_BIN, len(arr), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _texts(arr: pa.Array) -> tuple[pa.Array, bool]:
    """Field texts of one column as a ``large_binary`` array without nulls, and whether they
    are still to be escaped (string and binary values are not escaped yet, so that a long
    value is escaped a slice at a time; the others already are)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if isinstance(t, pa.ExtensionType):
        return _python_column(column_to_pylist(arr)), False
    if pa.types.is_null(t):
        return pa.nulls(len(arr), _BIN).fill_null(_scalar(b"")), False
    raw = (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    )
    if raw:
        out = arr.cast(_BIN)  # the data buffer stays where it is
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
        return _python_column(column_to_pylist(arr)), False
    return (out.fill_null(_scalar(b"")) if out.null_count else out), raw


def format_columns(batch: pa.RecordBatch) -> list[pa.Array]:
    """The escaped field texts of every column, as ``large_binary`` arrays without nulls.

    Examples
    --------
    >>> [c.to_pylist() for c in format_columns(pa.record_batch({"a": ["x\\ty", None]}))]
    [[b'x\\\\ty', b'']]
    """
    columns = [_texts(col) for col in batch.columns]
    return [_escape_column(texts) if raw else texts for texts, raw in columns]


def batch_to_tsv_lines(batch: pa.RecordBatch | pa.Table) -> bytes:
    """All rows of a batch as ``pipe`` input lines: the pieces of :func:`tsv_pieces`, joined.

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
    return b"".join(tsv_pieces(batch))


def tsv_pieces(batch: pa.RecordBatch | pa.Table) -> Iterator[bytes | pa.Buffer]:
    """A batch's ``pipe`` input lines in pieces of about :data:`PIECE_BYTES` (at most twice
    that, escapes included), formatted with Arrow compute kernels.

    Rows are formatted a group of about :data:`PIECE_BYTES` at a time; a row longer than that
    is written field by field, a long value a slice at a time (an escape is one byte's, so a
    value is escaped exactly wherever it is cut), and a value that needs no escaping is
    handed out as slices of its Arrow buffer. So no piece and no temporary grows with a line.

    Parameters
    ----------
    batch
        The rows; a table is taken batch by batch.

    Yields
    ------
    bytes or pyarrow.Buffer
        Pieces that, joined, are ``format_row`` of every row, encoded as UTF-8.

    Examples
    --------
    >>> batch = pa.record_batch({"word": ["a", "b\\tc"], "n": [1, 2]})
    >>> b"".join(tsv_pieces(batch))
    b'a\\t1\\nb\\\\tc\\t2\\n'
    """
    if isinstance(batch, pa.Table):
        for part in batch.to_batches():
            yield from tsv_pieces(part)
        return
    n = batch.num_rows
    if n == 0:
        return
    if batch.num_columns == 0:
        for start in range(0, n, PIECE_BYTES):
            yield b"\n" * min(PIECE_BYTES, n - start)
        return
    columns = [_texts(col) for col in batch.columns]
    ends = np.zeros(n, dtype=np.int64)  # the end of each row in the unescaped text
    for texts, _ in columns:
        offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)
        ends += np.diff(offsets[texts.offset : texts.offset + n + 1])
    ends += len(columns)  # a TAB or the LF after each field
    np.cumsum(ends, out=ends)
    start = 0
    while start < n:
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + PIECE_BYTES, side="right"))
        if stop == start:
            yield from _long_row(columns, start)
            start += 1
        else:
            yield _rows(columns, start, stop)
            start = stop


def _rows(columns: list[tuple[pa.Array, bool]], start: int, stop: int) -> pa.Buffer:
    """Rows ``start:stop`` as lines, joined by Arrow kernels."""
    import pyarrow.compute as pc

    parts = []
    for texts, raw in columns:
        part = texts.slice(start, stop - start)
        parts.append(_escape_column(part) if raw else part)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _scalar(b"\t"))
    lines = pc.binary_join_element_wise(joined, _scalar(b""), _scalar(b"\n"))
    first, last = _data_range(lines)
    return lines.buffers()[2][first:last]


def _long_row(columns: list[tuple[pa.Array, bool]], i: int) -> Iterator[bytes | pa.Buffer]:
    """Row ``i`` as one line, in pieces: long values a slice at a time."""
    for j, (texts, raw) in enumerate(columns):
        if j:
            yield b"\t"
        value = texts.slice(i, 1)
        first, last = _data_range(value)
        data = value.buffers()[2]
        for at in range(first, last, PIECE_BYTES):
            piece = data[at : min(at + PIECE_BYTES, last)]
            escaped = _escape_data(np.frombuffer(piece, dtype=np.uint8)) if raw else None
            yield piece if escaped is None else pa.py_buffer(escaped[0])
    yield b"\n"
