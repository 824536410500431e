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
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from gleamnb.errors import ArgumentError, GleamError
from gleamnb.files.listing import list_files
from gleamnb.plan import steps as S
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.graph import Node, consumers, topological
from gleamnb.plan.reducers import Reducer
from gleamnb.planner.fusion import can_fuse
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage, Ref, Shards, Target
from gleamnb.runtime.ops import aggregate as A
from gleamnb.runtime.ops import io as IO
from gleamnb.runtime.ops import join as J
from gleamnb.runtime.ops import mappers as B
from gleamnb.runtime.ops import relational as R
from gleamnb.runtime.ops import udf as U
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.stage import (
    Discard,
    Forward,
    HashOut,
    MergeRange,
    MergeSorted,
    Output,
    ReadFiles,
    ReadInput,
    ReadRange,
    RoundRobinOut,
    SortedRunOut,
)
from gleamnb.scan.splits import plan_splits

__all__ = ["lower"]

_BUILTIN_OPS: dict[tuple[str, str], type[Op]] = {
    ("flat_map", "tokenize"): B.TokenizeOp,
    ("map", "lowercase"): B.LowercaseOp,
    ("map", "append_one"): B.AppendOneOp,
}


@dataclass
class _Open:
    """A stage still taking narrow steps."""

    stage: PhysicalStage


def _positions(k: int) -> tuple[int, ...]:
    return tuple(range(1, k + 1))


class _Lowerer:
    def __init__(self, flow: str, targets: list[Node]) -> None:
        self.flow = flow
        self.nodes = topological(targets)
        self.readers = consumers(self.nodes)
        self.stages: list[PhysicalStage] = []
        self.data: list[list[Any]] = []  # in-memory sources; data set k has stage id -(k + 1)
        self.dropped: set[int] = set()  # stages that turned out to only copy their input
        self.done: dict[int, _Open | Shards] = {}

    # -- stage bookkeeping ---------------------------------------------------------------------

    def new_stage(self, tasks: int, head: Any, **kw: Any) -> PhysicalStage:
        st = PhysicalStage(id=len(self.stages), tasks=tasks, head=head, **kw)
        if not st.params:
            st.params = [{} for _ in range(tasks)]
        self.stages.append(st)
        return st

    def close(self, st: PhysicalStage, output: Output, node: Node | None = None) -> None:
        st.output = output
        if node is not None and node.hints.materialize:
            st.on_disk = st.on_disk or node.hints.on_disk

    def shards_of(self, node: Node) -> Shards:
        """The node's shards as piece refs, closing its open stage (forward) if needed."""
        got = self.done[id(node)]
        if isinstance(got, _Open):
            st = got.stage
            copy_only = not st.ops and isinstance(st.head, ReadInput) and len(st.inputs) == 1
            if copy_only and not node.hints.materialize:
                # the stage would only copy its input: hand out the input's pieces instead
                self.dropped.add(st.id)
                self.done[id(node)] = st.inputs[0]
                return st.inputs[0]
            self.close(st, Forward(), node)
            shards: Shards = [[Ref(st.id, j, 0)] for j in range(st.tasks)]
            self.done[id(node)] = shards
            return shards
        return got

    def open_for(self, node: Node) -> PhysicalStage:
        """A stage that the next step over ``node`` may append to (fusing when allowed)."""
        got = self.done[id(node)]
        count = len(self.readers.get(id(node), []))
        if isinstance(got, _Open) and can_fuse(node, count, True):
            return got.stage
        shards = self.shards_of(node)
        return self.new_stage(len(shards), ReadInput(name=f"d{node.id}"), inputs=[shards])

    def shuffle(self, st: PhysicalStage, output: Output, node: Node) -> Shards:
        self.close(st, output, node)
        n = output.buckets
        return [[Ref(st.id, i, j) for i in range(st.tasks)] for j in range(n)]

    def after(
        self, shards: Shards, head: Any | None = None, label: str | None = None
    ) -> PhysicalStage:
        st = self.new_stage(len(shards), head or ReadInput(name="input"), inputs=[shards])
        if label:
            st.labels.append(label)
        return st

    # -- the walk ------------------------------------------------------------------------------

    def run(self, targets: list[Node]) -> PhysicalPlan:
        for node in self.nodes:
            self.lower(node)
        plan_targets = [self.target(t) for t in targets]
        plan = PhysicalPlan(self.flow, self.stages, plan_targets, data=self.data)
        return _renumber(plan, self.dropped)

    def lower(self, node: Node) -> None:
        step = node.step
        if step.sink:
            return  # handled as a target
        handler = getattr(self, f"_{type(step).__name__}", None)
        if handler is None:
            raise ArgumentError(f"the planner does not know step kind {step.kind!r}")
        try:
            result = handler(node, step)
        except GleamError as err:  # e.g. an input file removed since the flow was built
            raise err.with_context(flow=self.flow, step=step.name) from None
        self.done[id(node)] = result
        if isinstance(result, _Open):
            result.stage.datasets.append(node.id)
            if node.hints.materialize:
                self.shards_of(node)
        elif node.hints.on_disk:
            for refs in result:
                for r in refs:
                    self.stages[r.stage].on_disk = True

    def narrow(self, node: Node, op: Op, label: str) -> _Open:
        st = self.open_for(node.inputs[0])
        st.ops.append(op)
        st.labels.append(label)
        return _Open(st)

    def target(self, node: Node) -> Target:
        step = node.step
        src = node.inputs[0]
        if isinstance(step, (S.Count, S.Save)):
            st = self.open_for(src)
            if isinstance(step, S.Count):
                st.ops.append(A.CountOp(name="count"))
                st.labels.append("count")
                kind = "count"
            else:
                st.ops.append(IO.SaveOp(name=step.name, path=step.path, format=step.format))
                st.labels.append(f"save({step.format})")
                kind = "save"
            self.close(st, Discard())
            return Target(kind, node, stage=st.id)
        return Target("collect", node, shards=self.shards_of(src))

    # -- sources -------------------------------------------------------------------------------

    def _InMemory(self, node: Node, step: S.InMemory) -> _Open:
        n = step.shards
        rows = step.table.num_rows
        bounds = [(rows * j) // n for j in range(n + 1)]
        self.data.append([step.table.slice(bounds[j], bounds[j + 1] - bounds[j]) for j in range(n)])
        refs = [[Ref(-len(self.data), j, 0)] for j in range(n)]
        st = self.new_stage(n, ReadInput(name=step.name), inputs=[refs])
        st.labels.append(step.name)
        return _Open(st)

    def _RangeSource(self, node: Node, step: S.RangeSource) -> _Open:
        n = step.shards
        total = max(0, step.stop - step.start)
        bounds = [step.start + (total * j) // n for j in range(n + 1)]
        params = [{"start": bounds[j], "stop": bounds[j + 1]} for j in range(n)]
        st = self.new_stage(n, ReadRange(name=step.name), params=params)
        st.labels.append(step.name)
        return _Open(st)

    def _FileSource(self, node: Node, step: S.FileSource) -> _Open:
        files = list_files(step.spec)
        splits = plan_splits(step.spec, files, node.shards)
        st = self.new_stage(
            node.shards,
            ReadFiles(name=step.name, spec=step.spec),
            params=[{"splits": s} for s in splits],
        )
        st.labels.append(step.name)
        return _Open(st)

    # -- narrow steps --------------------------------------------------------------------------

    def _udf(self, node: Node, step: Any, op_type: type[Op]) -> _Open:
        fn = step.fn
        if isinstance(fn, BuiltinFunction):
            builtin = _BUILTIN_OPS.get((step.kind, fn.name))
            if builtin is not None and fn.kind == step.kind:
                return self.narrow(node, builtin(name=step.name), step.name)
        return self.narrow(node, op_type(name=step.name, fn=fn), step.name)

    def _Map(self, node: Node, step: S.Map) -> _Open:
        return self._udf(node, step, U.MapOp)

    def _FlatMap(self, node: Node, step: S.FlatMap) -> _Open:
        return self._udf(node, step, U.FlatMapOp)

    def _Filter(self, node: Node, step: S.Filter) -> _Open:
        return self._udf(node, step, U.FilterOp)

    def _MapBatches(self, node: Node, step: S.MapBatches) -> _Open:
        return self.narrow(
            node, U.MapBatchesOp(name=step.name, fn=step.fn, format=step.format), step.name
        )

    def _Select(self, node: Node, step: S.Select) -> _Open:
        pushed = self._push_projection(node.inputs[0], step.fields)
        fields = _positions(len(step.fields)) if pushed else step.fields
        return self.narrow(node, R.SelectOp(name=step.name, fields=fields), step.name)

    def _push_projection(self, src: Node, fields: tuple[Any, ...]) -> bool:
        """Read only the selected columns of a Parquet or ORC source (projection pushdown).

        Applies when the select is the source's only reader and nothing ran in between;
        the select then keeps the projected columns in its order by position.
        """
        got = self.done.get(id(src))
        if not (isinstance(got, _Open) and isinstance(src.step, S.FileSource)):
            return False
        st, spec = got.stage, src.step.spec
        if st.ops or spec.format not in ("parquet", "orc") or spec.columns is not None:
            return False
        if len(self.readers.get(id(src), [])) != 1 or len(set(fields)) != len(fields):
            return False
        from dataclasses import replace

        projected = replace(spec, columns=tuple(fields))
        st.head = ReadFiles(name=st.head.name, spec=projected)
        splits = plan_splits(projected, list_files(projected), st.tasks)
        st.params = [{**p, "splits": s} for p, s in zip(st.params, splits)]
        return True

    def _Pipe(self, node: Node, step: S.Pipe) -> _Open:
        return self.narrow(node, IO.PipeOp(name=step.name, command=step.command), step.name)

    def _PipeAsArgs(self, node: Node, step: S.PipeAsArgs) -> _Open:
        return self.narrow(node, IO.PipeAsArgsOp(name=step.name, template=step.template), step.name)

    def _LocalSort(self, node: Node, step: S.LocalSort) -> _Open:
        return self.narrow(node, R.LocalSortOp(name=step.name, order=step.order), step.name)

    def _LocalTop(self, node: Node, step: S.LocalTop) -> _Open:
        return self.narrow(
            node, R.LocalTopOp(name=step.name, n=step.n, order=step.order), step.name
        )

    def _LocalLimit(self, node: Node, step: S.LocalLimit) -> _Open:
        return self.narrow(
            node, R.LocalLimitOp(name=step.name, n=step.n, offset=step.offset), step.name
        )

    def _LocalDistinct(self, node: Node, step: S.LocalDistinct) -> _Open:
        return self.narrow(node, R.LocalDistinctOp(name=step.name, key=step.key), step.name)

    def _LocalReduceByKey(self, node: Node, step: S.LocalReduceByKey) -> _Open:
        op = A.ReduceByKeyOp(name=step.name, reducer=step.reducer, key=step.key)
        return self.narrow(node, op, step.name)

    def _HashJoin(self, node: Node, step: S.HashJoin) -> _Open:
        big, small = node.inputs
        small_refs = [r for refs in self.shards_of(small) for r in refs]
        st = self.open_for(big)
        if len(st.inputs) > 1:  # the stage already reads a side input: start a fresh one
            st = self.after(self.shards_of(big))
        if not st.inputs:  # a source stage: its input 0 is its own files or range
            st.inputs.append([[] for _ in range(st.tasks)])
        st.inputs.append([list(small_refs) for _ in range(st.tasks)])
        st.ops.append(J.HashJoinOp(name=step.name, on=step.on))
        st.labels.append(step.name)
        return _Open(st)

    # -- wide steps ----------------------------------------------------------------------------

    def _ReduceByKey(self, node: Node, step: S.ReduceByKey) -> _Open:
        st = self.open_for(node.inputs[0])
        st.ops.append(A.ReduceByKeyOp(name=step.name, reducer=step.reducer, key=step.key))
        st.labels.append(f"local_{step.kind}")
        k = len(step.key)
        shards = self.shuffle(st, HashOut(n=node.shards, width=k), node)
        merge = step.reducer
        if merge.agg == "count":
            merge = Reducer("sum", operator.add)
        nxt = self.after(shards, label=step.name)
        nxt.ops.append(A.ReduceByKeyOp(name=step.name, reducer=merge, key=_positions(k)))
        return _Open(nxt)

    def _Reduce(self, node: Node, step: S.Reduce) -> _Open:
        st = self.open_for(node.inputs[0])
        if st.tasks == 1:
            op = A.ReduceAllOp(name=step.name, reducer=step.reducer)
            return self._gather_then(st, node, op, step.name)
        st.ops.append(A.ReduceAllOp(name=step.name, reducer=step.reducer))
        st.labels.append(f"local_{step.kind}")
        merge = step.reducer if step.reducer.agg != "count" else Reducer("sum", operator.add)
        return self._gather_then(st, node, A.ReduceAllOp(name=step.name, reducer=merge), step.name)

    def _gather_then(self, st: PhysicalStage, node: Node, op: Op, label: str) -> _Open:
        if st.tasks == 1:  # already one shard: no need to move anything
            st.ops.append(op)
            st.labels.append(label)
            return _Open(st)
        self.close(st, Forward(), node)
        refs = [Ref(st.id, i, 0) for i in range(st.tasks)]
        nxt = self.after([refs], label=label)
        nxt.ops.append(op)
        return _Open(nxt)

    def _GroupByKey(self, node: Node, step: S.GroupByKey) -> _Open:
        st = self.open_for(node.inputs[0])
        st.ops.append(R.KeyFirstOp(name=step.name, key=step.key))
        st.labels.append("key_first")
        shards = self.shuffle(st, HashOut(n=node.shards, width=len(step.key)), node)
        nxt = self.after(shards, label=step.name)
        nxt.ops.append(A.GroupByKeyOp(name=step.name, key=_positions(len(step.key))))
        return _Open(nxt)

    def _Distinct(self, node: Node, step: S.Distinct) -> _Open:
        st = self.open_for(node.inputs[0])
        st.ops.append(R.LocalDistinctOp(name=step.name, key=step.key))
        st.labels.append(f"local_{step.kind}")
        width = len(step.key) or None
        shards = self.shuffle(st, HashOut(n=node.shards, width=width), node)
        nxt = self.after(shards, label=step.name)
        nxt.ops.append(R.LocalDistinctOp(name=step.name, key=_positions(len(step.key))))
        return _Open(nxt)

    def _Sort(self, node: Node, step: S.Sort) -> _Open:
        st = self.open_for(node.inputs[0])
        st.ops.append(R.LocalSortOp(name=step.name, order=step.order))
        st.labels.append(f"local_{step.kind}")
        self.close(st, SortedRunOut(order=step.order), node)
        refs = [Ref(st.id, i, 0) for i in range(st.tasks)]
        nxt = self.after(
            [list(refs) for _ in range(node.shards)],
            head=MergeRange(name=step.name, order=step.order),
            label=step.name,
        )
        nxt.needs_cuts = True
        return _Open(nxt)

    def _Top(self, node: Node, step: S.Top) -> _Open:
        st = self.open_for(node.inputs[0])
        if st.tasks > 1:
            st.ops.append(R.LocalTopOp(name=step.name, n=step.n, order=step.order))
            st.labels.append(f"local_{step.kind}")
        return self._gather_then(
            st, node, R.LocalTopOp(name=step.name, n=step.n, order=step.order), step.name
        )

    def _Limit(self, node: Node, step: S.Limit) -> _Open:
        st = self.open_for(node.inputs[0])
        if st.tasks > 1:
            st.ops.append(R.LocalLimitOp(name=step.name, n=step.n + step.offset))
            st.labels.append(f"local_{step.kind}")
        return self._gather_then(
            st, node, R.LocalLimitOp(name=step.name, n=step.n, offset=step.offset), step.name
        )

    def _two_sided(self, node: Node, on: tuple[Any, ...], op: Op, label: str) -> _Open:
        left, right = node.inputs
        sides = []
        for side in (left, right):
            st = self.open_for(side)
            st.ops.append(R.KeyFirstOp(name=label, key=on))
            st.labels.append("key_first")
            sides.append(self.shuffle(st, HashOut(n=node.shards, width=len(on)), node))
        nxt = self.after(sides[0], label=label)
        nxt.inputs.append(sides[1])
        nxt.ops.append(op)
        return _Open(nxt)

    def _Join(self, node: Node, step: S.Join) -> _Open:
        op = J.JoinOp(name=step.name, how=step.how, on=_positions(len(step.on)))
        return self._two_sided(node, step.on, op, step.name)

    def _CoGroup(self, node: Node, step: S.CoGroup) -> _Open:
        op = J.CoGroupOp(name=step.name, on=_positions(len(step.on)))
        return self._two_sided(node, step.on, op, step.name)

    def _Partition(self, node: Node, step: S.Partition) -> Shards:
        st = self.open_for(node.inputs[0])
        st.ops.append(R.KeyFirstOp(name=step.name, key=step.key))
        st.labels.append("key_first")
        return self.shuffle(st, HashOut(n=step.n, width=len(step.key)), node)

    def _RoundRobin(self, node: Node, step: S.RoundRobin) -> Shards:
        st = self.open_for(node.inputs[0])
        st.labels.append(step.name)
        return self.shuffle(st, RoundRobinOut(n=step.n), node)

    def _Broadcast(self, node: Node, step: S.Broadcast) -> Shards:
        refs = [r for rs in self.shards_of(node.inputs[0]) for r in rs]
        return [list(refs) for _ in range(step.n)]

    def _MergeTo(self, node: Node, step: S.MergeTo) -> Shards:
        return _groups(self.shards_of(node.inputs[0]), step.n)

    def _MergeSortedTo(self, node: Node, step: S.MergeSortedTo) -> _Open:
        shards = _groups(self.shards_of(node.inputs[0]), step.n)
        return _Open(
            self.after(shards, head=MergeSorted(name=step.name, order=step.order), label=step.name)
        )

    def _Union(self, node: Node, step: S.Union) -> Shards:
        shards: Shards = []
        for inp in node.inputs:
            shards.extend(list(refs) for refs in self.shards_of(inp))
        if step.ordered:
            return [[r for refs in shards for r in refs]]
        return shards


def _groups(shards: Shards, n: int) -> Shards:
    """Consecutive groups of ``len(shards)`` shards into ``n`` (Gleam's linked N-to-1)."""
    m = len(shards)
    out: Shards = [[] for _ in range(n)]
    for i, refs in enumerate(shards):
        out[(i * n) // m if m else 0].extend(refs)
    return out


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


def lower(flow: str, targets: list[Node]) -> PhysicalPlan:
    """The physical plan computing ``targets`` (sink or action nodes) of a flow."""
    return _Lowerer(flow, targets).run(targets)
