"""The look of the notebook views: the CSS of the live and static DAG, bars and tables
(the state colours are those of the static DAG, ``gleamnb.plan.dot.STATE_STYLES``)."""

from __future__ import annotations

from gleamnb.plan.dot import STATE_STYLES

__all__ = ["CSS"]


def _state_rules() -> str:
    rules = []
    for state, (fill, line) in {**STATE_STYLES, "cancelled": ("#fef3c7", "#d97706")}.items():
        rules.append(
            f".gl-dag .gl-node.gl-state-{state} .shape{{fill:{fill};stroke:{line}}}"
            f".gl-dag .gl-cluster.gl-state-{state} > .shape{{stroke:{line};fill:{fill};"
            "fill-opacity:0.25}"
            f".gl-progress tr.gl-state-{state} .gl-bar > div{{background:{line}}}"
        )
    return "".join(rules)


CSS = (
    ".gl-dag .gl-cluster.gl-state-running > .shape{stroke-width:2}"
    ".gl-dag .gl-edge.exchange .shape{stroke:#d97706}"
    ".gl-progress{border-collapse:collapse;font:12px/1.4 sans-serif;margin-top:4px}"
    ".gl-progress td,.gl-progress th{padding:1px 6px;text-align:right;white-space:nowrap}"
    ".gl-progress td:nth-child(2),.gl-progress th:nth-child(2){text-align:left}"
    ".gl-progress th{font-weight:600;color:#52525b;border-bottom:1px solid #e4e4e7}"
    ".gl-barcell{width:110px}"
    ".gl-bar{width:100px;height:8px;background:#e4e4e7;border-radius:4px;overflow:hidden}"
    ".gl-bar > div{height:100%;background:#a1a1aa}"
    ".gl-header{font:13px/1.6 sans-serif;padding:2px 0}"
    ".gl-status-failed .gl-word{color:#dc2626;font-weight:600}"
    ".gl-status-cancelled .gl-word{color:#d97706;font-weight:600}"
    ".gl-status-finished .gl-word{color:#16a34a;font-weight:600}"
    ".gl-status-running .gl-word{color:#2563eb;font-weight:600}"
    ".gl-note{font:12px sans-serif;color:#52525b}"
    ".gl-dag-box{overflow-x:auto}"
    ".gl-preview{font:12px sans-serif;margin-top:4px}"
    ".gl-preview table{border-collapse:collapse}"
    ".gl-preview td,.gl-preview th{padding:1px 8px;border-bottom:1px solid #f4f4f5}"
    ".gl-error{font:13px sans-serif;color:#991b1b;background:#fef2f2;padding:6px;"
    "border-left:3px solid #dc2626;white-space:pre-wrap}"
) + _state_rules()
