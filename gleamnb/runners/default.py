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
from typing import TYPE_CHECKING

from gleamnb.runners import spawn

if TYPE_CHECKING:
    from gleamnb.runners.base import Runner
    from gleamnb.runners.local import LocalRunner

__all__ = ["local", "set_runner", "get_runner"]

_local_runners: dict[tuple[object, ...], LocalRunner] = {}
_session_runner: Runner | None = None


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
        Executor processes; default one per core.
    mode
        ``"process"`` or ``"inline"`` (run in this process, e.g. to use ``pdb``).
    memory_limit
        Memory budget for shard data, e.g. ``"2GB"``; past it, shards spill to disk.
    spill_dir
        Folder for spilled and ``on_disk()`` shards.
    """
    key = (executors, mode, memory_limit, spill_dir)
    runner = _local_runners.get(key)
    if runner is None:
        if mode == "process" and (executors is None or (type(executors) is int and executors > 0)):
            # start the executors before importing the runner, so both import side by side
            spawn.prestart(executors or os.cpu_count() or 1)
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

    if runner is not None:
        if not isinstance(runner, Runner):
            from gleamnb.errors import ArgumentError

            raise ArgumentError(
                f"expected a runner such as gl.local(), got {runner!r}",
                hint="pass gl.local(...) (or leave it out for the default)",
            )
        return runner
    return _session_runner if _session_runner is not None else local()
