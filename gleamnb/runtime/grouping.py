"""Group rows by key fields: a dense group id per row, groups numbered by first appearance.

Arrow's ``dictionary_encode`` does the hashing for plain types; several key columns are
combined pairwise. Key types Arrow cannot encode (lists, structs, Python objects) get their
ids from a Python dict over a hashable form of each value. Floats are canonicalised so that
``-0.0`` and ``0.0`` are one key, as in Python, and every NaN (any sign or payload) is one key,
as in Spark and DuckDB: grouping steps give all NaNs one group and joins match NaN with NaN
(Python's ``nan != nan`` would make each NaN row its own group, and two NaN objects of one
bit pattern one group, which no rule explains).

Examples
--------
>>> import pyarrow as pa
>>> ids, n = group_ids([pa.array(["b", "a", "b", None, None])])
>>> ids.tolist(), n
([0, 1, 0, 2, 2], 3)
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.rows import PyObjectType, column_to_pylist

__all__ = ["canonical_key_column", "group_ids", "first_indices", "hashable"]

_NAN = float("nan")  # the one NaN object keys hold, so a dict finds it (by identity)


def canonical_key_column(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Make equal keys equal bit for bit: ``-0.0`` becomes ``0.0``, every NaN one NaN.

    >>> import struct
    >>> neg_nan = struct.unpack("d", struct.pack("Q", 0xFFF8000000000000))[0]
    >>> out = canonical_key_column(pa.array([-0.0, neg_nan, float("nan"), None]))
    >>> [struct.pack("d", v).hex() if v is not None else v for v in out.to_pylist()]
    ['0000000000000000', '000000000000f87f', '000000000000f87f', None]
    """
    import pyarrow.compute as pc

    if not pa.types.is_floating(col.type):
        return col
    col = pc.if_else(pc.equal(col, 0), pa.scalar(0.0, col.type), col)
    nan = pc.is_nan(col)
    if pc.any(nan).as_py():
        col = pc.if_else(nan, pa.scalar(_NAN, col.type), col)
    return col


def hashable(v: Any) -> Any:
    """A hashable stand-in for a key value (lists -> tuples, dicts -> item tuples, ...);
    ``-0.0`` stands for ``0.0`` and one NaN for every NaN, inside tuples too.

    >>> hashable((float("nan"), -0.0)) == hashable((float("nan"), 0.0))
    True
    """
    if isinstance(v, list):
        return ("__list__", *map(hashable, v))
    if isinstance(v, tuple):
        return tuple(map(hashable, v))
    if isinstance(v, dict):
        return ("__dict__", *sorted((k, hashable(x)) for k, x in v.items()))
    try:
        hash(v)
    except TypeError:
        return ("__pickle__", pickle.dumps(v))
    if isinstance(v, float):
        if v == 0.0:
            return 0.0
        if v != v:
            return _NAN
    return v


def _encode_one(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if isinstance(t, PyObjectType):
        col = col.storage
        t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if not (pa.types.is_nested(t) or isinstance(t, pa.ExtensionType)):
        try:
            enc = pc.dictionary_encode(canonical_key_column(col), null_encoding="encode")
            codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            return codes, len(enc.dictionary)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    seen: dict[Any, int] = {}
    codes_list = [seen.setdefault(hashable(v), len(seen)) for v in column_to_pylist(col)]
    return np.asarray(codes_list, dtype=np.int64), len(seen)


def _densify(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber codes densely in order of first appearance."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(pa.array(codes))
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(enc.dictionary)


def group_ids(columns: Sequence[pa.Array | pa.ChunkedArray]) -> tuple[np.ndarray, int]:
    """A group id per row (``0 .. n-1`` by first appearance) and the number of groups."""
    if not columns:
        raise ValueError("group_ids needs at least one key column")
    codes, n = _encode_one(columns[0])
    for col in columns[1:]:
        other, m = _encode_one(col)
        codes, n = _densify(codes * m + other)
    return codes, n


def first_indices(ids: np.ndarray, n: int) -> np.ndarray:
    """Row index of the first row of each group ``0 .. n-1``."""
    first = np.full(n, -1, dtype=np.int64)
    # reversed assignment leaves the smallest index per group
    rows = np.arange(len(ids), dtype=np.int64)
    first[ids[::-1]] = rows[::-1]
    return first
