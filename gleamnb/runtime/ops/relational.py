"""Vectorized per-shard operators: select, key-first reorder, local sort/top/limit/distinct."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from gleamnb.fieldref import FieldRef
from gleamnb.plan.fields import key_first, renumber, resolve_fields
from gleamnb.plan.order import Order
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.grouping import first_indices, group_ids
from gleamnb.runtime.ops.base import Op, concat_batches, empty_like, rebatch, select_columns
from gleamnb.runtime.sorting import resolve_order, sort_indices, sorted_batches

__all__ = [
    "SelectOp",
    "KeyFirstOp",
    "LocalSortOp",
    "LocalTopOp",
    "LocalLimitOp",
    "LocalDistinctOp",
    "select_key_first",
    "sort_stream",
]


def select_key_first(
    data: pa.RecordBatch | pa.Table, key: tuple[FieldRef, ...], step: str
) -> tuple[object, int]:
    """``data`` with its key fields moved to the front (Gleam's ``UseKeys``), and the key width."""
    names = data.schema.names
    idx = resolve_fields(key, names, step=step)
    order = key_first(idx, len(names))
    if order == list(range(len(names))):
        return data, len(idx)
    return select_columns(data, order, renumber([names[i] for i in order])), len(idx)


def sort_stream(
    batches: Iterator[pa.RecordBatch], order: Order, step: str, memory: float
) -> Iterator[pa.RecordBatch]:
    """All of ``batches`` sorted by ``order`` (see ``sorting.sorted_batches``)."""
    table = concat_batches(batches, step=step)
    if table.num_rows == 0:
        yield from empty_like(table)
        return
    keys = resolve_order(order, table.schema.names, step)
    ordered = sorted_batches(table, keys, memory=memory)
    del table  # the generator holds the rows now, and can drop the unsorted chunks
    yield from ordered


@dataclass(frozen=True)
class SelectOp(Op):
    """``select(*fields)``: keep (and reorder) fields; unnamed fields are renumbered."""

    fields: tuple[FieldRef, ...]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            names = batch.schema.names
            idx = resolve_fields(self.fields, names, step=self.name)
            yield select_columns(batch, idx, renumber([names[i] for i in idx]))


@dataclass(frozen=True)
class KeyFirstOp(Op):
    """Move the key fields to the front (used before a keyed shuffle)."""

    key: tuple[FieldRef, ...]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield select_key_first(batch, self.key, self.name)[0]


@dataclass(frozen=True)
class LocalSortOp(Op):
    """Sort the whole shard (stable)."""

    order: Order

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        yield from sort_stream(batches, self.order, self.name, ctx.memory_budget)


@dataclass(frozen=True)
class LocalTopOp(Op):
    """The first ``n`` rows of the shard in ``order`` (ties keep input order)."""

    n: int
    order: Order

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        best: pa.Table | None = None
        for batch in batches:
            table = pa.Table.from_batches([batch])
            if best is not None:
                table = concat_batches([*best.to_batches(), batch], step=self.name)
            keys = resolve_order(self.order, table.schema.names, self.name)
            best = table.take(sort_indices(table, keys)[: self.n])
        if best is not None:
            yield from rebatch(best)


@dataclass(frozen=True)
class LocalLimitOp(Op):
    """Rows ``offset .. offset + n`` of the shard; stops reading once it has them."""

    n: int
    offset: int = 0

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        skip, left = self.offset, self.n
        if left <= 0:
            return
        for batch in batches:
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            part = batch.slice(skip, left)
            skip = 0
            left -= part.num_rows
            if part.num_rows:
                yield part
            if left <= 0:
                return


@dataclass(frozen=True)
class LocalDistinctOp(Op):
    """One row per distinct key (the first seen); all fields when ``key`` is empty.

    Rows come out key fields first; groups in order of first appearance.
    """

    key: tuple[FieldRef, ...] = ()

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        table = concat_batches(batches, step=self.name)
        if table.num_rows == 0:
            if table.num_columns and self.key:
                table = select_key_first(table, self.key, self.name)[0]
            yield from empty_like(table)
            return
        if self.key:
            table, width = select_key_first(table, self.key, self.name)
        else:
            width = table.num_columns
        ids, n = group_ids([table.column(i) for i in range(width)])
        yield from rebatch(table.take(pa.array(first_indices(ids, n))))
