"""csv, tsv and txt parts: each field rendered as text, the fields joined by a separator.

A field is written as ``str(value)``, None as an empty field, a Python-object field as its
``repr``. csv quotes where needed; tsv cannot quote, so a value holding a tab or line break is
an error; txt joins the fields by tabs, without a header. csv and tsv start with a header line
of the field names unless the save says ``header=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pyarrow as pa

from gleamnb.errors import OutputError, truncate
from gleamnb.rows import PyObjectType, column_to_pylist
from gleamnb.runtime.buffers import offsets_of
from gleamnb.runtime.save.text import TextShardWriter

__all__ = ["DelimitedShardWriter", "CsvShardWriter", "TsvShardWriter", "TxtShardWriter"]


class DelimitedShardWriter(TextShardWriter):
    """Rendered fields joined by ``separator``; a header line of the names if the format has
    one (``has_header``) and the save asks for it (``header``)."""

    separator: ClassVar[str] = "\t"
    has_header: ClassVar[bool] = False

    def _cells(self, cols: list[pa.Array]) -> list[pa.Array]:
        """The rendered columns as the format writes them (quoted, checked)."""
        return cols

    def _lines(self, cols: list[pa.Array], n: int) -> pa.Buffer | bytes:
        return _join_lines(self._cells(cols), self.separator, n)

    def _header(self, schema: pa.Schema) -> pa.Buffer | bytes | None:
        if not (self.has_header and self.header):
            return None
        return self._lines([pa.array([name], type=pa.string()) for name in schema.names], 1)

    def _encode(self, batch: pa.RecordBatch) -> pa.Buffer | bytes:
        return self._lines([_render(c) for c in batch.columns], batch.num_rows)


class CsvShardWriter(DelimitedShardWriter, format="csv"):
    """One shard's csv part: a header, values quoted where they hold ``"``, ``,`` or a break."""

    separator = ","
    has_header = True

    def _cells(self, cols: list[pa.Array]) -> list[pa.Array]:
        return [_csv_quote(c, self.separator, len(cols) == 1) for c in cols]


class TsvShardWriter(DelimitedShardWriter, format="tsv"):
    """One shard's tsv part: a header, no quoting (a tab or line break in a value is an error)."""

    has_header = True

    def _cells(self, cols: list[pa.Array]) -> list[pa.Array]:
        bad = _first_match(cols, "\t\n\r")
        if bad is not None:
            raise OutputError(
                f"a value holds a tab or line break, which TSV cannot hold: "
                f"{truncate(repr(bad), 80)}",
                location=self.file,
                hint="save as csv (which quotes such values) or jsonl, "
                "or replace the tabs and line breaks first",
            )
        return cols


class TxtShardWriter(DelimitedShardWriter, format="txt"):
    """One shard's txt part: the fields joined by tabs, no header."""


def _render(col: pa.Array) -> pa.Array:
    """A column as strings (``str(value)``; repr for Python objects), nulls as ``""``."""
    import pyarrow.compute as pc

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
    import pyarrow.compute as pc

    needs = pc.match_substring(col, '"')
    for ch in (sep, "\n", "\r"):
        needs = pc.or_(needs, pc.match_substring(col, ch))
    if single:  # a lone empty field would read back as an empty line, which is skipped
        needs = pc.or_(needs, pc.equal(col, ""))
    if not pc.any(needs).as_py():
        return col
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, col)


def _join_lines(cols: Sequence[pa.Array], sep: str, n: int) -> pa.Buffer | bytes:
    """The bytes of ``n`` lines: the columns joined by ``sep``, each line ending in ``\\n``."""
    import pyarrow.compute as pc

    if not cols:
        return b"\n" * n
    joined = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, sep)
    # one list of the lines and an empty last one, joined by line ends: Arrow copies the
    # values one after the other (2.5 times as fast as appending "\n" to each of them)
    ends = np.empty(n + 2, dtype=np.int32)
    ends[:-1] = offsets_of(joined)
    ends[-1] = ends[-2]
    data = joined.buffers()[2] or pa.py_buffer(b"")
    values = pa.StringArray.from_buffers(n + 1, pa.py_buffer(ends), data)
    one = pa.ListArray.from_arrays(pa.array([0, n + 1], type=pa.int32()), values)
    text = pc.binary_join(one, "\n")
    return text[0].as_buffer()


def _first_match(cols: Sequence[pa.Array], chars: str) -> str | None:
    import pyarrow.compute as pc

    for col in cols:
        mask = pc.match_substring(col, chars[0])
        for ch in chars[1:]:
            mask = pc.or_(mask, pc.match_substring(col, ch))
        if pc.any(mask).as_py():
            return col.filter(mask)[0].as_py()
    return None
