"""Starting executor processes, with nothing but the standard library.

An executor needs most of a second to import pyarrow and friends. ``gl.local()`` starts its
executors through :func:`prestart` before the driver itself imports the planner and the
runtime, so both sides import at the same time; the runner then adopts them with :func:`take`.
A prestarted executor that is never adopted exits with the driver (its stdin closes).

Each executor gets its share of the cores for Arrow's own thread pool
(:func:`threads_for`): left at its default, every executor would run one thread per core,
and ``n`` executors would oversubscribe the machine ``n`` times over (measured: a 2-executor
join on 2 cores ran 2.5x slower that way). NumPy's OpenBLAS gets the same share
(``OPENBLAS_NUM_THREADS``, unless the environment already sets it): it starts its threads
when pyarrow imports NumPy, one per core in every executor by default, and the executor
imports ~30 ms sooner without them, on cores the driver is importing on at the same time.
"""

from __future__ import annotations

import os
import subprocess
import sys

from gleamnb.runtime import THREADS_ENV

__all__ = ["start", "prestart", "take", "threads_for", "usable_cores"]

_waiting: list[tuple[int, subprocess.Popen[bytes]]] = []


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), which a container or ``taskset``
    may make fewer than the machine's ``os.cpu_count()``.

    >>> 1 <= usable_cores() <= (os.cpu_count() or 1)
    True
    """
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


def threads_for(executors: int) -> int:
    """Arrow threads per executor when ``executors`` share this process's cores.

    >>> threads_for(usable_cores())
    1
    """
    return max(1, usable_cores() // max(1, executors))


def start(threads: int) -> subprocess.Popen[bytes]:
    """Start one ``python -m gleamnb.runtime`` in its own session, pipes on its stdio."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env[THREADS_ENV] = str(threads)
    env.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    return subprocess.Popen(
        [sys.executable, "-m", "gleamnb.runtime"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which decides
        close_fds=True,
        env=env,
    )


def prestart(n: int, count: int | None = None) -> None:
    """Have ``count`` (default ``n``) executors for a pool of ``n`` starting, ready to be taken."""
    threads = threads_for(n)
    while sum(1 for t, _ in _waiting if t == threads) < (n if count is None else count):
        _waiting.append((threads, start(threads)))


def take(threads: int) -> subprocess.Popen[bytes]:
    """A prestarted executor with ``threads`` Arrow threads that is still alive, else a new one."""
    for item in list(_waiting):
        t, proc = item
        if proc.poll() is not None:
            _waiting.remove(item)
        elif t == threads:
            _waiting.remove(item)
            return proc
    return start(threads)
