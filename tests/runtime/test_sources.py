"""File sources: listing, planning, byte-range splitting and the readers of every format.

References are independent of the code under test: lines by ``bytes.split``, CSV by Python's
``csv`` module, JSON by the ``json`` module, parquet/ORC by the tables written.
"""

from __future__ import annotations

import bz2
import csv
import doctest
import gzip
import importlib
import json
import os
import pickle
import random
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.orc as porc
import pyarrow.parquet as pq
import pytest
import reference as ref
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gleamnb.errors import FieldError, InputNotFoundError, MalformedInputError
from gleamnb.files import FileInfo, FileSpec, default_shards, list_files
from gleamnb.files import chunks as chunks_mod
from gleamnb.files import shards as shards_mod
from gleamnb.rows import batch_to_rows
from gleamnb.runtime.sources import read_split
from gleamnb.scan import Split, names_at_build, plan_splits

# ---------------------------------------------------------------------------------------------
# helpers


def ref_lines(data: bytes) -> list[str]:
    """The lines of ``data`` by plain Python: split on \\n, drop one \\r before each \\n."""
    if not data:
        return []
    pieces = data.split(b"\n")
    ended = data.endswith(b"\n")
    if ended:
        pieces.pop()
    out = []
    for i, piece in enumerate(pieces):
        has_newline = i < len(pieces) - 1 or ended
        if has_newline and piece.endswith(b"\r"):
            piece = piece[:-1]
        out.append(piece.decode("utf-8"))
    return out


def read_shards(spec: FileSpec, shards: int | None = None) -> list[list[tuple]]:
    files = list_files(spec)
    n = shards if shards is not None else default_shards(spec, files)
    plan = plan_splits(spec, files, n)
    assert len(plan) == n
    out = []
    for shard in plan:
        rows: list[tuple] = []
        for split in shard:
            for batch in read_split(spec, split):
                rows.extend(batch_to_rows(batch))
        out.append(rows)
    return out


def read_rows(spec: FileSpec, shards: int | None = None) -> list[tuple]:
    return [row for shard in read_shards(spec, shards) for row in shard]


def read_batches(spec: FileSpec, shards: int | None = None) -> list[pa.RecordBatch]:
    files = list_files(spec)
    plan = plan_splits(spec, files, shards or default_shards(spec, files))
    return [b for shard in plan for split in shard for b in read_split(spec, split)]


def write(path: Path, data: bytes | str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return str(path)


# ---------------------------------------------------------------------------------------------
# txt


def test_txt_lines_match_plain_python(tmp_path: Path) -> None:
    data = "first\r\nsecond\n\n  spaced  \nhé ünïcode ✓\r\n\r\nno newline at end".encode()
    p = write(tmp_path / "a.txt", data)
    rows = read_rows(FileSpec("txt", p))
    assert rows == [(line,) for line in ref_lines(data)]
    batches = read_batches(FileSpec("txt", p))
    assert batches[0].schema.names == ["_1"]
    assert pa.types.is_string(batches[0].schema.field(0).type)


def test_txt_empty_file_gives_no_rows(tmp_path: Path) -> None:
    p = write(tmp_path / "empty.txt", b"")
    assert read_shards(FileSpec("txt", p), 3) == [[], [], []]


lines_strategy = st.lists(
    st.text(alphabet=st.sampled_from(["a", "b", " ", "\r", "é", "字", "x"]), max_size=12),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    lines=lines_strategy,
    endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=40, max_size=40),
    trailing=st.booleans(),
    shards=st.integers(1, 7),
    chunk=st.integers(1, 64),
)
@example(lines=["", "", ""], endings=["\n"] * 40, trailing=True, shards=7, chunk=1)
@example(lines=["abc"], endings=["\r\n"] * 40, trailing=False, shards=5, chunk=2)
def test_byte_ranges_tile_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    endings: list[str],
    trailing: bool,
    shards: int,
    chunk: int,
) -> None:
    text = "".join(line + endings[i] for i, line in enumerate(lines))
    if lines and not trailing:
        text = text[: -len(endings[len(lines) - 1])]
    data = text.encode("utf-8")
    p = write(tmp_path_factory.mktemp("prop") / "f.txt", data)
    spec = FileSpec("txt", p)
    with mock.patch.object(chunks_mod, "CHUNK_BYTES", chunk):
        got = read_shards(spec, shards)
    assert len(got) == shards
    assert [r[0] for shard in got for r in shard] == ref_lines(data)


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


def test_default_shards_one_per_file_and_per_64mib() -> None:
    spec = FileSpec("txt", "x")
    mib = 1 << 20
    files = [FileInfo("a.txt", 10, 0), FileInfo("b.txt", 130 * mib, 0)]
    assert default_shards(spec, files) == 1 + 3
    assert default_shards(FileSpec("txt", "x", shards=5), files) == 5
    assert default_shards(spec, [FileInfo("a.txt.gz", 500 * mib, 0)]) == 1
    assert default_shards(FileSpec("parquet", "x"), [FileInfo("a.parquet", 500 * mib, 0)]) == 1
    csv_spec = FileSpec("csv", "x", newlines_in_values=True)
    assert default_shards(csv_spec, [FileInfo("a.csv", 500 * mib, 0)]) == 1


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


def test_compressed_files_are_read_whole(tmp_path: Path) -> None:
    data = b"".join(f"line {i}\n".encode() for i in range(5000))
    gz = tmp_path / "a.txt.gz"
    with gzip.open(gz, "wb") as f:
        f.write(data)
    bz = tmp_path / "b.txt.bz2"
    bz.write_bytes(bz2.compress(data))
    zst = tmp_path / "c.txt.zst"
    with pa.CompressedOutputStream(str(zst), "zstd") as out:
        out.write(data)
    for path in (gz, bz, zst):
        spec = FileSpec("txt", str(path))
        got = read_shards(spec, 3)
        assert [len(s) for s in got].count(0) == 2  # never split
        assert [r[0] for s in got for r in s] == ref_lines(data)
    folder = FileSpec("txt", str(tmp_path))
    assert default_shards(folder, list_files(folder)) == 3


# ---------------------------------------------------------------------------------------------
# listing


def test_globs_folders_and_markers(tmp_path: Path) -> None:
    for rel in [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
        "a/_SUCCESS",
        "a/.hidden",
        "a/_tmp/4.txt",
        "a/x.csv",
    ]:
        write(tmp_path / rel, rel + "\n")
    names = lambda spec: [os.path.relpath(f.path, tmp_path) for f in list_files(spec)]  # noqa: E731
    assert names(FileSpec("txt", str(tmp_path / "a" / "*.txt"))) == ["a/1.txt", "a/2.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "?.txt"))) == ["a/1.txt", "a/2.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "**" / "*.txt"))) == [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
    ]
    assert names(FileSpec("txt", str(tmp_path / "a"))) == [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
        "a/x.csv",
    ]
    # a pattern that starts with '_' asks for such names; a matched folder is read whole
    assert names(FileSpec("txt", str(tmp_path / "a" / "_*"))) == ["a/_SUCCESS", "a/_tmp/4.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "s*"))) == ["a/sub/3.txt"]
    two = FileSpec("txt", (str(tmp_path / "a" / "x.csv"), str(tmp_path / "a" / "*.txt")))
    assert names(two) == ["a/x.csv", "a/1.txt", "a/2.txt"]
    info = list_files(FileSpec("txt", str(tmp_path / "a" / "1.txt")))[0]
    st_ = os.stat(tmp_path / "a" / "1.txt")
    assert (info.size, info.mtime_ns) == (st_.st_size, st_.st_mtime_ns)
    assert os.path.isabs(info.path)


def test_relative_path_and_pathlike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "r.txt", "x\n")
    monkeypatch.chdir(tmp_path)
    assert read_rows(FileSpec("txt", "r.txt")) == [("x",)]
    assert read_rows(FileSpec("txt", tmp_path / "r.txt")) == [("x",)]


def test_missing_file_names_the_path_and_cwd(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(InputNotFoundError) as err:
        list_files(FileSpec("txt", missing))
    text = str(err.value)
    assert missing in text and os.getcwd() in text and "check the path" in text
    assert isinstance(err.value, FileNotFoundError)


def test_empty_glob_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "_SUCCESS", "")
    with pytest.raises(InputNotFoundError, match=r"no input file matches .*\*\.csv"):
        list_files(FileSpec("csv", str(tmp_path / "*.csv")))
    with pytest.raises(InputNotFoundError, match="holds no input file"):
        list_files(FileSpec("csv", str(tmp_path / "empty")))


# ---------------------------------------------------------------------------------------------
# bad UTF-8


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
"""Where ``_bad_utf8_file`` puts its bad line: in the first MiB (seen when the run is planned)
or past it (seen by the range that reads it)."""


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
            expect = _typed(parsed[1:], [int, str])
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


# ---------------------------------------------------------------------------------------------
# csv / tsv


def _typed(rows: list[list[str]], kinds: list[type]) -> list[tuple]:
    out = []
    for row in rows:
        out.append(tuple(None if v == "" and k is not str else k(v) for v, k in zip(row, kinds)))
    return out


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
    expect = _typed(parsed[1:], [int, str, float])
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
    assert read_rows(spec) == _typed(parsed[1:], [str, int])
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
    assert [r for s in got for r in s] == _typed(parsed[1:], [int, str])


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


# ---------------------------------------------------------------------------------------------
# jsonl


def test_jsonl_round_trip_against_json_module(tmp_path: Path) -> None:
    rng = random.Random(5)
    objs = [
        {
            "id": i,
            "name": rng.choice(["a", "b ü", 'q"uote']),
            "score": i / 4,
            "tags": [rng.randint(0, 9) for _ in range(rng.randint(0, 3))],
            "note": None if i % 3 else "x",
        }
        for i in range(3000)
    ]
    text = "\n".join(json.dumps(o) for o in objs) + "\n"
    p = write(tmp_path / "a.jsonl", text)
    expect = [tuple(json.loads(line).values()) for line in text.splitlines()]
    for shards in (1, 4):
        assert read_rows(FileSpec("jsonl", p), shards) == expect
    spec = FileSpec("jsonl", p, columns=("score", "missing", "id"))
    assert names_at_build(spec, list_files(spec)) == ("score", "missing", "id")
    assert read_rows(spec, 2) == [(o["score"], None, o["id"]) for o in objs]
    spec = FileSpec("jsonl", p, columns=("score", "id"))  # every column typed at plan time
    assert read_rows(spec, 3) == [(o["score"], o["id"]) for o in objs]
    assert names_at_build(FileSpec("jsonl", p), list_files(FileSpec("jsonl", p))) is None


def test_jsonl_field_null_on_every_line_keeps_its_place(tmp_path: Path) -> None:
    text = '{"a": 1, "b": null, "c": "z"}\n{"a": 2, "b": null, "c": "y"}\n'
    p = write(tmp_path / "n.jsonl", text)
    expect = [tuple(json.loads(line).values()) for line in text.splitlines()]
    assert read_rows(FileSpec("jsonl", p)) == expect
    assert read_batches(FileSpec("jsonl", p))[0].schema.names == ["a", "b", "c"]


def test_jsonl_fields_line_up_across_files_and_ranges(tmp_path: Path) -> None:
    # Keys in another order, missing, null in a whole file or typed only in a later file.
    files = {
        "1.jsonl": [{"id": 1, "tag": None, "n": 2}, {"n": 3, "id": 2}],
        "2.jsonl": [{"tag": "x", "id": 3, "extra": True, "n": 2.5}],
        "3.jsonl": [{"id": 4, "tag": None}] * 40,
    }
    for name, objs in files.items():
        write(tmp_path / "d" / name, "".join(json.dumps(o) + "\n" for o in objs))
    objs = [o for name in sorted(files) for o in files[name]]
    keys = list(dict.fromkeys(k for o in objs for k in o))
    assert keys == ["id", "tag", "n", "extra"]
    # n is an int in one file and a float in another: float everywhere.
    expect = [
        tuple(float(o[k]) if k == "n" and o.get(k) is not None else o.get(k) for k in keys)
        for o in objs
    ]
    spec = FileSpec("jsonl", str(tmp_path / "d"))
    for shards in (1, 2, 5):
        batches = read_batches(spec, shards)
        assert {tuple(b.schema.names) for b in batches} == {tuple(keys)}
        rows = [r for b in batches for r in batch_to_rows(b)]
        assert [ref.canonical(r) for r in rows] == [ref.canonical(r) for r in expect]


def test_jsonl_field_null_through_the_first_mib_then_typed(tmp_path: Path) -> None:
    objs = [{"k": i, "late": None, "s": "v" * 20} for i in range(40000)]
    objs += [{"k": i, "late": f"x{i}", "s": "w"} for i in range(40000, 40010)]
    text = "".join(json.dumps(o) + "\n" for o in objs)
    assert len(text) > 1 << 20
    p = write(tmp_path / "late.jsonl", text)
    expect = [tuple(o.values()) for o in objs]
    for shards in (1, 3):
        batches = read_batches(FileSpec("jsonl", p), shards)
        assert {tuple(b.schema.names) for b in batches} == {("k", "late", "s")}
        assert [r for b in batches for r in batch_to_rows(b)] == expect


def test_jsonl_bad_line_names_file_and_line(tmp_path: Path) -> None:
    lines = [json.dumps({"a": i}) for i in range(500)]
    lines[321] = '{"a": 1,'
    p = write(tmp_path / "bad.jsonl", "\n".join(lines) + "\n")
    for shards in (1, 3):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec("jsonl", p), shards)
        assert err.value.location == f"{p}:322"
        assert err.value.row == '{"a": 1,'


def test_jsonl_type_change_names_the_line(tmp_path: Path) -> None:
    p = write(tmp_path / "t.jsonl", '{"a": 1}\n\n{"a": 2}\n{"a": "x"}\n')
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("jsonl", p))
    assert err.value.location == f"{p}:4"
    assert "'a'" in str(err.value)


def test_jsonl_int_then_float_becomes_float(tmp_path: Path) -> None:
    p = write(tmp_path / "t.jsonl", '{"a": 1}\n{"a": 2.5}\n')
    assert read_rows(FileSpec("jsonl", p)) == [(1.0,), (2.5,)]


def _late_key_lines(n_lines: int) -> list[str]:
    """JSON lines whose first MiB holds keys id and s only; "late" shows up after it, on the
    line 30000 and (in a long enough file) after 4 MiB, and s is missing from some lines."""
    objs: list[dict] = []
    for i in range(n_lines):
        o: dict = {"id": i, "s": "v" * 20}
        if i % 7 == 3 and i > 10:
            del o["s"]
        if i == 30000 or (i > 150000 and i % 1000 == 0):
            o["late"] = i * 2
        objs.append(o)
    return [json.dumps(o) for o in objs]


def _late_key_reference(lines: list[str]) -> tuple[int, int]:
    """The 1-based line number and byte offset of the first line with "late", by plain Python."""
    at = 0
    for i, line in enumerate(lines):
        if "late" in json.loads(line):
            return i + 1, at
        at += len(line.encode()) + 1
    raise AssertionError("no late key")


def test_jsonl_key_first_seen_after_the_first_mib_is_one_clear_error(tmp_path: Path) -> None:
    short = _late_key_lines(40000)
    long = _late_key_lines(170000)
    line, at = _late_key_reference(short)
    assert at > 1 << 20 and len("\n".join(long)) > 4 * (1 << 20)
    assert _late_key_reference(long) == (line, at)
    small = write(tmp_path / "small" / "k.jsonl", "\n".join(short) + "\n")
    big = write(tmp_path / "big" / "k.jsonl", "\n".join(long) + "\n")
    messages = set()
    for p, shards in ((small, 1), (small, 3), (big, 1), (big, 4)):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec("jsonl", p), shards)
        text = str(err.value)
        assert err.value.location == f"{p}:{line}"
        assert f"'late' on line {line} of {p} (byte {at})" in text
        assert "first 1 MiB of each file" in text
        assert "columns=['id', 's', 'late']" in err.value.hint
        assert "put a line holding every key first" in err.value.hint
        assert err.value.row == short[line - 1]
        messages.add(text.replace(p, "<file>"))
    assert len(messages) == 1


def test_jsonl_all_keys_in_columns_read_keys_first_seen_late(tmp_path: Path) -> None:
    keys = ("id", "s", "late")
    for lines, shard_counts in ((_late_key_lines(40000), (1, 3)), (_late_key_lines(170000), (1,))):
        p = write(tmp_path / f"{len(lines)}.jsonl", "\n".join(lines) + "\n")
        expect = [tuple(json.loads(line).get(k) for k in keys) for line in lines]
        for shards in shard_counts:
            assert read_rows(FileSpec("jsonl", p, columns=keys), shards) == expect


def test_jsonl_key_late_in_one_file_but_at_the_start_of_another(tmp_path: Path) -> None:
    # Fields are inferred from the start of every file of the source, so "late" is known.
    lines = _late_key_lines(40000)
    write(tmp_path / "d" / "1.jsonl", "\n".join(lines) + "\n")
    write(tmp_path / "d" / "2.jsonl", '{"late": 1, "id": -1}\n')
    objs = [json.loads(line) for line in [*lines, '{"late": 1, "id": -1}']]
    expect = [tuple(o.get(k) for k in ("id", "s", "late")) for o in objs]
    for shards in (1, 3):
        assert read_rows(FileSpec("jsonl", str(tmp_path / "d")), shards) == expect


def test_jsonl_empty_file_leaves_the_late_key_check_on(tmp_path: Path) -> None:
    lines = _late_key_lines(40000)
    line, _ = _late_key_reference(lines)
    write(tmp_path / "d" / "0.jsonl", "")
    p = write(tmp_path / "d" / "1.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("jsonl", str(tmp_path / "d")), 2)
    assert err.value.location == f"{p}:{line}"


def test_jsonl_late_key_offset_counts_file_bytes_under_errors_replace(tmp_path: Path) -> None:
    lines = _late_key_lines(40000)
    line, _ = _late_key_reference(lines)
    # A bad byte after the first MiB and before "late": replaced by 3 bytes, still one line.
    bad = '{"id": 29000, "s": "\udcff"}'
    lines[29000] = bad
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    at = data.index(b'"late"')
    at = data.rindex(b"\n", 0, at) + 1
    p = write(tmp_path / "r.jsonl", data)
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("jsonl", p, errors="replace"))
    assert f"'late' on line {line} of {p} (byte {at})" in str(err.value)


def test_jsonl_two_objects_on_a_line_past_the_first_mib(tmp_path: Path) -> None:
    # Arrow reads two objects on one line as two rows; a new key there is reported as the
    # line not being one JSON object.
    lines = _late_key_lines(40000)
    lines[30000] = '{"id": 1, "s": "a"} {"late": 2}'
    p = write(tmp_path / "two.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("jsonl", p))
    assert err.value.location == f"{p}:30001"
    assert "not valid JSON" in str(err.value)


# ---------------------------------------------------------------------------------------------
# parquet / orc


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


# ---------------------------------------------------------------------------------------------
# misc


def test_splits_and_specs_pickle(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a,b\n1,2\n")
    spec = FileSpec("csv", p, header=True, types={"a": float}, columns=("b", "a"))
    assert pickle.loads(pickle.dumps(spec)) == spec
    plan = plan_splits(spec, list_files(spec), 2)
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert read_rows(spec) == [(2, 1.0)]


def test_split_without_meta_reads(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a,b\n1,2\n3,4\n")
    spec = FileSpec("csv", p, header=True)
    rows = [r for b in read_split(spec, Split(p, 0, None)) for r in batch_to_rows(b)]
    assert rows == [(1, 2), (3, 4)]


@pytest.mark.parametrize(
    "module",
    [
        "gleamnb.runtime.sources",
        "gleamnb.files.spec",
        "gleamnb.files.listing",
        "gleamnb.files.compression",
        "gleamnb.files.chunks",
        "gleamnb.runtime.sources.text",
        "gleamnb.scan.meta",
        "gleamnb.scan.projection",
        "gleamnb.runtime.sources.csvfile",
        "gleamnb.runtime.sources.jsonfile",
        "gleamnb.runtime.sources.columnar",
        "gleamnb.scan.splits",
        "gleamnb.scan.names",
        "gleamnb.scan.columnar",
        "gleamnb.files",
        "gleamnb.files.shards",
        "gleamnb.files.utf8",
        "gleamnb.scan",
        "gleamnb.runtime.sources.read",
    ],
)
def test_doctests(module: str) -> None:
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_split_bytes_constant_is_64mib() -> None:
    assert shards_mod.SPLIT_BYTES == 64 << 20
