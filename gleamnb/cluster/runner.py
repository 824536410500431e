"""The Dask runner: ``gl.distributed()`` runs a flow on a gleamnb cluster.

It is a driver of the scheduling core every runner shares
(:class:`~gleamnb.runners.scheduling.Schedule`), as the local runner is; only where tasks
run and how shard data moves differ. Each gleamnb task is a Dask task that an agent runs in
one of its executors (:func:`gleamnb.cluster.agent.run_task`); each non-empty output bucket
of a task is a Dask key of its own holding an Arrow table, which Dask moves to the worker of
the task that reads it, so shard data goes from worker to worker and the driver receives only
what an action returns. The driver holds the futures of the pieces later stages read, so a
worker lost in the middle of a run costs recomputing what it held (Dask's lineage).

Finding the cluster: the ``master`` argument (``"host:port"``), else the ``GLEAMNB_MASTER``
environment variable, else the discovery record ``gleamnb cluster start`` wrote. A cluster
started with Dask's own commands gets the master plugin from the first client that connects
(:meth:`DaskRunner.connect`), and the master installs the agents.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from gleamnb.cluster.agent import Outcome, bucket, cut, outcome, run_task
from gleamnb.cluster.master import NAME as MASTER
from gleamnb.cluster.master import PROGRESS, Master, version
from gleamnb.errors import ArgumentError, GleamError
from gleamnb.events import (
    Event,
    Listener,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
)
from gleamnb.files.saves import part_files, prepare_output
from gleamnb.plan.pickles import digest
from gleamnb.planner.physical import PhysicalPlan
from gleamnb.runners.base import Runner
from gleamnb.runners.result import RunResult
from gleamnb.runners.scheduling import Schedule
from gleamnb.runners.shipping import Holdings
from gleamnb.runtime.protocol import Function, Progress
from gleamnb.runtime.stage import MergeRange
from gleamnb.runtime.store import Piece

__all__ = ["DaskRunner", "distributed", "MASTER_ENV"]

#: The environment variable naming the cluster's master (``host:port``).
MASTER_ENV = "GLEAMNB_MASTER"

#: How often a run's stages are reported to the master for ``cluster status`` (seconds).
REPORT_INTERVAL = 1.0

#: Seconds a run waits on a cluster without agents before it fails.
AGENTS_TIMEOUT = 30.0

#: Memory budget of a sorting task when the workers do not say theirs.
DEFAULT_TASK_MEMORY = 1 << 30


def _address(master: str | None) -> tuple[str, dict[str, Any] | None]:
    """The scheduler address to connect to, from the argument, the environment or a record,
    and the discovery record of that cluster if this machine has one (its TLS files)."""
    from gleamnb.cluster import records

    if master is None:
        master = os.environ.get(MASTER_ENV) or None
    if master is None:
        found = records.read()
        if found is None:
            raise GleamError(
                "no gleamnb cluster to run on: gl.distributed() was given no master, "
                f"${MASTER_ENV} is not set and no cluster was started on this machine",
                hint="start one with `gleamnb cluster start`, or name a running one: "
                'gl.distributed(master="host:port")',
            )
        return str(found["address"]), found
    if not isinstance(master, str) or not master.strip():
        raise ArgumentError(
            f"master must be a scheduler address such as '127.0.0.1:45326', got {master!r}"
        )
    master = master.strip()
    hostport = master.split("://", 1)[-1]
    for record in records.all():
        if str(record.get("address", "")).split("://", 1)[-1] == hostport:
            return str(record["address"]), record
    return (master if "://" in master else f"tcp://{master}"), None


class DaskRunner(Runner):
    """Run flows on a Dask cluster whose workers are gleamnb agents.

    Parameters
    ----------
    master
        The scheduler's address, ``"host:port"`` (default: ``$GLEAMNB_MASTER``, else the
        cluster ``gleamnb cluster start`` started).
    timeout
        Seconds to wait for the scheduler to answer.
    security
        Dask's ``distributed.Security`` for a cluster that requires TLS (default: the
        certificates of the discovery record of the cluster at that address, if this
        machine has one; ``gleamnb cluster start --tls`` wrote them).
    agents_timeout
        Seconds a run waits on a cluster without agents before it fails.

    Examples
    --------
    >>> import gleamnb as gl
    >>> from distributed import LocalCluster
    >>> with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
    ...     with gl.distributed(master=cluster.scheduler_address) as runner:
    ...         doubled = gl.Flow().range(0, 10).map(lambda x: x * 2)
    ...         doubled.reduce(lambda a, b: a + b).collect(runner, progress=False)
    [(90,)]
    """

    name = "dask"

    def __init__(
        self,
        master: str | None = None,
        *,
        timeout: float = 10.0,
        security: Any = None,
        agents_timeout: float = AGENTS_TIMEOUT,
    ) -> None:
        self.address, record = _address(master)
        if security is None and record is not None and record.get("tls"):
            from gleamnb.cluster import tls

            security = tls.security(record["tls"])
        self.security = security
        self.timeout = timeout
        self.agents_timeout = agents_timeout
        self.client: Any = None
        self._lock = threading.Lock()
        self._task_ids = 0

    def __repr__(self) -> str:
        return f"DaskRunner(master={self.address!r})"

    def connect(self) -> Any:
        """The Dask client, connected (once) and the cluster checked: the master plugin
        registered if missing, the same gleamnb version on both sides."""
        if self.client is not None and self.client.status == "running":
            return self.client
        from distributed import Client

        try:
            client = Client(
                self.address,
                timeout=self.timeout,
                set_as_default=False,
                **({"security": self.security} if self.security is not None else {}),
            )
        except Exception as exc:  # refused, timed out, or TLS options that do not fit
            raise GleamError(
                f"cannot reach the gleamnb master at {self.address}: {exc}",
                hint="is the cluster running? `gleamnb cluster status` says; start one with "
                "`gleamnb cluster start`"
                + (
                    ". A cluster started with --tls takes only clients with its certificate: "
                    "run on the machine of its record, or pass gl.distributed(security=...)"
                    if self.address.startswith("tls://")
                    else ""
                ),
            ) from None
        try:
            status = self._status(client)
            if status is None:
                client.register_plugin(Master())
                status = self._status(client)
            theirs = status["version"] if status else None
            if theirs != version():
                raise GleamError(
                    f"the cluster at {self.address} runs gleamnb {theirs}, this program "
                    f"gleamnb {version()}",
                    hint="install the same gleamnb version on the client, the scheduler and "
                    "the workers, then restart the cluster",
                )
        except BaseException:
            client.close()
            raise
        self.client = client
        return client

    @staticmethod
    def _status(client: Any) -> dict[str, Any] | None:
        """The master's status, or None if the scheduler has no gleamnb master."""
        has = client.run_on_scheduler(lambda dask_scheduler: MASTER in dask_scheduler.plugins)
        return client.sync(client.scheduler.gleamnb_status) if has else None

    def status(self) -> dict[str, Any]:
        """The cluster as its master sees it (see :mod:`gleamnb.cluster.master`)."""
        client = self.connect()
        return client.sync(client.scheduler.gleamnb_status)

    def next_task_id(self) -> int:
        self._task_ids += 1
        return self._task_ids

    def close(self) -> None:
        """Disconnect from the cluster (it keeps running); the next run connects again."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def execute(
        self,
        plan: PhysicalPlan,
        listeners: Sequence[Listener] = (),
        cancel: threading.Event | None = None,
    ) -> RunResult:
        with self._lock:
            client = self.connect()
            return _DaskRun(self, client, plan, listeners, cancel).go()


def distributed(
    master: str | None = None,
    *,
    timeout: float = 10.0,
    security: Any = None,
    agents_timeout: float = AGENTS_TIMEOUT,
) -> DaskRunner:
    """The runner of a gleamnb cluster on Dask (see :class:`DaskRunner`).

    ``gl.set_runner(gl.distributed())`` makes it the session's default.
    """
    return DaskRunner(master, timeout=timeout, security=security, agents_timeout=agents_timeout)


class _DaskRun:
    """The Dask driver of one run: the futures of its pieces and of its running tasks.

    It is the run's :class:`~gleamnb.runners.scheduling.Storage`: a piece's ``path`` is the
    Dask key of its table. Saves write on the workers; their folders are prepared and listed
    here, so they must be on a file system the driver and the workers share (one machine, or
    a network folder).
    """

    def __init__(
        self,
        runner: DaskRunner,
        client: Any,
        plan: PhysicalPlan,
        listeners: Sequence[Listener],
        cancel: threading.Event | None = None,
    ) -> None:
        self.runner = runner
        self.client = client
        self.plan = plan
        self.schedule = Schedule(
            plan, self, [*listeners, self.report], runner=runner.name, cancel=cancel
        )
        self.run_id = self.schedule.run_id
        self.futures: dict[str, Any] = {}  # piece key -> future of its table
        self.waiting: dict[Any, tuple[int, Any, str]] = {}  # outcome -> task id, main, key
        self.finished: queue.Queue[Any] = queue.Queue()  # outcomes and progress, as they come
        self.budget = self._task_memory()
        self.stage_digests: dict[int, str] = {}
        self.attempts: dict[tuple[int, int], int] = {}
        self.stages: dict[int, dict[str, Any]] = {}  # as the master shows them
        self.reported = 0.0
        self.lost = self.alone = self.checked = 0.0  # since when: no master, no agent

    def go(self) -> RunResult:
        return self.schedule.run(self.drive, self.stop_running, self.clean_up)

    def _task_memory(self) -> float:
        info = self.client.scheduler_info(n_workers=-1)
        shares = [
            w["memory_limit"] / max(1, w["nthreads"])
            for w in info.get("workers", {}).values()
            if w.get("memory_limit")
        ]
        return min(shares) if shares else DEFAULT_TASK_MEMORY

    def report(self, event: Event) -> None:
        """Tell the master how the run goes, for ``cluster status``: its start and its end at
        once, the progress of its stages (tasks done, rows, bytes, state) at most every
        :data:`REPORT_INTERVAL` seconds."""
        state: dict[str, Any] | None = None
        stages = self.stages
        if isinstance(event, RunStarted):
            for info in event.stages:
                stages[info.id] = {
                    "id": info.id,
                    "name": info.name,
                    "tasks": info.tasks,
                    "done": 0,
                    "read_rows": 0,
                    "rows": 0,
                    "bytes": 0,
                    "state": "pending",
                    "seconds": None,
                }
            state = {"flow": event.flow, "state": "running"}
        elif isinstance(event, StageStarted) and event.stage in stages:
            stages[event.stage]["state"] = "running"
        elif isinstance(event, StageProgress) and event.stage in stages:
            stages[event.stage].update(
                done=event.done, rows=event.rows, bytes=event.bytes, read_rows=event.read_rows
            )
        elif isinstance(event, StageFinished) and event.stage in stages:
            stages[event.stage].update(
                done=event.tasks,
                rows=event.rows,
                bytes=event.bytes,
                read_rows=event.read_rows,
                state="done",
                seconds=round(event.seconds, 3),
            )
        elif isinstance(event, StageFailed) and event.stage in stages:
            stages[event.stage]["state"] = "failed"
        elif isinstance(event, RunFinished):
            state = {"state": "finished", "seconds": event.seconds, "rows": event.rows}
        elif isinstance(event, RunFailed):
            state = {"state": "failed", "seconds": event.seconds, "error": event.error[:500]}
        elif isinstance(event, RunCancelled):
            state = {"state": "cancelled", "seconds": event.seconds}
        now = time.monotonic()
        if state is None and now - self.reported < REPORT_INTERVAL:
            return
        self.reported = now
        state = {**(state or {}), "stages": list(stages.values())}
        if self.client.status == "running":
            self.client.sync(self.client.scheduler.gleamnb_run, run=self.run_id, state=state)

    # -- storage (what the schedule asks) ------------------------------------------------------

    def in_memory(self, piece: Piece) -> bool:
        return True

    def read(self, piece: Piece) -> pa.Table:
        return self.futures[piece.path].result()

    def free(self, piece: Piece) -> None:
        fut = self.futures.pop(piece.path, None)
        if fut is not None:
            fut.release()

    def prepare_save(self, path: str, format: str) -> None:
        prepare_output(path, format)

    def part_files(self, path: str, format: str, shards: int) -> set[str]:
        return part_files(path, format, shards)

    def remove(self, path: str) -> None:
        try:
            os.remove(path)
        except OSError:
            pass

    def write_function(self, digest: str, parts: Sequence[bytes | memoryview]) -> Function:
        """A large function travels with its tasks, its buffers out of band (no shared file)."""
        return Function(digest, data=bytes(parts[0]), buffers=tuple(bytes(p) for p in parts[1:]))

    # -- the run -------------------------------------------------------------------------------

    def drive(self) -> None:
        schedule = self.schedule
        self.client.subscribe_topic(PROGRESS, self.progress)
        try:
            schedule.start(self.write_data())
            while not schedule.done:
                schedule.check_cancel()
                self.dispatch()
                try:
                    news = [self.finished.get(timeout=0.1)]
                except queue.Empty:
                    self.check_cluster()
                    continue
                while len(news) < 1000:  # what else came meanwhile, handled together
                    try:
                        news.append(self.finished.get_nowait())
                    except queue.Empty:
                        break
                ended = []
                for got in news:
                    if isinstance(got, list):
                        for report in got:
                            schedule.progress(report)
                    elif got in self.waiting:
                        ended.append(got)
                for fut, result in self.fetch(ended):
                    self.handle(fut, result)
        finally:
            self.client.unsubscribe_topic(PROGRESS)

    def lost_master(self) -> GleamError:
        return GleamError(
            f"lost the connection to the gleamnb master at {self.runner.address} in the "
            f"middle of the run (the Dask client is {self.client.status})",
            hint="the master stopped or was killed: `gleamnb cluster status` says; restart "
            "the cluster (agents of `gleamnb agent` rejoin it), then run the flow again",
        )

    def check_cluster(self) -> None:
        """Fail the run, rather than wait for ever, when the cluster cannot run it: the
        connection to the master is lost, or no agent has been there for a while."""
        now = time.monotonic()
        if self.client.status != "running":
            self.lost = self.lost or now
            if now - self.lost > self.runner.timeout:
                raise self.lost_master()
            return
        self.lost = 0.0
        if now - self.checked < 1.0:
            return
        self.checked = now
        if self.client.scheduler_info(n_workers=1).get("workers"):
            self.alone = 0.0
        elif not self.alone:
            self.alone = now
        elif now - self.alone > self.runner.agents_timeout:
            raise GleamError(
                f"the gleamnb cluster at {self.runner.address} has had no agent for "
                f"{self.runner.agents_timeout:.0f} s: nothing can run the flow's tasks",
                hint="start agents (`gleamnb agent --master HOST:PORT`), or restart the "
                "cluster with `gleamnb cluster start`",
            )

    def progress(self, event: tuple[float, dict[str, Any]]) -> None:
        """The master's news of this run's running tasks (on the client's event loop)."""
        msg = event[1]
        if isinstance(msg, dict) and msg.get("run") == self.run_id:
            self.finished.put([Progress(*map(int, figures)) for figures in msg["tasks"]])

    def write_data(self) -> list[list[Piece]]:
        """The plan's in-memory source data as Dask keys (in the graph: recomputable)."""
        data = []
        for k, tables in enumerate(self.plan.data):
            shards = []
            for j, table in enumerate(tables):  # equal tables in two places: two keys
                key = f"gleamnb-data-{_table_digest(table)[:32]}-{k}-{j}"
                self.futures[key] = self.client.submit(_same, table, key=key)
                shards.append(Piece(key, table.num_rows, table.nbytes))
            data.append(shards)
        return data

    def fetch(self, ended: list[Any]) -> list[tuple[Any, Outcome | None]]:
        """The outcomes of tasks that ended, fetched together (one round trip, not one
        each); None for those that did not finish (failed or cancelled)."""
        ok = [f for f in ended if f.status == "finished"]
        try:
            results = dict(zip(ok, self.client.gather(ok))) if ok else {}
        except Exception:  # one of them was lost meanwhile: each on its own
            results = {}
        return [(f, results.get(f)) for f in ended]

    def dispatch(self) -> None:
        schedule = self.schedule
        while schedule.ready:
            task = schedule.take(self.runner.next_task_id())
            st = task.stage
            with schedule.working_on(st.id):
                msg = schedule.run_task(
                    task, out_dir="", holds=Holdings(), memory_budget=self.budget
                )
                inputs = [[self.futures[p] for p in files] for files in msg.inputs]
                if isinstance(st.head, MergeRange):
                    inputs[0] = self.cut_runs(msg.inputs[0], inputs[0], st.head, task)
                key = self.task_key(st.id, task.shard, task.params, msg.inputs)
                main = self.client.submit(run_task, key, msg, inputs, key=key)
                done = self.client.submit(outcome, main, key=f"{key}-outcome")
                # each output bucket a key of its own, asked for now: no second round trip
                buckets = [
                    self.client.submit(bucket, main, b, key=f"{key}-b{b}")
                    for b in range(st.output.buckets if st.output is not None else 1)
                ]
            self.waiting[done] = (task.id, main, key, buckets)
            done.add_done_callback(self.finished.put)

    def cut_runs(self, keys: list[str], runs: list[Any], head: MergeRange, task: Any) -> list:
        """Range ``task.shard`` of each sorted run, cut where the run is (a Dask task next
        to it): only that range moves to the merging task, not every run whole."""
        cuts = task.params.get("cuts", [])
        mark = hashlib.sha256(repr((cuts, task.shard)).encode()).hexdigest()[:12]
        return [
            self.client.submit(
                cut, run, head.order, head.name, cuts, task.shard, key=f"{k}-r{task.shard}-{mark}"
            )
            for k, run in zip(keys, runs)
        ]

    def task_key(
        self, sid: int, shard: int, params: dict[str, Any], inputs: list[list[str]]
    ) -> str:
        """The Dask key of a task: a hash of what it computes, never the same for other work.

        It covers the stage's spec as it travels (its steps, their parameters, the digests of
        its functions: the run's own id left out), the shard, the task's parameters (with the
        size and modification time of every file they name) and its inputs' keys, which are
        such hashes too (or, for in-memory data, the hash of the table). The attempt number
        ends it: a task that runs again after its executor died gets a key of its own.
        """
        stage = self.stage_digests.get(sid)
        if stage is None:
            blob = self.schedule.shipping.blobs[sid]
            stage = self.stage_digests[sid] = hashlib.sha256(
                blob.replace(self.run_id.encode(), b"")
            ).hexdigest()
        h = hashlib.sha256()
        for part in (stage, shard, sorted(params.items()), _file_stats(params), inputs):
            h.update(repr(part).encode())
            h.update(b"\0")
        attempt = self.attempts[(sid, shard)] = self.attempts.get((sid, shard), -1) + 1
        return f"gleamnb-{h.hexdigest()[:32]}-{attempt}"

    def handle(self, fut: Any, got: Outcome | None = None) -> None:
        from distributed.scheduler import KilledWorker

        task_id, main, key, buckets = self.waiting.pop(fut)
        if got is None or got.done is None:
            for b in buckets:
                b.release()
        if fut.status == "cancelled":  # not by this run: it waits for them no more
            reason = _cancel_reason(fut)
            if self.client.status != "running" or "connection" in reason:
                raise self.lost_master()
            raise GleamError(
                f"the cluster cancelled the task {key} ({reason}): its Dask key was "
                "cancelled by another client or the scheduler",
                hint="run the flow again; if it happens again, `gleamnb cluster status` and the "
                "Dask dashboard show what else runs on the cluster",
            )
        if fut.status == "error":
            exc = fut.exception()
            main.release()
            fut.release()
            if isinstance(exc, KilledWorker):
                self.schedule.task_lost(
                    task_id,
                    -9,
                    f"every Dask worker that ran it died ({exc})",
                )
                return
            raise exc
        if got is None:
            got = fut.result()
        fut.release()
        if got.done is not None:
            pieces: list[Piece | None] = []
            while len(buckets) < len(got.done.pieces):  # not foreseen: asked for now
                k = f"{key}-b{len(buckets)}"
                buckets.append(self.client.submit(bucket, main, len(buckets), key=k))
            for b, p in enumerate(got.done.pieces):
                if p is None:
                    buckets[b].release()
                    pieces.append(None)
                    continue
                self.futures[buckets[b].key] = buckets[b]
                pieces.append(Piece(buckets[b].key, p.rows, p.nbytes))
            main.release()  # its buckets hold it (and its lineage) while they are wanted
            self.schedule.receive(replace(got.done, task=task_id, pieces=pieces))
        elif got.failed is not None:
            main.release()
            self.schedule.receive(replace(got.failed, task=task_id))
        else:
            main.release()
            self.schedule.task_lost(task_id, got.code, got.report, got.pid)

    def stop_running(self) -> None:
        """Cancel the run's tasks still running on the cluster."""
        running = [
            f for done, (_, main, _, parts) in self.waiting.items() for f in (done, main, *parts)
        ]
        self.waiting.clear()
        if running and self.client.status == "running":
            # the agents first: they stop the tasks running and refuse those that start late
            self.client.sync(self.client.scheduler.gleamnb_stop, run=self.run_id)
            self.client.cancel(running)

    def clean_up(self) -> None:
        futures = list(self.futures.values())
        self.futures.clear()
        if self.client.status != "running":
            return  # the cluster is gone, and what it held with it
        for f in futures:
            f.release()


def _cancel_reason(fut: Any) -> str:
    """Why Dask cancelled a future (``"scheduler-connection-lost"``, ...)."""
    from distributed.client import FutureCancelledError

    try:
        fut.result(timeout=0)
    except FutureCancelledError as exc:
        return str(exc.reason)
    except Exception as exc:
        return type(exc).__name__
    return "unknown"


def _file_stats(value: Any) -> list[tuple[str, int, int]]:
    """``(path, size, mtime)`` of each existing file named in ``value`` (nested params).

    >>> _file_stats({"splits": [("/no/such/file", 0, 10)]})
    []
    """
    found: list[tuple[str, int, int]] = []
    if isinstance(value, str):
        if len(value) < 4096 and os.path.isfile(value):
            st = os.stat(value)
            found.append((value, st.st_size, st.st_mtime_ns))
    elif isinstance(value, dict):
        for v in value.values():
            found += _file_stats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found += _file_stats(v)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            found += _file_stats(getattr(value, f.name))
    return found


def _table_digest(table: pa.Table) -> str:
    """A hash of a table's schema and data."""
    parts: list[Any] = [str(table.schema).encode(), str(table.num_rows).encode()]
    for column in table.columns:
        for chunk in column.chunks:
            parts.append(f"{chunk.offset},{len(chunk)}".encode())
            parts += [b for b in chunk.buffers() if b is not None]
    return digest(parts)


def _same(table: pa.Table) -> pa.Table:
    """A Dask task holding a table of the driver's in-memory data."""
    return table
