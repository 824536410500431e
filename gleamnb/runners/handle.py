"""A run in the background: ``flow.run(wait=False)`` returns a :class:`RunHandle`.

The run goes on in a thread of its own while the caller does other work; the handle says
whether it is done, waits for its result and cancels it. Cancelling sets the run's cancel
event, which the driver's loop checks (:meth:`~gleamnb.runners.scheduling.Schedule.check_cancel`)
at least ten times a second: the run then ends as a Ctrl-C ends it (its tasks are stopped on
the executors or on the cluster, nothing of it is kept) and :meth:`RunHandle.result` raises
:class:`~gleamnb.errors.RunCancelledError`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

__all__ = ["RunHandle"]

T = TypeVar("T")


class RunHandle(Generic[T]):
    """A run going on in the background (``Flow.run(wait=False)``: its result is the
    :class:`~gleamnb.runners.result.RunResult`; ``Dataset.to_arrow(wait=False)``: the table).

    Examples
    --------
    >>> import gleamnb as gl
    >>> f = gl.Flow("squares")
    >>> rows = []
    >>> _ = f.range(0, 4).map(lambda x: x * x).output_row(rows.append)
    >>> handle = f.run(gl.local(mode="inline"), wait=False, progress=False)
    >>> handle.result(timeout=60).flow, sorted(rows)
    ('squares', [0, 1, 4, 9])
    >>> handle.done(), handle.state
    (True, 'finished')
    """

    def __init__(self, flow: str, go: Callable[[threading.Event], T]) -> None:
        self.flow = flow
        self._cancel = threading.Event()
        self._future: Future[T] = Future()
        self._future.set_running_or_notify_cancel()
        # in the caller's context: what the run prints (a printlnf sink) goes where the
        # caller's output goes (in a notebook, the cell that started it), not elsewhere
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run, go), name=f"gleamnb run {flow!r}", daemon=True
        )
        self._thread.start()

    def _run(self, go: Callable[[threading.Event], T]) -> None:
        try:
            self._future.set_result(go(self._cancel))
        except BaseException as exc:  # the caller gets it from result()
            self._future.set_exception(exc)

    def __repr__(self) -> str:
        return f"<RunHandle flow={self.flow!r} {self.state}>"

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"``, ``"failed"`` or ``"cancelled"``."""
        if not self._future.done():
            return "running"
        exc = self._future.exception()
        if exc is None:
            return "finished"
        from gleamnb.errors import RunCancelledError

        return "cancelled" if isinstance(exc, RunCancelledError) else "failed"

    def done(self) -> bool:
        """Whether the run has ended (finished, failed or cancelled)."""
        return self._future.done()

    def cancel(self, wait: bool = True, timeout: float | None = 30.0) -> bool:
        """Cancel the run: its tasks are stopped and nothing of it is kept.

        With ``wait`` (the default), return once the run has ended. Returns whether the run
        ended cancelled (False when it had already finished or failed).
        """
        self._cancel.set()
        if wait:
            self._thread.join(timeout)
        return self.state == "cancelled"

    def result(self, timeout: float | None = None) -> T:
        """Wait for the run (at most ``timeout`` seconds) and return its result.

        Raises the run's error if it failed, :class:`~gleamnb.errors.RunCancelledError` if it
        was cancelled, and ``TimeoutError`` if it is still running after ``timeout``. A Ctrl-C
        while waiting cancels the run.
        """
        try:
            return self._future.result(timeout)
        except KeyboardInterrupt:
            self.cancel()
            raise

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The run's error once it has ended (None if it finished)."""
        return self._future.exception(timeout)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))
