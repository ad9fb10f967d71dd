"""Execute the notebook series and export self-contained HTML reports.

``python -m helpers.report [--data DIR] [--out reports]`` runs every
``notebooks/NN_*.ipynb`` in order with papermill (the ``parameters`` cell
gets ``DATA``), then writes for each notebook ``<name>.html`` (with code)
and ``<name>.summary.html`` (code hidden, for readers who only want the
story), plus ``index.html`` linking them with each notebook's title and
purpose. Images are embedded and no external script or stylesheet is
referenced (the interactive charts' library is inlined into the pages that
show one), so the reports open offline. The committed notebooks are never
modified; executed copies go to ``<out>/executed/``.

Examples
--------
>>> title_and_purpose({"cells": [{"cell_type": "markdown",
...     "source": "# Data tour\\n\\nWhat the shop's tables hold."}]})
('Data tour', "What the shop's tables hold.")
"""

from __future__ import annotations

import argparse
import ast
import html
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]

_EXTERNAL = [
    # <script src="http..."></script> and <link ... href="http..."> tags
    re.compile(r"<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>\s*", re.IGNORECASE),
    re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>\s*", re.IGNORECASE),
    # module scripts that import from a CDN (nbconvert's optional mermaid renderer)
    re.compile(r"<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>\s*",
               re.IGNORECASE | re.DOTALL),
]


def notebooks(folder: str | Path = ROOT / "notebooks") -> list[Path]:
    """The series in order: ``NN_*.ipynb`` files directly in ``folder``."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def title_and_purpose(nb) -> tuple[str, str]:
    """The first ``#`` heading of a notebook and the first paragraph after it."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = text.strip().splitlines()
        if lines and lines[0].startswith("# "):
            title = lines[0][2:].strip()
            paras = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
            paras = [p for p in paras if not p.startswith(("<", "[", "*Previous", "|"))]
            purpose = " ".join(paras[0].split()) if paras else ""
            return title, purpose
    return "(untitled)", ""


def execute(src: Path, dst: Path, *, data: str | None = None, timeout: int = 900,
            params: dict | None = None):
    """Execute ``src`` with papermill into ``dst``; ``data`` goes to the ``DATA`` parameter.

    ``params`` sets other parameters; only those the notebook's parameters cell defines are
    passed (see :func:`parameters`)."""
    import papermill as pm

    own = parameters(src)
    params = {k: v for k, v in (params or {}).items() if k in own}
    if data is not None:
        params["DATA"] = str(Path(data).resolve())
    dst.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        try:
            return pm.execute_notebook(
                str(src), str(dst), parameters=params, cwd=str(src.parent),
                kernel_name="python3", progress_bar=False, log_output=False,
                execution_timeout=timeout,
                # a kernel can take over a minute to start on a busy 2-core machine
                start_timeout=300,
                # the kernel warns about TCP transport at each start: log errors only
                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        except RuntimeError as err:
            # two kernels started at once can pick the same free TCP ports, and one dies
            # before it answers: that start, not the notebook, failed, so start once more
            if attempt == 2 or "Kernel died before replying to kernel_info" not in str(err):
                raise
            print(f"  (the kernel for {src.name} died while starting; starting it again)",
                  file=sys.stderr)


def parameters(src: Path) -> list[str]:
    """The names a notebook's ``parameters`` cell assigns, in order.

    >>> parameters(ROOT / "notebooks" / "06_ab_testing.ipynb")
    ['DATA', 'EXPERIMENT', 'WINDOW_DAYS', 'METRIC']
    """
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", cell.source, re.MULTILINE)
    return []


def parse_params(pairs: list[str], books: list[Path]) -> dict:
    """``["METRIC=return_day_7", "WINDOW_DAYS=14"]`` as ``{name: value}``, checked.

    Values are Python literals where they read as one (``14``, ``None``, ``0.5``), else text.
    A name that no notebook defines is a ValueError naming the parameters there are.

    >>> parse_params(["METRIC=return_day_7", "WINDOW_DAYS=14"], [ROOT / "notebooks" / "06_ab_testing.ipynb"])
    {'METRIC': 'return_day_7', 'WINDOW_DAYS': 14}
    """
    known = sorted({name for b in books for name in parameters(b)} - {"DATA"})
    out = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ValueError(f"parameter {pair!r}: write NAME=VALUE, e.g. METRIC=return_day_7")
        if name == "DATA":
            raise ValueError("DATA is set with DATA=dir (make) or --data, not as a parameter")
        if name not in known:
            raise ValueError(f"no notebook has a parameter {name!r}; the parameters are "
                             f"{', '.join(known)}")
        try:
            out[name] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            out[name] = text.strip()
    return out


def refresh(paths: list[Path], *, timeout: int = 900, echo=print) -> None:
    """Re-execute committed notebooks in place (bundled data), storing fresh outputs.

    Used after changing helpers or data so that nbval's stored outputs match.
    Execution timing is not recorded, so outputs stay identical between runs.
    """
    from nbclient import NotebookClient

    for path in paths:
        path = Path(path)
        echo(f"executing {path.name} ...", end=" ", flush=True)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = coalesce_streams(cell.outputs)
        nbformat.write(nb, path)
        echo("ok")


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) outputs of a cell into one.

    How a kernel splits a cell's printing into messages depends on timing; merged, the stored
    outputs are the same on every run.

    >>> outs = [{"output_type": "stream", "name": "stdout", "text": "a"},
    ...         {"output_type": "stream", "name": "stdout", "text": "\\n"}]
    >>> coalesce_streams(outs)
    [{'output_type': 'stream', 'name': 'stdout', 'text': 'a\\n'}]
    """
    out: list = []
    for o in outputs:
        prev = out[-1] if out else None
        if (o.get("output_type") == "stream" and prev is not None
                and prev.get("output_type") == "stream" and prev.get("name") == o.get("name")):
            prev["text"] = prev["text"] + o["text"]
        else:
            out.append(o)
    return out


def to_html(nb, *, hide_code: bool = False, footer: str = "", up: str = "") -> str:
    """Self-contained HTML of an executed notebook (images embedded, no CDN references).

    A page that shows an interactive chart (:mod:`helpers.interactive`) gets the chart library
    inlined once in its ``<head>``; other pages do not carry it.

    Links between notebooks are rewritten to the reports they become (see :func:`local_links`);
    ``footer`` (HTML) is added at the end of the page, with a link back to the index. ``up`` is
    the way from the page's folder to reports/ (``"../"`` for the solutions pages).
    """
    from nbconvert import HTMLExporter

    from helpers import interactive

    exporter = HTMLExporter(template_name="lab", embed_images=True, exclude_input=hide_code,
                            exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    body, _ = exporter.from_notebook_node(nb)
    body = local_links(strip_external(body), story=hide_code, up=up)
    foot = (f"<footer class='kit-footer'><a href='{up}index.html'>All reports</a>"
            f"{' · ' + footer if footer else ''}</footer>")
    style = ("<style>.kit-footer{max-width:60rem;margin:2rem auto;padding:1rem;color:#555;"
             "border-top:1px solid #ddd;font:0.9em system-ui,sans-serif}"
             ".kit-table td{white-space:normal}</style>")
    page = body.replace("</body>", f"{style}{foot}</body>", 1)
    # last: the library's own text holds a "</body>" that the footer must not be put into
    return interactive.embed_library(page)


_NOTEBOOK_LINK = re.compile(r'href="((?:solutions/|\.\./)?)(\d\d_[\w-]+)\.ipynb(#[^"]*)?"')


def local_links(page: str, *, story: bool, up: str = "") -> str:
    """Links as they resolve inside reports/: ``NN_x.ipynb`` → the story (or with-code) report,
    ``solutions/NN_x.ipynb`` → ``solutions/NN_x.html``, the README's contents → ``index.html``.
    ``up="../"`` for a page in reports/solutions/, whose lessons are ``../NN_x.ipynb``.

    >>> local_links('<a href="02_x.ipynb">n</a> <a href="../README.md#the-notebooks">c</a>', story=True)
    '<a href="02_x.summary.html">n</a> <a href="index.html">c</a>'
    >>> local_links('<a href="../02_x.ipynb">n</a> <a href="../../README.md">c</a>', story=False, up="../")
    '<a href="../02_x.html">n</a> <a href="../index.html">c</a>'
    """
    def repl(m):
        folder, stem, anchor = m[1], m[2], m[3] or ""
        if folder == "solutions/":
            return f'href="solutions/{stem}.html{anchor}"'
        return f'href="{folder}{stem}{".summary" if story else ""}.html{anchor}"'

    page = _NOTEBOOK_LINK.sub(repl, page)
    return re.sub(r'href="(?:\.\./)+README\.md(?:#[^"]*)?"', f'href="{up}index.html"', page)


def strip_external(page: str) -> str:
    """Remove script/stylesheet references to other hosts (the page renders without them)."""
    for pattern in _EXTERNAL:
        page = pattern.sub("", page)
    return page


def external_references(page: str) -> list[str]:
    """Script or stylesheet references in ``page`` that would need the network."""
    found = re.findall(r"<script\b[^>]*\bsrc=\"(https?://[^\"]*)\"", page, re.IGNORECASE)
    found += re.findall(r"<link\b[^>]*\bhref=\"(https?://[^\"]*)\"", page, re.IGNORECASE)
    found += re.findall(r"import[^;\n]*from\s+[\"'](https?://[^\"']*)", page)
    found += re.findall(r"@import\s+url\([\"']?(https?://[^\"')]*)", page)
    return found


def build(out: str | Path = ROOT / "reports", *, data: str | None = None,
          folder: str | Path = ROOT / "notebooks", echo=print,
          params: dict | None = None) -> list[dict]:
    """Run every notebook in order and write the HTML reports and ``index.html``.

    ``params`` ({name: value}) sets notebook parameters in every notebook that has them."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    about = about_line(data)
    books = notebooks(folder)
    if not books:
        raise FileNotFoundError(f"no notebooks NN_*.ipynb in {folder}")
    total = time.perf_counter()
    for i, src in enumerate(books, 1):
        t0 = time.perf_counter()
        echo(f"[{i}/{len(books)}] {src.stem} ...", end=" ", flush=True)
        executed = execute(src, out / "executed" / src.name, data=data, params=params)
        nb = nbformat.from_dict(executed)
        (out / f"{src.stem}.html").write_text(to_html(nb, footer=about), encoding="utf-8")
        (out / f"{src.stem}.summary.html").write_text(to_html(nb, hide_code=True, footer=about),
                                                      encoding="utf-8")
        title, purpose = title_and_purpose(nb)
        skipped = skipped_parts(nb)
        entries.append({"name": src.stem, "title": title, "purpose": purpose, "skipped": skipped,
                        "takeaway": first_takeaway(nb), "changes": what_changed(nb)})
        note = f", {len(skipped)} part(s) skipped" if skipped else ""
        echo(f"ok ({time.perf_counter() - t0:.1f} s{note})")
    solved = Path(folder) / "solutions"
    for sol in notebooks(solved) if solved.is_dir() else []:
        (out / "solutions").mkdir(exist_ok=True)
        page = to_html(nbformat.read(sol, as_version=4), up="../",
                       footer="worked answers, computed on the bundled shop")
        (out / "solutions" / f"{sol.stem}.html").write_text(page, encoding="utf-8")
        for e in entries:
            e["solutions"] = e.get("solutions") or (e["name"] == sol.stem)
    (out / "index.html").write_text(index_page(entries, data=data, about=about), encoding="utf-8")
    echo(f"wrote {len(entries)} reports and {out / 'index.html'} "
         f"in {time.perf_counter() - total:.1f} s")
    return entries


_SCI = re.compile(r"\d(?:\.\d+)?e[+-]?\d+", re.IGNORECASE)
_LONG_FRACTION = re.compile(r"^[-−+]?\d*\.\d{4,}$")
_REPRS = ("Store(", "dtype:", "Timestamp(", "Timedelta(", "<pandas.", " object at 0x", "Name: ")
_ID_HEADERS = {"user_id", "customer_id", "user_pseudo_id", "customer_unique_id"}


class _Cells(HTMLParser):
    """Table cells (td and th text) and link targets of an HTML page."""

    def __init__(self):
        super().__init__()
        self.cells, self.heads, self.links, self._in, self._buf = [], [], [], None, []

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in, self._buf = tag, []
        if tag == "a" and dict(attrs).get("href"):
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in == tag:
            (self.cells if tag == "td" else self.heads).append("".join(self._buf).strip())
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


def _raw_fraction(cell: str) -> bool:
    """A number printed with four or more decimals and three or more significant digits
    (``0.1234``: a rounded float, not a formatted figure; ``0.0023`` is a small one, shown with
    the two digits it has).

    >>> [_raw_fraction(c) for c in ("0.1234", "0.0023", "12.5", "0.000096", "-0.12345")]
    [True, False, False, False, True]
    """
    m = _LONG_FRACTION.match(cell)
    if not m:
        return False
    digits = cell.lstrip("-−+").replace(".", "").lstrip("0")
    return len(digits) >= 3


def story_problems(page: str, nb) -> dict:
    """What keeps a story report from reading like a report: ``{problem: examples}``.

    Table cells in scientific notation, raw fractions (four or more decimals, three or more
    significant digits: a rounded float) or cut with "..."; raw Python reprs among the outputs that are not tables, sentences or charts; customer
    identifier columns. Also returns the page's links under ``"links"`` (not a problem).

    >>> story_problems("<table><tr><th>user_id</th></tr><tr><td>0.1234</td></tr></table>",
    ...                {"cells": []})["cells"]
    ['0.1234']
    """
    parser = _Cells()
    parser.feed(page)
    shown = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = o.get("data", {})
            if "text/html" in data or "text/markdown" in data or "image/png" in data:
                continue
            text = o.get("text", "") or data.get("text/plain", "")
            shown.append(text if isinstance(text, str) else "".join(text))
    return {"cells": [c for c in parser.cells if _SCI.search(c) or _raw_fraction(c)
                      or "..." in c],
            "reprs": [t[:120] for t in shown if any(r in t for r in _REPRS)],
            "ids": sorted(_ID_HEADERS & set(parser.heads)),
            "links": parser.links}


def about_line(data: str | None) -> str:
    """The "about this report" line: kit version, data source and when it was generated.

    Written into the HTML only, never into a notebook's stored outputs (which must not change
    from run to run).
    """
    from datetime import UTC, datetime
    from importlib.metadata import version

    source = "the bundled simulated shop" if data is None else str(Path(data).resolve())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return html.escape(f"Generated {when} by the kit (helpers {version('helpers')}) from {source}.")


def first_takeaway(nb) -> str:
    """The first generated "Takeaway" sentence of an executed notebook, as plain text ("" if none).

    >>> first_takeaway({"cells": [{"cell_type": "code", "outputs": [{"output_type": "execute_result",
    ...     "data": {"text/markdown": "Counts.\\n\\n**Takeaway:** most visits are on `mobile`."}}]}]})
    'most visits are on mobile.'
    """
    for cell in nb["cells"]:
        for o in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = o.get("data", {}).get("text/markdown", "")
            text = text if isinstance(text, str) else "".join(text)
            m = re.search(r"\*\*Takeaway:\*\*\s*(.+?)(?:\n\n|$)", text, re.DOTALL)
            if m:
                return re.sub(r"[*`]", "", " ".join(m[1].split()))
    return ""


def what_changed(nb) -> dict | None:
    """The "What changed" text an executed notebook printed (00 does), as plain text; else None.

    The text is the Markdown output that starts with :data:`helpers.narrate.changes.HEADING`.
    Returns ``{"lead": ..., "items": [...], "more": ...}``: the opening sentence (its first
    letter capitalised), one item per finding, and what follows the list ("" when nothing does).

    >>> md = ("**What changed:** 1 significant change stands out among the 9 series searched:"
    ...       "\\n\\n- From 2 Sep to 15 Sep 2024, on `desktop`, the rate fell.")
    >>> what_changed({"cells": [{"cell_type": "code", "outputs": [{"output_type": "execute_result",
    ...     "data": {"text/markdown": md}}]}]})["items"]
    ['From 2 Sep to 15 Sep 2024, on desktop, the rate fell.']
    """
    from helpers.narrate.changes import HEADING

    def plain(t):
        return re.sub(r"[*`]", "", " ".join(t.split()))

    for cell in nb["cells"]:
        for o in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = o.get("data", {}).get("text/markdown", "")
            text = (text if isinstance(text, str) else "".join(text)).strip()
            if not text.startswith(HEADING):
                continue
            items, rest = [], []
            for para in text.removeprefix(HEADING).split("\n\n"):
                lines = [line.strip() for line in para.splitlines() if line.strip()]
                if lines and all(line.startswith("- ") for line in lines):
                    items += [plain(line[2:]) for line in lines]
                elif lines:
                    rest.append(plain(" ".join(lines)))
            lead = rest[0] if rest else ""
            return {"lead": lead[:1].upper() + lead[1:], "items": items,
                    "more": " ".join(rest[1:])}
    return None


def skipped_parts(nb) -> list[str]:
    """The distinct "Skipped: ..." notes an executed notebook printed (see helpers.notebook).

    >>> skipped_parts({"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream",
    ...     "text": "Skipped: this part needs orders, which this data does not have.\\n"}]}]})
    ['Skipped: this part needs orders, which this data does not have.']
    """
    seen: list[str] = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = out.get("text", "")
            text = text if isinstance(text, str) else "".join(text)
            for line in text.splitlines():
                if line.startswith("Skipped:") and line not in seen:
                    seen.append(line)
    return seen


def index_page(entries: list[dict], *, data: str | None = None, about: str = "") -> str:
    """The report index: per notebook its title, purpose, first takeaway, skipped parts and links.

    When an entry has ``changes`` (:func:`what_changed` of its executed notebook: 00 prints
    them), the page opens with a "What changed" block of those sentences, HTML-escaped.

    >>> page = index_page([{"name": "00_tour", "title": "00 · Tour", "purpose": "Tables.",
    ...                     "takeaway": "most visits are on mobile.", "solutions": True}])
    >>> "most visits are on mobile." in page, "solutions/00_tour.html" in page, ">00<" in page
    (True, True, False)
    """
    def row(e):
        take = (f"<br><span class='t'>Takeaway: {html.escape(e['takeaway'])}</span>"
                if e.get("takeaway") else "")
        sol = (f" · <a href='solutions/{e['name']}.html'>solutions</a>"
               if e.get("solutions") else "")
        return (f"<tr><td><strong><a href='{e['name']}.summary.html'>{html.escape(e['title'])}"
                f"</a></strong><br><span class='p'>{html.escape(e['purpose'])}</span>{take}"
                f"{_skip_note(e)}</td><td class='l'><a href='{e['name']}.summary.html'>story</a>"
                f" · <a href='{e['name']}.html'>with code</a>{sol}</td></tr>")

    rows = "\n".join(row(e) for e in entries)
    changed = _changes_block(entries)
    source = "the bundled simulated shop" if data is None else html.escape(str(data))
    foot = f"<footer>{about}</footer>" if about else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>E-commerce customer behaviour kit: reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ border-top: 1px solid #ddd; padding: .6rem .5rem; vertical-align: top; }}
td.l {{ white-space: nowrap; }}
.p {{ color: #555; }} .t {{ color: #1d4f2a; }} .s {{ color: #8a5a00; font-size: .9em; }}
.w {{ border-left: 4px solid #c77c02; background: #fdf6e9; padding: .4rem 1rem; margin: 1rem 0; }}
.w h2 {{ font-size: 1.1em; margin: .4rem 0; }}
a {{ color: #0b5cad; }} footer {{ margin-top: 2rem; color: #666; font-size: .9em; }}
</style></head><body>
<h1>E-commerce customer behaviour &amp; precision marketing: reports</h1>
<p>Data: {source}. "story" hides the code for readers who want the findings;
"with code" shows how each number was computed. Every page opens offline.</p>
{changed}<table>
{rows}
</table>
{foot}
</body></html>
"""


def _changes_block(entries: list[dict]) -> str:
    """The "What changed" block of the index: the ``changes`` of the first entry that has them
    (see :func:`what_changed`), HTML-escaped, with a link to its notebook; "" when none has."""
    e = next((e for e in entries if e.get("changes")), None)
    if e is None:
        return ""
    c = e["changes"]
    items = "".join(f"<li>{html.escape(i)}</li>" for i in c.get("items") or [])
    more = f"{html.escape(c['more'])} " if c.get("more") else ""
    return (f"<section class='w'><h2>What changed</h2><p>{html.escape(c.get('lead', ''))}</p>"
            f"{f'<ul>{items}</ul>' if items else ''}<p class='p'>{more}The method, the table "
            f"and the charts: <a href='{e['name']}.summary.html'>"
            f"{html.escape(e.get('title', e['name']))}</a>."
            "</p></section>\n")


def _skip_note(entry: dict) -> str:
    skipped = entry.get("skipped") or []
    if not skipped:
        return ""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in skipped)
    return f"<details class='s'><summary>{len(skipped)} part(s) skipped</summary><ul>{items}</ul></details>"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.report",
                                 description="Execute the notebooks and write HTML reports.")
    ap.add_argument("--data", default=None, help="store directory (default: the bundled shop)")
    ap.add_argument("--out", default=str(ROOT / "reports"))
    ap.add_argument("--notebooks", default=str(ROOT / "notebooks"))
    ap.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                    help="set a notebook parameter in every notebook that has it, e.g. "
                         "METRIC=return_day_7 (repeatable)")
    ap.add_argument("--refresh", nargs="*", metavar="NOTEBOOK",
                    help="re-execute these committed notebooks in place (all lessons and "
                         "their solutions when none given) instead of writing reports")
    args = ap.parse_args(argv)
    if args.refresh is not None:
        refresh([Path(p) for p in args.refresh] or (
            notebooks(args.notebooks) + notebooks(Path(args.notebooks) / "solutions")))
        return 0
    try:
        params = parse_params(args.param, notebooks(args.notebooks))
    except ValueError as e:
        print(f"make report: {e}", file=sys.stderr)
        return 2
    if args.data:
        problem = check_store(args.data)
        if problem:
            print(f"make report: {problem}", file=sys.stderr)
            return 2
    build(args.out, data=args.data or None, folder=args.notebooks, params=params)
    return 0


def check_store(path: str) -> str | None:
    """Load the store before any notebook runs: None when it loads, else one line saying why.

    So that a wrong path or a bad table stops ``make report`` at once, with the loader's own
    message, and leaves the previous reports as they were.

    >>> check_store("/nonexistent/store")
    'store directory not found: /nonexistent/store (DATA= must name a folder of <table>.csv or <table>.parquet files)'
    """
    from helpers import data

    try:
        data.load_store(path)
    except FileNotFoundError as e:
        msg = str(e)
        if "not found" in msg:
            msg += " (DATA= must name a folder of <table>.csv or <table>.parquet files)"
        return msg
    except data.DataValidationError as e:
        return f"{path}: {e}"
    return None


if __name__ == "__main__":
    sys.exit(main())
