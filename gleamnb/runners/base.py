"""What every runner shares: the interface, event delivery, and finishing the targets."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from gleamnb.planner.physical import PhysicalPlan, Shards
from gleamnb.runners.events import Event, Listener, StageInfo
from gleamnb.runners.result import RunResult
from gleamnb.runtime.ops.base import concat_batches

__all__ = ["Runner", "emit", "stage_infos", "collect_targets"]


class Runner(ABC):
    """Runs a physical plan and reports it through events."""

    name: str = "runner"

    @abstractmethod
    def execute(self, plan: PhysicalPlan, listeners: Sequence[Listener] = ()) -> RunResult:
        """Run ``plan``; emit events to ``listeners``; return statistics and target outputs."""


def emit(listeners: Sequence[Listener], event: Event) -> None:
    """Deliver ``event``; a failing listener is reported once and never stops the run."""
    for listener in listeners:
        try:
            listener(event)
        except Exception as exc:  # a display bug must not lose the user's run
            warnings.warn(f"progress listener {listener!r} failed: {exc!r}", stacklevel=2)


def stage_infos(plan: PhysicalPlan) -> tuple[StageInfo, ...]:
    """The stages as the DAG views draw them (in-memory data stages left out)."""
    data = {s.id for s in plan.stages if s.data is not None}
    return tuple(
        StageInfo(
            id=s.id,
            name=s.name,
            tasks=s.tasks,
            datasets=tuple(s.datasets),
            inputs=tuple(u for u in s.upstream() if u not in data),
            output=s.output.describe() if s.output is not None else "forward",
        )
        for s in plan.stages
        if s.id not in data
    )


def collect_targets(
    plan: PhysicalPlan,
    read_shards: Callable[[Shards], list[list[pa.Table]]],
    extras: dict[int, list[dict[str, Any]]],
) -> list[Any]:
    """What each target produced: a table (rows, shards in order), a count, or saved files."""
    outputs: list[Any] = []
    for target in plan.targets:
        if target.kind == "count":
            outputs.append(sum(e.get("count", 0) for e in extras[target.stage]))  # type: ignore[index]
        elif target.kind == "save":
            outputs.append([e["saved"] for e in extras[target.stage] if "saved" in e])  # type: ignore[index]
        else:
            tables = [t for shard in read_shards(target.shards) for t in shard]
            batches = [b for t in tables for b in t.to_batches()]
            if batches:
                outputs.append(concat_batches(batches, step=target.node.step.name))
            elif tables:
                outputs.append(tables[0].schema.empty_table())
            else:
                outputs.append(pa.table({}))
    return outputs
