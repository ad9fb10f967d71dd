"""Arguments are checked at the door: a ValueError naming the argument and what it accepts.

Each call here once returned something wrong instead (issue "bad input", class 6): a funnel of
one-letter steps, an inverted interval, a power of 2.0, rules that silently matched nothing, a
pandas message about unit abbreviations.
"""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from helpers import experiments as ex
from helpers import funnel, paths


@pytest.fixture(scope="module")
def ev():
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    return pd.DataFrame({"session_id": [1, 1, 2], "user_id": [1, 1, 2],
                         "ts": t0 + pd.to_timedelta([0, 1, 0], unit="min"),
                         "event": ["view_item", "purchase", "view_item"]})


def test_funnel_steps_as_one_string_are_refused(ev):
    with pytest.raises(ValueError, match=r"steps: give a list of names, e.g. \['view_item'\]"):
        funnel.funnel(ev, "view_item")


def test_a_step_with_no_events_is_a_warning_naming_it(ev):
    with pytest.warns(UserWarning, match="no 'add_to_cart' events at all"):
        f = funnel.funnel(ev, ["view_item", "add_to_cart", "purchase"])
    assert f["n"].tolist() == [2, 0, 0]


@pytest.mark.parametrize("kw, match", [
    ({"window": "banana"}, "window: 'banana' is not a duration; write it like '30min'"),
    ({"window": "-1D"}, "window: must be zero or more"),
    ({"max_gap": "soon"}, "max_gap: 'soon' is not a duration"),
])
def test_funnel_durations_are_checked(ev, kw, match):
    with pytest.raises(ValueError, match=match):
        funnel.funnel(ev, ["view_item", "purchase"], **kw)


def test_cart_window_and_session_gap_are_checked(ev):
    with pytest.raises(ValueError, match="window: '7 days please' is not a duration"):
        funnel.cart_abandonment(ev, window="7 days please")
    with pytest.raises(ValueError, match="gap: must be positive"):
        paths.sessionize(ev[["user_id", "ts"]], "0min")


def test_rule_thresholds_are_shares():
    b = paths.baskets(pd.DataFrame({"t": [1, 1, 2], "i": ["a", "b", "a"]}), "t", "i")
    with pytest.raises(ValueError, match="min_confidence: must be a share between 0 and 1, got 1.5"):
        paths.rules(b, 0.5, min_confidence=1.5)
    with pytest.raises(ValueError, match="min_support: must be a share between above 0 and 1"):
        paths.rules(b, 0)
    with pytest.raises(ValueError, match="min_lift: must be a number above 0"):
        paths.rules(b, 0.5, min_lift=-1)


@pytest.mark.parametrize("call", [
    lambda: ex.compare_proportions(10, 100, 12, 100, alpha=1.5),
    lambda: ex.power(0.1, 0.02, 1000, alpha=2),
    lambda: ex.sample_size(0.1, 0.02, alpha=0),
    lambda: ex.compare_means([1.0, 2, 3], [2.0, 3, 4], alpha=-0.05),
    lambda: ex.srm([10, 12], alpha=1),
])
def test_alpha_must_lie_between_0_and_1(call):
    with pytest.raises(ValueError, match="alpha: must be between 0 and 1"):
        call()


def test_power_and_rates_of_a_sample_size_are_checked():
    with pytest.raises(ValueError, match="power: must be between 0 and 1"):
        ex.sample_size(0.1, 0.02, power=80)
    with pytest.raises(ValueError, match="p_base: a baseline rate strictly between 0 and 1"):
        ex.sample_size(0.0, 0.02)
    with pytest.raises(ValueError, match="lift_abs: p_base \\+ lift_abs = 1.1"):
        ex.power(0.9, 0.2, 1000)


def test_no_events_in_either_arm_gives_an_honest_interval_not_a_zero_width_one():
    r = ex.compare_proportions(0, 1000, 0, 1000)
    lo, hi = confint_proportions_2indep(0, 1000, 0, 1000, method="newcomb", compare="diff")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    assert r["ci_high"] - r["ci_low"] > 0.005 and r["p_value"] == 1.0
    every = ex.compare_proportions(0, 50, 50, 50)
    assert every["ci_low"] > 0.85 and every["p_value"] < 1e-20
    assert np.isfinite(every["ci_high"])
