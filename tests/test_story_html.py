"""The story reports read like a report: checked on the HTML of every committed notebook.

The committed notebooks hold the bundled shop's outputs (nbval keeps them identical to a fresh
run), so their story HTML is exactly what ``make report`` writes for the bundled shop. A table
cell may not be in scientific notation, a bare fraction with four or more decimals, or cut
with "..."; no output may be a raw Python repr or show a customer identifier column
(``report.story_problems``); every relative link must resolve inside reports/, and every page
links back to the index. tests/test_byo_series.py applies the same checks to the reports of
every other store.
"""

import nbformat
import pytest

from helpers import report

BOOKS = report.notebooks()


@pytest.fixture(scope="module")
def pages():
    out = {}
    for path in BOOKS:
        nb = nbformat.read(path, as_version=4)
        out[path.stem] = report.story_problems(report.to_html(nb, hide_code=True), nb)
    return out


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_table_cells_read_like_a_report(pages, stem):
    bad = pages[stem]["cells"]
    assert not bad, f"{stem}: {len(bad)} raw cells, e.g. {bad[:8]}"


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_no_raw_reprs_and_no_customer_ids(pages, stem):
    assert not pages[stem]["reprs"], f"{stem}: raw output in the story, e.g. {pages[stem]['reprs'][:3]}"
    assert not pages[stem]["ids"], f"{stem}: customer identifier columns {pages[stem]['ids']}"


def test_the_checks_catch_what_they_look_for():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "execute_result", "data": {"text/plain": "Store(users=3)"}}]}]}
    page = ("<table><tr><th>user_id</th></tr><tr><td>1.2e-05</td><td>0.1234</td>"
            "<td>cut...</td><td>12.3 %</td></tr></table>")
    found = report.story_problems(page, nb)
    assert found["cells"] == ["1.2e-05", "0.1234", "cut..."]
    assert found["reprs"] == ["Store(users=3)"] and found["ids"] == ["user_id"]


@pytest.mark.parametrize("stem", [b.stem for b in BOOKS])
def test_links_resolve_inside_reports_and_lead_back_to_the_index(pages, stem):
    names = {f"{b.stem}.summary.html" for b in BOOKS} | {f"{b.stem}.html" for b in BOOKS}
    names |= {"index.html"} | {f"solutions/{b.stem}.html" for b in BOOKS
                               if (b.parent / "solutions" / b.name).exists()}
    local = [h.split("#")[0] for h in pages[stem]["links"]
             if not h.startswith(("http://", "https://", "#", "data:", "mailto:"))]
    broken = sorted({h for h in local if h and h not in names})
    assert not broken, f"{stem}: links that do not resolve in reports/: {broken}"
    assert "index.html" in local, f"{stem}: no link back to the index"
