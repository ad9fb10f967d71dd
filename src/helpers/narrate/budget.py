"""Sentences about response curves and budgets, generated from the tables of ``helpers.budget``.

How well the curves fit, which steps the robust fit weighed less as outliers and which channels
are near saturation, what the last unit of spend brings on each channel against the average,
whether a different split of the same budget is expected to bring more once the optimism of
choosing it on the same curves is taken out, and (on simulated data) whether the fitted
parameters find the planted ones. Every claim is worded from the tables it is given; where the bootstrap intervals are too
wide to support a claim, the sentence says the data cannot tell.

Each function takes a :class:`helpers.budget.Response` or the table it reads
(``resp.params``, ``resp.marginal()``, ``resp.allocate()``), whose ``.attrs`` carry the outcome's
name, the step of the dates (``step_days``) and the interval level (``alpha``). ``currency`` is
the currency code of the spend (none assumed); ``unit`` names one unit of a counted outcome in
the singular (``"new user"``): without it the outcome is read as money in ``currency``.

Examples
--------
>>> plan = pd.DataFrame({"channel": ["a", "b"], "current": [100.0, 100.0],
...                      "proposed": [60.0, 140.0], "change": [-40.0, 40.0]})
>>> plan.attrs.update(total=200.0, gain=12.5, gain_lo=4.0, gain_hi=20.0, p_gain=0.99,
...                   bounds=(0.5, 1.5), outcome="revenue", step_days=1.0, alpha=0.1)
>>> print(allocation(plan, currency="EUR"))
Keeping the total at 200.00 EUR per day, with each channel between 50 % and 150 % of today's spend, the curves suggest moving 40.00 EUR per day from a (−40 %) to b (+40 %). Expected gain: 12.50 EUR of revenue per day (90 % interval 4.00 to 20.00 EUR); the plan gains in 99 % of the bootstrap draws.
<BLANKLINE>
**Takeaway:** move budget toward b in steps, and confirm the gain with a holdout or a geo test before moving all of it: the curves read correlation in past spend.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers import budget as _budget
from helpers.narrate import (
    Text,
    bullets,
    count,
    join,
    money,
    paragraphs,
    pct,
    takeaway,
)
from helpers.narrate import (
    answer_key as _answer_key,
)
from helpers.narrate import (
    missing as _nan,
)

WIDE = 3.0
"""An interval whose upper end is more than this many times its lower end is "wide"."""

MOVE = 0.005
"""Changes below this share of the total budget are not worth a sentence."""

_KEYS = ("decay", "half_saturation", "shape", "max_response")
_WORDS = {"decay": "decay", "half_saturation": "half-saturation", "shape": "shape",
          "max_response": "maximum response"}


# --------------------------------------------------------------------------- shared wording


def _table(obj, name: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if name == "params":
        return obj.params
    return getattr(obj, name)()


def _meta(t: pd.DataFrame) -> tuple[str, str, str]:
    """The outcome's name, the word for one step and the interval's name ("90 % interval")."""
    a = t.attrs
    return (str(a.get("outcome", "the outcome")).replace("_", " "), _per(a.get("step_days", 1.0)),
            f"{pct(1 - a.get('alpha', 0.1), 0)} interval")


def _per(step_days) -> str:
    """``1`` -> ``'day'``, ``7`` -> ``'week'``, otherwise ``'3-day period'``.

    >>> _per(1.0), _per(7), _per(3)
    ('day', 'week', '3-day period')
    """
    d = float(step_days)
    return {1.0: "day", 7.0: "week"}.get(d, f"{d:g}-day period")


def _adj(per: str) -> str:
    """``'day'`` -> ``'daily'``, ``'week'`` -> ``'weekly'``, else ``'per 3-day period'`` form."""
    return {"day": "daily", "week": "weekly"}.get(per, f"{per}")


def _num(x) -> str:
    """A number with about three significant digits and thousands separators.

    >>> _num(1234.5), _num(12.345), _num(0.01234), _num(0)
    ('1,234', '12.3', '0.0123', '0')
    """
    if _nan(x):
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return "unbounded"
    if x == 0 or abs(x) >= 100:
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}"


def _amount(x, *, currency=None, unit=None) -> str:
    """Money (``unit`` None) or a count of ``unit``s."""
    if unit is None:
        return money(x, currency) if not _nan(x) and abs(float(x)) >= 1 else \
            (f"{_num(x)} {currency}" if currency else _num(x))
    word = unit if not _nan(x) and math.isclose(abs(float(x)), 1) else f"{unit}s"
    return f"{_num(x)} {word}"


def _wide(lo, hi) -> bool:
    """No interval, or one that spans more than a factor WIDE (or reaches zero)."""
    if _nan(lo) or _nan(hi):
        return True
    return lo <= 0 or hi / lo > WIDE


def _range(lo, hi, fmt=_num) -> str:
    return f"{fmt(lo)}–{fmt(hi)}"


# --------------------------------------------------------------------------- the fit


def fit(resp, *, currency: str | None = None) -> Text:
    """How well the curves fit, how long spend keeps working, and which channels are near saturation.

    A channel is near saturation when today's spend is above its ``half_spend`` K(1 − θ), the
    spend per step held constant at which the curve gives half the most the channel can bring.

    >>> p = pd.DataFrame({"channel": ["search", "video"], "decay": [0.2, 0.7],
    ...                   "half_spend": [80.0, 900.0], "half_spend_lo": [60.0, 500.0],
    ...                   "half_spend_hi": [95.0, 2000.0], "current": [220.0, 300.0]})
    >>> p.attrs.update(r2=0.91, outcome="revenue", step_days=1.0, pooled=True, alpha=0.1)
    >>> print(fit(p, currency="EUR"))
    The curves explain 91 % of the variation in daily revenue (R² = 0.91), with all channels fitted jointly. Spend keeps working after the day it is spent: the next day it still counts at 20 % on search and 70 % on video.
    <BLANKLINE>
    Near saturation, with today's spend above the level that brings half the channel's maximum: search (220.00 EUR per day against 80.00 EUR, 90 % interval 60.00–95.00 EUR). The others have room to grow: video.
    <BLANKLINE>
    **Takeaway:** extra budget on search buys little; read the marginal returns before adding to it.
    """
    p = _table(resp, "params")
    outcome, per, level = _meta(p)
    r2 = p.attrs.get("r2", getattr(resp, "r2", np.nan))
    pooled = p.attrs.get("pooled", True)
    head = (f"The curves explain {pct(max(r2, 0.0), 0)} of the variation in {_adj(per)} "
            f"{outcome} (R² = {r2:.2f})")
    if pooled:
        head += ", with all channels fitted jointly."
    else:
        head += ", each channel fitted on its own outcome"
        if "r2" in p.columns:
            head += f" (R² {join(f'{c} {v:.2f}' for c, v in zip(p['channel'], p['r2'], strict=True))})"
        head += "."
    if r2 < 0.3:
        head += (" That is little: the base and the noise dominate, so read the curves below as "
                 "rough.")
    carry = [f"{pct(th, 0)} on {c}" for c, th in zip(p["channel"], p["decay"], strict=True)
             if round(th, 2) > 0]
    if carry:
        head += (f" Spend keeps working after the {per} it is spent: the next {per} it still "
                 f"counts at {join(carry)}.")
    else:
        head += f" Spend works in the {per} it is spent and not after."
    near = p.loc[p["current"] > p["half_spend"]]
    room = p.loc[p["current"] <= p["half_spend"]]
    parts = [head, outliers(p)]
    if len(near):
        items = []
        for _, r in near.iterrows():
            s = (f"{r['channel']} ({_amount(r['current'], currency=currency)} per {per} against "
                 f"{_amount(r['half_spend'], currency=currency)}")
            if "half_spend_lo" in p.columns and not _nan(r["half_spend_lo"]):
                s += (f", {level} {_amount(r['half_spend_lo'])}–"
                      f"{_amount(r['half_spend_hi'], currency=currency)}")
            items.append(s + ")")
        sat = ("Near saturation, with today's spend above the level that brings half the "
               f"channel's maximum: {join(items)}.")
        if len(room):
            sat += f" The others have room to grow: {join(room['channel'])}."
        unsure = [r["channel"] for _, r in near.iterrows()
                  if "half_spend_lo" in p.columns and r["current"] <= r["half_spend_hi"]]
        if unsure:
            sat += (f" For {join(unsure)} the interval reaches above today's spend, so the data "
                    "do not rule out more room.")
        parts.append(sat)
        sure = [c for c in near["channel"] if c not in unsure]
        named = sure or unsure
        if sure:
            tk = f"extra budget on {join(sure)} buys little"
        else:
            tk = f"{join(unsure)} may be near {'its' if len(unsure) == 1 else 'their'} ceiling"
        them = "it" if len(named) == 1 else "them"
        parts.append(takeaway(f"{tk}; read the marginal returns before adding to {them}."))
    else:
        parts.append("No channel is near saturation: at today's spend each brings less than half "
                     "of the most it could.")
        parts.append(takeaway("no channel has hit its ceiling; whether more spend pays depends "
                              "on the marginal returns."))
    return paragraphs(*parts)


def outliers(resp, *, most: int = 6) -> Text | None:
    """Which steps the robust fit weighed less as outliers, run by run (None for a fit that is
    not robust; a sentence that none were when none were).

    Consecutive steps of one channel are one run; ``most`` runs are named, the rest counted.

    >>> p = pd.DataFrame({"channel": ["a"]})
    >>> p.attrs.update(step_days=1.0, robust=True, outliers=[
    ...     {"date": pd.Timestamp(f"2025-05-{d}"), "channel": "social", "weight": 0.0}
    ...     for d in (12, 13, 14, 15)] + [
    ...     {"date": pd.Timestamp("2025-05-21"), "channel": "email", "weight": 0.41}])
    >>> print(outliers(p))
    5 days weighed less as outliers: 12–15 May 2025 on social (weight 0) and 21 May 2025 on email (weight 0.41). The robust fit counts each day at its weight (1 for an ordinary day), so these barely shape the curves; find out what happened on them (a one-off campaign, a tracking fault) before reading the curves as the channels' usual response.
    """
    p = _table(resp, "params")
    a = p.attrs
    if not a.get("robust", False):
        return None
    per = _per(a.get("step_days", 1.0))
    rows = list(a.get("outliers", []))
    if not rows:
        return Text(f"No {per} stood out enough to be weighed less as an outlier.")
    step = pd.Timedelta(days=float(a.get("step_days", 1.0)))
    runs: list[list[dict]] = []
    for r in sorted(rows, key=lambda r: (str(r.get("channel")), pd.Timestamp(r["date"]))):
        last = runs[-1][-1] if runs else None
        if last is not None and last.get("channel") == r.get("channel") and \
                pd.Timestamp(r["date"]) - pd.Timestamp(last["date"]) == step:
            runs[-1].append(r)
        else:
            runs.append([r])
    runs.sort(key=lambda run: pd.Timestamp(run[0]["date"]))

    def weight(run):
        w = [float(r["weight"]) for r in run]
        lo, hi = round(min(w), 2), round(max(w), 2)
        if hi == lo:
            return f"weight {lo:.2f}".replace("0.00", "0")
        return f"weights {lo:.2f}–{hi:.2f}".replace("0.00–", "0–")

    def item(run):
        where = "" if run[0].get("channel") is None else f" on {run[0]['channel']}"
        return f"{_span(run[0]['date'], run[-1]['date'])}{where} ({weight(run)})"

    named = [item(run) for run in runs[:most]]
    if len(runs) > most:
        named.append(f"{len(runs) - most} more")
    word = per if len(rows) == 1 else f"{per}s"
    return Text(f"{count(len(rows))} {word} weighed less as outliers: {join(named)}. The robust "
                f"fit counts each {per} at its weight (1 for an ordinary {per}), so these barely "
                "shape the curves; find out what happened on them (a one-off campaign, a "
                "tracking fault) before reading the curves as the channels' usual response.")


def _span(a, b) -> str:
    """``'12–15 May 2025'``, ``'30 May – 2 Jun 2025'``, ``'21 May 2025'``.

    >>> _span("2025-05-12", "2025-05-15"), _span("2025-05-30", "2025-06-02")
    ('12–15 May 2025', '30 May – 2 Jun 2025')
    >>> _span("2025-05-21", "2025-05-21"), _span("2024-12-30", "2025-01-02")
    ('21 May 2025', '30 Dec 2024 – 2 Jan 2025')
    """
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    if a == b:
        return f"{a.day} {a:%b %Y}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%b %Y}"
    if a.year == b.year:
        return f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
    return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"


# --------------------------------------------------------------------------- marginal returns


def marginal(resp, unit: str | None = None, *, currency: str | None = None) -> Text:
    """The return of the last unit of spend on each channel against the average return.

    With ``unit`` None the outcome is money in ``currency`` and the marginal return is the
    marginal ROAS (the break-even is 1); with a ``unit`` ("new user") it is read as the cost of
    one more unit at the margin, 1 / R'(x), against the average cost x / R(x).

    >>> m = pd.DataFrame({"channel": ["a", "b"], "spend": [100.0, 300.0],
    ...                   "response": [250.0, 330.0], "average": [2.5, 1.1],
    ...                   "marginal": [1.8, 0.4], "marginal_lo": [1.4, 0.1],
    ...                   "marginal_hi": [2.2, 0.9]})
    >>> m.attrs.update(outcome="revenue", step_days=1.0, alpha=0.1)
    >>> print(marginal(m, currency="EUR"))
    - **a**: at today's 100.00 EUR per day, the last 1 EUR brings 1.80 EUR of revenue (90 % interval 1.40–2.20), against 2.50 EUR on average; it pays for itself.
    - **b**: at today's 300.00 EUR per day, the last 1 EUR brings 0.400 EUR of revenue (90 % interval 0.100–0.900), against 1.10 EUR on average; it does not pay for itself. The interval is wide: the data cannot pin this return down.
    <BLANKLINE>
    **Takeaway:** the last unit of spend works hardest on a and least on b, and their intervals do not overlap.
    """
    m = _table(resp, "marginal").sort_values("marginal", ascending=False, kind="stable")
    outcome, per, level = _meta(m)
    cur = f" {currency}" if currency else ""
    last = f"1 {currency}" if currency else "unit of spend"
    lines = []
    for _, r in m.iterrows():
        lo, hi = r.get("marginal_lo", np.nan), r.get("marginal_hi", np.nan)
        at = f"at today's {_amount(r['spend'], currency=currency)} per {per}"
        if r["spend"] <= 0:
            lines.append(f"**{r['channel']}**: no spend today, so there is no current return to "
                         "read.")
            continue
        band = "" if _nan(lo) else f" ({level} {_range(lo, hi)})"
        if unit is None:
            s = (f"{at}, the last {last} brings {_num(r['marginal'])}{cur} of {outcome}{band}, "
                 f"against {_num(r['average'])}{cur} on average")
            if not _nan(lo) and lo > 1:
                s += "; it pays for itself"
            elif not _nan(hi) and hi < 1:
                s += "; it does not pay for itself"
            elif not _nan(lo):
                s += "; whether it pays for itself the data cannot tell"
            s += "."
        else:
            def cost(v):
                return "no return at all" if v <= 0 else _amount(1 / v, currency=currency)
            if _nan(lo):
                band = ""
            elif lo <= 0:
                band = f" ({level} from {cost(hi)} up to no return at all)"
            else:
                band = f" ({level} {_num(1 / hi)}–{cost(lo)})"
            avg = r["response"] / r["spend"] if r["spend"] > 0 else np.nan
            s = (f"{at}, one more {unit} costs {cost(r['marginal'])} at the margin{band}, "
                 f"against {cost(avg)} on average.")
        if _wide(lo, hi):
            s += " The interval is wide: the data cannot pin this return down."
        lines.append(f"**{r['channel']}**: {s}")
    known = m.dropna(subset=["marginal_lo", "marginal_hi"]) if "marginal_lo" in m.columns \
        else m.iloc[0:0]
    known = known.loc[known["spend"] > 0]
    if len(known) >= 2 and known["marginal_lo"].iloc[0] > known["marginal_hi"].iloc[-1]:
        tk = (f"the last unit of spend works hardest on {known['channel'].iloc[0]} and least on "
              f"{known['channel'].iloc[-1]}, and their intervals do not overlap.")
    elif len(known) >= 2:
        tk = ("the intervals of the marginal returns overlap, so the data cannot rank the "
              "channels at the margin.")
    else:
        tk = "with fewer than two channels with intervals there is nothing to rank."
    return paragraphs(bullets(lines), takeaway(tk))


# --------------------------------------------------------------------------- reallocation


def allocation(resp, *, currency: str | None = None, unit: str | None = None) -> Text:
    """What the reallocation moves and whether the data show that it gains.

    The gain is the one ``allocate`` reports, corrected for the optimism of choosing the plan on
    the same curves that score it (``.attrs["gain_apparent"]`` and ``["optimism"]`` are named
    when present). It is called shown only when its whole interval is above zero; when the
    interval includes zero the sentence says the data do not show a better split, and when it
    lies below zero that the plan is expected to bring less than today's split.

    >>> plan = pd.DataFrame({"channel": ["a", "b"], "current": [100.0, 100.0],
    ...                      "proposed": [90.0, 110.0], "change": [-10.0, 10.0]})
    >>> plan.attrs.update(total=200.0, gain=0.8, gain_lo=-3.0, gain_hi=5.0, p_gain=0.62,
    ...                   bounds=(0.5, 1.5), outcome="sessions", step_days=7.0, alpha=0.1)
    >>> print(allocation(plan, currency="EUR", unit="session"))
    Keeping the total at 200.00 EUR per week, with each channel between 50 % and 150 % of today's spend, the curves suggest moving 10.00 EUR per week from a (−10 %) to b (+10 %). Expected gain: 0.800 sessions per week (90 % interval −3.00 to 5.00 sessions); the plan gains in 62 % of the bootstrap draws.
    <BLANKLINE>
    The interval includes zero, so the data do not show a better split than today's.
    <BLANKLINE>
    **Takeaway:** keep today's split; to learn where money works best, vary each channel's spend on purpose (on and off weeks, or regions) and fit again.
    """
    plan = _table(resp, "allocate")
    a = plan.attrs
    outcome, per, level = _meta(plan)
    total = a.get("total", plan["proposed"].sum())
    lo_b, hi_b = a.get("bounds", (np.nan, np.nan))
    tol = MOVE * total
    give = plan.loc[plan["change"] < -tol]
    take = plan.loc[plan["change"] > tol]
    keep = (f"Keeping the total at {_amount(total, currency=currency)} per {per}, with each "
            f"channel between {pct(lo_b, 0)} and {pct(hi_b, 0)} of today's spend")
    if not len(give) and not len(take):
        return paragraphs(f"{keep}, today's split is already the best the curves find: no "
                          f"channel would move by more than {pct(MOVE)} of the budget.",
                          takeaway("keep today's split."))

    def moves(df):
        return join(f"{r['channel']} ({_signed(r['change'] / r['current'])})"
                    if r["current"] > 0 else str(r["channel"]) for _, r in df.iterrows())

    moved = float(take["change"].sum())
    if math.isclose(total, plan["current"].sum(), rel_tol=1e-9):
        what = (f"the curves suggest moving {_amount(moved, currency=currency)} per {per} from "
                f"{moves(give)} to {moves(take)}.")
    else:
        extra = total - float(plan["current"].sum())
        what = (f"the curves suggest {'adding to ' + moves(take) if len(take) else ''}"
                f"{' and ' if len(take) and len(give) else ''}"
                f"{'cutting ' + moves(give) if len(give) else ''}, "
                f"{'spending' if extra > 0 else 'saving'} "
                f"{_amount(abs(extra), currency=currency)} per {per} against today.")
        if unit is None and not _nan(a.get("gain")):
            net = a["gain"] - extra
            what += (f" Net of that change in spend the plan {'brings' if net >= 0 else 'loses'} "
                     f"{_amount(abs(net), currency=currency)} per {per}.")
    def amount(x):
        return _amount(x, currency=currency, unit=unit).replace("-", "−")

    of = f" of {outcome}" if unit is None else ""
    s = f"{keep}, {what} Expected gain: {amount(a.get('gain'))}{of} per {per}"
    g_lo, g_hi = a.get("gain_lo", np.nan), a.get("gain_hi", np.nan)
    if not _nan(g_lo):
        left = _num(g_lo) if unit is not None or abs(g_lo) < 1 else money(g_lo)
        s += f" ({level} {left.replace('-', '−')} to {amount(g_hi)})"
    if "response_current" in plan.columns and plan["response_current"].sum() > 0 and \
            not _nan(a.get("gain")):
        share = a["gain"] / plan["response_current"].sum()
        s += f", {pct(abs(share))} {'more' if share >= 0 else 'less'} than the channels bring today"
    if not _nan(a.get("p_gain")):
        s += f"; the plan gains in {pct(a['p_gain'], 0)} of the bootstrap draws."
    else:
        s += "."
    app, opt = a.get("gain_apparent", np.nan), a.get("optimism", np.nan)
    if not _nan(app) and not _nan(opt) and not _nan(g_lo):
        if opt > 0:
            s += (f" On the fitted curves alone the plan would bring {amount(app)}{of} per {per}; "
                  f"{amount(opt)} of that is the optimism of choosing a plan on the same curves "
                  "that score it (measured by choosing it again in every bootstrap draw) and is "
                  "taken out of the expected gain and its interval.")
        else:
            s += (" Choosing the plan again in every bootstrap draw finds no optimism to take out "
                  f"(on the fitted curves alone it would bring {amount(app)}{of} per {per}).")
    parts = [s]
    if _nan(g_lo):
        parts.append("There are no bootstrap draws, so how sure this gain is cannot be said.")
        parts.append(takeaway("refit with bootstrap draws before acting on this plan."))
    elif g_lo > 0:
        parts.append(takeaway(f"move budget toward {join(take['channel'])} in steps, and confirm "
                              "the gain with a holdout or a geo test before moving all of it: "
                              "the curves read correlation in past spend."))
    elif g_hi < 0:
        parts.append("The whole interval lies below zero: once the optimism is taken out, the "
                     "plan is expected to bring less than today's split.")
        parts.append(takeaway("keep today's split; the curves' preference for another one does "
                              "not survive the correction for optimism."))
    else:
        parts.append("The interval includes zero, so the data do not show a better split than "
                     "today's.")
        parts.append(takeaway("keep today's split; to learn where money works best, vary each "
                              "channel's spend on purpose (on and off weeks, or regions) and fit "
                              "again."))
    return paragraphs(*parts)


def _signed(share) -> str:
    """``-0.3`` -> ``'−30 %'``, ``0.25`` -> ``'+25 %'``."""
    v = pct(abs(share), 0)
    return f"−{v}" if share < 0 else f"+{v}"


# --------------------------------------------------------------------------- answer key


def answer_key(resp, truth: dict, *, at=(0.5, 1.0, 1.5), incidents=()) -> Text:
    """The fitted curves and parameters against the planted ones: is each true value inside?

    ``truth`` maps a channel to its true ``decay``, ``half_saturation``, ``shape`` and
    ``max_response`` (any of them; others are skipped). Given a fitted
    :class:`helpers.budget.Response` and all four for a channel, the true curve is also set
    against the fitted one and its bootstrap band at ``at`` × today's spend: the curve is what
    the marginal returns and the reallocation use, and it can be right where the parameters
    are not (far from saturation only the slope that half-saturation and maximum make together
    is identified, not either one). ``incidents`` (the simulator's ``truth["incidents"]``) names
    the planted low-intent campaigns, traffic bought outside the curve, and whether the robust
    fit weighed their days out (``.attrs["outliers"]`` of the fit or of its params table).

    >>> p = pd.DataFrame({"channel": ["a"], "decay": [0.48], "decay_lo": [0.4],
    ...                   "decay_hi": [0.55], "shape": [1.3], "shape_lo": [1.1],
    ...                   "shape_hi": [1.45]})
    >>> p.attrs.update(alpha=0.1)
    >>> print(answer_key(p, {"a": {"decay": 0.5, "shape": 1.5}}))
    **Check against the answer key.** The data were simulated with known curves; each fitted parameter is set against its true value and its 90 % bootstrap interval.
    <BLANKLINE>
    - **a**: decay 0.480 (true 0.500, inside 0.400–0.550); shape 1.30 (true 1.50, outside 1.10–1.45)
    <BLANKLINE>
    1 of 2 true parameter values lie inside their intervals (at the 90 % level about 1.8 would, if the intervals were exact).
    """
    p = _table(resp, "params").set_index("channel")
    alpha = p.attrs.get("alpha", 0.1)
    level = pct(1 - alpha, 0)
    curves = hasattr(resp, "boot") and hasattr(resp, "current") and resp.n_boot > 0
    lines, inside, n, c_in, c_n = [], 0, 0, 0, 0
    vague, vague_miss = [], 0
    for c, keys in truth.items():
        if c not in p.index:
            lines.append(f"**{c}**: not among the fitted channels.")
            continue
        r = p.loc[c]
        bits = []
        if curves and all(k in keys for k in _KEYS):
            i = resp.channels.index(c)
            x = np.asarray(at, float) * float(resp.current[c])
            true = _budget.response(x, float(keys["decay"]), float(keys["half_saturation"]),
                                    float(keys["shape"]), float(keys["max_response"]))
            fitted = resp._r(resp.point[i], x)
            lo, hi = np.quantile(resp._r(resp.boot[:, i, None, :], x[None, :]),
                                 [alpha / 2, 1 - alpha / 2], axis=0)
            ok = (lo <= true + 1e-12) & (true <= hi + 1e-12)
            c_in += int(ok.sum())
            c_n += len(x)
            where = join(f"{pct(m, 0)}" for m in at)
            yes = join(pct(m, 0) for m, k in zip(at, ok, strict=True) if k)
            no = join(pct(m, 0) for m, k in zip(at, ok, strict=True) if not k)
            verdict = ("inside the band at each" if ok.all() else "outside the band at each"
                       if not ok.any() else f"inside the band at {yes}, outside at {no}")
            bits.append(f"curve at {where} of today's spend {', '.join(_num(v) for v in fitted)} "
                        f"(true {', '.join(_num(v) for v in true)}: {verdict})")
        far = "half_spend" in p.columns and r["current"] < r["half_spend"]
        for k in _KEYS:
            if k not in keys or k not in p.columns:
                continue
            t, est = float(keys[k]), float(r[k])
            lo, hi = r.get(f"{k}_lo", np.nan), r.get(f"{k}_hi", np.nan)
            if _nan(lo):
                bits.append(f"{_WORDS[k]} {_num(est)} (true {_num(t)}, no interval)")
                continue
            ok = lo <= t <= hi
            inside += ok
            n += 1
            if far and k in ("half_saturation", "max_response"):
                vague_miss += not ok
                if c not in vague:
                    vague.append(c)
            bits.append(f"{_WORDS[k]} {_num(est)} (true {_num(t)}, "
                        f"{'inside' if ok else 'outside'} {_range(lo, hi)})")
        lines.append(f"**{c}**: " + "; ".join(bits))
    found = []
    if c_n:
        found.append(f"The true curve lies inside the {level} band at {c_in} of {c_n} points "
                     f"(about {(1 - alpha) * c_n:.1f} would, if the bands were exact).")
    if n:
        found.append(f"{inside} of {n} true parameter values lie inside their intervals (at the "
                     f"{level} level about {(1 - alpha) * n:.1f} would, if the intervals were "
                     "exact).")
        if vague and vague_miss:
            found.append(f"{vague_miss} of the misses are the half-saturation or maximum response "
                         f"of {join(vague)}, spent below the level that brings half "
                         f"{'its' if len(vague) == 1 else 'their'} maximum: there the curve is "
                         "nearly straight, and only the slope the two make together is pinned "
                         "down, not either one.")
    else:
        found.append("No parameter has an interval to check (fit with bootstrap draws).")
    found.append(_incidents(p, incidents))
    what = ("each fitted curve and parameter is set against its true value and its "
            f"{level} bootstrap interval" if c_n else
            f"each fitted parameter is set against its true value and its {level} bootstrap "
            "interval")
    return _answer_key(f"The data were simulated with known curves; {what}.", bullets(lines),
                       " ".join(f for f in found if f))


def _incidents(p: pd.DataFrame, incidents) -> str | None:
    """Whether the outlying steps of a robust fit are the planted low-intent campaigns' days.

    >>> p = pd.DataFrame({"channel": ["social", "email"]})
    >>> p.attrs.update(robust=True, step_days=1.0, outliers=[
    ...     {"date": pd.Timestamp(f"2025-05-{d}"), "channel": "social", "weight": 0.0}
    ...     for d in (12, 13, 14, 15)] + [
    ...     {"date": pd.Timestamp("2025-05-21"), "channel": "email", "weight": 0.41}])
    >>> print(_incidents(p.set_index("channel"), [{"kind": "low_intent", "channel": "social",
    ...                                          "start": "2025-05-12", "end": "2025-05-15"}]))
    The planted low-intent campaign on social (12–15 May 2025) bought visitors outside the curve; 4 of its 4 days are among the outliers the robust fit weighed less. Besides it, 1 day was weighed less: 21 May 2025 on email.
    """
    planted = [i for i in incidents if i.get("kind") == "low_intent"]
    if not planted or not p.attrs.get("robust", False):
        return None
    rows = list(p.attrs.get("outliers", []))
    per = _per(p.attrs.get("step_days", 1.0))
    seen = {(r.get("channel"), pd.Timestamp(r["date"]).normalize()) for r in rows}
    parts, theirs = [], set()
    for inc in planted:
        days = pd.date_range(inc["start"], inc["end"], freq="D")
        c = inc.get("channel")
        hit = sum((c, d) in seen for d in days)
        # the spend of the campaign's last day still counts for a few days (adstock)
        theirs |= {(c, d) for d in pd.date_range(days[0], days[-1] + pd.Timedelta("5D"))}
        parts.append(f"The planted low-intent campaign on {c} ({_span(days[0], days[-1])}) "
                     f"bought visitors outside the curve; {hit} of its {len(days)} {per}s are "
                     "among the outliers the robust fit weighed less.")
    other = sorted((r for r in rows
                    if (r.get("channel"), pd.Timestamp(r["date"]).normalize()) not in theirs),
                   key=lambda r: pd.Timestamp(r["date"]))
    if other:
        named = join(f"{_span(r['date'], r['date'])}"
                     + ("" if r.get("channel") is None else f" on {r['channel']}")
                     for r in other[:4])
        more = f" and {len(other) - 4} more" if len(other) > 4 else ""
        them = "it" if len(planted) == 1 else "them"
        parts.append(f"Besides {them}, {count(len(other))} {per if len(other) == 1 else per + 's'} "
                     f"{'was' if len(other) == 1 else 'were'} weighed less: {named}{more}.")
    else:
        parts.append(f"No other {per} was weighed less.")
    return " ".join(parts)
