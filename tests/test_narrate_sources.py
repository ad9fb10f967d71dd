"""Sentences of the traffic-sources lesson (helpers.narrate.sources) on hand-built tables."""

import numpy as np
import pandas as pd

from helpers.narrate import sources as ns
from helpers.stats import wilson


def summary(rows, p):
    """A channel_summary-like table from (channel, sessions, conversions, orders, aov)."""
    t = pd.DataFrame(rows, columns=["channel", "sessions", "conversions", "orders", "aov"])
    t["conversion_rate"] = t["conversions"] / t["sessions"]
    t["ci_low"], t["ci_high"] = wilson(t["conversions"].to_numpy(), t["sessions"].to_numpy())
    t["bounce_rate"] = 0.3
    t["bounce_low"], t["bounce_high"] = 0.28, 0.32
    t.attrs["test"] = {"pvalue": p}
    return t


BUNDLED_LIKE = [("Direct", 29000, 1600, 1465, 1080.0), ("Email", 12600, 690, 643, 1257.0),
                ("Search", 27800, 880, 814, 1130.0), ("Social", 11200, 140, 134, 890.0)]


# ------------------------------------------------------------------ conversion


def test_conversion_names_best_and_worst_tiers_with_intervals():
    text = ns.conversion(summary(BUNDLED_LIKE, 1e-100))
    assert "Direct and Email convert best (Direct: 5.5 %, 95 % CI" in text
    assert "Social converts worst, 1.2 % (95 % CI" in text
    assert "beyond chance (chi-square, p < 0.001)" in text
    assert "**Takeaway:** Direct and Email convert best, Social worst" in text


def test_conversion_opposite_case_social_best():
    rows = [("Direct", 29000, 150, 150, 100.0), ("Social", 11200, 600, 600, 100.0)]
    text = ns.conversion(summary(rows, 1e-50))
    assert "Social converts best" in text and "Direct converts worst" in text


def test_conversion_not_significant_says_so():
    rows = [("A", 500, 10, 10, 50.0), ("B", 480, 12, 12, 50.0)]
    text = ns.conversion(summary(rows, 0.6))
    assert "No channel's conversion differs from the rest beyond chance (chi-square, p = 0.60)" in text
    assert "converts best" not in text
    assert "judge channels on volume and cost" in text


def test_conversion_without_purchases_or_with_one_channel():
    rows = [("A", 500, 0, 0, np.nan), ("B", 480, 0, 0, np.nan)]
    text = ns.conversion(summary(rows, np.nan))
    assert "No session holds a purchase event" in text and "nan" not in text.lower()
    one = ns.conversion(summary([("A", 500, 5, 5, 10.0)], np.nan))
    assert one.startswith("Every session comes from one channel (A)")


# ------------------------------------------------------------------ costs


def costs_table(email_new=40):
    return pd.DataFrame({"channel": ["Search", "Email", "Direct"], "sessions": [900, 500, 800],
                         "users": [800, 400, 500], "new_users": [600, email_new, 300],
                         "new_buyers": [60, 8, 30], "spend": [3000.0, 100.0, 0.0],
                         "cost_per_new_user": [5.0, 100 / email_new, 0.0],
                         "cac": [50.0, 12.5, 0.0], "revenue": [9000.0, 8000.0, 7000.0],
                         "roas": [3.0, 80.0, np.nan]})


def test_costs_warn_that_last_touch_roas_flatters_a_closer():
    text = ns.costs(costs_table(), "EUR")
    assert "Search is the largest bill (3,000.00 EUR of 3,100.00 EUR" in text
    assert "Email has the highest last-touch ROAS (80.00" in text
    assert "last-touch ROAS flatters it" in text
    assert "Direct shows no spend" in text


def test_costs_no_warning_when_the_top_roas_channel_acquires_its_users():
    text = ns.costs(costs_table(email_new=350))
    assert "flatters" not in text
    assert "the lowest (3.00)" in text


def test_costs_without_spend_or_orders():
    none = costs_table().assign(spend=0.0)
    assert "no spend for any channel" in ns.costs(none)
    no_orders = costs_table().assign(cac=np.nan, new_buyers=np.nan, roas=np.nan)
    text = ns.costs(no_orders)
    assert "without orders, CAC and ROAS cannot be computed" in text and "nan" not in text


def test_cost_answer_key_names_the_furthest_channel_and_what_the_key_is():
    check = pd.DataFrame({"cost_per_new_user": [7.6, 2.3, 5.5], "planted": [7.5, 2.5, 5.5],
                          "ratio": [7.6 / 7.5, 0.92, 1.0]}, index=["Search", "Email", "Social"])
    text = ns.cost_answer_key(check)
    assert text.startswith("**Check against the answer key.**")
    # true of both simulator stories: a planted cost with daily noise, or the average cost the
    # planted response curves imply for the spend actually spent
    assert ("what the channel spent per new visitor the simulator set it to bring, on average "
            "over the period") in text
    assert "differs from it only by chance in how many visitors actually came" in text
    assert "daily noise" not in text and "charges" not in text
    assert "within 8 % of the planted value for every paid channel; Email is furthest off " \
           "(ratio 0.92)" in text


def test_spend_finds_surges_and_the_largest_line_item():
    idx = pd.date_range("2024-01-07", periods=60, freq="W")
    w = pd.DataFrame({"Search": 100.0, "Social": 50.0}, index=idx)
    w.iloc[[20, 21, 50]] *= 3
    text = ns.spend(w)
    assert text.startswith("Search is the largest line item (66.7 % of all spend")
    assert "surges in 2 episodes" in text and "3.0× a median week" in text
    assert ns.spend(pd.DataFrame()) == "No spend is recorded."


# ------------------------------------------------------------------ quality downstream


def rate_table(rates, n, p, col="repeat_rate"):
    n = np.array(n)
    k = np.round(np.array(rates) * n).astype(int)
    lo, hi = wilson(k, n)
    rate = np.divide(k, n, out=np.full(len(n), np.nan), where=n > 0)
    t = pd.DataFrame({"channel": [f"C{i}" for i in range(len(n))], "n": n, "repeaters": k,
                      "excluded": 5, col: rate, "ci_low": lo, "ci_high": hi})
    t.attrs["test"] = {"pvalue": p}
    return t


def test_repeat_significant_and_not():
    sig = ns.repeat(rate_table([0.3, 0.1], [400, 400], 1e-10), 90)
    assert "Repeat rates differ by channel (chi-square, p < 0.001): highest for C0, 30 %" in sig
    flat = ns.repeat(rate_table([0.15, 0.13], [200, 150], 0.6), 90)
    assert "No channel's repeat rate differs from the rest beyond chance" in flat
    assert "bought again within it (10 more are censored)" in flat


def test_repeat_all_censored_and_too_small():
    none = rate_table([0.0], [0], np.nan)
    assert "cannot be measured" in ns.repeat(none, 90)
    small = ns.repeat(rate_table([0.5, 0.2], [10, 5], 0.3), 90)
    assert "too few to compare channels" in small


def value_table(p, means=(150.0, 90.0, 60.0), acquired=(600, 500, 800)):
    v = pd.DataFrame({"channel": ["A", "B", "C"], "acquired": list(acquired), "n": [500, 400, 700],
                      "excluded": [100, 100, 100], "buyers": [60, 30, 35],
                      "buyer_rate": [0.12, 0.075, 0.05], "buyer_low": [0.094, 0.053, 0.036],
                      "buyer_high": [0.151, 0.105, 0.069], "mean_revenue": list(means),
                      "ci_low": [m - 30 for m in means], "ci_high": [m + 30 for m in means]})
    v.attrs["test"] = {"pvalue": p}
    return v


def test_value_significant_names_top_and_bottom_with_money_intervals():
    text = ns.value(value_table(1e-5), 180, "CNY")
    assert "users acquired through A are worth the most in their first 180 days, 150.00 CNY (95 % CI 120.00–180.00 CNY)" in text
    assert "C brings many new users (800), but each is worth the least" in text


def test_value_not_significant_and_negative_bounds_clipped():
    text = ns.value(value_table(0.4, means=(20.0, 15.0, 10.0)), 180)
    assert text.startswith("No evidence that value per acquired user differs by channel")
    assert "(95 % CI 0.00–40.00)" in text and "-" not in text.split("Kruskal")[1].split(")")[0]


def test_economics_all_pay_back_and_a_loser():
    e = pd.DataFrame({"cost_per_new_user": [2.0, 5.0], "mean_revenue": [100.0, 60.0],
                      "ci_low": [80.0, 40.0], "ci_high": [120.0, 80.0],
                      "profit_per_user": [28.0, 13.0], "profit_low": [22.0, 7.0],
                      "return_per_spend": [15.0, 3.6]}, index=["A", "B"])
    assert "every paid channel earns back its acquisition cost" in ns.economics(e, 0.3, 180)
    bad = e.assign(profit_per_user=[28.0, -1.0], profit_low=[22.0, -4.0])
    assert "B does not earn back its acquisition cost" in ns.economics(bad, 0.3, 180)
    assert "cannot be judged" in ns.economics(e.iloc[:0], 0.3, 180)


# ------------------------------------------------------------------ attribution


def models(last, markov, first=None, lo=None, hi=None, n=100):
    first = first or last
    chans = ["Direct", "Social"]

    def t(share, width):
        c = [n * x for x in share]
        return pd.DataFrame({"channel": chans, "share": share, "conversions": c,
                             "ci_low": [x - width for x in c], "ci_high": [x + width for x in c]})
    return {"first_touch": t(first, 5), "last_touch": t(last, 5), "linear": t(last, 5),
            "markov": t(markov, 3)}


def test_attribution_bundled_like_markov_moves_credit_to_openers():
    m = models([0.8, 0.2], [0.55, 0.45], first=[0.4, 0.6])
    text = ns.attribution(m)
    assert "Direct gets 80 % of the credit under last touch against 40 % under first touch" in text
    assert "gives Social more than last touch (+25.0 pp) and Direct less (−25.0 pp)" in text
    assert "judging Social by last-touch credit undervalues it" in text


def test_attribution_models_agree_within_noise():
    text = ns.attribution(models([0.6, 0.4], [0.61, 0.39]))
    assert "No channel's Markov credit differs from its last-touch credit beyond the bootstrap noise" in text
    assert "broadly agree" in text


def test_attribution_no_conversions_and_few_conversions():
    zero = models([0.0, 0.0], [0.0, 0.0], n=0)
    for t in zero.values():
        t["share"] = np.nan
    assert "nothing to credit" in ns.attribution(zero)
    few = ns.attribution(models([0.8, 0.2], [0.5, 0.5], first=[0.4, 0.6], n=10))
    assert "too few converted journeys" in few


# ------------------------------------------------------------------ decisions


def test_decisions_grow_keep_trim_without_contradiction():
    s = pd.DataFrame({"channel": ["Search", "Social", "Email"], "sessions": [900, 800, 500],
                      "conversions": [30, 10, 30], "new_users": [600, 500, 40],
                      "spend": [3000.0, 2000.0, 100.0]})
    econ = pd.DataFrame({"cost_per_new_user": [2.5, 5.0, 4.0], "mean_revenue": [190.0, 130.0, 100.0],
                         "ci_low": [90.0, 100.0, 80.0], "ci_high": [290.0, 160.0, 120.0],
                         "profit_per_user": [54.5, 34.0, 26.0], "profit_low": [24.5, 25.0, 20.0],
                         "return_per_spend": [22.8, 7.8, 7.5]}, index=["Email", "Search", "Social"])
    text = ns.decisions(s, econ=econ)
    assert "**Grow Email.**" in text
    assert "**Keep Search; it is the volume engine.**" in text
    assert "**Trim Social first if budget must be cut.**" in text
    assert "Trim Search" not in text


def test_decisions_without_spend_or_purchases():
    s = pd.DataFrame({"channel": ["A", "B"], "sessions": [100, 100], "conversions": [0, 0],
                      "spend": [np.nan, np.nan]})
    text = ns.decisions(s)
    assert "Fix purchase tracking first" in text and "Add spend data" in text
    assert "Grow" not in text


def test_unproven_payback_is_called_so_in_economics_and_decisions():
    e = pd.DataFrame({"cost_per_new_user": [2.0, 5.0, 9.0], "mean_revenue": [10.0, 20.0, 20.0],
                      "ci_low": [1.0, 2.0, 2.0], "ci_high": [19.0, 38.0, 38.0],
                      "profit_per_user": [1.0, 1.0, -3.0], "profit_low": [-1.7, -4.4, -8.4],
                      "return_per_spend": [1.5, 1.2, 0.67]}, index=["A", "B", "C"])
    text = ns.economics(e, 0.3, 180)
    assert "C does not earn back its acquisition cost" in text
    assert "A and B pay back on the estimate but not at the low end of their intervals" in text
    s = pd.DataFrame({"channel": ["A", "B", "C"], "sessions": [100, 900, 300],
                      "conversions": [5, 20, 5], "new_users": [50, 800, 100],
                      "spend": [100.0, 4000.0, 900.0]})
    d = ns.decisions(s, econ=e)
    assert "**Test more budget on A.**" in d
    assert "pays back at the assumed margin on the estimate (not proven" in d
    assert "**Cut or fix C.**" in d
