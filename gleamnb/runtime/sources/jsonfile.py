"""The JSON lines reader, on pyarrow.json.

A byte range is read in newline-aligned chunks; each chunk's UTF-8 is checked
(:func:`~gleamnb.files.utf8.checked_utf8`, ``errors=`` as for txt), then it is parsed
with the schema inferred from the files' starts (so ranges agree on types), and parsed again
with plain inference when a value does not fit it (an int field that later holds 2.5 becomes a
float field). A float field holding an integer beyond 64 bits keeps exact Python ints
(:func:`~gleamnb.runtime.sources.exact_ints.jsonl_exact_ints`). The fields are those of the
files' starts (a field null on every line there included), in the order of their first
appearance; a line lacking one reads None there. A key
that is none of them is an error naming its line (set comparison once per chunk), so every
range of every file gives rows of one width; ``columns=`` names the fields instead. A line that
is not a JSON object, or a field whose JSON type changes within a chunk, is reported with its
file and line number, found by Python's json module on the error path only.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.jsonl")
>>> _ = open(p, "w").write('{"id": 1, "no": null, "tag": "x"}\\n{"id": 2, "tag": null}\\n')
>>> from gleamnb.scan.meta import jsonl_meta
>>> spec = FileSpec("jsonl", p)
>>> [b.to_pydict() for b in read_jsonl(spec, p, 0, None, jsonl_meta(spec, p))]
[{'id': [1, 2], 'no': [None, None], 'tag': ['x', None]}]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pjson

from gleamnb.errors import MalformedInputError, truncate
from gleamnb.files.chunks import iter_chunks, keep_bom, lines_before
from gleamnb.files.compression import compression_of
from gleamnb.files.spec import FileSpec
from gleamnb.files.utf8 import checked_utf8
from gleamnb.plan.fields import renumber
from gleamnb.runtime.sources.exact_ints import jsonl_exact_ints
from gleamnb.runtime.sources.text import BATCH_ROWS
from gleamnb.scan.meta import INFER_BYTES, FileMeta

__all__ = ["read_jsonl"]

_HINT = "each line of a JSON lines file holds one JSON object; fix or remove that line"


def _parse_options(spec: FileSpec, meta: FileMeta | None) -> pjson.ParseOptions | None:
    fields = dict(meta.types) if meta is not None else {}
    if spec.columns is not None:
        wanted = [str(c) for c in spec.columns]
        known = [(c, fields[c]) for c in wanted if c in fields]
        if len(known) == len(wanted):
            return pjson.ParseOptions(
                explicit_schema=pa.schema(known), unexpected_field_behavior="ignore"
            )
        fields = dict(known)
    if not fields:
        return None
    return pjson.ParseOptions(
        explicit_schema=pa.schema(list(fields.items())), unexpected_field_behavior="infer"
    )


def _read(data: bytes, parse: pjson.ParseOptions | None) -> pa.Table:
    opts = pjson.ReadOptions(use_threads=False, block_size=len(data) + 1)
    reader = pa.BufferReader(keep_bom(data))
    return pjson.read_json(reader, read_options=opts, parse_options=parse)


def read_jsonl(
    spec: FileSpec, path: str, start: int, end: int | None, meta: FileMeta | None
) -> Iterator[pa.RecordBatch]:
    """Batches of the JSON objects of ``path`` whose line starts in ``[start, end)``.

    Raises
    ------
    MalformedInputError
        A line is not a JSON object, a field changes JSON type within a chunk, or (without
        ``columns=``) a line holds a key that is not among ``meta.names``.
    """
    parse = _parse_options(spec, meta)
    # None: no field set to hold chunks to (columns= projects; or a file's start could not be
    # parsed, and the range holding it reports why).
    known = None if spec.columns is not None or meta is None else meta.names
    allowed = frozenset(known or ())
    for offset, raw in iter_chunks(path, start, end):
        if not raw.strip():
            continue
        data = checked_utf8(spec, path, offset, raw)
        try:
            table = _read(data, parse)
        except pa.ArrowInvalid:
            try:
                table = _read(data, None)
            except pa.ArrowInvalid as err:
                raise _error(err, path, offset, data) from None
        table = jsonl_exact_ints(table, data)
        if spec.columns is not None:
            table = _project(table, [str(c) for c in spec.columns])
        elif known is not None:
            if not allowed.issuperset(table.column_names):
                raise _new_key_error(path, offset, raw, data, known, table)
            if table.column_names != list(known):
                table = _in_order(table, known)
        if table.num_rows:
            yield from table.to_batches(max_chunksize=BATCH_ROWS)


def _project(table: pa.Table, columns: list[str]) -> pa.Table:
    have = set(table.column_names)
    arrays = [table.column(c) if c in have else pa.nulls(table.num_rows) for c in columns]
    return pa.Table.from_arrays(arrays, names=renumber(columns))


def _in_order(table: pa.Table, known: Sequence[str]) -> pa.Table:
    # Arrow puts the fields it infers (those null at the files' starts) after the given
    # schema's, and leaves out those no line of the chunk holds.
    have = set(table.column_names)
    arrays = [table.column(c) if c in have else pa.nulls(table.num_rows) for c in known]
    return pa.Table.from_arrays(arrays, names=list(known))


def _new_key_error(
    path: str, offset: int, raw: bytes, data: bytes, known: Sequence[str], table: pa.Table
) -> MalformedInputError:
    """An error naming the first line of a chunk that holds a key not among ``known``.

    ``raw`` is the chunk as read from ``offset``, ``data`` the same lines after the UTF-8
    check (``errors="replace"`` may change their lengths, not their number). A line that
    Python's json module cannot read (Arrow takes two objects on one line) is reported as such.
    """
    new = [c for c in table.column_names if c not in set(known)]
    key, index, at, line = new[0], 0, offset, data.split(b"\n", 1)[0]
    pos = offset
    for i, (text, raw_line) in enumerate(zip(data.split(b"\n"), raw.split(b"\n"))):
        try:
            value = _loads(text) if text.strip() else {}
        except ValueError as err:
            return _error(err, path, offset, data)
        hit = [k for k in value if k in new]
        if hit:
            key, index, at, line = hit[0], i, pos, text
            break
        pos += len(raw_line) + 1
    line_no = lines_before(path, offset) + index + 1
    fields = ", ".join(map(repr, known)) or "none"
    unit = " (uncompressed)" if compression_of(path) else ""
    return MalformedInputError(
        f"key {key!r} on line {line_no} of {path} (byte {at}{unit}) is not among the fields "
        f"inferred from the first {INFER_BYTES >> 20} MiB of each file: {truncate(fields)}",
        location=f"{path}:{line_no}",
        row=truncate(line.decode("utf-8", "replace").rstrip("\r")),
        hint="pass columns=[...] naming every field to read, e.g. "
        f"columns={truncate(repr([*known, *new]))}, or put a line holding every key first "
        "in one of the files",
    )


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _loads(line: bytes) -> Any:
    """One line's JSON value as Arrow reads it: a key twice in an object and a U+FEFF before
    the value are errors (Python's json keeps the last value, and takes bytes that start
    with a byte-order mark)."""
    return json.loads(line.decode("utf-8", "replace"), object_pairs_hook=_unique_keys)


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _fields(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """The JSON kind of every non-null field of an object, nested ones as ``a.b`` and
    ``a[]`` (an array's items), for naming the field whose kind changes between lines."""
    items = value.items() if isinstance(value, dict) else ((f"{prefix}[]", v) for v in value)
    for key, item in items:
        name = f"{prefix}.{key}" if prefix and isinstance(value, dict) else key
        kind = _kind(item)
        if kind is None:
            continue
        yield name, kind
        if isinstance(item, (dict, list)):
            yield from _fields(item, name)


def _error(err: Exception, path: str, offset: int, data: bytes) -> MalformedInputError:
    before = lines_before(path, offset)
    kinds: dict[str, tuple[str, int]] = {}
    for i, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        line = before + i + 1
        text = truncate(raw.decode("utf-8", "replace").rstrip("\r"))
        where = f"{path}:{line}"
        try:
            value = _loads(raw)
        except _DuplicateKey as twice:
            return MalformedInputError(
                f"line {line} of {path} holds the key {twice.key!r} twice in one object",
                location=where,
                row=text,
                hint="give each key once per object (Python's json would keep the last value "
                "and drop the others silently)",
            )
        except ValueError as bad:
            return MalformedInputError(
                f"line {line} of {path} is not valid JSON: {bad}",
                location=where,
                row=text,
                hint=_HINT,
            )
        if not isinstance(value, dict):
            return MalformedInputError(
                f"line {line} of {path} holds a JSON {_kind(value) or 'null'}, not an object",
                location=where,
                row=text,
                hint=_HINT,
            )
        for key, kind in _fields(value):
            seen = kinds.setdefault(key, (kind, line))
            if seen[0] != kind:
                return MalformedInputError(
                    f"field {key!r} is {_a(kind)} on line {line} of {path} "
                    f"but {_a(seen[0])} on line {seen[1]}",
                    location=where,
                    row=text,
                    hint="give a field one JSON type on every line "
                    "(e.g. quote numbers everywhere or nowhere)",
                )
    return MalformedInputError(
        f"cannot read {path} as JSON lines: {err}",
        location=f"{path}:{before + 1}",
        hint=_HINT,
    )
