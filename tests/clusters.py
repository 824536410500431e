"""Real gleamnb clusters for tests (importable: ``tests/`` is on ``sys.path``): a two-worker
Dask cluster in-process, and the ``gleamnb`` command run as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gleamnb.cluster import records

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gleamnb(
    *args: str, state: Path | None = None, timeout: float = 120, first: Sequence[str] = ()
) -> Any:
    """Run ``gleamnb ARGS`` (as ``python -m gleamnb.cli``); the completed process.

    ``first``: folders put before everything else on its ``PYTHONPATH``.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*first, str(ROOT), env.get("PYTHONPATH")) if p)
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [sys.executable, "-m", "gleamnb.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def alive(pid: int) -> bool:
    return records.exists(pid)


def kill_all(record: dict[str, Any] | None, extra: Sequence[int] = ()) -> None:
    """Last resort after a failed test: no process of the cluster outlives the module."""
    for pid in [*(records.pids(record) if record else []), *extra]:
        if pid != os.getpid() and alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def start(folder: Path, *extra: str) -> tuple[Any, dict[str, Any] | None]:
    got = gleamnb(
        "cluster",
        "start",
        "--dir",
        str(folder),
        "--port",
        str(free_port()),
        *extra,
        state=folder / "state",
    )
    return got, records.read(None, folder)


def two_agent_cluster() -> Any:
    """A Dask LocalCluster of two worker processes under nannies, on loopback, with the
    gleamnb master (each worker an agent with one executor)."""
    from distributed import LocalCluster

    from gleamnb.cluster.master import Master

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"plugins": [Master()]},
    )
