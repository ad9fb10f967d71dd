"""helpers.interactive: the Sankey of paths and the transition graph, embedded in offline reports.

The chart data in the HTML must be the input table's counts; a report page that shows a chart
inlines the library once and references nothing on the network; headless Chromium, with the
network cut off, draws both charts of notebook 02's report.
"""

import json
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import interactive, paths, report

ROOT = report.ROOT
NB02 = ROOT / "notebooks" / "02_browsing_paths.ipynb"
# nbconvert rewrites the outputs' tags (attributes sorted), so no attribute order is assumed
_DATA = re.compile(r'<script\b[^>]*\bclass="kit-chart-data"[^>]*>(.*?)</script>', re.DOTALL)
_BOX = re.compile(r'<div\b[^>]*\bdata-kit-chart="(\w+)"[^>]*>')
_REMOTE = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def embedded(page: str) -> list[dict]:
    """The chart specs embedded in an HTML page, parsed back from their JSON."""
    return [json.loads(m) for m in _DATA.findall(page)]


def three_sessions() -> pd.DataFrame:
    """s1: home → product → product → cart, bought; s2: home → product; s3: search."""
    t = pd.date_range("2025-03-01 10:00", periods=4, freq="min", tz="UTC")
    return pd.DataFrame({
        "session_id": ["s1"] * 5 + ["s2"] * 2 + ["s3"],
        "ts": list(t) + [t[3]] + list(t[:2]) + [t[0]],
        "page_type": ["home", "product", "product", "cart", "cart", "home", "product", "search"],
        "event": ["page_view", "view_item", "view_item", "add_to_cart", "purchase",
                  "page_view", "view_item", "search"]})


def test_sankey_links_are_the_sessions_of_each_step():
    top = paths.top_paths(three_sessions(), n=10)
    [spec] = embedded(interactive.sankey(top, fallback=False).to_html())
    series = spec["option"]["series"][0]
    links = {(k["source"], k["target"]): k["value"] for k in series["links"]}
    assert links == {("home (step 1)", "product (step 2)"): 2,
                     ("product (step 2)", "cart (step 3)"): 1,
                     ("product (step 2)", "did not buy"): 1,
                     ("cart (step 3)", "bought"): 1,
                     ("search (step 1)", "did not buy"): 1}
    nodes = {d["name"]: (d["value"], d["short"], d["step"]) for d in series["data"]}
    assert nodes["product (step 2)"] == (2, "product", 2)
    assert nodes["bought"] == (1, "bought", 4) and nodes["did not buy"] == (2, "did not buy", 4)
    tip = next(k["tip"] for k in series["links"] if k["target"] == "cart (step 3)")
    assert tip == ("product → cart · step 2 → 3<br>1 session · 50.0 % of those at product"
                   " · 33.3 % of all sessions")


def random_log(sessions=1500, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pages = np.array(["home", "search", "category", "product", "cart", "checkout"])
    lengths = rng.integers(1, 9, sessions)
    sid = np.repeat(np.arange(sessions), lengths)
    page = pages[rng.integers(0, len(pages), len(sid))]
    bought = rng.random(sessions) < 0.2
    event = np.where(page == "checkout", "begin_checkout", "page_view").astype(object)
    last = np.cumsum(lengths) - 1
    event[last[bought]] = "purchase"
    ts = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(np.arange(len(sid)), unit="s")
    return pd.DataFrame({"session_id": sid, "ts": ts, "page_type": page, "event": event})


def test_sankey_flows_reconcile_with_top_paths():
    top = paths.top_paths(random_log(), max_steps=3, n=25, other=True)
    series = interactive.sankey(top, fallback=False).option["series"][0]
    out, into = {}, {}
    for k in series["links"]:
        out[k["source"]] = out.get(k["source"], 0) + k["value"]
        into[k["target"]] = into.get(k["target"], 0) + k["value"]
    listed = top.loc[top["path"] != paths.OTHER]
    firsts = listed["path"].str.split(" → ").str[0]
    for state, n in listed.groupby(firsts)["sessions"].sum().items():
        assert out[f"{state} (step 1)"] == n, state
    assert out[paths.OTHER] == top.attrs["sessions"] - listed["sessions"].sum()
    for node in series["data"]:  # every node but the first and last column passes its flow on
        name = node["name"]
        if name in into and name in out:
            assert into[name] == out[name] == node["value"], name
    assert into["bought"] == top["purchases"].sum() == top.attrs["purchases"]
    assert into["bought"] + into["did not buy"] == top.attrs["sessions"]
    assert any(d["short"] == "more steps" for d in series["data"])  # paths cut at max_steps


def test_transition_graph_arrows_are_the_transition_counts():
    tr = paths.transitions(three_sessions(), by="page_type")
    [spec] = embedded(interactive.transition_graph(tr, min_probability=0, fallback=False)
                      .to_html())
    series = spec["option"]["series"][0]
    got = {(k["source"], k["target"]): (k["value"], k["probability"]) for k in series["links"]}
    moves = tr.loc[tr["from"] != tr["to"]]
    assert got == {(a, b): (n, round(p, 6)) for a, b, n, p in
                   zip(moves["from"], moves["to"], moves["n"], moves["probability"])}
    assert got[("product", "cart")] == (1, round(1 / 3, 6))
    assert got[("(start)", "home")] == (2, round(2 / 3, 6))
    nodes = {d["name"]: d for d in series["data"]}
    assert [d["name"] for d in series["data"]] == ["(start)", "home", "search", "product", "cart",
                                                  "(exit)"]
    assert nodes["product"]["value"] == 3 and nodes["product"]["repeats"] == 1
    assert nodes["cart"]["repeats"] == 1 and nodes["(start)"]["value"] == 3
    assert nodes["product"]["tip"] == ("<b>product</b><br>3 visits<br>33.3 % of the moves out "
                                       "stay on product<br>33.3 % end the visit")
    assert spec["option"]["series"][0]["edgeSymbol"] == ["none", "arrow"]


def test_small_arrows_are_left_out_but_counted():
    tr = pd.DataFrame({"from": ["(start)", "a", "a", "a"], "to": ["a", "b", "(exit)", "c"],
                       "n": [1000, 980, 15, 5], "probability": [1.0, 0.98, 0.015, 0.005]})
    g = interactive.transition_graph(tr, min_probability=0.01, fallback=False)
    assert [(k["source"], k["target"]) for k in g.option["series"][0]["links"]] == [
        ("(start)", "a"), ("a", "b"), ("a", "(exit)")]
    assert "1 arrow under 1.0 % left out" in g.description
    assert {d["name"]: d["value"] for d in g.option["series"][0]["data"]}["c"] == 5


def test_output_is_deterministic_and_holds_a_fallback_image():
    top = paths.top_paths(three_sessions())
    a, b = interactive.sankey(top), interactive.sankey(top)
    assert a.to_html() == b.to_html() and a.fallback_png == b.fallback_png
    assert a.element_id.startswith("kit-sankey-") and a.element_id in a.to_html()
    html = a.to_html()
    assert html.count('<img class="kit-chart-fallback"') == 1 and "data:image/png;base64," in html
    bundle = a._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and bundle["text/plain"] == repr(a)
    assert "echarts.min" not in html and "data-kit-library" not in html  # never the library
    tr = paths.transitions(three_sessions(), by="page_type")
    assert interactive.transition_graph(tr).to_html() == interactive.transition_graph(tr).to_html()


def test_bad_tables_are_refused_naming_the_column():
    top = paths.top_paths(three_sessions())
    with pytest.raises(ValueError, match="sessions"):
        interactive.sankey(top.drop(columns="sessions"))
    with pytest.raises(ValueError, match=r"top_paths\.purchases"):
        interactive.sankey(top.assign(purchases=-1))
    with pytest.raises(ValueError, match=r"top_paths\.purchases: .* more purchases than sessions"):
        interactive.sankey(top.assign(purchases=top["sessions"] + 1))
    with pytest.raises(ValueError, match="no rows"):
        interactive.sankey(top.iloc[:0])
    tr = paths.transitions(three_sessions(), by="page_type")
    with pytest.raises(ValueError, match="probability"):
        interactive.transition_graph(tr.drop(columns="probability"))
    with pytest.raises(ValueError, match=r"transitions\.probability"):
        interactive.transition_graph(tr.assign(probability=1.5))
    with pytest.raises(ValueError, match=r"transitions\.n"):
        interactive.transition_graph(tr.assign(n=0.5))
    with pytest.raises(ValueError, match="min_probability"):
        interactive.transition_graph(tr, min_probability=1)


def test_the_library_fetches_nothing():
    script = interactive.library_script()
    assert report.external_references(script) == [] and not _REMOTE.search(script)
    # the only URLs in it are XML namespaces and licence links, none of them loaded
    urls = set(re.findall(r"https?://[^\s\"'()]+", script))
    assert urls and all(re.match(r"https?://(www\.w3\.org/|www\.apache\.org/licenses/"
                                 r"|github\.com/ecomfe/zrender/)", u) for u in urls), urls
    assert script.lower().count("</script") == 1


# --------------------------------------------------------------------------- report pages


@pytest.fixture(scope="module")
def pages():
    nb = nbformat.read(NB02, as_version=4)
    return nb, {"story": report.to_html(nb, hide_code=True), "code": report.to_html(nb)}


def test_notebook_02_stores_the_charts_without_the_library(pages):
    nb, _ = pages
    htmls = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if 'data-kit-chart="' in o.get("data", {}).get("text/html", "")]
    assert len(htmls) == 2
    text = NB02.read_text(encoding="utf-8")
    assert "data-kit-library" not in text and 'version="6.1.0"' not in text


def test_report_page_inlines_the_library_once_and_references_no_network(pages):
    nb, by = pages
    stored = [s for c in nb.cells if c.cell_type == "code" for o in c.outputs
              for s in embedded(o.get("data", {}).get("text/html", ""))]
    for name, page in by.items():
        assert report.external_references(page) == [], name
        assert not _REMOTE.search(page), (name, _REMOTE.search(page))
        assert page.count("<script data-kit-library=") == 1, name
        assert page.count(interactive.LIBRARY.read_text(encoding="utf-8")) == 1, name
        assert page.index("data-kit-library=") < page.index('data-kit-chart="'), name
        assert sorted(s["kind"] for s in embedded(page)) == ["graph", "sankey"], name
        assert embedded(page) == stored, name


def test_pages_without_charts_do_not_grow():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\nNo chart here.")])
    page = report.to_html(nb)
    assert "data-kit-library" not in page and len(page) < 400_000
    top = paths.top_paths(three_sessions())
    chart = interactive.sankey(top, fallback=False)
    cell = nbformat.v4.new_code_cell("interactive.sankey(top)", outputs=[
        nbformat.v4.new_output("display_data", data=chart._repr_mimebundle_()) for _ in range(2)])
    nb.cells.append(cell)
    with_charts = report.to_html(nb)
    assert with_charts.count("<script data-kit-library=") == 1
    assert len(with_charts) - len(page) > interactive.LIBRARY.stat().st_size


# --------------------------------------------------------------------------- in a browser


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")


def _dump_dom(page, tmp_path) -> str:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not on PATH (apt-get install chromium): browser check skipped")
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    # the proxy on port 9 (discard) cuts the browser off the network: a fetch would fail
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9",
           "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=5000", "--dump-dom",
           path.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_charts_draw_in_headless_chromium_with_the_network_off(pages, tmp_path):
    _, by = pages
    dom = _dump_dom(by["story"], tmp_path)
    drawn = sorted(m[1] for m in _BOX.finditer(dom) if 'data-kit-drawn="1"' in m[0])
    assert drawn == ["graph", "sankey"], _BOX.findall(dom)
    assert dom.count("_echarts_instance_=") == 2 and dom.count("<canvas") >= 2
    hidden = [t for t in re.findall(r"<img\b[^>]*>", dom) if "kit-chart-fallback" in t]
    assert len(hidden) == 2 and all("display: none" in t for t in hidden), hidden


def test_without_the_library_the_fallback_image_stays(tmp_path):
    top = paths.top_paths(three_sessions())
    dom = _dump_dom(f"<html><body>{interactive.sankey(top).to_html()}</body></html>", tmp_path)
    assert "_echarts_instance_=" not in dom and "data-kit-drawn=" not in dom
    img = re.search(r'<img\b[^>]*\bclass="kit-chart-fallback"[^>]*>', dom)
    assert img and "display: none" not in img[0]
