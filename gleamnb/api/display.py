"""Plain-text rendering of rows (``Dataset.show()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gleamnb.errors import truncate

__all__ = ["format_rows"]


def format_rows(
    rows: Sequence[tuple[Any, ...]], names: Sequence[str], *, more: bool = False
) -> str:
    """A fixed-width table of ``rows`` under ``names``.

    >>> print(format_rows([("a", 1), ("bb", 22)], ["word", "count"]))
    word | count
    -----+------
    a    |     1
    bb   |    22
    """
    cells = [[truncate(str(v), 40) for v in row] for row in rows]
    width = max([len(names)] + [len(r) for r in cells]) if (names or cells) else 0
    heads = [names[i] if i < len(names) else f"_{i + 1}" for i in range(width)]
    sizes = [max([len(heads[i])] + [len(r[i]) for r in cells if i < len(r)]) for i in range(width)]
    numeric = [
        all(isinstance(row[i], (int, float)) for row in rows if i < len(row)) and bool(rows)
        for i in range(width)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            (v.rjust(sizes[i]) if numeric[i] else v.ljust(sizes[i])) for i, v in enumerate(values)
        ]
        return " | ".join(parts).rstrip()

    out = [" | ".join(h.ljust(sizes[i]) for i, h in enumerate(heads)).rstrip()]
    out.append("-+-".join("-" * s for s in sizes))
    out.extend(line(r) for r in cells)
    if more:
        out.append("...")
    if not rows:
        out.append("(no rows)")
    return "\n".join(out)
