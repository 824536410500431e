"""Parquet and ORC files' metadata: handles, schemas and pieces (row groups, stripes).

A parquet file splits into row groups and an ORC file into stripes; the planner weighs them
with :func:`piece_sizes`, and build-time checks take the column names from :func:`schema_names`.

Examples
--------
>>> import os, tempfile
>>> import pyarrow.parquet as pq
>>> p = os.path.join(tempfile.mkdtemp(), "a.parquet")
>>> pq.write_table(pa.table({"k": ["a", "b"], "v": [1, 2]}), p)
>>> schema_names(FileSpec("parquet", p), p)
['k', 'v']
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from gleamnb.errors import InputNotFoundError, MalformedInputError
from gleamnb.files.compression import compression_of, open_stream
from gleamnb.files.spec import FileSpec

__all__ = ["open_columnar", "schema_names", "piece_sizes"]


def open_columnar(spec: FileSpec, path: str) -> Any:
    """A ``pq.ParquetFile`` or ``pyarrow.orc.ORCFile`` for ``path``.

    A compressed file (``.gz`` ...) is decompressed into memory first: both formats need
    random access.
    """
    # imported here, not with the module: the planner imports it for every flow, and the two
    # readers (with pyarrow.fs and ssl) are ~40 ms of a script's start-up
    import pyarrow.orc as porc
    import pyarrow.parquet as pq

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
