"""Compressed inputs are decompressed as streams and never split.

References are independent of the code under test.
"""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pyarrow as pa
from source_helpers import read_shards, ref_lines

from gleamnb.files import FileSpec, default_shards, list_files


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
