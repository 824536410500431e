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

__all__ = ["lower_row_function", "lower_select", "lower_step_operator"]

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


@lowers(steps.Select)
def lower_select(builder: PlanBuilder, node: Node, step: steps.Select) -> OpenStage:
    pushed = _push_projection(builder, node.inputs[0], step.fields)
    fields = positions(len(step.fields)) if pushed else step.fields
    return builder.narrow(node, relational.SelectOp(name=step.name, fields=fields), step.name)


_PROJECTING_FORMATS = ("parquet", "orc", "csv", "tsv")
"""File formats whose reader reads (or converts) only the columns asked for."""


def _push_projection(builder: PlanBuilder, src: Node, fields: tuple[Any, ...]) -> bool:
    """Read only the selected columns of a Parquet, ORC, CSV or TSV source (projection
    pushdown).

    Applies when the select is the source's only reader and nothing ran in between;
    the select then keeps the projected columns in its order by position. Parquet and ORC
    pieces are weighed again by the projected columns' sizes; a CSV/TSV split is a byte
    range whose file facts (header, types) do not depend on the columns, so it is kept.
    """
    got = builder.done.get(id(src))
    if not (isinstance(got, OpenStage) and isinstance(src.step, steps.FileSource)):
        return False
    st, spec = got.stage, src.step.spec
    if st.ops or spec.format not in _PROJECTING_FORMATS or spec.columns is not None:
        return False
    if len(builder.readers.get(id(src), [])) != 1 or len(set(fields)) != len(fields):
        return False
    projected = replace(spec, columns=tuple(fields))
    st.head = ReadFiles(name=st.head.name, spec=projected)
    if spec.format in ("parquet", "orc"):
        splits = plan_splits(projected, list_files(projected), st.tasks)
        st.params = [{**p, "splits": s} for p, s in zip(st.params, splits)]
    return True


_STEP_OPS: dict[type[steps.Step], tuple[type[Op], tuple[str, ...]]] = {
    steps.MapBatches: (udf.MapBatchesOp, ("fn", "format")),
    steps.Pipe: (io.PipeOp, ("command",)),
    steps.PipeAsArgs: (io.PipeAsArgsOp, ("template",)),
    steps.LocalSort: (relational.LocalSortOp, ("order",)),
    steps.LocalTop: (relational.LocalTopOp, ("n", "order")),
    steps.LocalLimit: (relational.LocalLimitOp, ("n", "offset")),
    steps.LocalDistinct: (relational.LocalDistinctOp, ("key",)),
    steps.LocalReduceByKey: (aggregate.ReduceByKeyOp, ("reducer", "key")),
}
"""The steps whose operator is made of the step's own fields: its type and those fields."""


@lowers(*_STEP_OPS)
def lower_step_operator(builder: PlanBuilder, node: Node, step: steps.Step) -> OpenStage:
    """The step's operator, given the step's name and the fields :data:`_STEP_OPS` names."""
    op_type, fields = _STEP_OPS[type(step)]
    op = op_type(name=step.name, **{field: getattr(step, field) for field in fields})
    return builder.narrow(node, op, step.name)
