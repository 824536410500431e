"""A ``%%gleam`` cell as a user sees it: a real JupyterLab and Notebook 7 in headless Chromium.

One Jupyter server (loopback, a token) serves a notebook with a word count cell, a failing
cell and a slow one; Chromium (Debian's, driven by Playwright) runs them and the tests read
the rendered DOM: the DAG drawn, the progress bars full, the failed step red and the short
error shown, the Cancel button stopping the slow run. ``GLEAMNB_SCREENSHOTS=folder`` keeps
screenshots of the finished and the failed cell there (``docs/`` shows them).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

LINES = ["the quick brown fox", "the lazy dog", "the fox and the dog"] * 30
REFERENCE = Counter(w for line in LINES for w in line.split())

CELLS = [
    "%load_ext gleamnb\nimport gleamnb as gl, operator, time",
    f"%%gleam word_count -o words\n(flow.strings({LINES!r}, shards=3)\n"
    " .flat_map(gl.mappers.tokenize).map(gl.mappers.append_one)\n"
    " .reduce_by_key(operator.add).sort(gl.order_by(2, descending=True)))",
    "%%gleam broken\ndef divide(x):\n    return 10 // (x - 3)\n"
    'flow.range(0, 10, shards=2).map(divide, name="divide")',
    "%%gleam slow -o never\ndef nap(x):\n    time.sleep(0.05)\n    return x\n"
    "flow.range(0, 4000, shards=4).map(nap)",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium")
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = spec
    nbformat.write(nb, root / "gleam.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".config"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--ServerApp.allow_root=True",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "w"),  # noqa: SIM115 - closed with the process
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                json.load(r)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("jupyter lab did not start:\n" + (root / "server.log").read_text())
            time.sleep(0.3)
    yield {"base": base, "token": token, "root": root}
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _run_all(page: Any) -> None:
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(  # the notebook's kernel is started and idle
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel;"
        " return k && k.status === 'idle' && k.connectionStatus === 'connected'; }",
        timeout=90_000,
    )
    _command(page, "notebook:run-all-cells")
    page.evaluate(  # JupyterLab's news question would cover the screenshots
        "() => document.querySelectorAll('.jp-Notification-Toast-Close, "
        ".Toastify__close-button').forEach(b => b.click())"
    )


def _command(page: Any, name: str) -> None:
    """Start a JupyterLab command (not waiting for its promise: a run's ends with the run)."""
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute({name!r}); }}")


def _shot(page: Any, element: Any, name: str) -> None:
    folder = os.environ.get("GLEAMNB_SCREENSHOTS")
    if folder:
        page.evaluate(
            "() => document.querySelectorAll('.Toastify__toast-container').forEach(t => t.remove())"
        )
        Path(folder).mkdir(parents=True, exist_ok=True)
        element.screenshot(path=str(Path(folder) / name))


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["lab", "notebooks"])
def test_a_gleam_cell_renders_its_dag_and_progress_in_the_browser(
    server: dict[str, Any], browser: Any, frontend: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    url = f"{server['base']}/{frontend}/{'tree/' if frontend == 'lab' else ''}gleam.ipynb"
    page.goto(f"{url}?token={server['token']}")
    try:
        _run_all(page)
        # the live view, then the final picture of the finished run
        # (the snapshot, rendered HTML: the live widget's view is replaced by it at the end)
        done = page.wait_for_selector(
            ".jp-RenderedHTMLCommon .gl-header.gl-status-finished", timeout=90_000
        )
        out = done.evaluate_handle("e => e.closest('.jp-OutputArea')").as_element()
        assert out is not None
        assert out.query_selector("svg.gl-dag .gl-cluster.gl-state-done") is not None
        assert len(out.query_selector_all("svg.gl-dag .gl-node")) >= 5
        bar = out.query_selector("tr.gl-run .gl-bar > div")
        assert bar is not None and "100.0%" in (bar.get_attribute("style") or "")
        preview = out.evaluate("e => e.innerText")
        assert f"words: {len(REFERENCE)} rows x 2 columns" in preview
        assert "the" in preview and str(REFERENCE["the"]) in preview
        cell = out.evaluate_handle("e => e.closest('.jp-Cell')").as_element()
        _shot(page, cell, f"notebook-finished-{frontend}.png")

        failed = page.wait_for_selector(
            ".jp-RenderedHTMLCommon .gl-header.gl-status-failed", timeout=60_000
        )
        fcell = failed.evaluate_handle("e => e.closest('.jp-Cell')").as_element()
        text = fcell.evaluate("e => e.innerText")
        assert "the function of step 'divide' raised ZeroDivisionError" in text
        assert "line 3, in divide" in text and "GleamRunError" in text
        assert fcell.query_selector("svg.gl-dag .gl-node.gl-state-failed") is not None
        _shot(page, fcell, f"notebook-failed-{frontend}.png")

        # run-all stops at the failed cell: run the slow one alone and cancel it in the page
        slow = page.query_selector_all(".jp-Notebook .jp-Cell")[3]
        slow.click()
        _command(page, "notebook:run-cell")
        button = page.wait_for_selector(".gl-monitor button:has-text('Cancel')", timeout=60_000)
        time.sleep(1.0)
        button.click()
        page.wait_for_selector(".gl-header.gl-status-cancelled", timeout=30_000)
        slow.wait_for_selector("text=was cancelled", timeout=30_000)  # the cell's error line
        assert "nothing of the run was kept" in slow.evaluate("e => e.innerText")
    finally:
        page.close()
