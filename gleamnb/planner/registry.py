"""The lowering registry: from a logical step's type to the function that lowers it.

Each planner module of lowerings marks its functions with :func:`lowers`; the planner looks a
step's exact type up in :data:`LOWERINGS`. A lowering is called as
``lowering(builder, node, step)`` and returns the node's :data:`~gleamnb.planner.builder.Lowered`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gleamnb.plan import steps
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import Lowered, PlanBuilder

__all__ = ["Lowering", "LOWERINGS", "lowers", "lowering_for"]

Lowering = Callable[[PlanBuilder, Node, Any], Lowered]

LOWERINGS: dict[type[steps.Step], Lowering] = {}
"""The lowering of each step type (sinks excepted: they become the plan's targets)."""

_L = TypeVar("_L", bound=Lowering)


def lowers(*step_types: type[steps.Step]) -> Callable[[_L], _L]:
    """Register the decorated function as the lowering of ``step_types``.

    Raises
    ------
    RuntimeError
        A step type already has a lowering (two modules would both claim it).
    """

    def register(fn: _L) -> _L:
        for step_type in step_types:
            if step_type in LOWERINGS:
                raise RuntimeError(
                    f"{step_type.__name__} already has a lowering: {LOWERINGS[step_type].__name__}"
                )
            LOWERINGS[step_type] = fn
        return fn

    return register


def lowering_for(step: steps.Step) -> Lowering:
    """The lowering registered for ``step``'s type.

    Raises
    ------
    NotImplementedError
        No lowering is registered for that type: an internal error of the planner.

    Examples
    --------
    >>> import gleamnb.planner.lower  # the planner's modules register their lowerings
    >>> lowering_for(steps.Sort(name="sort")).__name__
    'lower_sort'
    >>> lowering_for(steps.Step(name="odd"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    NotImplementedError: internal error: ... step type gleamnb.plan.steps.Step (kind 'step')
    """
    lowering = LOWERINGS.get(type(step))
    if lowering is None:
        kind = type(step)
        raise NotImplementedError(
            f"internal error: the planner has no lowering for step type "
            f"{kind.__module__}.{kind.__qualname__} (kind {step.kind!r})"
        )
    return lowering
