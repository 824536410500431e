"""Run folders left by killed drivers: which go, which stay, and SIGTERM cancelling a run."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import gleamnb as gl
from gleamnb.runners import leftovers
from gleamnb.runners.local import LocalRunner

DRIVER = textwrap.dedent(
    """
    import time
    import gleamnb as gl
    runner = gl.local(executors=1, memory_limit="64MB")
    slow = gl.Flow("slow").from_iterable(range(200), shards=4).map(lambda x: time.sleep(0.1) or x)
    slow.collect(runner, progress=False)
    """
)


def run_folders(pid: int) -> list[str]:
    roots = ("/dev/shm", tempfile.gettempdir())
    return [d for root in roots for d in glob.glob(os.path.join(root, f"gleamnb-{pid}-*"))]


def start_driver() -> tuple[subprocess.Popen[bytes], str]:
    """A driver process in the middle of a slow run, and its shared-memory folder."""
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        folders = glob.glob(f"/dev/shm/gleamnb-{driver.pid}-*")
        if folders and os.listdir(folders[0]):  # its source data is written: pieces exist
            return driver, folders[0]
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.kill()
    raise AssertionError("the driver's run folder never appeared")


def proc_start_time(pid: int) -> int:
    # independent reading of /proc/<pid>/stat: field 22 counted from the end of the line
    # (the 52 fields of Linux >= 3.5 end with exit_code; 22 is 31 before the end)
    fields = Path(f"/proc/{pid}/stat").read_text().split()
    return int(fields[len(fields) - 52 + 21])


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_start_time_is_the_processes_start_from_proc() -> None:
    assert leftovers.start_time(os.getpid()) == proc_start_time(os.getpid())
    assert leftovers.start_time(dead_pid()) is None


def test_folders_of_gone_drivers_are_leftovers_and_live_ones_are_not(tmp_path: Path) -> None:
    me, start, gone = os.getpid(), proc_start_time(os.getpid()), dead_pid()
    live = [f"gleamnb-{me}-{start}-0123456789ab", f"gleamnb-{me}-0123456789ab"]
    dead = [
        f"gleamnb-{me}-{start + 1}-0123456789ab",  # the pid reused by this process
        f"gleamnb-{gone}-{start}-0123456789ab",
        f"gleamnb-{gone}-0123456789ab",
    ]
    others = [f"gleamnb-{gone}-lock", "gleamnb-suite", f"other-{gone}-0123456789ab"]
    for name in live + dead + others:
        (tmp_path / name).mkdir()
        (tmp_path / name / "piece.arrow").write_bytes(b"x")
    (tmp_path / f"gleamnb-{gone}-{start}-ba9876543210").write_bytes(b"a file, not a folder")
    removed = leftovers.sweep([str(tmp_path), str(tmp_path)])
    assert sorted(removed) == sorted(str(tmp_path / name) for name in dead)
    assert sorted(os.listdir(tmp_path)) == sorted(
        live + others + [f"gleamnb-{gone}-{start}-ba9876543210"]
    )
    assert leftovers.sweep([str(tmp_path / "missing")]) == []


def test_a_run_names_its_folders_for_its_driver_and_its_start_time() -> None:
    name = leftovers.folder_name("0123456789ab")
    assert name == f"gleamnb-{os.getpid()}-{proc_start_time(os.getpid())}-0123456789ab"
    assert leftovers.driver_alive(name) is True
    assert leftovers.driver_alive("gleamnb-suite.lock") is None


def test_the_next_runner_removes_a_killed_drivers_folders() -> None:
    driver, folder = start_driver()
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    driver.communicate()
    assert os.path.isdir(folder) and os.listdir(folder)
    assert run_folders(driver.pid)
    mine = glob.glob(os.path.join(tempfile.gettempdir(), f"gleamnb-{os.getpid()}-*"))
    runner = LocalRunner(executors=1, mode="inline")
    try:
        assert run_folders(driver.pid) == []
        assert gl.Flow().range(0, 3).count(runner) == 3
    finally:
        runner.close()
    # this process's own folders (a live driver) are not the sweep's
    assert all(os.path.isdir(d) for d in mine)


def test_sigterm_cancels_a_drivers_run_and_removes_its_folders() -> None:
    driver, folder = start_driver()
    driver.send_signal(signal.SIGTERM)
    _, stderr = driver.communicate(timeout=30)
    assert driver.returncode != 0
    assert b"RunCancelledError" in stderr
    assert not os.path.exists(folder)
    assert run_folders(driver.pid) == []


def test_a_run_restores_the_sigterm_handler_it_found() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not during the test")

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        runner = LocalRunner(mode="inline")
        seen = gl.Flow().range(0, 2).map(lambda x: signal.getsignal(signal.SIGTERM)).collect(runner)
        assert all(handler is not mine for (handler,) in seen)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
