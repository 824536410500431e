"""The engines measured, one module per family.

Each module exposes:

``probe(variant) -> str | None``
    ``None`` when the engine can run here, else the reason it cannot ("unavailable: ...").
``setup(variant) -> Context``
    Start the engine (a Spark session, a Dask cluster, a gleamnb runner); not timed.
``teardown(ctx)``
    Stop it; not timed.
``wordcount_builtin``, ``wordcount_udf``, ``wordcount_lambda``, ``join``, ``join_csv``, ``sort``
    ``(ctx, inputs, out) -> result``.
    One workload, timed. Word counts return the mapping in the engine's own form (a table, a
    dict, a list of pairs, a text file; ``wordcount_lambda`` only its most frequent words, in
    order); the joins (``join`` reads Parquet, ``join_csv`` the same rows as CSV with a header)
    and sort write under ``out`` and return the path.

A module that lacks a workload function simply does not take part in it.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.config import WORKLOADS

__all__ = ["ENGINES", "Context", "EngineSpec", "Inputs", "load"]


@dataclasses.dataclass
class Inputs:
    """Paths of one size's data sets, as the engines read them.

    Attributes
    ----------
    text_glob
        Glob of the word-count corpus files.
    text_files
        The corpus files, in order.
    join_a, join_b
        Folders of the join inputs' Parquet files.
    join_csv_a, join_csv_b
        Folders of the same inputs as CSV files with a header row.
    sort_input
        The sort input text file.
    workers
        Degree of parallelism every engine is given.
    scratch
        A folder the engine may use for temporary files (spills).
    """

    text_glob: str
    text_files: list[str]
    join_a: str
    join_b: str
    join_csv_a: str
    join_csv_b: str
    sort_input: str
    workers: int
    scratch: str

    @property
    def join_a_glob(self) -> str:
        """Glob of ``a``'s Parquet files."""
        return str(Path(self.join_a) / "*.parquet")

    @property
    def join_b_glob(self) -> str:
        """Glob of ``b``'s Parquet files."""
        return str(Path(self.join_b) / "*.parquet")

    @property
    def join_csv_a_glob(self) -> str:
        """Glob of ``a``'s CSV files."""
        return str(Path(self.join_csv_a) / "*.csv")

    @property
    def join_csv_b_glob(self) -> str:
        """Glob of ``b``'s CSV files."""
        return str(Path(self.join_csv_b) / "*.csv")


@dataclasses.dataclass
class Context:
    """A started engine.

    Attributes
    ----------
    variant
        The engine variant (see :data:`ENGINES`).
    handle
        Whatever the engine needs (session, client, runner).
    extra
        Facts to report with the measurement (spill statistics, notes).
    """

    variant: str
    handle: Any = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class EngineSpec:
    """One engine as the harness names it.

    Attributes
    ----------
    name
        Name used on the command line and in the report.
    module
        Module under :mod:`benchmarks.engines`.
    variant
        Passed to the module's ``probe`` and ``setup``.
    workloads
        Workloads this engine runs.
    labels
        Per-workload label for tables (what API is measured).
    is_gleamnb
        Whether this is gleamnb itself (highlighted; ratios are taken against it).
    """

    name: str
    module: str
    variant: str
    workloads: tuple[str, ...]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    is_gleamnb: bool = False

    def label(self, workload: str) -> str:
        """Table label for ``workload``."""
        return self.labels.get(workload, self.name)


_ALL = WORKLOADS

ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            "gleamnb",
            "gleamnb",
            "local",
            _ALL,
            {
                "wordcount_udf": "gleamnb (flat_map UDF)",
                "wordcount_lambda": "gleamnb (flat_map, map lambda)",
                "startup": "gleamnb (Flow().range(0, 10).count())",
            },
            is_gleamnb=True,
        ),
        EngineSpec(
            "gleamnb-512MB",
            "gleamnb",
            "local-512MB",
            ("sort",),
            {"sort": 'gleamnb (memory_limit="512MB")'},
            is_gleamnb=True,
        ),
        EngineSpec("gleamnb-cluster", "gleamnb", "cluster", _ALL, {}, is_gleamnb=True),
        EngineSpec(
            "polars",
            "polars",
            "",
            ("wordcount_builtin", "join", "join_csv", "sort", "startup", "wordcount_64mb"),
            {"startup": "polars (LazyFrame of 10 rows, len())"},
        ),
        EngineSpec(
            "duckdb",
            "duckdb",
            "",
            ("wordcount_builtin", "join", "join_csv", "sort", "startup", "wordcount_64mb"),
            {"startup": "duckdb (count(*) FROM range(10))"},
        ),
        EngineSpec(
            "dask",
            "dask",
            "",
            _ALL,
            {
                "wordcount_builtin": "dask (dataframe)",
                "wordcount_udf": "dask (bag)",
                "wordcount_lambda": "dask (bag, frequencies, topk)",
                "join": "dask (dataframe)",
                "join_csv": "dask (dataframe)",
                "sort": "dask (dataframe)",
                "startup": "dask (bag.range(10).count())",
                "wordcount_64mb": "dask (dataframe)",
            },
        ),
        EngineSpec(
            "spark",
            "spark",
            "",
            _ALL,
            {
                "wordcount_builtin": "spark (DataFrame)",
                "wordcount_udf": "spark (RDD flatMap)",
                "wordcount_lambda": "spark (RDD flatMap, map lambda, takeOrdered)",
                "join": "spark (DataFrame)",
                "join_csv": "spark (DataFrame)",
                "sort": "spark (DataFrame)",
                "startup": "spark (range(10).count())",
                "wordcount_64mb": "spark (DataFrame)",
            },
        ),
        EngineSpec(
            "coreutils",
            "coreutils",
            "",
            ("wordcount_builtin", "sort", "wordcount_64mb"),
            {
                "wordcount_builtin": "coreutils (tr|sort|uniq -c)",
                "sort": "coreutils (sort)",
                "wordcount_64mb": "coreutils (tr|sort|uniq -c)",
            },
        ),
        EngineSpec(
            "python",
            "python",
            "",
            (
                "wordcount_builtin",
                "wordcount_udf",
                "wordcount_lambda",
                "sort",
                "startup",
                "wordcount_64mb",
            ),
            {
                "wordcount_builtin": "python (re over file + Counter)",
                "wordcount_64mb": "python (re over file + Counter)",
                "startup": "python (len(range(10)))",
                "wordcount_udf": "python (Counter, 1 process)",
                "wordcount_lambda": "python (Counter.most_common, 1 process)",
                "sort": "python (sorted)",
            },
        ),
    )
}


def load(spec: EngineSpec) -> ModuleType:
    """Import an engine's module.

    Parameters
    ----------
    spec
        The engine.

    Returns
    -------
    module
        ``benchmarks.engines.<spec.module>``.
    """
    return importlib.import_module(f"benchmarks.engines.{spec.module}")
