"""The interface every runner implements: run a plan, report it, let go of what it holds."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Self

from gleamnb.events import Listener
from gleamnb.planner.physical import PhysicalPlan
from gleamnb.runners.result import RunResult

__all__ = ["Runner"]


class Runner(ABC):
    """Runs a physical plan and reports it through events.

    A runner may hold resources (executor processes, a connection to a cluster).
    :meth:`close` lets them go, and a ``with`` block closes the runner when it ends. Closing is
    idempotent, and a closed runner is not spent: its next run starts again what it needs.
    That is what the shared runners of ``gl.local(...)`` need (the same arguments give the
    same runner): one ``with`` block must not leave a broken runner to every other user.

    Examples
    --------
    >>> import gleamnb as gl
    >>> with gl.local(mode="inline") as r:
    ...     gl.Flow().range(0, 4).count(r)
    4
    >>> r.close()  # closing again does nothing
    >>> gl.Flow().range(0, 3).count(r)  # a closed runner starts again on its next run
    3
    """

    name: str = "runner"

    @abstractmethod
    def execute(
        self,
        plan: PhysicalPlan,
        listeners: Sequence[Listener] = (),
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run ``plan``; emit events to ``listeners``; return statistics and target outputs.

        Setting ``cancel`` (from another thread) cancels the run as a Ctrl-C does: its tasks
        are stopped, nothing of it is kept, and it raises
        :class:`~gleamnb.errors.RunCancelledError`.
        """

    @abstractmethod
    def close(self) -> None:
        """Let go of what the runner holds; idempotent, and the next run starts it again."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
