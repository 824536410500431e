"""Dask on a distributed ``LocalCluster``: 2 worker processes x 1 thread.

``dask.bag`` runs the Python tokenizers (``wordcount_udf``, ``wordcount_lambda``);
``dask.dataframe`` (pandas with pyarrow strings) runs the vectorized word count, the join and
the sort.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from benchmarks.engines import Context, Inputs
from benchmarks.udf import TOP, WORD_PATTERN, tokenize, words

__all__ = [
    "join",
    "join_csv",
    "probe",
    "setup",
    "sort",
    "startup",
    "teardown",
    "wordcount_builtin",
    "wordcount_lambda",
    "wordcount_udf",
]

_SEP = "\x1f"  # never in the data: each line is read whole as one field


def probe(variant: str) -> str | None:
    """Return why Dask cannot run, or ``None``."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        return f"dask[distributed,dataframe] not installed ({exc})"
    return None


def setup(variant: str) -> Context:
    """Start a LocalCluster of 2 single-threaded worker processes and a client."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    return Context(variant, (cluster, client))


def teardown(ctx: Context) -> None:
    """Close the client and the cluster."""
    cluster, client = ctx.handle
    client.close()
    cluster.close()


def _lines(path: str, blocksize: str | None) -> Any:
    import dask.dataframe as dd

    return dd.read_csv(
        path,
        header=None,
        names=["line"],
        sep=_SEP,
        quoting=csv.QUOTE_NONE,
        dtype={"line": "string[pyarrow]"},
        na_filter=False,
        skip_blank_lines=True,
        blocksize=blocksize,
    )


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """dask.dataframe: ``str.findall`` -> ``explode`` -> ``value_counts``."""
    lines = _lines(inputs.text_glob, "16MB")
    words = lines["line"].str.findall(WORD_PATTERN).explode().dropna()
    return words.value_counts(split_out=1).compute()


def wordcount_udf(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """dask.bag: ``read_text`` -> ``map(tokenize)`` -> ``flatten`` -> ``frequencies``."""
    import dask.bag as db

    bag = db.read_text(inputs.text_files, encoding="utf-8", blocksize="16MB")
    return bag.map(tokenize).flatten().frequencies().compute()


def wordcount_lambda(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """dask.bag: ``map(words)`` -> ``flatten`` -> ``frequencies`` -> ``topk(TOP)``.

    ``frequencies`` is how a dask.bag user counts (a dict per partition), not a
    ``map(lambda w: (w, 1))`` and a ``foldby``, which is slower.
    """
    import dask.bag as db

    bag = db.read_text(inputs.text_files, encoding="utf-8", blocksize="16MB")
    return bag.map(words).flatten().frequencies().topk(TOP, key=1).compute()


def _merge_and_save(a: Any, b: Any, out: Path) -> Path:
    """Inner ``merge`` on ``a1 = b2`` of the two frames, written with ``to_parquet``."""
    joined = a.merge(b, left_on="a1", right_on="b2", how="inner")[["a1", "a4", "b3"]]
    path = out / "join"
    joined.to_parquet(path, write_index=False)
    return path


def join(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """dask.dataframe ``merge`` on ``a1 = b2``, written with ``to_parquet``."""
    import dask.dataframe as dd

    a = dd.read_parquet(inputs.join_a, columns=["a1", "a4"])
    b = dd.read_parquet(inputs.join_b, columns=["b2", "b3"])
    return _merge_and_save(a, b, out)


def join_csv(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """The same merge of the CSV copies (``read_csv``), written with ``to_parquet``."""
    import dask.dataframe as dd

    a = dd.read_csv(inputs.join_csv_a_glob, usecols=["a1", "a4"])
    b = dd.read_csv(inputs.join_csv_b_glob, usecols=["b2", "b3"])
    return _merge_and_save(a, b, out)


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """dask.dataframe ``sort_values`` on the line, written back as text part files."""
    lines = _lines(inputs.sort_input, "64MB")
    path = out / "sorted"
    lines.sort_values("line").to_csv(
        str(path / "part-*.txt"),
        header=False,
        index=False,
        sep=_SEP,
        quoting=csv.QUOTE_NONE,
        quotechar="\x1e",
        name_function=lambda i: f"{i:05d}",
    )
    return path


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """``dask.bag.range(10).count()`` on the cluster."""
    import dask.bag as db

    _, client = ctx.handle
    return int(client.compute(db.range(10, npartitions=2).count()).result())
