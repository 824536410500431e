"""A stage and how one of its tasks runs: head -> fused operators -> output buckets.

A **stage** is a chain of narrow steps fused together (see ``gleamnb.planner.fusion``). Its
**head** starts each task's stream of batches (read a file split, a range of ints, or the
task's input pieces: concatenated, merged in order, or cut to a key range). Its **output**
routes the final batches into buckets: one bucket (forward), ``n`` buckets by key hash or
round robin (a shuffle's map side), or one sorted run plus a key sample (a range sort).

:func:`execute_task` runs one task given its inputs and a :class:`BucketSink`; it knows
nothing of processes, files or Dask.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pyarrow as pa

from gleamnb.errors import GleamError
from gleamnb.plan.order import Order
from gleamnb.rows import unify_schemas
from gleamnb.runtime.context import StepStats, TaskContext
from gleamnb.runtime.hashing import hash_columns, partition_ids, split_by_partition
from gleamnb.runtime.ops.base import Op, empty_like, wrap_error
from gleamnb.runtime.ops.relational import sort_stream
from gleamnb.runtime.ops.udf import RowStep, run_row_steps
from gleamnb.runtime.sorting import range_slice, resolve_order, sample_keys

__all__ = [
    "Head",
    "ReadFiles",
    "ReadRange",
    "ReadInput",
    "MergeSorted",
    "MergeRange",
    "Output",
    "Forward",
    "HashOut",
    "RoundRobinOut",
    "SortedRunOut",
    "Discard",
    "StageSpec",
    "BucketSink",
    "TaskOutcome",
    "execute_task",
]


# -- heads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """How a task's stream starts. ``params`` are the task's own (its split, its range ...)."""

    name: str

    def batches(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        yield from ctx.inputs.batches(0)


@dataclass(frozen=True)
class ReadFiles(Head):
    """Read this task's file splits (``ctx.params["splits"]``)."""

    spec: Any = None

    def batches(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        from gleamnb.runtime.sources import read_split

        for split in ctx.params.get("splits", ()):
            yield from read_split(self.spec, split)


@dataclass(frozen=True)
class ReadRange(Head):
    """The ints ``ctx.params["start"] .. ctx.params["stop"]`` in batches."""

    def batches(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        start, stop = ctx.params["start"], ctx.params["stop"]
        step = 1 << 16
        for lo in range(start, stop, step):
            hi = min(stop, lo + step)
            yield pa.RecordBatch.from_arrays(
                [pa.array(np.arange(lo, hi, dtype=np.int64))], names=["_1"]
            )


@dataclass(frozen=True)
class ReadInput(Head):
    """Input 0's pieces, one after the other."""


@dataclass(frozen=True)
class MergeSorted(Head):
    """Input 0's pieces (each sorted by ``order``) merged into one sorted stream."""

    order: Order = None  # type: ignore[assignment]

    def batches(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        yield from sort_stream(ctx.inputs.batches(0), self.order, self.name, ctx.memory_budget)


@dataclass(frozen=True)
class MergeRange(Head):
    """Range ``ctx.shard`` of input 0's sorted runs (cut at ``ctx.params["cuts"]``), merged."""

    order: Order = None  # type: ignore[assignment]

    def batches(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        yield from sort_stream(self._parts(ctx), self.order, self.name, ctx.memory_budget)

    def _parts(self, ctx: TaskContext) -> Iterator[pa.RecordBatch]:
        """This task's key range of every sorted run (zero-copy slices)."""
        cuts = ctx.params.get("cuts", [])
        for piece in ctx.inputs.pieces(0):
            if piece.num_rows == 0:
                yield from empty_like(piece)
                continue
            keys = resolve_order(self.order, piece.schema.names, self.name)
            yield from range_slice(piece, keys, cuts, ctx.shard).to_batches()


# -- outputs -----------------------------------------------------------------------------------


class BucketSink(Protocol):
    """Where a task's output batches go, bucket by bucket."""

    def write(self, bucket: int, batch: pa.RecordBatch) -> None: ...


@dataclass(frozen=True)
class Output:
    """Route a task's output batches into buckets."""

    @property
    def buckets(self) -> int:
        return 1

    def write(self, batches: Iterator[pa.RecordBatch], sink: BucketSink, ctx: TaskContext) -> None:
        for batch in batches:
            sink.write(0, batch)

    def describe(self) -> str:
        return "forward"


@dataclass(frozen=True)
class Forward(Output):
    """One bucket: the task's output is shard ``i`` of the stage's dataset."""


@dataclass(frozen=True)
class Discard(Output):
    """Sinks that write elsewhere (``save``) or only count: no rows to keep."""

    def describe(self) -> str:
        return "done"


@dataclass(frozen=True)
class HashOut(Output):
    """``n`` buckets by hash of the first ``width`` fields (all fields when ``width`` is None)."""

    n: int = 1
    width: int | None = 1

    @property
    def buckets(self) -> int:
        return self.n

    def write(self, batches: Iterator[pa.RecordBatch], sink: BucketSink, ctx: TaskContext) -> None:
        for batch in batches:
            width = batch.num_columns if self.width is None else self.width
            if batch.num_rows == 0:
                sink.write(0, batch)  # only its schema: every bucket's piece will carry it
                continue
            ids = partition_ids(hash_columns([batch.column(i) for i in range(width)]), self.n)
            for bucket, part in enumerate(split_by_partition(batch, ids, self.n)):
                if part.num_rows:
                    for b in part.to_batches():
                        sink.write(bucket, b)

    def describe(self) -> str:
        key = (
            "all fields" if self.width is None else ",".join(str(i + 1) for i in range(self.width))
        )
        return f"hash shuffle by {key} into {self.n}"


@dataclass(frozen=True)
class RoundRobinOut(Output):
    """``n`` buckets, rows dealt in turn (task ``i`` starts at bucket ``i mod n``)."""

    n: int = 1

    @property
    def buckets(self) -> int:
        return self.n

    def write(self, batches: Iterator[pa.RecordBatch], sink: BucketSink, ctx: TaskContext) -> None:
        offset = ctx.shard % self.n
        for batch in batches:
            if batch.num_rows == 0:
                sink.write(0, batch)
                continue
            ids = (np.arange(batch.num_rows, dtype=np.int64) + offset) % self.n
            offset = (offset + batch.num_rows) % self.n
            for bucket, part in enumerate(split_by_partition(batch, ids, self.n)):
                if part.num_rows:
                    for b in part.to_batches():
                        sink.write(bucket, b)

    def describe(self) -> str:
        return f"round robin into {self.n}"


@dataclass(frozen=True)
class SortedRunOut(Output):
    """One sorted run per task plus a sample of its keys, for a range-partitioned sort."""

    order: Order = None  # type: ignore[assignment]
    samples: int = 256

    def write(self, batches: Iterator[pa.RecordBatch], sink: BucketSink, ctx: TaskContext) -> None:
        # the stage's last operator sorted the shard: pass its batches on as they come and
        # keep a few evenly spaced keys of each, then thin those to ``samples``
        picks: list[pa.Table] = []
        keys: list[tuple[int, bool]] | None = None
        for batch in batches:
            sink.write(0, batch)
            if batch.num_rows:
                table = pa.Table.from_batches([batch])
                keys = keys or resolve_order(self.order, table.schema.names, "sort")
                picks.append(sample_keys(table, keys, max(2, self.samples // 8)))
        if keys is None:
            ctx.extras["sample"] = None
            return
        pooled = pa.concat_tables(picks)
        ctx.extras["sample"] = sample_keys(
            pooled, [(i, d) for i, (_, d) in enumerate(keys)], self.samples
        )

    def describe(self) -> str:
        return f"sorted runs by {self.order.describe()} (range partitioned)"


# -- the stage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    """Everything an executor needs to run any task of one stage."""

    key: str
    id: int
    name: str
    flow: str
    num_tasks: int
    head: Head
    ops: tuple[Op, ...]
    output: Output


@dataclass
class TaskOutcome:
    """What a task reports besides its output buckets.

    ``extras["schema"]`` is the one schema of the rows it output (absent with no rows): where
    the rows of a stage's tasks meet, the driver checks that they agree.
    """

    stats: list[StepStats]
    extras: dict[str, Any]
    seconds: float


def _counted(
    batches: Iterator[pa.RecordBatch], stats: StepStats, ctx: TaskContext, step: str, report: bool
) -> Iterator[pa.RecordBatch]:
    """The batches of ``step``, counted in ``stats``; with ``report`` (the stage's head and
    its last step), each one is followed by the task's progress report (throttled)."""
    it = iter(batches)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except GleamError as err:
            raise err.with_context(**ctx.where(step)) from None
        except Exception as exc:
            raise wrap_error(exc, ctx, step) from None
        stats.rows += batch.num_rows
        stats.bytes += batch.nbytes
        stats.batches += 1
        if report:
            ctx.report()
        yield batch


def _noting_schema(
    batches: Iterator[pa.RecordBatch], ctx: TaskContext, step: str
) -> Iterator[pa.RecordBatch]:
    """The batches, passed on; the one schema of those with rows goes in ``ctx.extras``."""
    schema: pa.Schema | None = None
    for batch in batches:
        if batch.num_rows and batch.schema != schema:
            got = batch.schema
            schema = got if schema is None else unify_schemas([schema, got], step=step)
            ctx.extras["schema"] = schema
        yield batch


def execute_task(stage: StageSpec, ctx: TaskContext, sink: BucketSink) -> TaskOutcome:
    """Run one task of ``stage``: its head, its operators, then its output routing."""
    started = time.perf_counter()
    ctx.stats = [StepStats(stage.head.name), *(StepStats(op.name) for op in stage.ops)]
    # the head reports the rows read, the last step the rows written (both, when it is the head)
    stream = _counted(stage.head.batches(ctx), ctx.stats[0], ctx, stage.head.name, True)
    ops, i = stage.ops, 0
    while i < len(ops):
        j = i + 1
        if isinstance(ops[i], RowStep):  # row steps side by side run as one, on Python rows
            while j < len(ops) and isinstance(ops[j], RowStep):
                j += 1
            steps = cast("tuple[RowStep, ...]", ops[i:j])
            stream = run_row_steps(steps, stream, ctx, ctx.stats[i + 1 : j + 1], j == len(ops))
        else:
            stream = _counted(
                ops[i](stream, ctx), ctx.stats[i + 1], ctx, ops[i].name, j == len(ops)
            )
        i = j
    last = stage.ops[-1].name if stage.ops else stage.head.name
    try:
        stage.output.write(_noting_schema(stream, ctx, last), sink, ctx)
    except GleamError as err:
        raise err.with_context(flow=ctx.flow, stage=ctx.stage, shard=ctx.shard_label) from None
    return TaskOutcome(ctx.stats, ctx.extras, time.perf_counter() - started)
