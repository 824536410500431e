"""The agent: a Dask worker plugin that runs gleamnb tasks in executor subprocesses.

Each worker of a gleamnb cluster holds one :class:`Agent` (the master installs it on every
worker, those that join later included). The agent keeps a pool of executors, the same
``python -m gleamnb.runtime`` processes the local runner starts (:mod:`gleamnb.runners.pool`),
each the child of the worker that exits when its stdin closes, so when its worker dies.

A gleamnb task is one Dask task (:func:`run_task`), run in one of the worker's threads: it
takes an idle executor, writes its input tables as piece files in the agent's folder (shared
memory), sends the executor the task's message, waits for its reply and returns the output
buckets as Arrow tables, read back from the pieces the executor wrote (memory-mapped, no
copy). Dask keeps those tables in the worker's memory and moves them to the workers of the
tasks that read them, as Arrow IPC buffers. A user function that kills its executor costs
that executor: the agent starts another, and the task's reply says how the first one died.
"""

from __future__ import annotations

import collections
import os
import queue
import shutil
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pyarrow as pa
from distributed import WorkerPlugin, get_worker

from gleamnb.plan.order import Order
from gleamnb.runners import leftovers
from gleamnb.runners.pool import ExecutorDied, ExecutorProcess, FromExecutor
from gleamnb.runners.shipping import KEPT_BYTES
from gleamnb.runtime.protocol import Function, Progress, RunTask, TaskDone, TaskFailed
from gleamnb.runtime.sorting import range_slice, resolve_order
from gleamnb.runtime.store import Piece, read_piece, write_piece

__all__ = ["Agent", "Outcome", "run_task", "outcome", "bucket", "cut", "NAME", "PROGRESS_TOPIC"]

#: The name the agent has among a worker's plugins.
NAME = "gleamnb-agent"

#: Stopped runs an agent remembers, so their tasks that start late do not run.
STOPPED_RUNS = 64

#: The topic of the progress running tasks report (a :class:`~gleamnb.runtime.protocol.Progress`
#: as a dict, with its ``run``); the master gathers them (see :mod:`gleamnb.cluster.master`),
#: nobody else listens.
PROGRESS_TOPIC = "gleamnb-task-progress"


@dataclass(frozen=True)
class Outcome:
    """How a task ended on an agent: ``done`` (a TaskDone, its pieces without paths), or
    ``failed`` (a TaskFailed), or its executor died with exit ``code`` and ``report``."""

    done: TaskDone | None = None
    failed: TaskFailed | None = None
    code: int = 0
    report: str = ""
    pid: int | None = None
    worker: str = ""


@dataclass
class _Held:
    """What one executor holds, as its agent recorded it: the stages of the run it last
    worked for, and functions by digest (their sizes, least recently used first)."""

    run: str | None = None
    stages: set[str] = field(default_factory=set)
    functions: collections.OrderedDict[str, int] = field(default_factory=collections.OrderedDict)
    current: set[str] = field(default_factory=set)  # the functions of the run in progress

    def trim(self, msg: RunTask) -> RunTask:
        """``msg`` without what the executor holds, forgetting what it no longer needs: the
        stages of an earlier run, and earlier runs' functions past :data:`KEPT_BYTES`."""
        run = msg.stage_key.rsplit("-", 1)[0]
        forget: list[str] = []
        if run != self.run:
            forget += sorted(self.stages)
            self.run, self.stages, self.current = run, set(), set()
        blob = None if msg.stage_key in self.stages else msg.stage_blob
        self.stages.add(msg.stage_key)
        bring = tuple(f for f in msg.functions if f.digest not in self.functions)
        for f in msg.functions:
            self.functions.setdefault(f.digest, _size(f))
            self.functions.move_to_end(f.digest)
            self.current.add(f.digest)
        old = [d for d in self.functions if d not in self.current]
        kept = sum(self.functions[d] for d in old)
        for d in old:
            if kept <= KEPT_BYTES:
                break
            kept -= self.functions.pop(d)
            forget.append(d)
        return replace(msg, stage_blob=blob, functions=bring, forget=tuple(forget))


def _size(fn: Function) -> int:
    return len(fn.data) + sum(len(b) for b in fn.buffers) + sum(n for _, n in fn.spans)


class _Slot:
    """One executor of the agent, with its own inbox (one task at a time)."""

    def __init__(self, index: int, threads: int) -> None:
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.process = ExecutorProcess(index, self.inbox, threads)
        self.held = _Held()


class Agent(WorkerPlugin):
    """The gleamnb agent of one Dask worker.

    Parameters
    ----------
    executors
        Executor processes (default: the worker's threads, so one per task it runs at once).
    threads
        Arrow threads in each executor (default 1: a cluster runs one executor per core).
    """

    name = NAME
    idempotent = True

    def __init__(self, executors: int | None = None, threads: int = 1) -> None:
        self.executors = executors
        self.threads = threads
        self.worker: Any = None
        self.folder = ""
        self.idle: queue.Queue[_Slot] = queue.Queue()
        self.slots: list[_Slot] = []
        self.running: dict[str, tuple[_Slot, str]] = {}  # Dask key -> executor, run
        self.stopped: collections.deque[str] = collections.deque(maxlen=STOPPED_RUNS)
        self._lock = threading.Lock()
        self._count = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"executors": self.executors, "threads": self.threads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["executors"], state["threads"])  # type: ignore[misc]

    # -- the worker's plugin hooks -------------------------------------------------------------

    def setup(self, worker: Any) -> None:
        self.worker = worker
        size = self.executors or worker.state.nthreads
        root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        # named as a local driver's run folders are, so a later agent (or local runner) on
        # this machine removes it if this worker is killed before its teardown
        leftovers.sweep([root])
        self.folder = os.path.join(root, leftovers.folder_name(uuid.uuid4().hex[:12]))
        os.makedirs(self.folder)
        for _ in range(size):
            self._add()
        worker.handlers["gleamnb_agent_status"] = self.status
        worker.handlers["gleamnb_stop"] = self.stop

    def teardown(self, worker: Any) -> None:
        for slot in self.slots:
            slot.process.close(wait=False)
        for slot in self.slots:
            slot.process.close(wait=True)
        self.slots = []
        shutil.rmtree(self.folder, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        """What the master asks of this agent for ``gleamnb cluster status``."""
        return {
            "pid": os.getpid(),
            "executors": [s.process.pid for s in self.slots if s.process.alive],
            "tasks": len(self.running),
            "folder": self.folder,
            "scratch": self.worker.local_directory if self.worker is not None else None,
        }

    def stop(self, run: str, grace: float = 2.0) -> int:
        """Stop the tasks of run ``run`` on this agent: each executor is asked to stop its
        task (as the local runner does), and killed if it has not within ``grace`` seconds
        (its replacement starts). The number of tasks asked to stop."""
        self.stopped.append(run)  # its tasks that Dask starts meanwhile end at once
        busy = [slot for slot, r in list(self.running.values()) if r == run]
        for slot in busy:
            slot.process.stop()
        if busy:
            timer = threading.Timer(grace, self._kill_still, (busy, run))
            timer.daemon = True
            timer.start()
        return len(busy)

    def _kill_still(self, busy: list[_Slot], run: str) -> None:
        still = {id(slot) for slot, r in list(self.running.values()) if r == run}
        for slot in busy:
            if id(slot) in still:
                slot.process.kill()

    # -- executors -----------------------------------------------------------------------------

    def _add(self) -> None:
        with self._lock:
            self._count += 1
            slot = _Slot(self._count, self.threads)
            self.slots.append(slot)
        self.idle.put(slot)

    def _replace(self, slot: _Slot) -> None:
        with self._lock:
            if slot in self.slots:
                self.slots.remove(slot)
        self._add()

    # -- a task --------------------------------------------------------------------------------

    def run(self, key: str, msg: RunTask, inputs: list[list[pa.Table]]) -> tuple[Outcome, list]:
        """Run task ``msg`` on an idle executor; its output buckets as tables (None: empty).

        A task of a run that was stopped does not run (Dask may start it before the
        cancellation of its key reaches this worker).
        """
        run = msg.stage_key.rsplit("-", 1)[0]
        if run in self.stopped:
            return Outcome(code=0, report="the run was cancelled", worker=self.worker.address), []
        folder = os.path.join(self.folder, uuid.uuid4().hex[:12])
        os.makedirs(folder)
        slot = self.idle.get()
        try:
            paths = [
                [
                    write_piece(os.path.join(folder, f"i{k}-{n}.arrow"), t).path
                    for n, t in enumerate(ts)
                ]
                for k, ts in enumerate(inputs)
            ]
            params = dict(msg.params)
            params.pop("spill_dir", None)
            params.pop("memory_allowance", None)
            task = slot.held.trim(replace(msg, inputs=paths, params=params, out_dir=folder))
            self.running[key] = (slot, run)
            slot.process.submit(task)
            while True:
                got = slot.inbox.get()
                if isinstance(got, ExecutorDied):
                    self._replace(slot)
                    slot = None
                    return Outcome(
                        code=got.code,
                        report=got.executor.crash_report(),
                        pid=got.executor.pid,
                        worker=self.worker.address,
                    ), []
                assert isinstance(got, FromExecutor)
                reply = got.message
                if isinstance(reply, Progress):  # the executor sends at most 5 a second
                    self.worker.log_event(PROGRESS_TOPIC, {"run": run, **asdict(reply)})
                    continue
                if isinstance(reply, TaskFailed):
                    return Outcome(failed=reply, worker=self.worker.address), []
                return self._done(reply)
        finally:
            self.running.pop(key, None)
            if slot is not None:
                slot.process.task = None
                self.idle.put(slot)
            shutil.rmtree(folder, ignore_errors=True)

    def _done(self, reply: TaskDone) -> tuple[Outcome, list]:
        tables: list[pa.Table | None] = []
        pieces: list[Piece | None] = []
        for piece in reply.pieces:
            if piece is None:
                tables.append(None)
                pieces.append(None)
                continue
            parts = [read_piece(f.path) for f in piece.files()]
            table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
            tables.append(table)
            pieces.append(Piece("", table.num_rows, table.nbytes))
        done = replace(reply, pieces=pieces)
        return Outcome(done=done, worker=self.worker.address), tables


def run_task(key: str, msg: RunTask, inputs: list[list[pa.Table]]) -> tuple[Outcome, list]:
    """The Dask task of one gleamnb task: run ``msg`` on this worker's agent."""
    worker = get_worker()
    agent = worker.plugins.get(NAME)
    if agent is None:
        from gleamnb.errors import GleamError

        raise GleamError(
            f"the Dask worker {worker.address} has no gleamnb agent",
            hint="connect with gl.distributed(), which installs the gleamnb master on the "
            "cluster (and the master the agents on its workers)",
        )
    return agent.run(key, msg, inputs)


def outcome(result: tuple[Outcome, list]) -> Outcome:
    """How a task ended (a small Dask task next to its result, for the driver to fetch)."""
    return result[0]


def bucket(result: tuple[Outcome, list], b: int) -> pa.Table:
    """Output bucket ``b`` of a task (a Dask task, so each bucket is a key of its own)."""
    return result[1][b]


def cut(run: pa.Table | None, order: Order, step: str, cuts: list[tuple], j: int) -> pa.Table:
    """Range ``j`` of a sorted run, cut at ``cuts`` (a Dask task where the run is, so only
    that range moves to the task merging it; the merge cuts again, finding it whole)."""
    if run is None or run.num_rows == 0:
        return run
    return range_slice(run, resolve_order(order, run.schema.names, step), cuts, j)
