"""PySpark in ``local[2]`` mode (one JVM driver with 2 task slots).

The vectorized word count, the join and the sort use the DataFrame API (all in the JVM); the UDF
word counts run the shared Python tokenizers through ``RDD.flatMap`` (Python worker processes).
Settings: driver memory 4 GB (the driver is the executor in local mode), 8 shuffle partitions
(4 per core instead of the default 200, which only adds task overhead here), UI off.
"""

from __future__ import annotations

import operator
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.config import REPO_ROOT
from benchmarks.engines import Context, Inputs
from benchmarks.udf import TOP, tokenize, words

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

SPLIT_PATTERN = "[^A-Za-z0-9]+"


def java_version() -> str | None:
    """First line of ``java -version``, or ``None`` when there is no Java."""
    java = shutil.which("java")
    if java is None and os.environ.get("JAVA_HOME"):
        candidate = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
        java = str(candidate) if candidate.exists() else None
    if java is None:
        return None
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[0] if proc.returncode == 0 and lines else None


def probe(variant: str) -> str | None:
    """Return why Spark cannot run (no pyspark, no Java), or ``None``."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"pyspark not installed ({exc}); pip install -e .[bench]"
    if java_version() is None:
        return "no Java runtime (java not on PATH); apt-get install openjdk-17-jre-headless"
    return None


def setup(variant: str) -> Context:
    """Start a ``local[2]`` SparkSession."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Python workers import the shared tokenizer from this repository.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("gleamnb-bench")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.default.parallelism", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return Context(variant, spark)


def teardown(ctx: Context) -> None:
    """Stop the session (and the JVM with it)."""
    ctx.handle.stop()


def wordcount_builtin(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """DataFrame: ``split`` -> ``explode`` -> ``groupBy().count()``, collected via Arrow.

    ``toPandas`` (Arrow-enabled) is used: ``toArrow`` was several times slower here.
    """
    from pyspark.sql import functions as F

    spark = ctx.handle
    words = spark.read.text(inputs.text_glob).select(
        F.explode(F.split("value", SPLIT_PATTERN)).alias("word")
    )
    counts = words.where(F.col("word") != "").groupBy("word").count()
    return counts.toPandas()


def wordcount_udf(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """RDD: ``textFile`` -> ``flatMap(tokenize)`` -> ``reduceByKey(add)`` -> ``collect``."""
    sc = ctx.handle.sparkContext
    pairs = sc.textFile(inputs.text_glob).flatMap(tokenize).map(lambda w: (w, 1))
    return pairs.reduceByKey(operator.add).collect()


def wordcount_lambda(ctx: Context, inputs: Inputs, out: Path) -> Any:
    """RDD: ``flatMap(words)`` -> ``map(lambda w: (w, 1))`` -> ``reduceByKey(add)`` ->
    ``takeOrdered(TOP)`` by count, descending."""
    sc = ctx.handle.sparkContext
    pairs = sc.textFile(inputs.text_glob).flatMap(words).map(lambda w: (w, 1))
    return pairs.reduceByKey(operator.add).takeOrdered(TOP, key=lambda kv: -kv[1])


def join(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """DataFrame inner join on ``a1 = b2``, written as Parquet."""
    spark = ctx.handle
    a = spark.read.parquet(inputs.join_a).select("a1", "a4")
    b = spark.read.parquet(inputs.join_b).select("b2", "b3")
    path = out / "join"
    a.join(b, a.a1 == b.b2, "inner").select("a1", "a4", "b3").write.parquet(str(path))
    return path


def join_csv(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """The same join of the CSV copies (``read.csv``, header, inferred types), as Parquet."""
    spark = ctx.handle
    a = spark.read.csv(inputs.join_csv_a, header=True, inferSchema=True).select("a1", "a4")
    b = spark.read.csv(inputs.join_csv_b, header=True, inferSchema=True).select("b2", "b3")
    path = out / "join"
    a.join(b, a.a1 == b.b2, "inner").select("a1", "a4", "b3").write.parquet(str(path))
    return path


def sort(ctx: Context, inputs: Inputs, out: Path) -> Path:
    """DataFrame ``orderBy`` on the line (binary order), written as text part files."""
    spark = ctx.handle
    path = out / "sorted"
    spark.read.text(inputs.sort_input).orderBy("value").write.text(str(path))
    return path


def startup(ctx: Context, inputs: Inputs, out: Path) -> int:
    """``spark.range(10).count()``."""
    return int(ctx.handle.range(10).count())
