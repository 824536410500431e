"""The base of every format's writer: one shard's part file, from its first batch to its end.

A part is written under its in-progress name and renamed when complete; a failure removes it.
Each format's writer subclasses :class:`ShardWriter` naming its format, and says how batches
become bytes (``_write``), how the file ends (``_finish``) and how an open file is dropped
(``_discard``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, ClassVar

import pyarrow as pa

from gleamnb.errors import OutputError, SchemaError
from gleamnb.files.saves import check_format, in_progress_name, part_name
from gleamnb.files.space import disk_full
from gleamnb.rows import unify_schemas

__all__ = ["ShardWriter"]


class ShardWriter:
    """Write one shard of a ``save`` as ``<path>/part-<shard>.<format>``.

    ``ShardWriter(path, format, shard)`` makes the writer of that format (a subclass).

    Parameters
    ----------
    path
        The output folder (made by :func:`~gleamnb.files.saves.prepare_output`;
        created here if missing).
    format
        ``parquet``, ``csv``, ``tsv``, ``txt`` or ``jsonl``.
    shard
        The shard index, used in the part name. Errors name the part file; the task that
        runs the writer adds the shard as ``i/n``, as for every other step.
    schema
        The dataset's schema if known: an empty shard then still writes a parquet file with
        that schema, or a CSV/TSV header.
    header
        csv/tsv: start with a line of the field names (the other formats have none).

    Examples
    --------
    >>> import os, tempfile
    >>> out = tempfile.mkdtemp()
    >>> with ShardWriter(out, "jsonl", 1) as w:
    ...     w.write(pa.record_batch({"k": ["a"], "v": [1.5]}))
    >>> type(w).__name__
    'JsonlShardWriter'
    >>> open(os.path.join(out, "part-00001.jsonl")).read()
    '{"k": "a", "v": 1.5}\\n'
    """

    format: ClassVar[str]
    _by_format: ClassVar[dict[str, type[ShardWriter]]] = {}

    def __init_subclass__(cls, *, format: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if format is not None:
            cls.format = check_format(format)
            ShardWriter._by_format[format] = cls

    def __new__(
        cls,
        path: str | os.PathLike[str],
        format: str,
        shard: int,
        *,
        schema: pa.Schema | None = None,
        header: bool = True,
    ) -> ShardWriter:
        if cls is ShardWriter:
            cls = ShardWriter._by_format[check_format(format)]
        return super().__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str,
        shard: int,
        *,
        schema: pa.Schema | None = None,
        header: bool = True,
    ) -> None:
        self.folder = os.fspath(path)
        self.header = header
        self.shard = shard
        self.file = os.path.join(self.folder, part_name(shard, self.format))
        self._tmp = os.path.join(self.folder, in_progress_name(shard, self.format))
        self._schema = schema
        self._step = f"save to {self.folder}"
        self._fields: pa.Schema | None = None
        self._rows = 0
        self._result: dict[str, Any] | None = None

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
            self._write(batch)
            if batch.num_rows:
                # text formats keep no types: check here that a field keeps one
                known = [self._fields] if self._fields is not None else []
                self._fields = unify_schemas([*known, batch.schema], step=self._step)
        except (OutputError, SchemaError) as err:
            self.abort()
            raise err.with_context(location=self.file) from None
        except OSError as err:
            error = self._os_error(err, batch.nbytes)  # the free space before abort frees some
            self.abort()
            raise error from None
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
            self._finish()
            os.replace(self._tmp, self.file)
        except OSError as err:
            error = self._os_error(err)
            self.abort()
            raise error from None
        self._result = {
            "file": self.file,
            "rows": self._rows,
            "bytes": os.path.getsize(self.file),
            "schema": self._fields,
        }
        return self._result

    def abort(self) -> None:
        """Drop the unfinished part file (a failed or cancelled task)."""
        with contextlib.suppress(Exception):
            self._discard()
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

    # -- what each format says -----------------------------------------------------------------

    def _write(self, batch: pa.RecordBatch) -> None:
        """Write (or hold) the rows of ``batch``, opening the in-progress file when needed."""
        raise NotImplementedError

    def _finish(self) -> None:
        """Write what is held and close the in-progress file (made now if none was)."""
        raise NotImplementedError

    def _discard(self) -> None:
        """Close the in-progress file, if one is open, without finishing it."""
        raise NotImplementedError

    def _os_error(self, err: OSError, nbytes: int | None = None) -> OutputError:
        """The error for ``err``; a full disk names the bytes of the write that failed."""
        full = disk_full(
            err,
            self.file,
            nbytes,
            hint=f"free space in {self.folder}, or save to a folder on a disk with more room",
        )
        if full is not None:
            return full
        return OutputError(
            f"cannot write {self.file}: {err.strerror or err}",
            location=self.file,
            hint="check the free space and permissions of the output folder",
        )
