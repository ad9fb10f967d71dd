"""Workshop material: every lesson ends with exercises whose worked solutions exist and match."""

import re

import nbformat
import pytest

from helpers import report

ROOT = report.ROOT
LESSONS = report.notebooks()


def _markdown(path):
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_has_exercises_and_a_matching_solution(lesson):
    md = _markdown(lesson)
    block = next((m.split("## Exercises", 1)[1] for m in md if "## Exercises" in m), None)
    assert block is not None, f"{lesson.name}: no '## Exercises' section"
    n = len(re.findall(r"(?m)^\d+\. ", block))
    assert 2 <= n <= 4, f"{lesson.name}: {n} exercises (2-4 expected)"
    solution = lesson.parent / "solutions" / lesson.name
    assert f"(solutions/{lesson.name})" in "\n".join(md), f"{lesson.name}: no link to its solutions"
    assert solution.exists(), f"missing {solution.relative_to(ROOT)}"
    headings = re.findall(r"(?m)^## Exercise (\d+)", "\n".join(_markdown(solution)))
    assert headings == [str(k) for k in range(1, n + 1)], f"{solution.name}: {headings}"


def test_workshop_guide_covers_the_series_and_the_glossary():
    text = (ROOT / "docs" / "workshop.md").read_text(encoding="utf-8")
    for lesson in LESSONS:
        assert re.search(rf"\| {lesson.name[:2]} ", text), f"agenda misses {lesson.name[:2]}"
    for term in ("流量来源", "转化漏斗", "用户分层", "复购率", "精准营销", "用户画像", "猜你喜欢"):
        assert term in text, f"glossary misses {term}"


def test_readme_and_guide_links_resolve():
    for doc in (ROOT / "README.md", ROOT / "docs" / "workshop.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
