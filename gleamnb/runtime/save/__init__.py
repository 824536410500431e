"""Writers for the ``save(path, format=...)`` sink: a folder with one part file per shard.

``save("out", format="csv")`` writes ``out/part-00000.csv``, ``out/part-00001.csv``, ... so
``gl.csv("out", header=True)`` (or any tool that reads a folder) reads it back.
:func:`~gleamnb.files.saves.prepare_output` runs once per run, by the runner where the tasks
write (the local runner: on this machine, once the run has started): it creates the folder,
removes the part files of an earlier save there, and proves the folder is writable. Each task
then writes its shard with a :class:`ShardWriter`. A part file is written under a hidden name
and renamed when complete, so a failed or cancelled run never leaves a half-written part that
a reader would take for data; the runner then removes the parts its finished tasks wrote too
(see :func:`~gleamnb.files.saves.part_files`). The formats and the part files' names are
:mod:`gleamnb.files.saves`, shared with the api (which checks the format) and the runner.

Formats: ``parquet`` (types kept), ``csv`` (header, quoting where needed), ``tsv`` (header, no
quoting: a value holding a tab or newline is an error; csv and tsv write no header line with
``save(..., header=False)``), ``txt`` (fields joined by tabs, no
header) and ``jsonl`` (one object per row keyed by field name). In text formats a field is
written as ``str(value)``, None as an empty field (null in jsonl), and a Python-object
(``gleamnb.pyobject``) field as its ``repr`` (an int beyond 64 bits is a JSON number in jsonl:
csv, tsv and jsonl read such ints back exact); parquet stores Python-object fields as ``str``.

=============  ===============================================================================
``writer``     :class:`ShardWriter`, the base of every format's writer: the part file under
               its in-progress name, the check that a field keeps one type, finishing, clean-up
``parquet``    parquet parts: row groups, the dictionary choice
``text``       the base of the text formats: one file of encoded lines, an optional header
``delimited``  csv, tsv and txt parts: fields rendered as text, joined by a separator
``jsonl``      jsonl parts: one JSON object per row
=============  ===============================================================================

Examples
--------
>>> import os, tempfile
>>> import pyarrow as pa
>>> from gleamnb.files.saves import prepare_output
>>> out = os.path.join(tempfile.mkdtemp(), "out")
>>> prepare_output(out, "csv")
>>> w = ShardWriter(out, "csv", 0)
>>> w.write(pa.record_batch({"word": ["a", "b,c"], "n": [1, 2]}))
>>> w.close()["rows"]
2
>>> print(open(os.path.join(out, "part-00000.csv")).read(), end="")
word,n
a,1
"b,c",2
"""

from __future__ import annotations

from gleamnb.runtime.save.delimited import CsvShardWriter, TsvShardWriter, TxtShardWriter
from gleamnb.runtime.save.jsonl import JsonlShardWriter
from gleamnb.runtime.save.parquet import ParquetShardWriter
from gleamnb.runtime.save.writer import ShardWriter

__all__ = [
    "ShardWriter",
    "ParquetShardWriter",
    "CsvShardWriter",
    "TsvShardWriter",
    "TxtShardWriter",
    "JsonlShardWriter",
]
