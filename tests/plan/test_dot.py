"""The DAG as graphviz DOT and as a notebook picture."""

from __future__ import annotations

import operator

import gleamnb as gl


def word_count() -> gl.Flow:
    f = gl.Flow("wc")
    (
        f.strings(["a b", "b"])
        .flat_map(gl.mappers.tokenize)
        .map(gl.mappers.append_one)
        .reduce_by_key(operator.add)
        .printlnf("%s\t%d")
    )
    return f


def test_dot_has_one_node_per_dataset_and_the_steps_between() -> None:
    dot = word_count().to_dot()
    for i, label in enumerate(["strings", "flat_map tokenize", "map append_one", "reduce_by_key"]):
        assert f'd{i} [id="d{i}"' in dot and label in dot
    for a, b in [("d0", "d1"), ("d1", "d2"), ("d2", "d3"), ("d3", "sink0")]:
        assert f'{a} -> {b} [id="{a}->{b}"];' in dot
    assert "printlnf &#x27;%s\\\\t%d&#x27;" in dot  # quotes escaped, the backslash doubled
    assert dot.startswith("digraph flow {") and dot.rstrip().endswith("}")


def test_dot_colours_nodes_by_state() -> None:
    dot = word_count().to_dot(states={1: "running", 3: "failed"}, notes={1: "1/2 shards"})
    assert 'd1 [id="d1", shape=box, fillcolor="#dbeafe"' in dot
    assert 'd3 [id="d3", shape=box, fillcolor="#fee2e2"' in dot
    assert "1/2 shards" in dot


def test_notebook_bundle_has_the_plan_and_an_svg() -> None:
    bundle = word_count()._repr_mimebundle_()
    assert "stage 0: strings->tokenize->append_one->local_reduce_by_key" in bundle["text/plain"]
    svg = bundle["image/svg+xml"]
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "d3" in svg
