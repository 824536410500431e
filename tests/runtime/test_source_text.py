"""The txt reader: one row per line, as ``bytes.split`` gives them.

References are independent of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from source_helpers import read_batches, read_rows, read_shards, ref_lines, write

from gleamnb.files import FileSpec
from gleamnb.runtime.sources.text import lines_to_array


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


@pytest.mark.parametrize(
    "data", [b"one line", b"one line\n", b"one line\r\n", b"\n", b"\r\n", b"ends in CR\r"]
)
def test_one_line_is_not_copied(data: bytes) -> None:
    """A chunk of one line (a huge line is a chunk of its own) becomes the array's data
    buffer as it is; the value is the line without its line end."""
    array = lines_to_array(data)
    array.validate(full=True)
    assert array.to_pylist() == ref_lines(data)
    assert array.buffers()[2].address == pa.py_buffer(data).address


def test_a_huge_line_in_shards(tmp_path: Path) -> None:
    """A line of 10 MiB (longer than two reads) between short lines, read as 1 to 4 ranges."""
    data = b"a\n" + b"0123456789" * (1 << 20) + b"\r\nb\nc"
    p = write(tmp_path / "huge.txt", data)
    for shards in (1, 2, 3, 4):
        got = [row for shard in read_shards(FileSpec("txt", p), shards) for row in shard]
        assert got == [(line,) for line in ref_lines(data)], shards
