"""Polars (lazy API, its default engine; uses every core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.engines import Context, Inputs
from benchmarks.udf import WORD_PATTERN

__all__ = ["join", "join_csv", "probe", "setup", "sort", "startup", "teardown", "wordcount_builtin"]


def probe(variant: str) -> str | None:
    """Return why Polars cannot run, or ``None``."""
    try:
        import polars  # noqa: F401
    except ImportError as exc:
        return f"polars not installed ({exc}); pip install -e .[bench]"
    return None


def setup(variant: str) -> Context:
    """Import Polars (its thread pool starts on import)."""
    import polars as pl

    return Context(variant, pl)


def teardown(ctx: Context) -> None:
    """Nothing to stop."""


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """Lines -> ``str.extract_all`` -> explode -> group_by/len."""
    pl = ctx.handle
    return (
        pl.scan_lines(inputs.text_files)
        .select(pl.col("line").str.extract_all(WORD_PATTERN).alias("word"))
        .explode("word")
        .drop_nulls()
        .group_by("word")
        .len()
        .collect()
    )


def _join_and_sink(a: Any, b: Any, out: Path) -> Path:
    """Inner join on ``a1 = b2`` of the two lazy frames, written with ``sink_parquet``."""
    path = out / "join.parquet"
    a.join(b, left_on="a1", right_on="b2", how="inner").select("a1", "a4", "b3").sink_parquet(path)
    return path


def join(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """Inner join on ``a1 = b2``, written with ``sink_parquet``."""
    pl = ctx.handle
    a = pl.scan_parquet(inputs.join_a_glob).select("a1", "a4")
    b = pl.scan_parquet(inputs.join_b_glob).select("b2", "b3")
    return _join_and_sink(a, b, out)


def join_csv(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """The same join of the CSV copies (``scan_csv``), written with ``sink_parquet``."""
    pl = ctx.handle
    a = pl.scan_csv(inputs.join_csv_a_glob).select("a1", "a4")
    b = pl.scan_csv(inputs.join_csv_b_glob).select("b2", "b3")
    return _join_and_sink(a, b, out)


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """Sort the lines bytewise; write them back as text (no quoting)."""
    pl = ctx.handle
    path = out / "sorted.txt"
    pl.scan_lines(inputs.sort_input).sort("line").sink_csv(
        path, include_header=False, quote_style="never", separator="\x1f"
    )
    return path


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """The row count of a 10-row range, through the lazy API."""
    pl = ctx.handle
    return int(
        pl.LazyFrame({"i": pl.int_range(0, 10, eager=True)}).select(pl.len()).collect().item()
    )
