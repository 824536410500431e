"""Progress of a cluster run: what the agents' running tasks report reaches the driver,
coalesced by the master, as the rows and bytes each stage read and wrote."""

from __future__ import annotations

from typing import Any

import progress_checks


def test_a_cluster_run_reports_the_rows_its_stages_read_and_write(dask_runner: Any) -> None:
    seen = progress_checks.run("progress cluster", dask_runner)
    progress_checks.check(seen)
    # the master shows the same figures for `cluster status`
    (run,) = [r for r in dask_runner.status()["runs"] if r.get("flow") == "progress cluster"]
    assert [(st["read_rows"], st["rows"]) for st in run["stages"]] == [
        (progress_checks.ROWS, progress_checks.KEPT),
        (progress_checks.KEPT, progress_checks.KEPT),
    ]
