"""Narration of response curves and budgets: each claim follows the numbers of the table it is given."""

import numpy as np
import pandas as pd
import pytest

from helpers import budget
from helpers.narrate import budget as say


def _params(current=(220.0, 300.0), half=(80.0, 900.0), half_hi=(95.0, 2000.0), r2=0.91,
            pooled=True, decay=(0.2, 0.7)):
    p = pd.DataFrame({"channel": ["search", "video"], "decay": list(decay),
                      "decay_lo": [0.15, 0.6], "decay_hi": [0.25, 0.8],
                      "half_saturation": [100.0, 3000.0], "half_saturation_lo": [80.0, 1500.0],
                      "half_saturation_hi": [120.0, 6000.0], "shape": [1.0, 1.4],
                      "shape_lo": [0.8, 1.1], "shape_hi": [1.2, 1.9],
                      "max_response": [250.0, 600.0], "max_response_lo": [220.0, 450.0],
                      "max_response_hi": [300.0, 900.0], "half_spend": list(half),
                      "half_spend_lo": [60.0, 500.0], "half_spend_hi": list(half_hi),
                      "current": list(current)})
    if not pooled:
        p["r2"] = [0.8, 0.6]
    p.attrs.update(r2=r2, outcome="revenue", step_days=1.0, pooled=pooled, alpha=0.1)
    return p


def _marginal(marginal=(1.8, 0.4), lo=(1.4, 0.1), hi=(2.2, 0.9), spend=(100.0, 300.0)):
    m = pd.DataFrame({"channel": ["a", "b"], "spend": list(spend), "response": [250.0, 330.0],
                      "average": [2.5, 1.1], "marginal": list(marginal),
                      "marginal_lo": list(lo), "marginal_hi": list(hi)})
    m.attrs.update(outcome="revenue", step_days=1.0, alpha=0.1)
    return m


def _plan(change=(-40.0, 40.0), gain=(12.5, 4.0, 20.0), p_gain=0.99, total=200.0, step=1.0):
    cur = np.array([100.0, 100.0])
    plan = pd.DataFrame({"channel": ["a", "b"], "current": cur, "proposed": cur + change,
                         "change": list(change), "response_current": [150.0, 100.0],
                         "response_proposed": [140.0, 122.5]})
    plan.attrs.update(total=total, gain=gain[0], gain_lo=gain[1], gain_hi=gain[2],
                      p_gain=p_gain, bounds=(0.5, 1.5), outcome="revenue", step_days=step,
                      alpha=0.1)
    return plan


# --------------------------------------------------------------------------- fit


def test_fit_names_the_saturated_channel():
    text = say.fit(_params(), currency="CNY")
    assert "explain 91 % of the variation in daily revenue (R² = 0.91)" in text
    assert "with all channels fitted jointly" in text
    assert "search (220.00 CNY per day against 80.00 CNY, 90 % interval 60.00–95.00 CNY)" in text
    assert "The others have room to grow: video." in text
    assert "the next day it still counts at 20 % on search and 70 % on video" in text
    assert "extra budget on search buys little" in text
    assert "do not rule out more room" not in text


def test_fit_without_saturation_and_with_a_poor_fit():
    text = say.fit(_params(current=(50.0, 300.0), r2=0.12, pooled=False, decay=(0.0, 0.0)))
    assert "No channel is near saturation" in text
    assert "each channel fitted on its own outcome (R² search 0.80 and video 0.60)" in text
    assert "That is little" in text
    assert "works in the day it is spent and not after" in text
    assert "buys little" not in text


def test_fit_says_when_the_half_point_is_uncertain():
    text = say.fit(_params(current=(90.0, 300.0), half_hi=(120.0, 2000.0)))
    assert "For search the interval reaches above today's spend" in text
    assert "search may be near its ceiling" in text and "buys little" not in text


# --------------------------------------------------------------------------- marginal


def test_marginal_roas_branches():
    text = say.marginal(_marginal(), currency="EUR")
    assert "the last 1 EUR brings 1.80 EUR of revenue (90 % interval 1.40–2.20)" in text
    assert "against 2.50 EUR on average; it pays for itself." in text
    assert "it does not pay for itself. The interval is wide" in text
    assert text.index("**a**") < text.index("**b**")  # ranked by marginal return
    assert "works hardest on a and least on b" in text
    unclear = say.marginal(_marginal(marginal=(1.1, 0.9), lo=(0.8, 0.7), hi=(1.5, 1.2)))
    assert "whether it pays for itself the data cannot tell" in unclear
    assert "the last unit of spend brings" in unclear  # no currency assumed
    assert "cannot rank the channels at the margin" in unclear
    assert "EUR" not in unclear and "wide" not in unclear


def test_marginal_as_a_cost_per_unit():
    text = say.marginal(_marginal(marginal=(0.5, 0.1), lo=(0.4, 0.0), hi=(0.625, 0.2)),
                        unit="new user", currency="CNY")
    assert "one more new user costs 2.00 CNY at the margin (90 % interval 1.60–2.50 CNY)" in text
    assert "against 0.400 CNY on average" in text  # 100 / 250
    assert "from 5.00 CNY up to no return at all" in text
    assert "pays for itself" not in text


def test_marginal_without_spend_today():
    text = say.marginal(_marginal(spend=(100.0, 0.0), marginal=(1.8, np.nan),
                                  lo=(1.4, np.nan), hi=(2.2, np.nan)))
    assert "**b**: no spend today" in text
    assert "nothing to rank" in text


# --------------------------------------------------------------------------- allocation


def test_allocation_with_a_clear_gain():
    text = say.allocation(_plan(), currency="EUR")
    assert "moving 40.00 EUR per day from a (−40 %) to b (+40 %)" in text
    assert "Expected gain: 12.50 EUR of revenue per day (90 % interval 4.00 to 20.00 EUR)" in text
    assert "5 % more than the channels bring today" in text
    assert "gains in 99 % of the bootstrap draws" in text
    assert "move budget toward b in steps" in text
    assert "do not show a better split" not in text


def test_allocation_names_the_optimism_it_takes_out():
    plan = _plan(gain=(10.0, 4.0, 20.0))
    plan.attrs.update(gain_apparent=12.5, optimism=2.5)
    text = say.allocation(plan, currency="EUR")
    assert "Expected gain: 10.00 EUR of revenue per day (90 % interval 4.00 to 20.00 EUR)" in text
    assert ("On the fitted curves alone the plan would bring 12.50 EUR of revenue per day; "
            "2.50 EUR of that is the optimism") in text
    plan.attrs.update(gain_apparent=9.0, optimism=-1.0)
    assert "finds no optimism to take out" in say.allocation(plan, currency="EUR")


def test_allocation_when_the_interval_lies_below_zero():
    plan = _plan(change=(-20.0, 20.0), gain=(-2.0, -4.0, -0.5), p_gain=0.02)
    plan.attrs.update(gain_apparent=1.0, optimism=3.0)
    text = say.allocation(plan, unit="new user")
    assert "Expected gain: −2.00 new users per day (90 % interval −4.00 to −0.500 new users)" in text
    assert "0.8 % less than the channels bring today" in text
    assert "The whole interval lies below zero" in text
    assert "keep today's split" in text and "move budget toward" not in text


def test_allocation_when_the_data_cannot_tell():
    text = say.allocation(_plan(change=(-10.0, 10.0), gain=(0.8, -3.0, 5.0), p_gain=0.62,
                                step=7.0), unit="session")
    assert "per week" in text
    assert "Expected gain: 0.800 sessions per week (90 % interval −3.00 to 5.00 sessions)" in text
    assert "the data do not show a better split than today's" in text
    assert "keep today's split" in text and "move budget toward" not in text


def test_allocation_edge_cases():
    still = say.allocation(_plan(change=(0.0, 0.0), gain=(0.0, 0.0, 0.0)))
    assert "already the best the curves find" in still
    no_draws = say.allocation(_plan(gain=(12.5, np.nan, np.nan), p_gain=np.nan))
    assert "There are no bootstrap draws" in no_draws
    bigger = _plan(change=(10.0, 30.0), total=240.0)
    more = say.allocation(bigger)
    assert "adding to a (+10 %) and b (+30 %), spending 40.00 per day against today" in more
    assert "Net of that change in spend the plan loses 27.50 per day" in more


# --------------------------------------------------------------------------- answer key


def test_answer_key_counts_the_true_values_inside():
    p = _params()
    text = say.answer_key(p, {"search": {"decay": 0.2, "half_saturation": 150.0},
                              "video": {"shape": 1.5, "max_response": 600.0},
                              "tv": {"decay": 0.5}})
    assert "decay 0.200 (true 0.200, inside 0.150–0.250)" in text
    assert "half-saturation 100 (true 150, outside 80.0–120)" in text
    assert "**tv**: not among the fitted channels." in text
    assert "3 of 4 true parameter values lie inside their intervals" in text
    assert "curve at" not in text  # a params table has no bootstrap draws to draw a band from
    assert text.startswith("**Check against the answer key.**")


# --------------------------------------------------------------------------- on a real fit


@pytest.fixture(scope="module")
def resp():
    rng = np.random.default_rng(2)
    days = 364
    d = pd.date_range("2024-01-01", periods=days, freq="D")
    x = {"a": rng.lognormal(np.log(100), 0.6, days), "b": rng.lognormal(np.log(100), 0.6, days)}
    y = 200 + 400 * budget.hill(budget.adstock(x["a"], 0.3), 50.0, 1.0) + \
        4000 * budget.hill(budget.adstock(x["b"], 0.5), 2000.0, 1.0) + rng.normal(0, 10, days)
    spend = pd.concat([pd.DataFrame({"date": d, "channel": c, "spend": v}) for c, v in x.items()])
    return budget.fit_response(spend, pd.DataFrame({"date": d, "revenue": y}), weekday=False,
                               n_boot=20)


def test_narrators_take_a_response(resp):
    assert "a (" in say.fit(resp, currency="EUR").split("Near saturation")[1]
    assert "works hardest on b and least on a" in say.marginal(resp, currency="EUR")
    text = say.allocation(resp, currency="EUR")
    assert "from a (−" in text and "to b (+" in text and "move budget toward b" in text
    key = say.answer_key(resp, {"a": {"decay": 0.3}, "b": {"decay": 0.5}})
    assert "of 2 true parameter values lie inside" in key


def test_answer_key_sets_the_true_curve_against_the_band(resp):
    truth = {"a": {"decay": 0.3, "half_saturation": 50.0, "shape": 1.0, "max_response": 400.0},
             "b": {"decay": 0.5, "half_saturation": 2000.0, "shape": 1.0,
                   "max_response": 4000.0}}
    text = say.answer_key(resp, truth)
    assert "each fitted curve and parameter is set against its true value" in text
    x = np.array([0.5, 1.0, 1.5]) * resp.current["b"]
    fitted = resp._r(resp.point[1], x)
    assert f"curve at 50 %, 100 % and 150 % of today's spend {say._num(fitted[0])}" in text
    # the counts follow the bands
    inside = 0
    for i, c in enumerate(resp.channels):
        x = np.array([0.5, 1.0, 1.5]) * resp.current[c]
        t = budget.response(x, *(truth[c][k] for k in ("decay", "half_saturation", "shape",
                                                        "max_response")))
        lo, hi = np.quantile(resp._r(resp.boot[:, i, None, :], x[None, :]), [0.05, 0.95], axis=0)
        inside += int(((lo <= t) & (t <= hi)).sum())
    assert f"The true curve lies inside the 90 % band at {inside} of 6 points" in text
    # b spends far below its half-saturation: the miss of its K or β is explained, if any
    p = resp.params.set_index("channel")
    miss = sum(not p.loc["b", f"{k}_lo"] <= truth["b"][k] <= p.loc["b", f"{k}_hi"]
               for k in ("half_saturation", "max_response"))
    assert ("only the slope the two make together is pinned down" in text) == (miss > 0)


def test_outliers_are_named_run_by_run():
    p = _params(pooled=False)
    rows = [{"date": pd.Timestamp("2025-05-12") + pd.Timedelta(days=d), "channel": "video",
             "weight": 0.0} for d in range(4)]
    rows += [{"date": pd.Timestamp("2024-11-30"), "channel": "search", "weight": 0.31},
             {"date": pd.Timestamp("2024-12-01"), "channel": "search", "weight": 0.12}]
    p.attrs.update(robust=True, outliers=rows)
    text = say.fit(p, currency="CNY")
    assert ("6 days weighed less as outliers: 30 Nov – 1 Dec 2024 on search (weights "
            "0.12–0.31) and 12–15 May 2025 on video (weight 0)") in text
    assert text.index("weighed less") < text.index("Near saturation")
    p.attrs.update(outliers=[])
    assert "No day stood out enough to be weighed less as an outlier." in say.fit(p)
    p.attrs.update(robust=False)
    assert "outlier" not in say.fit(p)
    many = _params()
    many.attrs.update(robust=True, step_days=7.0, outliers=[
        {"date": pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=2 * k), "channel": None,
         "weight": 0.2} for k in range(8)])
    text = say.outliers(many, most=3)
    assert text.startswith("8 weeks weighed less as outliers: 1 Jan 2024 (weight 0.20), ")
    assert "and 5 more." in text and " on " not in text.split(".")[0]


def test_fit_names_the_incident_on_a_real_fit():
    rng = np.random.default_rng(5)
    days = 400
    d = pd.date_range("2024-01-01", periods=days, freq="D")
    x = rng.lognormal(np.log(100), 0.6, days)
    y = 20 + 30 * budget.hill(budget.adstock(x, 0.3), 80.0, 1.0) + rng.normal(0, 2, days)
    y[200:203] += 60  # three days of traffic bought outside the curve
    fit = budget.fit_response(pd.DataFrame({"date": d, "channel": "ads", "spend": x}),
                              pd.DataFrame({"date": d, "channel": "ads", "visits": y}),
                              weekday=False, n_boot=10)
    text = say.fit(fit)
    assert "3 days weighed less as outliers: 19–21 Jul 2024 on ads (weight 0)" in text
    assert "daily visits" in text


def test_answer_key_checks_the_planted_campaign_against_the_outliers():
    p = _params(pooled=False)
    rows = [{"date": pd.Timestamp("2025-05-12") + pd.Timedelta(days=d), "channel": "video",
             "weight": 0.0} for d in range(3)]
    rows.append({"date": pd.Timestamp("2025-05-17"), "channel": "video", "weight": 0.3})  # tail
    rows.append({"date": pd.Timestamp("2025-02-01"), "channel": "search", "weight": 0.4})
    p.attrs.update(robust=True, outliers=rows)
    inc = [{"kind": "low_intent", "channel": "video", "start": "2025-05-12", "end": "2025-05-15"},
           {"kind": "outage", "channel": "search", "start": "2025-01-01", "end": "2025-01-02"}]
    text = say.answer_key(p, {"video": {"decay": 0.7}}, incidents=inc)
    assert ("The planted low-intent campaign on video (12–15 May 2025) bought visitors outside "
            "the curve; 3 of its 4 days are among the outliers the robust fit weighed less.") in text
    assert "Besides it, 1 day was weighed less: 1 Feb 2025 on search." in text
    assert "outage" not in text
    p.attrs.update(outliers=rows[:4])
    assert "No other day was weighed less." in say.answer_key(p, {}, incidents=inc)
    p.attrs.update(robust=False)
    assert "low-intent" not in say.answer_key(p, {}, incidents=inc)
