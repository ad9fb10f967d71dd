"""Sentences of notebook 06 (A/B testing), generated from the tables of ``helpers.experiments``.

Every verdict of an experiment readout (the split, the lift and its interval, the revenue checks,
CUPED, the power of the test, the segments, peeking) is worded here from the numbers, so the
notebook says what *this* log shows: which experiment failed its sample-ratio check, whether the
interval of the primary metric excludes zero, whether the test was large enough.

Examples
--------
>>> h = pd.DataFrame({"experiment": ["a"], "control": [500], "treatment": [505],
...                   "p_value": [0.88], "flag": [False]})
>>> srm(h)
**Takeaway:** the split of a (500 vs 505 users, p = 0.88) is consistent with 50/50.
"""

from __future__ import annotations

import pandas as pd

from helpers.narrate import (
    Text,
    bullets,
    count,
    join,
    money,
    p_value,
    paragraphs,
    pct,
    plural,
    pp,
    takeaway,
)
from helpers.narrate import (
    missing as _nan,
)

ALPHA = 0.05


def _pp_ci(lo, hi) -> str:
    """``'95 % CI −0.5 to +3.1 pp'`` for a difference of two shares."""
    return f"95 % CI {pp(lo).removesuffix(' pp')} to {pp(hi)}"


def _signed(x, currency=None) -> str:
    """An amount with its sign: ``'+31.06'`` / ``'−13.44 EUR'``."""
    text = money(abs(x), currency)
    return ("−" if x < 0 else "+") + text


def _signed_pct(x) -> str:
    """A relative change with its sign: ``'+12.2 %'`` / ``'−4 %'``."""
    return ("−" if x < 0 else "+") + pct(abs(x))


def _share(x) -> str:
    """A share, with "less than 0.01 %" instead of an exponent for the tiniest."""
    return "less than 0.01 %" if 0 < abs(x) < 1e-4 else pct(x)


def _money_ci(lo, hi, currency=None) -> str:
    return f"95 % CI {_signed(lo)} to {_signed(hi, currency)}"


def _title(name: str) -> str:
    """A metric name as a bold lead: first letter up, event names kept as written."""
    return name[:1].upper() + name[1:]


def _excludes_zero(lo, hi) -> bool:
    return not _nan(lo) and not _nan(hi) and (lo > 0 or hi < 0)


# ----------------------------------------------------------------------------- choice and design


def chosen(experiment: str | None, health: pd.DataFrame, *, given: bool = False) -> Text:
    """Which experiment the notebook reads out, and why.

    >>> h = pd.DataFrame({"experiment": ["a", "b"], "control": [90, 500], "treatment": [10, 505],
    ...                   "p_value": [1e-12, 0.88], "flag": [True, False]})
    >>> chosen("b", h)
    Reading out **b** (1,005 users), the largest of 2 experiments in the log whose split passes the sample-ratio check.
    """
    if experiment is None or health.empty:
        return Text("The log holds no experiment to read out.")
    row = health.set_index("experiment").loc[experiment]
    n = int(row["control"] + row["treatment"])
    if given:
        return Text(f"Reading out **{experiment}** ({plural(n, 'user')}), as the parameter asks.")
    k = len(health)
    if k == 1:
        return Text(f"Reading out **{experiment}** ({plural(n, 'user')}), the only experiment in "
                    "the log.")
    if bool(row["flag"]):
        return Text(f"Reading out **{experiment}** ({plural(n, 'user')}), the largest of {k} "
                    "experiments in the log; every split in the log fails the sample-ratio "
                    "check, so read it as a lesson in what a broken test looks like.")
    return Text(f"Reading out **{experiment}** ({plural(n, 'user')}), the largest of {k} "
                "experiments in the log whose split passes the sample-ratio check.")


def metric(event: str | None, candidates: pd.DataFrame | None, window_days: float) -> Text:
    """What the primary metric is; with no orders and no event named, which events could be.

    ``candidates`` is ``experiments.metric_events`` when the log has no orders, else None.

    >>> metric(None, None, 90)
    The primary metric is **conversion**: the share of assigned users who placed an order in the 90 days after assignment.
    >>> c = pd.DataFrame({"event": ["return_day_1", "return_day_7"], "users": [446, 190],
    ...                   "share": [0.446, 0.19]})
    >>> print(metric(None, c, 7))
    This log has no orders, so conversion to an order cannot be the primary metric. Name the event that counts as success with the `METRIC` parameter; the candidates, with the share of assigned users who had each in the 7 days after assignment:
    <BLANKLINE>
    - `return_day_1`: 44.6 %
    - `return_day_7`: 19 %
    """
    win = f"{window_days:g} {'day' if window_days == 1 else 'days'}"
    if event is not None:
        return Text(f"The primary metric is the **{event} rate**: the share of assigned users with "
                    f"a `{event}` event in the {win} after assignment.")
    if candidates is None:
        return Text("The primary metric is **conversion**: the share of assigned users who placed "
                    f"an order in the {win} after assignment.")
    if candidates.empty:
        return Text("This log has no orders, and no event that some but not all assigned users "
                    "had after assignment: there is no metric to read out.")
    items = [f"`{r.event}`: {pct(r.share)}" for r in candidates.itertuples()]
    return paragraphs(
        "This log has no orders, so conversion to an order cannot be the primary metric. Name "
        "the event that counts as success with the `METRIC` parameter; the candidates, with the "
        f"share of assigned users who had each in the {win} after assignment:",
        bullets(items))


def arm_names(names: pd.DataFrame) -> Text:
    """Which logged variant is read as the control, for experiments not named control/treatment.

    ``names`` comes from :func:`helpers.experiments.name_arms`; empty -> no sentence.

    >>> n = pd.DataFrame({"experiment": ["gate"], "control": ["gate_30"], "treatment": ["gate_40"],
    ...                   "rule": ["the name that sorts first"]})
    >>> arm_names(n)
    In **gate**, variant gate_30 is read as the control and gate_40 as the treatment (the name that sorts first).
    """
    if names is None or names.empty:
        return Text("")
    parts = [f"In **{r.experiment}**, variant {r.control} is read as the control and "
             f"{r.treatment} as the treatment ({r.rule})" for r in names.itertuples()]
    return Text("; ".join(parts) + ".")


def design(plan: pd.DataFrame) -> Text:
    """What the sample-size table says: a smaller lift costs many more users.

    ``plan`` has ``lift_pp`` and ``users_per_arm`` (from ``experiments.sample_size``).

    >>> design(pd.DataFrame({"lift_pp": [1.0, 2.0], "users_per_arm": [14745, 3835]}))
    **Takeaway:** detecting a +1.0 pp lift takes 14,745 users per arm, a +2.0 pp lift 3,835: halving the lift you want to see multiplies the users you need by 3.8. Write the minimum detectable effect into the test plan; if the shop cannot get that many users, test a bolder change or accept that only large effects will be visible.
    """
    p = plan.dropna(subset=["lift_pp", "users_per_arm"]).sort_values("lift_pp")
    if len(p) < 2:
        return Text("")
    small = p.iloc[0]
    double = p.loc[p["lift_pp"] == small["lift_pp"] * 2]
    big = double.iloc[0] if len(double) else p.iloc[-1]
    ratio = small["users_per_arm"] / big["users_per_arm"]
    if len(double):
        tail = f"halving the lift you want to see multiplies the users you need by {ratio:.1f}"
    else:
        tail = f"the smaller lift needs {ratio:.1f} times as many users"
    return takeaway(
        f"detecting a +{small['lift_pp']:.1f} pp lift takes {count(small['users_per_arm'])} "
        f"users per arm, a +{big['lift_pp']:.1f} pp lift {count(big['users_per_arm'])}: {tail}. "
        "Write the minimum detectable effect into the test plan; if the shop cannot get that many "
        "users, test a bolder change or accept that only large effects will be visible.")


def mde(n_smaller: int, mde_abs: float, base: float) -> Text:
    """The minimum detectable lift of the experiment at hand.

    >>> mde(2231, 0.0265, 0.10)
    The smaller arm holds 2,231 users. At a 10 % baseline, the test detects a lift of +2.65 pp or more with 80 % power; a smaller true lift would usually be missed.
    """
    if _nan(mde_abs) or not n_smaller:
        return Text("The test has no users in one arm, so it cannot detect anything.")
    return Text(f"The smaller arm holds {plural(n_smaller, 'user')}. At a {pct(base)} baseline, "
                f"the test detects a lift of {pp(mde_abs, 2)} or more with 80 % power; a smaller "
                "true lift would usually be missed.")


# ----------------------------------------------------------------------------- health


def srm(health: pd.DataFrame, *, alpha: float = 0.001) -> Text:
    """The sample-ratio verdict of every experiment in the log.

    ``health`` is ``experiments.health(...)``: ``experiment``, ``control``, ``treatment``,
    ``p_value``, ``flag``.

    >>> h = pd.DataFrame({"experiment": ["a", "b"], "control": [2231, 1224],
    ...                   "treatment": [2290, 1025], "p_value": [0.38, 2.7e-05],
    ...                   "flag": [False, True]})
    >>> srm(h)
    **Takeaway:** the split of a (2,231 vs 2,290 users, p = 0.38) is consistent with 50/50. b fails the sample-ratio check (1,224 control vs 1,025 treatment users, p < 0.001): its treatment arm lost users somewhere between assignment and the log. Its results must not be used, whatever they show; the fix is to find the bug, not to reweight.
    """
    if health.empty:
        return Text("The log holds no experiment.")
    good = health.loc[~health["flag"].astype(bool)]
    bad = health.loc[health["flag"].astype(bool)]
    parts = []
    if len(good):
        desc = join(f"{r.experiment} ({count(r.control)} vs {count(r.treatment)} users, "
                    f"{p_value(r.p_value)})" for r in good.itertuples())
        word = "split" if len(good) == 1 else "splits"
        verb = "is" if len(good) == 1 else "are"
        parts.append(f"the {word} of {desc} {verb} consistent with 50/50.")
    for r in bad.itertuples():
        if min(r.control, r.treatment) == 0:
            arm = "control" if r.control == 0 else "treatment"
            parts.append(f"{r.experiment} has no {arm} users at all: it cannot be read out.")
            continue
        short = "treatment" if r.treatment < r.control else "control"
        parts.append(f"{r.experiment} fails the sample-ratio check ({count(r.control)} control vs "
                     f"{count(r.treatment)} treatment users, {p_value(r.p_value)}): its {short} "
                     "arm lost users somewhere between assignment and the log.")
    if len(bad):
        them = "Its" if len(bad) == 1 else "Their"
        parts.append(f"{them} results must not be used, whatever they show; the fix is to find the "
                     "bug, not to reweight.")
    text = " ".join(parts)
    return takeaway(text[0].upper() + text[1:] if not len(good) else text)


def aa(res: dict, *, alpha: float = ALPHA) -> Text:
    """The A/A check: two random halves of the control arm.

    >>> aa({"effect": 0.0046, "ci_low": -0.021, "ci_high": 0.0301, "p_value": 0.73, "n": 2231})
    The two random halves of the control arm (2,231 users) differ by +0.5 pp (95 % CI −2.1 to +3.0 pp, p = 0.73): compatible with zero, as two groups that saw the same thing should be.
    """
    head = (f"The two random halves of the control arm ({plural(res['n'], 'user')}) differ by "
            f"{pp(res['effect'])} ({_pp_ci(res['ci_low'], res['ci_high'])}, "
            f"{p_value(res['p_value'])})")
    if res["n"] < 100:
        return Text(f"{head}: with so few users the check says little either way.")
    if res["p_value"] < alpha:
        return Text(f"{head}: a difference between identical groups. That happens one time in "
                    "twenty by chance; rerun with another seed, and if it persists look for a "
                    "problem in the metric pipeline before trusting any readout.")
    return Text(f"{head}: compatible with zero, as two groups that saw the same thing should be.")


# ----------------------------------------------------------------------------- the readout


def readout(res: pd.DataFrame, *, mde_abs: float | None = None, currency: str | None = None,
            alpha: float = ALPHA) -> Text:
    """The readout of one experiment from ``experiments.analyze``: primary, secondaries, guardrail.

    ``mde_abs`` (the minimum detectable absolute lift) lets a non-significant primary say
    whether the test was large enough to see the lift it observed.

    >>> res = pd.DataFrame({
    ...     "metric": ["sample ratio (SRM)", "conversion", "revenue per user", "AOV",
    ...                "cancel/refund rate"],
    ...     "role": ["health", "primary", "secondary", "secondary", "guardrail"],
    ...     "control": [0.49, 0.106, 117.6, 1036.9, 0.05],
    ...     "treatment": [0.51, 0.119, 148.6, 1142.3, 0.05],
    ...     "effect": [0.01, 0.013, 31.06, 105.4, 0.0],
    ...     "ci_low": [None, -0.0054, -13.44, -197.1, -0.03],
    ...     "ci_high": [None, 0.0314, 75.56, 407.8, 0.03],
    ...     "rel_effect": [None, 0.122, 0.26, 0.1, 0.0],
    ...     "p_value": [0.38, 0.167, 0.17, 0.5, 0.9], "p_adjusted": [None, 0.167, 0.34, 0.5, 0.9],
    ...     "verdict": ["split OK", "no detectable difference (CI includes 0)"] + [""] * 3})
    >>> print(readout(res, mde_abs=0.0265))  # doctest: +NORMALIZE_WHITESPACE
    **Conversion** (primary): 10.6 % in control, 11.9 % in treatment, a difference of +1.3 pp (95 % CI −0.5 to +3.1 pp, relative +12.2 %, p = 0.17). The interval includes zero: no detectable difference. The test detects only lifts of +2.65 pp or more with 80 % power, more than the +1.3 pp it observed: it is too small to tell an effect of this size from noise.
    <BLANKLINE>
    **Revenue per user** (secondary): +31.06 (95 % CI −13.44 to +75.56, adjusted p = 0.34): no detectable difference. **AOV** (secondary): +105.40 (95 % CI −197.10 to +407.80, adjusted p = 0.50): no detectable difference.
    <BLANKLINE>
    **Guardrail** (cancel/refund rate): +0.0 pp (95 % CI −3.0 to +3.0 pp): no sign of harm.
    """
    r = res.set_index("metric")
    if "do not trust" in str(r["verdict"].iloc[0]):
        return Text("**The split failed the sample-ratio check**, so every comparison below is "
                    "biased: none of these numbers can be used, whatever their p-values say.")
    parts = []
    prim = r.loc[r["role"] == "primary"]
    if len(prim):
        c, label = prim.iloc[0], str(prim.index[0]).replace("conversion", "Conversion")
        if _nan(c["p_adjusted"]):
            parts.append(f"**{label}** (primary): too little data for a test.")
        else:
            rel = "" if _nan(c["rel_effect"]) else f", relative {_signed_pct(c['rel_effect'])}"
            head = (f"**{label}** (primary): {pct(c['control'])} in control, "
                    f"{pct(c['treatment'])} in treatment, a difference of {pp(c['effect'])} "
                    f"({_pp_ci(c['ci_low'], c['ci_high'])}{rel}, {p_value(c['p_value'])}).")
            if c["p_adjusted"] < alpha:
                better = c["effect"] > 0
                verb = "converts" if prim.index[0] == "conversion" else "does"
                head += (f" The interval excludes zero: the treatment {verb} "
                         f"{'better' if better else 'worse'} than control.")
            else:
                head += " The interval includes zero: no detectable difference."
                if mde_abs is not None and not _nan(mde_abs):
                    if abs(c["effect"]) < mde_abs:
                        head += (f" The test detects only lifts of {pp(mde_abs, 2)} or more with "
                                 f"80 % power, more than the {pp(c['effect'])} it observed: it is "
                                 "too small to tell an effect of this size from noise.")
                    else:
                        head += (f" The test was large enough to detect lifts of "
                                 f"{pp(mde_abs, 2)} with 80 % power, so a large effect is "
                                 "unlikely.")
            parts.append(head)
    sec = []
    for name, row in r.loc[r["role"] == "secondary"].iterrows():
        if _nan(row["p_adjusted"]) or _nan(row["effect"]):
            why = "no revenue recorded" if "revenue" in str(row["verdict"]) else "too little data"
            sec.append(f"**{_title(name)}** (secondary): no test ({why}).")
            continue
        what = ("no detectable difference" if row["p_adjusted"] >= alpha else
                ("higher in treatment" if row["effect"] > 0 else "lower in treatment"))
        if row["p_adjusted"] >= alpha and row["p_value"] < alpha:
            what = "not significant once corrected for the two secondary metrics"
        sec.append(f"**{_title(name)}** (secondary): "
                   f"{_signed(row['effect'], currency)} "
                   f"({_money_ci(row['ci_low'], row['ci_high'])}, adjusted "
                   f"{p_value(row['p_adjusted'])}): {what}.")
    if sec:
        parts.append(" ".join(sec))
    for name, g in r.loc[r["role"] == "guardrail"].iterrows():
        if _nan(g["p_adjusted"]):
            parts.append(f"**Guardrail** ({name}): no test (too few orders).")
            continue
        if g["p_adjusted"] < alpha and g["effect"] > 0:
            what = "**breached**: worse in treatment. Do not ship until this is understood."
        elif g["p_adjusted"] < alpha:
            what = "better in treatment."
        else:
            what = "no sign of harm."
        parts.append(f"**Guardrail** ({name}): {pp(g['effect'])} "
                     f"({_pp_ci(g['ci_low'], g['ci_high'])}): {what}")
    return paragraphs(*parts)


def funnel_by_arm(f: pd.DataFrame, *, alpha: float = ALPHA) -> Text:
    """The experiment's funnel on all assigned users (``experiments.funnel_by_arm``).

    >>> f = pd.DataFrame({"step": ["view_item", "add_to_cart", "purchase"],
    ...                   "effect": [0.003, 0.004, 0.011], "ci_low": [-0.011, -0.023, -0.006],
    ...                   "ci_high": [0.017, 0.03, 0.029], "p_value": [0.64, 0.79, 0.22],
    ...                   "p_holm": [1.0, 1.0, 0.65]})
    >>> funnel_by_arm(f)
    On all assigned users, no step of the funnel differs between the arms beyond chance (Holm over 3 steps); the largest difference is at `purchase`, +1.1 pp (95 % CI −0.6 to +2.9 pp).
    """
    if len(f) < 2:
        return Text("The log has a single funnel step, so the funnel adds nothing to the readout "
                    "above.")
    top = f.loc[f["effect"].abs().idxmax()]
    sig = f.loc[f["p_holm"] < alpha]
    where = (f"the largest difference is at `{top['step']}`, {pp(top['effect'])} "
             f"({_pp_ci(top['ci_low'], top['ci_high'])})")
    if sig.empty:
        return Text("On all assigned users, no step of the funnel differs between the arms "
                    f"beyond chance (Holm over {plural(len(f), 'step')}); {where}.")
    first = sig.iloc[0]
    way = "more" if first["effect"] > 0 else "fewer"
    before = ("; the steps before it do not differ beyond chance"
              if sig.index[0] != f.index[0] else "")
    return Text(f"On all assigned users, the arms first differ at `{first['step']}`: "
                f"{pp(first['effect'])} ({_pp_ci(first['ci_low'], first['ci_high'])}, Holm-"
                f"adjusted {p_value(first['p_holm'])}), {way} of the treatment's users get "
                f"that far{before}. Every share is of all assigned users, so the difference is "
                "the treatment's, not a shift in who reaches the step.")


def dropped(n: int, window_days: float) -> Text:
    """How many assigned users were left out because their window is not over.

    >>> dropped(0, 90)
    Every assigned user has a complete 90-day window.
    >>> dropped(12, 14)
    12 assigned users are left out: their 14-day window is not over when the data ends.
    """
    if not n:
        return Text(f"Every assigned user has a complete {window_days:g}-day window.")
    verb = "is" if n == 1 else "are"
    return Text(f"{plural(n, 'assigned user')} {verb} left out: their {window_days:g}-day window "
                "is not over when the data ends.")


def revenue(welch: pd.Series, boot: dict, cup: pd.DataFrame, experiment: str, *,
            currency: str | None = None) -> Text:
    """Welch vs bootstrap for revenue per user, and what CUPED did for each experiment.

    ``welch`` holds ``effect, ci_low, ci_high`` of revenue per user; ``boot`` the same from the
    bootstrap; ``cup`` is ``experiments.cuped_table``.

    >>> cup = pd.DataFrame({"experiment": ["a", "b"], "pre_spenders": [0.0, 0.3],
    ...                     "variance_reduction": [0.0, 0.006], "raw_ci_width": [89.0, 149.9],
    ...                     "ci_width": [89.0, 149.4], "srm_flag": [False, True]})
    >>> w = pd.Series({"effect": 31.06, "ci_low": -13.44, "ci_high": 75.56})
    >>> print(revenue(w, {"effect": 31.06, "ci_low": -15.3, "ci_high": 72.5}, cup, "a"))
    The Welch interval of revenue per user (95 % CI −13.44 to +75.56) and the bootstrap's (95 % CI −15.30 to +72.50) tell the same story: both include zero.
    <BLANKLINE>
    In a no user spent anything in the 90 days before assignment (new users), so the covariate is zero for everyone and CUPED changes nothing: the honest result, not a bug. In b, 30 % of the users spent before; CUPED reduces the variance by 0.6 % (CI width 149.90 → 149.40), even though b's effects are void (sample-ratio mismatch).
    <BLANKLINE>
    **Takeaway:** read the conversion row first. Revenue per user is noisy; when the bootstrap and Welch intervals disagree, trust the bootstrap for skewed money. CUPED is only as good as its covariate: here past spend barely predicts spend in the test window (a variance reduction of at most 0.6 %), so check that the pre-period metric correlates with the outcome before counting on it.
    """
    parts = []
    if not any(_nan(x) for x in (welch["ci_low"], boot["ci_low"])):
        a = _excludes_zero(welch["ci_low"], welch["ci_high"])
        b = _excludes_zero(boot["ci_low"], boot["ci_high"])
        head = (f"The Welch interval of revenue per user "
                f"({_money_ci(welch['ci_low'], welch['ci_high'], currency)}) and the bootstrap's "
                f"({_money_ci(boot['ci_low'], boot['ci_high'], currency)})")
        if a == b:
            parts.append(f"{head} tell the same story: both "
                         f"{'exclude' if a else 'include'} zero.")
        else:
            which = "bootstrap" if b else "Welch interval"
            parts.append(f"{head} disagree: only the {which} excludes zero. Revenue is skewed, so "
                         "trust the bootstrap.")
    else:
        parts.append("Revenue per user has no interval (no revenue recorded, or too few users).")
    lines = []
    for r in cup.itertuples():
        void = f", even though {r.experiment}'s effects are void (sample-ratio mismatch)" \
            if r.srm_flag else ""
        if r.pre_spenders == 0 or _nan(r.variance_reduction):
            lines.append(f"In {r.experiment} no user spent anything in the 90 days before "
                         "assignment (new users), so the covariate is zero for everyone and CUPED "
                         f"changes nothing: the honest result, not a bug{void}.")
        else:
            lines.append(f"In {r.experiment}, {pct(r.pre_spenders)} of the users spent before; "
                         f"CUPED reduces the variance by {_share(r.variance_reduction)} (CI width "
                         f"{money(r.raw_ci_width)} → {money(r.ci_width)}){void}.")
    if lines:
        parts.append(" ".join(lines))
    vr = cup.loc[cup["pre_spenders"] > 0, "variance_reduction"].dropna()
    head = ("read the conversion row first. Revenue per user is noisy; when the bootstrap and "
            "Welch intervals disagree, trust the bootstrap for skewed money. CUPED is only as "
            "good as its covariate: ")
    if vr.empty:
        tail = ("no experiment here has users who spent before assignment, so it has nothing to "
                "work with; it helps only on tests of returning users.")
    elif vr.max() < 0.05:
        tail = (f"here past spend barely predicts spend in the test window (a variance reduction "
                f"of at most {_share(vr.max())}), so check that the pre-period metric correlates with "
                "the outcome before counting on it.")
    else:
        best = cup.loc[vr.idxmax(), "experiment"]
        tail = (f"in {best} it removes {pct(vr.max())} of the variance, the same as running the "
                f"test with {pct(1 / (1 - vr.max()) - 1, 0)} more users.")
    parts.append(takeaway(head + tail))
    return paragraphs(*parts)


# ----------------------------------------------------------------------------- segments, peeking


def segments(seg: pd.DataFrame, by: str, *, alpha: float = ALPHA) -> Text:
    """Which segment effects survive the multiple-testing adjustment (``experiments.by_segment``).

    >>> seg = pd.DataFrame({"segment": ["desktop", "mobile"], "effect": [0.02, 0.014],
    ...                     "ci_low": [-0.02, -0.007], "ci_high": [0.06, 0.035],
    ...                     "p_value": [0.34, 0.19], "p_holm": [0.67, 0.56], "p_bh": [0.51, 0.51],
    ...                     "n_control": [600, 1452], "n_treatment": [575, 1559]})
    >>> segments(seg, "device")
    **Takeaway:** no device differs beyond chance: every segment's interval includes zero (smallest p = 0.19, 0.56 after Holm). Segment intervals are wide because each holds a fraction of the users; treat a segment effect as a hypothesis for the next test unless it survives the adjustment and was named in the plan before the test started.
    """
    if seg.empty:
        return Text(f"No {by} has users in both arms, so there is nothing to compare.")
    tail = ("Segment intervals are wide because each holds a fraction of the users; treat a "
            "segment effect as a hypothesis for the next test unless it survives the adjustment "
            "and was named in the plan before the test started.")
    raw = seg.loc[seg["p_value"] < alpha, "segment"].tolist()
    holm = seg.loc[seg["p_holm"] < alpha, "segment"].tolist()
    bh = seg.loc[seg["p_bh"] < alpha, "segment"].tolist()
    if len(seg) == 1:
        return takeaway(f"only one {by} ({seg['segment'].iloc[0]}) has users in both arms, so "
                        "there is no breakdown to read. " + tail)
    if not raw:
        best = seg.loc[seg["p_value"].idxmin()]
        return takeaway(f"no {by} differs beyond chance: every segment's interval includes zero "
                        f"(smallest {p_value(best['p_value'])}, {best['p_holm']:.2f} after Holm). "
                        + tail)
    s = (f"{plural(len(raw), by + ' segment')} ({join(raw)}) look significant before the "
         f"adjustment; after Holm {len(holm) or 'none'} and after Benjamini–Hochberg "
         f"{len(bh) or 'none'} remain")
    kept = holm or bh
    s += f" ({join(kept)})." if kept else ": the apparent effects are what many looks produce."
    return takeaway(s + " " + tail)


def peeking(sim: pd.DataFrame, *, alpha: float = ALPHA) -> Text:
    """What the A/A peeking simulation shows (``experiments.aa_peeking``).

    >>> sim = pd.DataFrame({"look": [1, 10], "naive_fpr": [0.045, 0.191],
    ...                     "obf_fpr": [0.0, 0.0498]})
    >>> peeking(sim)
    **Takeaway:** stopping at the first p < 0.05 over 10 looks "wins" 19.1 % of A/A tests, about 3.8 times the 5 % a single look allows; the O'Brien–Fleming boundary keeps it at 5 %. If the business needs to look early, agree on a sequential boundary before the start and stop only when it is crossed.
    """
    last = sim.iloc[-1]
    return takeaway(
        f"stopping at the first p < {alpha:g} over {int(last['look'])} looks \"wins\" "
        f"{pct(last['naive_fpr'])} of A/A tests, about {last['naive_fpr'] / alpha:.1f} times the "
        f"{pct(alpha, 0)} a single look allows; the O'Brien–Fleming boundary keeps it at "
        f"{pct(last['obf_fpr'])}. If the business needs to look early, agree on a sequential "
        "boundary before the start and stop only when it is crossed.")


# ----------------------------------------------------------------------------- answer key, memo


def answer_key_check(conv: pd.Series, lift: float, srm_experiment: str, srm_verdict: str,
                     observed: dict) -> Text:
    """The readout against a simulator's answer key: the planted lift and the planted SRM bug.

    ``conv`` is the conversion row of the keyed experiment's readout (``ci_low``, ``ci_high``,
    ``effect``, ``experiment``).

    >>> conv = pd.Series({"experiment": "a", "effect": 0.013, "ci_low": -0.005, "ci_high": 0.031})
    >>> print(answer_key_check(conv, 0.019, "b", "do not trust: SRM", {"control": 1224, "treatment": 1025}))
    **Check against the answer key.** The simulator planted a lift of new-user conversion in a (+1.9 pp) and a logging bug that loses users of one arm in b. Does the readout find both?
    <BLANKLINE>
    The planted +1.9 pp lies inside the 95 % interval (95 % CI −0.5 to +3.1 pp) around the observed +1.3 pp, as it should nineteen times out of twenty. The estimate itself wanders around the planted value: with a few thousand users per arm, a 2-point lift is only about two standard errors from zero.
    <BLANKLINE>
    The SRM bug is caught: b's log holds 1,224 control and 1,025 treatment users, and its readout says "do not trust: SRM".
    """
    inside = conv["ci_low"] <= lift <= conv["ci_high"]
    first = (f"The planted {pp(lift)} lies {'inside' if inside else 'OUTSIDE'} the 95 % interval "
             f"({_pp_ci(conv['ci_low'], conv['ci_high'])}) around the observed {pp(conv['effect'])}")
    first += (", as it should nineteen times out of twenty. The estimate itself wanders around the "
              "planted value: with a few thousand users per arm, a 2-point lift is only about two "
              "standard errors from zero." if inside else
              ": a one-in-twenty surprise worth a second look at the metric definition.")
    caught = "do not trust" in srm_verdict
    second = (f"The SRM bug is {'caught' if caught else 'MISSED'}: {srm_experiment}'s log holds "
              f"{count(observed.get('control'))} control and {count(observed.get('treatment'))} "
              f"treatment users, and its readout says \"{srm_verdict}\".")
    from helpers.narrate import answer_key

    return answer_key(f"The simulator planted a lift of new-user conversion in "
                      f"{conv['experiment']} ({pp(lift)}) and a logging bug that loses users of "
                      f"one arm in {srm_experiment}. Does the readout find both?", first, second)


def decisions(res: pd.DataFrame, health: pd.DataFrame, *, mde_abs: float | None = None,
              n_smaller: int | None = None, alpha: float = ALPHA) -> Text:
    """The closing memo: one bullet per experiment in the log, then the process.

    ``res`` is the readout of the experiment analysed (``experiments.analyze``); experiments of
    ``health`` that fail SRM get their own "do not use" bullet.

    >>> res = pd.DataFrame({"experiment": "a", "metric": ["sample ratio (SRM)", "conversion",
    ...                     "cancel/refund rate"], "role": ["health", "primary", "guardrail"],
    ...                     "effect": [0.0, 0.013, 0.0], "ci_low": [None, -0.005, -0.03],
    ...                     "ci_high": [None, 0.031, 0.03], "p_adjusted": [None, 0.17, 0.9],
    ...                     "verdict": ["split OK", "", ""]})
    >>> h = pd.DataFrame({"experiment": ["a", "b"], "control": [2231, 1224],
    ...                   "treatment": [2290, 1025], "flag": [False, True]})
    >>> print(decisions(res, h, mde_abs=0.0265, n_smaller=2231))
    ## Decisions
    <BLANKLINE>
    - **a:** decide on the primary metric's interval, not on its point estimate. Its conversion interval includes zero (95 % CI −0.5 to +3.1 pp), and with 2,231 users in the smaller arm the test reliably detects only lifts of +2.65 pp or more, larger than the +1.3 pp it observed: it is too small for an effect of this size, so extend it to the planned sample size rather than call it a failure (the guardrail shows no sign of harm).
    - **b:** do not use its results. Find the bug that loses users of its treatment arm, then rerun; a result with a sample-ratio mismatch is void whatever its p-values say.
    - **Process:** size every test before launch (write down the minimum detectable effect), check the split before opening any metric, name segments in advance and adjust for them, and use a sequential boundary if anyone will look early.
    """
    lines = []
    r = res.set_index("metric")
    name = str(res["experiment"].iloc[0])
    srm_bad = "do not trust" in str(r["verdict"].iloc[0])
    prim = r.loc[r["role"] == "primary"]
    if not srm_bad and len(prim) and not _nan(prim["p_adjusted"].iloc[0]):
        c, metric = prim.iloc[0], str(prim.index[0])
        g = r.loc[r["role"] == "guardrail"]
        harm = bool(len(g)) and not _nan(g["p_adjusted"].iloc[0]) and \
            g["p_adjusted"].iloc[0] < alpha and g["effect"].iloc[0] > 0
        if harm:
            guard = "the guardrail is breached: treatment has more cancellations and refunds"
        elif not len(g):
            guard = "the log has no orders, so no guardrail was checked"
        elif _nan(g["p_adjusted"].iloc[0]):
            guard = "the guardrail could not be tested for want of orders"
        else:
            guard = "the guardrail shows no sign of harm"
        head = (f"**{name}:** decide on the primary metric's interval, not on its point estimate. ")
        ci = _pp_ci(c["ci_low"], c["ci_high"])
        if c["p_adjusted"] < alpha and c["effect"] > 0:
            act = ("Do not ship yet: " if harm else "Ship it: ")
            lines.append(head + f"{act}its {metric} interval lies above zero ({ci}) and {guard}.")
        elif c["p_adjusted"] < alpha:
            lines.append(head + f"Do not ship: treatment does worse on {metric} ({ci}).")
        else:
            s = head + f"Its {metric} interval includes zero ({ci})"
            if mde_abs is not None and not _nan(mde_abs) and abs(c["effect"]) < mde_abs:
                s += (f", and with {count(n_smaller)} users in the smaller arm the test reliably "
                      f"detects only lifts of {pp(mde_abs, 2)} or more, larger than the "
                      f"{pp(c['effect'])} it observed: it is too small for an effect of this "
                      "size, so extend it to the planned sample size rather than call it a "
                      f"failure ({guard}).")
            else:
                s += (f": the test was large enough to see a lift of the size that matters, so "
                      f"do not ship for {metric} ({guard}).")
            lines.append(s)
    elif srm_bad:
        pass  # covered by the SRM bullets below
    else:
        lines.append(f"**{name}:** too little data for a decision.")
    for h in health.loc[health["flag"].astype(bool)].itertuples():
        if min(h.control, h.treatment) == 0:
            lines.append(f"**{h.experiment}:** one arm has no users; check the assignment log.")
            continue
        short = "treatment" if h.treatment < h.control else "control"
        lines.append(f"**{h.experiment}:** do not use its results. Find the bug that loses users "
                     f"of its {short} arm, then rerun; a result with a sample-ratio mismatch is "
                     "void whatever its p-values say.")
    lines.append("**Process:** size every test before launch (write down the minimum detectable "
                 "effect), check the split before opening any metric, name segments in advance "
                 "and adjust for them, and use a sequential boundary if anyone will look early.")
    return bullets(lines, title="Decisions")


__all__ = [
    "aa",
    "answer_key_check",
    "chosen",
    "decisions",
    "design",
    "dropped",
    "funnel_by_arm",
    "mde",
    "metric",
    "peeking",
    "readout",
    "revenue",
    "segments",
    "srm",
]
