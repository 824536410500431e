"""File sources: list, plan and read txt, csv, tsv, parquet, orc and jsonl inputs.

The driver turns a :class:`FileSpec` into files (:func:`list_files`), a shard count
(:func:`default_shards`) and exactly that many lists of :class:`Split` (:func:`plan_splits`);
build-time checks use :func:`names_at_build`. A stage task streams a split's Arrow record
batches with :func:`read_split`.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "words.txt")
>>> _ = open(p, "w").write("a\\nb\\nc\\nd\\n")
>>> spec = FileSpec("txt", p, shards=2)
>>> files = list_files(spec)
>>> plan = plan_splits(spec, files, default_shards(spec, files))
>>> [[row for split in shard for b in read_split(spec, split) for row in b.column(0).to_pylist()]
...  for shard in plan]
[['a', 'b'], ['c', 'd']]
"""

from __future__ import annotations

from gleamnb.runtime.sources.listing import FileInfo, list_files
from gleamnb.runtime.sources.meta import FileMeta
from gleamnb.runtime.sources.names import names_at_build
from gleamnb.runtime.sources.read import read_split
from gleamnb.runtime.sources.spec import FORMATS, FileSpec
from gleamnb.runtime.sources.splits import Split, default_shards, plan_splits

__all__ = [
    "FORMATS",
    "FileSpec",
    "FileInfo",
    "FileMeta",
    "Split",
    "list_files",
    "default_shards",
    "plan_splits",
    "names_at_build",
    "read_split",
]
