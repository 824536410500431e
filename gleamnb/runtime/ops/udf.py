"""Operators that call a user's Python function: ``map``, ``flat_map``, ``filter``, ``map_batches``.

Row functions run row by row inside the executor: a batch's columns are turned into Python
lists once, the function is called with each row's fields as positional arguments, and the
results are packed back into typed Arrow columns (see :mod:`gleamnb.rows`). The
first output batch fixes the output's arity; later batches must agree.

**Row steps side by side in a stage hand each other Python rows** (:func:`run_row_steps`):
a ``flat_map`` followed by a ``map`` calls the map's function on the flat_map's results as
they are, with no Arrow column made of them and read back, whenever those results are
:class:`~gleamnb.rows.PlainRows` — values that such a trip would give back unchanged. Any
other results (ints among floats, dicts, objects, a change of arity or type) make their
batch as if the steps ran apart, so every function sees the same values and every error
is the same; only the bytes of rows that never became Arrow are not counted.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, starmap
from typing import Any, ClassVar

import pyarrow as pa

from gleamnb.errors import ArgumentError, GleamError, SchemaError
from gleamnb.plan.fields import positional_names
from gleamnb.rows import (
    PlainRows,
    batch_to_columns,
    column_to_pylist,
    plain_rows,
    rows_to_batch,
    type_change_error,
    unify_type,
)
from gleamnb.runtime.context import StepStats, TaskContext
from gleamnb.runtime.ops.base import USER_CODE_ERRORS, Op, user_error, wrap_error

__all__ = ["MapOp", "FlatMapOp", "FilterOp", "MapBatchesOp", "RowStep", "run_row_steps"]


def _rows_of(batch: pa.RecordBatch) -> tuple[list[Any], bool]:
    """The batch's rows for calling a function: values (1 field) or tuples, and which."""
    cols = batch_to_columns(batch)
    if len(cols) == 1:
        return cols[0], False
    return list(zip(*cols)), True


def _row_at(rows: list[Any], i: int, multi: bool) -> tuple[Any, ...]:
    """Row ``i`` of :func:`_rows_of`'s rows as a tuple of fields, for an error to show."""
    return rows[i] if multi else (rows[i],)


def _immutable(t: pa.DataType) -> bool:
    """Whether the Python values of a column of type ``t`` cannot be changed in place."""
    return not (isinstance(t, pa.ExtensionType) or pa.types.is_nested(t))


class _Rows:
    """One batch's rows between row steps: an Arrow batch, or plain Python rows.

    A batch's Python values are read once, when a function first needs them, and handed on
    through a ``filter`` when no function can change them in place; plain rows become a batch
    only if the stage's next operator is not a row step.
    """

    __slots__ = ("_batch", "_names", "_plain", "_shared")

    def __init__(
        self,
        batch: pa.RecordBatch | None = None,
        plain: PlainRows | None = None,
        names: Sequence[str] = (),
    ) -> None:
        self._batch, self._plain, self._names = batch, plain, names
        self._shared: tuple[list[Any], bool] | None = None

    @property
    def values(self) -> tuple[list[Any], bool]:
        """The rows as a function is called on them, and whether they have several fields."""
        if self._plain is not None:
            return self._plain.values, self._plain.multi
        if self._shared is not None:
            return self._shared
        batch = self._batch
        assert batch is not None
        values = _rows_of(batch)
        if all(map(_immutable, batch.schema.types)):
            self._shared = values
        return values

    def __len__(self) -> int:
        if self._plain is not None:
            return len(self._plain.values)
        assert self._batch is not None
        return self._batch.num_rows

    @property
    def nbytes(self) -> int:
        return 0 if self._batch is None else self._batch.nbytes

    def keep(self, keep: list[bool], values_too: bool) -> _Rows:
        """The rows where ``keep`` is true, with the types of all the rows; ``values_too``: a
        next step will call its function on them."""
        if self._plain is not None:
            return _Rows(plain=self._plain.keep(keep), names=self._names)
        assert self._batch is not None
        kept = _Rows(self._batch.filter(pa.array(keep, type=pa.bool_())))
        if values_too and self._shared is not None:
            values, multi = self._shared
            kept._shared = (list(compress(values, keep)), multi)
        return kept

    def to_batch(self) -> pa.RecordBatch:
        if self._batch is None:
            assert self._plain is not None
            self._batch = self._plain.to_batch(self._names)
        return self._batch


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

    def carry(self, out: list[Any]) -> PlainRows | None:
        """``out`` as plain rows for the next row step, when they are plain and agree with the
        earlier batches (else None: :meth:`pack` makes their batch, or their error)."""
        plain = plain_rows(out)
        if plain is None:
            return None
        if self.arity is None:
            self.arity, self.types = len(plain.types), list(plain.types)
            return plain
        if len(plain.types) != self.arity:
            return None
        unified = [unify_type(old, new) for old, new in zip(self.types, plain.types)]
        if None in unified:
            return None
        self.types = unified  # type: ignore[assignment]
        return plain


def _field(row: Any, i: int) -> Any:
    return row[i] if type(row) is tuple else row


#: How a row operator calls its function on a batch's rows: ``(fn, rows, multi, ctx, step)``
#: to the output rows, in order.
_CallRows = Callable[[Callable[..., Any], list[Any], bool, TaskContext, str], list[Any]]


@dataclass(frozen=True)
class RowStep(Op):
    """An operator that calls ``fn`` on each row: it runs through :func:`run_row_steps`."""

    fn: Callable[..., Any]

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        return run_row_steps((self,), batches, ctx)

    def start(self) -> Any:
        """What the step keeps from batch to batch within one task."""
        return _Shape(self.name)

    def step(self, rows: _Rows, state: Any, ctx: TaskContext, last: bool) -> _Rows | None:
        """The step's rows of one batch's ``rows`` (None: no rows, and no batch)."""
        raise NotImplementedError


def run_row_steps(
    ops: Sequence[RowStep],
    batches: Iterator[pa.RecordBatch],
    ctx: TaskContext,
    stats: Sequence[StepStats] = (),
    report: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Run row steps one after the other, each batch through all of them in turn.

    Each step makes of a batch's rows one batch's worth of rows, or none, as it would on its
    own; between steps the rows stay Python rows when they are plain. ``stats`` (one per
    step) count what each step made, and ``report`` (when the last step is one of them) sends
    the task's progress (:meth:`~gleamnb.runtime.context.TaskContext.report`).

    Python's cyclic garbage collector is paused while one batch goes through the steps (see
    :func:`_collector_paused`).
    """
    states = [op.start() for op in ops]
    for batch in batches:
        with _collector_paused():
            out = _through_steps(ops, states, batch, ctx, stats)
        if out is not None:
            if report:
                ctx.report()
            yield out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block (when it is on at all).

    A batch's rows are hundreds of thousands of fresh tuples, lists and dicts: the collector
    would visit each of them once or more (its youngest generation runs every 700 new
    containers), while they are freed anyway as soon as they are Arrow columns, before the
    collector runs again. Reference cycles a function makes wait for the end of the batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _through_steps(
    ops: Sequence[RowStep],
    states: list[Any],
    batch: pa.RecordBatch,
    ctx: TaskContext,
    stats: Sequence[StepStats],
) -> pa.RecordBatch | None:
    """One batch through the row steps: the last step's batch (None: a step made no rows)."""
    last = len(ops) - 1
    rows: _Rows | None = _Rows(batch)
    out = None
    for k, op in enumerate(ops):
        try:
            rows = op.step(rows, states[k], ctx, k == last)  # type: ignore[arg-type]
            out = None if rows is None or k < last else rows.to_batch()
        except GleamError as err:
            raise err.with_context(**ctx.where(op.name)) from None
        except Exception as exc:
            raise wrap_error(exc, ctx, op.name) from None
        if rows is None:
            return None
        if stats:
            s = stats[k]
            s.rows += len(rows)
            s.bytes += rows.nbytes
            s.batches += 1
    return out


@dataclass(frozen=True)
class _RowFunctionOp(RowStep):
    """A row step whose function's results, row by row, are the rows of new batches."""

    _call_rows: ClassVar[_CallRows]

    def step(self, rows: _Rows, state: Any, ctx: TaskContext, last: bool) -> _Rows | None:
        values, multi = rows.values
        out = self._call_rows(self.fn, values, multi, ctx, self.name)
        if not out:
            return None
        if not last:
            plain = state.carry(out)
            if plain is not None:
                return _Rows(plain=plain, names=positional_names(len(plain.types)))
        return _Rows(state.pack(out, ctx))


def _call_each(
    fn: Callable[..., Any], rows: list[Any], multi: bool, ctx: TaskContext, step: str
) -> list[Any]:
    """``fn`` called on every row (fields as arguments), in order; its results.

    The loop is Python's own ``map`` (no bytecode of ours runs per row); when ``fn`` raises,
    the results so far say which row it was called with.
    """
    results: list[Any] = []
    try:
        # ``list.extend`` keeps the results made before an exception: their count is the
        # failing row's index
        results.extend(starmap(fn, rows) if multi else map(fn, rows))
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
class FilterOp(RowStep):
    """``filter(fn)``: keep the rows for which ``fn`` is truthy; types are untouched."""

    def start(self) -> Any:
        return None

    def step(self, rows: _Rows, state: Any, ctx: TaskContext, last: bool) -> _Rows | None:
        values, multi = rows.values
        keep = _truths(
            _call_each(self.fn, values, multi, ctx, self.name), values, multi, ctx, self.name
        )
        return rows.keep(keep, values_too=not last)


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
