"""The one fusion rule: when a narrow step joins the stage of its input.

Gleam merges "multiple map reduce steps together"; so do we, with a single predicate.
"""

from __future__ import annotations

from gleamnb.plan.graph import Node

__all__ = ["can_fuse"]


def can_fuse(producer: Node, consumer_count: int, producer_open: bool) -> bool:
    """Whether a narrow, one-to-one step can run in the same stage as its input ``producer``.

    It can when all of these hold:

    - the producer's stage is still open: no shuffle, gather or sink has closed it (a
      shuffle is a barrier);
    - the producer has exactly one consumer, so its rows need not be kept for another
      reader (fusing into two consumers would compute the producer twice);
    - the producer is not marked ``on_disk()`` or ``cache()``, which ask for its shards to
      be written out whole.

    Narrow steps keep the shard count, so producer and consumer always have the same number
    of tasks: task ``i`` of the fused stage runs both on shard ``i``.

    Examples
    --------
    >>> from gleamnb.plan.graph import Node
    >>> from gleamnb.plan.steps import RangeSource
    >>> src = Node(0, RangeSource(name="range", stop=10), (), shards=2, names=("_1",))
    >>> can_fuse(src, consumer_count=1, producer_open=True)
    True
    >>> can_fuse(src, consumer_count=2, producer_open=True)
    False
    >>> can_fuse(src.with_hints(on_disk=True), consumer_count=1, producer_open=True)
    False
    """
    return producer_open and consumer_count == 1 and not producer.hints.materialize
