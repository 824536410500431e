"""The flow the progress tests run on every runner, and what its events must say
(importable: ``tests/`` is on ``sys.path``).

Its first stage reads many rows and writes few: ``range(0, ROWS, shards=4)``, a filter keeping
one row in :data:`EVERY` (:func:`keep`), and the map side of a sort; the second stage merges
the sorted runs.
"""

from __future__ import annotations

import time
from typing import Any

import gleamnb as gl
from gleamnb import events

ROWS = 2_000_000
SHARDS = 4
EVERY = 100
KEPT = ROWS // EVERY  # the rows the filter keeps: 0, 100, 200, ...


def keep(x: int) -> bool:
    """One row in :data:`EVERY`; a pause now and then, so that a task runs for a while
    (about 0.4 s) and reports its progress several times on the way."""
    if x % 65_536 == 0:
        time.sleep(0.05)
    return x % EVERY == 0


def flow(name: str) -> gl.Dataset:
    return gl.Flow(name).range(0, ROWS, shards=SHARDS).filter(keep).sort(1)


def run(name: str, runner: Any) -> list[events.Event]:
    """Run the flow on ``runner``; the events it emitted (its result checked)."""
    seen: list[events.Event] = []
    got = flow(name).collect(runner, progress=seen.append)
    assert got == [(x,) for x in range(0, ROWS, EVERY)]
    return seen


def check(seen: list[events.Event]) -> None:
    """The progress and final figures of each stage agree with what the flow reads and writes.

    Stage 0 reads :data:`ROWS` rows and writes :data:`KEPT`, stage 1 reads and writes
    :data:`KEPT`; every figure of a stage's progress only grows, and progress events are
    paced: at most one per 0.2 s of the stage's time plus one per task done.
    """
    started = seen[0]
    assert isinstance(started, events.RunStarted)
    assert [s.tasks for s in started.stages] == [SHARDS, SHARDS]
    expected = {0: (ROWS, KEPT), 1: (KEPT, KEPT)}
    for stage in started.stages:
        progress = [e for e in seen if isinstance(e, events.StageProgress) and e.stage == stage.id]
        (finished,) = [
            e for e in seen if isinstance(e, events.StageFinished) and e.stage == stage.id
        ]
        assert (finished.read_rows, finished.rows) == expected[stage.id]
        assert finished.read_bytes == 8 * finished.read_rows  # int64 rows
        assert finished.bytes == 8 * finished.rows
        assert progress, stage.id
        for key in ("done", "read_rows", "read_bytes", "rows", "bytes"):
            figures = [getattr(e, key) for e in progress]
            assert figures == sorted(figures), (stage.id, key, figures)
        last = progress[-1]
        assert (last.done, last.total) == (SHARDS, SHARDS)
        assert (last.read_rows, last.rows, last.read_bytes, last.bytes) == (
            finished.read_rows,
            finished.rows,
            finished.read_bytes,
            finished.bytes,
        )
        assert all(e.read_rows <= finished.read_rows for e in progress)
        assert len(progress) <= finished.seconds / 0.2 + 1 + SHARDS, (len(progress), finished)
    # the first stage's running tasks told what they had read before any of them was done
    first = [e for e in seen if isinstance(e, events.StageProgress) and e.stage == 0]
    assert first[0].done == 0 and first[0].read_rows > 0, first[0]
