"""The master: a Dask scheduler plugin that makes a Dask cluster a gleamnb cluster.

Starting, it installs the :class:`~gleamnb.cluster.agent.Agent` on every worker, those that
join later included, and adds the scheduler handlers that the Dask runner and ``gleamnb
cluster status`` call (plain msgpack messages, as the scheduler does not unpickle):

- ``gleamnb_status``: gleamnb's version, the master, the agents (each worker's address, pid,
  cores, memory, executor pids and tasks running) and the recent runs;
- ``gleamnb_run``: a driver reports a run's state (started, finished, failed, cancelled);
- ``gleamnb_stop``: a driver cancels a run: every agent stops the run's tasks.

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
from gleamnb.cluster.agent import Agent

__all__ = ["Master", "NAME", "version"]

#: The name the master has among the scheduler's plugins.
NAME = "gleamnb-master"

#: Runs the master remembers for ``cluster status``.
RECENT_RUNS = 20


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

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        scheduler.handlers["gleamnb_status"] = self.status
        scheduler.handlers["gleamnb_run"] = self.run
        scheduler.handlers["gleamnb_stop"] = self.stop
        await scheduler.register_worker_plugin(
            None, dumps(Agent(self.executors)), name=AGENT, idempotent=True
        )

    def restart(self, scheduler: Any) -> None:
        self.runs.clear()

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
            agents.append(
                {
                    "address": address,
                    "pid": ws.pid,
                    "name": str(ws.name),
                    "cores": ws.nthreads,
                    "memory": ws.memory_limit,
                    "executors": agent.get("executors", []),
                    "tasks": agent.get("tasks", 0),
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
