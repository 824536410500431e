"""A terminal progress display driven by run events: one line per running stage on stderr.

It redraws at most every 0.2 s, in place (ANSI cursor moves) on a terminal, and prints a final
summary line per stage. It is on by default only when stderr is a terminal (not in Jupyter,
whose widgets use the same events); ``run(progress=True)`` forces it.

Examples
--------
>>> import io
>>> from gleamnb.events import RunStarted, StageInfo, StageFinished, RunFinished
>>> out = io.StringIO()
>>> p = TerminalProgress("demo", stream=out, live=False)
>>> stage = StageInfo(0, "read->map", 2, (0,), (), "forward")
>>> p(RunStarted("r", flow="demo", runner="local", stages=(stage,)))
>>> p(StageFinished("r", stage=0, tasks=2, rows=1500, bytes=12000, seconds=0.5))
>>> p(RunFinished("r", seconds=0.6))
>>> print(out.getvalue().rstrip())
[demo] stage 0 read->map: done 2/2 tasks, 1,500 rows, 12.0 kB in 0.50s
[demo] done in 0.60s
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from gleamnb.events import (
    Event,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
)

__all__ = ["TerminalProgress", "human_bytes"]


def human_bytes(n: float) -> str:
    """``12.0 kB``, ``3.4 MB``...

    >>> human_bytes(999), human_bytes(1_234_567)
    ('999 B', '1.2 MB')
    """
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class TerminalProgress:
    """Listener printing live per-stage progress to ``stream`` (stderr by default)."""

    def __init__(
        self, flow: str, stream: TextIO | None = None, *, live: bool | None = None
    ) -> None:
        self.flow = flow
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.names: dict[int, str] = {}
        self.running: dict[int, str] = {}
        self.drawn = 0
        self.last = 0.0

    @staticmethod
    def fits() -> bool:
        """Whether a terminal display belongs here: stderr is a TTY and we are not in Jupyter."""
        if "ipykernel" in sys.modules and not os.environ.get("GLEAMNB_TERMINAL_PROGRESS"):
            return False
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _line(self, stage: int, text: str) -> str:
        return f"[{self.flow}] stage {stage} {self.names.get(stage, '')}: {text}"

    def _clear(self) -> None:
        if self.live and self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.2:
            return
        self.last = now
        self._clear()
        lines = list(self.running.values())
        for line in lines:
            self.stream.write(line + "\n")
        self.drawn = len(lines)
        self.stream.flush()

    def _print(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw(force=True)

    def __call__(self, event: Event) -> Any:
        if isinstance(event, RunStarted):
            self.names = {s.id: s.name for s in event.stages}
        elif isinstance(event, StageStarted):
            self.running[event.stage] = self._line(event.stage, f"0/{event.tasks} tasks")
            self._draw()
        elif isinstance(event, StageProgress):
            self.running[event.stage] = self._line(
                event.stage, f"{event.done}/{event.total} tasks, {event.rows:,} rows"
            )
            self._draw()
        elif isinstance(event, StageFinished):
            self.running.pop(event.stage, None)
            spill = ", spilled to disk" if event.spilled else ""
            self._print(
                self._line(
                    event.stage,
                    f"done {event.tasks}/{event.tasks} tasks, {event.rows:,} rows, "
                    f"{human_bytes(event.bytes)} in {event.seconds:.2f}s{spill}",
                )
            )
        elif isinstance(event, StageFailed):
            self.running.pop(event.stage, None)
            self._print(self._line(event.stage, "FAILED"))
        elif isinstance(event, RunFinished):
            self.running.clear()
            self._print(f"[{self.flow}] done in {event.seconds:.2f}s")
        elif isinstance(event, (RunFailed, RunCancelled)):
            self.running.clear()
            word = "failed" if isinstance(event, RunFailed) else "cancelled"
            self._print(f"[{self.flow}] {word} after {event.seconds:.2f}s")
        self.stream.flush()
