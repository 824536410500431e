"""Gleam's README and examples, written with gleamnb and run on the process runner and on a cluster.

Each example mirrors one of Gleam's (``examples/`` in chrislusf/gleam: the README word count,
``word_count_in_pipeline``, ``csv``, ``tfidf``, ``union``, ``pi_estimation``,
``sort_benchmark``). Every expected answer is computed independently of gleamnb: from the data
as it was generated, with ``collections.Counter``, the ``csv`` module, plain Python, or the same
shell pipeline run directly with ``subprocess``.

``runner`` is each of the local runner with two executor processes, the Dask runner on a
2-agent cluster, and the Dask runner on a 2-agent cluster started with the ``gleamnb``
command (``tests/conftest.py``): every example runs on each.
UDFs are defined inside the tests: a function defined at module level would travel to the
executors by reference to this test module, which they cannot import.
"""

from __future__ import annotations

import csv
import math
import operator
import os
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner


@pytest.fixture(scope="module", params=["local", "dask", "cli"])
def runner(request: pytest.FixtureRequest) -> LocalRunner:
    """Each runner the examples run on: local processes, an in-process 2-agent cluster, and
    a 2-agent cluster started with ``gleamnb cluster start``."""
    if request.param in ("dask", "cli"):
        return request.getfixturevalue(f"{request.param}_runner")
    return gl.local(executors=2)


def sh(command: str, **kwargs: Any) -> str:
    """Run ``command`` in the shell, as a pipe step does, and return its stdout."""
    done = subprocess.run(command, shell=True, check=True, capture_output=True, text=True, **kwargs)
    return done.stdout


# ---------------------------------------------------------------------------------------------
# Word count (Gleam's README and word_count_in_pipeline)

# Words with planned counts: the top five are unambiguous (each count differs, and the fifth
# is above every other word's). Case matters: "The" and "the" are different words.
TOP_WORDS = {"the": 41, "Gleam": 33, "map": 27, "reduce": 20, "Arrow": 14}
OTHER_WORDS = {
    "The": 9,
    "shard": 9,
    "x": 8,
    "ray": 8,
    "42": 7,
    "io": 6,
    "pipe": 5,
    "sort": 4,
    "MAP": 3,
    "uniq": 2,
    "go2": 1,
}
SEPARATORS = [" ", "  ", ", ", ". ", " - ", "\n", "!\n", "'", " (", ") ", ";\t", "--", "/"]


def words_text(seed: int = 7) -> tuple[str, list[str]]:
    """ASCII text made of the planned words in a random order, and those words in order."""
    rng = random.Random(seed)
    tokens = [w for w, n in {**TOP_WORDS, **OTHER_WORDS}.items() for _ in range(n)]
    rng.shuffle(tokens)
    parts = []
    for token in tokens:
        parts.append(token)
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts) + "\n", tokens


def test_readme_word_count_top5(
    runner: LocalRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, tokens = words_text()
    path = tmp_path / "words.txt"
    path.write_text(text)
    counts = Counter(tokens)
    top5 = counts.most_common(6)
    assert len({n for _, n in top5}) == 6, "the data must make the top 5 unambiguous"

    f = gl.Flow("top5 words")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .sort(gl.order_by(2))
        .top(5, gl.order_by(2, descending=True))
        .printlnf("%s\t%d")
    )
    capsys.readouterr()
    f.run(runner, progress=False)
    out = capsys.readouterr().out
    assert out == "".join(f"{w}\t{n}\n" for w, n in top5[:5])


def test_readme_word_count_all_words(runner: LocalRunner, tmp_path: Path) -> None:
    text, tokens = words_text(seed=11)
    path = tmp_path / "words.txt"
    path.write_text(text * 3)
    expected = Counter(tokens * 3)

    f = gl.Flow("word count")
    counted = (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .collect(runner, progress=False)
    )
    assert sorted(counted) == sorted(expected.items())


def test_word_count_by_unix_pipes(runner: LocalRunner, tmp_path: Path) -> None:
    """Gleam's word_count_in_pipeline: tokenize, then tr, tee, sort and uniq -c as pipes."""
    text, _ = words_text(seed=3)
    path = tmp_path / "words.txt"
    path.write_text(text)
    tee_path = tmp_path / "x.out"

    lines: list[str] = []
    f = gl.Flow("word count by unix pipes")
    (
        f.read(gl.txt(str(path), shards=1))
        .flat_map(gl.mappers.tokenize)
        .pipe("tr 'A-Z' 'a-z'", name="lowercase")
        .pipe(f"tee {tee_path}", name="write")
        .pipe("sort", name="sort")
        .pipe("uniq -c", name="uniq")
        .output_row(lambda line: lines.append(line))
    )
    f.run(runner, progress=False)

    words = sh(f"grep -oE '[A-Za-z0-9]+' {path} | tr 'A-Z' 'a-z'")
    expected = sh(f"grep -oE '[A-Za-z0-9]+' {path} | tr 'A-Z' 'a-z' | sort | uniq -c")
    assert lines == expected.splitlines()
    assert tee_path.read_text() == words


def test_word_count_by_unix_pipes_over_two_shards(runner: LocalRunner, tmp_path: Path) -> None:
    """The same pipeline over two shards, merged into one before the global sort."""
    text, _ = words_text(seed=5)
    path = tmp_path / "words.txt"
    path.write_text(text * 4)

    lines: list[str] = []
    f = gl.Flow("word count by unix pipes, two shards")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .pipe("tr 'A-Z' 'a-z'")
        .merge_to(1)
        .pipe("sort")
        .pipe("uniq -c")
        .output_row(lambda line: lines.append(line))
    )
    f.run(runner, progress=False)

    expected = sh(f"grep -oE '[A-Za-z0-9]+' {path} | tr 'A-Z' 'a-z' | sort | uniq -c")
    assert lines == expected.splitlines()


# ---------------------------------------------------------------------------------------------
# CSV join (Gleam's README join and examples/csv)


def write_csv(path: Path, header: list[str] | None, rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)


def read_csv(path: Path, header: bool) -> list[list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[1:] if header else rows


def test_csv_join(runner: LocalRunner, tmp_path: Path) -> None:
    rng = random.Random(1)
    cities = ["Paris", "Rome", "Oslo", "Lima, Peru", 'Quoted "Q"']
    a_rows = [[i, f"name{i}", rng.randint(18, 90), rng.choice(cities)] for i in range(0, 60, 2)]
    b_rows = [[f"c{k}", rng.randrange(0, 80), rng.randint(-500, 500), "note"] for k in range(90)]
    write_csv(tmp_path / "a.csv", ["id", "name", "age", "city"], a_rows)
    write_csv(tmp_path / "b.csv", ["code", "id", "score", "note"], b_rows)

    # The reference: the csv module's rows, joined in plain Python (ids and scores are ints).
    a_ref = [(int(r[0]), r[3]) for r in read_csv(tmp_path / "a.csv", header=True)]
    b_ref = [(int(r[1]), int(r[2])) for r in read_csv(tmp_path / "b.csv", header=True)]
    expected = [(ka, city, score) for ka, city in a_ref for kb, score in b_ref if ka == kb]
    assert expected, "the data must have matching keys"

    f = gl.Flow("csv join")
    a = f.read(gl.csv(str(tmp_path / "a.csv"), header=True))
    b = f.read(gl.csv(str(tmp_path / "b.csv"), header=True))
    joined = a.select(1, 4).join(b.select(2, 3)).collect(runner, progress=False)
    assert sorted(joined) == sorted(expected)
    assert all(type(k) is int and type(s) is int for k, _, s in joined)


def _none_first(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is not None, v) for v in row)


@pytest.mark.parametrize("hinted", ["selected", "source"])
def test_csv_right_outer_join_with_globs_and_hints(
    runner: LocalRunner, tmp_path: Path, hinted: str
) -> None:
    """Gleam's examples/csv: ``a?.csv`` with a header, ``b*.csv`` without, hints, right outer join.

    The size hints sit on the selected dataset, or on the source before the select: either way
    the join is a shuffle downstream of them, so it gets ``total / partition`` shards.
    """
    rng = random.Random(2)
    a_files = {"a1.csv": range(0, 30), "a2.csv": range(30, 45)}
    for fname, ids in a_files.items():
        rows = [[i, f"n{i}", rng.randint(1, 99)] for i in ids if i % 3]
        write_csv(tmp_path / fname, ["id", "name", "age"], rows)
    # Not matched by a?.csv: its rows must not appear.
    write_csv(tmp_path / "a10.csv", ["id", "name", "age"], [[i, "x", 0] for i in range(60)])
    for fname, ids in {"b.csv": range(0, 50, 2), "b2.csv": range(1, 50, 5)}.items():
        rows = [[i, "p", "q", rng.randint(0, 999) / 8, f"v{i}"] for i in ids]
        write_csv(tmp_path / fname, None, rows)

    a_ref: list[tuple[Any, ...]] = []
    for fname in a_files:
        a_ref += [(int(r[0]), r[1], int(r[2])) for r in read_csv(tmp_path / fname, header=True)]
    b_ref: list[tuple[Any, ...]] = []
    for fname in ("b.csv", "b2.csv"):
        b_ref += [(int(r[0]), float(r[3]), r[4]) for r in read_csv(tmp_path / fname, header=False)]
    expected = []
    for kb, w, v in b_ref:
        matches = [(name, age) for ka, name, age in a_ref if ka == kb]
        for name, age in matches or [(None, None)]:
            expected.append((kb, name, age, w, v))
    assert any(r[1] is None for r in expected) and any(r[1] is not None for r in expected)

    f = gl.Flow("csv right outer join")
    source = f.read(gl.csv(str(tmp_path / "a?.csv"), header=True))
    if hinted == "source":
        a = source.hint(total_size_mb=4, partition_size_mb=1).select(1, 2, 3)
    else:
        a = source.select(1, 2, 3).hint(total_size_mb=4, partition_size_mb=1)
    b = f.read(gl.csv(str(tmp_path / "b*.csv"))).select(1, 4, 5)
    joined = a.right_outer_join(b)
    assert joined.shards == 4  # total_size_mb / partition_size_mb
    rows = joined.collect(runner, progress=False)
    assert sorted(rows, key=_none_first) == sorted(expected, key=_none_first)


# ---------------------------------------------------------------------------------------------
# tf-idf (Gleam's examples/tfidf)

DOCS = {
    "d1.txt": "the quick brown fox jumps over the lazy dog",
    "d2.txt": "the dog barks\nthe fox runs away from the dog",
    "d3.txt": "Arrow batches flow through the map and the reduce steps",
    "d4.txt": "a quick map then a quick reduce: map reduce map",
}


def test_tfidf(runner: LocalRunner, tmp_path: Path) -> None:
    paths = []
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text + "\n")
        paths.append(str(tmp_path / name))
    n_docs = len(paths)

    # Plain Python: term frequency per (word, doc), document frequency per word, tf * idf.
    tf: Counter[tuple[str, str]] = Counter()
    for name, text in DOCS.items():
        for word in text.lower().replace(":", " ").split():
            tf[(word, name)] += 1
    df = Counter(word for word, _ in tf)
    expected = [
        (word, doc, n, df[word], n * math.log(n_docs / df[word])) for (word, doc), n in tf.items()
    ]
    expected.sort(key=lambda r: (-r[4], r[0], r[1]))

    def read_content(path: str) -> Iterator[tuple[str, str, int]]:
        with open(path) as fh:
            for word in fh.read().lower().replace(":", " ").split():
                yield word, os.path.basename(path), 1

    def tfidf(word: str, dfreq: int, doc: str, tfreq: int) -> tuple[str, str, int, int, float]:
        return word, doc, tfreq, dfreq, tfreq * math.log(n_docs / dfreq)

    f = gl.Flow("tfidf")
    word_doc_one = f.strings(paths).partition(3).flat_map(read_content)
    term_freq = word_doc_one.reduce_by_key(operator.add, key=(1, 2), name="word_doc_tf")
    doc_freq = term_freq.select(1).map(gl.mappers.append_one).reduce_by_key(operator.add, name="df")
    rows = (
        doc_freq.join(term_freq, name="by_word")
        .map(tfidf)
        .sort(gl.order_by(5, descending=True).then(1).then(2))
        .collect(runner, progress=False)
    )
    assert [r[:4] for r in rows] == [r[:4] for r in expected]
    assert [r[4] for r in rows] == pytest.approx([r[4] for r in expected])


# ---------------------------------------------------------------------------------------------
# Union of pipe branches (Gleam's examples/union)


def passwd_like(path: Path, n: int = 40) -> None:
    rng = random.Random(4)
    lines = []
    for i in rng.sample(range(n), n):
        shell = rng.choice(["/bin/sh", "/bin/bash", "/usr/sbin/nologin"])
        lines.append(f"user{i:02d}:x:{1000 + 7 * i}:{100 + i % 3}:User {i}:/home/u{i}:{shell}")
    path.write_text("\n".join(lines) + "\n")


AWK_FIELDS = {"field user": 1, "field uid": 3, "field home": 6}


def union_branches(f: gl.Flow, path: Path) -> list[gl.Dataset]:
    ori = f.read(gl.txt(str(path), shards=1)).pipe("sort", name="sort")
    return [ori.pipe(f"awk -F ':' '{{print ${k}}}'", name=name) for name, k in AWK_FIELDS.items()]


def union_reference(path: Path) -> list[list[str]]:
    return [
        sh(f"sort {path} | awk -F ':' '{{print ${k}}}'").splitlines() for k in AWK_FIELDS.values()
    ]


def test_union_parallel(runner: LocalRunner, tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    passwd_like(path)
    f = gl.Flow("union, parallel")
    a, b, c = union_branches(f, path)
    out = a.union(b, c)
    assert out.shards == 3
    rows = out.collect(runner, progress=False)
    expected = [line for lines in union_reference(path) for line in lines]
    assert sorted(rows) == sorted((line,) for line in expected)


def test_union_ordered(
    runner: LocalRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "passwd"
    passwd_like(path)
    f = gl.Flow("union, ordered")
    a, b, c = union_branches(f, path)
    out = a.union(b, c, ordered=True)
    assert out.shards == 1
    out.printlnf("%s")
    capsys.readouterr()
    f.run(runner, progress=False)
    expected = [line for lines in union_reference(path) for line in lines]
    assert capsys.readouterr().out.splitlines() == expected


# ---------------------------------------------------------------------------------------------
# Pi estimation (Gleam's examples/pi_estimation)


def test_pi_estimation(runner: LocalRunner) -> None:
    rows, factor = 70, 2000

    def inside_count(i: int) -> int:
        """Points of the unit square inside the circle, from an RNG seeded by the row."""
        rng = random.Random(i)
        count = 0
        for _ in range(factor):
            x, y = rng.random(), rng.random()
            if x * x + y * y < 1:
                count += 1
        return count

    f = gl.Flow("pi estimation")
    first = f.range(0, rows).partition(7).map(inside_count).reduce(operator.add).first(runner)
    expected = sum(inside_count(i) for i in range(rows))
    assert first == (expected,)
    assert abs(4.0 * first[0] / (rows * factor) - math.pi) < 0.05


# ---------------------------------------------------------------------------------------------
# Sort benchmark (Gleam's examples/sort_benchmark), on a small gensort-like file

KEY_CHARS = [chr(c) for c in range(0x21, 0x7F) if chr(c) != "\\"]


def gensort_like(path: Path, n: int, seed: int = 9) -> list[tuple[str, str]]:
    """Records of a 10-character random key, two spaces and a payload (gensort -a's layout)."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        key = "".join(rng.choices(KEY_CHARS, k=10))
        payload = f"{i:032X}  " + "".join(rng.choices("ABCDEFGHIJ", k=4)) * 13
        records.append((key, payload))
    path.write_text("".join(f"{k}  {p}\n" for k, p in records))
    return records


@pytest.mark.parametrize("on_disk", [False, True], ids=["in_memory", "on_disk"])
def test_sort_benchmark(runner: LocalRunner, tmp_path: Path, on_disk: bool) -> None:
    records = gensort_like(tmp_path / "records.txt", 20_000)
    out_path = tmp_path / "sorted.txt"

    f = gl.Flow("sort benchmark")
    parts = (
        f.read(gl.txt(str(tmp_path / "records.txt"), shards=2))
        .map(lambda line: (line[:10], line[12:]))
        .partition(4)
    )
    if on_disk:
        parts = parts.on_disk()
    parts.sort().fprintf(str(out_path), "%s  %s\n")
    f.run(runner, progress=False)

    expected = sorted(records)
    assert out_path.read_text() == "".join(f"{k}  {p}\n" for k, p in expected)


def test_sort_benchmark_unix_sort_then_merge_sorted(runner: LocalRunner, tmp_path: Path) -> None:
    records = gensort_like(tmp_path / "records.txt", 20_000, seed=10)
    out_path = tmp_path / "sorted.txt"

    f = gl.Flow("sort benchmark, unix sort")
    (
        f.read(gl.txt(str(tmp_path / "records.txt"), shards=2))
        .map(lambda line: (line[:10], line[12:]))
        .partition(4)
        .pipe("LC_ALL=C sort -k 1")
        .merge_sorted_to(1)
        .fprintf(str(out_path), "%s  %s\n")
    )
    f.run(runner, progress=False)

    expected = sorted(records)
    assert out_path.read_text() == "".join(f"{k}  {p}\n" for k, p in expected)
