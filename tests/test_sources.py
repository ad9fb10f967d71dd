"""Tests of helpers.sources: hand-computed cases, reference libraries and the answer key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from helpers import data, sources
from helpers.data import Store, validate


@pytest.fixture(scope="module")
def shop():
    return data.load_store()


# --------------------------------------------------------------------------- tiny store


def tiny_store():
    users = pd.DataFrame({"user_id": [1, 2, 3], "first_seen": ["2025-01-01", "2025-01-02",
                                                               "2025-01-02"],
                          "acquisition_channel": ["Email", "Email", "Paid Search"]})
    ses = pd.DataFrame({
        "session_id": [11, 12, 13, 14, 15], "user_id": [1, 1, 2, 3, 3],
        "started_at": ["2025-01-01", "2025-01-03", "2025-01-02", "2025-01-02", "2025-01-05"],
        "channel": ["Email", "Direct", "Email", "Paid Search", "Paid Search"]})
    ev = pd.DataFrame({
        "session_id": [11, 11, 12, 12, 12, 13, 14, 14, 14, 15],
        "user_id": [1, 1, 1, 1, 1, 2, 3, 3, 3, 3],
        "ts": ["2025-01-01 00:00", "2025-01-01 00:01", "2025-01-03 00:00", "2025-01-03 00:01",
               "2025-01-03 00:02", "2025-01-02", "2025-01-02 00:00", "2025-01-02 00:01",
               "2025-01-02 00:02", "2025-01-05"],
        "event": ["page_view", "view_item", "page_view", "view_item", "purchase", "page_view",
                  "view_item", "add_to_cart", "purchase", "page_view"],
        # the purchase of session 12 has no page_type: it is not a page load
        "page_type": ["home", "product", "home", "product", None, "home", "product", "product",
                      "confirmation", "home"]})
    orders = pd.DataFrame({
        "order_id": [1, 2, 3, 4], "user_id": [1, 3, 2, 3],
        "session_id": pd.array([12, 14, 13, None], dtype="Int64"),
        "ordered_at": ["2025-01-03 00:02", "2025-01-02 00:02", "2025-01-02", "2025-01-06"],
        "status": ["completed", "completed", "cancelled", "completed"],
        "revenue": [100.0, 60.0, 40.0, 30.0]})
    spend = pd.DataFrame({"date": ["2025-01-01", "2025-01-02", "2025-01-02", "2025-01-02"],
                          "channel": ["Email", "Email", "Paid Search", "Paid Social"],
                          "spend": [10.0, 5.0, 120.0, 8.0]})
    return validate(Store(events=ev, users=users, sessions=ses, orders=orders, spend=spend))


def test_channel_summary_hand_computed():
    out = sources.channel_summary(tiny_store(), margin=0.5).set_index("channel")
    # Order: sessions descending, then name; "(no session)" holds order 4 (no session_id).
    assert out.index.tolist() == ["Email", "Paid Search", "Direct", "(no session)", "Paid Social"]
    em, ps, di, ns, so = (out.loc[c] for c in out.index)
    # Email: sessions 11 (2 events) and 13 (1 event = bounce); users 1 and 2 were acquired by
    # Email; only user 1 bought (user 2's order was cancelled) -> 1 new buyer; spend 10 + 5.
    assert (em.sessions, em.users, em.new_users, em.conversions, em.orders) == (2, 2, 2, 0, 0)
    assert em.bounce_rate == 0.5 and em.pages_per_session == 1.5
    assert (em.spend, em.cost_per_new_user, em.new_buyers, em.cac, em.roas) == (15, 7.5, 1, 15, 0)
    assert np.isnan(em.aov) and em.profit == -15
    # Paid Search: sessions 14 (3 events, a purchase) and 15 (bounce); order 2 = 60 in session 14;
    # order 4 of the same user has no session, so it is not Paid Search's.
    assert (ps.sessions, ps.users, ps.new_users, ps.conversions, ps.orders) == (2, 1, 1, 1, 1)
    assert ps.bounce_rate == 0.5 and ps.pages_per_session == 2.0 and ps.conversion_rate == 0.5
    assert (ps.revenue, ps.aov, ps.cac, ps.roas, ps.cost_per_new_user) == (60, 60, 120, 0.5, 120)
    lo, hi = sps.binomtest(1, 2).proportion_ci(method="wilson")
    assert ps.ci_low == pytest.approx(lo) and ps.ci_high == pytest.approx(hi)
    # Direct: one session, 3 events of which 2 are pages; the returning user's purchase.
    assert (di.sessions, di.new_users, di.conversions, di.orders, di.revenue) == (1, 0, 1, 1, 100)
    assert di.bounce_rate == 0 and di.pages_per_session == 2.0 and di.spend == 0
    assert np.isnan(di.cac) and np.isnan(di.roas) and np.isnan(di.cost_per_new_user)
    # Orders without a session are reported, not dropped.
    assert (ns.sessions, ns.orders, ns.revenue) == (0, 1, 30)
    # A channel with spend but no sessions still shows its spend.
    assert (so.sessions, so.spend, so.roas) == (0, 8, 0)
    assert out["orders"].sum() == 3 and out["revenue"].sum() == 190
    assert {k: v for k, v in out.attrs.items() if k != "test"} == {
        "orders_excluded": {"cancelled": 1}, "orders_without_session": 1}


def test_channel_summary_needs_sessions():
    st = tiny_store()
    with pytest.raises(ValueError, match="sessions.channel"):
        sources.channel_summary(Store(events=st.events))


def test_journeys_cut_after_each_conversion():
    ses = pd.DataFrame({
        "session_id": [1, 2, 4, 3, 5, 6], "user_id": [7, 7, 7, 7, 7, 8],
        "started_at": ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-03", "2025-01-05",
                       "2025-01-01"],
        "channel": ["Paid Social", "Email", "Organic Search", "Direct", "Direct", "Referral"]})
    ev = ses.rename(columns={"started_at": "ts"}).assign(event="page_view")
    orders = pd.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [7, 7, 7, 7],
                           "session_id": [2, 4, 5, 5],
                           "ordered_at": ["2025-01-02", "2025-01-03", "2025-01-05", "2025-01-05"],
                           "status": ["completed", "cancelled", "completed", "completed"],
                           "revenue": [50.0, 99.0, 20.0, 5.0]})
    j = sources.journeys(validate(Store(events=ev, sessions=ses, orders=orders)))
    # Sessions 3 and 4 start at the same time: the smaller id (3, Direct) comes first.
    # Session 4's order was cancelled, so it does not end a journey; session 5 has two orders.
    assert j["path"].tolist() == [["Paid Social", "Email"], ["Direct", "Organic Search", "Direct"],
                                  ["Referral"]]
    assert j["converted"].tolist() == [True, True, False]
    assert j["value"].tolist() == [50.0, 25.0, 0.0]
    assert j["journey"].tolist() == [0, 1, 0] and j["touches"].tolist() == [2, 3, 1]


# --------------------------------------------------------------------------- channel quality


def test_repeat_by_channel_window_and_censoring():
    users = pd.DataFrame({"user_id": [1, 2, 3, 4], "first_seen": ["2025-01-01"] * 4,
                          "acquisition_channel": ["A", "A", "B", "B"]})
    ev = users.rename(columns={"first_seen": "ts"}).assign(session_id=[1, 2, 3, 4],
                                                           event="page_view")
    orders = pd.DataFrame({
        "order_id": [1, 2, 3, 4, 5, 6, 7, 8], "user_id": [1, 1, 2, 2, 3, 4, 4, 4],
        "ordered_at": ["2025-01-01", "2025-01-31",            # exactly 30 days: a repeat
                       "2025-01-01", "2025-01-31 00:00:01",   # one second late: no repeat
                       "2025-05-15",                          # window ends after asof: censored
                       "2025-01-10", "2025-02-01", "2025-02-05"],
        "status": ["completed"] * 5 + ["cancelled", "completed", "cancelled"],
        "revenue": [1.0] * 8})
    st = validate(Store(events=ev.drop(columns="acquisition_channel"), users=users, orders=orders))
    r = sources.repeat_by_channel(st, days=30, asof="2025-06-01").set_index("channel")
    # A: users 1 (repeat) and 2 (no); B: user 3 censored, user 4's only completed order is
    # 2025-02-01 (the cancelled ones do not count either side) -> no repeat.
    assert r.loc["A", ["first_buyers", "excluded", "n", "repeaters"]].tolist() == [2, 0, 2, 1]
    assert r.loc["B", ["first_buyers", "excluded", "n", "repeaters"]].tolist() == [2, 1, 1, 0]
    assert r.loc["A", "repeat_rate"] == 0.5
    chi2, p, _, _ = sps.chi2_contingency([[1, 1], [0, 1]])
    assert r.attrs["test"]["statistic"] == pytest.approx(chi2)
    assert r.attrs["test"]["pvalue"] == pytest.approx(p)
    assert r.attrs["excluded"]["censored"] == 1


def test_value_by_channel_hand_computed():
    users = pd.DataFrame({"user_id": [1, 2, 3, 4],
                          "first_seen": ["2025-01-01", "2025-01-01", "2025-01-01", "2025-02-25"],
                          "acquisition_channel": ["A", "A", "B", "B"]})
    ev = users.rename(columns={"first_seen": "ts"}).assign(session_id=[1, 2, 3, 4],
                                                           event="page_view")
    orders = pd.DataFrame({
        "order_id": [1, 2, 3, 4, 5], "user_id": [1, 1, 3, 3, 2],
        "ordered_at": ["2025-01-05", "2025-01-11",  # day 10 is outside a 10-day window
                       "2025-01-02", "2025-01-03", "2025-01-02"],
        "status": ["completed"] * 4 + ["refunded"], "revenue": [100.0, 50.0, 40.0, 20.0, 999.0]})
    st = validate(Store(events=ev.drop(columns="acquisition_channel"), users=users, orders=orders))
    v = sources.value_by_channel(st, days=10, asof="2025-03-01").set_index("channel")
    # A: users 1 (100) and 2 (0: the refunded order does not count); B: user 3 (40 + 20),
    # user 4 censored (first seen 4 days before asof).
    assert v.loc["A", ["n", "buyers", "mean_revenue"]].tolist() == [2, 1, 50.0]
    # buyer rate 1/2 with its Wilson interval (hand: 0.0945 .. 0.9055)
    assert v.loc["A", ["buyer_low", "buyer_high"]].round(4).tolist() == [0.0945, 0.9055]
    assert v.loc["B", ["acquired", "excluded", "n", "mean_revenue"]].tolist() == [2, 1, 1, 60.0]
    lo, hi = sps.t.interval(0.95, 1, loc=50, scale=sps.sem([100.0, 0.0]))
    assert v.loc["A", "ci_low"] == pytest.approx(lo) and v.loc["A", "ci_high"] == pytest.approx(hi)
    h, p = sps.kruskal([100.0, 0.0], [60.0])
    assert v.attrs["test"]["statistic"] == pytest.approx(h)
    assert v.attrs["test"]["pvalue"] == pytest.approx(p)


# --------------------------------------------------------------------------- attribution


def test_markov_hand_worked_example():
    # Journeys: A > B > conv, B > A > null, A > conv.
    # Transition counts: START->A 2, START->B 1; A->B 1, A->conv 1, A->null 1; B->conv 1, B->A 1.
    # Probabilities: A: B 1/3, conv 1/3, null 1/3; B: conv 1/2, A 1/2.
    # Absorption in conv: x_A = 1/3 + x_B/3, x_B = 1/2 + x_A/2  =>  x_A = 3/5, x_B = 4/5;
    # P(conv) = 2/3 * 3/5 + 1/3 * 4/5 = 2/3.
    # Without A (A -> null): x_B = 1/2, P = 1/3 * 1/2 = 1/6, RE_A = 1 - (1/6)/(2/3) = 3/4.
    # Without B: x_A = 1/3, P = 2/3 * 1/3 = 2/9, RE_B = 1 - (2/9)/(2/3) = 2/3.
    # Shares: (3/4) / (17/12) = 9/17 and (2/3) / (17/12) = 8/17 of the 2 conversions.
    paths = pd.DataFrame({"path": [["A", "B"], ["B", "A"], ["A"]],
                          "converted": [True, False, True], "value": [10.0, 0.0, 7.0]})
    out = sources.attribution(paths, "markov", n_boot=0).set_index("channel")
    assert out.loc["A", "removal_effect"] == pytest.approx(3 / 4, abs=1e-12)
    assert out.loc["B", "removal_effect"] == pytest.approx(2 / 3, abs=1e-12)
    assert out.loc["A", "share"] == pytest.approx(9 / 17, abs=1e-12)
    assert out.loc["A", "conversions"] == pytest.approx(18 / 17, abs=1e-12)
    assert out.loc["B", "conversions"] == pytest.approx(16 / 17, abs=1e-12)
    assert out.loc["A", "value"] == pytest.approx(17 * 9 / 17, abs=1e-9)


def test_markov_useless_channel_gets_zero_and_self_loops_do_not_matter():
    base = pd.DataFrame({"path": [["A", "B"], ["B", "A"], ["A"], ["C"], ["C", "C"]],
                         "converted": [True, False, True, False, False]})
    out = sources.attribution(base, "markov", n_boot=0).set_index("channel")
    # C only leads to null: removing it changes nothing, so exactly 0 (never negative).
    assert out.loc["C", "removal_effect"] == 0.0 and out.loc["C", "conversions"] == 0.0
    # Repeating a touch adds a self-loop, which leaves absorption probabilities unchanged.
    loops = base.assign(path=[["A", "A", "B"], ["B", "B", "A"], ["A"], ["C"], ["C"]])
    again = sources.attribution(loops, "markov", n_boot=0).set_index("channel")
    assert np.allclose(again.loc[out.index, "removal_effect"], out["removal_effect"], atol=1e-12)


def test_markov_linear_algebra_matches_matrix_power(shop):
    # Independent check of the exact solve: absorption probability read off P^n for large n.
    paths = sources.journeys(shop)
    t = sources._touches(paths)
    k = len(t["channels"])
    counts = np.zeros((k + 3, k + 3))
    state = t["codes"] + 1
    prev = np.where(t["pos"] == 0, 0, np.roll(state, 1))
    np.add.at(counts, (prev, state), 1)
    last = state[t["starts"] + t["lengths"] - 1]
    np.add.at(counts, (last, np.where(t["converted"], k + 1, k + 2)), 1)
    p = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    p[k + 1, k + 1] = p[k + 2, k + 2] = 1.0

    def absorb(m):
        return np.linalg.matrix_power(m, 4096)[0, k + 1]

    base = absorb(p)
    re = sources.markov_removal_effects(counts)
    for c in range(k):
        m = p.copy()
        m[:, k + 2] += m[:, c + 1]   # every move into c goes to null instead
        m[:, c + 1] = 0.0
        assert re[c] == pytest.approx(1 - absorb(m) / base, abs=1e-9)


def test_heuristic_models_hand_computed():
    paths = pd.DataFrame({"path": [["A", "B", "A"], ["B"], ["C", "A"]],
                          "converted": [True, True, False], "value": [30.0, 10.0, 99.0]})
    first = sources.attribution(paths, "first_touch", n_boot=0).set_index("channel")
    last = sources.attribution(paths, "last_touch", n_boot=0).set_index("channel")
    lin = sources.attribution(paths, "linear", n_boot=0).set_index("channel")
    # Unconverted journey 3 gives no credit; C still gets a row with 0.
    assert first["conversions"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0}
    assert last["conversions"].to_dict() == {"A": 1.0, "B": 1.0, "C": 0.0}
    # Linear: journey 1 gives A 2/3 and B 1/3; journey 2 gives B 1.
    assert lin.loc["A", "conversions"] == pytest.approx(2 / 3)
    assert lin.loc["B", "conversions"] == pytest.approx(4 / 3)
    assert lin.loc["A", "value"] == pytest.approx(20.0) and lin.loc["B", "value"] == pytest.approx(20.0)
    assert lin["share"].sum() == pytest.approx(1.0)


def test_attribution_bootstrap_is_seeded_and_covers_estimate():
    rng = np.random.default_rng(1)
    ch = np.array(["A", "B", "C"])
    paths = pd.DataFrame({"path": [list(ch[rng.integers(0, 3, rng.integers(1, 4))])
                                   for _ in range(300)],
                          "converted": rng.random(300) < 0.4})
    a = sources.attribution(paths, "markov", n_boot=50, seed=3)
    b = sources.attribution(paths, "markov", n_boot=50, seed=3)
    c = sources.attribution(paths, "markov", n_boot=50, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    assert ((a["ci_low"] <= a["conversions"]) & (a["conversions"] <= a["ci_high"])).all()


def test_attribution_bad_input():
    with pytest.raises(ValueError, match="model must be one of"):
        sources.attribution(pd.DataFrame({"path": [["A"]], "converted": [True]}), "shapley")
    with pytest.raises(ValueError, match="1 empty or missing paths, e.g. row 1"):
        sources.attribution(pd.DataFrame({"path": [["A"], []], "converted": [True, False]}),
                            "linear")
    with pytest.raises(ValueError, match="'converted' is missing"):
        sources.attribution(pd.DataFrame({"path": [["A"]]}), "linear")


def test_compare_attribution_columns():
    paths = pd.DataFrame({"path": [["A", "B"], ["B"]], "converted": [True, True]})
    wide = sources.compare_attribution(paths)
    assert wide.columns.tolist() == list(sources.MODELS)
    assert np.allclose(wide.sum(), 1.0)


# --------------------------------------------------------------------------- answer key


def test_channel_conversion_ranks_match_truth(shop):
    # Tolerance: the planted per-visit rates of neighbours in the truth ranking can be close
    # (Direct 5.3 % vs Email 4.7 % for new visitors but 6.0 % vs 5.5 % for returning ones, and
    # the new/returning mix differs by channel; Referral vs Affiliates and Paid vs Organic
    # Social are as close), so an adjacent swap is allowed only where the two observed 95 %
    # Wilson intervals overlap (a difference within sampling error). Overall Spearman >= 0.9;
    # the top channel must be one of the planted top two and the bottom one of the planted
    # bottom two (a swap there is covered by the pairwise rule), and the top two must beat the
    # bottom two by a wide margin (their intervals do not overlap).
    truth = shop.truth["channel_conversion_rank"]
    out = sources.channel_summary(shop).set_index("channel").loc[truth]
    observed = out["conversion_rate"].rank(ascending=False).to_numpy()
    rho = sps.spearmanr(np.arange(1, len(truth) + 1), observed).statistic
    assert rho >= 0.9
    ranked = out.sort_values("conversion_rate", ascending=False).index.tolist()
    assert ranked[0] in truth[:2] and ranked[-1] in truth[-2:]
    assert out.loc[truth[:2], "ci_low"].min() > out.loc[truth[-2:], "ci_high"].max()
    for i, a in enumerate(truth):
        for b in truth[i + 1:]:
            if out.loc[a, "conversion_rate"] < out.loc[b, "conversion_rate"]:   # out of order
                assert truth.index(b) - truth.index(a) == 1, (a, b)
                assert out.loc[a, "ci_high"] >= out.loc[b, "ci_low"], (a, b)


def test_cost_per_new_visitor_matches_truth(shop):
    # The key's cost per new visitor is the spend over the visitors the planted response curves
    # expect for it; the acquired users are a Poisson-like draw around that, so the ratio must
    # be within 12 % (Email, the smallest paid channel with ~430 new visitors, is the noisiest).
    out = sources.channel_summary(shop).set_index("channel")
    for ch, spec in shop.truth["channels"].items():
        cost = spec["cost_per_new_visitor"]
        if cost > 0:
            assert out.loc[ch, "cost_per_new_user"] == pytest.approx(cost, rel=0.12), ch
        else:
            assert out.loc[ch, "spend"] == 0, ch


# --------------------------------------------------------------------------- notebook 01 helpers


def test_channel_summary_tests_conversion_by_channel():
    s = sources.channel_summary(validate(tiny_store()))
    t = s.attrs["test"]
    has = s.loc[s["sessions"] > 0]
    table = np.column_stack([has["conversions"], has["sessions"] - has["conversions"]])
    assert t["pvalue"] == pytest.approx(sps.chi2_contingency(table)[1])


def test_channel_summary_test_is_nan_without_purchases():
    store = tiny_store()
    store.events = store.events.assign(event=store.events["event"].replace("purchase", "page_view"))
    store.orders = None
    s = sources.channel_summary(validate(store))
    assert (s["conversions"] == 0).all() and np.isnan(s.attrs["test"]["pvalue"])


def test_acquisition_economics_hand_computed_and_only_paid_channels():
    summary = pd.DataFrame({"channel": ["A", "B", "C", "D"],
                            "cost_per_new_user": [2.0, 4.0, 0.0, np.nan]})
    value = pd.DataFrame({"channel": ["A", "B", "C", "D"], "mean_revenue": [10.0, 100.0, 50.0, 5.0],
                          "ci_low": [5.0, 60.0, 1.0, 1.0], "ci_high": [15.0, 140.0, 99.0, 9.0]})
    e = sources.acquisition_economics(summary, value, margin=0.25)
    assert e.index.tolist() == ["B", "A"]
    assert e.loc["B", "profit_per_user"] == pytest.approx(21.0)
    assert e.loc["B", "profit_low"] == pytest.approx(11.0)
    assert e.loc["A", "return_per_spend"] == pytest.approx(1.25)


def test_weekly_spend_sums_by_week_and_is_empty_without_spend():
    sp = pd.DataFrame({"date": pd.to_datetime(["2025-01-06", "2025-01-12", "2025-01-13"]),
                       "channel": ["A", "A", "A"], "spend": [1.0, 2.0, 4.0]})
    w = sources.weekly_spend(sp)
    assert w["A"].tolist() == [3.0, 4.0]
    assert sources.weekly_spend(None).empty


def test_figures_survive_no_conversions_and_no_spend():
    """The crash of notebook 01 on a store without purchases: NaN shares gave a NaN axis limit."""
    import matplotlib.pyplot as plt

    paths = pd.DataFrame({"path": [["A", "B"], ["B"]], "converted": [False, False]})
    side = pd.DataFrame({m: sources.attribution(paths, m, n_boot=0).set_index("channel")["share"]
                         for m in sources.MODELS})
    assert side.isna().all().all()
    ax = sources.plot_attribution(side)
    assert np.isfinite(ax.get_ylim()).all()
    plt.close(ax.figure)
    ax = sources.plot_weekly_spend(sources.weekly_spend(None))
    assert np.isfinite(ax.get_ylim()).all()
    plt.close(ax.figure)
    zero = pd.DataFrame({"A": [0.0, 0.0]}, index=pd.date_range("2025-01-05", periods=2, freq="W"))
    ax = sources.plot_weekly_spend(zero, currency="EUR")
    assert ax.get_ylabel() == "spend (EUR per week)"
    plt.close(ax.figure)


def test_plot_attribution_leaves_head_room_above_the_largest_share():
    import matplotlib.pyplot as plt

    side = pd.DataFrame({"last_touch": [0.7, 0.3], "markov": [0.5, 0.5]}, index=["A", "B"])
    ax = sources.plot_attribution(side)
    assert ax.get_ylim()[1] == pytest.approx(0.7 * 1.3)
    plt.close(ax.figure)


def test_daily_acquisitions_count_every_user_once_on_their_shop_day(shop):
    d = sources.daily_acquisitions(shop)
    assert d.groupby("channel")["new_users"].sum().to_dict() == \
        shop.users["acquisition_channel"].value_counts().to_dict()
    # every day × channel is a row, days in shop time (a visit at 23:30 UTC is the next day)
    assert len(d) == d["date"].nunique() * d["channel"].nunique()
    tz = shop.timezone
    first = shop.users.iloc[0]
    day = first["first_seen"].tz_convert(tz).tz_localize(None).normalize()
    row = d.loc[(d["date"] == day) & (d["channel"] == first["acquisition_channel"]), "new_users"]
    assert row.item() >= 1
    f = sources.daily_acquisitions(shop, what="first_orders")
    done = shop.orders.loc[shop.orders["status"] == "completed"]
    assert f["first_orders"].sum() == done["user_id"].nunique()
    with pytest.raises(ValueError, match="what must be"):
        sources.daily_acquisitions(shop, what="revenue")
