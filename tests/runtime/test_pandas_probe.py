"""Executors start without pandas, and pyarrow treats pandas exactly as usual once it is there.

An executor lets pyarrow make its one-time check for pandas while pandas is hidden
(:mod:`gleamnb.runtime.pandas_probe`); these run real executor processes and compare what a
function sees there with what pyarrow does in this process, where pandas was imported first.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator

import cloudpickle
import pandas as pd
import pyarrow as pa
import pytest

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

# the functions travel by value: by name, the executor would import this module, and pandas
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def fresh() -> Iterator[LocalRunner]:
    """A runner of its own (new executor processes, nothing imported by earlier tests)."""
    runner = gl.local(executors=1, memory_limit="123MB")
    yield runner
    runner.close()


def _pandas_loaded(x: int) -> tuple[int, bool]:
    return x, "pandas" in sys.modules


def _series_nulls(x: int) -> tuple[int, int, str]:
    import pandas as pd  # first import in this executor: pyarrow must see it

    floats = pa.array(pd.Series([1.0, math.nan, float(x)]))
    strings = pa.array(pd.Series(["a", None], dtype=object))
    cats = pa.array(pd.Series(["u", "v", "u"], dtype="category"))
    return floats.null_count, strings.null_count, str(cats.type)


def test_executor_starts_without_pandas(flow: gl.Flow, fresh: LocalRunner) -> None:
    rows = flow.ints([1, 2]).map(_pandas_loaded).collect(fresh)
    assert sorted(rows) == [(1, False), (2, False)]


def test_pyarrow_recognises_pandas_imported_by_a_function(
    flow: gl.Flow, fresh: LocalRunner
) -> None:
    flow.ints([0]).map(_pandas_loaded).collect(fresh)  # the executor is up, pandas not loaded
    got = flow.ints([5]).map(_series_nulls).collect(fresh)
    # the reference: pyarrow in this process, which imported pandas before pyarrow looked
    expected = (
        pa.array(pd.Series([1.0, math.nan, 5.0])).null_count,
        pa.array(pd.Series(["a", None], dtype=object)).null_count,
        str(pa.array(pd.Series(["u", "v", "u"], dtype="category")).type),
    )
    assert expected[:2] == (1, 1) and expected[2].startswith("dictionary<")
    assert got == [expected]


def test_map_batches_pandas_in_a_fresh_executor(flow: gl.Flow, fresh: LocalRunner) -> None:
    def halve(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(v=df["v"] / 2)

    table = pa.table({"k": ["a", "b", "c"], "v": [2.0, None, 6.0]})
    got = flow.from_arrow(table).map_batches(halve, format="pandas").collect(fresh)
    assert got == [("a", 1.0), ("b", None), ("c", 3.0)]


def test_probe_leaves_an_unhidden_pandas_importable() -> None:
    code = (
        "import sys; from gleamnb.runtime.pandas_probe import defer_pandas; defer_pandas(); "
        "import pyarrow as pa, pyarrow.dataset; assert 'pandas' not in sys.modules; "
        "import pandas as pd; "
        "t = pa.Table.from_pandas(pd.DataFrame({'x': [1.0, float('nan')]})); "
        "print(t.column('x').null_count, t.to_pandas().shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "(2,", "1)"]
