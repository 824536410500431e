"""One type rule for a field seen with two types: a ``union``'s inputs and a join's keys.

The expected common types below are written out by hand (what a SQL engine such as Spark or
DuckDB gives: integers widen, an integer with a float compares as a double, strings of both
offset widths are one kind; a string or bool with a number has none), and both uses are
checked against them and against the naive evaluator's rows.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import reference as ref

import gleamnb as gl
from gleamnb.rows import unify_type

TS = pa.timestamp("s")
TMS = pa.timestamp("ms")

# (left type, right type, left keys, right keys, the common type or None)
CASES: list[tuple[pa.DataType, pa.DataType, list[Any], list[Any], pa.DataType | None]] = [
    (pa.int32(), pa.int64(), [1, 2, None], [2, 3], pa.int64()),
    (pa.int64(), pa.float64(), [1, 2, None], [1.0, 2.5], pa.float64()),
    (pa.int8(), pa.float32(), [1, 2], [2.0, 0.5], pa.float64()),
    (pa.float32(), pa.float64(), [0.5, 1.0], [1.0, 0.25], pa.float64()),
    (pa.string(), pa.large_string(), ["a", "b"], ["b", "c"], pa.large_string()),
    (pa.null(), pa.string(), [None, None], ["a"], pa.string()),
    (TS, TMS, [0, 1], [1000, 5], TMS),
    (pa.int64(), pa.string(), [1, 2], ["1", "2"], None),
    (pa.float64(), pa.string(), [1.0], ["1.0"], None),
    (pa.bool_(), pa.int64(), [True, False], [1, 0], None),
]
IDS = [f"{a}-{b}" for a, b, *_ in CASES]


def _side(t: pa.DataType, keys: list[Any], tag: str) -> pa.Table:
    return pa.table({"k": pa.array(keys, type=t), "v": [f"{tag}{i}" for i in range(len(keys))]})


@pytest.mark.parametrize(("a", "b", "lkeys", "rkeys", "common"), CASES, ids=IDS)
def test_unify_type_is_the_rule(
    a: pa.DataType, b: pa.DataType, lkeys: list[Any], rkeys: list[Any], common: Any
) -> None:
    assert unify_type(a, b) == common
    assert unify_type(b, a) == common


@pytest.mark.parametrize(("a", "b", "lkeys", "rkeys", "common"), CASES, ids=IDS)
def test_union_widens_by_the_rule(
    inline: gl.LocalRunner,
    a: pa.DataType,
    b: pa.DataType,
    lkeys: list[Any],
    rkeys: list[Any],
    common: Any,
) -> None:
    f = gl.Flow("union types")
    left, right = _side(a, lkeys, "l"), _side(b, rkeys, "r")
    both = f.from_arrow(left).union(f.from_arrow(right))
    if common is None:
        with pytest.raises(gl.SchemaError, match="changes type"):
            both.collect(inline, progress=False)
        return
    table = both.to_arrow(inline, progress=False)
    assert table.schema.field(0).type == common
    expected = ref.union(
        [[tuple(r.values()) for r in left.to_pylist()]],
        [[tuple(r.values()) for r in right.to_pylist()]],
    )
    assert table.to_pylist() == [dict(zip(["k", "v"], row)) for row in ref.rows_of(expected)]


@pytest.mark.parametrize("how", ["inner", "full_outer"])
@pytest.mark.parametrize(("a", "b", "lkeys", "rkeys", "common"), CASES, ids=IDS)
def test_join_keys_widen_by_the_rule(
    inline: gl.LocalRunner,
    how: str,
    a: pa.DataType,
    b: pa.DataType,
    lkeys: list[Any],
    rkeys: list[Any],
    common: Any,
) -> None:
    f = gl.Flow("join types")
    left, right = _side(a, lkeys, "l"), _side(b, rkeys, "r")
    ldata, rdata = f.from_arrow(left), f.from_arrow(right)
    joined = ldata.join(rdata) if how == "inner" else ldata.full_outer_join(rdata)
    if common is None:
        with pytest.raises(gl.JoinKeyError, match="incompatible types"):
            joined.collect(inline, progress=False)
        return
    table = joined.to_arrow(inline, progress=False)
    assert table.schema.field(0).type == common
    lrows = [tuple(r.values()) for r in left.to_pylist()]
    rrows = [tuple(r.values()) for r in right.to_pylist()]
    expected = ref.join([lrows], [rrows], how=how)
    # The key comes out in the common type: compare through it (1 == 1.0, as in Python).
    common_keys = pa.array([row[0] for row in expected], type=common).to_pylist()
    expected = [(k, *row[1:]) for k, row in zip(common_keys, expected)]
    ref.assert_rows(joined.collect(inline, progress=False), expected, ordered=True)


def test_join_key_past_float_precision_is_a_join_key_error(inline: gl.LocalRunner) -> None:
    f = gl.Flow("join precision")
    big = f.slices([(2**53 + 1, "a")])
    with pytest.raises(gl.JoinKeyError, match="cannot be compared as double") as info:
        big.join(f.slices([(1.5, "x")]), name="by_id").collect(inline, progress=False)
    assert info.value.hint
