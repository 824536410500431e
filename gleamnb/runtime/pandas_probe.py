"""Keep pyarrow from importing pandas until something in the process imports it.

pyarrow asks once whether pandas is installed, the first time it converts a Python value
(``pa.array([0])``) or when ``pyarrow.dataset`` is imported, and answers by importing it:
0.15-0.3 s and ~46 MB in every executor, which a flow of Arrow batches and Python rows never
uses. :func:`defer_pandas` lets pyarrow make that check while pandas cannot be imported, so
pyarrow notes "no pandas", and then watches for pandas being imported for real (by a user's
function, by unpickling a DataFrame, by ``map_batches(format="pandas")``): right after it
is, pyarrow is told to look again, so from then on it recognises pandas objects exactly as
it would have (a ``Series`` with NaN converts to nulls, not NaN).

Examples
--------
>>> import subprocess, sys
>>> code = (
...     "import sys; from gleamnb.runtime.pandas_probe import defer_pandas; defer_pandas(); "
...     "import pyarrow as pa; pa.array([0]); print('pandas' in sys.modules); "
...     "import pandas as pd; print(pa.array(pd.Series([1.0, float('nan')])).null_count)"
... )
>>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
['False', '1']
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["defer_pandas"]


# (finders and loaders by protocol, not importlib.abc's classes: the driver imports this module
# too, and importlib.abc costs it 6 ms)


class _Hidden:
    """While installed, ``import pandas`` fails as if pandas were not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas is hidden while pyarrow starts", name=name)
        return None


class _Watch:
    """Finds nothing itself; when pandas is first imported, tells pyarrow once it is loaded."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "pandas":
            return None
        import importlib.util

        sys.meta_path.remove(self)  # once, and so that the lookup below skips this finder
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _ThenTellPyarrow(spec.loader)
        return spec


class _ThenTellPyarrow:
    """Loads pandas with the real loader, then has pyarrow import it again (now it is there)."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        # pandas is in sys.modules and whole: pyarrow's shim imports it (and its own
        # pandas_compat) and from now on answers "pandas is here"
        import pyarrow as pa

        pa.lib._pandas_api.pd  # noqa: B018 - the property makes pyarrow look again

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.loader, name)


def defer_pandas() -> None:
    """Have pyarrow (and ``pyarrow.dataset``) start without importing pandas.

    Does nothing when pandas is already imported, or when pyarrow has already looked.
    """
    if "pandas" in sys.modules or "pyarrow.dataset" in sys.modules:
        return
    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        import pyarrow as pa

        if pa.lib._pandas_api.have_pandas:  # it looked before, and found pandas
            return
        import pyarrow.dataset  # noqa: F401 - it probes for pandas when first imported
    finally:
        sys.meta_path.remove(hidden)
    sys.meta_path.insert(0, _Watch())
