"""Rows of Python values <-> Arrow record batches.

A row is a tuple of fields; a shard is a stream of Arrow record batches whose columns are the
fields. Columns are typed by Arrow. Values Arrow cannot hold in one typed column (mixed types,
arbitrary objects, tuples nested in a field) go into a ``gleamnb.pyobject`` column: an Arrow
extension type over ``binary`` whose cells are pickles. Lists of tuples built by gleamnb itself
(``group_by_key`` with several value fields) use the ``gleamnb.tuple`` extension type over a
struct, so they come back as tuples, not dicts.

Examples
--------
>>> batch = rows_to_batch([("a", 1), ("b", 2)])
>>> batch.schema.names
['_1', '_2']
>>> batch_to_rows(batch)
[('a', 1), ('b', 2)]
>>> batch_to_rows(rows_to_batch([(1, {1, 2})]))  # a set cannot be an Arrow value
[(1, {1, 2})]
"""

from __future__ import annotations

import datetime
import decimal
import pickle
import re
from collections.abc import Iterable, Sequence
from typing import Any

import cloudpickle
import pyarrow as pa

from gleamnb.errors import SchemaError

__all__ = [
    "PyObjectType",
    "TupleType",
    "PYOBJECT",
    "positional_names",
    "is_positional",
    "renumber",
    "column_to_pylist",
    "batch_to_columns",
    "batch_to_rows",
    "values_to_array",
    "rows_to_batch",
    "columns_to_batch",
    "unify_schemas",
    "MixedTypes",
    "unify_type",
    "type_change_error",
    "conform",
    "empty_table",
    "empty_batch",
    "empty_array",
]


class PyObjectType(pa.ExtensionType):
    """Arrow type for Python objects that no Arrow type holds: each cell is a pickle."""

    def __init__(self) -> None:
        super().__init__(pa.binary(), "gleamnb.pyobject")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(
        cls, storage_type: pa.DataType, serialized: bytes
    ) -> PyObjectType:
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return PyObjectScalar


class PyObjectScalar(pa.ExtensionScalar):
    def as_py(self, **kwargs: Any) -> Any:
        raw = self.value
        return None if raw is None else pickle.loads(raw.as_py())


class TupleType(pa.ExtensionType):
    """Arrow type for tuples built by gleamnb: a struct whose cells read back as tuples."""

    def __init__(self, storage: pa.StructType) -> None:
        super().__init__(storage, "gleamnb.tuple")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> TupleType:
        return cls(storage_type)

    def __arrow_ext_scalar_class__(self) -> type:
        return TupleScalar


class TupleScalar(pa.ExtensionScalar):
    def as_py(self, **kwargs: Any) -> Any:
        raw = self.value
        return None if raw is None else tuple(v.as_py() for v in raw.values())


for _ext in (PyObjectType(), TupleType(pa.struct([("0", pa.null())]))):
    try:
        pa.register_extension_type(_ext)
    except pa.ArrowKeyError:  # already registered by an earlier import
        pass

PYOBJECT = PyObjectType()

_POSITIONAL = re.compile(r"_\d+")


def positional_names(n: int) -> list[str]:
    """Names of ``n`` unnamed fields: ``_1 .. _n``.

    >>> positional_names(3)
    ['_1', '_2', '_3']
    """
    return [f"_{i + 1}" for i in range(n)]


def is_positional(name: str) -> bool:
    """True for the name of an unnamed field (``_3``)."""
    return _POSITIONAL.fullmatch(name) is not None


def renumber(names: Sequence[str]) -> list[str]:
    """Rename unnamed fields to their (new) position after a reorder; keep real names.

    >>> renumber(["_2", "city", "_1"])
    ['_1', 'city', '_3']
    """
    out = []
    for i, name in enumerate(names):
        out.append(f"_{i + 1}" if is_positional(name) else name)
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        if name in seen:
            out[i] = f"{name}_{i + 1}"
        seen[out[i]] = i
    return out


# ---------------------------------------------------------------------------------------------
# Arrow -> Python


def _needs_custom(t: pa.DataType) -> bool:
    if isinstance(t, (PyObjectType, TupleType)):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _needs_custom(t.value_type)
    if pa.types.is_struct(t):
        return any(_needs_custom(t.field(i).type) for i in range(t.num_fields))
    return False


def column_to_pylist(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values of one column, honouring gleamnb's extension types.

    >>> column_to_pylist(pa.array([1, None, 3]))
    [1, None, 3]
    """
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return column_to_pylist(arr.chunk(0))
        out: list[Any] = []
        for chunk in arr.chunks:
            out.extend(column_to_pylist(chunk))
        return out
    t = arr.type
    if not _needs_custom(t):
        return arr.to_pylist()
    if isinstance(t, PyObjectType):
        loads = pickle.loads
        return [None if b is None else loads(b) for b in arr.storage.to_pylist()]
    if isinstance(t, TupleType):
        storage = arr.storage
        children = [column_to_pylist(storage.field(i)) for i in range(storage.type.num_fields)]
        rows = list(zip(*children)) if children else [()] * len(arr)
        if storage.null_count:
            valid = storage.is_valid().to_pylist()
            rows = [r if ok else None for r, ok in zip(rows, valid)]
        return rows
    if pa.types.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        children = [column_to_pylist(arr.field(i)) for i in range(t.num_fields)]
        valid = arr.is_valid().to_pylist()
        return [dict(zip(names, vals)) if ok else None for vals, ok in zip(zip(*children), valid)]
    # list types holding a custom type somewhere inside
    flat = column_to_pylist(arr.flatten())
    lengths = arr.value_lengths().to_pylist()
    out = []
    pos = 0
    for n in lengths:
        if n is None:
            out.append(None)
        else:
            out.append(flat[pos : pos + n])
            pos += n
    return out


def batch_to_columns(batch: pa.RecordBatch | pa.Table) -> list[list[Any]]:
    """Python values of every column of ``batch``."""
    return [column_to_pylist(col) for col in batch.columns]


def batch_to_rows(batch: pa.RecordBatch | pa.Table) -> list[tuple[Any, ...]]:
    """The rows of ``batch`` as tuples."""
    cols = batch_to_columns(batch)
    if not cols:
        return [()] * batch.num_rows
    return list(zip(*cols))


# ---------------------------------------------------------------------------------------------
# Python -> Arrow


def _contains_tuple(value: Any, depth: int = 0) -> bool:
    if isinstance(value, tuple):
        return True
    if depth > 3:
        return False
    if isinstance(value, list):
        return any(_contains_tuple(v, depth + 1) for v in value[:4])
    if isinstance(value, dict):
        return any(_contains_tuple(v, depth + 1) for v in list(value.values())[:8])
    return False


def _first_not_none(values: Sequence[Any]) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


def pyobject_array(values: Iterable[Any]) -> pa.ExtensionArray:
    """A ``gleamnb.pyobject`` column: each value pickled on its own."""
    dumps = cloudpickle.dumps
    storage = pa.array([None if v is None else dumps(v) for v in values], type=pa.binary())
    return pa.ExtensionArray.from_storage(PYOBJECT, storage)


_SCALARS: tuple[type, ...] = (
    bool,
    int,
    float,
    str,
    bytes,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
)


class MixedTypes(Exception):
    """Plain values of different kinds in one field (an int, then a str)."""

    def __init__(self, index: int, first: type, other: type) -> None:
        super().__init__(index, first, other)
        self.index, self.first, self.other = index, first, other


def _check_not_mixed(values: Sequence[Any], kinds: set[type]) -> None:
    """Raise :class:`MixedTypes` if ``values`` mix plain scalar kinds (ints with floats is fine)."""
    if len(kinds) < 2 or not all(issubclass(k, _SCALARS) for k in kinds):
        return
    if kinds <= {int, float}:
        return
    first: type | None = None
    for i, v in enumerate(values):
        if v is None:
            continue
        if first is None:
            first = type(v)
        elif type(v) is not first and {type(v), first} != {int, float}:
            raise MixedTypes(i, first, type(v))


def values_to_array(values: Sequence[Any]) -> pa.Array:
    """Build one typed Arrow column from Python values, falling back to Python objects.

    Types are inferred. Ints mixed with floats become floats; values no Arrow type holds
    (sets, tuples inside a field, objects) make a Python-object column; plain values of
    different kinds (an int, then a str) raise :class:`MixedTypes`, which callers turn into a
    :class:`~gleamnb.errors.SchemaError`: a field keeps one type.

    >>> values_to_array([1, 2]).type
    DataType(int64)
    >>> isinstance(values_to_array([1, {2}]).type, PyObjectType)
    True
    """
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        _check_not_mixed(values, set(map(type, values)) - {type(None)})
        return pyobject_array(values)
    t = arr.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_binary(t):
        # Arrow would turn True into 1.0 and mix bytes with str: check the kinds
        kinds = set(map(type, values)) - {type(None)}
        if len(kinds) > 1:
            _check_not_mixed(values, kinds)
            if not kinds <= {int, float}:
                return pyobject_array(values)
    if pa.types.is_nested(t):
        # Arrow would read tuples and sets as lists: keep the user's values exactly as they are
        kinds = set(map(type, values)) - {type(None)}
        if kinds - {list, dict} or _contains_tuple(_first_not_none(values)):
            return pyobject_array(values)
    return arr


def columns_to_batch(
    columns: Sequence[Sequence[Any]], names: Sequence[str] | None = None
) -> pa.RecordBatch:
    """A record batch from Python column lists (raises :class:`MixedTypes`)."""
    names = list(names) if names is not None else positional_names(len(columns))
    arrays = [values_to_array(col) for col in columns]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def rows_to_batch(
    rows: Sequence[Any],
    names: Sequence[str] | None = None,
    *,
    arity: int | None = None,
    step: str | None = None,
) -> pa.RecordBatch:
    """A record batch from rows; a row that is not a tuple is a 1-field row.

    Raises :class:`SchemaError` if rows disagree in arity (with the first offending row), or
    differ from ``arity`` when that is given (the arity of earlier batches).

    >>> rows_to_batch(["a", "b"]).num_columns   # strings are one field each
    1
    >>> rows_to_batch([(1, 2), (3,)])
    Traceback (most recent call last):
    ...
    gleamnb.errors.SchemaError: rows change arity within one dataset: 2 fields, then 1
      row: (3,)
      fix: make the function return tuples of one length for every row
    """
    kinds = set(map(type, rows))
    if tuple in kinds:
        if len(kinds) > 1:
            bad = next(r for r in rows if type(r) is not tuple)
            first = next(r for r in rows if type(r) is tuple)
            raise _arity_error(len(first), 1, bad, step)
        lengths = set(map(len, rows))
        if len(lengths) > 1:
            k = len(rows[0])
            bad = next(r for r in rows if len(r) != k)
            raise _arity_error(k, len(bad), bad, step)
        width = lengths.pop() if lengths else (arity or 0)
        if arity is not None and rows and width != arity:
            raise _arity_error(arity, width, rows[0], step)
        columns: list[Any] = list(zip(*rows)) if rows else [[] for _ in range(width)]
    else:
        if arity is not None and rows and arity != 1:
            raise _arity_error(arity, 1, rows[0], step)
        width = 1 if rows or arity is None else arity
        columns = [rows] if width == 1 else [[] for _ in range(width)]
    if names is None or len(names) != len(columns):
        names = positional_names(len(columns))
    try:
        return columns_to_batch(columns, names)
    except MixedTypes as mixed:
        field = next(i for i, col in enumerate(columns) if _mixed_at(col, mixed))
        raise type_change_error(field, mixed.first, mixed.other, rows[mixed.index], step) from None


def _mixed_at(col: Sequence[Any], mixed: MixedTypes) -> bool:
    return mixed.index < len(col) and type(col[mixed.index]) is mixed.other


def type_change_error(
    field: int, first: Any, other: Any, row: Any, step: str | None
) -> SchemaError:
    """The error for a field whose values change type within one dataset."""
    name = getattr(first, "__name__", str(first))
    other_name = getattr(other, "__name__", str(other))
    return SchemaError(
        f"field {field + 1} changes type within one dataset: {name} values, then {other_name}",
        step=step,
        row=row,
        hint="make the function return one type per field (convert with int(), float() or "
        "str()); Python objects that Arrow has no type for (sets, classes) are kept as they are",
    )


def _arity_error(expected: int, got: int, row: Any, step: str | None) -> SchemaError:
    return SchemaError(
        f"rows change arity within one dataset: {expected} fields, then {got}",
        step=step,
        row=row,
        hint="make the function return tuples of one length for every row",
    )


# ---------------------------------------------------------------------------------------------
# Putting batches of one dataset together


def unify_type(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type both ``a`` and ``b`` convert to without loss of meaning, or None."""
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


def _cast_column(col: pa.Array | pa.ChunkedArray, t: pa.DataType) -> Any:
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
    cols = [_cast_column(table.column(i), f.type) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(cols, schema=schema)


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

    >>> empty_table(pa.schema([("_1", pa.list_(PYOBJECT))])).num_rows
    0
    """
    schema = schema or pa.schema([])
    return pa.Table.from_arrays([empty_array(f.type) for f in schema], schema=schema)


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A record batch with no rows."""
    return pa.RecordBatch.from_arrays([empty_array(f.type) for f in schema], schema=schema)
