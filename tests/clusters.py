"""A real two-worker gleamnb cluster for tests (importable: ``tests/`` is on ``sys.path``)."""

from __future__ import annotations

from typing import Any


def two_agent_cluster() -> Any:
    """A Dask LocalCluster of two worker processes under nannies, on loopback, with the
    gleamnb master (each worker an agent with one executor)."""
    from distributed import LocalCluster

    from gleamnb.cluster.master import Master

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"plugins": [Master()]},
    )
