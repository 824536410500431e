"""DuckDB (in-process SQL; threads = cores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.engines import Context, Inputs
from benchmarks.udf import WORD_PATTERN

__all__ = ["join", "join_csv", "probe", "setup", "sort", "startup", "teardown", "wordcount_builtin"]


def _lines(path: str) -> str:
    """A ``read_csv`` call that yields each line whole, as column ``line``."""
    return (
        f"read_csv('{path}', columns={{'line': 'VARCHAR'}}, header=false, delim='\\x1f', "
        "quote='', escape='', auto_detect=false, strict_mode=false)"
    )


def probe(variant: str) -> str | None:
    """Return why DuckDB cannot run, or ``None``."""
    try:
        import duckdb  # noqa: F401
    except ImportError as exc:
        return f"duckdb not installed ({exc}); pip install -e .[bench]"
    return None


def setup(variant: str) -> Context:
    """Open an in-memory database with a spill folder in the scratch area."""
    import duckdb

    return Context(variant, duckdb.connect())


def teardown(ctx: Context) -> None:
    """Close the connection."""
    ctx.handle.close()


def _configure(ctx: Context, inputs: Inputs) -> None:
    ctx.handle.execute(f"SET threads = {inputs.workers}")
    ctx.handle.execute(f"SET temp_directory = '{inputs.scratch}'")


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """``regexp_extract_all`` -> ``unnest`` -> ``GROUP BY``."""
    _configure(ctx, inputs)
    sql = f"""
        SELECT word, count(*) AS count
        FROM (SELECT unnest(regexp_extract_all(line, '{WORD_PATTERN}')) AS word
              FROM {_lines(inputs.text_glob)})
        GROUP BY word
    """
    return ctx.handle.sql(sql).to_arrow_table()


def join(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """Inner join on ``a1 = b2`` with ``COPY ... TO`` Parquet."""
    _configure(ctx, inputs)
    path = out / "join.parquet"
    ctx.handle.execute(
        f"""COPY (SELECT a1, a4, b3
                  FROM read_parquet('{inputs.join_a_glob}') AS a
                  JOIN read_parquet('{inputs.join_b_glob}') AS b ON a1 = b2)
            TO '{path}' (FORMAT parquet)"""
    )
    return path


def join_csv(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """The same join of the CSV copies (``read_csv``) with ``COPY ... TO`` Parquet."""
    _configure(ctx, inputs)
    path = out / "join.parquet"
    ctx.handle.execute(
        f"""COPY (SELECT a1, a4, b3
                  FROM read_csv('{inputs.join_csv_a_glob}', header=true) AS a
                  JOIN read_csv('{inputs.join_csv_b_glob}', header=true) AS b ON a1 = b2)
            TO '{path}' (FORMAT parquet)"""
    )
    return path


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """``ORDER BY line`` (bytewise collation), written back as text lines."""
    _configure(ctx, inputs)
    path = out / "sorted.txt"
    ctx.handle.execute(
        f"""COPY (SELECT line FROM {_lines(inputs.sort_input)} ORDER BY line)
            TO '{path}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\\x1f')"""
    )
    return path


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """``SELECT count(*) FROM range(10)``."""
    return int(ctx.handle.execute("SELECT count(*) FROM range(10)").fetchone()[0])
