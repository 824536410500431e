"""The executor protocol, spoken by hand to a real ``python -m gleamnb.runtime`` process.

What is checked is the stopping rule of ``gleamnb.runtime.protocol``: a StopTask frame written
before SIGUSR1 names the task the signal is for, so a signal that reaches the executor between
tasks cancels the task it was meant for and never another one; and that an executor keeps the
functions it was sent, whatever becomes of their task and file, until it is told to forget
them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pyarrow.ipc as ipc
import pytest

from gleamnb.runners import spawn
from gleamnb.runners.shipping import Holdings, Shipping
from gleamnb.runtime.ops.udf import MapOp
from gleamnb.runtime.protocol import (
    Progress,
    Ready,
    RunTask,
    StopTask,
    TaskDone,
    TaskFailed,
    receive,
    send,
    write_function,
)
from gleamnb.runtime.stage import Forward, ReadRange, StageSpec

cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def executor() -> Iterator[subprocess.Popen[bytes]]:
    proc = spawn.start(1)
    assert proc.stdout is not None
    assert isinstance(receive(proc.stdout), Ready)
    yield proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


def stage_of(key: str, fn: Callable[[int], Any]) -> StageSpec:
    return StageSpec(
        key=key,
        id=0,
        name="range->map",
        flow="protocol",
        num_tasks=1,
        head=ReadRange(name="range"),
        ops=(MapOp(name="map", fn=fn),),
        output=Forward(),
    )


def task(n: int, fn: Callable[[int], Any], out: Path) -> RunTask:
    stage = stage_of(f"stage-{n}", fn)
    return RunTask(
        task=n,
        stage_key=stage.key,
        stage_blob=cloudpickle.dumps(stage),
        shard=0,
        inputs=[],
        params={"start": 0, "stop": 3},
        out_dir=str(out),
        prefix=f"t{n}",
    )


def talk(proc: subprocess.Popen[bytes], *frames: Any) -> None:
    assert proc.stdin is not None
    for frame in frames:
        send(proc.stdin, frame)


def reply(proc: subprocess.Popen[bytes]) -> Any:
    """The next TaskDone or TaskFailed (Progress frames are skipped)."""
    assert proc.stdout is not None
    while isinstance(msg := receive(proc.stdout), Progress):
        pass
    return msg


def rows_of(done: TaskDone) -> list[int]:
    values: list[int] = []
    for piece in done.pieces:
        with ipc.open_file(piece.path) as f:
            values += f.read_all().column(0).to_pylist()
    return values


def test_a_task_runs_and_its_rows_come_back(
    executor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    talk(executor, task(1, lambda x: x * 10, tmp_path))
    done = reply(executor)
    assert isinstance(done, TaskDone) and done.task == 1
    assert rows_of(done) == [0, 10, 20]


def test_a_running_task_is_stopped(executor: subprocess.Popen[bytes], tmp_path: Path) -> None:
    marker = tmp_path / "ran to the end"

    def slow(x: int) -> int:
        time.sleep(30)
        marker.write_text("done")
        return x

    talk(executor, task(1, slow, tmp_path))
    time.sleep(1.0)  # the task is sleeping now
    talk(executor, StopTask(1))
    os.kill(executor.pid, signal.SIGUSR1)
    failed = reply(executor)
    assert isinstance(failed, TaskFailed) and failed.task == 1
    assert "stopped by the runner" in str(failed.error)
    assert not marker.exists()
    # the executor lives on and runs the next task (the StopTask already read is not reused)
    talk(executor, task(2, lambda x: x + 1, tmp_path))
    done = reply(executor)
    assert isinstance(done, TaskDone) and rows_of(done) == [1, 2, 3]


def test_a_signal_before_the_task_is_read_cancels_that_task_only(
    executor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    marker = tmp_path / "started"

    def mark(x: int) -> int:
        marker.write_text("the task started")
        return x

    # the runner submitted task 1 and stops it before the executor read it: the signal
    # arrives while the executor is idle, the frames come after it
    os.kill(executor.pid, signal.SIGUSR1)
    time.sleep(0.5)
    talk(executor, task(1, mark, tmp_path), StopTask(1))
    failed = reply(executor)
    assert isinstance(failed, TaskFailed) and failed.task == 1
    assert "stopped by the runner" in str(failed.error)
    assert not marker.exists()  # cancelled without running
    talk(executor, task(2, mark, tmp_path))
    done = reply(executor)
    assert isinstance(done, TaskDone) and rows_of(done) == [0, 1, 2]


def test_a_signal_for_a_task_that_already_ended_cancels_nothing(
    executor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    talk(executor, task(1, lambda x: x, tmp_path))
    assert isinstance(reply(executor), TaskDone)
    # the runner had not yet seen task 1's reply when it asked to stop it
    talk(executor, StopTask(1))
    os.kill(executor.pid, signal.SIGUSR1)
    time.sleep(0.5)
    talk(executor, task(2, lambda x: x - 1, tmp_path))
    done = reply(executor)
    assert isinstance(done, TaskDone) and done.task == 2
    assert rows_of(done) == [-1, 0, 1]


@pytest.mark.timeout(60)
def test_a_signal_counted_after_its_frame_was_read_cancels_nothing(
    executor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    # the executor may read a StopTask frame before the signal sent after it reaches it
    talk(executor, task(1, lambda x: x, tmp_path))
    assert isinstance(reply(executor), TaskDone)
    talk(executor, StopTask(1))
    time.sleep(0.5)  # the frame is read (and counted) first
    os.kill(executor.pid, signal.SIGUSR1)
    time.sleep(0.5)
    talk(executor, task(2, lambda x: 2 * x, tmp_path))
    done = reply(executor)  # neither waits for another frame nor cancels task 2
    assert isinstance(done, TaskDone) and done.task == 2
    assert rows_of(done) == [0, 2, 4]


def shipped(n: int, shipping: Shipping, holds: Holdings, out: Path) -> RunTask:
    """Task ``n`` of the run of ``shipping``, to an executor the runner records as ``holds``."""
    key = f"{shipping.run_id}-0"
    blob, functions, forget = shipping.message(0, key, holds)
    return RunTask(
        task=n,
        stage_key=key,
        stage_blob=blob,
        shard=0,
        inputs=[],
        params={"start": 0, "stop": 3},
        out_dir=str(out),
        prefix=f"t{n}",
        functions=functions,
        forget=forget,
    )


def test_a_function_is_kept_until_the_runner_says_to_forget_it(
    executor: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    table = np.arange(300_000) * 10  # 2.4 MB: a file the executor maps

    def look(x: int) -> int:
        return int(table[x])

    def run(run_id: str, folder: Path) -> Shipping:
        folder.mkdir()
        return Shipping(
            run_id,
            lambda: {0: stage_of(f"{run_id}-0", look)},
            lambda d, parts: write_function(str(folder / d), d, parts),
        )

    holds = Holdings()
    first = shipped(1, run("r1", tmp_path / "r1"), holds, tmp_path)
    (fn,) = first.functions
    assert fn.path is not None and os.path.exists(fn.path)
    # the task is cancelled before it starts: the executor keeps the function all the same
    os.kill(executor.pid, signal.SIGUSR1)
    time.sleep(0.5)
    talk(executor, first, StopTask(1))
    assert isinstance(reply(executor), TaskFailed)
    shutil.rmtree(tmp_path / "r1")  # the run's folders go at its end
    second = shipped(2, run("r2", tmp_path / "r2"), holds, tmp_path)
    assert second.functions == () and second.forget == ("r1-0",)
    talk(executor, second)
    done = reply(executor)
    assert isinstance(done, TaskDone) and rows_of(done) == [0, 10, 20]
    # told to forget the stage and the function, the executor has neither
    talk(executor, RunTask(**{**vars(second), "task": 3, "forget": ("r2-0", fn.digest)}))
    failed = reply(executor)
    assert isinstance(failed, TaskFailed) and "has no function" in str(failed.error)
