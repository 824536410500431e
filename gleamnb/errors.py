"""Every error gleamnb raises on purpose.

Each error says *what* went wrong, *where* (flow, step, stage, shard, file:line or the row)
and *how to fix it*. The "where" parts are keyword fields so that runners can add context as
an error travels up (an executor knows the step and the row; the runner adds the flow).

Errors must cross process boundaries (executor -> runner -> client), so they pickle by their
constructor arguments. An error raised through the public API shows the user's frames, not
gleamnb's own (:func:`hide_own_frames`; ``GLEAMNB_FULL_TRACEBACK=1`` keeps them all), and
its text never fails to print: a value whose ``repr`` or an exception whose ``str`` raises
is shown by its type (:func:`exception_text`).

Examples
--------
>>> from gleamnb.errors import FieldError
>>> err = FieldError("unknown field 'age'", step="select", hint="known fields: name, city")
>>> print(err)
unknown field 'age'
  where: step 'select'
  fix: known fields: name, city
"""

from __future__ import annotations

import os
import types
from typing import Any

__all__ = [
    "GleamError",
    "BuildError",
    "FieldError",
    "ArgumentError",
    "PicklingError",
    "SourceError",
    "InputNotFoundError",
    "MalformedInputError",
    "SchemaError",
    "JoinKeyError",
    "UserCodeError",
    "ExecutorCrashedError",
    "PipeCommandError",
    "OutputError",
    "DiskFullError",
    "RunCancelledError",
    "CapturedDataWarning",
    "RowText",
    "exception_text",
    "hide_own_frames",
    "FULL_TRACEBACK_ENV",
]

#: Set this environment variable to ``1`` to keep gleamnb's own frames in the tracebacks of
#: the errors its API raises (they are left out by default: see :func:`hide_own_frames`).
FULL_TRACEBACK_ENV = "GLEAMNB_FULL_TRACEBACK"

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HIDDEN_NOTE = (
    f"(gleamnb's own frames are left out of this traceback; {FULL_TRACEBACK_ENV}=1 shows them)"
)


class GleamError(Exception):
    """Base class of every error gleamnb raises on purpose.

    Parameters
    ----------
    message
        What went wrong, in one sentence.
    flow, step, stage, shard, location
        Where it went wrong; any may be left out. ``shard`` is ``"i/n"`` or an int;
        ``location`` is a ``file:line`` or ``file@byte`` string.
    row
        The offending row, shown truncated.
    hint
        How to fix it.
    detail
        Extra text shown last, e.g. the user's own traceback or a command's stderr tail.
    """

    def __init__(
        self,
        message: str,
        *,
        flow: str | None = None,
        step: str | None = None,
        stage: str | None = None,
        shard: Any = None,
        location: str | None = None,
        row: Any = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.flow = flow
        self.step = step
        self.stage = stage
        self.shard = shard
        self.location = location
        self.row = row
        self.hint = hint
        self.detail = detail

    def _kwargs(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "step": self.step,
            "stage": self.stage,
            "shard": self.shard,
            "location": self.location,
            "row": self.row,
            "hint": self.hint,
            "detail": self.detail,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._kwargs()))

    def with_context(self, **where: Any) -> GleamError:
        """Fill in "where" fields that are still empty and return ``self``."""
        for key, value in where.items():
            if value is not None and getattr(self, key, None) is None:
                setattr(self, key, value)
        return self

    def __str__(self) -> str:
        lines = [self.message]
        where = []
        if self.flow is not None:
            where.append(f"flow {self.flow!r}")
        if self.step is not None:
            where.append(f"step {self.step!r}")
        if self.stage is not None:
            where.append(f"stage {self.stage!r}")
        if self.shard is not None:
            where.append(f"shard {self.shard}")
        if self.location is not None:
            where.append(str(self.location))
        if where:
            lines.append("  where: " + ", ".join(where))
        if self.row is not None:
            lines.append("  row: " + truncate(_repr(self.row)))
        if self.hint:
            lines.append("  fix: " + self.hint)
        if self.detail:
            lines.append(self.detail.rstrip())
        return "\n".join(lines)


def _rebuild(cls: type[GleamError], message: str, kwargs: dict[str, Any]) -> GleamError:
    err = cls.__new__(cls)
    GleamError.__init__(err, message, **kwargs)
    return err


class RowText(str):
    """A row's truncated repr, standing in for the row once an error leaves its process.

    >>> RowText.of(("a", 1))
    ('a', 1)
    """

    @classmethod
    def of(cls, row: Any) -> RowText:
        return cls(truncate(_repr(row)))

    def __repr__(self) -> str:
        return str(self)


def _repr(value: Any) -> str:
    """``repr(value)``, with a stand-in naming its type for a value whose ``__repr__`` raises.

    >>> class Opaque:
    ...     def __repr__(self):
    ...         raise RuntimeError("no repr")
    >>> print(_repr((1, Opaque())))
    (1, <Opaque object: repr() failed with RuntimeError>)
    """
    try:
        return repr(value)
    except Exception as exc:
        if type(value) is tuple:  # a row: the fields that have a repr keep it
            inner = ", ".join(map(_repr, value))
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"<{type(value).__name__} object: repr() failed with {type(exc).__name__}>"


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when the exception's own ``__str__`` raises.

    A user's exception is quoted in gleamnb's errors; one that cannot be turned into text
    must not replace the error it belongs to.

    >>> class Odd(Exception):
    ...     def __str__(self):
    ...         raise RuntimeError("no text")
    >>> exception_text(ValueError("bad value")), exception_text(Odd())
    ('bad value', '<str() failed with RuntimeError>')
    """
    try:
        return str(exc)
    except Exception as failed:
        return f"<str() failed with {type(failed).__name__}>"


def _own(tb: types.TracebackType) -> bool:
    return os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE)


def hide_own_frames(err: BaseException) -> BaseException:
    """Leave gleamnb's own frames out of ``err``'s traceback; return ``err``.

    Called where an error leaves the public API (every public method of ``Flow`` and
    ``Dataset``), followed by a bare ``raise``, which adds no frame: the traceback the user
    sees goes from their code to the error, with their own frames below gleamnb's kept (a
    function of theirs that the driver called). The user's traceback of a failed UDF is in
    the error's text. A note says how to see the whole traceback: with the environment
    variable ``GLEAMNB_FULL_TRACEBACK=1``, nothing is left out. Chained exceptions (a
    ``__cause__``) keep their whole tracebacks.

    >>> from gleamnb.plan.fields import resolve_field
    >>> def functions(err):
    ...     return [tb.tb_frame.f_code.co_name for tb in _frames(err.__traceback__)]
    >>> try:
    ...     resolve_field("age", ["name"], step="select")
    ... except FieldError as err:
    ...     print(functions(err), "->", functions(hide_own_frames(err)))
    ['<module>', 'resolve_field'] -> ['<module>']
    """
    if os.environ.get(FULL_TRACEBACK_ENV, "").strip() not in ("", "0"):
        return err
    frames = list(_frames(err.__traceback__))
    kept = [tb for tb in frames if not _own(tb)]
    if len(kept) == len(frames):
        return err
    tb: types.TracebackType | None = None
    for old in reversed(kept):  # fresh links: the frames' own traceback objects stay as they are
        tb = types.TracebackType(tb, old.tb_frame, old.tb_lasti, old.tb_lineno)
    err.with_traceback(tb)
    if _HIDDEN_NOTE not in getattr(err, "__notes__", ()):
        err.add_note(_HIDDEN_NOTE)
    return err


def _frames(tb: types.TracebackType | None) -> Any:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def truncate(text: str, limit: int = 200) -> str:
    """Shorten ``text`` to at most ``limit`` characters, marking the cut.

    >>> truncate("x" * 10, limit=6)
    'xxx...'
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BuildError(GleamError):
    """A flow was built wrongly; raised before anything runs."""


class FieldError(BuildError, KeyError):
    """A field name or 1-based position that the data does not have."""

    __str__ = GleamError.__str__


class ArgumentError(BuildError, ValueError):
    """A bad argument to a step: a shard count below 1, an unknown format, ..."""


class PicklingError(BuildError, TypeError):
    """A function (or something it references) cannot be shipped to an executor."""


class SourceError(GleamError):
    """An input could not be read."""


class InputNotFoundError(SourceError, FileNotFoundError):
    """A missing input file, or a glob or folder that matches no file."""

    __str__ = GleamError.__str__


class MalformedInputError(SourceError, ValueError):
    """An input file holds something its format does not allow (bad CSV line, bad UTF-8)."""


class SchemaError(GleamError, TypeError):
    """Rows of one dataset disagree in arity or type, or two inputs do not fit together."""


class JoinKeyError(SchemaError):
    """The join keys of two datasets have types that cannot be compared."""


class UserCodeError(GleamError):
    """A user function raised; ``detail`` holds its own traceback."""


class ExecutorCrashedError(GleamError):
    """An executor process died while running a task (``os._exit``, a signal, out of memory)."""


class PipeCommandError(GleamError):
    """A ``pipe`` command was not found or exited with a non-zero code."""


class OutputError(GleamError, OSError):
    """An output path cannot be written."""

    __str__ = GleamError.__str__


class DiskFullError(OutputError):
    """A folder gleamnb writes to (spill, shared memory, a save's output) has no space left."""


class RunCancelledError(GleamError):
    """The run was cancelled (Ctrl-C, kernel interrupt or the widget's button)."""


class CapturedDataWarning(UserWarning):
    """A function captures a large value (a global, closure variable, default or attribute).

    Such a value is pickled with the function, hashed on every run and held in every
    executor's memory; a dataset (joined with ``hash_join``) is usually the better way.
    """
