"""The master: a Dask scheduler plugin that makes a Dask cluster a gleamnb cluster.

Starting, it installs the :class:`~gleamnb.cluster.agent.Agent` on every worker, those that
join later included, and adds the scheduler handlers that the Dask runner and ``gleamnb
cluster status`` call (plain msgpack messages, as the scheduler does not unpickle):

- ``gleamnb_status``: gleamnb's version, the master, the agents (each worker's address, pid,
  cores, memory, executor pids, tasks running, the shard data it holds: ``datasets`` pieces
  of ``bytes``, and its folders) and the recent runs (flow, state, seconds and ``stages``:
  tasks done of all, rows, bytes and state of each);
- ``gleamnb_run``: a driver reports a run's state (started, its stages' progress about once
  a second, finished, failed, cancelled);
- ``gleamnb_stop``: a driver cancels a run: every agent stops the run's tasks.

Progress: agents log what their running tasks report (at most 5 a second per task: the rows
and bytes read and written so far) on :data:`~gleamnb.cluster.agent.PROGRESS_TOPIC`; the
master keeps the latest report of each task and every :data:`PROGRESS_INTERVAL` seconds sends
one event per run with news on :data:`PROGRESS` (``{"run": id, "tasks": [[task, read_rows,
read_bytes, rows, bytes], ...]}``), which the run's driver reads (``Client.subscribe_topic``)
and turns into the same ``StageProgress`` events the local runner emits.

The plugin is idempotent: registering it again on a cluster that has it changes nothing.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.protocol.pickle import dumps

from gleamnb.cluster.agent import NAME as AGENT
from gleamnb.cluster.agent import PROGRESS_TOPIC, Agent

__all__ = ["Master", "NAME", "PROGRESS", "version"]

#: The name the master has among the scheduler's plugins.
NAME = "gleamnb-master"

#: Runs the master remembers for ``cluster status``.
RECENT_RUNS = 20

#: The topic of the coalesced progress of running tasks, one event per run with news.
PROGRESS = "gleamnb-progress"

#: How often the master sends progress (seconds).
PROGRESS_INTERVAL = 0.2


def version() -> str:
    """The gleamnb version of this process (client, master and agents must agree).

    >>> version() == __import__("gleamnb").__version__
    True
    """
    from gleamnb import __version__

    return __version__


class Master(SchedulerPlugin):
    """The gleamnb master of one Dask scheduler.

    Parameters
    ----------
    executors
        Executor processes of each agent (default: one per thread of its worker).
    """

    name = NAME
    idempotent = True

    def __init__(self, executors: int | None = None) -> None:
        self.executors = executors
        self.scheduler: Any = None
        self.runs: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self.started = time.time()
        # run -> task -> [read_rows, read_bytes, rows, bytes], the latest since the last send
        self.news: dict[str, dict[int, list[int]]] = {}
        self._sender: Any = None

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        scheduler.handlers["gleamnb_status"] = self.status
        scheduler.handlers["gleamnb_run"] = self.run
        scheduler.handlers["gleamnb_stop"] = self.stop
        from tornado.ioloop import PeriodicCallback

        self._sender = PeriodicCallback(self.send_progress, PROGRESS_INTERVAL * 1000)
        self._sender.start()
        await scheduler.register_worker_plugin(
            None, dumps(Agent(self.executors)), name=AGENT, idempotent=True
        )

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.stop()

    def restart(self, scheduler: Any) -> None:
        self.runs.clear()
        self.news.clear()

    def log_event(self, topic: str, msg: Any) -> None:
        if topic == PROGRESS_TOPIC and isinstance(msg, dict):
            figures = [int(msg.get(k, 0)) for k in ("read_rows", "read_bytes", "rows", "bytes")]
            self.news.setdefault(str(msg["run"]), {})[int(msg["task"])] = figures

    def send_progress(self) -> None:
        """One event per run whose tasks reported progress since the last send."""
        news, self.news = self.news, {}
        for run, tasks in news.items():
            rows = [[task, *figures] for task, figures in tasks.items()]
            self.scheduler.log_event(PROGRESS, {"run": run, "tasks": rows})

    # -- handlers ------------------------------------------------------------------------------

    def run(self, run: str, state: dict[str, Any]) -> None:
        """A driver's report on run ``run``: its fields are merged into the record."""
        record = self.runs.setdefault(run, {"id": run})
        record.update(state)
        self.runs.move_to_end(run)
        while len(self.runs) > RECENT_RUNS:
            self.runs.popitem(last=False)

    async def stop(self, run: str) -> int:
        """Stop run ``run``'s tasks on every agent; the number of tasks asked to stop."""
        s = self.scheduler
        replies = await asyncio.gather(
            *(s.rpc(a).gleamnb_stop(run=run) for a in list(s.workers)), return_exceptions=True
        )
        return sum(r for r in replies if isinstance(r, int))

    async def status(self) -> dict[str, Any]:
        """The cluster as ``gleamnb cluster status`` shows it."""
        s = self.scheduler
        agents = []
        addresses = list(s.workers)
        replies = await asyncio.gather(
            *(s.rpc(a).gleamnb_agent_status() for a in addresses), return_exceptions=True
        )
        for address, reply in zip(addresses, replies):
            ws = s.workers.get(address)
            if ws is None:
                continue
            agent = reply if isinstance(reply, dict) else {"error": repr(reply)}
            held = [ts for ts in ws.has_what if str(ts.key).startswith("gleamnb-")]
            agents.append(
                {
                    "address": address,
                    "pid": ws.pid,
                    "name": str(ws.name),
                    "cores": ws.nthreads,
                    "memory": ws.memory_limit,
                    "executors": agent.get("executors", []),
                    "tasks": agent.get("tasks", 0),
                    "datasets": len(held),
                    "bytes": sum(max(0, ts.nbytes) for ts in held),
                    "folder": agent.get("folder"),
                    "scratch": agent.get("scratch"),
                    **({"error": agent["error"]} if "error" in agent else {}),
                }
            )
        dashboard = s.services.get("dashboard")
        host = s.address.split("://", 1)[-1].rsplit(":", 1)[0]
        return {
            "version": version(),
            "master": {
                "address": s.address,
                "pid": os.getpid(),
                "dashboard": f"http://{host}:{dashboard.port}/status" if dashboard else None,
                "up": time.time() - self.started,
            },
            "agents": agents,
            "runs": list(self.runs.values()),
        }
