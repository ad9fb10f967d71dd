"""The story reports read like a report: checked on the HTML of every committed notebook.

The committed notebooks hold the bundled shop's outputs (nbval keeps them identical to a fresh
run), so their story HTML is exactly what ``make report`` writes for the bundled shop. A table
cell may not be in scientific notation, a bare fraction with four or more decimals, or cut
with "..."; no output may be a raw Python repr or show a customer identifier column; every
relative link must resolve inside reports/, and every page links back to the index.
"""

import re
from html.parser import HTMLParser

import nbformat
import pytest

from helpers import report

BOOKS = report.notebooks()

SCI = re.compile(r"\d(?:\.\d+)?e[+-]?\d+", re.IGNORECASE)
LONG_FRACTION = re.compile(r"^[-−+]?\d*\.\d{4,}$")
REPRS = ("Store(", "dtype:", "Timestamp(", "Timedelta(", "<pandas.", " object at 0x", "Name: ")
ID_HEADERS = {"user_id", "customer_id", "user_pseudo_id", "customer_unique_id"}


class _Cells(HTMLParser):
    """Table cells (td and th text) and link targets of an HTML page."""

    def __init__(self):
        super().__init__()
        self.cells, self.heads, self.links, self._in = [], [], [], None
        self._buf = []

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in, self._buf = tag, []
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in == tag:
            text = "".join(self._buf).strip()
            (self.cells if tag == "td" else self.heads).append(text)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


@pytest.fixture(scope="module")
def pages():
    out = {}
    for path in BOOKS:
        nb = nbformat.read(path, as_version=4)
        page = report.to_html(nb, hide_code=True)
        parser = _Cells()
        parser.feed(page)
        out[path.stem] = (page, parser, nb)
    return out


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_table_cells_read_like_a_report(pages, stem):
    _, cells, _ = pages[stem]
    bad = [c for c in cells.cells if SCI.search(c) or LONG_FRACTION.match(c) or "..." in c]
    assert not bad, f"{stem}: {len(bad)} raw cells, e.g. {bad[:8]}"


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_no_raw_reprs_and_no_customer_ids(pages, stem):
    _, cells, nb = pages[stem]
    shown = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = o.get("data", {})
            if "text/html" in data or "text/markdown" in data or "image/png" in data:
                continue  # a formatted table, a sentence, a chart
            shown.append(o.get("text", "") or data.get("text/plain", ""))
    reprs = [s[:120] for s in shown if any(r in s for r in REPRS)]
    assert not reprs, f"{stem}: raw output in the story, e.g. {reprs[:3]}"
    ids = sorted(ID_HEADERS & set(cells.heads))
    assert not ids, f"{stem}: customer identifier columns {ids}"


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_links_resolve_inside_reports_and_lead_back_to_the_index(pages, stem):
    _, cells, _ = pages[stem]
    names = {f"{b.stem}.summary.html" for b in BOOKS} | {f"{b.stem}.html" for b in BOOKS}
    names |= {"index.html"} | {f"solutions/{b.stem}.html" for b in BOOKS
                               if (b.parent / "solutions" / b.name).exists()}
    local = [h.split("#")[0] for h in cells.links
             if not h.startswith(("http://", "https://", "#", "data:", "mailto:"))]
    broken = sorted({h for h in local if h and h not in names})
    assert not broken, f"{stem}: links that do not resolve in reports/: {broken}"
    assert "index.html" in local, f"{stem}: no link back to the index"
