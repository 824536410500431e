"""What a runner refuses or warns about: a run started inside another run's task, and far
more executors than the cores this process may use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from run_folders import run_folders

import gleamnb as gl
from gleamnb.errors import UserCodeError
from gleamnb.runners.local import LocalRunner


def _children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _run_dirs(runner: LocalRunner, pids: list[int]) -> list[str]:
    roots = (runner.memory_root, runner.spill_dir)
    return [d for pid in pids for d in run_folders(pid, roots)]


def _nested_count(x: int) -> int:
    return len(gl.Flow("inner").range(0, x + 1).collect())


def test_a_collect_inside_a_function_is_refused_and_leaves_no_process(runner: LocalRunner) -> None:
    outer = gl.Flow("outer").range(0, 4, shards=2).map(_nested_count, name="nested")
    with pytest.raises(UserCodeError, match="cannot start inside a task of another run") as e:
        outer.collect(runner)
    assert "step 'nested'" in str(e.value)
    executors = [ex.pid for ex in runner.pool]
    assert executors and all(_children(pid) == [] for pid in executors)
    assert _run_dirs(runner, executors) == []
    # the executors are still there, and the runner runs the next flow
    assert gl.Flow("after").range(0, 3).map(lambda x: x + 1).collect(runner) == [(1,), (2,), (3,)]


def test_a_runner_made_inside_a_function_is_refused_before_it_starts_processes(
    runner: LocalRunner,
) -> None:
    def make_runner(x: int) -> int:
        gl.local(executors=2, memory_limit="1MB")
        return x

    with pytest.raises(UserCodeError, match="cannot start inside a task"):
        gl.Flow("outer").range(0, 2).map(make_runner).collect(runner)
    assert all(_children(ex.pid) == [] for ex in runner.pool)


def test_inline_runs_refuse_nested_runs_too(inline: LocalRunner) -> None:
    with pytest.raises(UserCodeError, match="cannot start inside a task"):
        gl.Flow("outer").range(0, 2).map(_nested_count).collect(inline)
    # a function that runs nothing nested, in the same process, still runs
    assert gl.Flow("ok").range(0, 2).collect(inline) == [(0,), (1,)]


def test_far_more_executors_than_usable_cores_warns() -> None:
    # A real affinity of one core (as a container or taskset gives): 2 executors are within
    # twice the cores, 3 are not. The child process is the driver; it closes its runners.
    script = textwrap.dedent(
        """
        import os, warnings
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        import gleamnb as gl
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            gl.local(executors=2).close()
            assert not seen, [str(w.message) for w in seen]
            gl.local(executors=3).close()
        (w,) = seen
        print(w.category.__name__, w.filename, w.message)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("UserWarning <string> "), out  # it points at the gl.local call
    assert "gl.local(executors=3) starts 3 executor processes on 1 usable core " in out
    assert "(os.sched_getaffinity)" in out and "leave executors out for one per core (1)" in out
