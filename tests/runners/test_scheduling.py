"""The scheduling core on its own: real plans, task results written by hand, no executors.

Each test plans a small flow, plays the driver (it takes the tasks the core hands out and
reports them done, failed or lost with results made up here) and checks what the core did
against what the test works out by hand from the plan: which stages start when, which pieces
are freed when, the cut points of a range sort, the statistics, the events and how a run
ends. Pieces are only names: ``mem/...`` is held in memory, ``disk/...`` on disk.
"""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import gleamnb as gl
from gleamnb import events
from gleamnb.planner.physical import PhysicalPlan
from gleamnb.runners.scheduling import Schedule, Task
from gleamnb.runners.shipping import Holdings
from gleamnb.runtime.context import StepStats
from gleamnb.runtime.executor import StageCache
from gleamnb.runtime.protocol import Function, Progress, RunTask, TaskDone, TaskFailed
from gleamnb.runtime.store import Piece


class Clock:
    """Time that moves only when a test moves it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Storage:
    """The driver's side, by hand: it answers from dicts and records what it is asked to do."""

    def __init__(self) -> None:
        self.parts: dict[str, set[str]] = {}
        self.freed: list[str] = []
        self.prepared: list[str] = []
        self.removed: set[str] = set()
        self.fail_prepare: Exception | None = None
        self.functions: dict[str, list[bytes]] = {}  # what write_function was given

    def in_memory(self, piece: Piece) -> bool:
        return piece.path.startswith("mem/")

    def read(self, piece: Piece) -> pa.Table:
        return pa.table({"file": [piece.path]})

    def free(self, piece: Piece) -> None:
        self.freed.append(piece.path)

    def prepare_save(self, path: str, format: str) -> None:
        if self.fail_prepare is not None:
            raise self.fail_prepare
        self.prepared.append(path)

    def part_files(self, path: str, format: str, shards: int) -> set[str]:
        return set(self.parts.get(path, ()))

    def remove(self, path: str) -> None:
        self.removed.add(path)

    def write_function(self, digest: str, parts: Any) -> Function:
        """Keep a large function's parts here, as if written to ``mem/fn-{digest}``."""
        self.functions[digest] = [bytes(p) for p in parts]
        return Function(digest, path=f"mem/fn-{digest}")


class Driver:
    """A schedule with its storage, clock and listener, and a record of stop/clean-up calls."""

    def __init__(self, flow: gl.Flow) -> None:
        self.plan: PhysicalPlan = flow.plan()
        self.storage = Storage()
        self.clock = Clock()
        self.seen: list[events.Event] = []
        self.schedule = Schedule(
            self.plan, self.storage, [self.seen.append], runner="test", clock=self.clock
        )
        self.ids = itertools.count(1)
        self.calls: list[str] = []

    def data(self, place: Callable[[int, int], str] = lambda k, j: "mem") -> list[list[Piece]]:
        """Pieces for the plan's in-memory data, named ``{place}/d{k}-t{j}``."""
        return [
            [Piece(f"{place(k, j)}/d{k}-t{j}", t.num_rows, t.nbytes) for j, t in enumerate(ts)]
            for k, ts in enumerate(self.plan.data)
        ]

    def take(self, n: int | None = None) -> list[Task]:
        """The next ``n`` ready tasks (default: all of them)."""
        count = len(self.schedule.ready) if n is None else n
        return [self.schedule.take(next(self.ids)) for _ in range(count)]

    def run(self, drive: Callable[[], None]) -> Any:
        return self.schedule.run(
            drive, lambda: self.calls.append("stop"), lambda: self.calls.append("clean up")
        )

    def kinds(self) -> list[tuple[str, int | None]]:
        return [(type(e).__name__, getattr(e, "stage", None)) for e in self.seen]

    def terminal(self) -> list[str]:
        """The run's terminal events (a run emits exactly one)."""
        ends = ("RunFinished", "RunFailed", "RunCancelled")
        return [k for k, _ in self.kinds() if k in ends]


def done(
    task: Task,
    rows: int = 10,
    nbytes: int = 80,
    *,
    pieces: list[Piece | None] | None = None,
    extras: dict[str, Any] | None = None,
    seconds: float = 0.0,
    read: int | None = None,
) -> TaskDone:
    """Task ``task`` finished: one ``mem/s{stage}-t{shard}-b{bucket}`` piece per bucket, and
    every step reporting ``rows`` and ``nbytes`` (its head ``read`` rows, if given)."""
    st = task.stage
    if pieces is None:
        pieces = [
            Piece(f"mem/s{st.id}-t{task.shard}-b{b}", rows, nbytes)
            for b in range(st.output.buckets)  # type: ignore[union-attr]
        ]
    names = [st.head.name, *(op.name for op in st.ops)]
    stats = [StepStats(name, rows=rows, bytes=nbytes) for name in names]
    if read is not None:
        stats[0] = StepStats(names[0], rows=read, bytes=8 * read)
    return TaskDone(task.id, pieces, stats, extras or {}, seconds)


def positions(tasks: list[Task]) -> list[tuple[int, int]]:
    return [(t.stage.id, t.shard) for t in tasks]


# ---------------------------------------------------------------------------------------------
# Readiness and the pieces a task reads


def test_a_stage_starts_once_every_stage_it_reads_is_done() -> None:
    f = gl.Flow("join")
    left = f.slices([(1, "a"), (2, "b")], shards=2)
    right = f.range(0, 9, shards=3).map(lambda x: (x, x), name="pair")
    left.join(right).printlnf("%v %v %v")
    d = Driver(f)
    assert d.plan.describe() == (
        "stage 0: slices->key_first  (2 tasks) -> hash shuffle by 1 into 2\n"
        "stage 1: range->pair->key_first  (3 tasks) -> hash shuffle by 1 into 2\n"
        "stage 2: join  (2 tasks) <- stage 0, stage 1 -> forward"
    )
    d.schedule.start(d.data())
    assert list(d.schedule.ready) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    tasks = d.take()
    # the slices' task j reads the data's shard j; a range source reads nothing
    assert [t.inputs for t in tasks] == [[["mem/d0-t0"]], [["mem/d0-t1"]], [], [], []]
    assert [t.params for t in tasks[2:]] == [
        {"start": 0, "stop": 3},
        {"start": 3, "stop": 6},
        {"start": 6, "stop": 9},
    ]
    for t in tasks[:4]:
        d.schedule.task_done(done(t))
    assert not d.schedule.ready and not d.schedule.done  # stage 1 has a task left
    d.schedule.task_done(done(tasks[4]))
    assert list(d.schedule.ready) == [(2, 0), (2, 1)]
    assert [s for kind, s in d.kinds() if kind == "StageStarted"] == [0, 1, 2]
    joins = d.take()
    # join task j reads bucket j of every task of each side, in task order
    assert joins[1].inputs == [
        ["mem/s0-t0-b1", "mem/s0-t1-b1"],
        ["mem/s1-t0-b1", "mem/s1-t1-b1", "mem/s1-t2-b1"],
    ]
    assert len({t.key for t in tasks + joins}) == 3  # one stage key per stage
    for t in joins:
        d.schedule.task_done(done(t))
    assert d.schedule.done


# ---------------------------------------------------------------------------------------------
# Freeing pieces


def test_pieces_are_freed_when_their_last_reader_is_done_and_never_for_a_target() -> None:
    f = gl.Flow("two readers")
    d0 = f.slices([(i,) for i in range(4)], shards=2).map(lambda x: x + 1, name="inc")
    d0.filter(lambda x: x % 2, name="odd").printlnf("%d")
    d0.map(lambda x: x * 10, name="tens").printlnf("%d")
    d = Driver(f)
    assert d.plan.describe() == (
        "stage 0: slices->inc  (2 tasks) -> forward\n"
        "stage 1: odd  (2 tasks) <- stage 0 -> forward\n"
        "stage 2: tens  (2 tasks) <- stage 0 -> forward"
    )
    data = d.data()
    data_bytes = sum(p.nbytes for p in data[0])
    d.schedule.start(data)
    assert d.schedule.memory_bytes == data_bytes

    first, second = d.take()
    d.schedule.task_done(done(first, nbytes=100))
    assert d.storage.freed == []  # stage 0 is still reading the data
    # task 2 ran out of memory allowance: its piece continues on disk
    spilled = Piece("mem/s0-t1-b0", 6, 100, rest=Piece("disk/s0-t1-b0", 4, 40))
    d.schedule.task_done(done(second, pieces=[spilled]))
    assert d.storage.freed == ["mem/d0-t0", "mem/d0-t1"]  # its only reader is done
    assert d.schedule.memory_bytes == 100 + 100  # the pieces' in-memory files

    readers = d.take()
    assert positions(readers) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert readers[1].inputs == [["mem/s0-t1-b0", "disk/s0-t1-b0"]]  # in row order
    for t in readers[:3]:
        d.schedule.task_done(done(t, nbytes=30))
    assert len(d.storage.freed) == 2  # stage 2 still reads stage 0
    d.schedule.task_done(done(readers[3], nbytes=30))
    assert d.storage.freed[2:] == ["mem/s0-t0-b0", "mem/s0-t1-b0", "disk/s0-t1-b0"]
    assert d.schedule.done
    # the targets' pieces (stages 1 and 2) are kept for the driver to read
    assert d.schedule.memory_bytes == 4 * 30
    assert d.schedule.read_shards(d.plan.targets[0].shards) == [
        [pa.table({"file": ["mem/s1-t0-b0"]})],
        [pa.table({"file": ["mem/s1-t1-b0"]})],
    ]


def test_a_target_s_pieces_are_kept_even_once_its_readers_are_done() -> None:
    f = gl.Flow("target read again")
    doubled = f.range(0, 4, shards=2).map(lambda x: 2 * x, name="double")
    doubled.printlnf("%d")
    doubled.map(lambda x: x + 1, name="inc").printlnf("%d")
    d = Driver(f)
    assert d.plan.describe() == (
        "stage 0: range->double  (2 tasks) -> forward\n"
        "stage 1: inc  (2 tasks) <- stage 0 -> forward"
    )
    d.schedule.start()
    while not d.schedule.done:
        for t in d.take():
            d.schedule.task_done(done(t))
    assert d.storage.freed == []
    assert d.schedule.memory_bytes == 4 * 80


# ---------------------------------------------------------------------------------------------
# Range cuts


def sort_flow(shards: int = 3) -> gl.Flow:
    f = gl.Flow("sort")
    f.range(0, 30, shards=shards).sort(1).printlnf("%d")
    return f


def test_the_cuts_of_a_range_sort_come_from_the_samples_and_never_enter_the_plan() -> None:
    d = Driver(sort_flow())
    assert d.plan.describe() == (
        "stage 0: range->local_sort  (3 tasks) -> sorted runs by 1 (range partitioned)\n"
        "stage 1: sort  (3 tasks) <- stage 0 -> forward"
    )
    params_before = copy.deepcopy([st.params for st in d.plan.stages])
    d.schedule.start()
    samples = [[12, 3], [27, 18, 9], None]  # the third run is empty: no sample
    for t, sample in zip(d.take(), samples):
        rows = len(sample) if sample else 0
        piece = Piece(f"mem/s0-t{t.shard}-b0", rows, 8 * rows)
        table = pa.table({"_1": sample}) if sample else None
        d.schedule.task_done(done(t, rows, pieces=[piece], extras={"sample": table}))
    # pooled and sorted: 3 9 12 18 27; cut i of 3 ranges is the key at position 5 * i // 3,
    # as a sort key: (0, value) per field (nulls sort last as (2, 0))
    merges = d.take()
    assert [t.params for t in merges] == [{"cuts": [((0, 9),), ((0, 18),)]}] * 3
    assert [st.params for st in d.plan.stages] == params_before
    assert "cuts" not in d.plan.stages[1].params[0]
    merges[0].params["memory_budget"] = 1  # a driver adds to a task's own params
    assert d.plan.stages[1].params[0] == {}


def test_sorted_runs_of_different_types_fail_the_stage_that_made_them() -> None:
    d = Driver(sort_flow(shards=2))
    kinds = [pa.int64(), pa.string()]

    def drive() -> None:
        d.schedule.start()
        for t, kind in zip(d.take(), kinds):
            piece = Piece(f"mem/s0-t{t.shard}-b0", 5, 40)
            schema = pa.schema([("_1", kind)])  # as each task reports its rows' schema
            d.schedule.task_done(done(t, 5, pieces=[piece], extras={"schema": schema}))

    with pytest.raises(gl.SchemaError) as info:
        d.run(drive)
    err = info.value
    # named after the step whose rows disagree, not the sort downstream that reads them
    assert (err.flow, err.step, err.stage) == ("sort", "range", "range->local_sort")
    assert err.shard == "2/2"
    assert "shard 1/2, then shard 2/2" in str(err)
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]
    assert positions(d.take()) == []  # the merge stage never started


@pytest.mark.parametrize("barrier", ["shuffle", "forward"])
def test_tasks_whose_rows_meet_later_must_agree_and_only_those(barrier: str) -> None:
    f = gl.Flow("meet")
    pairs = f.range(0, 20, shards=2).map(lambda x: (x % 3, x), name="pairs")
    if barrier == "shuffle":  # every reduce task reads a bucket of both map tasks
        pairs.reduce_by_key("sum").printlnf("%v %v")
    else:  # each task of the second stage reads one task's rows: they never meet
        pairs.on_disk().map(lambda k, v: str(k), name="text").printlnf("%v")
    d = Driver(f)
    kinds = [pa.int64(), pa.string()]

    def drive() -> None:
        d.schedule.start()
        for t, kind in zip(d.take(), kinds):
            schema = pa.schema([("_1", kind), ("_2", pa.int64())])
            d.schedule.task_done(done(t, 5, extras={"schema": schema}))
        for t in d.take():
            d.schedule.task_done(done(t))

    if barrier == "forward":
        d.run(drive)
        assert d.terminal() == ["RunFinished"]
        return
    with pytest.raises(gl.SchemaError) as info:
        d.run(drive)
    err = info.value
    assert (err.flow, err.step, err.stage, err.shard) == (
        "meet",
        "pairs",
        "range->pairs->local_reduce_by_key",
        "2/2",
    )
    assert "field 1 (_1) changes type within one dataset: int64 then string" in str(err)
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]


# ---------------------------------------------------------------------------------------------
# Statistics


def test_a_stage_s_statistics_are_the_sums_of_its_tasks_reports() -> None:
    f = gl.Flow("stats")
    f.range(0, 100, shards=2).filter(lambda x: x % 3 == 0, name="thirds").printlnf("%d")
    d = Driver(f)

    def drive() -> None:
        d.schedule.start()
        first, second = d.take()
        d.clock.now += 1.5
        d.schedule.task_done(
            TaskDone(
                first.id,
                [Piece("mem/s0-t0-b0", 17, 400)],
                [StepStats("range", 50, 400), StepStats("thirds", 17, 410)],
                seconds=0.25,
            )
        )
        d.clock.now += 1.0
        d.schedule.task_done(
            TaskDone(
                second.id,
                [Piece("mem/s0-t1-b0", 10, 300, rest=Piece("disk/s0-t1-b0", 7, 150))],
                [StepStats("range", 50, 400), StepStats("thirds", 17, 450)],
                seconds=0.5,
            )
        )
        d.clock.now += 0.5

    result = d.run(drive)
    (stage,) = result.stages
    assert [(s.name, s.rows, s.bytes) for s in stage.steps] == [
        ("range", 100, 800),
        ("thirds", 34, 860),
    ]
    # a stage's rows and bytes are its last step's
    assert (stage.rows, stage.bytes, stage.task_seconds) == (34, 860, 0.75)
    assert (stage.spilled_bytes, stage.disk_bytes) == (150, 0)
    assert stage.seconds == 2.5  # started with the run, done with its second task
    assert (result.seconds, result.rows, result.runner, result.flow) == (3.0, 34, "test", "stats")
    finished = [e for e in d.seen if isinstance(e, events.StageFinished)]
    assert [(e.rows, e.bytes, e.seconds, e.spilled) for e in finished] == [(34, 860, 2.5, True)]
    assert d.schedule.memory_bytes == 400 + 300


def test_on_disk_stages_and_source_data_count_what_went_to_disk() -> None:
    f = gl.Flow("disk")
    same = f.slices([(i,) for i in range(4)], shards=2).map(lambda x: x, name="same").on_disk()
    same.printlnf("%d")
    d = Driver(f)
    data = d.data(place=lambda k, j: "mem" if j == 0 else "disk")  # shard 2 past the budget

    def drive() -> None:
        d.schedule.start(data)
        for t in d.take():
            d.schedule.task_done(done(t, pieces=[Piece(f"disk/s0-t{t.shard}-b0", 2, 64)]))

    result = d.run(drive)
    assert (result.stages[0].disk_bytes, result.stages[0].spilled_bytes) == (128, 0)
    assert result.data_spilled_bytes == data[0][1].nbytes
    assert result.spilled_bytes == data[0][1].nbytes


# ---------------------------------------------------------------------------------------------
# Events


def test_events_come_in_order_and_progress_is_paced() -> None:
    f = gl.Flow("events")
    f.range(0, 40, shards=2).map(lambda x: (x % 4, 1)).reduce_by_key("sum").printlnf("%d %d")
    d = Driver(f)
    assert [st.tasks for st in d.plan.stages] == [2, 2]

    def drive() -> None:
        d.schedule.start()
        one, two = d.take()
        # a stage's first progress event comes at once
        d.schedule.progress(Progress(one.id, read_rows=15, read_bytes=120, rows=5, bytes=40))
        d.schedule.progress(Progress(two.id, 7, 56, 3, 24))  # ... the next not within 0.2 s
        d.clock.now += 0.3
        d.schedule.progress(Progress(two.id, 9, 72, 4, 32))
        d.schedule.task_done(done(one, rows=10, read=20))  # a task done always reports
        d.schedule.task_done(done(two, rows=6, read=20))
        for t in d.take():
            d.schedule.task_done(done(t, rows=2))

    result = d.run(drive)
    assert d.kinds() == [
        ("RunStarted", None),
        ("StageStarted", 0),
        ("StageProgress", 0),
        ("StageProgress", 0),
        ("StageProgress", 0),
        ("StageProgress", 0),
        ("StageFinished", 0),
        ("StageStarted", 1),
        ("StageProgress", 1),
        ("StageProgress", 1),
        ("StageFinished", 1),
        ("RunFinished", None),
    ]
    progress = [e for e in d.seen if isinstance(e, events.StageProgress) and e.stage == 0]
    # rows, bytes, read rows and bytes: those of the finished tasks plus the ones running
    # tasks reported last
    assert [(e.done, e.total, e.rows, e.bytes, e.read_rows, e.read_bytes) for e in progress] == [
        (0, 2, 5, 40, 15, 120),
        (0, 2, 5 + 4, 40 + 32, 15 + 9, 120 + 72),
        (1, 2, 10 + 4, 80 + 32, 20 + 9, 160 + 72),
        (2, 2, 10 + 6, 80 + 80, 20 + 20, 160 + 160),
    ]
    finished = [e for e in d.seen if isinstance(e, events.StageFinished)]
    assert [(e.rows, e.bytes, e.read_rows, e.read_bytes) for e in finished] == [
        (16, 160, 40, 320),
        (4, 160, 4, 160),
    ]
    assert (result.stages[0].read_rows, result.stages[0].read_bytes) == (40, 320)
    started = d.seen[0]
    assert isinstance(started, events.RunStarted)
    assert (started.flow, started.runner) == ("events", "test")
    assert [s.inputs for s in started.stages] == [(), (0,)]
    assert {e.run_id for e in d.seen} == {d.schedule.run_id}
    assert isinstance(d.seen[-1], events.RunFinished) and d.seen[-1].rows == 2 + 2
    assert result.rows == 4
    assert d.calls == ["clean up"]


def test_reports_of_tasks_that_are_not_running_are_ignored() -> None:
    d = Driver(sort_flow(shards=2))
    d.schedule.start()
    (task,) = d.take(1)
    before = len(d.seen)
    # task 999 is no task of this run (say, of an earlier run that was stopped)
    d.schedule.progress(Progress(999, 5, 40, 5, 40))
    d.schedule.task_done(TaskDone(999, [Piece("mem/old", 1, 8)], [StepStats("range", 1, 8)]))
    d.schedule.task_failed(TaskFailed(999, gl.GleamError("an old failure")))
    d.schedule.task_lost(999, 3, "")
    assert len(d.seen) == before
    assert list(d.schedule.running) == [task.id] and list(d.schedule.ready) == [(0, 1)]
    assert d.schedule.memory_bytes == 0 and d.schedule.stats[0].rows == 0


def test_receive_passes_each_report_on_and_ignores_tasks_that_are_not_running() -> None:
    f = gl.Flow("receive")
    f.range(0, 10, shards=2).map(lambda x: x, name="same").printlnf("%d")
    d = Driver(f)
    d.schedule.start()
    first, second = d.take()
    d.schedule.receive(Progress(first.id, read_rows=4, rows=4))
    d.schedule.receive(Progress(999, read_rows=50, rows=50))  # no task of this run
    d.schedule.receive(TaskDone(999, [Piece("mem/old", 1, 8)], [StepStats("range", 1, 8)]))
    d.schedule.receive(TaskFailed(999, gl.GleamError("an old failure")))
    d.schedule.receive(done(first, rows=3, pieces=[None]))
    progress = [(e.done, e.rows) for e in d.seen if isinstance(e, events.StageProgress)]
    assert progress == [(0, 4), (1, 3)]
    assert list(d.schedule.running) == [second.id]
    with pytest.raises(gl.UserCodeError) as info:
        d.schedule.receive(TaskFailed(second.id, gl.UserCodeError("map raised", step="same")))
    assert (info.value.flow, info.value.step) == ("receive", "same")
    assert not d.schedule.running and d.schedule.failed_stage == 0


def test_run_task_names_the_task_and_sends_each_stage_s_spec_pickled_once() -> None:
    f = gl.Flow("message")
    f.range(0, 10, shards=2).map(lambda x: x + 1, name="plus").printlnf("%d")
    d = Driver(f)
    d.schedule.start()
    first, second = d.take()
    own = dict(first.params)
    msg = d.schedule.run_task(first, out_dir="mem/run", holds=Holdings(), memory_budget=64)
    again = d.schedule.run_task(second, out_dir="mem/run", holds=Holdings())
    holds = Holdings()
    d.schedule.run_task(first, out_dir="mem/run", holds=holds)
    loaded = d.schedule.run_task(second, out_dir="disk/run", holds=holds)
    assert (msg.task, msg.shard, msg.inputs, msg.out_dir) == (first.id, 0, first.inputs, "mem/run")
    assert msg.params == {**own, "memory_budget": 64}
    assert (msg.prefix, again.prefix) == ("s0-t0", "s0-t1")
    assert msg.where == {"flow": "message", "stage": "range->plus", "shard": "1/2"}
    assert again.where["shard"] == "2/2" and loaded.out_dir == "disk/run"
    assert msg.stage_key == again.stage_key == f"{d.schedule.run_id}-0"
    assert msg.sys_path and all(os.path.isabs(p) for p in msg.sys_path)
    # pickled once for the run, and not sent to an executor that has the stage
    assert msg.stage_blob is not None and again.stage_blob is msg.stage_blob
    assert loaded.stage_blob is None
    # the function travels beside the spec, once per executor
    assert len(msg.functions) == 1 and msg.functions[0].data and not loaded.functions
    executor = StageCache()
    executor.receive(msg)
    spec = executor.get(msg.stage_key, msg.stage_blob)
    assert (spec.key, spec.name, spec.flow, spec.num_tasks) == (
        msg.stage_key,
        "range->plus",
        "message",
        2,
    )
    assert [op.name for op in spec.ops] == ["plus"] and spec.ops[0].fn(1) == 2


def _run_once(flow: gl.Flow, holds: Holdings) -> tuple[Driver, list[RunTask]]:
    """One run of ``flow``'s plan on one executor whose record is ``holds``: its messages."""
    d = Driver(flow)
    d.schedule.start(d.data())
    msgs = []
    while d.schedule.ready:
        (task,) = d.take(1)
        msgs.append(d.schedule.run_task(task, out_dir="mem/run", holds=holds))
        d.schedule.receive(done(task))
    return d, msgs


def test_a_function_travels_once_per_executor_while_its_data_is_unchanged() -> None:
    table = np.arange(300_000)  # 2.4 MB: the function is written as a file, not in a frame
    f = gl.Flow("ship")
    f.range(0, 4, shards=4).map(lambda x: int(table[x]), name="look").printlnf("%d")
    holds = Holdings()
    d, first = _run_once(f, holds)
    sent = [fn for m in first for fn in m.functions]
    assert len(first) == 4 and len(sent) == 1 and sent[0].path == f"mem/fn-{sent[0].digest}"
    # the file holds the function's pickle, then the array's data as it is in memory
    assert d.storage.functions[sent[0].digest][1] == table.tobytes()
    d2, second = _run_once(f, holds)  # a second run of the same plan
    assert not any(m.functions for m in second) and not d2.storage.functions
    assert second[0].forget == (first[0].stage_key,)  # the past run's stage, nothing else
    table[1] = -1  # changed data: another digest, sent again
    d3, third = _run_once(f, holds)
    (again,) = [fn for m in third for fn in m.functions]
    assert again.digest != sent[0].digest and list(d3.storage.functions) == [again.digest]
    # the old version stays, within what executors keep of earlier runs
    assert list(holds.functions) == [sent[0].digest, again.digest]


def test_an_executor_forgets_the_least_recently_used_functions_past_what_it_keeps() -> None:
    holds = Holdings(keep=3_000_000)
    digests = []
    for k in range(3):
        table = np.full(200_000, k)  # 1.6 MB: two are more than the executor keeps
        f = gl.Flow("keep")
        f.ints([0]).map(lambda x, t=table: int(t[x]), name="look").printlnf("%d")
        _, msgs = _run_once(f, holds)
        (fn,) = msgs[0].functions
        digests.append(fn.digest)
        if k == 2:  # two earlier functions are more than is kept: the older one goes
            assert digests[0] in msgs[0].forget and digests[1] not in msgs[0].forget
    assert list(holds.functions) == digests[1:]


# ---------------------------------------------------------------------------------------------
# Executors that die


def test_an_on_disk_task_whose_executor_died_runs_again_up_to_twice() -> None:
    f = gl.Flow("retries")
    f.range(0, 10, shards=2).map(lambda x: x, name="same").on_disk().printlnf("%d")
    d = Driver(f)
    d.schedule.start()
    for attempt in range(2):
        (task,) = d.take(1)
        assert (task.stage.id, task.shard) == (0, 0)
        d.schedule.task_lost(task.id, -9, "")
        # back at the front of the queue, before the task that never ran
        assert list(d.schedule.ready) == [(0, 0), (0, 1)], attempt
    (task,) = d.take(1)
    with pytest.raises(gl.ExecutorCrashedError) as info:
        d.schedule.task_lost(task.id, -9, "")
    err = info.value
    assert (err.flow, err.stage, err.step, err.shard) == ("retries", "range->same", "same", "1/2")
    assert "killed by signal 9" in str(err)


def test_a_task_whose_executor_died_fails_the_run_at_once_unless_on_disk() -> None:
    f = gl.Flow("crash")
    f.range(0, 10, shards=2).map(lambda x: x, name="same").printlnf("%d")
    d = Driver(f)

    def drive() -> None:
        d.schedule.start()
        first, _ = d.take()
        d.schedule.task_lost(first.id, 3, "Fatal Python error: Aborted")

    with pytest.raises(gl.ExecutorCrashedError) as info:
        d.run(drive)
    err = info.value
    assert (err.stage, err.step, err.shard) == ("range->same", "same", "1/2")
    assert "exited with code 3" in str(err) and "Fatal Python error: Aborted" in (err.detail or "")
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]
    assert d.calls == ["stop", "clean up"]


# ---------------------------------------------------------------------------------------------
# How a run ends when something goes wrong


def save_flow() -> gl.Flow:
    f = gl.Flow("save")
    # an absolute folder: save() resolves a relative one from the current folder
    f.range(0, 10, shards=2).map(lambda x: x, name="same").save("/out", "csv")
    return f


def test_a_failed_task_fails_the_run_once_and_removes_only_what_its_save_wrote() -> None:
    d = Driver(save_flow())
    # a part that was there before the run (the folder keeps whatever prepare left)
    d.storage.parts["/out"] = {"/out/part-00001.csv"}

    def drive() -> None:
        d.schedule.start()
        first, second = d.take()
        d.storage.parts["/out"] |= {"/out/part-00000.csv", "/out/.part-00001.csv.inprogress"}
        d.schedule.task_done(done(first, pieces=[None]))
        error = gl.UserCodeError("map raised ValueError: bad", step="same", shard="2/2")
        d.schedule.task_failed(TaskFailed(second.id, error))

    with pytest.raises(gl.UserCodeError) as info:
        d.run(drive)
    assert (info.value.flow, info.value.step, info.value.shard) == ("save", "same", "2/2")
    assert d.storage.prepared == ["/out"]
    assert d.storage.removed == {"/out/part-00000.csv", "/out/.part-00001.csv.inprogress"}
    assert d.terminal() == ["RunFailed"]
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]
    assert d.calls == ["stop", "clean up"]
    assert not d.schedule.running and not d.schedule.ready


def test_a_cancelled_run_stops_its_tasks_and_ends_with_one_run_cancelled() -> None:
    d = Driver(save_flow())

    def drive() -> None:
        d.schedule.start()
        d.take(1)
        d.storage.parts["/out"] = {"/out/.part-00000.csv.inprogress"}
        raise KeyboardInterrupt

    with pytest.raises(gl.RunCancelledError) as info:
        d.run(drive)
    assert info.value.flow == "save"
    assert d.kinds() == [("RunStarted", None), ("StageStarted", 0), ("RunCancelled", None)]
    assert d.calls == ["stop", "clean up"]
    assert d.storage.removed == {"/out/.part-00000.csv.inprogress"}
    assert not d.schedule.running and not d.schedule.ready


def test_an_error_of_the_runner_s_own_code_names_the_flow_and_the_stage() -> None:
    d = Driver(sort_flow(shards=2))

    def broken(piece: Piece) -> bool:
        raise ZeroDivisionError("a fault in the runner")

    d.storage.in_memory = broken  # type: ignore[method-assign]

    def drive() -> None:
        d.schedule.start()
        for t in d.take():
            d.schedule.task_done(done(t))

    with pytest.raises(gl.GleamError) as info:
        d.run(drive)
    err = info.value
    assert type(err) is gl.GleamError
    assert (err.flow, err.stage) == ("sort", "range->local_sort")
    assert "ZeroDivisionError: a fault in the runner" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]


def test_a_save_folder_that_cannot_be_prepared_fails_the_started_run() -> None:
    d = Driver(save_flow())
    d.storage.fail_prepare = gl.OutputError("cannot save to out: it exists and is not a folder")
    with pytest.raises(gl.OutputError) as info:
        d.run(lambda: d.schedule.start())
    assert (info.value.flow, info.value.step) == ("save", "save")
    assert d.kinds() == [("RunStarted", None), ("RunFailed", None)]
    assert d.calls == ["stop", "clean up"]


def test_a_run_whose_stop_fails_still_ends_with_one_run_failed_and_the_driver_s_error() -> None:
    d = Driver(save_flow())

    def drive() -> None:
        d.schedule.start()
        d.take(1)
        d.storage.parts["/out"] = {"/out/.part-00000.csv.inprogress"}
        raise ValueError("a fault in the driver")

    def stop() -> None:
        d.calls.append("stop")
        raise OSError("the executors could not be told to stop")

    with (
        pytest.raises(gl.GleamError) as info,
        pytest.warns(RuntimeWarning, match="OSError: the executors could not be told to stop"),
    ):
        d.schedule.run(drive, stop, lambda: d.calls.append("clean up"))
    err = info.value
    assert type(err) is gl.GleamError and err.flow == "save"
    assert "ValueError: a fault in the driver" in str(err)
    assert isinstance(err.__cause__, ValueError)
    assert d.terminal() == ["RunFailed"] and d.kinds()[-1] == ("RunFailed", None)
    # the rest of the clean-up still happened
    assert d.storage.removed == {"/out/.part-00000.csv.inprogress"}
    assert d.calls == ["stop", "clean up"]
    assert not d.schedule.running and not d.schedule.ready


def test_a_ctrl_c_while_a_failed_run_stops_its_tasks_still_ends_with_one_run_failed() -> None:
    d = Driver(save_flow())

    def drive() -> None:
        d.schedule.start()
        first, _ = d.take()
        d.storage.parts["/out"] = {"/out/.part-00000.csv.inprogress"}
        d.schedule.task_failed(TaskFailed(first.id, gl.UserCodeError("map raised", step="same")))

    def stop() -> None:
        d.calls.append("stop")
        raise KeyboardInterrupt  # while waiting for the executors to stop

    with pytest.raises(gl.UserCodeError) as info:
        d.schedule.run(drive, stop, lambda: d.calls.append("clean up"))
    assert (info.value.flow, info.value.step) == ("save", "same")
    assert d.kinds()[-2:] == [("StageFailed", 0), ("RunFailed", None)]
    assert d.terminal() == ["RunFailed"]
    assert d.storage.removed == {"/out/.part-00000.csv.inprogress"}
    assert d.calls == ["stop", "clean up"]


def test_a_cancelled_run_whose_stop_fails_still_ends_with_one_run_cancelled() -> None:
    d = Driver(save_flow())

    def drive() -> None:
        d.schedule.start()
        d.take(1)
        raise KeyboardInterrupt

    def stop() -> None:
        raise OSError("no such process")

    with pytest.raises(gl.RunCancelledError), pytest.warns(RuntimeWarning, match="no such"):
        d.schedule.run(drive, stop, lambda: d.calls.append("clean up"))
    assert d.kinds() == [("RunStarted", None), ("StageStarted", 0), ("RunCancelled", None)]
    assert d.calls == ["clean up"]


def test_a_failing_clean_up_neither_replaces_the_result_nor_the_terminal_event() -> None:
    f = gl.Flow("clean")
    f.range(0, 10, shards=2).map(lambda x: x, name="same").printlnf("%d")
    d = Driver(f)

    def drive() -> None:
        d.schedule.start()
        for t in d.take():
            d.schedule.task_done(done(t, rows=1, pieces=[None]))

    def clean_up() -> None:
        raise PermissionError("cannot remove the run's folder")

    with pytest.warns(RuntimeWarning, match="PermissionError: cannot remove"):
        result = d.schedule.run(drive, lambda: d.calls.append("stop"), clean_up)
    assert result.rows == 2
    assert d.kinds()[-1] == ("RunFinished", None) and d.terminal() == ["RunFinished"]
    assert d.calls == []
