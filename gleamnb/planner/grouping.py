"""Lowerings of the steps by key: a local step, a hash shuffle by key, the step per shard."""

from __future__ import annotations

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.plan.reducers import merging
from gleamnb.planner.builder import OpenStage, PlanBuilder, positions
from gleamnb.planner.physical import Shards
from gleamnb.planner.registry import lowers
from gleamnb.runtime.ops import aggregate, relational
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.stage import HashOut

__all__ = ["lower_reduce_by_key", "lower_group_by_key", "lower_distinct"]


def _then(builder: PlanBuilder, shards: Shards, op: Op, label: str) -> OpenStage:
    nxt = builder.after(shards, label=label)
    nxt.ops.append(op)
    return OpenStage(nxt)


@lowers(steps.ReduceByKey)
def lower_reduce_by_key(builder: PlanBuilder, node: Node, step: steps.ReduceByKey) -> OpenStage:
    """A map-side combine, then the partial results merged per key."""
    k = len(step.key)
    local = aggregate.ReduceByKeyOp(name=step.name, reducer=step.reducer, key=step.key)
    shards = builder.exchange(
        node.inputs[0], node, local, f"local_{step.kind}", HashOut(n=node.shards, width=k)
    )
    merge = aggregate.ReduceByKeyOp(name=step.name, reducer=merging(step.reducer), key=positions(k))
    return _then(builder, shards, merge, step.name)


@lowers(steps.GroupByKey)
def lower_group_by_key(builder: PlanBuilder, node: Node, step: steps.GroupByKey) -> OpenStage:
    shards = builder.shuffle_by_key(node.inputs[0], node, step.key, node.shards)
    op = aggregate.GroupByKeyOp(name=step.name, key=positions(len(step.key)))
    return _then(builder, shards, op, step.name)


@lowers(steps.Distinct)
def lower_distinct(builder: PlanBuilder, node: Node, step: steps.Distinct) -> OpenStage:
    """Distinct rows of each task, shuffled by key (all fields: ``key=()``), made distinct."""
    local = relational.LocalDistinctOp(name=step.name, key=step.key)
    width = len(step.key) or None
    shards = builder.exchange(
        node.inputs[0], node, local, f"local_{step.kind}", HashOut(n=node.shards, width=width)
    )
    op = relational.LocalDistinctOp(name=step.name, key=positions(len(step.key)))
    return _then(builder, shards, op, step.name)
