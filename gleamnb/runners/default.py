"""Choosing a runner: ``gl.local(...)``, ``gl.set_runner(...)`` and the session default.

``gl.local()`` with the same arguments returns the same runner, so its executor processes
stay warm across runs and cells. Closing it (``runner.close()``, or leaving a ``with`` block)
stops its executors; its next run starts them again, so a closed runner is never handed out
broken.

Examples
--------
>>> import gleamnb as gl
>>> gl.local(executors=2) is gl.local(executors=2)
True
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING

from gleamnb.runners import spawn
from gleamnb.runtime import THREADS_ENV

if TYPE_CHECKING:
    from gleamnb.runners.base import Runner
    from gleamnb.runners.local import LocalRunner

__all__ = ["local", "set_runner", "get_runner", "prestart_default"]

_local_runners: dict[tuple[object, ...], LocalRunner] = {}
_session_runner: Runner | None = None


def _refuse_in_task() -> None:
    """Fail if this process is running a task: no run may start inside another run's task.

    A function that calls ``collect()`` (or any action) inside a ``map`` would start a pool
    of executors in every executor running it, left behind when the outer run ends, and so
    on for each level: a fork bomb. Spark refuses too (a SparkContext exists only on the
    driver). A task runs only where the executor module is loaded, so looking it up here
    keeps ``gl.local()`` from importing it before its executors start.
    """
    executor = sys.modules.get("gleamnb.runtime.executor")
    if executor is not None and executor.in_task():
        from gleamnb.errors import GleamError

        raise GleamError(
            "a run cannot start inside a task of another run: a step's function called "
            "collect(), run() or another action",
            hint="run the inner flow first and pass its rows in (a value the function uses, "
            "or a source such as flow.slices(rows)), or combine the datasets with join, "
            "hash_join or co_group",
        )


def _warn_oversubscribed(executors: int) -> None:
    """Warn when ``executors`` is more than twice the cores this process may use.

    A few more executors than cores can help tasks that wait (pipe commands, network reads);
    many more only add processes that compete for the cores, each with its own memory.
    """
    cores = spawn.usable_cores()
    if executors > 2 * cores:
        warnings.warn(
            f"gl.local(executors={executors}) starts {executors} executor processes on "
            f"{cores} usable core{'s' if cores != 1 else ''} (os.sched_getaffinity): they "
            "compete for the cores and each holds its own memory, so CPU-bound work gets no "
            f"faster; leave executors out for one per core ({cores}), or keep it at most "
            f"{2 * cores} unless the tasks mostly wait (pipe commands, network)",
            stacklevel=3,
        )


def prestart_default() -> None:
    """Start the default runner's first executor now, if that runner is the one a run would use.

    Called when a program first reaches for ``gl.Flow`` (or a source), before the driver
    imports the API and the planner: the executor then imports pyarrow and the runtime while
    the driver does, instead of after it, and is ready for the first task. Only one: on two
    cores a second would make three processes importing at once, and slow the driver's own
    import by as much as it gains; ``gl.local()`` starts the rest once the driver's imports
    are done. Nothing is started in an executor (or a process an executor started), once a
    session runner is set, or once a local runner exists; an executor started here and never
    used exits with the driver.
    """
    if _session_runner is not None or _local_runners or THREADS_ENV in os.environ:
        return
    spawn.prestart(spawn.usable_cores(), 1)


def local(
    executors: int | None = None,
    *,
    mode: str = "process",
    memory_limit: int | str | None = None,
    spill_dir: str | None = None,
) -> LocalRunner:
    """The embedded local runner (see :class:`~gleamnb.runners.local.LocalRunner`).

    Parameters
    ----------
    executors
        Executor processes; default one per usable core (``os.sched_getaffinity``). More
        than twice the cores warns: CPU-bound tasks run no faster, and each process holds
        its own memory.
    mode
        ``"process"`` or ``"inline"`` (run in this process, e.g. to use ``pdb``).
    memory_limit
        Memory budget for shard data, e.g. ``"2GB"``; past it, shards spill to disk.
    spill_dir
        Folder for spilled and ``on_disk()`` shards.
    """
    _refuse_in_task()
    key = (executors, mode, memory_limit, spill_dir)
    runner = _local_runners.get(key)
    if runner is None:
        if mode == "process" and (executors is None or (type(executors) is int and executors > 0)):
            if executors is not None:
                _warn_oversubscribed(executors)
            # start the executors before importing the runner, so both import side by side
            spawn.prestart(executors or spawn.usable_cores())
        from gleamnb.runners.local import LocalRunner

        runner = _local_runners[key] = LocalRunner(
            executors, mode=mode, memory_limit=memory_limit, spill_dir=spill_dir
        )
    return runner


def set_runner(runner: Runner | None) -> None:
    """Make ``runner`` the session default for ``run()`` and every action (None: local)."""
    from gleamnb.runners.base import Runner

    global _session_runner
    if runner is not None and not isinstance(runner, Runner):
        from gleamnb.errors import ArgumentError

        raise ArgumentError(
            f"set_runner needs a runner such as gl.local(), not {runner!r}",
            hint="e.g. gl.set_runner(gl.local(executors=4))",
        )
    _session_runner = runner


def get_runner(runner: Runner | None = None) -> Runner:
    """``runner`` if given, else the session default, else the default local runner."""
    from gleamnb.runners.base import Runner

    _refuse_in_task()
    if runner is not None:
        if not isinstance(runner, Runner):
            from gleamnb.errors import ArgumentError

            raise ArgumentError(
                f"expected a runner such as gl.local(), got {runner!r}",
                hint="pass gl.local(...) (or leave it out for the default)",
            )
        return runner
    return _session_runner if _session_runner is not None else local()
