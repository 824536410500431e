"""The csv/tsv reader, on pyarrow.csv.

A byte range is read in newline-aligned chunks (of a plain file: buffers over its memory-mapped
pages, :class:`~gleamnb.files.mapped.MappedFile`, so no byte is copied before Arrow parses it),
each checked as UTF-8
(:func:`~gleamnb.files.utf8.checked_utf8`, ``errors=`` as for txt) and parsed by
``pyarrow.csv.read_csv`` with the file's column names and types from its
:class:`~gleamnb.scan.meta.FileMeta` (so every range of a file agrees) and the
projection pushed down (``include_columns``). The header line is skipped only in the chunk
that starts the file (after its byte-order mark, if any: :mod:`~gleamnb.files.chunks`). A
file whose quoted values hold newlines (``newlines_in_values=True``) is read whole, as a
stream. A ``bytes`` column asked for in ``types=`` keeps the file's raw bytes
(:func:`~gleamnb.scan.meta.raw_bytes`). A column of integers beyond 64 bits is read as text
and turned into exact Python ints (:mod:`~gleamnb.runtime.sources.exact_ints`).

A quoted value never swallows lines silently: a chunk that holds a quote and parses to fewer
rows than it has non-empty lines is scanned (:class:`~gleamnb.files.quotes.QuoteScan`) for a
quote that ran past its line end, and a file read as a stream for one still open at its end;
either is an error naming the line where the quote opened.

Errors name the file and the real 1-based line (header included): pyarrow reports the number
of the bad row among the non-empty rows of what it parsed; the error path turns it into a line
by counting the newlines before the chunk (:func:`~gleamnb.files.chunks.lines_before`).

Examples
--------
>>> import os, tempfile
>>> from gleamnb.scan.meta import csv_meta
>>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(p, "w").write("name,age\\nann,31\\nbob,42\\n")
>>> spec = FileSpec("csv", p, header=True)
>>> [b.to_pydict() for b in read_csv(spec, p, 0, None, csv_meta(spec, p))]
[{'name': ['ann', 'bob'], 'age': [31, 42]}]
"""

from __future__ import annotations

import csv as pycsv
import io
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from gleamnb.errors import MalformedInputError, truncate
from gleamnb.files.chunks import BOM, CHUNK_BYTES, iter_chunks, keep_bom, lines_before
from gleamnb.files.compression import compression_of, open_stream
from gleamnb.files.mapped import MappedFile
from gleamnb.files.quotes import QuoteScan, line_at, nonempty_lines, open_quote_error
from gleamnb.files.spec import FileSpec
from gleamnb.files.utf8 import checked_utf8
from gleamnb.runtime.sources.exact_ints import (
    NotAnInteger,
    arrow_column_types,
    csv_exact_ints,
)
from gleamnb.runtime.sources.text import BATCH_ROWS, Utf8Stream
from gleamnb.scan.meta import INTEGER_TEXT, FileMeta, csv_parse_options, raw_bytes
from gleamnb.scan.projection import project

__all__ = ["read_csv"]

_CONVERSION = re.compile(r"In CSV column #(\d+): Row #(\d+): (.*)", re.DOTALL)
_INVALID_VALUE = re.compile(r"CSV conversion error to (.+?): invalid value '(.*)'$", re.DOTALL)


def read_csv(
    spec: FileSpec, path: str, start: int, end: int | None, meta: FileMeta
) -> Iterator[pa.RecordBatch]:
    """Batches of the rows of ``path`` whose line starts in ``[start, end)``."""
    if meta.names is None:  # empty file
        return
    names = list(meta.names)
    include, out_names = project(spec, names, path)
    check = not raw_bytes(spec)
    convert = pcsv.ConvertOptions(
        column_types=arrow_column_types(meta.types),
        include_columns=include,
        check_utf8=not check,  # checked bytes need no second look from Arrow
    )
    if spec.newlines_in_values:
        yield from _read_stream(spec, path, meta, convert, out_names)
        return
    first = start == 0  # the chunk that holds the header line
    for offset, source, data, quoted in _chunks(spec, path, start, end, check):
        skip = 1 if spec.header and first else 0
        first = False
        bad: list[Any] = []

        def on_bad_row(row: Any, bad: list[Any] = bad) -> str:
            bad.append(row)
            return "error"

        try:
            table = pcsv.read_csv(
                pa.BufferReader(source),
                read_options=pcsv.ReadOptions(
                    use_threads=False, column_names=names, skip_rows=skip
                ),
                parse_options=csv_parse_options(spec, on_bad_row),
                convert_options=convert,
            )
        except pa.ArrowInvalid as err:
            raise _chunk_error(err, bad, spec, path, offset, data(), meta) from None
        if quoted:
            _check_rows(spec, path, offset, data(), table.num_rows + skip)
        try:
            table = csv_exact_ints(table, meta.types)
        except NotAnInteger as bad_int:
            index, text = _nth_row_line(data(), bad_int.row + 1 + skip)
            line = lines_before(path, offset) + index + 1
            raise _exact_int_error(path, line, text, bad_int) from None
        if table.num_rows:
            yield from table.rename_columns(out_names).to_batches(max_chunksize=BATCH_ROWS)


Chunk = tuple[int, Any, Callable[[], bytes], bool]
"""One chunk of whole lines: its file offset, what Arrow parses (a buffer or bytes), a function
giving its bytes (for the quote check and the error paths) and whether it holds a quote."""


def _chunks(spec: FileSpec, path: str, start: int, end: int | None, check: bool) -> Iterator[Chunk]:
    """The chunks of ``[start, end)``, checked as UTF-8 when ``check``; a plain file is mapped
    and its chunks are not copied unless a check or an error needs their bytes. Only csv
    chunks are searched for a quote (TSV has no quoting)."""
    quoting = spec.format == "csv"
    if compression_of(path) is not None:
        for offset, raw in iter_chunks(path, start, end):
            data = checked_utf8(spec, path, offset, raw) if check else raw
            yield offset, keep_bom(data), lambda data=data: data, quoting and b'"' in data
        return
    with MappedFile(path) as mapped:
        for offset, stop in mapped.chunks(start, end):
            source: Any = mapped.buffer(offset, stop)
            if check:
                checked = checked_utf8(spec, path, offset, source)
                if checked is not source:  # bad bytes replaced or dropped
                    quoted = quoting and b'"' in checked
                    yield offset, keep_bom(checked), lambda data=checked: data, quoted
                    continue
            if mapped.find(BOM, offset, offset + len(BOM)) == offset:
                source = keep_bom(mapped.bytes(offset, stop))
            quoted = quoting and mapped.find(b'"', offset, stop) >= 0
            yield offset, source, partial(mapped.bytes, offset, stop), quoted


def _read_stream(
    spec: FileSpec,
    path: str,
    meta: FileMeta,
    convert: pcsv.ConvertOptions,
    out_names: list[str],
) -> Iterator[pa.RecordBatch]:
    bad: list[Any] = []

    def on_bad_row(row: Any) -> str:
        bad.append(row)
        return "error"

    stream = open_stream(path) if raw_bytes(spec) else Utf8Stream(spec, path)
    try:
        try:
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(
                    use_threads=False,
                    column_names=list(meta.names or ()),
                    skip_rows=1 if spec.header else 0,
                    block_size=CHUNK_BYTES,
                ),
                parse_options=csv_parse_options(spec, on_bad_row),
                convert_options=convert,
            )
            seen = 1 if spec.header else 0
            for batch in reader:
                try:
                    table = csv_exact_ints(pa.Table.from_batches([batch]), meta.types)
                except NotAnInteger as bad_int:
                    line, text = _record_line(spec, path, seen + bad_int.row + 1)
                    raise _exact_int_error(path, line, text, bad_int) from None
                seen += batch.num_rows
                if table.num_rows:
                    yield from table.rename_columns(out_names).to_batches()
        except pa.ArrowInvalid as err:
            if spec.format == "csv":  # a quote left open explains the error
                _check_closed(path, spec.sep)
            raise _stream_error(err, bad, spec, path, meta) from None
    finally:
        stream.close()
    if spec.format == "csv":
        _check_closed(path, spec.sep)


# ---------------------------------------------------------------------------------------------
# Error paths: find the line, say what is wrong with it and how to fix it.


def _check_rows(spec: FileSpec, path: str, offset: int, data: bytes, rows: int) -> None:
    """Fail if a quoted value runs past a line end or is still open at the end of ``data``
    (``rows``: those Arrow parsed, the header line included).

    Arrow parses fewer rows than lines when a quote merges lines: counting the line ends is
    the cheap test (only a short count, or empty lines, costs a count of the non-empty lines),
    and only a short one costs a scan of the quotes. With no line merged, a quote can only be
    left open on the last line (Arrow takes the rest of the data as its value), so only that
    line is scanned.
    """
    start = 0
    if rows >= data.count(b"\n") + (not data.endswith(b"\n")) or rows >= nonempty_lines(data):
        start = data.rstrip(b"\r\n").rfind(b"\n") + 1
        if b'"' not in data[start:]:
            return
    at = _crossing(spec, data[start:])
    if at is not None:
        raise _quote_error(path, offset, data, start + at)


def _crossing(spec: FileSpec, data: bytes) -> int | None:
    """The offset in ``data`` of the first quoted value that runs past a line end, or of one
    still open at its end (``data`` ends at a line end or at the end of the file)."""
    scan = QuoteScan(spec.sep)
    scan.feed(data, 0)
    return scan.crossed if scan.crossed is not None else scan.opened


def _check_closed(path: str, delimiter: str) -> None:
    """Fail if the file ends inside a quoted value (newlines_in_values=True)."""
    scan = QuoteScan(delimiter)
    for offset, data in iter_chunks(path):
        scan.feed(data, offset)
    if scan.opened is not None:
        line = lines_before(path, scan.opened) + 1
        raise open_quote_error(path, line, None, at_end=True)


def _quote_error(path: str, offset: int, data: bytes, at: int) -> Exception:
    line = lines_before(path, offset) + data.count(b"\n", 0, at) + 1
    return open_quote_error(path, line, line_at(data, at), at_end=False)


def _nth_row_line(data: bytes, number: int) -> tuple[int, str]:
    """The 0-based line index and text of the ``number``-th non-empty line of ``data``."""
    seen = 0
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        if raw.rstrip(b"\r"):
            seen += 1
            if seen == number:
                return i, raw.rstrip(b"\r").decode("utf-8", "replace")
    return 0, lines[0].decode("utf-8", "replace")


def _fields_hint(spec: FileSpec) -> str:
    sep = "a tab" if spec.sep == "\t" else repr(spec.sep)
    text = f"fix or remove that line; fields are separated by {sep}"
    if spec.format == "csv":
        text += (
            ' and values holding it must be quoted ("a,b"); if quoted values hold newlines '
            "pass newlines_in_values=True"
        )
    else:
        text += " (TSV has no quoting, so values cannot hold tabs)"
    return text


def _bad_row_error(row: Any, spec: FileSpec, path: str, line: int, text: str) -> Exception:
    return MalformedInputError(
        f"line {line} of {path} has {row.actual_columns} fields, expected {row.expected_columns}",
        location=f"{path}:{line}",
        row=truncate(text),
        hint=_fields_hint(spec),
    )


def _conversion_error(
    spec: FileSpec, path: str, meta: FileMeta, column: int, reason: str, line: int, text: str
) -> Exception:
    names = meta.names or ()
    name = names[column] if column < len(names) else f"_{column + 1}"
    given = {k for k, _ in spec.types or ()}
    match = _INVALID_VALUE.search(reason)
    if match is None:
        return MalformedInputError(
            f"cannot read column {name!r} on line {line} of {path}: {reason}",
            location=f"{path}:{line}",
            row=truncate(text),
            hint=f"pass types={{{name!r}: bytes}} to read raw bytes, or fix the file",
        )
    type_name, value = match.group(1), match.group(2)
    suggest = "str"
    # An integer too big for the column's int type would lose digits as a float.
    if type_name.startswith(("int", "uint")) and re.match(INTEGER_TEXT, value) is None:
        try:
            float(value)
            suggest = "float"
        except ValueError:
            pass
    if name in given or (column + 1) in given:
        hint = (
            f"the value does not fit the type given in types=; fix the value, or read the "
            f"column as another type, e.g. types={{{name!r}: {suggest}}}"
        )
    else:
        hint = (
            f"the column type {type_name} was inferred from the start of the file; "
            f"pass types={{{name!r}: {suggest}}} to read the column as {suggest}"
        )
    return MalformedInputError(
        f"cannot convert {value!r} in column {name!r} to {type_name} (line {line} of {path})",
        location=f"{path}:{line}",
        row=truncate(text),
        hint=hint,
    )


def _exact_int_error(path: str, line: int, text: str, bad: NotAnInteger) -> Exception:
    name = bad.column
    return MalformedInputError(
        f"cannot convert {bad.value!r} in column {name!r} to an integer (line {line} of {path}): "
        "the start of the file holds integers beyond 64 bits there, read as exact ints",
        location=f"{path}:{line}",
        row=truncate(text),
        hint=f"pass types={{{name!r}: str}} to read the column as text, or fix the value",
    )


def _chunk_error(
    err: Exception,
    bad: list[Any],
    spec: FileSpec,
    path: str,
    offset: int,
    data: bytes,
    meta: FileMeta,
) -> Exception:
    at = _crossing(spec, data) if spec.format == "csv" else None
    if at is not None:  # the lines merged by the open quote explain the error
        return _quote_error(path, offset, data, at)
    before = lines_before(path, offset)
    if bad:
        index, text = _nth_row_line(data, bad[0].number)
        return _bad_row_error(bad[0], spec, path, before + index + 1, text)
    match = _CONVERSION.search(str(err))
    if match:
        index, text = _nth_row_line(data, int(match.group(2)))
        line = before + index + 1
        return _conversion_error(spec, path, meta, int(match.group(1)), match.group(3), line, text)
    return MalformedInputError(
        f"cannot parse {path} as {spec.format.upper()}: {err}",
        location=f"{path}:{before + 1}",
        hint=_fields_hint(spec),
    )


def _record_line(spec: FileSpec, path: str, number: int) -> tuple[int, str]:
    """First line and text of the ``number``-th non-empty CSV record, by Python's csv module."""
    stream = open_stream(path)
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        quoting = pycsv.QUOTE_NONE if spec.format == "tsv" else pycsv.QUOTE_MINIMAL
        reader = pycsv.reader(text, delimiter=spec.sep, quoting=quoting)
        seen = 0
        line = 0
        for record in reader:
            first = line + 1
            line = reader.line_num
            if record:
                seen += 1
                if seen == number:
                    return first, spec.sep.join(record)
    except pycsv.Error:
        pass
    finally:
        stream.close()
    return 1, ""


def _stream_error(
    err: Exception, bad: list[Any], spec: FileSpec, path: str, meta: FileMeta
) -> Exception:
    if bad:
        line, text = _record_line(spec, path, bad[0].number)
        return _bad_row_error(bad[0], spec, path, line, bad[0].text or text)
    match = _CONVERSION.search(str(err))
    if match:
        line, text = _record_line(spec, path, int(match.group(2)))
        return _conversion_error(spec, path, meta, int(match.group(1)), match.group(3), line, text)
    return MalformedInputError(
        f"cannot parse {path} as {spec.format.upper()}: {err}",
        location=path,
        hint=_fields_hint(spec),
    )
