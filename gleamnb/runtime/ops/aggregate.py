"""Grouping operators: reduce by key, reduce all rows, group by key, count.

Known aggregates (``sum``, ``count``, ``min``, ``max``, ``first``, ``last``) run as Arrow hash
aggregates. A Python reducer ``fn(a, b)`` is folded over each group in row order; it gets
scalars when there is one value field and tuples otherwise. Groups come out in order of first
appearance, key fields first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gleamnb.errors import SchemaError
from gleamnb.plan.order import FieldRef
from gleamnb.plan.steps import Reducer
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.grouping import canonical_key_column, first_indices, group_ids
from gleamnb.runtime.ops.base import Op, concat_batches, empty_like, rebatch, user_error
from gleamnb.runtime.ops.relational import select_key_first
from gleamnb.runtime.rows import (
    TupleType,
    column_to_pylist,
    pyobject_array,
    renumber,
    rows_to_batch,
)

__all__ = [
    "ReduceByKeyOp",
    "ReduceAllOp",
    "GroupByKeyOp",
    "CountOp",
    "group_lists",
    "vector_agg_applies",
]


def vector_agg_applies(agg: str | None, t: pa.DataType) -> bool:
    """Whether Arrow's hash aggregate ``agg`` handles values of type ``t`` like Python does."""
    if agg is None or isinstance(t, pa.ExtensionType) or pa.types.is_nested(t):
        return agg == "count"
    if agg == "sum":
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    if agg in ("min", "max"):
        return not pa.types.is_dictionary(t)
    return agg in ("count", "first", "last")


def _plain_keys_ok(table: pa.Table, width: int) -> bool:
    return all(
        not (
            isinstance(table.schema.field(i).type, pa.ExtensionType)
            or pa.types.is_nested(table.schema.field(i).type)
        )
        for i in range(width)
    )


def _fold(
    fn: Callable[[Any, Any], Any],
    ids: np.ndarray,
    n: int,
    values: list[Any],
    ctx: TaskContext,
    step: str,
    keys_of: Callable[[int], tuple[Any, ...]],
) -> list[Any]:
    acc: list[Any] = [None] * n
    seen = [False] * n
    g = 0
    try:
        for g, v in zip(ids.tolist(), values):
            if seen[g]:
                acc[g] = fn(acc[g], v)
            else:
                acc[g] = v
                seen[g] = True
    except Exception as exc:
        raise user_error(exc, ctx, step, (*keys_of(g), acc[g]), what="reducer") from None
    return acc


def _value_rows(table: pa.Table, start: int) -> list[Any]:
    cols = [column_to_pylist(table.column(i)) for i in range(start, table.num_columns)]
    return cols[0] if len(cols) == 1 else list(zip(*cols))


def _result_rows(keys: list[tuple[Any, ...]], acc: list[Any], multi: bool) -> list[tuple[Any, ...]]:
    if multi:
        return [(*k, *(a if isinstance(a, tuple) else (a,))) for k, a in zip(keys, acc)]
    return [(*k, *a) if isinstance(a, tuple) else (*k, a) for k, a in zip(keys, acc)]


@dataclass(frozen=True)
class ReduceByKeyOp(Op):
    """Reduce the values of each key with ``reducer``; rows out are ``(key..., value...)``."""

    reducer: Reducer
    key: tuple[FieldRef, ...] = (1,)

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        table = concat_batches(batches, step=self.name)
        if table.num_rows == 0:
            yield from self._empty(table)
            return
        table, width = select_key_first(table, self.key, self.name)
        if table.num_columns == width:
            raise SchemaError(
                f"step {self.name!r} has no value fields to reduce: rows have only the key",
                hint="add a value first, e.g. .map(gl.mappers.append_one) before reduce_by_key",
                **ctx.where(self.name),
            )
        yield from rebatch(self._reduce(table, width, ctx))

    def _empty(self, table: pa.Table) -> Iterator[pa.RecordBatch]:
        """The output's schema when the shard is empty, where an aggregate fixes it."""
        if not table.num_columns:
            return
        table, width = select_key_first(table, self.key, self.name)
        agg = self.reducer.agg_for(table.num_columns - width)
        if agg == "count":
            table = pa.table(
                [*table.columns[:width], pa.array([], pa.int64())],
                names=renumber([*table.schema.names[:width], f"_{width + 1}"]),
            )
        elif agg is None:
            return  # a Python reducer decides the output's types
        yield from empty_like(table)

    def _reduce(self, table: pa.Table, width: int, ctx: TaskContext) -> pa.Table:
        names = table.schema.names
        value_idx = range(width, table.num_columns)
        agg = self.reducer.agg_for(table.num_columns - width)
        types = [table.schema.field(i).type for i in value_idx]
        plain = _plain_keys_ok(table, width)
        if agg is not None and plain and all(vector_agg_applies(agg, t) for t in types):
            return self._arrow_reduce(table, width, agg)
        ids, n = group_ids([table.column(i) for i in range(width)])
        firsts = pa.array(first_indices(ids, n))
        keys = table.select(list(range(width))).take(firsts)
        if agg == "count":
            counts = pa.array(np.bincount(ids, minlength=n).astype(np.int64))
            return pa.Table.from_arrays(
                [*keys.columns, counts], names=renumber([*names[:width], f"_{width + 1}"])
            )
        if self.reducer.fn is None:
            raise SchemaError(
                f"aggregate {agg!r} of step {self.name!r} cannot handle fields of type "
                + ", ".join(map(str, types)),
                hint="use a Python reducer function instead",
                **ctx.where(self.name),
            )
        values = _value_rows(table, width)
        multi = table.num_columns - width > 1
        key_rows = list(zip(*[column_to_pylist(c) for c in keys.columns]))
        acc = _fold(self.reducer.fn, ids, n, values, ctx, self.name, lambda g: key_rows[g])
        out = rows_to_batch(_result_rows(key_rows, acc, multi), step=self.name)
        out_names = names if out.num_columns == len(names) else names[:width]
        out_names = [*out_names, *(f"_{i + 1}" for i in range(len(out_names), out.num_columns))]
        return pa.Table.from_batches([out]).rename_columns(renumber(out_names))

    def _arrow_reduce(self, table: pa.Table, width: int, agg: str) -> pa.Table:
        """Arrow's hash aggregate; groups in order of first appearance (one thread)."""
        names = table.schema.names
        if agg == "count":
            keyed = pa.Table.from_arrays(
                [canonical_key_column(table.column(i)) for i in range(width)],
                names=[f"c{i}" for i in range(width)],
            )
            res = _group_aggregate(keyed, width, [([], "count_all")])
            cols = [res.column(f"c{i}") for i in range(width)] + [res.column("count_all")]
            return pa.Table.from_arrays(cols, names=renumber([*names[:width], f"_{width + 1}"]))
        keyed = pa.Table.from_arrays(
            [
                canonical_key_column(table.column(i)) if i < width else table.column(i)
                for i in range(table.num_columns)
            ],
            names=[f"c{i}" for i in range(table.num_columns)],
        )
        # first/last keep None values, as the Python reducer does
        options = pc.ScalarAggregateOptions(skip_nulls=False) if agg in ("first", "last") else None
        res = _group_aggregate(
            keyed, width, [(f"c{i}", agg, options) for i in range(width, table.num_columns)]
        )
        cols = [res.column(f"c{i}") for i in range(width)] + [
            res.column(f"c{i}_{agg}") for i in range(width, table.num_columns)
        ]
        return pa.Table.from_arrays(cols, names=list(names))


def _group_aggregate(keyed: pa.Table, width: int, aggregations: list[Any]) -> pa.Table:
    """``keyed.group_by(c0..c{width-1}).aggregate(aggregations)``, groups in order of first
    appearance.

    One-threaded Arrow keeps that order, except that a null key can displace the group of
    the zero value (pyarrow 26: keys ``[None, 0, 1]`` come out ``[None, 1, 0]``); when a key
    column holds nulls the groups are put back in order by their first row.
    """
    keys = [f"c{i}" for i in range(width)]
    if not any(keyed.column(k).null_count for k in keys):
        return keyed.group_by(keys, use_threads=False).aggregate(aggregations)
    keyed = keyed.append_column("_row", pa.array(np.arange(keyed.num_rows, dtype=np.int64)))
    res = keyed.group_by(keys, use_threads=False).aggregate([*aggregations, ("_row", "min")])
    return res.take(pc.sort_indices(res.column("_row_min"))).drop_columns(["_row_min"])


@dataclass(frozen=True)
class ReduceAllOp(Op):
    """Fold every row of the shard into one row with ``reducer``."""

    reducer: Reducer

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        table = concat_batches(batches, step=self.name)
        if table.num_rows == 0:
            return
        agg = self.reducer.agg_for(table.num_columns)
        types = table.schema.types
        if agg is not None and agg != "count" and all(vector_agg_applies(agg, t) for t in types):
            fn = {"sum": pc.sum, "min": pc.min, "max": pc.max}.get(agg)
            cols = []
            for col in table.columns:
                if fn is not None:
                    cols.append(pa.array([fn(col).as_py()], type=col.type))
                else:
                    cols.append(col.slice(0 if agg == "first" else table.num_rows - 1, 1))
            yield pa.RecordBatch.from_arrays(
                [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cols],
                names=table.schema.names,
            )
            return
        if agg == "count":
            yield pa.RecordBatch.from_arrays([pa.array([table.num_rows])], names=["_1"])
            return
        values = _value_rows(table, 0)
        ids = np.zeros(table.num_rows, dtype=np.int64)
        acc = _fold(self.reducer.fn, ids, 1, values, ctx, self.name, lambda g: ())  # type: ignore[arg-type]
        result = acc[0]
        out = rows_to_batch([result if isinstance(result, tuple) else (result,)], step=self.name)
        if out.num_columns == table.num_columns:
            out = out.rename_columns(table.schema.names)
        yield out


def group_lists(table: pa.Table, width: int) -> pa.Table:
    """Group a key-first ``table`` into ``(key..., [values])`` rows (see :class:`GroupByKeyOp`)."""
    names = table.schema.names
    ids, n = group_ids([table.column(i) for i in range(width)])
    keys = table.select(list(range(width))).take(pa.array(first_indices(ids, n)))
    order = pa.array(np.argsort(ids, kind="stable"))
    counts = np.bincount(ids, minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    values = table.select(list(range(width, table.num_columns))).take(order)
    if values.num_columns == 1:
        inner = values.column(0).combine_chunks()
        value_name = names[width]
    elif values.num_columns == 0:
        inner = pyobject_array([()] * values.num_rows)
        value_name = f"_{width + 1}"
    else:
        struct = pa.StructArray.from_arrays(
            [c.combine_chunks() for c in values.columns],
            names=[str(i) for i in range(values.num_columns)],
        )
        inner = pa.ExtensionArray.from_storage(TupleType(struct.type), struct)
        value_name = f"_{width + 1}"
    lists = pa.ListArray.from_arrays(offsets, inner)
    return pa.Table.from_arrays(
        [*keys.columns, lists], names=renumber([*names[:width], value_name])
    )


@dataclass(frozen=True)
class GroupByKeyOp(Op):
    """``(key..., [values])``: each value a scalar with one value field, a tuple otherwise."""

    key: tuple[FieldRef, ...] = (1,)

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        table = concat_batches(batches, step=self.name)
        if table.num_columns == 0:
            return
        table, width = select_key_first(table, self.key, self.name)
        yield from rebatch(group_lists(table, width))


@dataclass(frozen=True)
class CountOp(Op):
    """The ``count()`` action: count the shard's rows; the driver adds the counts."""

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        total = 0
        for batch in batches:
            total += batch.num_rows
            ctx.report(total)
        ctx.extras["count"] = total
        return
        yield  # an operator is a generator, even one that yields nothing
