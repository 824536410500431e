"""The preview of a ``%%gleam`` result: its first rows as an HTML table, with the row count.

>>> import pyarrow as pa
>>> b = preview_bundle(pa.table({"word": ["a", "b"], "count": [2, 1]}), 20, "words")
>>> print(b["text/plain"])
words: 2 rows x 2 columns
word | count
-----+------
a    |     2
b    |     1
"""

from __future__ import annotations

import html
from typing import Any

import pyarrow as pa

from gleamnb.api.display import format_rows
from gleamnb.notebook.style import CSS

__all__ = ["preview_bundle"]


def preview_bundle(result: Any, rows: int, var: str | None = None) -> dict[str, str]:
    """Output for a run's result: a table's first ``rows`` rows, or a run result's summary."""
    name = f"{var}: " if var else ""
    if not isinstance(result, pa.Table):
        text = getattr(result, "summary", lambda: repr(result))()
        return {"text/plain": name + text, "text/html": f"<pre>{html.escape(name + text)}</pre>"}
    head = result.slice(0, rows)
    values = [tuple(r.values()) for r in head.to_pylist()]
    size = f"{_plural(result.num_rows, 'row')} x {_plural(result.num_columns, 'column')}"
    more = f" (first {rows} shown)" if result.num_rows > rows else ""
    cols = "".join(f"<th>{html.escape(c)}</th>" for c in result.column_names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in values
    )
    table = f"<table><tr>{cols}</tr>{body}</table>"
    return {
        "text/plain": f"{name}{size}{more}\n"
        + format_rows(values, result.column_names, more=bool(more)),
        "text/html": f"<style>{CSS}</style><div class='gl-preview'><b>{html.escape(name)}</b>"
        f"{size}{more}{table}</div>",
    }


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _cell(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
