"""The master killed and restarted: what the command says, what a client's next run does.

The roles run as on several machines, each a ``gleamnb master`` / ``gleamnb agent`` process
in the foreground (on loopback here). Every wait is bounded: a run against a dead master
must fail with a clear error, never hang.
"""

from __future__ import annotations

import operator
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clusters import ROOT, free_port, gleamnb, start
from leftovers import TAG, new_tag, tagged

import gleamnb as gl
from gleamnb.cluster import records


def _role(tag: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, **{TAG: tag})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "gleamnb.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=ROOT,
        )


def _listening(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.1)


def _agents(runner: Any, n: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if len(runner.status()["agents"]) == n:
                return
        except gl.GleamError:
            pass
        assert time.monotonic() < deadline, f"{n} agents did not join"
        time.sleep(0.3)


def _count(flow_name: str, n: int = 3000) -> Any:
    f = gl.Flow(flow_name)
    return f.range(0, n, shards=4).map(lambda x: (x % 3, 1)).reduce_by_key(operator.add)


EXPECTED = [(0, 1000), (1, 1000), (2, 1000)]


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A master and one agent in the foreground; everything they started ends with the test."""
    tag = new_tag()
    port = free_port()
    log = tmp_path / "roles.log"
    got: dict[str, Any] = {"tag": tag, "port": port, "log": log}

    def master() -> subprocess.Popen[bytes]:
        proc = _role(tag, log, "master", "--port", str(port))
        _listening(port)
        got["master"] = proc
        return proc

    got["start_master"] = master
    master()
    got["agent"] = _role(
        tag, log, "agent", "--master", f"127.0.0.1:{port}", "--dir", str(tmp_path / "agent")
    )
    try:
        yield got
    finally:
        for proc in (got["agent"], got["master"]):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (got["agent"], got["master"]):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        deadline = time.monotonic() + 10
        while tagged(tag) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in tagged(tag):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_master_fails_the_run_clearly_and_a_restarted_one_is_rejoined(
    roles: dict[str, Any],
) -> None:
    runner = gl.distributed(master=f"127.0.0.1:{roles['port']}", timeout=5)
    try:
        _agents(runner, 1)
        assert sorted(_count("before").collect(runner, progress=False)) == EXPECTED

        # killed in the middle of a run: the run fails and says why
        slow = gl.Flow("master dies")
        slow.range(0, 400, shards=4).map(lambda x: time.sleep(0.05) or x).output_row(lambda x: None)
        handle = slow.run(runner, wait=False, progress=False)
        time.sleep(1.0)
        roles["master"].send_signal(signal.SIGKILL)
        roles["master"].wait(10)
        with pytest.raises(gl.GleamError, match="master") as info:
            handle.result(timeout=60)  # bounded: a hang fails here
        assert "127.0.0.1" in str(info.value), str(info.value)

        # the next run, the master still down: a clear error, soon
        down = gl.Flow("master down")
        down.range(0, 10).output_row(lambda x: None)
        with pytest.raises(gl.GleamError, match="cannot reach the gleamnb master") as info:
            down.run(runner, wait=False, progress=False).result(timeout=60)
        assert info.value.hint and "cluster" in info.value.hint

        # the master comes back on its port: the agent rejoins, the same runner reconnects
        roles["start_master"]()
        _agents(runner, 1)
        assert sorted(_count("after").collect(runner, progress=False)) == EXPECTED
        assert roles["agent"].poll() is None  # the same agent process served it
    finally:
        runner.close()


def test_status_says_when_the_master_of_a_started_cluster_was_killed(tmp_path: Path) -> None:
    got, record = start(tmp_path, "--agents", "1")
    assert got.returncode == 0, got.stderr
    assert record is not None
    os.kill(record["pids"]["process"], signal.SIGKILL)  # the scheduler's process
    deadline = time.monotonic() + 20
    while any(records.exists(p) for p in records.pids(record)):
        assert time.monotonic() < deadline, "the agents outlived their master"
        time.sleep(0.2)
    said = gleamnb("cluster", "status", "--dir", str(tmp_path))
    assert said.returncode != 0
    assert "was not running: its processes are gone" in said.stderr
    assert "gleamnb cluster start" in said.stderr
    assert records.read(None, tmp_path) is None  # the stale record is gone


def test_a_client_of_another_version_is_refused_by_the_master(roles: dict[str, Any]) -> None:
    runner = gl.distributed(master=f"127.0.0.1:{roles['port']}", timeout=5)
    try:
        _agents(runner, 1)
        client = runner.connect()

        def pretend(version: str, dask_scheduler: Any = None) -> None:
            """Make the master report another gleamnb version (as an older install would)."""
            status = dask_scheduler.plugins["gleamnb-master"].status

            async def other() -> dict[str, Any]:
                return {**(await status()), "version": version}

            dask_scheduler.handlers["gleamnb_status"] = other

        client.run_on_scheduler(pretend, "0.0.1-other")
        runner.close()
        with pytest.raises(gl.GleamError, match=r"runs gleamnb 0\.0\.1-other") as info:
            _count("other version").collect(runner, progress=False)
        assert "same gleamnb version" in (info.value.hint or "")
    finally:
        runner.close()


def test_a_cluster_without_agents_fails_the_run_instead_of_waiting() -> None:
    from distributed import LocalCluster

    from gleamnb.cluster.master import Master

    with (
        LocalCluster(
            n_workers=0,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"plugins": [Master()]},
        ) as empty,
        gl.distributed(master=empty.scheduler_address, agents_timeout=1.0) as runner,
    ):
        f = gl.Flow("nobody")
        f.range(0, 10).output_row(lambda x: None)
        with pytest.raises(gl.GleamError, match="has had no agent for 1 s") as info:
            f.run(runner, wait=False, progress=False).result(timeout=60)
        assert "gleamnb agent" in (info.value.hint or "")
