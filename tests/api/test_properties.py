"""Property tests: gleamnb against the naive evaluator in ``tests/reference.py``.

Random rows (ints, floats, short strings, bools; None in value fields, and in key fields
where the operator defines it) over 1-7 shards. Most examples run on the inline runner; about
one in four on the process runner. Results are compared exactly where the order is defined
and as multisets where it is not.

A dataset is built one of two ways (``layout``):

- ``"shards"``: one in-memory source per shard, side by side through ``union``, so the
  shards are exactly the generated ones (what order-sensitive operators are checked on);
- ``"split"``: all rows in one source split into ``len(shards)`` shards by gleamnb, for the
  operators whose result does not depend on where the shard boundaries fall.

Each property runs 30 examples; set ``GLEAMNB_PROPERTY_EXAMPLES`` for a longer search (and
``GLEAMNB_HYPOTHESIS=explore`` for new random ones, see ``tests/conftest.py``).
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cloudpickle
import pyarrow as pa
import pytest
import reference as ref
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gleamnb as gl
from gleamnb.runners.local import LocalRunner

# Executor processes cannot import this test module: send its functions by value, as they
# would be from a notebook or a script's __main__.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

Rows = list[tuple[Any, ...]]

PROPERTY = settings(
    max_examples=int(os.environ.get("GLEAMNB_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# generated data

KINDS = ("int", "float", "str", "bool")
ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}

# Floats are quarters of small ints: sums are exact in any order, and there is no -0.0.
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-(2**40), 2**40),
    "float": st.integers(-4000, 4000).map(lambda i: i / 4),
    "str": st.text(alphabet="abAB é😀", max_size=3),
    "bool": st.booleans(),
}


@dataclass
class Data:
    """Generated rows: each field's kind and the rows of each shard."""

    kinds: tuple[str, ...]
    shards: list[list[tuple[Any, ...]]]

    @property
    def rows(self) -> Rows:
        return ref.rows_of(self.shards)

    @property
    def width(self) -> int:
        return len(self.kinds)

    def __repr__(self) -> str:
        return f"Data(kinds={self.kinds!r}, shards={self.shards!r})"


def _pool(kind: str, nulls: bool, size: int) -> st.SearchStrategy[list[Any]]:
    base = SCALARS[kind]
    values = st.one_of(st.none(), base) if nulls else base
    return st.lists(values, min_size=1, max_size=size, unique_by=ref.canonical)


@st.composite
def datasets(
    draw: st.DrawFn,
    *,
    width: int | None = None,
    kinds: Sequence[str] | None = None,
    key_kinds: Sequence[str] = ("int", "str", "float"),
    value_kinds: Sequence[str] = KINDS,
    null_keys: bool = False,
    null_values: bool = True,
    key_pool: list[Any] | None = None,
    max_shards: int = 7,
    max_rows: int = 8,
    nan: bool = False,
) -> Data:
    """Rows over 1..``max_shards`` shards, each field drawn from a small pool of values so
    that keys repeat. Field 1 is the usual key."""
    if kinds is None:
        w = width if width is not None else draw(st.integers(2, 3))
        kinds = (
            draw(st.sampled_from(key_kinds)),
            *(draw(st.sampled_from(value_kinds)) for _ in range(w - 1)),
        )
    pools = [key_pool if key_pool is not None else draw(_pool(kinds[0], null_keys, 6))]
    pools += [draw(_pool(kind, null_values, 8)) for kind in kinds[1:]]
    for kind, pool in zip(kinds, pools):
        if nan and kind == "float" and draw(st.booleans()):
            pool.append(float("nan"))
    row = st.tuples(*[st.sampled_from(p) for p in pools])
    m = draw(st.integers(1, max_shards))
    shards = draw(st.lists(st.lists(row, max_size=max_rows), min_size=m, max_size=m))
    return Data(tuple(kinds), shards)


@st.composite
def dataset_pairs(
    draw: st.DrawFn, *, null_keys: bool = True, width: int | None = None
) -> tuple[Data, Data]:
    """Two datasets whose first fields share a kind and a pool of keys (for joins)."""
    kind = draw(st.sampled_from(("int", "str", "float")))
    pool = draw(_pool(kind, null_keys, 5))
    left = draw(datasets(key_kinds=(kind,), key_pool=pool, width=width, max_rows=6))
    right = draw(datasets(key_kinds=(kind,), key_pool=pool, width=width, max_rows=6))
    return left, right


modes = st.sampled_from(("inline", "inline", "inline", "process", "dask"))
layouts = st.sampled_from(("shards", "split"))


def empty(kinds: tuple[str, ...], shards: int = 1) -> Data:
    return Data(kinds, [[] for _ in range(shards)])


# ---------------------------------------------------------------------------------------------
# building and running


@pytest.fixture(scope="module")
def runners(
    inline: LocalRunner, runner: LocalRunner, dask_runner: LocalRunner
) -> dict[str, LocalRunner]:
    return {"inline": inline, "process": runner, "dask": dask_runner}


def table_of(data: Data, rows: Rows, names: Sequence[str] | None = None) -> pa.Table:
    names = names or [f"_{i + 1}" for i in range(data.width)]
    return pa.table(
        {
            name: pa.array([r[i] for r in rows], type=ARROW_TYPES[data.kinds[i]])
            for i, name in enumerate(names)
        }
    )


def build(
    flow: gl.Flow, data: Data, layout: str = "shards", names: Sequence[str] | None = None
) -> gl.Dataset:
    """The dataset of ``data``: exactly its shards, or all rows split by gleamnb."""
    if layout == "split":
        return flow.from_arrow(table_of(data, data.rows, names), shards=len(data.shards))
    parts = [flow.from_arrow(table_of(data, shard, names)) for shard in data.shards]
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def collect(ds: gl.Dataset, runner: LocalRunner) -> Rows:
    return ds.collect(runner, progress=False)


def shard_contents(ds: gl.Dataset, runner: LocalRunner) -> list[Rows]:
    """The rows of each non-empty shard of ``ds``, in shard order (see test_operators)."""
    wrapped = ds.map(lambda *row: (0, [row])).local_reduce_by_key(lambda a, b: a + b)
    return [rows for _, rows in collect(wrapped, runner)]


def order_spec(order: Sequence[tuple[int, bool]]) -> gl.Order:
    (first, desc), *rest = order
    out = gl.order_by(first, descending=desc)
    for field, d in rest:
        out = out.then(field, descending=d)
    return out


@st.composite
def orders(draw: st.DrawFn, width: int) -> list[tuple[int, bool]]:
    fields = draw(st.lists(st.integers(1, width), min_size=1, max_size=width, unique=True))
    return [(f, draw(st.booleans())) for f in fields]


def key_arg(key: tuple[int, ...]) -> int | tuple[int, ...]:
    return key[0] if len(key) == 1 else key


# ---------------------------------------------------------------------------------------------
# narrow steps


def mapper(*row: Any) -> tuple[Any, ...]:
    """Reverse the row and add the repr length of its first field."""
    return (*reversed(row), len(repr(row[0])))


def keep(*row: Any) -> bool:
    return len(repr(row)) % 3 != 0


def repeat(*row: Any) -> list[Any] | None:
    """0, 1 or 2 copies of the row; None (no rows) instead of an empty list sometimes."""
    n = len(repr(row)) % 4
    if n == 3:
        return None
    return [row] * n if n else []


@PROPERTY
@given(data=datasets(), mode=modes, layout=layouts)
@example(data=empty(("int", "str")), mode="inline", layout="shards")
@example(data=Data(("str", "int"), [[("a", 1)]]), mode="inline", layout="split")
def test_map_filter_flat_map(
    runners: dict[str, LocalRunner], data: Data, mode: str, layout: str
) -> None:
    r = runners[mode]
    f = gl.Flow("narrow")
    ds = build(f, data, layout)
    expected_input = [data.rows] if layout == "split" else data.shards
    ref.assert_rows(collect(ds, r), data.rows, ordered=True)
    ref.assert_rows(
        collect(ds.map(mapper), r), ref.rows_of(ref.map_rows(expected_input, mapper)), ordered=True
    )
    ref.assert_rows(
        collect(ds.filter(keep), r),
        ref.rows_of(ref.filter_rows(expected_input, keep)),
        ordered=True,
    )
    got = collect(ds.flat_map(repeat), r)
    ref.assert_rows(got, ref.rows_of(ref.flat_map_rows(expected_input, repeat)), ordered=True)
    chained = ds.filter(keep).map(mapper).flat_map(repeat)
    expected = ref.flat_map_rows(
        ref.map_rows(ref.filter_rows(expected_input, keep), mapper), repeat
    )
    ref.assert_rows(collect(chained, r), ref.rows_of(expected), ordered=True)


@PROPERTY
@given(data=datasets(), fields=st.lists(st.integers(1, 3), min_size=1, max_size=4), mode=modes)
@example(data=empty(("int", "str", "float")), fields=[3, 1], mode="inline")
def test_select(runners: dict[str, LocalRunner], data: Data, fields: list[int], mode: str) -> None:
    fields = [min(f, data.width) for f in fields]
    r = runners[mode]
    f = gl.Flow("select")
    expected = ref.rows_of(ref.select(data.shards, fields))
    ref.assert_rows(collect(build(f, data).select(*fields), r), expected, ordered=True)
    names = ["k", "v", "w"][: data.width]
    by_name = build(f, data, names=names).select(*[names[i - 1] for i in fields])
    ref.assert_rows(collect(by_name, r), expected, ordered=True)


# ---------------------------------------------------------------------------------------------
# reducers


def fold_ints(a: int | None, b: int | None) -> int:
    """Neither associative nor commutative: shows the order values are folded in."""
    return ((a or 0) * 3 + (b or 0)) % 1_000_003


def concat_backwards(a: str | None, b: str | None) -> str:
    return (b or "") + (a or "")


def pair_fold(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """For tuples of values: keep the first field of ``a``, the last of ``b``."""
    return (a[0], *a[1:-1], b[-1])


# name -> (reducer, value kinds it takes, None allowed in values, several value fields allowed)
REDUCERS: dict[str, tuple[Any, tuple[str, ...], bool, bool]] = {
    "operator.add": (operator.add, ("int", "float"), False, False),
    "operator.add str": (operator.add, ("str",), False, False),
    "sum": ("sum", ("int", "float"), False, True),
    "min": ("min", ("int", "float", "str", "bool"), False, True),
    "max": ("max", ("int", "float", "str", "bool"), False, True),
    "builtin min": (min, ("int", "float", "str"), False, False),
    "builtin max": (max, ("int", "float", "str"), False, False),
    "count": ("count", KINDS, True, True),
    "first": ("first", KINDS, True, True),
    "last": ("last", KINDS, True, True),
    "python fold": (fold_ints, ("int",), True, False),
    "python concat": (concat_backwards, ("str",), True, False),
    "python tuples": (pair_fold, KINDS, True, True),
}


@st.composite
def reduce_cases(draw: st.DrawFn) -> tuple[str, Data, tuple[int, ...]]:
    """A reducer, data whose value fields suit it, and a key."""
    name = draw(st.sampled_from(sorted(REDUCERS)))
    _, value_kinds, nulls, several = REDUCERS[name]
    width = draw(st.integers(2, 3)) if several else 2
    if name == "python tuples":
        width = 3  # its reducer takes tuples of two or more values
    kinds = [draw(st.sampled_from(("int", "str", "float")))]
    kinds += [draw(st.sampled_from(value_kinds)) for _ in range(width - 1)]
    data = draw(datasets(kinds=kinds, null_values=nulls, null_keys=draw(st.booleans())))
    if name == "python tuples" or width == 2:
        key: tuple[int, ...] = (1,)
    else:
        key = draw(st.sampled_from([(1,), (1, 2)]))
    return name, data, key


@PROPERTY
@given(case=reduce_cases(), mode=modes, layout=layouts)
@example(case=("sum", empty(("int", "int")), (1,)), mode="inline", layout="shards")
@example(case=("count", Data(("str", "int"), [[("a", 1)]]), (1,)), mode="inline", layout="shards")
@example(
    case=(
        "python fold",
        Data(("int", "int"), [[(1, 1), (1, 2)], [(1, 3)], [], [(1, 4), (1, 5)]]),
        (1,),
    ),
    mode="inline",
    layout="shards",
)
@example(
    case=("first", Data(("int", "int"), [[(7, None), (7, 1)]]), (1,)),
    mode="inline",
    layout="shards",
)
def test_reduce_by_key(
    runners: dict[str, LocalRunner], case: tuple[str, Data, tuple[int, ...]], mode: str, layout: str
) -> None:
    name, data, key = case
    fn = REDUCERS[name][0]
    if layout == "split" and name in ("python fold", "python tuples"):
        layout = "shards"  # their result depends on where the shard boundaries are
    f = gl.Flow("reduce_by_key")
    ds = build(f, data, layout).reduce_by_key(fn, key=key_arg(key))
    assert ds.shards == len(data.shards)
    shards = [data.rows] if layout == "split" else data.shards
    ref.assert_rows(collect(ds, runners[mode]), ref.reduce_by_key(shards, fn, key), ordered=False)


@PROPERTY
@given(case=reduce_cases(), mode=modes)
@example(case=("sum", empty(("int", "int"), 3), (1,)), mode="inline")
@example(
    case=("python fold", Data(("int", "int"), [[(1, 1), (1, 2)], [(1, 3), (1, 4)]]), (1,)),
    mode="inline",
)
def test_reduce(
    runners: dict[str, LocalRunner], case: tuple[str, Data, tuple[int, ...]], mode: str
) -> None:
    name, data, _ = case
    fn = REDUCERS[name][0]
    values = Data(data.kinds[1:], ref.select(data.shards, range(2, data.width + 1)))
    f = gl.Flow("reduce")
    ds = build(f, data).select(*range(2, data.width + 1)).reduce(fn)
    assert ds.shards == 1
    ref.assert_rows(collect(ds, runners[mode]), ref.reduce_all(values.shards, fn), ordered=True)


# ---------------------------------------------------------------------------------------------
# grouping


@PROPERTY
@given(
    data=datasets(null_keys=True),
    key=st.sampled_from([(1,), (2,), (1, 2), (2, 1)]),
    mode=modes,
    layout=layouts,
)
@example(data=empty(("int", "str")), key=(1,), mode="inline", layout="shards")
@example(
    data=Data(("str", "int"), [[("a", 1), ("a", 2)], [("a", 3)]]),
    key=(1,),
    mode="inline",
    layout="shards",
)
def test_group_by_key(
    runners: dict[str, LocalRunner], data: Data, key: tuple[int, ...], mode: str, layout: str
) -> None:
    if data.width == 2 and len(key) == 2:
        key = key[:1]
    ds = build(gl.Flow("group_by_key"), data, layout).group_by_key(key=key_arg(key))
    assert ds.shards == len(data.shards)
    expected = ref.group_by_key(data.shards, key)
    ref.assert_rows(collect(ds, runners[mode]), expected, ordered=False)


@PROPERTY
@given(
    data=datasets(null_keys=True),
    key=st.sampled_from([None, (1,), (2,), (2, 1)]),
    mode=modes,
    layout=layouts,
)
@example(data=empty(("int", "str")), key=None, mode="inline", layout="shards")
@example(
    data=Data(("int", "int"), [[(1, 1), (1, 1)], [(1, 1)]]),
    key=None,
    mode="inline",
    layout="shards",
)
def test_distinct(
    runners: dict[str, LocalRunner], data: Data, key: tuple[int, ...] | None, mode: str, layout: str
) -> None:
    ds = build(gl.Flow("distinct"), data, layout).distinct(key=key_arg(key) if key else None)
    assert ds.shards == len(data.shards)
    expected = ref.distinct(data.shards, key)
    ref.assert_rows(collect(ds, runners[mode]), expected, ordered=False)


# ---------------------------------------------------------------------------------------------
# ordering


@st.composite
def sort_cases(draw: st.DrawFn) -> tuple[Data, list[tuple[int, bool]]]:
    data = draw(datasets(key_kinds=KINDS, null_keys=True, nan=True, max_rows=10))
    return data, draw(orders(data.width))


@PROPERTY
@given(case=sort_cases(), mode=modes, layout=layouts)
@example(case=(empty(("int", "str"), 3), [(1, False)]), mode="inline", layout="shards")
@example(
    case=(Data(("int", "int"), [[(1, 3), (1, 2)], [(1, 1)]]), [(1, True)]),
    mode="inline",
    layout="shards",
)
@example(
    case=(
        Data(("float", "int"), [[(None, 1), (float("nan"), 2)], [(1.5, 3), (None, 4), (-2.0, 5)]]),
        [(1, True)],
    ),
    mode="inline",
    layout="shards",
)
def test_sort(
    runners: dict[str, LocalRunner],
    case: tuple[Data, list[tuple[int, bool]]],
    mode: str,
    layout: str,
) -> None:
    data, order = case
    ds = build(gl.Flow("sort"), data, layout).sort(order_spec(order))
    assert ds.shards == len(data.shards)
    ref.assert_rows(collect(ds, runners[mode]), ref.sort_rows(data.rows, order), ordered=True)


@PROPERTY
@given(case=sort_cases(), n=st.integers(0, 12), mode=modes, layout=layouts)
@example(case=(empty(("int", "str")), [(1, False)]), n=3, mode="inline", layout="shards")
@example(
    case=(Data(("int", "int"), [[(1, 1), (1, 2)], [(1, 3)]]), [(1, False)]),
    n=2,
    mode="inline",
    layout="shards",
)
def test_top(
    runners: dict[str, LocalRunner],
    case: tuple[Data, list[tuple[int, bool]]],
    n: int,
    mode: str,
    layout: str,
) -> None:
    data, order = case
    ds = build(gl.Flow("top"), data, layout).top(n, order_spec(order))
    assert ds.shards == 1
    ref.assert_rows(collect(ds, runners[mode]), ref.top([data.rows], n, order), ordered=True)


@PROPERTY
@given(data=datasets(), n=st.integers(0, 12), offset=st.integers(0, 12), mode=modes, layout=layouts)
@example(data=empty(("int", "str"), 2), n=1, offset=0, mode="inline", layout="shards")
def test_limit(
    runners: dict[str, LocalRunner], data: Data, n: int, offset: int, mode: str, layout: str
) -> None:
    ds = build(gl.Flow("limit"), data, layout).limit(n, offset)
    assert ds.shards == 1
    ref.assert_rows(collect(ds, runners[mode]), ref.limit(data.shards, n, offset), ordered=True)


@PROPERTY
@given(case=sort_cases(), n=st.integers(0, 5), offset=st.integers(0, 3), mode=modes)
def test_local_steps(
    runners: dict[str, LocalRunner],
    case: tuple[Data, list[tuple[int, bool]]],
    n: int,
    offset: int,
    mode: str,
) -> None:
    data, order = case
    r = runners[mode]
    f = gl.Flow("local")
    o = order_spec(order)
    ds = build(f, data)
    ref.assert_rows(
        collect(ds.local_sort(o), r), ref.rows_of(ref.local_sort(data.shards, order)), ordered=True
    )
    ref.assert_rows(
        collect(ds.local_top(n, o), r),
        ref.rows_of(ref.local_top(data.shards, n, order)),
        ordered=True,
    )
    got = collect(ds.local_limit(n, offset), r)
    ref.assert_rows(got, ref.rows_of(ref.local_limit(data.shards, n, offset)), ordered=True)
    # grouping steps promise no order of groups
    ref.assert_rows(
        collect(ds.local_distinct(), r), ref.rows_of(ref.local_distinct(data.shards)), ordered=False
    )
    got = collect(ds.local_reduce_by_key("count"), r)
    ref.assert_rows(got, ref.rows_of(ref.local_reduce_by_key(data.shards, "count")), ordered=False)


# ---------------------------------------------------------------------------------------------
# joins

JOINS = ("inner", "left_outer", "right_outer", "full_outer")


def join_method(ds: gl.Dataset, how: str) -> Callable[..., gl.Dataset]:
    return getattr(ds, "join" if how == "inner" else f"{how}_join")


@PROPERTY
@given(
    pair=dataset_pairs(),
    how=st.sampled_from(JOINS),
    two_keys=st.booleans(),
    mode=modes,
    layout=layouts,
)
@example(
    pair=(empty(("int", "str")), empty(("int", "float"))),
    how="full_outer",
    two_keys=False,
    mode="inline",
    layout="shards",
)
@example(
    pair=(
        Data(("int", "str"), [[(1, "a"), (None, "b")]]),
        Data(("int", "str"), [[(None, "x"), (1, "y")]]),
    ),
    how="full_outer",
    two_keys=False,
    mode="inline",
    layout="shards",
)
@example(
    pair=(
        Data(("str", "int"), [[("k", 1)], [("k", 2)]]),
        Data(("str", "int"), [[("k", 3), ("k", 4)]]),
    ),
    how="inner",
    two_keys=False,
    mode="inline",
    layout="shards",
)
@example(
    pair=(Data(("int", "str", "float"), [[(1, "a", 0.5)]]), empty(("int", "str"))),
    how="left_outer",
    two_keys=False,
    mode="inline",
    layout="shards",
)
@example(
    pair=(
        Data(("int", "str", "float"), [[(k, "a", 0.5) for k in range(6)], [(6, "b", 1.0)]]),
        Data(("int", "str"), [[(100, "x")]]),
    ),
    how="full_outer",
    two_keys=False,
    mode="inline",
    layout="shards",
)
def test_join(
    runners: dict[str, LocalRunner],
    pair: tuple[Data, Data],
    how: str,
    two_keys: bool,
    mode: str,
    layout: str,
) -> None:
    left, right = pair
    on: tuple[int, ...] = (1,)
    if two_keys and left.kinds[1] == right.kinds[1]:
        on = (1, 2)
    f = gl.Flow("join")
    ds = join_method(build(f, left, layout), how)(build(f, right, layout), on=key_arg(on))
    assert ds.shards == len(left.shards)
    expected = ref.join(left.shards, right.shards, on, how, widths=(left.width, right.width))
    one_shard = len(left.shards) == 1 and len(right.shards) == 1
    ref.assert_rows(collect(ds, runners[mode]), expected, ordered=one_shard)


@PROPERTY
@given(pair=dataset_pairs(), mode=modes)
@example(pair=(empty(("int", "str"), 2), empty(("int", "str"))), mode="inline")
def test_hash_join(runners: dict[str, LocalRunner], pair: tuple[Data, Data], mode: str) -> None:
    left, right = pair
    f = gl.Flow("hash_join")
    ds = build(f, left).hash_join(build(f, right))
    assert ds.shards == len(left.shards)
    expected = ref.join(left.shards, right.shards, (1,), "inner")
    ref.assert_rows(collect(ds, runners[mode]), expected, ordered=True)


@PROPERTY
@given(pair=dataset_pairs(null_keys=False), mode=modes, layout=layouts)
@example(
    pair=(empty(("int", "str")), Data(("int", "str"), [[(1, "x")]])), mode="inline", layout="shards"
)
@example(
    pair=(
        Data(("int", "int", "int"), [[], [], [(-1, None, None)]]),
        Data(("int", "int"), [[(0, 5)]]),
    ),
    mode="inline",
    layout="shards",
)
def test_co_group(
    runners: dict[str, LocalRunner], pair: tuple[Data, Data], mode: str, layout: str
) -> None:
    left, right = pair
    f = gl.Flow("co_group")
    ds = build(f, left, layout).co_group(build(f, right, layout))
    assert ds.shards == len(left.shards)
    expected = ref.co_group(left.shards, right.shards)
    ref.assert_rows(collect(ds, runners[mode]), expected, ordered=False)


# ---------------------------------------------------------------------------------------------
# moving shards


@PROPERTY
@given(
    parts=st.lists(datasets(kinds=("int", "str")), min_size=2, max_size=3),
    ordered=st.booleans(),
    mode=modes,
)
@example(parts=[empty(("int", "str")), empty(("int", "str"), 2)], ordered=False, mode="inline")
def test_union(
    runners: dict[str, LocalRunner], parts: list[Data], ordered: bool, mode: str
) -> None:
    f = gl.Flow("union")
    first, *others = [build(f, d) for d in parts]
    ds = first.union(*others, ordered=ordered)
    expected = ref.union(*[d.shards for d in parts], ordered=ordered)
    assert ds.shards == len(expected)
    ref.assert_rows(collect(ds, runners[mode]), ref.rows_of(expected), ordered=True)


@PROPERTY
@given(
    data=datasets(null_keys=True),
    n=st.integers(1, 7),
    key=st.sampled_from([(1,), (2,), (2, 1)]),
    mode=modes,
)
@example(data=empty(("int", "str")), n=3, key=(1,), mode="inline")
def test_partition(
    runners: dict[str, LocalRunner], data: Data, n: int, key: tuple[int, ...], mode: str
) -> None:
    ds = build(gl.Flow("partition"), data).partition(n, key=key_arg(key))
    assert ds.shards == n
    shards = shard_contents(ds, runners[mode])
    assert len(shards) <= n
    ref.assert_rows(ref.rows_of(shards), ref.partition_groups(data.shards, key), ordered=False)
    home: dict[str, int] = {}
    for i, shard in enumerate(shards):
        for row in shard:
            k = repr(ref.canonical(row[: len(key)]))
            assert home.setdefault(k, i) == i, (
                f"key {row[: len(key)]!r} is in shards {home[k]} and {i}"
            )


@PROPERTY
@given(data=datasets(), n=st.integers(1, 7), mode=modes)
@example(data=empty(("int", "str")), n=2, mode="inline")
@example(data=Data(("int", "str"), [[(i, "x") for i in range(8)]]), n=3, mode="inline")
def test_round_robin(runners: dict[str, LocalRunner], data: Data, n: int, mode: str) -> None:
    ds = build(gl.Flow("round_robin"), data).round_robin(n)
    assert ds.shards == n
    shards = shard_contents(ds, runners[mode])
    ref.assert_rows(ref.rows_of(shards), data.rows, ordered=False)
    if len(data.shards) == 1:
        expected = [s for s in ref.round_robin_sizes(len(data.rows), n) if s]
        assert sorted(len(s) for s in shards) == expected


@PROPERTY
@given(data=datasets(), n=st.integers(1, 7), mode=modes)
@example(data=empty(("int", "str"), 3), n=2, mode="inline")
def test_broadcast_and_merge_to(
    runners: dict[str, LocalRunner], data: Data, n: int, mode: str
) -> None:
    r = runners[mode]
    f = gl.Flow("merge_to")
    ds = build(f, data)
    merged = ds.merge_to(n)
    assert merged.shards == n
    ref.assert_rows(collect(merged, r), data.rows, ordered=True)
    assert len(shard_contents(merged, r)) <= n
    copies = ds.broadcast(n)
    assert copies.shards == n
    ref.assert_rows(collect(copies, r), ref.rows_of(ref.broadcast(data.shards, n)), ordered=True)


@PROPERTY
@given(case=sort_cases(), n=st.integers(1, 7), mode=modes)
@example(case=(empty(("int", "str"), 3), [(1, False)]), n=2, mode="inline")
@example(
    case=(
        Data(("int", "str"), [[(2, "a"), (1, "b")], [(1, "c")], [(2, "d"), (0, "e")]]),
        [(1, False)],
    ),
    n=1,
    mode="inline",
)
def test_merge_sorted_to(
    runners: dict[str, LocalRunner], case: tuple[Data, list[tuple[int, bool]]], n: int, mode: str
) -> None:
    data, order = case
    o = order_spec(order)
    ds = build(gl.Flow("merge_sorted_to"), data).local_sort(o).merge_sorted_to(n, o)
    assert ds.shards == n
    got = shard_contents(ds, runners[mode])
    sorted_shards = ref.local_sort(data.shards, order)
    if n == 1:
        ref.assert_rows(
            ref.rows_of(got), ref.sort_rows(ref.rows_of(sorted_shards), order), ordered=True
        )
    canonical = [[ref.canonical(r) for r in s] for s in got]
    assert any(
        canonical == [[ref.canonical(r) for r in s] for s in cand if s]
        for cand in ref.merge_sorted_candidates(sorted_shards, n, order)
    ), f"no grouping of the sorted shards {sorted_shards!r} into {n} merges to {got!r}"
