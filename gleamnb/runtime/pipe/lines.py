"""Lines in: a command's stdout cut into lines, and lines into record batches of strings.

The rules (LF ends a line, one CR before it is dropped, TAB splits fields, escapes undone, one
arity per step) are described in :mod:`gleamnb.runtime.pipe`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gleamnb.errors import SchemaError, truncate
from gleamnb.plan.fields import positional_names

__all__ = ["BATCH_LINES", "LineParser", "slices"]

BATCH_LINES = 65536
"""Most lines of command output in one output record batch."""


class LineParser:
    """Cuts a command's stdout into lines and lines into string fields, checking the arity.

    Examples
    --------
    >>> parser = LineParser(step="pipe", shard=0)
    >>> parser.parse(b"a\\tb\\t1\\r\\nc\\td\\t2", first_line=1, command="cat").to_pylist()
    [{'_1': 'a', '_2': 'b', '_3': '1'}, {'_1': 'c', '_2': 'd', '_3': '2'}]
    """

    def __init__(self, *, step: str | None, shard: Any) -> None:
        self.step = step
        self.shard = shard
        self.arity: int | None = None
        self.arity_where = ""

    def parse(
        self,
        data: bytes | memoryview,
        *,
        first_line: int,
        command: str,
        source: str = "stdout",
        row: Callable[[], Any] | None = None,
    ) -> pa.RecordBatch | None:
        """Parse whole lines (the last may lack its LF); ``first_line`` numbers the first.

        ``source`` names where the lines come from in errors; ``row`` gives the input row.
        """
        buf = np.frombuffer(data, dtype=np.uint8)
        size = len(buf)
        if size == 0:
            return None
        newlines = np.flatnonzero(buf == 10)
        ends = newlines if buf[-1] == 10 else np.append(newlines, size)
        n = len(ends)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        keep = np.ones(size, dtype=bool)
        keep[newlines] = False
        if has_cr.any():
            keep[ends[has_cr] - 1] = False
            ends = ends - has_cr
        values = buf[keep]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=offsets[1:])

        tabs = np.flatnonzero(values == 9)
        arities = np.diff(np.searchsorted(tabs, offsets)) + 1
        if self.arity is None:
            self.arity = int(arities[0])
            self.arity_where = f"{source} line {first_line}"
        bad = np.flatnonzero(arities != self.arity)

        lines = pa.Array.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(values)]
        )
        try:
            text = lines.cast(pa.large_string())
        except pa.ArrowInvalid:  # not UTF-8: replace the bad bytes, as documented
            text = pa.array(
                [b.decode("utf-8", "replace") for b in lines.to_pylist()], type=pa.large_string()
            )
        if bad.size:
            i = int(bad[0])
            line = text[i].as_py()
            where = f"{source} line {first_line + i}"
            raise SchemaError(
                f"the output of pipe command {truncate(command, 120)!r} changes arity: "
                f"{self.arity_where} has {self.arity} field(s), {where} has {arities[i]}",
                step=self.step,
                shard=self.shard,
                location=where,
                row=row() if row is not None else tuple(line.split("\t")),
                hint="make the command print the same number of tab-separated fields on every line",
            )
        k = self.arity
        if k == 1:
            columns = [text]
        else:
            fields = pc.list_flatten(pc.split_pattern(text, "\t"))
            columns = [fields.take(pa.array(np.arange(j, n * k, k))) for j in range(k)]
        if (values == 92).any():  # a backslash somewhere: undo the escapes
            columns = [_unescape_column(c) for c in columns]
        return pa.RecordBatch.from_arrays(
            [c.cast(pa.string()) for c in columns], names=positional_names(k)
        )


def _unescape_column(column: pa.Array) -> pa.Array:
    """``column`` with the four escapes undone, scanning each value left to right.

    Cutting at every ``\\\\`` pair first (leftmost pairs, as a left-to-right scan takes them)
    leaves single backslashes only; in the pieces, ``\\t``, ``\\n`` and ``\\r`` are escapes,
    and joining the pieces with one backslash undoes the pairs.
    """
    if not pc.any(pc.match_substring(column, "\\")).as_py():
        return column
    pieces = pc.split_pattern(column, "\\\\")
    flat = pieces.flatten()
    for escape, plain in (("\\t", "\t"), ("\\n", "\n"), ("\\r", "\r")):
        flat = pc.replace_substring(flat, escape, plain)
    rebuilt = type(pieces).from_arrays(pieces.offsets, flat)
    return pc.binary_join(rebuilt, pa.scalar("\\", column.type))


def slices(batch: pa.RecordBatch | None) -> Iterator[pa.RecordBatch]:
    """``batch`` cut into slices of at most :data:`BATCH_LINES` rows (none for None)."""
    if batch is None:
        return
    for start in range(0, batch.num_rows, BATCH_LINES):
        yield batch.slice(start, BATCH_LINES)
