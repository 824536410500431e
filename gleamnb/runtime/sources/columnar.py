"""Parquet and ORC readers with projection.

A split lists the row groups (parquet) or stripes (ORC) it reads (None: all); columns are
projected by name or 1-based position. The files' schemas and pieces are read on the driver
(:mod:`gleamnb.scan.columnar`).

Examples
--------
>>> import os, tempfile
>>> import pyarrow.parquet as pq
>>> p = os.path.join(tempfile.mkdtemp(), "a.parquet")
>>> pq.write_table(pa.table({"k": ["a", "b"], "v": [1, 2]}), p)
>>> [b.to_pydict() for b in read_parquet(FileSpec("parquet", p, columns=(2,)), p, None)]
[{'v': [1, 2]}]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

from gleamnb.files.spec import FileSpec
from gleamnb.scan.columnar import open_columnar
from gleamnb.scan.projection import project

__all__ = ["PARQUET_BATCH_ROWS", "read_parquet", "read_orc"]

PARQUET_BATCH_ROWS = 1 << 16


def read_parquet(
    spec: FileSpec, path: str, pieces: Sequence[int] | None
) -> Iterator[pa.RecordBatch]:
    """Batches of a parquet file (the listed row groups, or all)."""
    handle = open_columnar(spec, path)
    include, out_names = project(spec, handle.schema_arrow.names, path)
    batches = handle.iter_batches(
        batch_size=PARQUET_BATCH_ROWS,
        row_groups=list(pieces) if pieces is not None else None,
        columns=include,
        use_threads=False,
    )
    for batch in batches:
        if batch.num_rows:
            yield _ordered(batch, include, out_names)


def read_orc(spec: FileSpec, path: str, pieces: Sequence[int] | None) -> Iterator[pa.RecordBatch]:
    """Batches of an ORC file (the listed stripes, or all)."""
    handle = open_columnar(spec, path)
    include, out_names = project(spec, handle.schema.names, path)
    for i in pieces if pieces is not None else range(handle.nstripes):
        stripe = handle.read_stripe(i, columns=include)
        for batch in pa.Table.from_batches([stripe]).to_batches(PARQUET_BATCH_ROWS):
            if batch.num_rows:
                yield _ordered(batch, include, out_names)


def _ordered(
    batch: pa.RecordBatch, include: list[str] | None, out_names: list[str]
) -> pa.RecordBatch:
    """The projected columns in projection order (ORC reads them in file order)."""
    if include is not None and batch.schema.names != include:
        batch = pa.RecordBatch.from_arrays([batch.column(c) for c in include], names=include)
    return batch.rename_columns(out_names)
