"""Run one measurement in its own process tree and record its peak memory.

Method: the engine runs in a fresh ``python -m benchmarks.worker`` subprocess, in a new session
(so the whole tree can be stopped on timeout). A thread in the harness polls that process and
all its descendants every ~20 ms with psutil and sums their resident set sizes (RSS); processes
an engine starts outside its tree (daemonized cluster processes) are added when the worker names
their pids in the watch file. The worker reports the wall-clock window of the workload itself
(after engine start-up, before tear-down); the peak RSS reported is the highest sum sampled in
that window, and the peak over the whole process life is kept too. RSS counts shared pages once
per process that maps them, so a tree of forked processes can be over-counted; pages held only in
``/dev/shm`` and mapped by no process are not counted.

The same poller keeps each process's CPU time; the machine's busy CPU time over the run minus the
tree's own gives the CPU used by *other* processes meanwhile (``other_cores``: average cores
busy with work that is not the measurement), so a run disturbed by a busy machine shows it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil

__all__ = ["ProcessRun", "run_measured", "print_figures"]

POLL_S = 0.02


@dataclasses.dataclass
class ProcessRun:
    """What the harness saw of one worker process.

    Attributes
    ----------
    returncode
        Exit status (``None`` after a timeout).
    timed_out
        Whether the run was stopped at its timeout.
    wall_s
        Life of the worker process, start-up and tear-down included.
    samples
        ``(epoch seconds, summed RSS bytes)`` polled during the run.
    result
        The JSON the worker wrote, if any.
    other_cores
        Average number of cores other processes kept busy during the run.
    pid
        The worker's process id.
    process_peaks
        The highest RSS sampled for each process of the tree, by pid.
    process_cpu
        The CPU seconds (user + system) last sampled for each process of the tree, by pid.
    """

    returncode: int | None
    timed_out: bool
    wall_s: float
    samples: list[tuple[float, int]]
    result: dict[str, Any] | None
    other_cores: float = 0.0
    pid: int = 0
    process_peaks: dict[int, int] = dataclasses.field(default_factory=dict)
    process_cpu: dict[int, float] = dataclasses.field(default_factory=dict)

    def peak_rss(self, start: float | None = None, end: float | None = None) -> int:
        """Highest summed RSS sampled in ``[start, end]`` (the whole run when omitted)."""
        lo = -1.0 if start is None else start
        hi = float("inf") if end is None else end
        inside = [rss for t, rss in self.samples if lo <= t <= hi]
        if not inside and self.samples and start is not None:
            # A workload shorter than one poll: take the sample nearest its window.
            mid = (lo + hi) / 2
            inside = [min(self.samples, key=lambda s: abs(s[0] - mid))[1]]
        return max(inside, default=0)


class _Poller(threading.Thread):
    def __init__(self, pid: int, watch_file: Path) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.watch_file = watch_file
        self.samples: list[tuple[float, int]] = []
        # Process objects (pid + start time), so a reused pid is never mistaken for ours.
        self.seen: dict[int, psutil.Process] = {}
        self.stop_event = threading.Event()
        self.cpu: dict[int, float] = {}
        self.peaks: dict[int, int] = {}
        self._extra: list[int] = []
        self._watch_mtime = 0.0

    def _watched(self) -> list[int]:
        try:
            mtime = self.watch_file.stat().st_mtime
        except OSError:
            return self._extra
        if mtime != self._watch_mtime:
            self._watch_mtime = mtime
            try:
                self._extra = [int(p) for p in json.loads(self.watch_file.read_text())]
            except (OSError, ValueError, TypeError):
                pass
        return self._extra

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        next_watch = 0.0
        extra: list[int] = []
        while not self.stop_event.is_set():
            now = time.time()
            if now >= next_watch:
                extra = self._watched()
                next_watch = now + 0.5
            procs: list[psutil.Process] = [root]
            try:
                procs += root.children(recursive=True)
            except psutil.Error:
                pass
            for pid in extra:
                try:
                    p = psutil.Process(pid)
                    procs += [p, *p.children(recursive=True)]
                except psutil.Error:
                    pass
            total = 0
            counted: set[int] = set()
            for p in procs:
                if p.pid in counted:
                    continue
                try:
                    rss = p.memory_info().rss
                    total += rss
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
                    ct = p.cpu_times()
                    self.cpu[p.pid] = ct.user + ct.system
                    counted.add(p.pid)
                    self.seen.setdefault(p.pid, p)
                except psutil.Error:
                    pass
            if counted:
                self.samples.append((now, total))
            self.stop_event.wait(POLL_S)


def _kill_tree(pid: int, seen: dict[int, psutil.Process]) -> None:
    """Stop the worker's process group and any process of its tree still running."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    for p in seen.values():
        try:
            if p.pid != os.getpid() and p.is_running():
                p.kill()
        except psutil.Error:
            pass


def run_measured(
    cmd: list[str],
    *,
    result_file: Path,
    watch_file: Path,
    timeout_s: float,
    env: dict[str, str],
    log_file: Path,
    cwd: Path,
) -> ProcessRun:
    """Run ``cmd`` as a measured worker.

    Parameters
    ----------
    cmd
        The worker command line.
    result_file
        Where the worker writes its JSON result.
    watch_file
        Where the worker may list extra pids to include in the RSS sum.
    timeout_s
        Seconds before the whole tree is killed.
    env
        Environment of the worker.
    log_file
        Receives the worker's stdout and stderr.
    cwd
        Working directory.

    Returns
    -------
    ProcessRun
        Exit status, samples and the worker's result.
    """
    result_file.unlink(missing_ok=True)
    watch_file.unlink(missing_ok=True)
    started = time.time()
    busy_before = _busy_cpu_s()
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
        poller = _Poller(proc.pid, watch_file)
        poller.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        poller.stop_event.set()
        poller.join()
        # Whatever the worker left behind (a stuck cluster, a sort helper) goes with it.
        _kill_tree(proc.pid, poller.seen)
        if timed_out:
            proc.wait()
    wall = time.time() - started
    other = max(0.0, _busy_cpu_s() - busy_before - sum(poller.cpu.values()))
    result = None
    if not timed_out and result_file.exists():
        try:
            result = json.loads(result_file.read_text())
        except ValueError:
            result = None
    return ProcessRun(
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        wall_s=wall,
        samples=poller.samples,
        result=result,
        other_cores=other / wall if wall > 0 else 0.0,
        pid=proc.pid,
        process_peaks=poller.peaks,
        process_cpu=poller.cpu,
    )


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting on I/O)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def print_figures(figures: Any, path: Path | None) -> None:
    """Print ``figures`` as JSON (what a ``benchmarks.*_costs`` module measured), and write
    them to ``path`` when given (the harness reads them there)."""
    text = json.dumps(figures, indent=1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(text)
