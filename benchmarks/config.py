"""Sizes, paths and the names of the workloads.

Every size is a frozen dataclass so a data set's manifest can record exactly what was asked for;
the generator skips work when an existing manifest matches.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = [
    "BENCH_DIR",
    "DATA_DIR",
    "DOCS_DIR",
    "REPO_ROOT",
    "RESULTS_DIR",
    "SIZES",
    "WORKLOADS",
    "Size",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"
DOCS_DIR = REPO_ROOT / "docs"

#: Workload names, in report order. ``wordcount_builtin`` uses each engine's own vectorized
#: tokenizer; ``wordcount_udf`` the one Python function :func:`benchmarks.udf.tokenize`;
#: ``wordcount_lambda`` the user's own functions (:func:`benchmarks.udf.words` and a
#: ``lambda w: (w, 1)``), keeping the :data:`benchmarks.udf.TOP` most frequent words.
#: ``startup`` is each engine's smallest job (count a 10-row range) and ``wordcount_64mb`` the
#: built-in word count of the corpus's first two files: both are judged on the whole process.
#: ``join`` reads its inputs from Parquet, ``join_csv`` the same rows from CSV files.
WORKLOADS: tuple[str, ...] = (
    "wordcount_builtin",
    "wordcount_udf",
    "wordcount_lambda",
    "join",
    "join_csv",
    "sort",
    "startup",
    "wordcount_64mb",
)


@dataclasses.dataclass(frozen=True)
class Size:
    """How big each data set is.

    Attributes
    ----------
    name
        ``"full"`` or ``"quick"``; also the data folder's name.
    text_files
        Number of files in the word-count corpus.
    text_file_bytes
        Target size of each corpus file (a file ends at the last whole line that fits).
    vocabulary
        Number of distinct words the Zipf sampler draws from.
    zipf_s
        Zipf exponent: the word of rank ``k`` has probability proportional to ``k ** -zipf_s``.
    join_a_rows, join_b_rows
        Rows of the two join inputs.
    join_match_fraction
        Share of ``a`` rows whose key ``a1`` has a partner ``b2``.
    sort_rows
        Records (100-byte lines) of the sort input.
    timeout_s
        Default per-run timeout.
    """

    name: str
    text_files: int
    text_file_bytes: int
    vocabulary: int
    zipf_s: float
    join_a_rows: int
    join_b_rows: int
    join_match_fraction: float
    sort_rows: int
    timeout_s: float

    @property
    def data_dir(self) -> Path:
        """Folder holding this size's data sets and references."""
        return DATA_DIR / self.name


SIZES: dict[str, Size] = {
    "full": Size(
        name="full",
        text_files=8,
        text_file_bytes=32 * 2**20,
        vocabulary=1_000_000,
        zipf_s=1.07,
        join_a_rows=5_000_000,
        join_b_rows=1_000_000,
        join_match_fraction=0.8,
        sort_rows=10_000_000,
        timeout_s=1800.0,
    ),
    "quick": Size(
        name="quick",
        text_files=8,
        text_file_bytes=512 * 2**10,
        vocabulary=20_000,
        zipf_s=1.07,
        join_a_rows=200_000,
        join_b_rows=40_000,
        join_match_fraction=0.8,
        sort_rows=300_000,
        timeout_s=120.0,
    ),
}
