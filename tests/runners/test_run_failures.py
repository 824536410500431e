"""How a run of the local runner ends when something goes wrong.

Whatever fails — a user's function, rows whose types disagree between shards, an executor that
dies, the runner's own code — the run ends with exactly one ``RunFailed`` (or ``RunCancelled``)
event, its running tasks are stopped, its folders are removed, a failed ``save`` leaves none of
its part files behind, and the error names the flow and where it happened.

UDFs are defined inside the tests: a function defined at module level would travel to the
executors by reference to this test module, which they cannot import.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from run_folders import run_folders

import gleamnb as gl
from gleamnb import events
from gleamnb.runners import scheduling
from gleamnb.runners.local import LocalRunner

END_EVENTS = (events.RunFinished, events.RunFailed, events.RunCancelled)


@pytest.fixture
def pair() -> Iterator[LocalRunner]:
    """A runner of its own with two executors (some tests kill or stop its executors)."""
    runner = LocalRunner(executors=2)
    yield runner
    runner.close()


def run_dirs(spill_dir: str | None = None) -> list[str]:
    return run_folders(os.getpid(), ["/dev/shm", *([spill_dir] if spill_dir else [])])


def ends(seen: list[events.Event]) -> list[str]:
    return [type(e).__name__ for e in seen if isinstance(e, END_EVENTS)]


def int_then_text(x: int) -> object:
    """Shard 1 of range(0, 10, shards=2) maps to ints, shard 2 to strings."""
    return x if x < 5 else str(x)


def wait_for(path: str, seconds: float = 60.0) -> None:
    """Block until ``path`` exists (another task wrote it)."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.01)


def part_files_in(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(("part-", ".part-")))


# ---------------------------------------------------------------------------------------------
# Fields whose type changes between shards


def test_sort_of_shards_whose_key_types_differ_is_a_schema_error(pair: LocalRunner) -> None:
    seen: list[events.Event] = []
    f = gl.Flow("mixed sort")
    mixed = f.range(0, 10, shards=2).map(lambda x: x if x < 5 else str(x), name="mix")
    with pytest.raises(gl.SchemaError) as info:
        mixed.sort(1).collect(pair, progress=seen.append)
    err, message = info.value, str(info.value)
    # the step that made the rows, not the sort that reads them
    assert (err.flow, err.step, err.stage) == ("mixed sort", "mix", "range->mix->local_sort")
    assert err.shard == "2/2"  # the first shard holding strings
    assert "int64 then string" in message and "shard 1/2, then shard 2/2" in message
    assert ends(seen) == ["RunFailed"]
    failed = [e for e in seen if isinstance(e, events.StageFailed)]
    assert [e.stage for e in failed] == [0]  # that step's stage, checked once it is done
    assert run_dirs() == []


def test_sort_keys_that_cannot_be_compared_across_shards_are_a_schema_error(
    pair: LocalRunner,
) -> None:
    # an int and a set go together as Python objects, but cannot be ordered
    f = gl.Flow("incomparable sort")
    mixed = f.range(0, 10, shards=2).map(lambda x: x if x < 5 else frozenset([x]))
    with pytest.raises(gl.SchemaError, match="cannot be compared") as info:
        mixed.sort(1).collect(pair, progress=False)
    assert (info.value.flow, info.value.step) == ("incomparable sort", "sort")


def test_sorting_shards_whose_types_only_widen_still_works(pair: LocalRunner) -> None:
    f = gl.Flow("widening sort")
    rows = f.range(0, 10, shards=2).map(lambda x: (x if x < 5 else x + 0.5, -x))
    got = rows.sort(gl.order_by(1, descending=True)).collect(pair, progress=False)
    expected = sorted(((x if x < 5 else x + 0.5), -x) for x in range(10))[::-1]
    assert got == expected


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_save_whose_shards_disagree_on_a_type_fails_and_keeps_no_part(
    pair: LocalRunner, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("not a part file")
    seen: list[events.Event] = []
    f = gl.Flow("mixed save")
    f.range(0, 10, shards=2).map(lambda x: x if x < 5 else str(x), name="mix").save(str(out), fmt)
    with pytest.raises(gl.SchemaError) as info:
        f.run(pair, progress=seen.append)
    err = info.value
    assert err.flow == "mixed save" and err.step == "mix" and err.shard == "2/2"
    assert "shard 1/2, then shard 2/2" in str(err)
    assert ends(seen) == ["RunFailed"]
    assert sorted(os.listdir(out)) == ["notes.txt"]


def test_save_whose_shards_agree_keeps_every_part(pair: LocalRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    f = gl.Flow("good save")
    f.range(0, 10, shards=2).map(lambda x: (x, x * 0.5)).save(str(out))
    f.run(pair, progress=False)
    assert part_files_in(out) == ["part-00000.parquet", "part-00001.parquet"]
    table = pq.read_table(str(out))
    assert sorted(zip(*(c.to_pylist() for c in table.columns))) == [(x, x * 0.5) for x in range(10)]


def test_a_save_folder_that_cannot_be_made_fails_the_started_run(
    inline: LocalRunner, tmp_path: Path
) -> None:
    # the runner prepares a save's folder once the run has started: it ends with RunFailed
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")
    seen: list[events.Event] = []
    f = gl.Flow("blocked save")
    f.range(0, 4, shards=2).save(str(blocker / "out"), "csv")
    with pytest.raises(gl.OutputError) as info:
        f.run(inline, progress=seen.append)
    assert (info.value.flow, info.value.step) == ("blocked save", "save")
    assert [type(e).__name__ for e in seen] == ["RunStarted", "RunFailed"]
    assert blocker.read_text() == "a regular file\n"
    assert run_dirs() == []


# ---------------------------------------------------------------------------------------------
# A failed save leaves none of its files


def test_a_failing_save_removes_the_part_a_finished_task_wrote(
    pair: LocalRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    first_part = str(out / "part-00000.parquet")

    def fail_after_the_first_part(x: int) -> int:
        if x == 9:
            wait_for(first_part)  # shard 1 has finished its part
            raise ValueError("bad row")
        return x

    f = gl.Flow("failing save")
    f.range(0, 10, shards=2).map(fail_after_the_first_part).save(str(out))
    with pytest.raises(gl.UserCodeError, match="bad row"):
        f.run(pair, progress=False)
    assert sorted(os.listdir(out)) == ["notes.txt"]


def test_a_save_whose_executor_dies_leaves_no_part_in_progress(
    pair: LocalRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first_part = str(out / "part-00000.parquet")
    in_progress = str(out / ".part-00001.parquet.inprogress")

    def die_mid_shard(x: int) -> int:
        # shard 2 has its first batch (65536 rows) in its part file when it dies
        if x == 199_999:
            wait_for(first_part)
            wait_for(in_progress)
            os._exit(3)
        return x

    f = gl.Flow("dying save")
    f.range(0, 200_000, shards=2).map(die_mid_shard).save(str(out))
    with pytest.raises(gl.ExecutorCrashedError):
        f.run(pair, progress=False)
    assert part_files_in(out) == []


def test_a_cancelled_save_removes_its_parts(pair: LocalRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first_part = str(out / "part-00000.parquet")
    seen: list[events.Event] = []

    def slow_second_shard(x: int) -> int:
        if x == 9:
            time.sleep(60)
        return x

    def interrupt_once_the_first_part_is_written() -> None:
        wait_for(first_part)
        _thread.interrupt_main()

    f = gl.Flow("cancelled save")
    f.range(0, 10, shards=2).map(slow_second_shard).save(str(out))
    threading.Thread(target=interrupt_once_the_first_part_is_written, daemon=True).start()
    with pytest.raises(gl.RunCancelledError):
        f.run(pair, progress=seen.append)
    assert ends(seen) == ["RunCancelled"]
    assert part_files_in(out) == []


def test_inline_failing_save_removes_its_parts(tmp_path: Path) -> None:
    # inline, shard 1 runs to its end before shard 2 starts
    out = tmp_path / "out"
    f = gl.Flow("inline failing save")
    f.range(0, 10, shards=2).map(lambda x: 1 // (x - 9)).save(str(out), "csv")
    with pytest.raises(gl.UserCodeError, match="ZeroDivisionError"):
        f.run(gl.local(mode="inline"), progress=False)
    assert part_files_in(out) == []


# ---------------------------------------------------------------------------------------------
# Errors of the runner's own code


def test_an_unexpected_error_in_the_runner_fails_the_run_cleanly(
    pair: LocalRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No flow reaches a fault of the runner on purpose, so one is put where the driver
    # computes the cut points of a sort, while another branch of the flow is still running.
    def broken(*args: object) -> object:
        raise ZeroDivisionError("a fault in the runner")

    monkeypatch.setattr(scheduling, "boundaries", broken)
    marker = tmp_path / "finished"
    out = tmp_path / "out"

    def slow(x: int) -> int:
        time.sleep(30)
        marker.write_text("the task ran to its end")
        return x

    seen: list[events.Event] = []
    f = gl.Flow("runner fault")
    f.range(0, 1).map(slow).save(str(out))
    f.range(0, 10, shards=2).sort(1).printlnf("%d")
    with pytest.raises(gl.GleamError) as info:
        f.run(pair, progress=seen.append)
    err = info.value
    assert type(err) is gl.GleamError
    assert err.flow == "runner fault" and err.stage == "sort"
    assert "ZeroDivisionError: a fault in the runner" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert ends(seen) == ["RunFailed"]
    assert all(e.task is None for e in pair.pool)  # the slow task was stopped
    assert not marker.exists()
    assert run_dirs() == []
    assert part_files_in(out) == []
    monkeypatch.undo()
    assert gl.Flow("after").range(0, 6, shards=2).sort(gl.order_by(1, descending=True)).collect(
        pair
    ) == [(x,) for x in range(5, -1, -1)]


# ---------------------------------------------------------------------------------------------
# Crashed executors name the step


def test_an_exiting_executor_names_the_stage_s_only_function_step(pair: LocalRunner) -> None:
    # os._exit prints no stack: the stage's one step with a function is the one
    def quit_at_seven(x: int) -> int:
        if x == 7:
            os._exit(3)
        return x

    f = gl.Flow("exit")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        f.range(0, 10, shards=2).map(quit_at_seven, name="quitter").collect(pair, progress=False)
    err = info.value
    assert err.step == "quitter" and err.shard == "2/2"
    assert "step 'quitter'" in str(err) and "code 3" in str(err)


def test_a_segfaulting_executor_names_the_step_in_its_stack(pair: LocalRunner) -> None:
    def crash_at_seven(x: int) -> int:
        if x == 7:
            ctypes.string_at(0)
        return x

    f = gl.Flow("segfault")
    data = f.range(0, 10, shards=2).map(lambda x: x + 0, name="plain")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        data.map(crash_at_seven, name="crasher").collect(pair, progress=False)
    err = info.value
    assert err.step == "crasher" and err.shard == "2/2"
    assert "step 'crasher'" in str(err)


def test_a_crash_in_a_stage_of_several_functions_lists_them(pair: LocalRunner) -> None:
    def quit_at_seven(x: int) -> int:
        if x == 7:
            os._exit(3)
        return x

    f = gl.Flow("crash among steps")
    data = f.range(0, 10, shards=2).map(lambda x: x + 1, name="first")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        data.map(quit_at_seven, name="second").collect(pair, progress=False)
    assert info.value.step is None  # nothing tells which of the two it was
    assert "one of the steps 'first', 'second'" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Save errors number shards as every other error does


def test_a_tsv_save_error_names_the_shard_as_i_of_n(tmp_path: Path) -> None:
    rows = ["plain", "also plain", "a\ttab", "more"]
    shards = 2
    # the shard of row 2 when 4 rows are cut into 2 contiguous shards
    expected = f"{2 * shards // len(rows) + 1}/{shards}"
    f = gl.Flow("tsv")
    f.strings(rows, shards=shards).save(str(tmp_path / "out"), "tsv")
    with pytest.raises(gl.OutputError) as info:
        f.run(gl.local(mode="inline"), progress=False)
    assert info.value.shard == expected
    assert f"shard {expected}" in str(info.value) and "shard 0" not in str(info.value)
    assert "part-00001.tsv" in str(info.value)
