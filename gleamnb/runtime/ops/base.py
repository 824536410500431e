"""The physical operator interface and the helpers every operator shares.

An operator transforms one stream of record batches into another, inside one stage task::

    op(batches, ctx) -> batches

Operators are small frozen dataclasses (cloudpickled once per stage and executor) whose
``name`` is the user's step name, used in errors and statistics.
"""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gleamnb.errors import GleamError, SchemaError, UserCodeError, exception_text, truncate
from gleamnb.rows import conform, empty_batch, unify_schemas
from gleamnb.runtime.context import TaskContext

__all__ = [
    "USER_CODE_ERRORS",
    "Op",
    "concat_batches",
    "user_traceback",
    "user_error",
    "wrap_error",
    "rebatch",
    "empty_like",
]

BATCH_ROWS = 64 * 1024


@dataclass(frozen=True)
class Op(ABC):
    """Base class of physical operators."""

    name: str

    @abstractmethod
    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        """Transform the task's stream of batches."""

    @property
    def kind(self) -> str:
        return type(self).__name__


def concat_batches(batches: Iterable[pa.RecordBatch], *, step: str | None = None) -> pa.Table:
    """One table from a stream of batches whose schemas may differ slightly.

    Schemas are unified with :func:`~gleamnb.rows.unify.unify_schemas` (null -> type,
    int -> float, any -> Python object); anything else is a :class:`SchemaError`.
    """
    items = [b for b in batches if b.num_columns or b.num_rows]
    if not items:
        return pa.table({})
    schemas = [b.schema for b in items]
    schema = unify_schemas(schemas, step=step)
    tables = [conform(b, schema) for b in items]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def empty_like(data: pa.RecordBatch | pa.Table | pa.Schema) -> Iterator[pa.RecordBatch]:
    """A zero-row batch with ``data``'s schema (nothing when it has no fields).

    Empty shards still carry their fields' names and types this way, so a join or co_group
    with an empty side knows how wide that side is.
    """
    schema = data if isinstance(data, pa.Schema) else data.schema
    if len(schema):
        yield empty_batch(schema)


def rebatch(table: pa.Table, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Yield ``table`` as record batches of at most ``rows`` rows (zero-copy).

    An empty table yields one empty batch, to pass its schema on.
    """
    if table.num_rows == 0:
        yield from empty_like(table)
        return
    if table.num_columns and table.column(0).num_chunks > 2 * (table.num_rows // rows + 1):
        table = table.combine_chunks()  # many small chunks: hand on a few large batches
    for batch in table.to_batches(max_chunksize=rows):
        if batch.num_rows:
            yield batch


def user_traceback(exc: BaseException, skip_frames: int = 1) -> str:
    """The user's part of a traceback: the frames below our call into their function."""
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    return "".join(lines).rstrip()


#: What a user function may raise that fails the step on its row: any ``Exception``, and
#: ``SystemExit`` (a ``sys.exit()`` in a UDF must fail the run, not end the executor).
USER_CODE_ERRORS = (Exception, SystemExit)


def user_error(
    exc: BaseException, ctx: TaskContext, step: str, row: Any, what: str = "function"
) -> UserCodeError:
    """A :class:`UserCodeError` for an exception raised by a user function on ``row``.

    The message quotes the exception's text truncated (a stand-in if its ``__str__``
    raises); the traceback in ``detail`` has it whole.
    """
    return UserCodeError(
        f"the {what} of step {step!r} raised {type(exc).__name__}: "
        + truncate(exception_text(exc)),
        row=row,
        hint="fix the function, or filter out the rows it cannot handle before this step",
        detail="user traceback:\n" + user_traceback(exc),
        **ctx.where(step),
    )


def wrap_error(exc: BaseException, ctx: TaskContext, step: str) -> GleamError:
    """Give an unexpected exception inside a step its context (step, shard, flow)."""
    if isinstance(exc, GleamError):
        return exc.with_context(**ctx.where(step))
    if isinstance(exc, (pa.ArrowTypeError, pa.ArrowNotImplementedError)):
        return SchemaError(
            f"step {step!r} cannot handle this data: {exc}",
            hint="check the field types this step receives (e.g. with .take(5))",
            detail=user_traceback(exc, 0),
            **ctx.where(step),
        )
    return GleamError(
        f"step {step!r} failed: {type(exc).__name__}: {exception_text(exc)}",
        detail=user_traceback(exc, 0),
        **ctx.where(step),
    )


def select_columns(
    data: pa.RecordBatch | pa.Table, idx: Sequence[int], names: Sequence[str]
) -> Any:
    cols = [data.column(i) for i in idx]
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(cols, names=list(names))
    return pa.Table.from_arrays(cols, names=list(names))
