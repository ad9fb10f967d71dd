"""Interactive charts for the HTML reports: a Sankey of paths and a page-transition graph.

:func:`sankey` draws a :func:`helpers.paths.top_paths` table and :func:`transition_graph` a
:func:`helpers.paths.transitions` table with Apache ECharts (Apache-2.0, vendored in
``helpers/assets/``): hover for the numbers, drag a node to move it, click the chart and then
scroll to zoom and drag to pan. Each returns a :class:`Chart`, which a notebook displays as a
``<div>`` holding

* the chart's data as embedded JSON,
* a small inline script that draws it when the library is on the page (``window.echarts``),
* a static PNG (drawn with matplotlib by :func:`helpers.paths.plot_flow` or
  :func:`helpers.paths.plot_transitions`) that stays in place when it is not: in JupyterLab, in
  nbval's stored outputs, for a reader without JavaScript.

The library itself is never part of a notebook's output: :func:`helpers.report.to_html` inlines
it once into each report page that holds a chart (:func:`embed_library`), so the page draws with
no network. The output is deterministic: sorted JSON, element ids derived from the content.

Examples
--------
>>> top = pd.DataFrame({"path": ["home → product", "home", "search"],
...                     "sessions": [2, 1, 1], "purchases": [1, 0, 0]})
>>> chart = sankey(top, fallback=False)
>>> chart
Sankey of 3 paths (4 sessions, up to 2 steps): interactive in the HTML report
>>> [(k["source"], k["target"], k["value"]) for k in chart.option["series"][0]["links"]]
[('home (step 1)', 'did not buy', 1), ('home (step 1)', 'product (step 2)', 2), ('product (step 2)', 'bought', 1), ('product (step 2)', 'did not buy', 1), ('search (step 1)', 'did not buy', 1)]
>>> 'data-kit-chart="sankey"' in chart.to_html()
True
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import require_columns
from helpers.narrate import plural

ASSETS = Path(__file__).resolve().parent / "assets"
LIBRARY = ASSETS / "echarts.min.js"
"""Apache ECharts' standalone minified build (see ``assets/README.md`` for its source)."""

BOUGHT, NOT_BOUGHT = "bought", "did not buy"
"""End nodes of :func:`sankey`: how the sessions on each path ended."""

_CHART_DIV = re.compile(r'<div\b[^>]*\bdata-kit-chart="')
_LIBRARY_ATTR = "data-kit-library"

# Draws the chart when ECharts is on the page; otherwise the fallback image stays. The chart
# captures the mouse wheel only after a click, so that scrolling the report is not hijacked.
_DRAW_JS = """(function(){
var box=document.currentScript&&document.currentScript.parentNode;
function draw(){
if(!window.echarts||!box||box.getAttribute('data-kit-drawn'))return;
var spec=JSON.parse(box.querySelector('script.kit-chart-data').textContent);
var host=document.createElement('div');
host.className='kit-chart-canvas';
host.style.cssText='width:100%;height:'+spec.height+'px';
box.insertBefore(host,box.firstChild);
var img=box.querySelector('img.kit-chart-fallback');
if(img)img.style.display='none';
function text(key){return function(p){return(p.data&&p.data[key])||p.name;};}
spec.option.tooltip.formatter=text('tip');
spec.option.series.forEach(function(s){s.label.formatter=text('short');});
var chart=echarts.init(host,null,{renderer:'canvas'});
chart.setOption(spec.option);
function roam(on){chart.setOption({series:[{roam:on}]});}
host.addEventListener('click',function(){roam(true);});
host.addEventListener('mouseleave',function(){roam(false);});
window.addEventListener('resize',function(){chart.resize();});
box.setAttribute('data-kit-drawn','1');
}
if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',draw);
else draw();
})();"""

_FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif"
_HINT = "Hover for numbers · drag a node to move it · click, then scroll to zoom and drag to pan"


@dataclass(frozen=True)
class Chart:
    """An interactive chart for the HTML report, with a static image for everywhere else.

    Attributes
    ----------
    kind : str
        ``"sankey"`` or ``"graph"``.
    option : dict
        The ECharts option (JSON-ready); tooltips are the ``tip`` text of each data item.
    description : str
        One line saying what the chart shows (the ``text/plain`` of the notebook output).
    height : int
        Height of the drawn chart in pixels.
    fallback_png : bytes or None
        The static picture shown where the chart is not drawn.
    """

    kind: str
    option: dict
    description: str
    height: int
    fallback_png: bytes | None = field(default=None, repr=False)

    def data_json(self) -> str:
        """The embedded JSON: ``{"height", "kind", "option"}`` with sorted keys, safe inside
        a ``<script>`` element (``<``, ``>`` and ``&`` escaped as JSON unicode escapes)."""
        text = json.dumps({"height": self.height, "kind": self.kind, "option": self.option},
                          sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    @property
    def element_id(self) -> str:
        """``kit-<kind>-<hash of the data>``: the same chart gets the same id on every run."""
        digest = hashlib.sha256(self.data_json().encode("utf-8")).hexdigest()[:12]
        return f"kit-{self.kind}-{digest}"

    def to_html(self) -> str:
        """The ``<div>``: fallback image, embedded JSON and the drawing script."""
        img = ""
        if self.fallback_png is not None:
            data = base64.b64encode(self.fallback_png).decode("ascii")
            img = (f'<img class="kit-chart-fallback" alt="{html.escape(self.description)}" '
                   f'style="max-width:100%" src="data:image/png;base64,{data}">')
        return (f'<div class="kit-chart" id="{self.element_id}" data-kit-chart="{self.kind}">'
                f"{img}"
                f'<script type="application/json" class="kit-chart-data">{self.data_json()}'
                f"</script><script>{_DRAW_JS}</script></div>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.to_html(), "text/plain": self.description}

    def __repr__(self) -> str:
        return self.description


# --------------------------------------------------------------------------- Sankey



def _frame(title: str) -> dict:
    """The parts of a chart's option every chart of the report shares: title, font, tooltip."""
    return {"animation": False, "textStyle": {"fontFamily": _FONT},
            "title": {"text": title, "subtext": _HINT, "left": 0, "top": 0,
                      "textStyle": {"fontSize": 15}, "subtextStyle": {"color": "#555"}},
            "tooltip": {"trigger": "item", "confine": True},
            "toolbox": {"right": 8, "top": 0, "feature": {"restore": {"title": "reset"}}}}

def sankey(top: pd.DataFrame, *, title: str = "Top paths, step by step",
           outcome: bool = True, fallback: bool = True, height: int | None = None) -> Chart:
    """A Sankey diagram of :func:`helpers.paths.top_paths`: sessions flowing step by step.

    Each path's steps are nodes named by state and position (``"product (step 2)"``), so a page
    seen at two positions is two nodes and the diagram has no cycles; paths that share their
    first steps share those nodes and links. A link's width is the number of sessions that took
    it. With ``outcome``, the last step of each path flows on into ``"bought"`` and
    ``"did not buy"`` (the path's ``purchases`` and the rest), so every node's outflow equals
    its inflow. A ``"(other paths)"`` row (:func:`helpers.paths.add_other`) is one first-step
    node; a path cut at ``max_steps`` ends in a ``"… (step k)"`` node (more steps).

    Parameters
    ----------
    top : DataFrame
        Needs ``path`` (states joined by ``" → "``), ``sessions`` and ``purchases``.
        ``top.attrs["sessions"]`` (all sessions, as top_paths sets it) is the base of the
        shares in the tooltips; without it, the sessions in the table.
    title : str
        Title drawn above the chart.
    outcome : bool
        Add the ``"bought"`` / ``"did not buy"`` end nodes.
    fallback : bool
        Embed a static PNG (:func:`helpers.paths.plot_flow`) for readers without JavaScript.
    height : int, optional
        Chart height in pixels (default: from the number of nodes per step).

    Returns
    -------
    Chart
        ``option["series"][0]`` holds ``data`` (nodes: ``name``, ``short`` = the label drawn,
        ``step``, ``value`` = sessions through the node, ``tip``) and ``links`` (``source``,
        ``target``, ``value`` = sessions, ``tip``), sorted by source and target.

    Examples
    --------
    >>> top = pd.DataFrame({"path": ["home → search", "home"], "sessions": [30, 10],
    ...                     "purchases": [3, 0]})
    >>> top.attrs["sessions"] = 100
    >>> links = sankey(top, fallback=False).option["series"][0]["links"]
    >>> [(k["source"], k["target"], k["value"]) for k in links]
    [('home (step 1)', 'did not buy', 10), ('home (step 1)', 'search (step 2)', 30), ('search (step 2)', 'bought', 3), ('search (step 2)', 'did not buy', 27)]
    >>> links[1]["tip"]
    'home → search · step 1 → 2<br>30 sessions · 75.0 % of those at home · 30.0 % of all sessions'
    """
    from helpers.paths import MORE, OTHER

    require_columns(top, "top_paths", ["path", "sessions", "purchases"])
    if top.empty:
        raise ValueError("top_paths: the table has no rows; there are no paths to draw")
    sessions = _counts(top["sessions"], "top_paths", "sessions")
    bought = _counts(top["purchases"], "top_paths", "purchases")
    over = np.flatnonzero(bought > sessions)
    if len(over):
        raise ValueError(f"top_paths.purchases: {len(over)} row(s) with more purchases than "
                         f"sessions, e.g. path {top['path'].iloc[over[0]]!r}")
    paths = top["path"]
    if paths.isna().any() or (paths.astype(str).str.strip() == "").any():
        raise ValueError("top_paths.path: empty path(s); a path is states joined by ' → '")
    total = int(top.attrs.get("sessions") or sessions.sum())
    if total < sessions.sum():
        raise ValueError(f"top_paths.sessions: the rows add up to {int(sessions.sum()):,} "
                         f"sessions, more than the {total:,} of .attrs['sessions']")

    flows: dict[tuple[str, str], int] = {}
    at: dict[str, int] = {}  # sessions through each node
    step_of: dict[str, int] = {}
    state_of: dict[str, str] = {}
    for path, n, k in zip(paths.astype(str), sessions.tolist(), bought.tolist()):
        states = [path] if path == OTHER else path.split(" → ")
        keys = [s if s == OTHER else f"{s} (step {j})" for j, s in enumerate(states, 1)]
        for j, (s, key) in enumerate(zip(states, keys), 1):
            at[key] = at.get(key, 0) + n
            step_of[key], state_of[key] = j, s
        for a, b in pairwise(keys):
            flows[a, b] = flows.get((a, b), 0) + n
        if outcome:
            for end, m in ((BOUGHT, k), (NOT_BOUGHT, n - k)):
                if m:
                    flows[keys[-1], end] = flows.get((keys[-1], end), 0) + m
    last = max(step_of.values())
    if outcome:
        for end in (BOUGHT, NOT_BOUGHT):
            m = sum(v for (_, b), v in flows.items() if b == end)
            if m:
                at[end], step_of[end], state_of[end] = m, last + 1, end

    colors = _state_colors([s for s in set(state_of.values())
                            if s not in (OTHER, BOUGHT, NOT_BOUGHT)])
    colors.update({OTHER: "#d0d0d0", BOUGHT: "#1b7837", NOT_BOUGHT: "#b8b8b8"})
    listed = int(sessions.sum())
    nodes = []
    for key in sorted(at, key=lambda x: (step_of[x], -at[x], x)):
        s, j, n = state_of[key], step_of[key], at[key]
        name = "more steps" if s == MORE else s
        if key in (BOUGHT, NOT_BOUGHT):
            tip = (f"<b>{html.escape(s)}</b><br>{plural(n, 'session')} · {_pct(n / listed)} of the "
                   f"sessions on these paths")
        elif s == OTHER:
            tip = (f"<b>{html.escape(s)}</b><br>{plural(n, 'session')} · {_pct(n / total)} of all "
                   f"sessions")
        else:
            tip = (f"<b>{html.escape(name)}</b> · step {j}<br>{plural(n, 'session')} · "
                   f"{_pct(n / total)} of all sessions")
        nodes.append({"name": key, "short": name, "step": j, "value": n, "tip": tip,
                      "itemStyle": {"color": colors[s]}})
    links = []
    for (a, b), n in sorted(flows.items()):
        src = state_of[a] if state_of[a] != MORE else "more steps"
        if b in (BOUGHT, NOT_BOUGHT):
            head = f"{html.escape(src)} → {b}"
        else:
            dst = state_of[b] if state_of[b] != MORE else "more steps"
            head = (f"{html.escape(src)} → {html.escape(dst)} · "
                    f"step {step_of[a]} → {step_of[b]}")
        tip = (f"{head}<br>{plural(n, 'session')} · {_pct(n / at[a])} of those at "
               f"{html.escape(src)} · {_pct(n / total)} of all sessions")
        links.append({"source": a, "target": b, "value": n, "tip": tip})

    per_step = max(sum(1 for k in at if step_of[k] == j) for j in set(step_of.values()))
    height = int(height or min(900, max(340, 120 + 56 * per_step)))
    shown = (f"{plural(len(top), 'path')} ({plural(listed, 'session')}, up to "
             f"{plural(last, 'step')})")
    option = {
        **_frame(title),
        "series": [{
            "type": "sankey", "data": nodes, "links": links,
            "left": 8, "right": 96, "top": 64, "bottom": 12,
            "nodeWidth": 14, "nodeGap": 16, "nodeAlign": "justify", "layoutIterations": 32,
            "draggable": True, "roam": False,
            "emphasis": {"focus": "adjacency"},
            "label": {"fontSize": 12, "color": "#222"},
            "lineStyle": {"color": "source", "opacity": 0.35, "curveness": 0.5},
        }],
    }
    png = None
    if fallback:
        from helpers.paths import plot_flow

        listed_paths = (paths != OTHER).to_numpy()
        drawn = top.loc[listed_paths, ["path", "sessions"]].copy()
        drawn["conversion"] = bought[listed_paths] / np.maximum(sessions[listed_paths], 1)
        png = _png(plot_flow(drawn, title=title).figure) if len(drawn) else None
    return _chart("sankey", option, f"Sankey of {shown}: interactive in the HTML report",
                  height, png)


# --------------------------------------------------------------------------- graph


def transition_graph(tr: pd.DataFrame, *, order=None, min_probability: float = 0.01,
                     title: str = "Where visitors go next", fallback: bool = True,
                     height: int | None = None) -> Chart:
    """A directed graph of :func:`helpers.paths.transitions`: states as nodes, moves as arrows.

    Nodes are the states with ``(start)`` on the left and ``(exit)`` on the right, the others
    in ``order`` (default :data:`helpers.paths.PAGE_ORDER`, then the canonical event names, then
    alphabetically) from left to right, alternately above and below the middle line. A node's
    size is its visits (transitions into it; for ``(start)``, the sessions), an arrow's width
    its count. Hovering an arrow shows the count and its share of the moves out of its state;
    hovering a node, its visits, how often the next step is the same state (a self-loop, which
    is not drawn as an arrow) and how often the visit ends there.

    Parameters
    ----------
    tr : DataFrame
        Needs ``from``, ``to``, ``n`` and ``probability`` (P(to | from)).
    order : list of str, optional
        Left-to-right order of the states.
    min_probability : float
        Arrows with a smaller probability are left out (their moves still count in the
        nodes); 0 keeps every arrow.
    title : str
        Title drawn above the chart.
    fallback : bool
        Embed a static PNG (:func:`helpers.paths.plot_transitions`) for readers without
        JavaScript.
    height : int, optional
        Chart height in pixels.

    Returns
    -------
    Chart
        ``option["series"][0]`` holds ``data`` (nodes: ``name``, ``value`` = visits,
        ``repeats`` = self-loop count, ``tip``) and ``links`` (``source``, ``target``,
        ``value`` = n, ``probability``, ``tip``; self-loops excluded), in the table's order.

    Examples
    --------
    >>> tr = pd.DataFrame({"from": ["(start)", "home", "home", "product"],
    ...                    "to": ["home", "product", "(exit)", "(exit)"],
    ...                    "n": [4, 3, 1, 3], "probability": [1.0, 0.75, 0.25, 1.0]})
    >>> g = transition_graph(tr, fallback=False).option["series"][0]
    >>> [(d["name"], d["value"]) for d in g["data"]]
    [('(start)', 4), ('home', 4), ('product', 3), ('(exit)', 4)]
    >>> g["links"][1]["tip"]
    'home → product<br>3 moves · 75.0 % of the moves out of home'
    """
    from helpers.data import EVENT_NAMES
    from helpers.paths import EXIT, PAGE_ORDER, START, plot_transitions

    require_columns(tr, "transitions", ["from", "to", "n", "probability"])
    if tr.empty:
        raise ValueError("transitions: the table has no rows; there is no graph to draw")
    n = _counts(tr["n"], "transitions", "n")
    prob = pd.to_numeric(tr["probability"], errors="coerce").to_numpy(dtype=float)
    if not np.all((prob >= 0) & (prob <= 1)):
        raise ValueError("transitions.probability: values must be between 0 and 1 (no NaN)")
    if not 0 <= float(min_probability) < 1:
        raise ValueError(f"min_probability must be in [0, 1), got {min_probability}")
    frm, to = tr["from"].astype(str).to_numpy(), tr["to"].astype(str).to_numpy()

    states = sorted((set(frm) | set(to)) - {START, EXIT})
    first = list(order) if order is not None else list(PAGE_ORDER) + list(EVENT_NAMES)
    states = [s for s in dict.fromkeys(first) if s in states] + [s for s in states
                                                                 if s not in first]
    names = ([START] if START in frm else []) + states + ([EXIT] if EXIT in to else [])
    into = pd.Series(n, index=to).groupby(level=0).sum()
    out = pd.Series(n, index=frm).groupby(level=0).sum()
    visits = {s: int(out.get(s, 0) if s == START else into.get(s, 0)) for s in names}
    loops = {s: int(n[(frm == s) & (to == s)].sum()) for s in names}
    exits = {s: int(n[(frm == s) & (to == EXIT)].sum()) for s in names}

    span = max(len(states) + 1, 2)
    rise = max(1.2, span / 7)  # keeps the drawing about three times as wide as high
    pos = {START: (0.0, 0.0), EXIT: (float(span), 0.0)}
    for i, s in enumerate(states, 1):
        pos[s] = (float(i), -rise if i % 2 else rise)  # zig-zag: arrows pass their neighbours
    colors = _state_colors(states, palette=None)
    colors.update({START: "#4d4d4d", EXIT: "#4d4d4d"})
    top_v = max(visits.values()) or 1
    nodes = []
    for s in names:
        v = visits[s]
        if s == START:
            tip = f"<b>{START}</b><br>{plural(v, 'visit')} begin here"
        elif s == EXIT:
            tip = f"<b>{EXIT}</b><br>{plural(v, 'visit')} end here"
        else:
            o = int(out.get(s, 0)) or 1
            tip = (f"<b>{html.escape(s)}</b><br>{plural(v, 'visit')}<br>{_pct(loops[s] / o)} of "
                   f"the moves out stay on {html.escape(s)}<br>{_pct(exits[s] / o)} end the visit")
        x, y = pos[s]
        nodes.append({"name": s, "value": v, "tip": tip, "x": round(100 * x, 2),
                      "y": round(100 * y, 2), "repeats": loops[s],
                      "symbolSize": round(16 + 40 * math.sqrt(v / top_v), 2),
                      "itemStyle": {"color": colors[s]},
                      "label": {"position": "top" if pos[s][1] < 0 else "bottom"}})
    # a self-loop would be drawn as nothing: its count is the node's "repeats" instead
    keep = (prob >= float(min_probability)) & (frm != to)
    top_n = int(n[keep].max()) if keep.any() else 1
    links = []
    for a, b, m, p in zip(frm[keep], to[keep], n[keep].tolist(), prob[keep].tolist()):
        tip = (f"{html.escape(a)} → {html.escape(b)}<br>{plural(m, 'move')} · {_pct(p)} of the "
               f"moves out of {html.escape(a)}")
        links.append({"source": a, "target": b, "value": m, "probability": round(p, 6),
                      "tip": tip,
                      "lineStyle": {"color": colors[a],
                                    "width": round(0.8 + 9 * math.sqrt(m / top_n), 2),
                                    "opacity": round(0.35 + 0.55 * p, 3)}})
    hidden = int(((prob < float(min_probability)) & (frm != to)).sum())
    height = int(height or 460)
    note = f" ({plural(hidden, 'arrow')} under {_pct(min_probability)} left out)" if hidden else ""
    option = {
        **_frame(title),
        "series": [{
            "type": "graph", "layout": "none", "data": nodes, "links": links,
            "left": 50, "right": 50, "top": 100, "bottom": 50, "preserveAspect": True,
            "roam": False, "draggable": True, "autoCurveness": True,
            "edgeSymbol": ["none", "arrow"], "edgeSymbolSize": [0, 9],
            "label": {"show": True, "fontSize": 12, "color": "#222"},
            "emphasis": {"focus": "adjacency", "lineStyle": {"opacity": 0.95}},
        }],
    }
    png = None
    if fallback:
        png = _png(plot_transitions(tr, order=first, title=title).figure)
    shown = f"{plural(len(names), 'state')} and {plural(len(links), 'arrow')}{note}"
    return _chart("graph", option, f"Transition graph of {shown}: interactive in the HTML "
                  "report", height, png)


# --------------------------------------------------------------------------- the page


@cache
def library_script() -> str:
    """The ``<script>`` element that puts ECharts on a page (read once from the assets).

    The library is wrapped so that it always defines ``window.echarts``, even on a page that
    also loads an AMD or CommonJS module loader.
    """
    text = LIBRARY.read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise ValueError(f"{LIBRARY}: contains '</script', cannot be inlined")
    version = re.search(r'\.version="([^"]+)"', text)
    tag = f'echarts {version[1] if version else "unknown"}'
    return (f'<script {_LIBRARY_ATTR}="{tag}">(function(define,exports,module){{\n{text}\n}})'
            ".call(window);</script>")


def has_charts(page: str) -> bool:
    """Whether an HTML page holds a chart of this module (a ``<div data-kit-chart=...>``).

    >>> has_charts('<div class="kit-chart" data-kit-chart="sankey"></div>'), has_charts("<p>")
    (True, False)
    """
    return bool(_CHART_DIV.search(page))


def embed_library(page: str) -> str:
    """``page`` with the library inlined once at the end of its ``<head>`` when it holds a
    chart (at the start of the page when it has no head); other pages are returned unchanged.

    >>> embed_library("<html><head></head><body><p>no chart</p></body></html>")
    '<html><head></head><body><p>no chart</p></body></html>'
    >>> page = embed_library('<head></head><div data-kit-chart="graph"></div>')
    >>> page.count("data-kit-library="), embed_library(page) == page
    (1, True)
    """
    if not has_charts(page) or f"<script {_LIBRARY_ATTR}=" in page:
        return page
    script = library_script()
    if "</head>" in page:
        return page.replace("</head>", f"{script}\n</head>", 1)
    return script + page


# --------------------------------------------------------------------------- private


def _chart(kind: str, option: dict, description: str, height: int, png) -> Chart:
    """The :class:`Chart`, its description also read out by screen readers (ECharts' aria)."""
    option["aria"] = {"enabled": True, "label": {"description": description}}
    return Chart(kind, option, description, height, png)


def _counts(s: pd.Series, table: str, col: str) -> np.ndarray:
    """Non-negative whole numbers, else a ValueError naming the column."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0) | (v != np.round(v)))
    if len(bad):
        raise ValueError(f"{table}.{col}: {len(bad)} value(s) that are not counts (whole "
                         f"numbers >= 0), e.g. {s.iloc[bad[0]]!r} in row {bad[0]}")
    return v.astype(np.int64)


def _pct(x: float) -> str:
    """A share as a report writes it: one decimal and a space before the sign."""
    return f"{100 * x:.1f} %"


def _state_colors(states: list[str], palette: str | None = "Set2") -> dict:
    """One colour per state: by default as :func:`helpers.paths.plot_flow` gives them (Set2,
    sorted); ``palette=None`` is the kit's darker colour-blind palette, for thin arrows."""
    import seaborn as sns

    from helpers.plots import PALETTE

    names = sorted(states)
    return dict(zip(names, sns.color_palette(palette or PALETTE, max(len(names), 8)).as_hex()))


def _png(fig) -> bytes:
    """The figure as PNG bytes, the same on every run (no software or date metadata); closed
    so that a notebook does not show it a second time."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()
