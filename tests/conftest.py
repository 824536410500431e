"""Shared fixtures: runners and a fresh flow per test; the hypothesis profile.

``tests/`` is on ``sys.path`` (pytest puts a rootdir conftest's folder there), so test modules
can ``import reference`` (the naive evaluator in ``tests/reference.py``).

Property tests draw the same examples on every run (profile ``"repeatable"``), so a test run
fails only when the code changed; ``GLEAMNB_HYPOTHESIS=explore`` draws new random examples
each run, for a search beyond those (with ``GLEAMNB_PROPERTY_EXAMPLES`` for more of them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from clusters import gleamnb, kill_all, start, two_agent_cluster
from hypothesis import settings

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("GLEAMNB_HYPOTHESIS", "repeatable"))


@pytest.fixture(scope="session")
def runner() -> Iterator[LocalRunner]:
    """The local runner with two executor processes (shared by the session, stopped at its end)."""
    r = gl.local(executors=2)
    yield r
    r.close()


@pytest.fixture(scope="session")
def inline() -> LocalRunner:
    """The local runner in inline mode: everything in this process (fast, for many examples)."""
    return gl.local(mode="inline")


@pytest.fixture(params=["inline", "process", "dask"])
def any_runner(request: pytest.FixtureRequest) -> LocalRunner:
    """Each test using it runs once per runner: inline, local processes, a 2-agent cluster."""
    name = {"process": "runner", "dask": "dask_runner"}.get(request.param, request.param)
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[object]:
    """A real Dask cluster of two worker processes under nannies, each a gleamnb agent with
    one executor (started once for the session, on loopback)."""
    cluster = two_agent_cluster()
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def dask_runner(dask_cluster: object) -> Iterator[object]:
    """The Dask runner on :func:`dask_cluster`."""
    r = gl.distributed(master=dask_cluster.scheduler_address)  # type: ignore[attr-defined]
    yield r
    r.close()


@pytest.fixture(scope="session")
def cli_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 2-agent cluster started as a user starts one, ``gleamnb cluster start --agents 2``
    (its record in a folder of its own): the folder, the output of ``start``, the record."""
    from gleamnb.cluster import records

    folder = tmp_path_factory.mktemp("cli-cluster")
    got, record = start(folder, "--agents", "2")
    try:
        assert got.returncode == 0, got.stderr
        assert record is not None
        yield {"dir": folder, "start": got, "record": record}
    finally:
        if records.read(None, folder) is not None:
            gleamnb("cluster", "stop", "--dir", str(folder))
        kill_all(record)


@pytest.fixture(scope="session")
def cli_runner(cli_cluster: dict[str, Any]) -> Iterator[object]:
    """The Dask runner on :func:`cli_cluster`."""
    r = gl.distributed(master=cli_cluster["record"]["address"])
    yield r
    r.close()


@pytest.fixture
def flow(request: pytest.FixtureRequest) -> gl.Flow:
    """A fresh flow named after the test."""
    return gl.Flow(request.node.name)
