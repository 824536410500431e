"""Tests of gleamnb.runtime.pipe: rows as TSV lines through shell commands and back.

Outputs are compared with what the same command prints when run directly with subprocess on
the same text, that text being built by an independent reference formatter written here from
the documented rules.
"""

from __future__ import annotations

import datetime
import decimal
import doctest
import math
import os
import pickle
import subprocess
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gleamnb.errors import FieldError, PipeCommandError, SchemaError
from gleamnb.rows import batch_to_rows, rows_to_batch
from gleamnb.runtime import pipe as pipe_package
from gleamnb.runtime.pipe import args, lines, process, stream, tsv
from gleamnb.runtime.pipe.args import pipe_as_args
from gleamnb.runtime.pipe.lines import BATCH_LINES
from gleamnb.runtime.pipe.process import STDERR_TAIL_BYTES
from gleamnb.runtime.pipe.stream import pipe_batches
from gleamnb.runtime.pipe.tsv import batch_to_tsv_lines, format_field, format_row

# ---------------------------------------------------------------------------------------------
# Independent references


def ref_field(value: Any) -> str:
    """The documented field text, written out without looking at the implementation."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = f"{value:d}"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, bytes):
        text = value.decode("utf-8", "surrogateescape")
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    escapes = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    return "".join(escapes.get(ch, ch) for ch in text)


def ref_text(rows: Sequence[Sequence[Any]]) -> bytes:
    lines = ["\t".join(ref_field(v) for v in row) + "\n" for row in rows]
    return "".join(lines).encode("utf-8", "surrogateescape")


def ref_run(command: str, stdin: bytes) -> list[tuple[str, ...]]:
    """What ``command`` prints for ``stdin`` when run directly, split into rows as documented."""
    done = subprocess.run(["/bin/sh", "-c", command], input=stdin, capture_output=True, check=True)
    return [tuple(ref_unescape(f) for f in line) for line in ref_lines(done.stdout)]


def ref_lines(stdout: bytes) -> list[list[str]]:
    """A command's output as lines of fields, escapes not undone yet, as documented."""
    lines = stdout.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r").split("\t") for line in lines]


def ref_unescape(text: str) -> str:
    """Undo the four documented escapes, scanning left to right; other backslashes stay."""
    plain = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in plain:
            out.append(plain[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def run(command: str, data: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    batches = [data] if isinstance(data, (pa.RecordBatch, pa.Table)) else data
    return [row for b in pipe_batches(command, iter(batches), **kwargs) for row in batch_to_rows(b)]


def run_args(template: str, data: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    batches = [data] if isinstance(data, (pa.RecordBatch, pa.Table)) else data
    out = pipe_as_args(template, iter(batches), **kwargs)
    return [row for b in out for row in batch_to_rows(b)]


MIXED_ROWS = [
    ("plain", 1, 0.5, True, None),
    ("tab\there", -7, 1.0, False, "x"),
    ("new\nline", 0, 1e16, None, "back\\slash"),
    ("cr\rhere", 2**62, 0.1, True, ""),
    ("ünïcødé ✓", None, float("nan"), False, "a b"),
    ("", 42, -0.0, True, "quote'\""),
    ("end", 3, 1e-05, False, "inf"),
    ("x", 9, float("inf"), True, "-"),
]


# ---------------------------------------------------------------------------------------------
# Formatting


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("abc", "abc"),
        ("a\tb", "a\\tb"),
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\\tb", "a\\\\tb"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (10**30, str(10**30)),
        (0.1, "0.1"),
        (1.0, "1.0"),
        (1e16, "1e+16"),
        (1e-05, "1e-05"),
        (-0.0, "-0.0"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (b"bytes", "bytes"),
        (b"\xff\x00", "\udcff\x00"),
        (b"t\tb", "t\\tb"),
        ([1, "a"], "[1, 'a']"),
        ((1, 2), "(1, 2)"),
        ({"k": 1}, "{'k': 1}"),
        (np.int64(5), "5"),
        (np.float64(0.25), "0.25"),
        (np.float32(0.1), "0.1"),
        (np.bool_(True), "true"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.datetime(2024, 5, 1, 12, 30), "2024-05-01 12:30:00"),
        (decimal.Decimal("1.50"), "1.50"),
    ],
)
def test_format_field(value: Any, text: str) -> None:
    assert format_field(value) == text


def test_format_row_matches_reference() -> None:
    for row in MIXED_ROWS:
        assert format_row(row) == ref_text([row]).decode("utf-8", "surrogateescape")
    assert format_row(()) == "\n"


def test_format_row_keeps_framing() -> None:
    line = format_row(("a\tb\nc", "d\\"))
    assert line.count("\t") == 1 and line.count("\n") == 1 and line.endswith("\n")


def test_batch_to_tsv_lines_matches_format_row() -> None:
    batch = rows_to_batch(MIXED_ROWS)
    assert batch_to_tsv_lines(batch) == ref_text(MIXED_ROWS)
    assert batch_to_tsv_lines(pa.Table.from_batches([batch, batch])) == ref_text(MIXED_ROWS) * 2


def test_batch_to_tsv_lines_typed_columns() -> None:
    batch = pa.record_batch(
        {
            "i8": pa.array([1, None, -3], pa.int8()),
            "u64": pa.array([2**64 - 1, 0, None], pa.uint64()),
            "f32": pa.array([0.1, None, 1.0], pa.float32()),
            "bin": pa.array([b"\xff\t", None, b"ok"], pa.binary()),
            "big": pa.array(["x\\y", None, "z"], pa.large_string()),
            "dict": pa.array(["a", "b", None]).dictionary_encode(),
            "nul": pa.nulls(3),
            "lst": pa.array([[1, 2], None, []]),
            "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5), None, None]),
        }
    )
    assert batch_to_tsv_lines(batch) == (
        b"1\t18446744073709551615\t0.1\t\xff\\t\tx\\\\y\ta\t\t[1, 2]\t2024-01-02 03:04:05\n"
        b"\t0\t\t\t\tb\t\t\t\n"
        b"-3\t\t1.0\tok\tz\t\t\t[]\t\n"
    )


def test_batch_to_tsv_lines_pyobject_column() -> None:
    batch = rows_to_batch([(1, {1}), (2, "s\tt"), (3, None)])  # mixed: a pickled column
    assert batch_to_tsv_lines(batch) == b"1\t{1}\n2\ts\\tt\n3\t\n"


def test_batch_to_tsv_lines_edge_shapes() -> None:
    assert batch_to_tsv_lines(rows_to_batch([(1,)]).slice(0, 0)) == b""
    assert batch_to_tsv_lines(pa.RecordBatch.from_pydict({}).slice(0, 0)) == b""
    no_columns = pa.RecordBatch.from_struct_array(pa.array([{}, {}], pa.struct([])))
    assert batch_to_tsv_lines(no_columns) == b"\n\n"
    sliced = rows_to_batch([("a", 1), ("b", 2), ("c", 3)]).slice(1, 2)
    assert batch_to_tsv_lines(sliced) == b"b\t2\nc\t3\n"


# One strategy per column type: rows_to_batch infers one Arrow type per column. (Mixed
# columns go through the pickled-object path, tested on its own above.)
column_kinds = [
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    st.binary(),
]


@st.composite
def typed_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    kinds = draw(st.lists(st.sampled_from(column_kinds), min_size=1, max_size=4))
    row = st.tuples(*[st.one_of(st.none(), kind) for kind in kinds])
    return draw(st.lists(row, min_size=1, max_size=20))


@settings(max_examples=200, deadline=None)
@given(typed_rows())
@example([("a\\\t\n\r", 1.5, None)])
@example([(1.0,), (None,)])
@example([(b"\xff\t\\",)])
def test_batch_to_tsv_lines_equals_reference(rows: list[tuple[Any, ...]]) -> None:
    batch = rows_to_batch(rows)
    expected = ref_text(rows)
    assert batch_to_tsv_lines(batch) == expected
    assert "".join(map(format_row, rows)).encode("utf-8", "surrogateescape") == expected


# ---------------------------------------------------------------------------------------------
# pipe: output equals the same command run directly


@pytest.mark.parametrize(
    "command",
    [
        "cat",
        "tr a-z A-Z",
        "sort",
        "awk -F'\\t' '{print $2\"\\t\"$1}'",
        "wc -l",
        "sort -t \"$(printf '\\t')\" -k2,2n | cut -f1,2",
    ],
)
def test_pipe_matches_running_the_command(command: str) -> None:
    got = run(command, rows_to_batch(MIXED_ROWS))
    assert got == ref_run(command, ref_text(MIXED_ROWS))
    assert got


def test_cat_returns_every_field_as_text() -> None:
    got = run("cat", rows_to_batch(MIXED_ROWS))
    assert got == [tuple(ref_unescape(ref_field(v)) for v in row) for row in MIXED_ROWS]
    assert got[0] == ("plain", "1", "0.5", "true", "")  # numbers are never dropped
    # the escapes that kept TAB, LF, CR and backslash inside one field are undone
    assert got[1][0] == "tab\there"
    assert got[2][0] == "new\nline" and got[2][4] == "back\\slash"
    assert got[3][0] == "cr\rhere"


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet="\\\t\n\rtnrx é", max_size=8), st.text(alphabet="\\t", max_size=4)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_string_fields_come_back_whole_through_cat(rows: list[tuple[str, str]]) -> None:
    assert run("cat", rows_to_batch(rows)) == rows


def test_backslashes_the_command_prints_itself() -> None:
    # escapes are undone; a backslash before any other character is kept
    got = run("printf '%s\\n' 'a\\tb' 'c\\qd' 'e\\' 'f\\\\t'", [])
    assert got == [("a\tb",), ("c\\qd",), ("e\\",), ("f\\t",)]


def test_output_is_string_columns_named_by_position() -> None:
    (batch,) = list(pipe_batches("cat", iter([rows_to_batch([("a", 1, 2.5)])])))
    assert batch.schema == pa.schema(
        [("_1", pa.string()), ("_2", pa.string()), ("_3", pa.string())]
    )


def test_output_splits_on_tabs_only() -> None:
    got = run("printf 'a b\\t c\\t\\n\\t\\t\\n'", [])
    assert got == [("a b", " c", ""), ("", "", "")]


def test_crlf_and_missing_final_newline() -> None:
    assert run("printf 'a\\r\\nb\\r\\nc'", []) == [("a",), ("b",), ("c",)]
    assert run("printf 'x\\r\\r\\n'", []) == [("x\r",)]  # only one CR before LF is dropped


def test_invalid_utf8_output_is_replaced() -> None:
    assert run("printf 'ok\\t\\377x\\n'", []) == [("ok", "\ufffdx")]


def test_no_output_gives_no_batches() -> None:
    assert list(pipe_batches("cat >/dev/null", iter([rows_to_batch([(1,)])]))) == []


def test_empty_input_still_runs_the_command() -> None:
    assert run("wc -l", []) == ref_run("wc -l", b"")
    assert run("cat", []) == []


def test_many_input_batches_keep_order() -> None:
    batches = [rows_to_batch([(i, f"w{i}")]) for i in range(50)]
    assert run("cat", batches) == [(str(i), f"w{i}") for i in range(50)]


def test_tables_are_accepted() -> None:
    table = pa.table({"a": [1, 2], "b": ["x", "y"]})
    assert run("cat", table) == [("1", "x"), ("2", "y")]


def test_env_is_added_to_the_environment() -> None:
    got = run('printf "%s\\t%s\\n" "$GLEAM_X" "${HOME:+home}"', [], env={"GLEAM_X": "42"})
    assert got == [("42", "home" if os.environ.get("HOME") else "")]


def test_child_does_not_inherit_unrelated_descriptors() -> None:
    r, w = os.pipe()
    os.set_inheritable(r, True)
    os.set_inheritable(w, True)
    try:
        got = run(f"[ -e /proc/$$/fd/{r} ] && echo leaked || echo clean", [])
    finally:
        os.close(r)
        os.close(w)
    assert got == [("clean",)]


@pytest.mark.slow
def test_large_input_through_cat_does_not_deadlock() -> None:
    n = 1_000_000

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, n, 100_000):
            ids = np.arange(start, start + 100_000)
            yield pa.record_batch({"id": ids, "half": ids * 0.5, "tag": ["t\tx"] * len(ids)})

    count = 0
    sizes = []
    first = last = None
    for batch in pipe_batches("cat", batches()):
        sizes.append(batch.num_rows)
        if first is None:
            first = batch_to_rows(batch.slice(0, 1))[0]
        last = batch_to_rows(batch.slice(batch.num_rows - 1, 1))[0]
        count += batch.num_rows
    assert count == n
    assert first == ("0", "0.0", "t\tx")
    assert last == (str(n - 1), repr((n - 1) * 0.5), "t\tx")
    assert max(sizes) <= BATCH_LINES and all(s == BATCH_LINES for s in sizes[:-1])


@pytest.mark.slow
def test_large_output_and_input_both_directions() -> None:
    # The command writes a lot before it has read all of its input: only a writer running
    # apart from the reader keeps both pipes moving.
    rows = rows_to_batch([(f"row{i}",) for i in range(200_000)])
    got = run("awk '{print; print}'", [rows, rows])
    assert len(got) == 800_000
    assert got[:3] == [("row0",), ("row0",), ("row1",)]


def test_long_lines_are_cut_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "_BATCH_BYTES", 1000)
    monkeypatch.setattr(stream, "_READ_SIZE", 512)
    rows = [("x" * 300, i) for i in range(20)]
    batches = list(pipe_batches("cat", iter([rows_to_batch(rows)])))
    assert len(batches) > 1
    assert [r for b in batches for r in batch_to_rows(b)] == [
        ("x" * 300, str(i)) for i in range(20)
    ]


# ---------------------------------------------------------------------------------------------
# pipe: early exits and cleanup


def test_head_exits_early_without_error() -> None:
    closed = []

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for start in range(0, 2_000_000, 50_000):
                yield pa.record_batch({"n": np.arange(start, start + 50_000)})
        finally:
            closed.append(True)

    assert run("head -n 3", batches()) == [("0",), ("1",), ("2",)]
    assert closed == [True]  # the input stops being produced


def test_command_that_reads_nothing() -> None:
    big = rows_to_batch([(i,) for i in range(100_000)])
    assert run("echo done", [big, big]) == [("done",)]


def _running_members(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies do not count)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_consumer_stopping_early_kills_the_command() -> None:
    out = pipe_batches("echo $$; yes | cat", iter([]))
    first = next(out)
    pgid = int(first.column(0)[0].as_py())
    assert len(_running_members(pgid)) >= 2  # sh, yes, cat
    out.close()
    deadline = time.monotonic() + 10
    while _running_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _running_members(pgid) == []


def test_upstream_error_is_raised_and_kills_the_command() -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        yield rows_to_batch([("a",)])
        raise ValueError("upstream broke")

    with pytest.raises(ValueError, match="upstream broke"):
        run("cat; sleep 30", batches())


# ---------------------------------------------------------------------------------------------
# pipe: errors


def test_nonzero_exit_is_a_pipe_command_error() -> None:
    with pytest.raises(PipeCommandError) as info:
        run(
            "cat >/dev/null; echo 'something went wrong' >&2; exit 3",
            rows_to_batch([(1,)]),
            step="count",
            shard="2/4",
        )
    err = info.value
    assert "exited with code 3" in err.message
    assert "exit 3" in err.message  # the command
    assert err.step == "count" and err.shard == "2/4"
    assert "something went wrong" in err.detail
    text = str(err)
    assert "step 'count'" in text and "shard 2/4" in text and "something went wrong" in text
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is PipeCommandError and str(again) == text


def test_stderr_tail_is_bounded() -> None:
    with pytest.raises(PipeCommandError) as info:
        run("i=0; while [ $i -lt 3000 ]; do echo line$i >&2; i=$((i+1)); done; exit 1", [])
    detail = info.value.detail
    assert "line2999" in detail and "line0\n" not in detail
    assert len(detail) < STDERR_TAIL_BYTES + 100


def test_missing_command_is_not_found() -> None:
    with pytest.raises(PipeCommandError) as info:
        run("no-such-command-gleamnb --flag", rows_to_batch([(1,)]), step="pipe")
    err = info.value
    assert "not found" in err.message and "no-such-command-gleamnb" in err.message
    assert "PATH" in err.hint
    assert err.step == "pipe"


def test_killed_command_names_the_signal() -> None:
    with pytest.raises(PipeCommandError, match="SIGKILL"):
        run("kill -9 $$", [])


def test_ragged_output_is_a_schema_error() -> None:
    with pytest.raises(SchemaError) as info:
        run("printf 'a\\tb\\nc\\td\\ne\\n'", [], step="split", shard=1)
    err = info.value
    assert "line 1 has 2 field(s)" in err.message and "line 3 has 1" in err.message
    assert err.step == "split" and err.shard == 1
    assert err.row == ("e",)
    assert "same number of tab-separated fields" in err.hint


def test_ragged_output_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BATCH_LINES", 4)
    with pytest.raises(SchemaError, match=r"line 1 has 1 field.*line 7 has 2"):
        run("printf 'a\\nb\\nc\\nd\\ne\\nf\\ng\\th\\n'", [])


def test_exit_code_is_checked_before_the_last_output() -> None:
    with pytest.raises(PipeCommandError):
        run("printf 'a\\tb\\nc\\n'; exit 2", [])  # ragged too, but the exit code comes first


# ---------------------------------------------------------------------------------------------
# pipe_as_args


def test_pipe_as_args_echo() -> None:
    rows = rows_to_batch([("a", 1), ("b", 2)])
    assert run_args("echo $1-$2", rows) == [("a-1",), ("b-2",)]
    assert run_args("echo ${2}x${1}", rows) == [("1xa",), ("2xb",)]


def test_pipe_as_args_formats_numbers_like_pipe() -> None:
    rows = rows_to_batch([(1.0, None, True, 2**40)])
    got = run_args("printf '%s|%s|%s|%s\\n' $1 $2 $3 $4", rows)
    assert got == [("1.0||true|1099511627776",)]


def test_pipe_as_args_quotes_fields(tmp_path: Any) -> None:
    sentinel = tmp_path / "keep-me"
    sentinel.write_text("x")
    hostile = [
        f"x; rm -f {sentinel}",
        f"$(rm -f {sentinel})",
        f"`rm -f {sentinel}`",
        'it\'s "quoted"',
        "  spaced  out  ",
        "*",
        "-n",
    ]
    got = run_args("printf '%s\\n' $1", rows_to_batch([(h,) for h in hostile]))
    assert sentinel.exists()
    assert got == [(h,) for h in hostile]


def test_pipe_as_args_matches_running_the_command() -> None:
    rows = [("a b", 3), ("c'd", 4), ('e"$HOME', 5)]
    got = run_args("printf '%s\\t%s\\n' $2 $1; printf 'x\\ty\\n'", rows_to_batch(rows))
    expected = []
    for word, n in rows:
        quoted = "'" + word.replace("'", "'\"'\"'") + "'"  # quoted by hand, not with shlex
        expected += ref_run(f"printf '%s\\t%s\\n' {n} {quoted}; printf 'x\\ty\\n'", b"")
    assert got == expected
    assert got[0] == ("3", "a b") and got[4] == ("5", 'e"$HOME')


def test_pipe_as_args_many_fields_and_dollar_zero() -> None:
    row = tuple(f"f{i}" for i in range(1, 13))
    got = run_args("echo $12 $1 ${10} $0", rows_to_batch([row]))
    assert got[0][0].startswith("f12 f1 f10 ")


def test_pipe_as_args_keeps_order_with_workers(tmp_path: Path) -> None:
    # earlier rows sleep longer, so they finish last; each command also reports how many
    # commands had started by the time it ended, which shows that they overlapped
    rows = rows_to_batch([(i, (9 - i) * 0.05, str(tmp_path)) for i in range(10)])
    got = run_args("touch $3/started-$1; sleep $2; echo $1 $(ls $3 | wc -l)", rows, workers=4)
    assert [r[0].split()[0] for r in got] == [str(i) for i in range(10)]
    assert int(got[0][0].split()[1]) >= 4  # rows 1-3 started while row 0 slept


def test_pipe_as_args_sequential() -> None:
    rows = rows_to_batch([(i,) for i in range(5)])
    assert run_args("echo $1; echo x$1", rows, workers=1) == [
        (s,) for i in range(5) for s in (str(i), f"x{i}")
    ]


def test_pipe_as_args_error_names_the_row() -> None:
    rows = rows_to_batch([("ok", 0), ("bad", 5)])
    with pytest.raises(PipeCommandError) as info:
        run_args("echo $1 >&2; exit $2", rows, step="each")
    err = info.value
    assert err.row == ("bad", 5)
    assert "exited with code 5" in err.message and "echo bad" in err.message
    assert "bad" in err.detail and err.step == "each"


def test_pipe_as_args_not_found() -> None:
    with pytest.raises(PipeCommandError, match="not found"):
        run_args("no-such-command-gleamnb $1", rows_to_batch([("a",)]))


def test_pipe_as_args_ragged_output_names_the_row() -> None:
    rows = rows_to_batch([("a", 1), ("b", 2)])
    with pytest.raises(SchemaError) as info:
        run_args("if [ $2 = 2 ]; then printf 'x\\ty\\n'; else echo $1; fi", rows)
    assert info.value.row == ("b", 2)
    assert "row 2" in info.value.message


def test_pipe_as_args_missing_field() -> None:
    with pytest.raises(FieldError, match=r"\$3"):
        run_args("echo $3", rows_to_batch([("a", 1)]))


def test_pipe_as_args_output_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BATCH_LINES", 3)
    out = list(pipe_as_args("echo $1", iter([rows_to_batch([(i,) for i in range(7)])])))
    assert [b.num_rows for b in out] == [3, 3, 1]
    assert out[0].schema == pa.schema([("_1", pa.string())])


def test_pipe_as_args_stopping_early(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lines, "BATCH_LINES", 1)
    rows = rows_to_batch([(i, str(tmp_path)) for i in range(100)])
    out = pipe_as_args("echo $1; touch $2/ran-$1; sleep 0.2", iter([rows]), workers=2)
    assert batch_to_rows(next(out)) == [("0",)]
    out.close()
    time.sleep(0.5)  # anything still queued would have started by now
    assert len(list(tmp_path.iterdir())) < 10  # the other ~95 commands never ran


# ---------------------------------------------------------------------------------------------
# pipe: huge lines. The module constants that bound pieces, blocks, reads and batches are
# forced tiny, so that every boundary falls inside escapes, CRLFs and fields.


@contextmanager
def tiny(**sizes: int) -> Iterator[None]:
    """Set the size constants (``piece``, ``block``, ``read``, ``batch_bytes``, ``lines``)."""
    where = {
        "piece": (tsv, "PIECE_BYTES"),
        "block": (lines, "BLOCK_BYTES"),
        "read": (stream, "_READ_SIZE"),
        "batch_bytes": (stream, "_BATCH_BYTES"),
        "lines": (lines, "BATCH_LINES"),
    }
    saved = {key: getattr(*where[key]) for key in sizes}
    try:
        for key, value in sizes.items():
            setattr(*where[key], value)
        yield
    finally:
        for key, value in saved.items():
            setattr(*where[key], value)


OUTPUT_BYTES = st.lists(
    st.sampled_from(
        [b"\\", b"\t", b"\n", b"\r", b"t", b"n", b"r", b"x", b"\xc3\xa9", b"\xff", b"\xe2\x82"]
    ),
    max_size=60,
).map(b"".join)


def ref_parse(stdout: bytes) -> list[tuple[str, ...]] | tuple[int, tuple[str, ...]]:
    """The rows of ``stdout``, or (the first line of another arity, its fields as printed)."""
    found = ref_lines(stdout)
    for i, fields in enumerate(found):
        if len(fields) != len(found[0]):
            return i + 1, tuple(fields)
    return [tuple(ref_unescape(f) for f in fields) for fields in found]


def parsed(stdout: bytes | bytearray) -> list[tuple[str, ...]] | tuple[int, tuple[str, ...]]:
    try:
        batch = lines.LineParser(step=None, shard=None).parse(stdout, first_line=1, command="x")
    except SchemaError as err:
        return int(err.location.rsplit(" ", 1)[1]), err.row
    return [] if batch is None else batch_to_rows(batch)


@settings(max_examples=400, deadline=None)
@given(stdout=OUTPUT_BYTES, block=st.sampled_from([1, 2, 3, 5, 8, 1 << 20]))
@example(stdout=b"a\\\\\\tb\r\n\\\\\\\\t\r", block=2)
@example(stdout=b"x\\\r\n\\", block=1)
def test_parse_equals_reference(stdout: bytes, block: int) -> None:
    expected = ref_parse(stdout)
    with tiny(block=block):
        assert parsed(stdout) == expected
        assert parsed(bytearray(stdout)) == expected


@settings(max_examples=150, deadline=None)
@given(
    stdout=OUTPUT_BYTES,
    read=st.sampled_from([1, 2, 7]),
    batch_bytes=st.sampled_from([1, 4, 1 << 20]),
    batch_lines=st.sampled_from([1, 2, 3, 65536]),
)
def test_output_cut_anywhere_equals_reference(
    tmp_path_factory: pytest.TempPathFactory,
    stdout: bytes,
    read: int,
    batch_bytes: int,
    batch_lines: int,
) -> None:
    path = tmp_path_factory.mktemp("out") / "stdout"
    path.write_bytes(stdout)
    expected = ref_parse(stdout)
    with tiny(block=3, read=read, batch_bytes=batch_bytes, lines=batch_lines):
        try:
            sizes = [b.num_rows for b in pipe_batches(f"cat {path}", iter([]))]
            got = run(f"cat {path}", [])
        except SchemaError as err:
            assert expected == (int(err.location.rsplit(" ", 1)[1]), err.row)
        else:
            assert got == expected
            assert all(size <= batch_lines for size in sizes)


@settings(max_examples=150, deadline=None)
@given(rows=typed_rows(), piece=st.sampled_from([1, 2, 3, 8, 1 << 20]))
@example(rows=[("a\\\t\n\r" * 5, 1.5, None)], piece=3)
def test_tsv_pieces_equal_reference(rows: list[tuple[Any, ...]], piece: int) -> None:
    with tiny(piece=piece):
        pieces = list(tsv.tsv_pieces(rows_to_batch(rows)))
    assert b"".join(pieces) == ref_text(rows)
    assert all(len(p) <= 2 * piece for p in pieces)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet="\\\t\n\rtnrx é", max_size=30), st.text(alphabet="\\t\r", max_size=5)
        ),
        min_size=1,
        max_size=12,
    ),
    piece=st.sampled_from([1, 3, 1 << 20]),
    block=st.sampled_from([1, 2, 5, 1 << 20]),
    read=st.sampled_from([1, 3, 1 << 20]),
)
def test_strings_come_back_whole_with_tiny_buffers(
    rows: list[tuple[str, str]], piece: int, block: int, read: int
) -> None:
    with tiny(piece=piece, block=block, read=read, batch_bytes=4):
        assert run("cat", rows_to_batch(rows)) == rows


def test_typed_rows_through_cat_with_tiny_buffers() -> None:
    expected = [tuple(ref_unescape(ref_field(v)) for v in row) for row in MIXED_ROWS]
    with tiny(piece=2, block=3, read=5, batch_bytes=7, lines=3):
        assert run("cat", rows_to_batch(MIXED_ROWS)) == expected


def test_a_line_is_parsed_in_its_own_memory() -> None:
    # The fields of a line handed over as a bytearray are made in that memory, escapes
    # undone in place: the line is never copied.
    for line in (b"plain text" * 1000 + b"\r\n", b"id\tmore\\tand\\\\more\\n" * 500 + b"\n"):
        data = bytearray(line)
        batch = lines.LineParser(step=None, shard=None).parse(data, first_line=1, command="x")
        address = pa.py_buffer(data).address
        for column in batch.columns:
            assert address <= column.buffers()[2].address < address + len(data)
        assert batch_to_rows(batch) == ref_parse(bytes(line))


def test_a_long_value_is_written_from_its_own_memory() -> None:
    text = "no escapes here " * 10_000
    batch = pa.record_batch({"a": [text]})
    address = batch.column(0).buffers()[2].address
    with tiny(piece=4096):
        pieces = list(tsv.tsv_pieces(batch))
    assert b"".join(pieces) == text.encode() + b"\n"
    assert all(len(p) <= 4096 for p in pieces)
    assert all(address <= p.address < address + len(text) for p in pieces[:-1])


def test_a_huge_line_is_in_memory_once() -> None:
    # Memory that Python and numpy allocate while a 32 MiB line with tabs (escaped, then
    # unescaped) goes through cat: the line read back, plus pieces and blocks.
    line = ("word\tand, more - words " * ((32 << 20) // 22 + 1))[: 32 << 20]
    batch = pa.record_batch({"a": [line]})
    tracemalloc.start()
    try:
        (out,) = list(pipe_batches("cat", iter([batch])))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.column(0)[0].as_py() == line
    assert peak < 1.5 * len(line)


def test_a_column_past_2_gib_is_large_string(monkeypatch: pytest.MonkeyPatch) -> None:
    # Columns are ``string`` unless one holds more than 2 GiB (here: more than 5 bytes).
    monkeypatch.setattr(lines, "_INT32_MAX", 5)
    parser = lines.LineParser(step=None, shard=None)
    wide = parser.parse(bytearray(b"abcdefgh\n"), first_line=1, command="x")
    assert wide.schema == pa.schema([("_1", pa.large_string())])
    assert batch_to_rows(wide) == [("abcdefgh",)]
    narrow = parser.parse(b"abc\n", first_line=2, command="x")
    assert narrow.schema == pa.schema([("_1", pa.string())])


# ---------------------------------------------------------------------------------------------


def test_doctests() -> None:
    for module in (pipe_package, tsv, lines, process, stream, args):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_reference_helpers_agree_with_a_shell() -> None:
    # Guards the references themselves.
    text = ref_text([("a\tb", 1.5, None)])
    assert text == b"a\\tb\t1.5\t\n"
    assert ref_run("cat", text) == [("a\tb", "1.5", "")]
    assert ref_unescape("a\\\\tb\\q\\") == "a\\tb\\q\\"
    assert math.isnan(float(ref_field(float("nan"))))


def test_pipe_as_args_nul_byte_names_the_row() -> None:
    with pytest.raises(PipeCommandError, match="could not start") as info:
        run_args("echo $1", rows_to_batch([("a\0b",)]))
    assert info.value.row == ("a\0b",)
