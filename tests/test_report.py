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


# --------------------------------------------------------------------------- what changed


def _nb(*markdowns, stream=None):
    outs = [{"output_type": "execute_result", "data": {"text/markdown": m, "text/plain": m}}
            for m in markdowns]
    if stream:
        outs.insert(0, {"output_type": "stream", "name": "stdout", "text": stream})
    return {"cells": [{"cell_type": "markdown", "source": "**What changed:** not an output"},
                      {"cell_type": "code", "outputs": outs}]}


FOUND = ("**What changed:** 3 significant changes stand out among the 40 series searched; the 2 "
         "with the largest impact:\n\n"
         "- From 2 Sep to 15 Sep 2024, on desktop, add_payment_info → purchase fell to 5 % "
         "(95 % CI 3.1–7.9 %) from 88 % in the weeks around it: about 28 fewer sessions went on "
         "to purchase.\n"
         "- From 1 Oct 2025 on, in sessions from <Paid & Social>, the share of sessions with "
         "`search` rose to 97 % from 86 % before.\n\n"
         "1 more change with a smaller impact is not listed here.")


def test_what_changed_reads_the_narrators_text_from_the_outputs():
    got = report.what_changed(_nb("**Takeaway:** something else.", FOUND))
    assert got["lead"] == ("3 significant changes stand out among the 40 series searched; the 2 "
                           "with the largest impact:")
    assert got["items"][0].startswith("From 2 Sep to 15 Sep 2024, on desktop, add_payment_info")
    assert got["items"][1].endswith("the share of sessions with search rose to 97 % from 86 % "
                                    "before.")   # Markdown marks are dropped
    assert len(got["items"]) == 2
    assert got["more"] == "1 more change with a smaller impact is not listed here."


def test_what_changed_when_nothing_was_found_or_the_section_did_not_run():
    none = ("**What changed:** no significant change found: none of the 12 series searched has a "
            "period or a lasting shift that differs from the weeks around it beyond chance.")
    got = report.what_changed(_nb(none))
    assert got["lead"].startswith("No significant change found: none of the 12 series searched")
    assert got["items"] == [] and got["more"] == ""
    # no such output (a notebook without the section, or the section skipped): nothing
    assert report.what_changed(_nb("**Takeaway:** mobile.", stream="Skipped: needs x.\n")) is None
    assert report.what_changed({"cells": []}) is None


def test_index_shows_the_changes_at_the_top_escaped():
    entries = [{"name": "00_data_tour", "title": "00 · Data tour", "purpose": "Tables.",
                "changes": report.what_changed(_nb(FOUND))},
               {"name": "01_traffic", "title": "01 · Traffic", "purpose": "Channels.",
                "changes": None}]
    page = report.index_page(entries)
    block = page[page.index("<section class='w'>"):page.index("</section>")]
    assert page.index("<section class='w'>") < page.index("<table>")
    assert block.count("<li>") == 2
    assert "in sessions from &lt;Paid &amp; Social&gt;" in block and "<Paid" not in page
    assert "1 more change with a smaller impact is not listed here." in block
    assert "href='00_data_tour.summary.html'" in block


def test_index_says_when_no_change_was_found_and_is_silent_without_the_section():
    none = report.what_changed(_nb("**What changed:** no significant change found: none of "
                                   "the 12 series searched has one."))
    page = report.index_page([{"name": "00_data_tour", "title": "Tour", "purpose": "T.",
                               "changes": none}])
    assert "No significant change found: none of the 12 series searched has one." in page
    assert "<ul>" not in page
    bare = report.index_page([{"name": "00_data_tour", "title": "Tour", "purpose": "T."}])
    assert "What changed" not in bare and "<section" not in bare


def test_the_built_index_opens_with_what_changed(built):
    out, entries = built
    index = (out / "index.html").read_text(encoding="utf-8")
    assert entries[0]["changes"] is not None
    assert "<h2>What changed</h2>" in index and index.index("What changed") < index.index("<table>")


def test_execute_starts_a_kernel_that_died_while_starting_once_more(tmp_path, monkeypatch):
    import papermill as pm

    from helpers import report

    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return "ran"

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    src = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), src)
    assert report.execute(src, tmp_path / "out.ipynb") == "ran" and len(calls) == 2

    def broken(*args, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(pm, "execute_notebook", broken)
    with pytest.raises(RuntimeError, match="Kernel died"):
        report.execute(src, tmp_path / "out.ipynb")
