"""Failures that come from the machine, not from the flow: a full disk, a process killed.

A full disk is made real with ``/dev/full``, whose writes fail with ``ENOSPC`` as a full file
system's do: a symlink to it is put where a task (or the driver) is about to write, so the real
executor process and the real writers meet the error where they would on a full disk. This
needs no root and no mount, so it runs wherever the tests run (Linux).

UDFs are defined inside the tests: a function defined at module level would travel to the
executors by reference to this test module, which they cannot import.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from run_folders import run_folders

import gleamnb as gl
from gleamnb import events
from gleamnb.runners import leftovers
from gleamnb.runners.local import LocalRunner

ROWS = 10_000  # fewer than a sink coalesces, so the task writes all of them at once
INT64_BYTES = 8


def full_at(folder: Callable[[], str], name: str) -> Callable[[events.Event], None]:
    """A listener that makes ``folder()/name`` a full disk once the first stage starts."""

    def plant(event: events.Event) -> None:
        if isinstance(event, events.StageStarted) and event.stage == 0:
            os.symlink("/dev/full", os.path.join(folder(), name))

    return plant


def only_run_folder(root: str) -> str:
    (found,) = run_folders(os.getpid(), [root])
    return found


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunner]:
    """One executor, so a test can tell whether the same process runs the next task."""
    runner = LocalRunner(executors=1, spill_dir=str(tmp_path_factory.mktemp("spill")))
    yield runner
    runner.close()


@pytest.fixture
def one(runner: LocalRunner) -> Iterator[LocalRunner]:
    """The module's runner, ready, with its memory budget as it was made."""
    budget = runner.memory_limit
    runner.warm(wait=True)
    yield runner
    runner.memory_limit = budget


def assert_executor_serves(runner: LocalRunner, pid: int) -> None:
    assert [e.pid for e in runner.pool] == [pid]
    assert gl.Flow("after").range(0, 4).map(lambda x: x + 1).collect(runner, progress=False) == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
    assert [e.pid for e in runner.pool] == [pid]


def free_in(message: str) -> int:
    found = re.search(r"([\d,]+) bytes free", message)
    assert found, message
    return int(found.group(1).replace(",", ""))


# ---------------------------------------------------------------------------------------------
# A full disk


@pytest.mark.parametrize("where", ["spill folder", "shared memory"])
def test_a_full_folder_of_shard_data_is_a_disk_full_error_and_the_executor_lives(
    one: LocalRunner, where: str
) -> None:
    if where == "spill folder":
        one.memory_limit = 1  # every piece spills
        root, option = one.spill_dir, "gl.local(spill_dir="
    else:
        root, option = one.memory_root, "gl.local(memory_limit="
    pid = one.pool[0].pid
    plant = full_at(lambda: only_run_folder(root), "s0-t0-b0.arrow")
    f = gl.Flow("full")
    with pytest.raises(gl.DiskFullError) as info:
        f.range(0, ROWS).map(lambda x: x * 2, name="double").collect(one, progress=plant)
    err = info.value
    message = str(err)
    assert isinstance(err, gl.OutputError) and isinstance(err, OSError)
    assert f"no space left in the folder {root}{os.sep}gleamnb-" in message
    assert f"writing {ROWS * INT64_BYTES:,} bytes to s0-t0-b0.arrow failed" in message
    assert (
        abs(free_in(message) - shutil.disk_usage(root).free) < 0.05 * shutil.disk_usage(root).total
    )
    assert (err.flow, err.stage, err.shard) == ("full", "range->double", "1/1")
    assert option in (err.hint or "") and root in (err.hint or "")
    assert "During handling" not in message and "Traceback" not in message
    assert run_folders(os.getpid(), [root]) == []
    assert_executor_serves(one, pid)


def test_a_full_spill_folder_while_the_driver_writes_in_memory_data(one: LocalRunner) -> None:
    one.memory_limit = 1  # the driver writes the source's table to the spill folder

    def plant(event: events.Event) -> None:
        if isinstance(event, events.RunStarted):  # before the driver makes the run's folders
            folder = os.path.join(one.spill_dir, leftovers.folder_name(event.run_id))
            os.makedirs(folder)
            os.symlink("/dev/full", os.path.join(folder, "d0-t0-b0.arrow"))

    table = pa.table({"n": pa.array(range(ROWS), pa.int64())})
    with pytest.raises(gl.DiskFullError) as info:
        gl.Flow("data").from_arrow(table).collect(one, progress=plant)
    message = str(info.value)
    assert f"writing {ROWS * INT64_BYTES:,} bytes to d0-t0-b0.arrow failed" in message
    assert "gl.local(spill_dir=" in (info.value.hint or "")
    assert glob.glob(os.path.join(one.spill_dir, "gleamnb-*")) == []


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_a_full_output_folder_is_a_disk_full_error_and_the_executor_lives(
    one: LocalRunner, tmp_path: Path, format: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    pid = one.pool[0].pid
    plant = full_at(lambda: str(out), f".part-00000.{format}.inprogress")
    f = gl.Flow("save")
    f.range(0, ROWS).map(lambda x: x * 2, name="double").save(str(out), format=format)
    with pytest.raises(gl.DiskFullError) as info:
        f.run(one, progress=plant)
    err = info.value
    message = str(err)
    assert f"no space left in the folder {out}: writing " in message
    assert f" to part-00000.{format} failed" in message
    assert abs(free_in(message) - shutil.disk_usage(out).free) < 0.05 * shutil.disk_usage(out).total
    assert (err.flow, err.shard) == ("save", "1/1")
    assert f"free space in {out}" in (err.hint or "")
    assert os.listdir(out) == []  # the in-progress part (here the link) is removed
    assert_executor_serves(one, pid)


# ---------------------------------------------------------------------------------------------
# An executor killed from outside


def test_an_executor_killed_from_outside_is_said_to_be_killed_not_crashed(
    one: LocalRunner, tmp_path: Path
) -> None:
    started = str(tmp_path / "started")
    pid = one.pool[0].pid

    def wait_forever(x: int) -> int:
        open(started, "w").close()
        time.sleep(120)
        return x

    def kill_when_started() -> None:
        while not os.path.exists(started):
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    with pytest.raises(gl.ExecutorCrashedError) as info:
        gl.Flow("killed").range(0, 3).map(wait_forever, name="slow").collect(one, progress=False)
    killer.join()
    err = info.value
    assert err.message == (
        f"the executor (pid {pid}) running this task was killed by signal 9 (SIGKILL) from outside"
    )
    assert (err.flow, err.step, err.shard) == ("killed", "slow", "1/1")
    assert "OOM killer" in (err.hint or "") and "crashed" not in str(err)
    # a function that ends its own process is still blamed for it
    with pytest.raises(gl.ExecutorCrashedError) as info:
        gl.Flow("exits").range(0, 3).map(lambda x: os._exit(3)).collect(one, progress=False)
    assert "exited with code 3" in str(info.value)
    assert "a function in this stage crashed its process" in (info.value.hint or "")


def test_an_input_truncated_while_it_is_read_is_said_to_be_that(
    one: LocalRunner, tmp_path: Path
) -> None:
    # CSV ranges are parsed from the memory-mapped file: cutting the file under a running task
    # makes the next page it touches a bus error, which must not be blamed on the function
    path = tmp_path / "big.csv"
    line = b"1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    path.write_bytes(b"a,b\n" + line * (3 * (8 << 20) // len(line)))  # several 4 MiB chunks
    cut = str(tmp_path / "cut")

    def truncate_once(row: tuple) -> tuple:
        if not os.path.exists(cut):
            open(cut, "w").close()
            os.truncate(path, 0)
        return row

    flow = gl.Flow("truncated")
    rows = flow.read(gl.csv(str(path), header=True)).select("a").map(truncate_once, name="cut")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        rows.count(one, progress=False)
    err = info.value
    assert "SIGBUS" in err.message and err.flow == "truncated"
    assert "memory-mapped file shrank" in (err.hint or "")
    assert "a function in this stage crashed" not in (err.hint or "")
    # the same runner serves the next run
    assert gl.Flow("after").range(0, 5).count(one, progress=False) == 5
