"""helpers.timing: the next-purchase window (BG/NBD posterior → Lomax wait) and its offline test."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import retention, timing

START = pd.Timestamp("2024-01-01", tz="UTC")
END = pd.Timestamp("2025-01-01", tz="UTC")  # observation end: 366 days after START


def _bgnbd_orders(n, *, r, alpha, a, b, seed, until_days=366 + 5000):
    """Orders of ``n`` BG/NBD customers (rates per day), first purchase uniform in the first
    300 days, followed to ``until_days``; also who is alive at END and their next purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    rows, alive, nxt = [], np.zeros(n, bool), np.full(n, np.nan)
    cut = (END - START) / pd.Timedelta("1D")
    for i in range(n):
        t = rng.uniform(0, 300)
        rows.append((i, t))
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > until_days:
                alive[i] = True
                break
            if t > cut and np.isnan(nxt[i]):
                nxt[i], alive[i] = t, True  # reached a purchase after END: was alive at END
            rows.append((i, t))
            if rng.random() < p[i]:
                break
    o = pd.DataFrame(rows, columns=["user_id", "day"])
    o["ordered_at"] = START + pd.to_timedelta(o["day"], unit="D")
    return o, alive, nxt - cut


@pytest.fixture(scope="module")
def shop():
    return _bgnbd_orders(3000, r=0.6, alpha=40.0, a=0.8, b=3.0, seed=11)


def test_wait_law_matches_scipy_and_monte_carlo():
    s, b = 2.5, 40.0
    w = np.array([1.0, 10.0, 40.0, 200.0])
    assert np.allclose(timing.wait_cdf(w, s, b), stats.lomax(c=s, scale=b).cdf(w))
    assert np.allclose(timing.wait_quantile([0.1, 0.5, 0.9], s, b),
                       stats.lomax(c=s, scale=b).ppf([0.1, 0.5, 0.9]))
    # the story: rate ~ Gamma(s, rate b), then an exponential wait
    rng = np.random.default_rng(3)
    lam = rng.gamma(s, 1.0 / b, 200_000)
    waits = rng.exponential(1.0 / lam)
    assert np.allclose((waits[:, None] <= w).mean(axis=0), timing.wait_cdf(w, s, b), atol=0.004)


def test_posterior_by_hand():
    # customer 1: first order day 0, repeats on days 10 and 30, observed to day 40 -> x=2, T=40
    o = pd.DataFrame({"user_id": [1, 1, 1, 2],
                      "ordered_at": START + pd.to_timedelta([0, 10, 30, 20], unit="D")})
    m = retention.BGNBD(r=0.5, alpha=20.0, a=1.0, b=3.0, log_likelihood=0.0, n=2)
    w = timing.next_purchase_window(o, observation_end=START + pd.Timedelta("40D"), model=m,
                                    coverage=0.8).set_index("user_id")
    assert w.loc[1, "shape"] == 2.5 and w.loc[1, "scale_days"] == 60.0
    assert w.loc[1, "rate_per_day"] == pytest.approx(2.5 / 60)
    assert w.loc[1, "window_days"] == pytest.approx(60 * (0.2 ** (-1 / 2.5) - 1))
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+tx))^(r+x)), FHL 2005 eq. 11
    assert w.loc[1, "p_alive"] == pytest.approx(1 / (1 + 1 / 4 * (60 / 50) ** 2.5))
    assert w.loc[1, "p_buy_in_window"] == pytest.approx(0.8 * w.loc[1, "p_alive"])
    assert w.loc[2, "basis"] == "population" and w.loc[2, "shape"] == 0.5
    assert w.loc[2, "scale_days"] == 40.0 and w.loc[2, "p_alive"] == 1.0
    assert (w["window_start"] == START + pd.Timedelta("40D")).all()
    assert w.loc[1, "last_order"] == START + pd.Timedelta("30D")
    # weeks (ending Sunday): orders in weeks 0, 1, 4, the end in week 5, so x = 2, T = 5 weeks
    # and the model's alpha is read in weeks: beta = (20 + 5) weeks = 175 days
    wk = timing.next_purchase_window(o, observation_end=START + pd.Timedelta("40D"), freq="W",
                                     model=m).set_index("user_id")
    assert wk.loc[1, "shape"] == 2.5 and wk.loc[1, "scale_days"] == 175.0


def test_horizon_cuts_windows_and_says_how_much_they_hold():
    o = pd.DataFrame({"user_id": [1, 1, 2], "ordered_at": START + pd.to_timedelta([0, 5, 1], unit="D")})
    m = retention.BGNBD(r=0.3, alpha=30.0, a=1.0, b=3.0, log_likelihood=0.0, n=2)
    w = timing.next_purchase_window(o, observation_end=START + pd.Timedelta("10D"), model=m,
                                    horizon_days=20)
    assert (w["window_days"] <= 20).all()
    cut = w["window_days"] == 20
    assert cut.any()
    assert np.allclose(w.loc[cut, "p_in_window_if_alive"],
                       timing.wait_cdf(20, w.loc[cut, "shape"], w.loc[cut, "scale_days"]))
    assert (w.loc[cut, "p_in_window_if_alive"] < 0.5).all()


@pytest.mark.parametrize("fitted", [False, True])
def test_coverage_is_nominal_among_alive_customers(shop, fitted):
    o, alive, wait = shop
    seen = o.loc[o["ordered_at"] <= END]
    model = None if fitted else retention.BGNBD(r=0.6, alpha=40.0, a=0.8, b=3.0,
                                                log_likelihood=0.0, n=1)
    for cov in (0.5, 0.8):
        w = timing.next_purchase_window(seen, observation_end=END, model=model, coverage=cov)
        ids = w["user_id"].to_numpy()
        inside = wait[ids] <= w["window_days"].to_numpy()
        a = alive[ids]
        assert abs(inside[a].mean() - cov) < 0.03, (cov, fitted, inside[a].mean())
        # and unconditionally the model's p_buy_in_window is calibrated
        assert abs(inside.mean() - w["p_buy_in_window"].mean()) < 0.03


def test_timed_contacts_beat_a_fixed_schedule_at_equal_budget(shop):
    o, _, _ = shop
    ev = timing.evaluate_timing(o, split=END, end=END + pd.Timedelta("180D"), schedule="30D")
    e = ev.set_index("plan")
    assert e.loc["timed", "contact_days"] == pytest.approx(30.0)
    assert e.loc["fixed schedule", "contact_days"] == 30.0
    assert e.loc["timed", "diff_low"] > 0  # more hits for the same contact-days
    assert e.loc["timed", "hit_rate"] > e.loc["fixed schedule", "hit_rate"]
    assert e.loc["coverage windows, p ≥ threshold", "precision"] > \
        e.loc["fixed schedule", "precision"]
    # the model's expected hits are close to what happened (no misspecification here)
    for plan in ("fixed schedule", "timed", "coverage windows"):
        assert abs(e.loc[plan, "hits"] - e.loc[plan, "expected"]) < 4 * np.sqrt(
            e.loc[plan, "expected"]) + 5
    assert e.loc["fixed schedule", "diff"] == 0.0
    assert ((ev["ci_low"] <= ev["hit_rate"]) & (ev["hit_rate"] <= ev["ci_high"])).all()


def test_bundled_shop_timed_beats_fixed():
    from helpers.data import load_store

    o = load_store().orders
    ev = timing.evaluate_timing(o.loc[o["status"] == "completed"], schedule="30D")
    e = ev.set_index("plan")
    assert e.loc["timed", "diff_low"] > 0
    assert ev.attrs["split"] < ev.attrs["end"]


def test_contact_windows_spend_the_budget_and_favour_likely_buyers():
    w = pd.DataFrame({"p_alive": [1.0, 0.9, 0.05, 1.0], "shape": [4.0, 2.0, 1.0, 0.2],
                      "scale_days": [50.0, 100.0, 100.0, 400.0]})
    d = timing.contact_windows(w, days_per_customer=15)
    assert d.mean() == pytest.approx(15)
    assert d.iloc[2] == d.min() and d.iloc[1] > 0  # the one almost surely gone gets least
    capped = timing.contact_windows(w, days_per_customer=15, horizon_days=16)
    assert capped.max() <= 16 and capped.mean() == pytest.approx(15)
    # every contacted customer's daily chance at the end of the window is the same level
    g = w["p_alive"] * w["shape"] / w["scale_days"] * (1 + d / w["scale_days"]) ** (
        -(w["shape"] + 1))
    assert np.allclose(g[d > 0], g[d > 0].iloc[0], rtol=1e-6)


def test_argument_errors():
    o = pd.DataFrame({"user_id": [1, 1, 2], "ordered_at": START + pd.to_timedelta([0, 5, 1], unit="D")})
    m = retention.BGNBD(r=0.3, alpha=30.0, a=1.0, b=3.0, log_likelihood=0.0, n=2)
    kw = {"observation_end": START + pd.Timedelta("10D"), "model": m}
    with pytest.raises(ValueError, match="coverage must be"):
        timing.next_purchase_window(o, **{**kw, "coverage": 1.0})
    with pytest.raises(ValueError, match="freq must be"):
        timing.next_purchase_window(o, **kw, freq="M")
    with pytest.raises(ValueError, match="horizon_days"):
        timing.next_purchase_window(o, **kw, horizon_days=0)
    with pytest.raises(ValueError, match="model must be"):
        timing.next_purchase_window(o, observation_end=START, model="bgnbd")
    with pytest.raises(ValueError, match="observation_end: not a date"):
        timing.next_purchase_window(o, observation_end="soon", model=m)
    with pytest.raises(ValueError, match="no order at or before observation_end"):
        timing.next_purchase_window(o, observation_end="2020-01-01", model=m)
    with pytest.raises(ValueError, match="orders.ordered_at: missing column"):
        timing.next_purchase_window(o.drop(columns="ordered_at"), **kw)
    with pytest.raises(ValueError, match="row 1: 'later'"):
        timing.next_purchase_window(o.assign(ordered_at=["2024-01-01", "later", "2024-01-02"]),
                                    **kw)
    with pytest.raises(ValueError, match="schedule .* longer than the scored period"):
        timing.evaluate_timing(o, split=START + pd.Timedelta("2D"), schedule="30D")
    with pytest.raises(ValueError, match="schedule must be a positive duration"):
        timing.evaluate_timing(o, split=START + pd.Timedelta("2D"), schedule="-3D")
    with pytest.raises(ValueError, match="must be after split"):
        timing.evaluate_timing(o, split=START + pd.Timedelta("9D"), end=START)
    with pytest.raises(ValueError, match="threshold must be"):
        timing.evaluate_timing(o, threshold=2)
    with pytest.raises(ValueError, match="days_per_customer"):
        timing.contact_windows(pd.DataFrame({"p_alive": [1.0], "shape": [1.0],
                                             "scale_days": [1.0]}), days_per_customer=-1)
