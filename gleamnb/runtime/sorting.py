"""Sorting by an :class:`~gleamnb.plan.order.Order`: Arrow kernels, with one Python twin.

Arrow's stable ``sort_indices`` does the work; when the first field is an integer, string or
binary one, numpy first sorts it as 64-bit integers (:mod:`gleamnb.runtime.normalized`) and
Arrow only puts the ties in order. Python's ``sorted`` with :func:`row_sort_key` is used for
columns Arrow cannot sort (Python objects, nested types) and to compare single rows (binary
search in range partitioning, sample boundaries). All order the same way: ascending or
descending per field, NaN after every number, nulls last.

Examples
--------
>>> import pyarrow as pa
>>> from gleamnb.plan.order import order_by
>>> t = pa.table({"_1": ["b", "a", None, "c"]})
>>> sort_table(t, order_by(1)).column(0).to_pylist()
['a', 'b', 'c', None]
>>> sort_table(t, order_by(1, descending=True)).column(0).to_pylist()
['c', 'b', 'a', None]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from functools import total_ordering
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.plan.fields import resolve_field
from gleamnb.plan.order import Order
from gleamnb.rows import column_to_pylist
from gleamnb.runtime.gather import ChunkedGather
from gleamnb.runtime.normalized import arrow_sort_indices, normalized_sort_indices

__all__ = [
    "resolve_order",
    "sort_indices",
    "sort_table",
    "sorted_batches",
    "row_sort_key",
    "sample_keys",
    "boundaries",
    "range_slice",
]


def resolve_order(
    order: Order, names: Sequence[str], step: str | None = None
) -> list[tuple[int, bool]]:
    """``[(column index, descending), ...]`` for ``order`` against ``names``."""
    return [(resolve_field(k.field, names, step=step), k.descending) for k in order.keys]


def _arrow_sortable(t: pa.DataType) -> bool:
    return not (isinstance(t, pa.ExtensionType) or pa.types.is_nested(t))


@total_ordering
class _Desc:
    """Reverses the order of a value inside a Python sort key."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __hash__(self) -> int:
        return hash(self.v)


def _field_key(v: Any, descending: bool) -> tuple[Any, ...]:
    # nulls last, then NaN (as Arrow with null_placement="at_end"), whatever the direction
    if v is None:
        return (2, 0)
    if isinstance(v, float) and math.isnan(v):
        return (1, 0)
    return (0, _Desc(v) if descending else v)


def row_sort_key(values: Sequence[Any], descending: Sequence[bool]) -> tuple[Any, ...]:
    """A Python sort key for one row's order fields, ordering as :func:`sort_indices` does."""
    return tuple(_field_key(v, d) for v, d in zip(values, descending))


def sort_indices(table: pa.Table, keys: list[tuple[int, bool]]) -> pa.Array:
    """Stable sort permutation of ``table`` by ``keys`` (``(column, descending)`` pairs)."""
    if table.num_rows <= 1:
        return pa.array(np.arange(table.num_rows, dtype=np.int64))
    types = [table.schema.field(i).type for i, _ in keys]
    if all(_arrow_sortable(t) for t in types):
        order = normalized_sort_indices(table, keys)
        return pa.array(order if order is not None else arrow_sort_indices(table, keys))
    columns = [column_to_pylist(table.column(i)) for i, _ in keys]
    desc = [d for _, d in keys]
    try:
        order = sorted(
            range(table.num_rows), key=lambda r: row_sort_key([c[r] for c in columns], desc)
        )
    except TypeError as exc:
        raise _incomparable(exc) from None
    return pa.array(order, type=pa.int64())


def _incomparable(exc: TypeError) -> SchemaError:
    return SchemaError(
        f"cannot sort: the values of the sort fields cannot be compared ({exc})",
        hint="sort by fields holding one comparable type (numbers, strings, dates...); "
        "convert other values with a map first",
    )


def sorted_batches(
    table: pa.Table,
    keys: list[tuple[int, bool]],
    *,
    memory: float = float("inf"),
    rows: int = 64 * 1024,
) -> Iterator[pa.RecordBatch]:
    """``table``'s rows in sorted order, as batches gathered one at a time.

    Only one batch of the sorted copy exists at once. Gathering from a table in many chunks
    is fastest once the chunks are joined into one copy; when the table is large next to
    ``memory`` (the task's share of the run's memory budget), the rows are gathered chunk by
    chunk instead, about twice as slow but without that copy.
    """
    order = sort_indices(table, keys)  # sorting chunk by chunk, then merging, is faster
    if table.num_columns and table.column(0).num_chunks > 1 and 2 * table.nbytes < memory:
        table = table.combine_chunks()
    gather = ChunkedGather(table)
    for start in range(0, table.num_rows, rows):
        yield from gather.take(order.slice(start, rows)).to_batches()


def sort_table(
    table: pa.Table, order: Order | list[tuple[int, bool]], step: str | None = None
) -> pa.Table:
    """``table`` sorted (stably) by ``order``."""
    keys = resolve_order(order, table.schema.names, step) if isinstance(order, Order) else order
    if table.num_rows <= 1:
        return table
    return table.take(sort_indices(table, keys))


def _row(table: pa.Table, cols: Sequence[int], i: int) -> list[Any]:
    return [column_to_pylist(table.column(c).slice(i, 1))[0] for c in cols]


def sample_keys(table: pa.Table, keys: list[tuple[int, bool]], k: int = 256) -> pa.Table:
    """About ``k`` evenly spaced rows (key columns only) of an already sorted ``table``."""
    n = table.num_rows
    if n == 0:
        return table.select([i for i, _ in keys]).slice(0, 0)
    idx = np.unique(np.linspace(0, n - 1, num=min(k, n)).astype(np.int64))
    return table.select([i for i, _ in keys]).take(pa.array(idx))


def boundaries(
    samples: list[pa.Table], descending: Sequence[bool], n: int
) -> list[tuple[Any, ...]]:
    """``n - 1`` split rows (as Python sort keys) that cut the sampled keys into ``n`` ranges."""
    rows: list[tuple[Any, ...]] = []
    for s in samples:
        if s.num_rows:
            cols = [column_to_pylist(c) for c in s.columns]
            rows.extend(zip(*cols))
    if n <= 1 or not rows:
        return []
    try:
        sort_keys = sorted(row_sort_key(r, descending) for r in rows)
    except TypeError as exc:  # keys of different shards (an int, a set) meet here first
        raise _incomparable(exc) from None
    cut = [sort_keys[min(len(sort_keys) - 1, (len(sort_keys) * j) // n)] for j in range(1, n)]
    return cut


def _upper_bound(
    table: pa.Table, cols: Sequence[int], desc: Sequence[bool], bound: tuple[Any, ...]
) -> int:
    """First row index of a sorted ``table`` whose key is greater than ``bound``."""

    class _View:
        def __len__(self) -> int:
            return table.num_rows

        def __getitem__(self, i: int) -> tuple[Any, ...]:
            return row_sort_key(_row(table, cols, i), desc)

    return bisect.bisect_right(_View(), bound)  # type: ignore[call-overload]


def range_slice(
    table: pa.Table, keys: list[tuple[int, bool]], cuts: list[tuple[Any, ...]], j: int
) -> pa.Table:
    """The rows of sorted ``table`` that belong to range ``j`` of ``len(cuts) + 1`` ranges.

    Row ``r`` belongs to range ``j`` when ``cuts[j-1] < r <= cuts[j]`` (rows equal to a cut
    go to the lower range), so every row lands in exactly one range.
    """
    cols = [i for i, _ in keys]
    desc = [d for _, d in keys]
    start = 0 if j == 0 else _upper_bound(table, cols, desc, cuts[j - 1])
    end = table.num_rows if j >= len(cuts) else _upper_bound(table, cols, desc, cuts[j])
    return table.slice(start, max(0, end - start))
