"""``examples/word_count.py`` (what ``make demo`` runs): the word count in local mode, then on
a throw-away cluster of two agents it starts and always stops, Ctrl-C included.

The demo runs as a real process, with ``TMPDIR`` and ``XDG_STATE_HOME`` in the test's folder,
so the tests see what it leaves behind; every process it starts carries a tag (see
``tests/leftovers.py``), so the tests see the processes it leaves too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from leftovers import TAG, commands, kill_tagged, new_tag

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "word_count.py"
TEXT = ROOT / "examples" / "data" / "counting.txt"


def reference_top5() -> list[tuple[str, int]]:
    """The five most frequent words of the text, counted in plain Python (case kept)."""
    counts = Counter(re.findall(r"[A-Za-z0-9]+", TEXT.read_text()))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert ranked[4][1] > ranked[5][1]  # no tie across the fifth place: the five are known
    return ranked[:5]


def demo(tmp_path: Path, tag: str) -> subprocess.Popen[str]:
    """The demo, started in a session of its own (a terminal's Ctrl-C reaches its group)."""
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ)
    env.update(
        {
            TAG: tag,
            "TMPDIR": str(tmp_path / "tmp"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        }
    )
    return subprocess.Popen(
        [sys.executable, str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )


def words_after(header: str, out: str) -> list[tuple[str, int]]:
    """The five ``word<TAB>count`` lines printed after the line ``header``."""
    lines = out.splitlines()
    at = lines.index(header)
    return [(w, int(n)) for w, n in (line.split("\t") for line in lines[at + 1 : at + 6])]


def assert_nothing_left(tmp_path: Path, tag: str) -> None:
    left = kill_tagged(tag)
    assert left == [], f"processes {left} outlived the demo"
    # The cluster's record folder is gone; Dask leaves only the lock files of its shared
    # scratch space (``dask-scratch-space/*.lock``), as on every machine that runs it.
    left_files = [
        p.relative_to(tmp_path / "tmp")
        for p in (tmp_path / "tmp").rglob("*")
        if not (p.name == "dask-scratch-space" or p.match("dask-scratch-space/*.lock"))
    ]
    assert left_files == []
    assert not (tmp_path / "state").exists()  # no record among this machine's clusters


@pytest.mark.slow
def test_demo_prints_the_same_top_words_locally_and_on_a_cluster_it_stops(
    tmp_path: Path,
) -> None:
    tag = new_tag()
    proc = demo(tmp_path, tag)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
        kill_tagged(tag)
    assert proc.returncode == 0, err
    local = words_after(f"== top 5 words of {TEXT} (local mode) ==", out)
    (address,) = re.findall(
        r"^== top 5 words \(cluster at (tcp://127\.0\.0\.1:\d+), 2 agents\) ==$", out, re.M
    )
    cluster = words_after(f"== top 5 words (cluster at {address}, 2 agents) ==", out)
    assert cluster == local
    assert sorted(local) == sorted(reference_top5())
    assert f"gleamnb cluster 'demo-{proc.pid}' stopped ({address})" in out
    assert out.rstrip().endswith("the cluster printed the same top words as the local run")
    assert "== plan ==" in out and "DAG written to" in out  # the local part, as before
    assert_nothing_left(tmp_path, tag)


@pytest.mark.slow
def test_ctrl_c_while_the_cluster_starts_still_stops_it(tmp_path: Path) -> None:
    tag = new_tag()
    proc = demo(tmp_path, tag)
    watchdog = threading.Timer(180, proc.kill)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("starting a throw-away cluster"):
                break
        else:
            pytest.fail("the demo never started its cluster")
        # Ctrl-C once the cluster's processes run but before the flow does: the hard case,
        # a ``cluster start`` under way.
        deadline = time.monotonic() + 60
        while not any("gleamnb.cluster.serve" in " ".join(cmd) for cmd in commands(tag)):
            assert time.monotonic() < deadline, "the cluster's serve process never ran"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
        watchdog.start()
        out = proc.stdout.read()  # the rest, through the same buffer as the lines above
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait()
    finally:
        watchdog.cancel()
        proc.kill()
        kill_tagged(tag)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert re.search(rf"^gleamnb cluster 'demo-{proc.pid}' stopped \(tcp://", out, re.M)
    assert "same top words" not in out
    assert_nothing_left(tmp_path, tag)
