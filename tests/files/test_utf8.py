"""The UTF-8 check of every text reader: strict errors name the file, byte and line;
``replace`` and ``ignore`` match Python's codec.

References are independent of the code under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from source_helpers import read_rows, typed, write

from gleamnb.errors import MalformedInputError
from gleamnb.files import FileSpec, list_files
from gleamnb.scan import names_at_build, plan_splits


def test_bad_utf8_strict_names_file_and_byte_offset(tmp_path: Path) -> None:
    data = b"ok\n" * 1000 + b"bad \xff byte\nok\n"
    p = write(tmp_path / "bad.txt", data)
    bad_at = data.index(b"\xff")
    for shards in (1, 3):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec("txt", p), shards)
        text = str(err.value)
        assert f"{p}@{bad_at}" in text
        assert f"byte {bad_at}" in text and "line 1001" in text
        assert 'errors="replace"' in text


def test_bad_utf8_replace_and_ignore(tmp_path: Path) -> None:
    data = b"fine\nbad \xff\xfe byte\n\xe2\x82 cut\n"
    p = write(tmp_path / "bad.txt", data)
    expect = data.decode("utf-8", "replace").split("\n")[:-1]
    assert [r[0] for r in read_rows(FileSpec("txt", p, errors="replace"))] == expect
    expect = data.decode("utf-8", "ignore").split("\n")[:-1]
    assert [r[0] for r in read_rows(FileSpec("txt", p, errors="ignore"))] == expect


BAD_LINES = [1502, 49000]


def _bad_utf8_file(tmp_path: Path, fmt: str, bad_line: int) -> tuple[str, bytes]:
    """A file of ``fmt`` of 50000 lines (1.7 MB, header included) whose line ``bad_line``
    holds the bytes 0xff 0xfe."""
    pad = "p" * 20
    if fmt == "jsonl":
        lines = [b'{"id": %d, "name": "%d%s"}' % (i, i, pad.encode()) for i in range(50000)]
        lines[bad_line - 1] = b'{"id": 0, "name": "\xff\xfe"}'
    else:
        sep = b"\t" if fmt == "tsv" else b","
        lines = [b"id" + sep + b"name"]
        lines += [b"%d%s%d%s" % (i, sep, i, pad.encode()) for i in range(1, 50000)]
        lines[bad_line - 1] = b"0" + sep + b"\xff\xfe"
    data = b"\n".join(lines) + b"\n"
    past_first_mib = data.find(0xFF) > 1 << 20
    assert past_first_mib == (bad_line == BAD_LINES[1])
    return write(tmp_path / f"bad{bad_line}.{fmt}", data), data


@pytest.mark.parametrize("bad_line", BAD_LINES)
@pytest.mark.parametrize(
    "fmt, options",
    [
        ("jsonl", {}),
        ("csv", {"header": True}),
        ("tsv", {"header": True}),
        ("csv", {"header": True, "newlines_in_values": True}),
    ],
)
def test_bad_utf8_in_csv_tsv_jsonl_names_file_byte_and_line(
    tmp_path: Path, fmt: str, options: dict, bad_line: int
) -> None:
    p, data = _bad_utf8_file(tmp_path, fmt, bad_line)
    bad_at = data.find(0xFF)
    for shards in (1, 3):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec(fmt, p, **options), shards)
        assert err.value.location == f"{p}@{bad_at}"
        text = str(err.value)
        assert f"byte {bad_at}" in text and f"line {bad_line}" in text
        assert 'errors="replace"' in text


def test_bad_utf8_in_the_first_mib_fails_at_plan_time(tmp_path: Path) -> None:
    # The header (csv) or the start (jsonl) are read when the run is planned.
    data = b"id,n\xffame\n1,x\n"
    p = write(tmp_path / "h.csv", data)
    with pytest.raises(MalformedInputError) as err:
        names_at_build(FileSpec("csv", p, header=True))
    assert err.value.location == f"{p}@{data.find(0xFF)}"
    data = b'{"a": "ok"}\n{"a": "\xe2\x82"}\n'
    p = write(tmp_path / "h.jsonl", data)
    spec = FileSpec("jsonl", p)
    with pytest.raises(MalformedInputError) as err:
        plan_splits(spec, list_files(spec), 2)
    assert err.value.location == f"{p}@{data.find(0xE2)}"


@pytest.mark.parametrize("bad_line", BAD_LINES)
@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_bad_utf8_replace_and_ignore_in_csv_tsv_jsonl(
    tmp_path: Path, errors: str, bad_line: int
) -> None:
    for fmt in ("csv", "tsv", "jsonl"):
        p, data = _bad_utf8_file(tmp_path, fmt, bad_line)
        text = data.decode("utf-8", errors)
        if fmt == "jsonl":
            expect = [tuple(json.loads(line).values()) for line in text.splitlines()]
            options: dict = {}
        else:
            parsed = list(csv.reader(text.splitlines(), delimiter="\t" if fmt == "tsv" else ","))
            expect = typed(parsed[1:], [int, str])
            options = {"header": True}
        for shards in (1, 3):
            assert read_rows(FileSpec(fmt, p, errors=errors, **options), shards) == expect
    p = write(tmp_path / "m.csv", b'a,b\n1,"x\n\xff"\n')
    spec = FileSpec("csv", p, header=True, newlines_in_values=True, errors=errors)
    assert read_rows(spec) == [(1, "x\n" + b"\xff".decode("utf-8", errors))]


def test_csv_bytes_column_keeps_raw_bytes(tmp_path: Path) -> None:
    p = write(tmp_path / "b.csv", b"k,blob\n1,ok\n2,\xff\xfe\n")
    spec = FileSpec("csv", p, header=True, types={"blob": bytes})
    assert read_rows(spec) == [(1, b"ok"), (2, b"\xff\xfe")]
