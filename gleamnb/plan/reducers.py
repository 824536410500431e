"""Reduce functions: a known aggregate (vectorized) and/or a Python ``fn(a, b)``.

A :class:`Reducer` is vocabulary both sides share: the logical steps hold one
(``reduce_by_key``, ``reduce``), and the runtime's aggregate operators run it.

Examples
--------
>>> as_reducer("sum").agg, as_reducer(max).agg, as_reducer(lambda a, b: a).agg
('sum', 'max', None)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gleamnb.errors import ArgumentError

__all__ = ["VECTOR_AGGS", "Reducer", "as_reducer", "merging"]

VECTOR_AGGS = ("sum", "count", "min", "max", "first", "last")


@dataclass(frozen=True, eq=False)
class Reducer:
    """A reduce function: a known aggregate (vectorized) and/or a Python ``fn(a, b)``.

    ``agg`` is used when the value fields are of a type the aggregate handles; ``fn`` is the
    fallback (and the only path when ``agg`` is None). An aggregate given by name applies to
    each value field on its own (``"sum"`` sums every value field); one recognised from a
    Python function (``operator.add``, ``min``, ``max``) only when there is one value field,
    since on tuples those functions act on the whole tuple.
    """

    agg: str | None
    fn: Callable[[Any, Any], Any] | None
    per_field: bool = True

    def agg_for(self, value_fields: int) -> str | None:
        """The vectorized aggregate to use for rows with ``value_fields`` value fields."""
        if self.agg is None or (value_fields > 1 and not self.per_field):
            return None
        return self.agg

    def describe(self) -> str:
        if self.agg is not None:
            return self.agg
        return getattr(self.fn, "__name__", "fn")


_KNOWN_FUNCTIONS: dict[Any, str] = {operator.add: "sum", min: "min", max: "max"}


def _first(a: Any, b: Any) -> Any:
    return a


def _last(a: Any, b: Any) -> Any:
    return b


def as_reducer(fn: Callable[[Any, Any], Any] | str) -> Reducer:
    """Recognise vectorizable reducers.

    >>> as_reducer("sum").agg, as_reducer(operator.add).agg, as_reducer(lambda a, b: a).agg
    ('sum', 'sum', None)
    """
    if isinstance(fn, str):
        if fn not in VECTOR_AGGS:
            raise ArgumentError(
                f"unknown reducer {fn!r}",
                hint=f"use one of {', '.join(VECTOR_AGGS)} or a function f(a, b)",
            )
        py = {"sum": operator.add, "min": min, "max": max, "first": _first, "last": _last}
        return Reducer(fn, py.get(fn))
    if not callable(fn):
        raise ArgumentError(
            f"a reducer is a function f(a, b) or an aggregate name, not {fn!r}",
            hint="e.g. reduce_by_key(operator.add) or reduce_by_key('sum')",
        )
    try:
        agg = _KNOWN_FUNCTIONS.get(fn)
    except TypeError:  # unhashable callable
        agg = None
    return Reducer(agg, fn, per_field=False)


def merging(reducer: Reducer) -> Reducer:
    """The reducer that merges partial results of ``reducer``: counts are summed.

    >>> merging(Reducer("count", None)).agg
    'sum'
    """
    if reducer.agg == "count":
        return Reducer("sum", operator.add)
    return reducer
