"""The shard count of a file source, known when the source is built: :func:`default_shards`.

Plain (uncompressed) txt, csv, tsv and jsonl files are *splittable*: they can be read by byte
ranges (see :mod:`~gleamnb.files.chunks`), so a large one counts one shard per
:data:`SPLIT_BYTES`. A compressed file, or a CSV file whose quoted values hold newlines, is
read whole.

Examples
--------
>>> splittable(FileSpec("csv", "a.csv"), "a.csv"), splittable(FileSpec("csv", "a"), "a.csv.gz")
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

from gleamnb.files.compression import compression_of
from gleamnb.files.listing import FileInfo
from gleamnb.files.spec import FileSpec, check_shards

__all__ = ["SPLIT_BYTES", "splittable", "default_shards"]

SPLIT_BYTES = 64 << 20
"""Without an explicit shard count, a splittable file gets one shard per this many bytes."""


def splittable(spec: FileSpec, path: str) -> bool:
    """True if ``path`` can be read by byte ranges under ``spec``."""
    return (
        spec.is_text
        and compression_of(path) is None
        and not (spec.newlines_in_values and spec.format in ("csv", "tsv"))
    )


def default_shards(spec: FileSpec, files: Sequence[FileInfo]) -> int:
    """The shard count of a source: ``spec.shards``, else one per file, with a large
    splittable file counting one per :data:`SPLIT_BYTES`.

    >>> default_shards(FileSpec("txt", "x"), [FileInfo("a.txt", 200 << 20, 0)])
    4
    >>> default_shards(FileSpec("txt", "x"), [FileInfo("a.txt.gz", 200 << 20, 0)])
    1
    """
    if spec.shards is not None:
        return check_shards(spec.shards) or 1
    n = 0
    for f in files:
        if splittable(spec, f.path):
            n += max(1, -(-f.size // SPLIT_BYTES))
        else:
            n += 1
    return max(n, 1)
