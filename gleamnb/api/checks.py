"""Build-time checks of user arguments, so mistakes surface before anything runs."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import cloudpickle

from gleamnb.errors import ArgumentError, FieldError, PicklingError
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.order import FieldRef
from gleamnb.runtime.fields import resolve_field
from gleamnb.runtime.rows import is_positional

__all__ = ["check_function", "check_count", "check_fields", "step_name"]


def step_name(name: str | None, fn: Any, kind: str) -> str:
    """The step's name: the given one, else the function's name, else the step kind."""
    if name:
        return name
    fname = getattr(fn, "__name__", None)
    if fname and fname != "<lambda>" and isinstance(fname, str):
        return fname
    return kind


def _culprit(fn: Callable[..., Any]) -> str | None:
    """Name what inside ``fn`` cannot be pickled (a closure cell or a referenced global)."""
    try:
        closure = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return None
    for scope, values in (("closure variable", closure.nonlocals), ("global", closure.globals)):
        for name, value in values.items():
            if inspect.ismodule(value):
                continue
            try:
                cloudpickle.dumps(value)
            except Exception as exc:
                return f"{scope} {name!r} ({type(value).__name__}: {exc})"
    return None


def check_function(fn: Any, step: str, what: str = "function") -> None:
    """Raise :class:`PicklingError` unless ``fn`` is callable and can be shipped to executors."""
    if not callable(fn):
        raise ArgumentError(
            f"step {step!r} needs a {what}, got {type(fn).__name__} {fn!r}",
            step=step,
            hint="pass a function (def or lambda) taking the row's fields as arguments",
        )
    if isinstance(fn, BuiltinFunction):
        return
    try:
        cloudpickle.dumps(fn)
    except Exception as exc:
        culprit = _culprit(fn)
        fname = getattr(fn, "__qualname__", repr(fn))
        raise PicklingError(
            f"the {what} {fname!r} of step {step!r} cannot be sent to executor processes: "
            + (f"it uses the {culprit}" if culprit else f"{type(exc).__name__}: {exc}"),
            step=step,
            hint="create that object inside the function (or a map_batches function), or "
            "pass plain data (numbers, strings, lists, dicts) instead",
        ) from None


def check_count(value: Any, what: str, *, minimum: int = 1, step: str | None = None) -> int:
    """A whole number >= ``minimum`` (shard counts, n of top/limit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArgumentError(
            f"{what} must be a whole number >= {minimum}, got {value!r}",
            step=step,
            hint=f"pass an int of at least {minimum}",
        )
    return value


def check_fields(
    fields: Sequence[FieldRef], names: Sequence[str] | None, named: bool, step: str
) -> None:
    """Check fields against the names known at build time.

    With unknown names that are surely positional (after a Python ``map``), a name other than
    ``_k`` cannot exist, which is worth saying now rather than at run time.
    """
    for field in fields:
        if names is not None:
            resolve_field(field, names, step=step)
        elif isinstance(field, str) and not named and not is_positional(field):
            raise FieldError(
                f"unknown field {field!r}: the fields before step {step!r} are made by a "
                "Python function and have no names",
                step=step,
                hint="address them by 1-based position (e.g. 2), or name them with "
                "select/map_batches",
            )
