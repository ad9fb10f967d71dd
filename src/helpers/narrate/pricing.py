"""Sentences of notebook 04's price-sensitivity section, from the tables of ``helpers.pricing``.

Which runs of days were promotions, how many buyers the model puts in the price-sensitive
segment and on what evidence, how the segment differs from the other buyers, what that means
for aiming discounts, and how the segment compares with a known list (the simulator's answer
key). Every number comes from the tables; when the data cannot tell, the sentence says so.

Examples
--------
>>> print(segment(None, "buyers who took a discount once are no likelier than others to take "
...                     "one again"))
No price-sensitive segment: the data cannot say who responds to discounts, because buyers who took a discount once are no likelier than others to take one again.
<BLANKLINE>
**Takeaway:** the data single out no group that responds to discounts, so a coupon cannot be aimed on this evidence; judge discounts shop-wide (notebook 06) instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    answer_key,
    count,
    join,
    missing,
    money,
    number,
    p_value,
    paragraphs,
    pct,
    plural,
    takeaway,
    times,
)

FEW = 30
"""Below this many buyers a share is mostly noise: the narrators say so."""

SHOWN = 5
"""At most this many promotions are named one by one."""


def _ci(rate, low, high, digits: int = 0) -> str:
    """``'30 %, 95 % CI 22–40 %'``: a share and its interval, for use inside parentheses."""
    lo = pct(low, digits).removesuffix(" %")
    return f"{pct(rate, digits)}, 95 % CI {lo}–{pct(high, digits)}"


def _day(d) -> str:
    return f"{pd.Timestamp(d):%Y-%m-%d}"


def promotions(promo: pd.DataFrame | None) -> Text:
    """Which runs of days stood out as promotions (:func:`pricing.promotions`).

    Examples
    --------
    >>> p = pd.DataFrame({"start": pd.to_datetime(["2025-04-01"]),
    ...     "end": pd.to_datetime(["2025-04-05"]), "days": [5], "orders": [50],
    ...     "discounted": [40], "share": [0.8], "expected_share": [0.1], "ratio": [8.0],
    ...     "p_value": [0.01]})
    >>> print(promotions(p))
    One run of days stands out as a promotion: 2025-04-01 to 2025-04-05 (5 days, 80 % of 50 orders discounted against 10 % expected from the usual shares).
    >>> print(promotions(p.iloc[:0]))
    No run of days stands out: the share of discounted orders never rises far above what the usual shares of first and repeat orders predict, so no order counts as a promotion-day order.
    """
    if promo is None or len(promo) == 0:
        return Text("No run of days stands out: the share of discounted orders never rises far "
                    "above what the usual shares of first and repeat orders predict, so no order "
                    "counts as a promotion-day order.")

    def one(r) -> str:
        span = (_day(r["start"]) if r["days"] == 1 else
                f"{_day(r['start'])} to {_day(r['end'])}")
        return (f"{span} ({plural(r['days'], 'day')}, {pct(r['share'])} of "
                f"{count(r['orders'])} orders discounted against {pct(r['expected_share'])} "
                "expected from the usual shares)")

    rows = promo.sort_values("start", kind="stable")
    if len(rows) == 1:
        return Text(f"One run of days stands out as a promotion: {one(rows.iloc[0])}.")
    top = rows.loc[rows["ratio"].rank(ascending=False, method="first") <= SHOWN]
    head = (f"{count(len(rows))} runs of days stand out as promotions "
            f"({count(rows['days'].sum())} days in all)")
    listed = "; ".join(one(r) for _, r in top.iterrows())
    more = (f"; and {plural(len(rows) - len(top), 'shorter or weaker one')}"
            if len(top) < len(rows) else "")
    return Text(f"{head}: {listed}{more}.")


def segment(table: pd.DataFrame | None, why: str = "") -> Text:
    """How many buyers are price-sensitive, on what evidence (:func:`pricing.price_sensitivity`).

    ``table`` is None when the model could not be fitted; ``why`` is then the reason
    (``retention.attempt`` returns both).

    Examples
    --------
    >>> from helpers.pricing import LatentClassFit, SEGMENTS
    >>> fit = LatentClassFit(0.3, pd.DataFrame({"sensitive": [0.6, 0.3], "other": [0.2, 0.05]},
    ...     index=["first order", "returned on a promotion day"]), float(np.log(6.0)), 0, 0,
    ...     100, 0.3, 10)
    >>> t = pd.DataFrame({"orders": [1] * 60 + [3] * 40,
    ...     "bayes_factor": [3.0] * 20 + [0.5] * 40 + [8.0] * 10 + [0.3] * 30,
    ...     "segment": pd.Categorical([SEGMENTS[0]] * 20 + [SEGMENTS[1]] * 40 + [SEGMENTS[0]] * 10
    ...                               + [SEGMENTS[1]] * 30, categories=SEGMENTS)})
    >>> t.attrs.update(model=fit, test={"z": 3.1, "p_value": 0.001})
    >>> print(segment(t))
    30 of the 100 buyers (30 %, 95 % CI 22–40 %) are in the price-sensitive segment. Buyers differ in their response beyond chance (score test z = 3.10, p = 0.001). In the class the model finds, the odds of taking an available discount are 6.0× those of the other buyers (on first orders 60 % against 20 %), and 30 % of its repeat orders fall on promotion days against 5 %.
    <BLANKLINE>
    A buyer joins the segment when their own orders favour that class (a Bayes factor of at least 1). For the 60 one-order buyers that is a single order: a discounted first order on an ordinary day multiplies the odds by 3.0, a full-price one by 0.50, so one order is weak evidence either way; buyers with three or more orders range from 0.30 to 8.0. Most buyers ordered once (60 %), which leaves the overall size of the class weakly determined: read `p_sensitive` as a ranking, and the segment as the buyers whose own orders point to the class.
    """
    from helpers.stats import wilson

    if table is None:
        reason = why.strip().rstrip(".") or "the model could not be fitted"
        reason = reason.removeprefix("the data cannot tell price-sensitive buyers from the rest: ")
        return paragraphs(f"No price-sensitive segment: the data cannot say who responds to "
                          f"discounts, because {reason}.",
                          takeaway("the data single out no group that responds to discounts, so a "
                                   "coupon cannot be aimed on this evidence; judge discounts "
                                   "shop-wide (notebook 06) instead."))
    n = len(table)
    seg = table["segment"].astype(str) == "price-sensitive"
    k = int(seg.sum())
    lo, hi = wilson(k, n)
    out = []
    if n < FEW:
        out.append(f"Only {plural(n, 'buyer')}: too few for the shares below to mean much.")
    head = (f"{count(k)} of the {count(n)} buyers ({_ci(k / n, lo, hi)}) are in the "
            "price-sensitive segment.")
    fit = table.attrs.get("model")
    test = table.attrs.get("test", {})
    if test:
        head += (f" Buyers differ in their response beyond chance (score test "
                 f"z = {number(test['z'])}, {p_value(test['p_value'])}).")
    if fit is not None:
        head += " " + _classes(fit)
    out.append(head)
    out.append(_evidence(table, fit))
    return paragraphs(*out)


def _classes(fit) -> str:
    """What separates the two classes, from the fitted rates."""
    r = fit.rates
    disc = [i for i in r.index if i != "returned on a promotion day"]
    parts = []
    if disc and not missing(fit.shift):
        examples = [f"on {i}s {pct(r.loc[i, 'sensitive'])} against {pct(r.loc[i, 'other'])}"
                    for i in disc if r.loc[i, "sensitive"] >= 0.05 or r.loc[i, "other"] >= 0.05]
        ex = f" ({join(examples[:2])})" if examples else ""
        parts.append(f"the odds of taking an available discount are {times(np.exp(fit.shift))} "
                     f"those of the other buyers{ex}")
    if "returned on a promotion day" in r.index:
        s, o = r.loc["returned on a promotion day", ["sensitive", "other"]]
        parts.append(f"{pct(s)} of its repeat orders fall on promotion days against {pct(o)}")
    if not parts:
        return ""
    return f"In the class the model finds, {', and '.join(parts)}."


def _evidence(table: pd.DataFrame, fit) -> str:
    """How much a buyer's orders say: one order against several."""
    one = table["orders"] == 1
    text = ("A buyer joins the segment when their own orders favour that class (a Bayes factor "
            "of at least 1).")
    if one.any() and fit is not None and "first order" in fit.rates.index:
        s, o = fit.rates.loc["first order", ["sensitive", "other"]]
        text += (f" For the {count(one.sum())} one-order buyers that is a single order: a "
                 f"discounted first order on an ordinary day multiplies the odds by "
                 f"{_factor(s / o)}, a full-price "
                 f"one by {_factor((1 - s) / (1 - o))}, so one order is weak evidence either way")
        many = table.loc[table["orders"] >= 3, "bayes_factor"]
        if len(many):
            text += (f"; buyers with three or more orders range from {_factor(many.min())} to "
                     f"{_factor(many.max())}.")
        else:
            text += "."
    share_one = float(one.mean())
    if share_one > 0.5:
        text += (f" Most buyers ordered once ({pct(share_one)}), which leaves the overall size of "
                 "the class weakly determined: read `p_sensitive` as a ranking, and the segment "
                 "as the buyers whose own orders point to the class.")
    return text


def _amounts(a, b, currency) -> str:
    """Two revenues per order, ``'80.00 EUR against 100.00 EUR'`` (whole units from 100 up)."""
    digits = 0 if min(abs(float(a)), abs(float(b))) >= 100 else 2
    return f"{money(a, currency, digits)} against {money(b, currency, digits)}"


def _factor(x) -> str:
    x = float(x)
    if x >= 100:
        return count(x)
    return number(x, 1) if x >= 1.5 else number(x, 2)


def comparison(summary: pd.DataFrame, currency: str | None = None) -> Text:
    """How the segment differs from the other buyers, and what that suggests for discounts.

    ``summary`` is :func:`pricing.sensitivity_summary` (rows ``price-sensitive`` and ``other``).

    Examples
    --------
    >>> s = pd.DataFrame({"segment": ["price-sensitive", "other"], "buyers": [300, 700],
    ...     "orders": [500, 900], "orders_per_buyer": [1.67, 1.29],
    ...     "discount_share": [0.62, 0.01], "discount_share_ci_low": [0.58, 0.005],
    ...     "discount_share_ci_high": [0.66, 0.02], "promo_share": [0.16, 0.05],
    ...     "promo_share_ci_low": [0.13, 0.04], "promo_share_ci_high": [0.2, 0.07],
    ...     "revenue_per_order": [80.0, 100.0], "revenue_per_order_ci_low": [74.0, 95.0],
    ...     "revenue_per_order_ci_high": [86.0, 105.0]})
    >>> s.attrs["revenue_p_value"] = 0.0001
    >>> print(comparison(s, "EUR"))
    62 % of the segment's orders used a discount (95 % CI 58–66 %), 1 % of the other buyers' (95 % CI 0.5–2 %); 16 % of the segment's orders fell on promotion days against 5 %. Those differences are what the model read the segment from, so they describe it rather than confirm it. Revenue per order, which the model did not use, is lower in the segment: 80.00 EUR against 100.00 EUR (p < 0.001).
    <BLANKLINE>
    **Takeaway:** aim coupons and sale reminders at the 300 price-sensitive buyers and keep the 700 others on full price: they took a discount on 1 % of their orders, so a blanket coupon would mostly lower the price of orders placed without one. The segment's orders are smaller, so a coupon aimed there must pay for itself on smaller baskets. Whether a coupon adds orders, rather than discounting orders that would have come anyway, takes a holdout test (notebook 06).
    """
    rows = summary.set_index("segment")
    if "price-sensitive" not in rows.index or "other" not in rows.index:
        return Text("")
    s, o = rows.loc["price-sensitive"], rows.loc["other"]
    if s["buyers"] == 0 or o["buyers"] == 0:
        empty = "price-sensitive segment" if s["buyers"] == 0 else "rest of the buyers"
        return Text(f"The {empty} is empty, so there is nothing to compare.")

    def share(row):
        return _ci(row["discount_share"], row["discount_share_ci_low"],
                   row["discount_share_ci_high"]).split(", ", 1)[1]

    text = (f"{pct(s['discount_share'], 0)} of the segment's orders used a discount "
            f"({share(s)}), {pct(o['discount_share'], 0)} of the other buyers' ({share(o)}); "
            f"{pct(s['promo_share'], 0)} of the segment's orders fell on promotion days against "
            f"{pct(o['promo_share'], 0)}. Those differences are what the model read the segment "
            "from, so they describe it rather than confirm it.")
    rev = ""
    p = summary.attrs.get("revenue_p_value", np.nan)
    if "revenue_per_order" in rows.columns and not missing(s["revenue_per_order"]):
        a, b = s["revenue_per_order"], o["revenue_per_order"]
        if not missing(p) and p < 0.05:
            word = "lower" if a < b else "higher"
            text += (f" Revenue per order, which the model did not use, is {word} in the "
                     f"segment: {_amounts(a, b, currency)} "
                     f"({p_value(p)}).")
            rev = ("The segment's orders are smaller, so a coupon aimed there must pay for "
                   "itself on smaller baskets." if a < b else
                   "The segment's orders are larger, so these are not low-value customers: a "
                   "well-aimed coupon keeps valuable orders.")
        else:
            text += (f" Revenue per order, which the model did not use, is about the same: "
                     f"{_amounts(a, b, currency)} ({p_value(p)}).")
    if o["discount_share"] <= s["discount_share"] / 3:
        took = ("took no discount at all" if o["discount_share"] == 0 else
                f"took a discount on {pct(o['discount_share'], 0)} of their orders")
        end = (f"aim coupons and sale reminders at the {count(s['buyers'])} price-sensitive "
               f"buyers and keep the {count(o['buyers'])} others on full price: they {took}, "
               "so a blanket coupon would mostly lower the price of orders placed without one.")
    else:
        end = (f"the segment leans on discounts more, but the other buyers take them too "
               f"({pct(o['discount_share'], 0)} of their orders), so aiming coupons only at the "
               "segment would save less margin than the segment's size suggests.")
    end += (f" {rev}" if rev else "") + (" Whether a coupon adds orders, rather than discounting "
                                         "orders that would have come anyway, takes a holdout "
                                         "test (notebook 06).")
    return paragraphs(text, takeaway(end))


def key_check(agree: pd.DataFrame) -> Text:
    """Answer key: the segment against the simulator's list of price-sensitive buyers.

    ``agree`` is :func:`pricing.agreement` of the table and the key's ``buyers``.

    Examples
    --------
    >>> a = pd.DataFrame({"buyers": [2500, 1800, 400, 300], "known": [760, 540, 130, 90],
    ...     "segment": [880, 600, 160, 120], "both": [480, 330, 85, 65]},
    ...     index=pd.Index(["all", "1 order", "2 orders", "3+ orders"], name="group"))
    >>> a["precision"], a["recall"] = a["both"] / a["segment"], a["both"] / a["known"]
    >>> a["base_rate"] = a["known"] / a["buyers"]
    >>> print(key_check(a).split("\\n\\n", 1)[1])
    760 of the 2,500 buyers (30.4 %) are price-sensitive in the simulation. 54.5 % of the segment is (precision, 1.8× the 30.4 % of a random pick of the same size), and the segment finds 63.2 % of them (recall). By number of orders, precision and recall are 55 % and 61.1 % for one order; 53.1 % and 65.4 % for two; 54.2 % and 72.2 % for three or more.
    <BLANKLINE>
    The segment finds most price-sensitive buyers and is far richer in them than chance, but about half of it is not price-sensitive: one discounted order is weak evidence, and buyers who take a discount once without being price-sensitive are many.
    """
    expl = ("The simulator makes a known share of users price-sensitive: they use an offered "
            "coupon more often and time their purchases for sales. Precision is the share of the "
            "segment that is price-sensitive, recall the share of the price-sensitive buyers "
            "that the segment finds; a random pick of buyers would have a precision equal to "
            "their base rate.")
    a = agree.loc["all"]
    if a["known"] == 0:
        return answer_key(expl, "None of these buyers is price-sensitive in the simulation, so "
                                "precision and recall cannot be computed.")
    base = float(a["base_rate"])
    prec, rec = a["precision"], a["recall"]
    found = (f"{count(a['known'])} of the {count(a['buyers'])} buyers ({pct(base)}) are "
             "price-sensitive in the simulation. ")
    if a["segment"] == 0:
        return answer_key(expl, found + "The segment is empty, so it finds none of them.")
    found += (f"{pct(prec)} of the segment is (precision, {times(prec / base)} the {pct(base)} of "
              f"a random pick of the same size), and the segment finds {pct(rec)} of them "
              "(recall).")
    parts = []
    for g, word in (("1 order", "one order"), ("2 orders", "two"), ("3+ orders", "three or more")):
        if g in agree.index and agree.loc[g, "buyers"] > 0:
            r = agree.loc[g]
            parts.append(f"{pct(r['precision'])} and {pct(r['recall'])} for {word}")
    if parts:
        found += f" By number of orders, precision and recall are {'; '.join(parts)}."
    if prec >= 1.5 * base and rec >= 0.5:
        if prec < 0.7:
            verdict = ("The segment finds most price-sensitive buyers and is far richer in them "
                       "than chance, but about half of it is not price-sensitive: one "
                       "discounted order is weak evidence, and buyers who take a discount once "
                       "without being price-sensitive are many.")
            if prec >= 0.6:
                verdict = verdict.replace("about half of it", "a good part of it")
        else:
            verdict = ("The segment finds most price-sensitive buyers, and most of its members "
                       "are price-sensitive.")
    elif prec >= 1.5 * base:
        verdict = ("The segment is far richer in price-sensitive buyers than chance but finds "
                   "fewer than half of them: many reveal the trait too rarely to be told apart.")
    else:
        verdict = ("The segment is not much richer in price-sensitive buyers than a random pick: "
                   "on these data the model does not recover the planted trait.")
    return answer_key(expl, found, verdict)
