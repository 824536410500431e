"""Tests of the grouping operators: exact integer sums, one value field stays one field.

Expected results come from plain Python written here (``sum`` over Python ints, which never
overflow), not from the operators under test.
"""

from __future__ import annotations

import operator
import random
import sys
from collections.abc import Sequence
from typing import Any

import cloudpickle
import pyarrow as pa
import pytest

import gleamnb as gl
from gleamnb.plan.reducers import as_reducer
from gleamnb.rows import PyObjectType, pyobject_array
from gleamnb.runners.local import LocalRunner
from gleamnb.runtime.context import TableInputs, TaskContext
from gleamnb.runtime.ops.aggregate import ReduceAllOp, ReduceByKeyOp

# Executor processes cannot import this module: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

Rows = list[tuple[Any, ...]]
BIG = 2**62


def _sql_sum(values: Sequence[int | None]) -> int | None:
    """Python's exact sum of the non-null values; None when there are none (SQL's SUM)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _sums_by_key(rows: Rows) -> Rows:
    groups: dict[Any, list[Any]] = {}
    for k, v in rows:
        groups.setdefault(k, []).append(v)
    return sorted((k, _sql_sum(vs)) for k, vs in groups.items())


def _shards(flow: gl.Flow, shards: Sequence[pa.Table]) -> gl.Dataset:
    """A dataset whose shards are exactly ``shards``, in that order."""
    first, *rest = (flow.from_arrow(t) for t in shards)
    return first.union(*rest) if rest else first


def _ctx() -> TaskContext:
    return TaskContext("flow", "stage", 0, 1, TableInputs([]))


# ---------------------------------------------------------------------------------------------
# Integer sums are Python's exact sums


@pytest.mark.parametrize("reducer", ["sum", operator.add])
def test_reduce_sum_past_int64(flow: gl.Flow, any_runner: LocalRunner, reducer: Any) -> None:
    got = flow.ints([BIG, BIG]).reduce(reducer).collect(any_runner, progress=False)
    assert got == [(sum([BIG, BIG]),)]
    low = flow.ints([-(2**63), -1]).reduce(reducer).collect(any_runner, progress=False)
    assert low == [(-(2**63) - 1,)]


@pytest.mark.parametrize("reducer", ["sum", operator.add])
@pytest.mark.parametrize("shards", [1, 2, 3])
def test_reduce_by_key_sum_past_int64(
    flow: gl.Flow, any_runner: LocalRunner, reducer: Any, shards: int
) -> None:
    rows = [("a", BIG), ("a", BIG), ("b", 1), ("a", BIG), ("b", 2), ("a", BIG)]
    ds = flow.slices(rows, shards=shards).reduce_by_key(reducer)
    assert sorted(ds.collect(any_runner, progress=False)) == _sums_by_key(rows)


def test_sums_match_python_on_random_large_values(flow: gl.Flow, any_runner: LocalRunner) -> None:
    """Big values of both signs and None, over many keys and three shards: each shard's
    partial sums overflow in some groups, stay null in others, and are merged after the
    shuffle; every sum is the exact one."""
    rnd = random.Random(7)
    choices = [None, 1, -3, BIG, -BIG, 2**63 - 1, -(2**63)]
    rows = [(f"k{rnd.randrange(30)}", rnd.choice(choices)) for _ in range(600)]
    parts = [
        pa.table({"k": [r[0] for r in part], "v": pa.array([r[1] for r in part], pa.int64())})
        for part in (rows[:200], rows[200:400], rows[400:])
    ]
    ds = _shards(flow, parts)
    assert sorted(ds.reduce_by_key("sum").collect(any_runner, progress=False)) == _sums_by_key(rows)
    total = ds.select(2).reduce("sum").collect(any_runner, progress=False)
    assert total == [(_sql_sum([v for _, v in rows]),)]


def test_sums_that_fit_stay_int64(flow: gl.Flow, inline: LocalRunner) -> None:
    """Partial sums past int64 that come back in range are exact in int64 (it wraps
    modulo 2**64), so the column stays int64; so do ordinary sums."""
    rows = [("a", BIG), ("a", BIG), ("a", -BIG), ("a", -BIG), ("a", 5), ("b", 7), ("b", None)]
    by_key = flow.slices(rows).reduce_by_key("sum").to_arrow(inline, progress=False)
    assert by_key.schema.field(1).type == pa.int64()
    assert sorted(by_key.to_pylist(), key=repr) == [{"_1": "a", "_2": 5}, {"_1": "b", "_2": 7}]
    total = flow.ints([BIG, BIG, -BIG, -BIG, 3]).reduce("sum").to_arrow(inline, progress=False)
    assert total.schema.field(0).type == pa.int64()
    assert total.column(0).to_pylist() == [3]


def test_sum_past_int64_comes_back_as_python_ints(flow: gl.Flow, inline: LocalRunner) -> None:
    """As a Python reducer's result would: a Python-object column of exact ints."""
    rows = [("a", BIG), ("a", BIG), ("b", 1), ("c", None)]
    got = flow.slices(rows).reduce_by_key("sum").to_arrow(inline, progress=False)
    assert isinstance(got.schema.field(1).type, PyObjectType)
    assert sorted(got.to_pylist(), key=repr) == [
        {"_1": k, "_2": v} for k, v in sorted(_sums_by_key(rows), key=repr)
    ]


def test_unsigned_sums(flow: gl.Flow, inline: LocalRunner) -> None:
    values = [2**63, 2**62, 2**63]
    table = pa.table({"k": ["a", "a", "b"], "v": pa.array(values, pa.uint64())})
    got = flow.from_arrow(table).reduce_by_key("sum").to_arrow(inline, progress=False)
    # 'b' alone fits uint64; 'a' is 2**63 + 2**62, which fits too: the column stays uint64.
    assert got.schema.field(1).type == pa.uint64()
    assert sorted(got.to_pylist(), key=repr) == [
        {"k": "a", "v": 2**63 + 2**62},
        {"k": "b", "v": 2**63},
    ]
    total = flow.from_arrow(table.select(["v"])).reduce("sum").collect(inline, progress=False)
    assert total == [(sum(values),)]


def test_reduce_sum_of_small_ints_widens(flow: gl.Flow, any_runner: LocalRunner) -> None:
    """An int8 column sums to int64, as Arrow's grouped sum does (it was cast back to int8)."""
    table = pa.table({"v": pa.array([100, 100, 27], pa.int8())})
    got = flow.from_arrow(table).reduce("sum").collect(any_runner, progress=False)
    assert got == [(sum([100, 100, 27]),)]


def test_merge_of_big_partial_sums_skips_nulls() -> None:
    """A merge step gets partial sums as Python ints (one group left int64) and None (a group
    with only None in its shard): the sum still skips None, as Arrow's does."""
    table = pa.table({"k": ["a", "b", "b"], "v": pyobject_array([2**63, None, 5])})
    op = ReduceByKeyOp(name="merge", reducer=as_reducer("sum"))
    got = pa.Table.from_batches(list(op(iter(table.to_batches()), _ctx()))).to_pylist()
    assert got == [{"k": "a", "v": 2**63}, {"k": "b", "v": 5}]
    only = pa.table({"v": pyobject_array([None, 2**63, 1])})
    op_all = ReduceAllOp(name="merge", reducer=as_reducer("sum"))
    assert [b.to_pylist() for b in op_all(iter(only.to_batches()), _ctx())] == [[{"v": 2**63 + 1}]]


def test_named_aggregate_on_several_fields_in_python_goes_field_by_field(
    flow: gl.Flow, any_runner: LocalRunner
) -> None:
    """ "sum" applies to each value field, also when one field takes the Python path (big
    partial sums, or values with no vectorized kernel): it must not concatenate rows."""
    rows = [("a", BIG, 1), ("a", BIG, 2), ("a", 1, None), ("a", 1, 4)]
    got = flow.slices(rows, shards=2).reduce_by_key("sum").collect(any_runner, progress=False)
    assert got == [("a", BIG + BIG + 1 + 1, 1 + 2 + 4)]
    tuples = [("a", (1,), 5), ("a", (0,), 3)]
    got = flow.slices(tuples, shards=2).reduce_by_key("sum").collect(any_runner, progress=False)
    assert got == [("a", operator.add((1,), (0,)), 5 + 3)]


def test_known_aggregates_skip_none_but_python_reducers_see_it(
    flow: gl.Flow, inline: LocalRunner
) -> None:
    # A tuple key has no vectorized grouping, so these run in Python.
    rows = [((1, 2), 3), ((1, 2), None), ((1, 2), 4), ((5,), None)]
    for agg, expected in [("sum", 7), ("min", 3), ("max", 4)]:
        got = sorted(flow.slices(rows).reduce_by_key(agg).collect(inline, progress=False))
        assert got == [((1, 2), expected), ((5,), None)], agg
    seen = flow.slices(rows).reduce_by_key(lambda a, b: f"{a}+{b}").collect(inline, progress=False)
    assert sorted(seen) == [((1, 2), "3+None+4"), ((5,), None)]


# ---------------------------------------------------------------------------------------------
# With one value field, a reducer's result is that field, tuples included


@pytest.mark.parametrize("shards", [1, 2])
def test_reduce_by_key_tuple_result_is_one_field(
    flow: gl.Flow, any_runner: LocalRunner, shards: int
) -> None:
    rows = [("k", (1, 2)), ("k", (3,)), ("j", (4,))]
    ds = flow.slices(rows, shards=shards).reduce_by_key(lambda a, b: a + b)
    assert sorted(ds.collect(any_runner, progress=False)) == [("j", (4,)), ("k", (1, 2, 3))]


def test_reduce_by_key_scalar_values_can_become_tuples(flow: gl.Flow, inline: LocalRunner) -> None:
    ds = flow.slices([("k", 1), ("k", 2), ("k", 3)]).reduce_by_key(
        lambda a, b: (a if isinstance(a, tuple) else (a,)) + (b,)
    )
    assert ds.collect(inline, progress=False) == [("k", (1, 2, 3))]


@pytest.mark.parametrize("shards", [1, 2])
def test_reduce_tuple_result_is_one_field(
    flow: gl.Flow, any_runner: LocalRunner, shards: int
) -> None:
    ds = flow.slices([((1, 2),), ((3,),)], shards=shards).reduce(lambda a, b: a + b)
    assert ds.collect(any_runner, progress=False) == [((1, 2, 3),)]


def test_several_value_fields_still_spread_a_tuple(flow: gl.Flow, any_runner: LocalRunner) -> None:
    rows = [("k", 1, 10), ("k", 2, 20)]
    ds = flow.slices(rows, shards=2).reduce_by_key(lambda a, b: (a[0] + b[0], a[1] * b[1]))
    assert ds.collect(any_runner, progress=False) == [("k", 3, 200)]
    whole = flow.slices([(1, 10), (2, 20)]).reduce(lambda a, b: (a[0] + b[0], a[1] * b[1]))
    assert whole.collect(any_runner, progress=False) == [(3, 200)]


# ---------------------------------------------------------------------------------------------
# A task's rows are reduced run by run, and the partial results merged


def _reference(rows: Rows, how: str) -> dict[Any, Any]:
    """Per key: the reducer ``how`` over the values in row order, by plain Python."""
    groups: dict[Any, list[Any]] = {}
    for k, v in rows:
        groups.setdefault(k, []).append(v)
    present = {k: [v for v in vs if v is not None] for k, vs in groups.items()}
    if how == "sum":
        return {k: _sql_sum(vs) for k, vs in groups.items()}
    if how == "count":
        return {k: len(vs) for k, vs in groups.items()}
    if how in ("min", "max"):
        pick = min if how == "min" else max
        return {k: pick(vs) if vs else None for k, vs in present.items()}
    if how == "first":
        return {k: vs[0] for k, vs in groups.items()}
    if how == "last":
        return {k: vs[-1] for k, vs in groups.items()}
    return {k: "".join(vs) for k, vs in groups.items()}  # "concat": order matters


@pytest.mark.parametrize("how", ["sum", "count", "min", "max", "first", "last", "concat"])
@pytest.mark.parametrize("run_bytes", [1, 300, 10**9])
def test_reduce_by_key_run_by_run(how: str, run_bytes: int) -> None:
    """Runs of a few rows give what one run gives: partial results merged in row order (a
    string concatenation shows the order), big sums exact, None skipped where it should be."""
    rng = random.Random(f"{how}-{run_bytes}")
    keys = ["a", "b", "c", None, "dd"]
    rows: Rows = []
    for _ in range(400):
        if how == "concat":
            value: Any = rng.choice("xyz") * rng.randint(1, 3)
        else:
            value = rng.choice([None, 1, -7, 3, BIG, -BIG, 12])
        rows.append((rng.choice(keys), value))
    reducer = as_reducer(operator.add if how == "concat" else how)
    batches, i = [], 0
    while i < len(rows):  # batches of 0 to 30 rows, some empty
        n = rng.randint(0, 30)
        part = rows[i : i + n]
        batches.append(
            pa.RecordBatch.from_pylist(
                [{"k": k, "v": v} for k, v in part],
                schema=pa.schema(
                    [("k", pa.string()), ("v", pa.string() if how == "concat" else pa.int64())]
                ),
            )
        )
        i += n
    op = ReduceByKeyOp(name="reduce", reducer=reducer, run_bytes=run_bytes)
    out = pa.Table.from_batches(list(op(iter(batches), _ctx())))
    got = {r[0]: r[1] for r in zip(*[out.column(i).to_pylist() for i in range(2)])}
    assert got == _reference(rows, how)
