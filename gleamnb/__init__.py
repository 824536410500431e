"""gleamnb: fast, Jupyter-centric map/reduce in the spirit of Gleam.

Build a dataflow with :class:`Flow`, run it on the embedded local engine (default) and get
results back as Python rows or Arrow tables.

Examples
--------
>>> import gleamnb as gl, operator
>>> f = gl.Flow("top words")
>>> (f.strings(["the cat", "the dog", "the end"])
...   .flat_map(gl.mappers.tokenize)
...   .map(gl.mappers.append_one)
...   .reduce_by_key(operator.add)
...   .top(2, gl.order_by(2, descending=True).then(1))
...   .collect())
[('the', 3), ('cat', 1)]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gleamnb.errors import (
    ArgumentError,
    BuildError,
    CapturedDataWarning,
    DiskFullError,
    ExecutorCrashedError,
    FieldError,
    GleamError,
    InputNotFoundError,
    JoinKeyError,
    MalformedInputError,
    OutputError,
    PicklingError,
    PipeCommandError,
    RunCancelledError,
    SchemaError,
    SourceError,
    UserCodeError,
)

if TYPE_CHECKING:
    from gleamnb.api import mappers
    from gleamnb.api.dataset import Dataset
    from gleamnb.api.flow import Flow
    from gleamnb.api.sources import csv, jsonl, orc, parquet, tsv, txt
    from gleamnb.cluster.runner import distributed
    from gleamnb.events import Event
    from gleamnb.plan.order import Order, order_by
    from gleamnb.runners.default import get_runner, local, set_runner
    from gleamnb.runners.handle import RunHandle
    from gleamnb.runners.result import RunResult

# Imported on first use, so that an executor process (``python -m gleamnb.runtime``) does
# not pay for the API, the planner and the runners it never uses.
_LAZY = {
    "mappers": "gleamnb.api.mappers",
    "Dataset": "gleamnb.api.dataset",
    "Flow": "gleamnb.api.flow",
    "txt": "gleamnb.api.sources",
    "csv": "gleamnb.api.sources",
    "tsv": "gleamnb.api.sources",
    "parquet": "gleamnb.api.sources",
    "orc": "gleamnb.api.sources",
    "jsonl": "gleamnb.api.sources",
    "Order": "gleamnb.plan.order",
    "order_by": "gleamnb.plan.order",
    "local": "gleamnb.runners.default",
    "set_runner": "gleamnb.runners.default",
    "get_runner": "gleamnb.runners.default",
    "distributed": "gleamnb.cluster.runner",
    "Event": "gleamnb.events",
    "RunResult": "gleamnb.runners.result",
    "RunHandle": "gleamnb.runners.handle",
}


#: Names a program reaches for to make a flow: the first of them starts the default
#: runner's executors, so they import side by side with the API.
_MAKES_FLOWS = frozenset({"Flow", "txt", "csv", "tsv", "parquet", "orc", "jsonl"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gleamnb' has no attribute {name!r}")
    if name in _MAKES_FLOWS:
        from gleamnb.runners.default import prestart_default

        prestart_default()
    value = (
        importlib.import_module(module)
        if name == "mappers"
        else getattr(importlib.import_module(module), name)
    )
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gleamnb``: register the ``%%gleam`` and ``%gleam`` magics.

    The notebook layer is imported only here, by name as the facade's other lazy names are:
    the layers below it (which import this package for its version) never load IPython.
    """
    importlib.import_module("gleamnb.notebook").load_ipython_extension(ipython)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "Flow",
    "Dataset",
    "txt",
    "csv",
    "tsv",
    "parquet",
    "orc",
    "jsonl",
    "order_by",
    "Order",
    "mappers",
    "local",
    "set_runner",
    "get_runner",
    "distributed",
    "RunResult",
    "RunHandle",
    "Event",
    "GleamError",
    "BuildError",
    "FieldError",
    "ArgumentError",
    "PicklingError",
    "SourceError",
    "InputNotFoundError",
    "MalformedInputError",
    "SchemaError",
    "JoinKeyError",
    "UserCodeError",
    "ExecutorCrashedError",
    "PipeCommandError",
    "OutputError",
    "DiskFullError",
    "RunCancelledError",
    "CapturedDataWarning",
    "__version__",
]
