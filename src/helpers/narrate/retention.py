"""Sentences of notebook 05 (retention and feedback), generated from ``helpers.retention`` tables.

The shape of cohort retention, the repurchase rate and how fast it is reached, whether BG/NBD
fits and what it says about who is alive and what they are worth, what the ratings and review
words say, whether a low rating goes with fewer repeat orders, what goes with churn, and the
closing decisions. A part the data cannot support (too few customers, no repeat buyer, no
revenue) is said in one line instead.

Examples
--------
>>> pooled = pd.DataFrame({"n": [1000, 900], "k": [60, 55], "rate": [0.06, 0.061],
...     "ci_low": [0.047, 0.047], "ci_high": [0.077, 0.078]}, index=pd.Index([1, 2],
...     name="months_since"))
>>> print(cohorts(pooled))
Pooled over the cohorts, each of months 1–2 after the first order brings back between 6 % and 6.1 % of the cohort, with overlapping intervals.
<BLANKLINE>
**Takeaway:** monthly retention is low and flat: there is no early peak, just a steady trickle of the cohort coming back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    answer_key,
    bullets,
    count,
    duration,
    interval,
    join,
    money,
    number,
    p_value,
    paragraphs,
    pct,
    plural,
    takeaway,
    times,
)
from helpers.narrate import (
    missing as _nan,
)

ALPHA = 0.05
HISTORY = ("orders", "months_since_last", "log_aov")
"""Churn factors that describe purchase history; the others are levers the shop can move."""

_WORDS = {"orders": "each extra past order", "months_since_last": "each month since the last order",
          "log_aov": "the average order value (log)", "coupon_share": "coupon use",
          "low_rating": "having written a low rating", "mobile": "being a mobile user"}


def _overlap(a, b) -> bool:
    """Do the intervals of rows ``a`` and ``b`` (``ci_low``, ``ci_high``) overlap?"""
    return a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"]


def cohorts(pooled: pd.DataFrame, *, months_observed: int | None = None) -> Text:
    """Shape of monthly retention pooled over cohorts: low or not, flat or with an early peak.

    Parameters
    ----------
    pooled : DataFrame
        Indexed by ``months_since`` (1, 2, ...): ``n``, ``k``, ``rate``, ``ci_low``, ``ci_high``
        (``stats.rate_table`` of the summed cohort cells).
    months_observed : int, optional
        Calendar months the data cover (said when no later month exists).

    Examples
    --------
    >>> empty = pd.DataFrame(columns=["n", "k", "rate", "ci_low", "ci_high"])
    >>> print(cohorts(empty, months_observed=1))
    The data cover 1 calendar month, so no cohort can be followed into a later month yet: cohort retention needs at least two.
    """
    pooled = pooled.loc[pooled["n"] > 0]
    if len(pooled) and pooled["n"].max() < 30:
        return Text(f"Only {plural(pooled['n'].max(), 'buyer')} in the cohorts: too few to read a "
                    "shape from monthly retention.")
    if len(pooled) == 0:
        months = f"{plural(months_observed, 'calendar month')}" if months_observed else "too few months"
        return Text(f"The data cover {months}, so no cohort can be followed into a later month "
                    "yet: cohort retention needs at least two.")
    lo, hi = pooled["rate"].idxmin(), pooled["rate"].idxmax()
    first, last = int(pooled.index.min()), int(pooled.index.max())
    span = f"month {first}" if first == last else f"months {first}–{last}"
    small = pooled["n"].min() < 30
    flat = _overlap(pooled.loc[lo], pooled.loc[hi])
    level = "low" if pooled["rate"].max() < 0.1 else "substantial"
    if first == last:
        head = (f"Pooled over the cohorts, {interval(pooled['rate'].iloc[0], pooled['ci_low'].iloc[0], pooled['ci_high'].iloc[0])}"
                f" of a cohort orders again in month {first}; later months are not observed yet.")
        end = f"monthly retention is {level}; the data are too short to see its shape."
    elif flat:
        head = (f"Pooled over the cohorts, each of {span} after the first order brings back "
                f"between {pct(pooled.loc[lo, 'rate'])} and {pct(pooled.loc[hi, 'rate'])} of the "
                "cohort, with overlapping intervals.")
        end = (f"monthly retention is {level} and flat: there is no early peak, just a steady "
               "trickle of the cohort coming back.")
    elif hi == first:
        head = (f"Pooled over the cohorts, month {first} brings back the most "
                f"({interval(pooled.loc[hi, 'rate'], pooled.loc[hi, 'ci_low'], pooled.loc[hi, 'ci_high'])}), "
                f"falling to {pct(pooled.loc[lo, 'rate'])} by month {int(lo)}.")
        end = (f"monthly retention is {level} and front-loaded: the month after the first order "
               "is when customers come back most.")
    else:
        head = (f"Pooled over the cohorts, the share ordering again ranges from "
                f"{pct(pooled.loc[lo, 'rate'])} (month {int(lo)}) to "
                f"{pct(pooled.loc[hi, 'rate'])} (month {int(hi)}), beyond chance.")
        end = (f"monthly retention is {level} and uneven across {span}; look at which calendar "
               "months the peaks fall in (sales, seasons).")
    note = "Few buyers reach the later months, so their rates are rough." if small else None
    return paragraphs(head, note, takeaway(end))


def repurchase(rp: pd.DataFrame, km_at: pd.DataFrame | None = None,
               durations: pd.DataFrame | None = None) -> Text:
    """The repurchase rate per window, its Kaplan–Meier check, and how fast it is reached.

    Parameters
    ----------
    rp : DataFrame
        :func:`retention.repurchase_rate`: ``window_days``, ``n``, ``k``, ``rate``, ``ci_low``,
        ``ci_high``, ``censored``.
    km_at : DataFrame, optional
        The Kaplan–Meier curve read at the windows: ``time``, ``repurchased``.
    durations : DataFrame, optional
        :func:`retention.time_to_second_purchase` (``days``, ``repurchased``), for the typical
        time to a second order.

    Examples
    --------
    >>> rp = pd.DataFrame({"window_days": [90, 365], "n": [2000, 0], "k": [300, 0],
    ...     "rate": [0.15, np.nan], "ci_low": [0.135, np.nan], "ci_high": [0.166, np.nan],
    ...     "censored": [100, 2100]})
    >>> print(repurchase(rp))
    15 % (95 % CI 13.5–16.6 %) of the first-time buyers watched for 90 days ordered again within them (2,000 buyers; 100 too recent to judge). No buyer has been watched for 365 days yet, so that rate cannot be computed.
    <BLANKLINE>
    **Takeaway:** a minority of first-time buyers order again within 90 days; the weeks after the first order are when a nudge can matter.
    """
    parts, rates = [], {}
    for _, r in rp.iterrows():
        w = int(r["window_days"])
        if r["n"] == 0:
            parts.append(f"No buyer has been watched for {w} days yet, so that rate cannot be "
                         "computed.")
            continue
        rates[w] = float(r["rate"])
        few = ", too few for a firm rate" if r["n"] < 30 else ""
        cens = f"; {count(r['censored'])} too recent to judge" if r["censored"] else ""
        parts.append(f"{interval(r['rate'], r['ci_low'], r['ci_high'])} of the first-time buyers "
                     f"watched for {w} days ordered again within them "
                     f"({plural(r['n'], 'buyer')}{cens}{few}).")
    if not rates:
        return Text(" ".join(parts))
    out = [" ".join(parts)]
    if km_at is not None and len(km_at):
        km = km_at.set_index(km_at["time"].astype(int))["repurchased"]
        pairs = [f"{pct(km[w])} at {w} days (simple rate {pct(rates[w])})" for w in rates
                 if w in km.index and not _nan(km[w])]
        if pairs:
            out.append(f"The Kaplan–Meier curve, which also uses buyers watched for less than "
                       f"the window, gives {join(pairs)}.")
    shape = front_loaded(km_at)
    if shape is not None:
        km = km_at.set_index(km_at["time"].astype(int))["repurchased"]
        a, b = int(km.index.min()), int(km.index.max())
        reached = float(km[a] / km[b])
        if shape:
            out.append(f"{pct(reached)} of the repurchases seen by day {b} have happened by "
                       f"day {a} ({pct(a / b)} of the time): the curve climbs fastest early "
                       "and then flattens.")
        else:
            out.append(f"{pct(reached)} of the repurchases seen by day {b} have happened by "
                       f"day {a}, about in step with time: repurchase comes at a steady pace.")
    if durations is not None and durations["repurchased"].sum() >= 10:
        d = durations.loc[durations["repurchased"], "days"]
        out.append(f"Among the buyers who did order again, half did so within "
                   f"{duration(pd.Timedelta(days=float(d.median())))} of the first order.")
    w = max(rates)
    if rp["n"].max() < 30:
        return paragraphs(*out)
    share = "a minority of first-time buyers" if rates[w] < 0.5 else "most first-time buyers"
    when = ", most of them early" if shape else ""
    end = (f"{share} order again within {w} days{when}; the weeks after "
           "the first order are when a nudge can matter.")
    out.append(takeaway(end))
    return paragraphs(*out)


def front_loaded(km_at: pd.DataFrame | None) -> bool | None:
    """Is repurchase front-loaded? ``None`` when the Kaplan–Meier curve cannot tell.

    True when the share repurchased by the shortest window, relative to the longest, exceeds
    1.3 times the ratio of the windows (a steady pace would give about the ratio itself).

    >>> km = pd.DataFrame({"time": [90.0, 365.0], "repurchased": [0.14, 0.33]})
    >>> front_loaded(km), front_loaded(km.assign(repurchased=[0.05, 0.33])), front_loaded(None)
    (True, False, None)
    """
    if km_at is None or len(km_at) < 2:
        return None
    km = km_at.dropna(subset=["repurchased"])
    if len(km) < 2:
        return None
    km = km.set_index(km["time"].astype(int))["repurchased"]
    a, b = int(km.index.min()), int(km.index.max())
    if not km[b] > 0:
        return None
    return bool(km[a] / km[b] > 1.3 * a / b)


def bgnbd_fit(bg, why: str = "", check: pd.DataFrame | None = None) -> Text:
    """Whether BG/NBD could be fitted, whether it is identified, and how well it fits.

    Parameters
    ----------
    bg : retention.BGNBD or None
        The fitted model; ``None`` when it could not be fitted (``why`` says why).
    check : DataFrame, optional
        :func:`retention.bgnbd_check` (``observed``, ``expected``, ``ratio``).

    Examples
    --------
    >>> print(bgnbd_fit(None, "only 1 customer (BG/NBD needs at least 4)"))
    BG/NBD not fitted: only 1 customer (BG/NBD needs at least 4). P(alive), expected purchases and CLV are left out below.
    """
    if bg is None:
        return Text(f"BG/NBD not fitted: {why}. P(alive), expected purchases and CLV are left "
                    "out below.")
    # four significant digits: the likelihood is flat along b (and often a), so further digits
    # depend on where the optimiser stops, which differs between CPUs
    fitted = (f"BG/NBD fitted on {plural(bg.n, 'customer')}: r = {bg.r:.4g}, α = "
              f"{bg.alpha:,.4g}, a = {bg.a:.4g}, b = {bg.b:,.4g}; mean "
              f"dropout chance after a repeat purchase a/(a + b) = {pct(bg.a / (bg.a + bg.b))}.")
    out = [fitted]
    if bg.warning:
        out.append(f"**Caution:** {bg.warning}. Read P(alive) and expected purchases below as "
                   "rough.")
    else:
        out.append("The fit converged and all four parameters are identified.")
    if check is not None and len(check):
        rp, zero = check.loc["repeat purchases"], check.loc["share without repeat"]
        # within 10 %, or within two Poisson standard errors when the counts are small
        near = (abs(rp["ratio"] - 1) <= 0.1
                or abs(rp["observed"] - rp["expected"]) <= 2 * np.sqrt(max(rp["expected"], 1)))
        good = near and abs(zero["observed"] - zero["expected"]) <= 0.03
        verdict = ("close: the model reproduces the data it was fitted on" if good else
                   "apart: the model does not reproduce these data well, so treat its "
                   "predictions with care")
        out.append(f"In-sample check: over each customer's own observation time the model expects "
                   f"{number(rp['expected'], 0 if rp['expected'] >= 100 else 1)} repeat "
                   f"purchases against {count(rp['observed'])} "
                   f"made, and {pct(zero['expected'])} of customers without a repeat purchase "
                   f"against {pct(zero['observed'])}; {verdict}.")
    return paragraphs(*out)


def spend_model(gg, why: str = "", corr: float | None = None,
                currency: str | None = None) -> Text:
    """The Gamma–Gamma fit in one line, with its independence check.

    Examples
    --------
    >>> from helpers.retention import GammaGamma
    >>> print(spend_model(GammaGamma(p=6.0, q=4.0, gamma=15.0, log_likelihood=0.0, n=651),
    ...                   corr=0.004, currency="EUR"))
    Gamma–Gamma fitted on 651 repeat buyers: mean order value 30.00 EUR. The correlation of purchase frequency and order value among them is 0.00, small enough for the model's assumption that order value does not depend on frequency.
    """
    if gg is None:
        return Text(f"Gamma–Gamma not fitted: {why}. Expected order value and CLV are left out.")
    left = f" ({count(gg.left_out)} left out without a positive spend)" if gg.left_out else ""
    text = (f"Gamma–Gamma fitted on {plural(gg.n, 'repeat buyer')}{left}: mean order value "
            f"{money(gg.mean_spend, currency)}.")
    if corr is not None and not _nan(corr):
        if abs(corr) < 0.3:
            text += (f" The correlation of purchase frequency and order value among them is "
                     f"{number(corr)}, small enough for the model's assumption that order value "
                     "does not depend on frequency.")
        else:
            text += (f" **Caution:** frequency and order value correlate ({number(corr)}), against "
                     "the model's assumption; expected order values are biased.")
    return Text(text)


def value_by_band(bands: pd.DataFrame) -> Text:
    """Who holds the expected value: frequency bands' share of customers versus of CLV.

    Parameters
    ----------
    bands : DataFrame
        Indexed by frequency band (first = no repeat purchase, last = most frequent):
        ``customers``, ``p_alive``, ``clv``, ``clv_share``.

    Examples
    --------
    >>> b = pd.DataFrame({"customers": [700, 200, 100], "p_alive": [1.0, 0.7, 0.65],
    ...     "clv": [800, 900, 2600], "clv_share": [0.56, 0.18, 0.26]}, index=["0", "1", "4+"])
    >>> print(value_by_band(b))
    Customers with 4+ repeat purchases are 10 % of the customers but hold 26 % of the expected value (2.6× their share). Those without a repeat purchase, each worth about as much as a one-repeat buyer, still hold 56 % of the total because there are so many of them.
    """
    n = bands["customers"].sum()
    if n == 0 or bands["clv_share"].isna().all():
        return Text("No expected value to compare.")
    top, zero = bands.iloc[-1], bands.iloc[0]
    out = []
    if len(bands) > 1:
        share = top["customers"] / n
        ratio = top["clv_share"] / share if share > 0 else np.nan
        more = "more than" if ratio > 1 else "less than"
        out.append(f"Customers with {bands.index[-1]} repeat purchases are {pct(share)} of the "
                   f"customers but hold {pct(top['clv_share'])} of the expected value "
                   f"({times(ratio)} their share{'' if ratio > 1 else ', ' + more + ' it'}).")
    if len(bands) > 2:
        similar = abs(zero["clv"] / bands.iloc[1]["clv"] - 1) <= 0.25 if bands.iloc[1]["clv"] else False
        worth = ", each worth about as much as a one-repeat buyer," if similar else ""
        most = "still hold" if zero["clv_share"] >= 0.5 else "hold"
        why = " because there are so many of them" if zero["clv_share"] >= 0.5 else ""
        out.append(f"Those without a repeat purchase{worth} {most} {pct(zero['clv_share'])} of the "
                   f"total{why}.")
    return Text(" ".join(out))


def holdout(h: pd.DataFrame, unit: str = "week", *, split=None) -> Text:
    """The calibration/holdout check of the BG/NBD model (``retention.holdout_check``).

    >>> h = pd.DataFrame({"frequency": ["0", "1", "2+"], "customers": [1204, 227, 60],
    ...                   "predicted": [0.159, 0.393, 1.2], "actual": [0.164, 0.48, 1.1]})
    >>> h.attrs.update(horizon=26, predicted_total=419.0, actual_total=432.0)
    >>> print(holdout(h, split=pd.Timestamp("2025-06-30")))
    Fitted on the orders up to 30 Jun 2025, the model expected 419 repeat purchases from these 1,491 customers over the next 26 weeks; they made 432, 3.1 % more. By past behaviour the predictions run from 0.16 per customer (no repeat purchase yet) to 1.20 (2+ repeat purchases), against 0.16 and 1.10 observed.
    <BLANKLINE>
    **Takeaway:** the model's forecasts track what customers did in the holdout, so its CLV and P(alive) can be used for planning, with their intervals.
    """
    pred, act = h.attrs["predicted_total"], h.attrs["actual_total"]
    n = int(h["customers"].sum())
    when = f"up to {split.day} {split:%b %Y}" if split is not None else "of the calibration period"
    if act == 0:
        return Text(f"Fitted on the orders {when}, the model expected {number(pred)} repeat "
                    f"purchases over the next {plural(h.attrs['horizon'], unit)}; nobody bought "
                    "again, so the holdout cannot tell whether the model is right.")
    gap = act / pred - 1 if pred > 0 else np.inf
    way = "more" if gap > 0 else "fewer"
    lo, hi = h.iloc[0], h.iloc[-1]
    head = (f"Fitted on the orders {when}, the model expected {count(round(pred))} repeat "
            f"purchases from these {count(n)} customers over the next "
            f"{plural(h.attrs['horizon'], unit)}; they made {count(round(act))}, "
            f"{pct(abs(gap))} {way}. By past behaviour the predictions run from "
            f"{_per(lo['predicted'])} per customer ({_band(lo['frequency'])}) to "
            f"{_per(hi['predicted'])} ({_band(hi['frequency'])}), against "
            f"{_per(lo['actual'])} and {_per(hi['actual'])} observed.")
    if act < 30:
        end = (f"with only {count(round(act))} repeat purchases in the holdout the check says "
               "little either way: use the model's CLV as a ranking, not a forecast.")
    elif abs(gap) <= 0.15:
        end = ("the model's forecasts track what customers did in the holdout, so its CLV and "
               "P(alive) can be used for planning, with their intervals.")
    else:
        end = (f"the model {'under' if gap > 0 else 'over'}-predicts the holdout by "
               f"{pct(abs(gap))}: treat its CLV as a ranking of customers rather than a forecast "
               "of money, and look for what the model leaves out (seasonality, campaigns, a "
               "changing shop).")
    return paragraphs(head, takeaway(end))


def _per(x: float) -> str:
    """A per-customer mean with two significant digits below 1 (0.0025, not 0.00)."""
    if x >= 1 or x == 0:
        return f"{x:.2f}"
    if x < 0.001:
        return "less than 0.001"
    return np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")


def _band(label: str) -> str:
    if label == "0":
        return "no repeat purchase yet"
    if label.endswith("+"):
        return f"{label} repeat purchases"
    return f"{label} repeat purchase{'s' if label != '1' else ''}"


def alive(p_alive: pd.Series, summary: pd.DataFrame) -> Text:
    """Who the model writes off: repeat buyers silent long relative to their own rhythm.

    A repeat buyer is "long silent" when the time since their last purchase (T − recency) is
    more than twice their own average gap (recency / frequency).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 2, 2, 3], "recency": [0.0, 10, 10, 30],
    ...                   "T": [40.0, 50, 12, 32]})
    >>> print(alive(pd.Series([1.0, 0.2, 0.9, 0.95]), s))
    Customers without a repeat purchase all have P(alive) = 1 (in BG/NBD one can only leave right after a repeat purchase). Among the 3 repeat buyers, the 1 silent for more than twice their own usual gap has a mean P(alive) of 20 %, against 92.5 % for the others.
    <BLANKLINE>
    **Takeaway:** rank customers by expected value, not by past spend alone: a frequent buyer who stopped long ago is probably gone, while a recent repeat buyer is worth protecting.
    """
    x = summary["frequency"].to_numpy(float)
    rep = x > 0
    ones = ("Customers without a repeat purchase all have P(alive) = 1 (in BG/NBD one can only "
            "leave right after a repeat purchase).")
    out = [ones]
    if rep.sum() < 2:
        out.append("There are too few repeat buyers to say whom the model writes off.")
        return paragraphs(*out)
    gap = summary["recency"].to_numpy(float)[rep] / x[rep]
    silent = (summary["T"].to_numpy(float)[rep] - summary["recency"].to_numpy(float)[rep]) > 2 * gap
    pa = np.asarray(p_alive, float)[rep]
    if silent.all() or not silent.any():
        out.append(f"Among the {count(rep.sum())} repeat buyers, mean P(alive) is {pct(pa.mean())}; "
                   "none stands out as silent for long relative to their own rhythm.")
        return paragraphs(*out)
    a, b = pa[silent].mean(), pa[~silent].mean()
    out[0] += (f" Among the {count(rep.sum())} repeat buyers, the {count(silent.sum())} silent for "
               f"more than twice their own usual gap {'has' if silent.sum() == 1 else 'have'} a "
               f"mean P(alive) of {pct(a)}, against {pct(b)} for the others.")
    if a < b - 0.1:
        end = ("rank customers by expected value, not by past spend alone: a frequent buyer who "
               "stopped long ago is probably gone, while a recent repeat buyer is worth protecting.")
    else:
        end = ("long silence costs little P(alive) here; expected purchases, not P(alive), "
               "separate the valuable customers.")
    out.append(takeaway(end))
    return paragraphs(*out)


def ratings(cats: pd.DataFrame) -> Text:
    """Best and worst rated categories, and whether any category's low-rating share stands out.

    A category stands out when it has at least 20 reviews and its 95 % interval of the low-rating
    share lies entirely above the share over all reviews.

    Examples
    --------
    >>> c = pd.DataFrame({"category": ["toys", "books"], "reviews": [50, 60],
    ...     "mean_rating": [3.9, 4.3], "low_share": [0.1, 0.02], "ci_low": [0.04, 0.005],
    ...     "ci_high": [0.21, 0.09]})
    >>> print(ratings(c))
    110 reviews, mean rating 4.12; 5.6 % are low (1–2 stars). The lowest mean is *toys* (3.90), the highest *books* (4.30). No category's share of low ratings differs from the overall 5.6 % beyond chance.
    """
    if len(cats) == 0 or cats["reviews"].sum() == 0:
        return Text("No reviews to describe.")
    n = cats["reviews"].sum()
    mean = float((cats["mean_rating"] * cats["reviews"]).sum() / n)
    low = float((cats["low_share"] * cats["reviews"]).sum() / n)
    text = f"{count(n)} reviews, mean rating {number(mean)}; {pct(low)} are low (1–2 stars)."
    if len(cats) > 1:
        w, b = cats.iloc[0], cats.iloc[-1]
        text += (f" The lowest mean is *{w['category']}* ({number(w['mean_rating'])}), the highest "
                 f"*{b['category']}* ({number(b['mean_rating'])}).")
        worse = cats.loc[(cats["ci_low"] > low) & (cats["reviews"] >= 20), "category"].tolist()
        if worse:
            text += (f" {join(['*' + c + '*' for c in worse])} {'has' if len(worse) == 1 else 'have'}"
                     f" more low ratings than the overall {pct(low)} beyond chance")
            text += (f" (out of {len(cats)} categories compared, so one such result can be luck: "
                     "treat it as a lead)." if len(cats) > 5 else ".")
        else:
            text += (f" No category's share of low ratings differs from the overall {pct(low)} "
                     "beyond chance.")
    if n < 30:
        text += " These are too few reviews for firm shares."
    return Text(text)


_DELIVERY = {"late", "delivery", "shipping", "arrived", "slow", "delayed", "courier", "package",
             "shipped", "fast"}
_PRODUCT = {"quality", "broken", "described", "defective", "cheap", "size", "works", "damaged",
            "fake", "fit"}


def review_words(terms: pd.DataFrame, *, low_max: int = 2) -> Text:
    """What the low and the high ratings' most characteristic terms are about.

    Examples
    --------
    >>> t = pd.DataFrame({"rating": [1, 1, 2, 5, 5], "term": ["arrived late", "late", "broken",
    ...     "love", "fast"], "docs": [9, 9, 5, 30, 25], "share": [0.9, 0.9, 0.5, 0.3, 0.25]})
    >>> print(review_words(t))
    Low ratings (1–2 stars) most often say "arrived late" (45 % of them) and "broken" (25 %); high ratings (4–5) "love" (30 %) and "fast" (25 %). The low ratings' words are about delivery and the product.
    """
    if len(terms) == 0:
        return Text("No review text to read.")

    def top(rows):
        # pool the ratings of a band: documents with the term over the band's reviews
        if len(rows) == 0:
            return rows
        n = (rows["docs"] / rows["share"]).groupby(rows["rating"]).first().sum()
        pooled = rows.groupby("term", sort=False)["docs"].sum().div(n).rename("share")
        pooled = pooled.sort_values(ascending=False, kind="stable")
        picked = []
        for term in pooled.index:  # a word inside a phrase already picked adds nothing
            if not any(term in p.split() or p in term.split() for p in picked):
                picked.append(term)
            if len(picked) == 2:
                break
        return pd.DataFrame({"term": picked, "share": pooled[picked].to_numpy()})

    low_rows = terms.loc[terms["rating"] <= low_max]
    low = top(low_rows)
    high = top(terms.loc[terms["rating"] >= 4])
    n_low = (low_rows["docs"] / low_rows["share"]).groupby(low_rows["rating"]).first().sum()
    parts = []
    if len(low):
        words = [f'"{t}" ({pct(s)}{" of them" if i == 0 else ""})'
                 for i, (t, s) in enumerate(zip(low["term"], low["share"]))]
        parts.append(f"Low ratings (1–{low_max} stars) most often say {join(words)}")
    if len(high):
        words = [f'"{t}" ({pct(s)})' for t, s in zip(high["term"], high["share"])]
        parts.append(f"high ratings (4–5) {join(words)}")
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    if len(low):
        tokens = set(" ".join(low["term"]).split())
        about = [w for w, vocab in (("delivery", _DELIVERY), ("the product", _PRODUCT))
                 if tokens & vocab]
        if about:
            text += f" The low ratings' words are about {join(about)}."
        if n_low < 10:
            text += (f" There {'is' if n_low == 1 else 'are'} only {plural(n_low, 'low-rated review')}:"
                     " read their words as anecdotes.")
    return Text(text)


def rating_effect(after: pd.DataFrame, rr: pd.DataFrame | None, why: str = "", *,
                  window_days: float) -> Text:
    """Do reviewers who gave a low rating order again less often? (risk ratio, 95 % CI).

    Examples
    --------
    >>> after = pd.DataFrame({"group": ["low", "other"], "n": [27, 729], "k": [5, 207],
    ...     "rate": [0.185, 0.284], "ci_low": [0.082, 0.252], "ci_high": [0.367, 0.318],
    ...     "censored": [10, 410]})
    >>> rr = pd.DataFrame({"risk_ratio": [0.652], "ci_low": [0.293], "ci_high": [1.451],
    ...                    "p_value": [0.295]})
    >>> print(rating_effect(after, rr, window_days=180))
    Within 180 days of their first review, 18.5 % (95 % CI 8.2–36.7 %) of the 27 reviewers who gave a low rating ordered again, against 28.4 % (95 % CI 25.2–31.8 %) of the 729 others: a risk ratio of 0.65 (95 % CI 0.29–1.45, p = 0.29). The interval includes 1: on this sample a low rating is not distinguishable from no effect, though the estimate points to fewer repeat orders.
    <BLANKLINE>
    **Takeaway:** a low rating is a possible early churn warning; a quick service recovery after a low review is cheap compared with losing the customer, but these data alone do not prove the effect.
    """
    a = after.set_index("group")
    lo, ot = a.loc["low"], a.loc["other"]
    if rr is None:
        return paragraphs(f"No risk ratio: {why}. {plural(lo['n'], 'reviewer')} with a low rating "
                          f"and {count(ot['n'])} others had a full {number(window_days, 0)}-day "
                          "window.")
    r = rr.iloc[0]
    head = (f"Within {number(window_days, 0)} days of their first review, "
            f"{interval(lo['rate'], lo['ci_low'], lo['ci_high'])} of the {count(lo['n'])} reviewers "
            f"who gave a low rating ordered again, against "
            f"{interval(ot['rate'], ot['ci_low'], ot['ci_high'])} of the {count(ot['n'])} others: a "
            f"risk ratio of {number(r['risk_ratio'])} (95 % CI {number(r['ci_low'])}–"
            f"{number(r['ci_high'])}, {p_value(r['p_value'])}).")
    direction = "fewer" if r["risk_ratio"] < 1 else "more"
    if r["ci_low"] <= 1 <= r["ci_high"]:
        head += (" The interval includes 1: on this sample a low rating is not distinguishable "
                 f"from no effect, though the estimate points to {direction} repeat orders.")
        if r["risk_ratio"] < 1:
            end = ("a low rating is a possible early churn warning; a quick service recovery "
                   "after a low review is cheap compared with losing the customer, but these "
                   "data alone do not prove the effect.")
        else:
            end = "these data show no sign that a low rating costs the next order."
    elif r["risk_ratio"] < 1:
        head += " The interval excludes 1: low-rating reviewers clearly order again less often."
        end = ("a low rating is an early churn warning; a quick service recovery after a low "
               "review is cheap compared with losing the customer.")
    else:
        head += (" The interval excludes 1, in the unexpected direction: low-rating reviewers "
                 "order again more often (engaged customers complain, too).")
        end = "a low rating does not mark a lost customer here; answer it, but do not write them off."
    return paragraphs(head, takeaway(end))


def churn(feat: pd.DataFrame | None, drivers: pd.DataFrame | None, why: str = "") -> Text:
    """What goes with churn: the share churned, the factors beyond chance, and the levers.

    Examples
    --------
    >>> f = pd.DataFrame({"churned": [True] * 8 + [False] * 2})
    >>> f.attrs["cutoff"] = pd.Timestamp("2025-07-04", tz="UTC")
    >>> d = pd.DataFrame({"feature": ["orders", "months_since_last", "coupon_share"],
    ...     "odds_ratio": [0.7, 1.14, 0.92], "ci_low": [0.63, 1.1, 0.67],
    ...     "ci_high": [0.8, 1.18, 1.27], "p_value": [0.0001, 0.0001, 0.62], "n": 10})
    >>> print(churn(f, d))
    Of the 10 buyers at the cutoff (2025-07-04), 80 % did not order again in the following period. Beyond chance: each extra past order goes with lower odds of churning (odds ratio 0.70, 95 % CI 0.63–0.80) and each month since the last order goes with higher odds (odds ratio 1.14, 95 % CI 1.10–1.18). Not distinguishable from no effect: coupon use (odds ratio 0.92, 95 % CI 0.67–1.27).
    <BLANKLINE>
    **Takeaway:** churn is mostly predictable from purchase history; none of the levers the shop controls (coupon use) is distinguishable from no effect in this sample.
    """
    if feat is None:
        return Text(f"No churn analysis: {why}.")
    head = (f"Of the {plural(len(feat), 'buyer')} at the cutoff "
            f"({feat.attrs['cutoff']:%Y-%m-%d}), {pct(feat['churned'].mean())} did not order "
            "again in the following period.")
    if drivers is None:
        return Text(f"{head} No regression: {why}.")

    def say(r, with_dir=True):
        d = "lower" if r["odds_ratio"] < 1 else "higher"
        verb = f" goes with {d} odds of churning" if with_dir else ""
        return (f"{_WORDS.get(r['feature'], r['feature'])}{verb} (odds ratio "
                f"{number(r['odds_ratio'])}, 95 % CI {number(r['ci_low'])}–{number(r['ci_high'])})")

    sig = drivers.loc[(drivers["ci_low"] > 1) | (drivers["ci_high"] < 1)]
    ns = drivers.drop(sig.index)
    out = [head]
    if len(sig):
        items = [say(r) for _, r in sig.iterrows()]
        # "higher odds" once is enough when two factors share a direction
        items = [items[0]] + [i.replace(" of churning", "") for i in items[1:]]
        out.append(f"Beyond chance: {join(items)}.")
    if len(ns):
        label = ("Not distinguishable from no effect" if len(sig) else
                 "No factor is distinguishable from no effect")
        out.append(f"{label}: {join([say(r, False) for _, r in ns.iterrows()])}.")
    rare = drivers.attrs.get("left_out") or []
    if rare:
        out.append(f"Left out, too few buyers on one side: {join([_WORDS.get(f, f) for f in rare])}.")
    levers_sig = [f for f in sig["feature"] if f not in HISTORY]
    levers_ns = [_WORDS.get(f, f) for f in ns["feature"] if f not in HISTORY]
    hist_sig = [f for f in sig["feature"] if f in HISTORY]
    if hist_sig and not levers_sig:
        tail = (f"; none of the levers the shop controls ({join(levers_ns)}) is distinguishable "
                "from no effect in this sample" if levers_ns else "")
        low = drivers.loc[drivers["feature"] == "low_rating"]
        if len(low) and low["odds_ratio"].iloc[0] > 1 and "low_rating" not in list(sig["feature"]):
            tail += ", though a low rating points the expected way"
        end = f"churn is mostly predictable from purchase history{tail}."
    elif levers_sig:
        end = (f"{join([_WORDS.get(f, f) for f in levers_sig])} "
               f"{'goes' if len(levers_sig) == 1 else 'go'} with churn beyond chance: a lever worth "
               "testing (an association, not yet a cause).")
    else:
        end = "nothing in these features predicts churn beyond chance; look for other signals."
    out.append(takeaway(end))
    return paragraphs(" ".join(out[:-1]), out[-1])


def decisions(*, fast_repurchase: bool | None, has_value: bool, rr: pd.DataFrame | None,
              low_terms: str | None = None, has_alive: bool = True) -> Text:
    """The closing "Decisions" list, each bullet backed by a result of this run.

    Examples
    --------
    >>> rr = pd.DataFrame({"risk_ratio": [0.65], "ci_low": [0.29], "ci_high": [1.45]})
    >>> print(decisions(fast_repurchase=True, has_value=False, rr=rr))
    ## Decisions
    <BLANKLINE>
    - Put the first weeks after a first order to work (welcome series, second-order offer): that is when repurchase happens, if it happens at all.
    - Treat a low review as a possible churn alarm (the estimate points that way, not yet beyond chance): route it to service recovery within days.
    - Hand the alive/value scores to notebook 07 for lifecycle and win-back targeting.
    """
    lines = []
    if fast_repurchase:
        lines.append("Put the first weeks after a first order to work (welcome series, "
                     "second-order offer): that is when repurchase happens, if it happens at all.")
    elif fast_repurchase is False:
        lines.append("Repurchase comes at a steady pace: time reminders to the customers' own "
                     "rhythm rather than to the first weeks only.")
    if has_value:
        lines.append("Target retention spend by expected value (P(alive) × expected purchases × "
                     "order value), and stop spending on long-silent repeat buyers the model "
                     "considers gone.")
    if rr is not None and len(rr):
        r = rr.iloc[0]
        fix = f", and fix what the low ratings name ({low_terms})" if low_terms else ""
        if r["ci_high"] < 1:
            lines.append(f"Treat a low review as a churn alarm: route it to service recovery "
                         f"within days{fix}.")
        elif r["risk_ratio"] < 1:
            lines.append(f"Treat a low review as a possible churn alarm (the estimate points that "
                         f"way, not yet beyond chance): route it to service recovery within "
                         f"days{fix}.")
    if has_alive:
        lines.append("Hand the alive/value scores to notebook 07 for lifecycle and win-back "
                     "targeting.")
    if not lines:
        lines.append("The data are too thin for retention decisions: gather a longer history "
                     "(repeat buyers, months of orders) and re-run.")
    return bullets(lines, title="Decisions")


def bgnbd_key(both: pd.DataFrame) -> Text:
    """Answer key: the daily refit's parameters (α in weeks) against the planted ones.

    ``both`` has columns ``fitted`` and ``key`` for r, alpha, a, b and a/(a+b).

    Examples
    --------
    >>> b = pd.DataFrame({"fitted": [0.257, 13.18, 1.69, 6.81, 0.199],
    ...                   "key": [0.24, 12.0, 0.85, 2.6, 0.246]},
    ...                  index=["r", "alpha", "a", "b", "a/(a+b)"])
    >>> print(bgnbd_key(b).split("\\n\\n")[1])
    The purchase-rate parameters are recovered: r 0.257 against 0.240 (+7 %), α 13.18 against 12.00 (+10 %). a and b are looser (1.69 and 6.81 against 0.85 and 2.60); their stable ratio, the mean dropout chance, is 19.9 % against 24.6 %.
    """
    expl = ("The simulator plants BG/NBD parameters per week, in continuous time. Weekly periods "
            "merge two purchases in the same week, which pushes α up, so the check refits on "
            "daily periods and divides α by 7 to read it in weeks; and the simulator's purchases "
            "include orders later cancelled or refunded, so it uses all orders. r and α are "
            "pinned down well by a few thousand buyers, a and b only loosely (their ratio, the "
            "mean dropout chance a/(a + b), is the stable quantity). Low ratings and the win-back "
            "campaign make the shop depart a little from pure BG/NBD: expect closeness, not "
            "equality.")
    f, k = both["fitted"], both["key"]
    rel = f / k - 1

    def off(x):
        return f"{'+' if x >= 0 else '−'}{abs(100 * x):.0f} %"

    close = (rel[["r", "alpha"]].abs() <= 0.2).all()
    verdict = "recovered" if close else "not recovered (off by more than 20 %)"
    found = (f"The purchase-rate parameters are {verdict}: r {number(f['r'], 3)} against "
             f"{number(k['r'], 3)} ({off(rel['r'])}), α {number(f['alpha'])} against "
             f"{number(k['alpha'])} ({off(rel['alpha'])}). a and b are looser "
             f"({number(f['a'])} and {number(f['b'])} against {number(k['a'])} and "
             f"{number(k['b'])}); their stable ratio, the mean dropout chance, is "
             f"{pct(f['a/(a+b)'])} against {pct(k['a/(a+b)'])}.")
    return answer_key(expl, found)


def rating_key(key: float, rr: pd.DataFrame) -> Text:
    """Answer key: is the planted risk ratio of a low rating inside the estimate's interval?

    Examples
    --------
    >>> rr = pd.DataFrame({"risk_ratio": [0.652], "ci_low": [0.293], "ci_high": [1.451]})
    >>> print(rating_key(0.6, rr).split("\\n\\n")[1])
    Estimate 0.65 (95 % CI 0.29–1.45) against the planted 0.60: the planted effect lies inside the interval, and the estimate is close to it even though this sample alone cannot call it significant.
    """
    expl = ("The simulator lowers the chance of a next purchase after a low rating by a known "
            "risk ratio.")
    r = rr.iloc[0]
    inside = r["ci_low"] <= key <= r["ci_high"]
    sig = not (r["ci_low"] <= 1 <= r["ci_high"])
    found = (f"Estimate {number(r['risk_ratio'])} (95 % CI {number(r['ci_low'])}–"
             f"{number(r['ci_high'])}) against the planted {number(key)}: ")
    if inside:
        found += "the planted effect lies inside the interval"
        found += (", and the estimate is close to it even though this sample alone cannot call "
                  "it significant." if not sig else ", and the effect is significant.")
    else:
        found += "the planted effect lies outside the interval; look for a bias in the design."
    return answer_key(expl, found)


def review_topics(by_rating: pd.DataFrame | None, churn: pd.DataFrame | None = None,
                  why: str = "", churn_why: str = "", *, window_days: float | None = None) -> Text:
    """What the review topics are, whether low ratings gather in some, and who orders again.

    ``by_rating`` is :func:`helpers.topics.topic_by_rating` (``None`` with ``why`` when no topic
    model could be fitted), ``churn`` is :func:`helpers.topics.topic_churn` (``None`` with
    ``churn_why`` when it was not run). A topic stands out for low ratings when the χ² test is
    significant, it has at least 20 reviews and its interval lies above the overall share.

    Examples
    --------
    >>> t = pd.DataFrame({"topic": [1, 2], "label": ["love · easy", "stopped · working"],
    ...     "reviews": [300, 100], "low": [6, 30], "low_share": [0.02, 0.3],
    ...     "ci_low": [0.009, 0.22], "ci_high": [0.043, 0.39]})
    >>> t.attrs = {"chi2": 61.2, "dof": 1, "p_value": 5e-15, "min_expected": 9.0, "why": "",
    ...            "low_share": 0.09, "low_max": 2, "unassigned": 4}
    >>> print(review_topics(t))
    The 400 reviews with readable words fall into 2 topics; the largest, *love · easy*, holds 75 % of them. 4 reviews are left out (no usable words, or no rating).
    <BLANKLINE>
    Low ratings (1–2 stars) are not spread evenly over the topics (χ² = 61.2, 1 df, p < 0.001): 9 % overall, and 30 % (95 % CI 22–39 %) in *stopped · working*, more than the overall share beyond chance.
    <BLANKLINE>
    **Takeaway:** read the reviews of *stopped · working* first: that is where the low ratings gather.
    """
    if by_rating is None or len(by_rating) == 0:
        return Text(f"No review topics: {why or 'no review has a topic'}.")
    t = by_rating.sort_values(["reviews", "topic"], ascending=[False, True], kind="stable")
    a = by_rating.attrs
    n, k = int(t["reviews"].sum()), len(t)
    big = t.iloc[0]
    if k == 1:
        who = "The only review" if n == 1 else f"All {count(n)} reviews"
        head = (f"{who} with readable words {'falls' if n == 1 else 'fall'} into one topic, "
                f"*{big['label']}*.")
    else:
        head = (f"The {count(n)} reviews with readable words fall into {k} topics; the largest, "
                f"*{big['label']}*, holds {pct(big['reviews'] / n)} of them.")
    if a.get("unassigned"):
        head += (f" {plural(a['unassigned'], 'review')} {'is' if a['unassigned'] == 1 else 'are'}"
                 " left out (no usable words, or no rating).")
    low_max = a.get("low_max", 2)
    overall = a.get("low_share", float(t["low"].sum() / n))
    worse = []
    if a.get("why"):
        low = f"No test of topic against low ratings: {a['why']}."
    else:
        worst = t.loc[t["low_share"].idxmax()]
        test = (f"χ² = {number(a['chi2'], 1)}, {a['dof']} df, {p_value(a['p_value'])}")
        if a["p_value"] < ALPHA:
            # the topics whose low share is above the overall one beyond chance, worst first
            worse = t.loc[(t["ci_low"] > overall) & (t["reviews"] >= 20)].sort_values(
                "low_share", ascending=False, kind="stable")["label"].tolist()
            low = (f"Low ratings (1–{low_max} stars) are not spread evenly over the topics "
                   f"({test}): {pct(overall)} overall, and "
                   f"{interval(worst['low_share'], worst['ci_low'], worst['ci_high'])} in "
                   f"*{worst['label']}*")
            if worst["label"] in worse:
                others = [w for w in worse if w != worst["label"]]
                low += ", more than the overall share beyond chance"
                if others:
                    low += f"; {join(['*' + w + '*' for w in others])} too"
            low += "."
        else:
            low = (f"The share of low ratings (1–{low_max} stars; {pct(overall)} overall) does not "
                   f"differ between the topics beyond chance ({test}).")
        if a.get("min_expected", 5) < 5:
            low += " Some expected counts are below 5, so the p-value is only approximate."
    if n < 30:
        low += " These are too few reviews for firm shares."
    parts = [head, low]
    if churn is not None and window_days is not None:
        parts.append(_topic_churn(churn, window_days))
    elif churn_why:
        parts.append(f"No repeat orders by topic: {churn_why}.")
    if worse:
        end = f"read the reviews of *{worse[0]}* first: that is where the low ratings gather."
    elif a.get("why") and overall == 0:
        end = "there are no low ratings to trace to a topic."
    else:
        end = ("the topics say what reviewers write about, not where the low ratings come from; "
               "read the low-rated reviews themselves.")
    parts.append(takeaway(end))
    return paragraphs(*parts)


def _topic_churn(ch: pd.DataFrame, window_days: float) -> str:
    n = int(ch["n"].sum())
    if n == 0:
        return (f"No reviewer has a full {number(window_days, 0)}-day window after their review "
                f"yet ({plural(ch['censored'].sum(), 'reviewer')} censored).")
    rate = ch["k"].sum() / n
    text = (f"Within {number(window_days, 0)} days of their first review, {pct(rate)} of the "
            f"{count(n)} reviewers with a full window ordered again")
    seen = ch.loc[ch["n"] > 0]
    if len(seen) > 1:
        lo, hi = seen.loc[seen["rate"].idxmin()], seen.loc[seen["rate"].idxmax()]
        text += (f"; by topic from {pct(lo['rate'])} (*{lo['label']}*) to {pct(hi['rate'])} "
                 f"(*{hi['label']}*).")
    else:
        text += "."
    rr = ch.loc[ch["risk_ratio"].notna()]
    sig = rr.loc[(rr["rr_low"] > 1) | (rr["rr_high"] < 1)]
    if len(rr) == 0:
        text += (" No topic can be compared with the others (each needs reviewers who did and "
                 "did not order again).")
    elif len(sig):
        says = [f"*{r['label']}* reviewers order again {'less' if r['risk_ratio'] < 1 else 'more'} "
                f"often than the others (risk ratio {number(r['risk_ratio'])}, 95 % CI "
                f"{number(r['rr_low'])}–{number(r['rr_high'])})" for _, r in sig.iterrows()]
        text += " " + "; ".join(says) + "."
        if len(rr) > 2:
            text += (f" {len(rr)} topics were compared, so one such result can be luck: treat it "
                     "as a lead.")
    else:
        text += " No topic's rate differs from the other topics' beyond chance."
    if n < 30:
        text += " These are too few reviewers for firm rates."
    return text


def review_topic_count(choice: pd.DataFrame) -> Text:
    """How many review topics the held-out likelihood supports (:func:`helpers.topics.choose_n_topics`).

    ``choice`` has ``k``, ``loglik`` (held-out log-likelihood per word), ``diff``, ``se`` and
    ``best``. The sentence names the chosen k, compares it with the k just below, and says
    whether larger k predict unseen reviews worse or only no better.

    Examples
    --------
    >>> c = pd.DataFrame({"k": [2, 3, 4, 5], "loglik": [-2.51, -2.44, -2.395, -2.395],
    ...                   "diff": [-0.115, -0.045, 0.0, 0.0], "se": [0.007, 0.004, 0.0, 0.0],
    ...                   "best": [False, False, True, False]})
    >>> print(review_topic_count(c))
    4 topics: fitted on part of the reviews and scored on the rest, the topic model predicts unseen reviews better with 4 topics than with 3 (−2.395 against −2.440 nats per term), and no larger number of topics predicts them better by more than one standard error or 0.01 nats per term.
    >>> print(review_topic_count(c.iloc[:0]))
    No choice of the number of topics: no review has words to read.
    """
    from helpers.topics import CHOICE_TOLERANCE

    if len(choice) == 0 or not choice["best"].any():
        why = choice.attrs.get("why") or "no review has words to read"
        return Text(f"No choice of the number of topics: {why}.")
    t = choice.sort_values("k").reset_index(drop=True)
    i = int(np.flatnonzero(t["best"].to_numpy())[0])
    b = t.iloc[i]
    k = int(b["k"])

    def ll(x):
        return number(x, 3).replace("-", "−")

    head = f"{plural(k, 'topic')}: fitted on part of the reviews and scored on the rest, "
    if i > 0:
        lo = t.iloc[i - 1]
        head += (f"the topic model predicts unseen reviews better with {k} "
                 f"{'topic' if k == 1 else 'topics'} than with {int(lo['k'])} "
                 f"({ll(b['loglik'])} against {ll(lo['loglik'])} nats per term)")
    else:
        head += (f"the topic model with {k} {'topic' if k == 1 else 'topics'}, the fewest tried, "
                 f"predicts unseen reviews at {ll(b['loglik'])} nats per term")
    later = t.iloc[i + 1:]
    if len(later) == 0:
        tail = (f"; {k} is the largest number tried, so more topics might predict better "
                "still.")
    elif (later["diff"] < -np.maximum(later["se"], CHOICE_TOLERANCE)).all() and (
            later["loglik"] < b["loglik"]).all():
        tail = (", and every larger number of topics predicts them worse: the reviews hold no "
                "further topic that carries over to reviews the model has not seen.")
    else:
        tail = (", and no larger number of topics predicts them better by more than one "
                f"standard error or {number(CHOICE_TOLERANCE)} nats per term.")
    return Text(head + tail)


RECOVERED = 0.8
"""Recall and purity from which a known topic counts as recovered by its fitted topic."""

SPLIT_SHARE = 0.2
"""Share of a known topic's reviews in a second fitted topic from which it counts as split."""


def review_topics_key(match: pd.DataFrame) -> Text:
    """Answer key: do the fitted topics recover the planted ones (:func:`helpers.topics.match_topics`)?

    A planted topic is *recovered* when the fitted topic holding most of its reviews has recall
    and purity of at least :data:`RECOVERED` and is the best match of no other planted topic;
    *merged* when that fitted topic is also the best match of another planted topic; *split*
    when a second fitted topic holds at least :data:`SPLIT_SHARE` of its reviews; otherwise
    only partly recovered.

    Examples
    --------
    >>> m = pd.DataFrame({"known": ["late delivery", "praise", "so-so"],
    ...     "reviews": [200, 1000, 150], "unassigned": [0, 0, 0], "topic": [2, 1, 1],
    ...     "label": ["slow shipping", "love it · great value", "love it · great value"],
    ...     "recall": [0.99, 1.0, 0.9], "purity": [1.0, 0.88, 0.12],
    ...     "second_topic": [3, pd.NA, 2], "second_share": [0.01, 0.0, 0.1],
    ...     "merged_with": ["", "so-so", "praise"]})
    >>> print(review_topics_key(m).split("\\n\\n")[1])
    1 of the 3 planted topics is recovered by a fitted topic of its own: *late delivery* by topic 2 (*slow shipping*), recall 99 % and purity 100 %. *praise* and *so-so* are merged into topic 1 (*love it · great value*), with recall 100 % and 90 % and the topic's purity for each 88 % and 12 %.
    """
    expl = ("The simulator gives every review one planted topic (its cause: a late delivery, poor "
            "quality, or neither) and writes the text from that topic's phrases. Each planted "
            "topic is matched with the fitted topic that holds most of its reviews: recall is "
            "the share of the planted topic's reviews in that fitted topic, purity the share of "
            "the fitted topic's reviews that carry the planted topic.")
    m = match.loc[match["reviews"] > 0]
    if len(m) == 0:
        return answer_key(expl, "None of the planted topics' reviews is among the reviews "
                                "fitted, so there is nothing to compare.")

    def name(r):
        return f"*{r['known']}*"

    def where(r):
        return f"topic {int(r['topic'])} (*{r['label']}*)"

    recovered, merged, split, partly, unfitted, done = [], [], [], [], [], set()
    for _, r in m.iterrows():
        if pd.isna(r["topic"]):
            unfitted.append(name(r))
        elif r["merged_with"]:
            if r["known"] in done:
                continue
            group = m.loc[m["topic"] == r["topic"]]
            done.update(group["known"])
            merged.append(f"{join([name(g) for _, g in group.iterrows()])} are merged into "
                          f"{where(r)}, with recall {join([pct(x) for x in group['recall']])} "
                          f"and the topic's purity for each "
                          f"{join([pct(x) for x in group['purity']])}")
        elif r["recall"] >= RECOVERED and r["purity"] >= RECOVERED:
            recovered.append(f"{name(r)} by {where(r)}, recall {pct(r['recall'])} and purity "
                             f"{pct(r['purity'])}")
        elif r["second_share"] >= SPLIT_SHARE:
            split.append(f"{name(r)} is split: its largest part, {pct(r['recall'])} of its "
                         f"reviews, is in {where(r)}, whose purity is {pct(r['purity'])}, and "
                         f"the next, {pct(r['second_share'])}, in topic "
                         f"{int(r['second_topic'])}")
        else:
            partly.append(f"{name(r)} is only partly recovered: {pct(r['recall'])} of its reviews "
                          f"are in {where(r)}, whose purity is {pct(r['purity'])}")
    n = len(m)
    if len(recovered) == n:
        lead = (f"All {n} planted topics are recovered, each by a fitted topic of its own: "
                f"{'; '.join(recovered)}.")
    elif len(recovered) == 1:
        lead = (f"1 of the {n} planted topics is recovered by a fitted topic of its own: "
                f"{recovered[0]}.")
    elif recovered:
        lead = (f"{len(recovered)} of the {n} planted topics are recovered, each by a fitted "
                f"topic of its own: {'; '.join(recovered)}.")
    else:
        lead = f"None of the {n} planted topics is recovered by a fitted topic of its own."
    rest = merged + split + partly
    if unfitted:
        rest.append(f"{join(unfitted)} {'has' if len(unfitted) == 1 else 'have'} no review with "
                    "a fitted topic")
    found = " ".join([lead] + [f"{s}." for s in rest])
    missing = int(m["unassigned"].sum())
    if missing:
        found += (f" {plural(missing, 'review')} of the planted topics got no fitted topic (no "
                  f"usable word) and {'counts' if missing == 1 else 'count'} as missed.")
    return answer_key(expl, found)
