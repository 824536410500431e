"""The run folders a local driver left behind when it was killed, and their removal.

A run keeps its pieces in two folders (in shared memory and in ``spill_dir``) and removes
them when it ends, however it ends; a driver killed with SIGKILL (a kernel restart, the OOM
killer) cannot, so the next local runner to start removes the folders of drivers that are
gone. A folder is named ``gleamnb-<machine>-<pid>-<start>-<run_id>``: ``machine`` stands for
this boot of this machine and its pid namespace (a hash of the kernel's boot id and
``/proc/self/ns/pid``), ``start`` is the driver's start time (field 22 of
``/proc/<pid>/stat``, in clock ticks since boot). A folder goes only when it was named on
this machine, in this pid namespace, and no process with that pid *and* that start time
exists: a pid reused by another process does not keep it, and a live driver's folders are
never touched, nor those of drivers in another container or on another host sharing the
folder (``--ipc=host``, a shared ``/tmp`` or an NFS ``spill_dir``). Without ``/proc`` folders
are named ``gleamnb-<pid>-<run_id>`` and never removed by others.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
from collections.abc import Iterable

__all__ = ["driver_alive", "folder_name", "machine", "start_time", "sweep"]

_NAME = re.compile(r"gleamnb-([0-9a-f]{8})-(\d+)-(\d+)-[0-9a-f]{12}")


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


@functools.cache
def machine() -> str | None:
    """8 hex digits naming this boot of this machine and this pid namespace (None without
    ``/proc``): where a pid and a start time mean one process."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as boot:
            ident = boot.read().strip() + os.readlink("/proc/self/ns/pid").encode()
    except OSError:
        return None
    return hashlib.blake2b(ident, digest_size=4).hexdigest()


def folder_name(run_id: str) -> str:
    """The name of this process's folders for the run ``run_id``."""
    pid, here = os.getpid(), machine()
    start = start_time(pid)
    if here is None or start is None:
        return f"gleamnb-{pid}-{run_id}"
    return f"gleamnb-{here}-{pid}-{start}-{run_id}"


def driver_alive(name: str) -> bool | None:
    """Whether the driver that named a run folder ``name`` still runs; None if not a run folder
    of this machine (and pid namespace), whose driver this process cannot know about."""
    match = _NAME.fullmatch(name)
    if match is None or match.group(1) != machine():
        return None
    return start_time(int(match.group(2))) == int(match.group(3))


def sweep(roots: Iterable[str]) -> list[str]:
    """Remove the run folders in ``roots`` whose drivers are gone; return those removed."""
    removed = []
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
                # another user's folder, or one another runner removes at the same time,
                # is no error
                shutil.rmtree(entry.path, ignore_errors=True)
                if not os.path.lexists(entry.path):
                    removed.append(entry.path)
    return removed
