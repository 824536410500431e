"""The façade exports the public API of the design, and nothing by accident."""

from __future__ import annotations

import gleamnb as gl

EXPECTED = {
    "Flow", "Dataset", "txt", "csv", "tsv", "parquet", "orc", "jsonl", "order_by", "Order",
    "mappers", "local", "distributed", "set_runner", "get_runner", "RunResult", "RunHandle",
    "Event", "GleamError",
    "BuildError", "FieldError", "ArgumentError", "PicklingError", "SourceError",
    "InputNotFoundError", "MalformedInputError", "SchemaError", "JoinKeyError", "UserCodeError",
    "ExecutorCrashedError", "PipeCommandError", "OutputError", "DiskFullError", "RunCancelledError",
    "CapturedDataWarning", "__version__",
}  # fmt: skip

DATASET_METHODS = {
    "map", "flat_map", "filter", "select", "map_batches", "pipe", "pipe_as_args", "local_sort",
    "local_top", "local_reduce_by_key", "local_distinct", "local_limit", "reduce_by_key",
    "reduce", "group_by_key", "distinct", "sort", "top", "limit", "join", "left_outer_join",
    "right_outer_join", "full_outer_join", "hash_join", "co_group", "partition", "round_robin",
    "broadcast", "merge_to", "merge_sorted_to", "union", "hint", "on_disk", "cache", "printlnf",
    "printf", "fprintf", "output_row", "save", "collect", "take", "first", "count", "to_arrow",
    "to_pandas", "show",
}  # fmt: skip

FLOW_METHODS = {
    "read", "strings", "ints", "slices", "range", "from_iterable", "from_arrow", "from_pandas",
    "run", "explain", "to_dot", "_repr_mimebundle_",
}  # fmt: skip


def test_all_lists_exactly_the_public_names() -> None:
    assert set(gl.__all__) == EXPECTED
    for name in gl.__all__:
        assert hasattr(gl, name), name


def test_every_error_is_a_gleam_error() -> None:
    errors = [getattr(gl, n) for n in gl.__all__ if n.endswith("Error")]
    assert all(issubclass(e, gl.GleamError) for e in errors)


def test_dataset_and_flow_have_the_design_methods() -> None:
    assert set(dir(gl.Dataset)) >= DATASET_METHODS
    assert set(dir(gl.Flow)) >= FLOW_METHODS


def test_mappers_are_plain_python_functions_too() -> None:
    assert gl.mappers.tokenize("Hi, there-2") == ["Hi", "there", "2"]
    assert gl.mappers.lowercase("ABC") == "abc"
    assert gl.mappers.append_one("w") == ("w", 1)
