"""Processes a test started, found by a tag in their environment, wherever they ended up.

A test sets :data:`TAG` to a value of its own in the environment of what it starts; every
process below inherits it (the ``gleamnb`` command, the cluster's serve process in its own
session, the Dask scheduler, nannies, workers and executors), so the processes left once the
test is done are those whose environment still holds that value.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid

import psutil

#: The environment variable of the tag.
TAG = "GLEAMNB_PROCESS_TAG"


def new_tag() -> str:
    """A tag no other test uses."""
    return uuid.uuid4().hex


def tagged(tag: str) -> list[int]:
    """The pids of the live processes (zombies aside) whose environment holds ``tag``."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get(TAG) == tag:
                found.append(proc.pid)
    return sorted(found)


def commands(tag: str) -> list[list[str]]:
    """The command lines of the processes of ``tag``."""
    found = []
    for pid in tagged(tag):
        with contextlib.suppress(psutil.Error, OSError):
            found.append(psutil.Process(pid).cmdline())
    return found


def kill_tagged(tag: str) -> list[int]:
    """SIGKILL every process of ``tag`` (the last resort of a failed test); the pids killed."""
    pids = tagged(tag)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids
