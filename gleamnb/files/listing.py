"""Expand a source's paths into a sorted list of input files.

A path is a file, a folder (every regular file below it, recursively) or a glob (``*``, ``?``,
``[...]`` and ``**`` for any depth). Names starting with ``.`` or ``_`` (hidden files, markers
such as ``_SUCCESS``, in-progress files) are skipped inside folders and globs. Each path
expands in sorted order; several paths keep the order they were given in, without duplicates.

Examples
--------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for name in ["b.txt", "a.txt", "_SUCCESS", ".hidden"]:
...     _ = (d / name).write_text("x\\n")
>>> [pathlib.Path(f.path).name for f in list_files(FileSpec("txt", str(d)))]
['a.txt', 'b.txt']
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass

from gleamnb.errors import InputNotFoundError
from gleamnb.files.spec import FileSpec

__all__ = ["FileInfo", "list_files", "is_skipped_name"]

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class FileInfo:
    """One input file: absolute path, size in bytes and modification time (ns)."""

    path: str
    size: int
    mtime_ns: int


def is_skipped_name(name: str) -> bool:
    """True for names a folder or glob listing skips (``.hidden``, ``_SUCCESS``).

    >>> is_skipped_name("_SUCCESS"), is_skipped_name("part-00000.csv")
    (True, False)
    """
    return name.startswith((".", "_"))


def list_files(spec: FileSpec) -> list[FileInfo]:
    """The input files of ``spec``, in a deterministic order.

    Raises
    ------
    InputNotFoundError
        A path does not exist, or a folder or glob holds no input file.

    Examples
    --------
    >>> list_files(FileSpec("txt", "/no/such/file.txt"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gleamnb.errors.InputNotFoundError: input not found: /no/such/file.txt
      where: /no/such/file.txt
      fix: check the path ...
    """
    seen: set[str] = set()
    out: list[FileInfo] = []
    for raw in spec.paths:
        for path in _expand(raw):
            if path in seen:
                continue
            seen.add(path)
            st = os.stat(path)
            out.append(FileInfo(path, st.st_size, st.st_mtime_ns))
    return out


def _hint() -> str:
    return (
        f"check the path (relative paths start at the current directory {os.getcwd()}); "
        "names starting with '.' or '_' are skipped in folders and globs"
    )


def _expand(raw: str) -> list[str]:
    path = os.path.expanduser(raw)
    if _GLOB_CHARS & set(path):
        return _expand_glob(raw, path)
    if os.path.isdir(path):
        files = sorted(_walk(path))
        if not files:
            raise InputNotFoundError(
                f"folder {raw} holds no input file", location=raw, hint=_hint()
            )
        return files
    if os.path.isfile(path):
        return [os.path.abspath(path)]
    if os.path.exists(path):
        raise InputNotFoundError(
            f"input {raw} is not a regular file or folder",
            location=raw,
            hint="read regular files, or a folder of them",
        )
    raise InputNotFoundError(f"input not found: {raw}", location=raw, hint=_hint())


def _expand_glob(raw: str, pattern: str) -> list[str]:
    parts = pattern.split(os.sep)
    first = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    root = os.sep.join(parts[:first]) or ("." if not pattern.startswith(os.sep) else os.sep)
    # A pattern part that itself starts with '.' or '_' asks for such names.
    allowed = {part[0] for part in parts[first:] if part.startswith((".", "_"))}
    files: list[str] = []
    for match in glob.glob(pattern, recursive=True):
        rel = os.path.relpath(match, root).split(os.sep)
        if any(is_skipped_name(part) and part[0] not in allowed for part in rel):
            continue
        if os.path.isfile(match):
            files.append(os.path.abspath(match))
        elif os.path.isdir(match):
            files.extend(_walk(match))
    files = sorted(set(files))
    if not files:
        raise InputNotFoundError(f"no input file matches {raw!r}", location=raw, hint=_hint())
    return files


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_skipped_name(d)]
        for name in names:
            full = os.path.join(root, name)
            if not is_skipped_name(name) and os.path.isfile(full):
                yield os.path.abspath(full)
