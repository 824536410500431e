"""``%%gleam`` and ``%gleam`` in a real Jupyter kernel, driven as a frontend drives it."""

from __future__ import annotations

import ast
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernels import Cell, Kernel

LINES = ["the cat sat on the mat", "the dog sat", "a cat and a dog and the end"] * 40
REFERENCE = Counter(w for line in LINES for w in line.split())

WORD_COUNT = f"""%%gleam wc -o words
import operator
words = (flow.strings({LINES!r}, shards=3)
         .flat_map(gl.mappers.tokenize)
         .map(gl.mappers.append_one)
         .reduce_by_key(operator.add))
words
"""

SLOW = """%%gleam slow -o slow_rows
import os, time
def nap(x):
    open(os.path.join({folder!r}, str(x)), "w").close()
    time.sleep(0.05)
    return x
flow.range(0, 4000, shards=4).map(nap, name="nap")
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with Kernel(tmp_path_factory.mktemp("kernel")) as k:
        setup = k.run(
            "%load_ext gleamnb\nimport gleamnb as gl\ngl.set_runner(gl.local(executors=2))"
        )
        assert setup.error is None, setup.error
        yield k


def value(kernel: Kernel, expr: str) -> object:
    cell = kernel.run(f"print(repr({expr}))")
    assert cell.error is None, cell.error
    return ast.literal_eval(cell.stdout.strip())


def test_a_cell_binds_its_result_and_shows_dag_progress_and_preview(kernel: Kernel) -> None:
    cell = kernel.run(WORD_COUNT)
    assert cell.error is None, cell.error
    got = value(kernel, "dict(zip(*words.to_pydict().values()))")
    assert got == dict(REFERENCE)
    assert value(kernel, "type(words).__name__") == "Table"
    outputs = cell.of_type("display_data", "update_display_data")
    # the live view comes first, before the run's end replaces it by its final picture
    first = outputs[0]["content"]["data"]
    assert "application/vnd.jupyter.widget-view+json" in first
    final = cell.data("image/svg+xml")
    assert final, "the output keeps a static SVG of the final DAG"
    assert final[-1].count("gl-cluster gl-state-done") == 2
    assert f"{len(REFERENCE)} rows" in final[-1]
    preview = cell.data("text/plain")[-1]
    assert preview.startswith(f"words: {len(REFERENCE)} rows x 2 columns")
    assert "<table>" in cell.data("text/html")[-1]


def test_the_view_updates_while_the_run_goes_on(kernel: Kernel, tmp_path: Path) -> None:
    cell = kernel.run(
        SLOW.format(folder=str(tmp_path)).replace("4000", "40").replace("slow_rows", "few_rows")
    )
    assert cell.error is None, cell.error
    html_models = cell.widgets("HTMLModel")
    assert html_models
    updates = [
        m
        for m in cell.of_type("comm_msg")
        if m["content"]["data"].get("method") == "update"
        and "gl-dag" in str(m["content"]["data"].get("state", {}).get("value", ""))
    ]
    states = [
        re.findall(r"gl-cluster gl-state-(\w+)", m["content"]["data"]["state"]["value"])
        for m in updates
    ]
    assert ["running"] in states and states[-1] == ["done"]
    assert len(updates) <= 10 * 2.5 + 10  # at most ~10 a second (2 s of naps), never per row


def test_dry_run_draws_the_dag_and_plan_and_binds_nothing(kernel: Kernel) -> None:
    cell = kernel.run(WORD_COUNT.replace("-o words", "-o dry --dry-run"))
    assert cell.error is None, cell.error
    assert "gl-state-pending" in cell.data("image/svg+xml")[0]
    assert "Stages:" in cell.data("text/plain")[0]
    assert value(kernel, "'dry' in globals()") is False


def test_braces_and_dollars_in_the_body_are_not_expanded(kernel: Kernel) -> None:
    cell = kernel.run(
        '%%gleam braces -o out\nx = 5\nflow.strings([f"{x}", "$HOME", "{}"]).map(lambda s: s + "!")'
    )
    assert cell.error is None, cell.error
    assert value(kernel, "out.column(0).to_pylist()") == ["5!", "$HOME!", "{}!"]


def test_help_lists_every_option(kernel: Kernel) -> None:
    cell = kernel.run("%%gleam?")
    text = str(cell.reply.get("payload", ""))
    for option in ("-o", "--local", "--cluster", "--dry-run", "--no-cache", "--bg", "--show"):
        assert option in text, option
    line = str(kernel.run("%gleam?").reply.get("payload", ""))
    for command in ("runner", "local", "cluster start", "connect", "status", "stop"):
        assert command in line, command


def test_config_sets_the_defaults(kernel: Kernel) -> None:
    kernel.run("%config GleamMagics.preview_rows = 3")
    try:
        cell = kernel.run(WORD_COUNT.replace("-o words", "-o few"))
        assert "(first 3 shown)" in cell.data("text/plain")[-1]
    finally:
        kernel.run("%config GleamMagics.preview_rows = 20")


def test_a_failing_udf_shows_the_short_error_then_its_cell_and_line(kernel: Kernel) -> None:
    cell = kernel.run(
        "%%gleam bad\ndef divide(x):\n    y = x - 3\n    return 10 // y\n"
        'flow.range(0, 10, shards=2).map(divide, name="divide")'
    )
    assert cell.error is not None and cell.error["ename"] == "GleamRunError"
    assert len(cell.error["traceback"]) == 1  # one line, no frames of the magic itself
    shown = cell.data("text/plain")[-1]
    assert shown.startswith("the function of step 'divide' raised ZeroDivisionError")
    assert "row: (3,)" in shown and "shard 1/2" in shown
    number = cell.reply["execution_count"]
    assert f"Cell In[{number}], line 4, in divide" in shown and "return 10 // y" in shown
    assert "gleamnb/" not in shown.split("Traceback")[-1]  # no pages of our internals
    assert "gl-state-failed" in cell.data("image/svg+xml")[-1]
    assert value(kernel, "1 + 1") == 2


def test_the_cancel_button_stops_a_blocking_cell(kernel: Kernel, tmp_path: Path) -> None:
    clicked: dict[str, float] = {}

    def click_once_running(cell: Cell) -> bool:
        buttons = [
            b for b in cell.widgets("ButtonModel") if b["data"]["state"]["description"] == "Cancel"
        ]
        if not buttons or len(list(tmp_path.iterdir())) < 4:
            return False
        kernel.click(buttons[0]["comm_id"])
        clicked["at"] = time.monotonic()
        return True

    cell = kernel.run(SLOW.format(folder=str(tmp_path)), during=click_once_running)
    ended = time.monotonic()
    assert "at" in clicked
    assert ended - clicked["at"] < 5
    assert cell.error is not None and "was cancelled" in cell.error["evalue"]
    header = cell.data("text/html")[-1]
    assert "cancelled" in header and "nothing of the run was kept" in header
    done = len(list(tmp_path.iterdir()))
    time.sleep(1.0)
    assert len(list(tmp_path.iterdir())) == done < 4000  # no executor works on
    assert value(kernel, "'slow_rows' in globals()") is False
    assert value(kernel, "2 + 2") == 4


def test_an_interrupt_cancels_the_run(kernel: Kernel, tmp_path: Path) -> None:
    sent: dict[str, float] = {}

    def interrupt_once_running(cell: Cell) -> bool:
        if len(list(tmp_path.iterdir())) < 4:
            return False
        kernel.interrupt()
        sent["at"] = time.monotonic()
        return True

    cell = kernel.run(SLOW.format(folder=str(tmp_path)), during=interrupt_once_running)
    assert "at" in sent and time.monotonic() - sent["at"] < 10
    assert cell.error is not None and "was cancelled" in cell.error["evalue"]
    done = len(list(tmp_path.iterdir()))
    time.sleep(1.0)
    assert len(list(tmp_path.iterdir())) == done < 4000
    assert value(kernel, "3 + 3") == 6


def test_a_background_run_updates_its_own_cell_while_others_run(
    kernel: Kernel, tmp_path: Path
) -> None:
    bg = kernel.run(
        SLOW.format(folder=str(tmp_path))
        .replace("4000", "80")
        .replace("-o slow_rows", "--bg -o bg_rows")
        .replace('name="nap")', 'name="nap").map(lambda x: x * 2, name="double")')
    )
    assert bg.error is None, bg.error
    assert "RunHandle" in str(bg.data("text/plain"))
    other = kernel.run('import time\ntime.sleep(1.5)\nprint("other cell")')
    assert other.stdout == "other cell\n"
    assert other.of_type("display_data", "update_display_data") == []
    deadline = time.monotonic() + 60
    while value(kernel, "'bg_rows' in globals()") is False and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(value(kernel, "bg_rows.column(0).to_pylist()")) == [x * 2 for x in range(80)]
    later = kernel.later(bg.msg_id, 0.5)
    finals = [
        m
        for m in later
        if m["msg_type"] == "update_display_data" and "image/svg+xml" in m["content"]["data"]
    ]
    assert finals and "gl-state-done" in finals[-1]["content"]["data"]["image/svg+xml"]


def test_two_background_runs_go_side_by_side(kernel: Kernel, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for folder, var in ((a, "ra"), (b, "rb")):
        cell = kernel.run(
            SLOW.format(folder=str(folder))
            .replace("4000", "40")
            .replace("-o slow_rows", f"--bg -o {var}")
        )
        assert cell.error is None, cell.error
    deadline = time.monotonic() + 60
    while (
        not value(kernel, "'ra' in globals() and 'rb' in globals()") and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert value(kernel, "ra.num_rows + rb.num_rows") == 80


def test_line_magic_sets_the_session_runner(kernel: Kernel) -> None:
    cell = kernel.run("%gleam local --executors 1")
    assert cell.error is None, cell.error
    assert "LocalRunner(executors=1" in cell.data("text/plain")[-1]
    assert value(kernel, "gl.get_runner() is gl.local(executors=1)") is True
    assert "LocalRunner(executors=1" in kernel.run("%gleam runner").data("text/plain")[-1]
    bad = kernel.run("%gleam nonsense")
    assert bad.reply["status"] == "error" and "unknown %gleam command" in bad.stdout
    kernel.run("gl.set_runner(gl.local(executors=2))")
