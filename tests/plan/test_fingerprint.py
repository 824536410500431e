"""Dataset fingerprints change exactly when the data they describe can change."""

from __future__ import annotations

import operator
import os
from pathlib import Path

import gleamnb as gl

SCALE = 10


def scaled(x: int) -> int:
    return x * SCALE


def test_same_flow_built_twice_has_the_same_fingerprints() -> None:
    def build() -> gl.Dataset:
        f = gl.Flow("fp")
        return (
            f.slices([("a", 1), ("b", 2)]).map(lambda k, v: (k, v * 2)).reduce_by_key(operator.add)
        )

    assert build().fingerprint() == build().fingerprint()


def test_editing_code_parameters_or_data_changes_the_fingerprint() -> None:
    f = gl.Flow("fp")
    base = f.range(0, 10, shards=2)
    prints = {
        base.map(lambda x: x + 1).fingerprint(),
        base.map(lambda x: x + 2).fingerprint(),  # other code
        base.map(lambda x: x + 1).filter(bool).fingerprint(),  # another step
        f.range(0, 11, shards=2).map(lambda x: x + 1).fingerprint(),  # other parameters
        f.range(0, 10, shards=3).map(lambda x: x + 1).fingerprint(),  # other sharding
        base.sort(gl.order_by(1, descending=True)).fingerprint(),
        base.sort(gl.order_by(1)).fingerprint(),
        f.ints([1, 2]).fingerprint(),
        f.ints([1, 3]).fingerprint(),  # other data
    }
    assert len(prints) == 9


def test_closure_values_and_referenced_globals_count() -> None:
    f = gl.Flow("fp")

    def adder(n: int) -> gl.Dataset:
        return f.range(0, 3).map(lambda x: x + n)

    assert adder(1).fingerprint() == adder(1).fingerprint()
    assert adder(1).fingerprint() != adder(2).fingerprint()

    global SCALE
    before = f.range(0, 3).map(scaled).fingerprint()
    SCALE = 11
    try:
        assert f.range(0, 3).map(scaled).fingerprint() != before
    finally:
        SCALE = 10
    assert f.range(0, 3).map(scaled).fingerprint() == before


def test_file_sources_follow_the_files(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("one\ntwo\n")
    f = gl.Flow("fp")
    first = f.read(gl.txt(str(path))).fingerprint()
    assert f.read(gl.txt(str(path))).fingerprint() == first
    path.write_text("one\ntwo\nthree\n")
    os.utime(path, ns=(1, 1))
    assert f.read(gl.txt(str(path))).fingerprint() != first


def test_hints_that_do_not_change_data_keep_the_fingerprint() -> None:
    f = gl.Flow("fp")
    d = f.range(0, 5).map(lambda x: x * x)
    assert d.on_disk().fingerprint() == d.fingerprint()
