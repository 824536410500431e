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
  fix: positions are 1-based; known fields: word, count
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gleamnb.errors import FieldError
from gleamnb.fieldref import FieldRef

__all__ = [
    "positional_names",
    "is_positional",
    "renumber",
    "known_fields",
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


def known_fields(names: Sequence[str], limit: int = 30) -> str:
    """``known fields: a, b, c`` (shortened past ``limit`` names).

    >>> known_fields(["a", "b"]), known_fields([])
    ('known fields: a, b', 'there are no fields')
    """
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return f"known fields: {shown}" if names else "there are no fields"


def resolve_field(
    field: FieldRef,
    names: Sequence[str],
    *,
    step: str | None = None,
    location: str | None = None,
    what: str = "field",
) -> int:
    """0-based index of ``field`` in ``names``; raises :class:`FieldError` with the fix.

    ``step`` or ``location`` (a file) say where the names come from; ``what`` names the
    reference in the message (``column`` for a file source's ``columns=``).
    """
    if isinstance(field, int):
        if 1 <= field <= len(names):
            return field - 1
        raise FieldError(
            f"{what} {field} is out of range: {location or 'the data'} has {len(names)} "
            f"field{'' if len(names) == 1 else 's'}",
            step=step,
            location=location,
            hint=f"positions are 1-based; {known_fields(names)}",
        )
    try:
        return list(names).index(field)
    except ValueError:
        raise FieldError(
            f"unknown {what} {field!r}" + (f" in {location}" if location else ""),
            step=step,
            location=location,
            hint=f"{known_fields(names)} (or use a 1-based position)",
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
