"""Arrays, batches and tables with no rows, of any type (gleamnb's extension types included).

An empty shard keeps its schema, so a task whose input is empty still knows its fields' names
and types.

Examples
--------
>>> empty_batch(pa.schema([("_1", pa.int64())])).num_rows
0
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["empty_array", "empty_table", "empty_batch"]


def empty_array(t: pa.DataType) -> pa.Array:
    """A zero-length array of any type, gleamnb's extension types (nested too) included."""
    if isinstance(t, pa.ExtensionType):
        return pa.ExtensionArray.from_storage(t, empty_array(t.storage_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = pa.array([0], type=pa.int64() if pa.types.is_large_list(t) else pa.int32())
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        return cls.from_arrays(offsets, empty_array(t.value_type), type=t)
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return pa.StructArray.from_arrays([empty_array(f.type) for f in fields], fields=fields)
    return pa.array([], type=t)


def empty_table(schema: pa.Schema | None = None) -> pa.Table:
    """A table with no rows (and no columns when ``schema`` is None).

    >>> from gleamnb.rows.types import PYOBJECT
    >>> empty_table(pa.schema([("_1", pa.list_(PYOBJECT))])).num_rows
    0
    """
    schema = schema or pa.schema([])
    return pa.Table.from_arrays([empty_array(f.type) for f in schema], schema=schema)


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A record batch with no rows."""
    return pa.RecordBatch.from_arrays([empty_array(f.type) for f in schema], schema=schema)
