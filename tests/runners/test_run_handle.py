"""``flow.run(wait=False)``: a run in the background that can be waited for and cancelled,
on the local runner and on a real two-agent cluster."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl


def _beating(heartbeat: Path) -> Any:
    """A slow UDF that appends to ``heartbeat`` for every row (to see who still works)."""
    path = str(heartbeat)

    def slow(x: int) -> int:
        with open(path, "a") as f:
            f.write(".")
        time.sleep(0.02)
        return x

    return slow


def _wait_for(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _quiet_after(heartbeat: Path, seconds: float) -> bool:
    """Whether nobody appends to ``heartbeat`` for ``seconds`` (checked at the end)."""
    before = heartbeat.stat().st_size
    time.sleep(seconds)
    return heartbeat.stat().st_size == before


@pytest.fixture(params=["process", "dask"])
def some_runner(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue({"process": "runner", "dask": "dask_runner"}[request.param])


def test_result_of_a_background_run(some_runner: Any) -> None:
    f = gl.Flow("background squares")
    rows: list[tuple[int, int]] = []
    f.range(0, 1000, shards=4).map(lambda x: (x % 7, x * x)).reduce_by_key(
        lambda a, b: a + b
    ).output_row(lambda k, v: rows.append((k, v)))
    handle = f.run(some_runner, wait=False, progress=False)
    assert isinstance(handle, gl.RunHandle)
    result = handle.result(timeout=120)
    expected: dict[int, int] = {}
    for x in range(1000):
        expected[x % 7] = expected.get(x % 7, 0) + x * x
    assert sorted(rows) == sorted(expected.items())
    assert result.flow == "background squares"
    assert handle.done() and handle.state == "finished" and handle.exception() is None
    assert "finished" in repr(handle)
    assert handle.cancel() is False  # too late: it finished


def test_failure_of_a_background_run(some_runner: Any) -> None:
    f = gl.Flow("background failure")
    f.range(0, 10).map(lambda x: 1 // (x - 5)).output_row(lambda x: None)
    handle = f.run(some_runner, wait=False, progress=False)
    with pytest.raises(gl.UserCodeError, match="ZeroDivisionError") as info:
        handle.result(timeout=120)
    assert info.value.flow == "background failure"
    assert handle.state == "failed"


def test_cancel_stops_every_task_and_keeps_the_runner(some_runner: Any, tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.write_text("")
    f = gl.Flow("to cancel")
    f.range(0, 100_000, shards=4).map(_beating(heartbeat)).output_row(lambda x: None)
    events: list[Any] = []
    handle = f.run(some_runner, wait=False, progress=events.append)
    _wait_for(lambda: heartbeat.stat().st_size > 10)  # tasks are working
    asked = time.monotonic()
    assert handle.cancel(timeout=30) is True
    # within 2 s of the request no executor works on the run's tasks any more
    _wait_for(lambda: _quiet_after(heartbeat, 0.5), seconds=2.0 - (time.monotonic() - asked))
    assert _quiet_after(heartbeat, 1.0)
    with pytest.raises(gl.RunCancelledError, match="cancelled"):
        handle.result()
    assert handle.state == "cancelled"
    assert type(events[-1]).__name__ == "RunCancelled"
    # the runner serves the next run
    assert gl.Flow().range(0, 100, shards=4).count(some_runner) == 100


def test_cancelled_cluster_run_leaves_nothing_on_the_agents(
    dask_runner: Any, tmp_path: Path
) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.write_text("")
    f = gl.Flow("cancel leaves nothing")
    f.range(0, 100_000, shards=4).map(_beating(heartbeat)).output_row(lambda x: None)
    handle = f.run(dask_runner, wait=False, progress=False)
    _wait_for(lambda: heartbeat.stat().st_size > 10)
    handle.cancel()
    client = dask_runner.connect()

    def leftovers() -> list[str]:
        found = client.run(
            lambda dask_worker: os.listdir(dask_worker.plugins["gleamnb-agent"].folder)
        )
        return [name for names in found.values() for name in names]

    _wait_for(lambda: leftovers() == [] and not client.has_what().get("x"), seconds=10)
    held = [k for keys in client.has_what().values() for k in keys if "gleamnb" in str(k)]
    assert held == []
    status = dask_runner.status()
    assert [r["state"] for r in status["runs"] if r.get("flow") == "cancel leaves nothing"] == [
        "cancelled"
    ]


def test_wait_false_with_a_bad_runner_fails_at_once() -> None:
    f = gl.Flow("bad runner")
    f.range(0, 3).output_row(lambda x: None)
    with pytest.raises(gl.ArgumentError):
        f.run(runner="local", wait=False)  # type: ignore[arg-type]
