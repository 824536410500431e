"""Lower a logical DAG to stages: Gleam's building blocks, fused.

Each high-level step becomes the per-shard operators and data movements Gleam builds it from:

=================  ==========================================================================
step               becomes
=================  ==========================================================================
reduce_by_key      local reduce (map-side combine) -> hash shuffle by key -> reduce
group_by_key       key first -> hash shuffle by key -> group
distinct           local distinct -> hash shuffle -> distinct
sort               local sort -> sorted runs + key samples -> range merge (one range per task)
top                local top -> gather into 1 -> top
limit / reduce     local limit / reduce -> gather into 1 -> limit / reduce
join, co_group     both sides: key first -> hash shuffle into the left's shard count -> join
hash_join          small side broadcast to every task of the big side's stage -> join there
partition          key first -> hash shuffle;  round_robin / broadcast / merge_to likewise
union              the inputs' shards side by side (ordered: one shard, inputs in order)
=================  ==========================================================================

Narrow steps join their input's stage by the rule in :mod:`gleamnb.planner.fusion`.

Each step type's lowering is registered with :func:`~gleamnb.planner.registry.lowers` in the
module of its family: ``sources``, ``narrow``, ``grouping`` (by key), ``gather`` (into one
shard), ``sort``, ``joins`` and ``movement``; :class:`~gleamnb.planner.builder.PlanBuilder`
keeps the stages while they are made. Sinks and actions become the plan's targets here.
"""

from __future__ import annotations

from gleamnb.errors import GleamError
from gleamnb.plan import steps
from gleamnb.plan.graph import Node

# The lowering modules register their functions in LOWERINGS as they are imported.
from gleamnb.planner import (  # noqa: F401
    gather,
    grouping,
    joins,
    movement,
    narrow,
    sort,
    sources,
)
from gleamnb.planner.builder import PlanBuilder
from gleamnb.planner.physical import PhysicalPlan, Target
from gleamnb.planner.registry import lowering_for
from gleamnb.runtime.ops import aggregate, io
from gleamnb.runtime.stage import Discard

__all__ = ["lower"]


def lower(flow: str, targets: list[Node]) -> PhysicalPlan:
    """The physical plan computing ``targets`` (sink or action nodes) of a flow.

    Examples
    --------
    >>> numbers = Node(0, steps.RangeSource(name="range", stop=10, shards=2), (), 2, ("_1",))
    >>> squares = Node(1, steps.Map(name="square", fn=lambda x: x * x), (numbers,), 2, ("_1",))
    >>> plan = lower("squares", [Node(-1, steps.Count(name="count"), (squares,), 2, ())])
    >>> [(st.id, st.name, st.tasks, st.params) for st in plan.stages]
    [(0, 'range->square->count', 2, [{'start': 0, 'stop': 5}, {'start': 5, 'stop': 10}])]
    >>> [(t.kind, t.stage) for t in plan.targets]
    [('count', 0)]
    """
    builder = PlanBuilder(flow, targets)
    for node in builder.nodes:
        step = node.step
        if step.sink:
            continue  # a target, lowered below
        lowering = lowering_for(step)
        try:
            lowered = lowering(builder, node, step)
        except GleamError as err:  # e.g. an input file removed since the flow was built
            raise err.with_context(flow=flow, step=step.name) from None
        builder.record(node, lowered)
    return builder.plan([_target(builder, t) for t in targets])


def _target(builder: PlanBuilder, node: Node) -> Target:
    """What the driver does with ``node``: add counts, report saved files, or read shards."""
    step = node.step
    src = node.inputs[0]
    if isinstance(step, (steps.Count, steps.Save)):
        st = builder.open_for(src)
        if isinstance(step, steps.Count):
            st.ops.append(aggregate.CountOp(name="count"))
            st.labels.append("count")
            kind = "count"
        else:
            st.ops.append(
                io.SaveOp(name=step.name, path=step.path, format=step.format, header=step.header)
            )
            st.labels.append(f"save({step.format})")
            kind = "save"
        builder.close(st, Discard())
        return Target(kind, node, stage=st.id)
    return Target("collect", node, shards=builder.shards_of(src))
