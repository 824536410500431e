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
  fix: known fields: name, age (or use a 1-based position)
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from gleamnb.fieldref import FieldRef
from gleamnb.files.spec import FileSpec
from gleamnb.plan.fields import renumber, resolve_field

__all__ = ["project", "column_name", "type_overrides"]


def column_name(key: FieldRef, names: Sequence[str], path: str, what: str = "column") -> str:
    """The file column name that ``key`` (a name or a 1-based position) refers to."""
    return names[resolve_field(key, names, location=path, what=what)]


def project(spec: FileSpec, names: Sequence[str], path: str) -> tuple[list[str] | None, list[str]]:
    """The file columns to read (None: all) and the output field names."""
    if spec.columns is None:
        return None, list(names)
    include = [column_name(c, names, path) for c in spec.columns]
    return include, renumber(include)


def type_overrides(spec: FileSpec, names: Sequence[str], path: str) -> dict[str, pa.DataType]:
    """``spec.types`` keyed by file column name; unknown columns raise :class:`FieldError`."""
    if not spec.types:
        return {}
    return {column_name(k, names, path, what="types column"): t for k, t in spec.types}
