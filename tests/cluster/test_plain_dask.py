"""gleamnb on a Dask cluster started with Dask's own commands, nothing of gleamnb preloaded:
the first client registers the master, which installs the agents."""

from __future__ import annotations

import json
import operator
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl

SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"


def dask_command(name: str) -> list[str]:
    """``dask scheduler`` / ``dask worker`` from this interpreter's environment."""
    return [os.path.join(os.path.dirname(sys.executable), "dask"), name]


@pytest.fixture(scope="module")
def plain_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("plain-dask")
    scheduler_file = folder / "scheduler.json"
    workers: list[int] = []
    procs = [
        subprocess.Popen(
            [
                *dask_command("scheduler"),
                *("--host", "127.0.0.1", "--port", "0"),
                *("--dashboard-address", "127.0.0.1:0"),
                *("--scheduler-file", str(scheduler_file)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [
                    *dask_command("worker"),
                    *("--scheduler-file", str(scheduler_file)),
                    *("--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"),
                    *("--local-directory", str(folder)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            workers += client.run(os.getpid).values()
            # nothing of gleamnb is on this cluster yet
            assert not client.run_on_scheduler(
                lambda dask_scheduler: [p for p in dask_scheduler.plugins if "gleamnb" in p]
            )
        yield address
    finally:
        for p in reversed(procs):  # as Ctrl-C would: each command closes what it started
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with_group(p, signal.SIGKILL)
                p.wait()
    # closed workers leave no agent folder and no executor behind
    names = [e for e in os.listdir(SHM) if any(f"-{pid}-" in e for pid in workers)]
    assert names == []


def with_group(proc: subprocess.Popen[Any], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def test_a_plain_dask_cluster_becomes_a_gleamnb_cluster(plain_cluster: str, tmp_path: Path) -> None:
    with gl.distributed(master=plain_cluster) as runner:
        got = sorted(
            gl.Flow("plain dask")
            .range(0, 1000, shards=4)
            .map(lambda x: (x % 9, x))
            .reduce_by_key(operator.add)
            .collect(runner, progress=False)
        )
        expected: dict[int, int] = {}
        for x in range(1000):
            expected[x % 9] = expected.get(x % 9, 0) + x
        assert got == sorted(expected.items())
        status = runner.status()
        assert status["version"] == gl.__version__
        assert len(status["agents"]) == 2
        assert all(a["executors"] for a in status["agents"])
        assert [r["state"] for r in status["runs"]] == ["finished"]
    # a second client finds the master there and does not register it again
    with gl.distributed(master=plain_cluster) as again:
        assert gl.Flow("again").range(0, 10).count(again, progress=False) == 10
        assert [r["state"] for r in again.status()["runs"]] == ["finished", "finished"]
