"""Grouping operators: reduce by key, reduce all rows, group by key, count.

Known aggregates (``sum``, ``count``, ``min``, ``max``, ``first``, ``last``) run as Arrow hash
aggregates; ``sum``, ``min`` and ``max`` skip ``None`` values, as in SQL. Integer sums are
Python's exact sums: Arrow's 64-bit sums wrap, so when a column's values could overflow, the
sums are checked (see :func:`_exact_sums`) and those that leave 64 bits come out as Python
ints, as a Python reducer's would. A Python reducer ``fn(a, b)`` is folded over each group in
row order; it gets scalars when there is one value field and tuples otherwise, and what it
returns for one value field is that one field, a tuple included. Rows come out key fields
first; the order of the groups is not defined (it is the same for the same input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.fieldref import FieldRef
from gleamnb.plan.fields import renumber
from gleamnb.plan.reducers import Reducer, merging
from gleamnb.rows import TupleType, column_to_pylist, pyobject_array, rows_to_batch, values_to_array
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.grouping import canonical_key_column, first_indices, group_ids
from gleamnb.runtime.ops.base import (
    USER_CODE_ERRORS,
    Op,
    concat_batches,
    empty_like,
    rebatch,
    user_error,
)
from gleamnb.runtime.ops.relational import select_key_first

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


_HALF = 32  # integers are summed as two 32-bit halves to check a sum exactly


def _sum_may_overflow(col: pa.Array | pa.ChunkedArray) -> bool:
    """Whether Arrow's 64-bit sum of ``col`` could wrap: a bound from its count and extremes."""
    import pyarrow.compute as pc

    if not pa.types.is_integer(col.type):
        return False
    extremes = pc.min_max(col).as_py()
    if extremes["min"] is None:
        return False
    count = len(col) - col.null_count
    if pa.types.is_signed_integer(col.type):
        return count * max(-extremes["min"], extremes["max"]) >= 2**63
    return count * extremes["max"] >= 2**64


def _halves(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``col`` (an integer column) as high and low 32-bit halves, ``v = high * 2**32 + low``.

    Nulls count as 0, which leaves every sum unchanged. The halves of a group of fewer than
    2**31 rows sum without overflow (far more rows than one task holds).
    """
    import pyarrow.compute as pc

    dtype = np.int64 if pa.types.is_signed_integer(col.type) else np.uint64
    v = pc.fill_null(col, 0).to_numpy().astype(dtype, copy=False)
    high = v >> dtype(_HALF)  # arithmetic for signed values: the low half stays >= 0
    low = v & dtype(2**_HALF - 1)
    return high, low


def _exact_sums(sums: pa.Array | pa.ChunkedArray, high: np.ndarray, low: np.ndarray) -> pa.Array:
    """Arrow's ``sums`` of an integer column, or the exact sums where some of them wrapped.

    ``high`` and ``low`` are the sums of the values' halves (:func:`_halves`) over the same
    groups. A wrapped 64-bit sum is the true sum modulo 2**64, so it is exact whenever the
    true sum fits the sum's type; otherwise the column holds the true sums as Python ints (a
    Python-object column, as a Python reducer's result would be). All-null groups stay null.
    """
    top = high + (low >> low.dtype.type(_HALF))  # the true sum is top * 2**32 + (low % 2**32)
    if high.dtype == np.int64:
        fits = (top >= -(2 ** (63 - _HALF))) & (top < 2 ** (63 - _HALF))
    else:
        fits = top < np.uint64(2 ** (64 - _HALF))
    if fits.all():
        return sums.combine_chunks() if isinstance(sums, pa.ChunkedArray) else sums
    valid = sums.is_valid().to_numpy(zero_copy_only=False)
    exact = [
        (int(h) << _HALF) + int(lo) if ok else None
        for h, lo, ok in zip(high.tolist(), low.tolist(), valid.tolist())
    ]
    return values_to_array(exact)


def _fold_function(
    fn: Callable[[Any, Any], Any], agg: str | None, multi: bool
) -> Callable[[Any, Any], Any]:
    """The ``fn(a, b)`` the Python fold applies for a reducer ``fn`` known as ``agg``.

    A user's function (``agg`` None) is used as it is and sees every value, ``None``
    included. A known aggregate that takes the Python path (its values have no vectorized
    kernel, or a merge step gets the Python ints of sums that left 64 bits) keeps the
    vectorized semantics: it applies to each value field on its own, and ``sum``, ``min`` and
    ``max`` skip ``None``.
    """
    if agg is None:
        return fn

    def skipping_nulls(a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else fn(a, b)

    one = skipping_nulls if agg in ("sum", "min", "max") else fn
    if not multi:
        return one

    def per_field(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(map(one, a, b))

    return per_field


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
    except USER_CODE_ERRORS as exc:
        raise user_error(exc, ctx, step, (*keys_of(g), acc[g]), what="reducer") from None
    return acc


def _value_rows(table: pa.Table, start: int) -> list[Any]:
    cols = [column_to_pylist(table.column(i)) for i in range(start, table.num_columns)]
    return cols[0] if len(cols) == 1 else list(zip(*cols))


def _result_rows(keys: list[tuple[Any, ...]], acc: list[Any], multi: bool) -> list[tuple[Any, ...]]:
    """Output rows: a reducer's tuple spreads over several value fields, but with one value
    field the result is that field's value, whatever it is (a tuple stays one value)."""
    if multi:
        return [(*k, *(a if isinstance(a, tuple) else (a,))) for k, a in zip(keys, acc)]
    return [(*k, a) for k, a in zip(keys, acc)]


RUN_BYTES = 128 << 20
"""A task's rows are reduced about this many bytes at a time (see :class:`ReduceByKeyOp`)."""


def _runs(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[list[pa.RecordBatch]]:
    """``batches`` in consecutive runs of at least ``size`` bytes (the last may be smaller).

    There is always one run, even of no batch; a run ends only after a batch with rows.
    """
    run: list[pa.RecordBatch] = []
    held = 0
    ran = False
    for batch in batches:
        run.append(batch)
        held += batch.nbytes
        if held >= size and batch.num_rows:
            yield run
            run, held, ran = [], 0, True
    if run or not ran:
        yield run


@dataclass(frozen=True)
class ReduceByKeyOp(Op):
    """Reduce the values of each key with ``reducer``; rows out are ``(key..., value...)``.

    The task's rows are reduced a run of ``run_bytes`` at a time, and the partial results
    merged (:func:`~gleamnb.plan.reducers.merging`) whenever they have doubled since the last
    merge; so a task holds one run and its groups, not all its rows at once (a huge line's
    tokens stream through). A task smaller than one run is reduced in one go.
    """

    reducer: Reducer
    key: tuple[FieldRef, ...] = (1,)
    run_bytes: int = RUN_BYTES

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        runs = _runs(batches, self.run_bytes)
        table = concat_batches(next(runs), step=self.name)
        if table.num_rows == 0:
            yield from self._empty(table)
            return
        done = [self._reduce(*self._keyed(table, ctx), ctx, self.reducer)]
        del table  # the next run is read without this one held
        width = len(self.key)
        merge = merging(self.reducer)
        merged = 0  # bytes of the partial result at the last merge
        for run in runs:
            table = concat_batches(run, step=self.name)
            if table.num_rows:
                done.append(self._reduce(*self._keyed(table, ctx), ctx, self.reducer))
            del run, table
            if sum(t.nbytes for t in done) >= max(self.run_bytes, 2 * merged):
                done = [self._merge(done, width, ctx, merge)]
                merged = done[0].nbytes
        if len(done) > 1:
            done = [self._merge(done, width, ctx, merge)]
        yield from rebatch(done[0])

    def _keyed(self, table: pa.Table, ctx: TaskContext) -> tuple[pa.Table, int]:
        """``table`` with its key fields first, and the key's width (a SchemaError when the
        rows have nothing but the key)."""
        table, width = select_key_first(table, self.key, self.name)
        if table.num_columns == width:
            raise SchemaError(
                f"step {self.name!r} has no value fields to reduce: rows have only the key",
                hint="add a value first, e.g. .map(gl.mappers.append_one) before reduce_by_key",
                **ctx.where(self.name),
            )
        return table, width

    def _merge(
        self, parts: list[pa.Table], width: int, ctx: TaskContext, merge: Reducer
    ) -> pa.Table:
        """The partial results ``parts`` (keys first) merged into one."""
        table = concat_batches((b for t in parts for b in t.to_batches()), step=self.name)
        return self._reduce(table, width, ctx, merge)

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

    def _reduce(self, table: pa.Table, width: int, ctx: TaskContext, reducer: Reducer) -> pa.Table:
        names = table.schema.names
        value_idx = range(width, table.num_columns)
        agg = reducer.agg_for(table.num_columns - width)
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
        if reducer.fn is None:
            raise SchemaError(
                f"aggregate {agg!r} of step {self.name!r} cannot handle fields of type "
                + ", ".join(map(str, types)),
                hint="use a Python reducer function instead",
                **ctx.where(self.name),
            )
        values = _value_rows(table, width)
        multi = table.num_columns - width > 1
        key_rows = list(zip(*[column_to_pylist(c) for c in keys.columns]))
        fn = _fold_function(reducer.fn, agg, multi)
        acc = _fold(fn, ids, n, values, ctx, self.name, lambda g: key_rows[g])
        out = rows_to_batch(_result_rows(key_rows, acc, multi), step=self.name)
        out_names = names if out.num_columns == len(names) else names[:width]
        out_names = [*out_names, *(f"_{i + 1}" for i in range(len(out_names), out.num_columns))]
        return pa.Table.from_batches([out]).rename_columns(renumber(out_names))

    def _arrow_reduce(self, table: pa.Table, width: int, agg: str) -> pa.Table:
        """Arrow's hash aggregate (one thread, so the groups' order is the same every time)."""
        import pyarrow.compute as pc

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
        aggregations = [(f"c{i}", agg, options) for i in range(width, table.num_columns)]
        checked = [
            i
            for i in range(width, table.num_columns)
            if agg == "sum" and _sum_may_overflow(table.column(i))
        ]
        for i in checked:
            high, low = _halves(table.column(i))
            keyed = keyed.append_column(f"h{i}", pa.array(high)).append_column(
                f"l{i}", pa.array(low)
            )
            aggregations += [(f"h{i}", "sum"), (f"l{i}", "sum")]
        res = _group_aggregate(keyed, width, aggregations)
        cols = [res.column(f"c{i}") for i in range(width)]
        for i in range(width, table.num_columns):
            col = res.column(f"c{i}_{agg}")
            if i in checked:
                high, low = (res.column(f"{h}{i}_sum").to_numpy() for h in "hl")
                col = _exact_sums(col, high, low)
            cols.append(col)
        return pa.Table.from_arrays(cols, names=list(names))


def _group_aggregate(keyed: pa.Table, width: int, aggregations: list[Any]) -> pa.Table:
    """``keyed.group_by(c0..c{width-1}).aggregate(aggregations)`` in one thread.

    One thread keeps ``first``/``last`` in row order and the groups' order the same on every
    run; that order is Arrow's, not the order in which the keys first appear.
    """
    return keyed.group_by([f"c{i}" for i in range(width)], use_threads=False).aggregate(
        aggregations
    )


@dataclass(frozen=True)
class ReduceAllOp(Op):
    """Fold every row of the shard into one row with ``reducer``."""

    reducer: Reducer

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow.compute as pc

        table = concat_batches(batches, step=self.name)
        if table.num_rows == 0:
            return
        agg = self.reducer.agg_for(table.num_columns)
        types = table.schema.types
        if agg is not None and agg != "count" and all(vector_agg_applies(agg, t) for t in types):
            fn = {"sum": pc.sum, "min": pc.min, "max": pc.max}.get(agg)
            cols = []
            for col in table.columns:
                if fn is None:
                    cols.append(col.slice(0 if agg == "first" else table.num_rows - 1, 1))
                    continue
                result = fn(col)  # a sum has its own type: int64 for int8 values
                one = pa.array([result.as_py()], type=result.type)
                if agg == "sum" and _sum_may_overflow(col):
                    high, low = _halves(col)
                    one = _exact_sums(one, high.sum(keepdims=True), low.sum(keepdims=True))
                cols.append(one)
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
        multi = table.num_columns > 1
        fn = _fold_function(self.reducer.fn, agg, multi)  # type: ignore[arg-type]
        acc = _fold(fn, ids, 1, values, ctx, self.name, lambda g: ())
        result = acc[0]
        out = rows_to_batch(_result_rows([()], [result], multi), step=self.name)
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
        ctx.extras["count"] = total
        return
        yield  # an operator is a generator, even one that yields nothing
