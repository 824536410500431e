"""jsonl parts: one JSON object per row, keyed by field name."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from gleamnb.rows import PyObjectType, column_to_pylist
from gleamnb.runtime.save.text import TextShardWriter

__all__ = ["JsonlShardWriter"]


class JsonlShardWriter(TextShardWriter, format="jsonl"):
    """One shard's jsonl part: None is null, a Python-object field its ``repr`` (an int past
    64 bits stays a JSON number, which reads back exact); dates and times are ISO text, sets
    sorted lists, other values Arrow has no JSON for their ``str``."""

    def _encode(self, batch: pa.RecordBatch) -> bytes:
        return _jsonl_lines(batch)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return str(value)


def _jsonl_lines(batch: pa.RecordBatch) -> bytes:
    names = batch.schema.names
    cols = []
    for col in batch.columns:
        values = column_to_pylist(col)
        if isinstance(col.type, PyObjectType):
            values = [v if v is None or type(v) is int else repr(v) for v in values]
        cols.append(values)
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    if not cols:
        return b"{}\n" * batch.num_rows
    text = "\n".join(encode(dict(zip(names, row))) for row in zip(*cols))
    return (text + "\n").encode("utf-8")
