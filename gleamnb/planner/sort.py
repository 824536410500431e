"""Lowerings of the sorts: a range-partitioned sort, and the merge of sorted shards."""

from __future__ import annotations

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import OpenStage, PlanBuilder, groups
from gleamnb.planner.physical import Ref
from gleamnb.planner.registry import lowers
from gleamnb.runtime.ops import relational
from gleamnb.runtime.stage import MergeRange, MergeSorted, SortedRunOut

__all__ = ["lower_sort", "lower_merge_sorted_to"]


@lowers(steps.Sort)
def lower_sort(builder: PlanBuilder, node: Node, step: steps.Sort) -> OpenStage:
    """Each task writes a sorted run and a key sample; every merge task reads all the runs
    and keeps its key range, cut from the pooled samples (``needs_cuts``)."""
    st = builder.open_for(node.inputs[0])
    st.ops.append(relational.LocalSortOp(name=step.name, order=step.order))
    st.labels.append(f"local_{step.kind}")
    builder.close(st, SortedRunOut(order=step.order), node, rows_of=node.inputs[0])
    refs = [Ref(st.id, i, 0) for i in range(st.tasks)]
    nxt = builder.after(
        [list(refs) for _ in range(node.shards)],
        head=MergeRange(name=step.name, order=step.order),
        label=step.name,
    )
    nxt.needs_cuts = True
    return OpenStage(nxt)


@lowers(steps.MergeSortedTo)
def lower_merge_sorted_to(builder: PlanBuilder, node: Node, step: steps.MergeSortedTo) -> OpenStage:
    """Consecutive sorted shards merged in order into ``n``."""
    shards = groups(builder.shards_of(node.inputs[0]), step.n)
    head = MergeSorted(name=step.name, order=step.order)
    return OpenStage(builder.after(shards, head=head, label=step.name))
