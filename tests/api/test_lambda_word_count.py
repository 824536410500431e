"""The user's word count: ``flat_map(fn) -> map(lambda w: (w, 1)) -> reduce_by_key(...)``.

Row steps side by side call each function through Python's ``map`` with the garbage
collector paused per batch, and hand each other Python rows; the map-side
``reduce_by_key`` then combines the last step's Arrow columns. These tests check that flow
against plain Python (``collections.Counter``, ``functools.reduce``) on the cases those
paths touch: text with unicode and empty lines, empty shards, ``None`` and NaN keys, ints past
64 bits, keys of two kinds, reducers that are not associative, values that are not ints, and
rows that change arity.
"""

from __future__ import annotations

import functools
import math
import operator
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.errors import SchemaError
from gleamnb.runners.local import LocalRunner

_TOKEN = re.compile(r"[a-z0-9]+")


def words(line: str) -> list[str]:
    return _TOKEN.findall(line.lower())


def _lines(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    vocab = ["xop", "qp", "ghf", "Jxolz", "ÉTÉ", "naïve", "a1", "Z", "9", "", "—", "日本"]
    out = []
    for _ in range(n):
        k = rng.choice([0, 0, 1, 3, 8, 20])
        out.append(" ".join(rng.choice(vocab) for _ in range(k)) + rng.choice(["", ",", " !"]))
    return out


def _counted(d: gl.Dataset, runner: LocalRunner) -> dict[Any, Any]:
    rows = d.collect(runner, progress=False)
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(map(repr, keys))), "a key came out twice"
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize("shards", [1, 3, 8])
def test_word_count_matches_counter(any_runner: LocalRunner, tmp_path: Path, shards: int) -> None:
    texts = [_lines(i, 3000) for i in range(3)] + [[]]  # an empty file: an empty shard
    for i, lines in enumerate(texts):
        (tmp_path / f"part-{i}.txt").write_text("".join(line + "\n" for line in lines))
    expected = Counter(w for lines in texts for line in lines for w in words(line))
    f = gl.Flow("lambda word count")
    counts = (
        f.read(gl.txt(str(tmp_path / "*.txt"), shards=shards))
        .flat_map(words)
        .map(lambda w: (w, 1))
        .reduce_by_key(operator.add)
    )
    assert _counted(counts, any_runner) == dict(expected)
    top = counts.top(5, gl.order_by(2, descending=True)).collect(any_runner, progress=False)
    assert [c for _, c in top] == [c for _, c in expected.most_common(5)]
    assert all(expected[w] == c for w, c in top)


def _flow(keys: list[Any], pair: Callable[[Any], Any], reducer: Any, shards: int = 1) -> gl.Dataset:
    """``keys`` as the rows a flat_map makes (one line per 1000 keys), then ``pair`` and
    ``reduce_by_key(reducer)``."""
    lines = [str(i) for i in range(0, len(keys), 1000)]
    table = {str(i): keys[i : i + 1000] for i in range(0, len(keys), 1000)}
    f = gl.Flow("pairs")
    return (
        f.strings(lines, shards=shards)
        .flat_map(lambda line: table[line])
        .map(pair)
        .reduce_by_key(reducer)
    )


def _fold(pairs: list[tuple[Any, Any]], fn: Callable[[Any, Any], Any]) -> dict[Any, Any]:
    groups: dict[Any, list[Any]] = {}
    for k, v in pairs:
        groups.setdefault(k, []).append(v)
    return {k: functools.reduce(fn, vs) for k, vs in groups.items()}


def test_none_keys_are_one_key(any_runner: LocalRunner) -> None:
    keys = [None if i % 3 == 0 else f"w{i % 7}" for i in range(100_000)]
    got = _counted(_flow(keys, lambda w: (w, 1), operator.add, shards=2), any_runner)
    assert got == dict(Counter(keys))


def test_nan_keys_are_one_key(inline: LocalRunner) -> None:
    nan_bits = [float("nan"), -float("nan"), math.inf - math.inf]
    keys: list[Any] = [nan_bits[i % 3] if i % 2 else float(i % 5) for i in range(20_000)]
    rows = _flow(keys, lambda x: (x, 1), operator.add, shards=2).collect(inline, progress=False)
    nans = [c for k, c in rows if k != k]
    assert nans == [10_000]
    assert {k: c for k, c in rows if k == k} == dict(Counter(k for k in keys if k == k))


def test_ints_past_64_bits_as_keys_and_values(any_runner: LocalRunner) -> None:
    keys = [2**64 + i % 4 if i % 2 else i % 4 for i in range(50_000)]
    got = _counted(_flow(keys, lambda k: (k, 2**62), operator.add, shards=2), any_runner)
    assert got == {k: n * 2**62 for k, n in Counter(keys).items()}


def test_int_and_float_keys_are_floats_and_bool_among_ints_is_refused(inline: LocalRunner) -> None:
    # a field of ints and floats is a float field (docs/design.md §2), so 1 and 1.0 meet
    got = _counted(_flow([1, 1.0, 2, 2.5] * 5000, lambda k: (k, 1), "sum"), inline)
    assert got == {1.0: 10_000, 2.0: 5000, 2.5: 5000}
    assert all(type(k) is float for k in got)
    with pytest.raises(SchemaError, match="changes type"):
        _flow([1, True] * 10, lambda k: (k, 1), operator.add).collect(inline, progress=False)
    with pytest.raises(SchemaError, match="changes type"):
        _flow(["a", 1] * 10, lambda k: (k, 1), operator.add).collect(inline, progress=False)


def test_reducer_that_is_not_associative_folds_in_row_order(any_runner: LocalRunner) -> None:
    keys = [f"k{i % 11}" for i in range(30_000)]
    pairs = [(k, i % 10) for i, k in enumerate(keys)]
    values = {i: v for i, (_, v) in enumerate(pairs)}

    def fn(a: int, b: int) -> int:
        return (a * 31 + b) % 1_000_003

    got = _counted(_flow(list(range(len(keys))), lambda i: (keys[i], values[i]), fn), any_runner)
    assert got == _fold(pairs, fn)


@pytest.mark.parametrize(
    ("value", "reducer"),
    [
        (lambda w: len(w) / 4, operator.add),
        (lambda w: w.upper(), operator.add),
        (lambda w: None if len(w) == 2 else len(w), operator.add),
        (lambda w: len(w), max),
        (lambda w: [len(w)], operator.add),
    ],
    ids=["float", "str", "none_values", "max", "lists"],
)
def test_values_that_are_not_ints(
    inline: LocalRunner, value: Callable[[str], Any], reducer: Any
) -> None:
    keys = [["ab", "cde", "f", "ab", "ghij"][i % 5] for i in range(20_000)]
    got = _counted(_flow(keys, lambda w: (w, value(w)), reducer), inline)
    pairs = [(w, value(w)) for w in keys]
    if reducer is operator.add:
        # operator.add is a known sum: it skips None, as SQL does (docs/design.md §3)
        present = [(k, v) for k, v in pairs if v is not None]
        expected = {k: None for k, _ in pairs} | _fold(present, operator.add)
    else:
        expected = _fold(pairs, reducer)
    if all(isinstance(v, float) for v in expected.values()):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


def test_rows_that_change_arity_are_a_clear_error(any_runner: LocalRunner) -> None:
    def pair(i: int) -> tuple[Any, ...]:
        return (i % 5, 1) if i != 70_123 else (i % 5, 1, 2)

    with pytest.raises(SchemaError, match="rows change arity within one dataset: 2 fields") as e:
        _flow(list(range(100_000)), pair, operator.add).collect(any_runner, progress=False)
    assert "(3, 1, 2)" in str(e.value)


def test_only_empty_shards(any_runner: LocalRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "b.txt").write_text("\n\n, !\n")
    f = gl.Flow("nothing to count")
    counts = (
        f.read(gl.txt(str(tmp_path / "*.txt"), shards=2))
        .flat_map(words)
        .map(lambda w: (w, 1))
        .reduce_by_key(operator.add)
        .top(3, gl.order_by(2, descending=True))
    )
    assert counts.collect(any_runner, progress=False) == []
