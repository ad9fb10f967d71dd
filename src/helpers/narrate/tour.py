"""Sentences for notebook 00 (data tour), generated from the tables it computed.

Each function takes a result table of :mod:`helpers.data` or :mod:`helpers.tour` and returns
:class:`helpers.narrate.Text`. Nothing here knows the bundled shop: the busiest days, the device
majority, the checks that flagged rows are all read from the numbers.

Examples
--------
>>> checks = pd.DataFrame({"check": ["orders without order lines"], "table": ["orders"],
...                        "rows": [0], "share": [0.0], "status": ["ok"]})
>>> quality(checks)
None of the 1 checks flags a row.
<BLANKLINE>
**Takeaway:** as far as these checks reach, the data is complete and consistent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    bullets,
    count,
    join,
    money,
    number,
    paragraphs,
    pct,
    plural,
    takeaway,
    times,
)
from helpers.narrate import code as _c
from helpers.narrate import interval as _interval

TOP_DAYS = 5
"""How many of the busiest days the tour lists and looks at."""


def _day(d) -> str:
    d = pd.Timestamp(d)
    return f"{d.day} {d:%b %Y}"


def _span(a, b) -> str:
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    if a == b:
        return _day(a)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%b %Y}"
    return f"{_day(a)} – {_day(b)}"


def _flagged(table: pd.DataFrame | None) -> list[str]:
    if table is None or not len(table):
        return []
    out = []
    for _, r in table.loc[table["status"] == "look"].iterrows():
        unit = r.get("unit") if isinstance(r.get("unit"), str) else r["table"]
        out.append(f"{r['check']} ({plural(r['rows'], unit.removesuffix('s'), unit)}, "
                   f"{pct(r['share'])})")
    return out


# --------------------------------------------------------------------------- tables and quality


def tables(summary: pd.DataFrame) -> Text:
    """Which of the canonical tables this store has (from :meth:`helpers.data.Store.summary`).

    >>> s = pd.DataFrame({"table": ["events", "orders", "spend"], "rows": [10, 0, 0],
    ...                   "present": [True, False, False]})
    >>> tables(s)
    This data has 1 of the 3 canonical tables (events); it has no orders and spend, so the parts that need them say so and are skipped.
    """
    have = summary.loc[summary["present"], "table"].tolist()
    lack = summary.loc[~summary["present"], "table"].tolist()
    text = (f"This data has {len(have)} of the {len(summary)} canonical tables "
            f"({join(have)})")
    if not lack:
        return Text(text + ": every part of the series can run.")
    return Text(text + f"; it has no {join(lack)}, so the parts that need them say so and are "
                "skipped.")


def events(names: pd.DataFrame, *, shown: int = 6) -> Text:
    """What the log tracks: its funnel steps, the other standard events and the shop's own.

    ``names`` is :func:`helpers.tour.event_names`.

    >>> n = pd.DataFrame({"event": ["view_item", "purchase", "payment_error", "page_view"],
    ...                   "role": ["funnel step", "funnel step", "own", "standard"],
    ...                   "events": [900, 40, 120, 300], "sessions": [400, 38, 90, 200],
    ...                   "session_share": [0.8, 0.076, 0.18, 0.4]})
    >>> events(n)
    The log has 4 event names: 2 of the 6 funnel steps (`view_item` and `purchase`; not `add_to_cart`, `begin_checkout`, `add_shipping_info` or `add_payment_info`), 1 other standard event (`page_view`) and 1 name of the shop's own, kept under its name (02 shows it in paths and transitions): `payment_error` (120 events, in 18 % of sessions).
    """
    from helpers.tour import FUNNEL_STEPS

    if names.empty:
        return Text("The log has no events.")
    steps = names.loc[names["role"] == "funnel step", "event"].tolist()
    lacks = [e for e in FUNNEL_STEPS if e not in steps]
    std = names.loc[names["role"] == "standard", "event"].tolist()
    own = names.loc[names["role"] == "own"]
    if not steps:
        part = "none of the funnel steps"
    elif not lacks:
        part = f"all {len(FUNNEL_STEPS)} funnel steps"
    else:
        part = (f"{len(steps)} of the {len(FUNNEL_STEPS)} funnel steps ({join(map(_c, steps))}; "
                f"not {join(map(_c, lacks), word='or')})")
    parts = [part]
    if std:
        more = f" and {plural(len(std) - shown, 'more')}" if len(std) > shown else ""
        parts.append(f"{plural(len(std), 'other standard event')} "
                     f"({join(map(_c, std[:shown]))}{more})")
    head = f"The log has {plural(len(names), 'event name')}: "
    if own.empty:
        return Text(head + join(parts) + ", and none of the shop's own.")
    items = ", ".join(f"{_c(r.event)} ({plural(r.events, 'event')}, in {pct(r.session_share)} "
                      "of sessions)" for r in own.head(shown).itertuples())
    more = f", and {plural(len(own) - shown, 'more')}" if len(own) > shown else ""
    return Text(head + ", ".join(parts) + f" and {plural(len(own), 'name')} of the shop's own, "
                f"kept under its name (02 shows it in paths and transitions): {items}{more}.")


def quality(checks: pd.DataFrame, order: pd.DataFrame | None = None) -> Text:
    """Which quality checks flagged rows (``data.quality_checks``, optionally ``tour.order_checks``).

    >>> c = pd.DataFrame({"check": ["sessions without any event", "users without any session"],
    ...                   "table": ["sessions", "users"], "rows": [3, 0], "share": [0.03, 0.0],
    ...                   "status": ["look", "ok"]})
    >>> print(quality(c))
    1 of the 2 checks flags rows: sessions without any event (3 sessions, 3 %).
    <BLANKLINE>
    **Takeaway:** the data loads cleanly, but read every number with the flagged rows in mind.
    """
    both = pd.concat([t for t in (checks, order) if t is not None], ignore_index=True)
    made = both.loc[both["status"] != "n/a"]
    flagged = _flagged(made)
    if not len(made):
        return Text("No quality check could be made on this data.")
    if not flagged:
        return paragraphs(f"None of the {len(made)} checks flags a row.",
                          takeaway("as far as these checks reach, the data is complete and "
                                   "consistent."))
    first = (f"{len(flagged)} of the {len(made)} checks flag rows: " if len(flagged) > 1
             else f"1 of the {len(made)} checks flags rows: ")
    worst = made.loc[made["status"] == "look", "share"].max()
    if worst < 0.01:
        end = takeaway("the data is nearly clean: every flagged check concerns less than 1 % of "
                       "its rows, too few to move a headline number.")
    else:
        end = takeaway("the data loads cleanly, but read every number with the flagged rows in "
                       "mind.")
    return paragraphs(first + "; ".join(flagged) + ".", end)


def order(checks: pd.DataFrame) -> Text:
    """What :func:`helpers.tour.order_checks` found about the order of funnel events.

    >>> c = pd.DataFrame({"rows": pd.array([0, 4, 0], dtype="Int64"), "of": [50, 400, 50],
    ...                   "share": [0.0, 0.01, 0.0], "status": ["ok", "look", "ok"]})
    >>> c.attrs["tied_purchase_sessions"] = 2
    >>> order(c)
    Event order: no purchase session logs a funnel step after its last purchase. 4 funnel events (1 %) share their timestamp with another step of their session, so their order is unknown; the kit's funnel counts a tie as in order, while a tool that demands a strictly later step could lose up to 2 purchase sessions. No purchase session is lost to the ordered funnel by the order of its events.
    """
    if checks["status"].eq("n/a").all():
        return Text("Event order: this data has no purchase events and fewer than two funnel "
                    "steps, so there is no order to check.")
    after, ties, lost = (checks.iloc[i] for i in range(3))
    parts = []
    if after["status"] == "n/a":
        parts.append("no session has a purchase event, so the purchase checks do not apply.")
    elif after["rows"] == 0:
        parts.append("no purchase session logs a funnel step after its last purchase.")
    else:
        one = after["rows"] == 1
        parts.append(f"{plural(after['rows'], 'purchase session')} ({pct(after['share'])}) "
                     f"{'logs' if one else 'log'} another funnel step after {'its' if one else 'their'} "
                     "last purchase (legal when a buyer keeps shopping, a sign of clock or "
                     "batching problems when frequent).")
    if ties["status"] == "look":
        tied = checks.attrs.get("tied_purchase_sessions")
        text = (f"{plural(ties['rows'], 'funnel event')} ({pct(ties['share'])}) share their "
                "timestamp with another step of their session, so their order is unknown; the "
                "kit's funnel counts a tie as in order")
        if tied:
            text += (", while a tool that demands a strictly later step could lose up to "
                     f"{plural(tied, 'purchase session')}")
        parts.append(text + ".")
    elif ties["status"] == "ok":
        parts.append("No two funnel steps of a session share a timestamp.")
    if lost["status"] == "look":
        parts.append(f"The ordered funnel loses {plural(lost['rows'], 'purchase session')} "
                     f"({pct(lost['share'])}) that log every step, but not in order.")
    elif lost["status"] == "ok":
        parts.append("No purchase session is lost to the ordered funnel by the order of its "
                     "events.")
    return Text("Event order: " + " ".join(parts))


# --------------------------------------------------------------------------- headline


def _metric(h: pd.DataFrame, name: str):
    row = h.loc[h["metric"] == name]
    if not len(row):
        return None
    return row.iloc[0]


def headline(h: pd.DataFrame, currency: str | None = None) -> Text:
    """The shop in two sentences, from :func:`helpers.data.headline`.

    >>> h = pd.DataFrame({"metric": ["users", "sessions", "events", "session conversion"],
    ...                   "value": [80.0, 100.0, 900.0, 0.03], "ci_low": [None, None, None, 0.01],
    ...                   "ci_high": [None, None, None, 0.085]})
    >>> headline(h)
    80 users made 100 sessions with 900 events; 3 % (95 % CI 1–8.5 %) of sessions hold a purchase event. With only 100 sessions every rate here is uncertain: read the intervals, not the digits.
    """
    v = {m: _metric(h, m) for m in h["metric"]}
    n_sess = v["sessions"]["value"]
    conv = v["session conversion"]
    first = (f"{plural(v['users']['value'], 'user')} made {plural(n_sess, 'session')} with "
             f"{plural(v['events']['value'], 'event')}; ")
    if conv["value"] == 0:
        first += "no session holds a purchase event, so conversion cannot be measured from events."
    elif conv["value"] == 1:
        first += ("every session holds a purchase event: the sessions were probably built from "
                  "the orders, so session conversion says nothing about visitors here.")
    else:
        first += (f"{_interval(conv['value'], conv['ci_low'], conv['ci_high'])} of sessions "
                  "hold a purchase event.")
    parts = [first]
    if v.get("completed orders") is not None:
        o = v["completed orders"]["value"]
        if o == 0:
            parts.append("The orders table holds no completed order.")
        else:
            b = v["share of users who bought"]
            rev = v["revenue"]["value"]
            worth = (f"bring {money(rev, currency, 0)} (average order "
                     f"{money(v['average order value']['value'], currency)})" if rev > 0 else
                     "carry no revenue amounts")
            parts.append(
                f"{plural(o, 'completed order')} from {plural(v['buyers']['value'], 'buyer')} "
                f"{worth}; {_interval(b['value'], b['ci_low'], b['ci_high'])} of users bought.")
    if n_sess < 1000:
        parts.append(f"With only {plural(n_sess, 'session')} every rate here is uncertain: read "
                     "the intervals, not the digits.")
    return Text(" ".join(parts))


def reconciliation(rec: pd.DataFrame) -> Text:
    """Why sessions with a purchase event and the ordered funnel's purchases differ.

    ``rec`` is :func:`helpers.tour.purchase_reconciliation`.

    >>> rec = pd.DataFrame({"part": ["a", "b", "c", "d"], "sessions": [100, 80, 15, 5],
    ...                     "share": [1.0, 0.8, 0.15, 0.05]})
    >>> rec.attrs.update(steps=["view_item", "purchase"],
    ...                  missing_steps=pd.Series({"view_item": 15}))
    >>> print(reconciliation(rec))
    Of the 100 sessions with a purchase event, the ordered funnel (view_item → purchase) counts 80 (80 %). The other 20 (20 %) are missing for two reasons: 15 never logged an earlier step (missing: view_item in 15), for example an order placed from a cart saved in an earlier visit or an event lost to an ad blocker; 5 logged every step, but not in order.
    <BLANKLINE>
    **Takeaway:** "sessions with a purchase event" (this notebook's conversion) and "sessions through the ordered funnel" (notebook 03) are different counts here: say which one a rate uses.
    """
    n = rec["sessions"].iloc[0]
    steps = rec.attrs.get("steps", [])
    if n == 0:
        return Text("No session holds a purchase event, so there are no purchases to reconcile "
                    "with a funnel.")
    if pd.isna(rec["sessions"].iloc[1]):
        return Text(f"The data logs {len(steps)} of the six funnel steps "
                    f"({join(steps) or 'none'}), so no ordered funnel that ends in a purchase can "
                    "be built: count conversions from purchase events or orders.")
    reached, lack, disorder = (int(x) for x in rec["sessions"].iloc[1:4])
    chain = " → ".join(steps)
    first = (f"Of the {plural(n, 'session')} with a purchase event, the ordered funnel "
             f"({chain}) counts {count(reached)} ({pct(rec['share'].iloc[1])}).")
    gap = n - reached
    if gap == 0:
        return paragraphs(first + " The two counts agree: every purchase session passes the "
                          "funnel's steps in order.",
                          takeaway("this notebook's conversion and notebook 03's funnel count "
                                   "the same purchases."))
    reasons = []
    if lack:
        miss = rec.attrs.get("missing_steps", pd.Series(dtype="int64"))
        most = join(f"{step} in {count(v)}" for step, v in miss.iloc[:2].items())
        reasons.append(f"{count(lack)} never logged an earlier step"
                       + (f" (missing: {most})" if most else "")
                       + ", for example an order placed from a cart saved in an earlier visit or "
                       "an event lost to an ad blocker")
    if disorder:
        reasons.append(f"{count(disorder)} logged every step, but not in order")
    if len(reasons) > 1:
        why = f"The other {count(gap)} ({pct(gap / n)}) are missing for two reasons: " + \
            "; ".join(reasons) + "."
    else:
        why = (f"The other {count(gap)} ({pct(gap / n)}) "
               + reasons[0].split(" ", 1)[1] + ".")
    return paragraphs(
        f"{first} {why}",
        takeaway('"sessions with a purchase event" (this notebook\'s conversion) and "sessions '
                 'through the ordered funnel" (notebook 03) are different counts here: say '
                 "which one a rate uses."))


# --------------------------------------------------------------------------- calendar


def _clusters(days: pd.DatetimeIndex, gap_days: int = 7) -> list[list[pd.Timestamp]]:
    days = sorted(pd.DatetimeIndex(days))
    groups: list[list[pd.Timestamp]] = []
    for d in days:
        if groups and (d - groups[-1][-1]).days <= gap_days:
            groups[-1].append(d)
        else:
            groups.append([d])
    return groups


def peaks(day: pd.DataFrame, k: int = TOP_DAYS) -> dict:
    """The busiest days of :func:`helpers.data.daily_activity` and whether they cluster.

    Returns a dict: ``top`` (the ``k`` busiest days, busiest first), ``ratio`` (busiest day /
    median day), ``cluster`` (the largest group of top days at most a week apart), ``recurring``
    (top days that fall on the busiest day's calendar date in other years) and ``clustered``
    (the cluster holds at least three of the top days, or the peak recurs). Only top days with
    more than 1.25 times the median day's sessions count as peaks for the cluster.

    >>> day = pd.DataFrame({"sessions": [10] * 30}, index=pd.date_range("2025-01-01", periods=30))
    >>> day.iloc[[3, 4, 5], 0] = [40, 35, 30]
    >>> p = peaks(day)
    >>> [d.day for d in p["cluster"]], p["clustered"], p["ratio"]
    ([4, 5, 6], True, 4.0)
    """
    s = day["sessions"]
    top = s.sort_values(ascending=False, kind="stable").head(k)
    med = float(s.median())
    groups = _clusters(top.index[top > 1.25 * med])   # ordinary days are no peak
    cluster = max(groups, key=len) if groups else []
    best = top.index[0]
    recurring = [d for d in top.index[1:]
                 if (d.month, d.day) == (best.month, best.day) and d.year != best.year]
    return {"top": top, "ratio": float(top.iloc[0]) / med if med > 0 else np.nan,
            "cluster": cluster, "recurring": recurring,
            "clustered": len(cluster) >= 3 or bool(recurring)}


def _per_day(x) -> str:
    return count(x) if x >= 10 else number(x, 1)


def _swing(x: pd.Series) -> float:
    """Typical relative distance of a day from its centred 7-day mean."""
    mean = x.rolling(7, center=True, min_periods=1).mean()
    rel = (x / mean.where(mean > 0) - 1).abs()
    return float(rel.median())


def daily(day: pd.DataFrame, k: int = TOP_DAYS) -> Text:
    """The calendar in a few sentences: span, trend, busiest days, partial last day, revenue noise.

    ``day`` is :func:`helpers.data.daily_activity`.

    >>> idx = pd.date_range("2025-01-01", periods=120)
    >>> day = pd.DataFrame({"sessions": np.r_[np.full(60, 100), np.full(60, 200)]}, index=idx)
    >>> day.iloc[[50, 51, 52], 0] = 900
    >>> print(daily(day))
    The data covers 120 days (1 Jan 2025 – 30 Apr 2025). Traffic rose from 100 to 200 sessions a day between the first and the last four weeks. The 5 busiest days are 20 Feb 2025 (900 sessions, 4.5× the median day), 21 Feb 2025 (900), 22 Feb 2025 (900), 2 Mar 2025 (200) and 3 Mar 2025 (200); 3 of them fall within 20–22 Feb 2025.
    <BLANKLINE>
    **Takeaway:** the busiest days cluster (20–22 Feb 2025); any analysis over a period that includes them must keep that peak in mind, or compare like with like.
    """
    s = day["sessions"]
    n = len(s)
    span = f"The data covers {plural(n, 'day')} ({_span(s.index[0], s.index[-1])})."
    if n < 14:
        return paragraphs(span + " That is too short to tell a peak from an ordinary day.",
                          takeaway("the data is too short for a calendar; later notebooks' "
                                   "rates describe these few days only."))
    parts = [span]
    if n >= 84:
        a, b = s.iloc[:28].mean(), s.iloc[-29:-1].mean()    # the last day may be partial
        if b > 1.2 * a:
            parts.append(f"Traffic rose from {_per_day(a)} to {_per_day(b)} sessions a day "
                         "between the first and the last four weeks.")
        elif b < a / 1.2:
            parts.append(f"Traffic fell from {_per_day(a)} to {_per_day(b)} sessions a day "
                         "between the first and the last four weeks.")
        else:
            parts.append(f"Traffic stayed near {_per_day((a + b) / 2)} sessions a day from the "
                         "first to the last four weeks.")
    recent = s.iloc[-29:-1].median()
    if recent > 0 and s.iloc[-1] < 0.5 * recent:
        parts.append(f"The last day has {pct(s.iloc[-1] / recent)} of a recent day's sessions: "
                     "probably a partial day, not a drop.")
    med = float(s.median())
    if med < 5:
        return paragraphs(" ".join(parts) + f" A median day has {plural(med, 'session')}: too few "
                          "to tell a peak from chance.",
                          takeaway("daily counts are too small to read peaks from; compare weeks "
                                   "or months instead."))
    p = peaks(day, k)
    top = p["top"]
    listed = [(f"{_day(top.index[0])} ({plural(top.iloc[0], 'session')}, "
              f"{times(p['ratio'])} the median day)")]
    listed += [f"{_day(d)} ({count(v)})" for d, v in top.iloc[1:].items()]
    text = f"The {len(top)} busiest days are {join(listed)}"
    if len(p["cluster"]) >= 3:
        text += (f"; {len(p['cluster'])} of them fall within "
                 f"{_span(p['cluster'][0], p['cluster'][-1])}")
    if p["recurring"]:
        text += (f"; the busiest date recurs in another year "
                 f"({join(_day(d) for d in p['recurring'])})")
    parts.append(text + ".")
    if "revenue" in day.columns and day["revenue"].sum() > 0:
        rs, ss = _swing(day["revenue"]), _swing(s)
        if "orders" in day.columns and day["orders"].median() < 1:
            parts.append("Most days have no completed order, so daily revenue jumps between zero "
                         "and single orders: read revenue by week or month.")
        elif rs > 1.5 * ss:
            parts.append(f"Revenue is much noisier than traffic: a typical day's revenue is "
                         f"{pct(rs, 0)} off its 7-day mean, its sessions {pct(ss, 0)}, so a few "
                         "large orders swing a day's total.")
        else:
            parts.append(f"Revenue moves about as steadily as traffic (a typical day is "
                         f"{pct(rs, 0)} off its 7-day mean, sessions {pct(ss, 0)}).")
    if p["clustered"] and p["ratio"] >= 1.5:
        where = _span(p["cluster"][0], p["cluster"][-1]) if len(p["cluster"]) >= 3 else None
        again = (f"recur on {_day(top.index[0])[:-5]} in more than one year" if p["recurring"]
                 else None)
        what = join([x for x in (f"cluster ({where})" if where else None, again) if x])
        end = takeaway(f"the busiest days {what}; any analysis over a period that includes them "
                       "must keep that peak in mind, or compare like with like.")
    elif p["ratio"] >= 2:
        end = takeaway(f"the busiest day has {times(p['ratio'])} the median day's sessions, but "
                       "the busiest days do not cluster: check single days before reading a "
                       "trend into them.")
    else:
        end = takeaway(f"no day stands out (the busiest has {times(p['ratio'])} the median "
                       "day's sessions), so no single event dominates the calendar.")
    return paragraphs(" ".join(parts), end)


# --------------------------------------------------------------------------- channel and device


def _missing_note(m: pd.DataFrame, by: str) -> str | None:
    miss = m.loc[m[by] == "(missing)"]
    if not len(miss):
        return None
    return f"{pct(miss['share'].iloc[0])} of sessions have no {by}."


def channels(m: pd.DataFrame | None) -> Text:
    """The channel mix (:func:`helpers.data.mix` of sessions by channel).

    >>> m = pd.DataFrame({"channel": ["Direct", "Search", "Email", "Social"],
    ...                   "n": [40, 30, 20, 10], "share": [0.4, 0.3, 0.2, 0.1]})
    >>> channels(m)
    The 2 largest channels (Direct and Search) bring 70 % of sessions; the smallest, Social, brings 10 %.
    """
    if m is None or not len(m):
        return Text("This data records no channel for its sessions.")
    known = m.loc[m["channel"] != "(missing)"]
    note = _missing_note(m, "channel")
    if len(known) == 1:
        return paragraphs(f"Every session with a channel comes from {known['channel'].iloc[0]}: "
                          "there is no mix to compare.", note)
    cum = known["share"].cumsum().to_numpy()
    k = int(np.searchsorted(cum, 0.5 * known["share"].sum()) + 1)
    k = max(min(k, len(known) - 1), 1)
    names = known["channel"].iloc[:k].tolist()
    lead = (f"The largest channel, {names[0]}, brings {pct(cum[0])} of sessions" if k == 1 else
            f"The {k} largest channels ({join(names)}) bring {pct(cum[k - 1])} of sessions")
    last = known.iloc[-1]
    return paragraphs(f"{lead}; the smallest, {last['channel']}, brings {pct(last['share'])}.",
                      note)


def devices(m: pd.DataFrame | None) -> Text:
    """The device mix and whether one device is the majority.

    >>> m = pd.DataFrame({"device": ["desktop", "mobile"], "n": [55, 45], "share": [0.55, 0.45]})
    >>> print(devices(m))
    Most visits (55 %) are on desktop, then mobile (45 %).
    <BLANKLINE>
    **Takeaway:** desktop is the majority device, so a problem on desktop is a problem for the shop.
    """
    if m is None or not len(m):
        return Text("This data records no device for its sessions.")
    known = m.loc[m["device"] != "(missing)"]
    note = _missing_note(m, "device")
    if not len(known):
        return Text("No session records its device.")
    share = known["share"] / known["share"].sum()
    top = known["device"].iloc[0]
    rest = join(f"{d} ({pct(x)})" for d, x in zip(known["device"].iloc[1:], share.iloc[1:]))
    if len(known) == 1:
        return paragraphs(f"Every session with a device is on {top}.", note,
                          takeaway(f"there is one device ({top}): device comparisons do not "
                                   "apply."))
    if share.iloc[0] > 0.5:
        return paragraphs(f"Most visits ({pct(share.iloc[0])}) are on {top}, then {rest}.", note,
                          takeaway(f"{top} is the majority device, so a problem on {top} is a "
                                   "problem for the shop."))
    return paragraphs(f"No device has a majority: {top} leads with {pct(share.iloc[0])}, then "
                      f"{rest}.", note,
                      takeaway("traffic is split between devices, so check every rate by device "
                               "rather than reading the total."))


# --------------------------------------------------------------------------- decisions


def decisions(checks: pd.DataFrame, order: pd.DataFrame | None, rec: pd.DataFrame | None,
              day: pd.DataFrame, devices: pd.DataFrame | None = None) -> Text:
    """The tour's closing "Decisions", from the tables above (``devices`` None when not known).

    >>> checks = pd.DataFrame({"check": ["x"], "table": ["orders"], "rows": [0], "share": [0.0],
    ...                        "status": ["ok"]})
    >>> day = pd.DataFrame({"sessions": [10] * 30}, index=pd.date_range("2025-01-01", periods=30))
    >>> print(decisions(checks, None, None, day))
    ## Decisions
    <BLANKLINE>
    - Trust the tables: they passed validation, and no quality check flagged a row.
    - No day dominates the calendar (the busiest has 1.0× the median day's sessions): period comparisons need no special care for peaks.
    """
    both = pd.concat([t for t in (checks, order) if t is not None], ignore_index=True)
    look = both.loc[both["status"] == "look"]
    flagged = look["check"].tolist()
    lines = []
    if flagged and look["share"].max() < 0.01:
        lines.append("Trust the tables: they passed validation, and the quality checks flag less "
                     f"than 1 % of rows ({join(flagged)}).")
    elif flagged:
        lines.append("Trust the tables' structure (validation passed), but keep the flagged checks "
                     f"in mind: {join(flagged)}.")
    else:
        lines.append("Trust the tables: they passed validation, and no quality check flagged a "
                     "row.")
    if rec is not None and rec["sessions"].iloc[0] and not pd.isna(rec["sessions"].iloc[1]):
        gap = int(rec["sessions"].iloc[0] - rec["sessions"].iloc[1])
        if gap:
            lines.append(f"Say which conversion a number uses: {pct(gap / rec['sessions'].iloc[0])}"
                         " of purchase sessions are not in the ordered funnel.")
    if len(day) >= 14 and day["sessions"].median() < 5:
        lines.append("Daily counts are small: compare weeks or months, not single days.")
    elif len(day) >= 14:
        p = peaks(day)
        if p["clustered"] and p["ratio"] >= 1.5:
            lines.append(f"Read every later result against the calendar: the busiest days cluster "
                         f"around {_day(p['top'].index[0])} ({times(p['ratio'])} the median "
                         "day).")
        elif p["ratio"] >= 2:
            lines.append(f"The busiest days stand out ({times(p['ratio'])} the median day) but do "
                         "not cluster: check single days before reading a trend into them.")
        else:
            lines.append(f"No day dominates the calendar (the busiest has {times(p['ratio'])} the "
                         "median day's sessions): period comparisons need no special care for "
                         "peaks.")
    else:
        lines.append(f"The data covers only {plural(len(day), 'day')}: treat every rate as a "
                     "snapshot, not a trend.")
    if devices is not None and len(devices):
        known = devices.loc[devices["device"] != "(missing)"]
        if len(known) > 1:
            share = known["share"].iloc[0] / known["share"].sum()
            if share > 0.5:
                lines.append(f"Most traffic ({pct(share)}) is on {known['device'].iloc[0]}; "
                             "check every rate by device.")
            else:
                lines.append("No device has a majority; check every rate by device.")
    return bullets(lines, title="Decisions")

