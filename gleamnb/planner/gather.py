"""Lowerings of the steps whose result is one shard: a local step per task, then the final
step over all of them in one task."""

from __future__ import annotations

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.plan.reducers import merging
from gleamnb.planner.builder import OpenStage, PlanBuilder
from gleamnb.planner.registry import lowers
from gleamnb.runtime.ops import aggregate, relational

__all__ = ["lower_reduce", "lower_top", "lower_limit"]


@lowers(steps.Reduce)
def lower_reduce(builder: PlanBuilder, node: Node, step: steps.Reduce) -> OpenStage:
    st = builder.open_for(node.inputs[0])
    if st.tasks == 1:
        op = aggregate.ReduceAllOp(name=step.name, reducer=step.reducer)
        return builder.gather(st, node, op, step.name)
    st.ops.append(aggregate.ReduceAllOp(name=step.name, reducer=step.reducer))
    st.labels.append(f"local_{step.kind}")
    op = aggregate.ReduceAllOp(name=step.name, reducer=merging(step.reducer))
    return builder.gather(st, node, op, step.name)


@lowers(steps.Top)
def lower_top(builder: PlanBuilder, node: Node, step: steps.Top) -> OpenStage:
    st = builder.open_for(node.inputs[0])
    if st.tasks > 1:
        st.ops.append(relational.LocalTopOp(name=step.name, n=step.n, order=step.order))
        st.labels.append(f"local_{step.kind}")
    op = relational.LocalTopOp(name=step.name, n=step.n, order=step.order)
    return builder.gather(st, node, op, step.name)


@lowers(steps.Limit)
def lower_limit(builder: PlanBuilder, node: Node, step: steps.Limit) -> OpenStage:
    """Each task keeps its first ``n + offset`` rows; one task then skips and limits."""
    st = builder.open_for(node.inputs[0])
    if st.tasks > 1:
        st.ops.append(relational.LocalLimitOp(name=step.name, n=step.n + step.offset))
        st.labels.append(f"local_{step.kind}")
    op = relational.LocalLimitOp(name=step.name, n=step.n, offset=step.offset)
    return builder.gather(st, node, op, step.name)
