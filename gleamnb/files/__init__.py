"""Files: what a file source names, which files it reads, their bytes; what a save writes.

Nothing here knows fields or rows, so every layer may use it: the plan fingerprints the
listing, the api checks a source's files and shard count (and a save's format) when it is
built, and the tasks read byte ranges and name their part files through the same helpers.

- :mod:`~gleamnb.files.spec`: :class:`FileSpec`, the frozen description of a file source;
- :mod:`~gleamnb.files.listing`: :func:`list_files`, paths, folders and globs to input files;
- :mod:`~gleamnb.files.shards`: :func:`default_shards`, a source's shard count;
- :mod:`~gleamnb.files.compression`: decompression by extension;
- :mod:`~gleamnb.files.chunks`: byte ranges read in whole lines (a file's byte-order mark
  dropped);
- :mod:`~gleamnb.files.utf8`: :func:`checked_utf8`, the UTF-8 check of raw bytes;
- :mod:`~gleamnb.files.saves`: a save's formats, its part files' names, the output folder.
- :mod:`~gleamnb.files.space`: :func:`disk_full`, a full disk as an error naming the bytes.

Examples
--------
>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "words.txt")
>>> _ = open(p, "w").write("a\\nb\\n")
>>> spec = FileSpec("txt", p)
>>> files = list_files(spec)
>>> [os.path.basename(f.path) for f in files], default_shards(spec, files)
(['words.txt'], 1)
"""

from __future__ import annotations

from gleamnb.files.listing import FileInfo, list_files
from gleamnb.files.shards import default_shards
from gleamnb.files.spec import FORMATS, FileSpec

__all__ = ["FORMATS", "FileSpec", "FileInfo", "list_files", "default_shards"]
