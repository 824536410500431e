"""``%gleam cluster start|status|stop|connect`` in a real kernel, and a cell run on the cluster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from kernels import Kernel

CELL = """%%gleam on_cluster -o squares
flow.range(0, 100, shards=4).map(lambda x: x * x)
"""


@pytest.mark.slow
def test_a_cluster_started_from_the_notebook_runs_cells_and_stops(tmp_path: Path) -> None:
    folder = tmp_path / "cluster"
    with Kernel(tmp_path) as k:
        k.run("%load_ext gleamnb\nimport gleamnb as gl")
        started = k.run(f"%gleam cluster start --agents 1 --port 0 --name nbt --dir {folder}")
        try:
            assert started.error is None and started.reply["status"] == "ok", started.stdout
            assert "address:" in started.stdout and "nbt" in started.stdout
            assert "DaskRunner" in k.run("%gleam runner").data("text/plain")[-1]
            cell = k.run(CELL)
            assert cell.error is None, cell.error
            header = cell.data("text/html")[0]
            assert "on dask" in header and "gl-status-finished" in header
            rows = k.run("print(sorted(squares.column(0).to_pylist()))").stdout
            assert ast.literal_eval(rows) == [x * x for x in range(100)]
            address = next(
                line.split("address:", 1)[1].strip()
                for line in started.stdout.splitlines()
                if "address:" in line
            )
            assert "LocalRunner" in k.run("%gleam local").data("text/plain")[-1]
            connected = k.run(f"%gleam cluster connect {address}")
            assert address.split("//")[-1] in connected.data("text/plain")[-1]
            again = k.run(CELL.replace("squares", "again"))
            assert again.error is None and "on dask" in again.data("text/html")[0]
            status = k.run(f"%gleam cluster status --name nbt --dir {folder}")
            assert status.reply["status"] == "ok" and "agent" in status.stdout.lower()
        finally:
            stopped = k.run(f"%gleam cluster stop --name nbt --dir {folder}")
        assert stopped.reply["status"] == "ok", stopped.stdout
        assert "LocalRunner" in k.run("%gleam runner").data("text/plain")[-1]
        gone = k.run(f"%gleam cluster status --name nbt --dir {folder}")
        assert gone.reply["status"] == "error"  # nothing running: the command's own error
        assert "nbt" in gone.stdout
