"""A memory-mapped byte range gives the same whole lines as the copying reader, and the byte
ranges of a file tile it: no line lost or read twice, a byte-order mark dropped at the start.

The reference is plain Python on the file's bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gleamnb.files.chunks import BOM, iter_chunks
from gleamnb.files.mapped import MappedFile


def _ranges(size: int, cuts: list[int]) -> list[tuple[int, int | None]]:
    points = sorted({c % (size + 1) for c in cuts} - {0})
    starts = [0, *points]
    ends: list[int | None] = [*points, None]
    return list(zip(starts, ends))


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["", "a", "bb", "a,b", "é字", "x" * 40, "\r"]), max_size=30),
    bom=st.booleans(),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    chunk=st.integers(1, 50),
)
@example(lines=["", "", ""], bom=False, trailing=True, cuts=[1, 2], chunk=1)
@example(lines=["abc"], bom=True, trailing=False, cuts=[1, 2, 3, 4], chunk=1)
def test_mapped_ranges_read_the_same_lines_as_the_copying_reader(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    bom: bool,
    trailing: bool,
    cuts: list[int],
    chunk: int,
) -> None:
    text = "\n".join(lines) + ("\n" if trailing and lines else "")
    data = (BOM if bom else b"") + text.encode()
    path = tmp_path_factory.mktemp("mapped") / "f.txt"
    path.write_bytes(data)
    got = []
    with MappedFile(str(path)) as mapped:
        for start, end in _ranges(len(data), cuts):
            pieces = list(mapped.chunks(start, end, chunk_bytes=chunk))
            chunks = [(o, mapped.buffer(o, e).to_pybytes()) for o, e in pieces]
            for offset, piece in chunks:
                assert data[offset : offset + len(piece)] == piece
                assert piece.endswith(b"\n") or offset + len(piece) == len(data)
            copied = list(iter_chunks(str(path), start, end, chunk_bytes=chunk))
            assert b"".join(p for _, p in chunks) == b"".join(p for _, p in copied)
            got.extend(p for _, p in chunks)
    assert b"".join(got) == (data[len(BOM) :] if bom else data)


def test_an_empty_file_has_no_chunks(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with MappedFile(str(path)) as mapped:
        assert list(mapped.chunks(0, None)) == []
        assert mapped.find(b"\n", 0, 0) == -1
        assert mapped.buffer(0, 0).size == 0


def test_buffers_outlive_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\ntwo\n")
    with MappedFile(str(path)) as mapped:
        buffer = mapped.buffer(4, 8)
    assert buffer.to_pybytes() == b"two\n"
