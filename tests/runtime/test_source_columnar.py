"""The parquet and ORC readers, against the tables written.

References are independent of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.orc as porc
import pyarrow.parquet as pq
import pytest
from source_helpers import read_batches, read_rows, read_shards, write

from gleamnb.errors import FieldError, MalformedInputError
from gleamnb.files import FileSpec, list_files
from gleamnb.scan import names_at_build, plan_splits


def _table(n: int) -> pa.Table:
    return pa.table(
        {
            "k": [f"k{i}" for i in range(n)],
            "v": list(range(n)),
            "f": [i / 2 for i in range(n)],
        }
    )


def test_parquet_projection_and_row_group_splits(tmp_path: Path) -> None:
    table = _table(1000)
    p = str(tmp_path / "a.parquet")
    pq.write_table(table, p, row_group_size=100)
    expect = [tuple(r.values()) for r in table.to_pylist()]
    spec = FileSpec("parquet", p)
    assert names_at_build(spec, list_files(spec)) == ("k", "v", "f")
    assert read_rows(spec) == expect
    got = read_shards(spec, 4)  # more shards than files: row groups
    assert all(len(s) > 0 for s in got)
    assert [r for s in got for r in s] == expect
    spec = FileSpec("parquet", p, columns=("f", 1))
    assert names_at_build(spec, list_files(spec)) == ("f", "k")
    assert read_rows(spec, 3) == [(r[2], r[0]) for r in expect]
    batches = read_batches(FileSpec("parquet", p))
    assert batches[0].schema.field("v").type == pa.int64()
    with pytest.raises(FieldError, match="known fields: k, v, f"):
        names_at_build(FileSpec("parquet", p, columns=("x",)), list_files(spec))


def test_parquet_whole_files_in_order(tmp_path: Path) -> None:
    for i in range(5):
        pq.write_table(_table(10 + i), str(tmp_path / f"p{i}.parquet"))
    spec = FileSpec("parquet", str(tmp_path))
    plan = plan_splits(spec, list_files(spec), 2)
    assert all(s.pieces is None for shard in plan for s in shard)
    assert sum(len(s) for s in plan) == 5 and all(plan)
    expect = [tuple(r.values()) for i in range(5) for r in _table(10 + i).to_pylist()]
    assert read_rows(spec, 2) == expect


def test_bad_parquet_file(tmp_path: Path) -> None:
    p = write(tmp_path / "x.parquet", b"not parquet at all")
    with pytest.raises(MalformedInputError, match=r"cannot read .* as parquet"):
        read_rows(FileSpec("parquet", p))


def test_orc_projection_and_stripes(tmp_path: Path) -> None:
    table = _table(20_000)
    p = str(tmp_path / "a.orc")
    porc.write_table(table, p, stripe_size=64 * 1024)
    expect = [tuple(r.values()) for r in table.to_pylist()]
    spec = FileSpec("orc", p)
    assert names_at_build(spec, list_files(spec)) == ("k", "v", "f")
    assert read_rows(spec) == expect
    assert porc.ORCFile(p).nstripes > 1
    got = read_shards(spec, 3)
    assert [r for s in got for r in s] == expect
    assert sum(1 for s in got if s) > 1
    spec = FileSpec("orc", p, columns=("f", 1))
    assert names_at_build(spec, list_files(spec)) == ("f", "k")
    assert read_rows(spec, 2) == [(r[2], r[0]) for r in expect]
