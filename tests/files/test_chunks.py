"""Byte ranges read in whole lines tile a file: no line lost or read twice.

References are independent of the code under test.
"""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from source_helpers import read_shards, ref_lines, write

from gleamnb.files import FileSpec
from gleamnb.files import chunks as chunks_mod

lines_strategy = st.lists(
    st.text(alphabet=st.sampled_from(["a", "b", " ", "\r", "é", "字", "x"]), max_size=12),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    lines=lines_strategy,
    endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=40, max_size=40),
    trailing=st.booleans(),
    shards=st.integers(1, 7),
    chunk=st.integers(1, 64),
)
@example(lines=["", "", ""], endings=["\n"] * 40, trailing=True, shards=7, chunk=1)
@example(lines=["abc"], endings=["\r\n"] * 40, trailing=False, shards=5, chunk=2)
def test_byte_ranges_tile_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    endings: list[str],
    trailing: bool,
    shards: int,
    chunk: int,
) -> None:
    text = "".join(line + endings[i] for i, line in enumerate(lines))
    if lines and not trailing:
        text = text[: -len(endings[len(lines) - 1])]
    data = text.encode("utf-8")
    p = write(tmp_path_factory.mktemp("prop") / "f.txt", data)
    spec = FileSpec("txt", p)
    with mock.patch.object(chunks_mod, "CHUNK_BYTES", chunk):
        got = read_shards(spec, shards)
    assert len(got) == shards
    assert [r[0] for shard in got for r in shard] == ref_lines(data)


@pytest.mark.parametrize("end", [None, 6, 40])
def test_a_long_line_is_a_chunk_of_its_own(tmp_path_factory: pytest.TempPathFactory, end) -> None:
    """A line longer than two reads comes alone, as the read buffer itself (no copy), also
    when it is a range's last line and shorter lines come before it in the same reads."""
    long = b"x" * 100
    data = b"a\nbb\n" + long + b"\nc\nd\n" + long + b"\r\ne"
    p = write(tmp_path_factory.mktemp("long") / "f.txt", data)
    got = list(chunks_mod.iter_chunks(p, 0, end, chunk_bytes=8))
    last = len(data) if end is None else data.index(b"\n", end - 1) + 1
    assert b"".join(c for _, c in got) == data[:last]
    assert [off for off, _ in got] == [sum(len(c) for _, c in got[:i]) for i in range(len(got))]
    assert (0, b"a\nbb\n") in got
    assert (5, long + b"\n") in got
    for _, chunk in got:
        if len(chunk) > 2 * 8:
            assert type(chunk) is bytearray
            assert chunk.count(b"\n") == 1
