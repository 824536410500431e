"""Read a byte range of a line-oriented file in chunks that end on a newline.

The rule that makes byte ranges tile a file without losing or repeating a line (Hadoop's): a
line belongs to the range that holds its first byte. So a range ``[start, end)`` with
``start > 0`` skips to just after the first ``\\n`` at a position ``>= start - 1``, and it
reads every line whose first byte is ``< end`` (its last line may run past ``end``).
A chunk is ``(offset, data)``: the file offset of ``data[0]`` and whole lines (the file's last
line may lack its ``\\n``): about :data:`CHUNK_BYTES` of them, or one longer line alone, read
into one buffer that is handed over as it is, so a line of gigabytes is in memory once. Line
numbers are not tracked while reading; error paths count them with :func:`lines_before`.

A UTF-8 byte-order mark (:data:`BOM`) at the start of a file is dropped, as Python's
``utf-8-sig`` codec and Polars do: the range that starts at 0 begins at offset 3 then, and
every reader (txt, csv, tsv, jsonl; compressed or not) and the inference from a file's start
see the same bytes. Arrow's CSV and JSON parsers drop a mark at the start of every buffer
they get, so the readers hand them :func:`keep_bom` of a chunk: a U+FEFF that starts a later
chunk (a line beginning with one) is data, whatever the chunk and shard boundaries.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> _ = open(p, "wb").write(b"one\\ntwo\\nthree\\n")
>>> list(iter_chunks(p, 0, 5)), list(iter_chunks(p, 5, None))
([(0, b'one\\ntwo\\n')], [(8, b'three\\n')])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gleamnb.errors import MalformedInputError
from gleamnb.files.compression import compression_of, open_stream

__all__ = ["BOM", "CHUNK_BYTES", "iter_chunks", "keep_bom", "lines_before", "read_head"]

BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte-order mark (U+FEFF), dropped from the start of a file."""

CHUNK_BYTES = 4 << 20
"""Bytes read at a time; a chunk holds about this much (or one line that is longer)."""


def _read(stream: Any, n: int, path: str) -> bytes:
    try:
        return stream.read(n)
    except OSError as err:
        raise _corrupt(path, err) from None


def _corrupt(path: str, err: OSError) -> MalformedInputError:
    return MalformedInputError(
        f"cannot read {path}: {err}",
        location=path,
        hint="check that the file is not truncated or corrupt "
        "(and that its extension matches its compression)",
    )


def iter_chunks(
    path: str, start: int = 0, end: int | None = None, *, chunk_bytes: int | None = None
) -> Iterator[tuple[int, bytes | bytearray]]:
    """Yield ``(offset, data)`` chunks of whole lines of the byte range ``[start, end)``.

    ``end=None`` reads to the end of the file. Compressed files are read whole (``start`` must
    be 0 and ``end`` None); offsets then count uncompressed bytes. A chunk holds about
    ``chunk_bytes`` (default :data:`CHUNK_BYTES`) of lines, or one line longer than that on its
    own. A chunk of more than twice ``chunk_bytes`` is a ``bytearray`` (the read buffer, handed
    over without a copy and never written to again), others are ``bytes``.
    """
    size = chunk_bytes or CHUNK_BYTES
    if compression_of(path) is not None and (start != 0 or end is not None):
        raise ValueError(f"a compressed file cannot be read by byte range: {path}")
    stream = open_stream(path)
    try:
        total = None if compression_of(path) else stream.size()
        yield from _Window(stream, path, size, total).chunks(start, end)
    finally:
        stream.close()


class _Window:
    """A reused read buffer: ``buf[:have]`` holds the file bytes from offset ``off``.

    Reading into one buffer (instead of joining and slicing new ``bytes``) leaves one copy
    per chunk: the ``bytes`` handed out.
    """

    def __init__(self, stream: Any, path: str, size: int, total: int | None) -> None:
        self.stream = stream
        self.path = path
        self.size = size
        self.total = total  # the file size when known: a small file gets a small buffer
        self.buf = bytearray()
        self.have = 0
        self.off = 0
        self.eof = False

    def fill(self) -> None:
        """Read up to ``size`` more bytes (sets ``eof`` at the end of the file)."""
        want = self.size
        if self.total is not None:
            want = min(want, max(self.total - self.off - self.have, 0) + 4096)
        room = len(self.buf) - self.have
        if room < want:
            self.buf.extend(bytes(want - room))
        try:
            n = self.stream.readinto(memoryview(self.buf)[self.have : self.have + want])
        except OSError as err:
            raise _corrupt(self.path, err) from None
        if n:
            self.have += n
        else:
            self.eof = True

    def drop(self, n: int) -> None:
        """Drop the first ``n`` bytes from the window."""
        if n < self.have:
            self.buf[: self.have - n] = self.buf[n : self.have]
        self.have -= n
        self.off += n

    def take(self, n: int) -> bytes | bytearray:
        """Hand out the first ``n`` bytes and drop them from the window.

        A chunk much longer than a read (a long line) is the buffer itself, cut to ``n``
        bytes; what follows it starts a new buffer. So a line of gigabytes is never copied.
        """
        buf = self.buf
        if n > 2 * self.size:
            self.buf = buf[n : self.have]
            del buf[n:]
            self.have -= n
            self.off += n
            return buf
        out = bytes(memoryview(buf)[:n])
        self.drop(n)
        return out

    def drop_bom(self) -> None:
        """Drop a byte-order mark at the start of the file."""
        while self.have < len(BOM) and not self.eof:
            self.fill()
        if self.have >= len(BOM) and self.buf.startswith(BOM):
            self.drop(len(BOM))

    def chunks(self, start: int, end: int | None) -> Iterator[tuple[int, bytes | bytearray]]:
        if start > 0:
            self.stream.seek(start - 1)
            self.off = start - 1
            while True:  # skip to just after the first newline at or after start - 1
                self.fill()
                i = self.buf.find(b"\n", 0, self.have)
                if i >= 0:
                    self.drop(i + 1)
                    break
                if self.eof:
                    return
                self.drop(self.have)
        else:
            self.drop_bom()
            if end is not None:  # the first line starts at 0, in the mark: it is this range's
                end = max(end, self.off + 1)
        # The search for the chunk's end has looked at buf[:scanned]; in the middle of the
        # range, scanned > 0 means the buffer starts with a line longer than a read.
        scanned = 0
        split = False  # the lines before the range's last line were handed out on their own
        while True:
            off, have = self.off, self.have
            if end is not None and off >= end:
                return
            if end is not None and off + have >= end:
                # The range's last line holds byte end - 1: the chunk ends at its newline.
                j = self.buf.find(b"\n", max(end - 1 - off, scanned), have)
                if j >= 0:
                    yield off, self.take(j + 1)
                    return
                scanned = have
                if not split and have >= 2 * self.size:
                    # A long last line: the lines before it are a chunk of their own.
                    split = True
                    i = self.buf.rfind(b"\n", 0, end - 1 - off) + 1
                    if i:
                        yield off, self.take(i)
                        scanned -= i
                        continue
            elif have >= self.size:
                # Whole lines up to the last newline; a long line ends at its first newline,
                # so it is a chunk of its own.
                find = self.buf.find if scanned else self.buf.rfind
                j = find(b"\n", scanned, have)
                if j >= 0:
                    yield off, self.take(j + 1)
                    scanned = 0
                    continue
                scanned = have
            if self.eof:
                if have:
                    yield off, self.take(have)
                return
            self.fill()


def keep_bom(data: bytes) -> bytes:
    """``data`` as given to Arrow's CSV and JSON parsers, so that they keep a leading U+FEFF.

    They drop a byte-order mark at the start of whatever they parse; by then the file's own
    mark is gone (:func:`iter_chunks`), so a chunk that starts with one holds it as data, and
    it gets a second mark for Arrow to drop (a copy, only then).

    >>> keep_bom(b"a,b\\n"), keep_bom(BOM + b"a\\n")
    (b'a,b\\n', b'\\xef\\xbb\\xbf\\xef\\xbb\\xbfa\\n')
    """
    return BOM + data if data.startswith(BOM) else data


def lines_before(path: str, offset: int) -> int:
    """The number of ``\\n`` bytes before ``offset`` (uncompressed) in ``path``.

    Error paths use it to turn a chunk offset into a 1-based line number.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(p, "wb").write(b"a\\nb\\nc\\n")
    >>> lines_before(p, 4)
    2
    """
    count = 0
    left = offset
    stream = open_stream(path)
    try:
        while left > 0:
            block = _read(stream, min(left, CHUNK_BYTES), path)
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    finally:
        stream.close()
    return count


def read_head(path: str, limit: int) -> bytes:
    """Up to ``limit`` bytes from the start of ``path`` (uncompressed), cut after the last
    whole line when the file is longer (a first line longer than ``limit`` is kept whole)."""
    chunks = iter_chunks(path, 0, None, chunk_bytes=limit)
    try:
        return next(chunks, (0, b""))[1]
    finally:
        chunks.close()
