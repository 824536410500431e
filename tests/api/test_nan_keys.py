"""NaN keys (docs/design.md §3): every NaN, whatever its sign or payload, is one key.

Grouping steps give all NaN rows one group and joins match NaN with NaN (None still matches
nothing), the same for every shard count, for in-memory data and for files (parquet keeps the
NaNs' bits). The reference is plain Python encoding that rule: a key is normalised (NaN to one
marker, ``-0.0`` to ``0.0``) and grouped or matched with a dict.
"""

from __future__ import annotations

import math
import operator
import struct
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner


def _nan(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


NANS = [
    float("nan"),  # 0x7ff8000000000000
    _nan(0xFFF8000000000000),  # negative: what 0.0 / 0.0 gives in numpy on x86
    _nan(0x7FF8000000000123),  # a payload
    _nan(0x7FF0000000000001),  # signalling
]
KEYS = [*NANS, None, 1.0, -0.0, 0.0, 2.5, NANS[0], None, 1.0]
LEFT = [(k, i) for i, k in enumerate(KEYS)]
RIGHT = [(NANS[1], "n"), (None, "z"), (0.0, "zero"), (1.0, "one"), (7.0, "seven")]

_NAN_KEY = ("NaN",)  # the reference's one marker for every NaN


def _norm(key: Any) -> Any:
    if isinstance(key, float):
        if math.isnan(key):
            return _NAN_KEY
        return key + 0.0  # -0.0 + 0.0 == 0.0
    return key


def _ref_groups(rows: list[tuple]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for k, v in rows:
        groups[_norm(k)].append(v)
    return dict(groups)


def _ref_join(kind: str) -> list[tuple]:
    right: dict[Any, list[Any]] = defaultdict(list)
    for k, w in RIGHT:
        if k is not None:
            right[_norm(k)].append(w)
    out, matched = [], set()
    for k, v in LEFT:
        hits = right.get(_norm(k), []) if k is not None else []
        matched.update([_norm(k)] if hits else [])
        out += [(_norm(k), v, w) for w in hits]
        if not hits and kind in ("left", "full"):
            out.append((_norm(k), v, None))
    if kind == "full":
        out += [(_norm(k), None, w) for k, w in RIGHT if k is None or _norm(k) not in matched]
    return sorted(out, key=repr)


def _normed(rows: list[tuple]) -> list[tuple]:
    return sorted(((_norm(r[0]), *r[1:]) for r in rows), key=repr)


def _sources(tmp_path: Path, shards: int) -> dict[str, gl.Dataset]:
    """The left rows in memory and read back from a parquet file, in ``shards`` shards."""
    table = pa.table({"k": pa.array(KEYS, pa.float64()), "v": [v for _, v in LEFT]})
    path = tmp_path / f"left{shards}.parquet"
    pq.write_table(table, path, row_group_size=3)
    f = gl.Flow(f"nan keys x{shards}")
    return {
        "memory": f.slices(LEFT, shards=shards),
        "parquet": f.read(gl.parquet(str(path), shards=shards)),
    }


@pytest.mark.parametrize("shards", [1, 3])
def test_nan_keys_group_as_one_key(tmp_path: Path, shards: int, inline: LocalRunner) -> None:
    groups = _ref_groups(LEFT)
    sums = sorted(((k, sum(vs)) for k, vs in groups.items()), key=repr)
    for where, ds in _sources(tmp_path, shards).items():
        assert _normed(ds.reduce_by_key("sum").collect(inline)) == sums, where
        assert _normed(ds.reduce_by_key(operator.add).collect(inline)) == sums, where
        assert _normed(ds.reduce_by_key(lambda a, b: a + b).collect(inline)) == sums, where
        grouped = [(k, sorted(vs)) for k, vs in ds.group_by_key().collect(inline)]
        assert _normed(grouped) == sorted(((k, sorted(vs)) for k, vs in groups.items()), key=repr)
        keys = [k for (k, _) in ds.distinct(key=1).collect(inline)]
        assert sorted(map(_norm, keys), key=repr) == sorted(groups, key=repr), where
        only_keys = ds.select(1).distinct().collect(inline)
        assert sorted((_norm(k) for (k,) in only_keys), key=repr) == sorted(groups, key=repr)


@pytest.mark.parametrize("shards", [1, 3])
def test_nan_keys_match_in_joins(tmp_path: Path, shards: int, inline: LocalRunner) -> None:
    for where, ds in _sources(tmp_path, shards).items():
        right = ds.flow.slices(RIGHT, shards=2)
        assert _normed(ds.join(right).collect(inline)) == _ref_join("inner"), where
        assert _normed(ds.hash_join(right).collect(inline)) == _ref_join("inner"), where
        assert _normed(ds.left_outer_join(right).collect(inline)) == _ref_join("left"), where
        assert _normed(ds.full_outer_join(right).collect(inline)) == _ref_join("full"), where
        nan_group = [
            (sorted(lv), rv)
            for k, lv, rv in ds.co_group(right).collect(inline)
            if _norm(k) == _NAN_KEY
        ]
        expected = sorted(v for k, v in LEFT if _norm(k) == _NAN_KEY)
        assert nan_group == [(expected, ["n"])], where


def test_nan_keys_in_executor_processes(runner: LocalRunner) -> None:
    ds = gl.Flow("nan keys processes").slices(LEFT, shards=3)
    sums = sorted(((k, sum(vs)) for k, vs in _ref_groups(LEFT).items()), key=repr)
    assert _normed(ds.reduce_by_key("sum").collect(runner)) == sums
    assert _normed(ds.join(ds.flow.slices(RIGHT)).collect(runner)) == _ref_join("inner")


def test_nan_inside_nested_keys_is_one_key(inline: LocalRunner) -> None:
    keys = pa.array([[NANS[0]], [NANS[1]], [1.0], [NANS[2]]], pa.list_(pa.float64()))
    table = pa.table({"k": keys, "v": [1, 2, 3, 4]})
    for shards in (1, 3):
        ds = gl.Flow("nested").from_arrow(table, shards=shards)
        out = {tuple(_norm(x) for x in k): v for k, v in ds.reduce_by_key("sum").collect(inline)}
        assert out == {(_NAN_KEY,): 7, (1.0,): 3}
