"""The doctests of every file-source module: gleamnb.files, gleamnb.scan and
gleamnb.runtime.sources.

References are independent of the code under test.
"""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "gleamnb.runtime.sources",
        "gleamnb.files.spec",
        "gleamnb.files.listing",
        "gleamnb.files.compression",
        "gleamnb.files.chunks",
        "gleamnb.runtime.sources.text",
        "gleamnb.scan.meta",
        "gleamnb.scan.projection",
        "gleamnb.runtime.sources.csvfile",
        "gleamnb.runtime.sources.jsonfile",
        "gleamnb.runtime.sources.columnar",
        "gleamnb.scan.splits",
        "gleamnb.scan.names",
        "gleamnb.scan.columnar",
        "gleamnb.files",
        "gleamnb.files.shards",
        "gleamnb.files.utf8",
        "gleamnb.scan",
        "gleamnb.runtime.sources.read",
    ],
)
def test_doctests(module: str) -> None:
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
