"""The csv and tsv readers, against Python's ``csv`` module.

References are independent of the code under test.
"""

from __future__ import annotations

import csv
import gzip
import os
import random
from pathlib import Path

import pyarrow as pa
import pytest
from source_helpers import read_batches, read_rows, read_shards, typed, write

from gleamnb.errors import FieldError, MalformedInputError
from gleamnb.files import FileSpec, list_files
from gleamnb.runtime.sources import read_split
from gleamnb.scan import names_at_build, plan_splits


def test_csv_round_trip_against_csv_module(tmp_path: Path) -> None:
    rng = random.Random(3)
    records = [
        [
            i,
            rng.choice(["plain", 'with "quotes"', "comma, inside", " spaced ", "ü", ""]),
            round(rng.uniform(-1e3, 1e3), 3),
        ]
        for i in range(2000)
    ]
    p = tmp_path / "people.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "score"])
        w.writerows(records)
    with open(p, newline="") as f:
        parsed = list(csv.reader(f))
    expect = typed(parsed[1:], [int, str, float])
    for shards in (1, 4):
        spec = FileSpec("csv", str(p), header=True)
        assert read_rows(spec, shards) == expect
    batches = read_batches(FileSpec("csv", str(p), header=True), 3)
    assert {b.schema for b in batches} == {
        pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
    }


def test_csv_without_header_and_projection(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "1,x,2.5\n2,y,3.5\n")
    spec = FileSpec("csv", p)
    assert names_at_build(spec, list_files(spec)) == ("_1", "_2", "_3")
    assert read_rows(spec) == [(1, "x", 2.5), (2, "y", 3.5)]
    spec = FileSpec("csv", p, columns=(3, 1))
    assert names_at_build(spec, list_files(spec)) == ("_1", "_2")
    batches = read_batches(spec)
    assert batches[0].schema.names == ["_1", "_2"]
    assert read_rows(spec) == [(2.5, 1), (3.5, 2)]
    spec = FileSpec("csv", p, columns=("_2",))
    assert read_rows(spec) == [("x",), ("y",)]


def test_csv_header_projection_by_name_and_position(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a,b,c\n1,2,3\n4,5,6\n")
    spec = FileSpec("csv", p, header=True, columns=("c", "a"))
    assert names_at_build(spec, list_files(spec)) == ("c", "a")
    assert read_batches(spec)[0].schema.names == ["c", "a"]
    assert read_rows(spec) == [(3, 1), (6, 4)]
    spec = FileSpec("csv", p, header=True, columns=(2,))
    assert names_at_build(spec, list_files(spec)) == ("b",)
    assert read_rows(spec) == [(2,), (5,)]


def test_csv_several_files_each_with_header(tmp_path: Path) -> None:
    write(tmp_path / "d" / "1.csv", "k,v\na,1\nb,2\n")
    write(tmp_path / "d" / "2.csv", "k,v\nc,3\n")
    spec = FileSpec("csv", str(tmp_path / "d"), header=True)
    for n in (1, 2, 5):
        assert read_rows(spec, n) == [("a", 1), ("b", 2), ("c", 3)]


def test_unknown_projected_column_is_a_field_error(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "name,age\nann,3\n")
    spec = FileSpec("csv", p, header=True, columns=("name", "city"))
    with pytest.raises(FieldError) as err:
        names_at_build(spec, list_files(spec))
    assert "'city'" in str(err.value) and "known fields: name, age" in str(err.value)
    spec = FileSpec("csv", p, header=True, columns=(5,))
    with pytest.raises(FieldError, match="out of range"):
        names_at_build(spec, list_files(spec))
    spec = FileSpec("csv", p, header=True, types={"zip": str})
    with pytest.raises(FieldError, match="zip"):
        read_rows(spec)


def _bad_line_file(tmp_path: Path, n: int, bad_at: int) -> tuple[str, bytes]:
    lines = ["id,name,n"]
    for i in range(1, n):
        if i == bad_at:
            lines.append("999,too,many,fields")
        elif i % 97 == 0:
            lines.append("")  # empty lines count as lines
        else:
            lines.append(f"{i},name{i},{i * 2}")
    data = ("\n".join(lines) + "\n").encode()
    return write(tmp_path / "bad.csv", data), data


def test_malformed_csv_line_names_file_and_line(tmp_path: Path) -> None:
    p, _data = _bad_line_file(tmp_path, 300, 150)
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True))
    e = err.value
    assert e.location == f"{p}:151"
    assert e.row == "999,too,many,fields"
    assert "4 fields, expected 3" in str(e)


def test_malformed_csv_line_in_third_of_four_ranges(tmp_path: Path) -> None:
    n = 40_000
    p, data = _bad_line_file(tmp_path, n, 0)
    # put the bad line at the first line starting in the third quarter of the file
    starts = [0, *[i + 1 for i, b in enumerate(data) if b == 10][:-1]]
    target = next(i for i, s in enumerate(starts) if s >= len(data) * 5 // 8)
    lines = data.decode().split("\n")
    lines[target] = "999,too,many,fields"
    data = "\n".join(lines).encode()
    p = write(tmp_path / "bad.csv", data)
    spec = FileSpec("csv", p, header=True)
    plan = plan_splits(spec, list_files(spec), 4)
    bad_shard = None
    for index, shard in enumerate(plan):
        try:
            for split in shard:
                list(read_split(spec, split))
        except MalformedInputError as err:
            bad_shard = index
            assert err.location == f"{p}:{target + 1}"
            assert err.row == "999,too,many,fields"
    assert bad_shard == 2


def _big_int_csv(tmp_path: Path, bad: str) -> tuple[str, int]:
    rows = [f"{i},{i % 7}" for i in range(160_000)]  # > 1 MiB: inference sees ints only
    rows.append(f"160000,{bad}")
    rows.append("160001,3")
    p = write(tmp_path / "n.csv", "key,n\n" + "\n".join(rows) + "\n")
    return p, 160_000 + 2  # header is line 1


def test_bad_conversion_hints_types_float(tmp_path: Path) -> None:
    p, line = _big_int_csv(tmp_path, "3.5")
    assert os.path.getsize(p) > 1 << 20
    for shards in (1, 3):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec("csv", p, header=True), shards)
        e = err.value
        assert e.location == f"{p}:{line}"
        assert "types={'n': float}" in str(e)
        assert "'3.5'" in str(e) and "int64" in str(e)
    rows = read_rows(FileSpec("csv", p, header=True, types={"n": float}))
    assert rows[-2] == (160000, 3.5) and rows[0] == (0, 0.0)
    assert isinstance(rows[0][1], float)


def test_bad_conversion_hints_types_str(tmp_path: Path) -> None:
    p, line = _big_int_csv(tmp_path, "x")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True))
    assert err.value.location == f"{p}:{line}"
    assert "types={'n': str}" in str(err.value)
    rows = read_rows(FileSpec("csv", p, header=True, types={2: str}))
    assert rows[-2] == (160000, "x")


def test_bad_value_for_given_type(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "1\n2\nx\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, types={"_1": int}))
    assert err.value.location == f"{p}:3"
    assert "types=" in str(err.value)


def test_tsv_has_no_quoting(tmp_path: Path) -> None:
    p = tmp_path / "a.tsv"
    records = [["k", "v"], ['"quoted"', "1"], ["a,b", "2"], ["it's", "3"]]
    p.write_text("\n".join("\t".join(r) for r in records) + "\n")
    with open(p, newline="") as f:
        parsed = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    spec = FileSpec("tsv", str(p), header=True)
    assert read_rows(spec) == typed(parsed[1:], [str, int])
    assert names_at_build(spec, list_files(spec)) == ("k", "v")


def test_csv_custom_delimiter(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a;b\n1;x\n")
    assert read_rows(FileSpec("csv", p, header=True, delimiter=";")) == [(1, "x")]


def test_csv_newlines_in_values(tmp_path: Path) -> None:
    p = tmp_path / "multi.csv"
    records = [["id", "text"]] + [[str(i), f"line one\nline two {i}"] for i in range(50)]
    with open(p, "w", newline="") as f:
        csv.writer(f).writerows(records)
    with open(p, newline="") as f:
        parsed = list(csv.reader(f))
    spec = FileSpec("csv", str(p), header=True, newlines_in_values=True)
    got = read_shards(spec, 3)
    assert [len(s) for s in got].count(0) == 2
    assert [r for s in got for r in s] == typed(parsed[1:], [int, str])


def test_csv_newlines_in_values_bad_record_line(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", 'a,b\n1,"x\ny"\n2,"z"\n3\n')
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True, newlines_in_values=True))
    assert err.value.location == f"{p}:5"


def test_compressed_csv_and_errors_inside(tmp_path: Path) -> None:
    p = tmp_path / "a.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("k,v\na,1\n\nb,2\nc,2,3\n")
    spec = FileSpec("csv", str(p), header=True)
    with pytest.raises(MalformedInputError) as err:
        read_rows(spec)
    assert err.value.location == f"{p}:5"
    with gzip.open(p, "wt") as f:
        f.write("k,v\na,1\nb,2\n")
    assert read_rows(spec) == [("a", 1), ("b", 2)]
