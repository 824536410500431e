"""Shard pieces as Arrow IPC files: written by tasks, memory-mapped by their readers.

A task's output bucket is one **piece**: an Arrow IPC file. Readers memory-map it, so handing
a shard to the next task (or to the driver) copies nothing. Pieces live in shared memory
(``/dev/shm``) while the run's memory budget lasts and in a disk folder past it: the runner
gives each task an allowance of shared memory, and once a write would pass it the task's
:class:`FileSink` writes the rest of its buckets to the disk folder.

Examples
--------
>>> import tempfile, pyarrow as pa
>>> d = tempfile.mkdtemp()
>>> sink = FileSink(d, "s1-t0", buckets=1)
>>> sink.write(0, pa.record_batch({"_1": [1, 2, 3]}))
>>> [p.rows for p in sink.close()]
[3]
>>> read_piece(sink.close()[0].path).column(0).to_pylist()
[1, 2, 3]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa

from gleamnb.files.space import full_disk_errors
from gleamnb.rows import conform, empty_batch, empty_table, unify_schemas

__all__ = ["Piece", "FileSink", "FileInputs", "read_piece", "write_piece"]

COALESCE_ROWS = 32 * 1024

#: What a task's error says to do when a folder of shard data is full (a runner may say more).
FULL_HINT = "free space there, or let the runner write its shard data to another folder"


@dataclass(frozen=True)
class Piece:
    """One written bucket of one task: an Arrow IPC file.

    ``rest`` continues the bucket in a second file, on disk, when the task's allowance of
    shared memory ran out while it wrote the bucket: this file holds the rows written before.
    """

    path: str
    rows: int
    nbytes: int
    rest: Piece | None = None

    def files(self) -> list[Piece]:
        """This file and the ones continuing it, in row order (each without ``rest``)."""
        head = Piece(self.path, self.rows, self.nbytes)
        return [head, *self.rest.files()] if self.rest is not None else [head]


def read_piece(path: str) -> pa.Table:
    """The table in an IPC file, memory-mapped (zero-copy)."""
    with pa.memory_map(path, "r") as source:
        return pa.ipc.open_file(source).read_all()


def write_piece(path: str, table: pa.Table) -> Piece:
    """Write ``table`` as one piece (used for data the driver holds, e.g. ``from_arrow``).

    A full disk is a :class:`~gleamnb.errors.DiskFullError`; the half-written file is left
    for the caller to remove with the rest of the run's folder.
    """
    with full_disk_errors(path, table.nbytes, hint=FULL_HINT):
        sink = pa.OSFile(path, "wb")
        try:  # not the writer's own `with`: closing it after a failed write fails again
            writer = pa.ipc.new_file(sink, table.schema)
            writer.write_table(table)
            writer.close()
        finally:
            sink.close()
    return Piece(path, table.num_rows, os.path.getsize(path))


class _BucketFile:
    """One bucket's file; once the sink spills, the bucket continues in a file on disk."""

    def __init__(self, path: str, sink: FileSink, spilled: bool) -> None:
        self.path = path
        self.sink = sink
        self.spilled = spilled
        self.head: Piece | None = None  # the part written to shared memory, once spilled
        self.schema: pa.Schema | None = None
        self.writer: pa.ipc.RecordBatchFileWriter | None = None
        self.file: pa.OSFile | None = None
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.rows = 0
        self.size = 0  # bytes written to ``path`` so far
        self.empty_schema: pa.Schema | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            self.empty_schema = self.empty_schema or batch.schema
            return
        if self.pending and batch.schema != self.pending[0].schema:
            self.flush()
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        if self.pending_rows >= COALESCE_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = pa.Table.from_batches(self.pending)
        self.pending, self.pending_rows = [], 0
        self.sink.make_room(self, table.nbytes)
        with full_disk_errors(self.path, table.nbytes, hint=FULL_HINT):
            self._write(table)

    def _write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.schema = table.schema
            self.file = pa.OSFile(self.path, "wb")
            self.writer = pa.ipc.new_file(self.file, self.schema)
        elif table.schema != self.schema:
            assert self.schema is not None
            schema = unify_schemas([self.schema, table.schema])
            self._reopen_with(schema)
            table = conform(table, schema)
        assert self.writer is not None and self.file is not None
        self.writer.write_table(table.combine_chunks())
        self.rows += table.num_rows
        size = self.file.tell()
        self.sink.grew(self, size - self.size)
        self.size = size

    def _reopen_with(self, schema: pa.Schema) -> None:
        """Batches changed type mid-shard (null -> str, int -> float): rewrite what is written."""
        self.close_writer()
        written = read_piece(self.path)
        rewritten = conform(written, schema)
        os.unlink(self.path)
        self.schema = schema
        self.file = pa.OSFile(self.path, "wb")
        self.writer = pa.ipc.new_file(self.file, schema)
        self.writer.write_table(rewritten)

    def continue_at(self, path: str) -> None:
        """Finish the part written so far (in shared memory); write the rest at ``path``."""
        if self.writer is not None:
            with full_disk_errors(self.path, None, hint=FULL_HINT):
                self.close_writer()
            self.head = Piece(self.path, self.rows, os.path.getsize(self.path))
            self.rows = self.size = 0
        self.path = path
        self.spilled = True

    def close_writer(self) -> None:
        """Write the file's footer and close it (closed even when the footer fails)."""
        writer, self.writer = self.writer, None
        file, self.file = self.file, None
        try:
            if writer is not None:
                writer.close()
        finally:
            if file is not None:
                file.close()

    @property
    def known_schema(self) -> pa.Schema | None:
        if self.schema is not None:
            return self.schema
        return self.pending[0].schema if self.pending else self.empty_schema

    def close(self, schema: pa.Schema | None = None) -> Piece | None:
        """Finish the file; with no rows, write an empty one if a schema is known."""
        self.flush()
        wrote = self.writer is not None
        with full_disk_errors(self.path, None, hint=FULL_HINT):
            self.close_writer()
        if wrote:
            last = Piece(self.path, self.rows, os.path.getsize(self.path))
            return replace(self.head, rest=last) if self.head is not None else last
        if self.head is not None:
            return self.head
        schema = self.empty_schema or schema
        if schema is None:
            return None
        return write_piece(self.path, empty_table(schema))

    def remove(self) -> None:
        """Drop the files; never raises (a full disk fails closing the writer again)."""
        with contextlib.suppress(OSError):
            self.close_writer()
        for path in (self.path, self.head.path if self.head else None):
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)


class FileSink:
    """A :class:`~gleamnb.runtime.stage.BucketSink` writing one IPC file per bucket.

    Small batches are coalesced (to about 32k rows) so readers get few, large batches.

    Parameters
    ----------
    directory, prefix
        Bucket ``b`` is written to ``{directory}/{prefix}-b{b}.arrow``.
    buckets
        Number of buckets.
    spill_dir, allowance
        With both given, at most ``allowance`` bytes go to ``directory`` (shared memory):
        once a write would pass it, the sink spills, and every bucket it writes from then on
        continues in a file in ``spill_dir`` (the returned piece's ``rest``).

    Examples
    --------
    >>> import tempfile, pyarrow as pa
    >>> mem, disk = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> sink = FileSink(mem, "s0-t0", buckets=2, spill_dir=disk, allowance=400_000)
    >>> sink.write(0, pa.record_batch({"_1": list(range(40_000))}))  # 320 kB: fits
    >>> sink.write(0, pa.record_batch({"_1": list(range(40_000))}))  # 320 kB more: spills
    >>> sink.write(1, pa.record_batch({"_1": [1, 2]}))
    >>> zero, one = sink.close()
    >>> [(f.rows, f.path.startswith(disk)) for f in zero.files()]
    [(40000, False), (40000, True)]
    >>> [(f.rows, f.path.startswith(disk)) for f in one.files()]
    [(2, True)]
    """

    def __init__(
        self,
        directory: str,
        prefix: str,
        buckets: int,
        *,
        spill_dir: str | None = None,
        allowance: int | None = None,
    ) -> None:
        self.directory = directory
        self.prefix = prefix
        self.spill_dir = spill_dir
        self.allowance = allowance if spill_dir is not None else None
        self.in_memory = 0  # bytes written to ``directory``
        self.spilling = False
        self.files: list[_BucketFile | None] = [None] * buckets
        self._closed: list[Piece | None] | None = None

    def write(self, bucket: int, batch: pa.RecordBatch) -> None:
        f = self.files[bucket]
        if f is None:
            f = self.files[bucket] = self._file(bucket)
        f.add(batch)

    def make_room(self, f: _BucketFile, nbytes: int) -> None:
        """Before ``nbytes`` go to ``f``: past the allowance, ``f`` goes on in ``spill_dir``."""
        if f.spilled or self.allowance is None:
            return
        if not self.spilling and self.in_memory + nbytes <= self.allowance:
            return
        self.spilling = True
        assert self.spill_dir is not None
        f.continue_at(os.path.join(self.spill_dir, os.path.basename(f.path)))

    def grew(self, f: _BucketFile, nbytes: int) -> None:
        if not f.spilled:
            self.in_memory += nbytes

    def close(self) -> list[Piece | None]:
        """Finish every bucket file.

        A bucket that got no rows still gets an empty piece carrying the fields' names and
        types when any batch (even an empty one) showed them; otherwise it has no piece.
        """
        if self._closed is None:
            known = next((f.known_schema for f in self.files if f and f.known_schema), None)
            out: list[Piece | None] = []
            for bucket, f in enumerate(self.files):
                if f is None and known is not None:
                    f = self.files[bucket] = self._file(bucket)
                out.append(f.close(known) if f is not None else None)
            self._closed = out
        return self._closed

    def _file(self, bucket: int) -> _BucketFile:
        folder = self.directory
        if self.spilling and self.spill_dir is not None:
            folder = self.spill_dir
        path = os.path.join(folder, f"{self.prefix}-b{bucket}.arrow")
        return _BucketFile(path, self, spilled=folder != self.directory)

    def abort(self) -> None:
        """Drop what was written (the task failed): nothing half-written survives.

        It never raises, so the task's own error (a full disk, say) is the one reported.
        """
        for f in self.files:
            if f is not None:
                f.remove()


class FileInputs:
    """:class:`~gleamnb.runtime.context.Inputs` over pieces on disk or in shared memory."""

    def __init__(self, pieces: Sequence[Sequence[str]]) -> None:
        self.paths = pieces

    def count(self) -> int:
        return len(self.paths)

    def pieces(self, k: int) -> list[pa.Table]:
        return [read_piece(p) for p in self.paths[k]]

    def batches(self, k: int) -> Iterator[pa.RecordBatch]:
        for path in self.paths[k]:
            table = read_piece(path)
            if table.num_rows:
                yield from table.to_batches()
            elif len(table.schema):
                yield empty_batch(table.schema)
