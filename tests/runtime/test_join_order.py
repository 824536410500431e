"""An inner join's matched pairs come out in left row order, then right row order, whether the
right key is unique (placed by a counting sort) or repeated (sorted); checked against plain
Python on random keys."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from gleamnb.runtime.ops.join import _match


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
