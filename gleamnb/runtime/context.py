"""What a running stage task can see: where it is, its inputs, and where its numbers go.

The runtime does not know how shards arrive. A runner hands the task an :class:`Inputs`
object (memory-mapped files for the local runner, Dask-delivered tables for the distributed
one) and reads back the task's :class:`StepStats`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from gleamnb.rows import empty_batch

__all__ = ["Inputs", "TableInputs", "StepStats", "TaskContext", "REPORT_INTERVAL"]

#: A running task reports its progress at most this often (seconds).
REPORT_INTERVAL = 0.2


class Inputs(Protocol):
    """The input shards of one stage task."""

    def count(self) -> int:
        """Number of stage inputs (1, or 2 for a join)."""
        ...

    def batches(self, k: int) -> Iterator[pa.RecordBatch]:
        """Stream the record batches of input ``k``, its pieces in order."""
        ...

    def pieces(self, k: int) -> list[pa.Table]:
        """The pieces of input ``k`` as tables (one per producing task)."""
        ...


@dataclass
class TableInputs:
    """:class:`Inputs` over tables already in memory (tests, inline runs, Dask)."""

    tables: list[list[pa.Table]]

    def count(self) -> int:
        return len(self.tables)

    def batches(self, k: int) -> Iterator[pa.RecordBatch]:
        for table in self.tables[k]:
            if table.num_rows:
                yield from table.to_batches()
            elif len(table.schema):
                yield empty_batch(table.schema)

    def pieces(self, k: int) -> list[pa.Table]:
        return list(self.tables[k])


@dataclass
class StepStats:
    """Rows and bytes one step emitted in one task."""

    name: str
    rows: int = 0
    bytes: int = 0
    batches: int = 0


@dataclass
class TaskContext:
    """Where a stage task runs and what it has reported so far.

    Parameters
    ----------
    flow, stage
        Names used in error messages.
    shard, num_shards
        This task's shard index (0-based) and the stage's task count.
    inputs
        The task's input shards.
    progress
        Called now and then (throttled, by :meth:`report`) with the task's figures so far:
        ``(read_rows, read_bytes, rows, bytes)``, what its head emitted (``stats[0]``, the
        rows read) and what its last step emitted (``stats[-1]``, the rows written).
    """

    flow: str
    stage: str
    shard: int
    num_shards: int
    inputs: Inputs
    progress: Callable[[int, int, int, int], None] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stats: list[StepStats] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    _last_report: float = 0.0

    @property
    def memory_budget(self) -> float:
        """This task's share of the run's memory budget in bytes (unbounded if not given)."""
        return float(self.params.get("memory_budget", float("inf")))

    @property
    def shard_label(self) -> str:
        return f"{self.shard + 1}/{self.num_shards}"

    def where(self, step: str | None = None) -> dict[str, Any]:
        """Context fields for a :class:`~gleamnb.errors.GleamError`."""
        return {"flow": self.flow, "stage": self.stage, "shard": self.shard_label, "step": step}

    def report(self) -> None:
        """Pass the rows and bytes read and written so far to :attr:`progress`, at most
        every :data:`REPORT_INTERVAL` seconds (the steps call it after each batch)."""
        if self.progress is None or not self.stats:
            return
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            head, last = self.stats[0], self.stats[-1]
            self.progress(head.rows, head.bytes, last.rows, last.bytes)
