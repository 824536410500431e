"""Parquet and ORC: schemas, pieces (row groups, stripes) and readers with projection.

A parquet file splits into row groups and an ORC file into stripes; a split lists the pieces
it reads (None: all). Columns are projected by name or 1-based position.

Examples
--------
>>> import os, tempfile
>>> import pyarrow.parquet as pq
>>> p = os.path.join(tempfile.mkdtemp(), "a.parquet")
>>> pq.write_table(pa.table({"k": ["a", "b"], "v": [1, 2]}), p)
>>> schema_names(FileSpec("parquet", p), p)
['k', 'v']
>>> [b.to_pydict() for b in read_parquet(FileSpec("parquet", p, columns=(2,)), p, None)]
[{'v': [1, 2]}]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.orc as porc
import pyarrow.parquet as pq

from gleamnb.errors import InputNotFoundError, MalformedInputError
from gleamnb.runtime.sources.compression import compression_of, open_stream
from gleamnb.runtime.sources.projection import project
from gleamnb.runtime.sources.spec import FileSpec

__all__ = [
    "PARQUET_BATCH_ROWS",
    "open_columnar",
    "schema_names",
    "piece_sizes",
    "read_parquet",
    "read_orc",
]

PARQUET_BATCH_ROWS = 1 << 16


def open_columnar(spec: FileSpec, path: str) -> Any:
    """A ``pq.ParquetFile`` or ``pyarrow.orc.ORCFile`` for ``path``.

    A compressed file (``.gz`` ...) is decompressed into memory first: both formats need
    random access.
    """
    try:
        source: Any = path
        if compression_of(path) is not None:
            stream = open_stream(path)
            try:
                source = pa.BufferReader(stream.read())
            finally:
                stream.close()
        if spec.format == "parquet":
            return pq.ParquetFile(source)
        return porc.ORCFile(source)
    except FileNotFoundError:
        raise InputNotFoundError(
            f"input file vanished: {path}",
            location=path,
            hint="keep inputs in place while a run reads them",
        ) from None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as err:
        raise MalformedInputError(
            f"cannot read {path} as {spec.format}: {err}",
            location=path,
            hint=f"check that the file is {spec.format} (or read it with the source of its "
            "format: gl.csv, gl.jsonl, ...)",
        ) from None


def _schema(spec: FileSpec, handle: Any) -> pa.Schema:
    return handle.schema_arrow if spec.format == "parquet" else handle.schema


def schema_names(spec: FileSpec, path: str) -> list[str]:
    """The column names of a parquet/orc file, before projection."""
    return list(_schema(spec, open_columnar(spec, path)).names)


def piece_sizes(spec: FileSpec, path: str, size: int) -> list[int]:
    """The byte weight of each row group (parquet) or stripe (ORC) of ``path``."""
    handle = open_columnar(spec, path)
    if spec.format == "parquet":
        meta = handle.metadata
        return [max(meta.row_group(i).total_byte_size, 1) for i in range(meta.num_row_groups)]
    n = handle.nstripes
    return [max(size // n, 1)] * n if n else []


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
