"""A graph laid out once by graphviz, drawn to SVG as often as its styles and figures change.

Graphviz places the nodes, clusters and edges (``dot -Tjson``: every shape and text as xdot
drawing operations); :class:`Layout` keeps them and draws SVG from them with classes and ids of
its own, so a view can restyle a node (its state class) or change a line of text without asking
graphviz again: nothing moves between two drawings.

Graphviz measures each text with its own font metrics, not the browser's, so a browser whose
font is wider than graphviz's guess draws a label over the border of its box. Every text here
carries ``textLength`` (graphviz's width) with ``lengthAdjust="spacingAndGlyphs"``: each
frontend fits the text into the width graphviz reserved for it, whatever font it has.

Examples
--------
>>> lay = Layout.from_dot('digraph { a [id="a", label="hello"]; a -> b; }')
>>> [(s.kind, s.id) for s in lay.shapes][1:]
[('node', 'a'), ('node', 'b'), ('edge', 'a->b')]
>>> svg = lay.svg({"a": "gl-state-done"}, {"a": {0: "bye"}})
>>> 'class="gl-node gl-state-done"' in svg, ">bye</text>" in svg, "textLength" in svg
(True, True, True)
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Layout", "Shape", "DotMissing", "has_dot"]


class DotMissing(RuntimeError):
    """Graphviz's ``dot`` binary is not installed (the text plan is shown instead)."""


def has_dot() -> bool:
    """Whether graphviz's ``dot`` binary can be run here."""
    import shutil

    return shutil.which("dot") is not None


@dataclass
class Shape:
    """One graph object as drawn: its id, its kind (``graph``, ``cluster``, ``node`` or
    ``edge``), its xdot operations and the classes graphviz gave it."""

    id: str
    kind: str
    ops: list[dict[str, Any]] = field(default_factory=list)
    classes: str = ""


def _points(points: Sequence[Sequence[float]], height: float) -> list[tuple[float, float]]:
    return [(float(x), height - float(y)) for x, y in points]


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _path_d(pts: list[tuple[float, float]]) -> str:
    """A cubic B-spline as graphviz gives it: a start point, then three points per segment."""
    d = [f"M{_fmt(pts[0][0])},{_fmt(pts[0][1])}"]
    for i in range(1, len(pts) - 2, 3):
        (a, b), (c, e), (g, h) = pts[i], pts[i + 1], pts[i + 2]
        d.append(f"C{_fmt(a)},{_fmt(b)} {_fmt(c)},{_fmt(e)} {_fmt(g)},{_fmt(h)}")
    return " ".join(d)


class Layout:
    """A graphviz layout, drawn to SVG with new classes and texts each time.

    Parameters
    ----------
    data
        The parsed ``dot -Tjson`` output.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))
        self.width, self.height = x1 - x0 + 8, y1 - y0 + 8
        self.shapes: list[Shape] = [Shape("graph", "graph", _ops(data))]
        objects = data.get("objects", [])
        for obj in objects:  # clusters first (underneath), then nodes
            if "nodes" in obj or "edges" in obj or str(obj.get("name", "")).startswith("cluster"):
                self.shapes.append(Shape(str(obj.get("id") or obj["name"]), "cluster", _ops(obj)))
        for obj in objects:
            if not ("nodes" in obj or "edges" in obj or str(obj.get("name")).startswith("cluster")):
                self.shapes.append(Shape(str(obj.get("id") or obj["name"]), "node", _ops(obj)))
        names = {o.get("_gvid"): str(o.get("id") or o["name"]) for o in objects}
        for e in data.get("edges", []):
            eid = str(e.get("id") or f"{names.get(e['tail'])}->{names.get(e['head'])}")
            self.shapes.append(Shape(eid, "edge", _ops(e), str(e.get("class", ""))))

    @classmethod
    def from_dot(cls, source: str) -> Layout:
        """Lay ``source`` (DOT) out with graphviz's ``dot``; raises :class:`DotMissing`."""
        import graphviz

        try:
            raw = graphviz.Source(source).pipe(format="json")
        except graphviz.ExecutableNotFound as exc:
            raise DotMissing(str(exc)) from None
        return cls(json.loads(raw))

    def texts(self, shape_id: str) -> list[str]:
        """The texts of one object, in drawing order."""
        for s in self.shapes:
            if s.id == shape_id:
                return [op["text"] for op in s.ops if op["op"] == "T"]
        return []

    def svg(
        self,
        classes: Mapping[str, str] | None = None,
        texts: Mapping[str, Mapping[int, str]] | None = None,
        *,
        css: str = "",
        root_class: str = "",
    ) -> str:
        """The SVG drawing: ``classes[id]`` added to an object's group, ``texts[id][k]`` in
        place of its ``k``-th text (fitted into the width graphviz gave that text)."""
        classes = classes or {}
        texts = texts or {}
        h = self.height - 4
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{root_class}" '
            f'width="{_fmt(self.width)}pt" height="{_fmt(self.height)}pt" '
            f'viewBox="0 0 {_fmt(self.width)} {_fmt(self.height)}">'
        ]
        if css:
            out.append(f"<style>{css}</style>")
        out.append('<g transform="translate(4,4)">')
        for s in self.shapes:
            cls = " ".join(c for c in (f"gl-{s.kind}", s.classes, classes.get(s.id, "")) if c)
            out.append(f'<g class="{cls}" data-id="{html.escape(s.id)}">')
            out.extend(_draw(s.ops, h, texts.get(s.id, {})))
            out.append("</g>")
        out.append("</g></svg>")
        return "".join(out)


def _ops(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for key in ("_draw_", "_ldraw_", "_hdraw_", "_tdraw_") for op in obj.get(key, [])]


def _draw(ops: list[dict[str, Any]], height: float, replace: Mapping[int, str]) -> list[str]:
    """SVG elements for xdot operations (pen ``c``, fill ``C``, style ``S``, font ``F``/``t``,
    polygons ``p``/``P``, splines ``b``/``B``, ellipses ``e``/``E``, lines ``L``, text ``T``)."""
    out: list[str] = []
    pen, fill, font, size, bold, italic = "#000000", "none", "Helvetica", 14.0, False, False
    dashed = ""
    k = -1
    for op in ops:
        kind = op["op"]
        if kind == "c":
            pen = op.get("color", pen)
        elif kind == "C":
            fill = op.get("color", fill)
        elif kind == "S":
            style = op.get("style", "")
            if style.startswith("dashed"):
                dashed = ' stroke-dasharray="5,2"'
            elif style.startswith("dotted"):
                dashed = ' stroke-dasharray="1,3"'
            elif style.startswith("solid"):
                dashed = ""
        elif kind == "F":
            font, size = op.get("face", font), float(op.get("size", size))
        elif kind == "t":
            flags = int(op.get("fontchar", 0))
            bold, italic = bool(flags & 1), bool(flags & 2)
        elif kind in ("p", "P", "L"):
            pts = _points(op["points"], height)
            coords = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts)
            tag = "polyline" if kind == "L" else "polygon"
            paint = fill if kind == "P" else "none"
            out.append(
                f'<{tag} class="shape" fill="{paint}" stroke="{pen}"{dashed} points="{coords}"/>'
            )
        elif kind in ("b", "B"):
            d = _path_d(_points(op["points"], height))
            paint = fill if kind == "B" else "none"
            out.append(f'<path class="shape" fill="{paint}" stroke="{pen}"{dashed} d="{d}"/>')
        elif kind in ("e", "E"):
            (cx, cy), (rx, ry) = _points([op["rect"][:2]], height)[0], op["rect"][2:]
            paint = fill if kind == "E" else "none"
            out.append(
                f'<ellipse class="shape" fill="{paint}" stroke="{pen}"{dashed} '
                f'cx="{_fmt(cx)}" cy="{_fmt(cy)}" rx="{_fmt(rx)}" ry="{_fmt(ry)}"/>'
            )
        elif kind == "T":
            k += 1
            out.append(_text(op, k, replace, height, pen, font, size, bold, italic))
    return out


_ANCHOR = {"l": "start", "c": "middle", "r": "end"}


def _text(
    op: dict[str, Any],
    k: int,
    replace: Mapping[int, str],
    height: float,
    pen: str,
    font: str,
    size: float,
    bold: bool,
    italic: bool,
) -> str:
    x, y = op["pt"]
    text, width = op["text"], float(op["width"])
    if k in replace:  # a live figure in the width reserved for it: as long as it needs
        new = replace[k]
        width = width * min(1.0, len(new) / max(len(text), 1))
        text = new
    align = op.get("align", "c")
    weight = ' font-weight="bold"' if bold else ""
    slant = ' font-style="italic"' if italic else ""
    fit = f' textLength="{_fmt(width)}" lengthAdjust="spacingAndGlyphs"' if text.strip() else ""
    return (
        f'<text text-anchor="{_ANCHOR.get(align, "middle")}" x="{_fmt(x)}" '
        f'y="{_fmt(height - y)}" font-family="{html.escape(font)},Arial,sans-serif" '
        f'font-size="{_fmt(size)}" fill="{pen}"{weight}{slant}{fit} xml:space="preserve">'
        f"{html.escape(text)}</text>"
    )
