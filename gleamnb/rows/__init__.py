"""The Arrow row model: how rows of Python values live in Arrow record batches.

The driver (in-memory sources, ``collect``, the meeting of shards) and the tasks share it:

- :mod:`~gleamnb.rows.types`: the extension types ``gleamnb.pyobject`` (pickled Python
  objects) and ``gleamnb.tuple`` (tuples built by gleamnb), registered with Arrow on import;
- :mod:`~gleamnb.rows.convert`: rows and columns of Python values <-> Arrow;
- :mod:`~gleamnb.rows.unify`: the one type rule (:func:`unify_type`) and the one schema
  the batches of a dataset are cast to;
- :mod:`~gleamnb.rows.empty`: arrays, batches and tables with no rows.

Field names follow :mod:`gleamnb.plan.fields`.

Examples
--------
>>> batch_to_rows(rows_to_batch([("a", 1), ("b", 2)]))
[('a', 1), ('b', 2)]
"""

from __future__ import annotations

from gleamnb.rows.convert import (
    MixedTypes,
    PlainRows,
    batch_to_columns,
    batch_to_rows,
    column_to_pylist,
    columns_to_batch,
    plain_rows,
    rows_to_batch,
    type_change_error,
    values_to_array,
)
from gleamnb.rows.empty import empty_array, empty_batch, empty_table
from gleamnb.rows.types import PYOBJECT, PyObjectType, TupleType, pyobject_array
from gleamnb.rows.unify import cast_column, conform, unify_schemas, unify_type

__all__ = [
    "PyObjectType",
    "TupleType",
    "PYOBJECT",
    "pyobject_array",
    "column_to_pylist",
    "batch_to_columns",
    "batch_to_rows",
    "values_to_array",
    "rows_to_batch",
    "columns_to_batch",
    "PlainRows",
    "plain_rows",
    "MixedTypes",
    "type_change_error",
    "unify_type",
    "unify_schemas",
    "cast_column",
    "conform",
    "empty_array",
    "empty_table",
    "empty_batch",
]
