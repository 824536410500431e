"""Vectorized operators behind ``gl.mappers``: tokenize, lowercase, append_one.

Each equals its Python definition in :mod:`gleamnb.api.mappers` row for row, but runs as
Arrow / numpy kernels over whole batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from gleamnb.plan.fields import renumber
from gleamnb.rows import column_to_pylist
from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.text_kernels import lowercase, tokenize, tokenize_py

__all__ = ["TokenizeOp", "LowercaseOp", "AppendOneOp"]


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


@dataclass(frozen=True)
class TokenizeOp(Op):
    """``flat_map(gl.mappers.tokenize)``: the ``[A-Za-z0-9]+`` runs of field 1, one per row."""

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            col = batch.column(0)
            if _is_text(col.type):
                words = tokenize(col)
            else:
                words = pa.array(
                    [
                        w
                        for v in column_to_pylist(col)
                        if v is not None
                        for w in tokenize_py(str(v))
                    ],
                    type=pa.string(),
                )
            yield pa.RecordBatch.from_arrays([words], names=["_1"])


@dataclass(frozen=True)
class LowercaseOp(Op):
    """``map(gl.mappers.lowercase)``: field 1 in lower case, other fields unchanged."""

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            col = batch.column(0)
            if _is_text(col.type):
                lowered = lowercase(col)
            else:
                lowered = pa.array(
                    [v.lower() if isinstance(v, str) else v for v in column_to_pylist(col)]
                )
            yield pa.RecordBatch.from_arrays(
                [lowered, *batch.columns[1:]], names=batch.schema.names
            )


@dataclass(frozen=True)
class AppendOneOp(Op):
    """``map(gl.mappers.append_one)``: add a last field holding the int 1."""

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ones = pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)
            names = renumber([*batch.schema.names, f"_{batch.num_columns + 1}"])
            yield pa.RecordBatch.from_arrays([*batch.columns, ones], names=names)
