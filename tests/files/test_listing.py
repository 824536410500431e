"""Input listing: files, folders, globs, markers and missing paths.

References are independent of the code under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from source_helpers import read_rows, write

from gleamnb.errors import InputNotFoundError
from gleamnb.files import FileSpec, list_files


def test_globs_folders_and_markers(tmp_path: Path) -> None:
    for rel in [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
        "a/_SUCCESS",
        "a/.hidden",
        "a/_tmp/4.txt",
        "a/x.csv",
    ]:
        write(tmp_path / rel, rel + "\n")
    names = lambda spec: [os.path.relpath(f.path, tmp_path) for f in list_files(spec)]  # noqa: E731
    assert names(FileSpec("txt", str(tmp_path / "a" / "*.txt"))) == ["a/1.txt", "a/2.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "?.txt"))) == ["a/1.txt", "a/2.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "**" / "*.txt"))) == [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
    ]
    assert names(FileSpec("txt", str(tmp_path / "a"))) == [
        "a/1.txt",
        "a/2.txt",
        "a/sub/3.txt",
        "a/x.csv",
    ]
    # a pattern that starts with '_' asks for such names; a matched folder is read whole
    assert names(FileSpec("txt", str(tmp_path / "a" / "_*"))) == ["a/_SUCCESS", "a/_tmp/4.txt"]
    assert names(FileSpec("txt", str(tmp_path / "a" / "s*"))) == ["a/sub/3.txt"]
    two = FileSpec("txt", (str(tmp_path / "a" / "x.csv"), str(tmp_path / "a" / "*.txt")))
    assert names(two) == ["a/x.csv", "a/1.txt", "a/2.txt"]
    info = list_files(FileSpec("txt", str(tmp_path / "a" / "1.txt")))[0]
    st_ = os.stat(tmp_path / "a" / "1.txt")
    assert (info.size, info.mtime_ns) == (st_.st_size, st_.st_mtime_ns)
    assert os.path.isabs(info.path)


def test_relative_path_and_pathlike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "r.txt", "x\n")
    monkeypatch.chdir(tmp_path)
    assert read_rows(FileSpec("txt", "r.txt")) == [("x",)]
    assert read_rows(FileSpec("txt", tmp_path / "r.txt")) == [("x",)]


def test_missing_file_names_the_path_and_cwd(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(InputNotFoundError) as err:
        list_files(FileSpec("txt", missing))
    text = str(err.value)
    assert missing in text and os.getcwd() in text and "check the path" in text
    assert isinstance(err.value, FileNotFoundError)


def test_empty_glob_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "_SUCCESS", "")
    with pytest.raises(InputNotFoundError, match=r"no input file matches .*\*\.csv"):
        list_files(FileSpec("csv", str(tmp_path / "*.csv")))
    with pytest.raises(InputNotFoundError, match="holds no input file"):
        list_files(FileSpec("csv", str(tmp_path / "empty")))
