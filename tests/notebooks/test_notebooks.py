"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel.

Each notebook runs once per module (the :func:`executed` fixture), with its cwd in
``notebooks/``; the checks of a notebook compare what its cells printed or bound with an
answer computed here in plain Python (``collections.Counter``, the ``csv`` module, ...).
"""

from __future__ import annotations

import ast
import csv
import inspect
import json
import os
import re
import shlex
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from leftovers import TAG, kill_tagged, new_tag, tagged
from nbclient import NotebookClient

import gleamnb as gl

TEXT = Path(__file__).parents[2] / "examples" / "data" / "counting.txt"
FOLDER = Path(__file__).parents[2] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
#: cluster.ipynb starts a cluster: its own test below runs it (and checks it has no errors)
#: with its processes tagged, so that none outlives it.
PLAIN = [p for p in NOTEBOOKS if p.name != "cluster.ipynb"]


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


class Executed:
    """A notebook run to its end in a real kernel: the notebook with its outputs, how long
    it took, and the pids of the processes it started that outlived its kernel."""

    def __init__(self, path: Path) -> None:
        self.nb = nbformat.read(path, as_version=4)
        tag = new_tag()
        before = os.environ.get(TAG)
        os.environ[TAG] = tag  # the kernel and every process it starts inherit it
        started = time.monotonic()
        try:
            NotebookClient(
                self.nb,
                timeout=180,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            self.seconds = time.monotonic() - started
            deadline = time.monotonic() + 10  # the kernel's executors may take a moment
            while tagged(tag) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            if before is None:
                del os.environ[TAG]
            else:
                os.environ[TAG] = before
            self.left = kill_tagged(tag)


@pytest.fixture(scope="module")
def executed() -> Iterator[Callable[[str], Executed]]:
    """``executed(name)``: notebooks/NAME, run once for the whole module."""
    done: dict[str, Executed] = {}

    def get(name: str) -> Executed:
        if name not in done:
            done[name] = Executed(FOLDER / name)
        return done[name]

    yield get


@pytest.mark.slow
@pytest.mark.parametrize("path", PLAIN, ids=[p.name for p in PLAIN])
def test_notebook_runs_without_errors(path: Path, executed: Callable[[str], Executed]) -> None:
    run = executed(path.name)
    errors = [o for o in outputs_of(run.nb) if o.get("output_type") == "error"]
    assert errors == []
    assert run.left == [], f"processes {run.left} outlived the notebook's kernel"


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert names >= {
        "getting_started.ipynb",
        "cluster.ipynb",
        "word_count.ipynb",
        "unix_pipes.ipynb",
        "csv_join.ipynb",
        "operators.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.slow
def test_getting_started_shows_results_plan_and_dag(executed: Callable[[str], Executed]) -> None:
    path = FOLDER / "getting_started.ipynb"
    nb = executed(path.name).nb
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


# ---------------------------------------------------------------------------------------------
# The %%gleam notebooks: word_count, unix_pipes, csv_join, operators


def words_of_text() -> Counter[str]:
    """The bundled text's words, lower-cased, counted in plain Python."""
    return Counter(w.lower() for w in re.findall(r"[A-Za-z0-9]+", TEXT.read_text()))


def most_frequent(counts: Counter[str]) -> list[tuple[str, int]]:
    """Every (word, count), the most frequent first, ties by word."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def gleam_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%gleam")]


def options(cell: nbformat.NotebookNode) -> tuple[str, str | None, bool]:
    """The flow name, the ``-o`` variable and ``--dry-run`` of a ``%%gleam`` cell."""
    words = shlex.split(cell.source.splitlines()[0])[1:]
    var = words[words.index("-o") + 1] if "-o" in words else None
    return words[0], var, "--dry-run" in words


def shown(cell: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [o["data"] for o in cell.outputs if "data" in o]


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o["text"] for o in cell.outputs if o.get("output_type") == "stream")


def check_gleam_cells(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Every ``%%gleam`` cell kept a static SVG of its DAG and its text; a run kept the
    finished DAG (each stage done) and a preview of what it bound. The previews by variable."""
    previews: dict[str, str] = {}
    cells = gleam_cells(nb)
    assert cells
    for cell in cells:
        name, var, dry = options(cell)
        data = shown(cell)
        assert data and "image/svg+xml" in data[0], f"{name}: no static DAG in {cell.source!r}"
        svg, text = data[0]["image/svg+xml"], data[0]["text/plain"]
        assert svg.startswith("<svg") and 'class="gl-dag"' in svg
        assert "application/vnd.jupyter.widget-view+json" not in data[0]  # the live view went
        if dry:
            stages = re.findall(r"^  stage \d+: ", text, re.M)
            assert text.startswith(f"Flow {name!r}\nDatasets:\n") and "Stages:" in text
            assert svg.count("gl-cluster gl-state-pending") == len(stages) > 0
            assert len(data) == 1, f"{name}: a dry run shows no preview"
            continue
        assert text.startswith(f"{name}: finished in "), text
        done = text.count(": done, ")
        assert svg.count("gl-cluster gl-state-done") == done
        assert "gl-state-running" not in svg.split("</style>")[-1]
        assert var is not None and len(data) == 2, f"{name}: a run with -o shows its preview"
        previews[var] = data[1]["text/plain"]
        assert previews[var].startswith(f"{var}: "), previews[var]
    return previews


def literals(cell: nbformat.NotebookNode) -> list[Any]:
    """The Python literals a cell printed, one a line."""
    return [ast.literal_eval(line) for line in printed(cell).splitlines() if line.strip()]


def last_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return [c for c in nb.cells if c.cell_type == "code"][-1]


@pytest.mark.slow
def test_word_count_notebook_counts_every_word(executed: Callable[[str], Executed]) -> None:
    run = executed("word_count.ipynb")
    nb = run.nb
    words = words_of_text()
    expected = most_frequent(words)
    rows, top5 = literals(last_code_cell(nb))
    assert rows == sorted(words.items())
    assert top5 == expected[:5]
    assert all(type(n) is int for _, n in rows)

    # the plain-Python look at the table bound to `counts`: its order is the sort's
    (look,) = [c for c in nb.cells if c.source.startswith("rows = list(zip(")]
    lines = printed(look).splitlines()
    assert lines[0] == f"{len(words)} distinct words, {sum(words.values())} words in all"
    assert [tuple(line.split()) for line in lines[1:]] == [(w, str(n)) for w, n in expected[:10]]

    previews = check_gleam_cells(nb)
    assert set(previews) == {"counts", "top5"}
    assert previews["counts"].startswith(
        f"counts: {len(words)} rows x 2 columns (first 20 shown)\n"
    )
    assert previews["top5"].startswith("top5: 5 rows x 2 columns\n")
    top_line = [line for line in previews["top5"].splitlines() if line.startswith("the ")]
    assert top_line == [f"the | {words['the']}"]
    (dry,) = [c for c in gleam_cells(nb) if options(c)[2]]
    assert (
        "read->tokenize->lowercase->append_one->local_reduce_by_key" in shown(dry)[0]["text/plain"]
    )
    assert run.seconds < 30


@pytest.mark.slow
def test_unix_pipes_notebook_counts_as_the_shell_would(
    executed: Callable[[str], Executed],
) -> None:
    run = executed("unix_pipes.ipynb")
    nb = run.nb
    words = words_of_text()
    rows, top10 = literals(last_code_cell(nb))
    assert rows == sorted(words.items())
    # the pipes' own sort and head: every field a string, as pipe gives them back
    assert top10 == [(w, str(n)) for w, n in most_frequent(words)[:10]]
    (look,) = [c for c in nb.cells if c.source.startswith("rows = list(zip(")]
    assert printed(look) == f"{len(words)} distinct words, {sum(words.values())} words in all\n"

    previews = check_gleam_cells(nb)
    assert previews["counted"].startswith(f"counted: {len(words)} rows x 2 columns")
    assert previews["top10"].startswith("top10: 10 rows x 2 columns\n")
    counted = next(c for c in gleam_cells(nb) if options(c)[1] == "counted")
    assert "sort->uniq->awk->to_int" in shown(counted)[0]["text/plain"]
    assert run.seconds < 30


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_csv_join_notebook_joins_as_the_csv_module_does(
    executed: Callable[[str], Executed],
) -> None:
    run = executed("csv_join.ipynb")
    nb = run.nb
    authors = {int(a["id"]): a for a in read_csv(FOLDER / "data" / "authors.csv")}
    books = read_csv(FOLDER / "data" / "books.csv")
    joined = sorted(
        (
            int(b["author_id"]),
            b["title"],
            int(b["year"]),
            authors[int(b["author_id"])]["name"],
            authors[int(b["author_id"])]["city"],
        )
        for b in books
        if int(b["author_id"]) in authors
    )
    per_author = Counter(int(b["author_id"]) for b in books)
    counts = [(i, a["name"], per_author[i]) for i, a in sorted(authors.items())]
    # the data has what the notebook shows: a book without its author, an author without
    # books, an author with two, and quoted values holding commas
    assert len(joined) < len(books) and 0 in [n for *_, n in counts] and 2 in per_author.values()
    assert any("," in r[1] for r in joined) and any("," in r[4] for r in joined)

    got_joined, got_counts = literals(last_code_cell(nb))
    assert got_joined == sorted(joined, key=lambda r: (r[0], r[2]))
    assert got_counts == counts

    previews = check_gleam_cells(nb)
    assert previews["joined"].startswith(f"joined: {len(joined)} rows x 5 columns\n")
    header = previews["joined"].splitlines()[1]
    assert [h.strip() for h in header.split("|")] == ["author_id", "title", "year", "name", "city"]
    assert previews["per_author"].startswith(f"per_author: {len(counts)} rows x 3 columns\n")
    assert run.seconds < 30


def operators_data(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The constants the notebook's first code cell assigns (SALES, PRICES...)."""
    setup = next(c for c in nb.cells if c.cell_type == "code").source
    tree = ast.parse("\n".join(line for line in setup.splitlines() if not line.startswith("%")))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def joined(
    left: list[tuple[Any, Any]], right: list[tuple[Any, Any]], how: str
) -> list[tuple[Any, Any, Any]]:
    """A join on field 1 of two lists of (key, value) with unique keys, in plain Python."""
    lv, rv = dict(left), dict(right)
    keys = {
        "inner": lv.keys() & rv.keys(),
        "left": lv.keys(),
        "right": rv.keys(),
        "full": lv.keys() | rv.keys(),
    }[how]
    return [(k, lv.get(k), rv.get(k)) for k in sorted(keys)]


@pytest.mark.slow
def test_operators_notebook_gives_each_operators_result(
    executed: Callable[[str], Executed],
) -> None:
    run = executed("operators.ipynb")
    nb = run.nb
    data = operators_data(nb)
    sales, prices, stock, numbers = data["SALES"], data["PRICES"], data["STOCK"], data["NUMBERS"]
    halves = [numbers[: len(numbers) // 2], numbers[len(numbers) // 2 :]]  # ints(shards=2)
    bound, actions = literals(last_code_cell(nb))

    totals: Counter[str] = Counter()
    for fruit, n in sales:
        totals[fruit] += n
    per_shard = []
    for half in (sales[:3], sales[3:]):  # slices(shards=2)
        sums: dict[str, int] = {}
        for fruit, n in half:
            sums[fruit] = sums.get(fruit, 0) + n
        per_shard += sums.items()
    groups: dict[str, list[int]] = defaultdict(list)
    for fruit, n in sales:
        groups[fruit].append(n)
    by_count = sorted(sales, key=lambda r: (-r[1], r[0]))
    price = dict(prices)

    exact = {
        "mapped": [(f, n * 10) for f, n in sales],
        "flat_mapped": [(w,) for line in ["the cat sat", "on the mat"] for w in line.split()],
        "filtered": [(f, n) for f, n in sales if n >= 3],
        "selected": [(n, f) for f, n in sales],
        "batched": [(f, n * n) for f, n in sales],
        "piped": [(w,) for w in sorted(["pear", "apple", "fig"])],
        "piped_args": [(f"{f} has {n}",) for f, n in stock],
        "local_sorted": [(x,) for h in halves for x in sorted(h)],
        "local_topped": [(x,) for h in halves for x in sorted(h, reverse=True)[:2]],
        "local_limited": [(x,) for h in halves for x in h[1:3]],
        "reduced": [(sum(range(1, 101)),)],
        "sorted_sales": by_count,
        "topped": by_count[:3],
        "limited": [(x,) for x in range(100)[2:5]],
        "inner": joined(stock, prices, "inner"),
        "left": joined(stock, prices, "left"),
        "right": joined(stock, prices, "right"),
        "full": joined(stock, prices, "full"),
        "dealt": [(x,) for x in range(6) if x % 2 == 0] + [(x,) for x in range(6) if x % 2],
        "broadcasted": [(7,), (8,)] * 3,
        "merged": [(x,) for x in range(6)],
        "merged_sorted": [(x,) for x in sorted(numbers)],
        "unioned": [(x,) for x in (1, 2, 3, 4, 5)],
        "hinted": sorted(Counter(x % 3 for x in range(100)).items()),
        "kept_on_disk": [(x * 2,) for x in range(3)],
        "cached": [(x,) for x in (1, 2, 3, -1, -2, -3)],
        "as_arrow": sales,
    }
    unordered = {
        "local_reduced": per_shard,
        "local_distincted": [(x,) for h in halves for x in set(h)],
        "reduced_by_key": list(totals.items()),
        "distincted": [(x,) for x in set(numbers)],
        "hash_joined": [(f, n, price[f]) for f, n in sales if f in price],
        "partitioned": sales,
    }
    for var, rows in exact.items():
        assert bound[var] == rows, var
    for var, rows in unordered.items():
        assert sorted(bound[var]) == sorted(rows), var
    # lists of values: the order within a list is not promised, only what it holds
    assert sorted((k, sorted(v)) for k, v in bound["grouped"]) == sorted(
        (k, sorted(v)) for k, v in groups.items()
    )
    stock_of = dict(stock)
    expected_co = [
        (k, [stock_of[k]] if k in stock_of else [], sorted(groups.get(k, [])))
        for k in sorted(stock_of.keys() | groups.keys())
    ]
    assert [(k, a, sorted(b)) for k, a, b in bound["co_grouped"]] == expected_co

    assert actions["seen"] == [(f.upper(), n) for f, n in sales]
    assert sorted(actions["read_back"]) == sorted((f, n * 100) for f, n in sales)
    assert actions["collected"] == sales
    assert actions["taken"] == sales[:2]
    assert actions["first"] == next(r for r in sales if r[0] == "fig")
    assert actions["count"] == len(sales)
    assert actions["to_pandas"] == sorted(totals.items())

    def cell(marker: str) -> nbformat.NotebookNode:
        (found,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
        return found

    lines = "".join(f"{f}\t{n}\n" for f, n in sales if n > 2)
    assert printed(cell("%%gleam printlnf")) == lines
    assert printed(cell('g = gl.Flow("printf and fprintf")')) == (
        "1;2;3;\nwritten to the buffer: <4><5>\n"
    )
    assert printed(cell("%%gleam hint")) == "shards: 4\n"
    assert printed(cell("%%gleam partition")) == "shards: 3\n"
    show = printed(cell(".show(3)")).splitlines()
    assert [tuple(v.strip() for v in line.split("|")) for line in show[2:5]] == [
        (f, str(n)) for f, n in by_count[:3]
    ]
    assert show[5] == "..."

    previews = check_gleam_cells(nb)
    for var, preview in previews.items():
        if var in bound:
            n = len(bound[var])
            assert preview.startswith(f"{var}: {n} row{'s' if n != 1 else ''} x "), preview
        else:  # a flow ending in sinks binds its run's result
            assert re.match(rf"{var}: run of '\w+' on local: ", preview), preview
    assert {"printed", "output", "saved"} <= set(previews) - set(bound)

    # every step and action of the public API has its cell
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    public = {
        name
        for name, member in inspect.getmembers(gl.Dataset, inspect.isfunction)
        if not name.startswith("_")
    }
    missing = {name for name in public if f".{name}(" not in code} - {"fingerprint"}
    assert missing == set()
    assert run.seconds < 30
