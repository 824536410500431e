"""A quote left open in a CSV file is an error naming the file and line, never lost rows.

Good files are checked against Python's ``csv`` module, the independent reference.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from source_helpers import read_rows, typed, write

import gleamnb as gl
from gleamnb.errors import MalformedInputError
from gleamnb.files import FileSpec, chunks
from gleamnb.files.quotes import QuoteScan
from gleamnb.runners.local import LocalRunner
from gleamnb.runtime.sources import csvfile


def _open_quote(spec: FileSpec, shards: int = 1) -> MalformedInputError:
    with pytest.raises(MalformedInputError) as err:
        read_rows(spec, shards)
    return err.value


def test_open_quote_in_a_two_line_file(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", '1,"abc\n2,3\n')
    err = _open_quote(FileSpec("csv", p))
    assert err.location == f"{p}:1"
    assert f"opened on line 1 of {p} runs past the end of the line" in str(err)
    assert "newlines_in_values=True if quoted values really hold newlines" in str(err)


def test_open_quote_after_the_header(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", 'a,b\n1,"x\n2,y\n3,z\n')
    err = _open_quote(FileSpec("csv", p, header=True))
    assert err.location == f"{p}:2"
    assert '1,"x' in str(err)


@pytest.mark.parametrize("shards", [1, 4])
@pytest.mark.parametrize("newlines_in_values", [False, True])
def test_open_quote_on_line_501_of_1000(
    tmp_path: Path, shards: int, newlines_in_values: bool
) -> None:
    lines = [f"{i},v{i}" for i in range(1, 1001)]
    lines[500] = '501,"v501'
    p = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    spec = FileSpec("csv", p, newlines_in_values=newlines_in_values)
    err = _open_quote(spec, shards)
    assert err.location == f"{p}:501"
    assert f"line 501 of {p}" in str(err)
    end = "end of the file" if newlines_in_values else "end of the line"
    assert end in str(err)


def test_open_quote_in_a_later_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 256)
    lines = [f"{i},word {i}" for i in range(1, 400)]
    lines[300] = '301,"word 301'
    p = write(tmp_path / "c.csv", "\n".join(lines) + "\n")
    for shards in (1, 3):
        assert _open_quote(FileSpec("csv", p), shards).location == f"{p}:301"


@pytest.mark.parametrize("text", ['a,b\n1,x\n2,"y\n', 'a,b\n1,x\n2,"y', 'a,b\n1,x\n2,"y\r\n\n\n'])
@pytest.mark.parametrize("shards", [1, 2])
def test_open_quote_on_the_last_line(tmp_path: Path, text: str, shards: int) -> None:
    # Arrow takes an open quote on the last line as a value running to the end: no line is
    # merged, so the row count alone does not show it.
    p = write(tmp_path / "last.csv", text)
    err = _open_quote(FileSpec("csv", p, header=True), shards)
    assert err.location == f"{p}:3"
    assert "runs past the end of the line" in str(err)


def test_stray_quote_anywhere_for_any_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A quote opening the second field of one random line, including a chunk's last line.
    rng = random.Random(11)
    for trial in range(24):
        size = rng.choice([40, 64, 100, 256])
        monkeypatch.setattr(chunks, "CHUNK_BYTES", size)
        lines = [f"{i},word {i}" for i in range(1, rng.randint(2, 60))]
        k = rng.randrange(len(lines))
        lines[k] = f'{k + 1},"word {k + 1}'
        p = write(tmp_path / f"s{trial}.csv", "\n".join(lines) + rng.choice(["\n", ""]))
        shards = rng.randint(1, 3)
        assert _open_quote(FileSpec("csv", p), shards).location == f"{p}:{k + 1}", (size, shards)


def test_open_quote_that_also_changes_field_counts(tmp_path: Path) -> None:
    # The merged lines hold the wrong number of fields; the quote is what to fix.
    p = write(tmp_path / "a.csv", 'a,b\n1,2\n"3,x\n4,5\n')
    err = _open_quote(FileSpec("csv", p, header=True))
    assert err.location == f"{p}:3"
    assert "runs past the end of the line" in str(err)


def test_multiline_value_left_open_at_end_of_file(tmp_path: Path) -> None:
    p = write(tmp_path / "m.csv", 'a,b\n1,"x\ny"\n2,"z\nw\n')
    err = _open_quote(FileSpec("csv", p, header=True, newlines_in_values=True))
    assert err.location == f"{p}:4"
    assert "end of the file" in str(err)


def _reference(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return [record for record in csv.reader(f) if record]


def test_quoted_commas_and_escaped_quotes_match_csv_module(tmp_path: Path) -> None:
    rng = random.Random(7)
    values = ['say "hi"', "a, b", '"', '""', "plain", "", ' ", ', 'x,"y",z']
    p = tmp_path / "q.csv"
    with open(p, "w", newline="") as f:
        writer = csv.writer(f, lineterminator=rng.choice(["\n", "\r\n"]))
        writer.writerow(["id", "text", "more"])
        for i in range(3000):
            writer.writerow([i, rng.choice(values), rng.choice(values)])
            if i % 97 == 0:
                f.write("\n")  # empty lines are skipped by both readers
    # A quote inside an unquoted value is an ordinary character to both readers.
    with open(p, "a", newline="") as f:
        f.write('3000,5\'11",ab"c\n')
    expect = typed(_reference(p)[1:], [int, str, str])
    for shards in (1, 4):
        assert read_rows(FileSpec("csv", str(p), header=True), shards) == expect


def test_multiline_values_match_csv_module(tmp_path: Path) -> None:
    rng = random.Random(11)
    values = ["one\ntwo", 'x "q"\n, y', "\n", "flat", "a,\r\nb"]
    p = tmp_path / "m.csv"
    with open(p, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "text"])
        for i in range(2000):
            writer.writerow([i, rng.choice(values)])
    expect = typed(_reference(p)[1:], [int, str])
    for shards in (1, 4):
        spec = FileSpec("csv", str(p), header=True, newlines_in_values=True)
        assert read_rows(spec, shards) == expect


def test_multiline_values_across_many_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks end on line ends, not record ends: the reader must not see them as blocks.
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 1000)
    p = tmp_path / "m.csv"
    with open(p, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "text"])
        for i in range(3000):
            writer.writerow([i, f"first\nsecond {i}" if i % 3 else f"t{i}"])
    expect = typed(_reference(p)[1:], [int, str])
    assert read_rows(FileSpec("csv", str(p), header=True, newlines_in_values=True)) == expect


def _reference_scan(data: bytes) -> tuple[int | None, int | None]:
    """(first opening quote whose value crosses a line end, quote open at the end), read one
    character at a time the way a CSV parser does."""
    state, opened, crossed = "start", None, None
    for i, byte in enumerate(data):
        char = chr(byte)
        if state in ("start", "plain"):
            if char == '"' and state == "start":
                state, opened = "quoted", i
            elif char in ",\r\n":
                state = "start"
            else:
                state = "plain"
        elif state == "quoted":
            if char == '"':
                state = "quote"
            elif char == "\n" and crossed is None:
                crossed = opened
        elif char == '"':  # the second of an escaped pair
            state = "quoted"
        else:
            state, opened = ("start" if char in ",\r\n" else "plain"), None
    return crossed, opened if state == "quoted" else None


def test_quote_scan_against_a_character_reader() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        data = "".join(rng.choice('"",a\n\r') for _ in range(rng.randint(0, 30))).encode()
        crossed, opened = _reference_scan(data)
        whole = QuoteScan(",")
        whole.feed(data, 0)
        assert (whole.crossed, whole.opened) == (crossed, opened), data
        pieces = QuoteScan(",")
        offset = 0
        for line in re.findall(rb"[^\n]*\n|[^\n]+", data):
            pieces.feed(line, offset)
            offset += len(line)
        assert (pieces.crossed, pieces.opened) == (crossed, opened), data


def test_open_quote_through_a_run(runner: LocalRunner, tmp_path: Path) -> None:
    lines = [f"{i},v{i}" for i in range(1, 1001)]
    lines[500] = '501,"v501'
    p = write(tmp_path / "run.csv", "\n".join(lines) + "\n")
    with pytest.raises(gl.MalformedInputError) as err:
        gl.Flow("quotes").read(gl.csv(p, shards=4)).count(runner, progress=False)
    assert err.value.location == f"{p}:501"
