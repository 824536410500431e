"""The data plane: runs one stage task over Arrow batches, in an executor process or inline.

Nothing here knows how shards arrive (files, Dask) or who watches (widgets, terminals).
"""

from __future__ import annotations

__all__ = ["THREADS_ENV"]

#: Set by the runner that starts an executor: how many threads Arrow may use in it.
THREADS_ENV = "GLEAMNB_EXECUTOR_THREADS"
