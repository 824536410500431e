"""Progress while a stage runs: rows and bytes read and written, in the events and on the
terminal (real runs of the local runner; the cluster's are in ``tests/cluster``)."""

from __future__ import annotations

import io
import re

import progress_checks
import pytest

import gleamnb as gl
from gleamnb import events
from gleamnb.runners.local import LocalRunner
from gleamnb.runners.terminal import TerminalProgress


def test_a_local_run_reports_the_rows_its_stages_read_and_write(runner: LocalRunner) -> None:
    seen = progress_checks.run("progress local", runner)
    progress_checks.check(seen)


def test_an_inline_run_reports_the_same_figures(inline: LocalRunner) -> None:
    progress_checks.check(progress_checks.run("progress inline", inline))


def test_a_stage_of_steps_that_keep_no_rows_reports_what_it_read() -> None:
    seen: list[events.Event] = []
    total = (
        gl.Flow("counted")
        .range(0, 300_000, shards=3)
        .count(gl.local(mode="inline"), progress=seen.append)
    )
    assert total == 300_000
    (finished,) = [e for e in seen if isinstance(e, events.StageFinished)]
    assert (finished.read_rows, finished.read_bytes, finished.rows) == (300_000, 2_400_000, 0)
    progress = [e for e in seen if isinstance(e, events.StageProgress)]
    assert progress[0].done == 0 and progress[0].read_rows > 0


STAGE = events.StageInfo(0, "range->filter", 4, (0,), (), "forward")


def in_progress(p: TerminalProgress) -> None:
    """A run of one stage of 4 tasks, 1.5 s in: one task done, 600,000 rows read."""
    p(events.RunStarted("r", flow="demo", runner="local", stages=(STAGE,)))
    p(events.StageStarted("r", stage=0, tasks=4, time=1000.0))
    p(
        events.StageProgress(
            "r", stage=0, done=1, total=4, read_rows=600_000, rows=6_000, bytes=48_000, time=1001.5
        )
    )


def test_the_terminal_shows_a_running_stage_with_its_bar_rows_rate_and_time() -> None:
    out = io.StringIO()
    p = TerminalProgress("demo", stream=out, live=True)
    in_progress(p)
    expected = (
        "[demo] stage 0 range->filter: [#####---------------]  25% 1/4 tasks, "
        "600,000 rows read, 6,000 written, 400.0k rows/s, 1.5s"
    )
    assert p.line(0) == expected
    # drawn at the stage's start; the progress that came within 0.2 s waits for the next draw
    drawn = out.getvalue()
    assert drawn == (
        "[demo] stage 0 range->filter: [--------------------]   0% 0/4 tasks, "
        "0 rows read, 0 written, 0 rows/s, 0.0s\n"
    )
    assert expected not in drawn
    p.last -= 0.2  # as if 0.2 s had passed since that draw
    p(
        events.StageProgress(
            "r",
            stage=0,
            done=2,
            total=4,
            read_rows=1_200_000,
            rows=12_000,
            bytes=96_000,
            time=1002.0,
        )
    )
    redrawn = out.getvalue()[len(drawn) :]
    assert redrawn == (
        "\x1b[1F\x1b[J[demo] stage 0 range->filter: [##########----------]  50% 2/4 tasks, "
        "1,200,000 rows read, 12,000 written, 600.0k rows/s, 2.0s\n"
    )
    p(
        events.StageFinished(
            "r", stage=0, tasks=4, read_rows=2_000_000, rows=20_000, bytes=160_000, seconds=2.5
        )
    )
    assert out.getvalue()[len(drawn) + len(redrawn) :] == (
        "\x1b[1F\x1b[J[demo] stage 0 range->filter: done [####################] 100% 4/4 "
        "tasks, 2,000,000 rows read, 20,000 written (160.0 kB), 800.0k rows/s, 2.50s\n"
    )


def test_a_drawn_line_is_cut_to_the_terminal_width() -> None:
    out = io.StringIO()
    p = TerminalProgress("demo", stream=out, live=True, width=40)
    in_progress(p)
    assert out.getvalue() == "[demo] stage 0 range->filter: [--------\n"
    assert len(p.line(0) or "") > 40  # the line itself is whole


@pytest.mark.parametrize("live", [False, True])
def test_the_terminal_display_of_a_real_run(runner: LocalRunner, live: bool) -> None:
    out = io.StringIO()
    seen: list[events.Event] = []
    display = TerminalProgress("shown", stream=out, live=live)

    def both(event: events.Event) -> None:
        seen.append(event)
        display(event)

    got = progress_checks.flow("shown").collect(runner, progress=both)
    assert len(got) == progress_checks.KEPT
    text = out.getvalue()
    (first,) = [e for e in seen if isinstance(e, events.StageFinished) and e.stage == 0]
    rate = f"{first.read_rows / first.seconds / 1000:.1f}k"
    if first.read_rows / first.seconds >= 999_950:
        rate = f"{first.read_rows / first.seconds / 1e6:.1f}M"
    final = (
        "[shown] stage 0 range->keep->local_sort: done [####################] 100% 4/4 tasks, "
        f"2,000,000 rows read, 20,000 written (160.0 kB), {rate} rows/s, {first.seconds:.2f}s\n"
    )
    assert final in text
    assert re.search(
        r"\[shown\] stage 1 sort: done \[#{20}\] 100% 4/4 tasks, 20,000 rows read", text
    )
    assert text.endswith(f"[shown] done in {seen[-1].seconds:.2f}s\n")  # type: ignore[attr-defined]
    running = re.findall(r"stage 0 range->keep->local_sort: \[[#-]{20}\] +\d+% \d/4 tasks", text)
    assert bool(running) == live
