"""Logical steps: what a user asked for, as frozen dataclasses. Nothing here runs.

A step holds its own parameters only; the graph (its inputs) lives in
:class:`~gleamnb.plan.graph.Node`.
``kind`` names the step type in plans and fingerprints; ``name`` is the user-visible step name.

Examples
--------
>>> from gleamnb.plan.order import order_by
>>> Sort(name="sort", order=order_by(2)).describe()
'sort by 2'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from gleamnb.fieldref import FieldRef
from gleamnb.plan.order import Order
from gleamnb.plan.reducers import Reducer

__all__ = [
    "Step",
    "InMemory",
    "RangeSource",
    "FileSource",
    "Map",
    "FlatMap",
    "Filter",
    "Select",
    "MapBatches",
    "Pipe",
    "PipeAsArgs",
    "LocalSort",
    "LocalTop",
    "LocalReduceByKey",
    "LocalDistinct",
    "LocalLimit",
    "ReduceByKey",
    "Reduce",
    "GroupByKey",
    "Distinct",
    "Sort",
    "Top",
    "Limit",
    "Join",
    "HashJoin",
    "CoGroup",
    "Partition",
    "RoundRobin",
    "Broadcast",
    "MergeTo",
    "MergeSortedTo",
    "Union",
    "Printf",
    "OutputRow",
    "Save",
    "Count",
    "Collect",
]


@dataclass(frozen=True, eq=False)
class Step:
    """Base of every logical step."""

    name: str
    kind: ClassVar[str] = "step"
    wide: ClassVar[bool] = False
    sink: ClassVar[bool] = False

    def describe(self) -> str:
        """One line for ``explain()``."""
        return self.kind if self.name == self.kind else f"{self.kind} {self.name}"

    def params(self) -> dict[str, Any]:
        """Parameters that define the step's output (for fingerprints and plans)."""
        return {k: v for k, v in self.__dict__.items() if k != "name"}


# -- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class InMemory(Step):
    """Rows given by the driver (``ints``, ``strings``, ``slices``, ``from_arrow``, ...)."""

    table: pa.Table = field(default=None)  # type: ignore[assignment]
    shards: int = 1
    kind: ClassVar[str] = "source"

    def describe(self) -> str:
        n = self.table.num_rows
        return f"{self.name} ({n} row{'s' if n != 1 else ''})"


@dataclass(frozen=True, eq=False)
class RangeSource(Step):
    start: int = 0
    stop: int = 0
    shards: int = 1
    kind: ClassVar[str] = "range"

    def describe(self) -> str:
        return f"range({self.start}, {self.stop}, shards={self.shards})"


@dataclass(frozen=True, eq=False)
class FileSource(Step):
    """A file source; ``spec`` is a :class:`gleamnb.files.spec.FileSpec`."""

    spec: Any = None
    kind: ClassVar[str] = "read"

    def describe(self) -> str:
        return f"read {self.spec.describe()}"


# -- narrow ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Map(Step):
    fn: Callable[..., Any] = None  # type: ignore[assignment]
    kind: ClassVar[str] = "map"


@dataclass(frozen=True, eq=False)
class FlatMap(Step):
    fn: Callable[..., Any] = None  # type: ignore[assignment]
    kind: ClassVar[str] = "flat_map"


@dataclass(frozen=True, eq=False)
class Filter(Step):
    fn: Callable[..., Any] = None  # type: ignore[assignment]
    kind: ClassVar[str] = "filter"


@dataclass(frozen=True, eq=False)
class Select(Step):
    fields: tuple[FieldRef, ...] = ()
    kind: ClassVar[str] = "select"

    def describe(self) -> str:
        return f"select {', '.join(map(str, self.fields))}"


@dataclass(frozen=True, eq=False)
class MapBatches(Step):
    fn: Callable[..., Any] = None  # type: ignore[assignment]
    format: str = "arrow"
    kind: ClassVar[str] = "map_batches"


@dataclass(frozen=True, eq=False)
class Pipe(Step):
    command: str = ""
    kind: ClassVar[str] = "pipe"

    def describe(self) -> str:
        return f"pipe {self.command!r}"


@dataclass(frozen=True, eq=False)
class PipeAsArgs(Step):
    template: str = ""
    kind: ClassVar[str] = "pipe_as_args"

    def describe(self) -> str:
        return f"pipe_as_args {self.template!r}"


@dataclass(frozen=True, eq=False)
class LocalSort(Step):
    order: Order = None  # type: ignore[assignment]
    kind: ClassVar[str] = "local_sort"

    def describe(self) -> str:
        return f"{self.kind} by {self.order.describe()}"


@dataclass(frozen=True, eq=False)
class LocalTop(Step):
    n: int = 0
    order: Order = None  # type: ignore[assignment]
    kind: ClassVar[str] = "local_top"

    def describe(self) -> str:
        return f"{self.kind} {self.n} by {self.order.describe()}"


@dataclass(frozen=True, eq=False)
class LocalReduceByKey(Step):
    reducer: Reducer = None  # type: ignore[assignment]
    key: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "local_reduce_by_key"

    def describe(self) -> str:
        return f"{self.kind}({self.reducer.describe()}) key={_keys(self.key)}"


@dataclass(frozen=True, eq=False)
class LocalDistinct(Step):
    key: tuple[FieldRef, ...] = ()
    kind: ClassVar[str] = "local_distinct"


@dataclass(frozen=True, eq=False)
class LocalLimit(Step):
    n: int = 0
    offset: int = 0
    kind: ClassVar[str] = "local_limit"

    def describe(self) -> str:
        return f"{self.kind} {self.n}" + (f" offset {self.offset}" if self.offset else "")


# -- wide --------------------------------------------------------------------------------------


def _keys(key: tuple[FieldRef, ...]) -> str:
    return ",".join(map(str, key)) if key else "all"


@dataclass(frozen=True, eq=False)
class ReduceByKey(Step):
    reducer: Reducer = None  # type: ignore[assignment]
    key: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "reduce_by_key"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind}({self.reducer.describe()}) key={_keys(self.key)}"


@dataclass(frozen=True, eq=False)
class Reduce(Step):
    reducer: Reducer = None  # type: ignore[assignment]
    kind: ClassVar[str] = "reduce"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind}({self.reducer.describe()})"


@dataclass(frozen=True, eq=False)
class GroupByKey(Step):
    key: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "group_by_key"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind} key={_keys(self.key)}"


@dataclass(frozen=True, eq=False)
class Distinct(Step):
    key: tuple[FieldRef, ...] = ()
    kind: ClassVar[str] = "distinct"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind} key={_keys(self.key)}"


@dataclass(frozen=True, eq=False)
class Sort(Step):
    order: Order = None  # type: ignore[assignment]
    kind: ClassVar[str] = "sort"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind} by {self.order.describe()}"


@dataclass(frozen=True, eq=False)
class Top(Step):
    n: int = 0
    order: Order = None  # type: ignore[assignment]
    kind: ClassVar[str] = "top"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind} {self.n} by {self.order.describe()}"


@dataclass(frozen=True, eq=False)
class Limit(Step):
    n: int = 0
    offset: int = 0
    kind: ClassVar[str] = "limit"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{self.kind} {self.n}" + (f" offset {self.offset}" if self.offset else "")


@dataclass(frozen=True, eq=False)
class Join(Step):
    how: str = "inner"
    on: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "join"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        how = "" if self.how == "inner" else f"{self.how} "
        return f"{how}join on {_keys(self.on)}"


@dataclass(frozen=True, eq=False)
class HashJoin(Step):
    on: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "hash_join"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"hash_join on {_keys(self.on)} (broadcast right side)"


@dataclass(frozen=True, eq=False)
class CoGroup(Step):
    on: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "co_group"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"co_group on {_keys(self.on)}"


@dataclass(frozen=True, eq=False)
class Partition(Step):
    n: int = 1
    key: tuple[FieldRef, ...] = (1,)
    kind: ClassVar[str] = "partition"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"partition into {self.n} by {_keys(self.key)}"


@dataclass(frozen=True, eq=False)
class RoundRobin(Step):
    n: int = 1
    kind: ClassVar[str] = "round_robin"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"round_robin into {self.n}"


@dataclass(frozen=True, eq=False)
class Broadcast(Step):
    n: int = 1
    kind: ClassVar[str] = "broadcast"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"broadcast to {self.n}"


@dataclass(frozen=True, eq=False)
class MergeTo(Step):
    n: int = 1
    kind: ClassVar[str] = "merge_to"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"merge_to {self.n}"


@dataclass(frozen=True, eq=False)
class MergeSortedTo(Step):
    n: int = 1
    order: Order = None  # type: ignore[assignment]
    kind: ClassVar[str] = "merge_sorted_to"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return f"merge_sorted_to {self.n} by {self.order.describe()}"


@dataclass(frozen=True, eq=False)
class Union(Step):
    ordered: bool = False
    kind: ClassVar[str] = "union"
    wide: ClassVar[bool] = True

    def describe(self) -> str:
        return "union" + (" (ordered)" if self.ordered else "")


# -- sinks and actions -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Printf(Step):
    """``printf``/``printlnf``/``fprintf``: format each row on the driver."""

    fmt: str = ""
    newline: bool = True
    file: Any = None  # None = sys.stdout at run time; a path or a file object
    kind: ClassVar[str] = "printf"
    sink: ClassVar[bool] = True

    def describe(self) -> str:
        return f"{'printlnf' if self.newline else 'printf'} {self.fmt!r}"


@dataclass(frozen=True, eq=False)
class OutputRow(Step):
    fn: Callable[..., Any] = None  # type: ignore[assignment]
    kind: ClassVar[str] = "output_row"
    sink: ClassVar[bool] = True


@dataclass(frozen=True, eq=False)
class Save(Step):
    path: str = ""
    format: str = "parquet"
    header: bool = True
    kind: ClassVar[str] = "save"
    sink: ClassVar[bool] = True

    def describe(self) -> str:
        text = f"save {self.format} to {self.path}"
        return text if self.header else text + " (no header)"


@dataclass(frozen=True, eq=False)
class Count(Step):
    """The ``count()`` action: each task counts, the driver adds."""

    kind: ClassVar[str] = "count"
    sink: ClassVar[bool] = True


@dataclass(frozen=True, eq=False)
class Collect(Step):
    """Actions that bring rows to the driver (``collect``, ``take``, ``to_arrow``, ...)."""

    kind: ClassVar[str] = "collect"
    sink: ClassVar[bool] = True
