"""The live run view's state through real runs: success, failure and cancel."""

from __future__ import annotations

import operator
import re
import time
from collections import Counter

import pytest

import gleamnb as gl
from gleamnb.notebook.layout import Layout
from gleamnb.notebook.monitor import RunMonitor
from gleamnb.plan.dot import STAGE_FIGURES, stage_of

ORDER = {"pending": 0, "running": 1, "done": 2, "failed": 2, "cancelled": 2}


def monitor_for(flow: gl.Flow, target: gl.Dataset | None, **kw: object) -> RunMonitor:
    datasets = [target] if target is not None else None
    stages = flow.stage_infos(datasets)
    layout = Layout.from_dot(flow.to_dot(stages=True, datasets=datasets))
    return RunMonitor(flow.name, layout, stages, owner=stage_of(stages), widgets=True, **kw)


def word_count(lines: list[str]) -> tuple[gl.Flow, gl.Dataset]:
    f = gl.Flow("wc")
    words = (
        f.strings(lines, shards=3)
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
    )
    return f, words


def test_a_finished_run_goes_pending_running_done_and_keeps_its_figures(inline) -> None:
    lines = ["the cat sat", "the dog", "a cat and the end"] * 50
    f, words = word_count(lines)
    m = monitor_for(f, words)
    table = words.to_arrow(inline, progress=m)
    ref = Counter(w for line in lines for w in line.split())
    assert dict(zip(*table.to_pydict().values())) == ref
    assert m.status == "finished"
    assert [s.state for s in m.stages.values()] == ["done"] * len(m.stages)
    last = max(m.stages)
    assert m.stages[last].rows == len(ref)
    assert m.stages[0].read_rows == len(lines)  # the source's rows, read by the first stage
    assert m.stages[last].read_rows == m.stages[0].rows  # what the shuffle brought
    for sid in m.stages:  # each stage's states only move forward
        seen = [ORDER[h[sid]] for h in m.history]
        assert seen == sorted(seen) and seen[0] == 0
    svg = m.svg()
    assert svg.count('class="gl-cluster gl-state-done"') == len(m.stages)
    assert STAGE_FIGURES not in svg and f"{len(ref)} rows" in svg
    assert "exchange" in svg  # the shuffle edge is drawn apart
    bundle = m.snapshot()
    assert bundle["image/svg+xml"].startswith("<svg") and "done" in bundle["text/html"]


def test_each_text_fits_the_width_graphviz_gave_it(inline) -> None:
    f, words = word_count(["a b"])
    m = monitor_for(f, words)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", m.svg())
    fitted = re.findall(r"<text[^>]*textLength=[^>]*>([^<]*)</text>", m.svg())
    assert fitted == [t for t in texts if t.strip()] and len(fitted) > 5


def test_a_failed_step_turns_red_and_the_run_reads_failed(inline) -> None:
    f = gl.Flow("bad")

    def divide(x: int) -> float:
        return 1 / (x - 7)

    d = f.range(0, 20, shards=2).map(divide, name="divide")
    m = monitor_for(f, d)
    with pytest.raises(gl.UserCodeError):
        d.to_arrow(inline, progress=m)
    assert m.status == "failed"
    assert [s.state for s in m.stages.values()] == ["failed"]
    assert "gl-state-failed" in m.svg() and "ZeroDivisionError" in m.error


def test_cancel_from_the_view_stops_the_run_and_says_so(runner) -> None:
    f = gl.Flow("slow")

    def nap(x: int) -> int:
        time.sleep(0.2)
        return x

    d = f.range(0, 400, shards=4).map(nap)
    m = monitor_for(f, d)
    handle = d.to_arrow(runner, progress=m, wait=False)
    m.on_cancel = lambda: handle.cancel(wait=False)
    deadline = time.time() + 30
    while m.status != "running" and time.time() < deadline:
        time.sleep(0.02)
    m.cancel()
    with pytest.raises(gl.RunCancelledError):
        handle.result(timeout=30)
    assert m.status == "cancelled"
    assert all(s.state == "cancelled" for s in m.stages.values())
    assert "cancelled" in m.header_html() and "nothing of the run was kept" in m.header_html()
    assert m.widget is not None and m._cancel.layout.display == "none"


def test_drawings_are_throttled_to_ten_a_second(inline) -> None:
    f = gl.Flow("many")
    d = f.range(0, 2000, shards=200).map(lambda x: x + 1)
    m = monitor_for(f, d)
    started = time.monotonic()
    assert d.to_arrow(inline, progress=m).num_rows == 2000
    took = time.monotonic() - started
    assert m.drawings <= 10 * took + 5  # a drawing per 0.1 s at most, plus the forced ones


def test_without_dot_the_view_shows_the_text_plan_and_how_to_install_graphviz(
    inline, tmp_path, monkeypatch
) -> None:
    from gleamnb.notebook.layout import DotMissing

    f, words = word_count(["a b a"])
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no `dot` on it
    with pytest.raises(DotMissing):
        Layout.from_dot(f.to_dot(stages=True, datasets=[words]))
    stages = f.stage_infos([words])
    m = RunMonitor(f.name, None, stages, owner=stage_of(stages), text_plan=f.explain())
    assert sorted(words.collect(inline, progress=m)) == [("a", 2), ("b", 1)]
    view = m.dag_html()
    assert "Stages:" in view and "apt-get install graphviz" in view
    assert "image/svg+xml" not in m.snapshot()
