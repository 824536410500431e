"""Lowerings of the narrow steps: one operator appended to the stage of their input.

A builtin mapper used in the step kind it was made for (``flat_map(gl.mappers.tokenize)``)
becomes its vectorized operator; any other function runs row by row.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gleamnb.files.listing import list_files
from gleamnb.plan import steps
from gleamnb.plan.builtins import BuiltinFunction
from gleamnb.plan.graph import Node
from gleamnb.planner.builder import OpenStage, PlanBuilder, positions
from gleamnb.planner.registry import lowers
from gleamnb.runtime.ops import aggregate, io, mappers, relational, udf
from gleamnb.runtime.ops.base import Op
from gleamnb.runtime.stage import ReadFiles
from gleamnb.scan.splits import plan_splits

__all__ = [
    "lower_row_function",
    "lower_map_batches",
    "lower_select",
    "lower_pipe",
    "lower_pipe_as_args",
    "lower_local_sort",
    "lower_local_top",
    "lower_local_limit",
    "lower_local_distinct",
    "lower_local_reduce_by_key",
]

_BUILTIN_OPS: dict[tuple[str, str], type[Op]] = {
    ("flat_map", "tokenize"): mappers.TokenizeOp,
    ("map", "lowercase"): mappers.LowercaseOp,
    ("map", "append_one"): mappers.AppendOneOp,
}

_ROW_FUNCTION_OPS: dict[type[steps.Step], type[Op]] = {
    steps.Map: udf.MapOp,
    steps.FlatMap: udf.FlatMapOp,
    steps.Filter: udf.FilterOp,
}


@lowers(steps.Map, steps.FlatMap, steps.Filter)
def lower_row_function(
    builder: PlanBuilder, node: Node, step: steps.Map | steps.FlatMap | steps.Filter
) -> OpenStage:
    """A function called on each row, or the vectorized operator of a builtin mapper."""
    fn = step.fn
    if isinstance(fn, BuiltinFunction):
        builtin = _BUILTIN_OPS.get((step.kind, fn.name))
        if builtin is not None and fn.kind == step.kind:
            return builder.narrow(node, builtin(name=step.name), step.name)
    op_type = _ROW_FUNCTION_OPS[type(step)]
    return builder.narrow(node, op_type(name=step.name, fn=fn), step.name)


@lowers(steps.MapBatches)
def lower_map_batches(builder: PlanBuilder, node: Node, step: steps.MapBatches) -> OpenStage:
    op = udf.MapBatchesOp(name=step.name, fn=step.fn, format=step.format)
    return builder.narrow(node, op, step.name)


@lowers(steps.Select)
def lower_select(builder: PlanBuilder, node: Node, step: steps.Select) -> OpenStage:
    pushed = _push_projection(builder, node.inputs[0], step.fields)
    fields = positions(len(step.fields)) if pushed else step.fields
    return builder.narrow(node, relational.SelectOp(name=step.name, fields=fields), step.name)


def _push_projection(builder: PlanBuilder, src: Node, fields: tuple[Any, ...]) -> bool:
    """Read only the selected columns of a Parquet or ORC source (projection pushdown).

    Applies when the select is the source's only reader and nothing ran in between;
    the select then keeps the projected columns in its order by position.
    """
    got = builder.done.get(id(src))
    if not (isinstance(got, OpenStage) and isinstance(src.step, steps.FileSource)):
        return False
    st, spec = got.stage, src.step.spec
    if st.ops or spec.format not in ("parquet", "orc") or spec.columns is not None:
        return False
    if len(builder.readers.get(id(src), [])) != 1 or len(set(fields)) != len(fields):
        return False
    projected = replace(spec, columns=tuple(fields))
    st.head = ReadFiles(name=st.head.name, spec=projected)
    splits = plan_splits(projected, list_files(projected), st.tasks)
    st.params = [{**p, "splits": s} for p, s in zip(st.params, splits)]
    return True


@lowers(steps.Pipe)
def lower_pipe(builder: PlanBuilder, node: Node, step: steps.Pipe) -> OpenStage:
    return builder.narrow(node, io.PipeOp(name=step.name, command=step.command), step.name)


@lowers(steps.PipeAsArgs)
def lower_pipe_as_args(builder: PlanBuilder, node: Node, step: steps.PipeAsArgs) -> OpenStage:
    op = io.PipeAsArgsOp(name=step.name, template=step.template)
    return builder.narrow(node, op, step.name)


@lowers(steps.LocalSort)
def lower_local_sort(builder: PlanBuilder, node: Node, step: steps.LocalSort) -> OpenStage:
    op = relational.LocalSortOp(name=step.name, order=step.order)
    return builder.narrow(node, op, step.name)


@lowers(steps.LocalTop)
def lower_local_top(builder: PlanBuilder, node: Node, step: steps.LocalTop) -> OpenStage:
    op = relational.LocalTopOp(name=step.name, n=step.n, order=step.order)
    return builder.narrow(node, op, step.name)


@lowers(steps.LocalLimit)
def lower_local_limit(builder: PlanBuilder, node: Node, step: steps.LocalLimit) -> OpenStage:
    op = relational.LocalLimitOp(name=step.name, n=step.n, offset=step.offset)
    return builder.narrow(node, op, step.name)


@lowers(steps.LocalDistinct)
def lower_local_distinct(builder: PlanBuilder, node: Node, step: steps.LocalDistinct) -> OpenStage:
    op = relational.LocalDistinctOp(name=step.name, key=step.key)
    return builder.narrow(node, op, step.name)


@lowers(steps.LocalReduceByKey)
def lower_local_reduce_by_key(
    builder: PlanBuilder, node: Node, step: steps.LocalReduceByKey
) -> OpenStage:
    op = aggregate.ReduceByKeyOp(name=step.name, reducer=step.reducer, key=step.key)
    return builder.narrow(node, op, step.name)
