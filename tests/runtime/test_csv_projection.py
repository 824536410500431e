"""A ``select`` right after a csv/tsv read is pushed into the reader (only the selected columns
are converted), with the same rows, names and errors as reading every column and selecting.

Every result is checked against ``pyarrow.csv`` reading the same files whole, all columns, and
the selection taken from that table by hand.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

import gleamnb as gl
from gleamnb.errors import FieldError, MalformedInputError
from gleamnb.files.listing import list_files
from gleamnb.runners.local import LocalRunner
from gleamnb.runtime.ops.relational import SelectOp
from gleamnb.runtime.stage import ReadFiles
from gleamnb.scan.splits import plan_splits

BOM = "\ufeff".encode()


def _reference(
    data: bytes,
    fields: list[str | int],
    *,
    header: bool = True,
    names: list[str] | None = None,
    delimiter: str = ",",
    newlines_in_values: bool = False,
) -> list[tuple]:
    """The selected fields of every row, by pyarrow.csv reading all of ``data`` at once."""
    if names is not None:
        read = pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0)
    else:
        read = pcsv.ReadOptions(autogenerate_column_names=not header)
    parse = pcsv.ParseOptions(
        delimiter=delimiter,
        quote_char=False if delimiter == "\t" else '"',
        newlines_in_values=newlines_in_values,
    )
    table = pcsv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse)
    if names is None and not header:
        table = table.rename_columns([f"_{i + 1}" for i in range(table.num_columns)])
    columns = [table.column(f - 1 if isinstance(f, int) else f).to_pylist() for f in fields]
    return list(zip(*columns))


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _select(flow: gl.Flow, spec: object, fields: list[str | int]) -> gl.Dataset:
    return flow.read(spec).select(*fields)


PEOPLE = (
    b"name,age,city,score\n"
    b"ann,31,Oslo,1.5\n"
    b"bob,42,Rome,\n"
    b'"cy, jr",7,"New\nYork",2.25\n'
    b"dee,,Paris,-3\n"
)


def test_the_select_becomes_the_readers_columns_and_keeps_the_splits(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", PEOPLE.replace(b"\nYork", b" York"))
    f = gl.Flow("pushdown")
    spec = gl.csv(path, header=True, shards=2)
    f.read(spec).select("city", "name").printlnf("%v %v")
    plan = f.plan()
    (stage,) = plan.stages
    assert stage.head == ReadFiles(
        name="read", spec=gl.csv(path, header=True, shards=2, columns=["city", "name"])
    )
    assert stage.ops[0] == SelectOp(name="select", fields=(1, 2))
    assert [p["splits"] for p in stage.params] == plan_splits(spec, list_files(spec), 2)


@pytest.mark.parametrize(
    "fields",
    [["name"], ["city", "name"], ["score", "age", "name", "city"], [2], [4, 1], ["age", 3]],
)
def test_column_subsets_and_orders(
    tmp_path: Path, any_runner: LocalRunner, fields: list[str | int]
) -> None:
    data = PEOPLE.replace(b"\nYork", b" York")
    path = _write(tmp_path / "p.csv", data)
    f = gl.Flow("subsets")
    got = _select(f, gl.csv(path, header=True, shards=3), fields).collect(any_runner)
    assert got == _reference(data, fields)


def test_names_given_on_reading(tmp_path: Path, any_runner: LocalRunner) -> None:
    data = b"1,x,2.5\n2,y,\n3,z,4\n"
    path = _write(tmp_path / "n.csv", data)
    names = ["id", "tag", "value"]
    f = gl.Flow("names")
    ds = _select(f, gl.csv(path, names=names), ["value", "id"])
    assert ds.names == ("value", "id")
    assert ds.collect(any_runner) == _reference(data, ["value", "id"], header=False, names=names)
    # names= replaces a header's names, whose line is still skipped
    headed = _write(tmp_path / "h.csv", b"a,b,c\n" + data)
    ds = _select(gl.Flow("names2"), gl.csv(headed, header=True, names=names), ["tag"])
    assert ds.collect(any_runner) == _reference(data, ["tag"], header=False, names=names)


def test_without_a_header_the_fields_are_positions(tmp_path: Path, any_runner: LocalRunner) -> None:
    data = b"a,1,x\nb,2,y\nc,3,z\n"
    path = _write(tmp_path / "plain.csv", data)
    ds = _select(gl.Flow("plain"), gl.csv(path), [3, 1])
    assert ds.names == ("_1", "_2")
    assert ds.collect(any_runner) == _reference(data, [3, 1], header=False)
    ds = _select(gl.Flow("plain2"), gl.csv(path), ["_2"])
    assert ds.collect(any_runner) == _reference(data, [2], header=False)


def test_quoted_values_holding_newlines(tmp_path: Path, any_runner: LocalRunner) -> None:
    path = _write(tmp_path / "q.csv", PEOPLE)
    spec = gl.csv(path, header=True, newlines_in_values=True)
    got = _select(gl.Flow("quoted"), spec, ["city", "score"]).collect(any_runner)
    assert got == _reference(PEOPLE, ["city", "score"], newlines_in_values=True)
    assert ("New\nYork", 2.25) in got


def test_a_byte_order_mark_before_the_header(tmp_path: Path, any_runner: LocalRunner) -> None:
    data = PEOPLE.replace(b"\nYork", b" York")
    path = _write(tmp_path / "bom.csv", BOM + data)
    ds = _select(gl.Flow("bom"), gl.csv(path, header=True, shards=2), ["name", "age"])
    assert ds.names == ("name", "age")
    assert ds.collect(any_runner) == _reference(data, ["name", "age"])


def test_tsv(tmp_path: Path, any_runner: LocalRunner) -> None:
    data = b'word\tn\tnote\n"a\t1\tx,y\nb\t2\t"q"\n'
    path = _write(tmp_path / "t.tsv", data)
    ds = _select(gl.Flow("tsv"), gl.tsv(path, header=True), ["note", "word"])
    assert ds.collect(any_runner) == _reference(data, ["note", "word"], delimiter="\t")


def test_a_column_the_file_does_not_have_is_named_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", PEOPLE)
    ds = gl.Flow("missing").read(gl.csv(path, header=True))
    with pytest.raises(FieldError, match=r"unknown field 'zip' in .*p\.csv") as info:
        ds.select("name", "zip")
    assert "known fields: name, age, city, score" in str(info.value)
    with pytest.raises(FieldError, match=r"field 9 is out of range: .*p\.csv has 4 fields"):
        ds.select(9)


def test_a_later_file_without_the_column_fails_naming_it(
    tmp_path: Path, runner: LocalRunner
) -> None:
    _write(tmp_path / "a.csv", b"id,city\n1,Oslo\n")
    _write(tmp_path / "b.csv", b"id,town\n2,Rome\n")
    ds = _select(gl.Flow("later"), gl.csv(str(tmp_path), header=True), ["city"])
    with pytest.raises(FieldError, match=r"unknown column 'city' in .*b\.csv"):
        ds.collect(runner)


def test_files_with_their_columns_in_another_order_are_read_by_name(
    tmp_path: Path, any_runner: LocalRunner
) -> None:
    _write(tmp_path / "a.csv", b"id,city\n1,Oslo\n")
    _write(tmp_path / "b.csv", b"city,id\nRome,2\n")
    ds = _select(gl.Flow("order"), gl.csv(str(tmp_path), header=True), ["city", "id"])
    assert sorted(ds.collect(any_runner)) == [("Oslo", 1), ("Rome", 2)]


def test_a_bad_value_in_a_selected_column_names_its_column_and_line(
    tmp_path: Path, runner: LocalRunner
) -> None:
    lines = [b"id,label,amount"] + [b"%d,x%d,%d" % (i, i, i) for i in range(100_000)]
    lines[90_000] = b"89999,x,twelve"
    path = _write(tmp_path / "bad.csv", b"\n".join(lines) + b"\n")
    ds = _select(gl.Flow("bad"), gl.csv(path, header=True), ["amount", "id"])
    with pytest.raises(MalformedInputError) as info:
        ds.collect(runner)
    text = str(info.value)
    assert "cannot convert 'twelve' in column 'amount' to int64 (line 90001 of" in text
    assert "types={'amount': str}" in text


def test_a_line_with_a_wrong_field_count_is_still_an_error(
    tmp_path: Path, runner: LocalRunner
) -> None:
    path = _write(tmp_path / "short.csv", b"a,b,c\n1,2,3\n4,5\n7,8,9\n")
    ds = _select(gl.Flow("short"), gl.csv(path, header=True), ["c"])
    with pytest.raises(MalformedInputError, match=r"line 3 of .*short\.csv has 2 fields, expected"):
        ds.collect(runner)


def test_random_files_and_selections(tmp_path: Path, inline: LocalRunner) -> None:
    rng = random.Random(8)
    for case in range(25):
        width = rng.randint(1, 6)
        rows = rng.randint(0, 60)
        header = [f"c{i}" for i in range(width)]
        kinds = [rng.choice(["int", "float", "str", "quoted"]) for _ in range(width)]

        def value(kind: str) -> str:
            if rng.random() < 0.1:
                return ""
            if kind == "int":
                return str(rng.randint(-(2**40), 2**40))
            if kind == "float":
                return repr(rng.uniform(-1e6, 1e6))
            text = "".join(rng.choice("abcé, ü") for _ in range(rng.randint(1, 6)))
            if kind == "quoted" or "," in text:
                return '"' + text.replace('"', '""') + '"'
            return text

        body = [",".join(value(k) for k in kinds) for _ in range(rows)]
        data = ("\n".join([",".join(header), *body]) + "\n").encode()
        path = _write(tmp_path / f"r{case}.csv", data)
        fields: list[str | int] = rng.sample(header, rng.randint(1, width))
        fields = [rng.choice([name, header.index(name) + 1]) for name in fields]
        spec = gl.csv(path, header=True, shards=rng.randint(1, 4))
        got = _select(gl.Flow(f"random{case}"), spec, fields).collect(inline)
        assert sorted(got, key=repr) == sorted(_reference(data, fields), key=repr), data
