"""Finding a driver's run folders by its pid and start time, read independently of gleamnb."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path


def proc_start_time(pid: int) -> int:
    """Field 22 of ``/proc/<pid>/stat``, counted from the end of the line (the 52 fields of
    Linux >= 3.5 end with exit_code; 22 is 31 before the end)."""
    fields = Path(f"/proc/{pid}/stat").read_text().split()
    return int(fields[len(fields) - 52 + 21])


def run_folders(
    pid: int, roots: Iterable[str] = ("/dev/shm",), start: int | None = None
) -> list[str]:
    """The run folders of the driver ``pid`` (started at ``start``, read from ``/proc`` if
    not given) in ``roots``: ``gleamnb-<8 hex digits>-<pid>-<start>-<run id>``."""
    start = proc_start_time(pid) if start is None else start
    pattern = f"gleamnb-{'[0-9a-f]' * 8}-{pid}-{start}-*"
    return [d for root in dict.fromkeys(roots) for d in glob.glob(os.path.join(root, pattern))]
