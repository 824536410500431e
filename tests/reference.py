"""A naive in-memory evaluator of gleamnb's operators, for comparing results against.

Plain Python over lists of tuples; nothing here imports gleamnb. A dataset is a list of
shards, a shard a list of rows, a row a tuple. Fields are 1-based positions (tests resolve
names themselves). Each function follows the documented contract (DESIGN.md §2-§3) and the
decisions recorded for the operator tests:

- shards are read in order, so a dataset's rows are its shards concatenated;
- keyed steps emit the key fields first, then the other fields in their original order;
- nulls sort last in both directions and NaN just before them; sorting is stable;
- reducers fold in row order: within each shard first, then the shards' results in order;
- ``group_by_key`` and ``distinct`` keep the order of first appearance;
- joins list left rows in order, then the unmatched right rows; null keys never match.

Functions return ``Shards`` where the shard layout is defined (narrow steps, ``union``,
``broadcast``) and a flat list of rows otherwise; the docstring says whether that list's order
is defined or the result is to be compared as a multiset (see :func:`multiset`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

Row = tuple[Any, ...]
Shards = list[list[Row]]
# An order is a sequence of (1-based field, descending) pairs.
OrderSpec = Sequence[tuple[int, bool]]
Reducer = Callable[[Any, Any], Any] | str

__all__ = [
    "Row",
    "Shards",
    "OrderSpec",
    "as_row",
    "rows_of",
    "canonical",
    "multiset",
    "assert_rows",
    "key_of",
    "key_first",
    "values_of",
    "map_rows",
    "flat_map_rows",
    "filter_rows",
    "select",
    "local_sort",
    "local_top",
    "local_limit",
    "local_distinct",
    "local_reduce_by_key",
    "reduce_by_key",
    "reduce_all",
    "group_by_key",
    "distinct",
    "sort_rows",
    "top",
    "limit",
    "join",
    "co_group",
    "partition_groups",
    "union",
    "broadcast",
    "merge_sorted_candidates",
    "round_robin_sizes",
]


# ---------------------------------------------------------------------------------------------
# rows and keys


def as_row(value: Any) -> Row:
    """A UDF result as a row: a tuple is the row, anything else one field."""
    return value if isinstance(value, tuple) else (value,)


def rows_of(shards: Shards) -> list[Row]:
    """The dataset's rows: its shards concatenated in order."""
    return [row for shard in shards for row in shard]


def canonical(value: Any) -> Any:
    """A type-strict, comparable stand-in for ``value``: ``1``, ``1.0`` and ``True`` differ,
    NaN equals NaN, lists and tuples are compared item by item."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, tuple(sorted(repr(canonical(v)) for v in value)))
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    return (type(value).__name__, repr(value))


def multiset(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows in a canonical order, for comparing results whose order is not defined.

    Lists inside rows (``group_by_key``, ``co_group``) keep their own order.
    """
    return sorted((tuple(r) for r in rows), key=lambda r: repr(canonical(r)))


def assert_rows(got: Sequence[Any], expected: Sequence[Any], *, ordered: bool) -> None:
    """``got`` holds the same rows as ``expected``, with the same Python types, in the same
    order when ``ordered`` (else as multisets)."""
    if not ordered:
        got, expected = multiset(got), multiset(expected)
    got_c = [canonical(tuple(r)) for r in got]
    expected_c = [canonical(tuple(r)) for r in expected]
    assert got_c == expected_c, (
        f"rows differ{'' if ordered else ' (as multisets)'}:\n"
        f"  got:      {list(got)!r}\n  expected: {list(expected)!r}"
    )


def key_of(row: Row, key: Sequence[int]) -> Row:
    """The key fields of ``row`` (1-based positions)."""
    return tuple(row[k - 1] for k in key)


def values_of(row: Row, key: Sequence[int]) -> Row:
    """The fields of ``row`` that are not key fields, in their original order."""
    taken = {k - 1 for k in key}
    return tuple(v for i, v in enumerate(row) if i not in taken)


def key_first(row: Row, key: Sequence[int]) -> Row:
    """``row`` with the key fields first, then the rest in their original order."""
    return key_of(row, key) + values_of(row, key)


def _value(values: Row) -> Any:
    """What a reducer or group list sees: a scalar for one value field, else a tuple."""
    return values[0] if len(values) == 1 else values


def _hashable(value: Any) -> Any:
    """A dictionary key standing for ``value``: None is a key like any other and every NaN
    is the same key."""
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return ("NaN",)
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value


def _group(rows: Iterable[Row], key: Sequence[int]) -> dict[Any, list[Row]]:
    """Rows by key, keys in order of first appearance, rows in their order."""
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(_hashable(key_of(row, key)), []).append(row)
    return groups


# ---------------------------------------------------------------------------------------------
# narrow steps (per shard)


def map_rows(shards: Shards, fn: Callable[..., Any]) -> Shards:
    return [[as_row(fn(*row)) for row in shard] for shard in shards]


def flat_map_rows(shards: Shards, fn: Callable[..., Any]) -> Shards:
    out: Shards = []
    for shard in shards:
        rows: list[Row] = []
        for row in shard:
            result = fn(*row)
            if result is not None:
                rows.extend(as_row(item) for item in result)
        out.append(rows)
    return out


def filter_rows(shards: Shards, fn: Callable[..., Any]) -> Shards:
    return [[row for row in shard if fn(*row)] for shard in shards]


def select(shards: Shards, fields: Sequence[int]) -> Shards:
    return [[key_of(row, fields) for row in shard] for shard in shards]


def local_sort(shards: Shards, order: OrderSpec) -> Shards:
    return [sort_rows(shard, order) for shard in shards]


def local_top(shards: Shards, n: int, order: OrderSpec) -> Shards:
    return [sort_rows(shard, order)[:n] for shard in shards]


def local_limit(shards: Shards, n: int, offset: int = 0) -> Shards:
    return [shard[offset : offset + n] for shard in shards]


def local_distinct(shards: Shards) -> Shards:
    return [distinct([shard]) for shard in shards]


def local_reduce_by_key(shards: Shards, fn: Reducer, key: Sequence[int] = (1,)) -> Shards:
    """Each shard reduced on its own; groups in order of first appearance in the shard."""
    return [_reduce_groups(_group(shard, key), fn, key) for shard in shards]


# ---------------------------------------------------------------------------------------------
# reducing


def _reducer(fn: Reducer) -> Callable[[Any, Any], Any]:
    if not isinstance(fn, str):
        return fn
    named: dict[str, Callable[[Any, Any], Any]] = {
        "sum": _elementwise(lambda a, b: a + b),
        "min": _elementwise(min),
        "max": _elementwise(max),
        "first": lambda a, b: a,
        "last": lambda a, b: b,
    }
    return named[fn]


def _elementwise(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A named aggregate applies to each value field on its own."""

    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, tuple):
            return tuple(fn(x, y) for x, y in zip(a, b))
        return fn(a, b)

    return apply


def _fold(fn: Reducer, values: list[Any]) -> Any:
    if fn == "count":
        return len(values)
    return functools.reduce(_reducer(fn), values)


def _fold_partials(fn: Reducer, partials: list[Any]) -> Any:
    if fn == "count":
        return sum(partials)
    return functools.reduce(_reducer(fn), partials)


def _as_fields(result: Any, width: int) -> Row:
    """A reducer's result as the value fields: the one field itself, or a tuple's items."""
    return tuple(result) if width > 1 and isinstance(result, tuple) else (result,)


def _reduce_groups(groups: dict[Any, list[Row]], fn: Reducer, key: Sequence[int]) -> list[Row]:
    out = []
    for rows in groups.values():
        result = _fold(fn, [_value(values_of(r, key)) for r in rows])
        out.append(key_of(rows[0], key) + _as_fields(result, len(values_of(rows[0], key))))
    return out


def reduce_by_key(shards: Shards, fn: Reducer, key: Sequence[int] = (1,)) -> list[Row]:
    """``(key..., value...)`` per key. A multiset: which shard holds a key is not defined.

    Each key's values are folded per shard in row order, then those results in shard order.
    """
    partials: dict[Any, list[Any]] = {}
    keys: dict[Any, Row] = {}
    widths: dict[Any, int] = {}
    for shard in shards:
        for k, rows in _group(shard, key).items():
            keys.setdefault(k, key_of(rows[0], key))
            widths.setdefault(k, len(values_of(rows[0], key)))
            partials.setdefault(k, []).append(_fold(fn, [_value(values_of(r, key)) for r in rows]))
    out = []
    for k, parts in partials.items():
        out.append(keys[k] + _as_fields(_fold_partials(fn, parts), widths[k]))
    return out


def reduce_all(shards: Shards, fn: Reducer) -> list[Row]:
    """One row folding every row (each shard first, then the shards in order); none if empty."""
    parts = [_fold(fn, [_value(r) for r in shard]) for shard in shards if shard]
    if not parts:
        return []
    width = len(next(r for shard in shards for r in shard))
    return [_as_fields(_fold_partials(fn, parts), width)]


# ---------------------------------------------------------------------------------------------
# grouping


def group_by_key(shards: Shards, key: Sequence[int] = (1,)) -> list[Row]:
    """``(key..., [values])`` per key, keys in order of first appearance, values in row order.

    The order of keys is the output order when everything lands in one shard; otherwise
    compare as a multiset.
    """
    groups = _group(rows_of(shards), key)
    return [
        (*key_of(rows[0], key), [_value(values_of(r, key)) for r in rows])
        for rows in groups.values()
    ]


def distinct(shards: Shards, key: Sequence[int] | None = None) -> list[Row]:
    """The first row of each distinct key (all fields when ``key`` is None), key fields first.

    In order of first appearance (the output order when everything lands in one shard).
    """
    if not key:
        seen: dict[Any, Row] = {}
        for row in rows_of(shards):
            seen.setdefault(_hashable(row), row)
        return list(seen.values())
    groups = _group(rows_of(shards), key)
    return [key_first(rows[0], key) for rows in groups.values()]


# ---------------------------------------------------------------------------------------------
# ordering


def _rank(value: Any) -> int:
    if value is None:
        return 2
    if isinstance(value, float) and math.isnan(value):
        return 1
    return 0


def _compare(a: Row, b: Row, order: OrderSpec) -> int:
    for field, descending in order:
        x, y = a[field - 1], b[field - 1]
        rx, ry = _rank(x), _rank(y)
        if rx != ry:
            return -1 if rx < ry else 1  # NaN and null go last whatever the direction
        if rx:
            continue
        if x == y:
            continue
        less = x < y
        if descending:
            less = not less
        return -1 if less else 1
    return 0


def sort_rows(rows: Iterable[Row], order: OrderSpec) -> list[Row]:
    """A stable sort: nulls last in both directions, NaN just before them."""
    return sorted(rows, key=functools.cmp_to_key(lambda a, b: _compare(a, b, order)))


def is_sorted(rows: Sequence[Row], order: OrderSpec) -> bool:
    return all(_compare(a, b, order) <= 0 for a, b in itertools.pairwise(rows))


def top(shards: Shards, n: int, order: OrderSpec) -> list[Row]:
    """The first ``n`` rows of the stable sort, in order."""
    return sort_rows(rows_of(shards), order)[:n]


def limit(shards: Shards, n: int, offset: int = 0) -> list[Row]:
    """``n`` rows after skipping ``offset``, taking the shards in order."""
    return rows_of(shards)[offset : offset + n]


# ---------------------------------------------------------------------------------------------
# joins


def join(
    left: Shards,
    right: Shards,
    on: Sequence[int] = (1,),
    how: str = "inner",
    *,
    widths: tuple[int, int] | None = None,
) -> list[Row]:
    """``(key..., left values..., right values...)``; ``how``: inner, left_outer,
    right_outer or full_outer (the missing side padded with None).

    Left rows in order, each with its matches in right order (or padded), then the
    unmatched right rows in order. Null keys (any key field None) never match. ``widths``
    gives the sides' field counts when a side may have no rows.
    """
    lrows, rrows = rows_of(left), rows_of(right)
    if widths is None:
        widths = (len(lrows[0]) if lrows else len(on), len(rrows[0]) if rrows else len(on))
    lpad = (None,) * (widths[0] - len(on))
    rpad = (None,) * (widths[1] - len(on))
    index: dict[Any, list[int]] = {}
    for i, r in enumerate(rrows):
        k = key_of(r, on)
        if all(v is not None for v in k):
            index.setdefault(_hashable(k), []).append(i)
    matched: set[int] = set()
    out: list[Row] = []
    for lrow in lrows:
        k = key_of(lrow, on)
        hits = index.get(_hashable(k), []) if all(v is not None for v in k) else []
        for i in hits:
            matched.add(i)
            out.append(k + values_of(lrow, on) + values_of(rrows[i], on))
        if not hits and how in ("left_outer", "full_outer"):
            out.append(k + values_of(lrow, on) + rpad)
    if how in ("right_outer", "full_outer"):
        for i, rrow in enumerate(rrows):
            if i not in matched:
                out.append(key_of(rrow, on) + lpad + values_of(rrow, on))
    return out


def co_group(left: Shards, right: Shards, on: Sequence[int] = (1,)) -> list[Row]:
    """``(key..., [left values], [right values])`` for every key of either side (a multiset;
    each list in row order)."""
    lgroups = _group(rows_of(left), on)
    rgroups = _group(rows_of(right), on)
    out = []
    for k in list(lgroups) + [k for k in rgroups if k not in lgroups]:
        rows = lgroups.get(k) or rgroups[k]
        lvalues = [_value(values_of(r, on)) for r in lgroups.get(k, [])]
        rvalues = [_value(values_of(r, on)) for r in rgroups.get(k, [])]
        out.append((*key_of(rows[0], on), lvalues, rvalues))
    return out


# ---------------------------------------------------------------------------------------------
# moving shards


def partition_groups(shards: Shards, key: Sequence[int] = (1,)) -> list[Row]:
    """What ``partition`` must keep: the rows, key first (a multiset)."""
    return [key_first(r, key) for r in rows_of(shards)]


def union(*datasets: Shards, ordered: bool = False) -> Shards:
    """The inputs' shards side by side, or (``ordered``) one shard of all rows in order."""
    shards = [list(s) for d in datasets for s in d]
    if ordered:
        return [rows_of(shards)]
    return shards


def broadcast(shards: Shards, n: int) -> Shards:
    return [rows_of(shards) for _ in range(n)]


def _compositions(m: int, n: int) -> Iterator[list[int]]:
    """Every way to cut ``m`` consecutive shards into ``n`` groups (groups may be empty)."""
    for cuts in itertools.combinations_with_replacement(range(m + 1), n - 1):
        bounds = [0, *cuts, m]
        yield [bounds[i + 1] - bounds[i] for i in range(n)]


def merge_sorted_candidates(shards: Shards, n: int, order: OrderSpec) -> Iterator[Shards]:
    """Every result ``merge_sorted_to(n)`` may give for sorted ``shards``: consecutive shards
    grouped into ``n``, each group merged stably (earlier shard first on ties)."""
    merged: dict[tuple[int, int], list[Row]] = {}
    for sizes in _compositions(len(shards), n):
        out: Shards = []
        start = 0
        for size in sizes:
            span = (start, start + size)
            if span not in merged:
                merged[span] = sort_rows(rows_of(shards[span[0] : span[1]]), order)
            out.append(merged[span])
            start += size
        yield out


def round_robin_sizes(total: int, n: int) -> list[int]:
    """Shard sizes when ``total`` rows of one shard are dealt over ``n`` shards in turn."""
    return sorted(total // n + (1 if i < total % n else 0) for i in range(n))
