"""The local runner: executor processes, events, statistics, spilling, cancellation."""

from __future__ import annotations

import _thread
import copy
import io
import operator
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest
from run_folders import run_folders

import gleamnb as gl
from gleamnb import events
from gleamnb.runners.local import LocalRunner
from gleamnb.runners.sizes import parse_size
from gleamnb.runners.terminal import TerminalProgress
from gleamnb.runtime.store import COALESCE_ROWS


def leftover_run_dirs() -> list[str]:
    return run_folders(os.getpid())


def test_tasks_run_in_executor_processes_one_per_requested_executor() -> None:
    runner = LocalRunner(executors=3)
    try:
        pids = gl.Flow("pids").range(0, 12, shards=6).map(lambda x: os.getpid()).collect(runner)
        seen = {p for (p,) in pids}
        assert os.getpid() not in seen
        assert 1 <= len(seen) <= 3
        assert seen <= {e.pid for e in runner.pool}
    finally:
        runner.close()


@pytest.mark.parametrize("executors", [1, 2, 3])
def test_executors_share_the_cores_for_arrow_threads(executors: int) -> None:
    # n executors each running one Arrow thread per core would oversubscribe the machine
    runner = LocalRunner(executors=executors)
    try:
        counts = (
            gl.Flow("threads")
            .range(0, 2 * executors, shards=2 * executors)
            .map(lambda x: pa.cpu_count())
            .collect(runner)
        )
        assert {c for (c,) in counts} == {max(1, len(os.sched_getaffinity(0)) // executors)}
    finally:
        runner.close()


def test_executors_share_the_cores_for_openblas_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def seen(runner: LocalRunner) -> set[str | None]:
        try:
            rows = (
                gl.Flow("blas")
                .range(0, 4, shards=4)
                .map(lambda x: os.environ.get("OPENBLAS_NUM_THREADS"))
                .collect(runner)
            )
            return {v for (v,) in rows}
        finally:
            runner.close()

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert seen(LocalRunner(executors=2)) == {str(max(1, cores // 2))}
    # another share of the cores (on 2 or more): no executor prestarted earlier fits
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert seen(LocalRunner(executors=1)) == {"3"}


def test_a_driver_with_executor_processes_does_not_import_the_executor_module() -> None:
    code = (
        "import sys, gleamnb as gl\n"
        "assert gl.Flow().range(0, 10).count() == 10\n"
        "print('gleamnb.runtime.executor' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_driver_planning_and_running_a_flow_imports_no_kernel_only_module() -> None:
    # the kernels import pyarrow.compute (and the readers pyarrow.csv/json) where they run,
    # in the executors; a driver that only plans and ships stages never needs them
    unwanted = ["pyarrow.compute", "pyarrow.csv", "pyarrow.json", "pyarrow.acero"]
    unwanted += ["pyarrow.dataset", "pyarrow.parquet", "pandas"]
    code = (
        "import sys, gleamnb as gl\n"
        "assert gl.Flow().range(0, 10).count() == 10\n"
        f"print([m for m in {unwanted!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_inline_mode_runs_in_this_process() -> None:
    rows = (
        gl.Flow("inline")
        .range(0, 4, shards=2)
        .map(lambda x: os.getpid())
        .collect(gl.local(mode="inline"))
    )
    assert {p for (p,) in rows} == {os.getpid()}


def test_executors_stay_warm_between_runs() -> None:
    runner = LocalRunner(executors=2)
    try:
        gl.Flow("a").range(0, 4, shards=2).count(runner)
        before = {e.pid for e in runner.pool}
        gl.Flow("b").range(0, 4, shards=2).count(runner)
        assert {e.pid for e in runner.pool} == before
    finally:
        runner.close()


def test_a_closed_runner_stops_its_executors_and_starts_again_on_its_next_run() -> None:
    # arguments of its own, so the cached runner closed here is no other test's
    with gl.local(executors=1, memory_limit="256MB") as runner:
        first = gl.Flow("before").range(0, 4, shards=2).map(lambda x: os.getpid()).collect(runner)
        processes = [e.proc for e in runner.pool]  # type: ignore[attr-defined]
    assert runner.pool == []
    assert processes and all(p.poll() is not None for p in processes)  # exited and reaped
    runner.close()  # closing again does nothing
    try:
        assert gl.local(executors=1, memory_limit="256MB") is runner
        again = gl.Flow("after").range(0, 4, shards=2).map(lambda x: os.getpid()).collect(runner)
        assert len({p for (p,) in again}) == 1
        assert {p for (p,) in again}.isdisjoint({p for (p,) in first})  # a fresh executor
    finally:
        runner.close()


def assert_stage_events_in_order(seen: list[events.Event]) -> None:
    """Each stage's events are its StageStarted, StageProgress events, then StageFinished,
    and it starts only after every stage it reads has finished."""
    started = seen[0]
    assert isinstance(started, events.RunStarted)
    finished_at: dict[int, int] = {}
    for stage in started.stages:
        own = [
            (i, type(e).__name__) for i, e in enumerate(seen) if getattr(e, "stage", -1) == stage.id
        ]
        kinds = [kind for _, kind in own]
        assert kinds[0] == "StageStarted" and kinds[-1] == "StageFinished", (stage.id, kinds)
        assert set(kinds[1:-1]) <= {"StageProgress"}, (stage.id, kinds)
        finished_at[stage.id] = own[-1][0]
        for up in stage.inputs:
            assert finished_at[up] < own[0][0], (stage.id, up)


def test_the_stage_order_check_refuses_events_out_of_order() -> None:
    info = [
        events.StageInfo(0, "a", 1, (0,), (), "hash"),
        events.StageInfo(1, "b", 1, (1,), (0,), "forward"),
    ]
    run = events.RunStarted("r", flow="f", runner="local", stages=tuple(info))

    def started(stage: int) -> events.Event:
        return events.StageStarted("r", stage=stage, tasks=1)

    def progress(stage: int) -> events.Event:
        return events.StageProgress("r", stage=stage, done=1, total=1, rows=1, bytes=1)

    def finished(stage: int) -> events.Event:
        return events.StageFinished("r", stage=stage, tasks=1, rows=1, bytes=1, seconds=0.1)

    assert_stage_events_in_order(
        [run, started(0), progress(0), finished(0), started(1), finished(1)]
    )
    wrong_orders = [
        [run, progress(0), started(0), finished(0), started(1), finished(1)],
        [run, started(0), finished(0), progress(0), started(1), finished(1)],
        [run, started(0), started(1), finished(0), finished(1)],  # 1 reads 0: it waits for it
        [run, started(0), finished(0), started(1)],
    ]
    for wrong in wrong_orders:
        with pytest.raises(AssertionError):
            assert_stage_events_in_order(wrong)


def test_a_plan_is_not_changed_by_a_run_and_runs_again_with_the_same_answer(
    runner: LocalRunner,
) -> None:
    f = gl.Flow("twice")
    f.range(0, 1000, shards=3).map(lambda x: (x * 7919) % 1000).sort(1).printlnf("%d")
    plan = f.plan()
    params = copy.deepcopy([st.params for st in plan.stages])
    expected = sorted((x * 7919) % 1000 for x in range(1000))
    for _ in range(2):
        (table,) = runner.execute(plan).outputs
        assert table.column(0).to_pylist() == expected
        assert [st.params for st in plan.stages] == params  # the range cuts stay out of it


def test_events_follow_the_documented_order_and_carry_statistics() -> None:
    seen: list[events.Event] = []
    f = gl.Flow("events")
    data = f.range(0, 1000, shards=4).map(lambda x: (x % 10, 1)).reduce_by_key(operator.add)
    result = data.collect(gl.local(executors=2), progress=seen.append)
    assert sorted(result) == [(k, 100) for k in range(10)]

    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    started = seen[0]
    assert isinstance(started, events.RunStarted) and started.flow == "events"
    assert [s.name for s in started.stages] == ["range->map->local_reduce_by_key", "reduce_by_key"]
    assert started.stages[1].inputs == (0,)
    assert_stage_events_in_order(seen)
    first = next(e for e in seen if isinstance(e, events.StageFinished) and e.stage == 0)
    assert first.tasks == 4 and first.rows == 40  # 10 keys per shard after the map-side combine
    progress = [e for e in seen if isinstance(e, events.StageProgress) and e.stage == 0]
    assert progress and progress[-1].done == progress[-1].total == 4
    assert {e.run_id for e in seen} == {started.run_id}
    assert all(events.event_to_dict(e)["type"] == type(e).__name__ for e in seen)


def test_run_returns_per_stage_statistics() -> None:
    f = gl.Flow("stats")
    f.range(0, 100, shards=2).filter(lambda x: x % 3 == 0, name="thirds").printlnf("%d")
    result = f.run(gl.local(executors=2), progress=False)
    assert result.flow == "stats" and result.runner == "local"
    (stage,) = result.stages
    assert stage.name == "range->thirds" and stage.tasks == 2
    assert [(s.name, s.rows) for s in stage.steps] == [("range", 100), ("thirds", 34)]
    assert stage.rows == 34 and stage.bytes > 0 and result.seconds > 0
    assert "range->thirds" in result.summary()


def test_small_memory_budget_spills_to_disk_and_gives_the_same_answer(tmp_path: Path) -> None:
    runner = LocalRunner(executors=2, memory_limit="1MB", spill_dir=str(tmp_path))
    try:
        f = gl.Flow("spill")
        rows = f.range(0, 200_000, shards=4).map(lambda x: (f"k{(x * 7919) % 200_000:06d}", x))
        got = rows.sort(gl.order_by(1)).collect(runner)
        result = f.last_run
        assert result is not None and result.spilled
        assert any(s.spilled_bytes > 0 for s in result.stages)
        expected = sorted((f"k{(x * 7919) % 200_000:06d}", x) for x in range(200_000))
        assert got == expected
        assert os.listdir(tmp_path) == []  # the run's spill folder is removed afterwards
    finally:
        runner.close()


def shared_memory_bytes() -> int:
    """Bytes in this process's run folders in shared memory (files vanish as runs free them)."""
    total = 0
    for folder in leftover_run_dirs():
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except FileNotFoundError:
                pass
    return total


class SharedMemoryWatch:
    """The most shared memory a run used: sampled by a thread, and at every event."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, shared_memory_bytes())
            self._stop.wait(0.002)

    def __call__(self, event: events.Event) -> None:
        self.peak = max(self.peak, shared_memory_bytes())

    def __enter__(self) -> SharedMemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_the_memory_budget_holds_while_tasks_write(tmp_path: Path) -> None:
    budget = 3_000_000  # under a third of the map's output
    runner = LocalRunner(executors=2, memory_limit=budget, spill_dir=str(tmp_path))
    try:
        f = gl.Flow("budget")
        rows = f.range(0, 600_000, shards=2).map(lambda x: (x % 1000, x))
        with SharedMemoryWatch() as watch:
            got = rows.partition(4).reduce_by_key("sum").collect(runner, progress=watch)
        expected: dict[int, int] = {}
        for x in range(600_000):
            expected[x % 1000] = expected.get(x % 1000, 0) + x
        assert sorted(got) == sorted(expected.items())
        # a task checks its share before each write of one coalesced batch (two int64 fields)
        assert 0 < watch.peak <= budget + COALESCE_ROWS * 16
        result = f.last_run
        assert result is not None and result.spilled
        # the map's output: what fit the budget stayed in memory, the rest spilled
        assert 0.5 * 600_000 * 16 < result.stages[0].spilled_bytes < 600_000 * 16
    finally:
        runner.close()


def test_in_memory_source_data_obeys_the_budget(tmp_path: Path) -> None:
    table = pa.table({"k": [x % 10 for x in range(200_000)], "v": list(range(200_000))})
    budget = 1_000_000  # a fifth of the table
    runner = LocalRunner(executors=2, memory_limit=budget, spill_dir=str(tmp_path))
    try:
        f = gl.Flow("source budget")
        data = f.from_arrow(table, shards=8)
        with SharedMemoryWatch() as watch:
            got = data.reduce_by_key("sum").collect(runner, progress=watch)
        expected: dict[int, int] = {}
        for k, v in zip(table.column("k").to_pylist(), table.column("v").to_pylist()):
            expected[k] = expected.get(k, 0) + v
        assert sorted(got) == sorted(expected.items())
        assert watch.peak <= budget + table.nbytes // 8  # at most one piece past the budget
        result = f.last_run
        assert result is not None and result.data_spilled_bytes > table.nbytes / 2
        assert result.spilled and result.spilled_bytes >= result.data_spilled_bytes
    finally:
        runner.close()


def test_a_generous_budget_keeps_everything_in_memory() -> None:
    f = gl.Flow("memory")
    f.range(0, 10_000, shards=2).map(lambda x: (x % 7, x)).reduce_by_key("sum").collect()
    assert f.last_run is not None and not f.last_run.spilled


def test_on_disk_datasets_are_written_to_the_disk_folder(tmp_path: Path) -> None:
    runner = LocalRunner(executors=2, spill_dir=str(tmp_path))
    try:
        f = gl.Flow("disk")
        d = f.range(0, 1000, shards=2).map(lambda x: x * 2, name="double").on_disk()
        assert sorted(d.map(lambda x: x + 1).collect(runner)) == [(2 * x + 1,) for x in range(1000)]
        stats = f.last_run.stages  # type: ignore[union-attr]
        assert stats[0].name == "range->double" and stats[0].disk_bytes > 0
        assert not f.last_run.spilled  # type: ignore[union-attr]
    finally:
        runner.close()


def test_nothing_is_left_in_shared_memory_after_runs_good_or_bad() -> None:
    f = gl.Flow("clean")
    f.range(0, 100, shards=2).map(lambda x: (x % 5, x)).reduce_by_key("sum").collect()
    with pytest.raises(gl.UserCodeError):
        f.range(0, 10, shards=2).map(lambda x: 1 // (x - 5)).collect()
    assert leftover_run_dirs() == []


def test_ctrl_c_cancels_the_run_and_the_runner_keeps_working(tmp_path: Path) -> None:
    runner = LocalRunner(executors=2)
    seen: list[events.Event] = []
    marker = tmp_path / "finished"

    def slow(x: int) -> int:
        time.sleep(30)
        marker.write_text("the task ran to its end")
        return x

    try:
        f = gl.Flow("slow")
        timer = threading.Timer(1.5, _thread.interrupt_main)
        timer.start()
        with pytest.raises(gl.RunCancelledError):
            f.range(0, 8, shards=4).map(slow).collect(runner, progress=seen.append)
        assert isinstance(seen[-1], events.RunCancelled)
        assert not marker.exists()  # the sleeping tasks were stopped, not waited for
        assert f.range(0, 5, shards=2).map(lambda x: x + 1).collect(runner) == [
            (i,) for i in range(1, 6)
        ]
        assert leftover_run_dirs() == []
    finally:
        runner.close()


def test_terminal_progress_prints_one_line_per_finished_stage() -> None:
    out = io.StringIO()
    listener = TerminalProgress("wc", stream=out, live=False)
    gl.Flow("wc").strings(["a b", "b"]).flat_map(gl.mappers.tokenize).distinct().collect(
        progress=listener
    )
    text = out.getvalue()
    # stage 0 reads the 2 strings, tokenizes them into 3 words and writes the 2 distinct ones
    done = "done [####################] 100% 1/1 tasks"
    assert f"[wc] stage 0 strings->tokenize->local_distinct: {done}, 2 rows read, 2 written" in text
    assert f"[wc] stage 1 distinct: {done}, 2 rows read, 2 written" in text
    assert "[wc] done in" in text


def test_progress_true_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    gl.Flow("loud").range(0, 3).count(progress=True)
    assert "[loud] done in" in capsys.readouterr().err


def test_bad_runner_arguments_are_reported() -> None:
    with pytest.raises(gl.ArgumentError, match="executors must be a whole number"):
        gl.local(executors=0)
    with pytest.raises(gl.ArgumentError, match="unknown mode"):
        gl.local(mode="threads")
    with pytest.raises(gl.ArgumentError, match="cannot read the size"):
        gl.local(memory_limit="lots")
    for bad in (-5, "-5MB", "-1 kb", -0.5):
        with pytest.raises(gl.ArgumentError, match="memory_limit: a size cannot be negative") as e:
            gl.local(memory_limit=bad)
        assert e.value.hint
    for empty in (0, "0MB", 0.5):
        with pytest.raises(gl.ArgumentError, match="memory_limit must be at least 1 byte") as e:
            gl.local(memory_limit=empty)
        assert "leave it out" in (e.value.hint or "")
    for unreadable in (float("nan"), float("inf"), True):
        with pytest.raises(gl.ArgumentError, match="memory_limit: cannot read the size"):
            gl.local(memory_limit=unreadable)  # type: ignore[arg-type]
    with pytest.raises(gl.ArgumentError, match="set_runner needs a runner"):
        gl.set_runner("local")  # type: ignore[arg-type]


def test_a_failing_task_stops_the_others_without_losing_warm_executors(tmp_path: Path) -> None:
    runner = LocalRunner(executors=2)
    marker = tmp_path / "finished"
    try:
        gl.Flow("warm up").range(0, 4, shards=2).count(runner)
        before = {e.pid for e in runner.pool}

        def fail_or_wait(x: int) -> int:
            if x == 0:
                raise ValueError("boom")
            time.sleep(20)
            marker.write_text("the task ran to its end")
            return x

        with pytest.raises(gl.UserCodeError, match="boom"):
            gl.Flow("fails").range(0, 2, shards=2).map(fail_or_wait).collect(runner)
        assert not marker.exists()  # the sleeping task was stopped, not waited for
        assert {e.pid for e in runner.pool} == before
        assert gl.Flow("after").range(0, 3, shards=2).map(lambda x: -x).collect(runner) == [
            (0,),
            (-1,),
            (-2,),
        ]
    finally:
        runner.close()


def test_parse_size_reads_units_and_refuses_negative_text() -> None:
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size(" 1.5 kb ") == 1500
    assert parse_size("+3MB") == 3_000_000
    assert parse_size(0) == 0
    with pytest.raises(gl.ArgumentError, match="a size cannot be negative, got '-2GiB'"):
        parse_size("-2GiB")
    with pytest.raises(gl.ArgumentError, match="cannot read the size '12 apples'"):
        parse_size("12 apples")
