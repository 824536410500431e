"""The files of a save: its formats, its part files' names, the output folder.

The api checks a save's format when the step is built, the runner prepares the folder and
lists the parts a run wrote, and each task's writer names its part: one rule for all three.
The writers themselves live in :mod:`gleamnb.runtime.save`.
"""

from __future__ import annotations

import glob
import os
import tempfile

from gleamnb.errors import ArgumentError, OutputError

__all__ = [
    "SAVE_FORMATS",
    "check_format",
    "check_header",
    "part_name",
    "in_progress_name",
    "part_files",
    "prepare_output",
]

SAVE_FORMATS = ("parquet", "csv", "tsv", "txt", "jsonl")


def check_format(format: str) -> str:
    """Validate a save format.

    >>> check_format("xml")
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: unknown save format 'xml'
      fix: use one of parquet, csv, tsv, txt, jsonl
    """
    if format not in SAVE_FORMATS:
        raise ArgumentError(
            f"unknown save format {format!r}", hint=f"use one of {', '.join(SAVE_FORMATS)}"
        )
    return format


def check_header(format: str, header: object) -> bool:
    """Validate a save's ``header=``: a bool, and ``False`` only for csv and tsv.

    >>> check_header("tsv", False)
    False
    >>> check_header("jsonl", False)
    Traceback (most recent call last):
    ...
    gleamnb.errors.ArgumentError: a jsonl save has no header line to leave out
      fix: header= is for csv and tsv saves; drop it
    """
    if not isinstance(header, bool):
        raise ArgumentError(
            f"header must be True or False, got {header!r}",
            hint="header=False writes no line of field names (csv and tsv)",
        )
    if not header and format not in ("csv", "tsv"):
        raise ArgumentError(
            f"a {format} save has no header line to leave out",
            hint="header= is for csv and tsv saves; drop it",
        )
    return header


def part_name(shard: int, format: str) -> str:
    """The file name of one shard's part.

    >>> part_name(3, "parquet")
    'part-00003.parquet'
    """
    return f"part-{shard:05d}.{format}"


def in_progress_name(shard: int, format: str) -> str:
    """The hidden name a part is written under until it is complete.

    >>> in_progress_name(3, "csv")
    '.part-00003.csv.inprogress'
    """
    return "." + part_name(shard, format) + ".inprogress"


def part_files(path: str | os.PathLike[str], format: str, shards: int) -> set[str]:
    """The part files (finished or in progress) of shards ``0 .. shards-1`` that exist now.

    A runner takes this before and after a run of a save, to remove what a failed run wrote
    and nothing else.

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> for name in ("part-00001.csv", ".part-00002.csv.inprogress", "part-00009.csv", "x.csv"):
    ...     _ = open(os.path.join(out, name), "w").write("a\\n")
    >>> sorted(os.path.basename(p) for p in part_files(out, "csv", 3))
    ['.part-00002.csv.inprogress', 'part-00001.csv']
    """
    folder = os.fspath(path)
    found = set()
    for shard in range(shards):
        for name in (part_name(shard, format), in_progress_name(shard, format)):
            candidate = os.path.join(folder, name)
            if os.path.lexists(candidate):
                found.add(candidate)
    return found


def prepare_output(path: str | os.PathLike[str], format: str) -> None:
    """Make ``path`` an empty-of-parts, writable output folder (by the runner, before tasks write).

    Raises
    ------
    OutputError
        The folder cannot be created (e.g. a parent is a regular file) or written.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "file")
    >>> _ = open(f, "w").write("x")
    >>> prepare_output(os.path.join(f, "out"), "csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gleamnb.errors.OutputError: cannot create the output folder .../file/out: ...
    """
    check_format(format)
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(
            f"cannot save to {path}: it exists and is not a folder",
            location=path,
            hint="save writes a folder of part files; remove the file or choose another path",
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create the output folder {path}: {err.strerror or err}",
            location=path,
            hint="check that every parent of the path is a folder you can write to, "
            "or choose another path",
        ) from None
    try:
        escaped = glob.escape(path)
        for old in glob.glob(os.path.join(escaped, "part-*")) + glob.glob(
            os.path.join(escaped, ".part-*")
        ):
            if os.path.isfile(old) or os.path.islink(old):
                os.remove(old)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".gleamnb-write-test-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as err:
        raise OutputError(
            f"cannot write to the output folder {path}: {err.strerror or err}",
            location=path,
            hint="choose a folder you can write to (check its permissions and free space)",
        ) from None
