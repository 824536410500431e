"""Sorting kernels against Python's own ordering of bytes.

String and binary sort keys are sorted by an 8-byte integer prefix first and the values
second (``sorting.byte_prefix``); these tests pin the cases where a prefix alone would be
wrong: values shorter than 8 bytes, embedded zero bytes, shared prefixes, nulls, sliced and
chunked arrays, large offsets, descending order and stability.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gleamnb.runtime.sorting import byte_prefix, sort_indices

TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]

# few distinct characters, so shared prefixes, ties and zero bytes are common
texts = st.text(alphabet="ab\x00é\U0001f600", max_size=12)


def _encode(value: str | None, typ: pa.DataType) -> str | bytes | None:
    if value is None or pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return value
    return value.encode()


def _expected_order(values: list[str | bytes | None], descending: bool) -> list[int]:
    """Stable order by UTF-8 bytes, nulls last in both directions."""
    present = [i for i, v in enumerate(values) if v is not None]
    nulls = [i for i, v in enumerate(values) if v is None]

    def key(i: int) -> bytes:
        v = values[i]
        return v.encode() if isinstance(v, str) else v  # type: ignore[return-value]

    present.sort(key=key, reverse=descending)  # reverse=True keeps ties in input order too
    return present + nulls


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
    assert got == _expected_order(encoded, descending)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.none() | texts, max_size=30), typ=st.sampled_from(TYPES))
def test_byte_prefix_is_the_first_eight_bytes(values: list[str | None], typ: pa.DataType) -> None:
    encoded = [_encode(v, typ) for v in values]
    got = byte_prefix(pa.array(encoded, type=typ)).to_pylist()
    raw = [v.encode() if isinstance(v, str) else v for v in encoded]
    assert got == [None if v is None else int.from_bytes(v[:8].ljust(8, b"\0"), "big") for v in raw]


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
