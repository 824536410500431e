"""Operators that call a user's Python function: ``map``, ``flat_map``, ``filter``, ``map_batches``.

Row functions run row by row inside the executor: a batch's columns are turned into Python
lists once, the function is called with each row's fields as positional arguments, and the
results are packed back into typed Arrow columns (see :mod:`gleamnb.rows`). The
first output batch fixes the output's arity; later batches must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from gleamnb.errors import ArgumentError, GleamError, SchemaError
from gleamnb.plan.fields import positional_names
from gleamnb.rows import (
    batch_to_columns,
    column_to_pylist,
    rows_to_batch,
    type_change_error,
    unify_type,
)
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.ops.base import USER_CODE_ERRORS, Op, user_error

__all__ = ["MapOp", "FlatMapOp", "FilterOp", "MapBatchesOp"]


def _rows_of(batch: pa.RecordBatch) -> tuple[list[Any], bool]:
    """The batch's rows for calling a function: values (1 field) or tuples, and which."""
    cols = batch_to_columns(batch)
    if len(cols) == 1:
        return cols[0], False
    return list(zip(*cols)), True


def _row_at(rows: list[Any], i: int, multi: bool) -> tuple[Any, ...]:
    """Row ``i`` of :func:`_rows_of`'s rows as a tuple of fields, for an error to show."""
    return rows[i] if multi else (rows[i],)


class _Shape:
    """Output arity and field types of one task's UDF output, fixed by its first batches.

    A field may go from all-None to a type, from int to float, or to Python objects; any
    other change between batches is a :class:`SchemaError` naming the first row that shows it.
    """

    def __init__(self, step: str) -> None:
        self.step = step
        self.arity: int | None = None
        self.types: list[pa.DataType] = []

    def pack(self, out: list[Any], ctx: TaskContext) -> pa.RecordBatch:
        try:
            batch = rows_to_batch(out, arity=self.arity, step=self.step)
        except GleamError as err:
            raise err.with_context(**ctx.where(self.step)) from None
        if self.arity is None:
            self.arity = batch.num_columns
            self.types = list(batch.schema.types)
            return batch
        for i, (old, new) in enumerate(zip(self.types, batch.schema.types)):
            if old == new:
                continue
            unified = unify_type(old, new)
            if unified is None:
                row = next(r for r in out if _field(r, i) is not None)
                first = old.storage_type if isinstance(old, pa.ExtensionType) else old
                err = type_change_error(i, first, new, row, self.step)
                raise err.with_context(**ctx.where(self.step))
            self.types[i] = unified
        return batch


def _field(row: Any, i: int) -> Any:
    return row[i] if type(row) is tuple else row


#: How a row operator calls its function on a batch's rows: ``(fn, rows, multi, ctx, step)``
#: to the output rows, in order.
_CallRows = Callable[[Callable[..., Any], list[Any], bool, TaskContext, str], list[Any]]


@dataclass(frozen=True)
class _RowFunctionOp(Op):
    """An operator whose function's results, row by row, are the rows of new batches."""

    fn: Callable[..., Any]
    _call_rows: ClassVar[_CallRows]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        shape = _Shape(self.name)
        call_rows, fn, step = self._call_rows, self.fn, self.name
        for batch in batches:
            rows, multi = _rows_of(batch)
            out = call_rows(fn, rows, multi, ctx, step)
            if out:
                yield shape.pack(out, ctx)


def _call_each(
    fn: Callable[..., Any], rows: list[Any], multi: bool, ctx: TaskContext, step: str
) -> list[Any]:
    """``fn`` called on every row (fields as arguments), in order; its results.

    The loop does nothing else, for speed; when ``fn`` raises, the results so far say which
    row it was called with.
    """
    results: list[Any] = []
    append = results.append
    try:
        if multi:
            for row in rows:
                append(fn(*row))
        else:
            for value in rows:
                append(fn(value))
    except USER_CODE_ERRORS as exc:
        i = len(results)
        raise user_error(exc, ctx, step, _row_at(rows, i, multi)) from None
    return results


def _call_flat(
    fn: Callable[..., Any], rows: list[Any], multi: bool, ctx: TaskContext, step: str
) -> list[Any]:
    """The rows of every iterable ``fn`` returns on the rows (``None``: no rows), in order."""
    # Each result is taken in as soon as it is made: keeping a batch of result lists
    # alive until the end (hundreds of thousands of containers) made Python's garbage
    # collector walk them again and again, and the whole step 1.5x slower.
    out: list[Any] = []
    extend = out.extend
    i = 0
    try:
        for i, row in enumerate(rows):  # noqa: B007 - i names the failing row
            result = fn(*row) if multi else fn(row)
            if type(result) is list:
                extend(result)
            elif result is not None:
                if isinstance(result, (str, bytes)):
                    raise _not_iterable(step, result)
                extend(result)  # a generator runs the user's code here
    except ArgumentError as err:
        raise err.with_context(row=_row_at(rows, i, multi), **ctx.where(step)) from None
    except USER_CODE_ERRORS as exc:
        raise user_error(exc, ctx, step, _row_at(rows, i, multi)) from None
    return out


@dataclass(frozen=True)
class MapOp(_RowFunctionOp):
    """``map(fn)``: one output row per input row."""

    _call_rows = staticmethod(_call_each)


@dataclass(frozen=True)
class FlatMapOp(_RowFunctionOp):
    """``flat_map(fn)``: ``fn`` returns an iterable of rows (None means no rows)."""

    _call_rows = staticmethod(_call_flat)


def _not_iterable(step: str, result: Any) -> ArgumentError:
    return ArgumentError(
        f"the function of flat_map step {step!r} returned a {type(result).__name__}, "
        "not an iterable of rows",
        hint="return a list (or yield) of rows, e.g. [word] or [(word, 1)]; "
        "use map() for exactly one row per input row",
    )


@dataclass(frozen=True)
class FilterOp(Op):
    """``filter(fn)``: keep the rows for which ``fn`` is truthy; types are untouched."""

    fn: Callable[..., Any]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows, multi = _rows_of(batch)
            keep = _truths(
                _call_each(self.fn, rows, multi, ctx, self.name), rows, multi, ctx, self.name
            )
            yield batch.filter(pa.array(keep, type=pa.bool_()))


def _truths(
    results: list[Any], rows: list[Any], multi: bool, ctx: TaskContext, step: str
) -> list[bool]:
    """``bool()`` of each result (a result's own ``__bool__`` may raise, e.g. numpy arrays)."""
    keep: list[bool] = []
    try:
        keep.extend(map(bool, results))  # on an error, ``keep`` holds the truths before it
    except USER_CODE_ERRORS as exc:
        raise user_error(exc, ctx, step, _row_at(rows, len(keep), multi)) from None
    return keep


@dataclass(frozen=True)
class MapBatchesOp(Op):
    """``map_batches(fn, format=...)``: a vectorized function over whole batches.

    ``format="arrow"`` passes a :class:`pyarrow.RecordBatch`; ``"pandas"`` a DataFrame whose
    columns are the field names. ``fn`` returns the same kind of object (or a pyarrow Table,
    a dict of columns, or a DataFrame).
    """

    fn: Callable[..., Any]
    format: str = "arrow"

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            arg: Any = batch if self.format == "arrow" else _to_pandas(batch)
            try:
                result = self.fn(arg)
            except USER_CODE_ERRORS as exc:
                raise user_error(
                    exc, ctx, self.name, f"<batch of {batch.num_rows} rows>", what="batch function"
                ) from None
            yield from _as_batches(result, self.name, ctx)


def _to_pandas(batch: pa.RecordBatch) -> Any:
    import pandas as pd

    return (
        pd.DataFrame(
            {name: column_to_pylist(col) for name, col in zip(batch.schema.names, batch.columns)}
        )
        if any(isinstance(t, pa.ExtensionType) for t in batch.schema.types)
        else batch.to_pandas()
    )


def _as_batches(result: Any, step: str, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
    if result is None:
        return
    if isinstance(result, pa.RecordBatch):
        table = pa.Table.from_batches([result])
    elif isinstance(result, pa.Table):
        table = result
    elif isinstance(result, dict):
        table = pa.table(result)
    elif type(result).__name__ == "DataFrame":
        table = pa.Table.from_pandas(result, preserve_index=False)
    else:
        raise SchemaError(
            f"the batch function of step {step!r} returned a {type(result).__name__}",
            hint="return a pyarrow RecordBatch or Table, a pandas DataFrame, or a dict of columns",
            **ctx.where(step),
        )
    names = [n if isinstance(n, str) and n else None for n in table.schema.names]
    if any(n is None for n in names):
        table = table.rename_columns(positional_names(table.num_columns))
    for b in table.to_batches():
        if b.num_rows:
            yield b
