"""Joins and co-groups of two co-partitioned inputs (or a broadcast side).

Rows come out as ``(key..., left values..., right values...)``; outer joins pad the missing
side with None. Null keys never match (as in SQL). Output follows the left input's row order,
each left row's matches in right order, then unmatched right rows.

Arrow's hash join matches ``(key, row index)`` tables only, and the value columns are then
gathered with ``take``: so values of any type, Python objects included, go through joins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.errors import JoinKeyError
from gleamnb.fieldref import FieldRef
from gleamnb.plan.fields import is_positional, renumber
from gleamnb.rows import cast_column, column_to_pylist, unify_type
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.grouping import canonical_key_column, hashable
from gleamnb.runtime.ops.aggregate import group_lists
from gleamnb.runtime.ops.base import Op, concat_batches, rebatch
from gleamnb.runtime.ops.relational import select_key_first

__all__ = ["JoinOp", "HashJoinOp", "CoGroupOp", "join_tables", "unify_key_types"]

_ARROW_HOW = {
    "inner": "inner",
    "left_outer": "left outer",
    "right_outer": "right outer",
    "full_outer": "full outer",
}


def _plain(t: pa.DataType) -> bool:
    return not (isinstance(t, pa.ExtensionType) or pa.types.is_nested(t))


def unify_key_types(
    left: pa.Table, right: pa.Table, width: int, step: str, ctx: TaskContext
) -> tuple[list[Any], list[Any]]:
    """The key columns of both sides, cast to one type per key field.

    The type is the one a ``union`` of the two would give (:func:`~gleamnb.rows.unify_type`):
    an int key with a float key compares as float64, as in Spark and DuckDB.
    """
    lcols, rcols = [], []
    for i in range(width):
        lt, rt = left.schema.field(i).type, right.schema.field(i).type
        t = unify_type(lt, rt)
        if t is None:
            raise JoinKeyError(
                f"join key field {i + 1} has incompatible types: "
                f"{lt} on the left, {rt} on the right",
                hint="convert one side's key first, e.g. .map(lambda k, *v: (str(k), *v)) "
                "or int(k)/float(k), so both sides hold the same type",
                **ctx.where(step),
            )
        try:
            lcol, rcol = cast_column(left.column(i), t), cast_column(right.column(i), t)
        except pa.ArrowInvalid as err:  # e.g. an int past 2**53, which no float64 holds exactly
            raise JoinKeyError(
                f"join key field {i + 1} cannot be compared as {t}: {err}",
                hint="convert one side's key first (int(k) or float(k)), so both sides hold "
                "the same type",
                **ctx.where(step),
            ) from None
        lcols.append(canonical_key_column(lcol))
        rcols.append(canonical_key_column(rcol))
    return lcols, rcols


def _match_python(
    lkeys: list[Any], rkeys: list[Any], n_left: int, n_right: int, how: str
) -> tuple[list[Any], list[Any]]:
    lrows = list(zip(*[column_to_pylist(c) for c in lkeys])) if lkeys else [()] * n_left
    rrows = list(zip(*[column_to_pylist(c) for c in rkeys])) if rkeys else [()] * n_right
    index: dict[Any, list[int]] = {}
    for j, k in enumerate(rrows):
        if None not in k:
            index.setdefault(tuple(map(hashable, k)), []).append(j)
    li: list[Any] = []
    ri: list[Any] = []
    matched = [False] * n_right
    for i, k in enumerate(lrows):
        hits = index.get(tuple(map(hashable, k)), []) if None not in k else []
        for j in hits:
            li.append(i)
            ri.append(j)
            matched[j] = True
        if not hits and how in ("left_outer", "full_outer"):
            li.append(i)
            ri.append(None)
    if how in ("right_outer", "full_outer"):
        for j, m in enumerate(matched):
            if not m:
                li.append(None)
                ri.append(j)
    return li, ri


def _match(
    lkeys: list[Any], rkeys: list[Any], n_left: int, n_right: int, how: str
) -> tuple[pa.Array, pa.Array]:
    """Row index pairs ``(left, right)`` of matching rows; None for a padded side."""
    if not all(_plain(c.type) and not pa.types.is_null(c.type) for c in (*lkeys, *rkeys)):
        li, ri = _match_python(lkeys, rkeys, n_left, n_right, how)
        return pa.array(li, type=pa.int64()), pa.array(ri, type=pa.int64())
    names = [f"k{i}" for i in range(len(lkeys))]
    lt = pa.Table.from_arrays(
        [*lkeys, pa.array(np.arange(n_left, dtype=np.int64))], names=[*names, "__li"]
    )
    rt = pa.Table.from_arrays(
        [*rkeys, pa.array(np.arange(n_right, dtype=np.int64))], names=[*names, "__ri"]
    )
    joined = lt.join(
        rt, keys=names, join_type=_ARROW_HOW[how], coalesce_keys=True, use_threads=False
    )
    return _in_row_order(joined.column("__li"), joined.column("__ri"), n_left, n_right)


def _in_row_order(
    li: pa.ChunkedArray, ri: pa.ChunkedArray, n_left: int, n_right: int
) -> tuple[pa.Array, pa.Array]:
    """The pairs ``(li, ri)`` ordered by left row, then right row, a None (padded side) last.

    Each pair is packed into one int64, ``li * (n_right + 1) + ri`` with None as ``n_left`` /
    ``n_right``, and the packed keys are sorted by numpy: distinct pairs make distinct keys,
    so no stable sort is needed (3.6x faster than Arrow's two-key ``sort_indices`` and ``take``
    of the pairs for a million pairs). Tables too large to pack sort with Arrow.

    Examples
    --------
    >>> li, ri = _in_row_order(
    ...     pa.chunked_array([[1, None, 0, 1]]), pa.chunked_array([[1, 0, None, 0]]), 2, 2
    ... )
    >>> list(zip(li.to_pylist(), ri.to_pylist()))
    [(0, None), (1, 0), (1, 1), (None, 0)]
    """
    import pyarrow.compute as pc

    if (n_left + 1) * (n_right + 1) >= 1 << 63:
        pairs = pa.table({"li": li, "ri": ri})
        order = pc.sort_indices(
            pairs, sort_keys=[("li", "ascending", "at_end"), ("ri", "ascending", "at_end")]
        )
        pairs = pairs.take(order)
        return pairs.column(0).combine_chunks(), pairs.column(1).combine_chunks()
    lnum = pc.fill_null(li, n_left).to_numpy().astype(np.int64, copy=False)
    rnum = pc.fill_null(ri, n_right).to_numpy().astype(np.int64, copy=False)
    order = np.argsort(lnum * (n_right + 1) + rnum)
    lnum, rnum = lnum[order], rnum[order]
    return (
        pa.array(lnum, mask=lnum == n_left if li.null_count else None),
        pa.array(rnum, mask=rnum == n_right if ri.null_count else None),
    )


def _output_names(key: list[str], lvals: list[str], rvals: list[str]) -> list[str]:
    taken = set(key) | set(lvals)
    right = [f"{n}_right" if n in taken and not is_positional(n) else n for n in rvals]
    return renumber([*key, *lvals, *right])


def _key_first(
    left: pa.Table, right: pa.Table, on: tuple[FieldRef, ...], step: str
) -> tuple[pa.Table, pa.Table, int]:
    """Both sides with the fields ``on`` first, and how many they are."""
    left, width = select_key_first(left, on, step)
    right, _ = select_key_first(right, on, step)
    return left, right, width


def join_tables(
    left: pa.Table, right: pa.Table, on: tuple[FieldRef, ...], how: str, step: str, ctx: TaskContext
) -> pa.Table:
    """Join two tables on the fields ``on`` (the same fields on both sides)."""
    import pyarrow.compute as pc

    left, right, width = _key_first(left, right, on, step)
    lkeys, rkeys = unify_key_types(left, right, width, step, ctx)
    li, ri = _match(lkeys, rkeys, left.num_rows, right.num_rows, how)
    keys = []
    for lk, rk in zip(lkeys, rkeys):
        lk_taken = lk.take(li)
        keys.append(
            pc.coalesce(lk_taken, rk.take(ri)) if how in ("right_outer", "full_outer") else lk_taken
        )
    lvals = [left.column(i).take(li) for i in range(width, left.num_columns)]
    rvals = [right.column(i).take(ri) for i in range(width, right.num_columns)]
    names = _output_names(
        left.schema.names[:width], left.schema.names[width:], right.schema.names[width:]
    )
    return pa.Table.from_arrays([*keys, *lvals, *rvals], names=names)


def _sides(
    batches: Iterator[pa.RecordBatch], ctx: TaskContext, step: str
) -> tuple[pa.Table, pa.Table]:
    """The task's stream (the left or big side) and its input 1 (the right or small side),
    each read whole."""
    return concat_batches(batches, step=step), concat_batches(ctx.inputs.batches(1), step=step)


@dataclass(frozen=True)
class JoinOp(Op):
    """Join this task's left bucket (the stream) with its right bucket (input 1)."""

    how: str
    on: tuple[FieldRef, ...]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        left, right = _sides(batches, ctx, self.name)
        if left.num_columns == 0 and right.num_columns == 0:
            return
        if left.num_columns == 0 or right.num_columns == 0:
            if (
                self.how == "inner"
                or (left.num_columns == 0 and self.how == "left_outer")
                or (right.num_columns == 0 and self.how == "right_outer")
            ):
                return
            # one side is empty: pad it with nulls of unknown type
            left, right = _pad_empty(left, right, self.on, self.name)
        yield from rebatch(join_tables(left, right, self.on, self.how, self.name, ctx))


def _pad_empty(
    left: pa.Table, right: pa.Table, on: tuple[FieldRef, ...], step: str
) -> tuple[pa.Table, pa.Table]:
    def empty_like(other: pa.Table) -> pa.Table:
        other, width = select_key_first(other, on, step)
        return pa.table(
            {
                n: pa.array([], type=f.type if i < width else pa.null())
                for i, (n, f) in enumerate(zip(other.schema.names, other.schema))
            }
        )

    if left.num_columns == 0:
        return empty_like(right), right
    return left, empty_like(left)


@dataclass(frozen=True)
class HashJoinOp(Op):
    """Inner join of the task's shard with a small input broadcast to every task (input 1).

    The small side's hash table is built once per task: the shard is joined whole.
    """

    on: tuple[FieldRef, ...]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        big, small = _sides(batches, ctx, self.name)
        if big.num_columns == 0 or small.num_columns == 0:
            return
        yield from rebatch(join_tables(big, small, self.on, "inner", self.name, ctx))


@dataclass(frozen=True)
class CoGroupOp(Op):
    """``(key..., [left values], [right values])`` for every key on either side."""

    on: tuple[FieldRef, ...]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow.compute as pc

        left, right = _sides(batches, ctx, self.name)
        if left.num_rows == 0 and right.num_rows == 0:
            return
        if left.num_columns == 0 or right.num_columns == 0:
            left, right = _pad_empty(left, right, self.on, self.name)
        left, right, width = _key_first(left, right, self.on, self.name)
        lg = group_lists(left, width)
        rg = group_lists(right, width)
        lkeys, rkeys = unify_key_types(lg, rg, width, self.name, ctx)
        li, ri = _match(lkeys, rkeys, lg.num_rows, rg.num_rows, "full_outer")
        keys = [pc.coalesce(lk.take(li), rk.take(ri)) for lk, rk in zip(lkeys, rkeys)]
        lists = []
        for table, idx in ((lg, li), (rg, ri)):
            col = table.column(width).combine_chunks().take(idx)
            lists.append(_fill_empty(col))
        names = renumber([*left.schema.names[:width], f"_{width + 1}", f"_{width + 2}"])
        yield from rebatch(pa.Table.from_arrays([*keys, *lists], names=names))


def _fill_empty(col: pa.ListArray) -> pa.Array:
    """Replace null lists by empty lists."""
    import pyarrow.compute as pc

    if col.null_count == 0:
        return col
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), col.flatten())
