"""Starting executor processes, with nothing but the standard library.

An executor needs most of a second to import pyarrow and friends. ``gl.local()`` starts its
executors through :func:`prestart` before the driver itself imports the planner and the
runtime, so both sides import at the same time; the runner then adopts them with :func:`take`.
A prestarted executor that is never adopted exits with the driver (its stdin closes).
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["start", "prestart", "take"]

_waiting: list[subprocess.Popen[bytes]] = []


def start() -> subprocess.Popen[bytes]:
    """Start one ``python -m gleamnb.runtime`` in its own session, pipes on its stdio."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # glibc: serve big buffers (>= 1 MiB) from mmap, so freeing them returns the memory
    # env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 20))
    return subprocess.Popen(
        [sys.executable, "-m", "gleamnb.runtime"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which decides
        close_fds=True,
        env=env,
    )


def prestart(n: int) -> None:
    """Have ``n`` executors starting up, ready to be taken."""
    while len(_waiting) < n:
        _waiting.append(start())


def take() -> subprocess.Popen[bytes]:
    """A prestarted executor that is still alive, else a new one."""
    while _waiting:
        proc = _waiting.pop(0)
        if proc.poll() is None:
            return proc
    return start()
