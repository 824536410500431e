"""The vectorized builtin mappers give what their Python definitions give, row for row.

The reference is ``gl.mappers``' own Python functions called on each row, for text columns
(the Arrow kernels) and for other columns (the operators' Python path) alike.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pyarrow as pa
import pytest

import gleamnb as gl
from gleamnb.rows import batch_to_rows, rows_to_batch
from gleamnb.runtime.context import TableInputs, TaskContext
from gleamnb.runtime.ops.mappers import AppendOneOp, LowercaseOp, TokenizeOp

Rows = list[tuple[Any, ...]]

FIRST_FIELDS = {
    "string": ["Hello, World!", "x=42 ÀB", "", "tab\there"],
    "large_string": pa.array(["Up Down", "a-b-C"], pa.large_string()),
    "int": [12, -3, 0],
    "float": [1.5, -0.25],
    "decimal": [decimal.Decimal("1.50"), decimal.Decimal("-2")],
    "date": [datetime.date(2024, 5, 1)],
    "object": [{3}, (1, "A")],
}


def _batch(first: Any) -> pa.RecordBatch:
    """Rows of ``first`` (field 1) and a second field ``i`` counting them."""
    if isinstance(first, pa.Array):
        count = pa.array(range(len(first)))
        return pa.RecordBatch.from_arrays([first, count], names=["_1", "_2"])
    return rows_to_batch([(value, i) for i, value in enumerate(first)])


def _run(op: Any, batch: pa.RecordBatch) -> Rows:
    ctx = TaskContext("flow", "stage", 0, 1, TableInputs([]))
    return [row for out in op(iter([batch]), ctx) for row in batch_to_rows(out)]


@pytest.mark.parametrize("kind", FIRST_FIELDS)
def test_tokenize_is_its_python_definition(kind: str) -> None:
    batch = _batch(FIRST_FIELDS[kind])
    expected = [(word,) for row in batch_to_rows(batch) for word in gl.mappers.tokenize(*row)]
    assert _run(TokenizeOp(name="tokenize"), batch) == expected


@pytest.mark.parametrize("kind", FIRST_FIELDS)
def test_lowercase_is_its_python_definition(kind: str) -> None:
    batch = _batch(FIRST_FIELDS[kind])
    expected = [gl.mappers.lowercase(*row) for row in batch_to_rows(batch)]
    assert _run(LowercaseOp(name="lowercase"), batch) == expected


def test_lowercase_keeps_nulls() -> None:
    batch = rows_to_batch([("AB", 1), (None, 2)])
    assert _run(LowercaseOp(name="lowercase"), batch) == [("ab", 1), (None, 2)]


@pytest.mark.parametrize("kind", FIRST_FIELDS)
def test_append_one_is_its_python_definition(kind: str) -> None:
    batch = _batch(FIRST_FIELDS[kind])
    expected = [gl.mappers.append_one(*row) for row in batch_to_rows(batch)]
    assert _run(AppendOneOp(name="append_one"), batch) == expected


def test_tokenize_gives_a_huge_line_in_windows() -> None:
    """One line of 20,000 words, windows of 100 bytes: many batches, each of at most the
    window plus one word, holding together exactly the line's words (the reference:
    ``gl.mappers.tokenize``, the Python definition)."""
    words = [f"w{i % 977}x" for i in range(20_000)]
    line = " ".join(words) + "!"
    batch = pa.RecordBatch.from_arrays([pa.array([line])], names=["_1"])
    ctx = TaskContext("flow", "stage", 0, 1, TableInputs([]))
    out = list(TokenizeOp(name="tokenize", window=100)(iter([batch]), ctx))
    assert len(out) >= len(line) // (100 + 8)
    assert all(sum(map(len, b.column(0).to_pylist())) <= 100 + 8 for b in out)
    assert [w for b in out for w in b.column(0).to_pylist()] == gl.mappers.tokenize(line)
