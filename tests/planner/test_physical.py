"""The physical plan's structure, checked without running anything.

A runner consumes the :class:`~gleamnb.planner.physical.PhysicalPlan` itself, not its
``explain()`` text: these tests compare its stages (ids, tasks, heads, operators, outputs,
params, flags), every input ref and the targets with plans written out here by hand. The
movement shapes are built from the table in ``planner/physical.py``'s docstring.
"""

from __future__ import annotations

import operator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gleamnb as gl
from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.lower import lower
from gleamnb.planner.physical import PhysicalPlan, Ref, Shards
from gleamnb.runtime.ops.aggregate import CountOp, GroupByKeyOp, ReduceAllOp, ReduceByKeyOp
from gleamnb.runtime.ops.io import SaveOp
from gleamnb.runtime.ops.join import CoGroupOp, HashJoinOp, JoinOp
from gleamnb.runtime.ops.mappers import AppendOneOp, TokenizeOp
from gleamnb.runtime.ops.relational import (
    KeyFirstOp,
    LocalDistinctOp,
    LocalLimitOp,
    LocalSortOp,
    LocalTopOp,
    SelectOp,
)
from gleamnb.runtime.ops.udf import FilterOp, MapOp
from gleamnb.runtime.stage import (
    Discard,
    Forward,
    HashOut,
    MergeRange,
    MergeSorted,
    ReadFiles,
    ReadInput,
    ReadRange,
    RoundRobinOut,
    SortedRunOut,
)

# ---------------------------------------------------------------------------------------------
# The movements of planner/physical.py, written out: consumer task j reads ...


def forward(stage: int, tasks: int) -> Shards:
    """... piece (i=j, bucket 0)."""
    return [[Ref(stage, j, 0)] for j in range(tasks)]


def shuffle(stage: int, tasks: int, buckets: int) -> Shards:
    """... bucket j of every task i."""
    return [[Ref(stage, i, j) for i in range(tasks)] for j in range(buckets)]


def gather(stage: int, tasks: int) -> Shards:
    """... (one consumer) bucket 0 of every task i."""
    return [[Ref(stage, i, 0) for i in range(tasks)]]


def broadcast(stage: int, tasks: int, consumers: int) -> Shards:
    """... bucket 0 of every task i, for every j."""
    return [[Ref(stage, i, 0) for i in range(tasks)] for _ in range(consumers)]


def no_inputs(tasks: int) -> Shards:
    """A source stage's input 0 when a side input follows it: nothing per task."""
    return [[] for _ in range(tasks)]


def check_dependency_order(plan: PhysicalPlan) -> None:
    """Stage k sits at index k and reads only stages before it (or in-memory data)."""
    assert [st.id for st in plan.stages] == list(range(len(plan.stages)))
    for st in plan.stages:
        for shards in st.inputs:
            for refs in shards:
                for r in refs:
                    assert r.stage < st.id
                    if r.stage < 0:
                        assert -r.stage <= len(plan.data)
                    else:
                        assert r.task < plan.stages[r.stage].tasks
        assert len(st.params) == st.tasks
        assert all(len(shards) == st.tasks for shards in st.inputs)


def rows(table: pa.Table) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in table.to_pylist()]


def by_key(op: ReduceByKeyOp) -> tuple[object, ...]:
    """A reduce-by-key operator's parts (reducers compare by identity)."""
    return (type(op), op.name, op.key, op.reducer.agg, op.reducer.fn)


def count_target(ds: gl.Dataset) -> Node:
    """The target node of ``ds.count()``, without running it."""
    return Node(-1, steps.Count(name="count"), (ds.node,), ds.node.shards, ds.node.names)


# ---------------------------------------------------------------------------------------------


def test_word_count(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("a b a\n" * 1000)
    f = gl.Flow("wc")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .sort(gl.order_by(2))
        .top(5, gl.order_by(2, descending=True))
        .printlnf("%s\t%d")
    )
    plan = f.plan()
    check_dependency_order(plan)
    read, reduce, merge, top = plan.stages
    adding = (ReduceByKeyOp, "reduce_by_key", (1,), "sum", operator.add)

    assert read.tasks == 2
    assert read.head == ReadFiles(name="read", spec=gl.txt(str(path), shards=2))
    assert read.ops[:2] == [TokenizeOp(name="tokenize"), AppendOneOp(name="append_one")]
    assert [by_key(op) for op in read.ops[2:]] == [adding]
    assert read.output == HashOut(n=2, width=1)
    assert read.inputs == []
    # the two tasks read consecutive byte ranges that cover the file
    (first,), (second,) = (p["splits"] for p in read.params)
    assert (first.path, second.path) == (str(path), str(path))
    assert (first.start, first.end, second.end) == (0, second.start, path.stat().st_size)

    assert reduce.tasks == 2 and reduce.head == ReadInput(name="input")
    assert reduce.inputs == [shuffle(0, 2, 2)]
    assert by_key(reduce.ops[0]) == adding
    assert reduce.ops[1:] == [LocalSortOp(name="sort", order=gl.order_by(2))]
    assert reduce.output == SortedRunOut(order=gl.order_by(2))
    assert reduce.params == [{}, {}]

    # every merge task reads every sorted run, and cuts its key range from the samples
    assert merge.tasks == 2 and merge.needs_cuts
    assert merge.head == MergeRange(name="sort", order=gl.order_by(2))
    assert merge.inputs == [broadcast(1, 2, 2)]
    assert merge.ops == [LocalTopOp(name="top", n=5, order=gl.order_by(2, descending=True))]
    assert merge.output == Forward()

    assert top.tasks == 1 and not top.needs_cuts
    assert top.inputs == [gather(2, 2)]
    assert top.ops == [LocalTopOp(name="top", n=5, order=gl.order_by(2, descending=True))]
    assert top.output == Forward()

    assert [st.needs_cuts for st in plan.stages] == [False, False, True, False]
    assert [st.on_disk for st in plan.stages] == [False] * 4
    (target,) = plan.targets
    assert (target.kind, target.stage, target.shards) == ("collect", None, forward(3, 1))
    assert plan.data == []


def test_join_shuffles_both_sides_into_the_left_shard_count() -> None:
    f = gl.Flow("join")
    key = lambda k, v: (k, v)  # noqa: E731
    left = f.slices([(1, "a"), (2, "b"), (3, "c")], shards=2).map(key, name="left")
    right = f.slices([(1, "x"), (3, "y"), (3, "z"), (4, "w")], shards=3)
    left.join(right).printlnf("%v %v %v")
    plan = f.plan()
    check_dependency_order(plan)

    # in-memory rows are held by the plan, as data sets -1, -2, ... in the order lowered
    assert [[rows(t) for t in data] for data in plan.data] == [
        [[(1, "a")], [(2, "b"), (3, "c")]],
        [[(1, "x")], [(3, "y")], [(3, "z"), (4, "w")]],
    ]
    a, b, joined = plan.stages
    assert (a.tasks, a.inputs, a.head) == (2, [forward(-1, 2)], ReadInput(name="slices"))
    assert a.ops == [MapOp(name="left", fn=key), KeyFirstOp(name="join", key=(1,))]
    assert a.output == HashOut(n=2, width=1)
    assert (b.tasks, b.inputs) == (3, [forward(-2, 3)])
    assert b.ops == [KeyFirstOp(name="join", key=(1,))]
    assert b.output == HashOut(n=2, width=1)
    assert joined.tasks == 2
    assert joined.inputs == [shuffle(0, 2, 2), shuffle(1, 3, 2)]
    assert joined.ops == [JoinOp(name="join", how="inner", on=(1,))]
    assert plan.targets[0].shards == forward(2, 2)


def test_co_group_on_two_fields() -> None:
    f = gl.Flow("co_group")
    left = f.slices([(1, 2, "a")], shards=2)
    right = f.slices([(1, 2, "b")], shards=1)
    left.co_group(right, on=(1, 2)).printlnf("%v")
    plan = f.plan()
    check_dependency_order(plan)
    a, b, grouped = plan.stages
    assert a.ops == b.ops == [KeyFirstOp(name="co_group", key=(1, 2))]
    assert a.output == b.output == HashOut(n=2, width=2)
    assert grouped.inputs == [shuffle(0, 2, 2), shuffle(1, 1, 2)]
    assert grouped.ops == [CoGroupOp(name="co_group", on=(1, 2))]


def test_hash_join_gives_the_small_side_to_every_task_of_the_big_sides_stage() -> None:
    f = gl.Flow("hash join")
    key = lambda x: (x % 5, x)  # noqa: E731
    upper = lambda k, v: (k, v.upper())  # noqa: E731
    swap = lambda k, x, n: (n, x)  # noqa: E731
    big = f.range(0, 100, shards=4).map(key, name="key")
    small = f.slices([(1, "one"), (2, "two")]).map(upper, name="upper")
    big.hash_join(small).map(swap, name="swap").printlnf("%s %d")
    plan = f.plan()
    check_dependency_order(plan)
    side, main = plan.stages

    assert (side.tasks, side.inputs, side.ops) == (1, [forward(-1, 1)], [MapOp("upper", upper)])
    assert side.output == Forward()
    assert main.tasks == 4
    assert main.head == ReadRange(name="range")
    assert main.params == [{"start": s, "stop": s + 25} for s in (0, 25, 50, 75)]
    # input 0 is the range itself (nothing to read); input 1 the small side, whole, per task
    assert main.inputs == [no_inputs(4), broadcast(0, 1, 4)]
    assert main.ops == [
        MapOp("key", key),
        HashJoinOp(name="hash_join", on=(1,)),
        MapOp("swap", swap),
    ]
    assert plan.targets[0].shards == forward(1, 4)


def test_a_second_hash_join_starts_a_stage_of_its_own() -> None:
    f = gl.Flow("two hash joins")
    big = f.range(0, 10, shards=2).map(lambda x: (x, x), name="pair")
    small = f.slices([(1, "a")])
    big.hash_join(small).hash_join(small, name="again").printlnf("%v")
    plan = f.plan()
    check_dependency_order(plan)
    (first, second) = plan.stages
    assert first.inputs == [no_inputs(2), [[Ref(-1, 0, 0)], [Ref(-1, 0, 0)]]]
    assert first.output == Forward()
    assert second.head == ReadInput(name="input")
    assert second.inputs == [forward(0, 2), [[Ref(-1, 0, 0)], [Ref(-1, 0, 0)]]]
    assert second.ops == [HashJoinOp(name="again", on=(1,))]


def test_union_puts_the_inputs_pieces_side_by_side() -> None:
    f = gl.Flow("union")
    inc = lambda x: x + 1  # noqa: E731
    numbers = f.range(0, 4, shards=2).map(inc, name="inc")
    letters = f.slices([("a",), ("b",)], shards=1)
    numbers.union(letters).map(str, name="text").printlnf("%s")
    numbers.union(letters, ordered=True).printlnf("%s")
    plan = f.plan()
    check_dependency_order(plan)
    inc_stage, text = plan.stages

    assert (inc_stage.ops, inc_stage.output) == ([MapOp("inc", inc)], Forward())
    # the letters' stage only copied its data: the union reads the data set in place
    assert text.inputs == [[[Ref(0, 0, 0)], [Ref(0, 1, 0)], [Ref(-1, 0, 0)]]]
    assert (text.tasks, text.ops) == (3, [MapOp("text", str)])
    texts, ordered = plan.targets
    assert texts.shards == forward(1, 3)
    assert ordered.shards == [[Ref(0, 0, 0), Ref(0, 1, 0), Ref(-1, 0, 0)]]


def test_partitioning_steps_route_pieces() -> None:
    f = gl.Flow("movement")
    ident = lambda x: x  # noqa: E731
    d = f.range(0, 12, shards=3).map(ident, name="ident")
    d.partition(4).printlnf("%d")
    d.round_robin(2).printlnf("%d")
    d.broadcast(2).printlnf("%d")
    d.merge_to(2).printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    source, partitioned, dealt = plan.stages

    # d has four readers: it is a stage of its own, and each reader starts from its pieces
    assert (source.ops, source.output) == ([MapOp("ident", ident)], Forward())
    assert partitioned.inputs == dealt.inputs == [forward(0, 3)]
    assert partitioned.ops == [KeyFirstOp(name="partition", key=(1,))]
    assert partitioned.output == HashOut(n=4, width=1)
    assert (dealt.ops, dealt.output) == ([], RoundRobinOut(n=2))
    by_key, round_robin, everywhere, merged = (t.shards for t in plan.targets)
    assert by_key == shuffle(1, 3, 4)
    assert round_robin == shuffle(2, 3, 2)
    assert everywhere == broadcast(0, 3, 2)
    # merge_to: consecutive shards, shard i into group i * n // m
    assert merged == [[Ref(0, 0, 0), Ref(0, 1, 0)], [Ref(0, 2, 0)]]


def test_merge_sorted_to_merges_consecutive_sorted_shards() -> None:
    f = gl.Flow("merge sorted")
    f.range(0, 12, shards=4).map(lambda x: -x, name="neg").merge_sorted_to(
        2, gl.order_by(1)
    ).printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    neg, merged = plan.stages
    assert neg.output == Forward()
    assert merged.head == MergeSorted(name="merge_sorted_to", order=gl.order_by(1))
    assert merged.inputs == [[[Ref(0, 0, 0), Ref(0, 1, 0)], [Ref(0, 2, 0), Ref(0, 3, 0)]]]
    assert not merged.needs_cuts


def test_group_distinct_and_reduce() -> None:
    f = gl.Flow("by key")
    d = f.slices([(1, "a"), (1, "b")], shards=2).map(lambda k, v: (k, v), name="pair")
    d.group_by_key().printlnf("%v")
    d.distinct().printlnf("%v")
    d.distinct(key=2).printlnf("%v")
    d.map(lambda k, v: k, name="key").reduce("count").printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    pair, keyed, grouped, local, distinct, local2, distinct2, counts, total = plan.stages

    assert pair.output == Forward()
    assert (keyed.inputs, keyed.ops) == ([forward(0, 2)], [KeyFirstOp("group_by_key", (1,))])
    assert keyed.output == HashOut(n=2, width=1)
    assert grouped.inputs == [shuffle(1, 2, 2)]
    assert grouped.ops == [GroupByKeyOp(name="group_by_key", key=(1,))]
    # distinct of whole rows hashes all fields (width None); on a key, that key only
    assert (local.ops, local.output) == ([LocalDistinctOp("distinct", ())], HashOut(2, None))
    assert distinct.ops == [LocalDistinctOp(name="distinct", key=())]
    assert (local2.ops, local2.output) == ([LocalDistinctOp("distinct", (2,))], HashOut(2, 1))
    assert distinct2.inputs == [shuffle(5, 2, 2)]
    assert distinct2.ops == [LocalDistinctOp(name="distinct", key=(1,))]
    # a count is counted per task, then the counts are summed in one task
    assert [type(op) for op in counts.ops] == [MapOp, ReduceAllOp]
    assert counts.ops[1].reducer.agg == "count"
    assert total.inputs == [gather(7, 2)]
    (merge,) = total.ops
    assert isinstance(merge, ReduceAllOp) and merge.reducer.agg == "sum"


def test_one_shard_needs_no_gather() -> None:
    f = gl.Flow("one shard")
    d = f.range(0, 10).filter(bool, name="nonzero")
    d.limit(3, offset=1).printlnf("%d")
    d.reduce("count").printlnf("%d")
    d.top(2).printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    source, limited, counted, top = plan.stages
    assert (source.ops, source.output) == ([FilterOp("nonzero", bool)], Forward())
    # the final step runs in the one task there is: no local step, nothing moved
    assert limited.ops == [LocalLimitOp(name="limit", n=3, offset=1)]
    assert limited.inputs == counted.inputs == top.inputs == [forward(0, 1)]
    (count,) = counted.ops
    assert isinstance(count, ReduceAllOp) and count.reducer.agg == "count"
    assert top.ops == [LocalTopOp(name="top", n=2, order=gl.order_by(1))]


def test_limit_over_shards_keeps_offset_rows_locally() -> None:
    f = gl.Flow("limit")
    f.range(0, 100, shards=3).limit(5, offset=2).printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    local, final = plan.stages
    assert local.ops == [LocalLimitOp(name="limit", n=7)]
    assert final.inputs == [gather(0, 3)]
    assert final.ops == [LocalLimitOp(name="limit", n=5, offset=2)]


def test_on_disk_closes_the_stage_and_marks_it() -> None:
    f = gl.Flow("disk")
    same = lambda x: x  # noqa: E731
    d = f.range(0, 10, shards=2).map(same, name="same").on_disk()
    d.map(same, name="again").printlnf("%d")
    plan = f.plan()
    check_dependency_order(plan)
    kept, again = plan.stages
    assert (kept.on_disk, kept.output, kept.ops) == (True, Forward(), [MapOp("same", same)])
    assert (again.on_disk, again.inputs) == (False, [forward(0, 2)])


def test_on_disk_of_re_routed_pieces_marks_the_stages_that_write_them() -> None:
    f = gl.Flow("disk union")
    a = f.slices([(1, 1)])
    b = f.slices([(2, 1)])
    c = f.range(0, 4, shards=2).map(lambda x: (x, 1), name="pair").reduce_by_key(operator.add)
    a.union(b, c).on_disk().printlnf("%d %d")
    plan = f.plan()
    check_dependency_order(plan)
    map_side, reduced = plan.stages
    # the union's pieces are the in-memory data and the reduce's output: only that stage is
    # kept on disk, not the map side before the shuffle
    assert plan.targets[0].shards == [[Ref(-1, 0, 0)], [Ref(-2, 0, 0)], *forward(1, 2)]
    assert (map_side.on_disk, reduced.on_disk) == (False, True)


def test_save_and_count_targets_end_a_stage_that_discards_its_rows(tmp_path: Path) -> None:
    f = gl.Flow("targets")
    d = f.range(0, 10, shards=2).map(lambda x: (x, x * x), name="square")
    d.save(str(tmp_path / "out"), format="csv")
    saving = f.plan()
    check_dependency_order(saving)
    (stage,) = saving.stages
    assert stage.ops[1] == SaveOp(name="save", path=str(tmp_path / "out"), format="csv")
    assert stage.output == Discard()
    (target,) = saving.targets
    assert (target.kind, target.stage, target.shards) == ("save", 0, [])

    counting = f.plan([count_target(d)])
    (stage,) = counting.stages
    assert stage.ops[1] == CountOp(name="count") and stage.output == Discard()
    (target,) = counting.targets
    assert (target.kind, target.stage, target.shards) == ("count", 0, [])


def test_a_target_over_in_memory_rows_runs_no_stage() -> None:
    f = gl.Flow("copy")
    f.slices([(1,), (2,), (3,)], shards=2).printlnf("%d")
    plan = f.plan()
    assert plan.stages == []
    assert plan.targets[0].shards == forward(-1, 2)
    assert [[rows(t) for t in data] for data in plan.data] == [[[(1,)], [(2,), (3,)]]]


def test_stage_ids_follow_dependencies_not_creation_order() -> None:
    # the hash join's small side is lowered after the big side's stage was opened, yet it
    # must run first
    f = gl.Flow("order")
    big = f.range(0, 10, shards=2).map(lambda x: (x, x), name="pair")
    small = f.range(0, 3).map(lambda x: (x, "s"), name="small")
    big.hash_join(small).printlnf("%v")
    plan = f.plan()
    check_dependency_order(plan)
    assert [st.name for st in plan.stages] == ["range->small", "range->pair->hash_join"]
    assert plan.stages[1].inputs[1] == broadcast(0, 1, 2)


def test_a_step_without_a_lowering_is_an_internal_error() -> None:
    class Mystery(steps.Step):
        pass

    source = Node(0, steps.RangeSource(name="range", stop=3), (), 1, ("_1",))
    odd = Node(1, Mystery(name="mystery"), (source,), 1, ("_1",))
    target = Node(-1, steps.Collect(name="collect"), (odd,), 1, ("_1",))
    with pytest.raises(NotImplementedError, match=r"no lowering for step type .*Mystery"):
        lower("odd", [target])


def test_a_select_right_after_a_parquet_source_reads_only_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]}), path)
    f = gl.Flow("projection")
    f.read(gl.parquet(str(path))).select("c", "a").printlnf("%v %v")
    plan = f.plan()
    (stage,) = plan.stages
    assert stage.head == ReadFiles(name="read", spec=gl.parquet(str(path), columns=["c", "a"]))
    # the source gives the columns in the select's order: the select keeps them by position
    assert stage.ops == [SelectOp(name="select", fields=(1, 2))]
    assert [[s.path for s in p["splits"]] for p in stage.params] == [[str(path)]]
