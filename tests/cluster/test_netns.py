"""A gleamnb cluster spread over four network stacks: a master, two agents and a driver.

Each role runs in its own Linux network namespace, as it would on its own machine: its own
interface and address (10.231.7.0/24), and nothing in common with the others but a switch
(a Linux bridge, in a fifth namespace of its own, so nothing is added to this machine's
network). The master and the agents are started with ``gleamnb master`` and ``gleamnb agent
--master HOST:PORT``; a driver script runs flows with shuffles and a join through
``gl.distributed(master=...)`` and prints what it got as JSON. The answers are checked
against plain Python, and the test proves that the rows travelled between the agents over
the bridge: every process is in the namespace of its address, both agents' executors made
rows of every key, and each agent fetched shuffle pieces from the other's address.

Making namespaces needs root and the ``ip`` command (iproute2); without them the tests skip.
Whatever happens, the processes are killed and the namespaces deleted (with their
interfaces and the bridge).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

#: The first three bytes of every address; host N is ``SUBNET.N``.
SUBNET = "10.231.7"

#: The roles, each a namespace, and the last byte of its address.
HOSTS = {"master": 1, "a": 2, "b": 3, "driver": 4}

#: The master's port (each namespace has all its ports to itself).
PORT = 45326

#: Namespaces of this module are named ``PREFIX<pid of the test process>-<role>``.
PREFIX = "gleamnb-test-"

#: Seconds to wait for the master to listen, for the agents to join, for the driver to end.
START_TIMEOUT = 30.0
DRIVER_TIMEOUT = 120.0

N = 20_000
KEYS = 97
JOIN_KEYS = 500


def address(role: str) -> str:
    return f"{SUBNET}.{HOSTS[role]}"


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; the completed process (its return code not checked)."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


def must(*args: str) -> None:
    got = ip(*args)
    if got.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {got.stderr.strip()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def netns_inode(name: str) -> int:
    """The inode of namespace ``name`` (what ``/proc/PID/ns/net`` of its processes names)."""
    return os.stat(f"/run/netns/{name}").st_ino


def netns_of(pid: int) -> int:
    """The inode of the network namespace of process ``pid``."""
    link = os.readlink(f"/proc/{pid}/ns/net")  # net:[4026532123]
    return int(link.split("[", 1)[1].rstrip("]"))


def empty(name: str, timeout: float = 10.0) -> list[int]:
    """Kill every process left in namespace ``name``; those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = ip("netns", "pids", name)
        pids = [int(p) for p in got.stdout.split()] if got.returncode == 0 else []
        pids = [p for p in pids if p != os.getpid()]
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove(name: str) -> None:
    """Empty namespace ``name`` and delete it (its interfaces go with it)."""
    empty(name)
    ip("netns", "del", name)


def sweep() -> None:
    """Remove the namespaces a killed test run of this module left (their test pid is gone)."""
    got = ip("netns", "list")
    for line in got.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(re.escape(PREFIX) + r"(\d+)-\w+", name)
        if m and not alive(int(m.group(1))):
            remove(name)


class Net:
    """The namespaces of one test run: one per role, and a switch joining them."""

    def __init__(self) -> None:
        base = f"{PREFIX}{os.getpid()}-"
        self.switch = base + "switch"
        self.names = {role: base + role for role in HOSTS}
        self.made: list[str] = []

    def add(self, name: str) -> None:
        must("netns", "add", name)
        self.made.append(name)
        must("-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        self.add(self.switch)
        must("-n", self.switch, "link", "add", "br0", "type", "bridge")
        must("-n", self.switch, "link", "set", "br0", "up")
        for role, name in self.names.items():
            self.add(name)
            port = f"to-{role}"
            # one cable: eth0 in the role's namespace, its other end a port of the switch
            must("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0")
            must("-n", self.switch, "link", "set", "eth0", "netns", name)
            must("-n", self.switch, "link", "set", port, "master", "br0", "up")
            must("-n", name, "addr", "add", f"{address(role)}/24", "dev", "eth0")
            must("-n", name, "link", "set", "eth0", "up")

    def close(self) -> None:
        for name in reversed(self.made):
            remove(name)
        self.made = []


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    if shutil.which("ip") is None:
        pytest.skip("network namespaces unavailable: no `ip` command (apt-get install iproute2)")
    sweep()
    n = Net()
    try:
        try:
            n.build()
        except RuntimeError as exc:
            print(f"network namespaces unavailable: {exc}")
            pytest.skip(f"network namespaces unavailable: {exc}")
        yield n
    finally:
        n.close()
        mine = f"{PREFIX}{os.getpid()}-"
        left = [line for line in ip("netns", "list").stdout.splitlines() if mine in line]
        assert not left, f"namespaces left: {left}"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Cluster:
    """The master and the agents, each started in its namespace by ``ip netns exec``."""

    def __init__(self, net: Net, folder: Path) -> None:
        self.net = net
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[int] = []  # the agents' worker pids, once the driver saw them

    def log(self, role: str) -> Path:
        return self.folder / f"{role}.log"

    def logs(self) -> str:
        return "\n".join(
            f"--- {role}:\n" + self.log(role).read_text(errors="replace")[-3000:]
            for role in self.procs
        )

    def spawn(self, role: str, *args: str) -> None:
        with open(self.log(role), "wb") as out:
            self.procs[role] = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.net.names[role],
                    sys.executable,
                    "-m",
                    "gleamnb.cli",
                    *args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
                env=environment(),
                cwd=self.folder,
            )

    def wait_for(self, role: str, text: str) -> None:
        """Wait until ``role`` logs ``text`` (a failure if it exits or takes too long)."""
        deadline = time.monotonic() + START_TIMEOUT
        while text not in self.log(role).read_text(errors="replace"):
            code = self.procs[role].poll()
            if code is not None:
                pytest.fail(f"the {role} exited with code {code}\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the {role} did not log {text!r} in {START_TIMEOUT} s\n{self.logs()}")
            time.sleep(0.1)

    def start(self) -> None:
        self.spawn("master", "master", "--host", address("master"), "--port", str(PORT))
        self.wait_for("master", "gleamnb scheduler at")
        for role in ("a", "b"):
            work = self.folder / f"work-{role}"
            work.mkdir()
            self.spawn(
                role,
                "agent",
                "--master",
                f"{address('master')}:{PORT}",
                "--host",
                address(role),
                "--memory-limit",
                "2GiB",
                "--dir",
                str(work),
            )
        for role in ("a", "b"):
            self.wait_for(role, "gleamnb nanny at")

    def stop(self) -> None:
        """SIGTERM to the agents, then to the master (each closes as on Ctrl-C: an agent
        stops its executors and removes its folders); SIGKILL to each process group left."""
        for roles in (("a", "b"), ("master",)):
            procs = [self.procs[r] for r in roles if r in self.procs]
            for proc in procs:
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


@pytest.fixture(scope="module")
def cluster(net: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(net, tmp_path_factory.mktemp("netns"))
    try:
        c.start()
        yield c
    finally:
        c.stop()
        # the executors (their own sessions) and anything else still in the namespaces
        left = {role: empty(net.names[role]) for role in HOSTS}
        assert not any(left.values()), f"processes that would not die: {left}"
        # the agents' folders (named after their worker pids, where the agents put them)
        root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        kept = [n for n in os.listdir(root) if any(f"-{p}-" in n for p in c.workers)]
        assert not kept, f"folders the agents left in {root}: {kept}"


#: The driver: runs the flows on the cluster and prints one JSON object.
DRIVER = textwrap.dedent(
    """
    import json
    import operator
    import os
    import socket
    import sys
    import time

    import gleamnb as gl

    master, n, keys, join_keys = sys.argv[1], *map(int, sys.argv[2:5])
    runner = gl.distributed(master=master, timeout=30)
    deadline = time.monotonic() + 30
    while True:  # both agents joined, with their executors
        status = runner.status()
        if sum(1 for a in status["agents"] if a["executors"]) >= 2:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)

    counts = (
        gl.Flow("counts")
        .range(0, n, shards=8)
        .map(lambda x: (x % keys, 1))
        .reduce_by_key(operator.add)
        .sort()
        .collect(runner, progress=False)
    )
    made = (
        gl.Flow("made")
        .range(0, n, shards=8)
        .map(lambda x: (x % keys, os.getpid()))
        .group_by_key()
        .collect(runner, progress=False)
    )
    f = gl.Flow("join")
    left = f.range(0, n, shards=6).map(lambda x: (x % join_keys, x))
    right = f.range(0, join_keys + 100, shards=3).map(lambda k: (k, k * k))
    joined = left.join(right).collect(runner, progress=False)

    client = runner.connect()
    transfers = client.run(
        lambda dask_worker: [
            {"who": t["who"], "keys": [str(k) for k in t["keys"]]}
            for t in dask_worker.transfer_incoming_log
        ]
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        host, port = master.rsplit(":", 1)
        s.connect((host, int(port)))
        me = s.getsockname()[0]
    out = {
        "driver": {"address": me, "pid": os.getpid()},
        "status": status,
        "counts": counts,
        "made": {str(k): sorted(set(v)) for k, v in made},
        "joined": sorted(joined),
        "transfers": transfers,
        "runs": runner.status()["runs"],
    }
    runner.close()
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def driven(cluster: Cluster) -> dict[str, Any]:
    """What the driver printed, run in its own namespace while the cluster is up."""
    script = cluster.folder / "driver.py"
    script.write_text(DRIVER)
    command = ["ip", "netns", "exec", cluster.net.names["driver"], sys.executable, str(script)]
    command += [f"{address('master')}:{PORT}", str(N), str(KEYS), str(JOIN_KEYS)]
    try:
        got = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT,
            env=environment(),
            cwd=cluster.folder,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the driver took over {DRIVER_TIMEOUT} s: {exc.stderr!r}\n{cluster.logs()}")
    assert got.returncode == 0, f"{got.stderr[-4000:]}\n{cluster.logs()}"
    lines = got.stdout.strip().splitlines()
    assert lines, got.stderr
    out = json.loads(lines[-1])
    out["cluster"] = cluster
    cluster.workers = [a["pid"] for a in out["status"]["agents"]]
    return out


def host_of(dask_address: str) -> str:
    """``tcp://10.231.7.2:40123`` -> ``10.231.7.2``."""
    return dask_address.split("://", 1)[-1].rsplit(":", 1)[0]


def agents_by_role(driven: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {host_of(a["address"]): a for a in driven["status"]["agents"]}
    return {role: found[address(role)] for role in ("a", "b") if address(role) in found}


def test_two_agents_at_their_own_addresses_each_process_in_its_namespace(
    driven: dict[str, Any],
) -> None:
    status = driven["status"]
    net: Net = driven["cluster"].net
    assert status["master"]["address"] == f"tcp://{address('master')}:{PORT}"
    assert sorted(host_of(a["address"]) for a in status["agents"]) == [address("a"), address("b")]
    agents = agents_by_role(driven)
    for agent in agents.values():
        assert agent["executors"], agent
    assert driven["driver"]["address"] == address("driver")
    # every process lives in the namespace of its role: master, worker, executors
    assert netns_of(status["master"]["pid"]) == netns_inode(net.names["master"])
    for role, agent in agents.items():
        for pid in [agent["pid"], *agent["executors"]]:
            assert netns_of(pid) == netns_inode(net.names[role]), (role, pid)
    inodes = {netns_inode(name) for name in net.names.values()}
    assert len(inodes) == 4 and netns_of(os.getpid()) not in inodes


def test_a_shuffle_across_the_agents_matches_plain_python(driven: dict[str, Any]) -> None:
    expected: dict[int, int] = {}
    for x in range(N):
        expected[x % KEYS] = expected.get(x % KEYS, 0) + 1
    assert [tuple(r) for r in driven["counts"]] == sorted(expected.items())
    assert {r["state"] for r in driven["runs"]} == {"finished"}
    assert len(driven["runs"]) == 3


def test_a_join_across_the_agents_matches_plain_python(driven: dict[str, Any]) -> None:
    expected = sorted((x % JOIN_KEYS, x, (x % JOIN_KEYS) ** 2) for x in range(N))
    assert [tuple(r) for r in driven["joined"]] == expected


def test_rows_crossed_from_one_agent_to_the_other_over_the_bridge(
    driven: dict[str, Any],
) -> None:
    agents = agents_by_role(driven)
    assert sorted(agents) == ["a", "b"]
    executors = {role: set(agent["executors"]) for role, agent in agents.items()}
    made = driven["made"]
    assert sorted(int(k) for k in made) == list(range(KEYS))
    # every key's group holds rows made by the executors of both agents
    for key, pids in made.items():
        homes = {role for role, ex in executors.items() if ex & set(pids)}
        assert homes == {"a", "b"}, f"key {key}: rows made on {homes} only"
    # and each agent fetched shuffle pieces of gleamnb from the other one's address
    by_host = {host_of(w): log for w, log in driven["transfers"].items()}
    for role, other in (("a", "b"), ("b", "a")):
        fetched = [
            k
            for t in by_host[address(role)]
            if host_of(t["who"]) == address(other)
            for k in t["keys"]
            if k.startswith("gleamnb-")
        ]
        assert fetched, f"agent {role} fetched nothing from agent {other}: {by_host}"
