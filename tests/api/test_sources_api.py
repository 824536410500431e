"""The public source constructors: what they accept, what they refuse and how they say it."""

from __future__ import annotations

import doctest
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

import gleamnb.api.sources as sources_mod
from gleamnb.api.sources import csv, jsonl, orc, parquet, tsv, txt
from gleamnb.errors import ArgumentError
from gleamnb.runtime.sources import FileSpec


def test_each_constructor_gives_its_format() -> None:
    specs = [txt("a"), csv("a"), tsv("a"), parquet("a"), orc("a"), jsonl("a")]
    assert [s.format for s in specs] == ["txt", "csv", "tsv", "parquet", "orc", "jsonl"]
    assert all(isinstance(s, FileSpec) for s in specs)
    assert csv("a").sep == "," and tsv("a").sep == "\t"
    assert csv("a", delimiter=";").sep == ";"


def test_paths_str_pathlike_and_lists(tmp_path: Path) -> None:
    assert txt(tmp_path / "x.txt").path == str(tmp_path / "x.txt")
    spec = csv([tmp_path / "a.csv", "b/*.csv"])
    assert spec.path == (str(tmp_path / "a.csv"), "b/*.csv")
    assert spec.paths == (str(tmp_path / "a.csv"), "b/*.csv")
    with pytest.raises(ArgumentError, match="empty"):
        txt([])
    with pytest.raises(ArgumentError, match=r"str or os\.PathLike"):
        txt(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4"])
def test_bad_shard_counts(bad: object) -> None:
    for make in (txt, csv, tsv, parquet, orc, jsonl):
        with pytest.raises(ArgumentError) as err:
            make("a", bad)  # type: ignore[arg-type]
        assert repr(bad) in str(err.value)
        assert "shards=" in str(err.value)


def test_options_are_checked() -> None:
    with pytest.raises(ArgumentError, match="errors must be one of"):
        txt("a", errors="loose")
    with pytest.raises(ArgumentError, match="delimiter"):
        csv("a", delimiter=",,")
    with pytest.raises(ArgumentError, match="1-based"):
        csv("a", columns=[0])
    with pytest.raises(ArgumentError, match="twice"):
        csv("a", columns=["x", "x"])
    with pytest.raises(ArgumentError, match="named, not numbered"):
        jsonl("a", columns=[1])
    with pytest.raises(ArgumentError, match="not a column type"):
        csv("a", types={"x": list})
    with pytest.raises(ArgumentError, match="empty"):
        parquet("a", columns=[])


def test_columns_and_types_are_normalised() -> None:
    spec = csv("a", header=True, columns=["b", 2], types={"b": float, 3: "int32", "c": str})
    assert spec.columns == ("b", 2)
    assert spec.types == (("b", pa.float64()), (3, pa.int32()), ("c", pa.string()))
    assert csv("a", columns="b").columns == ("b",)
    assert tsv("a", columns=(1,)).columns == (1,)


def test_specs_pickle_compare_and_describe() -> None:
    spec = csv("data/*.csv", 4, header=True, columns=["a"], types={"a": int})
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(spec) == hash(pickle.loads(pickle.dumps(spec)))
    assert spec.describe() == "csv data/*.csv (shards=4, header, columns=a)"
    assert txt(["a.txt", "b.txt"]).describe() == "txt a.txt, b.txt"


def test_doctests() -> None:
    assert doctest.testmod(sources_mod, optionflags=doctest.ELLIPSIS).failed == 0
