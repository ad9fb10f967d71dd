"""Sentences of notebook 03 (conversion funnel), generated from the tables of ``helpers.funnel``.

Each function takes tables the notebook has already computed (a funnel, its χ² and pairwise
tests, the bottleneck ranking, cart abandonment, time to convert) and says what *they* show:
where this funnel narrows most, which segment falls behind and whether that is beyond chance,
how many carts are left, how long buying takes. A claim that the numbers do not support (a
difference within chance, a rate of too few units, a step the data does not record) is said
as such.

Examples
--------
>>> f = pd.DataFrame({"step": ["view_item", "add_to_cart", "purchase"], "step_index": [0, 1, 2],
...     "from_step": [None, "view_item", "add_to_cart"], "n": [1000, 150, 60],
...     "n_prev": [1000, 1000, 150], "rate_from_start": [1.0, 0.15, 0.06],
...     "rate_from_prev": [1.0, 0.15, 0.4], "ci_low": [None, 0.13, 0.32],
...     "ci_high": [None, 0.17, 0.48]})
>>> print(narrowest(f))
The funnel narrows most at `add_to_cart`: 15 % (95 % CI 13–17 %) of the sessions at `view_item` go on (150 of 1,000).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    bullets,
    count,
    duration,
    interval,
    join,
    p_value,
    paragraphs,
    pct,
    plural,
    pp,
    takeaway,
)
from helpers.narrate import (
    code as _c,
)
from helpers.narrate import (
    missing as _nan,
)

ALPHA = 0.05
CANONICAL_LAST = "purchase"
FEW = 30
"""Below this many units at the previous step a step rate is called too few to be firm."""
TYPICAL_ABANDONMENT = (0.60, 0.80)
"""The cart abandonment rate commonly reported for online shops (Baymard Institute's ~70 %)."""


def _arrow(a, b) -> str:
    return f"`{a} → {b}`"


def _units(unit: str) -> str:
    return {"session": "sessions", "user": "users"}.get(unit, unit + "s")


def _window(window) -> str:
    """A window parameter in words: ``"7D"`` -> ``'7 days'``, ``"1D"`` -> ``'1 day'``."""
    if window is None:
        return "no limit"
    td = pd.Timedelta(window)
    days = td / pd.Timedelta("1D")
    if days >= 1 and days == int(days):
        return plural(int(days), "day")
    return duration(td)


def _steps(f: pd.DataFrame) -> pd.DataFrame:
    """The transitions of a funnel table that can be read: every row after the first step and
    before the first step the data has no events of (``.attrs["absent_steps"]``)."""
    absent = set(f.attrs.get("absent_steps", []))
    hit = f.loc[f["step"].isin(absent), "step_index"]
    stop = hit.min() if len(hit) else len(f)
    return f.loc[(f["step_index"] > 0) & (f["step_index"] < stop)]


# --------------------------------------------------------------------------- 1 · the funnel


def gaps(f: pd.DataFrame, unit: str = "session") -> str | None:
    """What the funnel cannot say: steps the data lacks, an empty top, a one-step funnel.

    >>> f = pd.DataFrame({"step": ["view_item", "begin_checkout", "purchase"],
    ...     "step_index": [0, 1, 2], "n": [10, 0, 0], "n_prev": [10, 10, 0]})
    >>> f.attrs["absent_steps"] = ["begin_checkout"]
    >>> print(gaps(f))
    **Warning:** the data has no `begin_checkout` events at all, so every session stops before that step: the log or its export does not record it (leave it out of `STEPS`, or check the export).
    """
    absent = list(f.attrs.get("absent_steps", []))
    parts = []
    if absent:
        which = "that step" if len(absent) == 1 else "those steps"
        parts.append(f"**Warning:** the data has no {join(map(_c, absent))} events at all, so "
                     f"every {unit} stops before {which}: the log or its export does not record "
                     f"{'it' if len(absent) == 1 else 'them'} (leave "
                     f"{'it' if len(absent) == 1 else 'them'} out of `STEPS`, or check the "
                     f"export).")
    if f["n"].iloc[0] == 0 and f["step"].iloc[0] not in absent:
        parts.append(f"No {unit} has a {_c(f['step'].iloc[0])} event, so the funnel is empty.")
    if CANONICAL_LAST not in set(f["step"]):
        parts.append(f"The funnel does not reach {_c(CANONICAL_LAST)} (the data has no such events, "
                     f"or `STEPS` leaves it out): it measures how far people get, not who buys.")
    if len(f) == 1:
        parts.append(f"This data records only one funnel step ({_c(f['step'].iloc[0])}, "
                     f"{plural(f['n'].iloc[0], unit)}): there is no step-to-step conversion to "
                     f"measure.")
    return paragraphs(*parts) or None


def narrowest(f: pd.DataFrame, unit: str = "session") -> str | None:
    """The step with the lowest share going on from the previous step (or None)."""
    t = _steps(f).loc[lambda d: d["n_prev"] > 0]
    if t.empty:
        return None
    r = t.loc[t["rate_from_prev"].idxmin()]
    return (f"The funnel narrows most at {_c(r['step'])}: "
            f"{interval(r['rate_from_prev'], r['ci_low'], r['ci_high'])} of the {_units(unit)} "
            f"at {_c(r['from_step'])} go on ({count(r['n'])} of {count(r['n_prev'])}).")


def session_funnel(f: pd.DataFrame, unit: str = "session") -> Text:
    """Section 1: where the funnel narrows most, what the last steps lose, how firm the rates are.

    ``f`` is a :func:`helpers.funnel.funnel` table without a breakdown.

    Examples
    --------
    >>> f = pd.DataFrame({"step": ["view_item", "add_to_cart", "purchase"],
    ...     "step_index": [0, 1, 2], "from_step": [None, "view_item", "add_to_cart"],
    ...     "n": [1000, 150, 60], "n_prev": [1000, 1000, 150],
    ...     "rate_from_start": [1.0, 0.15, 0.06], "rate_from_prev": [1.0, 0.15, 0.4],
    ...     "ci_low": [None, 0.13, 0.32], "ci_high": [None, 0.17, 0.48]})
    >>> print(session_funnel(f))  # doctest: +ELLIPSIS
    The funnel narrows most at `add_to_cart`: ... go on (150 of 1,000).
    <BLANKLINE>
    Overall 6 % of the sessions that start at `view_item` reach `purchase`. ...
    """
    units = _units(unit)
    gap = gaps(f, unit)
    t = _steps(f)
    if len(f) > 1 and f["n"].iloc[0] > 0 and t.empty:
        return paragraphs(gap, takeaway(f"the funnel cannot be read past {_c(f['step'].iloc[0])}:"
                                        f" its next step has no events in this data."))
    if t.empty or f["n"].iloc[0] == 0:
        return paragraphs(gap, takeaway("there is no funnel to read in this data."))
    first, last = f.iloc[0], f.iloc[-1]
    overall = (f"Overall {pct(last['rate_from_start'])} of the {units} that start at "
               f"{_c(first['step'])} reach {_c(last['step'])}.")
    nobody = [r for _, r in t.iterrows() if r["n_prev"] > 0 and r["n"] == 0
              and r["step"] not in f.attrs.get("absent_steps", [])]
    stuck = (f"No {unit} went on from {_c(nobody[0]['from_step'])} to {_c(nobody[0]['step'])}."
             if nobody else None)
    live = t.loc[t["n_prev"] > 0]
    narrow = live.loc[live["rate_from_prev"].idxmin()]
    end = t.iloc[-1]
    cut = None
    if end["step_index"] < f["step_index"].max():
        cut = (f"Past {_c(end['step'])} the funnel cannot be read: its next step has no events "
               f"in this data.")
    if end["n_prev"] > 0 and end["step_index"] != narrow["step_index"] and end["n"] > 0:
        lost = end["n_prev"] - end["n"]
        late = (f"Later steps keep more of their {units}, yet a loss there costs more: "
                f"{plural(lost, unit)} ({pct(lost / end['n_prev'])}) reached "
                f"{_c(end['from_step'])} and did not go on to {_c(end['step'])}.")
        tk = (f"the funnel narrows most at {_c(narrow['step'])}, but the losses near the end are "
              f"the expensive ones: those {units} were nearly ready to buy.")
    else:
        late = None
        tk = (f"the funnel narrows most at {_c(narrow['step'])}"
              + (", its last step: the most expensive place to lose people, since they had "
                 "come all the way." if narrow["step_index"] == end["step_index"] else "."))
    few = live.loc[live["n_prev"] < FEW]
    if len(few):
        firm = (f"Only {plural(few['n_prev'].iloc[0], unit)} reach {_c(few['from_step'].iloc[0])}: "
                f"too few for a firm rate from there on (see how wide the intervals are).")
    else:
        width = (live["ci_high"] - live["ci_low"]) / 2
        firm = (f"With {count(first['n'])} {units} at the top the intervals are narrow "
                f"(±{pp(width.iloc[0]).lstrip('+')}); they widen as fewer {units} remain "
                f"(±{pp(width.max()).lstrip('+')} at the widest).")
    return paragraphs(gap, narrowest(f, unit), overall, late, stuck, cut, firm, takeaway(tk))


# --------------------------------------------------------------------------- 2 · units


def sessions_vs_users(f_session: pd.DataFrame, f_user: pd.DataFrame, window) -> Text:
    """Section 2: how much more of the users than of the sessions reach the last step.

    Examples
    --------
    >>> s = pd.DataFrame({"step": ["view_item", "purchase"], "step_index": [0, 1],
    ...                   "n": [1000, 40], "rate_from_start": [1.0, 0.04]})
    >>> u = pd.DataFrame({"step": ["view_item", "purchase"], "step_index": [0, 1],
    ...                   "n": [400, 36], "rate_from_start": [1.0, 0.09]})
    >>> print(sessions_vs_users(s, u, "30D"))  # doctest: +ELLIPSIS
    9 % of users reach `purchase` within 30 days of their first `view_item`, against 4 % of sessions: ...
    """
    if len(f_session) < 2 or f_session["n"].iloc[0] == 0 or f_user["n"].iloc[0] == 0:
        return paragraphs("With fewer than two funnel steps (or nobody at the first) there is no "
                          "conversion to compare between sessions and users.")
    step0, last = f_session["step"].iloc[0], f_session["step"].iloc[-1]
    rs, ru = f_session["rate_from_start"].iloc[-1], f_user["rate_from_start"].iloc[-1]
    head = (f"{pct(ru)} of users reach {_c(last)} within {_window(window)} of their first "
            f"{_c(step0)}, against {pct(rs)} of sessions")
    sessions_per_user = f_session["n"].iloc[0] / f_user["n"].iloc[0]
    if f_user["n"].iloc[0] < FEW:
        head = (f"Only {plural(f_user['n'].iloc[0], 'user')} reached {_c(step0)}, too few for a "
                f"firm user funnel; {head[0].lower()}{head[1:]}")
    if rs == 0 and ru == 0:
        body = f"No session and no user gets from {_c(step0)} to {_c(last)}."
    elif rs > 0 and ru >= 1.2 * rs:
        body = (f"{head}: {'a far larger' if ru >= 1.8 * rs else 'a larger'} share. A user who "
                f"looks in one visit and buys in another is a lost session but one converted "
                f"user ({number_of(sessions_per_user)} sessions with {_c(step0)} per user).")
    elif rs > 0 and ru <= rs / 1.2:
        body = (f"{head}: fewer users than sessions get there, so the window ({_window(window)}) "
                f"cuts off buyers who take longer; try a longer `WINDOW`.")
    else:
        body = (f"{head}: the two funnels agree closely, so people here mostly buy in the visit "
                f"where they look ({number_of(sessions_per_user)} sessions with {_c(step0)} "
                f"per user).")
    return paragraphs(body, takeaway(
        "report both: the session funnel locates problems in the shop's pages and checkout, the "
        f"user funnel (with a window of {_window(window)}) measures how many people convert."))


def number_of(x) -> str:
    """A ratio with one decimal: ``2.345`` -> ``'2.3'``."""
    if _nan(x):
        return "n/a"
    return f"{float(x):.1f}" if float(x) < 10 else count(x)


# --------------------------------------------------------------------------- 3 · segments


def _late(k, steps_total) -> bool:
    """Is transition ``k`` (1..K-1) in the second half of the funnel?"""
    return k > (steps_total - 1) / 2


def breakdown(table: pd.DataFrame, tests: pd.DataFrame, pairs: pd.DataFrame | None = None,
              unit: str = "session") -> Text:
    """Section 3, one dimension: at which steps its segments differ beyond chance, and who is low.

    ``table`` is a funnel broken down by one column, ``tests`` its :func:`helpers.funnel.compare`
    and ``pairs`` its :func:`helpers.funnel.pairwise` (optional).

    Examples
    --------
    >>> t = pd.DataFrame({"device": ["a", "a", "b", "b"], "step": ["v", "c"] * 2,
    ...     "step_index": [0, 1] * 2, "from_step": [None, "v"] * 2, "n": [100, 30, 100, 50],
    ...     "n_prev": [100] * 4, "rate_from_prev": [1, 0.3, 1, 0.5]})
    >>> tests = pd.DataFrame({"step": ["c"], "step_index": [1], "segments": [2],
    ...                       "chi2": [8.33], "dof": [1], "p_value": [0.0039]})
    >>> print(breakdown(t, tests))
    By device, the step rates differ beyond chance at `v → c` (χ² test, p = 0.004): `a` continues least (30 %), `b` most (50 %).
    <BLANKLINE>
    So the device differences sit late, in the last steps of the funnel.
    """
    dim = next(c for c in table.columns if c not in _FUNNEL)
    segs = table[dim].dropna().unique()
    if len(segs) < 2:
        return paragraphs(f"The data has only one {dim} ({join(map(_c, segs)) or 'none'}): "
                          f"there is nothing to compare.")
    K = int(table["step_index"].max()) + 1
    sig = tests.loc[tests["p_value"] < ALPHA]
    if sig.empty:
        best = tests["p_value"].min()
        return paragraphs(f"By {dim}, no step rate differs between the segments beyond chance "
                          f"(χ² test per step, smallest {p_value(best)}).")
    spreads = []
    for _, r in sig.iterrows():
        g = table.loc[(table["step_index"] == r["step_index"]) & (table["n_prev"] > 0)]
        lo, hi = g.loc[g["rate_from_prev"].idxmin()], g.loc[g["rate_from_prev"].idxmax()]
        spreads.append((hi["rate_from_prev"] - lo["rate_from_prev"], r, lo, hi))
    spreads.sort(key=lambda x: -x[0])
    _, r, lo, hi = spreads[0]
    text = [(f"By {dim}, the step rates differ beyond chance at "
             f"{_arrow(lo['from_step'], r['step'])} (χ² test, {p_value(r['p_value'])}): "
             f"{_c(lo[dim])} continues least ({pct(lo['rate_from_prev'])}), {_c(hi[dim])} most "
             f"({pct(hi['rate_from_prev'])}).")]
    if pairs is not None and len(pairs):
        pw = pairs.loc[pairs["step_index"] == r["step_index"]]
        low = pw.loc[(pw["a"] == lo[dim]) | (pw["b"] == lo[dim])]
        differ = [x["b"] if x["a"] == lo[dim] else x["a"] for _, x in low.iterrows()
                  if x["significant"]]
        same = [x["b"] if x["a"] == lo[dim] else x["a"] for _, x in low.iterrows()
                if not x["significant"]]
        if differ:
            text.append(f"Pairwise (Holm-corrected z tests), {_c(lo[dim])} differs from "
                        f"{join(map(_c, differ))}"
                        + (f" but not beyond chance from {join(map(_c, same))}." if same else "."))
        else:
            text.append(f"Pairwise (Holm-corrected), no single {dim} differs from {_c(lo[dim])} "
                        f"beyond chance: the χ² difference is spread over several segments.")
    late = [x for x in spreads if _late(x[1]["step_index"], K)]
    early = [x for x in spreads if not _late(x[1]["step_index"], K)]
    others = spreads[1:]
    if others:
        names = join(_arrow(x[2]["from_step"], x[1]["step"]) for x in others[:3])
        text.append(f"They also differ at {names}"
                    + (f" ({len(others) - 3} more)." if len(others) > 3 else "."))
    flat = tests.loc[tests["p_value"] >= ALPHA]
    if len(flat):
        text.append(f"At {join(_c(s) for s in flat['step'])} the {dim} makes no difference "
                    f"beyond chance.")
    where = ("late, in the last steps of the funnel" if not early else
             "early, where intent shows (the first steps)" if not late else
             "both early and late in the funnel")
    return paragraphs(" ".join(text), f"So the {dim} differences sit {where}.")


_FUNNEL = ["step", "step_index", "from_step", "n", "n_prev", "rate_from_start", "rate_from_prev",
           "ci_low", "ci_high", "median_time_from_prev"]


def own_breakdowns(cols: pd.DataFrame, *, given: bool = False) -> Text:
    """Which of the data's own attributes the funnel is also broken down by (section 3).

    ``cols`` is :func:`helpers.funnel.breakdown_columns`; ``given`` says whether the user named
    them (the ``BREAKDOWNS`` parameter) or the data's attributes were taken as they are.

    Examples
    --------
    >>> cols = pd.DataFrame({"column": ["lifecycle"], "table": ["users"], "levels": [4]})
    >>> own_breakdowns(cols)
    The data carries its own attributes, so the funnel is also broken down by `lifecycle` (users, 4 values).
    >>> own_breakdowns(cols.iloc[:0])
    The data carries no session or user attribute beyond the standard ones; name any column of sessions or users with a few values in `BREAKDOWNS` to break the funnel down by it too.
    """
    wide = cols.attrs.get("too_many_levels") or []
    tail = (f" Left out for having too many values to be segments: {join(map(_c, wide))}."
            if wide else "")
    if cols.empty:
        return Text("The data carries no session or user attribute beyond the standard ones; "
                    "name any column of sessions or users with a few values in `BREAKDOWNS` to "
                    "break the funnel down by it too." + tail)
    items = join(f"{_c(r.column)} ({r.table}, {plural(r.levels, 'value')})"
                 for r in cols.itertuples())
    if given:
        return Text(f"The funnel is also broken down by {items}, as `BREAKDOWNS` asks.")
    return Text("The data carries its own attributes, so the funnel is also broken down by "
                f"{items}.{tail}")


def drivers(d: pd.DataFrame, *, shown: int = 3) -> Text:
    """Conversion drivers (``funnel.drivers``): what goes with buying more, and with buying less.

    >>> d = pd.DataFrame({"feature": ["remove_from_cart", "Organic Social"],
    ...     "kind": ["event", "channel"], "with_rate": [0.126, 0.012], "without_rate": [0.034, 0.038],
    ...     "odds_ratio": [4.06, 0.32], "ci_low": [3.37, 0.27], "ci_high": [4.9, 0.38],
    ...     "p_holm": [1e-9, 1e-9]})
    >>> print(drivers(d))
    An odds ratio shows what goes with buying, not what causes it, but it says where to look. Sessions with `remove_from_cart` convert at 12.6 % against 3.4 % without (odds ratio 4.06, 95 % CI 3.37–4.90). Sessions from channel `Organic Social` convert at 1.2 % against 3.8 % (odds ratio 0.32, 95 % CI 0.27–0.38).
    <BLANKLINE>
    **Takeaway:** the strongest signals are `remove_from_cart` (with more buying) and `Organic Social` (with less); test a change around them before acting on them, since what goes with buying need not cause it.
    """
    if d.attrs.get("conversions") == 0:
        return Text("No session converts, so nothing can be said to go with converting.")
    sig = d.loc[d["p_holm"] < ALPHA]
    if sig.empty:
        return Text("No event or session attribute goes with converting more or less than the "
                    "rest beyond chance (Holm over every feature)." if len(d) else
                    "Too few sessions with and without each event to look for conversion drivers.")
    up = sig.loc[sig["odds_ratio"] > 1].head(shown)
    down = sig.loc[sig["odds_ratio"] < 1].head(shown)

    def one(r):
        who = f"`{r['feature']}`" if r["kind"] == "event" else f"{r['kind']} `{r['feature']}`"
        pre = "with" if r["kind"] == "event" else "from"
        tail = " without" if r["kind"] == "event" else ""
        return (f"Sessions {pre} {who} convert at {pct(r['with_rate'])} against "
                f"{pct(r['without_rate'])}{tail} (odds ratio {r['odds_ratio']:.2f}, 95 % CI "
                f"{r['ci_low']:.2f}–{r['ci_high']:.2f}).")

    lines = [one(r) for _, r in pd.concat([up, down]).iterrows()]
    names = []
    if len(up):
        names.append(f"`{up['feature'].iloc[0]}` (with more buying)")
    if len(down):
        names.append(f"`{down['feature'].iloc[0]}` (with less)")
    head = ("An odds ratio shows what goes with buying, not what causes it, but it says where to "
            "look. ")
    return paragraphs(head + " ".join(lines),
                      takeaway(f"the strongest signals are {join(names)}; test a change around "
                               "them before acting on them, since what goes with buying need "
                               "not cause it."))


TREND_MIN = 100
"""Weeks with fewer units at the previous step are not quoted as a trend's low or high."""


def trend(weekly: pd.DataFrame, tests: pd.DataFrame) -> Text:
    """Funnel trends: which step rates move between weeks beyond chance, and how far.

    ``weekly`` is :func:`helpers.funnel.trend`, ``tests`` its :func:`helpers.funnel.compare`;
    the steps' p-values are Holm-adjusted, and the low and high weeks quoted are among those
    with at least :data:`TREND_MIN` units at the previous step (when two such weeks exist).

    >>> w = pd.DataFrame({"period": ["2025-01-06", "2025-01-13"] * 2, "step_index": [1, 1, 2, 2],
    ...                   "from_step": ["v", "v", "c", "c"], "step": ["c", "c", "b", "b"],
    ...                   "rate_from_prev": [0.10, 0.16, 0.5, 0.52], "n_prev": [900, 950, 90, 150]})
    >>> t = pd.DataFrame({"step": ["c", "b"], "step_index": [1, 2], "p_value": [0.0001, 0.8]})
    >>> trend(w, t)
    Over 2 weeks, `v → c` moves beyond what chance allows (χ² across weeks, Holm-adjusted p < 0.001): from 10 % in the week of 6 Jan 2025 to 16 % in the week of 13 Jan 2025. `c → b` holds steady (no difference between weeks beyond chance).
    """
    weeks = weekly["period"].nunique() if len(weekly) else 0
    if weeks < 2:
        return Text("The data spans fewer than two weeks with enough sessions: there is no trend "
                    "to read.")
    from statsmodels.stats.multitest import multipletests

    tests = tests.sort_values("step_index").reset_index(drop=True)
    ok = tests["p_value"].notna()
    holm = pd.Series(np.nan, index=tests.index)
    if ok.any():
        holm[ok] = multipletests(tests.loc[ok, "p_value"], method="holm")[1]
    moving, steady = [], []
    for i, t in tests.iterrows():
        g = weekly.loc[weekly["step_index"] == t["step_index"]]
        name = _arrow(g["from_step"].iloc[0], g["step"].iloc[0])
        if not holm[i] < ALPHA:
            steady.append(name)
            continue
        big = g.loc[g["n_prev"] >= TREND_MIN] if (g["n_prev"] >= TREND_MIN).sum() >= 2 else g
        lo, hi = big.loc[big["rate_from_prev"].idxmin()], big.loc[big["rate_from_prev"].idxmax()]
        moving.append(f"{name} moves beyond what chance allows (χ² across weeks, Holm-adjusted "
                      f"{p_value(holm[i])}): from {pct(lo['rate_from_prev'])} in the week "
                      f"of {_week(lo['period'])} to {pct(hi['rate_from_prev'])} in the week of "
                      f"{_week(hi['period'])}")
    if not moving:
        return Text(f"Over {weeks} weeks, every step rate holds steady: no step differs between "
                    "weeks beyond chance (χ² per step).")
    parts = [f"Over {weeks} weeks, " + "; ".join(moving) + "."]
    if steady:
        verb = "holds" if len(steady) == 1 else "hold"
        parts.append(f"{join(steady)} {verb} steady (no difference between weeks beyond chance).")
    return Text(" ".join(parts))


def _week(day: str) -> str:
    d = pd.Timestamp(day)
    return f"{d.day} {d:%b %Y}"


def where_segments_differ(tests: dict) -> Text:
    """Section 3 takeaway: per dimension, whether its largest difference sits early or late.

    ``tests`` maps a dimension name to its :func:`helpers.funnel.compare` table (an empty dict
    when the sessions have no breakdown columns). The largest difference is the significant
    step with the largest χ² statistic; "late" is the second half of the funnel's transitions.

    Examples
    --------
    >>> t = lambda ps, chi: pd.DataFrame({"step": ["c", "k", "p"], "step_index": [1, 2, 3],
    ...                                   "chi2": chi, "p_value": ps})
    >>> print(where_segments_differ({"device": t([0.01, 0.3, 0.001], [5, 1, 90]),
    ...                              "channel": t([0.001, 0.4, 0.3], [70, 1, 2])}))
    ...     # doctest: +NORMALIZE_WHITESPACE
    **Takeaway:** the device differences are largest late in the funnel (at `p`); the channel
    differences are largest early, in intent (at `c`). They call for different fixes: late steps
    are the product team's (checkout, payment), early steps marketing's (whom it brings in).
    """
    if not tests:
        return takeaway("the sessions carry no device or channel, so the funnel cannot be broken "
                        "down by them.")
    phrases, kinds = [], set()
    for dim, t in tests.items():
        sig = t.loc[t["p_value"] < ALPHA] if len(t) else t
        if sig.empty:
            phrases.append(f"no {dim} differs from the rest beyond chance at any step")
            continue
        K = int(t["step_index"].max()) + 1
        top = sig.loc[sig["chi2"].idxmax()]
        kind = "late" if _late(top["step_index"], K) else "early"
        kinds.add(kind)
        where = "late in the funnel" if kind == "late" else "early, in intent"
        phrases.append(f"the {dim} differences are largest {where} (at {_c(top['step'])})")
    text = "; ".join(phrases) + "."
    if {"early", "late"} <= kinds:
        text += (" They call for different fixes: late steps are the product team's (checkout, "
                 "payment), early steps marketing's (whom it brings in).")
    return takeaway(text[0].lower() + text[1:])


# --------------------------------------------------------------------------- 4 · bottleneck


def _cell(r) -> str:
    return f"{_c(r['segment'])} ({r['dimension']}) at {_arrow(r['from_step'], r['step'])}"


def bottleneck(bn: pd.DataFrame, unit: str = "session") -> Text:
    """Section 4: the step × segment furthest below everyone else, if any is beyond chance.

    ``bn`` is a :func:`helpers.funnel.bottlenecks` table (ranked, possibly without rows).

    Examples
    --------
    >>> bn = pd.DataFrame({"dimension": ["device"], "segment": ["mobile"], "from_step": ["pay"],
    ...     "step": ["buy"], "n_prev": [3000], "rate": [0.59], "rate_rest": [0.88],
    ...     "gap": [-0.29], "p_holm": [1e-9], "significant": [True]})
    >>> print(bottleneck(bn))  # doctest: +ELLIPSIS
    The largest significant shortfall is `mobile` (device) at `pay → buy`: 59 % of its 3,000 sessions go on, against 88 % of everyone else (−29.0 pp, Holm-corrected p < 0.001).
    ...
    """
    units = _units(unit)
    if bn.empty:
        return paragraphs(takeaway("without a breakdown (no device or channel) there is no "
                                   "segment to compare, so no bottleneck by segment."))
    sig = bn.loc[bn["significant"].astype(bool)]
    if sig.empty:
        worst = bn.loc[bn["gap"].idxmin()]
        return paragraphs(
            f"No step × segment falls significantly below the rest (two-proportion z tests, "
            f"Holm-corrected over {plural(len(bn), 'cell')}). The largest gap, {_cell(worst)} "
            f"({pp(worst['gap'])}, {plural(worst['n_prev'], unit)}), is within chance.",
            takeaway("no segment stands out at any step; improve the funnel for everyone "
                     "instead of for one segment."))
    top = sig.iloc[0]
    head = (f"The largest significant shortfall is {_cell(top)}: {pct(top['rate'])} of its "
            f"{count(top['n_prev'])} {units} go on, against {pct(top['rate_rest'])} of everyone "
            f"else ({pp(top['gap'])}, Holm-corrected {p_value(top['p_holm'])}).")
    more = None
    if len(sig) > 1:
        more = ("Next: " + join(f"{_cell(r)} ({pp(r['gap'])})" for _, r in sig.iloc[1:3].iterrows())
                + (f", and {plural(len(sig) - 3, 'more significant shortfall')}." if len(sig) > 3
                   else "."))
    much = "far fewer" if top["gap"] <= -0.10 else "fewer"
    tk = (f"the bottleneck is {_cell(top)}: of its {units} that reach {_c(top['from_step'])}, "
          f"{much} go on than elsewhere, and the test leaves no doubt.")
    return paragraphs(head, more, takeaway(tk))


_PERIOD_NOUNS = {"M": "month", "W": "week", "D": "day", "Q": "quarter", "Y": "year"}
_ADJUSTED = {"fdr_bh": "Benjamini–Hochberg-adjusted", "holm": "Holm-adjusted"}


def _period_noun(freq: str) -> str:
    return _PERIOD_NOUNS.get(str(freq).split("-")[0].lstrip("0123456789"), "period")


def _when(period, freq: str = "M") -> str:
    """A period of :func:`helpers.funnel.period_bottlenecks` in words, with its preposition.

    >>> _when("2025-03-01"), _when("2025-03-10", "W"), _when("2025-03-10", "D")
    ('in March 2025', 'in the week of 10 Mar 2025', 'on 10 Mar 2025')
    """
    d = pd.Timestamp(period)
    noun = _period_noun(freq)
    if noun == "month":
        return f"in {d:%B %Y}"
    if noun == "week":
        return f"in the week of {d.day} {d:%b %Y}"
    if noun == "day":
        return f"on {d.day} {d:%b %Y}"
    if noun == "quarter":
        return f"in Q{d.quarter} {d.year}"
    if noun == "year":
        return f"in {d.year}"
    return f"in the period from {d.day} {d:%b %Y}"


def period_bottleneck(pb: pd.DataFrame, bn: pd.DataFrame | None = None,
                      unit: str | None = None) -> Text:
    """Section 4, when and where: the segment × period furthest below the segment's usual rate.

    ``pb`` is :func:`helpers.funnel.period_bottlenecks` (its ``.attrs`` say the period, the
    correction, and why a table has no rows); ``bn`` the :func:`helpers.funnel.bottlenecks`
    table of the section before (optional), to tell a problem with a date from the lasting
    difference between segments.

    Examples
    --------
    >>> pb = pd.DataFrame({"dimension": ["device"], "segment": ["desktop"],
    ...     "period": ["2025-03-01"], "from_step": ["pay"], "step": ["buy"], "n_prev": [900],
    ...     "rate": [0.41], "rate_usual": [0.87], "gap": [-0.46], "gap_others": [-0.01],
    ...     "p_adj": [1e-12], "significant": [True], "missing": [414.0]})
    >>> print(period_bottleneck(pb))  # doctest: +ELLIPSIS
    The largest shortfall with a date is `desktop` (device) at `pay → buy` in March 2025: 41 % of its 900 sessions there went on, against 87 % in its other months (−46.0 pp, Benjamini–Hochberg-adjusted p < 0.001), about 414 sessions lost.
    <BLANKLINE>
    The other segments by device moved −1.0 pp at that step in March 2025, so the drop is `desktop`'s own.
    <BLANKLINE>
    **Takeaway:** look at what changed for `desktop` at `pay → buy` in March 2025 ...
    """
    a = pb.attrs
    unit = unit or a.get("unit", "session")
    units = _units(unit)
    freq = a.get("freq", "M")
    noun = _period_noun(freq)
    nouns = noun + "s"
    adjusted = _ADJUSTED.get(a.get("method", "fdr_bh"), "adjusted")
    if pb.empty:
        reason = a.get("reason")
        if reason == "no_breakdown":
            absent = a.get("absent") or []
            what = (f"no {join(map(_c, absent), word='or')} column" if absent else
                    "no breakdown column")
            return paragraphs(f"The data has {what} to break the funnel down by, so there is no "
                              f"segment to follow from {noun} to {noun}.")
        if reason == "one_step":
            return paragraphs(f"With a single funnel step there is no step rate to follow from "
                              f"{noun} to {noun}.")
        if reason == "one_period":
            k = a.get("censored_periods") or 0
            last = f"last {noun}" if k == 1 else f"last {k} {nouns}"
            cut = (f" once the {last} {'is' if k == 1 else 'are'} left out (their {units} "
                   f"could not finish within the window yet)" if k else "")
            return paragraphs(f"The data covers fewer than two {nouns}{cut}, so no segment has "
                              f"other {nouns} to be compared with: a shortfall with a date needs "
                              f"a usual rate to fall below.")
        if reason == "too_small":
            return paragraphs(f"No segment has {a.get('min_n', FEW)} {units} at the previous "
                              f"step both in a {noun} and in its other {nouns}: too few to test "
                              f"a {noun} against the segment's usual rate.")
        return paragraphs(f"No segment × {noun} could be tested.")

    untested = (f" ({plural(a['too_small'], 'cell')} with fewer than {a.get('min_n', FEW)} "
                f"{units} at the previous step were not tested.)" if a.get("too_small") else "")
    structural = None
    if bn is not None and len(bn) and bn["significant"].astype(bool).any():
        structural = bn.loc[bn["significant"].astype(bool)].iloc[0]
    sig = pb.loc[pb["significant"].astype(bool)]
    if sig.empty:
        worst = pb.iloc[0]           # ranked by units lost, as the table shows it
        wobble = (", allowing for how much those vary" if a.get("spread", True) else "")
        tail = (f"; the bottleneck above, {_cell(structural)}, is not the work of one bad {noun}"
                if structural is not None else "")
        loss = (f" The largest loss, {_cell(worst)} {_when(worst['period'], freq)} (about "
                f"{plural(worst['missing'], unit)} below its usual rate, {pp(worst['gap'])}), "
                f"is within chance." if worst["missing"] > 0 else "")
        return paragraphs(
            f"No segment falls significantly below its own usual rate at any step in any {noun} "
            f"(two-proportion tests against the segment's other {nouns}{wobble}, {adjusted} "
            f"over {plural(len(pb), 'cell')}).{loss}{untested}",
            takeaway(f"no segment had a {noun} clearly worse than its usual, so nothing with a "
                     f"date stands out{tail}."))

    top = sig.iloc[0]
    at = _when(top["period"], freq)
    key = ["dimension", "segment", "step"]
    same = sig.loc[(sig[key] == top[key]).all(axis=1)].iloc[1:]
    head = (f"The largest shortfall with a date is {_cell(top)} {at}: {pct(top['rate'])} of its "
            f"{count(top['n_prev'])} {units} there went on, against {pct(top['rate_usual'])} in "
            f"its other {nouns} ({pp(top['gap'])}, {adjusted} {p_value(top['p_adj'])}), about "
            f"{plural(top['missing'], unit)} lost.")
    if len(same):
        shown = sorted(same["period"])
        head += (f" It is significantly short at that step "
                 f"{join(_when(p, freq) for p in shown)} as well.")
    shared = False
    others = None
    if not _nan(top.get("gap_others")):
        go = top["gap_others"]
        shared = go < 0 and go <= top["gap"] / 2
        others = (f"The other segments by {top['dimension']} fell too ({pp(go)}) at that step "
                  f"{at}: the whole shop did worse then, not only {_c(top['segment'])}."
                  if shared else
                  f"The other segments by {top['dimension']} moved {pp(go)} at that step {at}, "
                  f"so the drop is {_c(top['segment'])}'s own.")
    groups = sig.drop_duplicates(key).iloc[1:]
    more, many = None, "other segments or steps"
    if len(groups):
        more = ("Next: " + join(f"{_cell(r)} {_when(r['period'], freq)} ({pp(r['gap'])})"
                                for _, r in groups.iloc[:2].iterrows())
                + (f", and {plural(len(groups) - 2, 'other segment or step', many)} with a "
                   f"significant shortfall." if len(groups) > 2 else "."))
    link = None
    if structural is not None:
        if (structural["dimension"], structural["segment"], structural["step"]) == (
                top["dimension"], top["segment"], top["step"]):
            link = (f"It is the segment and step of the bottleneck above: {_c(top['segment'])} "
                    f"falls short there all along, and further {at}.")
        else:
            hit = sig.loc[(sig["dimension"] == structural["dimension"])
                          & (sig["segment"] == structural["segment"])
                          & (sig["step"] == structural["step"])]
            link = (f"The bottleneck above, {_cell(structural)}, "
                    + (f"also falls below its own usual rate "
                       f"{join(_when(p, freq) for p in sorted(hit['period']))}, but this shortfall "
                       f"cost more {units}." if len(hit) else
                       f"has no {noun} significantly below its own usual rate: it is a lasting "
                       f"difference, and this is a separate problem with a date."))
    who = "the whole shop" if shared else _c(top["segment"])
    tk = (f"look at what changed for {who} at {_arrow(top['from_step'], top['step'])} {at} (a "
          f"release, a payment or tracking change, a campaign): a shortfall with a date can be "
          f"traced to what happened then.")
    return paragraphs(head, others, more, link, takeaway(tk))


# --------------------------------------------------------------------------- 5 · carts


def abandonment(carts: pd.DataFrame, window, by: pd.DataFrame | None = None,
                bn: pd.DataFrame | None = None) -> Text:
    """Section 5: how many carts are abandoned, how many come back later, who abandons most.

    ``carts`` is :func:`helpers.funnel.cart_abandonment` without ``by``; ``by`` the same
    broken down by one column (optional); ``bn`` the bottleneck table, to link the two.

    Examples
    --------
    >>> c = pd.DataFrame({"carts": [1000], "same_session": [250], "later_session": [40],
    ...     "abandoned": [710], "abandonment_rate": [0.71], "ci_low": [0.68],
    ...     "ci_high": [0.74], "censored": [12]})
    >>> print(abandonment(c, "7D"))  # doctest: +ELLIPSIS
    71 % (95 % CI 68–74 %) of carts are abandoned: 710 of 1,000 carts had no purchase by the same user within 7 days, within the 60–80 % typical of online shops. ...
    """
    c = carts.iloc[0] if len(carts) else None
    if c is None or c["carts"] + c["censored"] == 0:
        return paragraphs("No session added anything to the cart (`add_to_cart`), so there are "
                          "no carts to judge.")
    if c["carts"] == 0:
        return paragraphs(f"All {plural(c['censored'], 'cart')} are too recent to judge: "
                          f"none has had its full {_window(window)} yet.")
    rate = c["abandonment_rate"]
    lo_t, hi_t = TYPICAL_ABANDONMENT
    typical = ("within" if lo_t <= rate <= hi_t else "above" if rate > hi_t else "below")
    head = (f"{interval(rate, c['ci_low'], c['ci_high'])} of carts are abandoned: "
            f"{count(c['abandoned'])} of {count(c['carts'])} carts had no purchase by the same "
            f"user within {_window(window)}, {typical} the 60–80 % typical of online shops.")
    if c["carts"] < FEW:
        head += f" With only {plural(c['carts'], 'cart')} the rate is not firm."
    rec = c["same_session"] + c["later_session"]
    if c["later_session"] > 0:
        later = (f"{count(c['later_session'])} of the {count(rec)} bought carts "
                 f"({pct(c['later_session'] / rec)}) were bought in a later visit: the customers "
                 f"a cart reminder can bring back.")
    elif rec > 0:
        later = "Every bought cart was bought in its own visit; none came back later."
    else:
        later = ("No cart was bought at all (if the shop did sell, the data lacks its purchase "
                 "events).")
    cens = (f"{plural(c['censored'], 'cart')} from the last {_window(window)} are too recent to "
            f"judge and are left out." if c["censored"] else None)
    seg, worst = None, None
    if by is not None and len(by) > 1:
        dim = by.columns[0]
        b = by.loc[by["carts"] > 0]
        if len(b) > 1:
            hi, lo = b.loc[b["abandonment_rate"].idxmax()], b.loc[b["abandonment_rate"].idxmin()]
            if hi["ci_low"] > lo["ci_high"]:
                worst = hi[dim]
                seg = (f"{_c(hi[dim])} carts are abandoned most often "
                       f"({pct(hi['abandonment_rate'])}, against {pct(lo['abandonment_rate'])} "
                       f"on {_c(lo[dim])}; the intervals do not overlap)")
            else:
                seg = f"no {dim} abandons clearly more carts than another (the intervals overlap)"
    top = None
    if bn is not None and len(bn) and bn["significant"].astype(bool).any():
        top = bn.loc[bn["significant"].astype(bool)].iloc[0]
    if seg and worst is not None and top is not None and top["segment"] == worst:
        seg += (f", which the shortfall at {_arrow(top['from_step'], top['step'])} found above "
                f"helps explain")
    seg = seg[0].upper() + seg[1:] + "." if seg else None
    if c["later_session"] > 0:
        tk = f"cart reminders within {_window(window)} can win some carts back"
        if top is not None:
            tk += (f", but the biggest lever is the {_arrow(top['from_step'], top['step'])} step "
                   f"itself, where {_c(top['segment'])} falls behind")
    elif top is not None:
        tk = (f"reminders have little to win here; the lever is the "
              f"{_arrow(top['from_step'], top['step'])} step, where {_c(top['segment'])} falls "
              f"behind")
    else:
        tk = "no cart came back in a later visit, so reminders have little to win in this data"
    return paragraphs(" ".join(x for x in [head, later, cens] if x), seg, takeaway(tk + "."))


# --------------------------------------------------------------------------- 6 · time


def conversion_time(ttc: pd.DataFrame, q: pd.Series, steps, window, span=None) -> Text:
    """Section 6: the typical time to convert (median from the data) and the slow tail.

    ``ttc`` is :func:`helpers.funnel.time_to_convert`, ``q`` :func:`helpers.funnel.conversion_times`
    (quantiles 0.25, 0.5, 0.75, 0.9) of the same journeys; ``span`` the time the data covers
    (a log shorter than the window cannot show slow buyers, and the text says so).

    Examples
    --------
    >>> ttc = pd.DataFrame({"bin": ["< 1 min", "1–5 min", "6–24 h", "1–3 days"],
    ...                     "n": [0, 60, 10, 30], "share": [0, 0.6, 0.1, 0.3],
    ...                     "cum_share": [0, 0.6, 0.7, 1.0]})
    >>> q = pd.Series(pd.to_timedelta(["2min", "4min", "1D", "2D"]), index=[0.25, 0.5, 0.75, 0.9])
    >>> q.attrs["n"] = 100
    >>> print(conversion_time(ttc, q, ["view_item", "purchase"], "30D"))  # doctest: +ELLIPSIS
    Half of the 100 users who reached `purchase` did so within 4 min of their first `view_item`; ...
    """
    steps = list(steps)
    n = q.attrs.get("n", 0)
    if len(steps) < 2:
        return paragraphs("With a single funnel step there is no time to convert to measure.")
    if n == 0:
        return paragraphs(f"No user reached {_c(steps[-1])} from {_c(steps[0])} within "
                          f"{_window(window)}, so there is no time to convert to describe.")
    med, q75, q90 = q.get(0.5), q.get(0.75), q.get(0.9)
    if n < FEW:
        head = (f"Only {plural(n, 'user')} reached {_c(steps[-1])} from {_c(steps[0])} within "
                f"{_window(window)}, too few for a distribution: "
                + (f"it took {duration(med)}." if n == 1 else
                   f"their median time was {duration(med)}."))
    else:
        head = (f"Half of the {plural(n, 'user')} who reached {_c(steps[-1])} did so within "
                f"{duration(med)} of their first {_c(steps[0])}; a quarter took longer than "
                f"{duration(q75)}, a tenth longer than {duration(q90)}.")
    short = span is not None and window is not None and pd.Timedelta(span) < pd.Timedelta(window)
    day = ttc.loc[ttc["bin"].isin(["< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–6 h",
                                   "6–24 h"]), "n"].sum()
    slow = (n - day) / n
    tail = (f"{pct(slow)} took more than a day, coming back in a later visit: the buyers a session "
            f"funnel counts as lost and a shorter window would miss." if slow > 0 else
            "Nobody took more than a day.")
    if short:
        tail += (f" The data covers only {duration(span)}, less than the window of "
                 f"{_window(window)}, so slower buyers cannot show up at all.")
    edge = None
    if pd.notna(q90) and window is not None and q90 >= 0.8 * pd.Timedelta(window):
        edge = (f"The slowest tenth takes nearly the whole window of {_window(window)}: a "
                f"longer `WINDOW` would probably count more buyers.")
    if short:
        tk = (f"this log is too short to say how long buying takes beyond {duration(span)}; "
              f"judge the conversion window on a longer export.")
    elif med <= pd.Timedelta("1h"):
        tk = (f"the typical purchase is quick ({duration(med)}, within a visit), so the checkout "
              f"experience matters more than long nurturing"
              + ("; the multi-day tail sets the conversion window and the timing of reminders."
                 if slow > 0 else "."))
    elif med <= pd.Timedelta("1D"):
        tk = (f"the typical buyer takes hours ({duration(med)}), not minutes: a same-day reminder "
              f"can reach people while they are still deciding.")
    else:
        tk = (f"the typical buyer takes days ({duration(med)}), coming back before buying: "
              f"reminders and nurturing between visits matter, and the window must cover them.")
    return paragraphs(head, tail, edge, takeaway(tk))


# --------------------------------------------------------------------------- 7 · what first


def fix_first(fix: pd.DataFrame, bn: pd.DataFrame | None = None, unit: str = "session",
              last: str = CANONICAL_LAST) -> Text:
    """Section 7: the significant shortfall that costs the most purchases (or that there is none).

    ``fix`` is :func:`helpers.funnel.fix_first`; ``bn`` the bottleneck table it came from (to
    tell "no breakdown" from "nothing significant"); ``last`` the funnel's last step (what
    ``extra_purchases`` counts: purchases when it is ``purchase``).

    Examples
    --------
    >>> fix = pd.DataFrame(columns=["dimension", "segment", "from_step", "step", "extra",
    ...                             "extra_purchases"])
    >>> print(fix_first(fix))  # doctest: +ELLIPSIS
    No step × segment falls significantly below the rest, so there is no segment to fix first...
    """
    units = _units(unit)
    if bn is not None and bn.empty:
        return takeaway("without a breakdown by segment there is nothing to rank; start with the "
                        "narrowest step of the whole funnel (section 1).")
    if fix.empty:
        return paragraphs("No step × segment falls significantly below the rest, so there is no "
                          "segment to fix first: work on the narrowest step of the whole funnel "
                          "(section 1) for everyone.")
    top = fix.iloc[0]
    by_units = fix.loc[fix["extra"].idxmax()]
    worth = "purchases" if last == CANONICAL_LAST else f"{units} reaching {_c(last)}"
    head = (f"At the rate of everyone else, {_cell(top)} would have sent about "
            f"{count(top['extra'])} more {units} on, worth about "
            f"{count(top['extra_purchases'])} {worth}: the largest loss among the "
            f"{plural(len(fix), 'significant shortfall')}.")
    early = None
    if (by_units["segment"], by_units["step"]) != (top["segment"], top["step"]):
        early = (f"By {units} alone {_cell(by_units)} loses more ({count(by_units['extra'])}), "
                 f"but a {unit} saved at {_c(by_units['step'])} is still "
                 f"far from the end: weighted by the chance to get to {_c(last)} from there, it is "
                 f"worth about {count(by_units['extra_purchases'])} {worth}.")
    return paragraphs(head, early, takeaway(
        f"fix {_cell(top)} first: it is the largest loss of {worth} among the significant "
        f"shortfalls, and the effect of a fix is easy to check with an A/B test (notebook 06)."))


def decisions(f_session: pd.DataFrame, fix: pd.DataFrame | None, carts: pd.DataFrame | None,
              tests: dict, window, cart_window) -> Text:
    """The closing "Decisions" list, from the tables of the sections before.

    Examples
    --------
    >>> f = pd.DataFrame({"step": ["v", "c"], "step_index": [0, 1], "from_step": [None, "v"],
    ...     "n": [100, 10], "n_prev": [100, 100], "rate_from_prev": [1, 0.1]})
    >>> print(decisions(f, None, None, {}, "30D", "7D"))  # doctest: +ELLIPSIS
    ## Decisions
    <BLANKLINE>
    - **Work on `c`**, the narrowest step ...
    """
    lines = []
    if fix is not None and len(fix):
        top = fix.iloc[0]
        lines.append(f"**Fix {_cell(top)} first.** Compare its flow with the segments that do "
                     f"better at that step, and test the fix in an A/B test.")
    else:
        live = _steps(f_session).loc[lambda d: d["n_prev"] > 0]
        if len(live):
            r = live.loc[live["rate_from_prev"].idxmin()]
            few = (f", of only {plural(r['n_prev'], 'session')}: check again on more data"
                   if r["n_prev"] < FEW else "")
            lines.append(f"**Work on {_c(r['step'])}**, the narrowest step "
                         f"({pct(r['rate_from_prev'])} go on{few}), for everyone: no segment "
                         f"falls significantly behind the rest there.")
    if carts is not None and len(carts) and carts["carts"].iloc[0] > 0:
        c = carts.iloc[0]
        if c["later_session"] > 0:
            lines.append(f"**Send cart reminders** within {_window(cart_window)}: "
                         f"{pct(c['later_session'] / (c['same_session'] + c['later_session']))} "
                         f"of bought carts come back in a later visit; time them by the "
                         f"time-to-convert tail.")
    t = tests.get("channel")
    if t is not None and len(t):
        K = int(t["step_index"].max()) + 1
        sig = t.loc[t["p_value"] < ALPHA]
        if len(sig) and all(not _late(k, K) for k in sig["step_index"]):
            lines.append(f"**Judge channels on their first steps and their cost, not on "
                         f"checkout:** they differ at {join(map(_c, sig['step']))}; further on "
                         f"they behave alike.")
    if len(f_session) < 2:
        lines.append(f"**Record the funnel's steps** (at least two of "
                     f"{join(map(_c, ('view_item', 'add_to_cart', 'begin_checkout', 'purchase')))}"
                     f") to see where buyers drop out.")
    if len(f_session) > 1:
        lines.append(f"**Report funnels two ways:** by session to find problems in the shop, by "
                     f"user with a stated window ({_window(window)}) to measure conversion of "
                     f"the people we pay to bring in.")
    return bullets(lines, title="Decisions")


# --------------------------------------------------------------------------- answer key


def key_devices(by_device: pd.DataFrame, planted: dict) -> Text:
    """Answer key: the measured checkout step rates per device against the planted ones.

    ``planted`` maps device -> {"from->to": rate} (the simulator's ``checkout_steps_by_device``).

    Examples
    --------
    >>> t = pd.DataFrame({"device": ["m"], "from_step": ["pay"], "step": ["buy"],
    ...     "rate_from_prev": [0.56], "ci_low": [0.53], "ci_high": [0.59]})
    >>> print(key_devices(t, {"m": {"pay->buy": 0.55}}))  # doctest: +ELLIPSIS
    **Check against the answer key.** ...
    <BLANKLINE>
    1 of 1 planted step rates lie inside the measured 95 % interval...
    """
    rows = []
    for dev, steps in planted.items():
        for key, rate in steps.items():
            a, b = key.split("->")
            m = by_device.loc[(by_device["device"] == dev) & (by_device["from_step"] == a)
                              & (by_device["step"] == b)]
            if len(m):
                r = m.iloc[0]
                rows.append((dev, a, b, rate, r["rate_from_prev"], r["ci_low"] <= rate <= r["ci_high"]))
    expl = ("The simulator plants, per device, the chance of going on at each checkout step. The "
            "measured rates should sit close to it: a finite sample wanders a little (the "
            "interval shows how much), and users in the treatment group of the checkout test "
            "(notebook 06) pay more often by design, which lifts the measured rates slightly.")
    if not rows:
        return paragraphs(f"**Check against the answer key.** {expl}",
                          "None of the planted steps is in this funnel's `STEPS`.")
    inside = sum(r[-1] for r in rows)
    outside = [f"{_c(d)} {_arrow(a, b)} (planted {pct(p)}, measured {pct(m)})"
               for d, a, b, p, m, ok in rows if not ok]
    return paragraphs(f"**Check against the answer key.** {expl}",
                      f"{inside} of {len(rows)} planted step rates lie inside the measured 95 % "
                      f"interval" + (f"; outside: {join(outside)}." if outside else "."))


def key_channels(by_channel: pd.DataFrame, planted_rank: list) -> Text:
    """Answer key: channels ranked by the share of their sessions that reach the last step.

    >>> t = pd.DataFrame({"channel": ["A", "B", "C"], "step_index": [1, 1, 1],
    ...                   "rate_from_start": [0.02, 0.05, 0.01]})
    >>> print(key_channels(t, ["B", "A", "C"]))  # doctest: +ELLIPSIS
    **Check against the answer key.** ...
    <BLANKLINE>
    Measured order: `B`, `A` and `C`; all 3 channels sit at their planted rank.
    """
    last = by_channel.loc[by_channel["step_index"] == by_channel["step_index"].max()]
    measured = last.sort_values("rate_from_start", ascending=False, kind="stable")["channel"].tolist()
    expl = ("The simulator ranks channels by how often a visit ends in a purchase. Ranking the "
            "channels by the share of their sessions that reach the last step should give nearly "
            "the same order; neighbours with close rates may swap places in a finite sample.")
    pos = {c: i for i, c in enumerate(measured)}
    off = {c: abs(pos[c] - i) for i, c in enumerate(planted_rank) if c in pos}
    same = sum(v == 0 for v in off.values())
    swapped = [c for c, v in off.items() if v == 1]
    far = [c for c, v in off.items() if v > 1]
    found = (f"Measured order: {join(map(_c, measured))}; "
             + (f"all {len(off)} channels sit at their planted rank." if same == len(off) else
                f"{same} of {len(off)} channels sit at their planted rank"
                + (f", {join(map(_c, swapped))} one place off" if swapped else "")
                + (f", {join(map(_c, far))} further off" if far else "") + "."))
    return paragraphs(f"**Check against the answer key.** {expl}", found)


def key_bottleneck(bn: pd.DataFrame, key: dict) -> Text:
    """Answer key: is the top significant shortfall the bottleneck the simulator planted?

    >>> bn = pd.DataFrame({"segment": ["m"], "from_step": ["pay"], "step": ["buy"],
    ...                    "significant": [True]})
    >>> key = {"device": "m", "from_step": "pay", "step": "buy"}
    >>> print(key_bottleneck(bn, key))  # doctest: +ELLIPSIS
    **Check against the answer key.** ...found it: `m` at `pay → buy`.
    """
    planted = f"{_c(key['device'])} at {_arrow(key['from_step'], key['step'])}"
    sig = bn.loc[bn["significant"].astype(bool)] if len(bn) else bn
    expl = f"The simulator planted one bottleneck: {planted}."
    if sig.empty:
        return paragraphs(f"**Check against the answer key.** {expl} The test found no "
                          f"significant shortfall, so it missed it.")
    top = sig.iloc[0]
    ok = (top["segment"], top["from_step"], top["step"]) == (key["device"], key["from_step"],
                                                             key["step"])
    found = f"{_c(top['segment'])} at {_arrow(top['from_step'], top['step'])}"
    return paragraphs(f"**Check against the answer key.** {expl} The top significant shortfall "
                      + (f"found it: {found}." if ok else f"is {found} instead."))


def after_dropout(table: pd.DataFrame, unit: str = "session") -> Text:
    """Where units went after the last step they reached (:func:`helpers.funnel.after_dropout`).

    One bullet per step at which anyone stopped: how many, the share that logged nothing more,
    and the most common next event.

    >>> t = pd.DataFrame({"step": ["cart", "cart", "ship"], "step_index": [1, 1, 3],
    ...     "next_event": ["(nothing more)", "view_item", "view_cart"], "units": [30, 10, 5],
    ...     "share": [0.75, 0.25, 1.0]})
    >>> print(after_dropout(t))
    Where did they go after dropping out? (the first event each logged after its last funnel step)
    <BLANKLINE>
    - 40 sessions stopped after `cart`: 75 % logged nothing more; the most common next event was `view_item` (25 %).
    - 5 sessions stopped after `ship`: all went on to another event first, most often `view_cart` (100 %).
    """
    units = _units(unit)
    if table is None or len(table) == 0:
        return Text(f"Every {units[:-1]} that started the funnel finished it: nobody dropped out, "
                    "so there is nothing to follow.")
    items = []
    for _, g in table.groupby("step_index", sort=True):
        step, n = g["step"].iloc[0], int(g["units"].sum())
        none = g.loc[g["next_event"] == "(nothing more)", "share"].sum()
        other = g.loc[~g["next_event"].isin(["(nothing more)", "(other events)"])]
        head = f"{count(n)} {units if n != 1 else units[:-1]} stopped after {_c(step)}"
        if len(other) == 0:
            items.append(f"{head}: {pct(none)} logged nothing more." if none else
                         f"{head}: each went on to events of many kinds.")
            continue
        top = other.iloc[0]
        nxt = f"{_c(top['next_event'])} ({pct(top['share'])})"
        if none > 0:
            items.append(f"{head}: {pct(none)} logged nothing more; the most common next event "
                         f"was {nxt}.")
        else:
            items.append(f"{head}: all went on to another event first, most often {nxt}.")
    return paragraphs("Where did they go after dropping out? (the first event each logged after "
                      "its last funnel step)", bullets(items))


def in_progress(naive: pd.DataFrame, censored: pd.DataFrame, window, unit: str = "user") -> Text:
    """Units still inside their window when the data end (``funnel(..., censor=True)``).

    Says how many units are in progress, what the naive funnel (which counts them as lost)
    and the censored one (rates on units whose time has run out) give for the last step, and
    the step whose rate moves most.

    >>> naive = pd.DataFrame({"step": ["view", "buy"], "step_index": [0, 1], "n": [100, 20],
    ...                       "rate_from_start": [1.0, 0.2], "rate_from_prev": [1.0, 0.2]})
    >>> cens = naive.assign(in_progress=[0, 30], n_prev_decided=[100, 70], n_decided=[100, 20],
    ...     rate_from_start=[1.0, 20 / 70], rate_from_prev=[1.0, 20 / 70],
    ...     ci_low=[None, 0.19], ci_high=[None, 0.40])
    >>> cens.attrs["until"] = pd.Timestamp("2025-03-01")
    >>> print(in_progress(naive, cens, "7D"))  # doctest: +ELLIPSIS
    When the data end (1 Mar 2025), 30 of the 100 users who started (30 %) were still inside their window of 7 days: ...
    """
    units = _units(unit)
    if len(censored) < 2 or censored["n"].iloc[0] == 0:
        return Text(f"With fewer than two steps or no {units[:-1]} at the first, nobody can be "
                    "in progress.")
    end = censored.attrs.get("until")
    when = f" ({pd.Timestamp(end):%-d %b %Y})" if end is not None else ""
    total, waiting = int(censored["n"].iloc[0]), int(censored["in_progress"].sum())
    last = censored["step"].iloc[-1]
    if waiting == 0:
        return paragraphs(f"When the data end{when}, every {units[:-1]}'s time to reach the next "
                          f"step had run out: nobody is in progress, so the funnel stands as it "
                          f"is.")
    head = (f"When the data end{when}, {count(waiting)} of the {count(total)} {units} who "
            f"started ({pct(waiting / total)}) were still inside their window of "
            f"{_window(window)}: they have not dropped out, they have not yet had the time to go on.")
    rn, rc = naive["rate_from_start"].iloc[-1], censored["rate_from_start"].iloc[-1]
    if _nan(rc):
        open_step = censored.loc[censored["n_prev_decided"] == 0, "step"].iloc[0]
        return paragraphs(head, f"No {units[:-1]} who reached the step before {_c(open_step)} "
                          f"has had their full time to go on yet (the data are shorter than the "
                          f"window, or end too soon after them), so from {_c(open_step)} on the "
                          f"funnel cannot tell who dropped out from who is still on the way; "
                          f"naively {pct(rn)} reach {_c(last)}.",
                          takeaway(f"wait for more data, or use a shorter window: the naive "
                                   f"rates count every {units[:-1]} still in progress as lost."))
    if rn > 0 and abs(rc / rn - 1) < 0.05:
        body = (f"Counting them as lost changes little: {pct(rn)} reach {_c(last)} naively, "
                f"{pct(rc)} judged only on {units} whose time has run out (the product of the "
                f"step rates).")
    else:
        body = (f"Counted as lost, they pull the share reaching {_c(last)} to {pct(rn)}; judged "
                f"only on {units} whose time has run out, it is {pct(rc)} (the product of the "
                f"step rates).")
    steps = censored.iloc[1:]
    moved = (steps["rate_from_prev"] - naive["rate_from_prev"].iloc[1:]).abs()
    k = int(moved.to_numpy().argmax()) + 1
    r = censored.iloc[k]
    step = (f"The step that moves most is {_c(r['step'])}: "
            f"{interval(r['rate_from_prev'], r['ci_low'], r['ci_high'])} of the "
            f"{count(r['n_prev_decided'])} {units} whose time ran out went on, against "
            f"{pct(naive['rate_from_prev'].iloc[k])} naively.")
    if rn > 0 and abs(rc / rn - 1) >= 0.05:
        tk = (f"read the censored rates for a recent period: the naive ones understate how many "
              f"{units} convert by {pct(abs(rc / rn - 1))}.")
    else:
        tk = ("the units in progress change the rates little here; the naive funnel is close to "
              "the censored one.")
    return paragraphs(head, body, step, takeaway(tk))


ORDER_WORDS = {"ordered": "in order (other steps may come between)",
               "strict": "in strict order (no other funnel step between two steps)",
               "any": "in any order"}


def order_modes(tables: dict, unit: str = "session") -> Text:
    """The share of units doing every step under each order mode (``funnel(..., order=...)``).

    >>> f = lambda r: pd.DataFrame({"step": ["a", "b"], "n": [100, round(100 * r)],
    ...                             "rate_from_start": [1.0, r]})
    >>> print(order_modes({"ordered": f(0.2), "strict": f(0.1), "any": f(0.25)}))  # doctest: +ELLIPSIS
    20 % of the sessions that start the funnel do all 2 steps in order (other steps may come between), ...
    """
    units = _units(unit)
    have = {m: t for m, t in tables.items() if t is not None and len(t) and t["n"].iloc[0] > 0}
    if "ordered" not in have:
        return Text(f"No {units[:-1]} starts the funnel, so there is no order to compare.")
    K = len(have["ordered"])
    r = {m: t["rate_from_start"].iloc[-1] for m, t in have.items()}
    parts = [(f"{pct(r['ordered'])} of the {units} that start the funnel do all {K} steps "
              f"{ORDER_WORDS['ordered']}")]
    if "strict" in r:
        parts.append(f"{pct(r['strict'])} {ORDER_WORDS['strict']}")
    if "any" in r:
        parts.append(f"{pct(r['any'])} of those that did any of the steps did all of them "
                     f"{ORDER_WORDS['any']}")
    out = [join(parts, word="and") + "."]
    if "strict" in r and r["ordered"] > 0:
        lost = 1 - r["strict"] / r["ordered"]
        out.append(f"{pct(lost)} of the {units} that complete the ordered funnel went back to or "
                   f"repeated a funnel step on the way (they fail the strict order)." if lost > 0
                   else f"Every {units[:-1]} that completes the funnel does so without going "
                        f"back: the strict order loses nobody.")
    if "any" in r and r["any"] > r["ordered"]:
        out.append(f"Doing the steps in any order lifts the share to {pct(r['any'])}: some "
                   f"{units} do the steps out of the funnel's order (for instance the cart "
                   f"before a product view), which the ordered funnel does not count.")
    return paragraphs(*out)


def step_gaps(f_window: pd.DataFrame, f_gap: pd.DataFrame, gap, window, unit: str = "user") -> Text:
    """How much of a windowed funnel survives a per-step gap (``funnel(..., max_gap=...)``).

    >>> f = lambda n: pd.DataFrame({"step": ["view", "cart", "buy"], "n": n})
    >>> print(step_gaps(f([100, 40, 20]), f([100, 35, 15]), "1D", "30D"))  # doctest: +ELLIPSIS
    With every step within 1 day of the previous one, 15 of the 20 users who reach `buy` within 30 days still do (75 %): ...
    """
    units = _units(unit)
    if len(f_window) < 2 or f_window["n"].iloc[-1] == 0:
        return Text(f"No {units[:-1]} reaches the last step within the window, so a per-step gap "
                    "has nothing to remove.")
    last = f_window["step"].iloc[-1]
    n_w, n_g = int(f_window["n"].iloc[-1]), int(f_gap["n"].iloc[-1])
    head = (f"With every step within {_window(gap)} of the previous one, {count(n_g)} of the "
            f"{count(n_w)} {units} who reach {_c(last)} within {_window(window)} still do "
            f"({pct(n_g / n_w)})")
    if n_g == n_w:
        return paragraphs(f"{head}: nobody takes longer than {_window(gap)} between two steps, so "
                          f"the gap rule changes nothing here.")
    lost = (f_window["n"].to_numpy() - f_gap["n"].to_numpy())[1:]
    k = int(np.diff(lost, prepend=0).argmax()) + 1   # the step where the gap removes most
    return paragraphs(f"{head}: the other {pct(1 - n_g / n_w)} took longer than that between "
                      f"two steps somewhere on the way. Most are lost at {_c(f_window['step'].iloc[k])} "
                      f"({count(lost[k - 1])} {units} fewer than without the gap).",
                      takeaway(f"{pct(1 - n_g / n_w)} of the {units} who get to {_c(last)} "
                               f"pause longer than {_window(gap)} between two steps, most often "
                               f"before {_c(f_window['step'].iloc[k])}: that pause is where a "
                               f"reminder could be tested."))
