"""Numpy views of Arrow arrays' buffers, for the kernels that work on raw bytes.

>>> import pyarrow as pa
>>> offsets_of(pa.array(["ab", None, "cde", ""]).slice(1)).tolist()
[2, 2, 5, 5]
>>> valid_mask(pa.array([1, None, 3])).tolist()
[True, False, True]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["offsets_of", "valid_mask"]


def offsets_of(arr: pa.Array) -> np.ndarray:
    """The ``len(arr) + 1`` offsets of a (large) string, binary or list array, as int64.

    They are absolute (a slice's offsets index its parent's data buffer); an empty array that
    comes without buffers gets zeros.
    """
    wide = (
        pa.types.is_large_string(arr.type)
        or pa.types.is_large_binary(arr.type)
        or pa.types.is_large_list(arr.type)
    )
    n = len(arr)
    buf = arr.buffers()[1]
    if buf is None:
        return np.zeros(n + 1, dtype=np.int64)
    raw = np.frombuffer(buf, dtype=np.int64 if wide else np.int32, count=arr.offset + n + 1)
    return raw[arr.offset :].astype(np.int64)


def valid_mask(arr: pa.Array) -> np.ndarray | None:
    """A bool mask of the non-null rows, or None when there is no null (nothing to mask)."""
    if arr.null_count == 0:
        return None
    return arr.is_valid().to_numpy(zero_copy_only=False)
