"""A byte range of a plain file as zero-copy Arrow buffers of whole lines: :class:`MappedFile`.

The same chunks of lines as :func:`~gleamnb.files.chunks.iter_chunks` (Hadoop's rule: a range
``[start, end)`` reads the lines whose first byte is in it; a byte-order mark at the start of
the file is dropped; a chunk holds about :data:`~gleamnb.files.chunks.CHUNK_BYTES` of lines,
or one longer line alone), but the file is memory-mapped: a chunk is an Arrow buffer over the
mapped pages, so no byte is copied before a parser reads it. Only plain (uncompressed) files
can be mapped; newlines and quotes are searched for in the mapping.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> _ = open(p, "wb").write(BOM + b"one\\ntwo\\nthree\\n")
>>> with MappedFile(p) as mapped:
...     [(o, mapped.buffer(o, e).to_pybytes()) for o, e in mapped.chunks(0, 9)]
[(3, b'one\\ntwo\\n')]
>>> with MappedFile(p) as mapped:
...     [(o, mapped.bytes(o, e)) for o, e in mapped.chunks(9, None, chunk_bytes=2)]
[(11, b'three\\n')]
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from types import TracebackType

import pyarrow as pa

from gleamnb.files.chunks import BOM, CHUNK_BYTES

__all__ = ["MappedFile"]


class MappedFile:
    """A plain file mapped into memory, read in chunks of whole lines.

    Parameters
    ----------
    path
        The file (uncompressed).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self._whole: pa.Buffer | None = None  # Arrow's view of the mapping, for the chunks
        self._map: mmap.mmap | None = None  # Python's, for the searches
        if self.size:
            with pa.memory_map(path, "r") as arrow:
                self._whole = arrow.read_buffer()
            with open(path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self.size = min(len(self._map), self._whole.size)

    def __enter__(self) -> MappedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Unmap the file (buffers handed out keep their own reference to the mapping)."""
        if self._map is not None:
            self._map.close()
            self._map = None
        self._whole = None

    def find(self, sub: bytes, start: int, end: int) -> int:
        """The offset of the first ``sub`` in ``[start, end)``, or -1."""
        return -1 if self._map is None else self._map.find(sub, start, end)

    def buffer(self, start: int, end: int) -> pa.Buffer:
        """The bytes ``[start, end)`` as an Arrow buffer over the mapping (no copy)."""
        if self._whole is None or end <= start:
            return pa.py_buffer(b"")
        return self._whole.slice(start, end - start)

    def bytes(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` as a copy (for the error paths)."""
        return b"" if self._map is None else self._map[start:end]

    def chunks(
        self, start: int = 0, end: int | None = None, *, chunk_bytes: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """The ``(offset, stop)`` bounds of the chunks of whole lines of ``[start, end)``.

        ``end=None`` reads to the end of the file.
        """
        mm, size = self._map, self.size
        if mm is None:
            return
        want = chunk_bytes or CHUNK_BYTES
        if start > 0:  # skip to just after the first newline at or after start - 1
            first = mm.find(b"\n", start - 1)
            if first < 0:
                return
            pos = first + 1
        else:
            pos = len(BOM) if mm[: len(BOM)] == BOM else 0
            if end is not None:  # the first line starts at 0, in the mark: it is this range's
                end = max(end, pos + 1)
        stop = size
        if end is not None:
            if pos >= end:
                return
            last = mm.find(b"\n", end - 1)  # the range's last line holds byte end - 1
            stop = size if last < 0 else last + 1
        while pos < stop:
            cut = stop
            if stop - pos > want:
                j = mm.rfind(b"\n", pos, pos + want)
                if j < 0:  # a line longer than a chunk: a chunk of its own
                    j = mm.find(b"\n", pos + want, stop)
                cut = stop if j < 0 else j + 1
            yield pos, cut
            pos = cut
