"""Operators that talk to the outside: ``pipe``, ``pipe_as_args`` and the ``save`` sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from gleamnb.runtime.context import TaskContext
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.pipe.args import pipe_as_args
from gleamnb.runtime.pipe.stream import pipe_batches
from gleamnb.runtime.save import ShardWriter

__all__ = ["PipeOp", "PipeAsArgsOp", "SaveOp"]


@dataclass(frozen=True)
class PipeOp(Op):
    """Rows through a shell command as TSV lines; its output lines come back as rows."""

    command: str

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        yield from pipe_batches(self.command, batches, step=self.name, shard=ctx.shard_label)


@dataclass(frozen=True)
class PipeAsArgsOp(Op):
    """Run ``template`` once per row with ``$1``, ``$2``, ... replaced by its fields."""

    template: str

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        yield from pipe_as_args(self.template, batches, step=self.name, shard=ctx.shard_label)


@dataclass(frozen=True)
class SaveOp(Op):
    """Write the shard as one part file of the folder ``path``; emits no rows."""

    path: str
    format: str
    header: bool = True

    def __call__(
        self, batches: Iterator[pa.RecordBatch], ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        writer = ShardWriter(self.path, self.format, ctx.shard, header=self.header)
        try:
            for batch in batches:
                writer.write(batch)
        except BaseException:
            writer.abort()  # no half-written part file survives a failed task
            raise
        ctx.extras["saved"] = writer.close()
        return
        yield  # an operator is a generator, even one that yields nothing
