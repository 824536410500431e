"""The public source constructors: what they accept, what they refuse and how they say it."""

from __future__ import annotations

import dataclasses
import doctest
import json
import pickle
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import reference as ref

import gleamnb as gl
import gleamnb.api.sources as sources_mod
from gleamnb.api.sources import csv, jsonl, orc, parquet, tsv, txt
from gleamnb.errors import ArgumentError, GleamError, MalformedInputError
from gleamnb.files import FileSpec
from gleamnb.runners.local import LocalRunner


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


def test_errors_option_of_csv_tsv_jsonl() -> None:
    for make in (csv, tsv, jsonl):
        assert make("a").errors == "strict"
        assert make("a", errors="replace").errors == "replace"
        with pytest.raises(ArgumentError, match="errors must be one of"):
            make("a", errors="loose")


# ---------------------------------------------------------------------------------------------
# reading through a flow (inline runner)


def _collect(ds: gl.Dataset, runner: LocalRunner) -> list[tuple]:
    return ds.collect(runner, progress=False)


def test_jsonl_field_null_on_every_line_keeps_its_place(
    tmp_path: Path, inline: LocalRunner
) -> None:
    text = '{"a":1,"b":null,"c":"z"}\n{"a":2,"b":null,"c":"y"}\n'
    (tmp_path / "j3.jsonl").write_text(text)
    objs = [json.loads(line) for line in text.splitlines()]
    ds = gl.Flow("j3").read(jsonl(str(tmp_path / "j3.jsonl")))
    ref.assert_rows(_collect(ds, inline), [tuple(o.values()) for o in objs], ordered=True)
    ref.assert_rows(_collect(ds.select(2), inline), [(o["b"],) for o in objs], ordered=True)
    ref.assert_rows(_collect(ds.select(3), inline), [(o["c"],) for o in objs], ordered=True)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_saved_rows_read_back(tmp_path: Path, inline: LocalRunner, fmt: str) -> None:
    # values holding a tab, a quote or a comma, non-ASCII text, None in three fields
    rows = [
        (1, "a\tb", 2.5, None, True),
        (2, 'q"uote,', None, "x", False),
        (3, 'ü, "é" ✓', -0.5, "y", None),
    ]
    out = str(tmp_path / fmt)
    flow = gl.Flow("save")
    flow.from_iterable(rows, shards=2).save(out, format=fmt)
    flow.run(inline, progress=False)
    spec = jsonl(out) if fmt == "jsonl" else csv(out, header=True)
    for shards in (None, 3):
        source = dataclasses.replace(spec, shards=shards)
        got = _collect(gl.Flow("back").read(source), inline)
        ref.assert_rows(got, rows, ordered=True)


@pytest.mark.parametrize(
    "make, name, data",
    [
        (jsonl, "badu.jsonl", b'{"a":"ok"}\n{"a":"\xff"}\n'),
        (lambda p, **kw: csv(p, header=True, **kw), "badu.csv", b"a,b\n1,ok\n2,\xff\xfe\n"),
        (lambda p, **kw: tsv(p, header=True, **kw), "badu.tsv", b"a\tb\n1\tok\n2\t\xff\xfe\n"),
    ],
)
def test_invalid_utf8_is_a_clear_error_or_replaced(
    tmp_path: Path, inline: LocalRunner, make: Any, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MalformedInputError) as err:
        _collect(gl.Flow("bad").read(make(str(path))), inline)
    assert isinstance(err.value, GleamError)
    at = data.index(b"\xff")
    assert err.value.location == f"{path}@{at}"
    assert f"byte {at}" in str(err.value) and "line" in str(err.value)
    assert 'errors="replace"' in str(err.value)
    text = data.decode("utf-8", "replace")
    if name.endswith(".jsonl"):
        expect = [tuple(json.loads(line).values()) for line in text.splitlines()]
    else:
        lines = [line.split("\t" if name.endswith(".tsv") else ",") for line in text.splitlines()]
        expect = [(int(a), b) for a, b in lines[1:]]
    got = _collect(gl.Flow("replace").read(make(str(path), errors="replace")), inline)
    ref.assert_rows(got, expect, ordered=True)


def test_jsonl_key_after_the_first_mib_is_an_error_then_read_with_columns(
    tmp_path: Path, inline: LocalRunner
) -> None:
    # "late" first appears on line 40001, past the first MiB; then every 1000th line
    # (past 4 MiB of the long file too); "s" is missing from every 9th line.
    objs = [{"id": i, "s": "x" * 20} if i % 9 else {"id": i} for i in range(150000)]
    for i in range(40000, len(objs), 1000):
        objs[i]["late"] = i / 2
    lines = [json.dumps(o) for o in objs]
    at = sum(len(line) + 1 for line in lines[:40000])
    assert at > 1 << 20 and sum(len(line) + 1 for line in lines) > 4 << 20
    for n, shard_counts in ((41000, (1, 3)), (len(lines), (1,))):
        path = tmp_path / f"{n}.jsonl"
        path.write_text("".join(line + "\n" for line in lines[:n]))
        for shards in shard_counts:
            with pytest.raises(MalformedInputError) as err:
                _collect(gl.Flow("late").read(jsonl(str(path), shards)), inline)
            text = str(err.value)
            assert f"'late' on line 40001 of {path} (byte {at})" in text
            assert "first 1 MiB of each file" in text
            assert "columns=['id', 's', 'late']" in text
            assert "rows change arity" not in text
            keys = ["id", "s", "late"]
            ds = gl.Flow("all").read(jsonl(str(path), shards, columns=keys))
            expect = [tuple(json.loads(line).get(k) for k in keys) for line in lines[:n]]
            ref.assert_rows(_collect(ds, inline), expect, ordered=True)
