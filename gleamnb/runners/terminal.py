"""A terminal progress display driven by run events: one line per running stage on stderr.

While a stage runs, its line shows a bar and the percent of its tasks done, the tasks done of
all, the rows its tasks have read (what their heads emitted) and written (what their last
steps emitted) so far, the rows read per second since the stage started, and the seconds since
then; when it ends, a final line gives the same figures (and the bytes written). Running lines
are redrawn at most every 0.2 s, in place (ANSI cursor moves) on a terminal, cut to its width;
final lines stay. The display is on by default only when stderr is a terminal (not in Jupyter,
whose widgets use the same events); ``run(progress=True)`` forces it.

Examples
--------
>>> import io
>>> from gleamnb.events import RunStarted, StageInfo, StageStarted, StageProgress
>>> from gleamnb.events import StageFinished, RunFinished
>>> out = io.StringIO()
>>> p = TerminalProgress("demo", stream=out, live=False)
>>> stage = StageInfo(0, "read->filter", 4, (0,), (), "forward")
>>> p(RunStarted("r", flow="demo", runner="local", stages=(stage,)))
>>> p(StageStarted("r", stage=0, tasks=4, time=100.0))
>>> p(StageProgress("r", stage=0, done=1, total=4, read_rows=600_000, rows=6_000, bytes=48_000,
...               time=101.5))
>>> print(p.line(0))  # doctest: +NORMALIZE_WHITESPACE
[demo] stage 0 read->filter: [#####---------------]  25% 1/4 tasks, 600,000 rows read,
    6,000 written, 400.0k rows/s, 1.5s
>>> p(StageFinished("r", stage=0, tasks=4, read_rows=2_000_000, rows=20_000, bytes=160_000,
...               seconds=2.5))
>>> p(RunFinished("r", seconds=2.6))
>>> print(out.getvalue().rstrip())  # doctest: +NORMALIZE_WHITESPACE
[demo] stage 0 read->filter: done [####################] 100% 4/4 tasks, 2,000,000 rows read,
    20,000 written (160.0 kB), 800.0k rows/s, 2.50s
[demo] done in 2.60s
"""

from __future__ import annotations

import io
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

__all__ = ["TerminalProgress", "human_bytes", "human_count", "bar"]

#: Characters of a stage's bar.
BAR_WIDTH = 20

#: Seconds between two redraws of the running lines.
REDRAW_SECONDS = 0.2


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


def human_count(n: float) -> str:
    """``950``, ``12.3k``, ``2.5M``...: a count (a rate) in three or four digits.

    >>> human_count(950), human_count(12_345), human_count(2_500_000), human_count(999_999)
    ('950', '12.3k', '2.5M', '1.0M')
    """
    for unit in ("", "k", "M", "G"):
        if round(abs(n), 1 if unit else 0) < 1000:
            return f"{n:.1f}{unit}" if unit else f"{n:.0f}"
        n /= 1000
    return f"{n:.1f}T"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A text bar of ``done`` of ``total`` and its percent (a stage of no tasks is complete).

    >>> bar(1, 4), bar(2, 3, 6), bar(0, 0, 4)
    ('[#####---------------]  25%', '[####--]  67%', '[####] 100%')
    """
    share = done / total if total > 0 else 1.0
    filled = min(width, int(share * width))
    return f"[{'#' * filled}{'-' * (width - filled)}] {share:4.0%}"


def _figures(
    done: int, total: int, read_rows: int, rows: int, seconds: float, written: str = ""
) -> str:
    rate = read_rows / seconds if seconds > 0 else 0.0
    return (
        f"{bar(done, total)} {done}/{total} tasks, {read_rows:,} rows read, "
        f"{rows:,} written{written}, {human_count(rate)} rows/s"
    )


class TerminalProgress:
    """Listener printing live per-stage progress to ``stream`` (stderr by default).

    Parameters
    ----------
    flow
        The flow's name, at the start of every line.
    stream
        Where the lines go.
    live
        Whether running stages are drawn (and redrawn in place); by default when ``stream``
        is a terminal. Without it only the final lines are printed.
    width
        Characters a drawn line is cut to (by default the terminal's width, when ``stream``
        is one); final lines are never cut.
    """

    def __init__(
        self,
        flow: str,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        width: int | None = None,
    ) -> None:
        self.flow = flow
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = width
        self.names: dict[int, str] = {}
        self.started: dict[int, float] = {}  # the time of each running stage's StageStarted
        self.running: dict[int, str] = {}  # the figures of each running stage
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

    def line(self, stage: int) -> str | None:
        """The line of running stage ``stage`` as it is drawn now (uncut), None if not running."""
        text = self.running.get(stage)
        return None if text is None else self._line(stage, text)

    def _columns(self) -> int | None:
        if self.width is not None:
            return self.width
        try:
            return os.get_terminal_size(self.stream.fileno()).columns if self.live else None
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            return None

    def _clear(self) -> None:
        if self.live and self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self.last < REDRAW_SECONDS:
            return
        self.last = now
        self._clear()
        columns = self._columns()
        lines = [self._line(stage, text) for stage, text in self.running.items()]
        for line in lines:
            # a line longer than the terminal wraps, and the cursor moves up too few lines
            self.stream.write((line if columns is None else line[: max(1, columns - 1)]) + "\n")
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
            self.started[event.stage] = event.time
            self.running[event.stage] = _figures(0, event.tasks, 0, 0, 0.0) + ", 0.0s"
            self._draw()
        elif isinstance(event, StageProgress):
            seconds = max(0.0, event.time - self.started.get(event.stage, event.time))
            self.running[event.stage] = (
                _figures(event.done, event.total, event.read_rows, event.rows, seconds)
                + f", {seconds:.1f}s"
            )
            self._draw()
        elif isinstance(event, StageFinished):
            self.running.pop(event.stage, None)
            self.started.pop(event.stage, None)
            spill = ", spilled to disk" if event.spilled else ""
            figures = _figures(
                event.tasks,
                event.tasks,
                event.read_rows,
                event.rows,
                event.seconds,
                f" ({human_bytes(event.bytes)})",
            )
            self._print(self._line(event.stage, f"done {figures}, {event.seconds:.2f}s{spill}"))
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
