"""The field names of a file source, known before anything runs.

Build-time checks (``select("age")``, ``order_by("city")``) use them, and a projection that
names a column the files do not have fails here, before the run, with the known fields.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(p, "w").write("name,age,city\\nann,31,Oslo\\n")
>>> spec = FileSpec("csv", p, header=True, columns=("city", "name"))
>>> names_at_build(spec, list_files(spec))
('city', 'name')
>>> spec = FileSpec("csv", p, columns=(3, 1))
>>> names_at_build(spec, list_files(spec))
('_1', '_2')
"""

from __future__ import annotations

from collections.abc import Sequence

from gleamnb.files.listing import FileInfo, list_files
from gleamnb.files.spec import FileSpec
from gleamnb.plan.fields import renumber
from gleamnb.scan.columnar import schema_names
from gleamnb.scan.meta import csv_meta
from gleamnb.scan.projection import project

__all__ = ["names_at_build"]


def names_at_build(
    spec: FileSpec, files: Sequence[FileInfo] | None = None
) -> tuple[str, ...] | None:
    """The output field names of ``spec``, or None when they are only known at run time.

    txt gives ``("_1",)``; csv/tsv ``names=``, else the header (or ``_1.._n`` from the first
    line) of the first non-empty file; parquet/orc the first file's schema; jsonl the
    projected names, else None. Names are given after projection. ``files=None`` lists them
    with :func:`list_files`.

    Raises
    ------
    FieldError
        ``columns=`` or ``types=`` names a column, or a position, that the file lacks.
    ArgumentError
        ``names=`` gives another number of names than that file has columns.
    MalformedInputError
        That file's header names a column twice (and no ``names=`` replaces it).
    """
    if spec.format == "txt":
        return ("_1",)
    if spec.format == "jsonl":
        return tuple(renumber([str(c) for c in spec.columns])) if spec.columns else None
    files = list_files(spec) if files is None else files
    if not files:
        return None
    if spec.format in ("parquet", "orc"):
        path = files[0].path
        return tuple(project(spec, schema_names(spec, path), path)[1])
    for f in files:
        if f.size == 0:
            continue
        meta = csv_meta(spec, f.path)
        if meta.names is not None:
            return tuple(project(spec, meta.names, f.path)[1])
    return None
