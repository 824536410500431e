"""Resolve fields (1-based positions or names) to column indexes.

Used at build time when names are known, and again at run time against each batch's schema.

Examples
--------
>>> resolve_field(2, ["word", "count"])
1
>>> resolve_field("count", ["word", "count"])
1
>>> resolve_field(3, ["word", "count"], step="sort")
Traceback (most recent call last):
...
gleamnb.errors.FieldError: field 3 is out of range: the data has 2 fields
  where: step 'sort'
  fix: fields are numbered from 1 to 2 (word, count)
"""

from __future__ import annotations

from collections.abc import Sequence

from gleamnb.errors import FieldError
from gleamnb.plan.order import FieldRef

__all__ = ["resolve_field", "resolve_fields", "key_first"]


def _known(names: Sequence[str]) -> str:
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return shown


def resolve_field(field: FieldRef, names: Sequence[str], *, step: str | None = None) -> int:
    """0-based index of ``field`` in ``names``; raises :class:`FieldError` with the fix."""
    if isinstance(field, int):
        if 1 <= field <= len(names):
            return field - 1
        raise FieldError(
            f"field {field} is out of range: the data has {len(names)} "
            f"field{'' if len(names) == 1 else 's'}",
            step=step,
            hint=f"fields are numbered from 1 to {len(names)} ({_known(names)})"
            if names
            else "the data has no fields",
        )
    try:
        return list(names).index(field)
    except ValueError:
        raise FieldError(
            f"unknown field {field!r}",
            step=step,
            hint=f"known fields: {_known(names)} (or use a 1-based position)",
        ) from None


def resolve_fields(
    fields: Sequence[FieldRef], names: Sequence[str], *, step: str | None = None
) -> list[int]:
    """0-based indexes of several fields."""
    return [resolve_field(f, names, step=step) for f in fields]


def key_first(key_idx: Sequence[int], width: int) -> list[int]:
    """Column order that puts the key fields first, the rest after in their original order.

    >>> key_first([2], 4)
    [2, 0, 1, 3]
    """
    keys = list(key_idx)
    return keys + [i for i in range(width) if i not in keys]
