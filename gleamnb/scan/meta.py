"""Facts about one input file gathered once, when a run is planned: :class:`FileMeta`.

Every byte range of a file must produce the same columns with the same types, so the CSV
header and the column types are read once per file (types are inferred from its first
:data:`INFER_BYTES`) and shipped to each range with its split. A JSON lines file gets its
field names and inferred schema the same way (fields that were all null are named but left to
later inference); the files of one jsonl source then share one field order and one schema
(:func:`merge_jsonl_metas`), so rows from every file and range line up. Those are all its
fields: a key that no file's start holds is an error where a later line holds it.

A csv/tsv column Arrow infers as float64 whose values are all integer text holds integers
beyond 64 bits (Arrow infers int64 otherwise): its type is ``gleamnb.pyobject`` and the reader
turns its text into exact Python ints, as an in-memory source keeps such ints
(:func:`exact_int_columns`).

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(p, "w").write("name,age\\nann,31\\n")
>>> m = csv_meta(FileSpec("csv", p, header=True), p)
>>> m.names, dict(m.types)
(('name', 'age'), {'name': DataType(string), 'age': DataType(int64)})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from gleamnb.errors import ArgumentError, MalformedInputError, truncate
from gleamnb.files.chunks import keep_bom, read_head
from gleamnb.files.quotes import QuoteScan, line_at, open_quote_error
from gleamnb.files.spec import FileSpec
from gleamnb.files.utf8 import checked_utf8
from gleamnb.plan.fields import positional_names
from gleamnb.rows import PYOBJECT, unify_type
from gleamnb.scan.projection import type_overrides

if TYPE_CHECKING:
    import pyarrow.csv as pcsv

__all__ = [
    "INFER_BYTES",
    "INTEGER_TEXT",
    "FileMeta",
    "file_meta",
    "csv_meta",
    "jsonl_meta",
    "merge_jsonl_metas",
    "csv_parse_options",
    "raw_bytes",
    "exact_int_columns",
]

INFER_BYTES = 1 << 20
"""Bytes from the start of a file used to infer its column types."""

INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"
"""An integer as text: a float64 column all of whose values match holds ints past int64."""

_LONG_INTEGER_TEXT = r"^\s*[+-]?[0-9]{16,}\s*$"


@dataclass(frozen=True)
class FileMeta:
    """What every split of one file needs to know about the whole file.

    Parameters
    ----------
    names
        csv/tsv: the file's column names (header, or ``_1.._n``); None for an empty file.
        jsonl: the fields seen at the file's start, in order of first appearance (a split's:
        those of all the source's files, :func:`merge_jsonl_metas`); None when the start
        could not be parsed.
    types
        csv/tsv: column types (inferred, then ``types=`` overrides); jsonl: the schema
        inferred from the file's start (a split's: merged). Columns inferred as all-null are
        left out.
    """

    names: tuple[str, ...] | None = None
    types: tuple[tuple[str, pa.DataType], ...] = ()


def file_meta(spec: FileSpec, path: str) -> FileMeta | None:
    """The :class:`FileMeta` of ``path`` for formats that need one (csv, tsv, jsonl)."""
    if spec.format in ("csv", "tsv"):
        return csv_meta(spec, path)
    if spec.format == "jsonl":
        return jsonl_meta(spec, path)
    return None


def csv_parse_options(spec: FileSpec, handler: Any = None) -> pcsv.ParseOptions:
    """pyarrow parse options for a csv/tsv spec (TSV: no quoting)."""
    import pyarrow.csv as pcsv

    return pcsv.ParseOptions(
        delimiter=spec.sep,
        quote_char=False if spec.format == "tsv" else '"',
        newlines_in_values=spec.newlines_in_values,
        invalid_row_handler=handler,
    )


def raw_bytes(spec: FileSpec) -> bool:
    """True if a csv/tsv source asks for a ``bytes`` column under ``errors="strict"``.

    Its files are then given to Arrow unchecked, so that column holds the raw bytes (Arrow
    still checks the UTF-8 of the string columns).

    >>> raw_bytes(FileSpec("csv", "a.csv", types={"blob": bytes})), raw_bytes(FileSpec("csv", "a"))
    (True, False)
    """
    return spec.errors == "strict" and any(
        pa.types.is_binary(t) or pa.types.is_large_binary(t) for _, t in spec.types or ()
    )


def _check_quotes(spec: FileSpec, path: str, head: bytes) -> None:
    """Fail if Arrow found no row in a non-blank start because a quote was left open."""
    if spec.format != "csv" or not head.strip():
        return
    scan = QuoteScan(spec.sep)
    scan.feed(head, 0)
    at = scan.opened if spec.newlines_in_values else scan.crossed
    if at is not None:
        line = head.count(b"\n", 0, at) + 1
        raise open_quote_error(path, line, line_at(head, at), at_end=spec.newlines_in_values)


def _skip(row: Any) -> str:
    return "skip"


def _has_null(t: pa.DataType) -> bool:
    if pa.types.is_null(t):
        return True
    return any(_has_null(t.field(i).type) for i in range(t.num_fields))


def csv_meta(spec: FileSpec, path: str) -> FileMeta:
    """Read the header (or count the first line's fields) and infer column types."""
    import pyarrow.csv as pcsv

    head = read_head(path, INFER_BYTES)
    if not raw_bytes(spec):
        head = checked_utf8(spec, path, 0, head)
    try:
        reader = pcsv.open_csv(
            pa.BufferReader(keep_bom(head)),
            read_options=pcsv.ReadOptions(
                use_threads=False,
                block_size=len(head) + 1,
                autogenerate_column_names=not spec.header,
            ),
            # Bad lines are reported with their line number when the ranges are read.
            parse_options=csv_parse_options(spec, _skip),
        )
        schema = reader.schema
    except pa.ArrowInvalid as err:
        if "Empty CSV file" in str(err):
            _check_quotes(spec, path, head)
            return FileMeta()
        raise MalformedInputError(
            f"cannot read the start of {path} as {spec.format.upper()}: {err}",
            location=f"{path}:1",
            hint="check the file's format, delimiter and quoting "
            "(pass newlines_in_values=True if quoted values hold newlines)",
        ) from None
    names = _column_names(spec, path, head, list(schema.names))
    types = {n: f.type for n, f in zip(names, schema) if not _has_null(f.type)}
    overrides = type_overrides(spec, names, path)
    floats = [n for n, t in types.items() if pa.types.is_float64(t) and n not in overrides]
    for name in exact_int_columns(spec, path, head, names, floats):
        types[name] = PYOBJECT
    types.update(overrides)
    return FileMeta(tuple(names), tuple(types.items()))


def _column_names(spec: FileSpec, path: str, head: bytes, found: list[str]) -> list[str]:
    """The names of a csv/tsv file's columns: ``names=``, the header's, or ``_1.._n``.

    ``found`` are the names Arrow read from the first line (made up without a header). A
    header naming a column twice is an error, as is a ``names=`` of another length: a field
    is looked up by its name, so neither may leave a column unreachable or misnamed.
    """
    first = _first_line(head).decode("utf-8", "replace")
    if spec.names is not None:
        if len(spec.names) != len(found):
            raise ArgumentError(
                f"names= gives {len(spec.names)} names, but {path} has {len(found)} columns",
                location=f"{path}:1",
                row=truncate(first),
                hint=f"give one name per column, {len(found)} in all",
            )
        return list(spec.names)
    if not spec.header:
        return positional_names(len(found))
    for i, name in enumerate(found):
        if name in found[:i]:
            raise MalformedInputError(
                f"the header of {path} names two columns {name!r} "
                f"(columns {found.index(name) + 1} and {i + 1})",
                location=f"{path}:1",
                row=truncate(first),
                hint="name the columns with names=[...] (the header line is still skipped), "
                f"e.g. names={truncate(repr(_distinct(found)))}",
            )
    return found


def _first_line(head: bytes) -> bytes:
    """The first non-empty line of ``head`` (without its line end), found without splitting
    the whole head.

    >>> _first_line(b"\\r\\n\\nid,name\\r\\n1,a\\n"), _first_line(b"")
    (b'id,name', b'')
    """
    pos = 0
    while pos < len(head):
        end = head.find(b"\n", pos)
        end = len(head) if end < 0 else end
        line = head[pos:end].rstrip(b"\r")
        if line:
            return line
        pos = end + 1
    return b""


def _distinct(names: Sequence[str]) -> list[str]:
    """``names`` with each repeat given a suffix ``_2``, ``_3``, ... that no name has.

    >>> _distinct(["a", "a", "b", "a_2"])
    ['a', 'a_3', 'b', 'a_2']
    """
    taken = set(names)
    out: list[str] = []
    for name in names:
        if name in out:
            k = 2
            while f"{name}_{k}" in taken:
                k += 1
            name = f"{name}_{k}"
            taken.add(name)
        out.append(name)
    return out


def exact_int_columns(
    spec: FileSpec, path: str, head: bytes, names: Sequence[str], floats: Sequence[str]
) -> list[str]:
    """Those of the ``floats`` columns of a csv/tsv file's ``head`` whose values are all
    integer text (nulls aside): integers too big for int64, which Arrow reads as float64.

    Only those columns are parsed again, as text. A column holding both an integer float64
    does not hold exactly and a value that is not an integer is a :class:`MalformedInputError`
    naming the integer's line (counted among non-empty lines), with the fix ``types=``.

    >>> spec = FileSpec("csv", "a.csv", header=True)
    >>> head = b"a,b\\n1,1.5\\n18446744073709551621,2\\n"
    >>> exact_int_columns(spec, "a.csv", head, ["a", "b"], ["a", "b"])
    ['a']
    """
    candidates = _may_hold_long_ints(spec, head, names, floats)
    if not candidates:
        return []
    import pyarrow.compute as pc

    skipped: list[str] = []  # rows with a wrong field count, reported when the ranges are read
    table = _head_columns(
        spec, head, names, candidates, pa.string(), lambda row: skipped.append(row.text) or "skip"
    )
    exact = []
    for name in candidates:
        text = table.column(name)
        if pc.all(pc.match_substring_regex(text, INTEGER_TEXT), min_count=0).as_py():
            exact.append(name)
            continue
        # Non-integers beside integers float64 cannot hold: either type loses something.
        long = pc.match_substring_regex(text, _LONG_INTEGER_TEXT)
        for row in pc.indices_nonzero(long).to_pylist():
            value = text[row].as_py().strip()
            if float(int(value)) != int(value):
                line = _nth_line(head, row + 1 + (1 if spec.header else 0), skipped)
                raise MalformedInputError(
                    f"column {name!r} of {path} holds the integer {value} (line {line}), too "
                    "big for a float to hold exactly, and values that are not integers",
                    location=f"{path}:{line}",
                    hint=f"pass types={{{name!r}: float}} to read the column as floats, or "
                    f"types={{{name!r}: str}} to keep its text",
                )
    return exact


#: Integer text below this size converts to float64 exactly (and to nothing else).
_EXACT_IN_FLOAT = float(1 << 53)


def _may_hold_long_ints(
    spec: FileSpec, head: bytes, names: Sequence[str], floats: Sequence[str]
) -> list[str]:
    """Those of the ``floats`` columns whose text :func:`exact_int_columns` must match.

    A column is left out when its values, read as float64 (nulls aside), include one that is
    not a whole number (a fraction, NaN or infinity, so not all of its text is integers) and
    none of 2**53 or more in size (so no integer text in it is too big for a float to hold
    exactly). That is every column of ordinary floats, decided without a regex over its text
    (and without importing Arrow's compute functions in the driver, ~55 ms).
    """
    import numpy as np

    if not floats:
        return []
    try:
        table = _head_columns(spec, head, names, floats, pa.float64(), _skip)
    except pa.ArrowInvalid:
        return list(floats)
    kept = []
    for name in floats:
        values = _valid_values(table.column(name))
        finite = values[np.isfinite(values)]
        whole = len(finite) == len(values) and bool(np.all(finite == np.floor(finite)))
        if whole or (len(finite) and float(np.max(np.abs(finite))) >= _EXACT_IN_FLOAT):
            kept.append(name)
    return kept


def _valid_values(column: pa.ChunkedArray) -> Any:
    """The non-null values of a float64 column as one numpy array.

    Its buffers are read directly: no compute kernel is needed, and Arrow's ``to_numpy`` of
    an array with nulls would import pandas (0.4 s in a driver that needs it nowhere else).
    """
    import numpy as np

    parts = []
    for chunk in column.chunks:
        validity, data = chunk.buffers()
        values = np.frombuffer(data, dtype=np.float64)[chunk.offset : chunk.offset + len(chunk)]
        if chunk.null_count and validity is not None:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            values = values[bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)]
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0)


def _head_columns(
    spec: FileSpec,
    head: bytes,
    names: Sequence[str],
    columns: Sequence[str],
    type: pa.DataType,
    handler: Any,
) -> pa.Table:
    """The ``columns`` of a csv/tsv file's ``head`` read as ``type``; rows with a wrong
    field count go to ``handler``."""
    import pyarrow.csv as pcsv

    # The null values read as nulls, so no list of them is built in Python (pa.array of a
    # list imports pandas, 0.4 s, in a driver that needs it nowhere else).
    convert = pcsv.ConvertOptions(
        include_columns=list(columns),
        column_types=dict.fromkeys(columns, type),
        strings_can_be_null=True,
    )
    return pcsv.read_csv(
        pa.BufferReader(keep_bom(head)),
        read_options=pcsv.ReadOptions(
            use_threads=False,
            block_size=len(head) + 1,
            column_names=list(names),
            skip_rows=1 if spec.header else 0,
        ),
        parse_options=csv_parse_options(spec, handler),
        convert_options=convert,
    )


def _nth_line(data: bytes, number: int, skipped: Sequence[str] = ()) -> int:
    """The 1-based line of the ``number``-th non-empty line of ``data`` that is not one of
    the ``skipped`` rows (their texts, in file order).

    >>> _nth_line(b"id\\n1\\n\\nx,y\\n2\\n", 3, ["x,y"])
    5
    """
    seen, left = 0, list(skipped)
    for index, line in enumerate(data.split(b"\n")):
        text = line.rstrip(b"\r")
        if left and text.decode("utf-8", "replace") == left[0]:
            left.pop(0)
            continue
        seen += bool(text)
        if seen == number:
            return index + 1
    return 1


def jsonl_meta(spec: FileSpec, path: str) -> FileMeta:
    """The field names and schema of a JSON lines file's start (names None if unparsable)."""
    import pyarrow.json as pjson

    head = read_head(path, INFER_BYTES)
    if not head.strip():
        return FileMeta(names=())
    head = checked_utf8(spec, path, 0, head)
    try:
        table = pjson.read_json(
            pa.BufferReader(keep_bom(head)),
            read_options=pjson.ReadOptions(use_threads=False, block_size=len(head) + 1),
        )
    except pa.ArrowInvalid:
        # Reading the ranges reports the bad line with its number.
        return FileMeta()
    fields = tuple((f.name, f.type) for f in table.schema if not _has_null(f.type))
    return FileMeta(tuple(table.schema.names), fields)


def merge_jsonl_metas(metas: Sequence[FileMeta]) -> FileMeta:
    """One :class:`FileMeta` for all the files of a jsonl source.

    ``metas`` are the files' own, in the source's file order. Fields are in order of first
    appearance over the files; a field typed in several files gets the type they all convert
    to (null in one file and typed in another: that type; int in one and float in another:
    float). A field whose types do not unify keeps no type here: each range infers its own,
    and the step that combines them reports the clash. If one file's start could not be
    parsed the names are None (reading that file fails; no field set is checked meanwhile).

    >>> a = FileMeta(("id", "tag"), (("id", pa.int64()),))
    >>> b = FileMeta(("id", "score", "tag"), (("id", pa.float64()), ("tag", pa.string())))
    >>> m = merge_jsonl_metas([a, b])
    >>> m.names, m.types
    (('id', 'tag', 'score'), (('id', DataType(double)), ('tag', DataType(string))))
    >>> merge_jsonl_metas([a, FileMeta()]).names is None
    True
    """
    if any(meta.names is None for meta in metas):
        return FileMeta()
    names: dict[str, None] = {}
    types: dict[str, pa.DataType] = {}
    clashes: set[str] = set()
    for meta in metas:
        names.update(dict.fromkeys(meta.names or ()))
        for name, t in meta.types:
            if name in clashes:
                continue
            both = unify_type(types[name], t) if name in types else t
            if both is None:
                clashes.add(name)
                del types[name]
            else:
                types[name] = both
    return FileMeta(tuple(names), tuple((n, types[n]) for n in names if n in types))
