"""Parquet parts: the types kept, few large row groups, dictionaries only where they pay."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.rows import PyObjectType, column_to_pylist, conform, unify_schemas
from gleamnb.runtime.save.writer import ShardWriter

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["ParquetShardWriter"]

_PENDING_BYTES = 16 << 20
#: Parquet row groups are written once this many rows are buffered (few, large row groups
#: read and write much faster than one per small batch).
_ROW_GROUP_ROWS = 1 << 20
#: A row group's batches are written as they are (the file is byte for byte the same as from
#: one joined copy, without the copy: 10% of writing a join's output) unless they average
#: fewer rows than this, when they are joined first.
_CHUNK_ROWS = 4096


class ParquetShardWriter(ShardWriter, format="parquet"):
    """One shard's parquet part; Python-object fields are stored as ``str``.

    Batches are held while a column is still all-null, so that its real type can be learned
    (up to ``_PENDING_BYTES``); the file's schema is then fixed, and a later batch must conform.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parquet: pq.ParquetWriter | None = None
        self._parquet_schema = pa.schema([])
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._group: list[pa.Table] = []
        self._group_rows = 0

    def _write(self, batch: pa.RecordBatch) -> None:
        batch = _parquet_ready(batch)
        if self._parquet is None:
            # Hold batches while a column is still all-null, so its real type can be learned.
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            has_null_type = any(pa.types.is_null(f.type) for f in batch.schema)
            if not has_null_type or self._pending_bytes > _PENDING_BYTES:
                schema = unify_schemas([b.schema for b in self._pending], step=self._step)
                self._open(schema)
            return
        schema = self._parquet_schema
        if batch.schema == schema:
            self._add_to_group(pa.Table.from_batches([batch]))
        else:
            self._add_to_group(self._conform(batch, schema))

    def _finish(self) -> None:
        if self._parquet is None:
            self._open(self._schema or pa.schema([]))
        assert self._parquet is not None
        self._flush_group()
        self._parquet.close()

    def _discard(self) -> None:
        writer, self._parquet = self._parquet, None
        if writer is not None:
            writer.close()

    def _open(self, schema: pa.Schema) -> None:
        # imported here: the driver imports this module to plan, and pyarrow.parquet (with
        # pyarrow.fs and ssl) is ~25 ms of a script's start-up that only a writer needs
        import pyarrow.parquet as pq

        os.makedirs(self.folder, exist_ok=True)
        self._parquet = pq.ParquetWriter(
            self._tmp, schema, use_dictionary=_dictionary_columns(self._pending, schema)
        )
        self._parquet_schema = schema
        pending, self._pending = self._pending, []
        for batch in pending:
            self._add_to_group(conform(batch, schema))

    def _add_to_group(self, table: pa.Table) -> None:
        self._group.append(table)
        self._group_rows += table.num_rows
        if self._group_rows >= _ROW_GROUP_ROWS:
            self._flush_group()

    def _flush_group(self) -> None:
        if self._group and self._parquet is not None:
            table = pa.concat_tables(self._group)
            if table.num_columns and table.column(0).num_chunks * _CHUNK_ROWS > table.num_rows:
                table = table.combine_chunks()  # many small batches: one pass per column
            self._parquet.write_table(table, row_group_size=max(1, table.num_rows))
        self._group, self._group_rows = [], 0

    def _conform(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
        unified = unify_schemas([schema, batch.schema], step=self._step)
        try:
            if unified != schema:
                raise pa.ArrowInvalid("needs a wider type")
            table = conform(batch, schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            changed = [
                f"{a.name} ({a.type} then {b.type})"
                for a, b in zip(schema, batch.schema)
                if a.type != b.type
            ]
            raise SchemaError(
                "a field changes type within one shard of a parquet save: " + ", ".join(changed),
                step=self._step,
                location=self.file,
                hint="make every row hold one type per field (convert with int(), float() "
                "or str()), or save as jsonl",
            ) from None
        return table


def _parquet_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Python-object columns become ``str`` columns (parquet readers cannot unpickle)."""
    if not any(isinstance(f.type, PyObjectType) for f in batch.schema):
        return batch
    arrays = []
    for col in batch.columns:
        if isinstance(col.type, PyObjectType):
            values = [None if v is None else str(v) for v in column_to_pylist(col)]
            col = pa.array(values, type=pa.string())
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


#: Values sampled per column to decide whether Parquet's dictionary encoding pays.
_DICTIONARY_SAMPLE = 16 * 1024


def _dictionary_columns(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> list[str]:
    """The columns worth dictionary-encoding: those whose first values repeat.

    Parquet writers try a dictionary for every column and give it up once it grows past a
    page; for columns of mostly distinct values (keys, ids, free text) that attempt is pure
    cost (a quarter of the time of writing a join's output). A column whose sample has at
    most half as many distinct values as values keeps the dictionary.

    >>> batch = pa.record_batch({"id": list(range(100)), "city": ["a", "b"] * 50})
    >>> _dictionary_columns([batch], batch.schema)
    ['city']
    """
    import pyarrow.compute as pc

    first = next((b for b in batches if b.num_rows), None)
    if first is None:
        return list(schema.names)
    sample = first.slice(0, _DICTIONARY_SAMPLE)
    names = set(schema.names)
    chosen = []
    for name, column in zip(sample.schema.names, sample.columns):
        if name not in names:
            continue
        try:
            distinct = pc.count_distinct(column).as_py()
        except pa.ArrowNotImplementedError:  # no hash kernel for the type: let Parquet decide
            chosen.append(name)
            continue
        if 2 * distinct <= len(column):
            chosen.append(name)
    return chosen
