"""One big text or CSV file is read in parallel byte ranges, with the result of one reader."""

from __future__ import annotations

import operator
import random
from collections import Counter
from pathlib import Path

import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


@pytest.fixture(scope="module")
def big_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("big") / "big.txt"
    with path.open("w") as out:
        size = 0
        while size < 50 * 1024 * 1024:
            line = " ".join(rng.choices(WORDS, k=rng.randint(0, 14))) + "\n"
            out.write(line)
            size += len(line)
    return path


@pytest.mark.slow
def test_a_50mb_text_file_with_shards_4_runs_as_4_tasks_and_matches_one_shard(
    big_text: Path,
) -> None:
    runner = gl.local(executors=2)

    def count(shards: int) -> tuple[dict[str, int], gl.RunResult]:
        f = gl.Flow(f"wc{shards}")
        got = (
            f.read(gl.txt(str(big_text), shards=shards))
            .flat_map(gl.mappers.tokenize)
            .map(gl.mappers.append_one)
            .reduce_by_key(operator.add)
            .collect(runner)
        )
        assert f.last_run is not None
        return dict(got), f.last_run

    four, run4 = count(4)
    one, run1 = count(1)
    assert run4.stages[0].tasks == 4 and run1.stages[0].tasks == 1
    assert all(step.rows > 0 for step in run4.stages[0].steps)
    assert four == one
    expected = Counter(w for line in big_text.read_text().splitlines() for w in line.split())
    assert four == dict(expected)


@pytest.mark.slow
def test_lines_of_a_split_file_come_back_in_order(big_text: Path) -> None:
    lines = gl.Flow("lines").read(gl.txt(str(big_text), shards=5)).count()
    assert lines == big_text.read_text().count("\n")
    first = gl.Flow("head").read(gl.txt(str(big_text), shards=5)).take(3)
    assert [r[0] for r in first] == big_text.read_text().splitlines()[:3]


def test_a_csv_file_split_in_ranges_keeps_types_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = [(i, f"name{i % 97}", i * 0.5) for i in range(200_000)]
    path.write_text("id,name,score\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    got = gl.Flow("csv").read(gl.csv(str(path), shards=4, header=True)).collect()
    assert got == rows
    assert gl.Flow("csv").read(gl.csv(str(path), shards=4, header=True)).names == (
        "id",
        "name",
        "score",
    )


@pytest.mark.parametrize("shards", [1, 3])
def test_a_file_of_one_12mb_line_word_counts_exactly(
    tmp_path: Path, runner: LocalRunner, shards: int
) -> None:
    """One line longer than any read (it is handed over whole, tokenized in windows, reduced
    in runs) counts as ``Counter(text.split())`` does, whatever the shard count."""
    rng = random.Random(11)
    text = " ".join(rng.choices([*WORDS, "Alpha", "x1"], k=1_500_000))
    path = tmp_path / "one-line.txt"
    path.write_text(text + "\r\n")
    got = (
        gl.Flow("one line")
        .read(gl.txt(str(path), shards=shards))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .collect(runner)
    )
    assert dict(got) == Counter(text.split())
