"""The typed progress events every runner emits, and what consumes them.

The local runner, the Dask runner, the terminal display, the notebook widgets and the CLI all
speak these events; nothing else about a run is shared between them. Events are small frozen
dataclasses of plain values, so they pickle and convert to msgpack/JSON (``asdict``) for the
trip from a Dask scheduler to a client. This module imports nothing else of gleamnb: it sits
below the runners that emit events and the views that show them.

A run emits, in order: :class:`RunStarted`; per stage :class:`StageStarted`, any number of
:class:`StageProgress`, then :class:`StageFinished` / :class:`StageFailed` /
:class:`StageCached`; finally exactly one of :class:`RunFinished`, :class:`RunFailed` or
:class:`RunCancelled`.

Examples
--------
>>> e = StageProgress(run_id="r1", stage=2, done=3, total=4, rows=100, bytes=800, read_rows=5000)
>>> event_to_dict(e)["type"], event_to_dict(e)["read_rows"]
('StageProgress', 5000)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Event",
    "StageInfo",
    "RunStarted",
    "StageStarted",
    "StageProgress",
    "StageFinished",
    "StageFailed",
    "StageCached",
    "RunFinished",
    "RunFailed",
    "RunCancelled",
    "Listener",
    "event_to_dict",
]


@dataclass(frozen=True)
class Event:
    run_id: str
    time: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class StageInfo:
    """A stage as the DAG views draw it."""

    id: int
    name: str
    tasks: int
    datasets: tuple[int, ...]  # logical dataset ids (``d3``) computed by this stage
    inputs: tuple[int, ...]  # ids of the stages it reads
    output: str  # how its output leaves it ("hash shuffle by 1 into 4", "forward", ...)


@dataclass(frozen=True)
class RunStarted(Event):
    flow: str
    runner: str
    stages: tuple[StageInfo, ...]


@dataclass(frozen=True)
class StageStarted(Event):
    """Stage ``stage`` is ready and its ``tasks`` tasks are queued.

    Its ``time`` is when the stage started: a view computes a stage's elapsed seconds and
    rates from it.
    """

    stage: int
    tasks: int


@dataclass(frozen=True)
class StageProgress(Event):
    """How far stage ``stage`` has got (at most every 0.2 s, and once per task done).

    Every count covers the stage's finished tasks plus what its running tasks reported so
    far (a running task reports at most 5 times a second), so it grows as the stage runs
    (it drops back only when a task whose executor died runs again from the start).

    Attributes
    ----------
    done, total
        Tasks finished, and the stage's task count.
    read_rows, read_bytes
        Rows and Arrow bytes the stage's head emitted: what its tasks read from their
        files, ranges or input pieces.
    rows, bytes
        Rows and Arrow bytes the stage's last step emitted: what its tasks wrote to their
        output (0 for an action that keeps no rows, such as a ``count`` or a ``save``).
    """

    stage: int
    done: int
    total: int
    rows: int
    bytes: int
    read_rows: int = 0
    read_bytes: int = 0


@dataclass(frozen=True)
class StageFinished(Event):
    """Stage ``stage`` is done: the final figures of its ``tasks`` tasks.

    Attributes
    ----------
    tasks
        The stage's task count (all of them finished).
    rows, bytes
        Rows and Arrow bytes the stage's last step emitted, over all its tasks (its output).
    seconds
        Wall time from the stage's start (:class:`StageStarted`) to its last task's end.
    spilled
        Whether some of its output went to disk for lack of memory budget.
    read_rows, read_bytes
        Rows and Arrow bytes the stage's head emitted, over all its tasks (what it read).
    """

    stage: int
    tasks: int
    rows: int
    bytes: int
    seconds: float
    spilled: bool = False
    read_rows: int = 0
    read_bytes: int = 0


@dataclass(frozen=True)
class StageFailed(Event):
    stage: int
    error: str


@dataclass(frozen=True)
class StageCached(Event):
    stage: int
    rows: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class RunFinished(Event):
    seconds: float
    rows: int = 0


@dataclass(frozen=True)
class RunFailed(Event):
    error: str
    seconds: float = 0.0


@dataclass(frozen=True)
class RunCancelled(Event):
    seconds: float = 0.0


Listener = Callable[[Event], Any]


def event_to_dict(event: Event) -> dict[str, Any]:
    """Plain-data form of an event (``type`` plus its fields), for msgpack or JSON."""
    data = asdict(event)
    data["type"] = type(event).__name__
    return data
