"""The JSON lines reader, against Python's ``json`` module.

References are independent of the code under test.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import reference as ref
from source_helpers import read_batches, read_rows, write

from gleamnb.errors import MalformedInputError
from gleamnb.files import FileSpec, list_files
from gleamnb.rows import batch_to_rows
from gleamnb.scan import names_at_build


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


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ('{"l": [1]}\n{"l": [[1]]}\n', "l[]", 2),
        ('{"v": {"x": 1}}\n{"v": {"x": 2}}\n{"v": {"x": "a"}}\n', "v.x", 3),
        ('{"v": [{"x": 1}]}\n{"v": [{"x": [1]}]}\n', "v[].x", 2),
    ],
)
def test_jsonl_nested_type_change_names_the_field_and_line(
    tmp_path: Path, text: str, field: str, line: int
) -> None:
    p = write(tmp_path / "n.jsonl", text)
    with pytest.raises(MalformedInputError) as err:
        read_rows(FileSpec("jsonl", p))
    assert err.value.location == f"{p}:{line}"
    assert f"field {field!r}" in str(err.value)


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
