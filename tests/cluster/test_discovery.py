"""How ``gl.distributed()`` finds its cluster: an address, ``$GLEAMNB_MASTER``, the record
``gleamnb cluster start`` wrote, and ``gl.set_runner`` for the session's default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.cluster import records
from gleamnb.cluster.runner import MASTER_ENV


def _hostport(dask_cluster: Any) -> str:
    return dask_cluster.scheduler_address.split("://", 1)[1]


def _squares() -> gl.Dataset:
    return gl.Flow("discovery").range(0, 100, shards=2).map(lambda x: x * x)


EXPECTED = sum(x * x for x in range(100))


def test_from_the_environment(dask_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_ENV, _hostport(dask_cluster))
    with gl.distributed() as runner:
        assert runner.address == dask_cluster.scheduler_address
        assert sum(x for (x,) in _squares().collect(runner, progress=False)) == EXPECTED


def test_from_the_discovery_record(
    dask_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    records.write({"name": "default", "address": dask_cluster.scheduler_address, "pids": {}})
    assert json.loads(records.path().read_text())["address"] == dask_cluster.scheduler_address
    with gl.distributed() as runner:
        assert runner.address == dask_cluster.scheduler_address
        assert sum(x for (x,) in _squares().collect(runner, progress=False)) == EXPECTED


def test_nothing_to_find(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MASTER_ENV, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with pytest.raises(gl.GleamError, match="no gleamnb cluster to run on") as info:
        gl.distributed()
    assert "gleamnb cluster start" in (info.value.hint or "")


def test_set_runner_makes_it_the_session_default(dask_cluster: Any) -> None:
    runner = gl.distributed(master=_hostport(dask_cluster))
    gl.set_runner(runner)
    try:
        assert gl.get_runner() is runner
        squares = _squares()
        assert squares.count(progress=False) == 100
        assert squares.flow.last_run is not None
        assert squares.flow.last_run.runner == "dask"
    finally:
        gl.set_runner(None)
        runner.close()
    assert gl.get_runner().name.startswith("local")
