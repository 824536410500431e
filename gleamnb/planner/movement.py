"""Lowerings of the steps that only move rows between shards."""

from __future__ import annotations

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import PlanBuilder, groups
from gleamnb.planner.physical import Shards
from gleamnb.planner.registry import lowers
from gleamnb.runtime.stage import RoundRobinOut

__all__ = [
    "lower_partition",
    "lower_round_robin",
    "lower_broadcast",
    "lower_merge_to",
    "lower_union",
]


@lowers(steps.Partition)
def lower_partition(builder: PlanBuilder, node: Node, step: steps.Partition) -> Shards:
    return builder.shuffle_by_key(node.inputs[0], node, step.key, step.n)


@lowers(steps.RoundRobin)
def lower_round_robin(builder: PlanBuilder, node: Node, step: steps.RoundRobin) -> Shards:
    return builder.exchange(node.inputs[0], node, None, step.name, RoundRobinOut(n=step.n))


@lowers(steps.Broadcast)
def lower_broadcast(builder: PlanBuilder, node: Node, step: steps.Broadcast) -> Shards:
    """Every piece of the input in each of the ``n`` shards."""
    refs = [r for rs in builder.shards_of(node.inputs[0]) for r in rs]
    return [list(refs) for _ in range(step.n)]


@lowers(steps.MergeTo)
def lower_merge_to(builder: PlanBuilder, node: Node, step: steps.MergeTo) -> Shards:
    return groups(builder.shards_of(node.inputs[0]), step.n)


@lowers(steps.Union)
def lower_union(builder: PlanBuilder, node: Node, step: steps.Union) -> Shards:
    """The inputs' shards side by side; ordered: all of them, in order, as one shard."""
    shards: Shards = []
    for inp in node.inputs:
        shards.extend(list(refs) for refs in builder.shards_of(inp))
    if step.ordered:
        return [[r for refs in shards for r in refs]]
    return shards
