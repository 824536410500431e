"""What the master knows of a run while it goes and of the data the agents hold."""

from __future__ import annotations

import time
from typing import Any

import gleamnb as gl


def _slow(x: int) -> int:
    time.sleep(0.002)
    return x


def test_stages_are_reported_while_the_run_goes(dask_runner: Any) -> None:
    f = gl.Flow("reported while running")
    rows: list[int] = []
    f.range(0, 3000, shards=4).map(_slow).map(lambda x: (x % 5, 1)).reduce_by_key(
        lambda a, b: a + b
    ).output_row(lambda k, v: rows.append(v))
    handle = f.run(dask_runner, wait=False, progress=False)
    seen: list[dict[str, Any]] = []
    while not handle.done():
        runs = [r for r in dask_runner.status()["runs"] if r.get("flow") == f.name]
        if runs and runs[-1]["state"] == "running":
            seen.append(runs[-1])
        time.sleep(0.3)
    handle.result()
    assert sorted(rows) == [600] * 5
    assert seen, "the master never showed the run while it ran"
    assert any(st["state"] == "running" for r in seen for st in r["stages"])
    (final,) = [r for r in dask_runner.status()["runs"] if r.get("flow") == f.name]
    assert final["state"] == "finished"
    assert [st["state"] for st in final["stages"]] == ["done"] * len(final["stages"])
    assert final["stages"][0]["done"] == 4 and final["stages"][-1]["rows"] == 5


def test_agents_report_the_pieces_they_hold(dask_runner: Any) -> None:
    client = dask_runner.connect()
    table = gl.Flow().range(0, 10_000, shards=2).map(lambda x: (x, str(x)))
    assert len(table.collect(dask_runner, progress=False)) == 10_000
    agents = dask_runner.status()["agents"]
    for a in agents:
        assert a["folder"] and a["scratch"]
        assert a["datasets"] >= 0 and a["bytes"] >= 0
    # held pieces are those of the keys gleamnb put on the workers, nothing else
    held = {
        w: [k for k in keys if str(k).startswith("gleamnb-")]
        for w, keys in client.has_what().items()
    }
    assert {a["address"]: a["datasets"] for a in agents} == {w: len(k) for w, k in held.items()}
