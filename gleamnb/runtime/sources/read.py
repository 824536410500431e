"""Read one split: :func:`read_split`, the entry point a stage task calls.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> _ = open(p, "w").write("to be\\nor not\\n")
>>> spec = FileSpec("txt", p)
>>> [b.to_pydict() for b in read_split(spec, Split(p))]
[{'_1': ['to be', 'or not']}]
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from gleamnb.files.spec import FileSpec
from gleamnb.runtime.sources.columnar import read_orc, read_parquet
from gleamnb.runtime.sources.csvfile import read_csv
from gleamnb.runtime.sources.jsonfile import read_jsonl
from gleamnb.runtime.sources.text import read_txt
from gleamnb.scan.meta import file_meta
from gleamnb.scan.splits import Split

__all__ = ["read_split"]


def read_split(spec: FileSpec, split: Split) -> Iterator[pa.RecordBatch]:
    """Stream the record batches of one split (no empty batches).

    Columns keep their Arrow types; txt gives one string column ``_1``. A split made without
    its file's facts (``meta=None``) gathers them itself.
    """
    fmt = spec.format
    if fmt == "txt":
        return read_txt(spec, split.path, split.start, split.end)
    if fmt == "parquet":
        return read_parquet(spec, split.path, split.pieces)
    if fmt == "orc":
        return read_orc(spec, split.path, split.pieces)
    meta = split.meta if split.meta is not None else file_meta(spec, split.path)
    if fmt == "jsonl":
        return read_jsonl(spec, split.path, split.start, split.end, meta)
    return read_csv(spec, split.path, split.start, split.end, meta)  # type: ignore[arg-type]
