"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def outputs_of(nb: nbformat.NotebookNode) -> list[dict[str, object]]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for out in outputs_of(nb):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for o in outputs_of(nb) if o.get("output_type") == "error"]
    assert errors == []


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] and "getting_started.ipynb" in [p.name for p in NOTEBOOKS]


@pytest.mark.slow
def test_getting_started_shows_results_plan_and_dag() -> None:

    path = next(p for p in NOTEBOOKS if p.name == "getting_started.ipynb")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    text = text_of(nb)
    (collect_cell,) = [c for c in nb.cells if c.source.startswith("rows = top.collect()")]
    rows = ast.literal_eval(collect_cell.outputs[0]["data"]["text/plain"])
    words = Counter(
        w.lower()
        for w in re.findall(
            r"[A-Za-z0-9]+", (path.parents[1] / "examples/data/counting.txt").read_text()
        )
    )
    top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    assert rows == top
    assert "read->tokenize->lowercase->append_one->local_reduce_by_key" in text
    svgs = [o for o in outputs_of(nb) if "data" in o and "image/svg+xml" in o["data"]]
    assert svgs and "d5" in svgs[0]["data"]["image/svg+xml"]
    (join_cell,) = [c for c in nb.cells if "full_outer_join" in c.source]
    assert ast.literal_eval(join_cell.outputs[0]["data"]["text/plain"]) == [
        (1, "ada", "analytical engine"),
        (2, "grace", "cobol"),
        (3, "edsger", None),
        (4, None, "lisp"),
    ]
    assert "step 'divide'" in text and "row: (0,)" in text
