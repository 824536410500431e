"""The background process of ``gleamnb cluster start``: one gleamnb cluster on this machine.

``python -m gleamnb.cluster.serve --name NAME [--dir DIR] ...`` runs a Dask
``LocalCluster``: the scheduler (with the :class:`~gleamnb.cluster.master.Master` plugin) in
this process, and one worker process per agent, each under a nanny. Once every agent reports
its executors it writes the cluster's discovery record (:mod:`gleamnb.cluster.records`) and
prints ``gleamnb-ready <address>``: the record appearing is the sign ``cluster start`` waits
for. On SIGTERM or SIGINT it closes the cluster (workers, nannies and executors exit), removes
its record and exits 0.

The signal handlers are installed before the cluster starts: a SIGTERM that arrives while
the workers are starting still closes them, rather than killing this process and leaving
orphaned workers.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gleamnb.cluster import records, tls
from gleamnb.cluster.master import Master, version

__all__ = ["main", "scratch", "READY", "log_path"]

#: The line this process prints once the cluster is ready (followed by its address).
READY = "gleamnb-ready"

#: Seconds to wait for the agents to report their executors.
STARTUP_TIMEOUT = 60.0


def scratch(name: str, dir: str | os.PathLike[str] | None = None) -> Path:
    """The scratch folder of cluster ``name`` (the workers' local directory).

    >>> scratch("a", "/tmp/x")
    PosixPath('/tmp/x/work/a')
    """
    return records.folder(dir) / "work" / (name or records.DEFAULT)


def log_path(name: str, dir: str | os.PathLike[str] | None = None) -> Path:
    """The log file of cluster ``name`` (the serve process's stdout and stderr).

    >>> log_path("a", "/tmp/x")
    PosixPath('/tmp/x/a.log')
    """
    return records.folder(dir) / f"{name or records.DEFAULT}.log"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the serve process.

    >>> parse(["--name", "x", "--agents", "3"]).agents
    3
    """
    p = argparse.ArgumentParser(prog="python -m gleamnb.cluster.serve")
    p.add_argument("--name", default=records.DEFAULT)
    p.add_argument("--dir", default=None)
    p.add_argument("--agents", type=int, default=2)
    p.add_argument("--executors-per-agent", type=int, default=1)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=45326)
    p.add_argument("--dashboard-port", type=int, default=0)
    p.add_argument("--memory-limit", default="auto")
    p.add_argument("--tls-dir", default=None, help="folder of ca.pem, cert.pem and key.pem")
    return p.parse_args(argv)


def _ready(status: dict[str, Any], agents: int) -> bool:
    found = status.get("agents", [])
    return len(found) >= agents and all(a.get("executors") for a in found)


def main(argv: list[str] | None = None) -> int:
    """Run the cluster until SIGTERM or SIGINT; the exit code."""
    args = parse(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    # Before anything starts: a signal during start-up still closes what started.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from distributed import Client, LocalCluster

    work = scratch(args.name, args.dir)
    work.mkdir(parents=True, exist_ok=True)
    paths = (
        {role: os.path.join(args.tls_dir, f) for role, f in tls.FILES.items()}
        if args.tls_dir
        else None
    )
    sec = tls.security(paths)
    protocol = "tls://" if sec is not None else None
    kwargs: dict[str, Any] = {"security": sec, "protocol": protocol} if sec is not None else {}
    cluster = LocalCluster(
        n_workers=args.agents,
        threads_per_worker=args.executors_per_agent,
        processes=True,
        host=args.host,
        scheduler_port=args.port,
        dashboard_address=f"{args.host}:{args.dashboard_port}",
        memory_limit=args.memory_limit,
        local_directory=str(work),
        scheduler_kwargs={"plugins": [Master(args.executors_per_agent)]},
        **kwargs,
    )
    mine = False
    try:
        client = Client(cluster, timeout=30, set_as_default=False)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not stop.is_set():
                status = client.sync(client.scheduler.gleamnb_status)
                if _ready(status, args.agents):
                    break
                if time.monotonic() > deadline:
                    print(
                        f"gleamnb: the agents did not report their executors in "
                        f"{STARTUP_TIMEOUT:.0f} s: {status.get('agents')}",
                        file=sys.stderr,
                    )
                    return 1
                time.sleep(0.1)
        finally:
            client.close()
        if stop.is_set():
            return 0
        master = status["master"]
        agents = status["agents"]
        record = {
            "name": args.name,
            "address": master["address"],
            "dashboard": master["dashboard"],
            "pids": {
                "process": os.getpid(),
                "scheduler": master["pid"],
                # LocalCluster's nannies run in this process; their workers are its children.
                "nannies": [os.getpid() for _ in agents],
                "workers": [a["pid"] for a in agents],
                "executors": [p for a in agents for p in a["executors"]],
            },
            "agents": args.agents,
            "executors_per_agent": args.executors_per_agent,
            "version": version(),
            "started": time.time(),
            "dir": str(records.folder(args.dir)),
            "scratch": str(work),
            "log": str(log_path(args.name, args.dir)),
            "tls": paths,
        }
        records.write(record, args.dir)
        mine = True
        print(f"{READY} {master['address']}", flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        cluster.close(timeout=20)
        if mine:
            got = records.read(args.name, args.dir)
            if got is not None and got.get("pids", {}).get("process") == os.getpid():
                records.remove(args.name, args.dir)
        print("gleamnb: cluster closed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
