"""Integers beyond 64 bits in csv, tsv and jsonl files read back exact.

The reference for each value is Python's ``int`` of its text.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from source_helpers import read_batches, read_rows, write

import gleamnb as gl
from gleamnb.errors import MalformedInputError
from gleamnb.files import FileSpec
from gleamnb.rows import PyObjectType
from gleamnb.runners.local import LocalRunner
from gleamnb.scan.meta import exact_int_columns

BIG = ["1", "18446744073709551621", "-99999999999999999999999", "9223372036854775807"]


def _types(spec: FileSpec) -> list[pa.DataType]:
    return [t for b in read_batches(spec) for t in b.schema.types]


@pytest.mark.parametrize("shards", [1, 3])
def test_jsonl_ints_past_int64_stay_exact(tmp_path: Path, shards: int) -> None:
    texts = ["9223372036854775807", "9223372036854775808", *BIG]
    lines = "".join(f'{{"id": {t}, "x": 1.5, "n": 2}}\n' for t in texts)
    p = write(tmp_path / "a.jsonl", lines)
    assert read_rows(FileSpec("jsonl", p), shards) == [(int(t), 1.5, 2) for t in texts]


def test_jsonl_int_past_int64_after_the_inferred_start(tmp_path: Path) -> None:
    # The start infers int64; the big int comes past the first MiB.
    lines = '{"id": 1}\n' * 120_000 + '{"id": 18446744073709551621}\n'
    p = write(tmp_path / "late.jsonl", lines)
    got = [row[0] for row in read_rows(FileSpec("jsonl", p), 2)]
    assert got[-1] == int("18446744073709551621")
    assert got[:-1] == [1] * 120_000


@pytest.mark.parametrize("shards", [1, 3])
def test_jsonl_nested_ints_past_float64_stay_exact(tmp_path: Path, shards: int) -> None:
    # objects and arrays holding integers float64 cannot hold, beside ordinary nested floats
    values = [
        {"v": {"x": 18446744073709551621, "y": 1.5}, "l": [9007199254740993, 1]},
        {"v": {"x": 3, "y": 2.5}, "l": [1, 2], "w": {"a": [2.5]}},
        {"v": None, "l": None, "w": {"a": [1.0]}},
    ]
    text = "".join(json.dumps(v) + "\n" for v in values)
    p = write(tmp_path / "nested.jsonl", text)
    expected = [(v["v"], v["l"], v.get("w")) for v in values]
    assert read_rows(FileSpec("jsonl", p), shards) == expected


@pytest.mark.parametrize(("fmt", "sep"), [("csv", ","), ("tsv", "\t")])
@pytest.mark.parametrize("shards", [1, 3])
def test_delimited_ints_past_int64_stay_exact(
    tmp_path: Path, fmt: str, sep: str, shards: int
) -> None:
    rows = [(t, "2.5", f"w{i}") for i, t in enumerate(BIG * 50)]
    text = f"id{sep}f{sep}w\n" + "".join(sep.join(r) + "\n" for r in rows)
    p = write(tmp_path / f"a.{fmt}", text)
    spec = FileSpec(fmt, p, header=True)
    assert read_rows(spec, shards) == [(int(t), float(f), w) for t, f, w in rows]
    assert isinstance(_types(spec)[0], PyObjectType)


def test_csv_reproducer_without_header_and_with_nulls(tmp_path: Path) -> None:
    p = write(tmp_path / "b.csv", "1\n18446744073709551621\n\n")
    assert read_rows(FileSpec("csv", p)) == [(1,), (int("18446744073709551621"),)]
    p = write(tmp_path / "c.csv", "id,s\n1,a\n,b\n18446744073709551621,c\n")
    assert read_rows(FileSpec("csv", p, header=True)) == [
        (1, "a"),
        (None, "b"),
        (int("18446744073709551621"), "c"),
    ]


def test_csv_exact_column_with_a_later_non_integer_is_an_error(tmp_path: Path) -> None:
    # The start of the file (its first MiB) holds only integers; line 600003 does not.
    p = write(tmp_path / "d.csv", "id\n18446744073709551621\n" + "7\n" * 600_000 + "2.5\n")
    for shards in (1, 3):
        with pytest.raises(MalformedInputError) as err:
            read_rows(FileSpec("csv", p, header=True), shards)
        assert "line 600003" in str(err.value) and "'id'" in str(err.value)
        assert "types={'id': str}" in str(err.value)
    got = read_rows(FileSpec("csv", p, header=True, types={"id": str}))
    assert got[0] == ("18446744073709551621",) and got[-1] == ("2.5",)


def test_csv_big_int_beside_floats_is_an_error_not_a_rounded_float(tmp_path: Path) -> None:
    p = write(tmp_path / "g.csv", "id\n1.5\n\n18446744073709551621\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True))
    assert err.value.location == f"{p}:4" and "(line 4)" in str(err.value)
    assert "types={'id': float}" in str(err.value)
    got = read_rows(FileSpec("csv", p, header=True, types={"id": float}))
    assert got == [(1.5,), (float("18446744073709551621"),)]


def test_csv_big_int_line_counts_past_a_row_of_the_wrong_width(tmp_path: Path) -> None:
    p = write(tmp_path / "w.csv", "id\n1.5\nx,y\n\n18446744073709551621\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True))
    assert err.value.location == f"{p}:5"


def test_csv_big_ints_with_spaces_around_stay_exact(tmp_path: Path) -> None:
    p = write(tmp_path / "s.csv", "id,x\n 18446744073709551621,1\n2 ,2\n")
    assert read_rows(FileSpec("csv", p, header=True)) == [(18446744073709551621, 1), (2, 2)]


def test_csv_int64_start_then_int_past_int64_fails_with_the_str_fix(tmp_path: Path) -> None:
    p = write(tmp_path / "e.csv", "id\n" + "1\n" * 600_000 + "18446744073709551621\n")
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("csv", p, header=True))
    assert "line 600002" in str(err.value)
    assert "types={'id': str}" in str(err.value)


def test_ordinary_floats_and_ints_keep_their_types(tmp_path: Path) -> None:
    p = write(tmp_path / "f.csv", "f,e,i\n1.5,1e3,1\n2,1,-2\n")
    spec = FileSpec("csv", p, header=True)
    assert _types(spec) == [pa.float64(), pa.float64(), pa.int64()]
    assert read_rows(spec) == [(1.5, 1000.0, 1), (2.0, 1.0, -2)]
    # a run of 19 digits inside a string does not change the float field
    text = '{"f": 1.5, "e": 1e3, "i": 1, "s": "12345678901234567890"}\n{"f": 2, "e": 1, "i": 2}\n'
    spec = FileSpec("jsonl", write(tmp_path / "f.jsonl", text))
    assert _types(spec) == [pa.float64(), pa.float64(), pa.int64(), pa.string()]
    assert read_rows(spec) == [(1.5, 1000.0, 1, "12345678901234567890"), (2.0, 1.0, 2, None)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_save_and_read_back_keeps_big_ints(tmp_path: Path, inline: LocalRunner, fmt: str) -> None:
    rows = [(int(t), i) for i, t in enumerate(BIG)]
    out = str(tmp_path / fmt)
    flow = gl.Flow("save")
    flow.from_iterable(rows, shards=2).save(out, format=fmt)
    flow.run(inline, progress=False)
    spec = gl.jsonl(out) if fmt == "jsonl" else gl.csv(out, header=True)
    for shards in (None, 3):
        source = dataclasses.replace(spec, shards=shards)
        got = gl.Flow("back").read(source).collect(inline, progress=False)
        assert sorted(got, key=lambda r: r[1]) == rows
    if fmt == "jsonl":
        parts = sorted(Path(out).glob("*.jsonl"))
        lines = [json.loads(line) for p in parts for line in p.read_text().splitlines()]
        assert [o["_1"] for o in lines] == [int(t) for t in BIG]


def test_parquet_save_keeps_the_digits_as_text(tmp_path: Path, inline: LocalRunner) -> None:
    out = str(tmp_path / "pq")
    flow = gl.Flow("save")
    flow.from_iterable([(int(t),) for t in BIG]).save(out, format="parquet")
    flow.run(inline, progress=False)
    table = pq.read_table(out)
    assert table.column(0).to_pylist() == BIG


def _reference_exact_ints(
    rows: list[list[str]], names: list[str], floats: list[str]
) -> list[str] | str:
    """Plain Python: the ``floats`` columns whose non-null texts are all integers, or
    ``"error"`` when a column mixes non-integers with an integer no float64 holds exactly."""
    nulls = set(pcsv.ConvertOptions().null_values)
    exact = []
    for name in floats:
        i = names.index(name)
        texts = [r[i].strip() for r in rows if r[i] not in nulls]
        if all(re.fullmatch(r"[+-]?[0-9]+", t) for t in texts):
            exact.append(name)
        elif any(re.fullmatch(r"[+-]?[0-9]+", t) and float(int(t)) != int(t) for t in texts):
            return "error"
    return exact


_VALUES = ["1.5", "-0.25", "2", "-7", "nan", "inf", "-inf", "1e300", "1.0", "", "NULL"]
_VALUES += ["12345678901234567"]
_VALUES += ["9007199254740993", "18446744073709551621", "0000000000000000003", "4503599627370496.5"]


@pytest.mark.parametrize("seed", range(60))
def test_float_columns_decide_like_a_regex_over_their_text(tmp_path: Path, seed: int) -> None:
    """Columns of ordinary floats skip the text check (their float values decide); every
    column gets the decision a plain-Python regex over its text gives."""
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    pools = [rng.sample(_VALUES, rng.randint(1, 5)) for _ in names]
    rows = [[rng.choice(pool) for pool in pools] for _ in range(8)]
    head = ("a,b,c\n" + "".join(",".join(r) + "\n" for r in rows)).encode()
    spec = FileSpec("csv", "x.csv", header=True)
    table = pcsv.read_csv(pa.BufferReader(head))
    floats = [n for n in names if pa.types.is_float64(table.schema.field(n).type)]
    expected = _reference_exact_ints(rows, names, floats)
    if expected == "error":
        with pytest.raises(MalformedInputError, match="too big for a float"):
            exact_int_columns(spec, "x.csv", head, names, floats)
    else:
        assert exact_int_columns(spec, "x.csv", head, names, floats) == expected


def test_a_file_of_ordinary_floats_plans_without_arrow_compute(tmp_path: Path) -> None:
    """The planner's type inference of ordinary float columns needs no Arrow compute kernels."""
    p = write(tmp_path / "f.csv", "f,i\n1.5,1\nnan,2\n,3\n-2.25e3,4\n")
    code = (
        "import sys; from gleamnb.scan.meta import csv_meta; from gleamnb.files import FileSpec; "
        f"m = csv_meta(FileSpec('csv', {p!r}, header=True), {p!r}); "
        "print(dict(m.types)['f'], 'pyarrow.compute' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["double", "False", "False"]
