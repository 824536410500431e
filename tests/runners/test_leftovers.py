"""Run folders left by killed drivers: which go, which stay, and SIGTERM cancelling a run."""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from run_folders import proc_start_time, run_folders

import gleamnb as gl
from gleamnb.runners import leftovers
from gleamnb.runners.local import LocalRunner

ROOTS = ("/dev/shm", tempfile.gettempdir())

DRIVER = textwrap.dedent(
    """
    import time
    import gleamnb as gl
    runner = gl.local(executors=1, memory_limit="64MB")
    slow = gl.Flow("slow").from_iterable(range(200), shards=4).map(lambda x: time.sleep(0.2) or x)
    slow.collect(runner, progress=False)
    """
)


def start_driver() -> tuple[subprocess.Popen[bytes], str]:
    """A driver process in the middle of a slow run, and its shared-memory folder."""
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        folders = glob.glob(f"/dev/shm/gleamnb-*-{driver.pid}-*")
        if folders and os.listdir(folders[0]):  # its source data is written: pieces exist
            return driver, folders[0]
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.kill()
    raise AssertionError("the driver's run folder never appeared")


def machine_tag() -> str:
    # independent of gleamnb: the boot id and the pid namespace, hashed
    boot = Path("/proc/sys/kernel/random/boot_id").read_bytes().strip()
    return hashlib.blake2b(
        boot + os.readlink("/proc/self/ns/pid").encode(), digest_size=4
    ).hexdigest()


def driver_processes(pid: int) -> list[int]:
    """The pids of the executors the driver ``pid`` started (its children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def all_gone(pids: list[int], seconds: float = 10) -> bool:
    """Whether the processes ``pids`` end within ``seconds`` (an executor looks for its
    parent twice a second)."""
    deadline = time.monotonic() + seconds
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return all(gone(pid) for pid in pids)


def test_start_time_is_the_processes_start_from_proc() -> None:
    assert leftovers.start_time(os.getpid()) == proc_start_time(os.getpid())
    assert leftovers.start_time(dead_pid()) is None


def test_folders_of_gone_drivers_are_leftovers_and_live_ones_are_not(tmp_path: Path) -> None:
    me, start, gone_pid, here = os.getpid(), proc_start_time(os.getpid()), dead_pid(), machine_tag()
    other = "0" * 8 if here != "0" * 8 else "1" * 8
    live = [f"gleamnb-{here}-{me}-{start}-0123456789ab"]
    dead = [
        f"gleamnb-{here}-{me}-{start + 1}-0123456789ab",  # the pid reused by this process
        f"gleamnb-{here}-{gone_pid}-{start}-0123456789ab",
    ]
    others = [
        f"gleamnb-{other}-{gone_pid}-{start}-0123456789ab",  # another host or container's
        f"gleamnb-{gone_pid}-0123456789ab",  # named where /proc was missing
        f"gleamnb-{gone_pid}-lock",
        "gleamnb-suite",
        f"other-{gone_pid}-0123456789ab",
    ]
    for name in live + dead + others:
        (tmp_path / name).mkdir()
        (tmp_path / name / "piece.arrow").write_bytes(b"x")
    a_file = f"gleamnb-{here}-{gone_pid}-{start}-ba9876543210"
    (tmp_path / a_file).write_bytes(b"a file, not a folder")
    removed = leftovers.sweep([str(tmp_path), str(tmp_path)])
    assert sorted(removed) == sorted(str(tmp_path / name) for name in dead)
    assert sorted(os.listdir(tmp_path)) == sorted(live + others + [a_file])
    assert leftovers.sweep([str(tmp_path / "missing")]) == []


def test_a_run_names_its_folders_for_its_machine_driver_and_start_time() -> None:
    name = leftovers.folder_name("0123456789ab")
    assert (
        name == f"gleamnb-{machine_tag()}-{os.getpid()}-{proc_start_time(os.getpid())}-0123456789ab"
    )
    assert leftovers.driver_alive(name) is True
    assert leftovers.driver_alive("gleamnb-suite.lock") is None


def test_the_next_runner_removes_a_killed_drivers_folders_and_its_executor_ends() -> None:
    driver, folder = start_driver()
    executors, start = driver_processes(driver.pid), proc_start_time(driver.pid)
    assert executors
    # a live driver's folder of this process, which the sweep must leave alone
    mine = Path(tempfile.gettempdir()) / leftovers.folder_name("00000000abcd")
    mine.mkdir()
    try:
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        driver.communicate()
        assert os.path.isdir(folder) and os.listdir(folder)
        # its executor, in the middle of a task, sees its parent gone and ends
        assert all_gone(executors, seconds=3)
        runner = LocalRunner(executors=1, mode="inline")
        try:
            assert run_folders(driver.pid, ROOTS, start) == []
            assert gl.Flow().range(0, 3).count(runner) == 3
        finally:
            runner.close()
        assert mine.is_dir()
    finally:
        mine.rmdir()


def test_sigterm_cancels_a_drivers_run_removes_its_folders_and_ends_it() -> None:
    driver, folder = start_driver()
    executors, start = driver_processes(driver.pid), proc_start_time(driver.pid)
    assert run_folders(driver.pid, ROOTS, start)
    driver.send_signal(signal.SIGTERM)
    _, stderr = driver.communicate(timeout=30)
    assert driver.returncode == -signal.SIGTERM, stderr
    assert not os.path.exists(folder)
    assert run_folders(driver.pid, ROOTS, start) == []
    assert all_gone(executors)


def test_sigterm_ends_a_driver_even_when_it_catches_exceptions() -> None:
    catching = "try:\n    slow.collect(runner, progress=False)\nexcept Exception:\n    pass\n"
    code = DRIVER.replace("slow.collect(runner, progress=False)\n", catching + "print('alive')\n")
    driver = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not glob.glob(f"/dev/shm/gleamnb-*-{driver.pid}-*") and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.send_signal(signal.SIGTERM)
    out, err = driver.communicate(timeout=30)
    assert driver.returncode == -signal.SIGTERM, err
    assert b"alive" not in out


def test_a_run_leaves_a_programs_own_sigterm_handler_in_place() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not during the test")

    runner = LocalRunner(mode="inline")
    # the handler in place during the run, by name (the function reaches the task as a copy)
    probe = gl.Flow().range(0, 2).map(lambda x: str(signal.getsignal(signal.SIGTERM)))
    for handler in (mine, signal.SIG_IGN):
        previous = signal.signal(signal.SIGTERM, handler)
        try:
            assert [h.split(" at ")[0] for (h,) in probe.collect(runner)] == [
                str(handler).split(" at ")[0]
            ] * 2
            assert signal.getsignal(signal.SIGTERM) is handler
        finally:
            signal.signal(signal.SIGTERM, previous)
    # with the default action, a run handles SIGTERM while it lasts and restores the default
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    seen = probe.collect(runner)
    assert all("interrupt" in h for (h,) in seen), seen
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
