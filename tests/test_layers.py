"""Every top-level part of ``gleamnb`` is placed: in the layers contract and in the design map.

The layers contract in ``pyproject.toml`` checks only the modules it names, so a new package
left out of it would import anything unchecked; the map in docs/design.md §1 is where a reader
finds it. Both lists are read from their files here and compared with the package on disk.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gleamnb"


def top_level_parts() -> list[str]:
    """The package's top-level modules and subpackages, as ``name.py`` or ``name/``."""
    parts = []
    for entry in sorted(PACKAGE.iterdir()):
        if entry.is_dir() and (entry / "__init__.py").exists():
            parts.append(entry.name + "/")
        elif entry.suffix == ".py" and entry.name not in ("__init__.py", "__main__.py"):
            parts.append(entry.name)
    return parts


def layered_modules() -> set[str]:
    """The module names in the ``layers`` contract, parentheses (optional layers) removed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return {name.strip().strip("()") for layer in layers for name in layer.split("|")}


def design_map() -> str:
    """The fenced package map at the start of docs/design.md §1."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("\n## 1. Layers\n", 1)[1].split("\n## 2.", 1)[0]
    return section.split("```", 2)[1]


def test_the_package_has_the_parts_these_checks_expect() -> None:
    parts = top_level_parts()
    assert {"api/", "runtime/", "plan/", "errors.py"} <= set(parts)
    assert "__init__.py" not in parts


@pytest.mark.parametrize("part", top_level_parts())
def test_every_top_level_part_is_in_the_layers_contract(part: str) -> None:
    module = "gleamnb." + part.removesuffix("/").removesuffix(".py")
    assert module in layered_modules(), f"{module} is in no layer of [tool.importlinter]"


@pytest.mark.parametrize("part", top_level_parts())
def test_every_top_level_part_is_in_the_design_map(part: str) -> None:
    # A part is named where a map line starts, or after the "|" of a shared layer.
    assert re.search(rf"(^|\| ){re.escape(part)}(\s|$)", design_map(), re.MULTILINE), (
        f"{part} is not in the map of docs/design.md §1"
    )
