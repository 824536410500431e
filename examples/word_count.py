"""The word count from Gleam's README, on a bundled text, in local mode.

Run it with ``make demo`` (or ``.venv/bin/python examples/word_count.py [FILE]``). It prints
the top words, the plan (``explain()``) and where it wrote the flow's DAG as SVG.
"""

from __future__ import annotations

import operator
import sys
from pathlib import Path

import gleamnb as gl

HERE = Path(__file__).parent
TEXT = HERE / "data" / "counting.txt"
OUT = HERE.parent / "out"


def word_count(path: Path) -> gl.Flow:
    """The README flow: tokenize, append one, reduce by key, sort, top 5, print."""
    f = gl.Flow("top5 words")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .sort(gl.order_by(2))
        .top(5, gl.order_by(2, descending=True))
        .printlnf("%s\t%d")
    )
    return f


def write_dag(flow: gl.Flow, path: Path) -> Path:
    """Render the flow's DAG to SVG with graphviz's ``dot``; returns the file written."""
    import graphviz

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graphviz.Source(flow.to_dot()).pipe(format="svg"))
    return path


def main(argv: list[str]) -> int:
    text = Path(argv[1]) if len(argv) > 1 else TEXT
    flow = word_count(text)
    print(f"== top 5 words of {text} (local mode) ==")
    result = flow.run(gl.local())
    print()
    print("== plan ==")
    print(flow.explain())
    print()
    print("== run ==")
    print(result.summary())
    svg = write_dag(flow, OUT / "word_count.svg")
    print()
    print(f"DAG written to {svg.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
