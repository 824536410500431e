"""Plans as text: lowering and fusion, checked without running anything."""

from __future__ import annotations

import operator
from pathlib import Path

import gleamnb as gl


def stages(flow: gl.Flow) -> str:
    text = flow.explain()
    return text[text.index("Stages:\n") + len("Stages:\n") :]


def test_word_count_fuses_the_map_side_and_lowers_wide_steps(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("a b a\n")
    f = gl.Flow("wc")
    (
        f.read(gl.txt(str(path), shards=2))
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .sort(gl.order_by(2))
        .top(5, gl.order_by(2, descending=True))
        .printlnf("%s\t%d")
    )
    assert stages(f) == (
        "  stage 0: read->tokenize->append_one->local_reduce_by_key  (2 tasks)"
        " -> hash shuffle by 1 into 2\n"
        "  stage 1: reduce_by_key->local_sort  (2 tasks) <- stage 0"
        " -> sorted runs by 2 (range partitioned)\n"
        "  stage 2: sort->local_top  (2 tasks) <- stage 1 -> forward\n"
        "  stage 3: top  (1 task) <- stage 2 -> forward"
    )
    assert "d3 = reduce_by_key(sum) key=1 (d2)  [2 shards]" in f.explain()


def test_a_dataset_with_two_readers_is_not_fused_into_either() -> None:
    f = gl.Flow("two readers")
    d = f.range(0, 10, shards=2).map(lambda x: x + 1, name="inc")
    d.filter(lambda x: x % 2, name="odd").printlnf("%d")
    d.map(lambda x: x * 10, name="tens").printlnf("%d")
    assert stages(f) == (
        "  stage 0: range->inc  (2 tasks) -> forward\n"
        "  stage 1: odd  (2 tasks) <- stage 0 -> forward\n"
        "  stage 2: tens  (2 tasks) <- stage 0 -> forward"
    )


def test_join_shuffles_both_sides_into_the_left_shard_count() -> None:
    f = gl.Flow("joins")
    a = f.slices([(1, "a")], shards=2).map(lambda k, v: (k, v), name="left")
    b = f.slices([(1, "x")], shards=3)
    a.join(b).printlnf("%v %v %v")
    assert stages(f) == (
        "  stage 0: slices->left->key_first  (2 tasks) -> hash shuffle by 1 into 2\n"
        "  stage 1: slices->key_first  (3 tasks) -> hash shuffle by 1 into 2\n"
        "  stage 2: join  (2 tasks) <- stage 0, stage 1 -> forward"
    )


def test_hash_join_runs_inside_the_big_sides_stage() -> None:
    f = gl.Flow("hash join")
    big = f.range(0, 100, shards=4).map(lambda x: (x % 5, x), name="key")
    small = f.slices([(1, "one"), (2, "two")]).map(lambda k, v: (k, v.upper()), name="upper")
    big.hash_join(small).map(lambda k, x, n: (n, x), name="swap").printlnf("%s %d")
    assert stages(f) == (
        "  stage 0: slices->upper  (1 task) -> forward\n"
        "  stage 1: range->key->hash_join->swap  (4 tasks) <- stage 0 -> forward"
    )


def test_on_disk_ends_a_stage_and_is_marked() -> None:
    f = gl.Flow("disk")
    d = f.range(0, 10, shards=2).map(lambda x: x, name="same").on_disk()
    d.map(lambda x: x, name="again").printlnf("%d")
    assert stages(f) == (
        "  stage 0: range->same  (2 tasks) -> forward [on disk]\n"
        "  stage 1: again  (2 tasks) <- stage 0 -> forward"
    )
    assert "d1 = map same (d0)  [2 shards, on disk]" in f.explain()


def test_union_reads_the_inputs_in_place_and_single_shards_skip_the_gather() -> None:
    f = gl.Flow("misc")
    u = f.ints([1, 2], shards=2).union(f.ints([3])).map(lambda x: x, name="after")
    u.merge_to(1).limit(2).printlnf("%d")
    u.group_by_key().printlnf("%v %v")
    assert stages(f) == (
        "  stage 0: after  (3 tasks) -> forward\n"
        "  stage 1: limit  (1 task) <- stage 0 -> forward\n"
        "  stage 2: key_first  (3 tasks) <- stage 0 -> hash shuffle by 1 into 3\n"
        "  stage 3: group_by_key  (3 tasks) <- stage 2 -> forward"
    )


def test_distinct_reduce_and_partitioning_steps() -> None:
    f = gl.Flow("shapes")
    d = f.range(0, 100, shards=3)
    d.distinct().printlnf("%d")
    d.reduce("max").printlnf("%d")
    d.round_robin(2).merge_sorted_to(1, 1).printlnf("%d")
    assert stages(f) == (
        "  stage 0: range  (3 tasks) -> forward\n"
        "  stage 1: local_distinct  (3 tasks) <- stage 0 -> hash shuffle by all fields into 3\n"
        "  stage 2: distinct  (3 tasks) <- stage 1 -> forward\n"
        "  stage 3: local_reduce  (3 tasks) <- stage 0 -> forward\n"
        "  stage 4: reduce  (1 task) <- stage 3 -> forward\n"
        "  stage 5: round_robin  (3 tasks) <- stage 0 -> round robin into 2\n"
        "  stage 6: merge_sorted_to  (1 task) <- stage 5 -> forward"
    )


def test_size_hints_choose_the_shuffle_width() -> None:
    f = gl.Flow("hints")
    d = f.range(0, 10, shards=2).hint(total_size_mb=64, partition_size_mb=16)
    d.map(lambda x: (x, 1), name="pair").reduce_by_key("sum").printlnf("%d %d")
    assert "-> hash shuffle by 1 into 4" in stages(f)
