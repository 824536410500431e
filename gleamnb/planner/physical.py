"""The physical plan: stages, the pieces each task reads, and what the driver does at the end.

A stage's output is a grid of **pieces**: one per (task, bucket). A consumer task reads a list
of :class:`Ref` to such pieces; the lists say how data moves between stages:

============  ===========================================  ==================================
movement      consumer task ``j`` reads                    used by
============  ===========================================  ==================================
forward       ``(i=j, bucket 0)``                          narrow steps after a barrier
shuffle       ``(every i, bucket j)``                      reduce_by_key, join, partition...
gather        ``(every i in group j, bucket 0)``           merge_to, top, limit, reduce
broadcast     ``(every i, bucket 0)`` for every ``j``      broadcast, hash_join's small side
============  ===========================================  ==================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from gleamnb.events import StageInfo
from gleamnb.plan.graph import Node
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.stage import Head, Output

__all__ = ["Ref", "Shards", "PhysicalStage", "Target", "PhysicalPlan"]


@dataclass(frozen=True)
class Ref:
    """Bucket ``bucket`` of task ``task`` of stage ``stage``."""

    stage: int
    task: int
    bucket: int


Shards = list[list[Ref]]


@dataclass
class PhysicalStage:
    """One stage: ``tasks`` tasks, each running ``head`` -> ``ops`` -> ``output``.

    ``inputs[k][j]`` are the pieces task ``j`` reads as input ``k``. ``params[j]`` are task
    ``j``'s own parameters. ``needs_cuts`` marks a range-sort merge, whose tasks get the key
    cut points computed from the samples of the stage feeding input 0. ``rows_of`` is the
    step whose rows the stage's output holds (the input of the wide step its output feeds:
    ``map`` before ``local_reduce_by_key``), named when its tasks' rows disagree.
    """

    id: int
    tasks: int
    head: Head
    ops: list[Op] = field(default_factory=list)
    output: Output | None = None
    inputs: list[Shards] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    datasets: list[int] = field(default_factory=list)
    on_disk: bool = False
    needs_cuts: bool = False
    rows_of: str | None = None

    @property
    def name(self) -> str:
        return "->".join(self.labels) if self.labels else f"stage {self.id}"

    def upstream(self) -> list[int]:
        """Ids of the stages this one reads, in first-use order."""
        seen: list[int] = []
        for shards in self.inputs:
            for refs in shards:
                for r in refs:
                    if r.stage not in seen:
                        seen.append(r.stage)
        return seen


@dataclass
class Target:
    """What the driver does once the stages are done.

    ``kind`` is ``collect`` (read ``shards``: collect/take/printf/output_row/...),
    ``count`` (add the counts the tasks of ``stage`` reported) or ``save`` (report the
    files the tasks of ``stage`` wrote).
    """

    kind: str
    node: Node
    shards: Shards = field(default_factory=list)
    stage: int | None = None


@dataclass
class PhysicalPlan:
    """Stages in dependency order, the driver's targets, and the in-memory source data.

    ``data[k]`` holds the shards (tables) of an in-memory source; refs to it use the stage id
    ``-(k + 1)``: runners store those tables as pieces instead of running tasks.
    """

    flow: str
    stages: list[PhysicalStage]
    targets: list[Target]
    data: list[list[pa.Table]] = field(default_factory=list)

    def stage(self, sid: int) -> PhysicalStage:
        return self.stages[sid]

    def stage_infos(self) -> tuple[StageInfo, ...]:
        """The stages as the DAG views draw them (what ``RunStarted`` carries)."""
        return tuple(
            StageInfo(
                id=s.id,
                name=s.name,
                tasks=s.tasks,
                datasets=tuple(s.datasets),
                inputs=tuple(u for u in s.upstream() if u >= 0),
                output=s.output.describe() if s.output is not None else "forward",
            )
            for s in self.stages
        )

    def describe(self) -> str:
        """The stage list of ``Flow.explain()``."""
        lines = []
        for st in self.stages:
            task_word = "task" if st.tasks == 1 else "tasks"
            reads = ""
            ups = [u for u in st.upstream() if u >= 0]
            if ups:
                reads = " <- " + ", ".join(f"stage {u}" for u in ups)
            out = st.output.describe() if st.output is not None else "forward"
            extra = " [on disk]" if st.on_disk else ""
            lines.append(
                f"stage {st.id}: {st.name}  ({st.tasks} {task_word}){reads} -> {out}{extra}"
            )
        return "\n".join(lines)
