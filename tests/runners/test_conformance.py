"""What every runner must do alike: the same flows, the same answers, the same ways to fail.

Each test here runs once per runner of the ``runner`` fixture: today the local runner with two
executor processes and the inline local runner. **A new runner joins by adding one param to
that fixture**; every operator, Gleam example, failure and cancellation below then runs on it
too. Answers are checked against plain Python (``tests/reference.py`` or a computation in the
test), never against another runner.

The flows are small on purpose: this module is about runners agreeing, and the operators'
corner cases are tested in ``tests/api``.
"""

from __future__ import annotations

import _thread
import csv
import math
import operator
import os
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import reference

import gleamnb as gl
from gleamnb import events
from gleamnb.runners.base import Runner

# Executor processes cannot import this test module: its functions travel by value, as they
# would from a notebook or a script's __main__.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

Rows = list[tuple[Any, ...]]

PAIRS = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("a", 6), (None, 7), ("c", 8)]
OTHER = [("a", "x"), ("c", "y"), ("d", "z"), ("a", "w"), (None, "n")]
END_EVENTS = (events.RunFinished, events.RunFailed, events.RunCancelled)


@pytest.fixture(scope="module", params=["local", "inline", "dask"])
def runner(request: pytest.FixtureRequest) -> Runner:
    """Each runner every test here runs on (add a runner here to test it the same way)."""
    if request.param == "local":
        return gl.local(executors=2)
    if request.param == "dask":
        return request.getfixturevalue("dask_runner")
    return gl.local(mode="inline")


def shard_contents(ds: gl.Dataset, runner: Runner) -> list[Rows]:
    """The rows of each non-empty shard of ``ds``, in shard order (``local_reduce_by_key``
    works within one shard and folds in row order)."""
    wrapped = ds.map(lambda *row: (0, [row])).local_reduce_by_key(lambda a, b: a + b)
    return [rows for _, rows in wrapped.collect(runner, progress=False)]


def ends(seen: list[events.Event]) -> list[str]:
    return [type(e).__name__ for e in seen if isinstance(e, END_EVENTS)]


# ---------------------------------------------------------------------------------------------
# Operators


def test_narrow_steps_keep_the_order_of_the_shards(runner: Runner) -> None:
    f = gl.Flow("narrow")
    lines = ["a b", "", "c d e", "f"]

    def words(line: str) -> list[str]:
        return line.split()

    got = (
        f.strings(lines, shards=3)
        .flat_map(words)
        .map(lambda w: (w, ord(w)))
        .filter(lambda w, n: n % 2 == 1)
        .collect(runner, progress=False)
    )
    shards = reference.flat_map_rows([[(line,) for line in lines]], words)
    shards = reference.map_rows(shards, lambda w: (w, ord(w)))
    expected = reference.rows_of(reference.filter_rows(shards, lambda w, n: n % 2 == 1))
    reference.assert_rows(got, expected, ordered=True)


def test_reduce_by_key_group_by_key_and_distinct(runner: Runner) -> None:
    f = gl.Flow("grouping")
    data = f.slices(PAIRS, shards=3)
    shards = [PAIRS]
    reference.assert_rows(
        data.reduce_by_key(operator.add).collect(runner, progress=False),
        reference.reduce_by_key(shards, operator.add),
        ordered=False,
    )
    reference.assert_rows(
        data.reduce_by_key("sum").collect(runner, progress=False),
        reference.reduce_by_key(shards, "sum"),
        ordered=False,
    )
    reference.assert_rows(
        data.group_by_key().collect(runner, progress=False),
        reference.group_by_key(shards),
        ordered=False,
    )
    doubled = f.slices(PAIRS + PAIRS[:3], shards=2)
    reference.assert_rows(
        doubled.distinct().collect(runner, progress=False),
        reference.distinct([PAIRS + PAIRS[:3]]),
        ordered=False,
    )


def test_sort_top_and_limit(runner: Runner) -> None:
    rows = [((i * 37) % 11, i) for i in range(40)]
    f = gl.Flow("ordering")
    data = f.slices(rows, shards=4)
    order = gl.order_by(1, descending=True)
    reference.assert_rows(
        data.sort(order).collect(runner, progress=False),
        reference.sort_rows(rows, [(1, True)]),
        ordered=True,
    )
    reference.assert_rows(
        data.top(5, gl.order_by(1).then(2, descending=True)).collect(runner, progress=False),
        reference.top([rows], 5, [(1, False), (2, True)]),
        ordered=True,
    )
    reference.assert_rows(
        data.limit(7).collect(runner, progress=False), reference.limit([rows], 7), ordered=True
    )


@pytest.mark.parametrize("how", ["join", "left_outer_join", "right_outer_join", "full_outer_join"])
def test_joins(runner: Runner, how: str) -> None:
    f = gl.Flow(how)
    left, right = f.slices(PAIRS, shards=2), f.slices(OTHER, shards=3)
    got = getattr(left, how)(right).collect(runner, progress=False)
    kind = "inner" if how == "join" else how.removesuffix("_join")
    reference.assert_rows(got, reference.join([PAIRS], [OTHER], how=kind), ordered=False)


def test_hash_join_and_co_group(runner: Runner) -> None:
    f = gl.Flow("hash join, co_group")
    left, right = f.slices(PAIRS, shards=2), f.slices(OTHER)
    reference.assert_rows(
        left.hash_join(right).collect(runner, progress=False),
        reference.join([PAIRS], [OTHER]),
        ordered=False,
    )
    # co_group's null keys (join-like) are tested in tests/api: keys here are all set
    keyed = [r for r in PAIRS if r[0] is not None], [r for r in OTHER if r[0] is not None]
    reference.assert_rows(
        f.slices(keyed[0], shards=2).co_group(f.slices(keyed[1])).collect(runner, progress=False),
        reference.co_group([keyed[0]], [keyed[1]]),
        ordered=False,
    )


def test_union_partition_and_count(runner: Runner) -> None:
    f = gl.Flow("moving shards")
    more = [(k, v * 10) for k, v in PAIRS[:3]]
    first, second = f.slices(PAIRS, shards=2), f.slices(more)
    reference.assert_rows(
        first.union(second).collect(runner, progress=False),
        reference.rows_of(reference.union([PAIRS], [more])),
        ordered=True,
    )
    shards = shard_contents(first.partition(3), runner)
    reference.assert_rows(
        [r for s in shards for r in s], reference.partition_groups([PAIRS]), ordered=False
    )
    homes: dict[Any, int] = {}
    for i, shard in enumerate(shards):
        for key, _ in shard:
            assert homes.setdefault(key, i) == i, f"key {key!r} is in shards {homes[key]} and {i}"
    assert first.filter(lambda k, v: v > 2).count(runner, progress=False) == sum(
        1 for _, v in PAIRS if v > 2
    )


def test_save_reads_back(runner: Runner, tmp_path: Path) -> None:
    rows = [(i, f"w{i % 4}", i / 2) for i in range(30)]
    out = tmp_path / "out"
    f = gl.Flow("save")
    f.slices(rows, shards=3).save(str(out), "parquet")
    f.run(runner, progress=False)
    assert sorted(os.listdir(out)) == [f"part-{i:05d}.parquet" for i in range(3)]
    back = gl.Flow("read back").read(gl.parquet(str(out))).collect(runner, progress=False)
    reference.assert_rows(back, rows, ordered=False)


# ---------------------------------------------------------------------------------------------
# Gleam's examples (tests/examples holds the full ones)


def test_word_count_top(runner: Runner, tmp_path: Path) -> None:
    rng = random.Random(3)
    counts = {"the": 9, "Gleam": 7, "map": 5, "reduce": 3, "x": 1}
    tokens = [w for w, n in counts.items() for _ in range(n)]
    rng.shuffle(tokens)
    path = tmp_path / "words.txt"
    path.write_text("".join(t + rng.choice([" ", ", ", "\n", "--"]) for t in tokens) + "\n")
    f = gl.Flow("word count")
    got = (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .top(3, gl.order_by(2, descending=True))
        .collect(runner, progress=False)
    )
    assert got == Counter(tokens).most_common(3)


def test_csv_join(runner: Runner, tmp_path: Path) -> None:
    people = [[i, f"name{i}", ["Paris", "Lima, Peru"][i % 2]] for i in range(0, 20, 2)]
    scores = [[f"c{k}", k % 25, k * 3] for k in range(40)]
    for name, header, rows in [
        ("a.csv", ["id", "name", "city"], people),
        ("b.csv", ["code", "id", "score"], scores),
    ]:
        with (tmp_path / name).open("w", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
    f = gl.Flow("csv join")
    a = f.read(gl.csv(str(tmp_path / "a.csv"), header=True))
    b = f.read(gl.csv(str(tmp_path / "b.csv"), header=True))
    got = a.select(1, 3).join(b.select(2, 3)).collect(runner, progress=False)
    expected = [(p[0], p[2], s[2]) for p in people for s in scores if p[0] == s[1]]
    assert expected
    reference.assert_rows(got, expected, ordered=False)


def test_pi_estimation(runner: Runner) -> None:
    rows, factor = 20, 500

    def inside_count(i: int) -> int:
        rng = random.Random(i)
        return sum(1 for _ in range(factor) if rng.random() ** 2 + rng.random() ** 2 < 1)

    f = gl.Flow("pi estimation")
    got = f.range(0, rows).partition(4).map(inside_count).reduce(operator.add).first(runner)
    expected = sum(inside_count(i) for i in range(rows))
    assert got == (expected,)
    assert abs(4.0 * expected / (rows * factor) - math.pi) < 0.2


@pytest.mark.parametrize("on_disk", [False, True], ids=["in_memory", "on_disk"])
def test_sort_benchmark(runner: Runner, tmp_path: Path, on_disk: bool) -> None:
    rng = random.Random(9)
    records = [("".join(rng.choices("ABCDEFGHIJ", k=6)), f"{i:08X}") for i in range(2000)]
    (tmp_path / "records.txt").write_text("".join(f"{k}  {p}\n" for k, p in records))
    out = tmp_path / "sorted.txt"
    f = gl.Flow("sort benchmark")
    parts = (
        f.read(gl.txt(str(tmp_path / "records.txt"), shards=2))
        .map(lambda line: (line[:6], line[8:]))
        .partition(3)
    )
    (parts.on_disk() if on_disk else parts).sort().fprintf(str(out), "%s  %s\n")
    f.run(runner, progress=False)
    assert out.read_text() == "".join(f"{k}  {p}\n" for k, p in sorted(records))


# ---------------------------------------------------------------------------------------------
# Failing and cancelling


def test_a_udf_exception_is_a_user_code_error_naming_the_row(runner: Runner) -> None:
    seen: list[events.Event] = []
    f = gl.Flow("failing udf")
    with pytest.raises(gl.UserCodeError) as info:
        f.range(0, 10, shards=2).map(lambda x: 1 // (x - 7), name="inverse").collect(
            runner, progress=seen.append
        )
    err = info.value
    assert (err.flow, err.step, err.shard) == ("failing udf", "inverse", "2/2")
    assert str(err.row) == repr((7,))  # the row as text, once the error left its process
    assert "ZeroDivisionError" in str(err) and "row: (7,)" in str(err)
    assert ends(seen) == ["RunFailed"] and isinstance(seen[-1], events.RunFailed)
    assert [e.stage for e in seen if isinstance(e, events.StageFailed)] == [0]
    assert gl.Flow("after").range(0, 3).map(lambda x: -x).collect(runner) == [(0,), (-1,), (-2,)]


def interrupt_when(path: Path, seconds: float = 60.0) -> threading.Thread:
    """A thread that presses Ctrl-C (in this process) as soon as ``path`` exists."""

    def watch() -> None:
        deadline = time.monotonic() + seconds
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        _thread.interrupt_main()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancelling_a_run_stops_it_with_one_run_cancelled_event(
    runner: Runner, tmp_path: Path
) -> None:
    running, finished = tmp_path / "running", tmp_path / "finished"

    def slow(x: int) -> int:
        running.touch()
        for _ in range(600):  # 30 s unless cancelled (short sleeps: an interrupt gets in)
            time.sleep(0.05)
        finished.touch()
        return x

    seen: list[events.Event] = []
    watcher = interrupt_when(running)
    started = time.monotonic()
    with pytest.raises(gl.RunCancelledError) as info:
        gl.Flow("cancelled").range(0, 4, shards=2).map(slow).collect(runner, progress=seen.append)
    watcher.join()
    assert time.monotonic() - started < 20
    assert info.value.flow == "cancelled"
    assert ends(seen) == ["RunCancelled"] and isinstance(seen[-1], events.RunCancelled)
    assert not finished.exists()
    assert gl.Flow("after").range(0, 4, shards=2).count(runner) == 4
