"""A join's matched pairs come out in left row order, then right row order; outer joins put
a left row without a match in its place and the unmatched right rows last. Checked against
plain Python on random keys with repeats, None keys and empty sides, for every join kind."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from gleamnb.runtime.ops.join import _in_row_order, _match


def _reference(left: list[int | None], right: list[int | None]) -> list[tuple[int, int]]:
    return [
        (i, j) for i, a in enumerate(left) for j, b in enumerate(right) if a is not None and a == b
    ]


@pytest.mark.parametrize("unique_right", [True, False])
def test_inner_pairs_are_in_left_then_right_order(unique_right: bool) -> None:
    rng = random.Random(8)
    for _ in range(40):
        n_left, n_right = rng.randint(0, 300), rng.randint(0, 120)
        space = rng.randint(1, 200)
        if unique_right:
            right: list[int | None] = list(rng.sample(range(space * 2), min(n_right, space * 2)))
        else:
            right = [rng.randrange(space) for _ in range(n_right)]
        left: list[int | None] = [rng.randrange(space * 2) for _ in range(n_left)]
        for side in (left, right):
            for k in range(len(side)):
                if rng.random() < 0.05:
                    side[k] = None  # null keys never match
        lkeys = [pa.array(left, pa.int64())]
        rkeys = [pa.array(right, pa.int64())]
        li, ri = _match(lkeys, rkeys, len(left), len(right), "inner")
        assert list(zip(li.to_pylist(), ri.to_pylist())) == _reference(left, right)


def _outer_reference(
    left: list[int | None], right: list[int | None], how: str
) -> list[tuple[int | None, int | None]]:
    """Pairs in left row order, each left row's matches in right order, then unmatched right
    rows (None: the padded side)."""
    pairs: list[tuple[int | None, int | None]] = []
    matched: set[int] = set()
    for i, a in enumerate(left):
        hits = [j for j, b in enumerate(right) if a is not None and a == b]
        pairs.extend((i, j) for j in hits)
        matched.update(hits)
        if not hits and how in ("left_outer", "full_outer"):
            pairs.append((i, None))
    if how in ("right_outer", "full_outer"):
        pairs.extend((None, j) for j in range(len(right)) if j not in matched)
    return pairs


@pytest.mark.parametrize("how", ["inner", "left_outer", "right_outer", "full_outer"])
def test_pairs_of_every_join_kind_in_row_order(how: str) -> None:
    rng = random.Random(hash(how) % 1000)
    for _ in range(60):
        n_left, n_right = rng.randint(0, 200), rng.randint(0, 80)  # empty sides included
        space = rng.randint(1, 60)
        left: list[int | None] = [rng.randrange(space) for _ in range(n_left)]
        right: list[int | None] = [rng.randrange(space) for _ in range(n_right)]
        for side in (left, right):
            for k in range(len(side)):
                if rng.random() < 0.1:
                    side[k] = None  # null keys never match; outer joins keep such rows
        lkeys = [pa.array(left, pa.int64())]
        rkeys = [pa.array(right, pa.int64())]
        li, ri = _match(lkeys, rkeys, n_left, n_right, how)
        assert list(zip(li.to_pylist(), ri.to_pylist())) == _outer_reference(left, right, how)


def test_pairs_too_large_to_pack_sort_the_same() -> None:
    """Row counts whose product passes int64 take Arrow's sort: the same order."""
    rng = random.Random(3)
    li = [rng.choice([None, *range(50)]) for _ in range(300)]
    ri = [None if i is None else rng.choice([None, *range(40)]) for i in li]
    ri = [rng.randrange(40) if i is None else j for i, j in zip(li, ri)]
    got = {}
    for n in (50, 1 << 40):
        a, b = _in_row_order(
            pa.chunked_array([li], pa.int64()), pa.chunked_array([ri], pa.int64()), n, n
        )
        got[n] = list(zip(a.to_pylist(), b.to_pylist()))
    key = [(i is None, i or 0, j is None, j or 0) for i, j in zip(li, ri)]
    assert got[50] == got[1 << 40] == [p for _, p in sorted(zip(key, zip(li, ri)))]
