"""Tests of the byte-level text kernels against their plain-Python definitions."""

from __future__ import annotations

import itertools
import re
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gleamnb.errors import SchemaError
from gleamnb.runtime import text_kernels
from gleamnb.runtime.text_kernels import (
    lowercase,
    tokenize,
    tokenize_lower,
    tokenize_py,
    tokenize_windows,
)

# Text that exercises every byte class: ASCII letters and digits, separators, control bytes,
# 2-, 3- and 4-byte UTF-8, and characters whose lowercase is special (İ, Σ, ẞ).
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("aZ09 ,.-_'\t\n\x00\x7féÉßẞİ\u0131Σ\u03c3ς€😀"),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    ),
    max_size=40,
)
VALUES = st.lists(st.one_of(st.none(), TEXT), max_size=25)


def _tokens(values: list[str | None]) -> list[str]:
    return [t for v in values if v is not None for t in re.findall(r"[A-Za-z0-9]+", v)]


def _parents(values: list[str | None]) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None for _ in tokenize_py(v)]


def _chunked(values: list[str | None], cuts: list[int], t: pa.DataType) -> pa.ChunkedArray:
    bounds = sorted({0, len(values), *(c % (len(values) + 1) for c in cuts)})
    return pa.chunked_array(
        [pa.array(values[a:b], type=t) for a, b in itertools.pairwise(bounds)], type=t
    )


def test_tokenize_py_is_the_definition() -> None:
    assert tokenize_py("Hello, World! x2 don't") == ["Hello", "World", "x2", "don", "t"]
    assert tokenize_py("naïve café") == ["na", "ve", "caf"]
    assert tokenize_py("") == []
    assert tokenize_py("\u0661\u0662 \uff21\uff22") == []  # only ASCII digits and letters count


@settings(max_examples=200, deadline=None)
@given(VALUES, st.sampled_from([pa.string(), pa.large_string()]))
@example(["ab", "cd"], pa.string())  # a token must not run across a string boundary
@example(["a", "", None, "b"], pa.string())
@example(["0", "0", "0"], pa.string())  # as many tokens as bytes
@example(["a b", "c d", "e"], pa.string())
@example(["", ""], pa.large_string())
def test_tokenize_matches_reference(values: list[str | None], t: pa.DataType) -> None:
    arr = pa.array(values, type=t)
    got = tokenize(arr)
    got.validate(full=True)
    assert got.type == t
    assert got.null_count == 0
    assert got.to_pylist() == _tokens(values)
    assert tokenize_lower(arr).to_pylist() == [w.lower() for w in _tokens(values)]
    tokens, parents = tokenize(arr, parents=True)
    assert tokens.to_pylist() == _tokens(values)
    assert parents.dtype == np.int64
    assert parents.tolist() == _parents(values)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.integers(0, 30), st.integers(0, 30))
def test_tokenize_sliced(values: list[str | None], start: int, length: int) -> None:
    arr = pa.array(values, type=pa.string()).slice(start, length)
    expected = values[start : start + length]
    assert tokenize(arr).to_pylist() == _tokens(expected)
    assert tokenize_lower(arr).to_pylist() == [w.lower() for w in _tokens(expected)]
    assert tokenize(arr, parents=True)[1].tolist() == _parents(expected)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.lists(st.integers(0, 30), max_size=4), st.booleans())
def test_tokenize_chunked(values: list[str | None], cuts: list[int], large: bool) -> None:
    t = pa.large_string() if large else pa.string()
    arr = _chunked(values, cuts, t)
    got = tokenize(arr)
    got.validate(full=True)
    assert isinstance(got, pa.Array)
    assert got.to_pylist() == _tokens(values)
    assert tokenize(arr, parents=True)[1].tolist() == _parents(values)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.integers(1, 64), st.integers(0, 5))
@example(["abc", "", "", "def ghi", None, "", "jk"], 1, 0)
def test_tokenize_in_small_blocks(values: list[str | None], block: int, start: int) -> None:
    """Large inputs are scanned a few MiB at a time: blocks must not change the result."""
    arr = pa.array(values, type=pa.string()).slice(start)
    expected = values[start:]
    with mock.patch.object(text_kernels, "_BLOCK", block):
        got, parents = tokenize_lower(arr, parents=True)
    got.validate(full=True)
    assert got.to_pylist() == [w.lower() for w in _tokens(expected)]
    assert parents.tolist() == _parents(expected)


# Long strings: runs of letters and digits up to 40 long between separators, so that windows
# and blocks of a few bytes cut inside tokens, between them and at string boundaries.
LONG = st.lists(
    st.one_of(
        st.none(),
        st.lists(
            st.one_of(st.text("aZ9", min_size=1, max_size=40), st.sampled_from(" ,é\t")),
            max_size=30,
        ).map("".join),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    LONG,
    st.integers(1, 40),
    st.integers(1, 16),
    st.booleans(),
    st.sampled_from([pa.string(), pa.large_string()]),
)
@example(["abc def"], 1, 1, False, pa.string())
@example(["a" * 50 + " b"], 3, 7, True, pa.string())  # a token longer than the window
@example(["ab", "cd", None, "", "e f"], 2, 1, False, pa.string())
def test_tokenize_windows_are_bounded_and_exact(
    values: list[str | None], window: int, block: int, lower: bool, t: pa.DataType
) -> None:
    """Window by window, the tokens are exactly the reference's, none cut at a window's or a
    block's edge, and each window holds at most ``window`` bytes plus one token."""
    arr = pa.array(values, type=t)
    expected = _tokens(values)
    with mock.patch.object(text_kernels, "_BLOCK", block):
        parts = list(tokenize_windows(arr, lower=lower, window=window))
        with mock.patch.object(text_kernels, "WINDOW", window):  # tokenize joins windows
            whole, parents = tokenize(arr, parents=True)
    assert [w for p in parts for w in p.to_pylist()] == [
        w.lower() if lower else w for w in expected
    ]
    longest = max(map(len, expected), default=0)
    for part in parts:
        part.validate(full=True)
        assert part.type == t
        assert sum(map(len, part.to_pylist())) <= window + longest  # tokens are ASCII
    assert whole.to_pylist() == expected
    assert parents.tolist() == _parents(values)


def test_tokenize_windows_of_one_long_line() -> None:
    """One line of 10,000 tokens in windows of 64 bytes: many small arrays, and the same
    tokens as the whole line's, including those across the windows' and blocks' edges."""
    rng = np.random.default_rng(3)
    words = ["x" * int(n) for n in rng.integers(1, 12, 10_000)]
    line = ",".join(f"{w}{i}" for i, w in enumerate(words))
    arr = pa.array([line])
    with mock.patch.object(text_kernels, "_BLOCK", 100):
        parts = list(tokenize_windows(arr, window=64))
    assert len(parts) > len(line) // (64 + 20)
    assert max(sum(map(len, p.to_pylist())) for p in parts) <= 64 + 20
    assert [w for p in parts for w in p.to_pylist()] == tokenize_py(line)


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([], type=pa.string()),
        pa.array([None, ""], type=pa.string()),
        pa.chunked_array([], type=pa.large_string()),
    ],
)
def test_tokenize_windows_of_no_token(arr: pa.Array | pa.ChunkedArray) -> None:
    parts = list(tokenize_windows(arr, window=1))
    assert all(p.type == arr.type and len(p) == 0 for p in parts)
    assert len(parts) == (arr.num_chunks if isinstance(arr, pa.ChunkedArray) else 1)


def test_tokenize_other_string_representations() -> None:
    values = ["Hello world", None, "hello, WORLD", "x"]
    expected = _tokens(values)
    assert tokenize(pa.array(values).dictionary_encode()).to_pylist() == expected
    assert tokenize(pa.array(values, type=pa.string_view())).to_pylist() == expected
    encoded = [None if v is None else v.encode() for v in values]
    assert tokenize(pa.array(encoded, type=pa.binary())).to_pylist() == expected
    assert tokenize(pa.array(encoded, type=pa.large_binary())).to_pylist() == expected
    assert tokenize(pa.array([None, None], type=pa.null())).to_pylist() == []


def test_tokenize_ignores_bytes_under_null_slots() -> None:
    """A null slot may still cover bytes (Arrow allows it): they must give no token."""
    data = pa.py_buffer(b"abcDEFghi")
    offsets = pa.py_buffer(np.array([0, 3, 6, 9], dtype=np.int32))
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little"))
    arr = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, data], 1)
    assert arr.to_pylist() == ["abc", None, "ghi"]
    assert tokenize(arr).to_pylist() == ["abc", "ghi"]
    assert tokenize(arr, parents=True)[1].tolist() == [0, 2]
    assert tokenize(arr.slice(1)).to_pylist() == ["ghi"]
    assert lowercase(arr).to_pylist() == ["abc", None, "ghi"]
    with mock.patch.object(text_kernels, "_BLOCK", 2):
        assert tokenize(arr, parents=True)[1].tolist() == [0, 2]
        assert tokenize(arr).to_pylist() == ["abc", "ghi"]
        windows = tokenize_windows(arr, window=1)
        assert [w for part in windows for w in part.to_pylist()] == ["abc", "ghi"]


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([], type=pa.string()),
        pa.array([None, None], type=pa.string()),
        pa.array(["", "", ""]),
        pa.array([" .,;", "éé"]),
        pa.chunked_array([], type=pa.string()),
        pa.chunked_array([pa.array([], type=pa.large_string())]),
    ],
)
def test_tokenize_no_tokens(arr: pa.Array | pa.ChunkedArray) -> None:
    got = tokenize(arr)
    got.validate(full=True)
    assert got.to_pylist() == []
    assert tokenize(arr, parents=True)[1].tolist() == []


def test_tokenize_long_input() -> None:
    words = ["alpha", "Beta", "g4mma", "δelta", "x"]
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(words, int(rng.integers(0, 30)))) for _ in range(3000)]
    arr = pa.array(lines)
    assert tokenize(arr).to_pylist() == _tokens(lines)
    counts = pa.table({"w": tokenize_lower(arr)}).group_by("w").aggregate([([], "count_all")])
    got = dict(zip(counts["w"].to_pylist(), counts["count_all"].to_pylist()))
    expected: dict[str, int] = {}
    for w in _tokens(lines):
        expected[w.lower()] = expected.get(w.lower(), 0) + 1
    assert got == expected


@pytest.mark.parametrize("func", [tokenize, tokenize_lower, lowercase])
def test_non_text_is_a_schema_error(func) -> None:
    with pytest.raises(SchemaError, match=r"(text|string) field"):
        func(pa.array([1, 2, 3]))


def test_lowercase_of_binary_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        lowercase(pa.array([b"AB"], type=pa.binary()))


# ---------------------------------------------------------------------------------------------
# lowercase


@settings(max_examples=200, deadline=None)
@given(VALUES, st.sampled_from([pa.string(), pa.large_string()]))
@example(["ΟΔΟΣ", "ΣΑΣ.", "AΣB", "Σ", "İstanbul", "ẞ", None], pa.string())
@example(["ABC", None, "", "xyz ABC 123"], pa.string())
def test_lowercase_matches_str_lower(values: list[str | None], t: pa.DataType) -> None:
    arr = pa.array(values, type=t)
    got = lowercase(arr)
    got.validate(full=True)
    assert got.type == t
    assert got.to_pylist() == [None if v is None else v.lower() for v in values]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=0x7F))), max_size=20
    ),
    st.integers(0, 20),
    st.integers(0, 20),
)
def test_lowercase_ascii_sliced(values: list[str | None], start: int, length: int) -> None:
    arr = pa.array(values, type=pa.string()).slice(start, length)
    got = lowercase(arr)
    got.validate(full=True)
    expected = values[start : start + length]
    assert got.to_pylist() == [None if v is None else v.lower() for v in expected]


@settings(max_examples=100, deadline=None)
@given(VALUES, st.lists(st.integers(0, 30), max_size=4), st.integers(0, 5))
def test_lowercase_chunked_and_sliced(
    values: list[str | None], cuts: list[int], start: int
) -> None:
    arr = _chunked(values, cuts, pa.string())
    got = lowercase(arr)
    assert isinstance(got, pa.ChunkedArray)
    assert got.to_pylist() == [None if v is None else v.lower() for v in values]
    sliced = pa.array(values, type=pa.string()).slice(start)
    expected = values[start:]
    assert lowercase(sliced).to_pylist() == [None if v is None else v.lower() for v in expected]


def test_lowercase_other_representations() -> None:
    values = ["ÀB", None, "Cd", "ÀB"]
    expected = ["àb", None, "cd", "àb"]
    assert lowercase(pa.array(values).dictionary_encode()).to_pylist() == expected
    assert lowercase(pa.array(values, type=pa.string_view())).to_pylist() == expected
    assert lowercase(pa.chunked_array([], type=pa.string())).to_pylist() == []


def test_lowercase_every_character() -> None:
    """Each code point, alone and after a cased letter, lowers as ``str.lower`` does."""
    points = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    alone = ["X" + chr(c) for c in points]
    assert lowercase(pa.array(alone)).to_pylist() == [s.lower() for s in alone]
    in_word = ["X" + chr(c) + "Σ" for c in points[::97]]
    assert lowercase(pa.array(in_word)).to_pylist() == [s.lower() for s in in_word]
