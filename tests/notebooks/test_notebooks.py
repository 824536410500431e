"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import ast
import json
import re
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from leftovers import TAG, kill_tagged, new_tag, tagged
from nbclient import NotebookClient

TEXT = Path(__file__).parents[2] / "examples" / "data" / "counting.txt"
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
    names = [p.name for p in NOTEBOOKS]
    assert "getting_started.ipynb" in names and "cluster.ipynb" in names


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


def cell_text(nb: nbformat.NotebookNode, marker: str) -> str:
    """The printed output of the one code cell whose source holds ``marker``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    return "".join(o["text"] for o in cell.outputs if o.get("output_type") == "stream")


@pytest.mark.slow
def test_cluster_notebook_counts_on_two_agents_and_stops_its_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = next(p for p in NOTEBOOKS if p.name == "cluster.ipynb")
    nb = nbformat.read(path, as_version=4)
    # Every process the kernel starts inherits the tag, and its temporary folders go here.
    tag = new_tag()
    monkeypatch.setenv(TAG, tag)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    # One cell more, after the notebook's own: the rows it bound, for the check below.
    nb.cells.append(nbformat.v4.new_code_cell("import json\nprint(json.dumps(rows))"))
    try:
        NotebookClient(
            nb,
            timeout=180,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        deadline = time.monotonic() + 10  # the kernel itself may take a moment to exit
        while tagged(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        left = kill_tagged(tag)  # a failed cell may leave the cluster: the last resort
    assert [o for o in outputs_of(nb) if o.get("output_type") == "error"] == []
    assert left == [], f"processes {left} outlived the notebook"

    started = cell_text(nb, 'gleamnb("cluster", "start"')
    (name,) = re.findall(r"^gleamnb cluster '(notebook-\d+)' started: 2 agents", started, re.M)
    (address,) = re.findall(r"^  address: +(tcp://127\.0\.0\.1:\d+)$", started, re.M)
    (record,) = re.findall(r"^  record: +(\S+)$", started, re.M)
    assert Path(record).parent.parent == tmp_path  # a temporary --dir, not the machine's

    words = Counter(w.lower() for w in re.findall(r"[A-Za-z0-9]+", TEXT.read_text()))
    expected = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [tuple(r) for r in json.loads(nb.cells[-1].outputs[0]["text"])]
    assert rows == expected
    assert "on dask" in cell_text(nb, "last_run.summary()")

    status = cell_text(nb, 'gleamnb("cluster", "status"')
    assert f"cluster '{name}'" in status and f"master  {address}" in status
    agents = re.findall(r"^tcp://127\.0\.0\.1:\d+ +\d+ +1 ", status, re.M)
    assert len(agents) == 2, status
    assert re.search(r"word count +finished", status)

    stopped = cell_text(nb, 'gleamnb("cluster", "stop"')
    assert f"gleamnb cluster '{name}' stopped ({address})" in stopped
    assert "processes left: []" in stopped and "record left: False" in stopped
    assert not Path(record).exists() and not Path(record).parent.exists()
