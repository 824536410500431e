"""A UTF-8 byte-order mark at the start of a text file is dropped, as Python's ``utf-8-sig``.

Every reader (txt, csv, tsv, jsonl; plain and compressed; whole files and byte ranges) is
checked against the standard library reading the same bytes with ``utf-8-sig``. A U+FEFF
anywhere else is data, wherever the chunk and shard boundaries fall.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from source_helpers import read_rows, read_shards, write

import gleamnb as gl
from gleamnb.errors import MalformedInputError
from gleamnb.files import FileSpec
from gleamnb.files.chunks import iter_chunks
from gleamnb.runners.local import LocalRunner
from gleamnb.scan import names_at_build

BOM = "\ufeff".encode()


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")


def _ref_csv(data: bytes, delimiter: str = ",", header: bool = False) -> list[tuple]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(_text(data)), delimiter=delimiter, quoting=quoting)
    rows = [tuple(r) for r in reader if r]
    return rows[1:] if header else rows


def _ref_lines(data: bytes) -> list[tuple]:
    return [(line,) for line in _text(data).split("\n")[:-1]]


def _files(tmp_path: Path, name: str, data: bytes) -> list[str]:
    """The same bytes as a plain file and as a gzip file."""
    plain = write(tmp_path / name, data)
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress(data))
    return [plain, str(packed)]


@pytest.mark.parametrize("shards", [1, 2, 5])
def test_txt_drops_the_mark_at_the_start_only(tmp_path: Path, shards: int) -> None:
    data = BOM + b"alpha\n" + BOM + b"beta\ngamma\n" * 3
    for p in _files(tmp_path, "a.txt", data):
        assert read_rows(FileSpec("txt", p), shards) == _ref_lines(data)


@pytest.mark.parametrize("shards", [1, 3])
def test_csv_header_after_the_mark_names_the_first_column(tmp_path: Path, shards: int) -> None:
    data = BOM + b"a,b\nx,1\ny,2\nz,3\n"
    for p in _files(tmp_path, "a.csv", data):
        spec = FileSpec("csv", p, header=True, types={"b": str})
        assert names_at_build(spec) == ("a", "b")
        assert read_rows(spec, shards) == _ref_csv(data, header=True)
        picked = FileSpec("csv", p, header=True, columns=("a",))
        assert read_rows(picked, shards) == [(r[0],) for r in _ref_csv(data, header=True)]


@pytest.mark.parametrize("options", [{}, {"newlines_in_values": True}, {"types": {1: bytes}}])
def test_csv_without_header_and_other_read_paths(tmp_path: Path, options: dict) -> None:
    data = BOM + b"x,y\nz,w\n"
    p = write(tmp_path / "a.csv", data)
    rows = read_rows(FileSpec("csv", p, **options))
    expected = _ref_csv(data)
    if "types" in options:
        expected = [(a.encode(), b) for a, b in expected]
    assert rows == expected


def test_tsv_drops_the_mark(tmp_path: Path) -> None:
    data = BOM + b"k\tv\nx\t1\n"
    for p in _files(tmp_path, "a.tsv", data):
        spec = FileSpec("tsv", p, header=True, types={"v": str})
        assert names_at_build(spec) == ("k", "v")
        assert read_rows(spec) == _ref_csv(data, "\t", header=True)


@pytest.mark.parametrize("shards", [1, 4])
def test_jsonl_drops_the_mark(tmp_path: Path, shards: int) -> None:
    data = BOM + b'{"a": 1}\n{"a": 2}\n{"a": 3}\n'
    for p in _files(tmp_path, "a.jsonl", data):
        expected = [(json.loads(line)["a"],) for line in _text(data).splitlines()]
        assert read_rows(FileSpec("jsonl", p), shards) == expected


def test_a_mark_inside_the_file_is_data_whatever_the_shards(tmp_path: Path) -> None:
    # Arrow's parser drops a mark at the start of any buffer: the one that starts a line of
    # the second byte range must stay, as it does when one range reads it mid-chunk.
    lines = [b"aaaaaaa,1", BOM + b"bbbb,2", b"ccccccc,3", BOM + b"dddd,4"]  # 10 bytes each
    data = b"\n".join(lines) + b"\n"
    p = write(tmp_path / "mid.csv", data)
    tsv = write(tmp_path / "mid.tsv", data.replace(b",", b"\t"))
    expected = _ref_csv(data)
    expected = [(k, int(v)) for k, v in expected]
    for shards in (1, 2, 4):  # 4: the second and fourth ranges start at a marked line
        assert read_rows(FileSpec("csv", p), shards) == expected, shards
        assert read_rows(FileSpec("tsv", tsv), shards) == expected, shards


def test_two_marks_keep_the_second_as_data(tmp_path: Path) -> None:
    data = BOM + BOM + b"a,b\n1,2\n"
    p = write(tmp_path / "two.csv", data)
    spec = FileSpec("csv", p, header=True)
    assert names_at_build(spec) == ("\ufeffa", "b")  # utf-8-sig drops one mark only
    assert read_rows(spec) == [(1, 2)]
    assert read_rows(FileSpec("csv", p, header=True, newlines_in_values=True)) == [(1, 2)]


def test_a_mark_inside_a_jsonl_file_is_an_error_naming_its_line(tmp_path: Path) -> None:
    # JSON has no U+FEFF before a value; the file's own mark is dropped, any other is an error.
    data = BOM + b'{"a": 1}\n' + BOM + b'{"a": 2}\n'
    p = write(tmp_path / "mid.jsonl", data)
    for shards in (1, 2):
        with pytest.raises(MalformedInputError, match=r"line 2 of .*mid\.jsonl"):
            read_shards(FileSpec("jsonl", p), shards)


def test_chunk_offsets_stay_file_offsets(tmp_path: Path) -> None:
    p = write(tmp_path / "a.txt", BOM + b"one\ntwo\n")
    assert list(iter_chunks(p)) == [(3, b"one\ntwo\n")]
    assert list(iter_chunks(p, 0, 5)) == [(3, b"one\n")]
    assert list(iter_chunks(write(tmp_path / "b.txt", BOM))) == []
    assert list(iter_chunks(write(tmp_path / "c.txt", b"\xef\xbb"))) == [(0, b"\xef\xbb")]


def test_bad_utf8_after_the_mark_names_the_real_byte_offset(tmp_path: Path) -> None:
    p = write(tmp_path / "bad.txt", BOM + b"ok\nb\xffd\n")
    with pytest.raises(MalformedInputError, match=r"at byte 7, line 2"):
        read_rows(FileSpec("txt", p))


def test_a_run_reads_a_marked_csv_by_header_name(tmp_path: Path, runner: LocalRunner) -> None:
    p = write(tmp_path / "people.csv", BOM + b"name,age\nann,31\nbob,42\n")
    ds = gl.Flow("bom").read(gl.csv(p, header=True, shards=2))
    assert ds.names == ("name", "age")
    assert ds.select("name").collect(runner) == [("ann",), ("bob",)]


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv"])
def test_shard_cuts_inside_the_mark_lose_no_line(tmp_path: Path, fmt: str) -> None:
    data = BOM + b"abc\nde\n"
    path = write(tmp_path / f"tiny.{fmt}", data)
    want = [tuple(line.split(",")) for line in ("abc", "de")]
    for shards in range(1, len(data) + 2):
        assert read_rows(FileSpec(fmt, path, shards=shards)) == want, shards
