"""The data plane: runs one stage task over Arrow batches, in an executor process or inline.

Nothing here knows how shards arrive (files, Dask) or who watches (widgets, terminals).
"""

from __future__ import annotations
