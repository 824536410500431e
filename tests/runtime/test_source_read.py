"""read_split: the entry point a stage task calls.

References are independent of the code under test.
"""

from __future__ import annotations

from pathlib import Path

from source_helpers import write

from gleamnb.files import FileSpec
from gleamnb.rows import batch_to_rows
from gleamnb.runtime.sources import read_split
from gleamnb.scan import Split


def test_split_without_meta_reads(tmp_path: Path) -> None:
    p = write(tmp_path / "a.csv", "a,b\n1,2\n3,4\n")
    spec = FileSpec("csv", p, header=True)
    rows = [r for b in read_split(spec, Split(p, 0, None)) for r in batch_to_rows(b)]
    assert rows == [(1, 2), (3, 4)]
