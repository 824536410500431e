"""What every runner shares: the interface, event delivery, and finishing the targets."""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Self

import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.events import Event, Listener, StageInfo
from gleamnb.planner.physical import PhysicalPlan, Shards
from gleamnb.rows import empty_table, unify_schemas
from gleamnb.runners.result import RunResult
from gleamnb.runtime.ops.base import concat_batches

__all__ = [
    "Runner",
    "emit",
    "stage_infos",
    "collect_targets",
    "restore_filenames",
    "stage_functions",
    "crashed_step",
    "check_shards_agree",
    "function_steps",
]


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
    def execute(self, plan: PhysicalPlan, listeners: Sequence[Listener] = ()) -> RunResult:
        """Run ``plan``; emit events to ``listeners``; return statistics and target outputs."""

    @abstractmethod
    def close(self) -> None:
        """Let go of what the runner holds; idempotent, and the next run starts it again."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def emit(listeners: Sequence[Listener], event: Event) -> None:
    """Deliver ``event``; a failing listener is reported once and never stops the run."""
    for listener in listeners:
        try:
            listener(event)
        except Exception as exc:  # a display bug must not lose the user's run
            warnings.warn(f"progress listener {listener!r} failed: {exc!r}", stacklevel=2)


def stage_infos(plan: PhysicalPlan) -> tuple[StageInfo, ...]:
    """The stages as the DAG views draw them (in-memory data stages left out)."""
    return tuple(
        StageInfo(
            id=s.id,
            name=s.name,
            tasks=s.tasks,
            datasets=tuple(s.datasets),
            inputs=tuple(u for u in s.upstream() if u >= 0),
            output=s.output.describe() if s.output is not None else "forward",
        )
        for s in plan.stages
    )


def collect_targets(
    plan: PhysicalPlan,
    read_shards: Callable[[Shards], list[list[pa.Table]]],
    extras: dict[int, list[dict[str, Any]]],
) -> list[Any]:
    """What each target produced: a table (rows, shards in order), a count, or saved files."""
    outputs: list[Any] = []
    for target in plan.targets:
        made_by = target.node.inputs[0].step.name if target.node.inputs else None
        if target.kind == "count":
            outputs.append(sum(e.get("count", 0) for e in extras[target.stage]))  # type: ignore[index]
        elif target.kind == "save":
            saved = [e["saved"] for e in extras[target.stage] if "saved" in e]  # type: ignore[index]
            # each shard wrote its own part file: they meet only here
            check_shards_agree([[s["schema"]] if s.get("schema") else [] for s in saved], made_by)
            outputs.append(saved)
        else:
            shards = read_shards(target.shards)
            tables = [t for shard in shards for t in shard]
            batches = [b for t in tables for b in t.to_batches()]
            if batches:
                # rows of different shards meet here first: name the step that made them
                check_shards_agree([[t.schema for t in ts if t.num_rows] for ts in shards], made_by)
                outputs.append(concat_batches(batches, step=made_by))
            elif tables:
                outputs.append(empty_table(tables[0].schema))
            else:
                outputs.append(pa.table({}))
    return outputs


def check_shards_agree(shards: Sequence[Sequence[pa.Schema]], step: str | None) -> None:
    """Check that the shards of one dataset agree on their fields' types.

    ``shards[j]`` holds the schemas of shard ``j``'s pieces that have rows. The first piece
    that does not fit the ones before it is a :class:`SchemaError` naming its shard and the
    earlier shard it disagrees with.

    >>> ints, texts = pa.schema([("_1", pa.int64())]), pa.schema([("_1", pa.string())])
    >>> check_shards_agree([[ints], [], [texts]], "map")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gleamnb.errors.SchemaError: field 1 (_1) changes type ... (shard 1/3, then shard 3/3)
      where: step 'map', shard 3/3
      fix: ...
    """
    n = len(shards)
    seen: list[tuple[int, pa.Schema]] = []
    unified: pa.Schema | None = None
    for j, schemas in enumerate(shards):
        for schema in schemas:
            try:
                unified = schema if unified is None else unify_schemas([unified, schema], step=step)
            except SchemaError as err:
                # name the first earlier shard that this one cannot go with
                other, conflict = seen[0][0], err
                for k, earlier in seen:
                    try:
                        unify_schemas([earlier, schema], step=step)
                    except SchemaError as pair:
                        other, conflict = k, pair
                        break
                raise SchemaError(
                    f"{conflict.message} (shard {other + 1}/{n}, then shard {j + 1}/{n})",
                    step=step,
                    shard=f"{j + 1}/{n}",
                    hint=conflict.hint,
                ) from None
            seen.append((j, schema))


def _code_objects(fn: Any) -> list[Any]:
    code = getattr(fn, "__code__", None)
    if code is None:
        inner = getattr(fn, "fn", None)  # built-in mappers wrap a function
        return _code_objects(inner) if inner is not None and inner is not fn else []
    found, todo = [], [code]
    while todo:
        c = todo.pop()
        found.append(c)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
    return found


def restore_filenames(detail: str, functions: Sequence[Any]) -> str:
    """Put the user's file names (and source lines) back into an executor's traceback.

    Functions travel to executors by value, which drops their file names
    (``File "<dynamic-code>"``); the driver still has the originals.
    """
    import linecache

    codes = [c for fn in functions for c in _code_objects(fn)]
    if "<dynamic-code>" not in detail or not codes:
        return detail
    out = []
    # Python tracebacks say `line 3, in f`; the fault handler (segfaults) says `line 3 in f`
    pattern = re.compile(r'(\s*)File "<dynamic-code>", line (\d+)(,?) in (\S+)')
    for line in detail.splitlines():
        m = pattern.fullmatch(line)
        if m:
            lineno, comma, name = int(m.group(2)), m.group(3), m.group(4)
            for c in codes:
                lines = [ln for _, _, ln in c.co_lines() if ln is not None]
                if c.co_name == name and lines and min(lines) <= lineno <= max(lines):
                    out.append(
                        f'{m.group(1)}File "{c.co_filename}", line {lineno}{comma} in {name}'
                    )
                    source = linecache.getline(c.co_filename, lineno).strip()
                    if source:
                        out.append(f"{m.group(1)}  {source}")
                    break
            else:
                out.append(line)
            continue
        out.append(line)
    return "\n".join(out)


def crashed_step(stage: Any, report: str) -> str | None:
    """The step that crashed an executor, when it can be known.

    That is the step whose function shows in the executor's stack dump (a segfault prints
    one), else the stage's only step that runs a user function (``os._exit`` prints nothing).
    """
    for op in reversed(stage.ops):
        for fn in stage_functions_of(op):
            if any(f" in {c.co_name}" in report for c in _code_objects(fn)):
                return op.name
    steps = function_steps(stage)
    return steps[0] if len(steps) == 1 else None


def function_steps(stage: Any) -> list[str]:
    """The names of a stage's steps that run user functions."""
    return [op.name for op in stage.ops if stage_functions_of(op)]


def stage_functions_of(op: Any) -> list[Any]:
    """The user functions inside one operator."""
    fns = []
    for attr in ("fn", "reducer"):
        value = getattr(op, attr, None)
        if attr == "reducer" and value is not None:
            value = value.fn
        if callable(value):
            fns.append(value)
    return fns


def stage_functions(stage: Any) -> list[Any]:
    """The user functions inside a stage's operators (for :func:`restore_filenames`)."""
    return [fn for op in stage.ops for fn in stage_functions_of(op)]
