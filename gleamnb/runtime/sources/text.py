"""The txt reader: one row per line, one string column ``_1``.

The fast path never makes a Python string per line: Arrow checks the UTF-8 of a whole chunk of
raw bytes at once (:func:`checked_utf8`), numpy finds the newlines, the line lengths give the
offsets, and the bytes without their line ends become the data buffer of an Arrow
``StringArray`` (``from_buffers``). Only a chunk that fails the check goes through Python's
codec (for ``errors="replace"`` / ``"ignore"``) or to the error path (``"strict"``). The csv,
tsv and jsonl readers check their chunks with the same :func:`checked_utf8`.

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

from gleamnb.errors import MalformedInputError, truncate
from gleamnb.runtime.sources.chunks import iter_chunks, lines_before
from gleamnb.runtime.sources.compression import compression_of
from gleamnb.runtime.sources.spec import FileSpec

__all__ = ["BATCH_ROWS", "Utf8Stream", "checked_utf8", "lines_to_array", "read_txt"]

BATCH_ROWS = 1 << 18
"""At most this many rows per batch (a chunk of short lines is sliced, without copying)."""

_INT32_MAX = (1 << 31) - 1


def lines_to_array(data: bytes) -> pa.Array:
    """The lines of ``data`` as an Arrow string array, without checking UTF-8.

    Parameters
    ----------
    data
        Whole lines: every line ends with ``\\n`` except maybe the last.
    """
    n_bytes = len(data)
    if n_bytes == 0:
        return pa.array([], type=pa.string())
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


def _is_valid_utf8(data: bytes) -> bool:
    # ``data`` as the one value of a string array: Arrow's full validation checks its UTF-8
    # without making a Python string.
    n = len(data)
    large = n > _INT32_MAX
    offsets = np.array([0, n], dtype=np.int64 if large else np.int32)
    cls = pa.LargeStringArray if large else pa.StringArray
    try:
        cls.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def checked_utf8(spec: FileSpec, path: str, offset: int, data: bytes) -> bytes:
    """``data`` if it is valid UTF-8, else as ``spec.errors`` says.

    Parameters
    ----------
    spec
        The source; ``spec.errors`` is ``"strict"``, ``"replace"`` or ``"ignore"``.
    path, offset
        The file and the (uncompressed) offset of ``data[0]``, for the error.
    data
        Whole lines of the file.

    Returns
    -------
    bytes
        ``data`` itself when valid; else decoded with the ``errors`` handler and encoded again
        (``replace``: each bad byte becomes U+FFFD; ``ignore``: bad bytes are dropped).

    Raises
    ------
    MalformedInputError
        With ``errors="strict"``: naming the file, the byte offset and the line.

    Examples
    --------
    >>> checked_utf8(FileSpec("txt", "a.txt", errors="replace"), "a.txt", 0, b"a\\xffb\\n")
    b'a\\xef\\xbf\\xbdb\\n'
    """
    if _is_valid_utf8(data):
        return data
    if spec.errors == "strict":
        raise _bad_utf8(path, offset, data)
    return data.decode("utf-8", spec.errors).encode("utf-8")


class Utf8Stream(io.RawIOBase):
    """A readable stream of a file (decompressed) whose bytes passed :func:`checked_utf8`.

    For readers that take a whole file as a stream (csv whose values hold newlines); the file
    is read by :func:`~gleamnb.runtime.sources.chunks.iter_chunks`, so errors name the byte
    offset and line.

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

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(checked_utf8(self._spec, self._path, *chunk))
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        self._chunks.close()
        super().close()


def _bad_utf8(path: str, offset: int, data: bytes) -> MalformedInputError:
    try:
        data.decode("utf-8")
        err_at = 0
    except UnicodeDecodeError as err:
        err_at = err.start
    at = offset + err_at
    line_start = data.rfind(b"\n", 0, err_at) + 1
    line_end = data.find(b"\n", err_at)
    line = data[line_start : line_end if line_end >= 0 else len(data)]
    line_no = lines_before(path, offset) + data.count(b"\n", 0, err_at) + 1
    unit = " (uncompressed)" if compression_of(path) else ""
    return MalformedInputError(
        f"invalid UTF-8 byte 0x{data[err_at]:02x} in {path} at byte {at}{unit}, line {line_no}",
        location=f"{path}@{at}",
        row=truncate(line.decode("utf-8", "replace")),
        hint='fix the file, or read it with errors="replace" (bad bytes become U+FFFD) '
        'or errors="ignore" (bad bytes are dropped)',
    )


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
