"""The logical DAG: nodes (a step applied to input nodes) and the walks over them.

A :class:`Node` is immutable. Fluent methods build new nodes; hints (``on_disk()``,
``cache()``, ``hint()``) build a replacement node with the same ``id``, so a flow always draws
one box per dataset.

Examples
--------
>>> from gleamnb.plan.steps import RangeSource, Map
>>> src = Node(0, RangeSource(name="range", start=0, stop=3), (), shards=1, names=("_1",))
>>> m = Node(1, Map(name="double", fn=lambda x: 2 * x), (src,), shards=1, names=None)
>>> [n.id for n in topological([m])]
[0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from gleamnb.plan.steps import Step

__all__ = ["Hints", "Node", "topological", "consumers"]


@dataclass(frozen=True)
class Hints:
    """Size and storage hints of one dataset.

    ``total_size_mb`` / ``partition_size_mb`` guide shard counts; ``on_disk`` keeps the
    dataset's shards on disk (and makes its stage restartable); ``cache`` pins it for reuse
    by later runs.
    """

    total_size_mb: float | None = None
    partition_size_mb: float | None = None
    on_disk: bool = False
    cache: bool = False

    @property
    def materialize(self) -> bool:
        """Whether the dataset must be written out whole (not fused into its consumer)."""
        return self.on_disk or self.cache


@dataclass(frozen=True, eq=False)
class Node:
    """A dataset: ``step`` applied to ``inputs``.

    Parameters
    ----------
    id
        Position of the dataset in its flow (``d3`` in plans).
    step
        The logical step that makes it.
    inputs
        Input datasets, in the step's argument order.
    shards
        Number of shards, known when the flow is built.
    names
        Field names when known at build time; None when a Python function decides them.
    named
        False when unknown names are surely positional (``_1``, ``_2``, ...), as after a
        Python ``map``; True when they may be real names (``map_batches``).
    hints
        Storage and size hints.
    """

    id: int
    step: Step
    inputs: tuple[Node, ...]
    shards: int
    names: tuple[str, ...] | None
    named: bool = False
    hints: Hints = field(default_factory=Hints)

    def with_hints(self, **changes: object) -> Node:
        return replace(self, hints=replace(self.hints, **changes))

    @property
    def label(self) -> str:
        return f"d{self.id}"


def topological(targets: Iterable[Node]) -> list[Node]:
    """Every node the targets depend on, inputs before consumers, in a stable order."""
    seen: set[int] = set()
    order: list[Node] = []

    def visit(node: Node) -> None:
        stack: list[tuple[Node, bool]] = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            if expanded:
                if id(current) not in seen:
                    seen.add(id(current))
                    order.append(current)
                continue
            if id(current) in seen:
                continue
            stack.append((current, True))
            for inp in reversed(current.inputs):
                if id(inp) not in seen:
                    stack.append((inp, False))

    for target in targets:
        visit(target)
    return order


def consumers(nodes: Sequence[Node]) -> dict[int, list[Node]]:
    """For each node (by ``id(node)``), the nodes among ``nodes`` that read it."""
    out: dict[int, list[Node]] = {id(n): [] for n in nodes}
    for n in nodes:
        for inp in n.inputs:
            out.setdefault(id(inp), []).append(n)
    return out
