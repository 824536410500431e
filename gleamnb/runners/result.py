"""What a run returns: per-stage statistics, and the data its actions asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["StepTotals", "StageStats", "RunResult"]


@dataclass
class StepTotals:
    """Rows and bytes one step emitted, over all tasks of its stage."""

    name: str
    rows: int = 0
    bytes: int = 0


@dataclass
class StageStats:
    """What one stage did."""

    id: int
    name: str
    tasks: int
    rows: int = 0  # emitted by its last step (its output)
    bytes: int = 0
    seconds: float = 0.0
    read_rows: int = 0  # emitted by its head (what it read)
    read_bytes: int = 0
    task_seconds: float = 0.0
    spilled_bytes: int = 0  # written to disk because the memory budget was used up
    disk_bytes: int = 0  # written to disk because the dataset is marked on_disk()
    steps: list[StepTotals] = field(default_factory=list)

    @property
    def spilled(self) -> bool:
        return self.spilled_bytes > 0


@dataclass
class RunResult:
    """The outcome of ``Flow.run()`` (and of every action, kept as ``flow.last_run``).

    Attributes
    ----------
    flow
        The flow's name.
    runner
        Which runner ran it (``local``, ``local-inline``, ``dask``).
    seconds
        Wall time of the run.
    stages
        Per-stage statistics, in plan order.
    outputs
        What each sink or action produced, by target index (tables, counts, saved files).
    data_spilled_bytes
        Bytes of in-memory source data (``from_arrow``, ``ints``, ...) the driver wrote to the
        disk folder for lack of memory budget.
    """

    flow: str
    runner: str
    seconds: float = 0.0
    stages: list[StageStats] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    data_spilled_bytes: int = 0

    @property
    def spilled(self) -> bool:
        """Whether any data went to the disk folder for lack of memory budget."""
        return self.spilled_bytes > 0

    @property
    def spilled_bytes(self) -> int:
        """Bytes written to the disk folder for lack of memory budget, source data included."""
        return self.data_spilled_bytes + sum(s.spilled_bytes for s in self.stages)

    @property
    def rows(self) -> int:
        return self.stages[-1].rows if self.stages else 0

    def summary(self) -> str:
        """One line per stage: name, tasks, rows, bytes and seconds."""
        lines = [f"run of {self.flow!r} on {self.runner}: {self.seconds:.3f}s"]
        if self.data_spilled_bytes:
            lines.append(f"  source data: spilled {self.data_spilled_bytes / 1e6:.1f} MB")
        for s in self.stages:
            spill = f", spilled {s.spilled_bytes / 1e6:.1f} MB" if s.spilled else ""
            lines.append(
                f"  stage {s.id} {s.name}: {s.tasks} task{'s' if s.tasks != 1 else ''}, "
                f"{s.rows:,} rows, "
                f"{s.bytes / 1e6:.1f} MB, {s.seconds:.3f}s{spill}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
