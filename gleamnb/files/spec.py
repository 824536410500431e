"""What a file source reads: :class:`FileSpec`, a frozen, picklable description.

A spec names the format, the path (a file, a folder, a glob, or a tuple of those), the shard
count and the format's options. It holds no open files and no file listing: the listing and
the per-file facts (CSV header, inferred types) are gathered when a run is planned.

Examples
--------
>>> spec = FileSpec("csv", "/data/*.csv", shards=4, header=True, columns=("city", "age"))
>>> spec.describe()
'csv /data/*.csv (shards=4, header, columns=city,age)'
>>> FileSpec("tsv", "counts.tsv", names=("word", "n")).describe()
'tsv counts.tsv (names=word,n)'
>>> spec.sep
','
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from gleamnb.errors import ArgumentError
from gleamnb.fieldref import FieldRef, check_field

__all__ = [
    "FORMATS",
    "TEXT_ERRORS",
    "FileSpec",
    "to_arrow_type",
    "check_shards",
]

FORMATS = ("txt", "csv", "tsv", "parquet", "orc", "jsonl")
TEXT_ERRORS = ("strict", "replace", "ignore")

_PY_TYPES: dict[Any, pa.DataType] = {
    int: pa.int64(),
    float: pa.float64(),
    str: pa.string(),
    bool: pa.bool_(),
    bytes: pa.binary(),
}


def to_arrow_type(value: Any, *, field: str | int = "?") -> pa.DataType:
    """The Arrow type for a Python type, a pyarrow type or a type name.

    >>> to_arrow_type(int), to_arrow_type(pa.float32()), to_arrow_type("string")
    (DataType(int64), DataType(float), DataType(string))
    """
    if isinstance(value, pa.DataType):
        return value
    if isinstance(value, type) and value in _PY_TYPES:
        return _PY_TYPES[value]
    if isinstance(value, str):
        try:
            return pa.type_for_alias(value)
        except (ValueError, KeyError):
            pass
    raise ArgumentError(
        f"types[{field!r}] = {value!r} is not a column type",
        hint="use int, float, str, bool, bytes, a pyarrow type such as pa.int32(), "
        "or a type name such as 'int64'",
    )


def check_shards(shards: Any) -> int | None:
    """Validate a shard count: None (automatic) or an int >= 1.

    >>> check_shards(3)
    3
    >>> check_shards(0)
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: shards must be an integer >= 1, got 0
      fix: pass shards=None (one shard per file or per 64 MiB of text) or a count such as shards=4
    """
    if shards is None:
        return None
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ArgumentError(
            f"shards must be an integer >= 1, got {shards!r}",
            hint="pass shards=None (one shard per file or per 64 MiB of text) "
            "or a count such as shards=4",
        )
    return int(shards)


def _norm_path(path: Any) -> str | tuple[str, ...]:
    if isinstance(path, (list, tuple)):
        if not path:
            raise ArgumentError(
                "the list of input paths is empty", hint="pass at least one file, folder or glob"
            )
        return tuple(_one_path(p) for p in path)
    return _one_path(path)


def _one_path(path: Any) -> str:
    try:
        text = os.fspath(path)
    except TypeError:
        raise ArgumentError(
            f"an input path must be a str or os.PathLike, not {type(path).__name__}",
            hint="pass a file, a folder, a glob such as 'data/*.csv', or a list of those",
        ) from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text:
        raise ArgumentError("an input path is empty", hint="pass a file, a folder or a glob")
    return text


def _norm_columns(columns: Any, fmt: str) -> tuple[FieldRef, ...] | None:
    if columns is None:
        return None
    if isinstance(columns, (str, int)):
        columns = (columns,)
    out: list[FieldRef] = []
    for c in columns:
        check_field(c, "columns")
        if isinstance(c, int) and fmt == "jsonl":
            raise ArgumentError(
                f"jsonl columns are named, not numbered (got {c})",
                hint="name the JSON fields, e.g. columns=['id', 'name']",
            )
        if c in out:
            raise ArgumentError(
                f"column {c!r} is projected twice", hint="name each column once in columns="
            )
        out.append(c)
    if not out:
        raise ArgumentError(
            "columns is empty", hint="leave columns=None to read every column, or name some"
        )
    return tuple(out)


def _norm_names(names: Any, fmt: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    if fmt not in ("csv", "tsv"):
        raise ArgumentError(
            f"names= is for csv and tsv sources, not {fmt}",
            hint="rename fields after reading, e.g. with map or select",
        )
    hint = "give one name per column of the files, e.g. names=['city', 'population']"
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise ArgumentError(f"names must be a list of column names, got {names!r}", hint=hint)
    out = tuple(names)
    if not out:
        raise ArgumentError("names is empty", hint=hint + ", or leave names=None")
    for i, name in enumerate(out):
        if not isinstance(name, str) or not name:
            raise ArgumentError(f"names must be non-empty strings, got {name!r}", hint=hint)
        if name in out[:i]:
            raise ArgumentError(
                f"names= gives the name {name!r} twice",
                hint="give each column its own name: fields are looked up by name",
            )
    return out


def _norm_types(types: Any) -> tuple[tuple[FieldRef, pa.DataType], ...] | None:
    if types is None:
        return None
    items = types.items() if isinstance(types, Mapping) else types
    out: list[tuple[FieldRef, pa.DataType]] = []
    try:
        pairs = list(items)
    except TypeError:
        raise ArgumentError(
            f"types must be a dict of column -> type, not {type(types).__name__}",
            hint="e.g. types={'age': int, 'zip': str}",
        ) from None
    for pair in pairs:
        key, value = pair
        check_field(key, "types")
        out.append((key, to_arrow_type(value, field=key)))
    return tuple(out) or None


@dataclass(frozen=True)
class FileSpec:
    """A file source: format, path(s), shard count and format options.

    Parameters
    ----------
    format
        One of ``txt``, ``csv``, ``tsv``, ``parquet``, ``orc``, ``jsonl``.
    path
        A file, a folder, a glob (``*``, ``?``, ``**``), or a tuple of those.
    shards
        The shard count, or None for one per file (a large plain text file: one per 64 MiB).
    errors
        txt/csv/tsv/jsonl: how to decode bytes that are not UTF-8: ``strict`` (fail, naming the
        file and byte offset), ``replace`` (U+FFFD) or ``ignore`` (drop them).
    header
        csv/tsv: the first line of each file holds the column names.
    names
        csv/tsv: the column names, one per column of each file (the header's, if any, are
        not used); ``columns=`` and ``types=`` refer to them.
    delimiter
        csv/tsv: the field separator; None means ``,`` for csv and a tab for tsv.
    columns
        csv/tsv/parquet/orc/jsonl: the columns to read (names or 1-based positions), in order.
    types
        csv/tsv: column types overriding inference, as pairs (column, Arrow type); a dict
        ``{column: type}`` with Python types is accepted and converted.
    newlines_in_values
        csv: quoted values may hold newlines; such files are read whole (never split).

    Examples
    --------
    >>> FileSpec("txt", "/etc/passwd").describe()
    'txt /etc/passwd'
    >>> FileSpec("csv", "a.csv", types={"age": int}).types
    (('age', DataType(int64)),)
    """

    format: str
    path: str | tuple[str, ...]
    shards: int | None = None
    errors: str = "strict"
    header: bool = False
    delimiter: str | None = None
    columns: tuple[FieldRef, ...] | None = None
    types: tuple[tuple[FieldRef, pa.DataType], ...] | None = None
    newlines_in_values: bool = False
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ArgumentError(
                f"unknown file format {self.format!r}",
                hint=f"use one of {', '.join(FORMATS)}",
            )
        set_ = object.__setattr__
        set_(self, "path", _norm_path(self.path))
        try:
            set_(self, "shards", check_shards(self.shards))
        except ArgumentError as err:
            err.message = f"{self.format} source {self.path!r}: {err.message}"
            err.args = (err.message,)
            raise
        if self.errors not in TEXT_ERRORS:
            raise ArgumentError(
                f"errors must be one of {', '.join(TEXT_ERRORS)}, got {self.errors!r}",
                hint='errors="replace" turns bad bytes into U+FFFD, "ignore" drops them',
            )
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str)
            or len(self.delimiter) != 1
            or self.delimiter in '\r\n"'
        ):
            raise ArgumentError(
                f"delimiter must be one character other than a quote or newline, "
                f"got {self.delimiter!r}",
                hint="e.g. delimiter=';' or delimiter='|'",
            )
        set_(self, "columns", _norm_columns(self.columns, self.format))
        set_(self, "types", _norm_types(self.types))
        set_(self, "names", _norm_names(self.names, self.format))
        set_(self, "header", bool(self.header))
        set_(self, "newlines_in_values", bool(self.newlines_in_values))

    @property
    def paths(self) -> tuple[str, ...]:
        """The path(s) as a tuple."""
        return self.path if isinstance(self.path, tuple) else (self.path,)

    @property
    def sep(self) -> str:
        """The field delimiter of a csv/tsv source."""
        if self.delimiter is not None:
            return self.delimiter
        return "\t" if self.format == "tsv" else ","

    @property
    def is_text(self) -> bool:
        """True for the line-oriented formats (txt, csv, tsv, jsonl)."""
        return self.format in ("txt", "csv", "tsv", "jsonl")

    def describe(self) -> str:
        """A short text such as ``txt /data/*.txt (shards=4)``."""
        where = ", ".join(self.paths)
        opts: list[str] = []
        if self.shards is not None:
            opts.append(f"shards={self.shards}")
        if self.header:
            opts.append("header")
        if self.names is not None:
            opts.append("names=" + ",".join(self.names))
        if self.columns is not None:
            opts.append("columns=" + ",".join(map(str, self.columns)))
        text = f"{self.format} {where}"
        return f"{text} ({', '.join(opts)})" if opts else text
