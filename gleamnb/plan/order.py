"""Sort orders and key specifications: ``gl.order_by(2, descending=True).then(1)``.

Fields are 1-based positions or names. A bare int or name means ascending on that field.

Examples
--------
>>> order_by(2, descending=True).then(1)
order_by(2, descending=True).then(1)
>>> as_order(3).keys
(SortKey(field=3, descending=False),)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gleamnb.errors import ArgumentError
from gleamnb.fieldref import FieldRef, check_field

__all__ = ["SortKey", "Order", "order_by", "as_order", "as_fields"]


@dataclass(frozen=True)
class SortKey:
    """One field of an order, ascending unless ``descending``."""

    field: FieldRef
    descending: bool = False


@dataclass(frozen=True)
class Order:
    """A sort order over one or more fields. Build it with :func:`order_by`."""

    keys: tuple[SortKey, ...]

    def then(self, field: FieldRef, *, descending: bool = False) -> Order:
        """Add a tie-breaking field.

        >>> order_by(1).then("name", descending=True).keys[1]
        SortKey(field='name', descending=True)
        """
        return Order((*self.keys, SortKey(check_field(field, "then"), descending)))

    @property
    def fields(self) -> tuple[FieldRef, ...]:
        return tuple(k.field for k in self.keys)

    def __repr__(self) -> str:
        first, *rest = self.keys
        text = f"order_by({first.field!r}" + (", descending=True)" if first.descending else ")")
        for k in rest:
            text += f".then({k.field!r}" + (", descending=True)" if k.descending else ")")
        return text

    def describe(self) -> str:
        """Short text for plans: ``2 desc, 1``."""
        return ", ".join(f"{k.field}" + (" desc" if k.descending else "") for k in self.keys)


def order_by(field: FieldRef, *more: FieldRef, descending: bool = False) -> Order:
    """A sort order: ascending (or all ``descending``) on ``field``, then on ``more``.

    Parameters
    ----------
    field, more
        1-based positions or names.
    descending
        Sort every given field in descending order.

    Examples
    --------
    >>> import gleamnb as gl
    >>> gl.Flow().ints([3, 1, 2]).sort(gl.order_by(1, descending=True)).collect()
    [(3,), (2,), (1,)]
    """
    fields = (field, *more)
    return Order(tuple(SortKey(check_field(f, "order_by"), descending) for f in fields))


def as_order(order: Order | FieldRef | Sequence[FieldRef]) -> Order:
    """Accept an :class:`Order`, a bare field, or a sequence of fields (all ascending)."""
    if isinstance(order, Order):
        return order
    if isinstance(order, (list, tuple)):
        if not order:
            raise ArgumentError("an order needs at least one field", hint="e.g. order_by(1)")
        return order_by(*order)
    return order_by(order)  # type: ignore[arg-type]


def as_fields(key: FieldRef | Sequence[FieldRef] | Order | None, what: str) -> tuple[FieldRef, ...]:
    """Normalise a key argument (one field, several, or an order) to a tuple of fields."""
    if key is None:
        return ()
    if isinstance(key, Order):
        return key.fields
    if isinstance(key, (list, tuple)):
        if not key:
            raise ArgumentError(f"{what}: the key needs at least one field", hint="e.g. key=1")
        return tuple(check_field(f, what) for f in key)
    return (check_field(key, what),)
