"""Sentences for notebook 01 (traffic sources), generated from the tables it computed.

Each function takes result tables of :mod:`helpers.sources` and returns
:class:`helpers.narrate.Text`. Which channel converts best, which is the big bill, who gains
credit under the Markov model: all of it is read from the numbers, with intervals where a rate
is named and a plain "no difference beyond chance" where the test finds none.

Examples
--------
>>> s = pd.DataFrame({"channel": ["A", "B"], "sessions": [1000, 1000], "conversions": [50, 10],
...                   "conversion_rate": [0.05, 0.01], "ci_low": [0.038, 0.005],
...                   "ci_high": [0.065, 0.018]})
>>> s.attrs["test"] = {"pvalue": 1e-6}
>>> best_and_worst(s, "conversion_rate")
(['A'], ['B'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    answer_key,
    bullets,
    count,
    interval,
    join,
    money,
    number,
    p_value,
    paragraphs,
    pct,
    plural,
    pp,
    takeaway,
    times,
)
from helpers.sources import NO_SESSION
from helpers.stats import wilson

ALPHA = 0.05
MIN_UNITS = 30
"""A channel with fewer units (sessions, buyers, users) than this is too small to rank."""


def _rate(row, rate="conversion_rate", lo="ci_low", hi="ci_high") -> str:
    return interval(row[rate], row[lo], row[hi])


def _named(row, rate="conversion_rate", lo="ci_low", hi="ci_high") -> str:
    """``'Email, 5.5 % (95 % CI 5.1–5.9 %)'``."""
    return f"{row['channel']}, {_rate(row, rate, lo, hi)}"


def _money_ci(row, currency, col="mean_revenue") -> str:
    lo = money(max(row["ci_low"], 0.0), None)      # revenue is never negative
    return f"{money(row[col], currency)} (95 % CI {lo}–{money(row['ci_high'], currency)})"


def _p(test: dict | None) -> float:
    return float((test or {}).get("pvalue", np.nan))


def _channels(summary: pd.DataFrame) -> pd.DataFrame:
    """The channels with sessions (the ``(no session)`` row of orders is not a channel)."""
    return summary.loc[(summary["channel"] != NO_SESSION) & (summary["sessions"] > 0)]


def best_and_worst(t: pd.DataFrame, rate: str, lo: str = "ci_low", hi: str = "ci_high",
                   size: str = "sessions") -> tuple[list[str], list[str]]:
    """The top and bottom tiers by ``rate``: channels whose interval overlaps the best's / worst's.

    Only channels with at least :data:`MIN_UNITS` in ``size`` take part. Neighbours whose
    intervals overlap cannot be told apart, so they share a tier.
    """
    t = t.loc[(t[size] >= MIN_UNITS) & t[rate].notna()].sort_values(rate, ascending=False,
                                                                     kind="stable")
    if len(t) < 2:
        return [], []
    best, worst = t.iloc[0], t.iloc[-1]
    top = t.loc[t[hi] >= best[lo], "channel"].tolist()
    bottom = t.loc[t[lo] <= worst[hi], "channel"].tolist()[::-1]
    if set(top) & set(bottom):          # everything overlaps: no tiers
        return [best["channel"]], [worst["channel"]]
    return top, bottom


# --------------------------------------------------------------------------- 1 conversion


def conversion(summary: pd.DataFrame) -> Text:
    """Bounce, conversion (with intervals and the chi-square test), volume and AOV by channel.

    ``summary`` is :func:`helpers.sources.channel_summary` (its ``.attrs["test"]``).

    >>> s = pd.DataFrame({"channel": ["A", "B", "C"], "sessions": [4000, 3000, 1000],
    ...     "conversions": [200, 60, 10], "conversion_rate": [0.05, 0.02, 0.01],
    ...     "ci_low": [0.044, 0.016, 0.005], "ci_high": [0.057, 0.026, 0.018],
    ...     "bounce_rate": [0.2, 0.3, 0.4], "bounce_low": [0.19, 0.28, 0.37],
    ...     "bounce_high": [0.21, 0.32, 0.43], "orders": [200, 60, 10], "aov": [50.0, 55.0, 45.0]})
    >>> s.attrs["test"] = {"pvalue": 1e-9}
    >>> print(conversion(s))
    Bounce rates run from 20 % (95 % CI 19–21 %) for A to 40 % (95 % CI 37–43 %) for C. Conversion differs by channel beyond chance (chi-square, p < 0.001): A converts best, 5 % (95 % CI 4.4–5.7 %), C and B convert worst (C: 1 %, 95 % CI 0.5–1.8 %), 5.0× less often. The largest channel, A, brings 50 % of sessions and 74.1 % of purchase sessions; C brings 12.5 % of sessions but 3.7 % of purchase sessions. Among the 2 channels with at least 20 orders, AOV varies 1.1× against 2.5× for conversion, so the revenue ranking mostly follows the order count.
    <BLANKLINE>
    **Takeaway:** A converts best, C and B worst; A brings the volume. A channel's share of visits is not its share of buyers.
    """
    s = _channels(summary)
    if len(s) < 2:
        name = s["channel"].iloc[0] if len(s) else "none"
        return Text(f"Every session comes from one channel ({name}): there is nothing to compare.")
    parts = []
    b = s.sort_values("bounce_rate", kind="stable")
    b = b.loc[b["sessions"] >= MIN_UNITS] if (b["sessions"] >= MIN_UNITS).sum() >= 2 else b
    if (b["bounce_rate"] == 0).all():
        parts.append("No session bounces (every session logs more than one event).")
    else:
        parts.append(f"Bounce rates run from "
                     f"{_rate(b.iloc[0], 'bounce_rate', 'bounce_low', 'bounce_high')} for "
                     f"{b['channel'].iloc[0]} to "
                     f"{_rate(b.iloc[-1], 'bounce_rate', 'bounce_low', 'bounce_high')} for "
                     f"{b['channel'].iloc[-1]}.")
    total = s["conversions"].sum()
    if total == 0:
        return paragraphs(" ".join(parts) + " No session holds a purchase event, so conversion "
                          "cannot be compared between channels.",
                          takeaway("channels can only be compared on traffic here: this data "
                                   "records no purchase."))
    p = _p(summary.attrs.get("test"))
    top, bottom = best_and_worst(s, "conversion_rate")
    significant = p < ALPHA and bool(top)
    ranked = s.sort_values("conversion_rate", ascending=False, kind="stable")
    hi_row, lo_row = ranked.iloc[0], ranked.iloc[-1]
    if significant:
        best = s.set_index("channel").loc[top[0]]
        worst = s.set_index("channel").loc[bottom[0]]
        ratio = best["conversion_rate"] / worst["conversion_rate"] if worst["conversion_rate"] else np.nan
        less = f", {times(ratio)} less often" if np.isfinite(ratio) else ", which never converts"

        def tier(names, row, word):
            if len(names) == 1:
                return f"{names[0]} converts {word}, {_rate(row)}"
            flat = _rate(row).replace(" (", ", ", 1).removesuffix(")")
            return f"{join(names)} convert {word} ({names[0]}: {flat})"

        parts.append(f"Conversion differs by channel beyond chance (chi-square, {p_value(p)}): "
                     f"{tier(top, best, 'best')}, {tier(bottom, worst, 'worst')}{less}.")
    elif np.isnan(p):
        parts.append(f"Conversion cannot be tested between channels here; it runs from "
                     f"{_named(lo_row)}, to {_named(hi_row)}.")
    else:
        parts.append(f"No channel's conversion differs from the rest beyond chance "
                     f"(chi-square, {p_value(p)}): the highest, {hi_row['channel']} "
                     f"{_rate(hi_row)}, and the lowest, {lo_row['channel']} {_rate(lo_row)}, are "
                     "within sampling noise.")
    few = s.loc[s["conversions"] < 10, "channel"].tolist()
    if few and len(few) < len(s):
        parts.append(f"{join(few)} {'rests' if len(few) == 1 else 'rest'} on fewer than 10 "
                     "purchase sessions each, so their intervals are wide.")
    share_s = s["sessions"] / s["sessions"].sum()
    share_c = s["conversions"] / total
    big = s["sessions"].idxmax()
    parts.append(f"The largest channel, {s.loc[big, 'channel']}, brings {pct(share_s[big])} of "
                 f"sessions and {pct(share_c[big])} of purchase sessions")
    gap = (share_c / share_s).where(share_s >= 0.05).drop(index=big, errors="ignore")
    if gap.notna().any():
        dist = np.log(gap.clip(lower=1e-3)).abs()      # a channel without a purchase is far off
        far = dist.idxmax()
        if dist[far] > np.log(1.5):
            parts[-1] += (f"; {s.loc[far, 'channel']} brings {pct(share_s[far])} of sessions but "
                          f"{pct(share_c[far])} of purchase sessions")
    parts[-1] += "."
    aov = (s.loc[(s["orders"].fillna(0) >= 20) & (s["aov"] > 0) & (s["conversion_rate"] > 0)]
           if "aov" in s else s.iloc[:0])
    if len(aov) >= 2:
        a_ratio = aov["aov"].max() / aov["aov"].min()
        c_ratio = aov["conversion_rate"].max() / aov["conversion_rate"].min()
        among = f"Among the {len(aov)} channels with at least 20 orders, AOV varies {times(a_ratio)}"
        if a_ratio * 1.5 <= c_ratio:
            parts.append(f"{among} against {times(c_ratio)} for conversion, so the revenue "
                         "ranking mostly follows the order count.")
        elif c_ratio * 1.5 <= a_ratio:
            parts.append(f"{among} against {times(c_ratio)} for conversion, so basket size moves "
                         "revenue more than how many buy.")
        else:
            parts.append(f"{among}, about as much as conversion ({times(c_ratio)}): basket size "
                         "and how many buy both move revenue.")
    if significant:
        end = takeaway(f"{join(top)} {'convert' if len(top) > 1 else 'converts'} best, "
                       f"{join(bottom)} worst; {s.loc[big, 'channel']} brings the volume. A "
                       "channel's share of visits is not its share of buyers.")
    else:
        end = takeaway("no channel converts differently beyond chance, so judge channels on "
                       "volume and cost rather than on their conversion rates.")
    return paragraphs(" ".join(parts), end)


def conversion_answer_key(seen: pd.DataFrame, rho: float) -> Text:
    """The observed channel ranking against the planted one (``seen``: planted order, with CIs).

    >>> seen = pd.DataFrame({"conversion_rate": [0.05, 0.049, 0.02], "ci_low": [0.045, 0.044, 0.018],
    ...                      "ci_high": [0.055, 0.054, 0.022]}, index=["A", "B", "C"])
    >>> print(conversion_answer_key(seen, 1.0))
    **Check against the answer key.** The simulator plants a per-visit conversion rate for each channel (for new and returning visitors); observed rates mix both, so they need not sit on either planted value.
    <BLANKLINE>
    The observed ranking matches the planted one exactly (Spearman rank correlation 1.00). Planted neighbours with overlapping intervals (A and B) could swap in another sample of the same shop: their order is within sampling error.
    """
    order = ("matches the planted one exactly" if rho > 0.999 else
             "is close to the planted one" if rho >= 0.8 else "departs from the planted one")
    pairs = [f"{a} and {b}" for a, b in zip(seen.index[:-1], seen.index[1:])
             if seen.loc[a, "ci_low"] <= seen.loc[b, "ci_high"]
             and seen.loc[b, "ci_low"] <= seen.loc[a, "ci_high"]]
    finding = f"The observed ranking {order} (Spearman rank correlation {rho:.2f})."
    if pairs:
        finding += (f" Planted neighbours with overlapping intervals ({'; '.join(pairs)}) could "
                    "swap in another sample of the same shop: their order is within sampling "
                    "error.")
    return answer_key("The simulator plants a per-visit conversion rate for each channel (for new "
                      "and returning visitors); observed rates mix both, so they need not sit on "
                      "either planted value.", finding)


# --------------------------------------------------------------------------- 2 costs


def costs(summary: pd.DataFrame, currency: str | None = None) -> Text:
    """Spend, cost per new user, CAC and ROAS of the paid channels, and what ROAS hides.

    >>> s = pd.DataFrame({"channel": ["Search", "Email", "Direct"], "sessions": [900, 500, 800],
    ...     "users": [800, 400, 500], "new_users": [600, 40, 300], "new_buyers": [60, 8, 30],
    ...     "spend": [3000.0, 100.0, 0.0], "cost_per_new_user": [5.0, 2.5, 0.0],
    ...     "cac": [50.0, 12.5, 0.0], "revenue": [9000.0, 8000.0, 7000.0],
    ...     "roas": [3.0, 80.0, np.nan]})
    >>> print(costs(s))
    2 channels are paid (Search and Email); Direct shows no spend. Search is the largest bill (3,000.00 of 3,100.00, 96.8 %). Per new user Email is cheapest (2.50) and Search dearest (5.00); CAC (spend per acquired buyer) runs from 12.50 (Email) to 50.00 (Search). Email has the highest last-touch ROAS (80.00, 26.7× the next paid channel), but only 10 % of the users who visit through it were acquired by it, against 75 % for the other paid channels: most of its last-touch revenue comes from customers that other channels found, so last-touch ROAS flatters it. CAC is the fairer comparison of what acquisition costs.
    <BLANKLINE>
    **Takeaway:** Search is the big bill and Email the cheapest per new user; last-touch ROAS favours Email, a channel that closes sales rather than finds customers.
    """
    s = _channels(summary)
    paid = s.loc[s["spend"] > 0].sort_values("spend", ascending=False, kind="stable")
    if not len(paid):
        return Text("The spend table holds no spend for any channel with sessions, so cost per "
                    "new user, CAC and ROAS cannot be computed.")
    unpaid = s.loc[s["spend"].fillna(0) == 0, "channel"].tolist()
    total = paid["spend"].sum()
    parts = [f"{plural(len(paid), 'channel')} {'is' if len(paid) == 1 else 'are'} paid "
             f"({join(paid['channel'])})"
             + (f"; {join(unpaid)} {'shows' if len(unpaid) == 1 else 'show'} no spend." if unpaid
                else ".")]
    share = paid["spend"].cumsum() / total
    k = int(np.searchsorted(share.to_numpy(), 2 / 3) + 1)
    bills = paid["channel"].iloc[:k].tolist()
    if len(paid) > 1:
        parts.append(f"{join(bills)} {'is the largest bill' if k == 1 else 'are the largest bills'}"
                     f" ({money(paid['spend'].iloc[:k].sum(), currency)} of "
                     f"{money(total, currency)}, {pct(share.iloc[k - 1])}).")
    cpn = paid.loc[paid["new_users"] > 0].sort_values("cost_per_new_user", kind="stable")
    text = ""
    if len(cpn) > 1:
        text = (f"Per new user {cpn['channel'].iloc[0]} is cheapest "
                f"({money(cpn['cost_per_new_user'].iloc[0], currency)}) and "
                f"{cpn['channel'].iloc[-1]} dearest "
                f"({money(cpn['cost_per_new_user'].iloc[-1], currency)})")
    if paid["cac"].isna().all() and paid["new_buyers"].isna().all():
        parts.append((text + "; " if text else "") + "without orders, CAC and ROAS cannot be "
                     "computed.")
        cheap = cpn["channel"].iloc[0] if len(cpn) > 1 else None
        return paragraphs(" ".join(parts), takeaway(f"{join(bills)} {'is' if k == 1 else 'are'} "
                          "the big bill" + (f" and {cheap} the cheapest per new user." if cheap
                                            else ".")))
    cac = paid.loc[paid["cac"].notna()].sort_values("cac", kind="stable")
    if len(cac) > 1:
        text += ("; " if text else "") + (
            f"CAC (spend per acquired buyer) runs from {money(cac['cac'].iloc[0], currency)} "
            f"({cac['channel'].iloc[0]}) to {money(cac['cac'].iloc[-1], currency)} "
            f"({cac['channel'].iloc[-1]})")
    no_buyer = paid.loc[paid["new_buyers"].fillna(0) == 0, "channel"].tolist()
    if text:
        parts.append(text + ".")
    if no_buyer:
        parts.append(f"{join(no_buyer)} acquired no buyer, so {'its' if len(no_buyer) == 1 else 'their'}"
                     " CAC is undefined.")
    roas = paid.loc[paid["roas"].notna()].sort_values("roas", ascending=False, kind="stable")
    flatters = None
    if len(roas) > 1:
        top, nxt = roas.iloc[0], roas.iloc[1]
        ratio = top["roas"] / nxt["roas"] if nxt["roas"] > 0 else np.nan
        line = (f"{top['channel']} has the highest last-touch ROAS ({number(top['roas'])}"
                + (f", {times(ratio)} the next paid channel)" if np.isfinite(ratio) else ")"))
        own = paid["new_users"] / paid["users"].where(paid["users"] > 0)
        mine = own[roas.index[0]]
        others = own.drop(index=roas.index[0]).median()
        if np.isfinite(mine) and np.isfinite(others) and mine < 0.5 * others:
            flatters = top["channel"]
            line += (f", but only {pct(mine)} of the users who visit through it were acquired by "
                     f"it, against {pct(others)} for the other paid channels: most of its "
                     "last-touch revenue comes from customers that other channels found, so "
                     "last-touch ROAS flatters it. CAC is the fairer comparison of what "
                     "acquisition costs.")
        else:
            line += f"; {roas['channel'].iloc[-1]} the lowest ({number(roas['roas'].iloc[-1])})."
        parts.append(line)
    cheap = cpn["channel"].iloc[0] if len(cpn) > 1 else None
    end = f"{join(bills)} {'is the big bill' if k == 1 else 'are the big bills'}"
    end += f" and {cheap} the cheapest per new user" if cheap and cheap not in bills else ""
    if flatters:
        end += (f"; last-touch ROAS favours {flatters}, a channel that closes sales rather than "
                "finds customers.")
    else:
        end += "."
    return paragraphs(" ".join(parts), takeaway(end))


def _episodes(total: pd.Series, factor: float = 1.5) -> list[pd.Series]:
    """Runs of consecutive weeks with more than ``factor`` times the median week's spend."""
    hot = total > factor * total.median()
    runs, cur = [], []
    for i, flag in enumerate(hot.to_numpy()):
        if flag:
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [total.iloc[r] for r in runs]


def spend(weekly: pd.DataFrame, currency: str | None = None) -> Text:
    """The weekly spend lines: the largest line item, surges above a median week, the trend.

    ``weekly`` is :func:`helpers.sources.weekly_spend`.

    >>> idx = pd.date_range("2025-01-05", periods=30, freq="W")
    >>> w = pd.DataFrame({"A": 100.0, "B": 40.0}, index=idx)
    >>> w.iloc[10:12] *= 3
    >>> spend(w)
    A is the largest line item (71.4 % of all spend; the largest channel in 100 % of weeks). Total weekly spend surges in 1 episode (the weeks ending 16 Mar 2025 – 23 Mar 2025), up to 3.0× a median week; otherwise it stays near 140.00 a week.
    """
    if weekly.empty or not np.nansum(weekly.to_numpy()) > 0:
        return Text("No spend is recorded.")
    totals = weekly.sum().sort_values(ascending=False, kind="stable")
    lead = totals.index[0]
    weeks_led = (weekly.idxmax(axis=1) == lead).mean()
    parts = [(f"{lead} is the largest line item ({pct(totals.iloc[0] / totals.sum())} of all "
             f"spend; the largest channel in {pct(weeks_led)} of weeks).")]
    total = weekly.sum(axis=1)
    if len(total) < 8:
        parts.append(f"The data holds only {plural(len(total), 'week')} of spend: too few to see "
                     "a pattern.")
        return Text(" ".join(parts))
    eps = _episodes(total)
    med = total.median()
    if eps:
        def when(e):
            a, b = e.index[0], e.index[-1]
            return f"{a.day} {a:%b %Y}" if a == b else f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"
        peak = max(float(e.max()) for e in eps)
        parts.append(f"Total weekly spend surges in {plural(len(eps), 'episode')} "
                     f"(the weeks ending {join(when(e) for e in eps[:4])}"
                     f"{', …' if len(eps) > 4 else ''}), up to {times(peak / med)} a median week")
    calm = total.drop(index=[d for e in eps for d in e.index])
    if len(calm) >= 26:
        a, b = calm.iloc[:13].median(), calm.iloc[-13:].median()
        if b > 1.2 * a or b < a / 1.2:
            tail = (f"; otherwise it {'grows' if b > a else 'falls'}, from {money(a, currency)} "
                    f"to {money(b, currency)} a week between the first and the last quarter of "
                    "the data.")
        else:
            tail = f"; otherwise it stays near {money(calm.median(), currency)} a week."
    else:
        tail = f"; otherwise it stays near {money(calm.median(), currency)} a week."
    if eps:
        parts[-1] += tail
    else:
        parts.append("No week surges above 1.5× a median week" + tail)
    return Text(" ".join(parts))


def cost_answer_key(check: pd.DataFrame) -> Text:
    """Observed cost per new user against the planted cost per new visitor (``check``: ratio).

    >>> c = pd.DataFrame({"cost_per_new_user": [7.6, 2.3], "planted": [7.5, 2.5],
    ...                   "ratio": [1.013, 0.92]}, index=["Search", "Email"])
    >>> print(cost_answer_key(c))
    **Check against the answer key.** The answer key holds each paid channel's planted cost per new visitor: what the channel spent per new visitor the simulator set it to bring, on average over the period. The observed cost per new user differs from it only by chance in how many visitors actually came.
    <BLANKLINE>
    The observed cost per new user is within 8 % of the planted value for every paid channel; Email is furthest off (ratio 0.92).
    """
    dev = (check["ratio"] - 1).abs()
    far = dev.idxmax()
    return answer_key("The answer key holds each paid channel's planted cost per new visitor: "
                      "what the channel spent per new visitor the simulator set it to bring, on "
                      "average over the period. The observed cost per new user differs from it "
                      "only by chance in how many visitors actually came.",
                      f"The observed cost per new user is within {pct(dev.max(), 0)} of the "
                      f"planted value for every paid channel; {far} is furthest off (ratio "
                      f"{check.loc[far, 'ratio']:.2f}).")


# --------------------------------------------------------------------------- 3 quality downstream


def repeat(r: pd.DataFrame, days: int) -> Text:
    """Repeat purchase by acquisition channel (:func:`helpers.sources.repeat_by_channel`).

    >>> r = pd.DataFrame({"channel": ["A", "B"], "n": [200, 150], "repeaters": [30, 20],
    ...     "excluded": [10, 5], "repeat_rate": [0.15, 0.133], "ci_low": [0.107, 0.088],
    ...     "ci_high": [0.206, 0.197]})
    >>> r.attrs["test"] = {"pvalue": 0.66}
    >>> print(repeat(r, 90))
    14.3 % (95 % CI 11–18.3 %) of 350 first-time buyers with a full 90-day window bought again within it (15 more are censored). No channel's repeat rate differs from the rest beyond chance (chi-square, p = 0.66): the rates run from B, 13.3 % (95 % CI 8.8–19.7 %), to A, 15 % (95 % CI 10.7–20.6 %), on wide, overlapping intervals.
    """
    scored = r.loc[r["n"] > 0]
    n = int(scored["n"].sum())
    if n == 0:
        return Text(f"No first-time buyer has a full {days}-day window yet "
                    f"({plural(r['excluded'].sum(), 'buyer')} censored): repeat purchase cannot "
                    "be measured.")
    k = int(scored["repeaters"].sum())
    lo, hi = wilson(k, n)
    parts = [(f"{interval(k / n, lo, hi)} of {plural(n, 'first-time buyer')} with a full "
             f"{days}-day window bought again within it ({count(r['excluded'].sum())} more are "
             "censored).")]
    big = scored.loc[scored["n"] >= MIN_UNITS].sort_values("repeat_rate", ascending=False,
                                                           kind="stable")
    p = _p(r.attrs.get("test"))
    if len(big) < 2:
        parts.append(f"Fewer than two channels have {MIN_UNITS} or more scored buyers: too few to "
                     "compare channels.")
    elif p < ALPHA:
        parts.append(f"Repeat rates differ by channel (chi-square, {p_value(p)}): highest for "
                     f"{big['channel'].iloc[0]}, {_rate(big.iloc[0], 'repeat_rate')}, lowest for "
                     f"{big['channel'].iloc[-1]}, {_rate(big.iloc[-1], 'repeat_rate')}.")
    elif np.isnan(p):
        parts.append("The test of a channel difference cannot be made on these counts.")
    else:
        parts.append(f"No channel's repeat rate differs from the rest beyond chance (chi-square, "
                     f"{p_value(p)}): the rates run from {_named(big.iloc[-1], 'repeat_rate')}, "
                     f"to {_named(big.iloc[0], 'repeat_rate')}, on wide, overlapping intervals.")
    return Text(" ".join(parts))


def value(v: pd.DataFrame, days: int, currency: str | None = None) -> Text:
    """Value per acquired user and the share who buy, by channel (``sources.value_by_channel``).

    >>> v = pd.DataFrame({"channel": ["A", "B", "C"], "acquired": [600, 500, 800],
    ...     "n": [500, 400, 700], "excluded": [100, 100, 100], "buyers": [60, 30, 35],
    ...     "buyer_rate": [0.12, 0.075, 0.05], "buyer_low": [0.094, 0.053, 0.036],
    ...     "buyer_high": [0.151, 0.105, 0.069], "mean_revenue": [150.0, 90.0, 60.0],
    ...     "ci_low": [120.0, 60.0, 40.0], "ci_high": [180.0, 120.0, 80.0]})
    >>> v.attrs["test"] = {"pvalue": 1e-5}
    >>> print(value(v, 180))
    Value per acquired user differs by channel (Kruskal–Wallis, p < 0.001): users acquired through A are worth the most in their first 180 days, 150.00 (95 % CI 120.00–180.00) each, those through C the least, 60.00 (95 % CI 40.00–80.00). The share who buy at all runs from A, 12 % (95 % CI 9.4–15.1 %), to C, 5 % (95 % CI 3.6–6.9 %), so what a visitor is worth depends mostly on whether they buy. (300 users are censored.)
    <BLANKLINE>
    **Takeaway:** channels differ in what an acquired visitor is worth: A brings the most valuable visitors; C brings many new users (800), but each is worth the least.
    """
    scored = v.loc[v["n"] >= MIN_UNITS].sort_values("mean_revenue", ascending=False, kind="stable")
    cens = f"({plural(v['excluded'].sum(), 'user')} {'is' if v['excluded'].sum() == 1 else 'are'} censored.)"
    if v["n"].sum() == 0:
        return Text(f"No acquired user has a full {days}-day window yet, so value per user cannot "
                    f"be measured. {cens}")
    if len(scored) < 2:
        return Text(f"Fewer than two channels have {MIN_UNITS} or more users with a full "
                    f"{days}-day window: too few to compare. {cens}")
    p = _p(v.attrs.get("test"))
    top, bot = scored.iloc[0], scored.iloc[-1]

    def worth(row):
        return _money_ci(row, currency)

    by_buy = scored.sort_values("buyer_rate", ascending=False, kind="stable")
    buy = (f"The share who buy at all runs from "
           f"{_named(by_buy.iloc[0], 'buyer_rate', 'buyer_low', 'buyer_high')}, to "
           f"{_named(by_buy.iloc[-1], 'buyer_rate', 'buyer_low', 'buyer_high')}")
    if not p < ALPHA:
        return paragraphs(
            f"No evidence that value per acquired user differs by channel (Kruskal–Wallis, "
            f"{p_value(p)}): from {bot['channel']}, {worth(bot)}, to {top['channel']}, "
            f"{worth(top)}, in the first {days} days. {buy}. {cens}",
            takeaway("the channels' visitors are worth about the same; cost decides which "
                     "channel to grow."))
    rank_mean = scored["mean_revenue"].rank(ascending=False)
    rank_buy = scored["buyer_rate"].rank(ascending=False)
    follows = rank_mean.corr(rank_buy) >= 0.5 if len(scored) > 2 else False
    text = (f"Value per acquired user differs by channel (Kruskal–Wallis, {p_value(p)}): users "
            f"acquired through {top['channel']} are worth the most in their first {days} days, "
            f"{worth(top)} each, those through {bot['channel']} the least, {worth(bot)}. {buy}"
            + (", so what a visitor is worth depends mostly on whether they buy." if follows
               else ".") + f" {cens}")
    many = scored["acquired"].rank(ascending=False)[bot.name] <= len(scored) / 2
    end = (f"channels differ in what an acquired visitor is worth: {top['channel']} brings the "
           f"most valuable visitors; {bot['channel']} "
           + (f"brings many new users ({count(bot['acquired'])}), but each is worth the least."
              if many else "brings the least valuable ones."))
    return paragraphs(text, takeaway(end))


def quality_answer_key(r: pd.DataFrame, v: pd.DataFrame) -> Text:
    """The simulator's view of channel quality against what the two tests found."""
    pr, pv = _p(r.attrs.get("test")), _p(v.attrs.get("test"))
    rep = ("repeat rates do not differ beyond chance, as expected" if not pr < ALPHA else
           "repeat rates differ by channel, a surprise worth a closer look")
    val = ("value per acquired user differs by channel, as expected" if pv < ALPHA else
           "value per acquired user does not differ beyond chance, which the planted intent "
           "effect should have shown")
    return answer_key("The simulator draws a buyer's purchase rate without regard to how they "
                      "arrived (the BG/NBD parameters in the answer key), so once someone has "
                      "bought, the channel should matter little for repeat purchase. Value per "
                      "acquired user also counts whether a visitor buys at all, which depends on "
                      "the channel's planted intent.",
                      f"This run: {rep} ({p_value(pr)}); {val} ({p_value(pv)}).")


def economics(econ: pd.DataFrame, margin: float, days: int, currency: str | None = None) -> Text:
    """Does an acquired user pay back their cost? (:func:`helpers.sources.acquisition_economics`).

    >>> e = pd.DataFrame({"cost_per_new_user": [2.0, 5.0], "mean_revenue": [100.0, 10.0],
    ...     "ci_low": [80.0, 5.0], "ci_high": [120.0, 15.0], "profit_per_user": [28.0, -2.0],
    ...     "profit_low": [22.0, -3.5], "return_per_spend": [15.0, 0.6]}, index=["A", "B"])
    >>> economics(e, 0.3, 180)
    At the assumed gross margin of 30 %, B does not earn back its acquisition cost within 180 days (-2.00 per user). Gross profit per unit of spend: A 15.0, B 0.6.
    """
    if econ is None or not len(econ):
        return Text("No paid channel has both a cost per new user and a value estimate, so "
                    "payback cannot be judged.")
    m = pct(margin)
    loss = econ.loc[econ["profit_per_user"] <= 0]
    unsure = econ.loc[(econ["profit_per_user"] > 0) & ~(econ["profit_low"] > 0)]
    if not len(loss) and not len(unsure):
        first = (f"At the assumed gross margin of {m}, every paid channel earns back its "
                 f"acquisition cost within {days} days, even at the low end of the interval.")
    else:
        bits = []
        if len(loss):
            bits.append(f"{join(loss.index)} {'does' if len(loss) == 1 else 'do'} not earn back "
                        f"{'its' if len(loss) == 1 else 'their'} acquisition cost within {days} "
                        "days ("
                        + ", ".join(f"{money(x, currency)} per user" for x in loss["profit_per_user"])
                        + ")")
        if len(unsure):
            one = len(unsure) == 1
            bits.append(f"{join(unsure.index)} {'pays' if one else 'pay'} back on the estimate but "
                        f"not at the low end of {'its interval' if one else 'their intervals'} "
                        "(not proven)")
        first = f"At the assumed gross margin of {m}, " + "; ".join(bits) + "."
    ranks = ", ".join(f"{c} {x:.1f}" for c, x in econ["return_per_spend"].items())
    return Text(f"{first} Gross profit per unit of spend: {ranks}.")


# --------------------------------------------------------------------------- 4 attribution


def _credit(models: dict, name: str) -> pd.DataFrame:
    return models[name].set_index("channel")


def _moved(models: dict) -> tuple[pd.Series, list[str], list[str]]:
    """Markov minus last-touch share, and the channels whose bootstrap intervals do not overlap."""
    mk = _credit(models, "markov")
    lt = _credit(models, "last_touch").reindex(mk.index)
    delta = (mk["share"] - lt["share"]).sort_values(ascending=False, kind="stable")
    apart = (mk["ci_low"] > lt["ci_high"]) | (mk["ci_high"] < lt["ci_low"])
    if mk["ci_low"].isna().all():          # no bootstrap: judge by size alone
        apart = (mk["share"] - lt["share"]).abs() >= 0.02
    gain = [c for c in delta.index if delta[c] > 0 and apart.get(c, False)]
    lose = [c for c in delta.index[::-1] if delta[c] < 0 and apart.get(c, False)]
    return delta, gain, lose


def attribution(models: dict) -> Text:
    """Why the models disagree: closers, openers, and who gains or loses under Markov.

    ``models`` maps model name to :func:`helpers.sources.attribution` (with bootstrap CIs).

    >>> def t(share, lo, hi):
    ...     return pd.DataFrame({"channel": ["Direct", "Social"], "share": share,
    ...                          "conversions": [100 * x for x in share],
    ...                          "ci_low": lo, "ci_high": hi})
    >>> m = {"first_touch": t([0.4, 0.6], [35, 55], [45, 65]),
    ...      "last_touch": t([0.8, 0.2], [75, 15], [85, 25]),
    ...      "linear": t([0.6, 0.4], [55, 35], [65, 45]),
    ...      "markov": t([0.55, 0.45], [52, 42], [58, 48])}
    >>> print(attribution(m))
    Last touch rewards the channels that close journeys: Direct gets 80 % of the credit under last touch against 40 % under first touch. First touch rewards those that open them: Social (60 % against 20 %). The Markov model, which asks what would be lost without a channel, gives Social more than last touch (+25.0 pp) and Direct less (−25.0 pp), beyond the bootstrap noise. The widest Markov interval spans 13 % of its channel's credit (Social).
    <BLANKLINE>
    **Takeaway:** judging Social by last-touch credit undervalues it; judging Direct by last touch overvalues it. Use the Markov (or at least the linear) view when moving budget.
    """
    lt = _credit(models, "last_touch")
    total = lt["conversions"].sum()
    if total == 0:
        return Text("No journey ends in a conversion, so there is nothing to credit: every model "
                    "gives every channel zero.")
    if len(lt) == 1:
        return Text(f"Every journey runs through one channel ({lt.index[0]}): every model gives "
                    "it all the credit.")
    ft = _credit(models, "first_touch").reindex(lt.index)
    mk = _credit(models, "markov")
    close = (lt["share"] - ft["share"]).sort_values(ascending=False, kind="stable")
    closers = [c for c in close.index[:2] if close[c] > 0.01]
    openers = [c for c in close.index[::-1][:2] if close[c] < -0.01]
    parts = []
    if closers:
        parts.append("Last touch rewards the channels that close journeys: "
                     + "; ".join(f"{c} gets {pct(lt.loc[c, 'share'])} of the credit under last "
                                 f"touch against {pct(ft.loc[c, 'share'])} under first touch"
                                 for c in closers) + ".")
    if openers:
        parts.append("First touch rewards those that open them: "
                     + "; ".join(f"{c} ({pct(ft.loc[c, 'share'])} against "
                                 f"{pct(lt.loc[c, 'share'])})" for c in openers) + ".")
    if not closers and not openers:
        parts.append("First and last touch credit the channels alike: journeys open and close "
                     "through the same channels.")
    delta, gain, lose = _moved(models)
    if gain or lose:
        bits = []
        if gain:
            bits.append(f"gives {join(gain[:3])} more than last touch "
                        f"({', '.join(pp(delta[c]) for c in gain[:3])})")
        if lose:
            bits.append(f"{join(lose[:3])} less ({', '.join(pp(delta[c]) for c in lose[:3])})")
        parts.append("The Markov model, which asks what would be lost without a channel, "
                     + " and ".join(bits) + ", beyond the bootstrap noise.")
    else:
        parts.append("No channel's Markov credit differs from its last-touch credit beyond the "
                     "bootstrap noise.")
    if mk["ci_low"].notna().any():
        width = ((mk["ci_high"] - mk["ci_low"]) / mk["conversions"].where(mk["conversions"] > 0))
        if width.notna().any():
            parts.append(f"The widest Markov interval spans {pct(width.max(), 0)} of its "
                         f"channel's credit ({width.idxmax()}).")
    n_conv = round(total)
    if n_conv < MIN_UNITS:
        parts.append(f"With only {plural(n_conv, 'converted journey')} every model's credit is too "
                     "uncertain to move budget on.")
    if n_conv < MIN_UNITS:
        end = takeaway("there are too few converted journeys to tell the models apart; collect "
                       "more data before moving budget on attribution.")
    elif gain and lose:
        g, lo_ = gain[:2], lose[:2]
        end = takeaway(f"judging {join(g)} by last-touch credit undervalues "
                       f"{'it' if len(g) == 1 else 'them'}; judging {join(lo_)} by last touch "
                       f"overvalues {'it' if len(lo_) == 1 else 'them'}. Use the Markov (or at "
                       "least the linear) view when moving budget.")
    else:
        end = takeaway("the models broadly agree on this data, so last touch is a fair summary "
                       "of who gets the credit.")
    return paragraphs(" ".join(parts), end)


# --------------------------------------------------------------------------- decisions


def decisions(summary: pd.DataFrame, *, econ: pd.DataFrame | None = None,
              models: dict | None = None, weekly: pd.DataFrame | None = None,
              currency: str | None = None) -> Text:
    """The closing "Decisions" of notebook 01, from the tables the notebook computed.

    Tables a notebook part could not compute (no spend, no orders) are passed as None and the
    decisions that need them are left out.

    >>> s = pd.DataFrame({"channel": ["A", "B"], "sessions": [100, 100], "conversions": [0, 0]})
    >>> print(decisions(s))
    ## Decisions
    <BLANKLINE>
    - **Fix purchase tracking first.** No session records a purchase, so channels cannot be judged on buyers.
    - **Add spend data** (spend.csv: date, channel, spend) to judge channels on what they cost; without it only volume and conversion can be compared.
    """
    s = _channels(summary)
    lines = []
    if s["conversions"].sum() == 0:
        lines.append("**Fix purchase tracking first.** No session records a purchase, so channels "
                     "cannot be judged on buyers.")
    markov_gain, markov_lose = [], []
    if models is not None and _credit(models, "last_touch")["conversions"].sum() > 0:
        _, markov_gain, markov_lose = _moved(models)
    if econ is not None and len(econ):
        best = econ.iloc[0]
        cheap = (", is the cheapest per new user" if len(econ) > 1
                 and econ["cost_per_new_user"].idxmin() == econ.index[0] else "")
        if best["profit_low"] > 0:
            lines.append(f"**Grow {econ.index[0]}.** It returns the most gross profit per unit of "
                         f"spend of the paid channels ({best['return_per_spend']:.1f}){cheap} "
                         "and pays back even at the low end of its interval.")
        elif best["profit_per_user"] > 0:
            lines.append(f"**Test more budget on {econ.index[0]}.** It returns the most per unit of "
                         "spend, but its payback is not proven at the low end of the interval.")
        if len(econ) > 1:
            vol = s.set_index("channel").loc[econ.index, "new_users"].idxmax()
            if vol != econ.index[0] and econ.loc[vol, "profit_per_user"] > 0:
                proven = ("" if econ.loc[vol, "profit_low"] > 0 else
                          " on the estimate (not proven at the low end of its interval)")
                lines.append(f"**Keep {vol}; it is the volume engine.** It acquires the most new "
                             f"users of the paid channels and pays back at the assumed margin{proven}.")
            losing = econ.index[econ["profit_per_user"] <= 0].tolist()
            rest = [c for c in econ.index[1:] if c != vol]
            if losing:
                lines.append(f"**Cut or fix {join(losing)}.** "
                             f"{'It does' if len(losing) == 1 else 'They do'} not earn back the "
                             "acquisition cost at the assumed margin.")
            elif rest:
                worst = rest[-1]
                besides = vol in econ.index[1:] and econ.index[-1] == vol
                text = (f"**Trim {worst} first if budget must be cut.** "
                        + ("Apart from the volume engine, it" if besides else "It")
                        + f" returns the least per unit of spend "
                        f"({econ.loc[worst, 'return_per_spend']:.1f})"
                        + (", and its acquired users are worth the least of the paid channels"
                           if econ["mean_revenue"].idxmin() == worst else ""))
                if worst in markov_gain:
                    text += (", but the Markov model credits it with starting journeys that other "
                             "channels finish: cut gradually and watch total conversions, not its "
                             "own.")
                else:
                    text += "."
                lines.append(text)
    elif summary["spend"].isna().all() if "spend" in summary else True:
        lines.append("**Add spend data** (spend.csv: date, channel, spend) to judge channels on "
                     "what they cost; without it only volume and conversion can be compared.")
    if markov_gain and markov_lose:
        lines.append(f"**Report channels with a data-driven model.** Last touch over-credits "
                     f"{join(markov_lose[:2])} and under-credits {join(markov_gain[:2])}.")
    if weekly is not None and not weekly.empty and len(weekly) >= 8:
        total = weekly.sum(axis=1)
        eps = _episodes(total)
        if eps:
            peak = max(float(e.max()) for e in eps)
            lines.append(f"**Plan for spend peaks.** Weekly spend reached {times(peak / total.median())}"
                         " a median week; set budget caps for such weeks in advance.")
    if not lines:
        lines.append("No channel decision follows from these numbers alone: the channels do not "
                     "differ beyond chance on what was measured.")
    return bullets(lines, title="Decisions")
