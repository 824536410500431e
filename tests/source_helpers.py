"""Helpers for the file-source tests: write files, read a source through its splits, and the
plain-Python reference for lines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from gleamnb.files import FileSpec, default_shards, list_files
from gleamnb.rows import batch_to_rows
from gleamnb.runtime.sources import read_split
from gleamnb.scan import plan_splits

__all__ = ["ref_lines", "read_shards", "read_rows", "read_batches", "write", "typed"]


def ref_lines(data: bytes) -> list[str]:
    """The lines of ``data`` by plain Python: split on \\n, drop one \\r before each \\n."""
    if not data:
        return []
    pieces = data.split(b"\n")
    ended = data.endswith(b"\n")
    if ended:
        pieces.pop()
    out = []
    for i, piece in enumerate(pieces):
        has_newline = i < len(pieces) - 1 or ended
        if has_newline and piece.endswith(b"\r"):
            piece = piece[:-1]
        out.append(piece.decode("utf-8"))
    return out


def read_shards(spec: FileSpec, shards: int | None = None) -> list[list[tuple]]:
    files = list_files(spec)
    n = shards if shards is not None else default_shards(spec, files)
    plan = plan_splits(spec, files, n)
    assert len(plan) == n
    out = []
    for shard in plan:
        rows: list[tuple] = []
        for split in shard:
            for batch in read_split(spec, split):
                rows.extend(batch_to_rows(batch))
        out.append(rows)
    return out


def read_rows(spec: FileSpec, shards: int | None = None) -> list[tuple]:
    return [row for shard in read_shards(spec, shards) for row in shard]


def read_batches(spec: FileSpec, shards: int | None = None) -> list[pa.RecordBatch]:
    files = list_files(spec)
    plan = plan_splits(spec, files, shards or default_shards(spec, files))
    return [b for shard in plan for split in shard for b in read_split(spec, split)]


def write(path: Path, data: bytes | str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return str(path)


def typed(rows: list[list[str]], kinds: list[type]) -> list[tuple]:
    out = []
    for row in rows:
        out.append(tuple(None if v == "" and k is not str else k(v) for v, k in zip(row, kinds)))
    return out
