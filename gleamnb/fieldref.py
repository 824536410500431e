"""Field references: a field is a 1-based position (int) or a name (str).

Every place a user names a field checks its form here, once: keys and orders
(:mod:`gleamnb.plan.order`), and a file source's ``columns=`` and ``types=``
(:mod:`gleamnb.files.spec`). Resolving a reference against the names a dataset or file has is
:func:`gleamnb.plan.fields.resolve_field`.

Examples
--------
>>> check_field(2, "sort"), check_field("city", "select")
(2, 'city')
>>> check_field(0, "select")
Traceback (most recent call last):
...
gleamnb.errors.ArgumentError: select: field positions start at 1, got 0
  fix: positions are 1-based: use 1 for the first field (as in SQL ORDER BY 1)
"""

from __future__ import annotations

from gleamnb.errors import ArgumentError

__all__ = ["FieldRef", "check_field"]

FieldRef = int | str


def check_field(field: object, what: str) -> FieldRef:
    """``field`` if it is a field reference, else an :class:`ArgumentError` naming ``what``.

    >>> check_field(True, "columns")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: columns: a field is a 1-based position (int) or a name ...
    """
    if isinstance(field, bool) or not isinstance(field, (int, str)):
        raise ArgumentError(
            f"{what}: a field is a 1-based position (int) or a name (str), not {field!r}",
            hint="write e.g. 1 for the first field, or 'word' for a named field",
        )
    if isinstance(field, int) and field < 1:
        raise ArgumentError(
            f"{what}: field positions start at 1, got {field}",
            hint="positions are 1-based: use 1 for the first field (as in SQL ORDER BY 1)",
        )
    return field
