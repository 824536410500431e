"""A gleamnb cluster under faults: killed workers, crashing functions, cancelled runs.

Each test runs on a real Dask cluster of two worker processes under nannies (its own, as
these tests kill its processes), with executor subprocesses in each agent. Answers are
checked against plain Python.
"""

from __future__ import annotations

import _thread
import operator
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from clusters import two_agent_cluster

import gleamnb as gl

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # agents need not import it


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    c = two_agent_cluster()
    yield c
    c.close()


@pytest.fixture(scope="module")
def dask(cluster: Any) -> Iterator[Any]:
    r = gl.distributed(master=cluster.scheduler_address)
    yield r
    r.close()


def agents(runner: Any, n: int = 2, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The cluster's agents once ``n`` of them have live executors."""
    deadline = time.monotonic() + timeout
    while True:
        found = [a for a in runner.status()["agents"] if a["executors"]]
        if len(found) == n or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sums(n: int, keys: int) -> list[tuple[int, int]]:
    out: dict[int, int] = {}
    for x in range(n):
        out[x % keys] = out.get(x % keys, 0) + x
    return sorted(out.items())


def test_shuffled_rows_cross_from_one_worker_to_the_other(dask: Any, cluster: Any) -> None:
    executors = {a["address"]: set(a["executors"]) for a in agents(dask)}
    rows = (
        gl.Flow("crossing")
        .range(0, 2000, shards=8)
        .map(lambda x: (x % 5, os.getpid()))
        .group_by_key()
        .collect(dask, progress=False)
    )
    by_key = {k: sorted(v) for k, v in rows}
    assert sorted(by_key) == list(range(5))
    assert sum(len(v) for v in by_key.values()) == 2000
    # both agents' executors made rows, and every key's group holds rows made on both
    made = {pid for v in by_key.values() for pid in v}
    for pids in executors.values():
        assert made & pids, f"no rows came from the executors {pids}"
    for key, pids in by_key.items():
        homes = {addr for addr, ex in executors.items() if ex & set(pids)}
        assert len(homes) == 2, f"key {key}: rows from {homes} only"
    # and Dask moved shuffle pieces between the two workers to get them together
    logs = cluster.scheduler_address and dask.connect().run(
        lambda dask_worker: [k for t in dask_worker.transfer_incoming_log for k in t["keys"]]
    )
    moved = [k for keys in logs.values() for k in keys if str(k).startswith("gleamnb-")]
    assert moved, logs


def test_a_udf_that_kills_its_executor_costs_the_executor_not_the_agent(dask: Any) -> None:
    before = agents(dask)

    def die(x: int) -> int:
        if x == 13:
            os._exit(1)
        return x

    with pytest.raises(gl.ExecutorCrashedError) as info:
        gl.Flow("dying").range(0, 20, shards=2).map(die, name="die").collect(dask, progress=False)
    err = info.value
    assert (err.flow, err.step, err.shard) == ("dying", "die", "2/2")
    assert "exit code 1" in str(err) or "exited" in str(err), str(err)

    def segfault(x: int) -> int:
        if x == 3:
            import ctypes

            ctypes.string_at(0)
        return x

    with pytest.raises(gl.ExecutorCrashedError) as info:
        gl.Flow("segfault").range(0, 8, shards=2).map(segfault, name="segv").collect(
            dask, progress=False
        )
    assert (info.value.step, info.value.shard) == ("segv", "1/2")
    assert "SIGSEGV" in str(info.value), str(info.value)
    # the workers are the same processes, serving the next run with fresh executors
    after = agents(dask)
    assert sorted(a["pid"] for a in after) == sorted(a["pid"] for a in before)
    assert gl.Flow("after").range(0, 100, shards=4).count(dask, progress=False) == 100


def test_a_worker_killed_in_the_middle_of_a_run_costs_a_recompute(
    dask: Any, tmp_path: Path
) -> None:
    victim = agents(dask)[0]
    started = tmp_path / "started"

    def slow(x: int) -> tuple[int, int]:
        started.touch()
        time.sleep(0.01)
        return (x % 7, x)

    def kill_when_started() -> None:
        while not started.exists():
            time.sleep(0.01)
        time.sleep(0.5)
        os.kill(victim["pid"], signal.SIGKILL)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    got = (
        gl.Flow("survives")
        .range(0, 600, shards=6)
        .map(slow)
        .reduce_by_key(operator.add)
        .sort()
        .collect(dask, progress=False)
    )
    killer.join()
    assert got == sums(600, 7)
    assert not alive(victim["pid"])
    deadline = time.monotonic() + 10
    while any(alive(p) for p in victim["executors"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in victim["executors"]), "executors outlived their worker"
    # the nanny's replacement joins with its agent and serves the next run
    now = agents(dask)
    assert len(now) == 2 and victim["pid"] not in {a["pid"] for a in now}
    assert sorted(
        gl.Flow("next")
        .range(0, 300, shards=4)
        .map(lambda x: (x % 3, x))
        .reduce_by_key(operator.add)
        .collect(dask, progress=False)
    ) == sums(300, 3)


def test_cancelling_stops_the_cluster_work_within_two_seconds(dask: Any, tmp_path: Path) -> None:
    beats = tmp_path / "beats"

    def busy(x: int) -> int:
        for _ in range(1200):  # 60 s unless stopped
            with open(beats, "a") as f:
                f.write(f"{time.time()}\n")
            time.sleep(0.05)
        return x

    def interrupt() -> None:
        while not beats.exists():
            time.sleep(0.01)
        time.sleep(0.3)
        _thread.interrupt_main()

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(gl.RunCancelledError):
        gl.Flow("cancelled").range(0, 4, shards=2).map(busy).collect(dask, progress=False)
    cancelled = time.time()
    time.sleep(2.5)
    last = max(float(t) for t in beats.read_text().split())
    assert last < cancelled + 2.0, f"an executor still worked {last - cancelled:.2f} s later"
    assert all(a["tasks"] == 0 for a in dask.status()["agents"])
    assert gl.Flow("after").range(0, 4, shards=2).count(dask, progress=False) == 4


def test_no_agent_folder_is_left_behind(dask: Any) -> None:
    """The agents' folders are their live workers' (a killed worker's is swept)."""
    from gleamnb.runners import leftovers

    root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"
    mine = [
        e
        for e in os.listdir(root)
        if e.startswith("gleamnb-") and leftovers.driver_alive(e) is False
    ]
    assert mine == []


def keys_seen(runner: Any) -> set[str]:
    """The gleamnb task keys the scheduler has seen (from its recent transitions)."""
    return set(
        runner.connect().run_on_scheduler(
            lambda dask_scheduler: [
                str(t[0]) for t in dask_scheduler.transition_log if str(t[0]).startswith("gleamnb-")
            ]
        )
    )


def test_task_keys_are_content_hashes(dask: Any, tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("a b a\nc a b\n")

    def count(fn: Any) -> list[tuple[str, int]]:
        f = gl.Flow("keys")
        words = f.read(gl.txt(str(path))).flat_map(fn).map(lambda w: (w, 1))
        return sorted(words.reduce_by_key(operator.add).collect(dask, progress=False))

    def split(line: str) -> list[str]:
        return line.split()

    def upper(line: str) -> list[str]:
        return line.upper().split()

    before = keys_seen(dask)
    assert count(split) == [("a", 3), ("b", 2), ("c", 1)]
    first = keys_seen(dask) - before
    assert count(split) == [("a", 3), ("b", 2), ("c", 1)]
    assert keys_seen(dask) - before == first, "the same work got other keys"
    assert count(upper) == [("A", 3), ("B", 2), ("C", 1)]
    changed_fn = keys_seen(dask) - before - first
    path.write_text("a b a\nc a b\nd\n")
    assert count(split) == [("a", 3), ("b", 2), ("c", 1), ("d", 1)]
    changed_file = keys_seen(dask) - before - first - changed_fn
    assert first and changed_fn and changed_file
    # other work never reuses a key: every task of the changed runs is new
    assert len(changed_fn) >= len(first) // 2 and len(changed_file) >= len(first) // 2
