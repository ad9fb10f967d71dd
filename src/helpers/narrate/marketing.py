"""Sentences of notebook 07 (precision marketing), generated from the tables of ``helpers.marketing``.

Which recommender beats the bestseller list, what the lifecycle playbook reaches, whom a
campaign's coupon moves, whether the holdout is large enough to rank targeting policies, and how
a busy week changes the trigger audiences: each is worded here from the numbers of the store the
notebook ran on.

Examples
--------
>>> split(pd.Timestamp("2025-07-02", tz="UTC"), 3635, 2268, 1143, 371)
The models learn from 3,635 purchase lines before 2025-07-02 and are scored on 1,143 buyers after it (2,268 lines); 371 of them (32.5 %) bought or viewed something before the cut-off.
"""

from __future__ import annotations

import pandas as pd

from helpers.narrate import (
    Text,
    answer_key,
    bullets,
    count,
    join,
    money,
    paragraphs,
    pct,
    plural,
    pp,
    takeaway,
)
from helpers.narrate import (
    missing as _nan,
)

BASELINE = "popularity"


def _pp_ci(lo, hi) -> str:
    return f"{pp(lo).removesuffix(' pp')} to {pp(hi)}"


def _names(items) -> str:
    """Segment names in italics, joined; with "; " between them when a name holds a comma.

    >>> _names(["one-time, lapsed 270d+", "repeat, lapsed 270d+"])
    '*one-time, lapsed 270d+* and *repeat, lapsed 270d+*'
    >>> _names(["a, b", "c", "d"])
    '*a, b*; *c* and *d*'
    """
    items = [f"*{x}*" for x in items]
    if len(items) > 2 and any("," in x for x in items):
        return "; ".join(items[:-1]) + " and " + items[-1]
    return join(items)


def _real_peak(peak) -> bool:
    """A busiest day that stands out: at least 10 orders and twice the median day's."""
    return peak is not None and not _nan(peak.get("median_day")) and \
        peak.get("orders", 0) >= max(10, 2 * peak["median_day"])


def _when(t) -> str:
    """A cut-off as a date, or date and time when it is not midnight."""
    t = pd.Timestamp(t)
    return t.date().isoformat() if t == t.floor("D") else t.strftime("%Y-%m-%d %H:%M")


# ----------------------------------------------------------------------------- recommenders


def split(cutoff, train_lines: int, test_lines: int, test_users: int, with_history: int) -> Text:
    """The temporal split the recommenders are judged on.

    >>> split("2025-01-01 11:30", 0, 10, 4, 0)
    No purchase happened before 2025-01-01 11:30, so there is nothing to learn from: move the cut-off later.
    """
    when = _when(cutoff)
    if not train_lines:
        return Text(f"No purchase happened before {when}, so there is nothing to learn from: "
                    "move the cut-off later.")
    if not test_users:
        return Text(f"No purchase happened from {when} on, so there is nothing to score: move "
                    "the cut-off earlier.")
    return Text(f"The models learn from {plural(train_lines, 'purchase line')} before {when} and "
                f"are scored on {plural(test_users, 'buyer')} after it ({count(test_lines)} "
                f"lines); {count(with_history)} of them ({pct(with_history / test_users)}) "
                "bought or viewed something before the cut-off.")


def recommenders(scores: pd.DataFrame, *, test_users: int, with_history: int, k: int,
                 skipped=()) -> Text:
    """Which recommenders beat the bestseller list, by the paired bootstrap of ``marketing.compare``.

    ``scores`` is the ``compare`` table (rows per model × metric, ``diff_low``/``diff_high``
    the paired interval of the difference to popularity); ``skipped`` the reasons why models
    were left out (``marketing.fit_recommenders``).

    >>> s = pd.DataFrame({"model": ["popularity", "item-to-item (orders)", "item-to-item, category level"],
    ...                   "metric": "hit_rate", "value": [0.28, 0.26, 0.31],
    ...                   "diff": [0.0, -0.023, 0.028], "diff_low": [0.0, -0.039, 0.013],
    ...                   "diff_high": [0.0, -0.007, 0.044], "coverage": [0.03, 0.92, 0.35]})
    >>> print(recommenders(s, test_users=1143, with_history=371, k=10))
    Hit-rate@10 of the bestseller list: 28 % of the test buyers find something they then bought in it. Better than the bestsellers beyond chance: item-to-item, category level (+2.8 pp, paired 95 % interval +1.3 to +4.4 pp). Worse: item-to-item (orders) (−2.3 pp, −3.9 to −0.7 pp).
    <BLANKLINE>
    Only 371 of the 1,143 test buyers (32.5 %) had bought or viewed anything before the cut-off; every model shows the others the bestsellers, so all the differences come from that 32.5 %. Coverage tells the other half of the story: the bestseller list shows 3 % of the catalogue to everybody, item-to-item, category level 35 %.
    <BLANKLINE>
    **Takeaway:** item-to-item, category level beats the bestseller shelf, while a naive item-pair recommender from orders loses to it. Always test a recommender offline against popularity before an A/B test.
    """
    hr = scores.loc[scores["metric"] == "hit_rate"].set_index("model")
    if BASELINE not in hr.index or not test_users:
        return Text("No recommender could be scored: there are no test buyers.")
    base = hr.loc[BASELINE]
    others = hr.drop(index=BASELINE)
    better = others.loc[others["diff_low"] > 0].sort_values("diff", ascending=False)
    worse = others.loc[others["diff_high"] < 0].sort_values("diff")
    tied = others.loc[(others["diff_low"] <= 0) & (others["diff_high"] >= 0)]

    def desc(df, with_word=True):
        return join(f"{m} ({pp(r['diff'])}, {'paired 95 % interval ' if with_word and i == 0 else ''}"
                    f"{_pp_ci(r['diff_low'], r['diff_high'])})"
                    for i, (m, r) in enumerate(df.iterrows()))

    parts = [(f"Hit-rate@{k} of the bestseller list: {pct(base['value'])} of the test buyers "
              "find something they then bought in it.")]
    if len(better):
        parts.append(f"Better than the bestsellers beyond chance: {desc(better)}.")
    if len(worse):
        parts.append(f"Worse: {desc(worse, with_word=not len(better))}.")
    if len(tied):
        theirs = "its interval includes" if len(tied) == 1 else "their intervals include"
        parts.append(f"Not distinguishable from the bestsellers: {join(tied.index)} ({theirs} "
                     "zero).")
    if test_users < 30:
        parts.append(f"With only {plural(test_users, 'test buyer')} these rates say little "
                     "either way.")
    first = " ".join(parts)
    share = with_history / test_users
    if with_history == 0:
        second = ("None of the test buyers had bought or viewed anything before the cut-off, so "
                  "every model shows them the bestsellers: there is no history to personalise "
                  "from, and the models can only tie.")
    else:
        second = (f"Only {count(with_history)} of the {count(test_users)} test buyers "
                  f"({pct(share)}) had bought or viewed anything before the cut-off; every model "
                  f"shows the others the bestsellers, so all the differences come from that "
                  f"{pct(share)}.") if share < 0.5 else (
                  f"{count(with_history)} of the {count(test_users)} test buyers ({pct(share)}) "
                  "had bought or viewed something before the cut-off, so the models have history "
                  "to personalise from.")
    cov = hr["coverage"].dropna()
    if BASELINE in cov.index and len(cov) > 1:
        top = (better.index[0] if len(better) else
               cov.drop(index=BASELINE).sort_values(ascending=False).index[0])
        second += (f" Coverage tells the other half of the story: the bestseller list shows "
                   f"{pct(cov[BASELINE])} of the catalogue to everybody, {top} "
                   f"{pct(cov[top])}.")
    rules = [m for m in worse.index if "rules" in m]
    if rules:
        second += (" The category rules lose: a rule fires only for a complement of what a user "
                   "bought, while much of what people buy next is more of a category they "
                   "already like.")
    if len(better):
        best = better["value"].idxmax()
        tk = (f"{best} beats the bestseller shelf; a model must earn its place against "
              "popularity offline before it earns an A/B test.")
        naive = [m for m in worse.index if m == "item-to-item (orders)"]
        if naive:
            tk = (f"{best} beats the bestseller shelf, while a naive item-pair recommender "
                  "from orders loses to it. Always test a recommender offline against popularity "
                  "before an A/B test.")
    else:
        more = "more history (or a category for every item)" if any(
            "category" in x for x in skipped) else "more history"
        tk = ("no recommender beats the bestseller list beyond chance on this data: show "
              f"bestsellers, and collect {more} before trying again.")
    notes = [f"Left out: {join(skipped)}." if skipped else None]
    return paragraphs(first, second, *notes, takeaway(tk))


def pairs(top: pd.DataFrame, *, level: str = "category") -> Text:
    """The most similar pairs of an item-to-item model (``marketing.similarities``).

    >>> top = pd.DataFrame({"a": ["phone", "camera"], "b": ["phone case", "memory card"],
    ...                     "similarity": [0.43, 0.40]})
    >>> pairs(top)
    The most similar category pairs are phone and phone case (cosine 0.43) and camera and memory card (0.40): what people buy together, the raw material of "customers also bought".
    """
    if top.empty:
        return Text(f"No two {level}s were ever bought together, so the model has no pairs.")
    items = [f"{r.a} and {r.b} ({'cosine ' if i == 0 else ''}{r.similarity:.2f})"
             for i, r in enumerate(top.head(3).itertuples())]
    return Text(f"The most similar {level} pairs are {join(items)}: what people buy together, "
                "the raw material of \"customers also bought\".")


def pairs_answer_key(top: pd.DataFrame, not_pairs=()) -> Text:
    """The top pairs against the planted complements (a ``planted lift`` column, NaN = none).

    >>> top = pd.DataFrame({"a": ["phone", "books"], "b": ["phone case", "socks"],
    ...                     "planted lift": [5.2, None]})
    >>> print(pairs_answer_key(top))
    **Check against the answer key.** The simulator planted complements between categories, each with a known lift. The most similar pairs should be those.
    <BLANKLINE>
    1 of the top 2 pairs is planted (phone and phone case, lift 5.2); the others are not in the key.
    """
    hit = top.loc[top["planted lift"].notna()]
    found = join(f"{a} and {b}, lift {x:.1f}" for a, b, x in
                 zip(hit["a"], hit["b"], hit["planted lift"]))
    text = f"{count(len(hit))} of the top {count(len(top))} pairs "
    text += ("is planted" if len(hit) == 1 else "are planted") + (f" ({found})" if found else "")
    text += "; the others are not in the key." if len(hit) < len(top) else "."
    if not_pairs:
        shown = {frozenset(p) for p in zip(top["a"], top["b"])}
        wrong = [f"{a} and {b}" for a, b in not_pairs if frozenset((a, b)) in shown]
        text += (f" The key's non-pairs ({join(f'{a} and {b}' for a, b in not_pairs)}) are "
                 + ("not among them." if not wrong else f"partly among them ({join(wrong)})."))
    return answer_key("The simulator planted complements between categories, each with a known "
                      "lift. The most similar pairs should be those.", text)


# ----------------------------------------------------------------------------- lifecycle


def playbook(book: pd.DataFrame) -> Text:
    """Where the playbook's users are (``marketing.playbook``: ``stage``, ``users``).

    >>> b = pd.DataFrame({"stage": ["prospect", "new", "active", "dormant", "churned"],
    ...                   "users": [22577, 119, 708, 511, 900]})
    >>> playbook(b)
    **Takeaway:** most users are prospects (22,577, 91 %), so acquisition offers reach the most people; but the money per contact is in the buyers: grow the 708 active ones with complements, and spend coupons on the 511 dormant only where a randomised holdout shows they pay.
    """
    if book.empty:
        return Text("No user has a lifecycle stage yet.")
    st = book.groupby("stage", sort=False)["users"].sum()
    total = st.sum()
    top = st.idxmax()
    active, dormant = int(st.get("active", 0)), int(st.get("dormant", 0))
    if top == "prospect" and st[top] / total > 0.5:
        head = (f"most users are prospects ({count(st[top])}, {pct(st[top] / total)}), so "
                "acquisition offers reach the most people; but the money per contact is in the "
                "buyers")
    else:
        head = (f"the largest stage is {top} ({plural(st[top], 'user')}, {pct(st[top] / total)}); "
                "the money per contact is in the buyers")
    tail = []
    if active:
        tail.append(f"grow the {count(active)} active {'one' if active == 1 else 'ones'} with "
                    "complements")
    if dormant:
        tail.append(f"spend coupons on the {count(dormant)} dormant only where a randomised "
                    "holdout shows they pay")
    if not tail:
        return takeaway(head + ", and this store has no active or dormant buyers yet.")
    return takeaway(f"{head}: {', and '.join(tail)}.")


# ----------------------------------------------------------------------------- uplift


def uplift(u: pd.DataFrame, *, currency: str | None = None) -> Text:
    """The campaign's uplift by segment (``marketing.uplift_by_segment``), with its caveats.

    >>> u = pd.DataFrame({"segment": ["one-time", "repeat", "all"], "n_treated": [826, 218, 1044],
    ...                   "n_control": [209, 52, 261], "conv_treated": [0.03, 0.12, 0.05],
    ...                   "conv_control": [0.02, 0.02, 0.02], "uplift": [0.01, 0.1, 0.03],
    ...                   "ci_low": [-0.03, 0.02, 0.004], "ci_high": [0.03, 0.2, 0.05],
    ...                   "incr_profit": [4.0, 20.0, 8.2]})
    >>> print(uplift(u))
    Overall the message raised conversion from 2 % in the holdout to 5 % among the treated: an uplift of +3.0 pp (95 % CI +0.4 to +5.0 pp), beyond chance. The holdout is 20 % of the campaign (261 users, of whom about 5 bought), so the segment intervals are wide: that is the price of a small holdout.
    <BLANKLINE>
    The segment *repeat* (+10.0 pp, +2.0 to +20.0 pp) responds beyond chance; in *one-time* the uplift is small or uncertain (its interval includes zero). Where the uplift is small, most coupons go to orders that would have come anyway, and per-segment profit swings with a few large baskets: read it with the intervals in mind.
    """
    r = u.set_index("segment")
    if "all" not in r.index:
        return Text("The campaign has no users to compare.")
    a = r.loc["all"]
    n = a["n_treated"] + a["n_control"]
    sig = a["ci_low"] > 0 or a["ci_high"] < 0
    verdict = "beyond chance" if sig else "an interval that includes zero: no effect shown"
    first = (f"Overall the message raised conversion from {pct(a['conv_control'])} in the holdout "
             f"to {pct(a['conv_treated'])} among the treated: an uplift of {pp(a['uplift'])} "
             f"(95 % CI {_pp_ci(a['ci_low'], a['ci_high'])}), {verdict}.")
    if a["uplift"] < 0:
        first = first.replace("raised", "changed")
    k_c = round(a["conv_control"] * a["n_control"])
    first += (f" The holdout is {pct(a['n_control'] / n, 0)} of the campaign "
              f"({plural(a['n_control'], 'user')}, of whom "
              f"{'none' if k_c == 0 else 'about ' + count(k_c)} bought), so the "
              "segment intervals are wide: that is the price of a small holdout."
              if a["n_control"] < 1000 else
              f" The holdout holds {plural(a['n_control'], 'user')}.")
    gone = u.attrs.get("dropped_segments") or []
    if gone:
        first += (f" Left out of the breakdown (users in one arm only): {_names(gone)}.")
    seg = r.drop(index="all")
    if len(seg) <= 1:
        return Text(first)
    pos = seg.loc[seg["ci_low"] > 0].sort_values("uplift", ascending=False)
    neg = seg.loc[seg["ci_high"] < 0]
    rest = seg.drop(index=pos.index.union(neg.index))
    bits = []
    if len(pos):
        who = join(f"{_names([s])} ({pp(x.uplift)}, {_pp_ci(x.ci_low, x.ci_high)})"
                   for s, x in pos.iterrows())
        bits.append(f"the segment {who} responds beyond chance" if len(pos) == 1 else
                    f"the segments {who} respond beyond chance")
    if len(neg):
        bits.append(f"in {_names(neg.index)} the message lowered conversion")
    if len(rest):
        bits.append(f"in {_names(rest.index)} the uplift is small or uncertain "
                    f"({'its interval includes' if len(rest) == 1 else 'their intervals include'} "
                    "zero)")
    second = "; ".join(bits) + "."
    second = second[0].upper() + second[1:]
    if "incr_profit" in seg.columns and seg["incr_profit"].notna().any():
        second += (" Where the uplift is small, most coupons go to orders that would have come "
                   "anyway, and per-segment profit swings with a few large baskets: read it with "
                   "the intervals in mind.")
    else:
        second += " The store records no revenue, so profit cannot be measured."
    return paragraphs(first, second)


def uplift_answer_key(check: pd.DataFrame) -> Text:
    """The segment uplifts against the planted ones (``uplift``, ``ci_low``, ``ci_high``,
    ``answer key``, ``key inside``; Bonferroni Wald intervals).

    >>> c = pd.DataFrame({"uplift": [0.03, 0.14], "ci_low": [-0.04, 0.03], "ci_high": [0.1, 0.26],
    ...                   "answer key": [0.045, 0.11], "key inside": [True, True]},
    ...                  index=["one-time", "repeat"])
    >>> print(uplift_answer_key(c))
    **Check against the answer key.** Several intervals at once need a family-wise level, so this check uses Bonferroni-adjusted (α = 0.05/2) Wald intervals. By design the measurable uplift is a little smaller than the planted one (the key notes it is multiplied by one minus the natural purchase rate).
    <BLANKLINE>
    The planted uplift of every segment (2 of 2) lies inside its interval. The measured values lie above the planted one in *repeat* and below it in *one-time*, as small samples scatter.
    """
    n, inside = len(check), int(check["key inside"].sum())
    head = ("The planted uplift of every segment" if inside == n else
            f"The planted uplift of {count(inside)} segment(s)")
    s = f"{head} ({inside} of {n}) lies inside its interval."
    if inside < n:
        s += f" Outside: {_names(check.index[~check['key inside'].astype(bool)])}."
    above = check.index[check["uplift"] > check["answer key"]].tolist()
    below = check.index[check["uplift"] < check["answer key"]].tolist()
    if above and below:
        s += (f" The measured values lie above the planted one in {_names(above)} and below it "
              f"in {_names(below)}, as small samples scatter.")
    return answer_key(f"Several intervals at once need a family-wise level, so this check uses "
                      f"Bonferroni-adjusted (α = 0.05/{n}) Wald intervals. By design the "
                      "measurable uplift is a little smaller than the planted one (the key notes "
                      "it is multiplied by one minus the natural purchase rate).", s)


def qini(coefficient: float, held_out: int) -> Text:
    """The Qini coefficient of the T-learner on held-out users.

    >>> qini(0.0021, 522)
    On the 522 held-out users the Qini coefficient is 0.0021 (above 0): targeting by predicted uplift finds more of the extra conversions than random targeting would.
    """
    head = f"On the {plural(held_out, 'held-out user')} the Qini coefficient is {coefficient:.4f}"
    if _nan(coefficient):
        return Text("The Qini curve could not be computed (no conversions among held-out users).")
    if coefficient > 0:
        return Text(f"{head} (above 0): targeting by predicted uplift finds more of the extra "
                    "conversions than random targeting would.")
    return Text(f"{head} (not above 0): the model ranks users no better than random; do not "
                "target by it.")


def policies(one: pd.DataFrame, reps: pd.DataFrame, *, currency: str | None = None) -> Text:
    """Targeting policies on held-out users: one split with intervals, then repeated splits.

    ``one`` is ``marketing.policy_profit`` (``policy``, ``profit``, ``diff_vs_everyone``,
    ``diff_low``, ``diff_high``); ``reps`` is ``marketing.compare_policies`` (``seed``,
    ``policy``, ``profit``).

    >>> one = pd.DataFrame({"policy": ["everyone", "propensity", "uplift"],
    ...                     "targeted": [522, 146, 146], "profit": [5892.0, 3635, 4643],
    ...                     "diff_vs_everyone": [0.0, -2258, -1250],
    ...                     "diff_low": [0.0, -6106, -5252], "diff_high": [0.0, 171, 2434]})
    >>> reps = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "policy": ["everyone", "propensity", "uplift"] * 2,
    ...                      "profit": [5000.0, 2000, 2500, 5400, 3000, 6000]})
    >>> print(policies(one, reps, currency="EUR"))
    On this split no targeted list differs from sending to everyone beyond chance: every paired interval includes zero (uplift −1,250 EUR, from −5,252 to +2,434). Over 2 seeded splits a targeted list beats the blanket send in 1 (uplift 1, propensity 0).
    <BLANKLINE>
    **Takeaway:** the holdout is too small to rank the policies: a few hundred held-out users with a handful of orders cannot separate differences of this size. Decide whom to drop on a bigger holdout, not on this one.
    """
    d = one.set_index("policy")
    t = d.drop(index="everyone", errors="ignore")

    def amount(x):
        return ("−" if x < 0 else "+") + money(abs(x), None, 0)

    clear = t.loc[(t["diff_low"] > 0) | (t["diff_high"] < 0)]
    if len(clear):
        first = "On this split " + join(
            f"{p} {'beats' if r.diff_vs_everyone > 0 else 'loses to'} sending to everyone "
            f"({amount(r.diff_vs_everyone)} {currency or ''}".rstrip() +
            f", from {amount(r.diff_low)} to {amount(r.diff_high)})"
            for p, r in clear.iterrows()) + "."
    else:
        ref = "uplift" if "uplift" in t.index else t.index[0]
        r = t.loc[ref]
        first = ("On this split no targeted list differs from sending to everyone beyond chance: "
                 f"every paired interval includes zero ({ref} {money(r['diff_vs_everyone'], currency, 0).replace('-', '−')}, "
                 f"from {amount(r['diff_low'])} to {amount(r['diff_high'])}).")
    wide = reps.pivot(index="seed", columns="policy", values="profit")
    n = len(wide)
    wins = {p: int((wide[p] > wide["everyone"]).sum()) for p in wide.columns if p != "everyone"}
    any_win = int(wide.drop(columns="everyone").gt(wide["everyone"], axis=0).any(axis=1).sum())
    first += (f" Over {n} seeded splits a targeted list beats the blanket send in {any_win} "
              f"({', '.join(f'{p} {w}' for p, w in sorted(wins.items(), key=lambda x: -x[1]))}).")
    stable = any(w == n for w in wins.values()) or all(w == 0 for w in wins.values())
    if len(clear) == 0 or not stable:
        tk = ("the holdout is too small to rank the policies: a few hundred held-out users with "
              "a handful of orders cannot separate differences of this size. Decide whom to drop "
              "on a bigger holdout, not on this one.")
    else:
        best = max(wins, key=wins.get) if any(wins.values()) else "everyone"
        tk = (f"the ranking is stable across splits: {best} targeting is the policy to run, with "
              "a holdout kept to check it.")
    return paragraphs(first, takeaway(tk))


def policies_answer_key(kw: pd.DataFrame, *, currency: str | None = None) -> Text:
    """Policies valued with the planted uplift (``kw``: seeds × policies of ``key_profit``).

    >>> kw = pd.DataFrame({"everyone": [-167.0, -100], "propensity": [405.0, 300],
    ...                    "uplift": [337.0, 350]})
    >>> print(policies_answer_key(kw))
    **Check against the answer key.** The bundled shop knows each segment's true uplift, so each policy's held-out targets can be valued with it instead of with the noisy observed profit.
    <BLANKLINE>
    Valued with the planted uplift, the blanket send earns −134 on average, propensity 352 (beats everyone in 2 of 2 splits) and uplift 344 (beats everyone in 2 of 2 splits): a targeted list beats the blanket send, because the coupon loses money on users it does not move.
    """
    m = kw.mean()
    wins = {p: int((kw[p] > kw["everyone"]).sum()) for p in kw.columns if p != "everyone"}
    n = len(kw)
    parts = [f"{p} {money(m[p], currency, 0)} (beats everyone in {w} of {n} splits)"
             for p, w in wins.items()]
    s = (f"Valued with the planted uplift, the blanket send earns "
         f"{money(m['everyone'], currency, 0).replace('-', '−')} on average, {join(parts)}")
    if all(w == n for w in wins.values()):
        s += (": a targeted list beats the blanket send, because the coupon loses money on users "
              "it does not move.")
    elif all(w == 0 for w in wins.values()):
        s += ": at this margin sending to everyone is the best policy."
    else:
        s += ": the ranking depends on the split."
    return answer_key("The bundled shop knows each segment's true uplift, so each policy's "
                      "held-out targets can be valued with it instead of with the noisy observed "
                      "profit.", s)


def targeting(u: pd.DataFrame) -> Text:
    """The section's takeaway: where the message works, from ``marketing.uplift_by_segment``.

    >>> u = pd.DataFrame({"segment": ["one-time", "repeat", "all"], "uplift": [0.01, 0.14, 0.03],
    ...                   "ci_low": [-0.04, 0.02, 0.004], "ci_high": [0.07, 0.23, 0.05]})
    >>> targeting(u)
    **Takeaway:** the message works, but not equally: its effect is largest in *repeat* (+14.0 pp) and smallest in *one-time* (+1.0 pp). Send it where it changes behaviour, and keep a holdout big enough to measure that; a small holdout tells you the campaign works overall, not whom to drop.
    """
    r = u.set_index("segment")
    a = r.loc["all"]
    seg = r.drop(index="all")
    works = a["ci_low"] > 0
    tail = ("Send it where it changes behaviour, and keep a holdout big enough to measure that; "
            "a small holdout tells you the campaign works overall, not whom to drop.")
    if not works:
        return takeaway("the campaign shows no effect beyond chance overall "
                        f"({pp(a['uplift'])}, 95 % CI {_pp_ci(a['ci_low'], a['ci_high'])}): do "
                        "not scale it; rerun it with a holdout sized for the uplift worth "
                        "acting on.")
    if len(seg) < 2:
        return takeaway(f"the message works overall ({pp(a['uplift'])}). {tail}")
    hi, lo = seg["uplift"].idxmax(), seg["uplift"].idxmin()
    return takeaway(f"the message works, but not equally: its effect is largest in {_names([hi])} "
                    f"({pp(seg.loc[hi, 'uplift'])}) and smallest in {_names([lo])} "
                    f"({pp(seg.loc[lo, 'uplift'])}). {tail}")


# ----------------------------------------------------------------------------- scenes


def scenes(table: pd.DataFrame, peak: pd.Series, *, lookback_days: int = 7,
           horizon_days: int = 14) -> Text:
    """Trigger audiences at the scene dates (``marketing.scene_table``) and the busiest day.

    ``peak`` is ``marketing.busiest_day`` (``day``, ``orders``, ``median_day``).

    >>> t = pd.DataFrame({"scene": ["ordinary week"] * 2 + ["week before the busiest day"] * 2,
    ...                   "audience": ["visited", "abandoned a cart"] * 2, "n": [855, 95, 1001, 174],
    ...                   "rate": [0.061, 0.095, 0.051, 0.052], "ci_low": [0.047, 0.051, 0.039, 0.027],
    ...                   "ci_high": [0.079, 0.17, 0.066, 0.095]})
    >>> peak = pd.Series({"day": "2025-11-11", "orders": 120, "median_day": 12.0})
    >>> print(scenes(t, peak))
    The busiest day, 2025-11-11, had 120 orders, 10.0× the median day (12).
    <BLANKLINE>
    In the ordinary week, cart abandoners (95 users, 1 in 9 of the visitors) bought within 14 days at 9.5 %, against 6.1 % of all visitors, but their interval overlaps the visitors'. In the week before the busiest day, cart abandoners (174 users, 1 in 6 of the visitors) bought within 14 days at 5.2 %, against 5.1 % of all visitors, but their interval overlaps the visitors'. The week before the busiest day enlarges the cart-abandoner audience 1.8× (174 against 95), and with it what a trigger campaign costs.
    <BLANKLINE>
    **Takeaway:** cart abandoners are a small audience, so a reminder to them is cheap; the intervals of the small audiences are wide: verify any trigger with a holdout before scaling it up.
    """
    if table.empty:
        return Text(f"The data is too short for a scene: each needs {lookback_days} days of "
                    f"events before its date and {horizon_days} days of orders after it.")
    head = None
    if not _nan(peak.get("median_day")) and peak.get("orders"):
        ratio = peak["orders"] / peak["median_day"]
        head = (f"The busiest day, {peak['day']}, had {plural(peak['orders'], 'order')}, "
                f"{ratio:.1f}× the median day ({number_or_int(peak['median_day'])})")
        head += "." if _real_peak(peak) else (
            ": no day stands out (a peak needs at least 10 orders and twice the median day), so "
            "its week is not a special scene.")
    lines = []
    carts = {}
    for scene, g in table.groupby("scene", sort=False):
        g = g.set_index("audience")
        v, c = g.loc["visited"], g.loc["abandoned a cart"] if "abandoned a cart" in g.index else None
        if c is None or not c["n"]:
            lines.append(f"In the {scene} nobody abandoned a cart.")
            continue
        carts[scene] = c["n"]
        ratio = f"1 in {v['n'] / c['n']:.0f} of the visitors" if c["n"] else ""
        overlap = c["ci_low"] <= v["ci_high"] and v["ci_low"] <= c["ci_high"]
        cmp = "more" if c["rate"] > v["rate"] else "less"
        s = (f"In the {scene}, cart abandoners ({plural(c['n'], 'user')}, {ratio}) bought within "
             f"{horizon_days} days at {pct(c['rate'])}, against {pct(v['rate'])} of all visitors")
        s += ", but their interval overlaps the visitors'." if overlap else \
            f": {cmp} often beyond chance."
        lines.append(s)
    if len(carts) == 2 and "ordinary week" in carts:
        other = next(s for s in carts if s != "ordinary week")
        f = carts[other] / carts["ordinary week"]
        if f > 1.2:
            lines.append(f"The {other} enlarges the cart-abandoner audience {f:.1f}× "
                         f"({count(carts[other])} against {count(carts['ordinary week'])}), and "
                         "with it what a trigger campaign costs.")
    if not carts:
        tk = ("no cart was abandoned in the scene weeks, so there is no audience for a reminder "
              "yet.")
    else:
        tk = ("cart abandoners are a small audience, so a reminder to them is cheap; the intervals "
              "of the small audiences are wide: verify any trigger with a holdout before scaling "
              "it up.")
    return paragraphs(head, " ".join(lines), takeaway(tk))


def number_or_int(x) -> str:
    """``12.0`` -> ``'12'``, ``12.5`` -> ``'12.5'`` (a median count)."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


# ----------------------------------------------------------------------------- memo


def decisions(*, best: str | None = None, uplift: pd.DataFrame | None = None,
              policy_ranked: bool | None = None, scenes: pd.DataFrame | None = None,
              peak: pd.Series | None = None) -> Text:
    """The closing memo, one bullet per part that ran.

    ``best`` is the recommender that beat popularity (``"popularity"`` when none did, None when
    section 1 did not run); ``uplift`` the campaign's ``uplift_by_segment``; ``policy_ranked``
    whether the holdout could rank targeting policies; ``scenes`` the scene table and ``peak``
    ``marketing.busiest_day`` (the pre-peak push is advised only when that day stands out, with
    at least 10 orders and twice the median day's).

    >>> u = pd.DataFrame({"segment": ["one-time", "repeat", "all"], "uplift": [0.01, 0.14, 0.03],
    ...                   "ci_low": [-0.04, 0.02, 0.004], "ci_high": [0.07, 0.23, 0.05],
    ...                   "n_control": [209, 52, 261], "n_treated": [826, 218, 1044]})
    >>> print(decisions(best="popularity", uplift=u))
    ## Decisions
    <BLANKLINE>
    - **Recommendations:** no model beat the bestsellers offline; keep the bestseller list and collect more history before testing a recommender.
    - **Campaign:** stop blanket sends. Scale the message where its effect is proven (*repeat*), test it with a bigger holdout where it is not (*one-time*), and give users it does not move a cheap reminder instead of a discount on orders they would mostly have placed anyway.
    - **Always keep a holdout**, and size it for the decision: a holdout of 20 % of a campaign this size (1,305 users) cannot separate segments whose uplifts differ by a few points (notebook 06 on power).
    """
    lines = []
    if best is not None:
        if best == BASELINE:
            lines.append("**Recommendations:** no model beat the bestsellers offline; keep the "
                         "bestseller list and collect more history before testing a recommender.")
        else:
            lines.append(f"**Recommendations:** ship {best} (\"customers also bought\"), which beat "
                         "the bestsellers offline; confirm with an A/B test on orders per user.")
    if uplift is not None and len(uplift):
        r = uplift.set_index("segment")
        seg = r.drop(index="all", errors="ignore")
        proven = seg.index[seg["ci_low"] > 0].tolist()
        rest = [s for s in seg.index if s not in proven]
        if r.loc["all", "ci_low"] <= 0 and not proven:
            lines.append("**Campaign:** no effect was shown; do not scale it. Rerun it with a "
                         "holdout sized for the uplift worth acting on (notebook 06 on power).")
        elif proven and rest:
            lines.append(f"**Campaign:** stop blanket sends. Scale the message where its effect is "
                         f"proven ({_names(proven)}), test it with a bigger holdout where it is "
                         f"not ({_names(rest)}), and give users it does not move a cheap reminder "
                         "instead of a discount on orders they would mostly have placed anyway.")
        else:
            lines.append("**Campaign:** the message works overall; keep sending it with a "
                         "holdout, and measure per segment before dropping anyone.")
        a = r.loc["all"]
        n = a["n_control"] + a["n_treated"]
        if policy_ranked is not True:
            lines.append(f"**Always keep a holdout**, and size it for the decision: a holdout "
                         f"of {pct(a['n_control'] / n, 0)} of a campaign this size "
                         f"({plural(n, 'user')}) cannot separate segments whose uplifts differ by "
                         "a few points (notebook 06 on power).")
        else:
            lines.append("**Always keep a holdout**: it is what tells a caused sale from one that "
                         "would have happened anyway.")
    carts = None if scenes is None else scenes.loc[scenes["audience"] == "abandoned a cart"]
    if carts is not None and carts["n"].sum() > 0:
        c = carts.set_index("scene")["n"]
        s = "**Scenes:** test a cart-abandonment reminder with a holdout first"
        peak_day = peak["day"] if _real_peak(peak) else None
        if peak_day and c.get("week before the busiest day", 0) > 0:
            s += (f"; plan the push before the next peak like the week before {peak_day}, with "
                  f"the audience it brings ({plural(c['week before the busiest day'], 'abandoned cart')})")
        lines.append(s + ".")
    if not lines:
        return Text("No part of this notebook could run on this data, so there is nothing to "
                    "decide yet.")
    return bullets(lines, title="Decisions")


# ----------------------------------------------------------------------------- timing


def _verdict(row) -> str:
    if row["diff_low"] > 0:
        return "beyond chance"
    if row["diff_high"] < 0:
        return "fewer beyond chance"
    return "no difference shown (the interval includes zero)"


def timing(ev: pd.DataFrame) -> Text:
    """Model-timed contacts against a fixed schedule at the same budget (``timing.evaluate_timing``).

    >>> ev = pd.DataFrame({"plan": ["fixed schedule", "timed", "coverage windows",
    ...                             "coverage windows, p ≥ threshold"],
    ...                    "customers": 1577, "contacted": [1577, 581, 1577, 190],
    ...                    "contact_days": [30.0, 30.0, 176.9, 16.0], "hits": [59, 105, 260, 73],
    ...                    "expected": [61.9, 102.1, 223.3, 62.7],
    ...                    "hit_rate": [0.037, 0.067, 0.165, 0.046],
    ...                    "precision": [0.037, 0.181, 0.165, 0.384],
    ...                    "precision_low": [0.029, 0.152, 0.147, 0.318],
    ...                    "precision_high": [0.048, 0.214, 0.184, 0.455],
    ...                    "diff": [0.0, 0.029, -0.002, 0.009], "diff_low": [0.0, 0.018, -0.02, -0.002],
    ...                    "diff_high": [0.0, 0.04, 0.016, 0.02]})
    >>> ev.attrs.update(schedule_days=30.0, coverage=0.5, threshold=0.25)
    >>> print(timing(ev))
    Timed by each customer's purchase rate and chance of still being a customer, 6.7 % of the 1,577 customers bought inside their contact window, against 3.7 % on a fixed 30-day schedule with the same contact-days: +2.9 pp (paired 95 % interval +1.8 to +4.0 pp), beyond chance. The timed plan contacts 581 of them, for longer where a purchase is likelier soon; 18.1 % of those it contacts buy in their window.
    <BLANKLINE>
    Windows that each hold a 50 % chance of the next purchase (if the customer is still active) caught 260 next purchases where the model expected about 223: more than expected. At their budget (176.9 contact-days per customer) they do no better than the same days for everyone (−0.2 pp, −2.0 to +1.6 pp). Contacting only the 190 customers whose chance of buying in their window is at least 25 %: 38.4 % of them did (95 % CI 31.8–45.5 %).
    <BLANKLINE>
    **Takeaway:** time contacts by each customer's own purchase rate and chance of being active: for the same contact-days the model catches more next purchases than a fixed schedule.
    """
    e = ev.set_index("plan")
    if "fixed schedule" not in e.index or not int(e["customers"].iloc[0]):
        return Text("No customer could be scored: nobody had ordered before the split.")
    n = int(e["customers"].iloc[0])
    f, t = e.loc["fixed schedule"], e.loc["timed"]
    days = ev.attrs.get("schedule_days", f["contact_days"])
    days_txt = f"{days:g}-day" if float(days).is_integer() else f"{days:.1f}-day"
    if f["hits"] == 0 and t["hits"] == 0 and e["hits"].max() == 0:
        return paragraphs(
            f"None of the {plural(n, 'customer')} bought in the scored period, so no plan "
            "caught anyone and timing cannot be judged: score a longer period.")
    tied = t["diff"] == 0 and t["diff_low"] == 0 and t["diff_high"] == 0
    head = (f"Timed by each customer's purchase rate and chance of still being a customer, "
            f"{pct(t['hit_rate'])} of the {plural(n, 'customer')} bought inside their contact "
            f"window, against {pct(f['hit_rate'])} on a fixed {days_txt} schedule with the same "
            "contact-days: ")
    if tied:
        head += "the two plans caught exactly the same customers."
    else:
        head += (f"{pp(t['diff'])} (paired 95 % interval {_pp_ci(t['diff_low'], t['diff_high'])}"
                 f"), {_verdict(t)}.")
    head += (f" The timed plan contacts {count(t['contacted'])} of them, for longer where a "
             f"purchase is likelier soon; {pct(t['precision'])} of those it contacts buy in "
             "their window." if t["contacted"] else " The timed plan contacts nobody.")
    if n < 30:
        head += f" With only {plural(n, 'customer')} these rates say little either way."
    parts = [head]
    if "coverage windows" in e.index:
        c = e.loc["coverage windows"]
        cov = ev.attrs.get("coverage")
        lead = (f"Windows that each hold a {pct(cov, 0)} chance of the next purchase (if the "
                "customer is still active)" if cov is not None else "The model's windows")
        gap = c["hits"] - c["expected"]
        fit = ("in line with the model" if abs(gap) <= 2 * max(c["expected"], 1) ** 0.5 else
               "more than expected" if gap > 0 else "fewer than expected")
        text = (f"{lead} caught {count(c['hits'])} next purchases where the model expected about "
                f"{count(round(c['expected']))}: {fit}.")
        how = ("more than" if c["diff_low"] > 0 else "fewer than" if c["diff_high"] < 0
               else "no better than")
        text += (f" At their budget ({c['contact_days']:.1f} contact-days per customer) they catch "
                 f"{how} the same days for everyone would" if how != "no better than" else
                 f" At their budget ({c['contact_days']:.1f} contact-days per customer) they do "
                 "no better than the same days for everyone")
        text += f" ({pp(c['diff'])}, {_pp_ci(c['diff_low'], c['diff_high'])})."
        k = "coverage windows, p ≥ threshold"
        if k in e.index:
            g = e.loc[k]
            thr = ev.attrs.get("threshold")
            who = (f"whose chance of buying in their window is at least {pct(thr, 0)}"
                   if thr is not None else "most likely to buy")
            if g["contacted"]:
                text += (f" Contacting only the {count(g['contacted'])} customers {who}: "
                         f"{pct(g['precision'])} of them did (95 % CI "
                         f"{pct(g['precision_low']).removesuffix(' %')}–"
                         f"{pct(g['precision_high'])}).")
            else:
                text += f" No customer's chance of buying in their window reaches {pct(thr, 0)}." \
                    if thr is not None else ""
        parts.append(text)
    if tied or not (t["diff_low"] > 0 or t["diff_high"] < 0):
        tk = ("on this data the model's timing does not beat contacting everyone on a fixed "
              "schedule: keep the schedule, and score again with more customers or a longer "
              "period.")
    elif t["diff_low"] > 0:
        tk = ("time contacts by each customer's own purchase rate and chance of being active: "
              "for the same contact-days the model catches more next purchases than a fixed "
              "schedule.")
    else:
        tk = ("the fixed schedule catches more next purchases than the model's timing here: the "
              "purchase model does not describe these customers well (check it in notebook 05) "
              "before timing contacts by it.")
    parts.append(takeaway(tk))
    return paragraphs(*parts)
