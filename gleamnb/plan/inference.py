"""What a step's output looks like, known when the flow is built: field names and shard counts.

Names are None when a Python function decides them (a ``map``'s rows) or an input's are
unknown. Keyed steps put the key fields first (Gleam's ``UseKeys``); unnamed fields are then
renumbered to their new position (:func:`~gleamnb.plan.fields.renumber`).

Examples
--------
>>> key_first_names(("word", "count"), [2], "sort")
('count', 'word')
>>> join_names(("id", "name"), ("id", "name"), ["id"], "join", lists=False)
('id', 'name', 'name_right')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from gleamnb.errors import SchemaError
from gleamnb.fieldref import FieldRef
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.fields import is_positional, key_first, positional_names, renumber, resolve_fields
from gleamnb.plan.graph import Hints
from gleamnb.plan.reducers import Reducer

__all__ = [
    "Names",
    "key_first_names",
    "join_names",
    "map_names",
    "flat_map_names",
    "select_names",
    "reduce_by_key_names",
    "reduce_names",
    "group_by_key_names",
    "distinct_names",
    "union_names",
    "union_shards",
    "shuffle_shards",
]

Names = tuple[str, ...] | None


def key_first_names(names: Names, key: Sequence[FieldRef], step: str) -> Names:
    """The names after the key fields are moved first."""
    if names is None:
        return None
    idx = resolve_fields(key, names, step=step)
    return tuple(renumber([names[i] for i in key_first(idx, len(names))]))


def join_names(
    left: Names, right: Names, on: Sequence[FieldRef], step: str, *, lists: bool
) -> Names:
    """``(key..., left values..., right values...)``; a right name the left has gets
    ``_right``. ``lists``: a co-group's ``(key..., [left values], [right values])``."""
    if left is None or right is None:
        return None
    lnames = key_first_names(left, on, step)
    rnames = key_first_names(right, on, step)
    assert lnames is not None and rnames is not None
    k = len(on)
    if lists:
        return tuple(renumber([*lnames[:k], f"_{k + 1}", f"_{k + 2}"]))
    taken = set(lnames)
    rvals = [f"{n}_right" if n in taken and not is_positional(n) else n for n in rnames[k:]]
    return tuple(renumber([*lnames, *rvals]))


def map_names(fn: Callable[..., Any], names: Names) -> Names:
    """A ``map``'s names: known only for the builtins, whose rows are the input's (plus one).

    >>> from gleamnb.plan.builtins import BuiltinFunction
    >>> map_names(BuiltinFunction("append_one", "map", lambda *f: (*f, 1)), ("word",))
    ('word', '_2')
    """
    if not (isinstance(fn, BuiltinFunction) and fn.kind == "map" and names is not None):
        return None
    if fn.name == "append_one":
        return tuple(renumber([*names, f"_{len(names) + 1}"]))
    if fn.name == "lowercase":
        return names
    return None


def flat_map_names(fn: Callable[..., Any]) -> Names:
    """A ``flat_map``'s names: ``tokenize`` gives one field, a Python function decides."""
    return ("_1",) if isinstance(fn, BuiltinFunction) and fn.name == "tokenize" else None


def select_names(names: Names, fields: Sequence[FieldRef], step: str) -> Names:
    """The selected fields' names; positions alone name them ``_1.._n`` even when the input's
    names are unknown.

    >>> select_names(None, [3, 1], "select"), select_names(("a", "b"), ["b"], "select")
    (('_1', '_2'), ('b',))
    """
    if names is not None:
        idx = resolve_fields(fields, names, step=step)
        return tuple(renumber([names[i] for i in idx]))
    if all(isinstance(f, int) for f in fields):
        return tuple(positional_names(len(fields)))
    return None


def reduce_by_key_names(
    names: Names, keys: Sequence[FieldRef], reducer: Reducer, step: str
) -> Names:
    """``(key..., values...)``: a count has one value field; a Python reducer's tuples
    decide how many value fields come out unless there is one.

    Raises
    ------
    SchemaError
        The rows hold only the key: there is nothing to reduce.
    """
    out = key_first_names(names, keys, step)
    if out is not None and reducer.agg == "count":
        out = tuple(renumber([*out[: len(keys)], f"_{len(keys) + 1}"]))
    if names is not None and len(names) == len(keys):
        raise SchemaError(
            f"step {step!r} has no value fields to reduce: rows have only the key",
            step=step,
            hint="add a value first, e.g. .map(gl.mappers.append_one) before reduce_by_key",
        )
    if reducer.agg is None and out is not None and len(out) != len(keys) + 1:
        return None
    return out


def reduce_names(names: Names, reducer: Reducer) -> Names:
    """A known aggregate keeps the fields; a count or a Python reducer decides its own."""
    return names if reducer.agg not in (None, "count") else None


def group_by_key_names(names: Names, keys: Sequence[FieldRef], step: str) -> Names:
    """``(key..., [values])``: one value field keeps its name, several make ``_{k+1}``."""
    out = key_first_names(names, keys, step)
    if out is None:
        return None
    k = len(keys)
    value = out[k] if len(out) == k + 1 else f"_{k + 1}"
    return tuple(renumber([*out[:k], value]))


def distinct_names(names: Names, keys: Sequence[FieldRef], step: str) -> Names:
    """Key first when a key is given, else the rows as they are."""
    return key_first_names(names, keys, step) if keys else names


def union_names(inputs: Sequence[Names], step: str) -> Names:
    """A union's names are its first input's; every input whose names are known has as many.

    >>> union_names([("a", "b"), None, ("c", "d")], "union")
    ('a', 'b')
    >>> union_names([("a", "b"), ("c",)], "union")
    Traceback (most recent call last):
    ...
    gleamnb.errors.SchemaError: union of datasets with different numbers of fields: [1, 2]
      where: step 'union'
      fix: select the same number of fields on every side first

    Raises
    ------
    SchemaError
        Two inputs have different numbers of fields.
    """
    widths = {len(names) for names in inputs if names is not None}
    if len(widths) > 1:
        raise SchemaError(
            f"union of datasets with different numbers of fields: {sorted(widths)}",
            step=step,
            hint="select the same number of fields on every side first",
        )
    return inputs[0]


def union_shards(shards: Sequence[int], ordered: bool) -> int:
    """A union's shard count: the inputs' side by side, or one when ``ordered``.

    >>> union_shards([2, 3], ordered=False), union_shards([2, 3], ordered=True)
    (5, 1)
    """
    return 1 if ordered else sum(shards)


def shuffle_shards(shards: int, hints: Hints) -> int:
    """The shard count of a wide step: the input's, or ``total / partition`` size hints.

    >>> shuffle_shards(2, Hints(total_size_mb=256, partition_size_mb=64))
    4
    """
    if hints.total_size_mb and hints.partition_size_mb:
        return max(1, math.ceil(hints.total_size_mb / hints.partition_size_mb))
    return shards
