"""The base of the text formats' writers: one file of encoded lines, an optional header."""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import pyarrow as pa

from gleamnb.runtime.save.writer import ShardWriter

__all__ = ["TextShardWriter"]


class TextShardWriter(ShardWriter):
    """A part written as lines of text; subclasses encode the batches (and a header).

    The file is opened at the first batch, even an empty one, so that a header has the
    fields' names; a shard without batches gets the header of the known schema, if any.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._out: BinaryIO | None = None

    def _encode(self, batch: pa.RecordBatch) -> pa.Buffer | bytes:
        """The lines of the rows of ``batch`` (at least one row)."""
        raise NotImplementedError

    def _header(self, schema: pa.Schema) -> pa.Buffer | bytes | None:
        """The line naming the fields, for the formats that have one."""
        return None

    def _open(self, schema: pa.Schema | None) -> BinaryIO:
        os.makedirs(self.folder, exist_ok=True)
        out = self._out = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        header = self._header(schema) if schema is not None else None
        if header is not None:
            out.write(header)
        return out

    def _write(self, batch: pa.RecordBatch) -> None:
        out = self._out if self._out is not None else self._open(batch.schema)
        if batch.num_rows:
            out.write(self._encode(batch))

    def _finish(self) -> None:
        out = self._out if self._out is not None else self._open(self._schema)
        out.close()

    def _discard(self) -> None:
        out, self._out = self._out, None
        if out is not None:
            out.close()
