"""helpers.segments: RFM scores and segments, lifecycle stages, clusters and personas."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from helpers import segments as sg
from helpers.data import Store, load_store


def ts(*days):
    return pd.to_datetime(list(days), utc=True)


@pytest.fixture(scope="module")
def shop():
    return load_store()


@pytest.fixture(scope="module")
def shop_features(shop):
    return sg.cluster_features(shop)


# --- scores -----------------------------------------------------------------------------------

def test_score_ties_share_a_score_and_skip_swallowed_quintiles():
    # 6 of 8 users have one order: all get F=1; 2 orders beat 6/7 of the others -> 1+floor(4.29)=5
    f = pd.Series([1, 1, 1, 1, 1, 1, 2, 3])
    assert sg.score(f).tolist() == [1, 1, 1, 1, 1, 1, 5, 5]
    # unique values give plain quintiles of p = (rank-1)/(n-1): 0, .25, .5, .75, 1
    assert sg.score(pd.Series([10, 20, 30, 40, 50])).tolist() == [1, 2, 3, 4, 5]
    # recency: fewer days is better; the two users at 5 days tie and share the score
    assert sg.score(pd.Series([5, 5, 100, 40, 1]), higher_is_better=False).tolist() == \
        [3, 3, 1, 2, 5]


def test_score_without_variation_gives_the_middle_score():
    # nothing to rank: neither the bottom nor the top score would be honest
    assert sg.score(pd.Series([7, 7, 7])).tolist() == [3, 3, 3]
    assert sg.score(pd.Series([7])).tolist() == [3]
    assert sg.score(pd.Series([0]), higher_is_better=False, bins=4).tolist() == [2]
    with pytest.raises(ValueError, match="missing"):
        sg.score(pd.Series([1.0, np.nan]))


# --- rfm --------------------------------------------------------------------------------------

@pytest.fixture
def orders():
    return pd.DataFrame({
        "order_id": [1, 2, 3, 4, 5, 6, 7],
        "user_id": [1, 1, 2, 3, 4, 4, 5],
        "ordered_at": ts("2025-01-01", "2025-03-01", "2025-02-01", "2025-03-10",
                         "2025-03-10", "2025-04-01", "2025-02-15"),
        "revenue": [10.0, 30.0, 5.0, 80.0, 20.0, 99.0, 7.0],
        "status": ["completed", "completed", "completed", "completed", "completed",
                   "completed", "refunded"],
    })


def test_rfm_hand_case_with_asof_filter_and_status(orders):
    t = sg.rfm(orders, "2025-03-10")
    # order 6 is after asof and order 7 refunded: both reported, neither counted
    assert t.attrs["dropped"] == {"status not completed": 1, "after asof": 1}
    assert t["user_id"].tolist() == [1, 2, 3, 4]
    assert t["recency_days"].tolist() == [9, 37, 0, 0]   # orders exactly at asof count
    assert t["frequency"].tolist() == [2, 1, 1, 1]
    assert t["monetary"].tolist() == [40.0, 5.0, 80.0, 20.0]
    # R: users 3 and 4 tie at 0 days -> both beat 2/3 of the others -> 1 + floor(3.33) = 4;
    # user 1 (9 days) beats only user 2 (37 days): p = 1/3 -> 1 + floor(1.67) = 2
    assert t["r"].tolist() == [2, 1, 4, 4]
    # F: three one-order users share F=1; the two-order user beats all others -> 5
    assert t["f"].tolist() == [5, 1, 1, 1]
    assert t["m"].tolist() == [4, 1, 5, 2]          # p = 2/3, 0, 1, 1/3
    assert t["fm"].tolist() == [4, 1, 3, 1]         # (f + m) // 2
    assert t["segment"].astype(str).tolist() == ["At risk", "Lost", "Potential loyalist",
                                                  "Promising"]


def test_rfm_status_none_counts_every_order_and_default_asof_is_last_order(orders):
    t = sg.rfm(orders, status=None)
    assert t.attrs["asof"] == pd.Timestamp("2025-04-01", tz="UTC")
    assert t.set_index("user_id")["frequency"].to_dict() == {1: 2, 2: 1, 3: 1, 4: 2, 5: 1}


def test_rfm_one_order_users_all_get_f1(orders):
    # every one-order buyer shares F = 1 when somebody ordered more often
    t = sg.rfm(orders, "2025-12-31", status=None)
    assert (t.loc[t["frequency"] == 1, "f"] == 1).all()
    assert (t.loc[t["frequency"] > 1, "f"] == 4).all()  # beat 3 of the 4 others


def test_rfm_one_buyer_who_ordered_today_is_not_lost():
    o = pd.DataFrame({"order_id": [1, 2], "user_id": [9, 9], "revenue": [5.0, 7.0],
                      "ordered_at": ts("2025-03-01", "2025-03-10")})
    t = sg.rfm(o, "2025-03-10")
    assert t[["r", "f", "m"]].iloc[0].tolist() == [3, 3, 3]
    assert t["segment"].astype(str).tolist() == ["Need attention"]


def test_rfm_without_revenue_maps_r_by_f(orders):
    t = sg.rfm(orders.assign(revenue=np.nan), "2025-03-10")
    assert t["monetary"].isna().all() and t["m"].isna().all()
    assert t["fm"].tolist() == t["f"].tolist()
    assert t.attrs["no_revenue"] == 5
    seg = sg.segment_summary(t)
    assert "revenue_share" not in seg.columns and seg["users"].sum() == 4


def test_partial_revenue_counts_what_is_known(orders):
    o = orders.assign(revenue=orders["revenue"].where(orders["order_id"] != 2))
    t = sg.rfm(o, "2025-03-10")
    assert t.attrs["no_revenue"] == 1
    assert t.set_index("user_id").loc[1, "monetary"] == 10.0


def test_rfm_missing_column_is_named(orders):
    with pytest.raises(ValueError, match="revenue"):
        sg.rfm(orders.drop(columns="revenue"), "2025-03-10")


def test_segment_map_covers_every_score_combination():
    assert set(sg.SEGMENT_MAP) == set(itertools.product(range(1, 6), repeat=2))
    assert set(sg.SEGMENT_MAP.values()) == set(sg.SEGMENTS)          # every name is reachable
    assert set(sg.SEGMENT_NEEDS) == set(sg.SEGMENTS)
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        assert sg.SEGMENT_MAP[(r, (f + m) // 2)] in sg.SEGMENTS


def test_rfm_grid_cells_hold_counts_and_revenue(orders):
    t = sg.rfm(orders, "2025-03-10")
    g = sg.rfm_grid(t)
    assert g.shape == (5, 5) and int(g.to_numpy().sum()) == 4
    assert g.loc[4, 1] == 1 and g.loc[4, 3] == 1 and g.loc[2, 4] == 1 and g.loc[1, 1] == 1
    assert sg.rfm_grid(t, value="monetary").loc[2, 4] == 40.0


# --- lifecycle --------------------------------------------------------------------------------

def test_lifecycle_boundaries_exactly_at_the_thresholds():
    asof = pd.Timestamp("2025-06-30 12:00", tz="UTC")
    day = pd.Timedelta("1D")
    # (first order, last order) in days before asof, and the stage the rules give
    cases = {
        1: (9, 9, "new"),          # d_first = 9 < new_days 10
        2: (10, 10, "active"),     # d_first = 10 is no longer new; d_last 10 < 60
        3: (200, 59, "active"),    # d_last = 59 < active_days 60
        4: (200, 60, "dormant"),   # d_last = 60 = active_days -> dormant
        5: (300, 179, "dormant"),  # d_last = 179 < churn_days 180
        6: (300, 180, "churned"),  # d_last = 180 = churn_days -> churned
    }
    rows = [(u, asof - d * day) for u, (f, l, _) in cases.items() for d in {f, l}]
    o = pd.DataFrame(rows, columns=["user_id", "ordered_at"]).assign(revenue=1.0)
    o["order_id"] = range(len(o))
    users = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6, 7, 8],
                          "first_seen": [asof - 400 * day] * 7 + [asof + day]})
    store = Store(events=pd.DataFrame({"ts": [asof]}), users=users, orders=o)
    lc = sg.lifecycle(store, asof, new_days=10, active_days=60, churn_days=180)
    got = lc.set_index("user_id")["stage"].astype(str).to_dict()
    assert got == {u: s for u, (_, _, s) in cases.items()} | {7: "prospect"}
    assert lc.attrs["dropped"]["users first seen after asof"] == 1          # user 8
    art = lc.set_index("user_id")["article_stage"].astype(str)
    assert art[[7, 1, 3, 4, 6]].tolist() == ["acquisition", "growth", "maturity", "decline",
                                             "decline"]


def test_lifecycle_rejects_inconsistent_thresholds(shop):
    with pytest.raises(ValueError, match="new_days <= active_days < churn_days"):
        sg.lifecycle(shop, new_days=30, active_days=120, churn_days=120)


# --- bundled shop: sizes add up, and the answer key -------------------------------------------

def test_segment_sizes_add_up_to_buyers(shop):
    asof = sg.as_of(shop)
    t = sg.rfm(shop.orders, asof)
    completed = shop.orders.loc[shop.orders["status"].eq("completed")]
    buyers = completed["user_id"].nunique()
    summ = sg.segment_summary(t)
    assert len(summ) == len(sg.SEGMENTS)
    assert summ["users"].sum() == buyers == len(t)
    # revenue is rounded to whole CNY per segment: at most 0.5 off per segment
    assert abs(summ["revenue"].sum() - completed["revenue"].sum()) <= 0.5 * len(summ)
    assert summ["share"].sum() == pytest.approx(1.0, abs=1e-3)  # shares are rounded to 4 dp
    lc = sg.lifecycle(shop, asof)
    assert (lc["stage"] != "prospect").sum() == buyers
    assert len(lc) == len(shop.users)


def test_lapsed_stages_at_send_are_exactly_the_winback_targets(shop):
    # The answer key defines the win-back target as buyers whose last purchase (any status) was
    # >= 120 days before the send on 2025-09-15 (02:00 UTC, before the first e-mail). That is a
    # deterministic rule on the same orders, so the match must be exact, also per key segment.
    wb = shop.truth["winback"]
    send = pd.Timestamp(wb["send"], tz="UTC") + pd.Timedelta("2h")
    assert shop.campaign_sends["sent_at"].min() >= send
    lc = sg.lifecycle(shop, send, active_days=120, churn_days=270, status=None)
    lapsed = lc.loc[lc["stage"].isin(["dormant", "churned"])]
    assert set(lapsed["user_id"]) == set(shop.campaign_sends["user_id"])
    key = (np.where(lapsed["frequency"] > 1, "repeat", "one-time").astype(object)
           + np.where(lapsed["stage"] == "dormant", ", lapsed 120-269d", ", lapsed 270d+"))
    assert pd.Series(key).value_counts().to_dict() == wb["segment_sizes"]


# --- clusters and personas --------------------------------------------------------------------

def test_cluster_features_hand_case():
    o = pd.DataFrame({"order_id": [1, 2, 3], "user_id": [7, 7, 8], "status": "completed",
                      "revenue": [90.0, 30.0, 50.0], "discount": [10.0, 0.0, 0.0],
                      "ordered_at": ts("2025-01-01", "2025-02-01", "2025-01-05")})
    lines = pd.DataFrame({"order_id": [1, 1, 2, 3], "item_id": [11, 12, 13, 11],
                          "quantity": 1, "unit_price": [1.0, 1, 1, 1]})
    items = pd.DataFrame({"item_id": [11, 12, 13], "category": ["a", "b", "a"]})
    sess = pd.DataFrame({"session_id": [1, 2, 3, 4], "user_id": [7, 7, 7, 8],
                         "started_at": ts("2025-01-01", "2025-02-01", "2025-03-01", "2025-01-05"),
                         "device": ["mobile", "desktop", "mobile", "tablet"]})
    store = Store(events=pd.DataFrame({"ts": ts("2025-03-01")}), orders=o, order_lines=lines,
                  items=items, sessions=sess)
    f = sg.cluster_features(store, "2025-02-15")       # the 2025-03-01 visit is after asof
    assert f.loc[7].to_dict() == {"frequency": 2, "aov": 60.0, "discount_share": 0.0769,
                                  "category_breadth": 2, "sessions": 2, "mobile_share": 0.5}
    assert f.loc[8, "mobile_share"] == 0.0 and f.loc[8, "category_breadth"] == 1


def test_kmeans_is_deterministic_and_matches_sklearn(shop_features):
    a = sg.clusters(shop_features, 4, seed=0)
    b = sg.clusters(shop_features, 4, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["labels"].equals(b.attrs["labels"])
    assert a["users"].is_monotonic_decreasing and a["users"].sum() == len(shop_features)
    # same partition as scikit-learn run directly on the standardised features (labels renamed)
    with threadpool_limits(limits=1):  # as the helper does; keeps the test fast on a busy box
        ref = KMeans(n_clusters=4, random_state=0, n_init=10).fit(sg._standardise(shop_features))
    assert adjusted_rand_score(ref.labels_, a.attrs["labels"]) == 1.0
    k1 = sg.choose_k(shop_features, range(2, 5), seed=3)
    k2 = sg.choose_k(shop_features, range(2, 5), seed=3)
    pd.testing.assert_frame_equal(k1, k2)
    assert k1["best"].sum() == 1


def test_personas_hand_case_with_ties_and_coupon_ci():
    o = pd.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [7, 7, 8, 9], "status": "completed",
                      "revenue": [10.0, 30.0, 60.0, 100.0], "coupon": ["A", None, None, "B"],
                      "ordered_at": ts("2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04")})
    lines = pd.DataFrame({"order_id": [1, 2, 3, 4], "item_id": [11, 12, 12, 11],
                          "quantity": [1, 1, 2, 1], "unit_price": [10.0, 30.0, 30.0, 100.0]})
    items = pd.DataFrame({"item_id": [11, 12], "category": ["toys", "books"]})
    users = pd.DataFrame({"user_id": [7, 8, 9], "acquisition_channel": ["Email", "Direct", "Email"],
                          "device": ["mobile", "desktop", "desktop"],
                          "first_seen": ts("2025-01-01", "2025-01-01", "2025-01-01")})
    store = Store(events=pd.DataFrame({"ts": ts("2025-02-01")}), orders=o, order_lines=lines,
                  items=items, users=users)
    p = sg.personas(store, pd.Series({7: "x", 8: "x", 9: "y"}))
    assert p.loc["x", "users"] == 2 and p.loc["x", "revenue_share"] == 0.5
    assert p.loc["x", "aov"] == pytest.approx(100 / 3, abs=1e-4)
    # both x users' top category is books (7: 30 > 10; 8: 60); channel tie Direct/Email -> Direct
    assert p.loc["x", "top_category"] == "books" and p.loc["x", "top_channel"] == "Direct"
    assert p.loc["x", "top_device"] == "desktop"
    assert p.loc["x", "coupon_use"] == pytest.approx(1 / 3, abs=1e-4)
    lo, hi = sg.wilson(1, 3)
    assert (p.loc["x", "coupon_ci_low"], p.loc["x", "coupon_ci_high"]) == \
        (round(lo, 4), round(hi, 4))


def test_personas_blank_coupon_is_no_coupon_and_sessions_respect_asof():
    # Coupons: user 7 has "A", "" and "  " (blank = no coupon, as churn_features reads it),
    # user 8 has "B". Without a users table, channel and device come from sessions up to asof.
    o = pd.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [7, 7, 7, 8], "status": "completed",
                      "revenue": [10.0, 20.0, 30.0, 40.0], "coupon": ["A", "", "  ", "B"],
                      "ordered_at": ts("2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04")})
    # asof 2025-02-15: user 7 has one desktop session before it and two mobile ones after (all
    # sessions would make mobile the mode); user 8's only session is after it.
    sess = pd.DataFrame({"session_id": [1, 2, 3, 4], "user_id": [7, 7, 7, 8],
                         "started_at": ts("2025-01-10", "2025-02-20", "2025-03-01", "2025-03-01"),
                         "channel": ["Direct", "Email", "Email", "Email"],
                         "device": ["desktop", "mobile", "mobile", "tablet"]})
    store = Store(events=pd.DataFrame({"ts": ts("2025-03-01")}), orders=o, sessions=sess)
    p = sg.personas(store, pd.Series({7: "x", 8: "y"}), asof="2025-02-15")
    assert p.loc["x", "coupon_use"] == pytest.approx(1 / 3, abs=1e-4)
    assert p.loc["y", "coupon_use"] == 1.0
    assert p.loc["x", "top_channel"] == "Direct" and p.loc["x", "top_device"] == "desktop"
    assert pd.isna(p.loc["y", "top_channel"]) and pd.isna(p.loc["y", "top_device"])


def test_choose_k_leaves_out_what_cannot_be_scored():
    X = pd.DataFrame({"a": [0.0, 0.0, 1.0, 5.0]})  # three distinct buyers
    ck = sg.choose_k(X, range(2, 6))
    assert ck["k"].tolist() == [2]
    none = sg.choose_k(X.iloc[:1], range(3, 9))
    assert none.empty and "1 distinct buyer" in none.attrs["why"]
    assert sg.best_k(none) is None and sg.best_k(ck) == 2


def test_cluster_features_and_personas_without_revenue_or_lines():
    o = pd.DataFrame({"order_id": [1, 2, 3], "user_id": [7, 7, 8], "status": "completed",
                      "revenue": np.nan, "discount": 0.0,
                      "ordered_at": ts("2025-01-01", "2025-01-05", "2025-01-03")})
    st = Store(events=pd.DataFrame({"user_id": o["user_id"], "ts": o["ordered_at"]}), orders=o)
    f = sg.cluster_features(st)
    assert list(f.columns) == ["frequency"]
    p = sg.personas(st, pd.Series({7: "x", 8: "y"}))
    assert "aov" not in p.columns and p["orders_per_user"].tolist() == [2.0, 1.0]
    lc = sg.lifecycle(st, "2025-01-10")
    assert lc["monetary"].isna().all()
    assert "revenue" not in sg.segment_summary(lc, "stage").columns


def test_cluster_features_impute_a_missing_aov_with_the_median():
    o = pd.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [7, 8, 9, 9], "status": "completed",
                      "revenue": [10.0, 30.0, np.nan, np.nan],
                      "ordered_at": ts("2025-01-01", "2025-01-05", "2025-01-03", "2025-01-04")})
    f = sg.cluster_features(Store(events=pd.DataFrame({"ts": o["ordered_at"]}), orders=o))
    assert f["aov"].tolist() == [10.0, 30.0, 20.0] and f.attrs["aov_imputed"] == 1
