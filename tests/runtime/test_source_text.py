"""The txt reader: one row per line, as ``bytes.split`` gives them.

References are independent of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from source_helpers import read_batches, read_rows, read_shards, ref_lines, write

from gleamnb.files import FileSpec


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
