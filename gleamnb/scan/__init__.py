"""What a file source's files hold, learned on the driver before a run reads them.

A source's field names and types come from its files' starts (:mod:`~gleamnb.scan.meta`;
parquet and ORC footers: :mod:`~gleamnb.scan.columnar`), narrowed by ``columns=`` and
``types=`` (:mod:`~gleamnb.scan.projection`). Build-time checks use the names
(:func:`names_at_build`); the planner cuts the files into exactly one list of :class:`Split`
per shard (:func:`plan_splits`), each split carrying its file's facts so that every byte range
reads the same columns with the same types. The tasks read the splits with
:mod:`gleamnb.runtime.sources`.

Examples
--------
>>> import os, tempfile
>>> from gleamnb.files import FileSpec, list_files
>>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(p, "w").write("name,age\\nann,31\\nbob,42\\n")
>>> spec = FileSpec("csv", p, header=True, shards=2)
>>> names_at_build(spec, list_files(spec))
('name', 'age')
>>> [[s.meta.names for s in shard] for shard in plan_splits(spec, list_files(spec), 2)]
[[('name', 'age')], [('name', 'age')]]
"""

from __future__ import annotations

from gleamnb.scan.meta import FileMeta
from gleamnb.scan.names import names_at_build
from gleamnb.scan.splits import Split, plan_splits

__all__ = ["FileMeta", "Split", "names_at_build", "plan_splits"]
