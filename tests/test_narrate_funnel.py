"""Tests of helpers.narrate.funnel: the sentences of notebook 03 follow the numbers given."""

import numpy as np
import pandas as pd
import pytest

from helpers import funnel as fu
from helpers.narrate import funnel as tell
from helpers.stats import wilson

STEPS = ["view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]


def ftable(ns, steps=STEPS, **by):
    """A funnel table (as helpers.funnel.funnel returns) from the units at each step."""
    ns = np.asarray(ns)
    prev = np.r_[ns[0], ns[:-1]]
    lo, hi = wilson(ns, prev)
    t = pd.DataFrame({"step": steps, "step_index": range(len(steps)),
                      "from_step": [None, *steps[:-1]], "n": ns, "n_prev": prev,
                      "rate_from_start": ns / ns[0] if ns[0] else np.nan,
                      "rate_from_prev": np.where(prev > 0, ns / np.maximum(prev, 1), np.nan),
                      "ci_low": np.r_[np.nan, lo[1:]], "ci_high": np.r_[np.nan, hi[1:]],
                      "median_time_from_prev": pd.NaT})
    for col, val in by.items():
        t.insert(0, col, val)
    return t


def shop_devices(mobile_pay=0.55, desktop_pay=0.9):
    """Mobile and desktop that differ only at the last step (the bundled shop's pattern)."""
    m = ftable([20000, 3000, 1500, 1100, round(1100 * mobile_pay)], device="mobile")
    d = ftable([10000, 1500, 750, 560, round(560 * desktop_pay)], device="desktop")
    return pd.concat([d, m], ignore_index=True)


# --------------------------------------------------------------------------- 1 · the funnel

def test_session_funnel_names_the_narrowest_step_and_the_expensive_late_loss():
    text = tell.session_funnel(ftable([90000, 14000, 6800, 5000, 3500]))
    assert "narrows most at `add_to_cart`" in text
    assert "1,500 sessions (30 %) reached `add_payment_info` and did not go on" in text
    assert "losses near the end are the expensive ones" in text


def test_session_funnel_when_the_last_step_is_the_narrowest():
    text = tell.session_funnel(ftable([1000, 800, 700, 600, 60]))
    assert "narrows most at `purchase`" in text and "its last step" in text
    assert "losses near the end" not in text


def test_session_funnel_says_a_step_is_absent_and_when_numbers_are_few():
    f = ftable([200, 30, 0, 0, 0])
    f.attrs["absent_steps"] = ["begin_checkout"]
    text = tell.session_funnel(f)
    assert "no `begin_checkout` events at all" in text and "**Warning:**" in text
    assert "No session went on" not in text          # absent is not "nobody went on"
    assert "narrows most at `add_to_cart`" in text    # not at the step the log lacks
    assert "narrows most at `begin_checkout`" not in text and "cannot be read" in text
    assert "nan" not in text.lower()


def test_session_funnel_on_empty_and_one_step_funnels():
    empty = tell.session_funnel(ftable([0, 0, 0, 0, 0]))
    assert "funnel is empty" in empty and "nan" not in empty.lower()
    one = tell.session_funnel(ftable([185], steps=["purchase"]))
    assert "only one funnel step" in one and "185 sessions" in one


def test_sessions_vs_users_larger_equal_and_none():
    s, u = ftable([1000, 100, 60, 50, 40]), ftable([400, 80, 50, 40, 36])
    assert "a far larger share" in tell.sessions_vs_users(s, u, "30D")
    assert "within 30 days" in tell.sessions_vs_users(s, u, "30D")
    same = tell.sessions_vs_users(s, ftable([950, 95, 57, 48, 38]), "30D")
    assert "agree closely" in same
    zero = tell.sessions_vs_users(ftable([50, 5, 0, 0, 0]), ftable([40, 5, 0, 0, 0]), "1D")
    assert "No session and no user" in zero and "agree" not in zero


# --------------------------------------------------------------------------- 3 · segments

def test_breakdown_names_the_lowest_device_wherever_it_is():
    t = shop_devices()
    text = tell.breakdown(t, fu.compare(t), fu.pairwise(t))
    assert "`mobile` continues least" in text and "`add_payment_info → purchase`" in text
    assert "sit late" in text
    # the opposite shop: desktop pays least
    t = shop_devices(mobile_pay=0.9, desktop_pay=0.5)
    text = tell.breakdown(t, fu.compare(t), fu.pairwise(t))
    assert "`desktop` continues least" in text and "`mobile` most" in text


def test_breakdown_without_significance_or_with_one_segment():
    t = shop_devices(mobile_pay=0.7, desktop_pay=0.7)
    text = tell.breakdown(t, fu.compare(t), fu.pairwise(t))
    assert "no step rate differs between the segments beyond chance" in text
    assert "least" not in text
    one = ftable([100, 10, 5, 4, 3], device="mobile")
    assert "only one device" in tell.breakdown(one, fu.compare(one))


def test_where_segments_differ_early_late_none_and_absent():
    dev = shop_devices()
    ch = pd.concat([ftable([10000, 600, 250, 180, 126], channel="Social"),
                    ftable([10000, 1800, 900, 650, 455], channel="Email")], ignore_index=True)
    text = tell.where_segments_differ({"device": fu.compare(dev), "channel": fu.compare(ch)})
    assert "device differences are largest late" in text
    assert "channel differences are largest early" in text and "different fixes" in text
    flat = shop_devices(mobile_pay=0.7, desktop_pay=0.7)
    assert "no device differs from the rest beyond chance" in tell.where_segments_differ(
        {"device": fu.compare(flat)})
    assert "no device or channel" in tell.where_segments_differ({})


# --------------------------------------------------------------------------- 4 · bottleneck

def test_bottleneck_significant_none_and_empty():
    t = shop_devices()
    text = tell.bottleneck(fu.bottlenecks(t))
    assert text.startswith("The largest significant shortfall is `mobile` (device) at "
                           "`add_payment_info → purchase`")
    flat = tell.bottleneck(fu.bottlenecks(shop_devices(mobile_pay=0.7, desktop_pay=0.7)))
    assert "No step × segment falls significantly below the rest" in flat
    assert "within chance" in flat
    assert "no bottleneck" in tell.bottleneck(fu.bottlenecks([]))


# --------------------------------------------------------------------------- 5 · carts

def carts(abandoned, bought, later=0, censored=0, **by):
    n = abandoned + bought
    lo, hi = wilson(np.array([abandoned]), np.array([n]))
    row = {"carts": n, "same_session": bought - later, "later_session": later,
           "abandoned": abandoned, "abandonment_rate": abandoned / n if n else np.nan,
           "ci_low": lo[0], "ci_high": hi[0], "censored": censored}
    return pd.DataFrame([{**by, **row}])


def test_abandonment_says_typical_only_inside_the_typical_range():
    inside = tell.abandonment(carts(700, 300, later=40), "7D")
    assert "70 % (95 % CI" in inside and "within the 60–80 % typical" in inside
    above = tell.abandonment(carts(950, 50), "7D")
    assert "above the 60–80 % typical" in above and "within the 60–80" not in above
    below = tell.abandonment(carts(300, 700, later=100), "7D")
    assert "below the 60–80 % typical" in below


def test_abandonment_links_the_worst_device_to_the_bottleneck():
    by = pd.concat([carts(760, 240, device="mobile"), carts(600, 400, device="desktop")],
                   ignore_index=True)
    bn = fu.bottlenecks(shop_devices())
    text = tell.abandonment(carts(1360, 640, later=50), "7D", by=by, bn=bn)
    assert "`mobile` carts are abandoned most often" in text and "helps explain" in text
    close = pd.concat([carts(700, 300, device="mobile"), carts(690, 310, device="desktop")],
                      ignore_index=True)
    assert "No device abandons clearly more" in tell.abandonment(carts(1390, 610), "7D", by=close)


def test_abandonment_with_no_carts_or_only_recent_ones():
    none = tell.abandonment(carts(0, 0), "7D")
    assert "no carts to judge" in none and "nan" not in none.lower()
    recent = tell.abandonment(carts(0, 0, censored=118), "7D")
    assert "All 118 carts are too recent to judge" in recent


# --------------------------------------------------------------------------- 6 · time

def quantiles(*times, n=500):
    q = pd.Series(pd.to_timedelta(list(times)), index=[0.25, 0.5, 0.75, 0.9])
    q.attrs["n"] = n
    return q


def ttc(share_over_a_day, n=500):
    fast = round(n * (1 - share_over_a_day))
    return pd.DataFrame({"bin": ["1–5 min", "1–3 days"], "n": [fast, n - fast]})


def test_conversion_time_in_minutes_and_in_days():
    quick = tell.conversion_time(ttc(0.15), quantiles("3min", "4min", "7min", "8D"), STEPS, "30D")
    assert "within 4 min of their first `view_item`" in quick and "quick" in quick
    slow = tell.conversion_time(ttc(0.8), quantiles("1D", "3D", "6D", "12D"), STEPS, "30D")
    assert "within 3.0 days" in slow and "takes days" in slow
    assert "minutes" not in slow and "quick" not in slow


def test_conversion_time_with_nobody_few_or_a_short_log():
    none = tell.conversion_time(ttc(0, n=0), quantiles(*[pd.NaT] * 4, n=0), STEPS, "30D")
    assert "no time to convert" in none and "nan" not in none.lower()
    one = tell.conversion_time(ttc(0, n=1), quantiles(*["3min"] * 4, n=1), STEPS, "30D")
    assert "Only 1 user" in one and "Half" not in one
    short = tell.conversion_time(ttc(0), quantiles("2min", "3min", "4min", "7min"), STEPS, "30D",
                                 span=pd.Timedelta("3h"))
    assert "covers only 3.0 h" in short and "too short" in short


# --------------------------------------------------------------------------- 7 · what first

def test_fix_first_ranks_by_purchases_and_says_when_nothing_is_significant():
    t = shop_devices()
    overall = ftable([30000, 4500, 2250, 1660, 1109])
    text = tell.fix_first(fu.fix_first(fu.bottlenecks(t), overall), fu.bottlenecks(t))
    assert text.startswith("At the rate of everyone else, `mobile` (device) at "
                           "`add_payment_info → purchase`")
    assert "purchases" in text
    flat = fu.bottlenecks(shop_devices(mobile_pay=0.7, desktop_pay=0.7))
    none = tell.fix_first(fu.fix_first(flat, overall), flat)
    assert "No step × segment falls significantly below the rest" in none
    other = tell.fix_first(fu.fix_first(fu.bottlenecks(t), overall), fu.bottlenecks(t),
                           last="add_payment_info")
    assert "sessions reaching `add_payment_info`" in other and "purchases" not in other


def test_decisions_follow_the_findings():
    t = shop_devices()
    overall = ftable([30000, 4500, 2250, 1660, 1109])
    fix = fu.fix_first(fu.bottlenecks(t), overall)
    text = tell.decisions(overall, fix, carts(700, 300, later=40), {"device": fu.compare(t)},
                          "30D", "7D")
    assert "**Fix `mobile` (device) at `add_payment_info → purchase` first.**" in text
    assert "cart reminders" in text and "Judge channels" not in text
    bare = tell.decisions(ftable([185], steps=["purchase"]), fix.iloc[0:0], carts(0, 0), {},
                          "30D", "7D")
    assert "Record the funnel's steps" in bare


# --------------------------------------------------------------------------- 4b · when and where

def ptable(rows, **attrs):
    """A period_bottlenecks table from (dimension, segment, period, step, n_prev, rate,
    rate_usual, gap_others, p_adj, significant) rows, ranked as the function ranks them."""
    cols = ["dimension", "segment", "period", "step", "n_prev", "rate", "rate_usual",
            "gap_others", "p_adj", "significant"]
    t = pd.DataFrame(rows, columns=cols).assign(from_step="add_payment_info")
    t["gap"] = t["rate"] - t["rate_usual"]
    t["missing"] = -t["gap"] * t["n_prev"]
    t = t.sort_values(["significant", "missing"], ascending=False, kind="stable")
    t = t.reset_index(drop=True)
    t.attrs.update({"freq": "M", "method": "fdr_bh", "unit": "session", "min_n": 30,
                    "too_small": 0, "reason": None, **attrs})
    return t


DESKTOP_MARCH = ("device", "desktop", "2025-03-01", "purchase", 200, 0.40, 0.88, -0.01, 1e-9,
                 True)


def test_period_bottleneck_names_the_cell_its_month_and_the_units_lost():
    text = tell.period_bottleneck(ptable([DESKTOP_MARCH, ("device", "mobile", "2025-03-01",
                                                          "purchase", 400, 0.54, 0.55, -0.08,
                                                          0.9, False)]))
    assert text.startswith("The largest shortfall with a date is `desktop` (device) at "
                           "`add_payment_info → purchase` in March 2025: 40 % of its 200 "
                           "sessions there went on, against 88 % in its other months (−48.0 pp, "
                           "Benjamini–Hochberg-adjusted p < 0.001), about 96 sessions lost.")
    assert "moved −1.0 pp at that step in March 2025, so the drop is `desktop`'s own" in text
    assert "**Takeaway:** look at what changed for `desktop` at `add_payment_info → purchase` " \
           "in March 2025" in text
    assert "Next:" not in text and "nan" not in text.lower()


def test_period_bottleneck_tells_a_shop_wide_month_and_lists_the_other_months_and_cells():
    rows = [("channel", "Direct", "2025-03-01", "purchase", 300, 0.50, 0.66, -0.12, 1e-6, True),
            ("channel", "Direct", "2025-04-01", "purchase", 300, 0.60, 0.66, -0.10, 1e-3, True),
            ("channel", "Email", "2025-03-01", "purchase", 100, 0.50, 0.66, -0.15, 1e-3, True),
            ("device", "tablet", "2024-11-01", "purchase", 90, 0.50, 0.70, 0.0, 0.01, True),
            ("device", "mobile", "2024-11-01", "purchase", 90, 0.56, 0.70, 0.0, 0.01, True)]
    text = tell.period_bottleneck(ptable(rows, method="holm"))
    assert "`Direct` (channel) at `add_payment_info → purchase` in March 2025" in text
    assert "Holm-adjusted" in text
    assert "It is significantly short at that step in April 2025 as well." in text
    assert "fell too (−12.0 pp)" in text and "the whole shop did worse then" in text
    # ranked by sessions lost: tablet 90 × 20 pp = 18, Email 100 × 16 pp = 16, mobile 12.6
    assert ("Next: `tablet` (device) at `add_payment_info → purchase` in November 2024 "
            "(−20.0 pp) and `Email` (channel) at `add_payment_info → purchase` in March 2025 "
            "(−16.0 pp), and 1 other segment or step with a significant shortfall.") in text
    assert "look at what changed for the whole shop" in text


def test_period_bottleneck_against_the_structural_bottleneck():
    bn = pd.DataFrame({"dimension": ["device"], "segment": ["mobile"],
                       "from_step": ["add_payment_info"], "step": ["purchase"],
                       "significant": [True]})
    other = tell.period_bottleneck(ptable([DESKTOP_MARCH]), bn)
    assert ("The bottleneck above, `mobile` (device) at `add_payment_info → purchase`, has no "
            "month significantly below its own usual rate") in other
    mobile = ("device", "mobile", "2025-01-01", "purchase", 500, 0.30, 0.55, 0.0, 1e-9, True)
    same = tell.period_bottleneck(ptable([mobile]), bn)
    assert "It is the segment and step of the bottleneck above" in same
    assert "falls short there all along, and further in January 2025" in same
    smaller = ("device", "mobile", "2025-01-01", "purchase", 100, 0.30, 0.55, 0.0, 1e-3, True)
    both = tell.period_bottleneck(ptable([DESKTOP_MARCH, smaller]), bn)
    assert ("also falls below its own usual rate in January 2025, but this shortfall cost more "
            "sessions.") in both


def test_period_bottleneck_says_plainly_when_nothing_stands_out():
    flat = ptable([("device", "desktop", "2025-03-01", "purchase", 200, 0.80, 0.88, 0.0, 0.4,
                    False)], too_small=12)
    text = tell.period_bottleneck(flat)
    assert text.startswith("No segment falls significantly below its own usual rate at any step "
                           "in any month")
    assert ("over 1 cell). The largest loss, `desktop` (device) at `add_payment_info → purchase` "
            "in March 2025 (about 16 sessions below its usual rate, −8.0 pp), is within "
            "chance.") in text
    assert "(12 cells with fewer than 30 sessions at the previous step were not tested.)" in text
    assert "**Takeaway:** no segment had a month clearly worse than its usual" in text
    weekly = tell.period_bottleneck(ptable([("device", "desktop", "2025-03-03", "purchase", 200,
                                             0.80, 0.88, 0.0, 0.4, False)], freq="W"))
    assert "in any week" in weekly and "in the week of 3 Mar 2025" in weekly


@pytest.mark.parametrize("attrs, words", [
    ({"reason": "no_breakdown", "absent": ["device", "channel"]},
     "The data has no `device` or `channel` column to break the funnel down by"),
    ({"reason": "no_breakdown", "absent": []}, "no breakdown column"),
    ({"reason": "one_step"}, "With a single funnel step there is no step rate"),
    ({"reason": "one_period"}, "The data covers fewer than two months, so no segment"),
    ({"reason": "one_period", "censored_periods": 1, "unit": "user"},
     "once the last month is left out (their users could not finish"),
    ({"reason": "too_small", "min_n": 30}, "No segment has 30 sessions at the previous step"),
    ({}, "No segment × month could be tested."),
])
def test_period_bottleneck_explains_an_empty_table(attrs, words):
    empty = pd.DataFrame(columns=fu.PERIOD_BOTTLENECK_COLUMNS)
    empty.attrs.update(attrs)
    assert words in tell.period_bottleneck(empty)


def test_period_bottleneck_reads_a_real_table_end_to_end():
    from test_period_bottlenecks import STEPS as S
    from test_period_bottlenecks import shop

    ev, ses = shop(months=4, drop=("desktop", "2024-03-01", "2024-03-31", 0.3))
    pb = fu.period_bottlenecks(ev, S, sessions=ses)
    bn = fu.bottlenecks([fu.funnel(ev, S, by=c, sessions=ses) for c in ("device", "channel")])
    text = tell.period_bottleneck(pb, bn)
    assert "`desktop` (device) at `add_payment_info → purchase` in March 2024" in text
    assert "so the drop is `desktop`'s own" in text
    assert "The bottleneck above, `mobile` (device)" in text


# --------------------------------------------------------------------------- answer key

def test_answer_key_narrators_compare_with_the_key():
    t = shop_devices()
    text = tell.key_devices(t, {"mobile": {"add_payment_info->purchase": 0.55},
                                "desktop": {"add_payment_info->purchase": 0.60}})
    assert "1 of 2 planted step rates lie inside" in text and "`desktop`" in text
    key = {"device": "mobile", "from_step": "add_payment_info", "step": "purchase"}
    assert "found it" in tell.key_bottleneck(fu.bottlenecks(t), key)
    assert "missed it" in tell.key_bottleneck(fu.bottlenecks([]), key)
    ch = pd.DataFrame({"channel": ["A", "B", "C"], "step_index": 4,
                       "rate_from_start": [0.01, 0.05, 0.03]})
    assert "1 of 3 channels sit at their planted rank" in tell.key_channels(ch, ["C", "B", "A"])


@pytest.mark.parametrize("window, words", [("7D", "7 days"), ("1D", "1 day"), ("12h", "12 h")])
def test_windows_in_words(window, words):
    assert tell._window(window) == words


def test_in_progress_says_how_many_wait_and_what_the_censored_rate_is():
    naive = pd.DataFrame({"step": ["view", "buy"], "step_index": [0, 1], "n": [100, 20],
                          "rate_from_start": [1.0, 0.2], "rate_from_prev": [1.0, 0.2]})
    cens = naive.assign(in_progress=[0, 30], n_prev_decided=[100, 70], n_decided=[100, 20],
                        rate_from_start=[1.0, 20 / 70], rate_from_prev=[1.0, 20 / 70],
                        ci_low=[None, 0.19], ci_high=[None, 0.40])
    text = str(tell.in_progress(naive, cens, "7D"))
    assert "30 of the 100 users who started (30 %)" in text
    assert "to 20 %" in text and "it is 28.6 %" in text and "understate" in text
    none = str(tell.in_progress(naive, cens.assign(in_progress=0), "7D"))
    assert "nobody is in progress" in none


def test_order_modes_reports_what_strict_order_loses():
    f = lambda r: pd.DataFrame({"step": ["a", "b"], "n": [100, round(100 * r)],
                                "rate_from_start": [1.0, r]})
    text = str(tell.order_modes({"ordered": f(0.2), "strict": f(0.1), "any": f(0.25)}))
    assert "20 % of the sessions" in text and "10 % in strict order" in text
    assert "50 % of the sessions that complete the ordered funnel" in text
    assert "lifts the share to 25 %" in text
    same = str(tell.order_modes({"ordered": f(0.2), "strict": f(0.2)}))
    assert "the strict order loses nobody" in same


def test_step_gaps_says_what_a_per_step_gap_removes():
    f = lambda n: pd.DataFrame({"step": ["view", "cart", "buy"], "n": n})
    text = str(tell.step_gaps(f([100, 40, 20]), f([100, 30, 15]), "1D", "30D"))
    assert "15 of the 20 users" in text and "(75 %)" in text
    assert "Most are lost at `cart` (10 users fewer" in text and "25 %" in text
    same = str(tell.step_gaps(f([100, 40, 20]), f([100, 40, 20]), "1D", "30D"))
    assert "changes nothing" in same


def test_in_progress_when_no_window_has_closed_says_the_funnel_cannot_tell_yet():
    naive = pd.DataFrame({"step": ["view", "buy"], "step_index": [0, 1], "n": [100, 20],
                          "rate_from_start": [1.0, 0.2], "rate_from_prev": [1.0, 0.2]})
    cens = naive.assign(in_progress=[0, 80], n_prev_decided=[100, 0], n_decided=[100, 0],
                        rate_from_start=[1.0, np.nan], rate_from_prev=[1.0, np.nan],
                        ci_low=[None, np.nan], ci_high=[None, np.nan])
    text = str(tell.in_progress(naive, cens, "30D"))
    assert "80 of the 100 users" in text and "cannot tell who dropped out" in text
    assert "n/a" not in text and "change the rates little" not in text
