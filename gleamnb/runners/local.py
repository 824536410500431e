"""The local runner: a pool of executor subprocesses on this machine (the default).

Stages run when the stages they read are done; their tasks go to idle executors (one per core
by default), which stay warm between runs. Task outputs are Arrow IPC pieces in shared memory
while the run's memory budget lasts: each task gets an allowance of it and writes what comes
past its allowance to a disk folder ("spilling"); ``on_disk()`` datasets always go to disk. A
piece is deleted as soon as every stage reading it is done. A failed or cancelled run stops
its tasks and keeps nothing: not its pieces, nor the part files its saves wrote.

``gl.local(mode="inline")`` runs the same tasks in the calling process, one at a time, so a
debugger can step into a UDF.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import cloudpickle

from gleamnb.errors import ArgumentError, ExecutorCrashedError, GleamError, RunCancelledError
from gleamnb.events import (
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
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage
from gleamnb.runners import spawn
from gleamnb.runners.base import (
    Runner,
    check_shards_agree,
    collect_targets,
    crashed_step,
    emit,
    function_steps,
    restore_filenames,
    stage_functions,
    stage_infos,
)
from gleamnb.runners.pool import ExecutorProcess, InlineExecutor, Message
from gleamnb.runners.result import RunResult, StageStats, StepTotals
from gleamnb.runtime.ops.io import SaveOp
from gleamnb.runtime.protocol import Progress, RunTask, TaskDone, TaskFailed
from gleamnb.runtime.save import part_files
from gleamnb.runtime.sorting import boundaries
from gleamnb.runtime.stage import Discard, MergeRange, StageSpec
from gleamnb.runtime.store import Piece, read_piece, read_schema, write_piece

__all__ = ["LocalRunner", "parse_size"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(size: int | float | str, what: str | None = None) -> int:
    """Bytes in ``size``: a number of bytes, or text like ``"512MB"``, ``"2GiB"``.

    ``what`` names the setting in error messages.

    >>> parse_size("512MB"), parse_size("1.5GiB"), parse_size(1024)
    (512000000, 1610612736, 1024)
    >>> parse_size("-5MB", "memory_limit")
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: memory_limit: a size cannot be negative, got '-5MB'
      fix: give a size of 0 bytes or more, e.g. "512MB" or "2GiB"
    """
    hint = 'write it as bytes (an int) or with a unit, e.g. "512MB" or "2GiB"'
    prefix = f"{what}: " if what else ""
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        value = float(size)
    else:
        m = re.fullmatch(r"\s*([-+]?[0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(size))
        if m is None or m.group(2).lower() not in _UNITS:
            raise ArgumentError(f"{prefix}cannot read the size {size!r}", hint=hint)
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value):
        raise ArgumentError(f"{prefix}cannot read the size {size!r}", hint=hint)
    if value < 0:
        raise ArgumentError(
            f"{prefix}a size cannot be negative, got {size!r}",
            hint='give a size of 0 bytes or more, e.g. "512MB" or "2GiB"',
        )
    return int(value)


def _memory_root() -> str:
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return tempfile.gettempdir()


def _default_budget(root: str) -> int:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = shutil.disk_usage(root).free
    return int(min(total * 0.5, free * 0.9))


class LocalRunner(Runner):
    """Run flows on this machine.

    Parameters
    ----------
    executors
        Number of executor processes (default: one per core).
    mode
        ``"process"`` (default) or ``"inline"`` (in the calling process, for debugging).
    memory_limit
        Budget for shard data held in memory (bytes or text like ``"2GB"``, at least 1 byte);
        it holds while tasks write: past it, their output spills to ``spill_dir``. Default:
        half the RAM (or 90% of free shared memory).
    spill_dir
        Folder for spilled and ``on_disk()`` shards (default: the system temp folder).

    Examples
    --------
    >>> import gleamnb as gl
    >>> gl.Flow().range(0, 5).map(lambda x: x * x).collect(gl.local(mode="inline"))
    [(0,), (1,), (4,), (9,), (16,)]
    """

    def __init__(
        self,
        executors: int | None = None,
        *,
        mode: str = "process",
        memory_limit: int | str | None = None,
        spill_dir: str | None = None,
    ) -> None:
        if mode not in ("process", "inline"):
            raise ArgumentError(
                f"unknown mode {mode!r}", hint='use mode="process" or mode="inline"'
            )
        if executors is not None and (
            isinstance(executors, bool) or not isinstance(executors, int) or executors < 1
        ):
            raise ArgumentError(
                f"executors must be a whole number >= 1, got {executors!r}",
                hint="leave it out for one executor per core",
            )
        self.mode = mode
        self.size = 1 if mode == "inline" else (executors or os.cpu_count() or 1)
        self.memory_root = _memory_root()
        self.memory_limit = (
            parse_size(memory_limit, "memory_limit")
            if memory_limit is not None
            else _default_budget(self.memory_root)
        )
        if self.memory_limit < 1:
            raise ArgumentError(
                f"memory_limit must be at least 1 byte, got {memory_limit!r}",
                hint='give a budget such as memory_limit="2GB" (past it, shards spill to '
                "spill_dir), or leave it out for half the RAM",
            )
        self.spill_dir = spill_dir or tempfile.gettempdir()
        self.name = "local-inline" if mode == "inline" else "local"
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.pool: list[Any] = []
        self._lock = threading.Lock()
        self._task_ids = 0
        # at exit, only tell the executors to go (stdin EOF): they exit on their own
        atexit.register(self.shutdown, wait=False)
        if mode == "process":
            self.warm()

    def __repr__(self) -> str:
        return (
            f"LocalRunner(executors={self.size}, mode={self.mode!r}, "
            f"memory_limit={self.memory_limit / 1e6:.0f}MB)"
        )

    # -- executors -----------------------------------------------------------------------------

    def _spawn(self) -> Any:
        index = len(self.pool)
        e = (
            InlineExecutor(index, self.inbox)
            if self.mode == "inline"
            else ExecutorProcess(index, self.inbox, spawn.threads_for(self.size))
        )
        self.pool.append(e)
        return e

    def warm(self, *, wait: bool = False, timeout: float = 60.0) -> LocalRunner:
        """Start every executor now; with ``wait``, return once they are all ready.

        Executors start on their own when the runner is made; waiting is for timing runs
        (benchmarks) that should not count start-up, as for any engine's session start.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.local(executors=2).warm(wait=True).size
        2
        """
        self.pool = [e for e in self.pool if e.alive]
        while len(self.pool) < self.size:
            self._spawn()
        if wait:
            deadline = time.monotonic() + timeout
            for e in self.pool:
                if not e.inline:
                    e.ready.wait(max(0.0, deadline - time.monotonic()))
        return self

    def idle_count(self) -> int:
        """Executors that could start a task now (idle ones, and ones not started yet)."""
        return sum(1 for e in self.pool if e.task is None) + self.size - len(self.pool)

    def idle_executor(self) -> Any | None:
        self.pool = [e for e in self.pool if e.alive]
        for e in self.pool:
            if e.task is None:
                return e
        return self._spawn() if len(self.pool) < self.size else None

    def drop(self, executor: Any) -> None:
        executor.kill()
        if executor in self.pool:
            self.pool.remove(executor)

    def next_task_id(self) -> int:
        self._task_ids += 1
        return self._task_ids

    def shutdown(self, wait: bool = True) -> None:
        """Stop every executor (they are started again on the next run)."""
        for e in self.pool:
            e.close(wait)
        self.pool = []

    # -- running -------------------------------------------------------------------------------

    def execute(self, plan: PhysicalPlan, listeners: Sequence[Listener] = ()) -> RunResult:
        with self._lock:
            if self.mode == "process":
                self.warm()
            return _Run(self, plan, list(listeners)).go()


def _files(pieces: Sequence[Piece | None] | None) -> Iterator[Piece]:
    """The files of one task's pieces (None: a bucket without one), continuations included."""
    for piece in pieces or ():
        if piece is not None:
            yield from piece.files()


class _Run:
    """The state of one run of a plan on a :class:`LocalRunner`."""

    def __init__(self, runner: LocalRunner, plan: PhysicalPlan, listeners: list[Listener]) -> None:
        self.runner = runner
        self.plan = plan
        self.listeners = listeners
        self.run_id = uuid.uuid4().hex[:12]
        base = f"gleamnb-{os.getpid()}-{self.run_id}"
        self.mem_dir = os.path.join(runner.memory_root, base)
        self.disk_dir = os.path.join(runner.spill_dir, base)
        self.mem_bytes = 0  # bytes of the run's pieces in shared memory
        self.reserved: dict[int, int] = {}  # task -> shared-memory allowance while it runs
        self.data_spilled = 0
        self.pieces: dict[int, list[list[Piece | None] | None]] = {}
        self.extras: dict[int, list[dict[str, Any]]] = {}
        self.left: dict[int, int] = {}
        self.queue: deque[tuple[int, int]] = deque()
        self.running: dict[int, tuple[int, int, Any]] = {}
        self.task_rows: dict[int, int] = {}
        self.stats: dict[int, StageStats] = {}
        self.started: dict[int, float] = {}
        self.readers: dict[int, int] = {}
        self.keep: set[int] = set()
        self.waiting: list[PhysicalStage] = []
        self.retries: dict[tuple[int, int], int] = {}
        self.last_progress: dict[int, float] = {}
        self.blobs: dict[int, bytes] = {}
        self.failed_stage: int | None = None
        self.current: int | None = None  # the stage the driver is working on
        # (folder, format, shards, part files there before the run) of each save
        self.saves: list[tuple[str, str, int, set[str]]] = []
        self.sys_path = tuple(os.path.abspath(p or os.curdir) for p in sys.path)
        self.t0 = time.perf_counter()

    # -- events --------------------------------------------------------------------------------

    def emit(self, event: Any) -> None:
        emit(self.listeners, event)

    @contextlib.contextmanager
    def working_on(self, sid: int) -> Iterator[None]:
        """Mark stage ``sid`` as the one the driver works on, for errors raised meanwhile.

        On an exception the mark stays (no ``finally``), so the run's error names the stage.
        """
        before = self.current
        self.current = sid
        yield
        self.current = before

    # -- set-up --------------------------------------------------------------------------------

    def prepare(self) -> None:
        os.makedirs(self.mem_dir, exist_ok=True)
        os.makedirs(self.disk_dir, exist_ok=True)
        for st in self.plan.stages:
            for up in st.upstream():
                self.readers[up] = self.readers.get(up, 0) + 1
            for op in st.ops:
                if isinstance(op, SaveOp):
                    before = part_files(op.path, op.format, st.tasks)
                    self.saves.append((op.path, op.format, st.tasks, before))
        for t in self.plan.targets:
            for refs in t.shards:
                for r in refs:
                    self.keep.add(r.stage)
        budget = self.runner.memory_limit
        for k, tables in enumerate(self.plan.data):
            shards: list[list[Piece | None] | None] = []
            for j, table in enumerate(tables):
                in_memory = self.mem_bytes + table.nbytes <= budget
                folder = self.mem_dir if in_memory else self.disk_dir
                piece = write_piece(os.path.join(folder, f"d{k}-t{j}-b0.arrow"), table)
                if in_memory:
                    self.mem_bytes += piece.nbytes
                else:
                    self.data_spilled += piece.nbytes
                shards.append([piece])
            self.pieces[-(k + 1)] = shards
        for st in self.plan.stages:
            self.waiting.append(st)
            self.stats[st.id] = StageStats(st.id, st.name, st.tasks, steps=[])

    def stage_spec(self, st: PhysicalStage) -> StageSpec:
        return StageSpec(
            key=f"{self.run_id}-{st.id}",
            id=st.id,
            name=st.name,
            flow=self.plan.flow,
            num_tasks=st.tasks,
            head=st.head,
            ops=tuple(st.ops),
            output=st.output,  # type: ignore[arg-type]
        )

    # -- scheduling ----------------------------------------------------------------------------

    def release_ready(self) -> None:
        still = []
        for st in self.waiting:
            if all(up in self.pieces and up not in self.left for up in st.upstream()):
                self.start_stage(st)
            else:
                still.append(st)
        self.waiting = still

    def start_stage(self, st: PhysicalStage) -> None:
        with self.working_on(st.id):
            self.pieces[st.id] = [None] * st.tasks
            self.extras[st.id] = [{} for _ in range(st.tasks)]
            self.left[st.id] = st.tasks
            self.started[st.id] = time.perf_counter()
            self.blobs[st.id] = cloudpickle.dumps(self.stage_spec(st))
            self.emit(StageStarted(self.run_id, stage=st.id, tasks=st.tasks))
            if st.needs_cuts:
                self.add_cuts(st)
            for j in range(st.tasks):
                self.queue.append((st.id, j))
            if st.tasks == 0:
                self.finish_stage(st)

    def add_cuts(self, st: PhysicalStage) -> None:
        head = st.head
        assert isinstance(head, MergeRange)
        src = st.upstream()[0]
        # the sorted runs meet here first: their keys can only be compared if their types agree
        runs = [[read_schema(f.path) for f in _files(got) if f.rows] for got in self.pieces[src]]
        samples = [e.get("sample") for e in self.extras[src]]
        desc = [k.descending for k in head.order.keys]
        try:
            check_shards_agree(runs, head.name)
            cuts = boundaries([s for s in samples if s is not None], desc, st.tasks)
        except GleamError as err:
            raise err.with_context(step=head.name, stage=st.name) from None
        st.params = [{**p, "cuts": cuts} for p in st.params]

    def paths_of(self, ref: Any) -> list[str]:
        """The files of one piece, in row order."""
        got = self.pieces[ref.stage][ref.task]
        piece = got[ref.bucket] if got is not None else None
        return [f.path for f in piece.files()] if piece is not None else []

    def allowance(self, st: PhysicalStage) -> int | None:
        """Shared memory the next task of ``st`` may write, or None (it writes to disk).

        The budget not held by stored pieces nor promised to running tasks is shared evenly
        by the tasks about to start; a task writes its pieces past its share to disk, so the
        run's bytes in shared memory stay within the budget even while tasks write.
        """
        if st.on_disk:
            return None
        if isinstance(st.output, Discard):
            return 0
        free = self.runner.memory_limit - self.mem_bytes - sum(self.reserved.values())
        starting = max(1, min(len(self.queue) + 1, self.runner.idle_count()))
        return max(0, free) // starting

    def task_message(self, st: PhysicalStage, j: int, allowance: int | None) -> RunTask:
        inputs = [[path for r in shards[j] for path in self.paths_of(r)] for shards in st.inputs]
        params = {**st.params[j], "memory_budget": self.runner.memory_limit / self.runner.size}
        if allowance is not None:
            params.update(memory_allowance=allowance, spill_dir=self.disk_dir)
        return RunTask(
            task=self.runner.next_task_id(),
            stage_key=f"{self.run_id}-{st.id}",
            stage_blob=None,
            shard=j,
            inputs=inputs,
            params=params,
            out_dir=self.disk_dir if st.on_disk else self.mem_dir,
            prefix=f"s{st.id}-t{j}",
            where={"flow": self.plan.flow, "stage": st.name, "shard": f"{j + 1}/{st.tasks}"},
            sys_path=self.sys_path,
        )

    def dispatch(self) -> None:
        while self.queue:
            ex = self.runner.idle_executor()
            if ex is None:
                return
            sid, j = self.queue.popleft()
            st = self.plan.stages[sid]
            allowance = self.allowance(st)
            msg = self.task_message(st, j, allowance)
            key = msg.stage_key
            if key not in ex.loaded:
                msg = RunTask(**{**msg.__dict__, "stage_blob": self.blobs[sid]})
            self.running[msg.task] = (sid, j, ex)
            self.reserved[msg.task] = allowance or 0
            ex.submit(msg)

    # -- messages ------------------------------------------------------------------------------

    def handle(self, kind: str, ex: Any, payload: Any) -> None:
        if kind == "died":
            self.executor_died(ex, payload)
            return
        msg = payload
        if msg.task not in self.running:
            return  # from an earlier, cancelled run
        sid, j, _ = self.running[msg.task]
        with self.working_on(sid):
            if isinstance(msg, Progress):
                self.task_rows[msg.task] = msg.rows
                self.progress(sid)
            elif isinstance(msg, TaskDone):
                self.end_task(msg.task, ex)
                self.task_done(sid, j, msg)
            elif isinstance(msg, TaskFailed):
                self.end_task(msg.task, ex)
                self.failed_stage = sid
                err = msg.error
                if err.detail:
                    err.detail = restore_filenames(
                        err.detail, stage_functions(self.plan.stages[sid])
                    )
                raise err.with_context(flow=self.plan.flow)

    def end_task(self, task: int, ex: Any) -> None:
        """Forget a task that ended (done, failed or with its executor)."""
        del self.running[task]
        self.task_rows.pop(task, None)
        self.reserved.pop(task, None)
        ex.task = None

    def executor_died(self, ex: Any, code: int) -> None:
        self.runner.drop(ex)
        task = ex.task
        if task is None or task not in self.running:
            return
        sid, j, _ = self.running[task]
        self.end_task(task, ex)
        st = self.plan.stages[sid]
        self.failed_stage = sid
        attempts = self.retries.get((sid, j), 0)
        if st.on_disk and attempts < 2:
            self.retries[(sid, j)] = attempts + 1
            self.queue.appendleft((sid, j))
            return
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        report = restore_filenames(ex.crash_report(), stage_functions(st))
        step = crashed_step(st, report)
        steps = function_steps(st)
        during = (
            f" while running one of the steps {', '.join(map(repr, steps))}"
            if step is None and len(steps) > 1
            else ""
        )
        raise ExecutorCrashedError(
            f"the executor process running this task died ({how}){during}",
            flow=self.plan.flow,
            step=step,
            stage=st.name,
            shard=f"{j + 1}/{st.tasks}",
            hint="a function in this stage crashed its process (os._exit, a segfault in a C "
            "extension, or running out of memory); the runner is fine and the next run gets "
            "a fresh executor. Try gl.local(mode='inline') to debug it in this process",
            detail=("executor stderr (last lines):\n" + report) if report else None,
        )

    def progress(self, sid: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_progress.get(sid, 0.0) < 0.2:
            return
        self.last_progress[sid] = now
        st = self.plan.stages[sid]
        stats = self.stats[sid]
        live = sum(r for t, r in self.task_rows.items() if self.running.get(t, (None,))[0] == sid)
        done = st.tasks - self.left.get(sid, 0)
        self.emit(
            StageProgress(
                self.run_id,
                stage=sid,
                done=done,
                total=st.tasks,
                rows=stats.rows + live,
                bytes=stats.bytes,
            )
        )

    def task_done(self, sid: int, j: int, msg: TaskDone) -> None:
        st = self.plan.stages[sid]
        self.pieces[sid][j] = msg.pieces
        self.extras[sid][j] = msg.extras
        stats = self.stats[sid]
        if not stats.steps:
            stats.steps = [StepTotals(s.name) for s in msg.stats]
        for total, s in zip(stats.steps, msg.stats):
            total.rows += s.rows
            total.bytes += s.bytes
        last = msg.stats[-1] if msg.stats else None
        if last is not None:
            stats.rows += last.rows
            stats.bytes += last.bytes
        stats.task_seconds += msg.seconds
        for f in _files(msg.pieces):
            if f.path.startswith(self.mem_dir):
                self.mem_bytes += f.nbytes
            elif st.on_disk:
                stats.disk_bytes += f.nbytes
            else:
                stats.spilled_bytes += f.nbytes
        self.left[sid] -= 1
        self.progress(sid, force=True)
        if self.left[sid] == 0:
            self.finish_stage(st)

    def finish_stage(self, st: PhysicalStage) -> None:
        del self.left[st.id]
        stats = self.stats[st.id]
        stats.seconds = time.perf_counter() - self.started[st.id]
        self.emit(
            StageFinished(
                self.run_id,
                stage=st.id,
                tasks=st.tasks,
                rows=stats.rows,
                bytes=stats.bytes,
                seconds=stats.seconds,
                spilled=stats.spilled,
            )
        )
        for up in st.upstream():
            self.readers[up] -= 1
            if self.readers[up] == 0 and up not in self.keep:
                self.free(up)
        self.release_ready()

    def free(self, sid: int) -> None:
        """Delete a stage's pieces: every reader is done with them."""
        for got in self.pieces.get(sid) or []:
            for f in _files(got):
                if f.path.startswith(self.mem_dir):
                    self.mem_bytes -= f.nbytes
                try:
                    os.unlink(f.path)
                except FileNotFoundError:
                    pass

    # -- the run -------------------------------------------------------------------------------

    def go(self) -> RunResult:
        runner_name = self.runner.name
        self.emit(
            RunStarted(
                self.run_id, flow=self.plan.flow, runner=runner_name, stages=stage_infos(self.plan)
            )
        )
        try:
            self.prepare()
            self.release_ready()
            while self.left or self.waiting:
                self.dispatch()
                try:
                    kind, ex, payload = self.runner.inbox.get(timeout=0.25)
                except queue.Empty:
                    continue
                self.handle(kind, ex, payload)
            outputs = collect_targets(self.plan, self.read_shards, self.extras)
        except KeyboardInterrupt:
            self.abandon()
            seconds = time.perf_counter() - self.t0
            self.emit(RunCancelled(self.run_id, seconds=seconds))
            raise RunCancelledError(
                "the run was cancelled",
                flow=self.plan.flow,
                hint="nothing was kept from it; run it again when ready",
            ) from None
        except Exception as exc:
            err = exc if isinstance(exc, GleamError) else self.internal_error(exc)
            self.abandon()
            err.with_context(flow=self.plan.flow)
            failed = self.failed_stage if self.failed_stage is not None else self.current
            if failed is not None:
                self.emit(StageFailed(self.run_id, stage=failed, error=str(err)))
            self.emit(RunFailed(self.run_id, error=str(err), seconds=time.perf_counter() - self.t0))
            if err is exc:
                raise
            raise err from exc
        finally:
            self.cleanup()
        seconds = time.perf_counter() - self.t0
        stages = [self.stats[s.id] for s in self.plan.stages]
        self.emit(RunFinished(self.run_id, seconds=seconds, rows=stages[-1].rows if stages else 0))
        return RunResult(
            self.plan.flow,
            runner_name,
            seconds,
            stages,
            outputs,
            data_spilled_bytes=self.data_spilled,
        )

    def internal_error(self, exc: Exception) -> GleamError:
        """An unexpected exception in the driver's own work, as an error that names the stage."""
        stage = self.plan.stages[self.current].name if self.current is not None else None
        return GleamError(
            f"the run stopped on an unexpected error in the runner: {type(exc).__name__}: {exc}",
            flow=self.plan.flow,
            stage=stage,
            hint="the run was stopped and nothing of it was kept. Unless the error is about "
            "this machine (free space, permissions), it is a bug in gleamnb: please report "
            "it with the flow that shows it (the original error and its traceback follow "
            "this one as its cause)",
        )

    def read_shards(self, shards: list[list[Any]]) -> list[list[Any]]:
        return [[read_piece(path) for r in refs for path in self.paths_of(r)] for refs in shards]

    def abandon(self) -> None:
        """The run failed or was cancelled: stop its tasks and remove what its saves wrote."""
        self.stop_running()
        for path, fmt, shards, before in self.saves:
            for leftover in part_files(path, fmt, shards) - before:
                with contextlib.suppress(OSError):
                    os.remove(leftover)

    def stop_running(self, grace: float = 2.0) -> None:
        """Stop the tasks still running: ask their executors (SIGUSR1), kill the slow ones.

        Executors that stop in time stay in the pool, warm for the next run.
        """
        self.queue.clear()
        busy = {ex for _, _, ex in self.running.values() if not ex.inline}
        for ex in busy:
            ex.stop()
        deadline = time.monotonic() + grace
        while any(ex.task is not None for ex in busy) and time.monotonic() < deadline:
            try:
                kind, ex, payload = self.runner.inbox.get(timeout=0.05)
            except queue.Empty:
                continue
            if kind == "died":
                self.runner.drop(ex)
                ex.task = None
            elif isinstance(payload, (TaskDone, TaskFailed)) and ex.task == payload.task:
                ex.task = None
        for ex in busy:
            if ex.task is not None:
                self.runner.drop(ex)
        self.running.clear()
        self.reserved.clear()

    def cleanup(self) -> None:
        for d in (self.mem_dir, self.disk_dir):
            shutil.rmtree(d, ignore_errors=True)
