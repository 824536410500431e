"""Built-in functions the planner recognises and replaces by vectorized operators.

A :class:`BuiltinFunction` is an ordinary Python function (call it on a row and it does what
its docstring says) that also names the Arrow kernel doing the same to whole batches. The
planner uses the kernel when the builtin is used in the step kind it was made for
(``flat_map(gl.mappers.tokenize)``, ``map(gl.mappers.append_one)``) and calls the Python
function otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["BuiltinFunction"]


class BuiltinFunction:
    """A Python row function with a vectorized twin, named ``name``, for steps of ``kind``."""

    def __init__(self, name: str, kind: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.kind = kind
        self.fn = fn
        self.__name__ = name
        self.__qualname__ = name
        self.__doc__ = fn.__doc__
        functools.update_wrapper(self, fn, assigned=("__module__",), updated=())

    def __call__(self, *fields: Any) -> Any:
        return self.fn(*fields)

    def __repr__(self) -> str:
        return f"gl.mappers.{self.name}"

    def __reduce__(self) -> str | tuple[Any, ...]:
        return f"{self.name}"
