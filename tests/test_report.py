"""helpers.report: executed HTML reports that open offline, and an index listing every notebook."""

import shutil

import nbformat
import pytest

from helpers import report

ROOT = report.ROOT


def test_series_is_numbered_and_every_notebook_has_a_title_and_purpose():
    books = report.notebooks()
    assert books and books[0].name == "00_data_tour.ipynb"
    for path in books:
        title, purpose = report.title_and_purpose(nbformat.read(path, as_version=4))
        assert title != "(untitled)" and len(purpose) > 40, path.name
        tagged = [c for c in nbformat.read(path, as_version=4).cells
                  if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1 and "DATA" in tagged[0].source, f"{path.name}: parameters cell"


def test_strip_external_removes_cdn_scripts_and_stylesheets():
    page = ('<head><script src="https://cdn.example/require.js"></script>'
            '<link rel="stylesheet" href="http://cdn.example/x.css">'
            '<script type="module">import m from "https://cdn.example/m.mjs";</script>'
            '<script>var local = 1;</script><img src="data:image/png;base64,AAAA"></head>')
    assert len(report.external_references(page)) == 3
    clean = report.strip_external(page)
    assert report.external_references(clean) == []
    assert "var local = 1;" in clean and "data:image/png" in clean


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    shutil.copy(ROOT / "notebooks" / "00_data_tour.ipynb", folder)
    out = tmp_path_factory.mktemp("reports")
    entries = report.build(out, folder=folder, echo=lambda *a, **k: None)
    return out, entries


def test_report_pages_are_self_contained(built):
    out, entries = built
    assert [e["name"] for e in entries] == ["00_data_tour"]
    for name in ("00_data_tour.html", "00_data_tour.summary.html", "index.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert report.external_references(page) == [], name
    full = (out / "00_data_tour.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in full            # plots are embedded
    assert "Daily sessions" in full or "daily_activity" in full


def test_code_hidden_variant_has_no_code(built):
    out, _ = built
    full = (out / "00_data_tour.html").read_text(encoding="utf-8")
    story = (out / "00_data_tour.summary.html").read_text(encoding="utf-8")
    code = 'class="highlight'                     # a highlighted code input
    nb = nbformat.read(ROOT / "notebooks" / "00_data_tour.ipynb", as_version=4)
    assert full.count(code) == sum(c.cell_type == "code" for c in nb.cells)
    assert story.count(code) == 0
    assert "data:image/png;base64," in story


def test_index_lists_every_notebook_with_title_and_both_variants(built):
    out, entries = built
    index = (out / "index.html").read_text(encoding="utf-8")
    for e in entries:
        assert e["title"] in index
        assert f"{e['name']}.html" in index and f"{e['name']}.summary.html" in index


def test_index_lists_what_a_notebook_skipped():
    entries = [{"name": "04_segmentation", "title": "Segmentation", "purpose": "Who buys.",
                "skipped": ["Skipped: this part needs orders, which this data does not have."]},
               {"name": "00_data_tour", "title": "Tour", "purpose": "Tables.", "skipped": []}]
    page = report.index_page(entries, data="/tmp/shop")
    assert page.count("part(s) skipped") == 1
    assert "needs orders, which this data does not have" in page


def test_a_bad_store_stops_the_report_before_any_notebook(tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.html").write_text("previous run")
    assert report.main(["--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "store directory not found" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "events.csv").write_text("session_id,user_id,ts,event\n1,2,2025-01-01,\n")
    assert report.main(["--data", str(tmp_path / "bad"), "--out", str(out)]) == 2
    assert "events.event" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "previous run"


def test_parse_params_names_the_parameters_there_are():
    books = report.notebooks()
    with pytest.raises(ValueError, match="no notebook has a parameter 'WINDOWDAYS'.*WINDOW_DAYS"):
        report.parse_params(["WINDOWDAYS=14"], books)
    with pytest.raises(ValueError, match="write NAME=VALUE"):
        report.parse_params(["METRIC"], books)
    with pytest.raises(ValueError, match="DATA is set with"):
        report.parse_params(["DATA=/tmp"], books)
    got = report.parse_params(["BREAKDOWNS=['plan', 'tier']", "EXPERIMENT=None", "K=5"], books)
    assert got == {"BREAKDOWNS": ["plan", "tier"], "EXPERIMENT": None, "K": 5}


def test_report_cli_stops_on_an_unknown_parameter_before_running_anything(tmp_path, capsys):
    assert report.main(["--out", str(tmp_path), "--param", "METRICS=x"]) == 2
    assert "no notebook has a parameter 'METRICS'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
