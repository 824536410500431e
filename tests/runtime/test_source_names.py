"""Column names of csv/tsv sources: ``names=``, headers that repeat a name, and saves with and
without a header line. References are the standard library's csv module and the bytes given.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from source_helpers import read_rows, write

import gleamnb as gl
from gleamnb.errors import ArgumentError, FieldError, MalformedInputError
from gleamnb.files import FileSpec
from gleamnb.runners.local import LocalRunner
from gleamnb.scan import names_at_build


def _ref(data: bytes, delimiter: str = ",") -> list[list[str]]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(data.decode()), delimiter=delimiter, quoting=quoting)
    return [row for row in reader if row]


# -- names= -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@pytest.mark.parametrize("header", [False, True])
def test_names_name_the_columns_with_or_without_a_header(
    tmp_path: Path, fmt: str, header: bool
) -> None:
    sep = "," if fmt == "csv" else "\t"
    lines = [["city", "pop"]] if header else []
    lines += [["Oslo", "709000"], ["Bergen", "291000"], ["Tromsø", "77000"]]
    data = "".join(sep.join(r) + "\n" for r in lines).encode()
    p = write(tmp_path / f"a.{fmt}", data)
    spec = FileSpec(fmt, p, header=header, names=("place", "people"), types={"people": str})
    assert names_at_build(spec) == ("place", "people")
    expected = [tuple(r) for r in _ref(data, sep)[1 if header else 0 :]]
    for shards in (1, 3):
        assert read_rows(spec, shards) == expected
    # columns= and types= refer to the new names; positions still work
    picked = FileSpec(fmt, p, header=header, names=("place", "people"), columns=("people", 1))
    assert names_at_build(picked) == ("people", "place")
    assert read_rows(picked) == [(int(b), a) for a, b in expected]


def test_names_with_quoted_newlines_read_the_file_whole(tmp_path: Path) -> None:
    data = b'a,b\n"x\ny",1\nz,2\n'
    p = write(tmp_path / "nl.csv", data)
    spec = FileSpec("csv", p, header=True, names=("text", "n"), newlines_in_values=True)
    assert names_at_build(spec) == ("text", "n")
    assert read_rows(spec) == [(t, int(n)) for t, n in _ref(data)[1:]]


def test_names_let_a_repeated_header_be_read(tmp_path: Path) -> None:
    p = write(tmp_path / "dup.csv", b"a,a,b\n1,2,3\n4,5,6\n")
    spec = FileSpec("csv", p, header=True, names=("a", "a_2", "b"))
    assert read_rows(spec) == [(1, 2, 3), (4, 5, 6)]
    assert read_rows(FileSpec("csv", p, header=True, names=("x", "y", "z"), columns=("y",))) == [
        (2,),
        (5,),
    ]


def test_names_of_the_wrong_length_name_the_file_and_count(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", b"1,2,3\n")
    for names in (("a", "b"), ("a", "b", "c", "d")):
        with pytest.raises(ArgumentError, match=rf"{len(names)} names, but .*a\.csv has 3 col"):
            names_at_build(FileSpec("csv", p, names=names))


def test_every_file_is_checked_against_names(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.csv", b"1,2\n")
    write(tmp_path / "d" / "b.csv", b"1,2,3\n")
    ds = gl.Flow("names").read(gl.csv(str(tmp_path / "d"), names=["x", "y"]))
    with pytest.raises(ArgumentError, match=r"2 names, but .*b\.csv has 3 columns"):
        ds.collect(gl.local(mode="inline"))


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a", "a"], "gives the name 'a' twice"),
        ([], "names is empty"),
        ("ab", "must be a list"),
        (["a", ""], "non-empty strings"),
        (["a", 2], "non-empty strings"),
    ],
)
def test_bad_names_are_refused_when_the_source_is_made(names: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        gl.csv("a.csv", names=names)  # type: ignore[arg-type]


def test_names_are_only_for_csv_and_tsv() -> None:
    with pytest.raises(ArgumentError, match="csv and tsv"):
        FileSpec("jsonl", "a.jsonl", names=("a",))


def test_projecting_an_old_name_after_renaming_is_a_field_error(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", b"city,pop\nOslo,1\n")
    with pytest.raises(FieldError, match="unknown column 'city'"):
        names_at_build(FileSpec("csv", p, header=True, names=("a", "b"), columns=("city",)))


def test_names_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", b"1,2\n")
    f = gl.Flow("fp")
    prints = {
        f.read(gl.csv(p)).fingerprint(),
        f.read(gl.csv(p, names=["a", "b"])).fingerprint(),
        f.read(gl.csv(p, names=["b", "a"])).fingerprint(),
    }
    assert len(prints) == 3


# -- a header that names a column twice ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_a_header_naming_a_column_twice_is_an_error(tmp_path: Path, fmt: str) -> None:
    sep = "," if fmt == "csv" else "\t"
    data = f"a{sep}b{sep}a\n1{sep}2{sep}3\n".encode()
    p = write(tmp_path / f"dup.{fmt}", data)
    twice = r"names two columns 'a' \(columns 1 and 3\)"
    with pytest.raises(MalformedInputError, match=twice) as e:
        names_at_build(FileSpec(fmt, p, header=True))
    assert e.value.location == f"{p}:1"
    assert "names=['a', 'b', 'a_2']" in (e.value.hint or "")
    # without a header the same line is data
    assert read_rows(FileSpec(fmt, p)) == [tuple(r) for r in _ref(data, sep)]


def test_a_repeated_header_in_a_later_file_fails_the_run(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.csv", b"x,y\n1,2\n")
    write(tmp_path / "d" / "b.csv", b"x,x\n3,4\n")
    ds = gl.Flow("dup").read(gl.csv(str(tmp_path / "d"), header=True))
    with pytest.raises(MalformedInputError, match=r"b\.csv names two columns 'x'"):
        ds.collect(gl.local(mode="inline"))


def test_a_jsonl_object_holding_a_key_twice_is_an_error_naming_the_line(tmp_path: Path) -> None:
    # Python's json would keep the last value and drop the first silently.
    p = write(tmp_path / "dup.jsonl", b'{"a": 1}\n{"a": 2, "a": 3}\n')
    twice = r"line 2 of .*dup\.jsonl holds the key 'a' twice"
    with pytest.raises(MalformedInputError, match=twice):
        read_rows(FileSpec("jsonl", p))


# -- save(header=) ----------------------------------------------------------------------------


def _parts(out: str) -> bytes:
    return b"".join(open(os.path.join(out, f), "rb").read() for f in sorted(os.listdir(out)))


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_headerless_read_then_save_without_header_gives_the_same_bytes(
    tmp_path: Path, fmt: str, runner: LocalRunner
) -> None:
    sep = "," if fmt == "csv" else "\t"
    data = "".join(f"w{i}{sep}{i}{sep}{i / 4}\n" for i in range(50)).encode()
    src = write(tmp_path / f"in.{fmt}", data)
    out = str(tmp_path / "out")
    flow = gl.Flow("round trip")
    flow.read(getattr(gl, fmt)(src)).save(out, fmt, header=False)
    flow.run(runner, progress=False)
    assert _parts(out) == data
    # two shards: two parts, neither with a header
    out2 = str(tmp_path / "out2")
    flow = gl.Flow("round trip 2")
    flow.read(getattr(gl, fmt)(src, shards=2)).save(out2, fmt, header=False)
    flow.run(runner, progress=False)
    assert len(os.listdir(out2)) == 2 and _parts(out2) == data


def test_save_keeps_its_header_by_default_and_names_from_names(tmp_path: Path) -> None:
    src = write(tmp_path / "in.tsv", b"a\t1\nb\t2\n")
    out = str(tmp_path / "out")
    ds = gl.Flow("header").read(gl.tsv(src, names=["k", "v"]))
    ds.save(out, "tsv").run(gl.local(mode="inline"), progress=False)
    assert _parts(out) == b"k\tv\na\t1\nb\t2\n"


def test_save_header_false_is_only_for_csv_and_tsv() -> None:
    ds = gl.Flow("h").ints([1])
    for fmt in ("parquet", "jsonl", "txt"):
        with pytest.raises(ArgumentError, match=f"a {fmt} save has no header line"):
            ds.save("out", fmt, header=False)
    with pytest.raises(ArgumentError, match="header must be True or False"):
        ds.save("out", "csv", header="no")  # type: ignore[arg-type]
    assert "(no header)" in gl.Flow("h").ints([1]).save("o", "csv", header=False).explain()
