"""Lines in: a command's stdout cut into lines, and lines into record batches of strings.

The rules (LF ends a line, one CR before it is dropped, TAB splits fields, escapes undone, one
arity per step) are described in :mod:`gleamnb.runtime.pipe`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.errors import SchemaError, truncate
from gleamnb.plan.fields import positional_names

__all__ = ["BATCH_LINES", "BLOCK_BYTES", "LineParser", "slices"]

BATCH_LINES = 65536
"""Most lines of command output in one output record batch."""


BLOCK_BYTES = 1 << 20
"""How much of the output :meth:`LineParser.parse` scans at a time; no temporary is larger."""

_INT32_MAX = (1 << 31) - 1
# The byte an escape's second character stands for (0: not an escape).
_PLAIN = np.zeros(256, dtype=np.uint8)
_PLAIN[[ord("\\"), ord("t"), ord("n"), ord("r")]] = [ord("\\"), 9, 10, 13]


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
        data: bytes | bytearray | memoryview,
        *,
        first_line: int,
        command: str,
        source: str = "stdout",
        row: Callable[[], Any] | None = None,
    ) -> pa.RecordBatch | None:
        """Parse whole lines (the last may lack its LF); ``first_line`` numbers the first.

        ``source`` names where the lines come from in errors; ``row`` gives the input row.
        A writable ``data`` (a ``bytearray``) is taken over: the fields are made in its own
        memory, the separators and escapes squeezed out in place, so a huge line is not
        copied; other data is copied once.
        """
        buf = np.frombuffer(data, dtype=np.uint8)
        size = len(buf)
        if size == 0:
            return None
        seps, backslashes = _separators(buf)
        is_lf = buf[seps] == 10
        line_ends = np.flatnonzero(is_lf)  # where each line's LF is in ``seps``
        open_last = bool(buf[-1] != 10)
        bounds = np.empty(len(line_ends) + 1 + open_last, dtype=np.int64)  # lines end at LFs
        bounds[0] = -1
        bounds[1 : len(line_ends) + 1] = line_ends
        if open_last:
            bounds[-1] = len(seps)
        arities = np.diff(bounds)
        n = len(arities)
        if self.arity is None:
            self.arity = int(arities[0])
            self.arity_where = f"{source} line {first_line}"
        bad = np.flatnonzero(arities != self.arity)
        if bad.size:
            i = int(bad[0])
            start = int(seps[bounds[i]]) + 1 if i else 0
            stop = int(seps[bounds[i + 1]]) if i + 1 < n or not open_last else size
            if stop > start and buf[stop - 1] == 13:
                stop -= 1
            line = buf[start:stop].tobytes().decode("utf-8", "replace")
            raise self._arity_error(
                command, f"{source} line {first_line + i}", int(arities[i]), line, row
            )
        lfs = seps[line_ends]
        crs = lfs[lfs > 0] - 1
        crs = crs[buf[crs] == 13]  # one CR right before a LF is dropped
        if open_last and buf[-1] == 13:  # and at the end of a last line without LF
            crs = np.append(crs, size - 1)
        if not buf.flags.writeable:
            buf = buf.copy()
        ends, length = _squeeze(buf, seps, crs, backslashes)
        offsets = np.empty(len(ends) + 1 + open_last, dtype=np.int64)
        offsets[0] = 0
        offsets[1 : len(ends) + 1] = ends
        if open_last:
            offsets[-1] = length
        fields = pa.Array.from_buffers(
            pa.large_binary(),
            len(offsets) - 1,
            [None, pa.py_buffer(offsets), pa.py_buffer(buf)[:length]],
        )
        try:
            text = fields.cast(pa.large_string())
        except pa.ArrowInvalid:  # not UTF-8: replace the bad bytes, as documented
            text = pa.array(
                [b.decode("utf-8", "replace") for b in fields.to_pylist()], type=pa.large_string()
            )
        k = self.arity
        if k == 1:
            columns = [text]
        elif n == 1:  # the fields of one line are its columns as they lie
            columns = [text.slice(j, 1) for j in range(k)]
        else:
            columns = [text.take(pa.array(np.arange(j, n * k, k))) for j in range(k)]
        return pa.RecordBatch.from_arrays([_narrow(c) for c in columns], names=positional_names(k))

    def _arity_error(
        self, command: str, where: str, arity: int, line: str, row: Callable[[], Any] | None
    ) -> SchemaError:
        """The error for ``line`` (as printed), at ``where``, of ``arity`` fields."""
        return SchemaError(
            f"the output of pipe command {truncate(command, 120)!r} changes arity: "
            f"{self.arity_where} has {self.arity} field(s), {where} has {arity}",
            step=self.step,
            shard=self.shard,
            location=where,
            row=row() if row is not None else tuple(line.split("\t")),
            hint="make the command print the same number of tab-separated fields on every line",
        )


def _separators(buf: np.ndarray) -> tuple[np.ndarray, list[bool]]:
    """Where the TABs and LFs are in ``buf``, and which blocks hold a backslash."""
    found = []
    backslashes = []
    for at in range(0, len(buf), BLOCK_BYTES):
        block = buf[at : at + BLOCK_BYTES]
        mask = block == 9
        mask |= block == 10
        found.append(np.flatnonzero(mask) + at)
        np.equal(block, 92, out=mask)
        backslashes.append(bool(mask.any()))
    return np.concatenate(found), backslashes


def _squeeze(
    buf: np.ndarray, seps: np.ndarray, crs: np.ndarray, backslashes: list[bool]
) -> tuple[np.ndarray, int]:
    """Squeeze the separators, the dropped CRs and the escapes out of ``buf`` in place, a block
    at a time, undoing the escapes as a left-to-right scan does.

    Returns where each field ended by a separator ends, and the length of what is left.

    An escape is a backslash and one of ``\\ t n r`` after it: a run of backslashes pairs up
    from its start, and an odd one out escapes the byte after the run. An escape becomes its
    plain byte and loses its second byte; so the bytes left come before where they were, and
    each block is written over what is already read. The separators and CRs are never one
    of an escape's bytes, so escapes never cross a field.
    """
    size = len(buf)
    cuts = np.arange(0, size + BLOCK_BYTES, BLOCK_BYTES)
    sep_at = np.searchsorted(seps, cuts)
    cr_at = np.searchsorted(crs, cuts)
    ends = np.empty(len(seps), dtype=np.int64)
    written = 0
    carried = False  # the block's first byte is the second of an escape begun before it
    for b, at in enumerate(cuts[:-1].tolist()):
        block = buf[at : at + BLOCK_BYTES]
        block_seps = seps[sep_at[b] : sep_at[b + 1]] - at
        drops = [block_seps, crs[cr_at[b] : cr_at[b + 1]] - at]
        taken, carried = carried, False
        if taken:
            drops.append(np.zeros(1, dtype=np.int64))
        if backslashes[b]:
            seconds, carried = _escapes(block, buf, at, first_taken=taken)
            drops += seconds
        # Each list of drops is sorted: a field ends after the bytes left before its separator.
        before = np.arange(len(block_seps))
        for drop in drops[1:]:
            if len(drop):
                before += np.searchsorted(drop, block_seps)
        ends[sep_at[b] : sep_at[b + 1]] = written + block_seps - before
        dropped = sum(len(drop) for drop in drops)
        if dropped:
            keep = np.ones(len(block), dtype=bool)
            for drop in drops:
                keep[drop] = False
            buf[written : written + len(block) - dropped] = block[keep]
        elif written != at:
            buf[written : written + len(block)] = block
        written += len(block) - dropped
    return ends, written


def _escapes(
    block: np.ndarray, buf: np.ndarray, at: int, *, first_taken: bool
) -> tuple[list[np.ndarray], bool]:
    """Undo the escapes that start in ``block`` (``buf[at:]``), turning their first byte into
    the plain one; return where their second bytes are in the block (two sorted arrays: those
    of pairs of backslashes, the others), and whether the last one's is the next block's first
    byte. ``first_taken``: the block's first byte is the second byte of an escape begun before
    it."""
    slashes = np.flatnonzero(block == 92)
    if first_taken and slashes.size and slashes[0] == 0:
        slashes = slashes[1:]
    if not slashes.size:
        return [], False
    run_start = np.empty(len(slashes), dtype=bool)
    run_start[0] = True
    np.not_equal(np.diff(slashes), 1, out=run_start[1:])
    if run_start.all():  # no two backslashes side by side: each escapes the byte after it
        pairs, last = slashes[:0], slashes
    else:
        firsts = np.flatnonzero(run_start)
        lengths = np.diff(np.append(firsts, len(slashes)))
        in_run = np.arange(len(slashes)) - np.repeat(firsts, lengths)
        pairs = slashes[in_run % 2 == 1]  # the second backslash of a pair goes
        odd = lengths % 2 == 1
        last = slashes[firsts[odd] + lengths[odd] - 1]  # the odd one out escapes the next byte
    after = last + 1
    inside = after < len(block)
    nxt = np.zeros(len(last), dtype=np.uint8)
    nxt[inside] = block[after[inside]]
    if not inside.all() and at + len(block) < len(buf):
        nxt[~inside] = buf[at + len(block)]
    plain = _PLAIN[nxt]
    escape = plain != 0
    block[last[escape]] = plain[escape]
    second = after[escape]
    carried = bool(second.size) and int(second[-1]) == len(block)
    if carried:
        second = second[:-1]
    return [pairs, second], carried


def _narrow(column: pa.Array) -> pa.Array:
    """A ``large_string`` column as ``string`` (the data buffer kept) when it fits one."""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)
    size = int(offsets[column.offset + len(column)] - offsets[column.offset])
    return column.cast(pa.string()) if size <= _INT32_MAX else column


def slices(batch: pa.RecordBatch | None) -> Iterator[pa.RecordBatch]:
    """``batch`` cut into slices of at most :data:`BATCH_LINES` rows (none for None)."""
    if batch is None:
        return
    for start in range(0, batch.num_rows, BATCH_LINES):
        yield batch.slice(start, BATCH_LINES)
