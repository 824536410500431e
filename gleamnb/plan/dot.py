"""Text and graphviz views of a logical DAG.

Gleam draws a flow as datasets linked by the steps that make them; so do we. Each dataset is a
box ``dN`` labelled with the step that made it, its shard count and (when known) its fields.
Node ids are stable (``d3`` is always the flow's fourth dataset), so the live notebook view can
restyle nodes by id without laying the graph out again.

Examples
--------
>>> from gleamnb.plan.graph import Node
>>> from gleamnb.plan.steps import RangeSource
>>> n = Node(0, RangeSource(name="range", start=0, stop=9, shards=3), (), shards=3, names=("_1",))
>>> print(logical_text([n]))
d0 = range(0, 9, shards=3)  [3 shards]
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from gleamnb.plan.graph import Node, topological

__all__ = ["logical_text", "to_dot", "STATE_STYLES"]

# fill colours per stage state, shared by the static DOT and the live widget
STATE_STYLES: Mapping[str, tuple[str, str]] = {
    "pending": ("#f4f4f5", "#a1a1aa"),
    "running": ("#dbeafe", "#2563eb"),
    "done": ("#dcfce7", "#16a34a"),
    "cached": ("#ede9fe", "#7c3aed"),
    "failed": ("#fee2e2", "#dc2626"),
}


def _inputs(node: Node) -> str:
    return ", ".join(i.label for i in node.inputs)


def logical_text(nodes: Sequence[Node], sinks: Sequence[Node] = ()) -> str:
    """One line per dataset (inputs before consumers), then one per sink."""
    lines = []
    for n in topological([*nodes, *sinks]):
        if n.step.sink:
            continue
        ins = f" ({_inputs(n)})" if n.inputs else ""
        hints = []
        if n.hints.on_disk:
            hints.append("on disk")
        if n.hints.cache:
            hints.append("cache")
        extra = f", {', '.join(hints)}" if hints else ""
        shards = f"{n.shards} shard{'s' if n.shards != 1 else ''}"
        lines.append(f"{n.label} = {n.step.describe()}{ins}  [{shards}{extra}]")
    for s in sinks:
        lines.append(f"{s.step.describe()} ({_inputs(s)})")
    return "\n".join(lines)


def _quoted(text: str) -> str:
    """Text safe inside a double-quoted DOT string (backslashes are escapes there)."""
    return html.escape(text).replace("\\", "\\\\")


def _label(node: Node) -> str:
    meta = f"{node.shards} shard{'s' if node.shards != 1 else ''}"
    if node.names is not None:
        shown = ", ".join(node.names[:6]) + (", ..." if len(node.names) > 6 else "")
        meta += f" · ({shown})"
    desc = node.step.describe()
    if len(desc) > 44:
        desc = desc[:20] + "..." + desc[-21:]
    return (
        f"<<B>{node.label}</B> {html.escape(desc)}<BR/>"
        f"<FONT POINT-SIZE='9' COLOR='#52525b'>{html.escape(meta)}</FONT>>"
    )


def to_dot(
    nodes: Sequence[Node],
    sinks: Sequence[Node] = (),
    *,
    title: str = "",
    states: Mapping[int, str] | None = None,
    notes: Mapping[int, str] | None = None,
) -> str:
    """Graphviz DOT source for the flow.

    ``states`` maps dataset ids to ``pending | running | done | cached | failed`` and
    ``notes`` adds a line under a dataset (e.g. ``3/4 shards, 1.2M rows``).
    """
    states = states or {}
    notes = notes or {}
    out = [
        "digraph flow {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35'
        + (f', label="{_quoted(title)}", labelloc=t' if title else "")
        + "];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
        'margin="0.12,0.05"];',
        '  edge [color="#71717a", arrowsize=0.6];',
    ]
    for n in topological([*nodes, *sinks]):
        if n.step.sink:
            continue
        fill, line = STATE_STYLES[states.get(n.id, "pending")]
        label = _label(n)
        if n.id in notes:
            label = label[:-1] + f"<BR/><FONT POINT-SIZE='9'>{html.escape(notes[n.id])}</FONT>>"
        shape = "cylinder" if (n.hints.on_disk or n.hints.cache) else "box"
        style = f'shape={shape}, fillcolor="{fill}", color="{line}"'
        out.append(f'  {n.label} [id="{n.label}", {style}, label={label}];')
        for i in n.inputs:
            out.append(f"  {i.label} -> {n.label};")
    for k, s in enumerate(sinks):
        sid = f"sink{k}"
        out.append(
            f'  {sid} [id="{sid}", shape=note, style=filled, fillcolor="#fafafa", color="#a1a1aa", '
            f'label="{_quoted(s.step.describe())}"];'
        )
        for i in s.inputs:
            out.append(f"  {i.label} -> {sid};")
    out.append("}")
    return "\n".join(out)
