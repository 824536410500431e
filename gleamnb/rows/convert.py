"""Rows of Python values <-> Arrow record batches.

A row is a tuple of fields; a shard is a stream of Arrow record batches whose columns are the
fields. Columns are typed by Arrow; values no Arrow type holds become ``gleamnb.pyobject``
cells (:mod:`gleamnb.rows.types`). A field keeps one type: plain values of different kinds in
one column (an int, then a str) are a :class:`~gleamnb.errors.SchemaError`.

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
import types
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import compress, filterfalse
from operator import is_not, itemgetter
from typing import Any

import pyarrow as pa

from gleamnb.errors import SchemaError, exception_text
from gleamnb.plan.fields import positional_names
from gleamnb.rows.types import PyObjectType, TupleType, Unpicklable, pyobject_array

__all__ = [
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
]


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
    """A record batch from Python column lists (raises :class:`MixedTypes`, or
    :class:`~gleamnb.rows.types.Unpicklable` for a value no column can hold)."""
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
        # one column at a time: ``zip(*rows)`` makes an iterator per row, a container the
        # garbage collector walks, and took 3x as long on a batch of 300,000 pairs
        columns: list[Any] = [list(map(itemgetter(i), rows)) for i in range(width)]
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
    except Unpicklable as bad:
        field = next(i for i, col in enumerate(columns) if col[bad.index] is bad.value)
        raise _unstorable_error(field, bad, rows[bad.index], step) from None


#: The Python types whose values an Arrow column of this type gives back exactly, as
#: :func:`values_to_array` infers it for a column holding only that type (and None); ints
#: only within 64 bits, strings only when they are valid UTF-8 (no lone surrogates).
_PLAIN_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    bytes: pa.binary(),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_present = partial(filter, partial(is_not, None))


@dataclass(frozen=True)
class PlainRows:
    """Rows whose every field holds values of one plain type (or None), with those types.

    An Arrow column of each field's type would give back these very values, so the rows can
    go from one Python function to the next as they are (see :func:`plain_rows`); the
    values are immutable, so the next function cannot change what another one saw.

    Attributes
    ----------
    values
        With one field, its values; with several, the rows as tuples (how a row function is
        called: ``fn(value)`` or ``fn(*row)``).
    multi
        Whether there are several fields.
    types
        Each field's Arrow type, as :func:`rows_to_batch` would make it for these rows.
    """

    values: list[Any]
    multi: bool
    types: tuple[pa.DataType, ...]

    def keep(self, keep: Sequence[bool]) -> PlainRows:
        """The rows where ``keep`` is true; the types stay those of all the rows."""
        return PlainRows(list(compress(self.values, keep)), self.multi, self.types)

    def to_batch(self, names: Sequence[str]) -> pa.RecordBatch:
        """The rows as a record batch of :attr:`types`.

        >>> plain_rows([("a", 1), ("b", None)]).to_batch(["_1", "_2"]).to_pylist()
        [{'_1': 'a', '_2': 1}, {'_1': 'b', '_2': None}]
        """
        if self.multi:
            cols = [list(map(itemgetter(i), self.values)) for i in range(len(self.types))]
        else:
            cols = [self.values]
        arrays = [pa.array(col, type=t) for col, t in zip(cols, self.types)]
        return pa.RecordBatch.from_arrays(arrays, names=list(names))


def _plain_type(values: list[Any], kinds: set[type]) -> pa.DataType | None:
    """The Arrow type that holds ``values`` (of the types ``kinds``) exactly, or None."""
    nulls = type(None) in kinds
    kinds = kinds - {type(None)}
    if not kinds:
        return pa.null()
    if len(kinds) > 1:
        return None
    kind = kinds.pop()
    t = _PLAIN_TYPES.get(kind)
    if kind is int:
        present = list(_present(values)) if nulls else values
        if min(present) < _INT64_MIN or max(present) > _INT64_MAX:
            return None  # a Python-object column: the values come back all the same
    elif kind is str:
        try:
            for s in filterfalse(str.isascii, _present(values) if nulls else values):
                s.encode()  # a lone surrogate has no UTF-8 form
        except UnicodeEncodeError:
            return None
    return t


def plain_rows(rows: list[Any]) -> PlainRows | None:
    """``rows`` (a row function's results) as the next row function takes them, or None.

    They are :class:`PlainRows` when a record batch made of them (:func:`rows_to_batch`)
    would give back the very same values: every row a tuple of one length, or none a
    tuple, and each field's values of one of the types ``str``, ``int`` (within 64 bits),
    ``float``, ``bool`` and ``bytes``, or None. Anything else — ints among floats (Arrow
    makes them floats), dicts (structs fill in missing keys), lists, Python objects, rows
    that change arity — is None: those rows go through Arrow, and any error is raised there.

    >>> plain_rows([("a", 1), ("b", 2)]).types
    (DataType(string), DataType(int64))
    >>> plain_rows(["a", None]).values
    ['a', None]
    >>> plain_rows([1, 2.5]) is None, plain_rows([{"a": 1}]) is None
    (True, True)
    """
    kinds = set(map(type, rows))
    if tuple not in kinds:
        t = _plain_type(rows, kinds)
        return None if t is None else PlainRows(rows, False, (t,))
    if len(kinds) > 1:
        return None
    lengths = set(map(len, rows))
    width = lengths.pop() if len(lengths) == 1 else 0
    if width == 0:
        return None
    types = []
    for i in range(width):
        col = list(map(itemgetter(i), rows))
        t = _plain_type(col, set(map(type, col)))
        if t is None:
            return None
        types.append(t)
    if width == 1:
        return PlainRows(col, False, tuple(types))
    return PlainRows(rows, True, tuple(types))


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


def _unstorable_error(field: int, bad: Unpicklable, row: Any, step: str | None) -> SchemaError:
    """The error for a value that neither an Arrow type nor pickle holds."""
    kind = type(bad.value).__name__
    if isinstance(bad.value, types.GeneratorType):
        hint = (
            "a generator is not a value: to make several rows of each row, use flat_map() "
            "(it runs the generator, each item a row); to keep its items as one value, "
            "make a list of them (list(...))"
        )
    else:
        hint = (
            "make the value one that Arrow or pickle holds (numbers, strings, lists, dicts, "
            "picklable objects), or leave it out of the rows"
        )
    return SchemaError(
        f"field {field + 1} is a {kind}, which no column can hold: "
        f"{type(bad.error).__name__}: {exception_text(bad.error)}",
        step=step,
        row=row,
        hint=hint,
    )


def _arity_error(expected: int, got: int, row: Any, step: str | None) -> SchemaError:
    return SchemaError(
        f"rows change arity within one dataset: {expected} fields, then {got}",
        step=step,
        row=row,
        hint="make the function return tuples of one length for every row",
    )
