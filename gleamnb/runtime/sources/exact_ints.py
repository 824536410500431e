"""Integers beyond 64 bits in text files, kept exact as Python ints.

Arrow reads such integers as float64, which silently loses digits. An in-memory source keeps
them as Python ints in a ``gleamnb.pyobject`` column; the csv/tsv and jsonl readers do the
same. A csv/tsv column is found when the file's types are inferred
(:func:`~gleamnb.scan.meta.exact_int_columns`): Arrow reads it as text and
:func:`csv_exact_ints` turns the text into ints. A jsonl chunk is checked after Arrow has read
it (:func:`jsonl_exact_ints`): only when a float column holds a value of magnitude 2**53 or
more (where float64 stops holding every integer; one Arrow reduction per float column) are its
lines parsed by Python's json module, and only the float columns holding an integer that
float64 does not hold exactly are replaced, by the values as an in-memory source types them.

Examples
--------
>>> import pyarrow as pa
>>> table = pa.table({"id": pa.array([1.0, 1.8446744073709552e19]), "s": ["a", "b"]})
>>> data = b'{"id": 1, "s": "a"}\\n{"id": 18446744073709551621, "s": "b"}\\n'
>>> [v.as_py() for v in jsonl_exact_ints(table, data).column("id").chunk(0)]
[1, 18446744073709551621]
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from gleamnb.rows import PyObjectType, pyobject_array, values_to_array
from gleamnb.scan.meta import INTEGER_TEXT

__all__ = ["NotAnInteger", "arrow_column_types", "csv_exact_ints", "jsonl_exact_ints"]

_INT64 = range(-(1 << 63), 1 << 63)
_EXACT_FLOATS = float(1 << 53)
_NULLS = pa.array(pcsv.ConvertOptions().null_values, pa.string())


class NotAnInteger(Exception):
    """A value of an exact-int column that is not an integer; the reader names its line."""

    def __init__(self, column: str, row: int, value: str) -> None:
        super().__init__(column, row, value)
        self.column, self.row, self.value = column, row, value


def arrow_column_types(types: Sequence[tuple[str, pa.DataType]]) -> dict[str, pa.DataType]:
    """A csv/tsv file's column types for Arrow: exact-int columns are read as text.

    >>> from gleamnb.rows import PYOBJECT
    >>> arrow_column_types([("id", PYOBJECT), ("x", pa.float64())])
    {'id': DataType(string), 'x': DataType(double)}
    """
    return {n: pa.string() if isinstance(t, PyObjectType) else t for n, t in types}


def csv_exact_ints(table: pa.Table, types: Sequence[tuple[str, pa.DataType]]) -> pa.Table:
    """``table`` with its exact-int columns (text so far) as Python ints.

    Raises :class:`NotAnInteger` (``row`` 0-based in ``table``) for a value that is not one.
    """
    exact = {n for n, t in types if isinstance(t, PyObjectType)} & set(table.column_names)
    if not exact:
        return table
    for name in exact:
        text = table.column(name)
        text = pc.if_else(pc.is_in(text, value_set=_NULLS), pa.scalar(None, pa.string()), text)
        good = pc.fill_null(pc.match_substring_regex(text, INTEGER_TEXT), True)
        if not pc.all(good).as_py():
            row = pc.index(good, False).as_py()
            raise NotAnInteger(name, row, text[row].as_py())
        ints = [None if v is None else int(v) for v in text.to_pylist()]
        index = table.column_names.index(name)
        table = table.set_column(index, name, pyobject_array(ints))
    return table


def jsonl_exact_ints(table: pa.Table, data: bytes) -> pa.Table:
    """``table`` (Arrow's reading of the jsonl ``data``) with every column holding an integer
    float64 does not hold exactly — at the top level or nested in objects and arrays — as the
    values Python's json module reads, typed as in-memory rows are (ints past int64, nested or
    not: a ``gleamnb.pyobject`` column).

    >>> table = pa.table({"v": [[1.8446744073709552e19]]})
    >>> jsonl_exact_ints(table, b'{"v": [18446744073709551621]}\\n').column("v")[0].as_py()
    [18446744073709551621]
    """
    suspects = [
        f.name
        for f in table.schema
        if _max_float(table.column(f.name).combine_chunks()) >= _EXACT_FLOATS
    ]
    if not suspects:
        return table
    rows = [json.loads(line) for line in data.split(b"\n") if line.strip()]
    for name in suspects:
        values = [row.get(name) for row in rows]
        if any(_inexact(v) for v in values):
            index = table.column_names.index(name)
            table = table.set_column(index, name, values_to_array(values))
    return table


def _max_float(array: pa.Array) -> float:
    """The largest magnitude among ``array``'s float values, nested ones included (0 if none)."""
    kind = array.type
    if pa.types.is_floating(kind):
        return pc.max(pc.abs(array)).as_py() or 0.0
    if pa.types.is_struct(kind):
        return max((_max_float(array.field(i)) for i in range(kind.num_fields)), default=0.0)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _max_float(array.flatten())
    return 0.0


def _inexact(value: object) -> bool:
    """Whether a JSON value holds an int that a float64 (or an int64) does not hold exactly."""
    if type(value) is int:
        return value not in _INT64 or float(value) != value
    if isinstance(value, dict):
        return any(_inexact(v) for v in value.values())
    if isinstance(value, list):
        return any(_inexact(v) for v in value)
    return False
