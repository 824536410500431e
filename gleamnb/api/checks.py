"""Build-time checks of user arguments, so mistakes surface before anything runs."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import cloudpickle

from gleamnb.errors import (
    ArgumentError,
    CapturedDataWarning,
    FieldError,
    GleamError,
    PicklingError,
    hide_own_frames,
)
from gleamnb.fieldref import FieldRef
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.fields import is_positional, resolve_field
from gleamnb.plan.pickles import pickled

__all__ = [
    "LARGE_CAPTURE",
    "check_function",
    "check_count",
    "check_fields",
    "step_name",
    "names_flow_in_errors",
]

#: A function whose pickle (its code with everything it captures) is larger than this
#: many bytes gets a :class:`~gleamnb.errors.CapturedDataWarning`, once, naming what it
#: captures and how big it is.
LARGE_CAPTURE = 8_000_000

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_warned: set[tuple[Any, ...]] = set()  # (function, what it captures) already warned about

_C = TypeVar("_C", bound=type)


def names_flow_in_errors(flow_name: Callable[[Any], str]) -> Callable[[_C], _C]:
    """Class decorator: a :class:`GleamError` raised by a public method names the flow.

    Build-time checks know the step they check, not the flow it belongs to; the flow is
    ``flow_name(self)`` of the object whose method was called. The error leaves with the
    user's frames only (:func:`~gleamnb.errors.hide_own_frames`): a bare ``raise`` adds
    none of this wrapper's.
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def named(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except GleamError as err:
                hide_own_frames(err.with_context(flow=flow_name(self)))
                raise

        return named

    def decorate(cls: _C) -> _C:
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(value):
                setattr(cls, name, wrap(value))
        return cls

    return decorate


def step_name(name: str | None, fn: Any, kind: str) -> str:
    """The step's name: the given one, else the function's name, else the step kind."""
    if name:
        return name
    fname = getattr(fn, "__name__", None)
    if fname and fname != "<lambda>" and isinstance(fname, str):
        return fname
    return kind


def _unpicklable(value: Any) -> str | None:
    """Why ``value`` cannot be pickled, or None when it can."""
    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        return f"{type(value).__name__}: {exc}"
    return None


def _attributes(obj: Any) -> list[tuple[str, Any]]:
    try:
        return list(vars(obj).items())
    except TypeError:  # no __dict__ (slots, builtins)
        return []


def _parts(fn: Any) -> list[tuple[str, Any]]:
    """What pickling ``fn`` also pickles, each with how to name it to the user."""
    if inspect.ismethod(fn):
        owner = f"the {type(fn.__self__).__name__} object the method is bound to"
        return [
            *((f"attribute {name!r} of {owner}", v) for name, v in _attributes(fn.__self__)),
            (owner, fn.__self__),
            *_parts(fn.__func__),
        ]
    if not inspect.isfunction(fn):  # a callable instance
        owner = f"the callable {type(fn).__name__} object"
        return [(f"attribute {name!r} of {owner}", v) for name, v in _attributes(fn)]
    parts: list[tuple[str, Any]] = []
    code = fn.__code__
    positional = code.co_varnames[: code.co_argcount]
    for name, v in zip(
        positional[len(positional) - len(fn.__defaults__ or ()) :], fn.__defaults__ or ()
    ):
        parts.append((f"default value of argument {name!r}", v))
    for name, v in (fn.__kwdefaults__ or {}).items():
        parts.append((f"default value of argument {name!r}", v))
    try:
        closure = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return parts
    for scope, values in (("closure variable", closure.nonlocals), ("global", closure.globals)):
        parts.extend(
            (f"{scope} {name!r}", v) for name, v in values.items() if not inspect.ismodule(v)
        )
    return parts


def _culprit(fn: Callable[..., Any]) -> str | None:
    """Name what inside ``fn`` cannot be pickled (an attribute, default, closure cell or global)."""
    for label, value in _parts(fn):
        why = _unpicklable(value)
        if why is not None:
            return f"{label} ({why})"
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
        size = pickled(fn).nbytes
    except Exception as exc:
        culprit = _culprit(fn)
        fname = getattr(fn, "__qualname__", None) or f"{type(fn).__name__} object"
        raise PicklingError(
            f"the {what} {fname!r} of step {step!r} cannot be sent to executor processes: "
            + (f"it uses the {culprit}" if culprit else f"{type(exc).__name__}: {exc}"),
            step=step,
            hint="create that object inside the function (or a map_batches function), or "
            "pass plain data (numbers, strings, lists, dicts) instead",
        ) from None
    if size > LARGE_CAPTURE:
        _warn_large(fn, size, step, what)


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB"


def _largest(fn: Any, seen: set[int]) -> list[tuple[str, Any, int]]:
    """What ``fn`` captures that is 1 MB or more when pickled, largest first (at most 3).

    A function among them (a helper it calls) is named by what it captures in turn.
    """
    seen.add(id(fn))
    found = []
    for label, value in _parts(fn):
        size = pickled(value).nbytes
        if size < 1_000_000:
            continue
        inner = _largest(value, seen) if inspect.isfunction(value) and id(value) not in seen else []
        name = getattr(value, "__name__", "?")
        found += [(f"{lbl} of function {name!r}", v, n) for lbl, v, n in inner] or [
            (label, value, size)
        ]
    return sorted(found, key=lambda part: -part[2])[:3]


def _function_key(fn: Any) -> tuple[Any, ...]:
    """Who a function is, across the datasets built with it (a lambda is a new object each time)."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is not None:
        return (code.co_filename, code.co_firstlineno, code.co_qualname)
    return (type(fn).__module__, type(fn).__qualname__)


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the nearest caller outside this package (the user's line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
            break
        frame, level = frame.f_back, level + 1
    return level


def _warn_large(fn: Any, size: int, step: str, what: str) -> None:
    """Warn once per function and what it captures that ``fn`` drags ``size`` bytes along."""
    key = (_function_key(fn), tuple(label for label, _ in _parts(fn)))
    if key in _warned:
        return
    _warned.add(key)
    parts = _largest(fn, set())
    captured = (
        " and ".join(f"{label} ({_mb(n)}, {_type_name(v)})" for label, v, n in parts)
        if parts
        else f"{_mb(size)} of data"
    )
    fname = getattr(fn, "__qualname__", None) or f"{type(fn).__name__} object"
    warnings.warn(
        CapturedDataWarning(
            f"the {what} {fname!r} of step {step!r} captures {captured}: it is pickled with "
            "the function, hashed on every run and held in every executor's memory\n"
            "  fix: make it a dataset (f.from_arrow(...), f.from_pandas(...), or a file read "
            "with f.read(gl.parquet(...))) and look its rows up with hash_join(...), which "
            "copies the small side to every task; or load it from a file inside the function"
        ),
        stacklevel=_user_stacklevel(),
    )


def _type_name(value: Any) -> str:
    """``list``, ``numpy.ndarray``, ``pandas.DataFrame``: the class as its package shows it."""
    cls = type(value)
    package = cls.__module__.split(".")[0]
    return cls.__name__ if package == "builtins" else f"{package}.{cls.__name__}"


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
    fields: Sequence[FieldRef],
    names: Sequence[str] | None,
    named: bool,
    step: str,
    *,
    files: str | None = None,
) -> None:
    """Check fields against the names known at build time.

    ``files`` names the source the names were read from, when the step reads a file source
    directly; an unknown field is then said to be missing there. With unknown names that are
    surely positional (after a Python ``map``), a name other than ``_k`` cannot exist, which
    is worth saying now rather than at run time.
    """
    for field in fields:
        if names is not None:
            resolve_field(field, names, step=step, location=files)
        elif isinstance(field, str) and not named and not is_positional(field):
            raise FieldError(
                f"unknown field {field!r}: the fields before step {step!r} are made by a "
                "Python function and have no names",
                step=step,
                hint="address them by 1-based position (e.g. 2), or name them with "
                "select/map_batches",
            )
