"""Column projection (``columns=``) and type overrides (``types=``) against a file's fields.

Names after a projection follow the data model: real names stay, unnamed fields (``_3``) are
renumbered to their new position, so ``columns=[3, 1]`` of a headerless CSV gives ``_1, _2``.

Examples
--------
>>> spec = FileSpec("csv", "a.csv", columns=(3, 1))
>>> project(spec, ["_1", "_2", "_3"], "a.csv")
(['_3', '_1'], ['_1', '_2'])
>>> project(FileSpec("csv", "a.csv", columns=("city",)), ["name", "age"], "a.csv")
Traceback (most recent call last):
...
gleamnb.errors.FieldError: unknown column 'city' in a.csv
  where: a.csv
  fix: known fields: name, age
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from gleamnb.errors import FieldError
from gleamnb.files.spec import FileSpec
from gleamnb.plan.fields import renumber

__all__ = ["project", "resolve_field", "type_overrides", "known_fields"]


def known_fields(names: Sequence[str], limit: int = 30) -> str:
    """``known fields: a, b, c`` (shortened past ``limit`` names).

    >>> known_fields(["a", "b"])
    'known fields: a, b'
    """
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return f"known fields: {shown}" if names else "the file has no fields"


def resolve_field(key: str | int, names: Sequence[str], path: str, what: str = "column") -> str:
    """The file column name that ``key`` (a name or a 1-based position) refers to."""
    if isinstance(key, int):
        if not 1 <= key <= len(names):
            raise FieldError(
                f"{what} {key} is out of range: {path} has {len(names)} fields",
                location=path,
                hint=known_fields(list(names)) + " (positions are 1-based)",
            )
        return names[key - 1]
    if key not in names:
        raise FieldError(
            f"unknown {what} {key!r} in {path}", location=path, hint=known_fields(list(names))
        )
    return key


def project(spec: FileSpec, names: Sequence[str], path: str) -> tuple[list[str] | None, list[str]]:
    """The file columns to read (None: all) and the output field names."""
    if spec.columns is None:
        return None, list(names)
    include = [resolve_field(c, names, path) for c in spec.columns]
    return include, renumber(include)


def type_overrides(spec: FileSpec, names: Sequence[str], path: str) -> dict[str, pa.DataType]:
    """``spec.types`` keyed by file column name; unknown columns raise :class:`FieldError`."""
    if not spec.types:
        return {}
    return {resolve_field(k, names, path, what="types column"): t for k, t in spec.types}
