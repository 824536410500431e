"""Every operator of the public API on small inputs with known answers.

Expected rows are written out by hand; where a case is easier to state as a rule, the naive
evaluator in ``tests/reference.py`` gives the answer. Most tests run on both the inline and the
process runner (the ``any_runner`` fixture).
"""

from __future__ import annotations

import json
import math
import operator
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import reference as ref

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

Rows = list[tuple[Any, ...]]

# Executor processes cannot import this test module: send its functions and classes by value,
# as they would be from a notebook or a script's __main__.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


# ---------------------------------------------------------------------------------------------
# helpers


def run(ds: gl.Dataset, runner: LocalRunner) -> Rows:
    return ds.collect(runner, progress=False)


def sharded(flow: gl.Flow, shards: Sequence[Sequence[tuple[Any, ...]]]) -> gl.Dataset:
    """A dataset whose shards are exactly ``shards`` (one in-memory source per shard, side
    by side through ``union``). Columns are typed from all the shards' values together."""
    width = next((len(r) for s in shards for r in s), 1)
    names = [f"_{i + 1}" for i in range(width)]
    types = [pa.array([r[i] for s in shards for r in s]).type for i in range(width)]
    parts = [
        flow.from_arrow(
            pa.table(
                {
                    n: pa.array([r[i] for r in s], type=t)
                    for i, (n, t) in enumerate(zip(names, types))
                }
            )
        )
        for s in shards
    ]
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def shard_contents(ds: gl.Dataset, runner: LocalRunner) -> list[Rows]:
    """The rows of each non-empty shard of ``ds``, in shard order: one list per shard.

    Each row is wrapped in a one-item list under a constant key and the lists are concatenated
    per shard by ``local_reduce_by_key``, which works within a shard and folds in row order.
    """
    wrapped = ds.map(lambda *row: (0, [row])).local_reduce_by_key(lambda a, b: a + b)
    return [rows for _, rows in run(wrapped, runner)]


def shard_sizes(ds: gl.Dataset, runner: LocalRunner) -> list[int]:
    """How many rows each non-empty shard of ``ds`` holds, in shard order."""
    counted = ds.map(lambda *row: (0, 1)).local_reduce_by_key(lambda a, b: a + b)
    return [n for _, n in run(counted, runner)]


PAIRS = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("a", 6)]


# ---------------------------------------------------------------------------------------------
# sources and actions


def test_collect_reads_shards_in_order(flow: gl.Flow, any_runner: LocalRunner) -> None:
    assert run(flow.range(0, 10, shards=3), any_runner) == [(i,) for i in range(10)]
    assert run(flow.slices(PAIRS, shards=4), any_runner) == PAIRS
    assert run(sharded(flow, [[(1,)], [(2,), (3,)], [(4,)]]), any_runner) == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]


def test_take_and_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(0, 100, shards=4)
    assert ds.take(3, any_runner, progress=False) == [(0,), (1,), (2,)]
    assert ds.take(0, any_runner, progress=False) == []
    assert ds.first(any_runner, progress=False) == (0,)
    assert ds.filter(lambda x: x > 1000).first(any_runner, progress=False) is None
    assert flow.slices(PAIRS, shards=3).take(10, any_runner, progress=False) == PAIRS


def test_count(flow: gl.Flow, any_runner: LocalRunner) -> None:
    assert flow.range(0, 1000, shards=4).count(any_runner, progress=False) == 1000
    n = flow.range(0, 1000, shards=4).filter(lambda x: x % 3 == 0).count(any_runner, progress=False)
    assert n == 334
    assert type(n) is int
    assert flow.ints([]).count(any_runner, progress=False) == 0


def test_to_arrow(flow: gl.Flow, any_runner: LocalRunner) -> None:
    table = flow.slices(PAIRS, shards=2).to_arrow(any_runner, progress=False)
    assert isinstance(table, pa.Table)
    assert table.num_rows == 6
    assert table.schema.names == ["_1", "_2"]
    assert table.column(0).to_pylist() == [k for k, _ in PAIRS]
    assert table.column(1).to_pylist() == [v for _, v in PAIRS]
    assert pa.types.is_integer(table.schema.field(1).type)


def test_to_arrow_keeps_source_names(flow: gl.Flow, any_runner: LocalRunner) -> None:
    src = pa.table({"word": ["x", "y"], "n": [1, 2]})
    table = flow.from_arrow(src).to_arrow(any_runner, progress=False)
    assert table.schema.names == ["word", "n"]
    assert table.to_pylist() == [{"word": "x", "n": 1}, {"word": "y", "n": 2}]


def test_to_pandas(flow: gl.Flow, any_runner: LocalRunner) -> None:
    df = flow.from_pandas(pd.DataFrame({"w": ["a", "b"], "n": [1.5, 2.5]})).to_pandas(
        any_runner, progress=False
    )
    assert list(df.columns) == ["w", "n"]
    assert df["w"].tolist() == ["a", "b"]
    assert df["n"].tolist() == [1.5, 2.5]


def test_to_pandas_python_objects(flow: gl.Flow, any_runner: LocalRunner) -> None:
    df = flow.slices([(1, {1, 2}), (2, {3})]).to_pandas(any_runner, progress=False)
    assert df["_1"].tolist() == [1, 2]
    assert df["_2"].tolist() == [{1, 2}, {3}]


def test_show(flow: gl.Flow, any_runner: LocalRunner, capsys: pytest.CaptureFixture[str]) -> None:
    flow.slices([("a", 1), ("bb", 22), ("c", 3)]).show(2, any_runner, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("|")[0].strip() == "_1"
    assert [ln.split("|")[0].strip() for ln in lines[2:4]] == ["a", "bb"]
    assert [ln.split("|")[1].strip() for ln in lines[2:4]] == ["1", "22"]
    assert "c" not in "".join(lines[2:])
    assert len(lines) == 5  # header, rule, two rows, the "more" marker


def test_show_takes_the_runner_first_like_every_action(
    flow: gl.Flow, any_runner: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    flow.range(0, 25).show(any_runner, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert [int(ln) for ln in lines[2:22]] == list(range(20))
    assert len(lines) == 23  # header, rule, 20 rows, the "more" marker
    with pytest.raises(gl.ArgumentError):
        flow.range(0, 3).show(any_runner, any_runner)


def test_in_memory_sources(flow: gl.Flow, any_runner: LocalRunner) -> None:
    assert run(flow.strings(["a b", ""]), any_runner) == [("a b",), ("",)]
    assert run(flow.ints([3, -1]), any_runner) == [(3,), (-1,)]
    assert run(flow.range(4), any_runner) == [(0,), (1,), (2,), (3,)]
    assert run(flow.from_iterable(x * x for x in range(3)), any_runner) == [(0,), (1,), (4,)]
    assert run(flow.from_iterable([("y", 1), ("z", 2)]), any_runner) == [("y", 1), ("z", 2)]
    assert run(flow.slices([["a", 1], ("b", 2)]), any_runner) == [("a", 1), ("b", 2)]


# ---------------------------------------------------------------------------------------------
# narrow steps


def test_map_tuple_and_scalar(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices(PAIRS[:3], shards=2)
    assert run(ds.map(lambda k, v: (v, k * v)), any_runner) == [(1, "a"), (2, "bb"), (3, "aaa")]
    assert run(ds.map(lambda k, v: v * 10), any_runner) == [(10,), (20,), (30,)]


def test_map_string_result_is_one_field(flow: gl.Flow, any_runner: LocalRunner) -> None:
    assert run(flow.ints([1, 22]).map(lambda x: str(x) * 2), any_runner) == [("11",), ("2222",)]


def test_map_gets_fields_as_arguments(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([(1, 2, 3), (4, 5, 6)])
    assert run(ds.map(lambda *fields: len(fields)), any_runner) == [(3,), (3,)]
    assert run(ds.map(lambda a, b, c: (c, b, a)), any_runner) == [(3, 2, 1), (6, 5, 4)]


def test_flat_map_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.ints([0, 1, 2, 3], shards=2)
    got = run(ds.flat_map(lambda x: [(x, i) for i in range(x)]), any_runner)
    assert got == [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


def test_flat_map_strings_are_rows_and_none_is_no_rows(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    def words(line: str) -> list[str] | None:
        return line.split() or None

    ds = flow.strings(["ab cd", "", "efg"], shards=2).flat_map(words)
    assert run(ds, any_runner) == [("ab",), ("cd",), ("efg",)]


def test_flat_map_generator(flow: gl.Flow, any_runner: LocalRunner) -> None:
    def gen(x: int) -> Any:
        yield from range(x)

    assert run(flow.ints([2, 0, 1]).flat_map(gen), any_runner) == [(0,), (1,), (0,)]


def test_filter(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices(PAIRS, shards=3).filter(lambda k, v: k == "a" or v == 5)
    assert run(ds, any_runner) == [("a", 1), ("a", 3), ("b", 5), ("a", 6)]
    assert run(flow.ints([1, 0, 2]).filter(lambda x: x), any_runner) == [(1,), (2,)]


def test_select_by_position(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", 1, True), ("b", 2, False)], shards=2)
    assert run(ds.select(3, 1), any_runner) == [(True, "a"), (False, "b")]
    assert run(ds.select(2), any_runner) == [(1,), (2,)]
    assert run(ds.select(1, 1), any_runner) == [("a", "a"), ("b", "b")]


def test_select_by_name(flow: gl.Flow, any_runner: LocalRunner) -> None:
    src = pa.table({"word": ["x", "y"], "n": [1, 2], "w": [0.5, 1.5]})
    ds = flow.from_arrow(src).select("w", "word")
    assert run(ds, any_runner) == [(0.5, "x"), (1.5, "y")]
    assert ds.to_arrow(any_runner, progress=False).schema.names == ["w", "word"]


def test_map_batches_arrow(flow: gl.Flow, any_runner: LocalRunner) -> None:
    def add(batch: pa.RecordBatch) -> pa.RecordBatch:
        total = pc.add(batch.column(0), batch.column(1))
        return pa.record_batch([batch.column(0), total], names=["a", "total"])

    ds = flow.slices([(1, 10), (2, 20), (3, 30)], shards=2).map_batches(add)
    assert run(ds, any_runner) == [(1, 11), (2, 22), (3, 33)]
    assert ds.to_arrow(any_runner, progress=False).schema.names == ["a", "total"]


def test_map_batches_arrow_dict(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.ints([1, 2, 3]).map_batches(lambda b: {"x": pc.multiply(b.column(0), 2)})
    assert run(ds, any_runner) == [(2,), (4,), (6,)]


def test_map_batches_pandas(flow: gl.Flow, any_runner: LocalRunner) -> None:
    def double(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"k": df.iloc[:, 0], "v2": df.iloc[:, 1] * 2})

    ds = flow.slices(PAIRS[:4], shards=2).map_batches(double, format="pandas")
    assert run(ds, any_runner) == [("a", 2), ("b", 4), ("a", 6), ("c", 8)]


def test_map_batches_can_drop_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(0, 10, shards=3).map_batches(lambda b: b.filter(pc.greater(b.column(0), 6)))
    assert run(ds, any_runner) == [(7,), (8,), (9,)]


def test_local_sort(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = sharded(flow, [[(3, "x"), (1, "y"), (2, "z")], [(9, "a"), (0, "b")]]).local_sort(1)
    assert run(ds, any_runner) == [(1, "y"), (2, "z"), (3, "x"), (0, "b"), (9, "a")]
    desc = sharded(flow, [[(3,), (1,), (2,)], [(0,), (9,)]]).local_sort(
        gl.order_by(1, descending=True)
    )
    assert run(desc, any_runner) == [(3,), (2,), (1,), (9,), (0,)]


def test_local_top(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = sharded(flow, [[(3,), (1,), (2,)], [(9,), (0,), (5,)]]).local_top(2, 1)
    assert run(ds, any_runner) == [(1,), (2,), (0,), (5,)]
    desc = sharded(flow, [[(3,), (1,), (2,)], [(9,)]]).local_top(2, gl.order_by(1, descending=True))
    assert run(desc, any_runner) == [(3,), (2,), (9,)]


def test_local_limit(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1,), (2,), (3,)], [(4,)], [(5,), (6,), (7,), (8,)]]
    assert run(sharded(flow, shards).local_limit(2), any_runner) == [(1,), (2,), (4,), (5,), (6,)]
    got = run(sharded(flow, shards).local_limit(2, offset=1), any_runner)
    assert got == [(2,), (3,), (6,), (7,)]


def test_local_distinct(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1, "a"), (2, "b"), (1, "a"), (1, "b")], [(1, "a"), (3, "c"), (3, "c")]]
    got = run(sharded(flow, shards).local_distinct(), any_runner)
    assert got == [(1, "a"), (2, "b"), (1, "b"), (1, "a"), (3, "c")]


def test_local_reduce_by_key(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[("a", 1), ("b", 2), ("a", 3)], [("a", 10), ("c", 1)]]
    # each shard on its own ("a" twice); the order of groups is not defined
    got = run(sharded(flow, shards).local_reduce_by_key(operator.add), any_runner)
    assert sorted(got) == [("a", 4), ("a", 10), ("b", 2), ("c", 1)]
    got = run(sharded(flow, shards).local_reduce_by_key(lambda a, b: a * 10 + b), any_runner)
    assert sorted(got) == [("a", 10), ("a", 13), ("b", 2), ("c", 1)]


@pytest.mark.parametrize("fn", ["count", "sum"])
def test_local_reduce_by_key_null_and_zero_keys_are_separate_groups(
    flow: gl.Flow, any_runner: LocalRunner, fn: str
) -> None:
    rows = [(None, 1), (0, 2), (1, 3), (0, 4)]
    got = run(sharded(flow, [rows]).local_reduce_by_key(fn), any_runner)
    expected = {"count": [(None, 1), (0, 2), (1, 1)], "sum": [(None, 1), (0, 6), (1, 3)]}
    assert sorted(got, key=repr) == sorted(expected[fn], key=repr)


# ---------------------------------------------------------------------------------------------
# reduce_by_key


def reduce_sorted(ds: gl.Dataset, runner: LocalRunner) -> Rows:
    return sorted(run(ds, runner), key=repr)


@pytest.mark.parametrize(
    ("reducer", "expected"),
    [
        (operator.add, [("a", 10), ("b", 7), ("c", 4)]),
        ("sum", [("a", 10), ("b", 7), ("c", 4)]),
        ("count", [("a", 3), ("b", 2), ("c", 1)]),
        ("min", [("a", 1), ("b", 2), ("c", 4)]),
        ("max", [("a", 6), ("b", 5), ("c", 4)]),
        (min, [("a", 1), ("b", 2), ("c", 4)]),
        (max, [("a", 6), ("b", 5), ("c", 4)]),
        ("first", [("a", 1), ("b", 2), ("c", 4)]),
        ("last", [("a", 6), ("b", 5), ("c", 4)]),
        (lambda a, b: a * b, [("a", 18), ("b", 10), ("c", 4)]),
    ],
)
def test_reduce_by_key(
    flow: gl.Flow, any_runner: LocalRunner, reducer: Any, expected: Rows
) -> None:
    ds = flow.slices(PAIRS, shards=3).reduce_by_key(reducer)
    assert reduce_sorted(ds, any_runner) == expected
    assert ds.shards == 3


def test_reduce_by_key_first_and_last_follow_row_order(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    shards = [[("a", 5), ("b", 1)], [("a", 7), ("b", 2)], [("a", 6)]]
    assert reduce_sorted(sharded(flow, shards).reduce_by_key("first"), any_runner) == [
        ("a", 5),
        ("b", 1),
    ]
    assert reduce_sorted(sharded(flow, shards).reduce_by_key("last"), any_runner) == [
        ("a", 6),
        ("b", 2),
    ]


def test_reduce_by_key_first_and_last_keep_none_values(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    """ "first" is the value of the key's first row, even when that value is None."""
    ds = flow.slices([("a", None), ("a", 5), ("b", 6), ("b", None)])
    assert reduce_sorted(ds.reduce_by_key("first"), any_runner) == [("a", None), ("b", 6)]
    assert reduce_sorted(ds.reduce_by_key("last"), any_runner) == [("a", 5), ("b", None)]


def test_reduce_by_key_count_counts_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", 1, "x"), ("a", 2, "y"), ("b", 3, "z")], shards=2).reduce_by_key("count")
    assert reduce_sorted(ds, any_runner) == [("a", 2), ("b", 1)]


def test_reduce_by_key_python_fold_order(flow: gl.Flow, any_runner: LocalRunner) -> None:
    """A non-associative reducer shows the order: each shard in row order, then the shards."""
    shards = [[("k", 1), ("k", 2)], [("k", 3)], [("k", 4), ("k", 5)]]

    def fold(a: int, b: int) -> int:
        return a * 10 + b

    ds = sharded(flow, shards).reduce_by_key(fold)
    expected = ref.reduce_by_key(shards, fold)
    assert expected == [("k", (12 * 10 + 3) * 10 + 45)]
    assert run(ds, any_runner) == expected


def test_reduce_by_key_string_concatenation(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1, "a"), (2, "x"), (1, "b")], [(1, "c"), (2, "y")]]
    got = reduce_sorted(sharded(flow, shards).reduce_by_key(operator.add), any_runner)
    assert got == [(1, "abc"), (2, "xy")]


def test_reduce_by_key_with_a_python_reducer_keeps_field_names(
    flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,city\nann,paris\nbob,rome\ncid,paris\n")
    joined = (
        flow.read(gl.csv(str(path), header=True))
        .select("city", "name")
        .reduce_by_key(lambda a, b: a + "+" + b)
    )
    assert sorted(run(joined.select("name"), any_runner)) == [("ann+cid",), ("bob",)]
    assert sorted(run(joined.select("city"), any_runner)) == [("paris",), ("rome",)]


def test_reduce_by_key_several_value_fields_are_tuples(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    rows = [("a", 1, 5.0), ("b", 2, 1.0), ("a", 3, 2.0), ("a", 4, 0.5)]

    def combine(x: tuple[int, float], y: tuple[int, float]) -> tuple[int, float]:
        if type(x) is not tuple or type(y) is not tuple:
            raise TypeError(f"the reducer got {x!r} and {y!r}, not tuples")
        return (x[0] + y[0], max(x[1], y[1]))

    got = reduce_sorted(flow.slices(rows, shards=2).reduce_by_key(combine), any_runner)
    assert got == [("a", 8, 5.0), ("b", 2, 1.0)]


def test_reduce_by_key_named_aggregate_over_several_value_fields(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    rows = [("a", 1, 10), ("b", 2, 20), ("a", 3, 30)]
    got = reduce_sorted(flow.slices(rows, shards=2).reduce_by_key("sum"), any_runner)
    assert got == [("a", 4, 40), ("b", 2, 20)]


def test_reduce_by_key_builtin_min_on_tuples_compares_whole_tuples(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    """``min`` gets the value fields as tuples (DESIGN §3), so Python's tuple order applies."""
    rows = [("a", 2, 9), ("a", 5, 4), ("b", 1, 1)]
    expected = ref.reduce_by_key([rows], min)
    assert sorted(expected) == [("a", 2, 9), ("b", 1, 1)]
    assert reduce_sorted(flow.slices(rows).reduce_by_key(min), any_runner) == sorted(expected)


def test_reduce_by_key_on_field_2(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "a"), (2, "b"), (3, "a")]
    got = reduce_sorted(flow.slices(rows, shards=2).reduce_by_key(operator.add, key=2), any_runner)
    assert got == [("a", 4), ("b", 2)]


def test_reduce_by_key_on_two_fields(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "x", "p", 10), (2, "x", "p", 20), (3, "x", "q", 30), (4, "y", "p", 40)]
    ds = flow.slices(rows, shards=2)
    got = reduce_sorted(ds.reduce_by_key("sum", key=(2, 3)), any_runner)
    assert got == [("x", "p", 3, 30), ("x", "q", 3, 30), ("y", "p", 4, 40)]
    got = reduce_sorted(ds.select(4, 3, 2).reduce_by_key(operator.add, key=(3, 2)), any_runner)
    assert got == [("x", "p", 30), ("x", "q", 30), ("y", "p", 40)]


def test_reduce_by_key_by_name(flow: gl.Flow, any_runner: LocalRunner) -> None:
    src = pa.table({"n": [1, 2, 3], "word": ["a", "b", "a"]})
    ds = flow.from_arrow(src, shards=2).reduce_by_key("sum", key="word")
    assert reduce_sorted(ds, any_runner) == [("a", 4), ("b", 2)]


def test_reduce_by_key_none_is_a_key(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(None, 1), ("a", 2), (None, 3)]
    got = run(flow.slices(rows, shards=2).reduce_by_key(operator.add), any_runner)
    assert ref.multiset(got) == ref.multiset([(None, 4), ("a", 2)])


def test_reduce(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(1, 101, shards=4)
    assert run(ds.reduce(operator.add), any_runner) == [(5050,)]
    assert run(ds.reduce("count"), any_runner) == [(100,)]
    assert run(ds.reduce(max), any_runner) == [(100,)]
    assert run(ds.reduce("min"), any_runner) == [(1,)]
    assert ds.reduce(operator.add).shards == 1


def test_reduce_tuples_and_fold_order(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1, "a"), (2, "b")], [(3, "c")]]
    got = run(sharded(flow, shards).reduce(lambda x, y: (x[0] + y[0], x[1] + y[1])), any_runner)
    assert got == [(6, "abc")]
    got = run(
        sharded(flow, [[(1,), (2,)], [(3,), (4,)]]).reduce(lambda a, b: a * 10 + b), any_runner
    )
    assert got == [(12 * 10 + 34,)]


def test_reduce_of_nothing_is_no_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    assert (
        run(flow.range(0, 10, shards=2).filter(lambda x: x < 0).reduce(operator.add), any_runner)
        == []
    )


# ---------------------------------------------------------------------------------------------
# group_by_key and distinct


def test_group_by_key_scalars(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices(PAIRS).group_by_key()
    assert run(ds, any_runner) == [("a", [1, 3, 6]), ("b", [2, 5]), ("c", [4])]


def test_group_by_key_tuples(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("a", 1, "x"), ("b", 2, "y"), ("a", 3, "z")]
    assert run(flow.slices(rows).group_by_key(), any_runner) == [
        ("a", [(1, "x"), (3, "z")]),
        ("b", [(2, "y")]),
    ]


def test_group_by_key_on_field_2_puts_the_key_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "a", True), (2, "b", False), (3, "a", False)]
    assert run(flow.slices(rows).group_by_key(key=2), any_runner) == [
        ("a", [(1, True), (3, False)]),
        ("b", [(2, False)]),
    ]


def test_group_by_key_on_two_fields(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "a", "x"), (2, "a", "y"), (3, "a", "x")]
    assert run(flow.slices(rows).group_by_key(key=(3, 2)), any_runner) == [
        ("x", "a", [1, 3]),
        ("y", "a", [2]),
    ]


def test_group_by_key_many_shards(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[("a", 1), ("b", 2)], [("a", 3)], [("c", 4), ("a", 5), ("b", 6)]]
    ds = sharded(flow, shards).group_by_key()
    assert ds.shards == 3
    got = run(ds, any_runner)
    assert ref.multiset(got) == ref.multiset([("a", [1, 3, 5]), ("b", [2, 6]), ("c", [4])])


def test_distinct_all_fields(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "a"), (2, "b"), (1, "a"), (1, "b"), (2, "b")]
    assert run(flow.slices(rows).distinct(), any_runner) == [(1, "a"), (2, "b"), (1, "b")]
    ds = flow.slices(rows, shards=3).distinct()
    assert ds.shards == 3
    assert ref.multiset(run(ds, any_runner)) == ref.multiset([(1, "a"), (2, "b"), (1, "b")])


def test_distinct_key_keeps_the_first_row_key_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(1, "a"), (2, "b"), (3, "a"), (4, "c"), (5, "b")]
    assert run(flow.slices(rows).distinct(key=2), any_runner) == [("a", 1), ("b", 2), ("c", 4)]
    shards = [[(1, "a"), (2, "b")], [(3, "a"), (4, "c"), (5, "b")]]
    got = run(sharded(flow, shards).distinct(key=2), any_runner)
    assert ref.multiset(got) == ref.multiset([("a", 1), ("b", 2), ("c", 4)])


def test_distinct_with_none(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(None, 1), (None, 1), (None, None), (2, None), (None, None)]
    got = run(flow.slices(rows, shards=2).distinct(), any_runner)
    assert ref.multiset(got) == ref.multiset([(None, 1), (None, None), (2, None)])


# ---------------------------------------------------------------------------------------------
# sort, top, limit


def test_sort_ascending_and_descending(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.ints([5, 3, 9, 1, 7, 3], shards=3)
    assert run(ds.sort(), any_runner) == [(1,), (3,), (3,), (5,), (7,), (9,)]
    assert run(ds.sort(gl.order_by(1, descending=True)), any_runner) == [
        (9,),
        (7,),
        (5,),
        (3,),
        (3,),
        (1,),
    ]
    assert ds.sort().shards == 3


def test_sort_multi_key_and_then(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("b", 1), ("a", 2), ("b", 3), ("a", 1)]
    ds = flow.slices(rows, shards=2)
    assert run(ds.sort([1, 2]), any_runner) == [("a", 1), ("a", 2), ("b", 1), ("b", 3)]
    assert run(ds.sort(gl.order_by(1, 2, descending=True)), any_runner) == [
        ("b", 3),
        ("b", 1),
        ("a", 2),
        ("a", 1),
    ]
    assert run(ds.sort(gl.order_by(1).then(2, descending=True)), any_runner) == [
        ("a", 2),
        ("a", 1),
        ("b", 3),
        ("b", 1),
    ]
    assert run(ds.sort(gl.order_by(2, descending=True).then(1)), any_runner) == [
        ("b", 3),
        ("a", 2),
        ("a", 1),
        ("b", 1),
    ]


def test_sort_by_name(flow: gl.Flow, any_runner: LocalRunner) -> None:
    src = pa.table({"w": ["x", "y", "z"], "n": [2, 3, 1]})
    ds = flow.from_arrow(src, shards=2)
    assert run(ds.sort("n"), any_runner) == [("z", 1), ("x", 2), ("y", 3)]
    assert run(ds.sort(gl.order_by("n", descending=True)), any_runner) == [
        ("y", 3),
        ("x", 2),
        ("z", 1),
    ]


def test_sort_is_stable(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(i % 3, i) for i in range(30)]
    ds = flow.slices(rows, shards=4)
    assert run(ds.sort(1), any_runner) == ref.sort_rows(rows, [(1, False)])
    assert run(ds.sort(gl.order_by(1, descending=True)), any_runner) == ref.sort_rows(
        rows, [(1, True)]
    )


@pytest.mark.parametrize("kind", ["few strings", "one value", "wide ints", "shared prefix"])
def test_sort_of_thousands_of_rows_matches_python(
    flow: gl.Flow, any_runner: LocalRunner, kind: str
) -> None:
    """Enough rows that the sort keys need many bits for the row numbers, with heavy ties
    (range cuts on equal keys) and the row number as a second field."""
    import random

    rnd = random.Random(kind)
    pick: dict[str, Callable[[], Any]] = {
        "few strings": lambda: rnd.choice(["a", "b", "ab", "", None, "é"]),
        "one value": lambda: "same",
        "wide ints": lambda: rnd.choice([-(2**63), 2**63 - 1, 0, 2**40, 2**40 + 1, None]),
        "shared prefix": lambda: "prefix00" + rnd.choice(["x", "y", "xy", ""]),
    }
    rows = [(pick[kind](), i % 7) for i in range(3000)]
    ds = flow.slices(rows, shards=5)
    for order in ([(1, False)], [(1, True)], [(1, False), (2, True)], [(1, True), (2, False)]):
        spec = gl.order_by(*[f for f, _ in order[:1]], descending=order[0][1])
        if len(order) > 1:
            spec = spec.then(2, descending=order[1][1])
        assert run(ds.sort(spec), any_runner) == ref.sort_rows(rows, order)


def test_sort_with_more_shards_than_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("b", 1), ("a", 2), ("b", 0)]
    assert run(flow.slices(rows, shards=8).sort(1), any_runner) == ref.sort_rows(rows, [(1, False)])


def test_sort_nulls_last_nan_before_them(flow: gl.Flow, any_runner: LocalRunner) -> None:
    nan = float("nan")
    ds = flow.slices([(2.0,), (None,), (nan,), (-1.0,), (None,), (5.5,)], shards=2)
    asc = run(ds.sort(), any_runner)
    desc = run(ds.sort(gl.order_by(1, descending=True)), any_runner)
    ref.assert_rows(asc, [(-1.0,), (2.0,), (5.5,), (nan,), (None,), (None,)], ordered=True)
    ref.assert_rows(desc, [(5.5,), (2.0,), (-1.0,), (nan,), (None,), (None,)], ordered=True)


def test_sort_strings_with_nulls(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.strings(["b", None, "a", "ab"], shards=2)  # type: ignore[list-item]
    assert run(ds.sort(), any_runner) == [("a",), ("ab",), ("b",), (None,)]
    assert run(ds.sort(gl.order_by(1, descending=True)), any_runner) == [
        ("b",),
        ("ab",),
        ("a",),
        (None,),
    ]


def test_top(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.ints([5, 1, 4, 2, 8, 3], shards=3)
    assert run(ds.top(2, gl.order_by(1, descending=True)), any_runner) == [(8,), (5,)]
    assert run(ds.top(3), any_runner) == [(1,), (2,), (3,)]
    assert run(ds.top(10), any_runner) == [(1,), (2,), (3,), (4,), (5,), (8,)]
    assert run(ds.top(0), any_runner) == []
    assert ds.top(2).shards == 1


def test_top_by_second_field_then_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("the", 3), ("cat", 1), ("dog", 1), ("end", 2)]
    ds = flow.slices(rows, shards=2)
    got = run(ds.top(3, gl.order_by(2, descending=True).then(1)), any_runner)
    assert got == [("the", 3), ("end", 2), ("cat", 1)]


def test_limit(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(0, 100, shards=3)
    assert run(ds.limit(3), any_runner) == [(0,), (1,), (2,)]
    assert run(ds.limit(3, offset=32), any_runner) == [(32,), (33,), (34,)]
    assert run(ds.limit(5, offset=97), any_runner) == [(97,), (98,), (99,)]
    assert run(ds.limit(0), any_runner) == []
    assert ds.limit(3).shards == 1


def test_limit_across_shard_boundaries(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1,), (2,)], [(3,)], [(4,), (5,), (6,)]]
    assert run(sharded(flow, shards).limit(3, offset=1), any_runner) == [(2,), (3,), (4,)]
    assert run(sharded(flow, shards).limit(10, offset=2), any_runner) == [(3,), (4,), (5,), (6,)]


# ---------------------------------------------------------------------------------------------
# joins and co_group

LEFT = [(1, "a"), (2, "b"), (2, "bb"), (3, "c"), (None, "n")]
RIGHT = [(2, "x"), (4, "y"), (2, "xx"), (None, "m"), (1, "z")]


def test_join(flow: gl.Flow, any_runner: LocalRunner) -> None:
    got = run(flow.slices(LEFT).join(flow.slices(RIGHT)), any_runner)
    assert got == [(1, "a", "z"), (2, "b", "x"), (2, "b", "xx"), (2, "bb", "x"), (2, "bb", "xx")]


def test_left_outer_join(flow: gl.Flow, any_runner: LocalRunner) -> None:
    got = run(flow.slices(LEFT).left_outer_join(flow.slices(RIGHT)), any_runner)
    assert got == [
        (1, "a", "z"),
        (2, "b", "x"),
        (2, "b", "xx"),
        (2, "bb", "x"),
        (2, "bb", "xx"),
        (3, "c", None),
        (None, "n", None),
    ]


def test_right_outer_join(flow: gl.Flow, any_runner: LocalRunner) -> None:
    got = run(flow.slices(LEFT).right_outer_join(flow.slices(RIGHT)), any_runner)
    assert got == [
        (1, "a", "z"),
        (2, "b", "x"),
        (2, "b", "xx"),
        (2, "bb", "x"),
        (2, "bb", "xx"),
        (4, None, "y"),
        (None, None, "m"),
    ]


def test_full_outer_join(flow: gl.Flow, any_runner: LocalRunner) -> None:
    got = run(flow.slices(LEFT).full_outer_join(flow.slices(RIGHT)), any_runner)
    assert got == [
        (1, "a", "z"),
        (2, "b", "x"),
        (2, "b", "xx"),
        (2, "bb", "x"),
        (2, "bb", "xx"),
        (3, "c", None),
        (None, "n", None),
        (4, None, "y"),
        (None, None, "m"),
    ]


@pytest.mark.parametrize("how", ["inner", "left_outer", "right_outer", "full_outer"])
def test_joins_over_many_shards(flow: gl.Flow, any_runner: LocalRunner, how: str) -> None:
    left = [[(1, "a", 1.5)], [(2, "b", 2.5), (2, "bb", 0.5)], [(3, "c", 9.0)]]
    right = [[(2, "x"), (4, "y")], [(2, "xx"), (1, "z")]]
    method = {"inner": "join"}.get(how, f"{how}_join")
    ds = getattr(sharded(flow, left), method)(sharded(flow, right))
    assert ds.shards == 3
    got = run(ds, any_runner)
    expected = ref.join(left, right, (1,), how)
    assert len(expected) == {"inner": 5, "left_outer": 6, "right_outer": 6, "full_outer": 7}[how]
    ref.assert_rows(got, expected, ordered=False)


def test_join_on_two_fields_and_several_values(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.slices([("a", 1, "L1", 10), ("a", 2, "L2", 20), ("b", 1, "L3", 30)])
    right = flow.slices([("a", 1, "R1"), ("b", 1, "R2"), ("b", 2, "R3")])
    assert run(left.join(right, on=(1, 2)), any_runner) == [
        ("a", 1, "L1", 10, "R1"),
        ("b", 1, "L3", 30, "R2"),
    ]
    assert run(left.full_outer_join(right, on=(1, 2)), any_runner) == [
        ("a", 1, "L1", 10, "R1"),
        ("a", 2, "L2", 20, None),
        ("b", 1, "L3", 30, "R2"),
        ("b", 2, None, None, "R3"),
    ]


def test_join_on_field_2_puts_the_key_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.slices([("L1", 1), ("L2", 2)])
    right = flow.slices([("R2", 2), ("R3", 3)])
    assert run(left.join(right, on=2), any_runner) == [(2, "L2", "R2")]


def test_join_by_name(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.from_arrow(pa.table({"name": ["ann", "bob"], "id": [1, 2]}))
    right = flow.from_arrow(pa.table({"id": [2, 1], "city": ["Oslo", "Rome"]}))
    assert run(left.join(right, on="id"), any_runner) == [(1, "ann", "Rome"), (2, "bob", "Oslo")]


def test_join_where_one_side_has_only_null_keys(flow: gl.Flow, any_runner: LocalRunner) -> None:
    """Null keys never match, even when no key of a side is set."""
    left = flow.slices([(None, "n")])
    right = flow.slices([(None, "m"), (1, "z")])
    assert run(left.join(right), any_runner) == []
    assert run(left.full_outer_join(right), any_runner) == [
        (None, "n", None),
        (None, None, "m"),
        (1, None, "z"),
    ]


@pytest.mark.parametrize("how", ["inner", "left_outer", "right_outer", "full_outer"])
def test_join_where_no_key_is_set(flow: gl.Flow, any_runner: LocalRunner, how: str) -> None:
    left = flow.slices([(None, "n"), (None, "o")])
    right = flow.slices([(None, "m")])
    method = {"inner": "join"}.get(how, f"{how}_join")
    got = run(getattr(left, method)(right), any_runner)
    expected = {
        "inner": [],
        "left_outer": [(None, "n", None), (None, "o", None)],
        "right_outer": [(None, None, "m")],
        "full_outer": [(None, "n", None), (None, "o", None), (None, None, "m")],
    }[how]
    assert got == expected


def test_join_with_an_empty_side(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.slices([(1, "a"), (2, "b")])
    right = flow.slices([(1, "x")]).filter(lambda k, v: False)
    assert run(left.join(right), any_runner) == []
    assert run(left.left_outer_join(right), any_runner) == [(1, "a", None), (2, "b", None)]


def test_join_with_an_empty_side_of_another_width(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.slices([(1, "a", "b")])
    right = flow.slices([(5, "x")]).filter(lambda k, v: False)
    assert run(left.left_outer_join(right), any_runner) == [(1, "a", "b", None)]
    assert run(left.full_outer_join(right), any_runner) == [(1, "a", "b", None)]
    assert run(right.right_outer_join(left), any_runner) == [(1, None, "a", "b")]


@pytest.mark.parametrize("how", ["left_outer", "full_outer"])
def test_outer_join_when_a_shard_has_no_right_rows(
    flow: gl.Flow, any_runner: LocalRunner, how: str
) -> None:
    """Most output shards get no right rows here: their padding still has the right's width."""
    left_rows = [(k, "a", 1.0) for k in range(12)]
    left = flow.slices(left_rows, shards=4)
    right = flow.slices([(100, "x")])
    got = run(getattr(left, f"{how}_join")(right), any_runner)
    expected = ref.join([left_rows], [[(100, "x")]], (1,), how)
    assert (100, None, None, "x") in expected or how == "left_outer"
    ref.assert_rows(got, expected, ordered=False)


def test_co_group_when_a_shard_has_rows_of_one_side(flow: gl.Flow, any_runner: LocalRunner) -> None:
    """Most output shards get rows of one side only: every shard's lists keep one type."""
    many = [(k, "a", 1.0) for k in range(12)]
    one = [(100, "x")]
    got = run(flow.slices(many, shards=4).co_group(flow.slices(one)), any_runner)
    expected = [(k, [("a", 1.0)], []) for k in range(12)] + [(100, [], ["x"])]
    ref.assert_rows(got, expected, ordered=False)
    got = run(flow.slices([(100, "a", 1.0)], shards=4).co_group(flow.slices(many)), any_runner)
    expected = [(100, [("a", 1.0)], [])] + [(k, [], [("a", 1.0)]) for k in range(12)]
    ref.assert_rows(got, expected, ordered=False)


def test_hash_join(flow: gl.Flow, any_runner: LocalRunner) -> None:
    big = sharded(flow, [[(1, "a"), (2, "b")], [(3, "c"), (2, "d"), (None, "e")]])
    small = flow.slices([(2, "y"), (1, "x"), (2, "yy"), (None, "z")])
    ds = big.hash_join(small)
    assert ds.shards == 2
    assert run(ds, any_runner) == [
        (1, "a", "x"),
        (2, "b", "y"),
        (2, "b", "yy"),
        (2, "d", "y"),
        (2, "d", "yy"),
    ]


def test_co_group(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = flow.slices([(1, "a"), (1, "b"), (3, "c")])
    right = flow.slices([(1, "x"), (2, "y")])
    got = run(left.co_group(right), any_runner)
    ref.assert_rows(got, [(1, ["a", "b"], ["x"]), (3, ["c"], []), (2, [], ["y"])], ordered=False)


def test_co_group_several_values_and_shards(flow: gl.Flow, any_runner: LocalRunner) -> None:
    left = sharded(flow, [[(1, "a", 1.0)], [(2, "b", 2.0), (1, "c", 3.0)]])
    right = sharded(flow, [[("r", 1)], [("s", 1)], [("t", 5)]])
    got = run(left.co_group(right.select(2, 1)), any_runner)
    ref.assert_rows(
        got,
        [(1, [("a", 1.0), ("c", 3.0)], ["r", "s"]), (2, [("b", 2.0)], []), (5, [], ["t"])],
        ordered=False,
    )


# ---------------------------------------------------------------------------------------------
# moving shards


def test_partition(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(i % 5, i) for i in range(40)]
    ds = flow.slices(rows, shards=2).partition(3)
    assert ds.shards == 3
    shards = shard_contents(ds, any_runner)
    assert 1 <= len(shards) <= 3
    ref.assert_rows([r for s in shards for r in s], rows, ordered=False)
    homes = {}
    for i, shard in enumerate(shards):
        for k, _ in shard:
            assert homes.setdefault(k, i) == i, f"key {k} is in shards {homes[k]} and {i}"


def test_partition_key_first(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", 1), ("b", 2)]).partition(2, key=2)
    ref.assert_rows(run(ds, any_runner), [(1, "a"), (2, "b")], ordered=False)


def test_partition_spreads_float_keys(flow: gl.Flow, any_runner: LocalRunner) -> None:
    keys = [i / 7 + 0.25 for i in range(1000)]
    ds = flow.from_iterable(keys, shards=2).partition(7)
    sizes = shard_sizes(ds, any_runner)
    assert len(sizes) == 7, f"only {len(sizes)} of 7 shards got rows: {sizes}"
    assert sum(sizes) == 1000


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda i: (i,), 1),
        (lambda i: (f"w{i}",), 1),
        (lambda i: (i % 2 == 0, f"w{i % 50}", i), (1, 2)),
        (lambda i: (i * 1e-9,), 1),
        (lambda i: (float(2**40 + i * 2**20),), 1),
    ],
)
def test_partition_spreads_other_keys(
    flow: gl.Flow, any_runner: LocalRunner, make: Callable[[int], Any], key: Any
) -> None:
    ds = flow.slices([make(i) for i in range(300)]).partition(5, key=key)
    assert len(shard_sizes(ds, any_runner)) == 5


def test_round_robin(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(0, 10).round_robin(3)
    assert ds.shards == 3
    shards = shard_contents(ds, any_runner)
    assert sorted(len(s) for s in shards) == [3, 3, 4]
    ref.assert_rows([r for s in shards for r in s], [(i,) for i in range(10)], ordered=False)


def test_round_robin_into_more_shards_than_rows(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.range(0, 3).round_robin(5)
    assert ds.shards == 5
    assert shard_sizes(ds, any_runner) == [1, 1, 1]


def test_broadcast(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = sharded(flow, [[(1,)], [(2,), (3,)]]).broadcast(3)
    assert ds.shards == 3
    assert run(ds, any_runner) == [(1,), (2,), (3,)] * 3
    assert shard_contents(ds, any_runner) == [[(1,), (2,), (3,)]] * 3


def test_merge_to(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1,)], [(2,), (3,)], [(4,)], [(5,), (6,)]]
    ds = sharded(flow, shards).merge_to(2)
    assert ds.shards == 2
    assert run(ds, any_runner) == [(i,) for i in range(1, 7)]
    got = shard_contents(ds, any_runner)
    assert len(got) == 2
    assert [r for s in got for r in s] == [(i,) for i in range(1, 7)]
    assert run(sharded(flow, shards).merge_to(1), any_runner) == [(i,) for i in range(1, 7)]
    assert shard_sizes(sharded(flow, shards).merge_to(1), any_runner) == [6]


def test_merge_sorted_to(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(5,), (1,), (9,)], [(2,), (8,)], [(7,), (3,)], [(6,), (4,), (0,)]]
    ds = sharded(flow, shards).local_sort(1).merge_sorted_to(1)
    assert ds.shards == 1
    assert run(ds, any_runner) == [(i,) for i in range(10)]
    two = sharded(flow, shards).local_sort(1).merge_sorted_to(2)
    got = shard_contents(two, any_runner)
    assert len(got) == 2
    assert all(ref.is_sorted(s, [(1, False)]) for s in got)
    assert any(
        got == [r for r in cand if r]
        for cand in ref.merge_sorted_candidates(
            ref.local_sort(shards, [(1, False)]), 2, [(1, False)]
        )
    )


def test_merge_sorted_to_descending_and_stable(flow: gl.Flow, any_runner: LocalRunner) -> None:
    shards = [[(1, "a"), (3, "b")], [(3, "c"), (2, "d")], [(1, "e")]]
    order = gl.order_by(1, descending=True)
    ds = sharded(flow, shards).local_sort(order).merge_sorted_to(1, order)
    assert run(ds, any_runner) == [(3, "b"), (3, "c"), (2, "d"), (1, "a"), (1, "e")]


def test_union_side_by_side(flow: gl.Flow, any_runner: LocalRunner) -> None:
    a = flow.slices([(1, "a"), (2, "b")], shards=2)
    b = flow.slices([(3, "c")])
    c = flow.slices([(4, "d"), (5, "e"), (6, "f")], shards=3)
    ds = a.union(b, c)
    assert ds.shards == 6
    assert run(ds, any_runner) == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f")]
    assert run(b.union(a), any_runner) == [(3, "c"), (1, "a"), (2, "b")]


def test_union_ordered(flow: gl.Flow, any_runner: LocalRunner) -> None:
    a = flow.range(0, 5, shards=3)
    b = flow.range(10, 13, shards=2)
    ds = b.union(a, ordered=True)
    assert ds.shards == 1
    assert run(ds, any_runner) == [(10,), (11,), (12,), (0,), (1,), (2,), (3,), (4,)]
    assert shard_sizes(ds, any_runner) == [8]


def test_union_with_itself(flow: gl.Flow, any_runner: LocalRunner) -> None:
    a = flow.ints([1, 2])
    assert run(a.union(a), any_runner) == [(1,), (2,), (1,), (2,)]


# ---------------------------------------------------------------------------------------------
# sinks


def test_printlnf(
    flow: gl.Flow, any_runner: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    flow.slices([("a", 1), ("b", 22)], shards=2).printlnf("%s=%d")
    flow.run(any_runner, progress=False)
    assert capsys.readouterr().out == "a=1\nb=22\n"


def test_printf_and_v_verb(
    flow: gl.Flow, any_runner: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    flow.slices([("a", 1.5), ("b", 2.0)]).printf("[%v|%v]")
    flow.run(any_runner, progress=False)
    assert capsys.readouterr().out == "[a|1.5][b|2.0]"


def test_fprintf_to_path_and_file(flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    flow.slices([("x", 1), ("y", 2)]).fprintf(str(path), "%s\t%d\n")
    flow.run(any_runner, progress=False)
    assert path.read_text() == "x\t1\ny\t2\n"

    other = gl.Flow("to a file object")
    with open(tmp_path / "out2.txt", "w") as fh:
        other.ints([7, 8]).fprintf(fh, "%d;")
        other.run(any_runner, progress=False)
    assert (tmp_path / "out2.txt").read_text() == "7;8;"


def test_output_row(flow: gl.Flow, any_runner: LocalRunner) -> None:
    seen: list[tuple[Any, ...]] = []
    flow.slices([("a", 1), ("b", 2)], shards=2).output_row(lambda *row: seen.append(row))
    flow.run(any_runner, progress=False)
    assert seen == [("a", 1), ("b", 2)]


ROWS_FOR_SAVE = [("a", 1, 1.5, True), ("b,c", -2, None, False), ("d", 3, 0.25, None)]


def test_save_parquet_round_trip(flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path) -> None:
    out = tmp_path / "pq"
    flow.slices(ROWS_FOR_SAVE, shards=2).save(str(out))
    flow.run(any_runner, progress=False)
    assert sorted(os.listdir(out)) == ["part-00000.parquet", "part-00001.parquet"]
    back = gl.Flow("read back").read(gl.parquet(str(out)))
    ref.assert_rows(run(back, any_runner), ROWS_FOR_SAVE, ordered=True)
    schema = pq.read_schema(out / "part-00000.parquet")
    assert pa.types.is_integer(schema.field(1).type)
    assert pa.types.is_floating(schema.field(2).type)
    assert pa.types.is_boolean(schema.field(3).type)


def test_save_csv_round_trip(flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    rows = [("a", 1, 1.5), ("b,c", -2, 2.0), ('say "hi"', 3, 0.25)]
    flow.slices(rows, shards=2).save(str(out), format="csv")
    flow.run(any_runner, progress=False)
    back = gl.Flow("read back").read(gl.csv(str(out), header=True))
    ref.assert_rows(run(back, any_runner), rows, ordered=True)


def test_save_tsv_and_txt(flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path) -> None:
    rows = [("a", 1), ("b", 2), ("c", 3)]
    flow.slices(rows, shards=2).save(str(tmp_path / "tsv"), format="tsv")
    flow.slices(rows).save(str(tmp_path / "txt"), format="txt")
    flow.run(any_runner, progress=False)
    back = gl.Flow("read back").read(gl.tsv(str(tmp_path / "tsv"), header=True))
    ref.assert_rows(run(back, any_runner), rows, ordered=True)
    assert (tmp_path / "txt" / "part-00000.txt").read_text() == "a\t1\nb\t2\nc\t3\n"


def test_save_jsonl(flow: gl.Flow, any_runner: LocalRunner, tmp_path: Path) -> None:
    src = pa.table({"w": ["x", "y"], "n": [1, None]})
    flow.from_arrow(src).save(str(tmp_path / "j"), format="jsonl")
    flow.run(any_runner, progress=False)
    lines = (tmp_path / "j" / "part-00000.jsonl").read_text().splitlines()
    assert [json.loads(ln) for ln in lines] == [{"w": "x", "n": 1}, {"w": "y", "n": None}]
    back = gl.Flow("read back").read(gl.jsonl(str(tmp_path / "j")))
    assert run(back, any_runner) == [("x", 1), ("y", None)]


# ---------------------------------------------------------------------------------------------
# types survive every step


def column_types(ds: gl.Dataset, runner: LocalRunner) -> list[pa.DataType]:
    return list(ds.to_arrow(runner, progress=False).schema.types)


def test_ints_stay_ints(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", 1), ("b", 2), ("a", 3)], shards=2)
    steps = {
        "reduce_by_key": ds.reduce_by_key(operator.add),
        "reduce_by_key python": ds.reduce_by_key(lambda a, b: a + b),
        "reduce": ds.select(2).reduce(operator.add),
        "sort": ds.sort(2),
        "join": ds.join(flow.slices([("a", 10), ("b", 20)])),
        "left_outer_join": ds.left_outer_join(flow.slices([("a", 10)])),
        "group_by_key": ds.group_by_key(),
        "top": ds.top(2, 2),
        "distinct": ds.distinct(),
    }
    for what, step in steps.items():
        value_type = column_types(step, any_runner)[-1]
        if what == "group_by_key":
            value_type = value_type.value_type
        assert pa.types.is_integer(value_type), f"{what}: {value_type}"
        for row in run(step, any_runner):
            values = row[-1] if what == "group_by_key" else row[1:] if len(row) > 1 else row
            assert all(type(v) is int for v in values if v is not None), f"{what}: {row}"


def test_int64_column_keeps_its_type(flow: gl.Flow, any_runner: LocalRunner) -> None:
    src = pa.table({"k": pa.array([1, 2, 1], pa.int64()), "v": pa.array([5, 6, 7], pa.int64())})
    ds = flow.from_arrow(src, shards=2)
    assert column_types(ds.reduce_by_key("sum"), any_runner) == [pa.int64(), pa.int64()]
    assert column_types(ds.sort(2), any_runner) == [pa.int64(), pa.int64()]
    assert column_types(ds.join(ds), any_runner) == [pa.int64(), pa.int64(), pa.int64()]


def test_big_ints_are_exact(flow: gl.Flow, any_runner: LocalRunner) -> None:
    big = 2**53 + 1
    ds = flow.slices([("a", big), ("a", 2)], shards=2)
    assert run(ds.reduce_by_key(operator.add), any_runner) == [("a", big + 2)]
    assert run(ds.sort(2), any_runner) == [("a", 2), ("a", big)]


def test_floats_stay_floats(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", 1.0), ("b", 2.0), ("a", 3.0)], shards=2)
    for step in (ds.reduce_by_key(operator.add), ds.sort(2), ds.join(flow.slices([("a", 0.5)]))):
        types = column_types(step, any_runner)
        assert all(pa.types.is_floating(t) for t in types[1:]), types
        for row in run(step, any_runner):
            assert all(type(v) is float for v in row[1:]), row
    assert sorted(run(ds.reduce_by_key(operator.add), any_runner)) == [("a", 4.0), ("b", 2.0)]


def test_float_keys(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([(0.5, 1), (1.5, 2), (0.5, 3)], shards=2)
    got = run(ds.reduce_by_key(operator.add), any_runner)
    ref.assert_rows(got, [(0.5, 4), (1.5, 2)], ordered=False)


def test_strings_stay_strings(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("1", "10"), ("2", "20"), ("1", "30")], shards=2)
    for step in (ds.reduce_by_key(operator.add), ds.sort(2), ds.join(ds), ds.distinct()):
        types = column_types(step, any_runner)
        assert all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in types), types
        assert all(type(v) is str for row in run(step, any_runner) for v in row)
    assert sorted(run(ds.reduce_by_key(operator.add), any_runner)) == [("1", "1030"), ("2", "20")]


def test_bools(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([(True, 1), (False, 2), (True, 3)], shards=2)
    got = run(ds.reduce_by_key(operator.add), any_runner)
    ref.assert_rows(got, [(True, 4), (False, 2)], ordered=False)
    ref.assert_rows(run(ds.sort(1), any_runner), [(False, 2), (True, 1), (True, 3)], ordered=True)
    assert pa.types.is_boolean(column_types(ds.sort(1), any_runner)[0])


def test_none_in_every_kind_of_column(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("a", None, 1.5, None), (None, 2, None, True)]
    ds = flow.slices(rows, shards=2)
    ref.assert_rows(run(ds, any_runner), rows, ordered=True)
    ref.assert_rows(run(ds.map(lambda *r: r), any_runner), rows, ordered=True)
    ref.assert_rows(run(ds.sort(1), any_runner), rows, ordered=True)


class Point:
    """A value Arrow cannot hold: goes through as a Python object."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    def __repr__(self) -> str:
        return f"Point({self.x}, {self.y})"


def test_python_objects_go_through(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("a", {1, 2}, Point(1, 2)), ("b", {3}, Point(3, 4)), ("a", {2, 5}, Point(5, 6))]
    ds = flow.slices(rows, shards=2)
    assert run(ds, any_runner) == rows
    assert run(ds.filter(lambda k, s, p: 2 in s), any_runner) == [rows[0], rows[2]]
    assert run(ds.map(lambda k, s, p: (k, len(s), p)), any_runner) == [
        ("a", 2, Point(1, 2)),
        ("b", 1, Point(3, 4)),
        ("a", 2, Point(5, 6)),
    ]
    got = run(ds.select(1, 2).reduce_by_key(lambda a, b: a | b), any_runner)
    assert sorted(got, key=repr) == [("a", {1, 2, 5}), ("b", {3})]
    assert run(ds.sort(1), any_runner) == [rows[0], rows[2], rows[1]]
    got = run(ds.select(1, 3).group_by_key(), any_runner)
    assert sorted(got, key=repr) == [("a", [Point(1, 2), Point(5, 6)]), ("b", [Point(3, 4)])]
    joined = run(ds.select(1, 3).join(flow.slices([("b", "x")])), any_runner)
    assert joined == [("b", Point(3, 4), "x")]
    parts = shard_contents(ds.select(1, 2).partition(2), any_runner)
    assert sorted((r for s in parts for r in s), key=repr) == sorted(
        [r[:2] for r in rows], key=repr
    )


def test_python_object_keys(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [(Point(1, 1), 1), (Point(2, 2), 2), (Point(1, 1), 3)]
    got = run(flow.slices(rows, shards=2).reduce_by_key(operator.add), any_runner)
    assert sorted(got, key=repr) == [(Point(1, 1), 4), (Point(2, 2), 2)]


def test_tuples_in_fields_stay_tuples(flow: gl.Flow, any_runner: LocalRunner) -> None:
    ds = flow.slices([("a", (1, 2)), ("b", (3,))]).map(lambda k, t: (k, t, len(t)))
    assert run(ds, any_runner) == [("a", (1, 2), 2), ("b", (3,), 1)]


def test_nan_values_go_through(flow: gl.Flow, any_runner: LocalRunner) -> None:
    got = run(
        flow.slices([("a", float("nan")), ("b", 1.0)], shards=2).map(lambda k, v: (k, v)),
        any_runner,
    )
    assert got[0][0] == "a" and math.isnan(got[0][1]) and got[1] == ("b", 1.0)


# ---------------------------------------------------------------------------------------------
# inputs of many batches (a batch holds at most 64 Ki rows)

BIG = 70_000


def big_shards(seed: int) -> list[list[tuple[int, int]]]:
    """Three shards of ``BIG`` rows ``(key, value)``, keys 0..6 in a scrambled order."""
    return [
        [((i * 7919 + seed) % 7, (i * 104_729 + s) % 1000) for i in range(BIG)] for s in range(3)
    ]


def fold_ints(a: int, b: int) -> int:
    return (a * 3 + b) % 1_000_003


def test_large_reduce_by_key_folds_in_row_order(flow: gl.Flow, runner: LocalRunner) -> None:
    shards = big_shards(1)
    got = run(sharded(flow, shards).reduce_by_key(fold_ints), runner)
    assert sorted(got) == sorted(ref.reduce_by_key(shards, fold_ints))
    got = run(sharded(flow, shards).reduce_by_key("sum"), runner)
    assert sorted(got) == sorted(ref.reduce_by_key(shards, "sum"))


def test_large_group_by_key_keeps_row_order(flow: gl.Flow, runner: LocalRunner) -> None:
    shards = big_shards(2)
    got = run(sharded(flow, shards).group_by_key(), runner)
    assert sorted(got) == sorted(ref.group_by_key(shards))


def test_large_sort_is_stable(flow: gl.Flow, runner: LocalRunner) -> None:
    shards = big_shards(3)
    order = gl.order_by(1, descending=True)
    got = run(sharded(flow, shards).sort(order), runner)
    assert got == ref.sort_rows(ref.rows_of(shards), [(1, True)])


def test_large_distinct_and_join(flow: gl.Flow, runner: LocalRunner) -> None:
    shards = big_shards(4)
    got = run(sharded(flow, shards).distinct(), runner)
    assert sorted(got) == sorted(ref.distinct(shards))
    small = [(k, f"k{k}") for k in range(0, 7, 2)]
    got = run(sharded(flow, shards).join(flow.slices(small)), runner)
    assert sorted(got) == sorted(ref.join(shards, [small]))
