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

from gleamnb.events import StageInfo
from gleamnb.plan.graph import Node, topological

__all__ = ["logical_text", "to_dot", "STATE_STYLES", "STAGE_FIGURES", "stage_of"]

#: The text a stage box's figures line is sized for at layout time: a live view writes the
#: stage's figures there later (``3/8 tasks · 1.2M rows ...``) without laying out again.
STAGE_FIGURES = "0000/0000 tasks · 0000.0M rows · 0000.0 MB · 0000.0s"

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


def stage_of(stages: Sequence[StageInfo]) -> dict[int, int]:
    """The stage that finishes each dataset (a dataset lowered to several stages, such as a
    ``reduce_by_key``'s local reduce, shuffle and reduce, belongs to the last of them)."""
    owner: dict[int, int] = {}
    for st in sorted(stages, key=lambda s: s.id):
        for d in st.datasets:
            owner[d] = st.id
    return owner


def _stage_label(st: StageInfo) -> str:
    tasks = f"{st.tasks} task{'s' if st.tasks != 1 else ''}"
    out = "" if st.output == "forward" else f" → {st.output}"
    return (
        f"<<B>stage {st.id}</B> <FONT POINT-SIZE='9'>{tasks}{html.escape(out)}</FONT><BR/>"
        f"<FONT POINT-SIZE='9' COLOR='#52525b'>{html.escape(STAGE_FIGURES)}</FONT>>"
    )


def to_dot(
    nodes: Sequence[Node],
    sinks: Sequence[Node] = (),
    *,
    title: str = "",
    states: Mapping[int, str] | None = None,
    notes: Mapping[int, str] | None = None,
    stages: Sequence[StageInfo] | None = None,
) -> str:
    """Graphviz DOT source for the flow.

    ``states`` maps dataset ids to ``pending | running | done | cached | failed`` and
    ``notes`` adds a line under a dataset (e.g. ``3/4 shards, 1.2M rows``). With ``stages``
    (the physical plan's), each stage is a box (``id="sN"``) around the datasets it makes,
    with a line for its live figures, and an edge that crosses stages (its data is exchanged:
    a shuffle, a merge, a broadcast) is drawn dashed and thicker, with class ``exchange``.
    """
    states = states or {}
    notes = notes or {}
    owner = stage_of(stages) if stages else {}
    out = [
        "digraph flow {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35'
        + (f', label="{_quoted(title)}", labelloc=t' if title else "")
        + "];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
        'margin="0.12,0.05"];',
        '  edge [color="#71717a", arrowsize=0.6];',
    ]
    boxes: dict[int, list[str]] = {}
    for n in topological([*nodes, *sinks]):
        if n.step.sink:
            continue
        fill, line = STATE_STYLES[states.get(n.id, "pending")]
        label = _label(n)
        if n.id in notes:
            label = label[:-1] + f"<BR/><FONT POINT-SIZE='9'>{html.escape(notes[n.id])}</FONT>>"
        shape = "cylinder" if (n.hints.on_disk or n.hints.cache) else "box"
        style = f'shape={shape}, fillcolor="{fill}", color="{line}"'
        decl = f'  {n.label} [id="{n.label}", {style}, label={label}];'
        if n.id in owner:
            boxes.setdefault(owner[n.id], []).append(decl)
        else:
            out.append(decl)
        for i in n.inputs:
            out.append(_edge(i, n.label, owner))
    for st in stages or ():
        if st.id not in boxes:
            continue
        out.append(
            f'  subgraph cluster_s{st.id} {{ id="s{st.id}"; label={_stage_label(st)}; '
            'labeljust=l; style="rounded,dashed"; color="#a1a1aa"; fontname="Helvetica"; '
            "fontsize=10; margin=8;"
        )
        out += ["  " + d for d in boxes[st.id]]
        out.append("  }")
    for k, s in enumerate(sinks):
        sid = f"sink{k}"
        out.append(
            f'  {sid} [id="{sid}", shape=note, style=filled, fillcolor="#fafafa", color="#a1a1aa", '
            f'label="{_quoted(s.step.describe())}"];'
        )
        for i in s.inputs:
            out.append(_edge(i, sid, owner))
    out.append("}")
    return "\n".join(out)


def _edge(source: Node, target: str, owner: Mapping[int, int]) -> str:
    """An edge; one from a dataset of one stage to a dataset of another is an exchange."""
    eid = f'id="{source.label}->{target}"'
    target_id = int(target[1:]) if target.startswith("d") else None
    theirs = owner.get(target_id) if target_id is not None else None
    if source.id in owner and theirs is not None and owner[source.id] != theirs:
        style = 'class="exchange", style=dashed, penwidth=1.6, color="#d97706"'
        return f"  {source.label} -> {target} [{eid}, {style}];"
    return f"  {source.label} -> {target} [{eid}];"
