"""``take`` from data in several chunks without joining the chunks into one copy.

Arrow's ``take`` on a chunked column or table concatenates its chunks on every call: taking
28 rows of a 125 MB column in 20 chunks copies the 125 MB first (19 ms). Here each chunk is
taken from on its own, and the pieces are put back in the asked order with a second, small
take.

Examples
--------
>>> import numpy as np, pyarrow as pa
>>> col = pa.chunked_array([["a", "b"], ["c"], ["d", "e"]])
>>> ChunkedGather(col).take(np.array([4, 0, 2, 2])).to_pylist()
['e', 'a', 'c', 'c']
>>> t = pa.table({"x": col})
>>> ChunkedGather(t).take(np.array([3, 1])).column(0).to_pylist()
['d', 'b']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["ChunkedGather"]


class ChunkedGather:
    """Repeated ``take`` from one table or chunked column, chunk by chunk.

    A table's takes give tables, a column's give arrays (one chunk).
    """

    def __init__(self, data: pa.Table | pa.ChunkedArray) -> None:
        self.data = data
        self.chunks: list[pa.RecordBatch] | list[pa.Array] = (
            data.to_batches() if isinstance(data, pa.Table) else list(data.chunks)
        )
        sizes = [len(c) for c in self.chunks]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def take(self, indices: np.ndarray | pa.Array) -> pa.Table | pa.Array:
        """The rows at ``indices`` (int64 row numbers), in that order."""
        if isinstance(indices, pa.Array):
            indices = indices.to_numpy(zero_copy_only=False)
        idx = np.asarray(indices).astype(np.int64, copy=False)
        if len(self.chunks) <= 1:
            if isinstance(self.data, pa.Table) or not self.chunks:
                got = self.data.take(pa.array(idx, type=pa.int64()))
                return got if isinstance(got, pa.Table) else got.combine_chunks()
            return self.chunks[0].take(pa.array(idx, type=pa.int64()))
        chunk = np.searchsorted(self.starts, idx, side="right") - 1
        by_chunk = np.argsort(chunk, kind="stable")
        local = idx[by_chunk] - self.starts[chunk[by_chunk]]
        ends = np.cumsum(np.bincount(chunk, minlength=len(self.chunks)))
        parts = []
        begin = 0
        for c, end in enumerate(ends.tolist()):
            if end > begin:
                parts.append(self.chunks[c].take(pa.array(local[begin:end])))
            begin = end
        back = np.empty(len(idx), dtype=np.int64)
        back[by_chunk] = np.arange(len(idx), dtype=np.int64)
        if isinstance(self.data, pa.Table):
            gathered = pa.Table.from_batches(parts, schema=self.data.schema).combine_chunks()
            return gathered.take(pa.array(back))
        if not parts:
            return pa.array([], type=self.data.type)
        return pa.concat_arrays(parts).take(pa.array(back))
