"""Row steps run by ``map``'s C loop with the garbage collector paused per batch.

The function is called through Python's own ``map``/``starmap`` (so the failing row is known
only from how many results were made before it), and each batch's row steps run with the
cyclic garbage collector paused: it must be back on after every batch, after a failure too,
stay off when the process had it off, and the cycles a function makes must still be freed.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.errors import UserCodeError
from gleamnb.runners.local import LocalRunner


@pytest.mark.parametrize("fields", [1, 2])
@pytest.mark.parametrize("bad", [0, 1, 70_000, 99_999])
def test_map_failure_names_the_row_it_was_called_with(
    inline: LocalRunner, fields: int, bad: int
) -> None:
    def fn(*row: int) -> int:
        if row[0] == bad:
            raise ValueError(f"no {row[0]}")
        return row[0]

    f = gl.Flow("map failure")
    d = f.range(0, 100_000, shards=1)
    if fields == 2:
        d = d.map(lambda x: (x, -x))
    with pytest.raises(UserCodeError) as info:
        d.map(fn, name="picky").collect(inline, progress=False)
    expected = (bad,) if fields == 1 else (bad, -bad)
    assert str(info.value.row) == repr(expected)
    assert f"no {bad}" in str(info.value)
    assert gc.isenabled()


def test_collector_is_on_after_each_batch_and_off_inside(inline: LocalRunner) -> None:
    seen: list[bool] = []

    def note(x: int) -> int:
        seen.append(gc.isenabled())
        return x

    f = gl.Flow("collector")
    out = f.range(0, 200_000, shards=1).map(note).collect(inline, progress=False)
    assert out == [(x,) for x in range(200_000)]
    assert not any(seen)
    assert gc.isenabled()


def test_collector_left_off_when_it_was_off(inline: LocalRunner) -> None:
    gc.disable()
    try:
        f = gl.Flow("collector off")
        assert f.range(0, 10, shards=1).map(lambda x: x + 1).collect(inline) == [
            (x + 1,) for x in range(10)
        ]
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """A reference cycle that only the cyclic collector frees."""

    def __init__(self) -> None:
        self.me = self


def test_cycles_made_by_a_function_are_collected_without_asking(inline: LocalRunner) -> None:
    def make_cycle(x: int) -> int:
        _Node()
        return x

    f = gl.Flow("cycles")
    f.range(0, 200_000, shards=1).map(make_cycle).collect(inline, progress=False)
    gc.collect()  # what an earlier test left
    f.range(0, 200_000, shards=1).map(make_cycle).collect(inline, progress=False)
    # the collector runs again on its own once it is back on
    _ = [[i] for i in range(10_000)]
    live = sum(isinstance(o, _Node) for o in gc.get_objects())
    assert live < 10_000


def test_flat_map_then_map_failures_keep_the_collector_on(runner: LocalRunner) -> None:
    f = gl.Flow("fails in a process")

    def boom(w: str) -> tuple[str, int]:
        if w == "c":
            raise KeyError(w)
        return (w, 1)

    d = f.strings(["a b", "c d"], shards=1).flat_map(str.split).map(boom)
    with pytest.raises(UserCodeError) as info:
        d.collect(runner, progress=False)
    assert str(info.value.row) == repr(("c",))
    # the executor still runs rows, and its collector is on
    g = gl.Flow("after").range(0, 4, shards=2).map(lambda x: (x, gc.isenabled()))
    assert sorted(g.collect(runner, progress=False)) == [(x, False) for x in range(4)]
    h = (
        gl.Flow("after2")
        .range(0, 4, shards=2)
        .map_batches(lambda b: b.append_column("on", gl_bool(gc.isenabled(), b.num_rows)))
    )
    assert all(on for _, on in h.collect(runner, progress=False))


def gl_bool(value: bool, n: int) -> Any:
    import pyarrow as pa

    return pa.array([value] * n)
