"""The traceback of an error from the public API: the user's frames, not gleamnb's.

An action (``collect``, ``count``, ``save`` and ``run`` ...) that fails shows the gleamnb
error with the frames of the code that called it, ending at the user's own line; the
failed UDF's own traceback is in the error's text. ``GLEAMNB_FULL_TRACEBACK=1`` shows every
frame. Checked on the text ``traceback.format_exception`` makes, as Python prints it.

UDFs are defined inside the tests: a function defined at module level would travel to the
executors by reference to this test module, which they cannot import.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.errors import FULL_TRACEBACK_ENV
from gleamnb.runners.local import LocalRunner

THIS_FILE = os.path.abspath(__file__)
GLEAMNB = os.path.dirname(os.path.abspath(gl.__file__)) + os.sep


def frames(err: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(err.__traceback__))


def printed(err: BaseException) -> str:
    """The error as Python prints it: traceback, message, chained exceptions and notes."""
    return "".join(traceback.format_exception(err))


def fails_on_three() -> Callable[[int], int]:
    def check(x: int) -> int:
        if x == 3:
            raise ValueError("three is not allowed")  # <- the UDF raises here
        return x

    return check


def line_of(marker: str) -> int:
    with open(THIS_FILE) as fh:
        return next(n for n, line in enumerate(fh, 1) if line.rstrip().endswith(marker))


def act(action: str, ds: gl.Dataset, runner: LocalRunner, out: Path) -> Any:
    """The user's code: one action on ``ds``."""
    if action == "collect":
        return ds.collect(runner, progress=False)
    if action == "to_arrow":
        return ds.to_arrow(runner, progress=False)
    if action == "take":
        return ds.take(2, runner, progress=False)
    if action == "first":
        return ds.first(runner, progress=False)
    if action == "count":
        return ds.count(runner, progress=False)
    if action == "show":
        return ds.show(5, runner, progress=False)
    if action == "save":
        return ds.save(str(out), format="csv").run(runner, progress=False)
    return ds.printlnf("%d").run(runner, progress=False)


ACTIONS = ["collect", "to_arrow", "take", "first", "count", "show", "save", "run"]


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_s_error_shows_the_user_s_frames_only(
    runner: LocalRunner, tmp_path: Path, action: str
) -> None:
    ds = gl.Flow("user frames").range(0, 6, shards=2).map(fails_on_three(), name="check")
    with pytest.raises(gl.UserCodeError) as info:
        act(action, ds, runner, tmp_path / "out")
    err = info.value
    stack = frames(err)
    assert [f.filename for f in stack] == [THIS_FILE, THIS_FILE], stack
    assert [f.name for f in stack] == [
        "test_an_action_s_error_shows_the_user_s_frames_only",
        "act",
    ]
    text = printed(err)
    assert f"{GLEAMNB}api" not in text and f"{GLEAMNB}runners" not in text, text
    # the UDF's own frame, from the executor process, is in the error's text
    assert f'File "{THIS_FILE}", line {line_of("# <- the UDF raises here")}, in check' in text
    assert f"{FULL_TRACEBACK_ENV}=1" in text  # the note says how to see everything


@pytest.mark.parametrize("mode", ["inline", "process"])
def test_the_environment_variable_shows_every_frame(
    runner: LocalRunner, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    r = runner if mode == "process" else gl.local(mode="inline")
    ds = gl.Flow("all frames").range(0, 6, shards=2).map(fails_on_three(), name="check")
    monkeypatch.setenv(FULL_TRACEBACK_ENV, "1")
    with pytest.raises(gl.UserCodeError) as info:
        ds.collect(r, progress=False)
    text = printed(info.value)
    for module in ("api/dataset.py", "api/flow.py", "runners/local.py", "runners/scheduling.py"):
        assert f'File "{GLEAMNB}{module}"' in text, text
    assert f"{FULL_TRACEBACK_ENV}=1" not in text
    monkeypatch.setenv(FULL_TRACEBACK_ENV, "0")  # 0 is the default: the user's frames only
    with pytest.raises(gl.UserCodeError) as info:
        ds.collect(r, progress=False)
    assert {f.filename for f in frames(info.value)} == {THIS_FILE}


def test_an_inline_run_s_error_shows_the_user_s_frames_only(runner: LocalRunner) -> None:
    ds = gl.Flow("inline frames").range(0, 6, shards=2).map(fails_on_three(), name="check")
    with pytest.raises(gl.UserCodeError) as info:
        ds.count(gl.local(mode="inline"), progress=False)
    assert {f.filename for f in frames(info.value)} == {THIS_FILE}
    assert f"{line_of('# <- the UDF raises here')}, in check" in printed(info.value)


def test_a_build_time_error_shows_the_user_s_frames_only() -> None:
    ds = gl.Flow("build").slices([("a", 1)])
    with pytest.raises(gl.FieldError) as info:
        ds.select("age")
    assert {f.filename for f in frames(info.value)} == {THIS_FILE}
    assert "unknown field 'age'" in printed(info.value)


def test_output_row_s_error_shows_the_user_s_function_as_its_cause(runner: LocalRunner) -> None:
    def keep(word: str, n: int) -> None:
        if n > 1:
            raise KeyError(word)  # <- keep raises here

    f = gl.Flow("output rows")
    f.slices([("a", 1), ("b", 2)]).output_row(keep)
    with pytest.raises(gl.UserCodeError) as info:
        f.run(runner, progress=False)
    err = info.value
    assert {f.filename for f in frames(err)} == {THIS_FILE}
    assert isinstance(err.__cause__, KeyError)
    cause = frames(err.__cause__)
    assert [(f.name, f.lineno) for f in cause] == [("keep", line_of("# <- keep raises here"))]
    assert GLEAMNB not in "".join(f.filename for f in frames(err) + cause)
