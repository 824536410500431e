"""The local runner: a pool of executor subprocesses on this machine (the default).

Stages run when the stages they read are done; their tasks go to idle executors (one per core
by default), which stay warm between runs. Task outputs are Arrow IPC pieces in shared memory
while the run's memory budget lasts: each task gets an allowance of it and writes what comes
past its allowance to a disk folder ("spilling"); ``on_disk()`` datasets always go to disk. A
piece is deleted as soon as every stage reading it is done. A failed or cancelled run stops
its tasks and keeps nothing: not its pieces, nor the part files its saves wrote; SIGTERM
cancels a run as Ctrl-C does, and a new runner removes the folders of drivers that were
killed (:mod:`gleamnb.runners.leftovers`).

Which task runs when, the pieces' lifetimes, range cuts, statistics, events and how a run
ends are the runner-independent core's (:mod:`gleamnb.runners.scheduling`); this module is
its local driver: the executor pool and its inbox, the run's shared-memory and disk folders,
and the memory budget with each task's allowance of it.

``gl.local(mode="inline")`` runs the same tasks in the calling process, one at a time, so a
debugger can step into a UDF.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from gleamnb.errors import ArgumentError, DiskFullError
from gleamnb.events import Listener
from gleamnb.files.saves import part_files, prepare_output
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage
from gleamnb.runners import leftovers, spawn
from gleamnb.runners.base import Runner
from gleamnb.runners.pool import (
    Executor,
    ExecutorDied,
    ExecutorProcess,
    InlineExecutor,
    Message,
)
from gleamnb.runners.result import RunResult
from gleamnb.runners.scheduling import Schedule
from gleamnb.runners.sizes import parse_size
from gleamnb.runtime.protocol import Function, Progress, write_function
from gleamnb.runtime.stage import Discard
from gleamnb.runtime.store import Piece, read_piece, write_piece

__all__ = ["LocalRunner"]


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
        Number of executor processes (default: one per usable core, ``os.sched_getaffinity``).
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
        self.size = 1 if mode == "inline" else (executors or spawn.usable_cores())
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
        leftovers.sweep((self.memory_root, self.spill_dir))
        self.name = "local-inline" if mode == "inline" else "local"
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.pool: list[Executor] = []
        self._lock = threading.Lock()
        self._task_ids = 0
        # at exit, only tell the executors to go (stdin EOF): they exit on their own
        atexit.register(self.close, wait=False)
        if mode == "process":
            self.warm()

    def __repr__(self) -> str:
        return (
            f"LocalRunner(executors={self.size}, mode={self.mode!r}, "
            f"memory_limit={self.memory_limit / 1e6:.0f}MB)"
        )

    # -- executors -----------------------------------------------------------------------------

    def _spawn(self) -> Executor:
        index = len(self.pool)
        e: Executor = (
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
                e.wait_ready(max(0.0, deadline - time.monotonic()))
        return self

    def idle_count(self) -> int:
        """Executors that could start a task now (idle ones, and ones not started yet)."""
        return sum(1 for e in self.pool if e.task is None) + self.size - len(self.pool)

    def idle_executor(self) -> Executor | None:
        self.pool = [e for e in self.pool if e.alive]
        for e in self.pool:
            if e.task is None:
                return e
        return self._spawn() if len(self.pool) < self.size else None

    def drop(self, executor: Executor) -> None:
        executor.kill()
        if executor in self.pool:
            self.pool.remove(executor)

    def next_task_id(self) -> int:
        self._task_ids += 1
        return self._task_ids

    def close(self, wait: bool = True) -> None:
        """Stop every executor; the next run starts them again.

        With ``wait`` (the default) the processes have exited when it returns.

        Examples
        --------
        >>> import gleamnb as gl
        >>> runner = gl.local(mode="inline")
        >>> gl.Flow().range(0, 3).count(runner), len(runner.pool)
        (3, 1)
        >>> runner.close()
        >>> runner.pool
        []
        """
        for e in self.pool:
            e.close(wait)
        self.pool = []

    # -- running -------------------------------------------------------------------------------

    def execute(
        self,
        plan: PhysicalPlan,
        listeners: Sequence[Listener] = (),
        cancel: threading.Event | None = None,
    ) -> RunResult:
        with self._lock:
            if self.mode == "process":
                self.warm()
            with _terminate_cancels():
                return _LocalRun(self, plan, listeners, cancel).go()


@contextlib.contextmanager
def _terminate_cancels() -> Iterator[None]:
    """While a run is in progress, let SIGTERM cancel it as Ctrl-C does (it removes its
    folders), then end the process as SIGTERM would have.

    Only where SIGTERM has its default action (ending the process): a handler of the
    program's own, or SIG_IGN, is left alone. Only the main thread can handle signals.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    received = []

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if received:  # the run is cancelled and cleaned up: now end as asked
            signal.raise_signal(signal.SIGTERM)


class _LocalRun:
    """The local driver of one run: the executors, the run's folders and its memory budget.

    The scheduling itself is the :class:`~gleamnb.runners.scheduling.Schedule`'s; this
    object is its :class:`~gleamnb.runners.scheduling.Storage` (pieces are files in a
    shared-memory folder or, past the budget and for ``on_disk()`` stages, in a disk folder).
    """

    def __init__(
        self,
        runner: LocalRunner,
        plan: PhysicalPlan,
        listeners: Sequence[Listener],
        cancel: threading.Event | None = None,
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.schedule = Schedule(plan, self, listeners, runner=runner.name, cancel=cancel)
        base = leftovers.folder_name(self.schedule.run_id)
        self.mem_dir = os.path.join(runner.memory_root, base)
        self.disk_dir = os.path.join(runner.spill_dir, base)
        self.reserved: dict[int, int] = {}  # task -> shared-memory allowance while it runs

    def go(self) -> RunResult:
        return self.schedule.run(self.drive, self.stop_running, self.clean_up)

    # -- storage (what the schedule asks) ------------------------------------------------------

    def in_memory(self, piece: Piece) -> bool:
        return piece.path.startswith(self.mem_dir)

    def read(self, piece: Piece) -> pa.Table:
        return read_piece(piece.path)

    def free(self, piece: Piece) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(piece.path)

    def prepare_save(self, path: str, format: str) -> None:
        prepare_output(path, format)

    def part_files(self, path: str, format: str, shards: int) -> set[str]:
        return part_files(path, format, shards)

    def remove(self, path: str) -> None:
        with contextlib.suppress(OSError):
            os.remove(path)

    def write_function(self, digest: str, parts: Sequence[bytes | memoryview]) -> Function:
        """A large function's file: in shared memory if the budget has room, else on disk.

        Executors map it and keep the mapping after the run removes the file.
        """
        nbytes = sum(memoryview(p).nbytes for p in parts)
        room = self.runner.memory_limit - self.schedule.memory_bytes - sum(self.reserved.values())
        folder = self.mem_dir if nbytes <= room else self.disk_dir
        return write_function(os.path.join(folder, f"fn-{digest}"), digest, parts)

    # -- the run -------------------------------------------------------------------------------

    def drive(self) -> None:
        try:
            os.makedirs(self.mem_dir, exist_ok=True)
            os.makedirs(self.disk_dir, exist_ok=True)
            schedule = self.schedule
            schedule.start(self.write_data())
            inbox = self.runner.inbox
            while not schedule.done:
                schedule.check_cancel()
                self.dispatch()
                try:
                    message = inbox.get(timeout=0.1)
                except queue.Empty:
                    continue
                self.handle(message)
        except DiskFullError as err:
            self.name_full_folder(err)
            raise

    def name_full_folder(self, err: DiskFullError) -> None:
        """Say which of the run's folders is full, and the runner option that gives it room."""
        where = err.location or ""
        if where.startswith(self.disk_dir):  # first: without /dev/shm both folders are one
            err.hint = (
                f"the spill folder ({self.runner.spill_dir}) takes the shard data past the "
                "memory budget and on_disk() datasets: point it at a disk with room, "
                "gl.local(spill_dir='/path/with/room'), or free space there"
            )
        elif where.startswith(self.mem_dir):
            err.hint = (
                f"shared memory ({self.runner.memory_root}) holds shard data up to the memory "
                f"budget ({self.runner.memory_limit:,} bytes), which is more than it has free: "
                "give a smaller budget, e.g. gl.local(memory_limit='1GB'), so the rest spills "
                f"to the spill folder ({self.runner.spill_dir}), or free space there"
            )

    def write_data(self) -> list[list[Piece]]:
        """Write the plan's in-memory source data as pieces, in memory while the budget lasts."""
        budget, held = self.runner.memory_limit, 0
        data = []
        for k, tables in enumerate(self.plan.data):
            shards = []
            for j, table in enumerate(tables):
                in_memory = held + table.nbytes <= budget
                folder = self.mem_dir if in_memory else self.disk_dir
                piece = write_piece(os.path.join(folder, f"d{k}-t{j}-b0.arrow"), table)
                if in_memory:
                    held += piece.nbytes
                shards.append(piece)
            data.append(shards)
        return data

    def dispatch(self) -> None:
        schedule = self.schedule
        budget = self.runner.memory_limit / self.runner.size
        while schedule.ready:
            ex = self.runner.idle_executor()
            if ex is None:
                return
            task = schedule.take(self.runner.next_task_id())
            st = task.stage
            with schedule.working_on(st.id):
                allowance = self.allowance(st)
                params: dict[str, Any] = {"memory_budget": budget}
                if allowance is not None:
                    params.update(memory_allowance=allowance, spill_dir=self.disk_dir)
                msg = schedule.run_task(
                    task,
                    out_dir=self.disk_dir if st.on_disk else self.mem_dir,
                    holds=ex.holds,
                    **params,
                )
            self.reserved[task.id] = allowance or 0
            ex.submit(msg)

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
        held = self.schedule.memory_bytes + sum(self.reserved.values())
        starting = max(1, min(len(self.schedule.ready) + 1, self.runner.idle_count()))
        return max(0, self.runner.memory_limit - held) // starting

    def handle(self, message: Message) -> None:
        ex = message.executor
        if isinstance(message, ExecutorDied):
            self.runner.drop(ex)
            task = ex.task
            if task is not None and task in self.schedule.running:
                self.end_task(ex, task)
                self.schedule.task_lost(task, message.code, ex.crash_report(), ex.pid)
            return
        msg = message.message
        if not isinstance(msg, Progress) and ex.task == msg.task:
            self.end_task(ex, msg.task)
        self.schedule.receive(msg)

    def end_task(self, ex: Executor, task: int) -> None:
        """Forget a task that ended (done, failed or with its executor)."""
        self.reserved.pop(task, None)
        ex.task = None

    def stop_running(self, grace: float = 2.0) -> None:
        """Stop the tasks still running: ask their executors (SIGUSR1), kill the slow ones.

        Executors that stop in time stay in the pool, warm for the next run.
        """
        busy = [ex for ex in self.runner.pool if ex.task is not None]
        for ex in busy:
            ex.stop()
        deadline = time.monotonic() + grace
        try:
            while any(ex.task is not None for ex in busy) and time.monotonic() < deadline:
                try:
                    message = self.runner.inbox.get(timeout=0.05)
                except queue.Empty:
                    continue
                ex = message.executor
                if isinstance(message, ExecutorDied):
                    self.runner.drop(ex)
                    ex.task = None
                elif not isinstance(message.message, Progress) and ex.task == message.message.task:
                    ex.task = None
        finally:
            # a Ctrl-C cuts the wait short; an executor still busy would never be idle again
            for ex in busy:
                if ex.task is not None:
                    self.runner.drop(ex)
            self.reserved.clear()

    def clean_up(self) -> None:
        for d in (self.mem_dir, self.disk_dir):
            shutil.rmtree(d, ignore_errors=True)
