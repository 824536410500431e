"""Data a function captures: shipped once per executor, hashed by content, warned about.

The global of these tests records each time it is unpickled (the executor's pid, in a log
file), so a run on real executor processes shows how often it travelled; the function's own
rows say which executors ran it.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
from numpy.typing import NDArray

import gleamnb as gl
from gleamnb.api.checks import LARGE_CAPTURE

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # executors need not import it


def _logged(log: str, data: NDArray[Any]) -> NDArray[Any]:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    return data


class Logged:
    """Unpickles as its array, and writes the unpickling process's pid to ``log``."""

    def __init__(self, log: Path, data: NDArray[Any]) -> None:
        self.log, self.data = str(log), data

    def __reduce__(self) -> tuple[Any, ...]:
        return _logged, (self.log, self.data)


def loads(log: Path) -> list[int]:
    """The pids that unpickled the logged global, one line per unpickling."""
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def test_a_captured_array_travels_once_per_executor_across_tasks_and_runs(
    any_runner: gl.LocalRunner, tmp_path: Path
) -> None:
    log = tmp_path / "loads"
    table = Logged(log, np.arange(300_000) * 3)  # 2.4 MB: written to a file executors map
    blob = b"x" * 2_000_000  # 2 MB kept in the pickle itself: travels the same way
    ds = (
        gl.Flow("shipped once")
        .range(0, 12, shards=6)
        .map(lambda x: (os.getpid(), int(table[x]), len(blob)))
    )
    ran: set[int] = set()
    for _ in range(2):
        rows = ds.collect(any_runner)
        assert sorted(r[1:] for r in rows) == [(3 * x, 2_000_000) for x in range(12)]
        ran |= {r[0] for r in rows}
    # every executor that ran a task unpickled the global exactly once, in two runs of 6 tasks
    assert sorted(loads(log)) == sorted(ran)


def test_a_changed_global_travels_again_and_the_rows_show_the_new_value(
    any_runner: gl.LocalRunner, tmp_path: Path
) -> None:
    log = tmp_path / "loads"
    data = np.zeros(300_000, dtype=np.int64)
    table = Logged(log, data)
    ds = gl.Flow("changed").range(0, 4, shards=2).map(lambda x: int(table[x]))
    assert sorted(ds.collect(any_runner)) == [(0,)] * 4
    before = len(loads(log))
    data[2] = 7  # the same array, changed in place
    assert sorted(ds.collect(any_runner)) == [(0,)] * 3 + [(7,)]
    assert len(loads(log)) > before
    table = Logged(log, np.full(300_000, 5))  # the name bound to another array
    assert sorted(ds.collect(any_runner)) == [(5,)] * 4


def test_the_fingerprint_follows_the_captured_data() -> None:
    table = np.arange(500_000)  # 4 MB: hashed as a digest of the array's memory
    ds = gl.Flow().range(0, 4).map(lambda x: int(table[x]))
    first = ds.fingerprint()
    assert ds.fingerprint() == first
    table[499_999] = -1  # the last value only
    assert ds.fingerprint() != first
    table[499_999] = 499_999
    assert ds.fingerprint() == first


def captures_warnings(build: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build()
    return [w for w in seen if issubclass(w.category, gl.CapturedDataWarning)]


big: NDArray[Any] | None = None  # a module global, as in a notebook


def test_a_function_capturing_a_large_global_is_warned_about_once(
    inline: gl.LocalRunner,
) -> None:
    global big
    big = np.zeros(10_000_000 // 8)  # 10 MB
    small = np.zeros(1000)

    def look(x: int) -> float:
        assert big is not None
        return float(big[x] + small[x])

    def build() -> None:
        f = gl.Flow()
        f.range(0, 3).map(look).collect(inline)
        f.range(0, 3).filter(look).collect(inline)

    seen = captures_warnings(build) + captures_warnings(build)
    assert len(seen) == 1
    text = str(seen[0].message)
    assert ".look' of step 'look' captures global 'big' (10.0 MB, numpy.ndarray)" in text
    assert "'small'" not in text  # 8 kB: not worth naming
    assert "hash_join" in text and "from_arrow" in text
    assert seen[0].filename == __file__  # the user's line, not gleamnb's
    big = None


def test_data_reached_through_a_closure_or_a_helper_is_named(inline: gl.LocalRunner) -> None:
    def make() -> Any:
        rows = list(range(2_000_000))  # about 10 MB pickled, a Python list

        def helper(x: int) -> int:
            return rows[x]

        return helper

    helper = make()
    seen = captures_warnings(lambda: gl.Flow().range(0, 2).map(lambda x: helper(x)).collect(inline))
    assert len(seen) == 1
    text = str(seen[0].message)
    assert "closure variable 'rows'" in text and "of function 'helper'" in text
    assert " MB, list)" in text


def test_a_function_within_the_limit_is_not_warned_about() -> None:
    table = np.zeros(LARGE_CAPTURE // 8 - 1000)
    assert not captures_warnings(lambda: gl.Flow().range(0, 2).map(lambda x: float(table[x])))
