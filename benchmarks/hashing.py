"""Order-independent checksums of row multisets, vectorized with numpy.

Each row is hashed to a 64-bit value (splitmix64 finalizer over its fields) and a data set's
checksum is the wrapping sum of its row hashes, so two outputs with the same rows in any order
have the same checksum. The generator stores the reference checksums in the manifest; the
checker recomputes them from each engine's output.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "checksum_hex",
    "hash_binary",
    "hash_fixed_rows",
    "hash_int64",
    "join_row_hashes",
    "splitmix64",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Mix each uint64 with the splitmix64 finalizer (wrapping arithmetic).

    Parameters
    ----------
    x
        Array of dtype uint64.

    Returns
    -------
    numpy.ndarray
        Mixed values, same shape, dtype uint64.
    """
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash_fixed_rows(rows: np.ndarray) -> np.ndarray:
    """Hash each row of a 2-D uint8 array (one fixed-width record per row).

    Parameters
    ----------
    rows
        Array of shape ``(n, width)`` and dtype uint8.

    Returns
    -------
    numpy.ndarray
        ``n`` uint64 hashes; equal rows hash equal.
    """
    n, width = rows.shape
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :width] = rows
    as_u64 = padded.view("<u8")
    h = splitmix64(np.full(n, width, dtype=np.uint64))
    for j in range(words):
        h = splitmix64(h ^ as_u64[:, j])
    return h


def hash_binary(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Hash each value of a string or binary Arrow array (bytes and length).

    Parameters
    ----------
    array
        A string, large_string, string_view or binary array without nulls.

    Returns
    -------
    numpy.ndarray
        One uint64 per value.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], pa.large_binary())
    array = pc.cast(array, pa.large_binary())
    if array.null_count:
        raise ValueError("null strings cannot be hashed")
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets)
    width = int(lengths.max()) if n else 0
    if width == 0:
        return splitmix64(np.zeros(n, dtype=np.uint64))
    if int(lengths.min()) == width:
        rows = data[offsets[0] : offsets[0] + n * width].reshape(n, width)
    else:
        # Pad every value with zero bytes to the longest; the length is mixed in below, so
        # "ab" and "ab\0" still differ.
        cols = np.arange(width)
        index = offsets[:-1, None] + cols[None, :]
        valid = cols[None, :] < lengths[:, None]
        rows = np.where(valid, data[np.minimum(index, len(data) - 1)], 0).astype(np.uint8)
    return splitmix64(hash_fixed_rows(rows) ^ lengths.astype(np.uint64))


def hash_int64(values: np.ndarray) -> np.ndarray:
    """Hash int64 (or uint64) values.

    Parameters
    ----------
    values
        Integer array.

    Returns
    -------
    numpy.ndarray
        uint64 hashes.
    """
    return splitmix64(np.ascontiguousarray(values).astype(np.int64).view(np.uint64))


def join_row_hashes(a1: np.ndarray, a4: np.ndarray, b3: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Hash the rows ``(a1, a4, b3)`` of a join output.

    Parameters
    ----------
    a1, a4
        int64 columns.
    b3
        String column.

    Returns
    -------
    numpy.ndarray
        One uint64 per row.
    """
    h = hash_int64(a1)
    h = splitmix64(h ^ hash_int64(a4))
    return splitmix64(h ^ hash_binary(b3))


def checksum_hex(hashes: np.ndarray) -> str:
    """Wrapping sum of row hashes, as 16 hex digits.

    Parameters
    ----------
    hashes
        uint64 row hashes.

    Returns
    -------
    str
        The order-independent checksum.
    """
    total = int(np.sum(hashes, dtype=np.uint64)) if len(hashes) else 0
    return f"{total:016x}"
