"""Plain Python in one process: ``collections.Counter`` and ``sorted``.

``wordcount_udf`` is the single-process baseline for the shared tokenizer: every line through
:func:`benchmarks.udf.tokenize` into one ``Counter``; ``wordcount_lambda`` the same with
:func:`benchmarks.udf.words`, ending with ``most_common``. ``wordcount_builtin`` is the fastest
plain Python form: one ``re.findall`` over each whole file (bytes) into a ``Counter``.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Any

from benchmarks.engines import Context, Inputs
from benchmarks.udf import TOP, WORD_PATTERN, tokenize, words

__all__ = [
    "probe",
    "setup",
    "sort",
    "startup",
    "teardown",
    "wordcount_builtin",
    "wordcount_lambda",
    "wordcount_udf",
]

_WORD_BYTES = re.compile(WORD_PATTERN.encode())


def probe(variant: str) -> str | None:
    """Always available."""
    return None


def setup(variant: str) -> Context:
    """Nothing to start."""
    return Context(variant)


def teardown(ctx: Context) -> None:
    """Nothing to stop."""


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """``Counter(re.findall(...))`` over each file's bytes."""
    counts: collections.Counter[bytes] = collections.Counter()
    for name in inputs.text_files:
        with open(name, "rb") as fh:
            counts.update(_WORD_BYTES.findall(fh.read()))
    return counts


def wordcount_udf(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """``Counter.update(tokenize(line))`` for every line."""
    counts: collections.Counter[str] = collections.Counter()
    for name in inputs.text_files:
        with open(name, encoding="utf-8") as fh:
            for line in fh:
                counts.update(tokenize(line))
    return counts


def wordcount_lambda(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """``Counter.update(words(line))`` for every line, then ``most_common(TOP)``."""
    counts: collections.Counter[str] = collections.Counter()
    for name in inputs.text_files:
        with open(name, encoding="utf-8") as fh:
            for line in fh:
                counts.update(words(line))
    return counts.most_common(TOP)


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """Read all lines as bytes, ``list.sort()``, write them."""
    with open(inputs.sort_input, "rb") as fh:
        lines = fh.readlines()
    lines.sort()
    path = out / "sorted.txt"
    with open(path, "wb") as fh:
        fh.writelines(lines)
    return path


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """``len(range(10))``: the interpreter's own start and exit, the floor of any engine."""
    return len(range(10))
