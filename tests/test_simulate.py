"""helpers.simulate: determinism, consistency, realistic marginals and the answer key.

The marginal checks compute every number directly with pandas (not with the kit's
analysis helpers), so they test the simulator on its own.
"""

import numpy as np
import pandas as pd
import pytest

from helpers import data
from helpers import simulate as simulate_mod
from helpers.data import load_store, open_store
from helpers.simulate import simulate


@pytest.fixture(scope="module")
def shop():
    return data.load_store()


@pytest.fixture(scope="module")
def sess(shop):
    conv = shop.events.loc[shop.events["event"] == "purchase", "session_id"].unique()
    return shop.sessions.assign(converted=shop.sessions["session_id"].isin(conv))


def test_same_seed_same_tables_other_seed_other_tables():
    a, b = simulate(users=1500, seed=11), simulate(users=1500, seed=11)
    for t in data.TABLES:
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), obj=t)
    assert a.truth == b.truth
    c = simulate(users=1500, seed=12)
    assert not c.events.equals(a.events)


def test_bundled_data_is_what_the_simulator_writes(shop):
    fresh = simulate(users=25_000, seed=7)
    for t in data.TABLES:
        pd.testing.assert_frame_equal(getattr(fresh, t), getattr(shop, t), obj=t)
    assert fresh.truth == shop.truth


def test_bundled_size_is_workshop_sized(shop):
    assert 15_000 <= len(shop.users) <= 25_000
    assert 300_000 <= len(shop.events) <= 1_000_000
    size = sum(f.stat().st_size for f in data.BUNDLED_DATA.iterdir())
    assert size < 40e6


def test_tables_are_consistent(shop):
    ev, s, o = shop.events, shop.sessions, shop.orders
    # each session's events belong to its user, and no event precedes its session start
    m = ev.merge(s[["session_id", "user_id", "started_at"]], on="session_id", suffixes=("", "_s"))
    assert (m["user_id"] == m["user_id_s"]).all()
    assert (m["ts"] >= m["started_at"]).all()
    # every order sits in a session of its user that has exactly one purchase event
    os_ = o.merge(s[["session_id", "user_id"]], on="session_id", suffixes=("", "_s"))
    assert len(os_) == len(o) and (os_["user_id"] == os_["user_id_s"]).all()
    purchases = ev.loc[ev["event"] == "purchase"].groupby("session_id").size()
    assert (purchases.reindex(o["session_id"]) == 1).all()
    # revenue = lines - discount
    lines = shop.order_lines.assign(v=lambda d: d["quantity"] * d["unit_price"])
    gross = lines.groupby("order_id")["v"].sum().reindex(o["order_id"]).to_numpy()
    assert np.allclose(gross - o["discount"].to_numpy(), o["revenue"].to_numpy(), atol=0.011)
    # users first seen at their first session; reviews after their order
    first = s.groupby("user_id")["started_at"].min()
    fs = shop.users.set_index("user_id")["first_seen"]
    assert ((first.reindex(fs.index) - fs).abs() <= pd.Timedelta("1s")).all()
    r = shop.reviews.merge(o[["order_id", "ordered_at"]], on="order_id")
    assert (r["created_at"] > r["ordered_at"]).all()


# --------------------------------------------------------------- realistic marginals


def test_session_conversion_between_1_5_and_4_percent(sess):
    assert 0.015 <= sess["converted"].mean() <= 0.04


def test_cart_abandonment_between_60_and_80_percent(shop, sess):
    carts = shop.events.loc[shop.events["event"] == "add_to_cart", "session_id"].unique()
    bought = sess.set_index("session_id")["converted"].reindex(carts)
    assert 0.60 <= 1 - bought.mean() <= 0.80


def test_mobile_is_the_majority_and_converts_lower(sess):
    share = sess["device"].value_counts(normalize=True)
    conv = sess.groupby("device")["converted"].mean()
    assert share["mobile"] > 0.5
    assert conv["mobile"] < conv["desktop"]


def test_email_and_direct_convert_best_social_worst(sess):
    conv = sess.groupby("channel")["converted"].mean().sort_values()
    assert set(conv.index[-2:]) == {"Email", "Direct"}
    assert set(conv.index[:2]) == {"Organic Social", "Paid Social"}


def test_20_to_35_percent_of_buyers_buy_again_within_a_year(shop):
    o = shop.orders.loc[shop.orders["status"] == "completed"]
    first = o.groupby("user_id")["ordered_at"].min().rename("first")
    end = o["ordered_at"].max()
    eligible = first[first <= end - pd.Timedelta("365D")]
    later = o.merge(first, left_on="user_id", right_index=True)
    again = later.loc[(later["ordered_at"] > later["first"])
                      & (later["ordered_at"] <= later["first"] + pd.Timedelta("365D")), "user_id"]
    rate = eligible.index.isin(again).mean()
    assert len(eligible) > 500
    assert 0.20 <= rate <= 0.35


def test_sale_peak_is_visible(shop):
    tz = shop.truth["period"]["shop_timezone"]
    day = shop.sessions["started_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    daily = shop.sessions.groupby(day).size()
    # organic arrivals surge up to ×9 on the day; paid ones saturate (their spend is pushed as
    # hard, but the response curves flatten), so the day is about twice the eight weeks before
    for sale in pd.to_datetime(shop.truth["sale"]["days"]):
        before = daily.loc[sale - pd.Timedelta("56D"):sale - pd.Timedelta("11D")]
        assert daily.loc[sale] >= 1.8 * before.median()
    assert daily.idxmax() in [pd.Timestamp(d) for d in shop.truth["sale"]["days"]]


def test_aov_is_right_skewed(shop):
    rev = shop.orders.loc[shop.orders["status"] == "completed", "revenue"]
    assert rev.mean() > 1.5 * rev.median()
    assert rev.skew() > 1.0


# --------------------------------------------------------------- the answer key


def test_answer_key_names_every_planted_effect(shop):
    t = shop.truth
    for key in ("channels", "checkout_steps_by_device", "bottleneck", "basket_complements",
                "checkout_ab", "srm_experiment", "winback", "bgnbd", "review_churn", "sale",
                "incidents"):
        assert key in t, key
    assert set(t["channels"]) == set(data.CHANNELS)
    assert t["bottleneck"]["device"] == "mobile"


def test_payment_step_rates_match_the_key(shop, sess):
    """Session-level P(purchase | add_payment_info) by device equals the planted step rate."""
    ev = shop.events
    pay = ev.loc[ev["event"] == "add_payment_info", "session_id"].unique()
    s = sess.set_index("session_id").loc[pay]
    ab = shop.assignments
    treated = ab.loc[(ab["experiment"] == "checkout_redesign") & (ab["variant"] == "treatment"),
                     "user_id"]
    s = s.loc[~s["user_id"].isin(treated)]
    rate = s.groupby("device")["converted"].agg(["mean", "size"])
    for dev, steps in shop.truth["checkout_steps_by_device"].items():
        p = steps["add_payment_info->purchase"]
        se = np.sqrt(p * (1 - p) / rate.loc[dev, "size"])
        assert abs(rate.loc[dev, "mean"] - p) < 3.5 * se, dev


def test_srm_experiment_is_visibly_broken_and_checkout_is_balanced(shop):
    from scipy.stats import chisquare

    a = shop.assignments
    banner = a.loc[a["experiment"] == "homepage_banner", "variant"].value_counts()
    assert chisquare(banner.to_numpy()).pvalue < 1e-3
    assert banner.to_dict() == shop.truth["srm_experiment"]["observed"]
    checkout = a.loc[a["experiment"] == "checkout_redesign", "variant"].value_counts()
    assert chisquare(checkout.to_numpy()).pvalue > 1e-3


def test_winback_holdout_is_about_a_fifth(shop):
    sends = shop.campaign_sends
    share = 1 - sends["treated"].mean()
    n = len(sends)
    assert abs(share - shop.truth["winback"]["holdout"]) < 3.5 * np.sqrt(0.16 / n)


def test_streamed_shop_is_one_valid_store(tmp_path):
    # two chunks of users written part by part must load as one consistent store
    counts = simulate_mod.stream(600, 3, tmp_path, chunk_users=300)
    full = load_store(tmp_path)  # validates keys and foreign keys across the parts
    assert len(full.users) == counts["users"] == 600
    assert len(full.events) == counts["events"]
    assert full.spend.duplicated(["date", "channel"]).sum() == 0
    lazy = open_store(tmp_path)
    assert isinstance(lazy.events, str) and isinstance(lazy.sessions, str)
    pd.testing.assert_frame_equal(lazy.orders, full.orders)


# --------------------------------------------------------------- planted incidents


def _local_day(shop, ts):
    tz = shop.truth["period"]["shop_timezone"]
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def _reached(shop, a, b, device=None):
    """Per shop day: sessions with an ``a`` event, and those of them with a ``b`` event."""
    ev = shop.events
    if device:
        ids = shop.sessions.loc[shop.sessions["device"] == device, "session_id"]
        ev = ev.loc[ev["session_id"].isin(ids)]
    start = ev.groupby("session_id")["ts"].min()
    day = _local_day(shop, start)
    has_a = day.loc[ev.loc[ev["event"] == a, "session_id"].unique()]
    has_b = has_a.index.isin(ev.loc[ev["event"] == b, "session_id"])
    return pd.DataFrame({"day": has_a.to_numpy(), "b": has_b})


def _inside(shop, frame, inc):
    end = inc["end"]
    return frame["day"].between(pd.Timestamp(inc["start"]), pd.Timestamp(end))


def test_each_incident_moves_its_series_in_its_days_only(shop):
    """The key's incidents, measured with plain pandas: the planted series is far off inside its
    days and back to normal in the four weeks either side (a release: after vs before)."""
    key = {i["kind"]: i for i in shop.truth["incidents"]}
    assert set(key) == {"payment_outage", "checkout_loop", "low_intent", "release"}
    for kind, (a, b) in {"payment_outage": ("add_payment_info", "purchase"),
                         "checkout_loop": ("add_shipping_info", "add_payment_info"),
                         "release": ("view_item", "add_to_cart")}.items():
        inc = key[kind]
        f = _reached(shop, a, b, inc.get("device"))
        inside = _inside(shop, f, inc)
        lo, hi = pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"])
        near = f["day"].between(lo - pd.Timedelta("28D"), lo - pd.Timedelta("1D")) | (
            f["day"].between(hi + pd.Timedelta("1D"), hi + pd.Timedelta("28D")))
        during, around = f.loc[inside, "b"].mean(), f.loc[near, "b"].mean()
        if kind == "release":
            assert inc["lasting"] and during > 1.2 * around, (kind, during, around)
        else:
            assert during < 0.6 * around, (kind, during, around)
    # the low-intent spike: its channel's share of the day's sessions several times the usual
    inc = key["low_intent"]
    s = shop.sessions.assign(day=_local_day(shop, shop.sessions["started_at"]))
    share = s.groupby("day")["channel"].apply(lambda c: (c == inc["channel"]).mean())
    inside = share.index.to_series().between(pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"]))
    assert share[inside].min() > 1.8 * share[~inside].median()


def test_a_steady_shop_plants_nothing_in_time():
    st = simulate(users=1500, seed=3, params=simulate_mod.steady())
    assert st.truth["incidents"] == [] and st.truth["sale"]["days"] == []
    assert st.truth["checkout_ab"]["payment_step_relative_lift"] == 0.0


def test_funnel_plants_are_off_by_default(shop):
    """The optional funnel plants (slow checkout, review readers, placebo share) leave the default
    shop alone: its events keep the eleven GA4 names, no session type can enter a plant's hidden
    state, and a small default shop logs none of their events or keys. (That the bundled shop is
    bit for bit the same is test_bundled_data_is_what_the_simulator_writes.)"""
    assert set(shop.events["event"]) == {
        "page_view", "view_item_list", "view_item", "search", "add_to_cart", "remove_from_cart",
        "view_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"}
    p = simulate_mod.Params()
    assert (p.slow_checkout, p.review_readers, p.share_rate) == (0.0, 0.0, 0.0)
    types = simulate_mod._Types(p)
    for state in simulate_mod.PLANT_STATES:
        assert not types.chains[:, :, simulate_mod.S[state]].any(), state
    st = simulate(users=2000, seed=4)
    assert not st.events["event"].isin(["view_reviews", "share"]).any()
    assert not {"slow_checkout", "conversion_driver", "placebo_event"} & set(st.truth)


def test_funnel_plants_work_in_the_full_story():
    """With the sale, incidents and experiments on, the plants still give a valid shop (the
    walk conditioned on buying passes through their states) and an honest key: the reviews'
    add-to-cart ratio is the lift except where the cap binds (sale days, the release)."""
    p = simulate_mod.Params(slow_checkout=0.3, review_readers=0.15, share_rate=0.2)
    st = simulate(users=2000, seed=4, params=p)
    ev = st.events
    assert {"view_reviews", "share"} <= set(ev["event"])
    lo, hi = st.truth["conversion_driver"]["add_to_cart_ratio_range"]
    assert 1 < lo < hi == p.review_lift
    buyers = ev.loc[ev["event"] == "purchase", "session_id"]
    assert ev.loc[ev["session_id"].isin(buyers), "event"].eq("view_reviews").any()
    assert st.truth["slow_checkout"]["p_next_fast"] == p.p_shipping


def test_paid_new_users_follow_the_planted_response_curves(shop):
    """Each paid channel's new users, summed over days grouped by adstock, match the planted
    curve: days with twice the adstock bring clearly fewer than twice the visitors."""
    key = shop.truth["channel_response"]["channels"]
    tz = shop.truth["period"]["shop_timezone"]
    u = shop.users.assign(day=shop.users["first_seen"].dt.tz_convert(tz).dt.tz_localize(None)
                          .dt.normalize())
    inc = next(i for i in shop.truth["incidents"] if i["kind"] == "low_intent")
    junk = pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"]) + pd.Timedelta("6D")
    for ch, k in key.items():
        sp = shop.spend.loc[shop.spend["channel"] == ch].set_index("date")["spend"].sort_index()
        a = simulate_mod.adstock(sp.to_numpy(), k["decay"])
        expect = k["max_response"] * a ** k["shape"] / (a ** k["shape"] + k["half_saturation"]
                                                        ** k["shape"])
        seen = u.loc[u["acquisition_channel"] == ch].groupby("day").size().reindex(
            sp.index, fill_value=0)
        keep = ~((sp.index >= junk[0]) & (sp.index <= junk[1])) if ch == inc["channel"] else \
            np.ones(len(sp), dtype=bool)
        low = keep & (a < np.quantile(a[keep], 0.5))
        high = keep & (a >= np.quantile(a[keep], 0.5))
        for part in (low, high):   # Poisson counts: within 4 standard errors of the curve
            assert abs(seen[part].sum() - expect[part].sum()) < 4 * np.sqrt(expect[part].sum()), ch
        # saturation: the high half's visitors per unit adstock are below the low half's
        assert seen[high].sum() / a[high].sum() < seen[low].sum() / a[low].sum(), ch


def test_review_topics_key_covers_every_review_with_its_phrases(shop):
    topics = shop.truth["review_topics"]["topics"]
    phrases = simulate_mod.REVIEW_TOPICS[shop.truth["review_topics"]["language"]]
    ids = [i for t in topics.values() for i in t["order_ids"]]
    assert sorted(ids) == sorted(shop.reviews["order_id"])   # one topic per review
    text = shop.reviews.set_index("order_id")["text"]
    for name, t in topics.items():
        for oid in t["order_ids"]:
            assert all(part in phrases[name] for part in text[oid].split("，")), (name, oid)
    assert topics["praise"]["mean_rating"] > max(
        topics["late delivery"]["mean_rating"], topics["poor quality"]["mean_rating"])


def test_price_sensitive_buyers_use_the_welcome_coupon_as_planted(shop):
    key = shop.truth["price_sensitivity"]
    first = shop.orders.sort_values("ordered_at", kind="stable").drop_duplicates("user_id")
    tz = shop.truth["period"]["shop_timezone"]
    first = first.loc[first["ordered_at"].dt.tz_convert(tz).dt.month.isin(
        [1, 2, 3, 4, 5, 6, 7, 8])]                       # away from the sales' coupon
    sens = first["user_id"].isin(key["buyers"])
    used = first["coupon"].eq("WELCOME10")
    for group, rate in ((sens, key["welcome_coupon_use"]["sensitive"]),
                        (~sens, key["welcome_coupon_use"]["other"])):
        n = group.sum()
        assert abs(used[group].mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / n)
    assert set(key["buyers"]) <= set(shop.orders["user_id"])
