"""File readers: a stage task streams a split's Arrow record batches with :func:`read_split`.

The source's description and files are :mod:`gleamnb.files`; the splits and the facts they
carry about their files are planned on the driver (:mod:`gleamnb.scan`). One reader per format:
txt (:mod:`~gleamnb.runtime.sources.text`), csv/tsv (:mod:`~gleamnb.runtime.sources.csvfile`),
jsonl (:mod:`~gleamnb.runtime.sources.jsonfile`), parquet/orc
(:mod:`~gleamnb.runtime.sources.columnar`).

Examples
--------
>>> import os, tempfile
>>> from gleamnb.files import FileSpec, default_shards, list_files
>>> from gleamnb.scan import plan_splits
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

from gleamnb.runtime.sources.read import read_split

__all__ = ["read_split"]
