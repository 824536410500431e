"""The state of one lowering: the stages made so far and where each lowered dataset stands.

A lowered dataset is either an :class:`OpenStage` (its rows are made by a stage that narrow
steps may still join) or :data:`~gleamnb.planner.physical.Shards` (refs to the pieces that
hold its shards, once a stage was closed or the pieces only re-routed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gleamnb.plan.graph import Node, consumers, topological
from gleamnb.planner.fusion import can_fuse
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage, Ref, Shards, Target
from gleamnb.runtime.ops import relational
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.stage import Forward, HashOut, Output, ReadInput

__all__ = ["OpenStage", "Lowered", "PlanBuilder", "positions", "groups"]


@dataclass
class OpenStage:
    """A stage still taking narrow steps."""

    stage: PhysicalStage


Lowered = OpenStage | Shards
"""What the lowering of one step gives for its dataset."""


def positions(k: int) -> tuple[int, ...]:
    """The field positions ``1 .. k``: the key of rows whose key was moved first.

    >>> positions(3)
    (1, 2, 3)
    """
    return tuple(range(1, k + 1))


def groups(shards: Shards, n: int) -> Shards:
    """Consecutive groups of ``len(shards)`` shards into ``n`` (Gleam's linked N-to-1).

    >>> refs = [[Ref(0, i, 0)] for i in range(4)]
    >>> [[r.task for r in group] for group in groups(refs, 2)]
    [[0, 1], [2, 3]]
    """
    m = len(shards)
    out: Shards = [[] for _ in range(n)]
    for i, refs in enumerate(shards):
        out[(i * n) // m if m else 0].extend(refs)
    return out


class PlanBuilder:
    """Stages under construction for the datasets ``targets`` need, in topological order."""

    def __init__(self, flow: str, targets: list[Node]) -> None:
        self.flow = flow
        self.nodes = topological(targets)
        self.readers = consumers(self.nodes)
        self.stages: list[PhysicalStage] = []
        self.data: list[list[Any]] = []  # in-memory sources; data set k has stage id -(k + 1)
        self.dropped: set[int] = set()  # stages that turned out to only copy their input
        self.done: dict[int, Lowered] = {}

    def new_stage(self, tasks: int, head: Any, **kw: Any) -> PhysicalStage:
        st = PhysicalStage(id=len(self.stages), tasks=tasks, head=head, **kw)
        if not st.params:
            st.params = [{} for _ in range(tasks)]
        self.stages.append(st)
        return st

    def close(
        self,
        st: PhysicalStage,
        output: Output,
        node: Node | None = None,
        rows_of: Node | None = None,
    ) -> None:
        """Give ``st`` its output; ``rows_of`` is the dataset whose rows it routes."""
        st.output = output
        if rows_of is not None:
            st.rows_of = rows_of.step.name
        if node is not None and node.hints.materialize:
            st.on_disk = st.on_disk or node.hints.on_disk

    def shards_of(self, node: Node) -> Shards:
        """The node's shards as piece refs, closing its open stage (forward) if needed."""
        got = self.done[id(node)]
        if isinstance(got, OpenStage):
            st = got.stage
            copy_only = not st.ops and isinstance(st.head, ReadInput) and len(st.inputs) == 1
            if copy_only and not node.hints.materialize:
                # the stage would only copy its input: hand out the input's pieces instead
                self.dropped.add(st.id)
                self.done[id(node)] = st.inputs[0]
                return st.inputs[0]
            self.close(st, Forward(), node, rows_of=node)
            shards: Shards = [[Ref(st.id, j, 0)] for j in range(st.tasks)]
            self.done[id(node)] = shards
            return shards
        return got

    def open_for(self, node: Node) -> PhysicalStage:
        """A stage that the next step over ``node`` may append to (fusing when allowed)."""
        got = self.done[id(node)]
        count = len(self.readers.get(id(node), []))
        if isinstance(got, OpenStage) and can_fuse(node, count, True):
            return got.stage
        shards = self.shards_of(node)
        return self.new_stage(len(shards), ReadInput(name=f"d{node.id}"), inputs=[shards])

    def exchange(self, src: Node, node: Node, op: Op | None, label: str, output: Output) -> Shards:
        """``op`` (if any) run in the stage of ``src``, whose rows ``output`` then routes into
        buckets: bucket ``j`` of every task is shard ``j`` of ``node``."""
        st = self.open_for(src)
        if op is not None:
            st.ops.append(op)
        st.labels.append(label)
        self.close(st, output, node, rows_of=src)
        return [[Ref(st.id, i, j) for i in range(st.tasks)] for j in range(output.buckets)]

    def shuffle_by_key(self, src: Node, node: Node, key: tuple[Any, ...], n: int) -> Shards:
        """The rows of ``src``, key fields first, hash-shuffled by key into ``n`` shards."""
        op = relational.KeyFirstOp(name=node.step.name, key=key)
        return self.exchange(src, node, op, "key_first", HashOut(n=n, width=len(key)))

    def after(
        self, shards: Shards, head: Any | None = None, label: str | None = None
    ) -> PhysicalStage:
        st = self.new_stage(len(shards), head or ReadInput(name="input"), inputs=[shards])
        if label:
            st.labels.append(label)
        return st

    def gather(self, st: PhysicalStage, node: Node, op: Op, label: str) -> OpenStage:
        """``op`` over the rows of all of ``st``'s tasks, in one task (``st``'s own if it has
        only one: then nothing moves)."""
        if st.tasks == 1:
            st.ops.append(op)
            st.labels.append(label)
            return OpenStage(st)
        self.close(st, Forward(), node, rows_of=node.inputs[0])
        refs = [Ref(st.id, i, 0) for i in range(st.tasks)]
        nxt = self.after([refs], label=label)
        nxt.ops.append(op)
        return OpenStage(nxt)

    def narrow(self, node: Node, op: Op, label: str) -> OpenStage:
        """``op`` appended to the stage of ``node``'s input (or a new one)."""
        st = self.open_for(node.inputs[0])
        st.ops.append(op)
        st.labels.append(label)
        return OpenStage(st)

    def record(self, node: Node, lowered: Lowered) -> None:
        """Keep where ``node``'s dataset stands, honouring its ``on_disk``/``cache`` hints."""
        self.done[id(node)] = lowered
        if isinstance(lowered, OpenStage):
            lowered.stage.datasets.append(node.id)
            if node.hints.materialize:
                self.shards_of(node)
        elif node.hints.on_disk:
            for refs in lowered:
                for r in refs:
                    if r.stage >= 0:  # in-memory source data is held by the driver
                        self.stages[r.stage].on_disk = True

    def plan(self, targets: list[Target]) -> PhysicalPlan:
        """The physical plan of the stages made, numbered in dependency order."""
        plan = PhysicalPlan(self.flow, self.stages, targets, data=self.data)
        return _renumber(plan, self.dropped)


def _renumber(plan: PhysicalPlan, dropped: set[int]) -> PhysicalPlan:
    """Number stages so that every stage comes after the stages it reads; drop unused ones."""
    order: list[int] = []
    seen: set[int] = set()

    def visit(sid: int) -> None:
        if sid < 0 or sid in seen:
            return
        seen.add(sid)
        for up in plan.stages[sid].upstream():
            visit(up)
        order.append(sid)

    for st in plan.stages:
        if st.id not in dropped:
            visit(st.id)
    new_id = {old: new for new, old in enumerate(order)}

    def ref(r: Ref) -> Ref:
        return r if r.stage < 0 else Ref(new_id[r.stage], r.task, r.bucket)

    stages = []
    for old in order:
        st = plan.stages[old]
        st.id = new_id[old]
        st.inputs = [[[ref(r) for r in refs] for refs in shards] for shards in st.inputs]
        stages.append(st)
    for t in plan.targets:
        t.shards = [[ref(r) for r in refs] for refs in t.shards]
        if t.stage is not None:
            t.stage = new_id[t.stage]
    plan.stages = stages
    return plan
