"""Tests of helpers.retention: hand cases, the published CDNOW fit and the shop's answer key."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import data, retention

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT.parent / "shared" / "datasets"
CDNOW = DATASETS / "cdnow" / "cdnow_customers_summary.csv"


def _utc(*days):
    return pd.to_datetime(list(days), utc=True, format="ISO8601")


@pytest.fixture(scope="module")
def store():
    return data.load_store()


# --------------------------------------------------------------------------- summary_from_orders


def test_summary_same_period_counts_once_and_cutoff():
    # 2025-01-06 (Mon) and 2025-01-12 (Sun) fall in the same W-SUN week; 2025-01-13 starts the next.
    o = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3],
                      "ordered_at": _utc("2025-01-06", "2025-01-12 23:00", "2025-01-13",
                                         "2025-01-20", "2025-02-10", "2025-02-01")})
    s = retention.summary_from_orders(o, observation_end="2025-02-03 12:00")
    # user 1: weeks {0, 1} -> frequency 1, recency 1, T = week(2025-02-03) - week 0 = 4
    assert s.loc[1].tolist() == [1, 1.0, 4.0]
    # user 2: the 2025-02-10 order is after the end, so one period only
    assert s.loc[2].tolist() == [0, 0.0, 2.0]
    # user 3 buys on Saturday 2025-02-01: its week ends 2025-02-02, the end's week is the next
    assert s.loc[3].tolist() == [0, 0.0, 1.0]
    assert s.attrs["dropped"] == 1
    assert list(s.columns) == ["frequency", "recency", "T"]


def test_summary_value_col_sums_within_period_and_skips_first():
    o = pd.DataFrame({"user_id": [1, 1, 1, 1, 2],
                      "ordered_at": _utc("2025-01-01", "2025-01-01 18:00", "2025-01-03",
                                         "2025-01-03 09:00", "2025-01-02"),
                      "revenue": [5.0, 7.0, 10.0, 20.0, 8.0]})
    s = retention.summary_from_orders(o, observation_end="2025-01-05", freq="D",
                                      value_col="revenue")
    # user 1: day 0 (12, the first period, excluded) and day 2 (30) -> one repeat period worth 30
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "recency"] == 2.0 and s.loc[1, "T"] == 4.0
    assert s.loc[1, "monetary_value"] == 30.0
    assert s.loc[2, "monetary_value"] == 0.0  # no repeat -> 0, as in lifetimes


def test_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="ordered_at"):
        retention.summary_from_orders(pd.DataFrame({"user_id": [1]}), observation_end="2025-01-01")
    o = pd.DataFrame({"user_id": [1], "ordered_at": _utc("2025-03-01")})
    with pytest.raises(ValueError, match="no order"):
        retention.summary_from_orders(o, observation_end="2025-01-01")


# --------------------------------------------------------------------------- cohorts, repurchase, KM


def test_cohort_retention_hand_case():
    o = pd.DataFrame({"user_id": [1, 1, 1, 2, 3],
                      "ordered_at": _utc("2025-01-05", "2025-01-25", "2025-03-02", "2025-01-20",
                                         "2025-02-01")})
    t = retention.cohort_retention(o, observation_end="2025-03-15")
    jan = t.loc[t["cohort"] == pd.Period("2025-01", "M")].set_index("months_since")
    assert jan["buyers"].tolist() == [2, 2, 2]
    assert jan["active"].tolist() == [2, 0, 1]  # two January orders of user 1 count once
    assert jan["partial"].tolist() == [False, False, True]
    assert len(t) == 3 + 2


def test_repurchase_rate_censoring():
    o = pd.DataFrame({"user_id": [1, 1, 2, 3, 3, 4],
                      "ordered_at": _utc("2025-01-01", "2025-03-01", "2025-01-01", "2025-06-01",
                                         "2025-06-20", "2025-11-01")})
    r = retention.repurchase_rate(o, windows=(90,), observation_end="2025-12-01").iloc[0]
    # user 4 first bought 30 days before the end: censored, not counted as a non-repeater
    assert (r["n"], r["k"], r["censored"]) == (3, 2, 1)
    lo, hi = retention.wilson(2, 3)
    assert np.isclose(r["ci_low"], round(lo, 4)) and np.isclose(r["ci_high"], round(hi, 4))


def test_repurchase_same_timestamp_is_one_purchase_and_late_orders_are_counted():
    # user 1: two orders at the same instant (one purchase), then a real repeat 40 days later;
    # user 2: two orders at the same instant only; user 3: a repeat after observation_end.
    o = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 3],
                      "ordered_at": _utc("2025-01-01", "2025-01-01", "2025-02-10", "2025-01-05",
                                         "2025-01-05", "2025-01-01", "2025-12-20")})
    r = retention.repurchase_rate(o, windows=(30, 90), observation_end="2025-12-01")
    assert r["k"].tolist() == [0, 1] and r["n"].tolist() == [3, 3]  # user 2 is no repeater
    assert r.attrs == {"dropped": 1, "same_time_as_first": 2}
    d = retention.time_to_second_purchase(o, observation_end="2025-12-01")
    assert d.loc[1, "days"] == 40.0 and not d.loc[2, "repurchased"]
    assert d.attrs["same_time_as_first"] == 2 and d.attrs["dropped"] == 1


def test_kaplan_meier_matches_hand_computation_with_censoring():
    o = pd.DataFrame({"user_id": [1, 1, 2, 3, 3, 4, 4, 5],
                      "ordered_at": _utc("2025-01-01", "2025-01-11", "2025-01-21", "2025-01-01",
                                         "2025-01-21", "2025-01-01", "2025-01-31", "2025-01-01")})
    d = retention.time_to_second_purchase(o, observation_end="2025-02-15")
    # durations: 10 (event), 25 (censored), 20 (event), 30 (event), 45 (censored)
    assert d["days"].tolist() == [10.0, 25.0, 20.0, 30.0, 45.0]
    assert d["repurchased"].tolist() == [True, False, True, True, False]
    km = retention.kaplan_meier(d)
    # S(10) = 4/5, S(20) = 4/5 * 3/4 = 0.6, the censored 25 leaves the risk set, S(30) = 0.6 * 1/2
    assert km["time"].tolist() == [10.0, 20.0, 30.0]
    assert km["at_risk"].tolist() == [5, 4, 2]
    assert np.allclose(km["survival"], [0.8, 0.6, 0.3])
    # Greenwood: Var S(t) = S(t)^2 * sum d/(n(n-d)); the CI of S is exp(-exp(log(-log S) -/+
    # z*se/(S*|log S|))), and 1 - it for the repurchased share. At t = 10 (5 at risk, 1 event):
    # Var = 0.64/20 = 0.032 -> [0.0308, 0.7962]; at t = 20: Var = 0.36*(1/20 + 1/12) = 0.048.
    z = 1.959963984540054  # norm.ppf(0.975)
    for i, s, var in ((0, 0.8, 0.032), (1, 0.6, 0.36 * (1 / 20 + 1 / 12))):
        half = z * np.sqrt(var) / (s * abs(np.log(s)))
        lo, hi = 1 - np.exp(-np.exp(np.log(-np.log(s)) - half)), \
            1 - np.exp(-np.exp(np.log(-np.log(s)) + half))
        assert (km.loc[i, "ci_low"], km.loc[i, "ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert (round(km.loc[0, "ci_low"], 4), round(km.loc[0, "ci_high"], 4)) == (0.0308, 0.7962)


# --------------------------------------------------------------------------- BG/NBD


@pytest.mark.skipif(not CDNOW.exists(), reason=f"CDNOW reference data not found at {CDNOW} "
                    "(../shared/datasets is only present in the project's workspace)")
def test_bgnbd_reproduces_fader_hardie_lee_cdnow():
    s = pd.read_csv(CDNOW)
    assert len(s) == 2357
    m = retention.fit_bgnbd(s)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert getattr(m, k) == pytest.approx(v, rel=0.02), k
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert float(m.expected_purchases(39, one).iloc[0]) == pytest.approx(1.226, abs=0.001)


def test_bgnbd_expected_purchases_agrees_with_simulation():
    # E[Y(t) | x = 0, T] by Monte Carlo from the posterior: alive with P(alive) = 1 when x = 0,
    # lambda | x=0, T ~ Gamma(r, alpha + T), p ~ Beta(a, b + 0)
    m = retention.BGNBD(r=0.5, alpha=5.0, a=1.5, b=3.0, log_likelihood=0.0, n=1)
    one = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [10.0]})
    rng = np.random.default_rng(3)
    n, t = 200_000, 20.0
    lam = rng.gamma(0.5, 1 / 15.0, n)
    p = rng.beta(1.5, 3.0, n)
    clock, cnt, alive = np.zeros(n), np.zeros(n), np.ones(n, bool)
    while alive.any():
        i = np.flatnonzero(alive)
        clock[i] += rng.exponential(1.0, len(i)) / lam[i]
        inside = clock[i] < t
        cnt[i[inside]] += 1
        alive[:] = False
        alive[i[inside & (rng.random(len(i)) >= p[i])]] = True
    assert float(m.expected_purchases(t, one).iloc[0]) == pytest.approx(cnt.mean(), rel=0.03)


def test_simulated_bgnbd_mean_matches_model_and_fit_recovers_it():
    # The mean repeat count of 100k simulated customers must match the model's E[X(52)]
    # (FHL 2005 eq. 9). Its Monte Carlo standard error is ~0.7 % of the mean, so 3 % is ~4 SE.
    true = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    s = retention.simulate_bgnbd(100_000, 52.0, seed=11, **true)
    m0 = retention.BGNBD(**true, log_likelihood=0.0, n=1)
    assert s["frequency"].mean() == pytest.approx(float(m0.expected_new(52.0)), rel=0.03)
    assert ((s["recency"] > 0) == (s["frequency"] > 0)).all()
    # 20k customers pin r and alpha to a few %, a and b to ~10 % (their SEs on the log scale
    # are ~0.015, 0.025, 0.05 and 0.07), so 15 % / 25 % leave ~3 SE of room.
    m = retention.fit_bgnbd(s.iloc[:20_000])
    assert m.warning == ""
    assert (m.r, m.alpha) == pytest.approx((0.25, 4.0), rel=0.15)
    assert (m.a, m.b) == pytest.approx((0.8, 2.5), rel=0.25)


def test_fit_bgnbd_warns_when_the_data_are_not_bgnbd():
    # Random counts with uniform recencies (the old doctest): a and b run off together.
    rng = np.random.default_rng(1)
    s = pd.DataFrame({"frequency": rng.integers(0, 4, 400), "T": 40.0})
    s["recency"] = np.where(s["frequency"] > 0, rng.uniform(1, 40, 400), 0.0)
    with pytest.warns(RuntimeWarning, match="a, b not identified"):
        m = retention.fit_bgnbd(s)
    assert m.warning.startswith("a, b not identified")
    # Nobody ever buys again: there is no purchase rate to learn, so no fit at all.
    zeros = pd.DataFrame({"frequency": [0] * 10, "recency": 0.0, "T": np.arange(1.0, 11.0)})
    with pytest.raises(retention.NotFittable, match="none of the 10 customers bought again"):
        retention.fit_bgnbd(zeros)


def test_too_little_data_is_a_reason_not_a_crash():
    one = pd.DataFrame({"frequency": [3], "recency": [5.0], "T": [9.0]})
    assert retention.attempt(retention.fit_bgnbd, one) == (
        None, "only 1 customer (BG/NBD needs at least 4)")
    # NotFittable is a ValueError: old callers that catch ValueError still work
    with pytest.raises(ValueError):
        retention.fit_bgnbd(one)
    gg, why = retention.attempt(retention.fit_gamma_gamma, pd.DataFrame(
        {"frequency": [1, 2, 1, 0], "monetary_value": [5.0, np.nan, 0.0, 0.0]}))
    assert gg is None and why.startswith("only 1 repeat buyer with a positive spend (2 more")
    rr, why = retention.attempt(retention.risk_ratio, pd.DataFrame(
        {"group": ["low", "other"], "n": [3, 40], "k": [0, 12]}))
    assert rr is None and "low (0 of 3)" in why


def test_gamma_gamma_leaves_out_unknown_spend_and_clv_uses_the_mean():
    rng = np.random.default_rng(4)
    s = pd.DataFrame({"frequency": rng.integers(1, 5, 200),
                      "monetary_value": rng.gamma(4.0, 10.0, 200)})
    s.loc[:9, "monetary_value"] = np.nan
    # every customer has the same mean spend here: no heterogeneity for q and gamma to describe
    with pytest.warns(RuntimeWarning, match="q, gamma ran off towards 0 or infinity"):
        gg = retention.fit_gamma_gamma(s)
    assert gg.warning.startswith("q, gamma ran off")
    assert (gg.n, gg.left_out) == (190, 10)
    spend = gg.expected_spend(s)
    assert spend.iloc[:10].round(6).nunique() == 1
    assert spend.iloc[0] == pytest.approx(gg.mean_spend)


def test_summary_value_of_a_period_without_revenue_is_missing():
    o = pd.DataFrame({"user_id": [1, 1, 2, 2], "revenue": [5.0, np.nan, 3.0, 4.0],
                      "ordered_at": pd.to_datetime(["2025-01-06", "2025-01-20", "2025-01-06",
                                                    "2025-01-21"], utc=True)})
    s = retention.summary_from_orders(o, observation_end="2025-02-03", value_col="revenue")
    assert np.isnan(s.loc[1, "monetary_value"]) and s.loc[2, "monetary_value"] == 4.0


def test_bgnbd_check_flags_a_model_that_misses():
    s = retention.simulate_bgnbd(3000, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=5)
    good = retention.bgnbd_check(retention.fit_bgnbd(s), s)
    assert good["ratio"].between(0.95, 1.05).all()
    wrong = retention.BGNBD(r=1.0, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, n=3000)
    assert retention.bgnbd_check(wrong, s).loc["repeat purchases", "ratio"] < 0.5


def test_churn_drivers_say_why_they_cannot_fit():
    f = pd.DataFrame({"orders": [1, 2, 3, 1] * 10, "churned": True})
    with pytest.raises(retention.NotFittable, match="same outcome"):
        retention.churn_drivers(f)
    small = pd.DataFrame({"orders": [1, 2, 3, 1, 2], "churned": [True, False, True, True, False]})
    with pytest.raises(retention.NotFittable, match="10 per factor"):
        retention.churn_drivers(small)
    o = pd.DataFrame({"user_id": [1, 2], "ordered_at": pd.to_datetime(["2025-01-01",
                                                                       "2025-01-03"], utc=True)})
    with pytest.raises(retention.NotFittable, match="too short"):
        retention.churn_features(o, horizon_days=180)


def test_summary_reads_T_column_not_transpose():
    s = pd.DataFrame({"frequency": [1, 0], "recency": [3.0, 0.0], "T": [5.0, 5.0]})
    m = retention.BGNBD(r=0.3, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, n=2)
    assert m.p_alive(s).index.tolist() == [0, 1]
    bad = s.assign(recency=[6.0, 0.0])  # recency beyond T is impossible
    with pytest.raises(ValueError, match="recency"):
        m.p_alive(bad)


# Tolerance: the shop's repeat purchases follow BG/NBD (in continuous time) with two documented
# departures: a low rating can end a customer after any order, and the win-back adds purchases.
# Fitting on daily periods keeps two purchases in one week apart (weekly periods merge them and
# bias alpha up by ~25 %). With ~2,500 buyers, a and b alone are poorly pinned down (they can
# wander by a factor of two together), but their ratio, the mean dropout a/(a+b), is not: refits
# of pure BG/NBD shops of this size (seeds 7-9) land within ~10 % of r and alpha and within 0.03
# of a/(a+b). The departures add a little more, so we allow 20 % on r and alpha and an absolute
# 0.06 on a/(a+b) (truth 0.246).
# The bundled shop also has its incidents (a payment outage and a checkout loop move repeat
# purchases to after them, a release and a burst of poor traffic change who becomes a buyer when);
# refits of seeds 8-12 with them land 10-20 % high on r and alpha, so the recovery is checked on
# the same shop simulated without incidents.
def test_bgnbd_on_shop_close_to_truth():
    from helpers.simulate import Params, simulate

    store = simulate(users=25_000, seed=7, params=Params(incidents=()))
    o = store.orders
    end = pd.Timestamp(store.truth["period"]["end"], tz="UTC") + pd.Timedelta("1D")
    s = retention.summary_from_orders(o, observation_end=end, freq="D")
    m = retention.fit_bgnbd(s)
    t = store.truth["bgnbd"]  # rates per week: alpha in days is 7x alpha in weeks
    assert m.r == pytest.approx(t["r"], rel=0.20)
    assert m.alpha / 7 == pytest.approx(t["alpha"], rel=0.20)
    assert m.a / (m.a + m.b) == pytest.approx(t["a"] / (t["a"] + t["b"]), abs=0.06)


def test_gamma_gamma_recovers_simulated_spend():
    rng = np.random.default_rng(5)
    n = 3000
    nu = rng.gamma(3.0, 1 / 40.0, n)  # q = 3, gamma = 40
    x = rng.integers(1, 8, n)
    mean_spend = rng.gamma(4.0 * x, 1 / (nu * x))  # p = 4
    gg = retention.fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": mean_spend}))
    assert gg.p * gg.gamma / (gg.q - 1) == pytest.approx(4.0 * 40.0 / 2.0, rel=0.1)
    assert gg.q == pytest.approx(3.0, rel=0.25)


# --------------------------------------------------------------------------- feedback and churn


def test_risk_ratio_matches_log_method_by_hand():
    t = pd.DataFrame({"group": ["low", "other"], "n": [40, 400], "k": [8, 160]})
    rr = retention.risk_ratio(t).iloc[0]
    se = np.sqrt(1 / 8 - 1 / 40 + 1 / 160 - 1 / 400)
    assert rr["risk_ratio"] == pytest.approx(0.5)
    assert rr["ci_low"] == pytest.approx(0.5 * np.exp(-1.959964 * se), rel=1e-5)
    assert rr["ci_high"] == pytest.approx(0.5 * np.exp(1.959964 * se), rel=1e-5)


def test_review_churn_effect_has_planted_sign_and_ci_covers_truth(store):
    # The key: a rating <= 2 multiplies the chance of any later purchase by 0.6 (leaving happens
    # at the review, so the ratio is the same for any follow-up window). Only ~15 low ratings
    # have a full 365-day window, so the CI is wide; we require the planted value inside the
    # 95 % CI and the point estimate below 1 (fewer low raters buy again).
    done = store.orders.loc[store.orders["status"] == "completed"]
    # the extract ends with the simulated period (a review may come after the last order)
    end = pd.Timestamp(store.truth["period"]["end"], tz="UTC") + pd.Timedelta("1D")
    tab = retention.next_purchase_after_review(done, store.reviews, window_days=365,
                                               observation_end=end)
    rr = retention.risk_ratio(tab).iloc[0]
    truth = store.truth["review_churn"]["next_purchase_risk_ratio"]
    assert rr["ci_low"] <= truth <= rr["ci_high"]
    assert rr["risk_ratio"] < 1
    # every reviewer is either judged (full window) or censored; none is lost
    assert tab["n"].sum() + tab["censored"].sum() == store.reviews["user_id"].nunique()
    assert tab.attrs["after_end"] == 0


def test_next_purchase_window_censoring_hand_case():
    # end 2025-04-01, window 60 days. User 1 (low) buys 50 days after the review: counted.
    # User 2 (low) buys 70 days after: outside the window. User 3 (5 stars) reviews on
    # 2025-03-01: window ends after the end -> censored. User 4 reviews after the end.
    # User 5 orders at the review's exact time: not "after" the review.
    o = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 4, 5, 5],
                      "ordered_at": _utc("2025-01-01", "2025-02-20", "2025-01-01", "2025-03-12",
                                         "2025-01-01", "2025-03-05", "2025-01-01", "2025-01-01",
                                         "2025-01-01 12:00")})
    rv = pd.DataFrame({"user_id": [1, 2, 3, 4, 5], "rating": [2, 1, 5, 1, 4],
                       "created_at": _utc("2025-01-01", "2025-01-01", "2025-03-01", "2025-05-01",
                                          "2025-01-01 12:00")})
    t = retention.next_purchase_after_review(o, rv, window_days=60,
                                             observation_end="2025-04-01").set_index("group")
    assert t.loc["low", ["n", "k", "censored"]].tolist() == [2, 1, 0]
    assert t.loc["other", ["n", "k", "censored"]].tolist() == [1, 0, 1]
    assert t.attrs["after_end"] == 1 and t.attrs["window_days"] == 60
    with pytest.raises(ValueError, match="window_days"):
        retention.next_purchase_after_review(o, rv, window_days=0)


def test_rating_and_terms_tables(store):
    cats = retention.rating_by_category(store.reviews, store.items)
    assert cats["reviews"].sum() == len(store.reviews)
    assert np.allclose(cats[["r1", "r2", "r3", "r4", "r5"]].sum(axis=1), 1.0)
    terms = retention.review_terms(store.reviews, top=3)
    low = terms.loc[terms["rating"] == 2, "term"].tolist()
    high = terms.loc[terms["rating"] == 5, "term"].tolist()
    assert not set(low) & set(high)


def test_churn_drivers_recovers_planted_odds_ratios():
    # Simulated logistic churn with known odds ratios: low_rating 2.5, orders 0.7 per order.
    # With 20k rows the SE of log OR(low_rating) is ~0.05, so rel 0.15 is ~3 SE of room; the
    # 95 % Wald CI must contain the truth and be narrow enough to exclude 1.
    rng = np.random.default_rng(42)
    n = 20_000
    f = pd.DataFrame({"low_rating": (rng.random(n) < 0.2).astype(int),
                      "orders": rng.integers(1, 6, n).astype(float)})
    eta = -0.2 + np.log(2.5) * f["low_rating"] + np.log(0.7) * f["orders"]
    f["churned"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    f.loc[[3, 10, 99], "orders"] = np.nan  # three incomplete rows: left out and reported
    res = retention.churn_drivers(f).set_index("feature")
    assert res.attrs["dropped"] == 3 and (res["n"] == n - 3).all()
    for name, true in (("low_rating", 2.5), ("orders", 0.7)):
        row = res.loc[name]
        assert row["odds_ratio"] == pytest.approx(true, rel=0.15), name
        assert row["ci_low"] <= true <= row["ci_high"], name
        assert row["ci_low"] > 1 or row["ci_high"] < 1, name
        assert row["p_value"] < 1e-6, name


def test_churn_features_on_shop_and_blank_coupons(store):
    done = store.orders.loc[store.orders["status"] == "completed"]
    f = retention.churn_features(done, reviews=store.reviews, users=store.users)
    assert f.index.is_unique and f["churned"].dtype == bool
    assert f["low_rating"].isin([0, 1]).all() and f["coupon_share"].between(0, 1).all()
    # blank or whitespace codes are no coupon (as helpers.segments.personas reads them)
    o = pd.DataFrame({"user_id": [1, 1, 1, 1], "coupon": ["A", "", "  ", None],
                      "ordered_at": _utc("2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04")})
    h = retention.churn_features(o, observation_end="2025-12-31")
    assert h.loc[1, "coupon_share"] == 0.25


def test_churn_drivers_leave_out_a_rare_yes_no_factor():
    rng = np.random.default_rng(2)
    f = pd.DataFrame({"orders": rng.integers(1, 5, 300), "low_rating": 0})
    f.loc[:2, "low_rating"] = 1  # three buyers only: not estimable
    f["churned"] = rng.random(300) < 1 / (1 + np.exp(-(1.5 - 0.5 * f["orders"])))
    d = retention.churn_drivers(f)
    assert d["feature"].tolist() == ["orders"] and d.attrs["left_out"] == ["low_rating"]


# ----------------------------------------------------------------------------- at the edges


def test_expected_purchases_stays_finite_for_heavy_buyers_and_matches_a_50_digit_reference():
    import mpmath as mp

    m = retention.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, n=1)
    cases = [(400, 299.0, 300.0, 3000), (400, 299.0, 300.0, 39), (2, 30.43, 38.86, 39),
             (0, 0.0, 50.0, 500), (60, 100.0, 120.0, 5000), (1000, 520.0, 520.0, 10_000)]
    s = pd.DataFrame(cases, columns=["frequency", "recency", "T", "t"])
    got = [float(m.expected_purchases(t, s.iloc[[i]]).iloc[0]) for i, t in enumerate(s["t"])]
    mp.mp.dps = 50

    def ref(x, tx, T, t):
        R, A, a, b = (mp.mpf(v) for v in ("0.243", "4.414", "0.793", "2.426"))
        x, tx, T, t = (mp.mpf(v) for v in (x, tx, T, t))
        body = 1 - ((A + T) / (A + T + t)) ** (R + x) * mp.hyp2f1(R + x, b + x, a + b + x - 1,
                                                               t / (A + T + t))
        odds = a / (b + x - 1) * ((A + T) / (A + tx)) ** (R + x) if x > 0 else 0
        return float((a + b + x - 1) / (a - 1) * body / (1 + odds))

    want = [ref(*c) for c in cases]
    assert np.isfinite(got).all()
    assert got == pytest.approx(want, rel=1e-9)


def test_bgnbd_standard_errors_match_the_spread_of_refits():
    # 20 shops simulated from one set of parameters: the standard errors the fit reports should
    # be close to how much the estimates vary between shops (within 30 % for r and alpha)
    fits = [retention.fit_bgnbd(retention.simulate_bgnbd(2000, 52.0, r=0.25, alpha=4.0, a=0.8,
                                                          b=2.5, seed=s)) for s in range(20)]
    est = pd.DataFrame([f.params() for f in fits])
    se = pd.DataFrame([f.intervals().set_index("parameter")["se"] for f in fits])
    for p in ("r", "alpha"):
        assert se[p].mean() == pytest.approx(est[p].std(), rel=0.3), p
    cover = np.mean([(f.intervals().set_index("parameter").loc["r", "ci_low"] <= 0.25
                      <= f.intervals().set_index("parameter").loc["r", "ci_high"]) for f in fits])
    assert cover >= 0.8


def test_gamma_gamma_intervals_cover_the_truth_and_flat_fits_warn():
    rng = np.random.default_rng(0)
    nu = rng.gamma(4.0, 1 / 20.0, size=3000)
    x = rng.integers(1, 6, size=3000)
    s = pd.DataFrame({"frequency": x, "monetary_value": rng.gamma(5.0 * x, 1 / (nu * x))})
    ci = retention.fit_gamma_gamma(s).intervals().set_index("parameter")
    for name, true in (("p", 5.0), ("q", 4.0), ("gamma", 20.0)):
        assert ci.loc[name, "ci_low"] <= true <= ci.loc[name, "ci_high"], name


def test_holdout_check_predicts_the_bundled_shops_last_quarter_within_twenty_percent():
    # The simulator draws repeat purchases from BG/NBD (its answer key), so a model fitted on
    # the first three quarters should predict the last quarter's repeat purchases. Not the
    # win-back campaign's (inside the holdout; no purchase model foresees a campaign), so its
    # coupon's orders are left out. One holdout of ~400 purchases by heterogeneous buyers is
    # noisy: measured on seeds 7-9 the gap is -6 %, +8 % and -17 %, hence 20 %.
    from helpers.data import load_store

    o = load_store().orders
    campaign = o["coupon"].eq("WINBACK20")
    h = retention.holdout_check(o.loc[(o["status"] == "completed") & ~campaign])
    assert h.attrs["actual_total"] > 300
    assert h.attrs["predicted_total"] == pytest.approx(h.attrs["actual_total"], rel=0.20)
    assert h["customers"].sum() == h.attrs["model"].n
    assert h["frequency"].tolist()[:2] == ["0", "1"] and h["frequency"].iloc[-1] == "6+"
    # customers who bought more often before are predicted, and seen, to buy more after
    # (a middle group can dip: its customers may be older, so likelier gone)
    assert h["predicted"].iloc[-1] > h["predicted"].iloc[1] > h["predicted"].iloc[0]
    assert h["actual"].iloc[-1] > h["actual"].iloc[0]


def test_holdout_check_without_a_holdout_or_a_calibration_is_not_fittable():
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    o = pd.DataFrame({"user_id": [1, 1, 2], "ordered_at": [t0, t0 + pd.Timedelta("20D"), t0]})
    with pytest.raises(retention.NotFittable, match="the holdout is empty"):
        retention.holdout_check(o, split="2025-03-01")
    with pytest.raises(retention.NotFittable, match="no order before the split"):
        retention.holdout_check(o, split="2024-06-01", end="2025-03-01")
