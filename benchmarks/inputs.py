"""What each workload reads, and which engine function runs it.

This module imports only the standard library and the harness's light modules:
``python -m benchmarks.whole`` imports it, and a whole-process time must not count imports
the engine itself does not make (pyarrow and numpy, for Polars or DuckDB).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.config import Size
from benchmarks.engines import Inputs

__all__ = ["WORDCOUNT_64MB_FILES", "function_name", "inputs_for", "load_manifest"]

#: The 64 MB word count reads this many of the corpus's 32 MB files (the first ones).
WORDCOUNT_64MB_FILES = 2

#: Workloads that run another workload's engine function on other inputs.
_FUNCTIONS = {"wordcount_64mb": "wordcount_builtin"}


def function_name(workload: str) -> str:
    """The engine module's function that runs ``workload``.

    >>> function_name("wordcount_64mb"), function_name("sort")
    ('wordcount_builtin', 'sort')
    """
    return _FUNCTIONS.get(workload, workload)


def load_manifest(size: Size) -> dict[str, Any]:
    """Read a size's manifest.

    Parameters
    ----------
    size
        The data set size.

    Returns
    -------
    dict
        The manifest (see :mod:`benchmarks.generate`).
    """
    return json.loads((size.data_dir / "manifest.json").read_text())


def inputs_for(size: Size, scratch: Path, workload: str = "", workers: int = 2) -> Inputs:
    """Input paths of a generated size, as ``workload`` reads them.

    ``wordcount_64mb`` reads the first :data:`WORDCOUNT_64MB_FILES` corpus files, linked into
    a folder of their own under ``scratch`` so that a glob and a file list name the same files.

    Parameters
    ----------
    size
        The data size.
    scratch
        Folder for the engine's temporary files.
    workload
        The workload (only ``wordcount_64mb`` changes the inputs).
    workers
        Parallelism given to every engine.

    Returns
    -------
    Inputs
        Absolute paths.
    """
    manifest = load_manifest(size)
    parts = manifest["parts"]
    root = size.data_dir
    wc = parts.get("wordcount", {})
    text_glob = str(root / wc.get("glob", "wordcount/part-*.txt"))
    text_files = [str(root / f["path"]) for f in wc.get("files", [])]
    if workload == "wordcount_64mb":
        folder = scratch / "wordcount_64mb"
        folder.mkdir(parents=True, exist_ok=True)
        linked = []
        for name in text_files[:WORDCOUNT_64MB_FILES]:
            link = folder / Path(name).name
            target = Path(name).resolve()  # the data folder may be a checkout's link to another
            if link.is_symlink() and link.resolve() != target:
                link.unlink()  # left by a checkout whose path is gone or another's
            if not link.exists():
                link.symlink_to(target)
            linked.append(str(link))
        text_files, text_glob = linked, str(folder / "*.txt")
    return Inputs(
        text_glob=text_glob,
        text_files=text_files,
        join_a=str(root / "join" / "a"),
        join_b=str(root / "join" / "b"),
        join_csv_a=str(root / "join_csv" / "a"),
        join_csv_b=str(root / "join_csv" / "b"),
        sort_input=str(root / "sort" / "input.txt"),
        workers=workers,
        scratch=str(scratch),
    )
