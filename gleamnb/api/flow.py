"""``Flow``: a named dataflow DAG, its sources, and running it.

Examples
--------
>>> import gleamnb as gl, operator
>>> f = gl.Flow("word count")
>>> words = (f.strings(["a b a", "b a"])
...          .flat_map(gl.mappers.tokenize)
...          .map(gl.mappers.append_one)
...          .reduce_by_key(operator.add)
...          .sort(gl.order_by(2, descending=True)))
>>> words.collect()
[('a', 3), ('b', 2)]
"""

from __future__ import annotations

import builtins
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import pyarrow as pa

from gleamnb.api.checks import check_count, names_flow_in_errors
from gleamnb.api.dataset import Dataset
from gleamnb.errors import ArgumentError, GleamError, UserCodeError, exception_text
from gleamnb.events import Listener, StageInfo
from gleamnb.files import FileSpec, default_shards, list_files
from gleamnb.plan import steps
from gleamnb.plan.dot import logical_text, to_dot
from gleamnb.plan.graph import Node
from gleamnb.planner.lower import lower
from gleamnb.planner.physical import PhysicalPlan
from gleamnb.rows import batch_to_rows, rows_to_batch
from gleamnb.runners.base import Runner
from gleamnb.runners.default import get_runner
from gleamnb.runners.handle import RunHandle
from gleamnb.runners.result import RunResult
from gleamnb.scan import names_at_build

__all__ = ["Flow"]


@names_flow_in_errors(lambda f: f.name)
class Flow:
    """A named dataflow: sources, the steps over them, and sinks. Nothing runs until
    :meth:`run` or an action (``collect()``, ``count()``, ...) on one of its datasets.

    Parameters
    ----------
    name
        Shown in plans, progress displays and error messages.
    """

    def __init__(self, name: str = "flow") -> None:
        self.name = name
        self._nodes: dict[int, Node] = {}
        self._sinks: list[Node] = []
        self.last_run: RunResult | None = None

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}: {len(self._nodes)} datasets, {len(self._sinks)} sinks>"

    @property
    def sinks(self) -> tuple[str, ...]:
        """The flow's sinks (what :meth:`run` runs), described.

        >>> import gleamnb as gl
        >>> f = gl.Flow()
        >>> _ = f.range(3).printlnf("%d")
        >>> f.sinks
        ("printlnf '%d'",)
        """
        return tuple(s.step.describe() for s in self._sinks)

    # -- building ------------------------------------------------------------------------------

    def _add(
        self,
        step: steps.Step,
        inputs: tuple[Node, ...],
        shards: int,
        names: tuple[str, ...] | None,
        named: bool = False,
    ) -> Dataset:
        node = Node(len(self._nodes), step, inputs, shards=shards, names=names, named=named)
        self._nodes[node.id] = node
        return Dataset(self, node)

    def _replace(self, node: Node, **hints: Any) -> Dataset:
        """A copy of ``node`` with changed hints, standing for the same dataset id."""
        changes = {k: v for k, v in hints.items() if v is not None}
        new = node.with_hints(**changes)
        self._nodes[node.id] = new
        return Dataset(self, new)

    def _add_sink(self, step: steps.Step, node: Node) -> Node:
        sink = Node(-1, step, (node,), shards=node.shards, names=node.names)
        self._sinks.append(sink)
        return sink

    def _in_memory(self, rows_or_table: Any, shards: int, name: str) -> Dataset:
        check_count(shards, f"{name}: shards")
        if isinstance(rows_or_table, pa.Table):
            table = rows_or_table
        else:
            rows = list(rows_or_table)
            table = (
                pa.Table.from_batches([rows_to_batch(rows, step=name)])
                if rows
                else pa.table({"_1": pa.array([], pa.null())})
            )
        names = tuple(table.schema.names)
        return self._add(steps.InMemory(name=name, table=table, shards=shards), (), shards, names)

    # -- sources -------------------------------------------------------------------------------

    def read(self, source: FileSpec, *, name: str | None = None) -> Dataset:
        """Read files: ``flow.read(gl.txt("logs/*.gz"))``, ``gl.csv(...)``, ``gl.parquet(...)``...

        The files are listed now, so a missing file or an empty glob fails here.
        """
        if not isinstance(source, FileSpec):
            raise ArgumentError(
                f"read() takes a file source such as gl.txt(path), not {type(source).__name__}",
                hint="for Python data use flow.strings/ints/slices/from_iterable/from_arrow",
            )
        files = list_files(source)
        shards = default_shards(source, files)
        names = names_at_build(source, files)
        return self._add(steps.FileSource(name=name or "read", spec=source), (), shards, names)

    def strings(self, values: Iterable[str], *, shards: int = 1, name: str = "strings") -> Dataset:
        """One 1-field row per string.

        >>> import gleamnb as gl
        >>> gl.Flow().strings(["a", "b"]).collect()
        [('a',), ('b',)]
        """
        return self._in_memory([(v,) for v in values], shards, name)

    def ints(self, values: Iterable[int], *, shards: int = 1, name: str = "ints") -> Dataset:
        """One 1-field row per int.

        >>> import gleamnb as gl
        >>> gl.Flow().ints([3, 4]).count()
        2
        """
        return self._in_memory([(v,) for v in values], shards, name)

    def slices(
        self, rows: Iterable[Sequence[Any]], *, shards: int = 1, name: str = "slices"
    ) -> Dataset:
        """Rows given as tuples or lists of fields.

        >>> import gleamnb as gl
        >>> gl.Flow().slices([("a", 1), ["b", 2]]).collect()
        [('a', 1), ('b', 2)]
        """
        return self._in_memory([_row_of(r, i, name) for i, r in enumerate(rows)], shards, name)

    def range(
        self, start: int, stop: int | None = None, *, shards: int = 1, name: str = "range"
    ) -> Dataset:
        """The ints ``start .. stop - 1`` (or ``0 .. start - 1``), split into ``shards``.

        >>> import gleamnb as gl
        >>> gl.Flow().range(3).collect()
        [(0,), (1,), (2,)]
        """
        if stop is None:
            start, stop = 0, start
        for v in (start, stop):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ArgumentError(f"range needs ints, got {v!r}", hint="e.g. flow.range(0, 100)")
        check_count(shards, "range: shards")
        step = steps.RangeSource(name=name, start=start, stop=stop, shards=shards)
        return self._add(step, (), shards, ("_1",))

    def from_iterable(
        self, iterable: Iterable[Any], *, shards: int = 1, name: str = "from_iterable"
    ) -> Dataset:
        """Rows from any iterable (a non-tuple item is a 1-field row), read now.

        >>> import gleamnb as gl
        >>> gl.Flow().from_iterable(x * x for x in range(3)).collect()
        [(0,), (1,), (4,)]
        """
        return self._in_memory(list(iterable), shards, name)

    def from_arrow(
        self, table: pa.Table | pa.RecordBatch, *, shards: int = 1, name: str = "from_arrow"
    ) -> Dataset:
        """The rows of an Arrow table; its column names become field names."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if not isinstance(table, pa.Table):
            raise ArgumentError(f"from_arrow needs a pyarrow Table, got {type(table).__name__}")
        return self._in_memory(table, shards, name)

    def from_pandas(self, df: Any, *, shards: int = 1, name: str = "from_pandas") -> Dataset:
        """The rows of a pandas DataFrame (the index is dropped)."""
        table = pa.Table.from_pandas(df, preserve_index=False)
        return self._in_memory(table, shards, name)

    # -- planning ------------------------------------------------------------------------------

    def _current(self, node: Node) -> Node:
        """The node as the flow holds it now (hints may have replaced it)."""
        return self._nodes.get(node.id, node) if node.id >= 0 else node

    def _refresh(self, node: Node) -> Node:
        """Rebuild ``node``'s inputs from the flow's current nodes (picking up later hints)."""
        memo: dict[int, Node] = {}

        def visit(n: Node) -> Node:
            if id(n) in memo:
                return memo[id(n)]
            cur = self._current(n)
            ins = tuple(visit(i) for i in cur.inputs)
            out = (
                cur
                if ins == cur.inputs
                else Node(cur.id, cur.step, ins, cur.shards, cur.names, cur.named, cur.hints)
            )
            memo[id(n)] = out
            return out

        return visit(node)

    def plan(self, targets: Sequence[Node] | None = None) -> PhysicalPlan:
        """The physical plan computing ``targets`` (default: the flow's sinks)."""
        nodes = [self._refresh(t) for t in (targets if targets is not None else self._sinks)]
        return lower(self.name, nodes)

    def explain(self) -> str:
        """The plan as text: the logical datasets, then the stages with fused step names.

        Examples
        --------
        >>> import gleamnb as gl
        >>> f = gl.Flow("squares")
        >>> _ = f.range(0, 4, shards=2).map(lambda x: x * x, name="square").printlnf("%d")
        >>> print(f.explain())
        Flow 'squares'
        Datasets:
          d0 = range(0, 4, shards=2)  [2 shards]
          d1 = map square (d0)  [2 shards]
          printlnf '%d' (d1)
        Stages:
          stage 0: range->square  (2 tasks) -> forward
        """
        sinks = [self._refresh(s) for s in self._sinks]
        targets = sinks or self._leaves()
        lines = [f"Flow {self.name!r}", "Datasets:"]
        lines += ["  " + line for line in logical_text(targets, sinks).splitlines()]
        lines.append("Stages:")
        try:
            stages = lower(
                self.name, targets if sinks else [self._as_collect(t) for t in targets]
            ).describe()
        except GleamError as err:
            stages = f"(cannot plan yet: {err.message})"
        lines += ["  " + line for line in stages.splitlines()]
        return "\n".join(lines)

    def _leaves(self) -> list[Node]:
        used = {i.id for n in self._nodes.values() for i in n.inputs}
        return [self._refresh(n) for n in self._nodes.values() if n.id not in used]

    def _as_collect(self, node: Node) -> Node:
        return Node(-1, steps.Collect(name="collect"), (node,), node.shards, node.names)

    def _run_targets(self, datasets: Sequence[Dataset] | None) -> tuple[list[Node], list[Node]]:
        """What a run computes: the sinks (no ``datasets``), or each dataset collected."""
        if datasets:
            nodes = [self._refresh(d.node) for d in datasets]
            return nodes, [self._as_collect(n) for n in nodes]
        sinks = [self._refresh(s) for s in self._sinks]
        return sinks, sinks

    def stage_infos(self, datasets: Sequence[Dataset] | None = None) -> tuple[StageInfo, ...]:
        """The stages a run has, as its ``RunStarted`` event will carry them.

        Parameters
        ----------
        datasets
            The datasets an action collects (``ds.to_arrow()``); default: the flow's sinks.

        Examples
        --------
        >>> import gleamnb as gl, operator
        >>> f = gl.Flow()
        >>> d = f.strings(["a b a"]).flat_map(gl.mappers.tokenize).map(gl.mappers.append_one)
        >>> [(s.id, s.tasks, s.output) for s in f.stage_infos([d.reduce_by_key(operator.add)])]
        [(0, 1, 'hash shuffle by 1 into 1'), (1, 1, 'forward')]
        """
        _, targets = self._run_targets(datasets)
        return lower(self.name, targets).stage_infos()

    def to_dot(
        self, *, stages: bool = False, datasets: Sequence[Dataset] | None = None, **kwargs: Any
    ) -> str:
        """The flow's DAG as graphviz DOT source (datasets and the steps that make them).

        With ``stages``, the datasets are grouped in boxes by the stage that computes them
        in a run of ``datasets`` (default: the flow's sinks), and the edges where data is
        exchanged between stages (shuffles) are drawn apart.
        """
        nodes, targets = self._run_targets(datasets)
        sinks = [self._refresh(s) for s in self._sinks] if not datasets else []
        if stages:
            kwargs["stages"] = lower(self.name, targets).stage_infos()
        return to_dot(nodes or self._leaves(), sinks, title=self.name, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self.explain()}
        try:
            import graphviz

            bundle["image/svg+xml"] = graphviz.Source(self.to_dot()).pipe(format="svg").decode()
        except Exception:  # no `dot` binary: the text plan still shows
            pass
        return bundle

    # -- running -------------------------------------------------------------------------------

    @overload
    def run(
        self,
        runner: Runner | None = None,
        *,
        progress: Any = None,
        cache: bool = True,
        wait: Literal[True] = True,
    ) -> RunResult: ...

    @overload
    def run(
        self,
        runner: Runner | None = None,
        *,
        progress: Any = None,
        cache: bool = True,
        wait: Literal[False],
    ) -> RunHandle[RunResult]: ...

    def run(
        self,
        runner: Runner | None = None,
        *,
        progress: Any = None,
        cache: bool = True,
        wait: bool = True,
    ) -> RunResult | RunHandle[RunResult]:
        """Run every sink of the flow (``printlnf``, ``save``, ...) and return the statistics.

        Parameters
        ----------
        runner
            ``gl.local(...)`` or another runner; default: the session's (see ``gl.set_runner``).
        progress
            None: a progress display when one fits (a terminal on stderr); False: none;
            True: the terminal display even when stderr is not a terminal; or a callable
            that receives every event.
        cache
            Let this run share datasets marked ``cache()`` between their readers.
        wait
            False: start the run in the background and return a :class:`RunHandle` at once
            (``handle.result()`` waits for the result, ``handle.cancel()`` cancels the run:
            its tasks stop and nothing of it is kept).
        """
        if not self._sinks:
            raise ArgumentError(
                f"flow {self.name!r} has no sink to run",
                hint="end a dataset with printlnf/save/output_row, or call an action on it "
                "such as collect() or count()",
            )
        sinks = [self._refresh(s) for s in self._sinks]
        plan = lower(self.name, sinks)
        chosen = get_runner(runner)

        def go(cancel: threading.Event | None = None) -> RunResult:
            result = self._execute_plan(plan, chosen, progress, cancel)
            for sink, output in zip(sinks, result.outputs):
                self._finish_sink(sink, output)
            return result

        return go() if wait else RunHandle(self.name, go)

    def _execute_plan(
        self,
        plan: PhysicalPlan,
        chosen: Runner,
        progress: Any,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        result = chosen.execute(plan, _listeners(progress, self.name), cancel)
        self.last_run = result
        return result

    def _action(
        self, node: Node, step: steps.Step, runner: Runner | None, progress: Any, wait: bool = True
    ) -> Any:
        target = Node(-1, step, (self._refresh(node),), node.shards, node.names)
        plan = lower(self.name, [target])
        chosen = get_runner(runner)

        def go(cancel: threading.Event | None = None) -> Any:
            return self._execute_plan(plan, chosen, progress, cancel).outputs[0]

        return go() if wait else RunHandle(self.name, go)

    def _finish_sink(self, sink: Node, output: Any) -> None:
        step = sink.step
        if isinstance(step, steps.Printf):
            _print_rows(output, step, self.name)
        elif isinstance(step, steps.OutputRow):
            for row in batch_to_rows(output):
                try:
                    step.fn(*row)
                except Exception as exc:
                    # the cause shows the user's frames: from their function on
                    tb = exc.__traceback__
                    raise UserCodeError(
                        f"output_row's function raised {type(exc).__name__}: "
                        + exception_text(exc),
                        flow=self.name,
                        step=step.name,
                        row=row,
                        hint="fix the function passed to output_row",
                    ) from exc.with_traceback(tb.tb_next if tb else None)


def _go_format(fmt: str) -> str:
    """Gleam's format verbs in Python: ``%v`` prints any value."""
    return re.sub(r"%(-?\d*)v", r"%\1s", fmt)


def _print_rows(table: pa.Table, step: steps.Printf, flow: str) -> None:
    fmt = _go_format(step.fmt)
    end = "\n" if step.newline else ""
    close = False
    out = step.file
    if out is None:
        out = sys.stdout
    elif not hasattr(out, "write"):
        try:
            out = builtins.open(out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
            close = True
        except OSError as exc:
            from gleamnb.errors import OutputError

            raise OutputError(
                f"cannot open {step.file!r} for writing: {exc.strerror}",
                flow=flow,
                step=step.name,
                hint="choose a writable path",
            ) from None
    try:
        for row in batch_to_rows(table) if table.num_columns else []:
            try:
                text = fmt % row
            except (TypeError, ValueError) as exc:
                raise ArgumentError(
                    f"the format {step.fmt!r} does not fit the row: {exc}",
                    flow=flow,
                    step=step.name,
                    row=row,
                    hint=f"use one verb per field ({len(row)} fields), e.g. "
                    + repr("\t".join(["%s"] * len(row))),
                ) from None
            out.write(text + end)
    finally:
        if close:
            out.close()
        else:
            try:
                out.flush()
            except Exception:
                pass


def _listeners(progress: Any, flow: str) -> list[Listener]:
    if progress is False:
        return []
    if callable(progress) and progress is not True:
        return [progress]
    from gleamnb.runners.terminal import TerminalProgress

    if progress is True or TerminalProgress.fits():
        return [TerminalProgress(flow)]
    return []


def _row_of(row: Any, index: int, step: str) -> tuple[Any, ...]:
    """One row of ``slices``: a tuple or list of fields."""
    if isinstance(row, (tuple, list)):
        return tuple(row)
    raise ArgumentError(
        f"{step} needs rows given as tuples or lists of fields; row {index} is "
        f"{type(row).__name__} {row!r}",
        step=step,
        hint="write one-field rows as (value,), or use flow.from_iterable / flow.ints / "
        "flow.strings for plain values",
    )
