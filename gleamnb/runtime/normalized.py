"""Normalized-key sorting: the first sort field as 64-bit unsigned integers that order alike.

Comparing strings is slow, and Arrow's sort is not adaptive (already sorted runs cost as much
as random data). The first sort field is therefore turned into one ``uint64`` per row whose
order agrees with the field's: integers exactly (the sign bit flipped), strings and binary
by their first 8 bytes, big-endian, zero-padded. Those integers, less their minimum, go in the
high bits of one ``uint64`` per row and the row's number in the low bits; numpy sorts these
values (not indices: a vectorised quicksort, ten times a stable ``argsort``), and since no
two are equal the order is stable, ties coming out by row number. When the keys' range does
not leave room for the row numbers, their lowest bits are dropped: more rows tie, and if too
many do, the full keys are sorted by numpy's stable ``argsort`` instead. Rows whose (kept)
integers tie are put in order by Arrow on the whole sort key, one small group per tie, so
the result is exactly Arrow's stable sort (nulls last in both directions).

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"s": ["pear", None, "apple", "apples", "apple"], "n": [1, 2, 3, 4, 5]})
>>> normalized_sort_indices(t, [(0, False)]).tolist()
[2, 4, 3, 0, 1]
>>> normalized_sort_indices(t, [(0, True), (1, True)]).tolist()
[0, 3, 4, 2, 1]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gleamnb.runtime.buffers import offsets_of
from gleamnb.runtime.gather import ChunkedGather

__all__ = ["arrow_sort_indices", "normalized_key", "normalized_sort_indices", "sort_keys"]

_SIGN = np.uint64(1 << 63)


def _is_bytes_like(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def normalized_key(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, bool] | None:
    """``(keys, exact)`` for a column, or None when its type has no normalized key.

    ``keys`` is a ``uint64`` array with ``keys[i] < keys[j]`` whenever value ``i`` sorts
    before value ``j``; ``exact`` says that equal keys also mean equal values. Null rows get
    an arbitrary key (callers sort them apart).

    Examples
    --------
    >>> keys, exact = normalized_key(pa.array(["ab", "abcdefghij"]))
    >>> keys.tolist() == [
    ...     int.from_bytes(b"ab" + bytes(6), "big"), int.from_bytes(b"abcdefgh", "big")
    ... ]
    True
    >>> exact
    False
    >>> normalized_key(pa.array([-2, 0, 3]))[0].tolist() == [2**63 - 2, 2**63, 2**63 + 3]
    True
    """
    t = column.type
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if _is_bytes_like(t):
        parts = [_byte_prefix(c) for c in chunks]
        exact = False
    elif pa.types.is_integer(t):
        parts = [_integer_key(c) for c in chunks]
        exact = True
    else:
        return None
    if not parts:
        return np.zeros(0, dtype=np.uint64), exact
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), exact


def _integer_key(arr: pa.Array) -> np.ndarray:
    values = arr.fill_null(0).to_numpy(zero_copy_only=False) if arr.null_count else arr.to_numpy()
    if pa.types.is_unsigned_integer(arr.type):
        return values.astype(np.uint64)
    return values.astype(np.int64).view(np.uint64) ^ _SIGN


def _byte_prefix(arr: pa.Array) -> np.ndarray:
    """The first 8 bytes of each value of a string or binary array, as big-endian integers."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets = offsets_of(arr)
    starts = offsets[:-1]
    lens = np.minimum(offsets[1:] - starts, 8).astype(np.uint64)
    end = int(offsets[-1])
    data = (
        np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=end) if end else np.zeros(0, np.uint8)
    )
    # an unaligned 8-byte big-endian view at every byte offset; values starting in the last
    # 8 bytes read from a zero-padded copy of those bytes instead of past the buffer's end
    tail_from = max(0, end - 8)
    tail = np.zeros(16, np.uint8)
    tail[: end - tail_from] = data[tail_from:end]
    values = np.empty(n, dtype=np.uint64)
    inside = starts < tail_from
    if tail_from:
        window = np.ndarray(shape=(tail_from,), dtype=">u8", buffer=data, strides=(1,))
        values[inside] = window[starts[inside]]
    if not inside.all():
        tail_window = np.ndarray(shape=(9,), dtype=">u8", buffer=tail, strides=(1,))
        values[~inside] = tail_window[starts[~inside] - tail_from]
    short = lens < 8
    if short.any():
        shift = (np.uint64(8) - lens[short]) * np.uint64(8)
        cut = np.where(shift < 64, shift, 0)  # a shift by 64 bits is undefined: zero those
        values[short] = np.where(shift < 64, (values[short] >> cut) << cut, 0)
    return values


#: With more tied neighbours than one in this many rows after dropping key bits, the full
#: keys are sorted instead (Arrow would otherwise order the ties at a higher cost).
_MAX_TIES = 64


def sort_keys(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(order, tie, whole)``: the stable sort permutation of ``uint64`` ``values``.

    ``tie[i]`` says that the rows at ``order[i]`` and ``order[i + 1]`` may be in the wrong
    order: their values are equal, or (``whole`` false) equal once the low bits dropped to
    make room for the row numbers are gone. Callers order those rows by the whole sort key.

    Examples
    --------
    >>> order, tie, whole = sort_keys(np.array([5, 3, 5, 1], dtype=np.uint64))
    >>> order.tolist(), tie.tolist(), whole
    ([3, 1, 0, 2], [False, False, True], True)
    """
    n = len(values)
    if n <= 1:
        return np.arange(n, dtype=np.int64), np.zeros(max(0, n - 1), dtype=bool), True
    bits = (n - 1).bit_length()
    low = values.min()
    span = int(values.max() - low).bit_length()
    drop = max(0, span + bits - 64)
    packed = values - low
    if drop:
        packed >>= np.uint64(drop)
    packed <<= np.uint64(bits)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << bits) - 1)).view(np.int64)  # row numbers < 2**63
    packed >>= np.uint64(bits)
    tie = packed[1:] == packed[:-1]
    if drop and np.count_nonzero(tie) * _MAX_TIES > n:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        return order, ordered[1:] == ordered[:-1], True
    return order, tie, not drop


def arrow_sort_indices(
    table: pa.Table,
    keys: list[tuple[int, bool]],
    rows: np.ndarray | None = None,
    group: np.ndarray | None = None,
) -> np.ndarray:
    """Arrow's stable sort of ``table`` (or of its ``rows``, in that order) by ``keys``.

    With ``group``, one id per row of ``rows``, rows sort by group first.
    """
    import pyarrow.compute as pc

    cols = {
        f"k{j}": table.column(i) if rows is None else ChunkedGather(table.column(i)).take(rows)
        for j, (i, _) in enumerate(keys)
    }
    sort_keys = [
        (f"k{j}", "descending" if d else "ascending", "at_end") for j, (_, d) in enumerate(keys)
    ]
    if group is not None:
        cols["g"] = pa.array(group)
        sort_keys.insert(0, ("g", "ascending", "at_end"))
    order = pc.sort_indices(pa.table(cols), sort_keys=sort_keys).to_numpy()
    return order if rows is None else rows[order]


def _break_ties(
    table: pa.Table, keys: list[tuple[int, bool]], order: np.ndarray, tie: np.ndarray
) -> np.ndarray:
    """``order`` with every run of tied rows (``tie[i]``: rows ``i`` and ``i+1``) sorted."""
    first = np.flatnonzero(tie)  # positions tied with the next one: few, most often
    member = np.union1d(first, first + 1)
    starts = np.ones(len(member), dtype=bool)  # a run starts at a member not tied to the one before
    later = member > 0
    starts[later] = ~tie[member[later] - 1]
    out = order.copy()
    out[member] = arrow_sort_indices(table, keys, order[member], np.cumsum(starts))
    return out


def normalized_sort_indices(table: pa.Table, keys: list[tuple[int, bool]]) -> np.ndarray | None:
    """Stable sort permutation of ``table`` by ``keys``, or None when the first key's type
    has no normalized key (see the module docstring)."""
    first, descending = keys[0]
    column = table.column(first)
    found = normalized_key(column)
    if found is None:
        return None
    values, exact = found
    if descending:
        values = ~values  # reverses the order; the stable sort still keeps ties in input order
    if column.null_count:
        nulls = column.is_null().to_numpy(zero_copy_only=False)
        valid = np.flatnonzero(~nulls)
        order, tie, whole = sort_keys(values[valid])
        order = valid[order]
        null_rows = np.flatnonzero(nulls)
    else:
        order, tie, whole = sort_keys(values)
        null_rows = np.zeros(0, dtype=np.int64)
    rest = keys[1:] if exact and whole else keys
    if rest and tie.any():
        order = _break_ties(table, rest, order, tie)
    if len(keys) > 1 and len(null_rows) > 1:
        null_rows = arrow_sort_indices(table, keys[1:], null_rows)
    return np.concatenate([order, null_rows]).astype(np.int64, copy=False)
