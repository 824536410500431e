"""A file source's shard count: one per file, one per 64 MiB of a splittable file.

References are independent of the code under test.
"""

from __future__ import annotations

from gleamnb.files import FileInfo, FileSpec, default_shards
from gleamnb.files import shards as shards_mod


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


def test_split_bytes_constant_is_64mib() -> None:
    assert shards_mod.SPLIT_BYTES == 64 << 20
