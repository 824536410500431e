"""The txt reader: one row per line, one string column ``_1``.

The fast path never makes a Python string per line: Arrow checks the UTF-8 of a whole chunk of
raw bytes at once (:func:`~gleamnb.files.utf8.checked_utf8`, as the csv, tsv and jsonl readers
do), numpy finds the newlines, the line lengths give the offsets, and the bytes without their
line ends become the data buffer of an Arrow ``StringArray`` (``from_buffers``).

A line is the bytes up to a ``\\n``; the ``\\n`` and one ``\\r`` right before it are dropped.
A last line without ``\\n`` counts.

Examples
--------
>>> lines_to_array(b"one\\r\\ntwo\\n\\nlast").to_pylist()
['one', 'two', '', 'last']
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from gleamnb.files.chunks import iter_chunks, keep_bom
from gleamnb.files.spec import FileSpec
from gleamnb.files.utf8 import checked_utf8

__all__ = ["BATCH_ROWS", "Utf8Stream", "lines_to_array", "read_txt"]

BATCH_ROWS = 1 << 18
"""At most this many rows per batch (a chunk of short lines is sliced, without copying)."""

_INT32_MAX = (1 << 31) - 1


def lines_to_array(data: bytes | bytearray) -> pa.Array:
    """The lines of ``data`` as an Arrow string array, without checking UTF-8.

    One line is not copied: ``data`` itself is the array's data buffer.

    Parameters
    ----------
    data
        Whole lines: every line ends with ``\\n`` except maybe the last.
    """
    n_bytes = len(data)
    if n_bytes == 0:
        return pa.array([], type=pa.string())
    first = data.find(b"\n")
    if first < 0 or first == n_bytes - 1:
        return _one_line(data, first)
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    n_nl = len(newlines)
    open_last = n_nl == 0 or newlines[-1] != n_bytes - 1
    n = n_nl + int(open_last)
    # The data buffer is ``data`` without its line ends, so line i ends at its newline's
    # position minus the i newlines (and the carriage returns) dropped before it.
    ends = newlines - np.arange(n_nl)
    crs = False
    if n_nl and data.find(b"\r") >= 0:
        has_cr = raw[np.maximum(newlines - 1, 0)] == 13
        if has_cr.any():
            ends -= np.cumsum(has_cr)
            crs = True
    if crs:
        payload = data.replace(b"\r\n", b"\n").replace(b"\n", b"")
    else:
        payload = data.replace(b"\n", b"") if n_nl else data
    large = len(payload) > _INT32_MAX
    offsets = np.empty(n + 1, dtype=np.int64 if large else np.int32)
    offsets[0] = 0
    offsets[1 : n_nl + 1] = ends
    if open_last:
        offsets[n] = len(payload)
    cls = pa.LargeStringArray if large else pa.StringArray
    return cls.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(payload))


def _one_line(data: bytes | bytearray, newline: int) -> pa.Array:
    """``data``, one line whose ``\\n`` (if any) is at ``newline``, as a one-row array whose
    data buffer is ``data`` (the line end lies past the value's end)."""
    stop = len(data)
    if newline >= 0:
        stop = newline - (newline > 0 and data[newline - 1] == 13)
    large = stop > _INT32_MAX
    offsets = np.array([0, stop], dtype=np.int64 if large else np.int32)
    cls = pa.LargeStringArray if large else pa.StringArray
    return cls.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data))


class Utf8Stream(io.RawIOBase):
    """A readable stream of a file (decompressed) whose bytes passed
    :func:`~gleamnb.files.utf8.checked_utf8`.

    For readers that take a whole file as a stream (csv whose values hold newlines); the file
    is read by :func:`~gleamnb.files.chunks.iter_chunks`, so errors name the byte
    offset and line, and its byte-order mark is dropped (a U+FEFF after it is kept from
    Arrow's own dropping by :func:`~gleamnb.files.chunks.keep_bom`).

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(p, "wb").write(b"a\\xff\\n")
    >>> Utf8Stream(FileSpec("txt", p, errors="ignore"), p).read()
    b'a\\n'
    """

    def __init__(self, spec: FileSpec, path: str) -> None:
        super().__init__()
        self._spec = spec
        self._path = path
        self._chunks = iter_chunks(path)
        self._left = memoryview(b"")
        self._first = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # Fill the whole buffer: Arrow takes each read as a block, and a short read at a
        # chunk's end would make a block that a multi-line value can straddle.
        filled = 0
        while filled < len(buffer):
            if not self._left:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                data = checked_utf8(self._spec, self._path, *chunk)
                self._left = memoryview(keep_bom(data) if self._first else data)
                self._first = False
            n = min(len(buffer) - filled, len(self._left))
            buffer[filled : filled + n] = self._left[:n]
            self._left = self._left[n:]
            filled += n
        return filled

    def close(self) -> None:
        self._chunks.close()
        super().close()


def read_txt(
    spec: FileSpec, path: str, start: int = 0, end: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Batches of the lines of ``path`` whose first byte lies in ``[start, end)``.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(p, "wb").write(b"alpha\\nbeta\\n")
    >>> [b.to_pydict() for b in read_txt(FileSpec("txt", p), p)]
    [{'_1': ['alpha', 'beta']}]
    """
    for offset, data in iter_chunks(path, start, end):
        array = lines_to_array(checked_utf8(spec, path, offset, data))
        for lo in range(0, len(array), BATCH_ROWS):
            piece = array.slice(lo, BATCH_ROWS)
            yield pa.RecordBatch.from_arrays([piece], names=["_1"])
