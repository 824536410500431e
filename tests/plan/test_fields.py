"""Field references are checked by one rule wherever a user names a field, and resolved by one
function whether the names are a dataset's or a file's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import gleamnb as gl
from gleamnb.errors import ArgumentError, FieldError
from gleamnb.plan.fields import renumber, resolve_field

FORM_CHECKS: list[tuple[str, Callable[[Any], Any]]] = [
    ("order_by", lambda field: gl.order_by(field)),
    ("select", lambda field: gl.Flow().ints([1]).select(field)),
    ("columns", lambda field: gl.csv("a.csv", columns=[field])),
    ("types", lambda field: gl.csv("a.csv", types={field: int})),
]


@pytest.mark.parametrize(("what", "use"), FORM_CHECKS, ids=[w for w, _ in FORM_CHECKS])
@pytest.mark.parametrize(
    ("field", "says"),
    [(0, "field positions start at 1, got 0"), (-2, "start at 1, got -2"), (True, "not True")],
    ids=["zero", "negative", "bool"],
)
def test_one_form_check_for_every_field_reference(
    what: str, use: Callable[[Any], Any], field: Any, says: str
) -> None:
    with pytest.raises(ArgumentError) as info:
        use(field)
    assert str(info.value).startswith(f"{what}: ")
    assert says in str(info.value)


def test_a_dataset_field_and_a_file_column_resolve_alike(tmp_path: Path) -> None:
    names = ["name", "age"]
    assert [resolve_field(f, names) for f in (1, 2, "name", "age")] == [0, 1, 0, 1]
    with pytest.raises(FieldError, match="field 3 is out of range: the data has 2 fields"):
        resolve_field(3, names, step="sort")
    with pytest.raises(FieldError, match=r"unknown column 'city' in a\.csv") as info:
        resolve_field("city", names, location="a.csv", what="column")
    assert info.value.hint == "known fields: name, age (or use a 1-based position)"
    path = tmp_path / "people.csv"
    path.write_text("name,age\nann,31\n")
    with pytest.raises(FieldError, match="column 3 is out of range") as info:
        gl.Flow().read(gl.csv(str(path), header=True, columns=[3]))
    assert "known fields: name, age" in str(info.value)


def _renumber_reference(names: list[str]) -> list[str]:
    # Unnamed fields take their position; a clash with a real name gets the position appended.
    out = [f"_{i + 1}" if n[:1] == "_" and n[1:].isdigit() else n for i, n in enumerate(names)]
    seen: set[str] = set()
    for i, n in enumerate(out):
        if n in seen:
            out[i] = f"{n}_{i + 1}"
        seen.add(out[i])
    return out


@pytest.mark.parametrize(
    "names",
    [["_2", "city", "_1"], ["a", "_1", "a"], ["_1", "_1"], ["x", "_7"], []],
)
def test_renumber(names: list[str]) -> None:
    assert renumber(names) == _renumber_reference(names)
