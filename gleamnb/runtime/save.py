"""Writers for the ``save(path, format=...)`` sink: a folder with one part file per shard.

``save("out", format="csv")`` writes ``out/part-00000.csv``, ``out/part-00001.csv``, ... so
``gl.csv("out", header=True)`` (or any tool that reads a folder) reads it back.
:func:`prepare_output` runs once on the driver before a run: it creates the folder, removes
the part files of an earlier save there, and proves the folder is writable. Each task then
writes its shard with a :class:`ShardWriter`. A part file is written under a hidden name and
renamed when complete, so a failed or cancelled run never leaves a half-written part that a
reader would take for data; the runner then removes the parts its finished tasks wrote too
(see :func:`part_files`).

Formats: ``parquet`` (types kept), ``csv`` (header, quoting where needed), ``tsv`` (header, no
quoting: a value holding a tab or newline is an error), ``txt`` (fields joined by tabs, no
header) and ``jsonl`` (one object per row keyed by field name). In text formats a field is
written as ``str(value)``, None as an empty field (null in jsonl), and a Python-object
(``gleamnb.pyobject``) field as its ``repr``; parquet stores Python-object fields as ``str``.

Examples
--------
>>> import os, tempfile
>>> out = os.path.join(tempfile.mkdtemp(), "out")
>>> prepare_output(out, "csv")
>>> w = ShardWriter(out, "csv", 0)
>>> w.write(pa.record_batch({"word": ["a", "b,c"], "n": [1, 2]}))
>>> w.close()["rows"]
2
>>> print(open(os.path.join(out, "part-00000.csv")).read(), end="")
word,n
a,1
"b,c",2
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gleamnb.errors import ArgumentError, OutputError, SchemaError, truncate
from gleamnb.rows import PyObjectType, column_to_pylist, conform, unify_schemas

__all__ = [
    "SAVE_FORMATS",
    "check_format",
    "part_name",
    "part_files",
    "prepare_output",
    "ShardWriter",
]

SAVE_FORMATS = ("parquet", "csv", "tsv", "txt", "jsonl")

_PENDING_BYTES = 16 << 20
#: Parquet row groups are written once this many rows are buffered (few, large row groups
#: read and write much faster than one per small batch).
_ROW_GROUP_ROWS = 1 << 20


def check_format(format: str) -> str:
    """Validate a save format.

    >>> check_format("xml")
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: unknown save format 'xml'
      fix: use one of parquet, csv, tsv, txt, jsonl
    """
    if format not in SAVE_FORMATS:
        raise ArgumentError(
            f"unknown save format {format!r}", hint=f"use one of {', '.join(SAVE_FORMATS)}"
        )
    return format


def part_name(shard: int, format: str) -> str:
    """The file name of one shard's part.

    >>> part_name(3, "parquet")
    'part-00003.parquet'
    """
    return f"part-{shard:05d}.{format}"


def _in_progress_name(shard: int, format: str) -> str:
    return "." + part_name(shard, format) + ".inprogress"


def part_files(path: str | os.PathLike[str], format: str, shards: int) -> set[str]:
    """The part files (finished or in progress) of shards ``0 .. shards-1`` that exist now.

    A runner takes this before and after a run of a save, to remove what a failed run wrote
    and nothing else.

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = ShardWriter(out, "csv", 1).close()
    >>> sorted(os.path.basename(p) for p in part_files(out, "csv", 3))
    ['part-00001.csv']
    """
    folder = os.fspath(path)
    found = set()
    for shard in range(shards):
        for name in (part_name(shard, format), _in_progress_name(shard, format)):
            candidate = os.path.join(folder, name)
            if os.path.lexists(candidate):
                found.add(candidate)
    return found


def prepare_output(path: str | os.PathLike[str], format: str) -> None:
    """Make ``path`` an empty-of-parts, writable output folder (driver side, before a run).

    Raises
    ------
    OutputError
        The folder cannot be created (e.g. a parent is a regular file) or written.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "file")
    >>> _ = open(f, "w").write("x")
    >>> prepare_output(os.path.join(f, "out"), "csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gleamnb.errors.OutputError: cannot create the output folder .../file/out: ...
    """
    check_format(format)
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(
            f"cannot save to {path}: it exists and is not a folder",
            location=path,
            hint="save writes a folder of part files; remove the file or choose another path",
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create the output folder {path}: {err.strerror or err}",
            location=path,
            hint="check that every parent of the path is a folder you can write to, "
            "or choose another path",
        ) from None
    try:
        escaped = glob.escape(path)
        for old in glob.glob(os.path.join(escaped, "part-*")) + glob.glob(
            os.path.join(escaped, ".part-*")
        ):
            if os.path.isfile(old) or os.path.islink(old):
                os.remove(old)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".gleamnb-write-test-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as err:
        raise OutputError(
            f"cannot write to the output folder {path}: {err.strerror or err}",
            location=path,
            hint="choose a folder you can write to (check its permissions and free space)",
        ) from None


# ---------------------------------------------------------------------------------------------
# Rendering fields as text


def _render(col: pa.Array) -> pa.Array:
    """A column as strings (``str(value)``; repr for Python objects), nulls as ``""``."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _render(col.dictionary_decode())
    if isinstance(t, PyObjectType):
        values = [None if v is None else repr(v) for v in column_to_pylist(col)]
        out = pa.array(values, type=pa.string())
    elif pa.types.is_string(t):
        out = col
    elif pa.types.is_large_string(t) or pa.types.is_integer(t):
        out = pc.cast(col, pa.string())
    else:
        values = [None if v is None else str(v) for v in column_to_pylist(col)]
        out = pa.array(values, type=pa.string())
    return pc.fill_null(out, "") if out.null_count else out


def _csv_quote(col: pa.Array, sep: str, single: bool) -> pa.Array:
    needs = pc.match_substring(col, '"')
    for ch in (sep, "\n", "\r"):
        needs = pc.or_(needs, pc.match_substring(col, ch))
    if single:  # a lone empty field would read back as an empty line, which is skipped
        needs = pc.or_(needs, pc.equal(col, ""))
    if not pc.any(needs).as_py():
        return col
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, col)


def _lines(cols: Sequence[pa.Array], sep: str, n: int) -> pa.Buffer | bytes:
    """The bytes of ``n`` lines: the columns joined by ``sep``, each line ending in ``\\n``."""
    if not cols:
        return b"\n" * n
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, sep)
    lines = pc.binary_join_element_wise(joined, "", "\n")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].slice(first, last - first)


def _first_match(cols: Sequence[pa.Array], chars: str) -> str | None:
    for col in cols:
        mask = pc.match_substring(col, chars[0])
        for ch in chars[1:]:
            mask = pc.or_(mask, pc.match_substring(col, ch))
        if pc.any(mask).as_py():
            return col.filter(mask)[0].as_py()
    return None


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return str(value)


def _parquet_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Python-object columns become ``str`` columns (parquet readers cannot unpickle)."""
    if not any(isinstance(f.type, PyObjectType) for f in batch.schema):
        return batch
    arrays = []
    for col in batch.columns:
        if isinstance(col.type, PyObjectType):
            values = [None if v is None else str(v) for v in column_to_pylist(col)]
            col = pa.array(values, type=pa.string())
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


# ---------------------------------------------------------------------------------------------


#: Values sampled per column to decide whether Parquet's dictionary encoding pays.
_DICTIONARY_SAMPLE = 16 * 1024


def _dictionary_columns(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> list[str]:
    """The columns worth dictionary-encoding: those whose first values repeat.

    Parquet writers try a dictionary for every column and give it up once it grows past a
    page; for columns of mostly distinct values (keys, ids, free text) that attempt is pure
    cost (a quarter of the time of writing a join's output). A column whose sample has at
    most half as many distinct values as values keeps the dictionary.

    >>> batch = pa.record_batch({"id": list(range(100)), "city": ["a", "b"] * 50})
    >>> _dictionary_columns([batch], batch.schema)
    ['city']
    """
    first = next((b for b in batches if b.num_rows), None)
    if first is None:
        return list(schema.names)
    sample = first.slice(0, _DICTIONARY_SAMPLE)
    names = set(schema.names)
    chosen = []
    for name, column in zip(sample.schema.names, sample.columns):
        if name not in names:
            continue
        try:
            distinct = pc.count_distinct(column).as_py()
        except pa.ArrowNotImplementedError:  # no hash kernel for the type: let Parquet decide
            chosen.append(name)
            continue
        if 2 * distinct <= len(column):
            chosen.append(name)
    return chosen


class ShardWriter:
    """Write one shard of a ``save`` as ``<path>/part-<shard>.<format>``.

    Parameters
    ----------
    path
        The output folder (made by :func:`prepare_output`; created here if missing).
    format
        ``parquet``, ``csv``, ``tsv``, ``txt`` or ``jsonl``.
    shard
        The shard index, used in the part name. Errors name the part file; the task that
        runs the writer adds the shard as ``i/n``, as for every other step.
    schema
        The dataset's schema if known: an empty shard then still writes a parquet file with
        that schema, or a CSV/TSV header.

    Examples
    --------
    >>> import os, tempfile
    >>> out = tempfile.mkdtemp()
    >>> with ShardWriter(out, "jsonl", 1) as w:
    ...     w.write(pa.record_batch({"k": ["a"], "v": [1.5]}))
    >>> open(os.path.join(out, "part-00001.jsonl")).read()
    '{"k": "a", "v": 1.5}\\n'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str,
        shard: int,
        *,
        schema: pa.Schema | None = None,
    ) -> None:
        self.format = check_format(format)
        self.folder = os.fspath(path)
        self.shard = shard
        self.file = os.path.join(self.folder, part_name(shard, format))
        self._tmp = os.path.join(self.folder, _in_progress_name(shard, format))
        self._schema = schema
        self._step = f"save to {self.folder}"
        self._fields: pa.Schema | None = None
        self._rows = 0
        self._result: dict[str, Any] | None = None
        self._out: BinaryIO | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._parquet_schema = pa.schema([])
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._header_done = False

    # -- public ------------------------------------------------------------------------------

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append the rows of ``batch``."""
        if self._result is not None:
            raise RuntimeError(f"{self.file} is already closed")
        if isinstance(batch, pa.Table):
            for piece in batch.to_batches():
                self.write(piece)
            return
        try:
            if self.format == "parquet":
                self._write_parquet(batch)
            else:
                self._write_text(batch)
            if batch.num_rows:
                # text formats keep no types: check here that a field keeps one
                known = [self._fields] if self._fields is not None else []
                self._fields = unify_schemas([*known, batch.schema], step=self._step)
        except (OutputError, SchemaError) as err:
            self.abort()
            raise err.with_context(location=self.file) from None
        except OSError as err:
            self.abort()
            raise self._os_error(err) from None
        self._rows += batch.num_rows

    def close(self) -> dict[str, Any]:
        """Finish the part file.

        Returns ``{"file": ..., "rows": ..., "bytes": ..., "schema": ...}``: ``schema`` holds
        the fields' names and types of the rows written (None for a shard without rows), so
        the driver can check that every part of a save agrees.
        """
        if self._result is not None:
            return self._result
        try:
            if self.format == "parquet":
                if self._parquet is None:
                    self._open_parquet(self._schema or pa.schema([]))
                assert self._parquet is not None
                self._flush_group()
                self._parquet.close()
            else:
                if self._out is None:
                    self._open_text()
                    self._write_header(self._schema)
                assert self._out is not None
                self._out.close()
            os.replace(self._tmp, self.file)
        except OSError as err:
            self.abort()
            raise self._os_error(err) from None
        self._result = {
            "file": self.file,
            "rows": self._rows,
            "bytes": os.path.getsize(self.file),
            "schema": self._fields,
        }
        return self._result

    def abort(self) -> None:
        """Drop the unfinished part file (a failed or cancelled task)."""
        for handle in (self._parquet, self._out):
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()
        self._parquet = None
        self._out = None
        with contextlib.suppress(OSError):
            os.remove(self._tmp)
        self._result = {"file": None, "rows": 0, "bytes": 0, "schema": None}

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    # -- parquet -----------------------------------------------------------------------------

    def _open_parquet(self, schema: pa.Schema) -> None:
        os.makedirs(self.folder, exist_ok=True)
        self._parquet = pq.ParquetWriter(
            self._tmp, schema, use_dictionary=_dictionary_columns(self._pending, schema)
        )
        self._parquet_schema = schema
        pending, self._pending = self._pending, []
        self._group: list[pa.Table] = []
        self._group_rows = 0
        for batch in pending:
            self._add_to_group(conform(batch, schema))

    def _add_to_group(self, table: pa.Table) -> None:
        self._group.append(table)
        self._group_rows += table.num_rows
        if self._group_rows >= _ROW_GROUP_ROWS:
            self._flush_group()

    def _flush_group(self) -> None:
        if self._group and self._parquet is not None:
            table = pa.concat_tables(self._group).combine_chunks()
            self._parquet.write_table(table, row_group_size=max(1, table.num_rows))
        self._group, self._group_rows = [], 0

    def _write_parquet(self, batch: pa.RecordBatch) -> None:
        batch = _parquet_ready(batch)
        if self._parquet is None:
            # Hold batches while a column is still all-null, so its real type can be learned.
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            has_null_type = any(pa.types.is_null(f.type) for f in batch.schema)
            if not has_null_type or self._pending_bytes > _PENDING_BYTES:
                schema = unify_schemas([b.schema for b in self._pending], step=self._step)
                self._open_parquet(schema)
            return
        schema = self._parquet_schema
        if batch.schema == schema:
            self._add_to_group(pa.Table.from_batches([batch]))
        else:
            self._add_to_group(self._conform(batch, schema))

    def _conform(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
        unified = unify_schemas([schema, batch.schema], step=self._step)
        try:
            if unified != schema:
                raise pa.ArrowInvalid("needs a wider type")
            table = conform(batch, schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            changed = [
                f"{a.name} ({a.type} then {b.type})"
                for a, b in zip(schema, batch.schema)
                if a.type != b.type
            ]
            raise SchemaError(
                "a field changes type within one shard of a parquet save: " + ", ".join(changed),
                step=self._step,
                location=self.file,
                hint="make every row hold one type per field (convert with int(), float() "
                "or str()), or save as jsonl",
            ) from None
        return table

    # -- text formats ------------------------------------------------------------------------

    def _open_text(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        self._out = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()

    def _sep(self) -> str:
        return "," if self.format == "csv" else "\t"

    def _write_header(self, schema: pa.Schema | None) -> None:
        if self._header_done or self.format not in ("csv", "tsv"):
            return
        self._header_done = True
        if schema is None:
            return
        names = [pa.array([name], type=pa.string()) for name in schema.names]
        self._out.write(self._render_lines(names, 1))  # type: ignore[union-attr]

    def _render_lines(self, cols: list[pa.Array], n: int) -> pa.Buffer | bytes:
        sep = self._sep()
        if self.format == "csv":
            cols = [_csv_quote(c, sep, len(cols) == 1) for c in cols]
        elif self.format == "tsv":
            bad = _first_match(cols, "\t\n\r")
            if bad is not None:
                raise OutputError(
                    f"a value holds a tab or line break, which TSV cannot hold: "
                    f"{truncate(repr(bad), 80)}",
                    location=self.file,
                    hint="save as csv (which quotes such values) or jsonl, "
                    "or replace the tabs and line breaks first",
                )
        return _lines(cols, sep, n)

    def _write_text(self, batch: pa.RecordBatch) -> None:
        if self._out is None:
            self._open_text()
            self._write_header(batch.schema)
        if not batch.num_rows:
            return
        assert self._out is not None
        if self.format == "jsonl":
            self._out.write(_jsonl_lines(batch))
            return
        cols = [_render(c) for c in batch.columns]
        self._out.write(self._render_lines(cols, batch.num_rows))

    def _os_error(self, err: OSError) -> OutputError:
        return OutputError(
            f"cannot write {self.file}: {err.strerror or err}",
            location=self.file,
            hint="check the free space and permissions of the output folder",
        )


def _jsonl_lines(batch: pa.RecordBatch) -> bytes:
    names = batch.schema.names
    cols = []
    for col in batch.columns:
        values = column_to_pylist(col)
        if isinstance(col.type, PyObjectType):
            values = [None if v is None else repr(v) for v in values]
        cols.append(values)
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    if not cols:
        return b"{}\n" * batch.num_rows
    text = "\n".join(encode(dict(zip(names, row))) for row in zip(*cols))
    return (text + "\n").encode("utf-8")
