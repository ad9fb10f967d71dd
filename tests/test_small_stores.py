"""Small legitimate stores: a step everyone continues, a lone buyer, a test with nothing to test.

Each case broke the report once (issue "bad input", class 4); each test pins the behaviour a
trustworthy tool has on it.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from helpers import funnel, segments, stats
from helpers.narrate import sources as say


@pytest.mark.parametrize("n", [1, 2, 7, 50, 1000])
def test_wilson_bounds_contain_the_rate_exactly_at_0_and_1(n):
    lo, hi = stats.wilson(n, n)
    assert hi == 1.0 and lo == pytest.approx(proportion_confint(n, n, method="wilson")[0])
    lo, hi = stats.wilson(0, n)
    assert lo == 0.0 and hi == pytest.approx(proportion_confint(0, n, method="wilson")[1])
    k = np.arange(n + 1)
    lo, hi = stats.wilson(k, np.full(n + 1, n))
    assert ((lo <= k / n) & (k / n <= hi)).all()


def test_wilson_checks_its_arguments():
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        stats.wilson(1, 2, alpha=1.5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.wilson(3, 2)


def test_plot_steps_draws_a_step_that_everyone_continues():
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    ev = pd.DataFrame({"session_id": np.repeat(np.arange(7), 2), "user_id": np.repeat(np.arange(7), 2),
                       "ts": t0 + pd.to_timedelta(np.tile([0, 1], 7), unit="min"),
                       "event": ["view_item", "add_to_cart"] * 7,
                       "device": np.repeat(["mobile"] * 4 + ["desktop"] * 3, 2)})
    table = funnel.funnel(ev, ["view_item", "add_to_cart"], by="device")
    assert (table["ci_high"].dropna() == 1.0).all()
    ax = funnel.plot_steps(table)  # raised "'yerr' must not contain negative values"
    plt.close(ax.figure)


def test_a_lone_buyer_who_ordered_today_is_not_lost():
    o = pd.DataFrame({"user_id": [1], "revenue": [5.0], "status": ["completed"],
                      "ordered_at": pd.to_datetime(["2025-03-01"], utc=True)})
    t = segments.rfm(o, "2025-03-01")
    assert t["segment"].iloc[0] != "Lost" and t["r"].iloc[0] == 3


def test_a_repeat_test_that_cannot_be_made_says_so_instead_of_printing_nan():
    r = pd.DataFrame({"channel": ["Email"], "n": [40], "repeaters": [4], "repeat_rate": [0.1],
                      "ci_low": [0.04], "ci_high": [0.23], "excluded": [3]})
    r.attrs["test"] = {"test": "chi-square", "statistic": np.nan, "dof": 0, "pvalue": np.nan}
    text = str(say.repeat(r, 90))
    assert "nan" not in text.lower()
    assert "too few to compare channels" in text
