"""Hash partitioning for shuffles: key columns -> 64-bit hashes -> partition ids -> buckets.

``reduce_by_key``, ``group_by_key``, ``distinct``, ``join``, ``co_group`` and ``partition``
send each row to the shard ``partition_ids(hash_columns(keys), n)``. Three rules make that
correct and fast:

- **Deterministic everywhere.** A key hashes the same in every process, on every machine and
  in every run: the hashes are computed from the values with a fixed mixer (the splitmix64
  finalizer), never with Python's salted ``hash()``, and bytes are read little-endian.
- **Equal values hash equally, whatever their Arrow representation.** int8..int64 and uint8..
  uint64 hash as the integer they hold, and so do bools (``True == 1``) and integral floats
  (``1.0 == 1``); ``-0.0`` hashes as ``0.0`` and every NaN as one NaN; float32 as the float64
  it widens to; ``string``, ``large_string``, ``binary`` and views of them hash as their bytes;
  timestamps, durations and times as nanoseconds (so units do not matter); dictionary arrays as
  their decoded values; chunked as contiguous; slices as what they show. Nulls hash to one
  fixed value.
- **Every type spreads**, floats included (Gleam sent every float key to shard 0), and so do
  a few distinct small keys: an integer key ``k`` hashes as ``mix(seed + k * golden)``, the
  splitmix64 generator's output at step ``k``, so bools and the keys 0, 1, 2, ... fall over
  the shards like random values do.

Ints, floats, bools, temporals, strings/binary, dictionaries, lists (and list views), maps and
structs (and the ``gleamnb.tuple`` type) are hashed with numpy over the Arrow buffers, with no
Python loop per row.
A string is hashed 8 bytes at a time: its little-endian words (the last one zero-padded, the
empty string one zero word) are each mixed with their position in the string, the mixed words
are summed (wrapping) and the sum is mixed with the length. Words are gathered column by
column (word 0 of every string, then word 1 of the strings that have one, ...), so a few long
strings do not slow down the many short ones. A list sums its items' hashes the same way,
by segments (a wrapping ``cumsum`` difference); a struct folds its fields' hashes in order.
``gleamnb.pyobject`` cells hash their pickled bytes (so two equal objects whose
pickles differ, such as sets built in different orders, may land in different shards). Other
types (decimals, unions, intervals) take a slow path through Python values.

Examples
--------
>>> import pyarrow as pa
>>> keys = pa.array(["apple", "pear", "apple", None])
>>> h = hash_columns([keys])
>>> bool(h[0] == h[2]), bool(h[0] == h[1])
(True, False)
>>> ids = partition_ids(h, 4)
>>> parts = split_by_partition(pa.table({"k": keys, "v": [1, 2, 3, 4]}), ids, 4)
>>> sum(p.num_rows for p in parts)
4
"""

from __future__ import annotations

import decimal
import math
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.errors import ArgumentError
from gleamnb.runtime.buffers import offsets_of, valid_mask

__all__ = ["NULL_HASH", "hash_array", "hash_columns", "partition_ids", "split_by_partition"]

_U64 = np.uint64
# splitmix64 finalizer constants (Steele, Lea & Flood; "mix13" variant of Stafford).
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
# Seeds that keep the kinds of inputs to the mixer apart (arbitrary odd constants).
_INT_SEED = _U64(0x243F6A8885A308D3)
_BYTES_SEED = _U64(0x13198A2E03707345)
_LIST_SEED = _U64(0xA4093822299F31D1)
_STRUCT_SEED = _U64(0x082EFA98EC4E6C89)
_COMBINE = _U64(0x452821E638D01377)
_NAN_KEY = _U64(0x7FF8000000000000)

NULL_HASH = _U64(0x6A09E667F3BCC909)
"""The hash of a null key (a fixed constant, the same for every type)."""

# Masks keeping the first 1..8 bytes of a little-endian word (index: number of bytes kept).
_BYTE_MASKS = np.array(
    [0] + [(1 << (8 * k)) - 1 for k in range(1, 8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64
)
_BLOCK = 1 << 16  # values processed at a time, so that temporaries stay in cache
_COLUMN_WORDS = 8  # words per string hashed column by column; longer strings go by segments
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_MS_PER_DAY = 86_400_000


def _mix64(x: np.ndarray) -> np.ndarray:
    """Scramble a uint64 array in place (the splitmix64 finalizer) and return it."""
    # A cache-sized slice at a time: the eight passes then run from cache, not memory.
    tmp = np.empty(min(len(x), _BLOCK), dtype=np.uint64)
    for i in range(0, len(x), _BLOCK):
        v = x[i : i + _BLOCK]
        t = tmp[: len(v)]
        np.right_shift(v, _U64(30), out=t)
        v ^= t
        v *= _M1
        np.right_shift(v, _U64(27), out=t)
        v ^= t
        v *= _M2
        np.right_shift(v, _U64(31), out=t)
        v ^= t
    return x


def _hash_keys(keys: np.ndarray) -> np.ndarray:
    """Hashes of 64-bit integer keys (uint64, any bit pattern), computed in place.

    Key ``k`` hashes as ``mix(seed + k * golden)``, the splitmix64 generator's output at
    step ``k``, so the keys 0, 1, 2, ... hash like that well-tested random sequence.
    Multiplying first matters: small keys differ only in their low bits, which the mixer's
    first xor-shift leaves alone, and ``mix(seed + k)`` sent the keys 0..12 all to the upper
    half of the hash range. The multiplier is odd, so distinct keys stay distinct.

    ``keys`` must be a fresh array (every caller passes a converted copy).
    """
    if not keys.flags.writeable:
        keys = keys.copy()
    keys *= _GOLDEN
    keys += _INT_SEED
    return _mix64(keys)


# ---------------------------------------------------------------------------------------------
# Reading Arrow buffers


def _values(arr: pa.Array, dtype: np.dtype | str) -> np.ndarray:
    """The fixed-width values of ``arr`` as a (read-only) numpy view, honouring its offset."""
    buf = arr.buffers()[1]
    n = len(arr)
    if buf is None or n == 0:
        return np.zeros(n, dtype=dtype)
    return np.frombuffer(buf, dtype=dtype, count=arr.offset + n)[arr.offset :]


def _bytes_data(arr: pa.Array) -> np.ndarray:
    buf = arr.buffers()[2]
    return np.zeros(0, np.uint8) if buf is None else np.frombuffer(buf, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Keys of fixed-width values


def _int_keys(arr: pa.Array) -> np.ndarray:
    t = arr.type
    width = t.bit_width
    if pa.types.is_signed_integer(t):
        return _values(arr, f"int{width}").astype(np.int64).view(np.uint64)
    return _values(arr, f"uint{width}").astype(np.uint64)


def _float_keys(v: np.ndarray) -> np.ndarray:
    """Keys of float values: integral values as that integer, others as float64 bits."""
    v = v.astype(np.float64)  # widening is exact, so float32 0.5 == float64 0.5
    keys = v.view(np.uint64).copy()
    with np.errstate(invalid="ignore"):
        integral = (np.trunc(v) == v) & (v >= -(2.0**63)) & (v < 2.0**64)
    small = integral & (v < 2.0**63)  # -0.0 is integral too: it becomes the int 0
    if small.any():
        keys[small] = v[small].astype(np.int64).view(np.uint64)
    big = integral & ~small
    if big.any():
        keys[big] = v[big].astype(np.uint64)
    nan = np.isnan(v)
    if nan.any():
        keys[nan] = _NAN_KEY
    return keys


def _temporal_keys(arr: pa.Array) -> np.ndarray:
    t = arr.type
    raw = _values(arr, f"int{t.bit_width}").astype(np.int64)
    if pa.types.is_date32(t):
        return raw.view(np.uint64)
    if pa.types.is_date64(t):
        return (raw // _MS_PER_DAY).view(np.uint64)
    # timestamps, durations, times: nanoseconds, wrapping (equal instants stay equal).
    return raw.view(np.uint64) * _U64(_NS_PER_UNIT[t.unit])


def _bool_keys(arr: pa.Array) -> np.ndarray:
    n = len(arr)
    bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    start = arr.offset
    stop = start + n
    packed = bits[start // 8 : (stop + 7) // 8]
    return np.unpackbits(packed, bitorder="little")[start % 8 : start % 8 + n].astype(np.uint64)


# ---------------------------------------------------------------------------------------------
# Variable-length values: bytes and lists


def _item_indices(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of ``lengths`` items: (each item's index in its segment, segment bounds)."""
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    k = np.arange(bounds[-1], dtype=np.int64)
    k -= np.repeat(bounds[:-1], lengths)
    return k, bounds


def _add_position(terms: np.ndarray, k: np.ndarray) -> None:
    """Make each term depend on its index ``k`` within its segment (in place)."""
    pos = k.view(np.uint64) + _U64(1)
    pos *= _GOLDEN
    terms += pos


def _sum_segments(terms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Wrapping sum of ``terms`` over each segment; an empty segment sums to 0."""
    csum = np.zeros(len(terms) + 1, dtype=np.uint64)
    np.cumsum(terms, out=csum[1:])
    return csum[bounds[1:]] - csum[bounds[:-1]]


def _finish(sums: np.ndarray, lengths: np.ndarray, seed: np.uint64) -> np.ndarray:
    """Mix per-segment sums with the segment lengths (so prefixes and empties differ)."""
    salt = lengths.astype(np.uint64) * _GOLDEN
    salt += seed
    sums ^= salt
    return _mix64(sums)


def _word_terms(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray, k: int) -> np.ndarray:
    """The mixed ``k``-th little-endian word of strings starting at ``starts``."""
    terms = words[starts + 8 * k].astype(np.uint64, copy=False)
    if k:
        lengths = lengths - 8 * k
    terms &= _BYTE_MASKS[np.minimum(lengths, 8)]
    terms += _U64(int(_GOLDEN) * (k + 1) % 2**64)
    return _mix64(terms)


def _hash_bytes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Hashes of the byte strings ``data[offsets[i]:offsets[i + 1]]``."""
    base = int(offsets[0])
    total = int(offsets[-1]) - base
    padded = np.zeros(total + 8, dtype=np.uint8)
    padded[:total] = data[base : base + total]
    # Every byte position as the start of an unaligned little-endian 8-byte word.
    words = np.ndarray(shape=(total + 1,), dtype="<u8", buffer=padded, strides=(1,))
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(0, n, _BLOCK):
        j = min(i + _BLOCK, n)
        out[i:j] = _hash_strings(words, offsets[i:j] - base, np.diff(offsets[i : j + 1]))
    return out


def _hash_strings(words: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Hashes of the strings of ``lengths`` bytes at ``starts`` in ``words``' bytes.

    A string is cut into 8-byte little-endian words (the last one zero-padded; the empty
    string is one zero word); word ``k`` is mixed with ``k``; the mixed words are summed and
    the sum mixed with the length. The first few words of every string are taken column by
    column (word 0 of all strings, then word 1 of the strings that have one, ...), the words
    of long strings beyond those as one flat run of words summed by segments.
    """
    sums = _word_terms(words, starts, lengths, 0)
    nwords = (lengths + 7) >> 3
    rows = np.flatnonzero(nwords > 1)
    k = 1
    while len(rows) and k < _COLUMN_WORDS:
        sums[rows] += _word_terms(words, starts[rows], lengths[rows], k)
        k += 1
        rows = rows[nwords[rows] > k]
    if len(rows):  # long strings: their remaining words as one flat run
        more = nwords[rows] - k
        index, bounds = _item_indices(more)
        index += k
        pos = np.repeat(starts[rows], more)
        pos += index << 3
        left = np.repeat(lengths[rows], more)
        left -= index << 3
        terms = words[pos].astype(np.uint64, copy=False)
        terms &= _BYTE_MASKS[np.minimum(left, 8)]
        _add_position(terms, index)
        _mix64(terms)
        sums[rows] += _sum_segments(terms, bounds)
    return _finish(sums, lengths, _BYTES_SEED)


def _hash_binary_array(arr: pa.Array) -> np.ndarray:
    return _hash_bytes(_bytes_data(arr), offsets_of(arr))


def _hash_fixed_binary(arr: pa.Array) -> np.ndarray:
    width = arr.type.byte_width
    data = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    offsets = (np.arange(len(arr) + 1, dtype=np.int64) + arr.offset) * width
    return _hash_bytes(data, offsets)


def _hash_list_like(arr: pa.Array, values: pa.Array, offsets: np.ndarray) -> np.ndarray:
    """Hashes of lists whose items are ``values[offsets[i]:offsets[i + 1]]``."""
    base = int(offsets[0])
    lengths = np.diff(offsets)
    items = _hash_array(values.slice(base, int(offsets[-1]) - base))
    k, bounds = _item_indices(lengths)
    terms = items.copy()
    _add_position(terms, k)
    _mix64(terms)
    return _finish(_sum_segments(terms, bounds), lengths, _LIST_SEED)


def _hash_list(arr: pa.Array) -> np.ndarray:
    t = arr.type
    if pa.types.is_fixed_size_list(t):
        size = t.list_size
        offsets = (np.arange(len(arr) + 1, dtype=np.int64) + arr.offset) * size
        return _hash_list_like(arr, arr.values, offsets)
    return _hash_list_like(arr, arr.values, offsets_of(arr))


def _hash_list_view(arr: pa.Array) -> np.ndarray:
    """Hashes of list views: each row's items may sit anywhere in the values."""
    starts = arr.offsets.to_numpy().astype(np.int64)
    sizes = arr.sizes.to_numpy().astype(np.int64)
    valid = valid_mask(arr)
    if valid is not None:
        sizes[~valid] = 0
    k, bounds = _item_indices(sizes)
    where = np.repeat(starts, sizes)
    where += k
    terms = _hash_array(arr.values)[where]
    _add_position(terms, k)
    _mix64(terms)
    return _finish(_sum_segments(terms, bounds), sizes, _LIST_SEED)


def _combine(acc: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Fold the hashes ``h`` of one more field into ``acc`` (in place; order matters)."""
    acc *= _COMBINE
    acc += h
    return _mix64(acc)


def _hash_struct(arr: pa.StructArray) -> np.ndarray:
    acc = np.full(len(arr), _STRUCT_SEED, dtype=np.uint64)
    for i in range(arr.type.num_fields):
        _combine(acc, _hash_array(arr.field(i)))  # field() honours the struct's slice
    return acc


# ---------------------------------------------------------------------------------------------
# The slow path: Python values


def _py_key(value: Any) -> int | bytes:
    """A canonical key for one Python value: a 64-bit int key, or bytes hashed as bytes."""
    if isinstance(value, bool | int):
        if -(2**63) <= value < 2**64:
            return value & 0xFFFFFFFFFFFFFFFF
        return b"\x00int:" + str(value).encode()
    if isinstance(value, float):
        return int(_float_keys(np.array([value]))[0])
    if isinstance(value, decimal.Decimal):
        if value.is_finite():
            if value == value.to_integral_value():
                return _py_key(int(value))
            as_float = float(value)
            if math.isfinite(as_float) and decimal.Decimal(as_float) == value:
                return _py_key(as_float)
            return b"\x00dec:" + str(value.normalize()).encode()
        return _py_key(float(value))
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, tuple | list):
        parts = [_py_key(v) if v is not None else None for v in value]
        return b"\x00seq:" + pickle.dumps(parts, protocol=4)
    return b"\x00obj:" + pickle.dumps(value, protocol=4)


def _hash_py_values(values: Sequence[Any]) -> np.ndarray:
    """Hashes of Python values (the slow path for types without a vectorized one)."""
    out = np.full(len(values), NULL_HASH, dtype=np.uint64)
    int_rows: list[int] = []
    int_keys: list[int] = []
    byte_rows: list[int] = []
    byte_keys: list[bytes] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        key = _py_key(value)
        if isinstance(key, int):
            int_rows.append(i)
            int_keys.append(key)
        else:
            byte_rows.append(i)
            byte_keys.append(key)
    if int_rows:
        out[int_rows] = _hash_keys(np.array(int_keys, dtype=np.uint64))
    if byte_rows:
        out[byte_rows] = _hash_binary_array(pa.array(byte_keys, type=pa.large_binary()))
    return out


# ---------------------------------------------------------------------------------------------
# One column


def _hash_nulls(arr: pa.Array) -> np.ndarray:
    return np.full(len(arr), NULL_HASH, dtype=np.uint64)


def _hash_dictionary(arr: pa.DictionaryArray) -> np.ndarray:
    dictionary = _hash_array(arr.dictionary)
    if len(dictionary) == 0:
        return _hash_nulls(arr)
    indices = _int_keys(arr.indices).view(np.int64)
    valid = valid_mask(arr.indices)
    if valid is not None:
        indices = np.where(valid, indices, 0)
    return dictionary[indices]


def _hash_ints(arr: pa.Array) -> np.ndarray:
    return _hash_keys(_int_keys(arr))


def _hash_floats(arr: pa.Array) -> np.ndarray:
    return _hash_keys(_float_keys(_values(arr, f"float{arr.type.bit_width}")))


def _hash_bools(arr: pa.Array) -> np.ndarray:
    return _hash_keys(_bool_keys(arr))


def _hash_temporals(arr: pa.Array) -> np.ndarray:
    return _hash_keys(_temporal_keys(arr))


def _hash_binary_view(arr: pa.Array) -> np.ndarray:
    return _hash_binary_array(arr.cast(pa.large_binary()))


def _hash_run_ends(arr: pa.Array) -> np.ndarray:
    import pyarrow.compute as pc

    return _hash_array(pc.run_end_decode(arr))


_HASHERS: dict[int, Callable[[pa.Array], np.ndarray]] = {
    example.id: hasher
    for hasher, examples in (
        (_hash_ints, (pa.int8(), pa.int16(), pa.int32(), pa.int64())),
        (_hash_ints, (pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())),
        (_hash_floats, (pa.float16(), pa.float32(), pa.float64())),
        (_hash_bools, (pa.bool_(),)),
        (_hash_temporals, (pa.timestamp("s"), pa.date32(), pa.date64(), pa.duration("s"))),
        (_hash_temporals, (pa.time32("s"), pa.time64("us"))),
        (_hash_binary_array, (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())),
        (_hash_fixed_binary, (pa.binary(1),)),
        (_hash_binary_view, (pa.string_view(), pa.binary_view())),
        (_hash_dictionary, (pa.dictionary(pa.int8(), pa.null()),)),
        (_hash_list, (pa.list_(pa.null()), pa.large_list(pa.null()), pa.list_(pa.null(), 1))),
        (_hash_list, (pa.map_(pa.int8(), pa.null()),)),
        (_hash_list_view, (pa.list_view(pa.null()), pa.large_list_view(pa.null()))),
        (_hash_struct, (pa.struct([]),)),
        (_hash_run_ends, (pa.run_end_encoded(pa.int32(), pa.null()),)),
        (_hash_nulls, (pa.null(),)),
    )
    for example in examples
}
"""The vectorized hash of each Arrow type, by type id: every type of one id (a timestamp of
any unit, a list of any items) is hashed alike. ``pa.types``' tests compare the same ids; one
lookup per column replaces a chain of them. Types not listed (decimals, unions, intervals,
Arrow's own extension types) are hashed as Python values."""


def _hash_values(arr: pa.Array) -> np.ndarray:
    """Hashes of the values of ``arr``; rows that are null may hold anything."""
    # gleamnb.pyobject: its pickles; gleamnb.tuple: its struct.
    if isinstance(arr.type, pa.ExtensionType):
        return _hash_array(arr.storage)
    hasher = _HASHERS.get(arr.type.id)
    if hasher is None:
        return _hash_py_values(arr.to_pylist())
    return hasher(arr)


def _hash_array(arr: pa.Array) -> np.ndarray:
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    h = _hash_values(arr)
    valid = valid_mask(arr)  # for a dictionary array: its indices' validity
    if valid is not None:
        h = np.where(valid, h, NULL_HASH)
    return h


def hash_array(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One uint64 hash per row of one column (see the module docstring for the rules).

    Parameters
    ----------
    arr
        A column of any Arrow type; chunked or sliced arrays are fine.

    Returns
    -------
    numpy.ndarray
        ``uint64`` hashes, ``len(arr)`` of them. Nulls hash to :data:`NULL_HASH`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> a = hash_array(pa.array([1, 2], type=pa.int8()))
    >>> b = hash_array(pa.chunked_array([[1.0], [2.0]]))
    >>> bool((a == b).all())   # 1 == 1.0 and 2 == 2.0, whatever the widths
    True
    >>> bool(hash_array(pa.array([None]))[0] == NULL_HASH)
    True
    """
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return _hash_array(arr.chunk(0))
        parts = [_hash_array(chunk) for chunk in arr.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    return _hash_array(arr)


def hash_columns(columns: Sequence[pa.Array | pa.ChunkedArray]) -> np.ndarray:
    """One uint64 hash per row of a key made of one or more columns.

    The hash of one column is :func:`hash_array`; further columns are folded in order, so
    ``(a, b)`` and ``(b, a)`` hash differently. Hashes are the same in every process, machine
    and run.

    Parameters
    ----------
    columns
        The key columns, all of one length.

    Returns
    -------
    numpy.ndarray
        ``uint64`` hashes, one per row.

    Raises
    ------
    ArgumentError
        If no column is given or the columns differ in length.

    Examples
    --------
    >>> import pyarrow as pa
    >>> h = hash_columns([pa.array(["a", "a", "b"]), pa.array([1, 1, 1])])
    >>> h.dtype.name, bool(h[0] == h[1]), bool(h[0] == h[2])
    ('uint64', True, False)
    >>> small = hash_columns([pa.array(["a"], pa.large_string()), pa.array([1], pa.uint8())])
    >>> bool(small[0] == h[0])
    True
    """
    if not columns:
        raise ArgumentError(
            "hash_columns needs at least one key column", hint="pass the key fields' columns"
        )
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ArgumentError(
            f"key columns differ in length: {sorted(lengths)}",
            hint="take every key column from the same batch",
        )
    acc = hash_array(columns[0])
    if len(columns) > 1:
        acc = acc.copy()
        for col in columns[1:]:
            _combine(acc, hash_array(col))
    return acc


def partition_ids(hashes: np.ndarray, n: int) -> np.ndarray:
    """The partition (``0 .. n-1``) of each hash.

    Uses the hash's high 32 bits scaled to ``[0, n)`` (Lemire's multiply-shift), which spreads
    evenly for any ``n`` and does not depend on the low bits alone.

    Parameters
    ----------
    hashes
        uint64 hashes from :func:`hash_columns`.
    n
        The number of partitions, at least 1.

    Returns
    -------
    numpy.ndarray
        ``int64`` partition ids, one per hash.

    Examples
    --------
    >>> import pyarrow as pa
    >>> ids = partition_ids(hash_columns([pa.array([0.5, 1.5, 2.5, 3.5])]), 3)
    >>> ids.dtype.name, bool(((ids >= 0) & (ids < 3)).all())
    ('int64', True)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ArgumentError(f"the number of partitions must be an int >= 1, got {n!r}")
    h = np.asarray(hashes)
    if h.dtype != np.uint64:
        h = h.astype(np.uint64)
    if n == 1:
        return np.zeros(len(h), dtype=np.int64)
    if n >= 2**32:
        return (h % _U64(n)).astype(np.int64)
    out = np.empty(len(h), dtype=np.uint64)
    for i in range(0, len(h), _BLOCK):  # in cache-sized slices, like _mix64
        o = out[i : i + _BLOCK]
        np.right_shift(h[i : i + _BLOCK], _U64(32), out=o)
        o *= _U64(n)
        o >>= _U64(32)
    return out.view(np.int64)


def split_by_partition(table: pa.Table | pa.RecordBatch, ids: np.ndarray, n: int) -> list[pa.Table]:
    """Split the rows of ``table`` into ``n`` tables by partition id, keeping their order.

    One stable sort of the ids (a radix sort when ``n`` fits in 16 bits), one ``take`` and
    ``n`` zero-copy slices.

    Parameters
    ----------
    table
        The rows to split.
    ids
        The partition of each row, from :func:`partition_ids`.
    n
        The number of partitions.

    Returns
    -------
    list of pyarrow.Table
        ``n`` tables; table ``i`` holds the rows whose id is ``i`` in their original order.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> t = pa.table({"x": [10, 11, 12, 13]})
    >>> [p["x"].to_pylist() for p in split_by_partition(t, np.array([1, 0, 1, 0]), 3)]
    [[11, 13], [10, 12], []]
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ArgumentError(f"the number of partitions must be an int >= 1, got {n!r}")
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    ids = np.asarray(ids)
    if len(ids) != table.num_rows:
        raise ArgumentError(
            f"{len(ids)} partition ids for {table.num_rows} rows",
            hint="compute the ids from the same table",
        )
    if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n):
        raise ArgumentError(f"partition ids must be in [0, {n}), got {ids.min()}..{ids.max()}")
    counts = np.bincount(ids, minlength=n) if len(ids) else np.zeros(n, dtype=np.int64)
    if len(ids) < 2 or bool((ids[1:] >= ids[:-1]).all()):
        ordered = table  # already grouped: slices alone will do
    else:
        small = ids.astype(np.uint8 if n <= 256 else np.uint16 if n <= 65536 else np.int64)
        ordered = table.take(np.argsort(small, kind="stable"))
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    return [ordered.slice(int(bounds[i]), int(counts[i])) for i in range(n)]
