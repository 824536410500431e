"""File sources for ``Flow.read``: ``txt``, ``csv``, ``tsv``, ``parquet``, ``orc``, ``jsonl``.

Each returns a :class:`~gleamnb.files.spec.FileSpec`, a description of what to read;
nothing is opened until the flow is built and run. A path is a file, a folder (its files,
skipping names that start with ``.`` or ``_``), a glob (``*``, ``?``, ``**``), or a list of
those; ``.gz``, ``.bz2`` and ``.zst`` files are decompressed. Without ``shards=``, each file is
a shard and a large plain text file one shard per 64 MiB: one big file still runs in parallel.

Examples
--------
>>> txt("logs/*.txt", shards=4).describe()
'txt logs/*.txt (shards=4)'
>>> csv("people.csv", header=True, columns=["name", "age"]).columns
('name', 'age')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from gleamnb.files.spec import FileSpec

__all__ = ["txt", "csv", "tsv", "parquet", "orc", "jsonl"]

PathArg: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"
Columns: TypeAlias = "Sequence[str | int] | None"
Names: TypeAlias = "Sequence[str] | None"
Types: TypeAlias = "Mapping[str | int, Any] | None"


def _path(path: Any) -> Any:
    if isinstance(path, (list, tuple)):
        return tuple(path)
    return path


def _columns(columns: Any) -> Any:
    if columns is None or isinstance(columns, (str, int)):
        return columns
    return tuple(columns)


def txt(path: PathArg, shards: int | None = None, *, errors: str = "strict") -> FileSpec:
    """Read text files: one row ``(line,)`` per line, in a string field ``_1``.

    Parameters
    ----------
    path
        A file, folder, glob, or a list of those.
    shards
        The shard count; None for one per file (one per 64 MiB of a large plain file).
    errors
        How to decode bytes that are not UTF-8: ``"strict"`` (fail, naming the file and
        byte offset), ``"replace"`` (U+FFFD) or ``"ignore"`` (drop them).

    Examples
    --------
    >>> txt("/etc/passwd", shards=2)  # doctest: +ELLIPSIS
    FileSpec(format='txt', path='/etc/passwd', shards=2, errors='strict', ...)
    """
    return FileSpec("txt", _path(path), shards, errors=errors)


def csv(
    path: PathArg,
    shards: int | None = None,
    *,
    header: bool = False,
    names: Names = None,
    delimiter: str = ",",
    columns: Columns = None,
    types: Types = None,
    newlines_in_values: bool = False,
    errors: str = "strict",
) -> FileSpec:
    """Read CSV files: one row per line, fields typed by inference (ints stay ints).

    Parameters
    ----------
    path
        A file, folder, glob, or a list of those.
    shards
        The shard count; None for one per file (one per 64 MiB of a large plain file).
    header
        The first line of each file holds the field names; else fields are ``_1.._n``.
        A header that gives one name twice is an error (pass ``names=`` instead).
    names
        The field names, one per column of each file (a file with another column count is
        an error). With ``header=True`` they replace the header's names (the header line is
        still skipped); ``columns=`` and ``types=`` then refer to these names.
    delimiter
        The field separator, one character.
    columns
        Read only these columns, in this order: names or 1-based positions. The projection
        is pushed into the reader. Unnamed projected fields are renumbered ``_1.._k``.
    types
        Column types overriding inference (types are inferred once per file from its first
        MiB): ``{"zip": str, "price": float}``; keys are names or 1-based positions.
    newlines_in_values
        Quoted values may hold newlines; such files are read whole, not by byte range.
    errors
        How to decode bytes that are not UTF-8: ``"strict"`` (fail, naming the file and
        byte offset), ``"replace"`` (U+FFFD) or ``"ignore"`` (drop them). Under
        ``"strict"``, a ``bytes`` column in ``types=`` keeps the raw bytes of its values.

    Examples
    --------
    >>> spec = csv("sales/*.csv", header=True, columns=["region", "amount"],
    ...            types={"amount": float})
    >>> spec.describe()
    'csv sales/*.csv (header, columns=region,amount)'

    A headerless file named on reading:

    >>> import gleamnb as gl, os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "people.csv")
    >>> _ = open(p, "w").write("ann,31\\nbob,42\\n")
    >>> people = gl.Flow().read(csv(p, names=["name", "age"]))
    >>> people.names
    ('name', 'age')
    >>> people.select("age").collect()
    [(31,), (42,)]
    """
    return FileSpec(
        "csv",
        _path(path),
        shards,
        header=header,
        names=names,
        delimiter=delimiter,
        columns=_columns(columns),
        types=types,
        newlines_in_values=newlines_in_values,
        errors=errors,
    )


def tsv(
    path: PathArg,
    shards: int | None = None,
    *,
    header: bool = False,
    names: Names = None,
    columns: Columns = None,
    types: Types = None,
    errors: str = "strict",
) -> FileSpec:
    """Read tab-separated files (no quoting: a value cannot hold a tab or newline).

    Parameters are those of :func:`csv`.

    Examples
    --------
    >>> tsv("counts.tsv", columns=[2, 1]).sep
    '\\t'
    >>> tsv("counts.tsv", names=["word", "n"], columns=["n"]).describe()
    'tsv counts.tsv (names=word,n, columns=n)'
    """
    return FileSpec(
        "tsv",
        _path(path),
        shards,
        header=header,
        names=names,
        columns=_columns(columns),
        types=types,
        errors=errors,
    )


def parquet(path: PathArg, shards: int | None = None, *, columns: Columns = None) -> FileSpec:
    """Read parquet files; more shards than files split them by row groups.

    Parameters
    ----------
    path
        A file, folder, glob, or a list of those.
    shards
        The shard count; None for one per file.
    columns
        Read only these columns (names or 1-based positions), in this order.

    Examples
    --------
    >>> parquet("out/", columns=["word", "count"]).describe()
    'parquet out/ (columns=word,count)'
    """
    return FileSpec("parquet", _path(path), shards, columns=_columns(columns))


def orc(path: PathArg, shards: int | None = None, *, columns: Columns = None) -> FileSpec:
    """Read ORC files; more shards than files split them by stripes.

    Parameters are those of :func:`parquet`.

    Examples
    --------
    >>> orc("events.orc", shards=8).shards
    8
    """
    return FileSpec("orc", _path(path), shards, columns=_columns(columns))


def jsonl(
    path: PathArg, shards: int | None = None, *, columns: Columns = None, errors: str = "strict"
) -> FileSpec:
    """Read JSON lines files: one JSON object per line, one field per key.

    The fields are the keys found in the first MiB of each file, in the order they first
    appear; a key missing on a line, or missing from a whole file, reads as None. A key that
    no file holds in its first MiB is an error naming the file, line and byte of a line that
    holds it: name every field with ``columns=``, or put a line holding every key first.

    Parameters
    ----------
    path
        A file, folder, glob, or a list of those.
    shards
        The shard count; None for one per file (one per 64 MiB of a large plain file).
    columns
        Read only these keys, in this order, wherever in the files they appear (missing keys
        read as None; keys not named are skipped).
    errors
        How to decode bytes that are not UTF-8: ``"strict"`` (fail, naming the file and
        byte offset), ``"replace"`` (U+FFFD) or ``"ignore"`` (drop them).

    Examples
    --------
    >>> jsonl("events.jsonl.gz", columns=["user", "ts"]).columns
    ('user', 'ts')
    """
    return FileSpec("jsonl", _path(path), shards, columns=_columns(columns), errors=errors)
