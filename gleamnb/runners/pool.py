"""Executor processes as the local runner sees them, and their in-process stand-in.

Each :class:`ExecutorProcess` is a ``python -m gleamnb.runtime`` child with a reader thread
(protocol frames -> the runner's queue) and a stderr thread (the user's prints -> our stderr,
keeping a tail for crash reports). Executors are started in their own session, so a Ctrl-C
in a terminal reaches only the runner, which then decides what to stop.

Both kinds are an :class:`Executor` to the runner, and both report through its inbox: a
:class:`FromExecutor` for each protocol message, an :class:`ExecutorDied` when a process ends.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Protocol

from gleamnb.runners import spawn
from gleamnb.runners.shipping import Holdings
from gleamnb.runtime.protocol import (
    Progress,
    Ready,
    RunTask,
    StopTask,
    TaskDone,
    TaskFailed,
    receive,
    send,
)

__all__ = [
    "Executor",
    "ExecutorProcess",
    "InlineExecutor",
    "FromExecutor",
    "ExecutorDied",
    "Message",
]


class Executor(Protocol):
    """What the local runner needs of an executor: one task at a time, replies to its inbox.

    ``task`` is the id of the task it runs (None when idle); ``holds`` the runner's record of
    the stages and functions it holds, so each is sent to it once.
    """

    index: int
    task: int | None
    holds: Holdings

    @property
    def pid(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    def wait_ready(self, timeout: float) -> bool:
        """Wait until it can take a task (True), at most ``timeout`` seconds."""
        ...

    def submit(self, msg: RunTask) -> None:
        """Start task ``msg``; its replies come to the inbox."""
        ...

    def stop(self) -> None:
        """Ask it to stop its task (a TaskDone or TaskFailed still follows, unless it dies)."""
        ...

    def kill(self) -> None: ...

    def close(self, wait: bool = True) -> None:
        """Let it go: it exits once its input ends; reap it unless ``wait`` is False."""
        ...

    def crash_report(self) -> str:
        """The end of what it wrote to stderr (a dead process's last words)."""
        ...


@dataclass(frozen=True, slots=True)
class FromExecutor:
    """A protocol message from ``executor`` about one of its tasks."""

    executor: Executor
    message: Progress | TaskDone | TaskFailed


@dataclass(frozen=True, slots=True)
class ExecutorDied:
    """``executor``'s process ended with exit ``code`` (negative: killed by that signal)."""

    executor: Executor
    code: int


Message = FromExecutor | ExecutorDied


class ExecutorProcess:
    """One executor subprocess."""

    def __init__(self, index: int, inbox: queue.Queue[Message], threads: int) -> None:
        self.index = index
        self.inbox = inbox
        self.holds = Holdings()
        self.task: int | None = None
        self.ready = threading.Event()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self.proc = spawn.take(threads)
        self._reader = threading.Thread(
            target=self._read, name=f"gleamnb-exec-{index}", daemon=True
        )
        self._errors = threading.Thread(
            target=self._read_stderr, name=f"gleamnb-err-{index}", daemon=True
        )
        self._reader.start()
        self._errors.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            try:
                msg = receive(stdout)
            except Exception:  # a torn frame: the process is going away
                msg = None
            if msg is None:
                break
            if isinstance(msg, Ready):
                self.ready.set()
                continue
            self.inbox.put(FromExecutor(self, msg))
        code = self.proc.wait()
        self._errors.join(timeout=2)
        self.inbox.put(ExecutorDied(self, code))

    def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        for raw in iter(stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            self.stderr_tail.append(line)
            try:
                sys.stderr.write(line)
                sys.stderr.flush()
            except Exception:  # the driver's stderr is gone (e.g. kernel shutting down)
                pass

    def wait_ready(self, timeout: float) -> bool:
        return self.ready.wait(timeout)

    def submit(self, msg: RunTask) -> None:
        self.task = msg.task
        assert self.proc.stdin is not None
        send(self.proc.stdin, msg)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Ask the executor to stop its task: a StopTask frame naming it, then SIGUSR1.

        The frame goes first, so the executor can tell which task the signal is for (see
        :mod:`gleamnb.runtime.protocol`).
        """
        if self.task is None or self.proc.stdin is None:
            return
        try:
            send(self.proc.stdin, StopTask(self.task))  # type: ignore[arg-type]
            os.kill(self.pid, signal.SIGUSR1)
        except (OSError, ValueError):  # the executor is gone; the runner sees it die
            pass

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()

    def close(self, wait: bool = True) -> None:
        """Ask the executor to exit (stdin EOF); reap it unless ``wait`` is False."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        if not wait:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def crash_report(self) -> str:
        return "".join(self.stderr_tail).rstrip()


class InlineExecutor:
    """Runs tasks in the runner's own process and thread (``gl.local(mode="inline")``)."""

    pid = os.getpid()
    alive = True

    def __init__(self, index: int, inbox: queue.Queue[Message]) -> None:
        self.index = index
        self.inbox = inbox
        self.holds = Holdings()
        self.task: int | None = None
        # only here: a driver with executor processes never imports the executor's module
        from gleamnb.runtime.executor import StageCache, run_one

        self.stages = StageCache()
        self._run_one = run_one

    def submit(self, msg: RunTask) -> None:
        self.task = msg.task
        self.stages.receive(msg)

        def progress(report: Progress) -> None:
            self.inbox.put(FromExecutor(self, report))

        self.inbox.put(FromExecutor(self, self._run_one(msg, self.stages, progress)))

    def wait_ready(self, timeout: float) -> bool:
        return True

    def stop(self) -> None:
        """Forget the task: it ran inside :meth:`submit`, so an interrupt has already ended it."""
        self.task = None

    def kill(self) -> None:
        """Nothing to kill: a task runs to its end in the caller's thread."""

    def close(self, wait: bool = True) -> None:
        """Nothing to close."""

    def crash_report(self) -> str:
        return ""
