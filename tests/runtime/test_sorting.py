"""Sorting kernels against Python's own ordering.

The first sort field is sorted as 64-bit integers first (``runtime/normalized.py``) and ties
are broken by the whole key; these tests pin the cases where the integers alone would be
wrong: strings shorter than 8 bytes, embedded zero bytes, shared prefixes, nulls, sliced and
chunked arrays, large offsets, every integer width, several sort fields, descending order and
stability.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gleamnb.runtime.gather import ChunkedGather
from gleamnb.runtime.normalized import normalized_key, sort_keys
from gleamnb.runtime.sorting import sort_indices

TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]

# few distinct characters, so shared prefixes, ties and zero bytes are common
texts = st.text(alphabet="ab\x00é\U0001f600", max_size=12)


def _encode(value: str | None, typ: pa.DataType) -> str | bytes | None:
    if value is None or pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return value
    return value.encode()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.none() | texts, max_size=40),
    typ=st.sampled_from(TYPES),
    descending=st.booleans(),
    offset=st.integers(0, 5),
    chunk=st.integers(1, 7),
)
def test_string_sort_matches_python(
    values: list[str | None], typ: pa.DataType, descending: bool, offset: int, chunk: int
) -> None:
    encoded = [_encode(v, typ) for v in values]
    whole = pa.array([None] * offset + encoded, type=typ).slice(offset)
    column = pa.chunked_array(
        [whole.slice(i, chunk) for i in range(0, len(whole), chunk)] or [whole], type=typ
    )
    table = pa.table({"s": column, "row": pa.array(range(len(values)))})
    got = sort_indices(table, [(0, descending)]).to_pylist()
    raw = [(v.encode() if isinstance(v, str) else v,) for v in encoded]
    assert got == _reference(raw, [descending])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.none() | texts, max_size=30), typ=st.sampled_from(TYPES))
def test_string_keys_are_the_first_eight_bytes(values: list[str | None], typ: pa.DataType) -> None:
    encoded = [_encode(v, typ) for v in values]
    keys, exact = normalized_key(pa.array(encoded, type=typ))
    raw = [v.encode() if isinstance(v, str) else v for v in encoded]
    expected = [int.from_bytes(v[:8].ljust(8, b"\0"), "big") for v in raw if v is not None]
    assert [k for k, v in zip(keys.tolist(), raw) if v is not None] == expected
    assert not exact


def test_ties_on_the_prefix_are_broken_by_the_whole_value() -> None:
    values = ["prefix00-b", "prefix00", "prefix00-a", "prefix00\x00", "prefix0", None, "prefix00-a"]
    table = pa.table({"s": values})
    assert sort_indices(table, [(0, False)]).to_pylist() == [4, 1, 3, 2, 6, 0, 5]
    assert sort_indices(table, [(0, True)]).to_pylist() == [0, 2, 6, 3, 1, 4, 5]


@pytest.mark.parametrize("typ", TYPES)
def test_second_key_orders_rows_with_equal_strings(typ: pa.DataType) -> None:
    s = [_encode(v, typ) for v in ["b", "a", "b", "a", "ab"]]
    table = pa.table({"s": pa.array(s, type=typ), "n": [1, 2, 0, 1, 9]})
    assert sort_indices(table, [(0, False), (1, True)]).to_pylist() == [1, 3, 4, 0, 2]


INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32(), pa.uint64()]


def _reference(rows: list[tuple[Any, ...]], desc: list[bool]) -> list[int]:
    """Stable order of ``rows`` by all their fields; nulls last whatever the direction."""

    def compare(i: int, j: int) -> int:
        for a, b, d in zip(rows[i], rows[j], desc):
            if a == b or (a is None and b is None):
                continue
            if a is None or b is None:
                return 1 if a is None else -1
            return (1 if a > b else -1) * (-1 if d else 1)
        return 0

    return sorted(range(len(rows)), key=functools.cmp_to_key(compare))


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    first=st.sampled_from([*TYPES, *INT_TYPES]),
    n=st.integers(0, 40),
    desc=st.lists(st.booleans(), min_size=2, max_size=2),
)
def test_two_field_sort_matches_python(
    data: st.DataObject, first: pa.DataType, n: int, desc: list[bool]
) -> None:
    if pa.types.is_integer(first):
        bits = first.bit_width
        lo, hi = (
            (0, 2**bits - 1)
            if pa.types.is_unsigned_integer(first)
            else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        )
        firsts = (
            st.none() | st.sampled_from([lo, hi, 0, 1, -1 if lo < 0 else 2]) | st.integers(lo, hi)
        )
    else:
        firsts = st.none() | texts.map(lambda v: _encode(v, first))
    a = data.draw(st.lists(firsts, min_size=n, max_size=n))
    b = data.draw(st.lists(st.none() | st.integers(-3, 3), min_size=n, max_size=n))
    table = pa.table({"a": pa.array(a, type=first), "b": pa.array(b, type=pa.int64())})
    got = sort_indices(table, [(0, desc[0]), (1, desc[1])]).to_pylist()
    raw = [(x.encode() if isinstance(x, str) else x, y) for x, y in zip(a, b)]
    assert got == _reference(raw, desc)


# -- the packed sort of the normalized keys: bigger inputs, where row numbers take many bits
# and the keys' range leaves them no room (low key bits dropped, or the stable argsort)


def _int_columns(rng: np.random.Generator, n: int) -> dict[str, list[int | None]]:
    top = 2**63 - 1
    return {
        "small range": rng.integers(-3, 4, n).tolist(),
        "wide range": rng.integers(-(2**63), top, n, endpoint=True).tolist(),
        "extremes and close values": [
            int(v)
            for v in rng.choice([-(2**63), top, 0, 2**40, 2**40 + 1, 2**40 + 2, -(2**40) - 1], n)
        ],
        "one value": [7] * n,
        "nulls": [None if r < 0.3 else int(r * 1000) for r in rng.random(n)],
    }


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n", [2, 3, 1000, 5000])
def test_int_sorts_match_python(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    for name, values in _int_columns(rng, n).items():
        second = rng.integers(0, 3, n).tolist()
        for typ in (pa.int64(), pa.uint64()) if name == "small range" else (pa.int64(),):
            vals = [v if v is None or typ == pa.int64() else v + 3 for v in values]
            table = pa.table({"a": pa.array(vals, type=typ), "b": second})
            for desc in ([False], [True], [False, True], [True, False]):
                keys = [(i, d) for i, d in enumerate(desc)]
                rows = list(zip(vals, second))
                got = sort_indices(table, keys).to_pylist()
                assert got == _reference([r[: len(desc)] for r in rows], desc), (name, desc)


def _strings(rng: np.random.Generator, n: int, kind: str) -> list[str | None]:
    if kind == "random":
        return ["".join(chr(c) for c in rng.integers(33, 127, 10)) for _ in range(n)]
    if kind == "shared prefix":  # equal first 8 bytes: every row ties on the key
        return ["prefix00" + "".join(rng.choice(list("ab"), 3)) for _ in range(n)]
    if kind == "far apart":  # the first byte and the eighth differ: low key bits dropped
        return [chr(int(a)) + "xxxxxx" + chr(int(b)) for a, b in rng.integers(1, 127, (n, 2))]
    if kind == "few values":
        return [str(v) for v in rng.choice(["", "a", "ab", "b", "\x00", "é"], n)]
    return [None if r < 0.2 else f"{r:.3f}" for r in rng.random(n)]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "kind", ["random", "shared prefix", "far apart", "few values", "nulls and numbers"]
)
def test_string_sorts_match_python(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1000, 4000))
    values = _strings(rng, n, kind)
    second = rng.integers(0, 4, n).tolist()
    whole = pa.table({"s": values, "n": second})
    table = pa.Table.from_batches(whole.to_batches(max_chunksize=int(rng.integers(50, 900))))
    raw = [(None if v is None else v.encode(), m) for v, m in zip(values, second)]
    for desc in ([False], [True], [False, True], [True, True]):
        keys = [(i, d) for i, d in enumerate(desc)]
        got = sort_indices(table, keys).to_pylist()
        assert got == _reference([r[: len(desc)] for r in raw], desc), desc


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 2**64 - 1), max_size=300))
def test_sort_keys_is_a_stable_order_with_every_wrong_pair_flagged(values: list[int]) -> None:
    keys = np.array(values, dtype=np.uint64)
    order, tie, whole = sort_keys(keys)
    assert sorted(order.tolist()) == list(range(len(values)))
    got = [values[i] for i in order]
    for i in range(len(got) - 1):
        if not tie[i]:  # unflagged neighbours are strictly in order
            assert got[i] < got[i + 1]
        elif whole:  # flagged ones are equal (and in input order) when no bit was dropped
            assert got[i] == got[i + 1] and order[i] < order[i + 1]
    # the flagged runs, each sorted by value, give the stable order
    fixed = list(order)
    i = 0
    while i < len(fixed):
        j = i
        while j < len(tie) and tie[j]:
            j += 1
        fixed[i : j + 1] = sorted(fixed[i : j + 1], key=lambda r: (values[r], r))
        i = j + 1
    assert fixed == sorted(range(len(values)), key=lambda r: (values[r], r))


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.none() | st.integers(-5, 5), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=6),
    picks=st.lists(st.integers(0, 59), max_size=80),
    as_table=st.booleans(),
)
def test_chunked_gather_takes_the_asked_rows(
    values: list[int | None], cuts: list[int], picks: list[int], as_table: bool
) -> None:
    bounds = sorted({0, len(values), *(c for c in cuts if c <= len(values))})
    chunks = [values[a:b] for a, b in itertools.pairwise(bounds)]
    column = pa.chunked_array(chunks, type=pa.int64())
    rows = [p for p in picks if p < len(values)]
    data = pa.table({"x": column}) if as_table else column
    got = ChunkedGather(data).take(np.array(rows, dtype=np.int64))
    got_values = got.column(0).to_pylist() if as_table else got.to_pylist()
    assert got_values == [values[r] for r in rows]
