"""Shared fixtures: runners and a fresh flow per test.

``tests/`` is on ``sys.path`` (pytest puts a rootdir conftest's folder there), so test modules
can ``import reference`` (the naive evaluator in ``tests/reference.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner


@pytest.fixture(scope="session")
def runner() -> Iterator[LocalRunner]:
    """The local runner with two executor processes (shared by the session, stopped at its end)."""
    r = gl.local(executors=2)
    yield r
    r.shutdown()


@pytest.fixture(scope="session")
def inline() -> LocalRunner:
    """The local runner in inline mode: everything in this process (fast, for many examples)."""
    return gl.local(mode="inline")


@pytest.fixture(params=["inline", "process"])
def any_runner(request: pytest.FixtureRequest) -> LocalRunner:
    """Each test using it runs once per runner mode."""
    return request.getfixturevalue("runner" if request.param == "process" else request.param)


@pytest.fixture
def flow(request: pytest.FixtureRequest) -> gl.Flow:
    """A fresh flow named after the test."""
    return gl.Flow(request.node.name)
