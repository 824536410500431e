"""Fields: how unnamed fields are named, and field references resolved to column indexes.

A row's fields are addressed by 1-based position or by name. Unnamed fields are called ``_1``,
``_2``, ...; after a reorder they are renumbered to their new position, while real names (CSV
headers, Parquet, ``map_batches``) are kept. References are resolved at build time when names
are known, and again at run time against each batch's schema.

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

import re
from collections.abc import Sequence

from gleamnb.errors import FieldError
from gleamnb.plan.order import FieldRef

__all__ = [
    "positional_names",
    "is_positional",
    "renumber",
    "resolve_field",
    "resolve_fields",
    "key_first",
]

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
