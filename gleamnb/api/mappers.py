"""Built-in mappers, as in Gleam's ``mapper`` package, vectorized when the planner sees them.

Examples
--------
>>> tokenize("Hello, world-2 café")
['Hello', 'world', '2', 'caf']
>>> lowercase("HeLLo", 3)
('hello', 3)
>>> append_one("word")
('word', 1)
"""

from __future__ import annotations

from typing import Any

from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.text import TOKEN

__all__ = ["tokenize", "lowercase", "append_one"]


def _tokenize(line: Any, *rest: Any) -> list[str]:
    """Split field 1 into the runs of ASCII letters and digits; everything else separates.

    Case is kept (Gleam's ``mapper.Tokenize``). Use it with ``flat_map``:
    ``ds.flat_map(gl.mappers.tokenize)`` gives one 1-field row per word.
    """
    return TOKEN.findall(line if isinstance(line, str) else str(line))


def _lowercase(value: Any, *rest: Any) -> Any:
    """Field 1 in lower case (other fields unchanged). Use it with ``map``."""
    lowered = value.lower() if isinstance(value, str) else value
    return (lowered, *rest) if rest else lowered


def _append_one(*fields: Any) -> tuple[Any, ...]:
    """The row with one more field, the int ``1`` (for counting). Use it with ``map``."""
    return (*fields, 1)


tokenize = BuiltinFunction("tokenize", "flat_map", _tokenize)
lowercase = BuiltinFunction("lowercase", "map", _lowercase)
append_one = BuiltinFunction("append_one", "map", _append_one)
