"""Sentences of the "What changed" section (notebook 00), from :func:`helpers.changes.find_changes`.

One bullet per finding says when (a period, or a lasting shift from a day on), for whom (the
segment), which rate moved, which way, how far (the rate during it with its 95 % interval,
against the rate around it or before it) and what that amounted to in sessions. When nothing
passed the correction for the many series searched, it says so, with how many were searched.
Nothing here knows the bundled shop: dates, segments and metrics are read from the table.

The text starts with :data:`HEADING`, so the report index can find it among a notebook's
outputs (:func:`helpers.report.what_changed`).

Examples
--------
>>> found = pd.DataFrame({"metric": ["add_payment_info → purchase"],
...     "segment": ["device=desktop"], "kind": ["period"],
...     "start": [pd.Timestamp("2024-09-02")], "end": [pd.Timestamp("2024-09-15")],
...     "baseline": [0.88], "during": [0.05], "ci_low": [0.031], "ci_high": [0.079],
...     "p_value": [1e-9], "impact": [-28.2]})
>>> found.attrs["series"] = 40
>>> print(what_changed(found))
**What changed:** 1 significant change stands out among the 40 series searched:
<BLANKLINE>
- From 2 Sep to 15 Sep 2024, on desktop, add_payment_info → purchase fell to 5 % (95 % CI 3.1–7.9 %) from 88 % on the ordinary days around it: about 28 fewer sessions went on to purchase.
"""

from __future__ import annotations

import pandas as pd

from helpers.narrate import Text, bullets, count, interval, join, missing, paragraphs, pct, plural

HEADING = "**What changed:**"
"""How the section's text starts (the report index looks for it)."""

STEP = " → "
"""What joins the two steps of a funnel-step metric (``"view_item → add_to_cart"``)."""


def _day(d) -> str:
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y}"


def when(kind: str, start, end) -> str:
    """The time of a finding, to open its sentence.

    >>> when("period", "2024-09-02", "2024-09-15"), when("period", "2024-12-28", "2025-01-03")
    ('From 2 Sep to 15 Sep 2024', 'From 28 Dec 2024 to 3 Jan 2025')
    >>> when("period", "2024-09-02", "2024-09-02"), when("shift", "2025-10-01", "2025-12-31")
    ('On 2 Sep 2024', 'From 1 Oct 2025 on')
    """
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    if kind == "shift":
        return f"From {_day(a)} on"
    if a == b:
        return f"On {_day(a)}"
    if a.year == b.year:
        return f"From {a.day} {a:%b} to {_day(b)}"
    return f"From {_day(a)} to {_day(b)}"


def segment(name) -> str | None:
    """Who a finding concerns, as words (None for ``"all"``).

    >>> segment("all"), segment("device=mobile"), segment("channel=Paid Social"), segment("region=north")
    (None, 'on mobile', 'in sessions from Paid Social', 'where region is north')
    """
    if missing(name) or str(name) in ("", "all"):
        return None
    col, sep, level = str(name).partition("=")
    if not sep:
        return f"for {name}"
    if col == "device":
        return f"on {level}"
    if col == "channel":
        return f"in sessions from {level}"
    return f"where {col} is {level}"


def _subject(metric: str) -> str:
    return metric if STEP in metric else f"the {metric}"


def _impact(metric: str, impact, kind: str) -> str | None:
    """What the change amounted to, in sessions (None when it rounds to none)."""
    if missing(impact) or round(abs(float(impact))) == 0:
        return None
    n = round(abs(float(impact)))
    more = "more" if impact > 0 else "fewer"
    about = f"about {count(n)} {more} {'session' if n == 1 else 'sessions'}"
    if STEP in metric:
        text = f"{about} went on to {metric.split(STEP, 1)[1]}"
    elif metric.startswith("share of sessions with "):
        text = f"{about} had {metric.removeprefix('share of sessions with ')}"
    elif metric.startswith("share of sessions from "):
        text = f"{about} than usual came from {metric.removeprefix('share of sessions from ')}"
    elif metric == "share of new visitors":
        text = f"{about} came from new visitors"
    else:
        text = f"{about} than at the usual rate"
    return f"since then, {text}" if kind == "shift" else text


def finding(row) -> str:
    """One finding (a row of :func:`helpers.changes.find_changes`) as a sentence.

    >>> print(finding(pd.Series({"metric": "share of sessions with search", "segment": "all",
    ...     "kind": "shift", "start": pd.Timestamp("2025-10-01"), "end": pd.Timestamp("2025-12-31"),
    ...     "baseline": 0.86, "during": 0.97, "ci_low": 0.965, "ci_high": 0.975, "impact": 1234.4})))
    From 1 Oct 2025 on, the share of sessions with search rose to 97 % (95 % CI 96.5–97.5 %) from 86 % before: since then, about 1,234 more sessions had search.
    """
    kind = str(row.get("kind", "period"))
    where = segment(row.get("segment"))
    head = when(kind, row["start"], row["end"]) + (f", {where}" if where else "")
    during, baseline = row["during"], row["baseline"]
    way = ("changed" if missing(during) or missing(baseline) or during == baseline
           else "rose" if during > baseline else "fell")
    around = "before" if kind == "shift" else "on the ordinary days around it"
    text = (f"{head}, {_subject(str(row['metric']))} {way} to "
            f"{interval(during, row.get('ci_low'), row.get('ci_high'))} from {pct(baseline)} "
            f"{around}")
    impact = _impact(str(row["metric"]), row.get("impact"), kind)
    buys = row.get("purchases")
    if (impact and STEP in str(row["metric"]) and not missing(buys)
            and round(abs(float(buys))) != round(abs(float(row.get("impact"))))
            and round(abs(float(buys))) > 0):
        impact += (f", which makes about {count(round(abs(float(buys))))} "
                   f"{'more' if buys > 0 else 'fewer'} purchases")
    text = f"{text}: {impact}." if impact else f"{text}."
    also = row.get("also")
    if isinstance(also, (list, tuple)) and len(also):
        names = list(dict.fromkeys(str(a) for a in also))
        shown = names[:3] + ([f"{len(names) - 3} more"] if len(names) > 3 else [])
        text += f" The same change shows in {join(shown)}."
    return text


def what_changed(found: pd.DataFrame | None, *, shown: int = 5,
                 series_count: int | None = None) -> Text:
    """The top findings of :func:`helpers.changes.find_changes`, one bullet each.

    Parameters
    ----------
    found : DataFrame or None
        :func:`helpers.changes.find_changes`, or its :func:`helpers.changes.headlines` (one row
        per event, with the other series it shows in); rows in the order given (largest impact
        first).
    shown : int
        How many findings get a sentence; how many more there are is said in one line.
    series_count : int, optional
        How many series were searched (e.g. the ``(metric, segment)`` pairs of the series given
        to ``find_changes``); by default ``found.attrs["series"]``. When either is zero no series
        had enough days and sessions to be searched, which is said as such.

    Returns
    -------
    Text starting with :data:`HEADING`.

    Examples
    --------
    >>> empty = pd.DataFrame(columns=["metric", "segment", "kind", "start", "end", "impact"])
    >>> what_changed(empty, series_count=120)
    **What changed:** no significant change found: none of the 120 series searched has a period or a lasting shift that differs from the weeks around it beyond chance (after the Benjamini–Hochberg correction for searching them all).
    >>> what_changed(None, series_count=0)
    **What changed:** no significant change found, because there is too little data to look: no series has enough days and sessions to compare a period with the weeks around it.
    """
    n = 0 if found is None else len(found)
    nothing_searched = found is not None and found.attrs.get("series") == 0
    if series_count is None and found is not None:
        series_count = found.attrs.get("series")
    searched = (f"the {plural(series_count, 'series', 'series')} searched"
                if series_count else "the series searched")
    if n == 0:
        if series_count == 0 or nothing_searched:
            return Text(f"{HEADING} no significant change found, because there is too little "
                        "data to look: no series has enough days and sessions to compare a "
                        "period with the weeks around it.")
        if series_count == 1:
            return Text(f"{HEADING} no significant change found: the one series searched has no "
                        "period or lasting shift that differs from the weeks around it beyond "
                        "chance.")
        return Text(f"{HEADING} no significant change found: none of {searched} has a period or "
                    "a lasting shift that differs from the weeks around it beyond chance (after "
                    "the Benjamini–Hochberg correction for searching them all).")
    shown = max(int(shown), 0)
    stand = "stands" if n == 1 else "stand"
    among = "in the one series searched" if series_count == 1 else f"among {searched}"
    lead = f"{HEADING} {plural(n, 'significant change')} {stand} out {among}"
    if shown == 0:
        return Text(lead + ".")
    if n > shown:
        lead += f"; the {shown} with the largest impact:" if shown > 1 else \
            "; the one with the largest impact:"
    else:
        lead += ", largest impact first:" if n > 1 else ":"
    items = bullets(finding(r) for _, r in found.head(shown).iterrows())
    rest = n - shown
    more = (f"{plural(rest, 'more change')} with a smaller impact "
            f"{'is' if rest == 1 else 'are'} not listed here." if rest > 0 else None)
    return paragraphs(lead, items, more)
