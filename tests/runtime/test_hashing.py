"""Tests of hash partitioning: equal keys meet, keys spread, buckets keep their order."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import math
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gleamnb.errors import ArgumentError
from gleamnb.rows import PYOBJECT, TupleType, batch_to_rows, pyobject_array
from gleamnb.runtime.hashing import (
    NULL_HASH,
    hash_array,
    hash_columns,
    partition_ids,
    split_by_partition,
)

# ---------------------------------------------------------------------------------------------
# Helpers: the same values in many Arrow representations


def _chunked(arr: pa.Array, cuts: list[int]) -> pa.ChunkedArray:
    bounds = sorted({0, len(arr), *(c % (len(arr) + 1) for c in cuts)})
    chunks = [arr.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    return pa.chunked_array(chunks or [arr], type=arr.type)


def _sliced(values: list[Any], t: pa.DataType, pad: int) -> pa.Array:
    """``values`` as an array with a non-zero offset (other values before and after)."""
    filler = values[:1] * pad if values else []
    return pa.array(filler + values + filler, type=t).slice(len(filler), len(values))


def _same(reference: np.ndarray, other: pa.Array | pa.ChunkedArray) -> None:
    got = hash_array(other)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, reference, err_msg=f"{other.type}")


def _int_types(values: list[int | None]) -> list[pa.DataType]:
    present = [v for v in values if v is not None] or [0]
    lo, hi = min(present), max(present)
    out = [pa.int64()]
    for bits in (8, 16, 32):
        if -(2 ** (bits - 1)) <= lo and hi < 2 ** (bits - 1):
            out.append(getattr(pa, f"int{bits}")())
    for bits in (8, 16, 32, 64):
        if lo >= 0 and hi < 2**bits:
            out.append(getattr(pa, f"uint{bits}")())
    return out


# ---------------------------------------------------------------------------------------------
# Equal values hash equally, whatever their representation


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=40),
    st.lists(st.integers(0, 60), max_size=4),
    st.integers(1, 3),
)
@example([0, -1, 1, 2**63 - 1, -(2**63), None], [2], 1)
def test_ints_hash_as_their_value(values: list[int | None], cuts: list[int], pad: int) -> None:
    reference = hash_array(pa.array(values, type=pa.int64()))
    for t in _int_types(values):
        _same(reference, pa.array(values, type=t))
        _same(reference, _sliced(values, t, pad))
        _same(reference, _chunked(pa.array(values, type=t), cuts))
    if all(v is None or abs(v) < 2**53 for v in values):
        _same(reference, pa.array([None if v is None else float(v) for v in values]))
    _same(reference, pa.array(values, type=pa.int64()).dictionary_encode())
    _same(reference, pa.array(values, type=pa.decimal128(38, 0)))


def test_unsigned_beyond_int64_and_bools() -> None:
    big = hash_array(pa.array([2**63, 2**64 - 1, None], pa.uint64()))
    assert big[0] == hash_array(pa.array([float(2**63)]))[0]
    assert big[1] != big[0] and big[2] == NULL_HASH
    _same(hash_array(pa.array([1, 0, None])), pa.array([True, False, None]))
    bools = pa.array([False, True, None, True, False] * 3)
    _same(hash_array(bools)[3:11], bools.slice(3, 8))


def _nan(payload: int, negative: bool = False) -> float:
    bits = 0x7FF8000000000000 | payload | (1 << 63 if negative else 0)
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, width=32)), max_size=40),
    st.lists(st.integers(0, 60), max_size=4),
)
def test_floats_hash_as_their_value(values: list[float | None], cuts: list[int]) -> None:
    reference = hash_array(pa.array(values, type=pa.float64()))
    _same(reference, pa.array(values, type=pa.float32()))
    _same(reference, _sliced(values, pa.float32(), 2))
    _same(reference, _chunked(pa.array(values, type=pa.float64()), cuts))
    # Python's equality: x == y (or both NaN) -> equal hashes.
    for i, x in enumerate(values):
        for j, y in enumerate(values):
            if x is None or y is None:
                continue
            if x == y or (x != x and y != y):
                assert reference[i] == reference[j]


def test_float_special_values() -> None:
    h = hash_array(pa.array([0.0, -0.0, float("nan"), _nan(1), _nan(12345, negative=True)]))
    assert h[0] == h[1]
    assert h[2] == h[3] == h[4]
    assert h[0] != h[2]
    h16 = hash_array(pa.array(np.array([0.5, -0.0, np.nan, 3.0], dtype=np.float16)))
    np.testing.assert_array_equal(h16, hash_array(pa.array([0.5, 0.0, np.nan, 3])))
    assert len(set(hash_array(pa.array([float("inf"), -float("inf"), 1e300])).tolist())) == 3


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from("ab \x00é"),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), TEXT), max_size=30),
    st.lists(st.integers(0, 40), max_size=4),
    st.integers(1, 3),
)
@example(["", "a", "ab", "ba", "abcdefgh", "abcdefghi", None, ""], [3], 1)
def test_strings_hash_as_their_bytes(values: list[str | None], cuts: list[int], pad: int) -> None:
    reference = hash_array(pa.array(values, type=pa.string()))
    encoded = [None if v is None else v.encode() for v in values]
    for t in (pa.large_string(), pa.string_view()):
        _same(reference, pa.array(values, type=t))
    for t in (pa.binary(), pa.large_binary()):
        _same(reference, pa.array(encoded, type=t))
    _same(reference, _sliced(values, pa.string(), pad))
    _same(reference, _sliced(values, pa.large_string(), pad))
    _same(reference, _chunked(pa.array(values, type=pa.string()), cuts))
    _same(reference, pa.array(values, type=pa.string()).dictionary_encode())
    _same(reference, _sliced(values, pa.string(), pad).dictionary_encode())
    _same(reference, pa.array(values, type=pa.string()).cast(pa.dictionary(pa.int8(), pa.string())))
    # Equal hashes exactly for equal strings (no collision in a small sample).
    for i, x in enumerate(values):
        for j, y in enumerate(values):
            if x is not None and y is not None:
                assert (reference[i] == reference[j]) == (x == y), (x, y)


def test_strings_order_prefix_and_length_matter() -> None:
    words = ["", "a", "ab", "ba", "abc", "a\x00", "\x00", "abcdefgh", "abcdefgh\x00", "x" * 16]
    words += ["abcdefghi", "bacdefghi", "abcdefgh" + "ihgfedcb", "ihgfedcb" + "abcdefgh"]
    h = hash_array(pa.array(words))
    assert len(set(h.tolist())) == len(words)
    assert NULL_HASH not in set(h.tolist())


def test_long_and_short_strings_agree_across_arrays() -> None:
    """A string hashes the same whether its array takes the short or the long-string path."""
    short = ["", "a", "abcdefgh", "zz"]
    alone = hash_array(pa.array(short))
    mixed = hash_array(pa.array([*short, "a much longer string than eight bytes"]))
    np.testing.assert_array_equal(alone, mixed[: len(short)])


def test_fixed_size_binary() -> None:
    values = [b"abcd", None, b"wxyz", b"\x00\x00\x00\x00"]
    arr = pa.array(values, type=pa.binary(4))
    _same(hash_array(pa.array(values, type=pa.binary())), arr)
    _same(hash_array(pa.array(values[1:], type=pa.binary())), arr.slice(1))


def test_temporal_values() -> None:
    when = [dt.datetime(2024, 2, 29, 12, 30, 1), None, dt.datetime(1969, 7, 20, 20, 17)]
    ref = hash_array(pa.array(when, type=pa.timestamp("s")))
    for unit in ("ms", "us", "ns"):
        _same(ref, pa.array(when, type=pa.timestamp(unit)))
        _same(ref, pa.array(when, type=pa.timestamp(unit, tz="UTC")))
    days = [dt.date(2024, 2, 29), dt.date(1900, 1, 1), None]
    _same(hash_array(pa.array(days, pa.date32())), pa.array(days, pa.date64()))
    spans = [dt.timedelta(seconds=3), None, dt.timedelta(days=-1)]
    ref = hash_array(pa.array(spans, type=pa.duration("s")))
    _same(ref, pa.array(spans, type=pa.duration("us")))
    times = [dt.time(1, 2, 3), None]
    _same(hash_array(pa.array(times, pa.time32("s"))), pa.array(times, pa.time64("ns")))
    assert len(set(hash_array(pa.array(when[::2], pa.timestamp("ms"))).tolist())) == 2


def test_decimals_take_the_slow_path_and_agree_with_numbers() -> None:
    d = decimal.Decimal
    a = pa.array([d("1.50"), d("2"), None, d("0.1")], type=pa.decimal128(10, 2))
    b = pa.array([d("1.5"), d("2.00000"), None, d("0.10")], type=pa.decimal128(20, 5))
    _same(hash_array(a), b)
    _same(hash_array(pa.array([1.5, 2, None])), a.slice(0, 3))
    assert hash_array(a)[3] != hash_array(pa.array([0.1]))[0]  # 0.1 is not the float 0.1


def test_nested_lists_and_structs() -> None:
    lists = [[1, 2], None, [], [None, 3], [2, 1]]
    ref = hash_array(pa.array(lists, type=pa.list_(pa.int64())))
    _same(ref, pa.array(lists, type=pa.large_list(pa.int8())))
    _same(ref[1:], _sliced(lists[1:], pa.list_(pa.int16()), 2))
    _same(ref, _chunked(pa.array(lists), [2, 3]))
    assert len({ref[0], ref[2], ref[3], ref[4]}) == 4
    view = pa.ListViewArray.from_arrays(
        pa.array([4, 0, 0, 0, 2], pa.int32()),
        pa.array([2, 0, 0, 2, 2], pa.int32()),
        pa.array([None, 3, 2, 1, 1, 2]),
        mask=pa.array([False, True, False, False, False]),
    )
    assert view.to_pylist() == [[1, 2], None, [], [None, 3], [2, 1]]
    _same(ref, view)
    _same(ref[1:], view.slice(1))
    large_view = pa.LargeListViewArray.from_arrays(
        view.offsets.cast(pa.int64()),
        view.sizes.cast(pa.int64()),
        view.values.cast(pa.int8()),
        mask=view.is_null(),
    )
    assert large_view.type == pa.large_list_view(pa.int8())
    _same(ref, large_view)
    fixed = pa.array([[1, 2], [3, 4], None], type=pa.list_(pa.int32(), 2))
    _same(hash_array(pa.array([[3, 4], None])), fixed.slice(1))
    nested = [[["a"], []], None, [[], ["a"]]]
    h = hash_array(pa.array(nested))
    assert h[0] != h[2]
    rows = [{"x": 1, "y": "a"}, None, {"x": 2, "y": None}, {"x": 1, "y": "a"}]
    s = pa.array(rows)
    hs = hash_array(s)
    assert hs[0] == hs[3] and hs[0] != hs[2] and hs[1] == NULL_HASH
    narrow = pa.struct([("x", pa.int8()), ("y", pa.large_string())])
    _same(hs[1:], _sliced(rows[1:], narrow, 1))
    swapped = pa.array([{"y": "a", "x": 1}], pa.struct([("y", pa.string()), ("x", pa.int64())]))
    assert hash_array(swapped)[0] != hs[0]  # field order is part of the value
    m = pa.array([[("k", 1)], None], type=pa.map_(pa.string(), pa.int64()))
    hm = hash_array(m)
    assert hm[1] == NULL_HASH and hm[0] != NULL_HASH


def test_extension_types() -> None:
    objs = [{1, 2}, None, ("a", 1), object.__class__]
    arr = pyobject_array(objs)
    assert arr.type == PYOBJECT
    _same(hash_array(arr.storage), arr)
    h = hash_array(arr)
    assert h[1] == NULL_HASH
    assert hash_array(pyobject_array([("a", 1)]))[0] == h[2]
    storage = pa.array([{"0": 1, "1": "a"}, None])
    tup = pa.ExtensionArray.from_storage(TupleType(storage.type), storage)
    _same(hash_array(storage), tup)


def test_other_types_via_python_values() -> None:
    union = pa.UnionArray.from_sparse(
        pa.array([0, 1, 0], type=pa.int8()), [pa.array([1, 2, 3]), pa.array(["a", "b", "c"])]
    )
    h = hash_array(union)
    assert h[0] == hash_array(pa.array([1]))[0]
    assert h[1] == hash_array(pa.array(["b"]))[0]
    ree = pa.RunEndEncodedArray.from_arrays([2, 5], pa.array(["x", "y"]))
    _same(hash_array(pa.array(["x", "x", "y", "y", "y"])), ree)


@pytest.mark.parametrize(
    "t", [pa.int64(), pa.float32(), pa.string(), pa.bool_(), pa.list_(pa.int8()), pa.null()]
)
def test_nulls_hash_to_one_value(t: pa.DataType) -> None:
    h = hash_array(pa.array([None, None, None], type=t))
    assert (h == NULL_HASH).all()
    assert len(hash_array(pa.array([], type=t))) == 0
    assert len(hash_array(pa.chunked_array([], type=t))) == 0


# ---------------------------------------------------------------------------------------------
# Several key columns


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-50, 50)),
            st.one_of(st.none(), st.sampled_from(["a", "b", "", "long key value"])),
        ),
        max_size=40,
    )
)
def test_multi_column_keys(rows: list[tuple[int | None, str | None]]) -> None:
    ints = pa.array([r[0] for r in rows], type=pa.int64())
    strs = pa.array([r[1] for r in rows], type=pa.string())
    h = hash_columns([ints, strs])
    for i, x in enumerate(rows):
        for j, y in enumerate(rows):
            assert (h[i] == h[j]) == (x == y)
    other = hash_columns([ints.cast(pa.int16()), _chunked(strs.cast(pa.large_string()), [3])])
    np.testing.assert_array_equal(h, other)
    assert (hash_columns([ints]) == hash_array(ints)).all()


def test_column_order_matters_and_errors() -> None:
    a, b = pa.array(["x", "y"]), pa.array(["y", "x"])
    assert hash_columns([a, b])[0] != hash_columns([b, a])[0]
    h = hash_columns([pa.array([None, 1]), pa.array(["a", None])])
    assert h[0] != h[1] and NULL_HASH not in h
    with pytest.raises(ArgumentError):
        hash_columns([])
    with pytest.raises(ArgumentError):
        hash_columns([pa.array([1, 2]), pa.array([1])])


# ---------------------------------------------------------------------------------------------
# Deterministic across processes, runs and releases


GOLDEN = [
    (
        pa.array([0, 1, -1, 2**40]),
        [16852473371444490038, 3220344897584144929, 7887551627776053881, 1227918947543410937],
    ),
    (
        pa.array([0.5, -0.0, float("nan")]),
        [7500481119191153184, 16852473371444490038, 15168845564361176887],
    ),
    (
        pa.array(["", "a", "hello world, this is long"]),
        [8018438174694008043, 3740012898072765075, 18051865367010315500],
    ),
    (pa.array([[1, 2], []]), [3374527043916127026, 16903225604116078773]),
]


# The hash function written out in plain Python, one value at a time: the specification the
# vectorized code must match bit for bit.
_MASK = 2**64 - 1
_GOLDEN_RATIO = 0x9E3779B97F4A7C15


def _py_mix(x: int) -> int:
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _py_hash_int(v: int) -> int:
    return _py_mix((v & _MASK) * _GOLDEN_RATIO + 0x243F6A8885A308D3)


def _py_hash_bytes(b: bytes) -> int:
    words = [b[i : i + 8] for i in range(0, len(b), 8)] or [b""]
    total = 0
    for k, w in enumerate(words):
        word = int.from_bytes(w.ljust(8, b"\x00"), "little")
        total += _py_mix(word + (k + 1) * _GOLDEN_RATIO)
    salt = len(b) * _GOLDEN_RATIO + 0x13198A2E03707345
    return _py_mix((total & _MASK) ^ (salt & _MASK))


def _py_hash_columns(row: tuple[int | str, ...]) -> int:
    hashes = [_py_hash_int(v) if isinstance(v, int) else _py_hash_bytes(v.encode()) for v in row]
    acc = hashes[0]
    for h in hashes[1:]:
        acc = _py_mix(acc * 0x452821E638D01377 + h)
    return acc


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(max_size=150), max_size=20),
    st.lists(st.integers(-(2**63), 2**64 - 1), min_size=1, max_size=20),
)
@example([b"", b"a" * 64, b"b" * 65, b"c" * 200], [0, -1, 2**64 - 1])
def test_matches_the_plain_python_definition(blobs: list[bytes], ints: list[int]) -> None:
    assert hash_array(pa.array(blobs, pa.binary())).tolist() == [_py_hash_bytes(b) for b in blobs]
    signed = [v for v in ints if v < 2**63]
    assert hash_array(pa.array(signed, pa.int64())).tolist() == [_py_hash_int(v) for v in signed]
    unsigned = [v for v in ints if v >= 0]
    assert hash_array(pa.array(unsigned, pa.uint64())).tolist() == [
        _py_hash_int(v) for v in unsigned
    ]
    rows = [(v, b.hex()) for v, b in zip(signed, blobs)]
    if rows:
        got = hash_columns([pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows])])
        assert got.tolist() == [_py_hash_columns(r) for r in rows]


@pytest.mark.parametrize(("arr", "expected"), GOLDEN)
def test_golden_hashes(arr: pa.Array, expected: list[int]) -> None:
    """Shards written by one release must be found by the next: pin the hash function."""
    assert hash_array(arr).tolist() == expected


def test_same_hashes_in_another_process() -> None:
    code = (
        "import pyarrow as pa\n"
        "from gleamnb.runtime.hashing import hash_columns\n"
        "print(hash_columns([pa.array(['apple', 'pear', None]), pa.array([1.5, 2.0, 3.0])])"
        ".tolist())\n"
    )
    here = hash_columns([pa.array(["apple", "pear", None]), pa.array([1.5, 2.0, 3.0])]).tolist()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert out.stdout.strip() == str(here)


# ---------------------------------------------------------------------------------------------
# Distribution over partitions


def _shares(column: pa.Array, n: int = 7) -> np.ndarray:
    ids = partition_ids(hash_columns([column]), n)
    return np.bincount(ids, minlength=n) / len(column)


KEYS: dict[str, Callable[[], pa.Array]] = {
    "random floats": lambda: pa.array(np.random.default_rng(1).random(100_000)),
    "halves 0.5, 1.5, ...": lambda: pa.array(np.arange(100_000) + 0.5),
    "integral floats": lambda: pa.array(np.arange(100_000, dtype=np.float64)),
    "tiny floats": lambda: pa.array(np.arange(100_000) * 1e-9),
    "float32 steps": lambda: pa.array(np.arange(100_000, dtype=np.float32) / 4),
    "sequential ints": lambda: pa.array(np.arange(100_000)),
    "ints times 7": lambda: pa.array(np.arange(100_000) * 7),
    "ints times 2**32": lambda: pa.array(np.arange(100_000, dtype=np.int64) << 32),
    "short strings": lambda: pa.array([f"k{i}" for i in range(100_000)]),
    "long strings": lambda: pa.array([f"user-{i:010d}@example.org" for i in range(100_000)]),
    "timestamps": lambda: pa.array(np.arange(100_000) * 1_000_000_000).cast(pa.timestamp("ns")),
    "lists": lambda: pa.array([[i, i + 1] for i in range(100_000)]),
}


@pytest.mark.parametrize("name", list(KEYS))
def test_keys_spread_over_all_partitions(name: str) -> None:
    shares = _shares(KEYS[name]())
    assert shares.min() >= 0.10 and shares.max() <= 0.18, (name, shares)


def test_multi_column_keys_spread() -> None:
    a = pa.array(np.repeat(np.arange(1000), 100) + 0.5)
    b = pa.array([f"s{i % 100}" for i in range(100_000)])
    ids = partition_ids(hash_columns([a, b]), 7)
    shares = np.bincount(ids, minlength=7) / len(ids)
    assert shares.min() >= 0.10 and shares.max() <= 0.18, shares


# Few distinct keys: the common small key sets must reach every shard and split evenly, as
# they would under a random function. Each key set maps k to the columns of k distinct keys.
SMALL_KEYS: dict[str, Callable[[int], list[pa.Array]]] = {
    "ints 0..k-1": lambda k: [pa.array(range(k))],
    "ints 1..k as int16": lambda k: [pa.array(range(1, k + 1), pa.int16())],
    "negative ints": lambda k: [pa.array(range(-k, 0))],
    "integral floats": lambda k: [pa.array([float(i) for i in range(k)])],
    "decimal strings": lambda k: [pa.array([str(i) for i in range(k)])],
    "short strings": lambda k: [pa.array([f"k{i}" for i in range(k)])],
    "two int columns": lambda k: [pa.array([i % 4 for i in range(k)]), pa.array(range(k))],
    "string and int columns": lambda k: [
        pa.array([f"s{i % 3}" for i in range(k)]),
        pa.array([i // 3 for i in range(k)]),
    ],
}


def _counts(columns: list[pa.Array], n: int) -> list[int]:
    counts = [0] * n
    for shard in partition_ids(hash_columns(columns), n).tolist():
        counts[shard] += 1
    return counts


def _chi_square_tail(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square distributed with ``dof`` degrees of freedom.

    The upper regularized gamma function Q(dof / 2, x / 2), climbing from Q(1/2) or Q(1) by
    Q(a + 1, y) = Q(a, y) + y**a * exp(-y) / Gamma(a + 1).
    """
    y = x / 2
    a, q = (0.5, math.erfc(math.sqrt(y))) if dof % 2 else (1.0, math.exp(-y))
    while a < dof / 2:
        q += math.exp(a * math.log(y) - y - math.lgamma(a + 1)) if y > 0 else 0.0
        a += 1
    return q


def test_chi_square_tail_matches_known_values() -> None:
    # Textbook critical values: P(X >= 3.841) = 0.05 with 1 degree of freedom, and so on.
    for x, dof, p in [(3.841, 1, 0.05), (5.991, 2, 0.05), (11.345, 3, 0.01), (24.322, 7, 0.001)]:
        assert _chi_square_tail(x, dof) == pytest.approx(p, rel=2e-3)


@pytest.mark.parametrize("name", list(SMALL_KEYS))
@pytest.mark.parametrize("n", range(2, 9))
def test_few_distinct_keys_reach_every_shard(name: str, n: int) -> None:
    # Under a random function a shard stays empty with probability about n * (1 - 1/n) ** k;
    # from the k where that drops below 0.002 on, every shard must get a key.
    k_min = next(k for k in itertools.count(n) if n * (1 - 1 / n) ** k < 0.002)
    for k in range(k_min, 201):
        counts = _counts(SMALL_KEYS[name](k), n)
        assert min(counts) > 0, (name, n, k, counts)


@pytest.mark.parametrize("name", list(SMALL_KEYS))
def test_distinct_keys_balance_like_a_random_function(name: str) -> None:
    keys = 10_000
    columns = SMALL_KEYS[name](keys)
    for n in range(2, 9):
        expected = keys / n
        counts = _counts(columns, n)
        chi2 = sum((c - expected) ** 2 / expected for c in counts)
        assert _chi_square_tail(chi2, n - 1) > 1e-4, (name, n, counts)


def test_bools_and_the_smallest_ints_split() -> None:
    # With two keys nothing statistical can be asked; the hash's constants keep False and True
    # in different shards for every n from 2 to 8, so a bool key never goes to one shard.
    for n in range(2, 9):
        bools = _counts([pa.array([False, True] * 50)], n)
        assert sorted(bools)[-2:] == [50, 50], (n, bools)
    # Ten groups (the keys 0..9) over two shards: both get some.
    assert min(_counts([pa.array(range(10))], 2)) > 0


@pytest.mark.parametrize("n", [1, 2, 3, 16, 1000, 2**33])
def test_partition_ids_range(n: int) -> None:
    h = hash_columns([pa.array(np.arange(10_000))])
    ids = partition_ids(h, n)
    assert ids.dtype == np.int64 and len(ids) == len(h)
    assert ids.min() >= 0 and ids.max() < n
    if 1 < n <= 16:
        assert len(set(ids.tolist())) == n


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3"])
def test_partition_ids_rejects_bad_n(n: Any) -> None:
    with pytest.raises(ArgumentError):
        partition_ids(np.zeros(3, dtype=np.uint64), n)


# ---------------------------------------------------------------------------------------------
# Splitting a table into buckets


def _reference_split(rows: list[tuple[Any, ...]], ids: list[int], n: int) -> list[list[Any]]:
    buckets: list[list[Any]] = [[] for _ in range(n)]
    for row, i in zip(rows, ids):
        buckets[i].append(row)
    return buckets


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_split_by_partition_matches_reference(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 9), label="n")
    size = data.draw(st.integers(0, 60), label="rows")
    ids = data.draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size), label="ids")
    ints = data.draw(st.lists(st.one_of(st.none(), st.integers()), min_size=size, max_size=size))
    texts = data.draw(st.lists(st.one_of(st.none(), TEXT), min_size=size, max_size=size))
    table = pa.table(
        {
            "i": pa.array([None if v is None else v % 1000 for v in ints], pa.int64()),
            "s": pa.array(texts, pa.string()),
            "o": pyobject_array([(v,) for v in ints]),
        }
    )
    if data.draw(st.booleans(), label="chunked") and size > 2:
        table = pa.concat_tables([table.slice(0, size // 2), table.slice(size // 2)])
    source: pa.Table | pa.RecordBatch = table
    if data.draw(st.booleans(), label="record batch"):
        columns = [c.combine_chunks() for c in table.columns]
        source = pa.RecordBatch.from_arrays(columns, schema=table.schema)
    parts = split_by_partition(source, np.array(ids, dtype=np.int64), n)
    assert len(parts) == n
    expected = _reference_split(batch_to_rows(table), ids, n)
    for part, rows in zip(parts, expected):
        assert isinstance(part, pa.Table)
        assert part.schema == table.schema
        assert batch_to_rows(part) == rows


def test_split_by_partition_many_partitions_and_sorted_input() -> None:
    table = pa.table({"x": np.arange(5000)})
    ids = np.random.default_rng(3).integers(0, 300, 5000)
    parts = split_by_partition(table, ids, 300)
    expected = _reference_split([(x,) for x in range(5000)], ids.tolist(), 300)
    assert [batch_to_rows(p) for p in parts] == expected
    grouped = split_by_partition(table, np.repeat([0, 2], 2500), 3)
    assert [p.num_rows for p in grouped] == [2500, 0, 2500]
    assert grouped[2]["x"][0].as_py() == 2500


def test_split_by_partition_errors() -> None:
    table = pa.table({"x": [1, 2, 3]})
    with pytest.raises(ArgumentError):
        split_by_partition(table, np.array([0, 1]), 2)
    with pytest.raises(ArgumentError):
        split_by_partition(table, np.array([0, 1, 2]), 2)
    with pytest.raises(ArgumentError):
        split_by_partition(table, np.array([0, -1, 0]), 2)
    with pytest.raises(ArgumentError):
        split_by_partition(table, np.array([0, 0, 0]), 0)


def test_hash_then_split_routes_equal_keys_together() -> None:
    keys = pa.chunked_array([["a", "b", None], ["a", "c", "b", None]])
    table = pa.table({"k": keys, "v": list(range(7))})
    parts = split_by_partition(table, partition_ids(hash_columns([table["k"]]), 3), 3)
    homes: dict[Any, int] = {}
    for i, part in enumerate(parts):
        for k in part["k"].to_pylist():
            assert homes.setdefault(k, i) == i
    assert sum(p.num_rows for p in parts) == 7
