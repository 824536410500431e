"""Rows out: fields and rows as the TSV lines a ``pipe`` command reads on its stdin.

The field texts and the four escapes are described in :mod:`gleamnb.runtime.pipe`.
:func:`batch_to_tsv_lines` formats a whole batch with Arrow kernels and gives the same bytes as
:func:`format_row` on every row; :func:`format_columns` gives the escaped texts column by
column (``pipe_as_args`` substitutes them into its template).
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gleamnb.rows import column_to_pylist

__all__ = ["format_field", "format_row", "format_columns", "batch_to_tsv_lines"]

_BIN = pa.large_binary()


@functools.cache
def _scalar(value: bytes) -> pa.Scalar:
    """A binary scalar, made on first use (making one imports pandas, if installed)."""
    return pa.scalar(value, _BIN)


_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NEEDS_ESCAPE = np.zeros(256, dtype=bool)
_NEEDS_ESCAPE[[ord("\\"), ord("\t"), ord("\n"), ord("\r")]] = True


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


def format_columns(batch: pa.RecordBatch) -> list[pa.Array]:
    """The escaped field texts of every column, as ``large_binary`` arrays without nulls.

    Examples
    --------
    >>> [c.to_pylist() for c in format_columns(pa.record_batch({"a": ["x\\ty", None]}))]
    [[b'x\\\\ty', b'']]
    """
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
    cols = format_columns(batch)
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, _scalar(b"\t"))
    lines = pc.binary_join_element_wise(joined, _scalar(b""), _scalar(b"\n"))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, stop = int(offsets[lines.offset]), int(offsets[lines.offset + n])
    return lines.buffers()[2][start:stop].to_pybytes()
