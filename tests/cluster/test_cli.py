"""The ``gleamnb`` command on real processes: a cluster started, inspected, used and stopped.

Every cluster listens on loopback, on free ports, with its record in a temporary ``--dir``,
and is stopped whatever happens. One cluster serves most tests (a module fixture); the test
of ``stop`` starts its own.
"""

from __future__ import annotations

import json
import operator
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clusters import ROOT, alive, free_port, gleamnb, kill_all, start

import gleamnb as gl
from gleamnb.cluster import records


@pytest.fixture
def cluster(cli_cluster: dict[str, Any]) -> dict[str, Any]:
    """The session's cluster started with ``gleamnb cluster start --agents 2``."""
    return cli_cluster


def status(cluster: dict[str, Any]) -> dict[str, Any]:
    got = gleamnb("cluster", "status", "--dir", str(cluster["dir"]), "--json")
    assert got.returncode == 0, got.stderr
    lines = got.stdout.strip().splitlines()
    assert len(lines) == 1  # one JSON object
    return json.loads(lines[0])


def test_start_prints_the_address_and_writes_the_record(cluster: dict[str, Any]) -> None:
    record = cluster["record"]
    assert record["address"].startswith("tcp://127.0.0.1:")
    assert record["address"] in cluster["start"].stdout
    assert "dashboard" in cluster["start"].stdout
    assert record["dashboard"].startswith("http://127.0.0.1:")
    assert record["version"] == gl.__version__
    path = records.path("default", cluster["dir"])
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(record["pids"]["workers"]) == 2
    assert all(alive(p) for p in records.pids(record))


def test_status_json_lists_the_agents_and_their_executors(cluster: dict[str, Any]) -> None:
    got = status(cluster)
    record = cluster["record"]
    assert got["name"] == "default"
    assert got["master"]["address"] == record["address"]
    assert got["master"]["pid"] == record["pids"]["scheduler"]
    assert len(got["agents"]) == 2
    assert sorted(a["pid"] for a in got["agents"]) == sorted(record["pids"]["workers"])
    for agent in got["agents"]:
        assert agent["executors"], agent
        assert all(alive(p) for p in agent["executors"])
    assert isinstance(got["runs"], list)


def test_status_table_and_list(cluster: dict[str, Any]) -> None:
    got = gleamnb("cluster", "status", "--dir", str(cluster["dir"]))
    assert got.returncode == 0, got.stderr
    assert "agent" in got.stdout and cluster["record"]["address"] in got.stdout
    listed = gleamnb("cluster", "list", "--dir", str(cluster["dir"]))
    assert listed.returncode == 0
    (line,) = listed.stdout.strip().splitlines()
    assert line.split("\t")[:3] == ["default", cluster["record"]["address"], "alive"]


def test_a_second_start_under_a_running_name_fails(cluster: dict[str, Any]) -> None:
    got, record = start(cluster["dir"])
    assert got.returncode != 0
    assert "already running" in got.stderr and "Traceback" not in got.stderr
    assert record == cluster["record"]


def test_a_port_in_use_is_refused_before_starting(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        got = gleamnb("cluster", "start", "--dir", str(tmp_path), "--port", str(port))
    assert got.returncode != 0
    assert f"port {port}" in got.stderr and "in use" in got.stderr
    assert "--port" in got.stderr and "Traceback" not in got.stderr
    assert records.read(None, tmp_path) is None


def test_nothing_running(tmp_path: Path) -> None:
    for command in ("status", "stop"):
        got = gleamnb("cluster", command, "--dir", str(tmp_path))
        assert got.returncode != 0
        assert "no gleamnb cluster" in got.stderr and "cluster start" in got.stderr
    listed = gleamnb("cluster", "list", "--dir", str(tmp_path))
    assert listed.returncode == 0 and "no gleamnb clusters" in listed.stdout


def fake(folder: Path, **fields: Any) -> dict[str, Any]:
    record = {
        "name": "default",
        "address": f"tcp://127.0.0.1:{free_port()}",
        "dashboard": None,
        "pids": {"process": os.getpid(), "scheduler": os.getpid(), "nannies": [], "workers": []},
        "version": gl.__version__,
        "started": time.time(),
        "dir": str(folder),
        "tls": None,
        **fields,
    }
    records.write(record, folder)
    return record


def test_a_stale_record_is_removed_and_said(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    fake(tmp_path, pids={"process": gone.pid, "workers": [gone.pid]})
    got = gleamnb("cluster", "status", "--dir", str(tmp_path))
    assert got.returncode != 0
    assert "stale record" in got.stderr and "processes are gone" in got.stderr
    assert records.read(None, tmp_path) is None
    listed = gleamnb("cluster", "list", "--dir", str(tmp_path))
    assert "no gleamnb clusters" in listed.stdout


def test_an_unreachable_master(tmp_path: Path) -> None:
    record = fake(tmp_path)  # this process is alive, but nothing listens at the address
    got = gleamnb("cluster", "status", "--dir", str(tmp_path))
    assert got.returncode != 0
    assert "unreachable" in got.stderr and record["address"] in got.stderr
    assert "Traceback" not in got.stderr
    got = gleamnb("agent", "--master", record["address"].split("://")[1])
    assert got.returncode != 0 and "unreachable" in got.stderr


def test_a_version_mismatch(tmp_path: Path) -> None:
    fake(tmp_path, version="0.0.0-other")
    got = gleamnb("cluster", "status", "--dir", str(tmp_path))
    assert got.returncode != 0
    assert "version mismatch" in got.stderr and "0.0.0-other" in got.stderr
    assert gl.__version__ in got.stderr


def test_tls_without_cryptography(tmp_path: Path) -> None:
    # a machine without the package: its import fails, as it does where it is not installed
    shim = tmp_path / "shim" / "cryptography"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named cryptography')\n")
    got = gleamnb(
        "cluster", "start", "--dir", str(tmp_path), "--port", "0", "--tls",
        first=[str(shim.parent)],
    )  # fmt: skip
    assert got.returncode == 2, got.stderr
    assert "--tls needs the cryptography package" in got.stderr
    assert 'pip install "gleamnb[tls]"' in got.stderr
    assert records.read(None, tmp_path) is None
    assert not (tmp_path / "tls").exists()


def test_stop_leaves_no_process_and_no_record(tmp_path: Path) -> None:
    got, record = start(tmp_path, "--agents", "2", "--name", "short")
    executors: list[int] = []
    try:
        assert got.returncode == 0, got.stderr
        assert record is not None and record["name"] == "short"
        st = gleamnb("cluster", "status", "--dir", str(tmp_path), "--name", "short", "--json")
        executors = [p for a in json.loads(st.stdout)["agents"] for p in a["executors"]]
        assert len(executors) == 2
        scratch = Path(record["scratch"])
        assert scratch.is_dir()
        stopped = gleamnb("cluster", "stop", "--dir", str(tmp_path), "--name", "short")
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped" in stopped.stdout
        assert records.read("short", tmp_path) is None
        assert not records.path("short", tmp_path).exists()
        left = [p for p in [*records.pids(record), *executors] if alive(p)]
        assert left == []
        assert not scratch.exists()
    finally:
        kill_all(record, executors)


def test_a_flow_on_the_cluster_matches_plain_python(cluster: dict[str, Any]) -> None:
    expected: dict[int, int] = {}
    for x in range(1000):
        expected[x % 7] = expected.get(x % 7, 0) + x
    runner = gl.distributed(master=cluster["record"]["address"].split("://")[1])
    try:
        flow = gl.Flow().range(0, 1000).map(lambda x: (x % 7, x)).reduce_by_key(operator.add)
        got = flow.collect(runner)
    finally:
        runner.close()
    assert dict(got) == expected
    assert len(got) == 7
    runs = status(cluster)["runs"]
    assert runs and runs[-1]["state"] == "finished"


def test_status_shows_each_stage_of_the_last_run_and_what_agents_hold(
    cluster: dict[str, Any],
) -> None:
    runner = gl.distributed(master=cluster["record"]["address"].split("://")[1])
    try:
        words = gl.Flow("status stages").strings(["a b", "b c", "c c"], shards=3)
        counted = words.flat_map(str.split).map(lambda w: (w, 1)).reduce_by_key(operator.add)
        assert dict(counted.collect(runner)) == {"a": 1, "b": 2, "c": 3}
        run = status(cluster)["runs"][-1]
        assert run["flow"] == "status stages" and run["state"] == "finished"
        assert run["stages"] and all(
            st["state"] == "done" and st["done"] == st["tasks"] for st in run["stages"]
        )
        assert run["stages"][-1]["rows"] == 3  # three words counted
        table = gleamnb("cluster", "status", "--dir", str(cluster["dir"]))
        assert table.returncode == 0, table.stderr
        assert f"stages of run {run['id']} (finished)" in table.stdout
        assert "held" in table.stdout.splitlines()[3]
        for st in run["stages"]:
            assert st["name"] in table.stdout
    finally:
        runner.close()


def foreground(*args: str, log: Path) -> subprocess.Popen[Any]:
    """``gleamnb ARGS`` in the background of this test, its output in ``log``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gleamnb.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=ROOT,
        )


def announced(proc: subprocess.Popen[Any], log: Path, what: str) -> str:
    """The address ``proc`` prints once it listens (``gleamnb WHAT at ADDRESS``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith(f"gleamnb {what} at "):
                return line.rsplit(" ", 1)[1]
        assert proc.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(f"no 'gleamnb {what} at' line: {log.read_text()}")


def test_master_and_agents_in_the_foreground_run_a_flow(tmp_path: Path) -> None:
    procs: list[subprocess.Popen[Any]] = []
    pids: list[int] = []
    try:
        master = foreground("master", "--port", str(free_port()), log=tmp_path / "master.log")
        procs.append(master)
        address = announced(master, tmp_path / "master.log", "scheduler")
        hostport = address.split("://", 1)[1]
        for k in (1, 2):
            log = tmp_path / f"agent{k}.log"
            agent = foreground("agent", "--master", hostport, "--executors", str(k), log=log)
            procs.append(agent)
            announced(agent, log, "nanny")
        with gl.distributed(master=hostport) as runner:
            deadline = time.monotonic() + 60
            while True:
                agents = [a for a in runner.status()["agents"] if a["executors"]]
                if len(agents) == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert sorted(len(a["executors"]) for a in agents) == [1, 2]
            pids = [a["pid"] for a in agents] + [p for a in agents for p in a["executors"]]
            got = (
                gl.Flow("foreground")
                .range(0, 1000, shards=4)
                .map(lambda x: (x % 7, x))
                .reduce_by_key(operator.add)
                .collect(runner, progress=False)
            )
        expected: dict[int, int] = {}
        for x in range(1000):
            expected[x % 7] = expected.get(x % 7, 0) + x
        assert sorted(got) == sorted(expected.items())
        # Ctrl-C ends each command, and what it started with it
        for proc in reversed(procs):
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p for p in pids if alive(p)] == []
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        kill_all(None, pids)


def test_a_relative_save_path_is_the_drivers(
    cluster: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers run in the folder the cluster started from, not the driver's."""
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    (tmp_path / "words.txt").write_text("a b a\nc a b\n")
    runner = gl.distributed(master=cluster["record"]["address"])
    try:
        f = gl.Flow("relative")
        words = f.read(gl.txt("words.txt")).flat_map(str.split).map(lambda w: (w, 1))
        words.reduce_by_key(operator.add).save("out", "parquet")
        f.run(runner, progress=False)
    finally:
        runner.close()
    got = sorted(tuple(r.values()) for r in pq.read_table(tmp_path / "out").to_pylist())
    assert got == [("a", 3), ("b", 2), ("c", 1)]
    assert not (ROOT / "out").exists()


def test_every_listener_of_the_cluster_is_on_loopback(cluster: dict[str, Any]) -> None:
    import psutil

    pids = set(records.pids(cluster["record"]))
    for agent in status(cluster)["agents"]:
        pids |= {agent["pid"], *agent["executors"]}
    listening = []
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                listening.append((pid, conn.laddr.ip, conn.laddr.port))
    # the scheduler, its dashboard, and each worker and nanny listen
    assert len(listening) >= 2 + 2 * 2, listening
    assert {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening
