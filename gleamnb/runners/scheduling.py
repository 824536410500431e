"""The scheduling core of every runner: which task runs when, and what a run reports.

A run of a physical plan is a state machine that needs no processes, threads or files. The
core (:class:`Schedule`) knows which stages are ready (every stage they read is done), which
tasks wait for an executor, where each finished task's pieces are and how many stages still
read them, the cut points of a range sort, each stage's statistics and the events a run
emits. A runner's **driver** owns the rest — its executors, the folders its pieces live in,
its memory budget — and tells the core what happened::

    schedule = Schedule(plan, storage, listeners, runner="local")

    def drive() -> None:
        schedule.start(pieces_of_the_in_memory_data)
        while not schedule.done:
            while schedule.ready and an executor is free:
                task = schedule.take(task_id)  # stage, shard, input files, params
                send(schedule.run_task(task, out_dir=..., holds=..., **local_params))
            ...wait for a message, then...
            schedule.receive(msg)  # a Progress, TaskDone or TaskFailed (raises its error)
            schedule.task_lost(task_id, exit_code, crash_report)  # or: its executor died

    result = schedule.run(drive, stop=stop_running_tasks, clean_up=remove_run_folders)

:meth:`Schedule.run_task` builds the message that runs a task on an executor: each stage's
spec is pickled once per run, and a user function travels once per executor while it is
unchanged (:mod:`gleamnb.runners.shipping`); the driver adds only what is its own: the
folder the task writes to, its record of what this executor holds, and its memory parameters.

Facts that take I/O (whether a piece is in memory, the part files in a save's folder) and the
file work itself (deleting a piece, preparing a save's folder where its tasks write) come from
the driver through the small :class:`Storage` interface. Preparing the saves is part of the
run, after ``RunStarted``: a folder that cannot be written fails the run with ``RunFailed``.

What every run keeps, whatever drives it: the events come in the order
:mod:`gleamnb.events` documents, and a run that started ends with exactly one
``RunFinished``, ``RunFailed`` or ``RunCancelled``, and raises its own error (a failure in
stopping its tasks or cleaning up is a warning, a Ctrl-C meanwhile cuts them short); a
failure emits ``StageFailed`` for the stage it happened in; the tasks of a stage whose rows
meet in one task of a later stage agree on their fields' types, checked from what they report
as soon as the stage is done (the error names the step that made the rows, and its stage);
an exception of the runner's own
code becomes a :class:`GleamError` naming the flow and that stage; a stage's pieces are freed
as soon as the last stage reading them is done (a target's, never); a task of an
``on_disk()`` stage whose executor died runs again, up to twice; a failed or cancelled run
removes every part file its saves wrote. The plan is never changed by a run: the cut points
of a range sort go into the params of each :class:`Task` the core hands out.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from gleamnb.errors import ExecutorCrashedError, GleamError, RunCancelledError
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
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage, Ref, Shards
from gleamnb.runners.crashes import (
    crashed_step,
    function_steps,
    how_it_died,
    restore_filenames,
    stage_functions,
)
from gleamnb.runners.result import RunResult, StageStats, StepTotals
from gleamnb.runners.shipping import Holdings, Shipping
from gleamnb.runners.targets import check_tasks_agree, collect_targets, meeting_stages
from gleamnb.runtime.ops.io import SaveOp
from gleamnb.runtime.protocol import Function, Progress, RunTask, TaskDone, TaskFailed
from gleamnb.runtime.sorting import boundaries
from gleamnb.runtime.stage import MergeRange, StageSpec
from gleamnb.runtime.store import Piece

__all__ = ["Storage", "Task", "Schedule"]

#: Progress events of one stage come at most this often (seconds), besides one per task done.
PROGRESS_INTERVAL = 0.2

#: How often a task of an ``on_disk()`` stage runs again after its executor died.
RETRIES = 2


class Storage(Protocol):
    """What the core asks of the place where a runner keeps its pieces and writes saves."""

    def in_memory(self, piece: Piece) -> bool:
        """Whether a piece file is held in memory (else it is on disk)."""
        ...

    def read(self, piece: Piece) -> pa.Table:
        """The rows of a piece file (for the targets the driver reads)."""
        ...

    def free(self, piece: Piece) -> None:
        """Delete a piece file that no task will read any more."""
        ...

    def prepare_save(self, path: str, format: str) -> None:
        """Make a save's folder ready where the tasks write it: created, empty of earlier
        parts, writable (else an :class:`~gleamnb.errors.OutputError`)."""
        ...

    def part_files(self, path: str, format: str, shards: int) -> set[str]:
        """The part files (finished or in progress) of a save's shards that exist now."""
        ...

    def write_function(self, digest: str, parts: Sequence[bytes | memoryview]) -> Function:
        """Store a large function's pickle and buffers where executors map them."""
        ...

    def remove(self, path: str) -> None:
        """Remove a part file that a failed or cancelled run's save wrote."""
        ...


@dataclass(frozen=True, slots=True)
class Task:
    """One task ready to run, as :meth:`Schedule.take` hands it to the driver.

    ``key`` names the stage within the run (executors cache a stage's functions by it),
    ``inputs[k]`` lists the files of input ``k`` in row order, and ``params`` are the task's
    own parameters (a fresh dict the driver may add to), the range cuts included.
    """

    id: int
    stage: PhysicalStage
    shard: int
    key: str
    inputs: list[list[str]]
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Save:
    """A save of the plan, and the part files its folder held before the run wrote any."""

    path: str
    format: str
    shards: int
    before: frozenset[str]


def _piece_files(pieces: Sequence[Piece | None] | None) -> Iterator[Piece]:
    """The files of one task's pieces (None: a bucket without one), continuations included.

    >>> list(_piece_files([Piece("a", 1, 8, rest=Piece("b", 2, 16)), None]))
    [Piece(path='a', rows=1, nbytes=8, rest=None), Piece(path='b', rows=2, nbytes=16, rest=None)]
    """
    for piece in pieces or ():
        if piece is not None:
            yield from piece.files()


class Schedule:
    """The state of one run of ``plan``, whatever runner drives it (see the module docstring).

    Parameters
    ----------
    plan
        The physical plan; the run never changes it.
    storage
        The driver's answers to what takes I/O.
    listeners
        Who gets the run's events.
    runner
        The runner's name, for ``RunStarted`` and the result.
    clock
        Seconds from any fixed start (stage and run times, the pace of progress events).
    cancel
        Set (from any thread) to cancel the run: the driver's loop calls
        :meth:`check_cancel`, and the run ends as a Ctrl-C ends it.

    Attributes
    ----------
    ready
        ``(stage, shard)`` of the tasks waiting for an executor, in the order they run.
    running
        ``stage, shard`` of each task handed out and not yet done, by task id.
    memory_bytes
        Bytes of the run's pieces held in memory now (the driver's budget is its business).
    """

    def __init__(
        self,
        plan: PhysicalPlan,
        storage: Storage,
        listeners: Sequence[Listener] = (),
        *,
        runner: str,
        clock: Callable[[], float] = time.perf_counter,
        cancel: threading.Event | None = None,
    ) -> None:
        self.plan = plan
        self.cancel = cancel
        self.storage = storage
        self.listeners = list(listeners)
        self.runner = runner
        self.clock = clock
        self.run_id = uuid.uuid4().hex[:12]
        self.ready: deque[tuple[int, int]] = deque()
        self.running: dict[int, tuple[int, int]] = {}
        self.memory_bytes = 0
        self.data_spilled = 0
        self.pieces: dict[int, list[list[Piece | None] | None]] = {}
        self.extras: dict[int, list[dict[str, Any]]] = {}
        self.cuts: dict[int, list[tuple[Any, ...]]] = {}
        self.stats = {st.id: StageStats(st.id, st.name, st.tasks, steps=[]) for st in plan.stages}
        self.left: dict[int, int] = {}  # tasks not yet done, of each running stage
        self.waiting: list[PhysicalStage] = list(plan.stages)
        self.readers: dict[int, int] = {}  # stages not yet done reading each stage
        for st in plan.stages:
            for up in st.upstream():
                self.readers[up] = self.readers.get(up, 0) + 1
        self.keep = {r.stage for t in plan.targets for refs in t.shards for r in refs}
        self.meeting = meeting_stages(plan)  # stages whose tasks' rows must agree
        self.saves: list[_Save] = []
        self.task_progress: dict[int, Progress] = {}  # the last report of each running task
        self.retries: dict[tuple[int, int], int] = {}
        self.started: dict[int, float] = {}
        self.last_progress: dict[int, float] = {}
        self.failed_stage: int | None = None
        self.current: int | None = None  # the stage the driver is working on
        self.shipping = Shipping(
            self.run_id,
            lambda: {st.id: self.stage_spec(st) for st in plan.stages},
            storage.write_function,
        )
        # functions that travel by reference import in the executor from the same path
        self.sys_path = tuple(os.path.abspath(p or os.curdir) for p in sys.path)
        self.t0 = clock()

    # -- events and errors ---------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Deliver ``event``; a failing listener is reported once and never stops the run."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a display bug must not lose the user's run
                warnings.warn(f"progress listener {listener!r} failed: {exc!r}", stacklevel=2)

    @contextlib.contextmanager
    def working_on(self, sid: int) -> Iterator[None]:
        """Mark stage ``sid`` as the one the driver works on, for errors raised meanwhile.

        On an exception the mark stays (no ``finally``), so the run's error names the stage.
        """
        before = self.current
        self.current = sid
        yield
        self.current = before

    def internal_error(self, exc: Exception) -> GleamError:
        """An unexpected exception in the runner's own work, as an error naming the stage."""
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

    # -- the run -------------------------------------------------------------------------------

    def run(
        self,
        drive: Callable[[], None],
        stop: Callable[[], None],
        clean_up: Callable[[], None],
    ) -> RunResult:
        """Run the plan: ``drive`` until :attr:`done`, then read the targets.

        ``drive`` sets up, calls :meth:`start` and feeds the core until the stages are done.
        On a failure or a cancellation (``KeyboardInterrupt``) the tasks still running are
        stopped (``stop``) and what the run's saves wrote is removed; ``clean_up`` runs at
        the end whatever happened. Exactly one terminal event is emitted, and the error
        raised is the run's own: see :meth:`end`.
        """
        self.t0 = self.clock()
        self.emit(
            RunStarted(
                self.run_id,
                flow=self.plan.flow,
                runner=self.runner,
                stages=self.plan.stage_infos(),
            )
        )
        try:
            drive()
            outputs = collect_targets(self.plan, self.read_shards, self.extras)
            self.end(clean_up)
        except KeyboardInterrupt:
            self.end(clean_up, stop)
            self.emit(RunCancelled(self.run_id, seconds=self.clock() - self.t0))
            raise RunCancelledError(
                "the run was cancelled",
                flow=self.plan.flow,
                hint="nothing was kept from it; run it again when ready",
            ) from None
        except Exception as exc:
            err = exc if isinstance(exc, GleamError) else self.internal_error(exc)
            self.end(clean_up, stop)
            err.with_context(flow=self.plan.flow)
            failed = self.failed_stage if self.failed_stage is not None else self.current
            if failed is not None:
                self.emit(StageFailed(self.run_id, stage=failed, error=str(err)))
            self.emit(RunFailed(self.run_id, error=str(err), seconds=self.clock() - self.t0))
            if err is exc:
                raise
            raise err from exc
        seconds = self.clock() - self.t0
        stages = [self.stats[s.id] for s in self.plan.stages]
        self.emit(RunFinished(self.run_id, seconds=seconds, rows=stages[-1].rows if stages else 0))
        return RunResult(
            self.plan.flow,
            self.runner,
            seconds,
            stages,
            outputs,
            data_spilled_bytes=self.data_spilled,
        )

    def end(self, clean_up: Callable[[], None], stop: Callable[[], None] | None = None) -> None:
        """The run's last work before its terminal event.

        After a failure or a cancellation (``stop`` given) the run is abandoned first
        (:meth:`abandon`). Neither that nor ``clean_up`` may change how the run ends: an
        error of theirs is a warning, and there a Ctrl-C only cuts them short (the user's
        error, or the cancellation, is what the run raises). A Ctrl-C during the clean-up of
        a run that went well cancels it.
        """
        steps = [clean_up] if stop is None else [functools.partial(self.abandon, stop), clean_up]
        for step in steps:
            try:
                step()
            except KeyboardInterrupt:
                if stop is None:
                    raise
            except Exception as exc:
                warnings.warn(
                    f"the run of {self.plan.flow!r} ended, but its clean-up failed: "
                    f"{type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def start(self, data: Sequence[Sequence[Piece]] = ()) -> None:
        """Prepare the saves' folders, take the in-memory data and start the ready stages.

        ``data[k][j]`` is the piece the driver wrote for shard ``j`` of the plan's in-memory
        source ``k`` (``plan.data[k][j]``).
        """
        found = [
            (op, st.tasks) for st in self.plan.stages for op in st.ops if isinstance(op, SaveOp)
        ]
        for op, _ in found:
            try:
                self.storage.prepare_save(op.path, op.format)
            except GleamError as err:
                raise err.with_context(step=op.name) from None
        # listed once every folder is ready: two saves may write to one folder
        for op, shards in found:
            before = self.storage.part_files(op.path, op.format, shards)
            self.saves.append(_Save(op.path, op.format, shards, frozenset(before)))
        for k, shards in enumerate(data):
            for piece in shards:
                if self.storage.in_memory(piece):
                    self.memory_bytes += piece.nbytes
                else:
                    self.data_spilled += piece.nbytes
            self.pieces[-(k + 1)] = [[piece] for piece in shards]
        self.release_ready()

    def check_cancel(self) -> None:
        """Raise ``KeyboardInterrupt`` if the run was cancelled (drivers call it in their loop)."""
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt

    @property
    def done(self) -> bool:
        """Whether every stage is done."""
        return not self.left and not self.waiting

    def abandon(self, stop: Callable[[], None]) -> None:
        """The run failed or was cancelled: stop its tasks and remove what its saves wrote."""
        self.ready.clear()
        try:
            stop()
        finally:
            # whatever stopping did, the run keeps nothing
            self.running.clear()
            self.task_progress.clear()
            for save in self.saves:
                for leftover in self.storage.part_files(save.path, save.format, save.shards):
                    if leftover not in save.before:
                        self.storage.remove(leftover)

    def read_shards(self, shards: Shards) -> list[list[pa.Table]]:
        return [[self.storage.read(f) for r in refs for f in self.files_of(r)] for refs in shards]

    # -- stages --------------------------------------------------------------------------------

    def stage_key(self, sid: int) -> str:
        """The key naming stage ``sid`` of this run, under which executors keep its spec."""
        return f"{self.run_id}-{sid}"

    def stage_spec(self, st: PhysicalStage) -> StageSpec:
        """What an executor needs to run any task of ``st``."""
        return StageSpec(
            key=self.stage_key(st.id),
            id=st.id,
            name=st.name,
            flow=self.plan.flow,
            num_tasks=st.tasks,
            head=st.head,
            ops=tuple(st.ops),
            output=st.output,  # type: ignore[arg-type]
        )

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
            self.started[st.id] = self.clock()
            self.emit(StageStarted(self.run_id, stage=st.id, tasks=st.tasks))
            if st.needs_cuts:
                self.cuts[st.id] = self.cuts_for(st)
            self.ready.extend((st.id, j) for j in range(st.tasks))
            if st.tasks == 0:
                self.finish_stage(st)

    def cuts_for(self, st: PhysicalStage) -> list[tuple[Any, ...]]:
        """The key cut points of a range merge, from the samples of its sorted runs."""
        head = st.head
        assert isinstance(head, MergeRange)
        src = st.upstream()[0]
        samples = [e.get("sample") for e in self.extras[src]]
        desc = [k.descending for k in head.order.keys]
        try:
            return boundaries([s for s in samples if s is not None], desc, st.tasks)
        except GleamError as err:
            raise err.with_context(step=head.name, stage=st.name) from None

    def finish_stage(self, st: PhysicalStage) -> None:
        if st.id in self.meeting:  # before a later task reads their rows together
            check_tasks_agree(st, self.extras[st.id])
        del self.left[st.id]
        stats = self.stats[st.id]
        stats.seconds = self.clock() - self.started[st.id]
        self.emit(
            StageFinished(
                self.run_id,
                stage=st.id,
                tasks=st.tasks,
                rows=stats.rows,
                bytes=stats.bytes,
                seconds=stats.seconds,
                spilled=stats.spilled,
                read_rows=stats.read_rows,
                read_bytes=stats.read_bytes,
            )
        )
        for up in st.upstream():
            self.readers[up] -= 1
            if self.readers[up] == 0 and up not in self.keep:
                self.free(up)
        self.release_ready()

    def free(self, sid: int) -> None:
        """Delete a stage's pieces: every stage reading them is done."""
        for got in self.pieces.get(sid) or []:
            for f in _piece_files(got):
                if self.storage.in_memory(f):
                    self.memory_bytes -= f.nbytes
                self.storage.free(f)

    # -- tasks ---------------------------------------------------------------------------------

    def files_of(self, ref: Ref) -> list[Piece]:
        """The files of one piece, in row order."""
        got = self.pieces[ref.stage][ref.task]
        piece = got[ref.bucket] if got is not None else None
        return piece.files() if piece is not None else []

    def take(self, task_id: int) -> Task:
        """Hand out the next ready task as ``task_id`` (call only while :attr:`ready`)."""
        sid, j = self.ready.popleft()
        st = self.plan.stages[sid]
        params = dict(st.params[j])
        cuts = self.cuts.get(sid)
        if cuts is not None:
            params["cuts"] = cuts
        inputs = [[f.path for r in shards[j] for f in self.files_of(r)] for shards in st.inputs]
        self.running[task_id] = (sid, j)
        return Task(task_id, st, j, self.stage_key(sid), inputs, params)

    def run_task(self, task: Task, *, out_dir: str, holds: Holdings, **params: Any) -> RunTask:
        """The message that runs ``task`` on an executor, writing its pieces to ``out_dir``.

        ``holds`` is the driver's record of what that executor holds: the message brings the
        stage's spec and the functions it lacks, and ``holds`` is brought up to date.
        ``params`` are the driver's own parameters of the task (its memory budget and
        allowance, its spill folder), added to the task's.
        """
        st, j = task.stage, task.shard
        blob, functions, forget = self.shipping.message(st.id, task.key, holds)
        task.params.update(params)
        return RunTask(
            task=task.id,
            stage_key=task.key,
            stage_blob=blob,
            shard=j,
            inputs=task.inputs,
            params=task.params,
            out_dir=out_dir,
            prefix=f"s{st.id}-t{j}",
            where={"flow": self.plan.flow, "stage": st.name, "shard": f"{j + 1}/{st.tasks}"},
            sys_path=self.sys_path,
            functions=functions,
            forget=forget,
        )

    def receive(self, msg: Progress | TaskDone | TaskFailed) -> None:
        """An executor's report on a task: progress, done or failed (this raises its error).

        Reports of a task that is not running (of an earlier, stopped run) change nothing.
        """
        if isinstance(msg, Progress):
            self.progress(msg)
        elif isinstance(msg, TaskDone):
            self.task_done(msg)
        else:
            self.task_failed(msg)

    def progress(self, report: Progress) -> None:
        """A running task reports the rows and bytes it has read and written so far."""
        got = self.running.get(report.task)
        if got is None:
            return  # a task of an earlier, stopped run
        self.task_progress[report.task] = report
        self.report(got[0])

    def report(self, sid: int, force: bool = False) -> None:
        now = self.clock()
        last = self.last_progress.get(sid)
        if not force and last is not None and now - last < PROGRESS_INTERVAL:
            return
        self.last_progress[sid] = now
        st = self.plan.stages[sid]
        stats = self.stats[sid]
        live = [p for t, p in self.task_progress.items() if self.running[t][0] == sid]
        self.emit(
            StageProgress(
                self.run_id,
                stage=sid,
                done=st.tasks - self.left.get(sid, 0),
                total=st.tasks,
                rows=stats.rows + sum(p.rows for p in live),
                bytes=stats.bytes + sum(p.bytes for p in live),
                read_rows=stats.read_rows + sum(p.read_rows for p in live),
                read_bytes=stats.read_bytes + sum(p.read_bytes for p in live),
            )
        )

    def task_done(self, msg: TaskDone) -> None:
        """A task finished: keep its pieces, count its statistics, finish its stage if last."""
        got = self.running.pop(msg.task, None)
        if got is None:
            return
        self.task_progress.pop(msg.task, None)
        sid, j = got
        with self.working_on(sid):
            st = self.plan.stages[sid]
            self.pieces[sid][j] = msg.pieces
            self.extras[sid][j] = msg.extras
            stats = self.stats[sid]
            if not stats.steps:
                stats.steps = [StepTotals(s.name) for s in msg.stats]
            for total, s in zip(stats.steps, msg.stats):
                total.rows += s.rows
                total.bytes += s.bytes
            if msg.stats:
                stats.rows += msg.stats[-1].rows
                stats.bytes += msg.stats[-1].bytes
                stats.read_rows += msg.stats[0].rows
                stats.read_bytes += msg.stats[0].bytes
            stats.task_seconds += msg.seconds
            for f in _piece_files(msg.pieces):
                if self.storage.in_memory(f):
                    self.memory_bytes += f.nbytes
                elif st.on_disk:
                    stats.disk_bytes += f.nbytes
                else:
                    stats.spilled_bytes += f.nbytes
            self.left[sid] -= 1
            self.report(sid, force=True)
            if self.left[sid] == 0:
                self.finish_stage(st)

    def task_failed(self, msg: TaskFailed) -> None:
        """A task failed: raise its error, named after the run's flow (it fails the run)."""
        got = self.running.pop(msg.task, None)
        if got is None:
            return
        self.task_progress.pop(msg.task, None)
        sid = self.failed_stage = got[0]
        self.current = sid
        err = msg.error
        if err.detail:
            err.detail = restore_filenames(err.detail, stage_functions(self.plan.stages[sid]))
        raise err.with_context(flow=self.plan.flow)

    def task_lost(self, task_id: int, code: int, report: str, pid: int | None = None) -> None:
        """A task's executor (process ``pid``) died (exit ``code``; ``report``: its stderr's end).

        A task of an ``on_disk()`` stage goes back to the front of :attr:`ready`, up to
        :data:`RETRIES` times (its inputs are on disk); otherwise the run fails with an
        :class:`~gleamnb.errors.ExecutorCrashedError`.
        """
        got = self.running.pop(task_id, None)
        if got is None:
            return
        self.task_progress.pop(task_id, None)
        sid, j = got
        st = self.plan.stages[sid]
        attempts = self.retries.get(got, 0)
        if st.on_disk and attempts < RETRIES:
            self.retries[got] = attempts + 1
            self.ready.appendleft(got)
            return
        self.failed_stage = self.current = sid
        how, hint = how_it_died(code, pid)
        report = restore_filenames(report, stage_functions(st))
        step = crashed_step(st, report)
        steps = function_steps(st)
        during = (
            f" while running one of the steps {', '.join(map(repr, steps))}"
            if step is None and len(steps) > 1
            else ""
        )
        raise ExecutorCrashedError(
            how + during,
            flow=self.plan.flow,
            step=step,
            stage=st.name,
            shard=f"{j + 1}/{st.tasks}",
            hint=hint,
            detail=("executor stderr (last lines):\n" + report) if report else None,
        )
