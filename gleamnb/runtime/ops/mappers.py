"""Vectorized operators behind ``gl.mappers``: tokenize, lowercase, append_one.

Each equals its Python definition in :mod:`gleamnb.api.mappers` row for row, but runs as
Arrow / numpy kernels over whole batches.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gleamnb.plan.fields import renumber
from gleamnb.rows import column_to_pylist, values_to_array
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.text_kernels import WINDOW, lowercase, tokenize_py, tokenize_windows

__all__ = ["TokenizeOp", "LowercaseOp", "AppendOneOp"]


@dataclass(frozen=True)
class _BatchMapper(Op):
    """A builtin mapper's operator: each batch becomes one new batch, on its own."""

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        map_batch = self._map_batch
        for batch in batches:
            yield map_batch(batch)

    @abstractmethod
    def _map_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The output batch of one input batch."""


def _is_text(col: pa.Array) -> bool:
    """Whether the kernels take ``col``: they read string buffers; a column of any other type
    (numbers, dates, Python objects) goes through the mapper's Python definition."""
    return pa.types.is_string(col.type) or pa.types.is_large_string(col.type)


def _text_kernel(
    col: pa.Array,
    kernel: Callable[[pa.Array], pa.Array],
    python: Callable[[list[Any]], pa.Array],
) -> pa.Array:
    """Field 1 through ``kernel`` when it is a string column, else through ``python``."""
    return kernel(col) if _is_text(col) else python(column_to_pylist(col))


@dataclass(frozen=True)
class TokenizeOp(Op):
    """``flat_map(gl.mappers.tokenize)``: the ``[A-Za-z0-9]+`` runs of field 1, one per row.

    A text column's tokens come out ``window`` bytes of input at a time
    (:func:`~gleamnb.runtime.text_kernels.tokenize_windows`): a batch holding one huge line
    gives many batches of tokens, each about as large as an ordinary one.
    """

    window: int = WINDOW

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            col = batch.column(0)
            if _is_text(col):
                words = tokenize_windows(col, window=self.window)
            else:
                words = iter([_tokenize_values(column_to_pylist(col))])
            for array in words:
                yield pa.RecordBatch.from_arrays([array], names=["_1"])


def _tokenize_values(values: list[Any]) -> pa.Array:
    return pa.array(
        [w for v in values if v is not None for w in tokenize_py(str(v))], type=pa.string()
    )


@dataclass(frozen=True)
class LowercaseOp(_BatchMapper):
    """``map(gl.mappers.lowercase)``: field 1 in lower case, other fields unchanged."""

    def _map_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        lowered = _text_kernel(batch.column(0), lowercase, _lowercase_values)
        return pa.RecordBatch.from_arrays([lowered, *batch.columns[1:]], names=batch.schema.names)


def _lowercase_values(values: list[Any]) -> pa.Array:
    return values_to_array([v.lower() if isinstance(v, str) else v for v in values])


@dataclass(frozen=True)
class AppendOneOp(_BatchMapper):
    """``map(gl.mappers.append_one)``: add a last field holding the int 1."""

    def _map_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ones = pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)
        names = renumber([*batch.schema.names, f"_{batch.num_columns + 1}"])
        return pa.RecordBatch.from_arrays([*batch.columns, ones], names=names)
