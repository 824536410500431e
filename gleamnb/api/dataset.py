"""``Dataset``: the fluent surface. Every method appends one logical step and returns a new
handle; nothing runs until a sink's ``Flow.run()`` or an action (``collect()``, ``count()``...).

Rows are tuples; fields are addressed by 1-based position or by name. Keyed steps emit the key
fields first, then the other fields in their original order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import pyarrow as pa

from gleamnb.api.checks import (
    check_count,
    check_fields,
    check_function,
    names_flow_in_errors,
    step_name,
)
from gleamnb.errors import ArgumentError
from gleamnb.fieldref import FieldRef
from gleamnb.files.saves import check_format, check_header
from gleamnb.plan import inference, steps
from gleamnb.plan.graph import Node
from gleamnb.plan.order import Order, as_fields, as_order
from gleamnb.plan.reducers import as_reducer

if TYPE_CHECKING:
    import pandas as pd

    from gleamnb.api.flow import Flow
    from gleamnb.runners.base import Runner
    from gleamnb.runners.handle import RunHandle

__all__ = ["Dataset"]

Key = FieldRef | Sequence[FieldRef]


@names_flow_in_errors(lambda d: d.flow.name)
class Dataset:
    """A distributed collection of rows, defined by the steps that make it.

    Create one from a :class:`~gleamnb.Flow` source (``flow.read(gl.txt(...))``,
    ``flow.ints([...])``, ...). Each method returns a new ``Dataset``; the original is
    unchanged.

    Examples
    --------
    >>> import gleamnb as gl
    >>> f = gl.Flow("squares")
    >>> f.range(1, 6, shards=2).map(lambda x: x * x).filter(lambda x: x % 2).collect()
    [(1,), (9,), (25,)]
    """

    def __init__(self, flow: Flow, node: Node) -> None:
        self.flow = flow
        self.node = node

    # -- plumbing ------------------------------------------------------------------------------

    def _then(
        self,
        step: steps.Step,
        *,
        inputs: Sequence[Dataset] | None = None,
        shards: int | None = None,
        names: tuple[str, ...] | None = None,
        named: bool = False,
    ) -> Dataset:
        ins = tuple(d.node for d in (inputs if inputs is not None else [self]))
        for d in inputs or []:
            if d.flow is not self.flow:
                raise ArgumentError(
                    f"step {step.name!r} combines datasets of two different flows",
                    hint="build both datasets from the same gl.Flow",
                )
        count = shards if shards is not None else self.node.shards
        out = self.flow._add(step, ins, count, names, named)
        h = self.node.hints
        if not step.wide and (h.total_size_mb or h.partition_size_mb):
            # size hints flow through narrow steps, as in Gleam
            out = self.flow._replace(
                out.node, total_size_mb=h.total_size_mb, partition_size_mb=h.partition_size_mb
            )
        return out

    @property
    def shards(self) -> int:
        """Number of shards (known when the flow is built)."""
        return self.node.shards

    @property
    def names(self) -> tuple[str, ...] | None:
        """Field names when known before running, else None (decided by a Python function)."""
        return self.node.names

    def fingerprint(self) -> str:
        """A content hash of this dataset: its steps, their functions and parameters, and
        its input data or files (path, size, modification time).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([1, 2]).fingerprint() == gl.Flow().ints([1, 2]).fingerprint()
        True
        """
        from gleamnb.plan.fingerprint import fingerprint

        return fingerprint(self.flow._refresh(self.node))

    def _check(self, fields: Sequence[FieldRef], step: str) -> None:
        source = self.node.step
        files = ", ".join(source.spec.paths) if isinstance(source, steps.FileSource) else None
        check_fields(fields, self.node.names, self.node.named, step, files=files)

    def _wide_shards(self) -> int:
        return inference.shuffle_shards(self.node.shards, self.node.hints)

    def __repr__(self) -> str:
        names = ", ".join(self.node.names) if self.node.names is not None else "?"
        return (
            f"<Dataset d{self.node.id} of flow {self.flow.name!r}: {self.node.step.describe()}; "
            f"{self.node.shards} shards; fields ({names})>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.flow._repr_mimebundle_(include, exclude)

    # -- narrow steps --------------------------------------------------------------------------

    def map(self, fn: Callable[..., Any], *, name: str | None = None) -> Dataset:
        """One row out per row in: ``fn(*fields)`` returns a tuple (a row) or one value.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().strings(["a", "bb"]).map(lambda s: (s, len(s))).collect()
        [('a', 1), ('bb', 2)]
        """
        step = steps.Map(name=step_name(name, fn, "map"), fn=fn)
        check_function(fn, step.name)
        return self._then(step, names=inference.map_names(fn, self.node.names))

    def flat_map(self, fn: Callable[..., Any], *, name: str | None = None) -> Dataset:
        """Zero or more rows out per row in: ``fn(*fields)`` returns (or yields) rows.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().strings(["a b", "c"]).flat_map(str.split).collect()
        [('a',), ('b',), ('c',)]
        """
        step = steps.FlatMap(name=step_name(name, fn, "flat_map"), fn=fn)
        check_function(fn, step.name)
        return self._then(step, names=inference.flat_map_names(fn))

    def filter(self, fn: Callable[..., Any], *, name: str | None = None) -> Dataset:
        """Keep the rows for which ``fn(*fields)`` is true.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([1, 2, 3, 4]).filter(lambda x: x % 2 == 0).collect()
        [(2,), (4,)]
        """
        step = steps.Filter(name=step_name(name, fn, "filter"), fn=fn)
        check_function(fn, step.name)
        return self._then(step, names=self.node.names, named=self.node.named)

    def select(self, *fields: FieldRef, name: str | None = None) -> Dataset:
        """Keep the given fields, in the given order.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1, True)]).select(3, 1).collect()
        [(True, 'a')]
        """
        step = steps.Select(name=name or "select", fields=as_fields(list(fields), "select"))
        self._check(step.fields, step.name)
        names = inference.select_names(self.node.names, step.fields, step.name)
        return self._then(step, names=names, named=self.node.named and names is None)

    def map_batches(
        self, fn: Callable[[Any], Any], *, format: str = "arrow", name: str | None = None
    ) -> Dataset:
        """A vectorized function over whole batches.

        ``fn`` gets a :class:`pyarrow.RecordBatch` (``format="arrow"``) or a pandas DataFrame
        (``format="pandas"``) and returns a batch, table, DataFrame or dict of columns.

        Examples
        --------
        >>> import gleamnb as gl, pyarrow.compute as pc
        >>> f = gl.Flow()
        >>> f.ints([1, 2]).map_batches(lambda b: {"x": pc.multiply(b.column(0), 10)}).collect()
        [(10,), (20,)]
        """
        if format not in ("arrow", "pandas"):
            raise ArgumentError(f"unknown batch format {format!r}", hint='use "arrow" or "pandas"')
        step = steps.MapBatches(name=step_name(name, fn, "map_batches"), fn=fn, format=format)
        check_function(fn, step.name)
        return self._then(step, named=True)

    def pipe(self, command: str, *, name: str | None = None) -> Dataset:
        """Send the rows through a shell command: TSV lines in, its output lines back as rows.

        Numbers are formatted (never dropped); output lines are split on tabs only, and every
        field comes back as a string.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("b", 2), ("a", 1)]).pipe("sort").collect()
        [('a', '1'), ('b', '2')]
        """
        if not isinstance(command, str) or not command.strip():
            raise ArgumentError("pipe needs a shell command", hint='e.g. .pipe("sort -u")')
        return self._then(steps.Pipe(name=name or "pipe", command=command))

    def pipe_as_args(self, template: str, *, name: str | None = None) -> Dataset:
        """Run ``template`` once per row, ``$1``, ``$2``... replaced by the row's fields.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1)]).pipe_as_args("echo $1-$2").collect()
        [('a-1',)]
        """
        if not isinstance(template, str) or not template.strip():
            raise ArgumentError("pipe_as_args needs a command template", hint='e.g. "echo $1"')
        return self._then(steps.PipeAsArgs(name=name or "pipe_as_args", template=template))

    def local_sort(self, order: Order | Key, *, name: str | None = None) -> Dataset:
        """Sort each shard on its own (no data moves between shards).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([3, 1, 2, 0], shards=2).local_sort(1).collect()
        [(1,), (3,), (0,), (2,)]
        """
        o = as_order(order)
        self._check(o.fields, name or "local_sort")
        return self._then(
            steps.LocalSort(name=name or "local_sort", order=o),
            names=self.node.names,
            named=self.node.named,
        )

    def local_top(self, n: int, order: Order | Key, *, name: str | None = None) -> Dataset:
        """The first ``n`` rows of each shard in ``order``.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([3, 1, 2, 0], shards=2).local_top(1, 1).collect()
        [(1,), (0,)]
        """
        o = as_order(order)
        check_count(n, "local_top's n", minimum=0)
        self._check(o.fields, name or "local_top")
        return self._then(
            steps.LocalTop(name=name or "local_top", n=n, order=o),
            names=self.node.names,
            named=self.node.named,
        )

    def local_reduce_by_key(
        self, fn: Callable[[Any, Any], Any] | str, *, key: Key = 1, name: str | None = None
    ) -> Dataset:
        """Reduce by key within each shard (a map-side combine without a shuffle).

        Examples
        --------
        >>> import gleamnb as gl
        >>> rows = [("a", 1), ("a", 2), ("a", 3)]
        >>> gl.Flow().slices(rows, shards=2).local_reduce_by_key("sum").collect()
        [('a', 1), ('a', 5)]
        """
        keys = as_fields(key, "local_reduce_by_key")
        step = steps.LocalReduceByKey(
            name=name or "local_reduce_by_key", reducer=as_reducer(fn), key=keys
        )
        self._check(keys, step.name)
        if step.reducer.fn is not None and step.reducer.agg is None:
            check_function(step.reducer.fn, step.name, "reducer")
        return self._then(step, names=inference.key_first_names(self.node.names, keys, step.name))

    def local_distinct(self, *, name: str | None = None) -> Dataset:
        """Drop duplicate rows within each shard.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([1, 1, 1, 1], shards=2).local_distinct().collect()
        [(1,), (1,)]
        """
        return self._then(
            steps.LocalDistinct(name=name or "local_distinct"),
            names=self.node.names,
            named=self.node.named,
        )

    def local_limit(self, n: int, offset: int = 0, *, name: str | None = None) -> Dataset:
        """Rows ``offset .. offset + n`` of each shard.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 6, shards=2).local_limit(1, offset=1).collect()
        [(1,), (4,)]
        """
        check_count(n, "local_limit's n", minimum=0)
        check_count(offset, "local_limit's offset", minimum=0)
        step = steps.LocalLimit(name=name or "local_limit", n=n, offset=offset)
        return self._then(step, names=self.node.names, named=self.node.named)

    # -- wide steps ----------------------------------------------------------------------------

    def reduce_by_key(
        self, fn: Callable[[Any, Any], Any] | str, *, key: Key = 1, name: str | None = None
    ) -> Dataset:
        """Combine the values of each key: ``fn(a, b)`` over the value fields.

        ``fn`` gets scalars when there is one value field and tuples otherwise. The
        aggregates ``"sum"``, ``"count"``, ``"min"``, ``"max"``, ``"first"``, ``"last"`` (and
        ``operator.add``, ``min``, ``max`` on numbers) run vectorized. Rows come out as
        ``(key..., values...)``.

        Examples
        --------
        >>> import gleamnb as gl, operator
        >>> f = gl.Flow()
        >>> sorted(f.slices([("a", 1), ("b", 2), ("a", 3)]).reduce_by_key(operator.add).collect())
        [('a', 4), ('b', 2)]
        """
        keys = as_fields(key, "reduce_by_key")
        reducer = as_reducer(fn)
        step = steps.ReduceByKey(
            name=name or step_name(None, fn if reducer.agg is None else None, "reduce_by_key"),
            reducer=reducer,
            key=keys,
        )
        self._check(keys, step.name)
        if reducer.agg is None:
            check_function(reducer.fn, step.name, "reducer")
        names = inference.reduce_by_key_names(self.node.names, keys, reducer, step.name)
        return self._then(step, shards=self._wide_shards(), names=names)

    def reduce(self, fn: Callable[[Any, Any], Any] | str, *, name: str | None = None) -> Dataset:
        """Fold all rows into one: ``fn(a, b)`` gets scalars (one field) or tuples.

        Examples
        --------
        >>> import gleamnb as gl, operator
        >>> gl.Flow().range(1, 101, shards=4).reduce(operator.add).collect()
        [(5050,)]
        """
        reducer = as_reducer(fn)
        step = steps.Reduce(name=name or "reduce", reducer=reducer)
        if reducer.agg is None:
            check_function(reducer.fn, step.name, "reducer")
        return self._then(step, shards=1, names=inference.reduce_names(self.node.names, reducer))

    def group_by_key(self, *, key: Key = 1, name: str | None = None) -> Dataset:
        """``(key..., [values])`` per key; a value is a scalar (one value field) or a tuple.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1), ("b", 2), ("a", 3)]).group_by_key().collect()
        [('a', [1, 3]), ('b', [2])]
        """
        keys = as_fields(key, "group_by_key")
        step = steps.GroupByKey(name=name or "group_by_key", key=keys)
        self._check(keys, step.name)
        names = inference.group_by_key_names(self.node.names, keys, step.name)
        return self._then(step, shards=self._wide_shards(), names=names)

    def distinct(self, *, key: Key | None = None, name: str | None = None) -> Dataset:
        """One row per distinct value of ``key`` (the first seen); all fields when None.

        Examples
        --------
        >>> import gleamnb as gl
        >>> sorted(gl.Flow().ints([3, 1, 3, 2, 1]).distinct().collect())
        [(1,), (2,), (3,)]
        """
        keys = as_fields(key, "distinct")
        step = steps.Distinct(name=name or "distinct", key=keys)
        self._check(keys, step.name)
        names = inference.distinct_names(self.node.names, keys, step.name)
        return self._then(step, shards=self._wide_shards(), names=names, named=self.node.named)

    def sort(self, order: Order | Key = 1, *, name: str | None = None) -> Dataset:
        """Sort all rows (ties keep their order); ``gl.order_by(2, descending=True)`` etc.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 2), ("b", 1)]).sort(gl.order_by(2)).collect()
        [('b', 1), ('a', 2)]
        """
        o = as_order(order)
        step = steps.Sort(name=name or "sort", order=o)
        self._check(o.fields, step.name)
        return self._then(
            step, shards=self._wide_shards(), names=self.node.names, named=self.node.named
        )

    def top(self, n: int, order: Order | Key = 1, *, name: str | None = None) -> Dataset:
        """The first ``n`` rows in ``order``, in that order (one shard).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([5, 1, 4, 2]).top(2, gl.order_by(1, descending=True)).collect()
        [(5,), (4,)]
        """
        o = as_order(order)
        check_count(n, "top's n", minimum=0)
        step = steps.Top(name=name or "top", n=n, order=o)
        self._check(o.fields, step.name)
        return self._then(step, shards=1, names=self.node.names, named=self.node.named)

    def limit(self, n: int, offset: int = 0, *, name: str | None = None) -> Dataset:
        """At most ``n`` rows (after skipping ``offset``), taken from the shards in order.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 100, shards=3).limit(3).collect()
        [(0,), (1,), (2,)]
        """
        check_count(n, "limit's n", minimum=0)
        check_count(offset, "limit's offset", minimum=0)
        step = steps.Limit(name=name or "limit", n=n, offset=offset)
        return self._then(step, shards=1, names=self.node.names, named=self.node.named)

    def _join(self, other: Dataset, on: Key, how: str, name: str | None) -> Dataset:
        keys = as_fields(on, "join")
        kind = "join" if how == "inner" else f"{how}_join"
        step = steps.Join(name=name or kind, how=how, on=keys)
        _check_dataset(other, step.name)
        self._check(keys, step.name)
        other._check(keys, step.name)
        names = inference.join_names(
            self.node.names, other.node.names, keys, step.name, lists=False
        )
        return self._then(step, inputs=[self, other], shards=self._wide_shards(), names=names)

    def join(self, other: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """Inner join on the fields ``on`` (the same on both sides).

        Rows come out as ``(key..., left values..., right values...)``.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a")]).join(f.slices([(1, "x"), (2, "y")])).collect()
        [(1, 'a', 'x')]
        """
        return self._join(other, on, "inner", name)

    def left_outer_join(self, other: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """Every left row; right values are None where no right row matches.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a"), (2, "b")]).left_outer_join(f.slices([(1, "x")])).collect()
        [(1, 'a', 'x'), (2, 'b', None)]
        """
        return self._join(other, on, "left_outer", name)

    def right_outer_join(self, other: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """Every right row; left values are None where no left row matches.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a")]).right_outer_join(f.slices([(1, "x"), (3, "z")])).collect()
        [(1, 'a', 'x'), (3, None, 'z')]
        """
        return self._join(other, on, "right_outer", name)

    def full_outer_join(self, other: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """Rows of both sides; the missing side is padded with None.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a"), (2, "b")]).full_outer_join(f.slices([(3, "z")])).collect()
        [(1, 'a', None), (2, 'b', None), (3, None, 'z')]
        """
        return self._join(other, on, "full_outer", name)

    def hash_join(self, small: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """Inner join with a small dataset copied to every shard (no shuffle of this side).

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a"), (2, "b")]).hash_join(f.slices([(2, "y")])).collect()
        [(2, 'b', 'y')]
        """
        keys = as_fields(on, "hash_join")
        step = steps.HashJoin(name=name or "hash_join", on=keys)
        self._check(keys, step.name)
        _check_dataset(small, step.name)
        small._check(keys, step.name)
        names = inference.join_names(
            self.node.names, small.node.names, keys, step.name, lists=False
        )
        return self._then(step, inputs=[self, small], shards=self.node.shards, names=names)

    def co_group(self, other: Dataset, on: Key = 1, *, name: str | None = None) -> Dataset:
        """``(key..., [left values], [right values])`` for every key of either side.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.slices([(1, "a"), (1, "b")]).co_group(f.slices([(1, "x"), (2, "y")])).collect()
        [(1, ['a', 'b'], ['x']), (2, [], ['y'])]
        """
        keys = as_fields(on, "co_group")
        step = steps.CoGroup(name=name or "co_group", on=keys)
        _check_dataset(other, step.name)
        self._check(keys, step.name)
        other._check(keys, step.name)
        names = inference.join_names(self.node.names, other.node.names, keys, step.name, lists=True)
        return self._then(step, inputs=[self, other], shards=self._wide_shards(), names=names)

    def partition(self, n: int, *, key: Key = 1, name: str | None = None) -> Dataset:
        """Hash-partition into ``n`` shards by ``key`` (rows come out key first).

        Examples
        --------
        >>> import gleamnb as gl
        >>> d = gl.Flow().slices([("x", 1), ("y", 2), ("x", 3)]).partition(2, key=2)
        >>> d.shards, sorted(d.collect())
        (2, [(1, 'x'), (2, 'y'), (3, 'x')])
        """
        check_count(n, "partition's shard count")
        keys = as_fields(key, "partition")
        step = steps.Partition(name=name or "partition", n=n, key=keys)
        self._check(keys, step.name)
        names = inference.key_first_names(self.node.names, keys, step.name)
        return self._then(step, shards=n, names=names)

    def round_robin(self, n: int, *, name: str | None = None) -> Dataset:
        """Deal the rows over ``n`` shards in turn.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 4).round_robin(2).collect()
        [(0,), (2,), (1,), (3,)]
        """
        check_count(n, "round_robin's shard count")
        step = steps.RoundRobin(name=name or "round_robin", n=n)
        return self._then(step, shards=n, names=self.node.names, named=self.node.named)

    def broadcast(self, n: int, *, name: str | None = None) -> Dataset:
        """``n`` shards, each holding every row.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([7]).broadcast(3).collect()
        [(7,), (7,), (7,)]
        """
        check_count(n, "broadcast's shard count")
        step = steps.Broadcast(name=name or "broadcast", n=n)
        return self._then(step, shards=n, names=self.node.names, named=self.node.named)

    def merge_to(self, n: int, *, name: str | None = None) -> Dataset:
        """Merge the shards into ``n`` (consecutive shards concatenated, in order).

        Examples
        --------
        >>> import gleamnb as gl
        >>> d = gl.Flow().range(0, 4, shards=4).merge_to(1)
        >>> d.shards, d.collect()
        (1, [(0,), (1,), (2,), (3,)])
        """
        check_count(n, "merge_to's shard count")
        step = steps.MergeTo(name=name or "merge_to", n=n)
        return self._then(step, shards=n, names=self.node.names, named=self.node.named)

    def merge_sorted_to(
        self, n: int, order: Order | Key = 1, *, name: str | None = None
    ) -> Dataset:
        """Merge shards sorted by ``order`` into ``n`` sorted shards.

        Examples
        --------
        >>> import gleamnb as gl
        >>> d = gl.Flow().ints([5, 1, 4, 2], shards=2).local_sort(1)
        >>> d.merge_sorted_to(1, 1).collect()
        [(1,), (2,), (4,), (5,)]
        """
        check_count(n, "merge_sorted_to's shard count")
        o = as_order(order)
        step = steps.MergeSortedTo(name=name or "merge_sorted_to", n=n, order=o)
        self._check(o.fields, step.name)
        return self._then(step, shards=n, names=self.node.names, named=self.node.named)

    def union(self, *others: Dataset, ordered: bool = False, name: str | None = None) -> Dataset:
        """All rows of this and ``others``.

        By default the shards sit side by side (``n1 + n2 + ...`` shards, read in parallel);
        ``ordered=True`` gives one shard: this dataset's rows, then each other's, in order.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> f.ints([1, 2]).union(f.ints([3])).collect()
        [(1,), (2,), (3,)]
        """
        if not others:
            raise ArgumentError("union needs at least one other dataset", hint="e.g. a.union(b)")
        step = steps.Union(name=name or "union", ordered=ordered)
        for other in others:
            _check_dataset(other, step.name)
        inputs = [self, *others]
        names = inference.union_names([d.node.names for d in inputs], step.name)
        return self._then(
            step,
            inputs=inputs,
            shards=inference.union_shards([d.node.shards for d in inputs], ordered),
            names=names,
            named=self.node.named,
        )

    # -- hints and storage ---------------------------------------------------------------------

    def hint(
        self, *, total_size_mb: float | None = None, partition_size_mb: float | None = None
    ) -> Dataset:
        """Size hints: with both, shuffles downstream use ``total / partition`` shards.

        Examples
        --------
        >>> import gleamnb as gl
        >>> d = gl.Flow().range(0, 100).hint(total_size_mb=256, partition_size_mb=64)
        >>> d.map(lambda x: (x % 3, 1)).reduce_by_key("sum").shards
        4
        """
        for what, v in (("total_size_mb", total_size_mb), ("partition_size_mb", partition_size_mb)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise ArgumentError(f"{what} must be a positive number, got {v!r}")
        return self.flow._replace(
            self.node, total_size_mb=total_size_mb, partition_size_mb=partition_size_mb
        )

    def on_disk(self) -> Dataset:
        """Keep this dataset's shards on disk (not memory), written out whole.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 3).map(lambda x: x * 2).on_disk().collect()
        [(0,), (2,), (4,)]
        """
        return self.flow._replace(self.node, on_disk=True)

    def cache(self) -> Dataset:
        """Write this dataset out whole when it runs, so every reader in the run shares it.

        Examples
        --------
        >>> import gleamnb as gl
        >>> d = gl.Flow().range(0, 3).map(lambda x: x + 1).cache()
        >>> d.union(d.map(lambda x: -x)).collect()
        [(1,), (2,), (3,), (-1,), (-2,), (-3,)]
        """
        return self.flow._replace(self.node, cache=True)

    # -- sinks ---------------------------------------------------------------------------------

    def _sink(self, step: steps.Step) -> Flow:
        self.flow._add_sink(step, self.node)
        return self.flow

    def printlnf(self, fmt: str, *, name: str | None = None) -> Flow:
        """Print each row with ``fmt`` (``%s``, ``%d``, ``%v``...) and a newline, on the driver.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1)]).printlnf("%s=%d").run(progress=False) and None
        a=1
        """
        return self._sink(steps.Printf(name=name or "printlnf", fmt=fmt, newline=True))

    def printf(self, fmt: str, *, name: str | None = None) -> Flow:
        """Print each row with ``fmt`` (no newline added).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([1, 2]).printf("%d;").run(progress=False) and print()
        1;2;
        """
        return self._sink(steps.Printf(name=name or "printf", fmt=fmt, newline=False))

    def fprintf(self, file: Any, fmt: str, *, name: str | None = None) -> Flow:
        """Write each row with ``fmt`` to ``file`` (a path or an open text file).

        Examples
        --------
        >>> import gleamnb as gl, io
        >>> out = io.StringIO()
        >>> _ = gl.Flow().slices([("a", 1)]).fprintf(out, "%s,%d\\n").run(progress=False)
        >>> out.getvalue()
        'a,1\\n'
        """
        return self._sink(steps.Printf(name=name or "fprintf", fmt=fmt, newline=False, file=file))

    def output_row(self, fn: Callable[..., Any], *, name: str | None = None) -> Flow:
        """Call ``fn(*fields)`` for every row, on the driver.

        Examples
        --------
        >>> import gleamnb as gl
        >>> seen = []
        >>> flow = gl.Flow().slices([("a", 1)]).output_row(lambda *row: seen.append(row))
        >>> _ = flow.run(progress=False)
        >>> seen
        [('a', 1)]
        """
        if not callable(fn):
            raise ArgumentError("output_row needs a function", hint="e.g. .output_row(print)")
        return self._sink(steps.OutputRow(name=step_name(name, fn, "output_row"), fn=fn))

    def save(
        self,
        path: str,
        format: str = "parquet",
        *,
        header: bool = True,
        name: str | None = None,
    ) -> Flow:
        """Write the dataset to the folder ``path``, one part file per shard.

        Parameters
        ----------
        path
            The output folder (created; part files of an earlier save there are replaced). A
            relative path is taken from the current folder now, as a source's files are, so
            the executors of a cluster write where the driver looks.
        format
            ``"parquet"``, ``"csv"``, ``"tsv"``, ``"txt"`` or ``"jsonl"``.
        header
            csv and tsv: each part starts with a line of the field names (default);
            ``header=False`` writes the rows alone, as a file read with ``header=False``
            was. The other formats have no header line.
        name
            The step's name in plans and errors.

        Examples
        --------
        >>> import gleamnb as gl, os, tempfile
        >>> out = os.path.join(tempfile.mkdtemp(), "squares")
        >>> _ = gl.Flow().range(0, 4, shards=2).map(lambda x: x * x).save(out).run(progress=False)
        >>> sorted(os.listdir(out))
        ['part-00000.parquet', 'part-00001.parquet']

        A headerless TSV file read and written back unchanged:

        >>> src = os.path.join(tempfile.mkdtemp(), "counts.tsv")
        >>> _ = open(src, "w").write("a\\t1\\nb\\t2\\n")
        >>> out = os.path.join(tempfile.mkdtemp(), "copy")
        >>> _ = gl.Flow().read(gl.tsv(src)).save(out, "tsv", header=False).run(progress=False)
        >>> open(os.path.join(out, "part-00000.tsv")).read() == open(src).read()
        True
        """
        check_format(format)
        check_header(format, header)
        where = os.path.abspath(os.fspath(path))
        step = steps.Save(name=name or "save", path=where, format=format, header=header)
        return self._sink(step)

    # -- actions -------------------------------------------------------------------------------

    @overload
    def to_arrow(
        self, runner: Runner | None = None, *, progress: Any = None, wait: Literal[True] = True
    ) -> pa.Table: ...

    @overload
    def to_arrow(
        self, runner: Runner | None = None, *, progress: Any = None, wait: Literal[False]
    ) -> RunHandle[pa.Table]: ...

    def to_arrow(
        self, runner: Runner | None = None, *, progress: Any = None, wait: bool = True
    ) -> pa.Table | RunHandle[pa.Table]:
        """Run now and return the rows as a :class:`pyarrow.Table` (shards in order).

        With ``wait=False`` the run goes on in the background: the :class:`RunHandle`
        returned at once gives the table (``handle.result()``) or cancels the run.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().ints([1, 2]).to_arrow().num_rows
        2
        >>> gl.Flow().ints([1, 2]).to_arrow(wait=False).result(timeout=60).num_rows
        2
        """
        step = steps.Collect(name="collect")
        return self.flow._action(self.node, step, runner, progress, wait)

    def collect(
        self, runner: Runner | None = None, *, progress: Any = None
    ) -> list[tuple[Any, ...]]:
        """Run now and return every row as a list of tuples.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().strings(["x", "y"]).collect()
        [('x',), ('y',)]
        """
        from gleamnb.rows import batch_to_rows

        return batch_to_rows(self.to_arrow(runner, progress=progress))

    def take(
        self, n: int, runner: Runner | None = None, *, progress: Any = None
    ) -> list[tuple[Any, ...]]:
        """The first ``n`` rows (shards in order), computing no more than needed downstream.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 1000, shards=4).take(3)
        [(0,), (1,), (2,)]
        """
        return self.limit(n, name="take").collect(runner, progress=progress)

    def first(
        self, runner: Runner | None = None, *, progress: Any = None
    ) -> tuple[Any, ...] | None:
        """The first row, or None when the dataset is empty.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().strings(["x", "y"]).first()
        ('x',)
        """
        rows = self.take(1, runner, progress=progress)
        return rows[0] if rows else None

    def count(self, runner: Runner | None = None, *, progress: Any = None) -> int:
        """The number of rows (counted in the executors; no rows travel).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().range(0, 1000, shards=4).count()
        1000
        """
        return self.flow._action(self.node, steps.Count(name="count"), runner, progress)

    def to_pandas(self, runner: Runner | None = None, *, progress: Any = None) -> pd.DataFrame:
        """Run now and return a pandas DataFrame (Python-object fields as object columns).

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1)]).to_pandas().to_dict("records")
        [{'_1': 'a', '_2': 1}]
        """
        import pandas as pd

        from gleamnb.rows import column_to_pylist

        table = self.to_arrow(runner, progress=progress)
        if any(isinstance(t, pa.ExtensionType) for t in table.schema.types):
            return pd.DataFrame(
                {n: column_to_pylist(c) for n, c in zip(table.schema.names, table.columns)}
            )
        return table.to_pandas()

    def show(
        self, n: int | Runner = 20, runner: Runner | None = None, *, progress: Any = None
    ) -> None:
        """Print the first ``n`` rows as a small table.

        Like every action, ``show`` also takes the runner as its first argument:
        ``show(runner)`` is ``show(20, runner)``.

        Examples
        --------
        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1), ("b", 22)]).show()
        _1 | _2
        ---+---
        a  |  1
        b  | 22
        >>> gl.Flow().ints([7]).show(gl.local(mode="inline"))
        _1
        --
         7
        """
        from gleamnb.api.display import format_rows
        from gleamnb.runners.base import Runner

        if isinstance(n, Runner):
            if runner is not None:
                raise ArgumentError(
                    "show got two runners", hint="use show(runner) or show(n, runner)"
                )
            n, runner = 20, n
        check_count(n, "the n of show", minimum=0, step="show")

        rows = self.take(n + 1, runner, progress=progress)
        names = self.names or tuple(f"_{i + 1}" for i in range(len(rows[0]) if rows else 0))
        print(format_rows(rows[:n], names, more=len(rows) > n))


def _check_dataset(value: Any, step: str) -> None:
    """Steps that combine datasets take :class:`Dataset` objects, not plain data."""
    if not isinstance(value, Dataset):
        raise ArgumentError(
            f"step {step!r} needs a Dataset to combine with, got {type(value).__name__} "
            f"{value!r:.80}",
            step=step,
            hint="make a dataset from the data first, e.g. flow.slices(rows) or "
            "flow.from_iterable(values), in the same flow",
        )
