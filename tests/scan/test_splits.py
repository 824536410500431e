"""Splits: exactly one list per shard, balanced, picklable, each range read once.

References are independent of the code under test.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pyarrow as pa
import pytest
from source_helpers import read_rows, read_shards, ref_lines, write

from gleamnb.files import FileSpec, list_files
from gleamnb.runtime.sources import read_split
from gleamnb.scan import Split, plan_splits


@pytest.mark.slow
def test_50mb_file_splits_into_four_ranges(tmp_path: Path) -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "ü"]
    block = "\n".join(
        " ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(20_000)
    ).encode()
    data = (block + b"\n") * (50_000_000 // (len(block) + 1) + 1)
    p = write(tmp_path / "big.txt", data)
    spec = FileSpec("txt", p, shards=4)
    files = list_files(spec)
    plan = plan_splits(spec, files, 4)
    assert [len(s) for s in plan] == [1, 1, 1, 1]
    sizes = [(s[0].end or len(data)) - s[0].start for s in plan]
    assert all(abs(size - len(data) / 4) <= 1 for size in sizes)
    parts = [pa.concat_arrays([b.column(0) for b in read_split(spec, s[0])]) for s in plan]
    assert all(len(part) > 0 for part in parts)
    whole = pa.concat_arrays(
        [b.column(0) for b in read_split(spec, plan_splits(spec, files, 1)[0][0])]
    )
    assert pa.concat_arrays(parts).equals(whole)
    assert len(whole) == len(ref_lines(data))
    assert whole.slice(0, 1000).to_pylist() == ref_lines(data[:200_000])[:1000]
    assert max(b.num_rows for s in plan for b in read_split(spec, s[0])) <= 1 << 18


def test_plan_gives_exactly_shards_lists(tmp_path: Path) -> None:
    a = write(tmp_path / "d" / "a.txt", b"1\n2\n3\n")
    write(tmp_path / "d" / "b.txt", b"4\n5\n")
    spec = FileSpec("txt", str(tmp_path / "d"))
    for n in (1, 2, 3, 9):
        plan = plan_splits(spec, list_files(spec), n)
        assert len(plan) == n
        rows = [r for shard in read_shards(spec, n) for r in shard]
        assert rows == [("1",), ("2",), ("3",), ("4",), ("5",)]
    plan = plan_splits(spec, list_files(spec), 1)
    assert plan[0][0] == Split(a)
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_splits_and_specs_pickle(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a,b\n1,2\n")
    spec = FileSpec("csv", p, header=True, types={"a": float}, columns=("b", "a"))
    assert pickle.loads(pickle.dumps(spec)) == spec
    plan = plan_splits(spec, list_files(spec), 2)
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert read_rows(spec) == [(2, 1.0)]
