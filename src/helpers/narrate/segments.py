"""Sentences of notebook 04 (segmentation), generated from the tables of ``helpers.segments``.

Who the buyers are (how many ordered once, how skewed spend is), what the RFM map shows (which
segments are crowded, which carry the revenue), what the clusters separate, where the users are
in their lifecycle, who leans on coupons, and the closing decisions: every claim is picked from
the numbers of the store the notebook ran on, with a plain word when they are too few.

Examples
--------
>>> t = pd.DataFrame({"frequency": [1, 1, 1, 3], "monetary": [10.0, 20.0, 30.0, 300.0]})
>>> print(buyers(t))
Only 4 buyers: too few for the shares below to mean much.
<BLANKLINE>
75 % of the 4 buyers ordered exactly once. Spend is skewed: the mean buyer spent 90.00, 3.6× the median (25.00); a few big spenders carry much of the revenue.
<BLANKLINE>
**Takeaway:** the typical customer bought once; who comes back is the central question of this notebook and of the next one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.narrate import (
    Text,
    answer_key,
    bullets,
    count,
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

FEW = 30
"""Below this many buyers a share is mostly noise: the narrators say so."""

TOP = ("Champions", "Loyal")
LAPSING = ("At risk", "Can't lose them")
BOTTOM = ("Hibernating", "Lost")
YOUNG = ("New", "Promising")


def _few(n: int, what: str = "buyers") -> str | None:
    if n < FEW:
        return f"Only {plural(n, what[:-1], what)}: too few for the shares below to mean much."
    return None


def _names(names) -> str:
    return join([f"*{n}*" for n in names])


def _rows(seg: pd.DataFrame, names) -> pd.DataFrame:
    """The rows of the named segments that have anybody in them."""
    return seg.loc[seg["segment"].astype(str).isin(names) & (seg["users"] > 0)]


def buyers(rfm: pd.DataFrame, currency: str | None = None) -> Text:
    """How many buyers ordered once, and how skewed their spend is (from :func:`segments.rfm`).

    Parameters
    ----------
    rfm : DataFrame
        One row per buyer with ``frequency`` and ``monetary`` (missing when orders carry no
        revenue).
    currency : str, optional
        The store's currency code.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [2, 3] * 20, "monetary": [np.nan] * 40})
    >>> print(buyers(t))
    0 % of the 40 buyers ordered exactly once; 100 % came back at least once. The orders carry no revenue, so spend cannot be described.
    <BLANKLINE>
    **Takeaway:** most buyers have already ordered again; the question is how often, and who stops.
    """
    n = len(rfm)
    if n == 0:
        return Text("No buyer has a counted order up to the as-of time, so there is nobody to "
                    "segment.")
    one = float((rfm["frequency"] == 1).mean())
    if n == 1:
        f = int(rfm["frequency"].iloc[0])
        spent = ("" if rfm["monetary"].isna().all() else
                 f", spending {money(rfm['monetary'].iloc[0], currency)}")
        return paragraphs(f"There is a single buyer, with {plural(f, 'order')}{spent}: shares, "
                          "scores and segments need many buyers to compare, so read what follows "
                          "as a description of this one customer.")
    if one > 0.5:
        head = f"{pct(one)} of the {count(n)} buyers ordered exactly once."
        end = ("the typical customer bought once; who comes back is the central question of "
               "this notebook and of the next one.")
    else:
        head = (f"{pct(one)} of the {count(n)} buyers ordered exactly once; "
                f"{pct(1 - one)} came back at least once.")
        end = "most buyers have already ordered again; the question is how often, and who stops."
    spend = rfm["monetary"]
    if spend.isna().all():
        skew = "The orders carry no revenue, so spend cannot be described."
    else:
        mean, median = float(spend.mean()), float(spend.median())
        ratio = mean / median if median > 0 else np.nan
        if np.isfinite(ratio) and ratio >= 1.5:
            skew = (f"Spend is skewed: the mean buyer spent {money(mean, currency)}, "
                    f"{times(ratio)} the median ({money(median, currency)}); a few big spenders "
                    "carry much of the revenue.")
        else:
            skew = (f"Spend is fairly even: the mean buyer spent {money(mean, currency)}, the "
                    f"median {money(median, currency)}.")
    return paragraphs(_few(n), f"{head} {skew}", takeaway(end))


def scores(rfm: pd.DataFrame) -> Text:
    """Which score levels stay empty, and why (ties share a score).

    Examples
    --------
    >>> t = pd.DataFrame({"r": [1, 2, 3, 4, 5], "f": [1, 1, 1, 5, 5], "m": [1, 2, 3, 4, 5],
    ...                   "frequency": [1, 1, 1, 2, 3]})
    >>> print(scores(t))
    60 % of the buyers have a single order, so they all share F = 1 and F = 2, 3 and 4 stay empty: F here reads "one order" versus "more". R and M use all five levels.
    """
    n = len(rfm)
    if n == 0:
        return Text("")
    if n == 1:
        return Text("With a single buyer there is nobody to rank against: every score is set to "
                    "the middle (3), so the segment name says nothing about this buyer.")
    parts, full = [], []
    for s, name in (("r", "R"), ("f", "F"), ("m", "M")):
        if s not in rfm or rfm[s].isna().all():
            continue
        used = set(rfm[s].dropna().astype(int))
        empty = [str(v) for v in range(1, 6) if v not in used]
        if not empty:
            full.append(name)
            continue
        if len(used) == 1:
            parts.append(f"every buyer has the same {name} value, so all share {name} = "
                         f"{next(iter(used))}: {name} separates nobody here.")
        elif name == "F":
            one = float((rfm["frequency"] == 1).mean())
            parts.append(f"{pct(one)} of the buyers have a single order, so they all share F = 1 "
                         f"and F = {join(empty)} stay{'s' if len(empty) == 1 else ''} empty: F "
                         'here reads "one order" versus "more".')
        else:
            parts.append(f"ties leave {name} = {join(empty)} empty.")
    text = " ".join(p[0].upper() + p[1:] for p in parts)
    if full:
        text += f" {join(full)} use{'s' if len(full) == 1 else ''} all five levels."
    if "m" in rfm and rfm["m"].isna().all():
        text += " Without revenue there is no M score, so FM is F alone."
    return Text(text.strip())


def segment_map(seg: pd.DataFrame, *, recency_span_days: float | None = None,
                currency: str | None = None) -> Text:
    """Which RFM segments are crowded and which carry the revenue (:func:`segments.segment_summary`).

    Parameters
    ----------
    seg : DataFrame
        ``segment``, ``users``, ``share``, ``share_ci_low``, ``share_ci_high`` and, when the
        orders carry revenue, ``revenue`` and ``revenue_share``.
    recency_span_days : float, optional
        Days from the earliest to the latest last order; under 60 the R score separates buyers
        by a few days only, and the narrator says what that means for names like *Lost*.
    currency : str, optional
        The store's currency code.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["Champions", "Loyal", "At risk", "Lost"],
    ...     "users": [10, 10, 20, 60], "share": [.1, .1, .2, .6], "share_ci_low": [.05, .05, .13, .5],
    ...     "share_ci_high": [.17, .17, .29, .69], "revenue": [400, 200, 300, 100],
    ...     "revenue_share": [.4, .2, .3, .1]})
    >>> print(segment_map(seg))
    The most crowded segment is *Lost* (60 % of buyers). *Champions* and *Loyal* are 20 % of the buyers but 60 % of the revenue (3.0× their head count). *At risk* hold 30 % of the revenue with repeat orders but old recency: that is where a lapse costs the most. Per buyer, *Champions* are worth the most (40 per buyer against 10 on average).
    <BLANKLINE>
    **Takeaway:** revenue is concentrated in a few segments: protect the top and the "at risk" cells before spending on the crowded bottom of the map.
    """
    seg = seg.loc[seg["users"] > 0]
    n = int(seg["users"].sum())
    if n == 0:
        return Text("No buyer to map.")
    out = []
    if n < FEW:
        out.append(f"With {plural(n, 'buyer')}, the segments hold a handful of people each: "
                   "read the map as a list of customers, not as shares.")
    if n == 1:
        only = seg.iloc[0]
        return Text(f"The single buyer sits in *{only['segment']}*; with nobody to rank against, "
                    "the name carries no information about this customer.")
    if recency_span_days is not None and recency_span_days < 60:
        span = ("less than a day" if recency_span_days < 1 else
                plural(recency_span_days, "day"))
        out.append(f"The buyers' last orders span only {span}, so R separates them by days at "
                   'most: *Lost* or *Hibernating* here would mean "least recent in this short '
                   'window", not gone.')
    big = seg.sort_values(["users", "segment"], ascending=[False, True], kind="stable")
    first = big.iloc[0]
    tied = big.loc[big["share_ci_high"] >= first["share_ci_low"]].iloc[1:3]
    if len(big) > 1 and len(tied) and n >= FEW:
        sizes = [f"*{s}* {pct(v)}" for s, v in zip(big["segment"].iloc[:len(tied) + 1],
                                                      big["share"].iloc[:len(tied) + 1])]
        lead = (f"The most crowded segments are about equally large ({join(sizes)} of buyers; "
                "their intervals overlap).")
    else:
        lead = f"The most crowded segment is *{first['segment']}* ({pct(first['share'])} of buyers)."
    out.append(lead)
    if "revenue_share" not in seg.columns or seg["revenue_share"].isna().all():
        out.append("The orders carry no revenue, so which segment is most valuable cannot be "
                   "said; sizes are all this map shows.")
        return paragraphs(*out)
    top = _rows(seg, TOP)
    conc = np.nan
    if len(top) and top["users"].sum() > 0:
        u, r = top["users"].sum() / n, float(top["revenue_share"].sum())
        conc = r / u
        if conc >= 1.2:
            out.append(f"{_names(top['segment'])} are {pct(u)} of the buyers but {pct(r)} of the "
                       f"revenue ({times(conc)} their head count).")
        else:
            out.append(f"{_names(top['segment'])} are {pct(u)} of the buyers and {pct(r)} of the "
                       "revenue: the top of the map is not much richer than its size.")
    lapsing = _rows(seg, LAPSING)
    if len(lapsing):
        out[-1] += (f" {_names(lapsing['segment'])} hold {pct(lapsing['revenue_share'].sum())} of "
                    "the revenue with repeat orders but old recency: that is where a lapse costs "
                    "the most.")
    per = seg.assign(per=seg["revenue"] / seg["users"])
    best = per.sort_values(["per", "segment"], ascending=[False, True], kind="stable").iloc[0]
    avg = float(seg["revenue"].sum()) / n
    out[-1] += (f" Per buyer, *{best['segment']}* are worth the most "
                f"({money(best['per'], currency, 0)} per buyer against "
                f"{money(avg, currency, 0)} on average).")
    if n < FEW:
        end = "too few buyers for a segment-level conclusion; look at the customers one by one."
    elif np.isfinite(conc) and conc >= 1.2:
        end = ('revenue is concentrated in a few segments: protect the top and the "at risk" '
               "cells before spending on the crowded bottom of the map.")
    else:
        end = ("revenue is spread roughly in line with head count: no segment stands out enough "
               "to concentrate the budget on it.")
    out.append(takeaway(end))
    return paragraphs(*out)


def choice_of_k(ck: pd.DataFrame) -> Text:
    """The chosen number of clusters and how well separated they are (:func:`segments.choose_k`).

    Rousseeuw's reading of the mean silhouette: above 0.5 a reasonable structure, 0.25–0.5 a
    weak one that may be artificial, below 0.25 no substantial structure.

    Examples
    --------
    >>> ck = pd.DataFrame({"k": [3, 4], "silhouette": [0.21, 0.31], "best": [False, True]})
    >>> print(choice_of_k(ck))
    k = 4 has the highest silhouette (0.31, against 0.21 at k = 3): a weak structure (0.25–0.5): the groups are real tendencies, not sharply separated types.
    >>> print(choice_of_k(pd.DataFrame(columns=["k", "silhouette", "best"])))
    No clustering: there are too few distinct buyers to form clusters.
    """
    if len(ck) == 0:
        why = ck.attrs.get("why") or "there are too few distinct buyers to form clusters"
        return Text(f"No clustering: {why}.")
    best = ck.loc[ck["best"]].iloc[0]
    s = float(best["silhouette"])
    others = ck.loc[~ck["best"]]
    if len(others):
        nxt = others.sort_values("silhouette", ascending=False).iloc[0]
        gap = (f", against {number(nxt['silhouette'])} at k = {int(nxt['k'])}"
               if s - float(nxt["silhouette"]) >= 0.01 else
               f", barely above the {number(nxt['silhouette'])} of k = {int(nxt['k'])}")
    else:
        gap = ""
    if s > 0.5:
        read = "a reasonable structure (above 0.5): the groups are well apart."
    elif s >= 0.25:
        read = ("a weak structure (0.25–0.5): the groups are real tendencies, not sharply "
                "separated types.")
    else:
        read = ("no substantial structure (below 0.25): the buyers form a continuum, and the "
                "clusters are a convenient cut of it rather than natural groups.")
    return Text(f"k = {int(best['k'])} has the highest silhouette ({number(s)}{gap}): {read}")


def clusters(cl: pd.DataFrame, features: pd.DataFrame | None = None) -> Text:
    """What each cluster is like, from its ``profile`` (:func:`segments.clusters`).

    When ``features`` has a ``mobile_share`` that is 0 or 1 for most buyers and two clusters
    have the same profile apart from it, the narrator points out the device-only split.

    Examples
    --------
    >>> cl = pd.DataFrame({"users": [60, 40], "share": [.6, .4],
    ...     "profile": ["low aov, high mobile_share", "low aov, low mobile_share"]})
    >>> f = pd.DataFrame({"mobile_share": [0.0, 1.0] * 50})
    >>> print(clusters(cl, f))
    - cluster 0 (60 % of buyers): low aov, high mobile_share
    - cluster 1 (40 % of buyers): low aov, low mobile_share
    <BLANKLINE>
    100 % of the buyers used a single device (mobile_share is 0 or 1), and some clusters differ only in it (clusters 0 and 1): k-means weighs every standardised feature the same, and whether the device deserves that weight is a business choice.
    <BLANKLINE>
    **Takeaway:** the clusters separate buyers on aov and mobile_share; set beside the RFM map they show habits RFM cannot see, while RFM stays the simpler tool for timing contacts.
    """
    if cl is None or len(cl) == 0:
        return Text("")
    lines = [f"cluster {c} ({pct(r['share'])} of buyers): {r['profile']}" for c, r in cl.iterrows()]
    out = [bullets(lines)]
    if features is not None and "mobile_share" in features:
        single = float(features["mobile_share"].isin([0.0, 1.0]).mean())
        strip = cl["profile"].str.replace(r",? ?(high|low) mobile_share", "", regex=True)
        strip = strip.str.strip(", ").replace("", "average")
        twins = [g.index.tolist() for _, g in cl.groupby(strip) if len(g) > 1
                 and cl.loc[g.index, "profile"].nunique() > 1]
        if single >= 0.8 and twins:
            groups = "; ".join(join([str(c) for c in t]) for t in twins)
            out.append(f"{pct(single)} of the buyers used a single device (mobile_share is 0 or "
                       f"1), and some clusters differ only in it (clusters {groups}): k-means "
                       "weighs every "
                       "standardised feature the same, and whether the device deserves that "
                       "weight is a business choice.")
    words = cl["profile"].str.findall(r"(?:high|low) (\w+)").explode().dropna()
    habits = list(dict.fromkeys(words))
    if habits:
        out.append(takeaway(f"the clusters separate buyers on {join(habits)}; set beside the RFM "
                            "map they show habits RFM cannot see, while RFM stays the simpler "
                            "tool for timing contacts."))
    else:
        out.append(takeaway("no cluster departs from the average by half a standard deviation "
                            "on any feature: the clusters add little to the RFM map here."))
    return paragraphs(*out)


def lifecycle(stages: pd.DataFrame) -> Text:
    """Prospects versus buyers, and whether buyers are mostly active or mostly lapsed.

    Parameters
    ----------
    stages : DataFrame
        :func:`segments.segment_summary` of :func:`segments.lifecycle` by ``stage``: ``stage``
        and ``users``.

    Examples
    --------
    >>> st = pd.DataFrame({"stage": ["prospect", "new", "active", "dormant", "churned"],
    ...                    "users": [900, 10, 30, 25, 35]})
    >>> print(lifecycle(st))
    Prospects (users who never bought) are 90 % of the 1,000 users, by far the largest group. Among the 100 buyers, 60 % are dormant or churned against 40 % new or active: the shop wins first orders more easily than it keeps customers.
    <BLANKLINE>
    **Takeaway:** the lifecycle says *when* to talk to someone; a dormant buyer is still reachable, a churned one much less so.
    """
    u = stages.set_index(stages["stage"].astype(str))["users"]
    total = int(u.sum())
    buyers = int(total - u.get("prospect", 0))
    if buyers == 0:
        return Text("No user has a counted order, so every user is a prospect.")
    out = []
    if "prospect" in u and u["prospect"] > 0:
        share = u["prospect"] / total
        word = ("by far the largest group" if share > 0.5 else "a minority")
        out.append(f"Prospects (users who never bought) are {pct(share)} of the {count(total)} "
                   f"users{', ' + word if share > 0.5 else ''}.")
    young = (u.get("new", 0) + u.get("active", 0)) / buyers
    old = (u.get("dormant", 0) + u.get("churned", 0)) / buyers
    if u.get("new", 0) / buyers >= 0.9:
        text = (f"Among the {count(buyers)} buyers, {pct(u.get('new', 0) / buyers)} are new: the "
                "data are too recent for anyone to have lapsed, so the later stages are empty.")
    elif old > young:
        text = (f"Among the {count(buyers)} buyers, {pct(old)} are dormant or churned against "
                f"{pct(young)} new or active: the shop wins first orders more easily than it "
                "keeps customers.")
    else:
        text = (f"Among the {count(buyers)} buyers, {pct(young)} are new or active against "
                f"{pct(old)} dormant or churned: most buyers are still in touch with the shop.")
    if buyers < FEW:
        sizes = [plural(u.get(st, 0), f"{st} buyer") for st in ("new", "active", "dormant",
                                                                "churned") if u.get(st, 0)]
        text = f"Only {plural(buyers, 'buyer')}, too few for shares: {join(sizes)}."
    out = [" ".join(out + [text])]
    out.append(takeaway("the lifecycle says *when* to talk to someone; a dormant buyer is still "
                        "reachable, a churned one much less so."))
    return paragraphs(*out)


def _coupon_counts(who: pd.DataFrame) -> pd.DataFrame:
    orders = (who["users"] * who["orders_per_user"]).round()
    return pd.DataFrame({"orders": orders, "k": (who["coupon_use"] * orders).round()})


def coupons(who: pd.DataFrame) -> Text:
    """Do one-order segments lean on coupons more than repeat segments? (:func:`segments.personas`).

    One-order segments average at most 1.05 orders per buyer, repeat segments at least 2; their
    pooled coupon shares are compared with a two-proportion z-test.

    Examples
    --------
    >>> who = pd.DataFrame({"users": [100, 100, 50], "orders_per_user": [1.0, 1.0, 4.0],
    ...     "coupon_use": [0.4, 0.35, 0.1]}, index=["New", "Lost", "Champions"])
    >>> print(coupons(who))
    One-order segments (*New* and *Lost*) used a coupon on 37.5 % of their orders, repeat segments (*Champions*) on 10 % (p < 0.001): many first orders came with a discount.
    <BLANKLINE>
    **Takeaway:** discounts open the door but are not what keeps the best customers: reward the top without discounts and nurture first-time buyers toward a second order.
    """
    from statsmodels.stats.proportion import proportions_ztest

    if "coupon_use" not in who:
        return Text("The orders carry no coupon codes, so coupon use cannot be compared.")
    c = _coupon_counts(who)
    one = who.index[who["orders_per_user"] <= 1.05]
    rep = who.index[who["orders_per_user"] >= 2]
    if len(one) == 0 or len(rep) == 0:
        return Text("There are not both one-order and repeat segments to compare coupon use "
                    "between.")
    k = np.array([c.loc[one, "k"].sum(), c.loc[rep, "k"].sum()])
    n = np.array([c.loc[one, "orders"].sum(), c.loc[rep, "orders"].sum()])
    if (k == 0).all() or (k == n).all():
        p = np.nan
    else:
        p = float(proportions_ztest(k, n)[1])
    a, b = k / n
    head = (f"One-order segments ({_names(one)}) used a coupon on {pct(a)} of their orders, "
            f"repeat segments ({_names(rep)}) on {pct(b)} ({p_value(p)})")
    if not (p < 0.05):
        return paragraphs(head + ": not different beyond chance.",
                          takeaway("coupon use does not separate first-time from repeat buyers "
                                   "here; target on recency and value, not on discounts."))
    if a > b:
        return paragraphs(head + ": many first orders came with a discount.",
                          takeaway("discounts open the door but are not what keeps the best "
                                   "customers: reward the top without discounts and nurture "
                                   "first-time buyers toward a second order."))
    return paragraphs(head + ": the best customers use coupons more than one-time buyers.",
                      takeaway("coupons go with repeat buying here; check whether they cause it "
                               "(notebook 07) before cutting them."))


def decisions(seg: pd.DataFrame | None, stages: pd.DataFrame | None, *, active_days: int,
              churn_days: int) -> Text:
    """The closing "Decisions" list, each bullet only when the numbers support it.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment": ["Champions", "Loyal", "New", "Promising", "At risk",
    ...     "Can't lose them", "Hibernating", "Lost"], "users": [10, 10, 15, 15, 10, 5, 20, 15],
    ...     "share": [.1, .1, .15, .15, .1, .05, .2, .15],
    ...     "revenue_share": [.3, .2, .05, .05, .15, .1, .1, .05]})
    >>> print(decisions(seg, None, active_days=120, churn_days=270))
    ## Decisions
    <BLANKLINE>
    - **Protect the top.** *Champions* and *Loyal* carry 50 % of the revenue with 20 % of the buyers: keep them with service and early access, not discounts.
    - **Work on the second order.** *New* and *Promising* (30 % of buyers, one recent order) are the cheapest growth: a timely, personalised follow-up within the first month.
    - **Win back selectively.** *At risk* and *Can't lose them* have repeat history and 25 % of the revenue: they earn a personal offer. *Hibernating* and *Lost* are 35 % of buyers but 15 % of the revenue: low-cost reminders only.
    """
    lines = []
    if seg is not None and len(seg):
        has_rev = "revenue_share" in seg and not seg["revenue_share"].isna().all()
        top, young = _rows(seg, TOP), _rows(seg, YOUNG)
        lapsing, bottom = _rows(seg, LAPSING), _rows(seg, BOTTOM)
        if has_rev and len(top) and top["revenue_share"].sum() > 1.2 * top["share"].sum():
            lines.append(f"**Protect the top.** {_names(top['segment'])} carry "
                         f"{pct(top['revenue_share'].sum())} of the revenue with "
                         f"{pct(top['share'].sum())} of the buyers: keep them with service and "
                         "early access, not discounts.")
        if len(young) and young["users"].sum() > 0:
            lines.append(f"**Work on the second order.** {_names(young['segment'])} "
                         f"({pct(young['share'].sum())} of buyers, one recent order) are the "
                         "cheapest growth: a timely, personalised follow-up within the first "
                         "month.")
        if has_rev and len(lapsing) and lapsing["users"].sum() > 0:
            text = (f"**Win back selectively.** {_names(lapsing['segment'])} have repeat history "
                    f"and {pct(lapsing['revenue_share'].sum())} of the revenue: they earn a "
                    "personal offer.")
            if len(bottom) and bottom["revenue_share"].sum() < bottom["share"].sum():
                text += (f" {_names(bottom['segment'])} are {pct(bottom['share'].sum())} of "
                         f"buyers but {pct(bottom['revenue_share'].sum())} of the revenue: "
                         "low-cost reminders only.")
            lines.append(text)
    if stages is not None and len(stages):
        u = stages.set_index(stages["stage"].astype(str))["users"]
        if u.get("dormant", 0) + u.get("churned", 0) > 0:
            lines.append(f"**Use lifecycle stages as triggers.** Crossing from active to dormant "
                         f"({active_days} days without an order, {plural(u.get('dormant', 0), 'buyer')}"
                         f" now) is the moment for a win-back message; after {churn_days} days "
                         "(churned) most of the chance is gone.")
    if not lines:
        lines.append("The data are too thin for segment-level decisions: gather more orders "
                     "(a longer period, more buyers) and re-run.")
    return bullets(lines, title="Decisions")


def winback_check(check: pd.DataFrame, same_users: bool) -> Text:
    """Answer key: do the lifecycle stages on the send day reproduce the win-back target list?

    Examples
    --------
    >>> c = pd.DataFrame({"from lifecycle": [3, 2], "answer key": [3, 2]}, index=["a", "b"])
    >>> print(winback_check(c, True))
    **Check against the answer key.** The win-back campaign targeted every buyer whose last purchase, of any status, was at least 120 days before the send, split into one-time / repeat × lapsed 120–269 / 270+ days. With the default thresholds the dormant and churned stages on the send day (counting every order status) should reproduce that list.
    <BLANKLINE>
    The list is reproduced exactly (same users, same 2 cells): dormant and churned mean what the shop's own campaign meant by "lapsed".
    """
    expl = ("The win-back campaign targeted every buyer whose last purchase, of any status, was "
            "at least 120 days before the send, split into one-time / repeat × lapsed 120–269 / "
            "270+ days. With the default thresholds the dormant and churned stages on the send "
            "day (counting every order status) should reproduce that list.")
    diff = (check["from lifecycle"].fillna(0) - check["answer key"].fillna(0)).abs()
    if same_users and (diff == 0).all():
        found = (f"The list is reproduced exactly (same users, same {len(check)} cells): dormant "
                 "and churned mean what the shop's own campaign meant by \"lapsed\".")
    else:
        found = (f"The list is not reproduced: {count(diff.sum())} users differ across the cells"
                 f"{'' if same_users else ' and the user sets are not the same'}; check the "
                 "thresholds and the order statuses counted.")
    return answer_key(expl, found)


def one_order_check(expected: float, observed: float) -> Text:
    """Answer key: the share of one-order buyers predicted by the planted BG/NBD versus observed.

    Examples
    --------
    >>> print(one_order_check(0.723, 0.718))
    **Check against the answer key.** Repeat purchases follow BG/NBD with the key's r and α, so the chance that a buyer has made no repeat purchase t weeks after the first is (α / (α + t))^r (Fader, Hardie and Lee 2005); averaged over the buyers' own t it predicts the share of one-order buyers.
    <BLANKLINE>
    Expected 72.3 %, observed 71.8 % (−0.5 pp): the pure model explains the many one-order buyers on its own, which is why the bottom of the RFM map is crowded.
    """
    expl = ("Repeat purchases follow BG/NBD with the key's r and α, so the chance that a buyer "
            "has made no repeat purchase t weeks after the first is (α / (α + t))^r (Fader, "
            "Hardie and Lee 2005); averaged over the buyers' own t it predicts the share of "
            "one-order buyers.")
    gap = observed - expected
    if abs(gap) <= 0.02:
        found = (f"Expected {pct(expected)}, observed {pct(observed)} ({pp(gap)}): the pure model "
                 "explains the many one-order buyers on its own, which is why the bottom of the "
                 "RFM map is crowded.")
    else:
        found = (f"Expected {pct(expected)}, observed {pct(observed)} ({pp(gap)}): further apart "
                 "than the model alone explains; something else (ratings, campaigns) moves "
                 "repeat buying.")
    return answer_key(expl, found)
