"""Bad input gives a clear error, and nothing is lost.

Every case checks that the error is a :class:`gleamnb.GleamError` subclass whose message says
*what* went wrong, *where* (flow, step, shard, file:line or byte, the row) and *how to fix it*,
and that nothing is lost: input files are untouched and the next run on the same runner gives
the right answer (checked against plain Python).

``runner`` is the session's local runner with two executor processes (``tests/conftest.py``).
UDFs are defined inside the tests: a function defined at module level would travel to the
executors by reference to this test module, which they cannot import.
"""

from __future__ import annotations

import ctypes
import importlib
import operator
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

THIS_FILE = os.path.abspath(__file__)


# ---------------------------------------------------------------------------------------------
# Helpers


def assert_mentions(message: str, *parts: str) -> None:
    """Every part occurs in the message (reporting all the missing ones at once)."""
    missing = [p for p in parts if p not in message]
    assert not missing, f"message lacks {missing!r}:\n{message}"


def assert_shard(message: str, shards: int) -> None:
    assert re.search(rf"shard [1-{shards}]/{shards}\b", message), (
        f"message names no shard k/{shards}:\n{message}"
    )


def assert_runner_works(runner: LocalRunner) -> None:
    """A run with a shuffle on ``runner`` gives the right answer."""
    expected: dict[int, int] = {}
    for x in range(200):
        expected[x % 7] = expected.get(x % 7, 0) + x
    f = gl.Flow("after the error")
    got = (
        f.range(0, 200, shards=3)
        .map(lambda x: (x % 7, x))
        .reduce_by_key(operator.add)
        .collect(runner, progress=False)
    )
    assert sorted(got) == sorted(expected.items())


def snapshot(paths: Iterable[Path]) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def assert_untouched(before: dict[Path, tuple[bytes, int]]) -> None:
    after = snapshot(before)
    assert after == before, "an input file was changed by a failed run"


def line_of(marker: str) -> int:
    """The line number of this file's line that ends with ``marker``."""
    with open(THIS_FILE) as fh:
        for number, line in enumerate(fh, 1):
            if line.rstrip().endswith(marker):
                return number
    raise AssertionError(f"no line ends with {marker!r}")


# ---------------------------------------------------------------------------------------------
# Fields


def test_unknown_field_name_at_build_time(runner: LocalRunner, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,age,city\nann,31,Paris\nbob,42,Rome\n")
    before = snapshot([path])
    f = gl.Flow("unknown fields")
    people = f.read(gl.csv(str(path), header=True))

    with pytest.raises(gl.FieldError) as info:
        people.select("name", "salary")
    assert_mentions(
        str(info.value), "'salary'", "'select'", "name", "age", "city", "flow 'unknown fields'"
    )

    with pytest.raises(gl.FieldError) as info:
        people.sort(gl.order_by("salary"), name="by_salary")
    assert_mentions(str(info.value), "'salary'", "'by_salary'", "name, age, city")

    pairs = f.slices([("a", 1), ("b", 2)])
    with pytest.raises(gl.FieldError) as info:
        pairs.reduce_by_key(operator.add, key="word", name="count_words")
    assert_mentions(str(info.value), "'word'", "'count_words'", "_1", "_2")

    # After a Python map the fields have no names: only positional names can exist.
    with pytest.raises(gl.FieldError) as info:
        f.range(0, 3).map(lambda x: (x, x)).select("age", name="ages")
    assert_mentions(str(info.value), "'age'", "'ages'", "position")

    assert_untouched(before)
    assert people.select("city", "name").collect(runner, progress=False) == [
        ("Paris", "ann"),
        ("Rome", "bob"),
    ]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d.select(3, name="pick"), id="select"),
        pytest.param(lambda d: d.sort(gl.order_by(3), name="pick"), id="sort"),
        pytest.param(lambda d: d.reduce_by_key("sum", key=3, name="pick"), id="reduce_by_key"),
        pytest.param(lambda d: d.select("_3", name="pick"), id="select_by_name"),
    ],
)
def test_unknown_field_at_run_time_names_the_step(
    runner: LocalRunner, make: Callable[[gl.Dataset], gl.Dataset]
) -> None:
    """A field beyond the arity of a Python map's rows: only known at run time."""
    f = gl.Flow("run-time fields")
    ds = make(f.range(0, 10, shards=2).map(lambda x: (x, x * x), name="square"))
    with pytest.raises(gl.FieldError) as info:
        ds.collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "run-time fields", "'pick'", "_1, _2")
    assert re.search(r"\b3\b|'_3'", message), message
    assert_shard(message, 2)
    assert_runner_works(runner)


def test_out_of_range_position(runner: LocalRunner) -> None:
    f = gl.Flow("positions")
    pairs = f.slices([("a", 1), ("b", 2)])
    cases: list[tuple[Callable[[], Any], type[Exception], tuple[str, ...]]] = [
        (lambda: pairs.select(1, 3), gl.FieldError, ("3", "2 fields", "'select'")),
        (lambda: pairs.sort(gl.order_by(5)), gl.FieldError, ("5", "2 fields", "'sort'")),
        (
            lambda: pairs.reduce_by_key(operator.add, key=4),
            gl.FieldError,
            ("4", "2 fields", "'reduce_by_key'"),
        ),
        (lambda: pairs.partition(2, key=3), gl.FieldError, ("3", "2 fields", "'partition'")),
        (
            lambda: pairs.join(f.slices([("a", 9)]), on=3),
            gl.FieldError,
            ("3", "2 fields", "'join'"),
        ),
        (lambda: pairs.select(0), gl.ArgumentError, ("0", "select", "start at 1")),
        (lambda: pairs.top(1, gl.order_by(-1)), gl.ArgumentError, ("-1", "start at 1")),
    ]
    for build, error, parts in cases:
        with pytest.raises(error) as info:
            build()
        assert isinstance(info.value, gl.GleamError)
        assert info.value.hint, f"no hint in:\n{info.value}"
        assert_mentions(str(info.value), *parts)
    assert pairs.select(2, 1).collect(runner, progress=False) == [(1, "a"), (2, "b")]


# ---------------------------------------------------------------------------------------------
# Shard counts


@pytest.mark.parametrize(
    ("build", "names"),
    [
        pytest.param(lambda f, p: f.range(0, 5, shards=0), ("range", "0"), id="range"),
        pytest.param(lambda f, p: f.strings(["a"], shards=0), ("strings", "0"), id="strings"),
        pytest.param(lambda f, p: f.slices([(1,)], shards=-1), ("slices", "-1"), id="slices"),
        pytest.param(lambda f, p: f.read(gl.txt(p, shards=0)), ("txt", "0"), id="txt"),
        pytest.param(lambda f, p: f.read(gl.csv(p, shards=-2)), ("csv", "-2"), id="csv"),
        pytest.param(lambda f, p: f.range(9).partition(0), ("partition", "0"), id="partition"),
        pytest.param(
            lambda f, p: f.range(9).partition(2.5), ("partition", "2.5"), id="partition_float"
        ),
        pytest.param(lambda f, p: f.range(9).round_robin(0), ("round_robin", "0"), id="rr"),
        pytest.param(lambda f, p: f.range(9).broadcast(-3), ("broadcast", "-3"), id="broadcast"),
        pytest.param(lambda f, p: f.range(9).merge_to(0), ("merge_to", "0"), id="merge_to"),
        pytest.param(
            lambda f, p: f.range(9).merge_sorted_to(0), ("merge_sorted_to", "0"), id="merge_sorted"
        ),
    ],
)
def test_shard_count_below_one(
    runner: LocalRunner,
    tmp_path: Path,
    build: Callable[[gl.Flow, str], Any],
    names: tuple[str, ...],
) -> None:
    path = tmp_path / "in.csv"
    path.write_text("1,2\n3,4\n")
    f = gl.Flow("shard counts")
    with pytest.raises(gl.ArgumentError) as info:
        build(f, str(path))
    assert info.value.hint, f"no hint in:\n{info.value}"
    assert_mentions(str(info.value), *names, "1")
    assert f.range(0, 4, shards=2).collect(runner, progress=False) == [(0,), (1,), (2,), (3,)]


def test_executor_count_below_one() -> None:
    with pytest.raises(gl.ArgumentError) as info:
        gl.local(executors=0)
    assert_mentions(str(info.value), "executors", "0")
    assert info.value.hint


# ---------------------------------------------------------------------------------------------
# Functions that cannot be shipped


def test_unpicklable_udf_names_the_function_and_the_captured_object(runner: LocalRunner) -> None:
    lock = threading.Lock()
    f = gl.Flow("pickling")
    numbers = f.range(0, 5)

    with_lock = lambda x: (x, lock.locked())  # noqa: E731 - the lambda is the point
    with pytest.raises(gl.PicklingError) as info:
        numbers.map(with_lock)
    assert_mentions(str(info.value), with_lock.__qualname__, "'lock'", "lock", "'map'")
    assert info.value.hint

    def guarded(x: int) -> bool:
        with lock:
            return x > 1

    with pytest.raises(gl.PicklingError) as info:
        numbers.filter(guarded)
    assert_mentions(str(info.value), "guarded", "'lock'")

    with pytest.raises(gl.PicklingError) as info:
        numbers.map(lambda x: (x % 2, x)).reduce_by_key(lambda a, b: a + b + lock.locked() * 0)
    assert_mentions(str(info.value), "reducer", "'lock'")

    # The failed steps were not added: the flow still runs.
    assert numbers.filter(lambda x: x > 1).collect(runner, progress=False) == [(2,), (3,), (4,)]


def test_unpicklable_bound_method_callable_object_and_default_name_the_object() -> None:
    class Tally:
        def __init__(self) -> None:
            self.guard = threading.Lock()

        def bump(self, x: int) -> int:
            return x + 1

        def __call__(self, x: int) -> int:
            return x

    lock = threading.Lock()

    def with_default(x: int, held: Any = lock) -> int:
        return x

    numbers = gl.Flow("pickling").range(0, 3)
    cases = [
        (Tally().bump, ["Tally.bump", "attribute 'guard'", "Tally object", "bound"]),
        (Tally(), ["Tally object", "attribute 'guard'", "callable"]),
        (with_default, ["with_default", "default value of argument 'held'"]),
    ]
    for fn, parts in cases:
        with pytest.raises(gl.PicklingError) as info:
            numbers.map(fn)
        assert_mentions(str(info.value), *parts, "lock", "flow 'pickling'")


def test_udf_from_a_module_the_driver_imported_from_its_own_path(
    runner: LocalRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper module next to the user's script (on the driver's sys.path) works in UDFs."""
    name = "gleamnb_test_helpers_mod"
    (tmp_path / f"{name}.py").write_text("def triple(x):\n    return 3 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    helpers = importlib.import_module(name)
    try:
        f = gl.Flow("helper module")
        got = f.range(0, 6, shards=2).map(helpers.triple).collect(runner, progress=False)
        assert got == [(3 * x,) for x in range(6)]
    finally:
        sys.modules.pop(name, None)
    assert_runner_works(runner)


# ---------------------------------------------------------------------------------------------
# Inputs


def test_missing_input_file(runner: LocalRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.txt"
    f = gl.Flow("missing input")
    with pytest.raises(gl.InputNotFoundError) as info:
        f.read(gl.txt(str(missing)))
    assert_mentions(str(info.value), str(missing.name))
    assert info.value.hint
    assert isinstance(info.value, FileNotFoundError)

    # A file removed between building the flow and running it.
    gone = tmp_path / "gone.txt"
    gone.write_text("a\nb\n")
    lines = f.read(gl.txt(str(gone)))
    gone.unlink()
    with pytest.raises(gl.InputNotFoundError) as info:
        lines.collect(runner, progress=False)
    assert_mentions(str(info.value), "gone.txt", "missing input")
    assert_runner_works(runner)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    for name in ("data.csv", "other-1.csv", "data-1.txt"):
        (tmp_path / name).write_text("1,2\n")
    pattern = str(tmp_path / "data-*.csv")
    with pytest.raises(gl.InputNotFoundError) as info:
        gl.Flow("empty glob").read(gl.csv(pattern))
    assert_mentions(str(info.value), "data-*.csv")
    assert info.value.hint


def test_malformed_csv_line(runner: LocalRunner, tmp_path: Path) -> None:
    """A line with too few fields, in the second byte range of a file read as two shards."""
    path = tmp_path / "sales.csv"
    lines = ["id,amount,region"] + [f"{i},{i * 3},r{i % 5}" for i in range(1, 4000)]
    bad_line = 3217  # 1-based, counting the header
    lines[bad_line - 1] = "3216,9648"
    path.write_text("\n".join(lines) + "\n")
    before = snapshot([path])

    f = gl.Flow("bad csv")
    with pytest.raises(gl.MalformedInputError) as info:
        f.read(gl.csv(str(path), header=True, shards=2)).count(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, f"{path}:{bad_line}", f"line {bad_line}", "3216,9648", "bad csv")
    assert_mentions(message, "2 fields", "3")
    assert_shard(message, 2)
    assert info.value.hint
    assert_untouched(before)
    assert_runner_works(runner)


def test_text_file_that_is_not_utf8(runner: LocalRunner, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    good = [f"line {i}: plain ascii".encode() for i in range(3000)]
    good[2500] = "line 2500: café crème".encode("latin-1")
    data = b"\n".join(good) + b"\n"
    path.write_bytes(data)
    offset = data.index("é".encode("latin-1"))
    line = data[:offset].count(b"\n") + 1
    before = snapshot([path])

    f = gl.Flow("bad utf8")
    with pytest.raises(gl.MalformedInputError) as info:
        f.read(gl.txt(str(path), shards=2)).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, str(path), str(offset), f"line {line}", "bad utf8", "errors=")
    assert_shard(message, 2)
    assert_untouched(before)

    for errors in ("replace", "ignore"):
        f = gl.Flow(f"utf8 {errors}")
        got = f.read(gl.txt(str(path), shards=2, errors=errors)).collect(runner, progress=False)
        assert got == [(t,) for t in data.decode("utf-8", errors).splitlines()]
    assert_untouched(before)


# ---------------------------------------------------------------------------------------------
# User functions that fail


def test_udf_exception(runner: LocalRunner, tmp_path: Path) -> None:
    paths = [tmp_path / "part1.txt", tmp_path / "part2.txt"]
    paths[0].write_text("count=1\ncount=2\n")
    paths[1].write_text("count=3\ncount=many\ncount=5\n")
    before = snapshot(paths)

    def parse_line(line: str) -> int:
        _, value = line.split("=")
        return int(value)  # <- parse_line raises here

    f = gl.Flow("udf errors")
    ds = f.read(gl.txt([str(p) for p in paths])).map(parse_line)
    with pytest.raises(gl.UserCodeError) as info:
        ds.collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "udf errors", "'parse_line'", "shard 2/2", "('count=many',)")
    assert_mentions(message, "ValueError", "invalid literal for int()", "'many'")
    assert_mentions(message, f'File "{THIS_FILE}", line {line_of("# <- parse_line raises here")}')
    assert info.value.hint
    assert_untouched(before)
    assert_runner_works(runner)


@pytest.mark.parametrize("mode", ["inline", "process"])
def test_flat_map_failures_name_the_row(runner: LocalRunner, mode: str) -> None:
    r = runner if mode == "process" else gl.local(mode="inline")
    f = gl.Flow("flat failures")
    numbers = f.range(0, 50, shards=2)

    def words(x: int) -> Any:
        if x == 31:
            return "abc"  # a string, not an iterable of rows
        return [str(x)] if x % 3 else None

    with pytest.raises(gl.ArgumentError) as info:
        numbers.flat_map(words).collect(r, progress=False)
    assert_mentions(str(info.value), "'words'", "returned a str", "(31,)", "flat failures")

    def spell(x: int) -> Iterable[str]:
        for k in range(x % 4):
            if x == 42 and k == 1:
                raise KeyError("second letter")
            yield f"{x}-{k}"

    with pytest.raises(gl.UserCodeError) as info:
        numbers.flat_map(spell).collect(r, progress=False)
    assert_mentions(str(info.value), "'spell'", "KeyError", "second letter", "(42,)")

    class Verdict:
        def __init__(self, x: int) -> None:
            self.x = x

        def __bool__(self) -> bool:
            if self.x == 17:
                raise ValueError("undecided")
            return self.x % 2 == 0

    with pytest.raises(gl.UserCodeError) as info:
        numbers.filter(Verdict).collect(r, progress=False)
    assert_mentions(str(info.value), "ValueError", "undecided", "(17,)")

    # the same functions on rows they handle give plain Python's results
    fine = f.range(0, 17, shards=2)
    expected = [(f"{x}-{k}",) for x in range(17) for k in range(x % 4)]
    assert fine.flat_map(spell).collect(r, progress=False) == expected
    assert fine.filter(Verdict).collect(r, progress=False) == [(x,) for x in range(0, 17, 2)]
    expected_words = [(str(x),) for x in range(17) if x % 3]
    assert fine.flat_map(words).collect(r, progress=False) == expected_words


def test_udf_calls_sys_exit_fails_its_row_not_its_executor(runner: LocalRunner) -> None:
    def leaver(x: int) -> int:
        if x == 7:
            sys.exit("no sevens")  # <- leaver exits here
        return x

    pids = {e.pid for e in runner.pool}
    f = gl.Flow("leaving udf")
    with pytest.raises(gl.UserCodeError) as info:
        f.range(0, 10, shards=2).map(leaver).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "leaving udf", "'leaver'", "SystemExit", "no sevens", "(7,)")
    assert_mentions(message, f'File "{THIS_FILE}", line {line_of("# <- leaver exits here")}')
    assert_shard(message, 2)
    assert {e.pid for e in runner.pool} == pids  # no executor was lost
    with pytest.raises(gl.UserCodeError) as info:
        f.slices([("a", 1), ("a", 2)]).reduce_by_key(lambda a, b: sys.exit(2)).collect(
            runner, progress=False
        )
    assert_mentions(str(info.value), "reducer", "SystemExit", "'a'")
    assert {e.pid for e in runner.pool} == pids
    assert_runner_works(runner)


def test_udf_exception_with_a_long_message_is_truncated_in_the_summary(
    runner: LocalRunner,
) -> None:
    text = "very long complaint " * 100

    def complain(x: int) -> int:
        raise ValueError(text)

    with pytest.raises(gl.UserCodeError) as info:
        gl.Flow("long").ints([1]).map(complain).collect(runner, progress=False)
    first_line = str(info.value).splitlines()[0]
    assert first_line.startswith("the function of step 'complain' raised ValueError: very long")
    assert len(first_line) < 300
    assert info.value.detail is not None and text.strip() in info.value.detail  # whole there


@pytest.mark.parametrize("mode", ["inline", "process"])
def test_udf_exception_whose_str_raises_stays_a_user_code_error(
    runner: LocalRunner, mode: str
) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text for this one")

    def picky(x: int) -> int:
        if x == 3:
            raise Unprintable()  # <- picky raises here
        return x

    r = runner if mode == "process" else gl.local(mode="inline")
    f = gl.Flow("unprintable")
    with pytest.raises(gl.UserCodeError) as info:
        f.range(0, 6, shards=2).map(picky).collect(r, progress=False)
    message = str(info.value)
    assert_mentions(message, "unprintable", "'picky'", "raised Unprintable", "(3,)", "str()")
    assert_mentions(message, f'File "{THIS_FILE}", line {line_of("# <- picky raises here")}')
    assert_runner_works(runner)


@pytest.mark.parametrize("mode", ["inline", "process"])
def test_a_row_whose_repr_raises_still_gives_the_error(runner: LocalRunner, mode: str) -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    def reject(value: Any) -> Any:
        raise ValueError("rejected")

    r = runner if mode == "process" else gl.local(mode="inline")
    f = gl.Flow("opaque rows")
    with pytest.raises(gl.UserCodeError) as info:
        f.from_iterable([Opaque()]).map(reject).collect(r, progress=False)
    assert_mentions(str(info.value), "'reject'", "rejected", "Opaque object", "repr() failed")
    assert_runner_works(runner)


@pytest.mark.parametrize("mode", ["inline", "process"])
def test_map_returning_a_generator_says_to_use_flat_map(runner: LocalRunner, mode: str) -> None:
    def pairs(x: int) -> Iterable[tuple[int, int]]:
        yield x, 1  # a generator function: one row each would be flat_map's

    r = runner if mode == "process" else gl.local(mode="inline")
    f = gl.Flow("generator map")
    with pytest.raises(gl.SchemaError) as info:
        f.range(0, 4, shards=2).map(pairs).collect(r, progress=False)
    message = str(info.value)
    assert_mentions(message, "generator map", "'pairs'", "generator", "<generator object")
    assert info.value.hint is not None and "flat_map()" in info.value.hint
    assert_shard(message, 2)
    # what the fix says gives plain Python's rows
    assert f.range(0, 4, shards=2).flat_map(pairs).collect(r, progress=False) == [
        (x, 1) for x in range(4)
    ]
    assert_runner_works(runner)


@pytest.mark.parametrize("downstream", ["reduce_by_key", "sort", "top"])
@pytest.mark.parametrize("change", ["arity", "type"])
def test_rows_that_change_between_shards_name_the_step_that_made_them(
    runner: LocalRunner, change: str, downstream: str
) -> None:
    """Rows of a map that differ only between shards meet first in the wide step after it;
    the error names the map, its stage and the shards, not the wide step."""

    def last_shard_differs(x: int) -> tuple[Any, ...]:
        if x < 20:  # shards 1/3 and 2/3 hold 0..19
            return (x % 3, 1)
        return (x % 3, 1, 2) if change == "arity" else (str(x % 3), 1)

    f = gl.Flow("shard change")
    pairs = f.range(0, 30, shards=3).map(last_shard_differs, name="pairs")
    wide = {
        "reduce_by_key": lambda: pairs.reduce_by_key("sum"),
        "sort": lambda: pairs.sort(1),
        "top": lambda: pairs.top(2, gl.order_by(1)),
    }[downstream]()
    with pytest.raises(gl.SchemaError) as info:
        wide.collect(runner, progress=False)
    err, message = info.value, str(info.value)
    assert (err.flow, err.step, err.stage, err.shard) == (
        "shard change",
        "pairs",
        f"range->pairs->local_{downstream}",
        "3/3",
    )
    expected = "2 fields, then 3" if change == "arity" else "int64 then string"
    assert_mentions(message, expected, "(shard 1/3, then shard 3/3)")
    assert f"step '{downstream}'" not in message
    assert err.hint
    assert_runner_works(runner)


def test_combining_with_plain_data_instead_of_a_dataset() -> None:
    f = gl.Flow("combining")
    left = f.ints([1, 2])
    for combine, step in [
        (lambda: left.join([1]), "join"),
        (lambda: left.left_outer_join({1: 2}), "left_outer_join"),
        (lambda: left.hash_join([(1, 2)]), "hash_join"),
        (lambda: left.co_group("x"), "co_group"),
        (lambda: left.union(left, 3), "union"),
    ]:
        with pytest.raises(gl.ArgumentError) as info:
            combine()
        assert_mentions(str(info.value), f"'{step}'", "Dataset", "flow 'combining'")
        assert info.value.hint
    assert left.union(left).collect(gl.local(mode="inline")) == [(1,), (2,), (1,), (2,)]


def test_union_of_different_widths_fails_when_the_step_is_built() -> None:
    f = gl.Flow("widths")
    one, two = f.ints([1]), f.slices([(1, "a")])
    with pytest.raises(gl.SchemaError) as info:
        one.union(one, two, name="both")
    assert str(info.value).splitlines()[0] == (
        "union of datasets with different numbers of fields: [1, 2]"
    )
    assert_mentions(str(info.value), "'both'")
    assert info.value.hint == "select the same number of fields on every side first"


def test_slices_rows_that_are_not_tuples_or_lists() -> None:
    f = gl.Flow("bad slices")
    with pytest.raises(gl.ArgumentError) as info:
        f.slices([(1, "a"), 2])
    assert_mentions(str(info.value), "slices", "row 1", "int 2", "(value,)", "flow 'bad slices'")
    assert f.slices([(1, "a"), [2, "b"]]).collect(gl.local(mode="inline")) == [(1, "a"), (2, "b")]


def test_udf_calls_os_exit(runner: LocalRunner) -> None:
    def quitter(x: int) -> int:
        if x == 7:
            os._exit(3)
        return x

    f = gl.Flow("exiting udf")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        f.range(0, 10, shards=2).map(quitter).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "exiting udf", "quitter")
    assert re.search(r"(code|status) 3\b", message), message
    assert_shard(message, 2)
    assert info.value.hint
    assert_runner_works(runner)
    assert_runner_works(runner)


def test_udf_segfaults(runner: LocalRunner) -> None:
    def crasher(x: int) -> int:
        if x == 7:
            ctypes.string_at(0)  # <- crasher segfaults here
        return x

    f = gl.Flow("segfaulting udf")
    with pytest.raises(gl.ExecutorCrashedError) as info:
        f.range(0, 10, shards=2).map(crasher).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "segfaulting udf", "crasher")
    assert re.search(r"signal 11\b|SIGSEGV", message), message
    assert_shard(message, 2)
    assert info.value.hint
    # The UDF's own traceback (from the executor's fault handler) names its file and line.
    assert_mentions(message, THIS_FILE, str(line_of("# <- crasher segfaults here")))
    assert_runner_works(runner)
    assert_runner_works(runner)


def test_pipe_command_exits_non_zero(runner: LocalRunner) -> None:
    command = (
        "cat >/dev/null; seq 2000 | sed 's/^/noise /' >&2; echo 'cannot parse input' >&2; exit 7"
    )
    f = gl.Flow("failing pipe")
    with pytest.raises(gl.PipeCommandError) as info:
        f.strings(["a", "b", "c"]).pipe(command, name="parser").collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "failing pipe", "'parser'", "cannot parse input", "shard 1/1")
    assert re.search(r"(code|status) 7\b", message), message
    assert len(message) < 20_000, "the stderr shown should be a tail, not all of it"
    assert info.value.hint
    assert_runner_works(runner)


def test_pipe_command_not_found(runner: LocalRunner) -> None:
    f = gl.Flow("missing command")
    with pytest.raises(gl.PipeCommandError) as info:
        f.strings(["a"]).pipe("gleamnb-no-such-command --flag").collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "missing command", "gleamnb-no-such-command", "not found", "PATH")
    assert_runner_works(runner)


# ---------------------------------------------------------------------------------------------
# Rows that do not fit together


def test_join_keys_of_incompatible_types(runner: LocalRunner) -> None:
    f = gl.Flow("join types")
    left = f.slices([(1, "a"), (2, "b")])
    right = f.slices([("1", "x"), ("2", "y")])
    with pytest.raises(gl.JoinKeyError) as info:
        left.join(right, name="by_id").collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "join types", "'by_id'", "int", "str")
    assert info.value.hint
    assert_runner_works(runner)


@pytest.mark.parametrize("shards", [1, 2], ids=["one_shard", "two_shards"])
def test_udf_rows_change_arity(runner: LocalRunner, shards: int) -> None:
    def widen(x: int) -> tuple[int, ...]:
        return (x,) if x < 5 else (x, x)

    f = gl.Flow("arity")
    with pytest.raises(gl.SchemaError) as info:
        f.range(0, 10, shards=shards).map(widen).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "arity", "'widen'", "1", "2")
    assert_shard(message, shards)
    assert info.value.hint
    assert_runner_works(runner)


@pytest.mark.parametrize(
    ("rows", "shards"), [(10, 2), (200_000, 1)], ids=["across_shards", "across_batches"]
)
def test_udf_field_changes_type(runner: LocalRunner, rows: int, shards: int) -> None:
    half = rows // 2

    def to_int_or_text(x: int) -> int | str:
        return x if x < half else str(x)

    f = gl.Flow("field types")
    with pytest.raises(gl.SchemaError) as info:
        f.range(0, rows, shards=shards).map(to_int_or_text).collect(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "field types", "'to_int_or_text'", "int", "str")
    assert info.value.hint
    assert_runner_works(runner)


def test_sort_over_a_field_of_mixed_types(runner: LocalRunner) -> None:
    f = gl.Flow("mixed sort")
    mixed = f.range(0, 10).map(lambda x: x if x % 2 else str(x), name="mix")
    with pytest.raises(gl.SchemaError) as info:
        mixed.sort(name="order").collect(runner, progress=False)
    message = str(info.value)
    assert "'mix'" in message or "'order'" in message, message
    assert_mentions(message, "mixed sort", "int", "str")
    assert_runner_works(runner)


# ---------------------------------------------------------------------------------------------
# Outputs


def test_save_in_an_unknown_format_fails_when_the_step_is_built(tmp_path: Path) -> None:
    with pytest.raises(gl.ArgumentError) as info:
        gl.Flow().range(0, 3).save(str(tmp_path / "out"), format="xml")
    assert str(info.value).splitlines()[0] == "unknown save format 'xml'"
    assert info.value.hint == "use one of parquet, csv, tsv, txt, jsonl"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_save_to_an_unwritable_path(runner: LocalRunner, tmp_path: Path, fmt: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")
    before = snapshot([blocker])
    target = blocker / "out"
    f = gl.Flow("unwritable save")
    f.range(0, 10, shards=2).save(str(target), format=fmt)
    with pytest.raises(gl.OutputError) as info:
        f.run(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "unwritable save", "'save'", str(target), "Not a directory")
    assert info.value.hint
    assert_untouched(before)
    assert_runner_works(runner)


def test_fprintf_to_an_unwritable_path(runner: LocalRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file\n")
    before = snapshot([blocker])
    target = blocker / "out.txt"
    f = gl.Flow("unwritable fprintf")
    f.range(0, 10, shards=2).fprintf(str(target), "%d\n")
    with pytest.raises(gl.OutputError) as info:
        f.run(runner, progress=False)
    message = str(info.value)
    assert_mentions(message, "unwritable fprintf", "'fprintf'", str(target), "Not a directory")
    assert info.value.hint
    assert_untouched(before)
    assert_runner_works(runner)


# ---------------------------------------------------------------------------------------------
# Steps used wrongly


def test_reduce_by_key_on_rows_with_only_the_key_at_build_time() -> None:
    f = gl.Flow("key only")
    with pytest.raises(gl.SchemaError) as info:
        f.strings(["a", "b", "a"]).reduce_by_key(operator.add, name="count")
    assert_mentions(str(info.value), "'count'", "only the key", "append_one")


def test_reduce_by_key_on_rows_with_only_the_key_at_run_time(runner: LocalRunner) -> None:
    f = gl.Flow("key only, run time")
    words = f.strings(["a b", "b a a"], shards=2).flat_map(lambda line: line.split())
    with pytest.raises(gl.SchemaError) as info:
        words.reduce_by_key("sum", name="total").collect(runner, progress=False)
    assert_mentions(str(info.value), "key only, run time", "'total'", "only the key", "append_one")
    assert_runner_works(runner)


def test_printlnf_format_that_does_not_fit_the_row(runner: LocalRunner) -> None:
    for fmt in ("%d: %s", "%s", "%s %s %s"):
        f = gl.Flow("bad format")
        f.slices([("a", 1), ("b", 2)]).printlnf(fmt)
        with pytest.raises(gl.GleamError) as info:
            f.run(runner, progress=False)
        assert_mentions(str(info.value), "bad format", "'printlnf'", repr(fmt), "('a', 1)")
        assert info.value.hint
    assert_runner_works(runner)


def test_run_without_a_sink(runner: LocalRunner) -> None:
    f = gl.Flow("no sink")
    f.range(0, 3).map(lambda x: x + 1)
    with pytest.raises(gl.ArgumentError) as info:
        f.run(runner, progress=False)
    assert_mentions(str(info.value), "no sink", "printlnf", "collect")


def test_print_inside_a_udf_goes_to_stderr(
    runner: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    def noisy(x: int) -> tuple[int, int]:
        print(f"note: row {x}")
        sys.stdout.write(f"raw note {x}\n")
        return x % 5, x

    expected: dict[int, int] = {}
    for x in range(2000):
        expected[x % 5] = expected.get(x % 5, 0) + x
    capsys.readouterr()
    f = gl.Flow("noisy udf")
    got = f.range(0, 2000, shards=2).map(noisy).reduce_by_key(operator.add)
    assert sorted(got.collect(runner, progress=False)) == sorted(expected.items())

    out, err = "", ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        captured = capsys.readouterr()
        out, err = out + captured.out, err + captured.err
        if "note: row 1999\n" in err and "raw note 1999\n" in err and "note: row 0\n" in err:
            break
        time.sleep(0.05)
    assert "note: row" not in out
    assert all(f"note: row {x}\n" in err and f"raw note {x}\n" in err for x in range(2000))
    assert_runner_works(runner)
