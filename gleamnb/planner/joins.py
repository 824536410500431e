"""Lowerings of the joins: both sides shuffled by key, or the small side broadcast."""

from __future__ import annotations

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import OpenStage, PlanBuilder, positions
from gleamnb.planner.registry import lowers
from gleamnb.runtime.ops import join

__all__ = ["lower_join", "lower_hash_join"]


@lowers(steps.Join, steps.CoGroup)
def lower_join(builder: PlanBuilder, node: Node, step: steps.Join | steps.CoGroup) -> OpenStage:
    """Both sides key first, hash-shuffled into the left's shard count; task ``j`` joins
    bucket ``j`` of the left (input 0) with bucket ``j`` of the right (input 1)."""
    on = positions(len(step.on))
    if isinstance(step, steps.Join):
        op: join.JoinOp | join.CoGroupOp = join.JoinOp(name=step.name, how=step.how, on=on)
    else:
        op = join.CoGroupOp(name=step.name, on=on)
    left, right = (builder.shuffle_by_key(side, node, step.on, node.shards) for side in node.inputs)
    nxt = builder.after(left, label=step.name)
    nxt.inputs.append(right)
    nxt.ops.append(op)
    return OpenStage(nxt)


@lowers(steps.HashJoin)
def lower_hash_join(builder: PlanBuilder, node: Node, step: steps.HashJoin) -> OpenStage:
    """Every piece of the small side given to every task of the big side's stage (input 1)."""
    big, small = node.inputs
    small_refs = [r for refs in builder.shards_of(small) for r in refs]
    st = builder.open_for(big)
    if len(st.inputs) > 1:  # the stage already reads a side input: start a fresh one
        st = builder.after(builder.shards_of(big))
    if not st.inputs:  # a source stage: its input 0 is its own files or range
        st.inputs.append([[] for _ in range(st.tasks)])
    st.inputs.append([list(small_refs) for _ in range(st.tasks)])
    st.ops.append(join.HashJoinOp(name=step.name, on=step.on))
    st.labels.append(step.name)
    return OpenStage(st)
