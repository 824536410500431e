"""The ``save`` writers: every format read back by an independent reader and compared."""

from __future__ import annotations

import csv
import doctest
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gleamnb.runtime.save as save_mod
from gleamnb.errors import ArgumentError, OutputError, SchemaError
from gleamnb.files import FileSpec, list_files, saves
from gleamnb.files.saves import part_name, prepare_output
from gleamnb.rows import pyobject_array
from gleamnb.runtime.save import ShardWriter, parquet, writer

ROWS = [
    ("plain", 1, 1.5, True),
    ("comma, inside", -2, 2.0, False),
    ('quote "here"', None, None, None),
    ("new\nline", 3, 1e20, True),
    ("", 4, -0.25, False),
    ("ünïcode ✓", 5, 0.1, None),
]
NAMES = ["word", "n", "x", "flag"]


def _batch(rows: list[tuple]) -> pa.RecordBatch:
    cols = list(zip(*rows))
    return pa.record_batch(
        [
            pa.array(cols[0], pa.string()),
            pa.array(cols[1], pa.int64()),
            pa.array(cols[2], pa.float64()),
            pa.array(cols[3], pa.bool_()),
        ],
        names=NAMES,
    )


def _save(tmp_path: Path, fmt: str, shards: list[list[tuple]]) -> tuple[str, list[dict]]:
    out = str(tmp_path / "out")
    prepare_output(out, fmt)
    infos = []
    for shard, rows in enumerate(shards):
        w = ShardWriter(out, fmt, shard, schema=_batch(ROWS).schema)
        for lo in range(0, len(rows), 2):  # several batches per shard
            w.write(_batch(rows[lo : lo + 2]))
        infos.append(w.close())
    return out, infos


def _text(value: object) -> str:
    return "" if value is None else str(value)


def test_parquet_round_trip(tmp_path: Path) -> None:
    out, infos = _save(tmp_path, "parquet", [ROWS[:4], ROWS[4:]])
    assert [os.path.basename(i["file"]) for i in infos] == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert [i["rows"] for i in infos] == [4, 2]
    assert all(i["bytes"] == os.path.getsize(i["file"]) for i in infos)
    table = pq.read_table(out)
    assert table.schema.names == NAMES
    assert table.schema.field("n").type == pa.int64()
    assert [tuple(r.values()) for r in table.to_pylist()] == ROWS


def test_csv_round_trip_with_csv_module(tmp_path: Path) -> None:
    _out, infos = _save(tmp_path, "csv", [ROWS[:3], ROWS[3:]])
    rows = []
    for info in infos:
        with open(info["file"], newline="", encoding="utf-8") as f:
            records = list(csv.reader(f))
        assert records[0] == NAMES
        rows.extend(records[1:])
    assert rows == [[_text(v) for v in r] for r in ROWS]


def test_tsv_round_trip_and_tabs_refused(tmp_path: Path) -> None:
    rows = [(w.replace("\n", " "), n, x, f) for w, n, x, f in ROWS]
    out, infos = _save(tmp_path, "tsv", [rows])
    text = Path(infos[0]["file"]).read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[-1] == ""
    assert lines[0] == "\t".join(NAMES)
    assert [line.split("\t") for line in lines[1:-1]] == [[_text(v) for v in r] for r in rows]
    assert 'quote "here"' in text  # no quoting
    w = ShardWriter(out, "tsv", 7)
    with pytest.raises(OutputError) as err:
        w.write(_batch([("a\tb", 1, 1.0, True)]))
    assert "tab" in str(err.value) and "part-00007.tsv" in str(err.value)
    assert "save as csv" in str(err.value)
    assert not os.path.exists(os.path.join(out, "part-00007.tsv"))


def test_txt_fields_joined_by_tabs(tmp_path: Path) -> None:
    rows = [(w.replace("\n", " "), n, x, f) for w, n, x, f in ROWS]
    _out, infos = _save(tmp_path, "txt", [rows[:2], rows[2:]])
    lines = []
    for info in infos:
        lines.extend(Path(info["file"]).read_text(encoding="utf-8").splitlines())
    assert lines == ["\t".join(_text(v) for v in r) for r in rows]
    assert "1e+20" in lines[3] and "2.0" in lines[1]


def test_jsonl_round_trip_with_json_module(tmp_path: Path) -> None:
    _out, infos = _save(tmp_path, "jsonl", [ROWS])
    objs = [json.loads(line) for line in Path(infos[0]["file"]).read_text().splitlines()]
    assert objs == [dict(zip(NAMES, r)) for r in ROWS]


def test_parquet_dictionary_encodes_only_columns_whose_values_repeat(tmp_path: Path) -> None:
    n = 50_000
    batch = pa.record_batch(
        {
            "id": list(range(n)),
            "city": [["paris", "rome", "oslo"][i % 3] for i in range(n)],
            "note": [f"note {i}" for i in range(n)],
        }
    )
    with ShardWriter(str(tmp_path), "parquet", 0) as writer:
        writer.write(batch)
    path = tmp_path / part_name(0, "parquet")
    meta = pq.ParquetFile(path).metadata
    encodings = {
        meta.schema.column(j).name: set(meta.row_group(0).column(j).encodings)
        for j in range(meta.num_columns)
    }
    dictionary = {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}
    assert encodings["city"] & dictionary
    assert not encodings["id"] & dictionary
    assert not encodings["note"] & dictionary
    assert pq.read_table(path).to_pylist() == pa.Table.from_batches([batch]).to_pylist()


def test_python_objects_repr_in_text_str_in_parquet(tmp_path: Path) -> None:
    values = [{1, 2}, ("a", 1), None]
    batch = pa.record_batch([pyobject_array(values), pa.array([1, 2, 3])], names=["obj", "n"])
    for fmt in ("csv", "jsonl", "parquet", "txt"):
        out = str(tmp_path / fmt)
        prepare_output(out, fmt)
        with ShardWriter(out, fmt, 0) as w:
            w.write(batch)
        path = os.path.join(out, part_name(0, fmt))
        if fmt == "parquet":
            table = pq.read_table(path)
            assert table.schema.field("obj").type == pa.string()
            assert table.column("obj").to_pylist() == [str({1, 2}), str(("a", 1)), None]
        elif fmt == "csv":
            with open(path, newline="") as f:
                assert [r[0] for r in csv.reader(f)] == ["obj", repr({1, 2}), repr(("a", 1)), ""]
        elif fmt == "jsonl":
            got = [json.loads(line)["obj"] for line in Path(path).read_text().splitlines()]
            assert got == [repr({1, 2}), repr(("a", 1)), None]
        else:
            got = [line.split("\t")[0] for line in Path(path).read_text().splitlines()]
            assert got == [repr({1, 2}), repr(("a", 1)), ""]


def test_empty_shard_keeps_the_schema(tmp_path: Path) -> None:
    schema = _batch(ROWS).schema
    out = str(tmp_path / "out")
    for fmt in ("parquet", "csv", "tsv", "txt", "jsonl"):
        prepare_output(out, fmt)
        info = ShardWriter(out, fmt, 0, schema=schema).close()
        assert info["rows"] == 0 and os.path.exists(info["file"])
        if fmt == "parquet":
            table = pq.read_table(info["file"])
            assert table.num_rows == 0 and table.schema.names == NAMES
        elif fmt in ("csv", "tsv"):
            sep = "," if fmt == "csv" else "\t"
            assert Path(info["file"]).read_text() == sep.join(NAMES) + "\n"
        else:
            assert Path(info["file"]).read_text() == ""
    prepare_output(out, "parquet")
    info = ShardWriter(out, "parquet", 0).close()  # no schema known: still a valid file
    assert pq.read_table(info["file"]).num_rows == 0


def test_single_column_csv_keeps_empty_values(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    prepare_output(out, "csv")
    with ShardWriter(out, "csv", 0) as w:
        w.write(pa.record_batch({"s": ["a", "", "b"]}))
    with open(os.path.join(out, "part-00000.csv"), newline="") as f:
        assert list(csv.reader(f)) == [["s"], ["a"], [""], ["b"]]


def test_parquet_null_column_then_typed(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    prepare_output(out, "parquet")
    with ShardWriter(out, "parquet", 0) as w:
        w.write(pa.record_batch({"k": ["a"], "v": pa.nulls(1)}))
        w.write(pa.record_batch({"k": ["b"], "v": [2]}))
        w.write(pa.record_batch({"k": ["c"], "v": [3]}))
    table = pq.read_table(out)
    assert table.schema.field("v").type == pa.int64()
    assert table.to_pylist() == [{"k": "a", "v": None}, {"k": "b", "v": 2}, {"k": "c", "v": 3}]


def test_parquet_type_change_is_a_schema_error(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    prepare_output(out, "parquet")
    w = ShardWriter(out, "parquet", 3)
    w.write(pa.record_batch({"v": [1]}))
    with pytest.raises(SchemaError) as err:
        w.write(pa.record_batch({"v": ["x"]}))
    assert err.value.location == os.path.join(out, "part-00003.parquet")
    assert err.value.shard is None  # the task running the writer names the shard as i/n
    assert os.listdir(out) == []  # nothing half-written is left


@pytest.mark.parametrize("fmt", ["csv", "tsv", "txt", "jsonl"])
def test_text_type_change_within_a_shard_is_a_schema_error(tmp_path: Path, fmt: str) -> None:
    # text keeps no types, so nothing downstream would notice an int field turning to text
    out = str(tmp_path / "o")
    prepare_output(out, fmt)
    w = ShardWriter(out, fmt, 2)
    w.write(pa.record_batch({"v": [1, 2]}))
    with pytest.raises(SchemaError) as err:
        w.write(pa.record_batch({"v": ["x"]}))
    assert "int64 then string" in str(err.value)
    assert err.value.location == os.path.join(out, part_name(2, fmt))
    assert os.listdir(out) == []


def test_close_reports_the_types_of_the_rows_written(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    for fmt in ("parquet", "csv"):
        prepare_output(out, fmt)
        with ShardWriter(out, fmt, 0) as w:
            w.write(pa.record_batch({"k": ["a"], "v": pa.nulls(1)}))
            w.write(pa.record_batch({"k": ["b"], "v": [2]}))
        assert w.close()["schema"] == pa.schema([("k", pa.string()), ("v", pa.int64())])
        schema = _batch(ROWS).schema
        empty = ShardWriter(out, fmt, 1, schema=schema)
        empty.write(pa.RecordBatch.from_pylist([], schema=schema))
        assert empty.close()["schema"] is None  # no rows: nothing to agree with


def test_part_files_lists_only_this_save_s_parts(tmp_path: Path) -> None:
    out = tmp_path / "o"
    prepare_output(str(out), "csv")
    for name in ("part-00000.csv", ".part-00001.csv.inprogress", "part-00002.csv", "notes.txt"):
        (out / name).write_text("x")
    (out / "part-00000.parquet").write_text("another format")
    found = saves.part_files(str(out), "csv", 2)
    assert found == {str(out / "part-00000.csv"), str(out / ".part-00001.csv.inprogress")}


def test_prepare_output_creates_and_clears(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    prepare_output(str(out), "csv")
    assert out.is_dir()
    for name in ("part-00000.csv", "part-00001.parquet", ".part-00002.csv.inprogress", "keep.txt"):
        (out / name).write_text("old")
    prepare_output(out, "parquet")
    assert sorted(os.listdir(out)) == ["keep.txt"]


def test_output_under_a_regular_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = str(blocker / "out")
    with pytest.raises(OutputError) as err:
        prepare_output(target, "parquet")
    text = str(err.value)
    assert target in text and "fix:" in text
    assert isinstance(err.value, OSError)
    with pytest.raises(OutputError, match="exists and is not a folder"):
        prepare_output(str(blocker), "csv")


def test_unwritable_folder_is_found_by_a_real_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permission bits, so the write failure is injected where the probe writes.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(saves.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(OutputError) as err:
        prepare_output(str(tmp_path / "ro"), "csv")
    assert "cannot write to the output folder" in str(err.value)
    assert str(tmp_path / "ro") in str(err.value) and "Permission denied" in str(err.value)


def test_unknown_format_is_an_argument_error(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="unknown save format 'xml'"):
        prepare_output(str(tmp_path), "xml")
    with pytest.raises(ArgumentError):
        ShardWriter(str(tmp_path), "orc", 0)


def test_saved_folder_reads_back_with_gleamnb_sources(tmp_path: Path) -> None:
    out, _ = _save(tmp_path, "csv", [ROWS[:3], ROWS[3:]])
    (Path(out) / "_SUCCESS").write_text("")
    files = list_files(FileSpec("csv", out, header=True))
    assert [os.path.basename(f.path) for f in files] == ["part-00000.csv", "part-00001.csv"]


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    prepare_output(out, "csv")
    w = ShardWriter(out, "csv", 0)
    w.write(_batch(ROWS))
    assert os.listdir(out) == [".part-00000.csv.inprogress"]
    w.abort()
    assert os.listdir(out) == []


def test_doctests() -> None:
    with tempfile.TemporaryDirectory():
        for module in (save_mod, saves, writer, parquet):
            assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet="ab,\t\x00é\U0001f600", max_size=6), min_size=2, max_size=2),
        max_size=30,
    ),
    width=st.integers(0, 2),
    offset=st.integers(0, 3),
)
def test_lines_are_the_fields_joined_then_a_line_end(
    rows: list[list[str]], width: int, offset: int
) -> None:
    from gleamnb.runtime.save.delimited import _join_lines

    cols = [
        pa.array(["pad"] * offset + [r[i] for r in rows], pa.string()).slice(offset)
        for i in range(width)
    ]
    got = bytes(_join_lines(cols, "\t", len(rows)))
    assert got == "".join("\t".join(r[:width]) + "\n" for r in rows).encode()


@pytest.mark.parametrize("sizes", [[70_000, 1, 65_536, 3], [1] * 300, [5000, 0, 5000]])
def test_parquet_from_many_batches_holds_their_rows_in_order(
    tmp_path: Path, sizes: list[int]
) -> None:
    """Batches large or small, with nulls and unicode, are written as one row group holding
    every row in order (compared with the batches themselves)."""
    total = sum(sizes)
    full = pa.table(
        {
            "k": pa.array([None if i % 7 == 0 else i * 2**40 for i in range(total)], pa.int64()),
            "s": pa.array([None if i % 5 == 0 else f"ü{i}" for i in range(total)], pa.string()),
        }
    )
    batches, at = [], 0
    for size in sizes:
        batches.append(full.slice(at, size).combine_chunks().to_batches()[0] if size else None)
        at += size
    with ShardWriter(str(tmp_path), "parquet", 0) as w:
        for batch in batches:
            if batch is not None:
                w.write(batch)
    got = pq.ParquetFile(tmp_path / part_name(0, "parquet"))
    assert got.metadata.num_row_groups == 1
    assert got.read().to_pylist() == full.to_pylist()
