"""Lowerings of the sources: each starts a stage of one task per shard."""

from __future__ import annotations

from gleamnb.files.listing import list_files
from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import OpenStage, PlanBuilder
from gleamnb.planner.physical import Ref
from gleamnb.planner.registry import lowers
from gleamnb.runtime.stage import ReadFiles, ReadInput, ReadRange
from gleamnb.scan.splits import plan_splits

__all__ = ["lower_in_memory", "lower_range", "lower_files"]


@lowers(steps.InMemory)
def lower_in_memory(builder: PlanBuilder, node: Node, step: steps.InMemory) -> OpenStage:
    """The driver's rows cut into ``shards`` tables, held by the plan (negative stage ids)."""
    n = step.shards
    rows = step.table.num_rows
    bounds = [(rows * j) // n for j in range(n + 1)]
    builder.data.append([step.table.slice(bounds[j], bounds[j + 1] - bounds[j]) for j in range(n)])
    refs = [[Ref(-len(builder.data), j, 0)] for j in range(n)]
    st = builder.new_stage(n, ReadInput(name=step.name), inputs=[refs])
    st.labels.append(step.name)
    return OpenStage(st)


@lowers(steps.RangeSource)
def lower_range(builder: PlanBuilder, node: Node, step: steps.RangeSource) -> OpenStage:
    """An int range cut into ``shards`` consecutive ranges, one per task."""
    n = step.shards
    total = max(0, step.stop - step.start)
    bounds = [step.start + (total * j) // n for j in range(n + 1)]
    params = [{"start": bounds[j], "stop": bounds[j + 1]} for j in range(n)]
    st = builder.new_stage(n, ReadRange(name=step.name), params=params)
    st.labels.append(step.name)
    return OpenStage(st)


@lowers(steps.FileSource)
def lower_files(builder: PlanBuilder, node: Node, step: steps.FileSource) -> OpenStage:
    """The files listed now, cut into one list of splits per task."""
    files = list_files(step.spec)
    splits = plan_splits(step.spec, files, node.shards)
    st = builder.new_stage(
        node.shards,
        ReadFiles(name=step.name, spec=step.spec),
        params=[{"splits": s} for s in splits],
    )
    st.labels.append(step.name)
    return OpenStage(st)
