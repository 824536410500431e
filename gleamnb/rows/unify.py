"""Putting the batches of one dataset together: one type per field.

Within a dataset a field may only go from null to a type (a column that was all ``None``),
from int to float, or to Python objects (:func:`unify_type`); anything else is a
:class:`~gleamnb.errors.SchemaError`. Batches are then cast to the one schema (:func:`conform`).

Examples
--------
>>> unify_type(pa.int64(), pa.float64()), unify_type(pa.int64(), pa.string())
(DataType(double), None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.rows.convert import column_to_pylist
from gleamnb.rows.types import PYOBJECT, PyObjectType, pyobject_array

__all__ = ["unify_type", "unify_schemas", "cast_column", "conform"]


def unify_type(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type both ``a`` and ``b`` convert to without loss of meaning, or None.

    The one rule for a field seen with two types: the batches and shards of a dataset, the
    inputs of a ``union``, the files of a jsonl source and the two sides of a join key. Null
    takes the other type, any type with Python objects gives Python objects, integers widen
    to int64 and integers with floats to float64, strings of either offset width give
    ``large_string``; other types take Arrow's permissive promotion (timestamp units,
    decimals, lists of such). A string or bool with a number has no common type.

    >>> unify_type(pa.int32(), pa.int64()), unify_type(pa.string(), pa.large_string())
    (DataType(int64), DataType(large_string))
    >>> unify_type(pa.bool_(), pa.int64()) is None
    True
    """
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if isinstance(a, PyObjectType) or isinstance(b, PyObjectType):
        return PYOBJECT
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        if pa.types.is_integer(a) and pa.types.is_integer(b):
            return pa.int64()
        return pa.float64()
    if pa.types.is_string(a) and pa.types.is_large_string(b):
        return b
    if pa.types.is_large_string(a) and pa.types.is_string(b):
        return a
    try:
        return (
            pa.unify_schemas(
                [pa.schema([("x", a)]), pa.schema([("x", b)])], promote_options="permissive"
            )
            .field("x")
            .type
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def unify_schemas(schemas: Sequence[pa.Schema], *, step: str | None = None) -> pa.Schema:
    """The one schema that batches of these schemas can all be cast to.

    Allowed: null -> any type, int -> float, any -> Python object. Anything else (a string
    field that later holds ints, a change of arity) is a :class:`SchemaError`.

    >>> unify_schemas([pa.schema([("_1", pa.null())]), pa.schema([("_1", pa.string())])])
    _1: string
    """
    first = schemas[0]
    if all(s == first for s in schemas[1:]):
        return first
    fields = list(first)
    for s in schemas[1:]:
        if len(s) != len(fields):
            raise SchemaError(
                f"rows change arity within one dataset: {len(fields)} fields, then {len(s)}",
                step=step,
                hint="make every row of a dataset have the same number of fields",
            )
        for i, f in enumerate(s):
            t = unify_type(fields[i].type, f.type)
            if t is None:
                raise SchemaError(
                    f"field {i + 1} ({fields[i].name}) changes type within one dataset: "
                    f"{fields[i].type} then {f.type}",
                    step=step,
                    hint="make the function return one type per field "
                    "(convert with int(), float() or str())",
                )
            fields[i] = pa.field(fields[i].name, t)
    return pa.schema(fields)


def cast_column(col: pa.Array | pa.ChunkedArray, t: pa.DataType) -> Any:
    """``col`` as type ``t`` (from :func:`unify_type`); to Python objects value by value.

    >>> cast_column(pa.array([1, None]), pa.float64()).to_pylist()
    [1.0, None]
    """
    if col.type == t:
        return col
    if isinstance(t, PyObjectType):
        return pyobject_array(column_to_pylist(col))
    return col.cast(t)


def conform(data: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast ``data`` to ``schema`` (from :func:`unify_schemas`); names come from ``schema``."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    if table.schema == schema:
        return table
    cols = [cast_column(table.column(i), f.type) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(cols, schema=schema)
