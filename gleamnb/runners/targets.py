"""What a run's targets produced, read once its stages are done; shards that must agree.

A target's shards were made by separate tasks: their rows (or the part files of a save) meet
first here, so this is where their fields' types are checked against each other. So are the
tasks of a stage whose rows meet in one task of a later stage (a shuffle, a sort's merge, a
gather: :func:`meeting_stages`), from the schemas its tasks report, as soon as it is done:
the error names the step that made the rows and the shards that disagree, not the wide step
downstream that reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from gleamnb.errors import SchemaError
from gleamnb.planner.physical import PhysicalPlan, PhysicalStage, Shards
from gleamnb.rows import empty_table, unify_schemas
from gleamnb.runtime.ops.base import concat_batches

__all__ = ["collect_targets", "check_shards_agree", "meeting_stages", "check_tasks_agree"]


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


def meeting_stages(plan: PhysicalPlan) -> set[int]:
    """The stages whose rows of two or more tasks are read by one task of a later stage.

    >>> import gleamnb as gl
    >>> f = gl.Flow()
    >>> numbers = f.range(0, 10, shards=2).map(lambda x: (x % 3, x), name="pairs")
    >>> plan = f.plan([f._as_collect(numbers.reduce_by_key("sum").map(str).node)])
    >>> [(st.id, st.name, st.rows_of) for st in plan.stages], meeting_stages(plan)
    ([(0, 'range->pairs->local_reduce_by_key', 'pairs'), (1, 'reduce_by_key->str', 'str')], {0})
    """
    meeting: set[int] = set()
    for st in plan.stages:
        for shards in st.inputs:
            for refs in shards:
                tasks: dict[int, set[int]] = {}
                for r in refs:
                    tasks.setdefault(r.stage, set()).add(r.task)
                meeting.update(s for s, ts in tasks.items() if s >= 0 and len(ts) > 1)
    return meeting


def check_tasks_agree(stage: PhysicalStage, extras: Sequence[dict[str, Any]]) -> None:
    """Check that the rows ``stage``'s tasks output agree on their fields' types.

    ``extras[j]`` is what task ``j`` reported: its rows' schema (none without rows). The
    error names the step that made the rows (``stage.rows_of``), the stage and both shards.
    """
    schemas = [[e["schema"]] if e.get("schema") is not None else [] for e in extras]
    try:
        check_shards_agree(schemas, stage.rows_of)
    except SchemaError as err:
        raise err.with_context(stage=stage.name) from None


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
