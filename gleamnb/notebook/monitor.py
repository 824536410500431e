"""The live view of one run: its DAG, a bar per stage and for the whole run, and Cancel.

:class:`RunMonitor` is a listener of the typed run events (:mod:`gleamnb.events`), so it shows
a local run and a cluster run alike. Events may come from any thread; the monitor keeps the
run's state under a lock and redraws at most five times a second (a timer draws the last
state of a burst), and at once when the run ends. The DAG is laid out once, before the run
starts (:class:`~gleamnb.notebook.layout.Layout`); each drawing only changes the state
classes of its boxes and the figures line of each stage. When the run ends,
:meth:`RunMonitor.snapshot` is the final view as static ``text/html`` and ``image/svg+xml``,
which the cell's output keeps, so a saved notebook shows it without a kernel.

Examples
--------
>>> from gleamnb.events import RunStarted, StageInfo, StageStarted, StageFinished, RunFinished
>>> stage = StageInfo(0, "range->map", 2, (0, 1), (), "forward")
>>> m = RunMonitor("demo", None, (stage,), text_plan="stage 0: range->map")
>>> m(RunStarted("r", flow="demo", runner="local", stages=(stage,)))
>>> m(StageStarted("r", stage=0, tasks=2))
>>> m(StageFinished("r", stage=0, tasks=2, rows=10, bytes=80, seconds=0.1))
>>> m(RunFinished("r", seconds=0.2, rows=10))
>>> m.status, m.stages[0].state, m.stages[0].rows
('finished', 'done', 10)
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gleamnb.events import (
    Event,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    StageCached,
    StageFailed,
    StageFinished,
    StageInfo,
    StageProgress,
    StageStarted,
)
from gleamnb.notebook.layout import Layout
from gleamnb.notebook.style import CSS
from gleamnb.plan.dot import STAGE_FIGURES
from gleamnb.runners.terminal import human_bytes, human_count

__all__ = ["RunMonitor", "StageView"]

#: Seconds between two drawings: at most five a second (as the terminal display; ten cost
#: 3-4% of a 2,000-task run, benchmarks/notebook_costs.py), and at once when the run
#: starts, a stage fails or the run ends.
DRAW_INTERVAL = 0.2


@dataclass
class StageView:
    """What the monitor knows of one stage."""

    info: StageInfo
    state: str = "pending"  # pending | running | done | cached | failed | cancelled
    done: int = 0
    rows: int = 0
    bytes: int = 0
    read_rows: int = 0
    read_bytes: int = 0
    started: float | None = None
    seconds: float = 0.0
    error: str = ""

    def elapsed(self, now: float) -> float:
        if self.state == "running" and self.started is not None:
            return now - self.started
        return self.seconds

    def figures(self, now: float) -> str:
        """The stage's figures line: tasks, rows, bytes and time."""
        if self.state == "pending":
            return f"pending · {self.info.tasks} tasks"
        if self.state == "cached":
            return f"cached · {human_count(self.rows)} rows · {human_bytes(self.bytes)}"
        if self.state == "failed":
            return f"failed · {self.done}/{self.info.tasks} tasks"
        rows = f"{human_count(self.rows)} rows"
        return (
            f"{self.done}/{self.info.tasks} tasks · {rows} · {human_bytes(self.bytes)} · "
            f"{self.elapsed(now):.1f}s"
        )


class RunMonitor:
    """A run's live view and the listener that feeds it.

    Parameters
    ----------
    flow
        The flow's name (the view's title).
    layout
        The DAG laid out by graphviz, or None when ``dot`` is missing (the text plan shows).
    stages
        The run's stages (``Flow.stage_infos``), known before it starts.
    owner
        For each dataset id, the stage that finishes it (``gleamnb.plan.dot.stage_of``).
    text_plan
        ``Flow.explain()``, shown when there is no layout.
    on_cancel
        Called when the Cancel button is clicked.
    show
        Parts to show: ``dag`` and ``progress``.
    widgets
        Build the ipywidgets view (False: state and snapshots only, e.g. outside a kernel).
    layout_pending
        The layout comes later (:meth:`set_layout`): no DAG is drawn until then.
    """

    def __init__(
        self,
        flow: str,
        layout: Layout | None,
        stages: Sequence[StageInfo],
        *,
        owner: dict[int, int] | None = None,
        text_plan: str = "",
        on_cancel: Callable[[], Any] | None = None,
        show: Sequence[str] = ("dag", "progress"),
        widgets: bool = False,
        layout_pending: bool = False,
    ) -> None:
        self.flow = flow
        self.layout = layout
        self.stages = {s.id: StageView(s) for s in stages}
        self.owner = owner or {}
        self.text_plan = text_plan
        self.on_cancel = on_cancel
        self.show = tuple(show)
        self.status = "pending"
        self.runner = ""
        self.error = ""
        self.seconds = 0.0
        self.started = time.time()
        self.history: list[dict[int, str]] = []  # the stage states of each drawing
        self.drawings = 0
        self._lock = threading.RLock()
        self._last_draw = 0.0
        self._timer: threading.Timer | None = None
        self._pending = layout_pending
        self._figures_at = self._find_figures()
        self.widget: Any = None
        if widgets:
            self._build_widgets()
            self.draw()

    # -- events ---------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._apply(event)
            final = isinstance(event, (RunFinished, RunFailed, RunCancelled))
        self.request_draw(force=final or isinstance(event, (RunStarted, StageFailed)))

    def _apply(self, e: Event) -> None:
        if isinstance(e, RunStarted):
            self.status, self.runner, self.started = "running", e.runner, e.time
            for info in e.stages:
                self.stages.setdefault(info.id, StageView(info)).info = info
            return
        if isinstance(e, (RunFinished, RunFailed, RunCancelled)):
            self.seconds = e.seconds
            if isinstance(e, RunFinished):
                self.status = "finished"
            elif isinstance(e, RunFailed):
                self.status, self.error = "failed", e.error
            else:
                self.status = "cancelled"
                for s in self.stages.values():
                    if s.state in ("running", "pending"):
                        s.state, s.seconds = "cancelled", s.elapsed(e.time)
            return
        stage = getattr(e, "stage", None)
        view = self.stages.get(stage) if stage is not None else None
        if view is None:
            return
        if isinstance(e, StageStarted):
            view.state, view.started = "running", e.time
        elif isinstance(e, StageProgress):
            view.done, view.rows, view.bytes = e.done, e.rows, e.bytes
            view.read_rows, view.read_bytes = e.read_rows, e.read_bytes
        elif isinstance(e, StageFinished):
            view.state, view.done, view.rows, view.bytes = "done", e.tasks, e.rows, e.bytes
            view.seconds = e.seconds
            view.read_rows, view.read_bytes = e.read_rows, e.read_bytes
        elif isinstance(e, StageFailed):
            view.state, view.error = "failed", e.error
            view.seconds = view.elapsed(e.time)
        elif isinstance(e, StageCached):
            view.state, view.rows, view.bytes = "cached", e.rows, e.bytes

    # -- drawing --------------------------------------------------------------------------------

    def request_draw(self, force: bool = False) -> None:
        """Draw now if the last drawing is old enough (or ``force``), else soon, once."""
        with self._lock:
            wait = DRAW_INTERVAL - (time.monotonic() - self._last_draw)
            if force or wait <= 0:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self.draw()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._timed_draw)
                self._timer.daemon = True
                self._timer.start()

    def _timed_draw(self) -> None:
        with self._lock:
            self._timer = None
            self.draw()

    def draw(self) -> None:
        """Bring the view up to date (the widget's values; the history for tests)."""
        with self._lock:
            self._last_draw = time.monotonic()
            self.drawings += 1
            self.history.append({sid: s.state for sid, s in self.stages.items()})
            if self.widget is None:
                return
            self._header.value = self.header_html()
            if "dag" in self.show:
                self._dag.value = self.dag_html()
            if "progress" in self.show:
                self._bars.value = self.progress_html()
            running = self.status in ("pending", "running")
            self._cancel.disabled = not running or self.on_cancel is None
            self._cancel.layout.display = "" if running else "none"

    def set_layout(self, layout: Layout | None) -> None:
        """The DAG's layout, once graphviz has made it (None: ``dot`` is missing)."""
        with self._lock:
            self.layout, self._pending = layout, False
            self._figures_at = self._find_figures()
        self.request_draw(force=True)

    def _find_figures(self) -> dict[str, int]:
        """For each stage box, the index of its figures line among the box's texts."""
        if self.layout is None:
            return {}
        out = {}
        for sid in self.stages:
            texts = self.layout.texts(f"s{sid}")
            if STAGE_FIGURES in texts:
                out[f"s{sid}"] = texts.index(STAGE_FIGURES)
        return out

    def _state_of_dataset(self, d: int) -> str:
        sid = self.owner.get(d)
        if sid is None or sid not in self.stages:
            return "done" if self.status == "finished" else "pending"
        return self.stages[sid].state

    def svg(self) -> str:
        """The DAG now, as SVG (empty without a layout)."""
        if self.layout is None:
            return ""
        now = time.time()
        classes: dict[str, str] = {}
        texts: dict[str, dict[int, str]] = {}
        for shape in self.layout.shapes:
            if shape.kind == "node" and shape.id.startswith("d") and shape.id[1:].isdigit():
                classes[shape.id] = f"gl-state-{self._state_of_dataset(int(shape.id[1:]))}"
            elif shape.kind == "node":  # a sink
                classes[shape.id] = "gl-state-" + (
                    "done" if self.status == "finished" else "pending"
                )
        for sid, view in self.stages.items():
            key = f"s{sid}"
            classes[key] = f"gl-state-{view.state}"
            if key in self._figures_at:
                texts[key] = {self._figures_at[key]: view.figures(now)}
        return self.layout.svg(classes, texts, css=CSS, root_class="gl-dag")

    def header_html(self) -> str:
        word = {
            "pending": "starting",
            "running": "running",
            "finished": "done",
            "failed": "failed",
            "cancelled": "cancelled",
        }[self.status]
        elapsed = (
            self.seconds
            if self.status not in ("pending", "running")
            else (time.time() - self.started)
        )
        total = sum(s.info.tasks for s in self.stages.values())
        done = sum(
            s.info.tasks if s.state in ("done", "cached") else s.done for s in self.stages.values()
        )
        where = f" on {html.escape(self.runner)}" if self.runner else ""
        extra = ""
        if self.status == "cancelled":
            extra = f" — {done}/{total} tasks had finished; nothing of the run was kept"
        return (
            f'<div class="gl-header gl-status-{self.status}"><b>{html.escape(self.flow)}</b>'
            f"{where}: <span class='gl-word'>{word}</span> · {done}/{total} tasks · "
            f"{elapsed:.1f}s{html.escape(extra)}</div>"
        )

    def _elapsed(self) -> float:
        if self.status in ("pending", "running"):
            return time.time() - self.started
        return self.seconds

    def dag_html(self) -> str:
        if self._pending:
            return ""
        if self.layout is not None:
            return f'<div class="gl-dag-box">{self.svg()}</div>'
        return (
            f'<pre class="gl-plan">{html.escape(self.text_plan)}</pre>'
            '<div class="gl-note">The DAG is drawn by graphviz\'s <code>dot</code> program, '
            "which is not installed: <code>sudo apt-get install graphviz</code>, "
            "<code>brew install graphviz</code> or <code>conda install graphviz</code>.</div>"
        )

    def progress_html(self) -> str:
        """A bar per stage and one for the whole run, with rows, bytes, rate and time."""
        now = time.time()
        rows = []
        total = done = 0
        for sid in sorted(self.stages):
            s = self.stages[sid]
            tasks = s.info.tasks
            finished = tasks if s.state in ("done", "cached") else s.done
            total += tasks
            done += finished
            pct = 100.0 * finished / tasks if tasks else 100.0
            secs = s.elapsed(now)
            rate = f"{human_count(s.read_rows / secs)}/s" if secs > 0 and s.read_rows else ""
            rows.append(
                f'<tr class="gl-state-{s.state}"><td>stage {sid}</td>'
                f"<td title='{html.escape(s.info.name)}'>{html.escape(_short(s.info.name))}</td>"
                f'<td class="gl-barcell"><div class="gl-bar"><div style="width:{pct:.1f}%">'
                f"</div></div></td><td>{pct:.0f}%</td><td>{finished}/{tasks}</td>"
                f"<td>{human_count(s.read_rows)} · {human_bytes(s.read_bytes)}</td>"
                f"<td>{human_count(s.rows)} · {human_bytes(s.bytes)}</td>"
                f"<td>{rate}</td><td>{secs:.1f}s</td><td>{s.state}</td></tr>"
            )
        pct = 100.0 * done / total if total else 100.0
        head = (
            "<tr><th></th><th>steps</th><th>progress</th><th></th><th>tasks</th>"
            "<th>read (rows · bytes)</th><th>written (rows · bytes)</th><th>read rate</th>"
            "<th>time</th><th>state</th></tr>"
        )
        whole = (
            f'<tr class="gl-run gl-state-{_RUN_STATES[self.status]}">'
            '<td colspan="2"><b>run</b></td>'
            f'<td class="gl-barcell"><div class="gl-bar"><div style="width:{pct:.1f}%"></div>'
            f"</div></td><td>{pct:.0f}%</td><td>{done}/{total}</td>"
            f"<td colspan='3'></td><td>{self._elapsed():.1f}s</td><td>{self.status}</td></tr>"
        )
        return f'<table class="gl-progress">{head}{"".join(rows)}{whole}</table>'

    def snapshot(self) -> dict[str, str]:
        """The view as static output (``text/html``, ``image/svg+xml``, ``text/plain``)."""
        with self._lock:
            parts = [f"<style>{CSS}</style>", self.header_html()]
            if "dag" in self.show:
                parts.append(self.dag_html())
            if "progress" in self.show:
                parts.append(self.progress_html())
            bundle = {"text/html": "".join(parts), "text/plain": self.text()}
            svg = self.svg()
            if svg and "dag" in self.show:
                bundle["image/svg+xml"] = svg
            return bundle

    def text(self) -> str:
        lines = [f"{self.flow}: {self.status} in {self.seconds:.2f}s"]
        for sid in sorted(self.stages):
            s = self.stages[sid]
            lines.append(f"  stage {sid} {s.info.name}: {s.state}, {s.figures(time.time())}")
        return "\n".join(lines)

    # -- widgets --------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        import ipywidgets as w

        self._header = w.HTML()
        self._dag = w.HTML()
        self._bars = w.HTML()
        self._cancel = w.Button(description="Cancel", icon="stop", button_style="warning")
        self._cancel.on_click(lambda _: self.cancel())
        parts = [w.HBox([self._header, self._cancel]), w.HTML(f"<style>{CSS}</style>")]
        if "dag" in self.show:
            parts.append(self._dag)
        if "progress" in self.show:
            parts.append(self._bars)
        self.widget = w.VBox(parts)
        self.widget.add_class("gl-monitor")

    def cancel(self) -> None:
        """What the Cancel button does: ask the run to stop (it ends as ``cancelled``)."""
        if self.on_cancel is not None and self.status in ("pending", "running"):
            self.on_cancel()

    @property
    def cancel_button(self) -> Any:
        """The Cancel button (None without widgets)."""
        return self._cancel if self.widget is not None else None


_RUN_STATES = {
    "pending": "pending",
    "running": "running",
    "finished": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _short(name: str, limit: int = 32) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."
