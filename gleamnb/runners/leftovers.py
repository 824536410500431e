"""The run folders a local driver left behind when it was killed, and their removal.

A run keeps its pieces in two folders (in shared memory and in ``spill_dir``) and removes
them when it ends, however it ends; a driver killed with SIGKILL (a kernel restart, the OOM
killer) cannot, so the next local runner to start removes the folders of drivers that are
gone. A folder is named ``gleamnb-<pid>-<start>-<run_id>``, ``start`` being the driver's start
time (field 22 of ``/proc/<pid>/stat``, in clock ticks since boot): it goes only when no
process with that pid *and* that start time exists, so a pid reused by another process does
not keep it and a live driver's folders are never touched. A folder of the older
``gleamnb-<pid>-<run_id>`` naming (still used where ``/proc`` is missing) goes only when no
process has its pid.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable

__all__ = ["driver_alive", "folder_name", "leftover_folders", "start_time", "sweep"]

_NAME = re.compile(r"gleamnb-(\d+)-(?:(\d+)-)?([0-9a-f]{12})")


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot), or None if unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or parentheses itself
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[22 - 3])
    except (IndexError, ValueError):
        return None


def folder_name(run_id: str) -> str:
    """The name of this process's folders for the run ``run_id``."""
    pid = os.getpid()
    start = start_time(pid)
    return f"gleamnb-{pid}-{run_id}" if start is None else f"gleamnb-{pid}-{start}-{run_id}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:
        return False
    return True


def driver_alive(name: str) -> bool | None:
    """Whether the driver that named a run folder ``name`` still runs; None if not a run folder."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    pid, start = int(match.group(1)), match.group(2)
    if start is None or not os.path.isdir("/proc"):
        return _pid_alive(pid)
    return start_time(pid) == int(start)


def leftover_folders(roots: Iterable[str]) -> list[str]:
    """The run folders in ``roots`` whose drivers are gone."""
    found = []
    for root in dict.fromkeys(roots):
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            if (
                entry.name.startswith("gleamnb-")
                and entry.is_dir(follow_symlinks=False)
                and driver_alive(entry.name) is False
            ):
                found.append(entry.path)
    return found


def sweep(roots: Iterable[str]) -> list[str]:
    """Remove the run folders in ``roots`` whose drivers are gone; return their paths."""
    removed = leftover_folders(roots)
    for path in removed:
        # another user's folder, or one another runner removes at the same time, is no error
        shutil.rmtree(path, ignore_errors=True)
    return removed
