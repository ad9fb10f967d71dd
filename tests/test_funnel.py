"""Tests of helpers.funnel: hand-made event logs, reference libraries and the answer key."""

import warnings
from itertools import pairwise, product

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from statsmodels.stats.proportion import proportions_ztest

from helpers import data
from helpers import funnel as fu

STEPS = ["view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]


def mk(rows):
    """rows: (session_id, user_id, seconds, event[, device])."""
    cols = ["session_id", "user_id", "sec", "event", "device"][: len(rows[0])]
    df = pd.DataFrame(rows, columns=cols)
    df["ts"] = pd.to_datetime(df.pop("sec"), unit="s", utc=True)
    return df


def n_per_step(f):
    return f["n"].tolist()


# --------------------------------------------------------------------------- hand cases

def test_ties_in_timestamps_count_whatever_the_row_order():
    # c is logged before b, but at the same second: b -> c still counts (ts >= previous ts)
    ev = mk([(1, 1, 0, "a"), (1, 1, 5, "c"), (1, 1, 5, "b")])
    assert n_per_step(fu.funnel(ev, ["a", "b", "c"])) == [1, 1, 1]
    # c strictly before b does not count
    ev = mk([(1, 1, 0, "a"), (1, 1, 4, "c"), (1, 1, 5, "b")])
    assert n_per_step(fu.funnel(ev, ["a", "b", "c"])) == [1, 1, 0]


def test_out_of_order_rows_give_the_same_funnel():
    ev = mk([(s, s, t + 10 * s, e) for s in range(1, 6)
             for t, e in enumerate(["a", "b", "c"][: 1 + s % 3])])
    shuffled = ev.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(fu.funnel(ev, ["a", "b", "c"]),
                                  fu.funnel(shuffled, ["a", "b", "c"]))
    assert n_per_step(fu.funnel(ev, ["a", "b", "c"])) == [5, 4, 2]


def test_repeated_step_events_time_from_the_last_step1_before_step2():
    ev = mk([(1, 1, 0, "a"), (1, 1, 10, "a"), (1, 1, 15, "b"), (1, 1, 17, "b"), (1, 1, 20, "c")])
    f = fu.funnel(ev, ["a", "b", "c"])
    assert n_per_step(f) == [1, 1, 1]
    assert f["median_time_from_prev"].tolist()[1:] == [pd.Timedelta("5s"), pd.Timedelta("5s")]


def test_repeated_step_names_need_distinct_events():
    steps = ["a", "a", "b"]
    assert n_per_step(fu.funnel(mk([(1, 1, 0, "a"), (1, 1, 1, "b")]), steps)) == [1, 0, 0]
    ev = mk([(1, 1, 0, "a"), (1, 1, 0, "a"), (1, 1, 1, "b")])     # two a's, even tied
    assert n_per_step(fu.funnel(ev, steps)) == [1, 1, 1]


def test_window_boundary_is_inclusive():
    ev = mk([(1, 1, 0, "a"), (1, 1, 60, "b"), (2, 2, 0, "a"), (2, 2, 61, "b")])
    assert n_per_step(fu.funnel(ev, ["a", "b"], window="60s")) == [2, 1]
    assert n_per_step(fu.funnel(ev, ["a", "b"], window=pd.Timedelta("61s"))) == [2, 2]


def test_best_attempt_can_start_later():
    # the first attempt a0 -> b10 runs out of window before c; a100 -> b110 -> c150 does not
    ev = mk([(1, 1, 0, "a"), (1, 1, 10, "b"), (1, 1, 100, "a"), (1, 1, 110, "b"),
             (1, 1, 150, "c")])
    f = fu.funnel(ev, ["a", "b", "c"], window="60s")
    assert n_per_step(f) == [1, 1, 1]
    assert f["median_time_from_prev"].iloc[2] == pd.Timedelta("40s")
    # without a window the earliest attempt is the best: a0 -> b10 -> c150
    assert fu.funnel(ev, ["a", "b", "c"])["median_time_from_prev"].iloc[2] == pd.Timedelta("140s")


def test_exclusions_stop_the_attempt_only_strictly_between_their_steps():
    ev = mk([(1, 1, 0, "a"), (1, 1, 5, "x"), (1, 1, 10, "b"), (1, 1, 20, "c")])
    steps = ["a", "b", "c"]
    assert n_per_step(fu.funnel(ev, steps, exclude=["x"])) == [1, 0, 0]
    assert n_per_step(fu.funnel(ev, steps, exclude=[("x", "b", "c")])) == [1, 1, 1]
    # an exclusion tied with a step is not "between"
    tied = mk([(1, 1, 0, "a"), (1, 1, 10, "x"), (1, 1, 10, "b")])
    assert n_per_step(fu.funnel(tied, ["a", "b"], exclude="x")) == [1, 1]
    # a later attempt after the excluded event still succeeds
    again = mk([(1, 1, 0, "a"), (1, 1, 5, "x"), (1, 1, 8, "a"), (1, 1, 10, "b")])
    assert n_per_step(fu.funnel(again, ["a", "b"], exclude="x")) == [1, 1]


def test_max_gap_per_step():
    ev = mk([(1, 1, 0, "a"), (1, 1, 10, "b"), (1, 1, 100, "c")])
    steps = ["a", "b", "c"]
    assert n_per_step(fu.funnel(ev, steps, max_gap={"c": "60s"})) == [1, 1, 0]
    assert n_per_step(fu.funnel(ev, steps, max_gap={"c": "90s"})) == [1, 1, 1]
    assert n_per_step(fu.funnel(ev, steps, max_gap="5s")) == [1, 0, 0]


def test_optional_step_never_blocks_and_must_sit_between_its_neighbours():
    steps = ["a", "b", "c"]
    ev = mk([(1, 1, 0, "a"), (1, 1, 10, "c"),                        # skips b
             (2, 2, 0, "a"), (2, 2, 5, "b"), (2, 2, 10, "c"),        # does b
             (3, 3, 0, "a"), (3, 3, 10, "c"), (3, 3, 20, "b"),       # b after c: not counted
             (4, 4, 0, "a")])
    f = fu.funnel(ev, steps, optional="b")
    assert n_per_step(f) == [4, 1, 3]
    assert f["n_prev"].tolist() == [4, 4, 4]        # both rates are relative to step a
    assert f["from_step"].tolist() == [None, "a", "a"]
    assert f["median_time_from_prev"].iloc[2] == pd.Timedelta("10s")
    with pytest.raises(ValueError, match="cannot be optional"):
        fu.funnel(ev, steps, optional=0)


def test_user_unit_crosses_sessions_session_unit_does_not():
    ev = mk([(1, 7, 0, "a"), (2, 7, 3 * 86400, "b"), (3, 8, 0, "a"), (3, 8, 30, "b")])
    assert n_per_step(fu.funnel(ev, ["a", "b"], unit="session")) == [2, 1]
    assert n_per_step(fu.funnel(ev, ["a", "b"], unit="user")) == [2, 2]
    assert n_per_step(fu.funnel(ev, ["a", "b"], unit="user", window="1D")) == [2, 1]


def test_rates_and_wilson_interval():
    ev = mk([(s, s, 0, "a") for s in range(10)] + [(s, s, 1, "b") for s in range(4)])
    f = fu.funnel(ev, ["a", "b"])
    row = f.iloc[1]
    assert (row["n"], row["n_prev"], row["rate_from_prev"]) == (4, 10, 0.4)
    lo, hi = 0.1682, 0.6873          # Wilson 95 % for 4/10, by hand
    assert row["ci_low"] == pytest.approx(lo, abs=1e-4)
    assert row["ci_high"] == pytest.approx(hi, abs=1e-4)


def test_segment_is_read_from_step1_and_segments_add_up():
    ev = mk([(1, 1, 0, "a", "mobile"), (1, 1, 5, "b", "desktop"), (2, 2, 0, "a", "desktop")])
    f = fu.funnel(ev, ["a", "b"], by="device")
    assert f.set_index(["device", "step"])["n"].to_dict() == {
        ("desktop", "a"): 1, ("desktop", "b"): 0, ("mobile", "a"): 1, ("mobile", "b"): 1}


def brute_force(ev, steps, window):
    """Exhaustive reference: furthest k such that some events e1..ek (distinct names) have
    non-decreasing times and e_k within `window` seconds of e1."""
    out = np.zeros(len(steps), int)
    for _, g in ev.groupby("session_id"):
        sec = (g["ts"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        occ = [sec[g["event"] == s].tolist() for s in steps]
        best = -1
        for k in range(len(steps), 0, -1):
            for combo in product(*occ[:k]):
                if all(x <= y for x, y in pairwise(combo)) and (
                        window is None or combo[-1] - combo[0] <= window):
                    best = k - 1
                    break
            if best >= 0:
                break
        out[: best + 1] += 1
    return out.tolist()


@pytest.mark.parametrize("window", [None, 4])
def test_matches_an_exhaustive_search_on_random_logs(window):
    rng = np.random.default_rng(11)
    rows = [(s, s, int(rng.integers(0, 12)), str(rng.choice(list("abcx"))))
            for s in range(60) for _ in range(int(rng.integers(1, 8)))]
    ev = mk(rows)
    steps = ["a", "b", "c"]
    assert n_per_step(fu.funnel(ev, steps, window=None if window is None else f"{window}s")) == \
        brute_force(ev, steps, window)


def test_bad_input_is_named():
    ev = mk([(1, 1, 0, "a")])
    with pytest.raises(ValueError, match="unit"):
        fu.funnel(ev, ["a", "b"], unit="visit")
    with pytest.raises(ValueError, match="device"):
        fu.funnel(ev, ["a", "b"], by="device")
    with pytest.raises(ValueError, match="at least one step"):
        fu.funnel(ev, [])
    with pytest.raises(ValueError, match="not one of the steps"):
        fu.funnel(ev, ["a", "b"], optional="z")


def test_attach_counts_unmatched_and_rejects_duplicate_keys():
    ev = mk([(1, 1, 0, "a"), (9, 1, 1, "b")])
    ses = pd.DataFrame({"session_id": [1, 2], "device": ["tablet", "mobile"]})
    out = fu.attach(ev, ses, ["device"])
    assert out["device"].iloc[0] == "tablet" and pd.isna(out["device"].iloc[1])
    assert out.attrs["unmatched"] == 1
    with pytest.raises(ValueError, match="duplicate"):
        fu.attach(ev, pd.concat([ses, ses]), "device")


# --------------------------------------------------------------------------- tests of segments

def _table():
    rows = []
    for dev, n0, n1, n2 in [("a", 200, 60, 30), ("b", 150, 30, 20), ("c", 100, 40, 10)]:
        rows += [(f"{dev}{i}", 0, "v", dev) for i in range(n0)]
        rows += [(f"{dev}{i}", 1, "c", dev) for i in range(n1)]
        rows += [(f"{dev}{i}", 2, "p", dev) for i in range(n2)]
    ev = mk([(s, s, t, e, d) for s, t, e, d in rows])
    return fu.funnel(ev, ["v", "c", "p"], by="device")


def test_compare_equals_scipy_chi2_contingency():
    res = _table().pipe(fu.compare)
    chi2, p, dof, _ = chi2_contingency([[60, 140], [30, 120], [40, 60]], correction=False)
    row = res.loc[res["step"] == "c"].iloc[0]
    assert row["chi2"] == pytest.approx(chi2) and row["p_value"] == pytest.approx(p)
    assert row["dof"] == dof == 2


def test_pairwise_z_tests_with_holm():
    res = fu.pairwise(_table()).query("step == 'p'").set_index(["a", "b"])
    raw = {("a", "b"): proportions_ztest([30, 20], [60, 30])[1],
           ("a", "c"): proportions_ztest([30, 10], [60, 40])[1],
           ("b", "c"): proportions_ztest([20, 10], [30, 40])[1]}
    for pair, p in raw.items():
        assert res.loc[pair, "p_value"] == pytest.approx(p)
    # Holm by hand: sort p, multiply by 3, 2, 1, keep monotone, cap at 1
    order = sorted(raw, key=raw.get)
    adj = np.minimum(1, np.maximum.accumulate([raw[k] * (3 - i) for i, k in enumerate(order)]))
    for k, a in zip(order, adj):
        assert res.loc[k, "p_holm"] == pytest.approx(a)


def test_bottleneck_is_the_worst_cell_against_the_rest():
    b = fu.bottlenecks(_table())
    top = b.iloc[0]
    # step p: a 30/60, b 20/30, c 10/40 -> c is 30/90 = 0.333 below the rest's 50/90
    assert (top["segment"], top["step"], top["from_step"]) == ("c", "p", "c")
    assert top["gap"] == pytest.approx(10 / 40 - 50 / 90)
    assert top["p_value"] == pytest.approx(proportions_ztest([10, 50], [40, 90])[1])


def test_cart_abandonment_and_censoring():
    day = 86400
    ev = mk([(1, 1, 0, "add_to_cart"), (1, 1, 60, "purchase"),      # bought in session
             (2, 2, 0, "add_to_cart"), (3, 2, 2 * day, "purchase"),  # bought 2 days later
             (4, 3, 0, "add_to_cart"), (5, 3, 9 * day, "purchase"),  # too late: abandoned
             (6, 4, 8 * day, "add_to_cart"), (6, 4, 8 * day, "view_item")])  # censored
    out = fu.cart_abandonment(ev, window="7D").iloc[0]
    assert (out["carts"], out["same_session"], out["later_session"], out["abandoned"],
            out["censored"]) == (3, 1, 1, 1, 1)
    assert out["abandonment_rate"] == pytest.approx(1 / 3)


def test_time_to_convert_bins_include_their_upper_edge():
    ev = mk([(1, 1, 0, "a"), (1, 1, 60, "b"), (2, 2, 0, "a"), (2, 2, 61, "b"), (3, 3, 0, "a")])
    t = fu.time_to_convert(fu.journeys(ev, ["a", "b"])).set_index("bin")
    assert t.loc["< 1 min", "n"] == 1 and t.loc["1–5 min", "n"] == 1
    assert t["n"].sum() == 2 and t["cum_share"].iloc[-1] == pytest.approx(1.0)


# --------------------------------------------------------------------------- answer key

@pytest.fixture(scope="module")
def shop():
    store = data.load_store()
    ev = fu.attach(store.events, store.sessions, ["device", "channel"])
    return store, ev


def test_device_step_rates_match_the_answer_key(shop):
    store, ev = shop
    # the checkout test's treatment group pays more often by design: leave it out
    a = store.assignments
    treated = a.loc[(a["experiment"] == "checkout_redesign") & (a["variant"] == "treatment"),
                    "user_id"]
    f = fu.funnel(ev.loc[~ev["user_id"].isin(treated)], STEPS, by="device")
    f = f.set_index(["device", "step"])
    truth = store.truth["checkout_steps_by_device"]
    for dev, steps in truth.items():
        # payment -> purchase is one planted probability. With 450-3500 sessions per device the
        # standard error is at most 0.018, and repeat buyers' visits are drawn to match BG/NBD
        # rather than per device, so allow 0.04 (about two standard errors for tablet).
        assert f.loc[(dev, "purchase"), "rate_from_prev"] == pytest.approx(
            steps["add_payment_info->purchase"], abs=0.04)
        # begin_checkout -> add_payment_info spans two planted steps (via shipping): same bound.
        both = steps["begin_checkout->add_shipping_info"] * steps["add_shipping_info->add_payment_info"]
        assert f.loc[(dev, "add_payment_info"), "rate_from_prev"] == pytest.approx(both, abs=0.04)
    # the planted mobile gap (desktop 0.88 vs mobile 0.55) is recovered within 0.05
    gap = f.loc[("desktop", "purchase"), "rate_from_prev"] - f.loc[("mobile", "purchase"),
                                                                   "rate_from_prev"]
    planted = (truth["desktop"]["add_payment_info->purchase"]
               - truth["mobile"]["add_payment_info->purchase"])
    assert gap == pytest.approx(planted, abs=0.05)


def test_planted_mobile_payment_bottleneck_is_the_top_finding(shop):
    store, ev = shop
    tables = [fu.funnel(ev, STEPS, by=col) for col in ("device", "channel")]
    top = fu.bottlenecks(tables).iloc[0]
    key = store.truth["bottleneck"]
    assert (top["dimension"], top["segment"], top["from_step"], top["step"]) == (
        "device", key["device"], key["from_step"], key["step"])
    assert top["significant"] and top["p_holm"] < 1e-6
    # the same holds for users with a 30-day window
    tables = [fu.funnel(ev, STEPS, by=col, unit="user", window="30D")
              for col in ("device", "channel")]
    assert fu.bottlenecks(tables).iloc[0]["segment"] == key["device"]


def test_cart_abandonment_in_the_designed_range(shop):
    _, ev = shop
    # the simulator is built for 60-80 % abandonment (DESIGN.md)
    assert 0.60 <= fu.cart_abandonment(ev).iloc[0]["abandonment_rate"] <= 0.80


def test_no_unit_at_step1_gives_zero_rows_not_an_empty_table():
    with pytest.warns(UserWarning, match="'a'"):
        f = fu.funnel(mk([(1, 1, 0, "b")]), ["a", "b"])
    assert n_per_step(f) == [0, 0] and f["rate_from_start"].isna().all()


# --------------------------------------------------------------------------- the data's funnel

def test_default_steps_are_the_canonical_steps_the_data_has_in_funnel_order():
    ev = mk([(1, 1, 0, "purchase"), (1, 1, 1, "page_view"), (2, 2, 0, "add_payment_info"),
             (2, 2, 1, "view_item"), (3, 3, 0, "add_to_cart")])
    assert fu.default_steps(ev) == ["view_item", "add_to_cart", "add_payment_info", "purchase"]
    assert fu.default_steps(mk([(1, 1, 0, "page_view")])) == []


def test_a_step_without_any_event_is_a_warning_naming_it():
    # purchases but no checkout events: the step is not a drop-out, the log lacks it
    ev = mk([(1, 1, 0, "view_item"), (1, 1, 5, "purchase")])
    steps = ["view_item", "begin_checkout", "purchase"]
    with pytest.warns(UserWarning, match="'begin_checkout'") as rec:
        f = fu.funnel(ev, steps)
    assert len(rec) == 1 and "purchase'" not in str(rec[0].message)
    assert f.attrs["absent_steps"] == ["begin_checkout"]
    assert fu.absent_steps(ev, steps) == ["begin_checkout"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the data's own steps: no warning
        assert fu.funnel(ev, fu.default_steps(ev)).attrs["absent_steps"] == []


def test_a_one_step_funnel_counts_the_units_and_times_nothing():
    ev = mk([(1, 1, 0, "purchase"), (2, 2, 0, "purchase"), (2, 2, 9, "purchase")])
    f = fu.funnel(ev, ["purchase"])
    assert n_per_step(f) == [2] and f["rate_from_prev"].tolist() == [1.0]
    j = fu.journeys(ev, ["purchase"])
    assert fu.time_to_convert(j)["n"].sum() == 0
    assert fu.conversion_times(j).isna().all() and fu.conversion_times(j).attrs["n"] == 0


def test_bottlenecks_without_a_breakdown_is_an_empty_table_with_columns():
    b = fu.bottlenecks([])
    assert b.empty and list(b.columns) == fu.BOTTLENECK_COLUMNS
    assert fu.fix_first(b, fu.funnel(mk([(1, 1, 0, "a"), (1, 1, 1, "b")]), ["a", "b"])).empty


def test_fix_first_when_nothing_is_significant_has_columns_and_no_rows():
    # two devices that behave alike: no shortfall is significant, nothing to fix
    ev = mk([(s, s, 0, "a", d) for s, d in zip(range(40), ["x", "y"] * 20)]
            + [(s, s, 1, "b", "x" if s % 2 == 0 else "y") for s in range(0, 40, 3)])
    t = fu.funnel(ev, ["a", "b"], by="device")
    bn = fu.bottlenecks(t)
    assert len(bn) == 2 and not bn["significant"].any()
    fix = fu.fix_first(bn, fu.funnel(ev, ["a", "b"]))
    assert fix.empty and {"extra", "extra_purchases", "segment"} <= set(fix.columns)


def test_fix_first_weights_the_lost_units_by_their_chance_to_buy():
    t = pd.DataFrame({"device": ["m", "m", "m", "d", "d", "d"], "step": ["v", "c", "p"] * 2,
                      "step_index": [0, 1, 2] * 2, "from_step": [None, "v", "c"] * 2,
                      "n": [1000, 100, 20, 1000, 300, 240], "n_prev": [1000, 1000, 100, 1000,
                                                                      1000, 300]})
    t = t.assign(**{c: 0.0 for c in ["rate_from_start", "rate_from_prev", "ci_low", "ci_high",
                                     "median_time_from_prev"]})
    overall = pd.DataFrame({"step": ["v", "c", "p"], "step_index": [0, 1, 2],
                            "n": [2000, 400, 260]})
    fix = fu.fix_first(fu.bottlenecks(t), overall)
    # m at v->c: 200 fewer carts, each buys with 260/400; at c->p: 60 fewer purchases
    assert fix["step"].tolist() == ["c", "p"]
    assert fix["extra"].tolist() == pytest.approx([200.0, 60.0])
    assert fix["extra_purchases"].tolist() == pytest.approx([130.0, 60.0])


def test_cart_abandonment_without_any_purchase_abandons_every_judged_cart():
    ev = mk([(1, 1, 0, "add_to_cart", "m"), (2, 2, 0, "add_to_cart", "d"),
             (3, 3, 30 * 86400, "view_item", "d")])
    out = fu.cart_abandonment(ev, by="device")
    assert out["abandoned"].tolist() == [1, 1] and out["abandonment_rate"].tolist() == [1.0, 1.0]


def test_conversion_times_are_quantiles_of_the_first_to_last_step():
    ev = mk([(1, 1, 0, "a"), (1, 1, 60, "b"), (2, 2, 0, "a"), (2, 2, 180, "b"), (3, 3, 0, "a")])
    q = fu.conversion_times(fu.journeys(ev, ["a", "b"]), quantiles=[0.5, 1.0])
    assert q.tolist() == [pd.Timedelta("2min"), pd.Timedelta("3min")] and q.attrs["n"] == 2


def test_a_recent_cart_is_censored_even_when_it_was_bought():
    # a 3-hour log and a 7-day window: no cart can be judged, bought or not (judging only the
    # bought ones would report 0 % abandonment)
    ev = mk([(1, 1, 0, "add_to_cart", "m"), (1, 1, 10, "purchase", "m"),
             (2, 2, 100, "add_to_cart", "d"), (3, 3, 3 * 3600, "view_item", "d")])
    out = fu.cart_abandonment(ev)
    assert out[["carts", "censored"]].values.tolist() == [[0, 2]]
    assert out["abandonment_rate"].isna().all()
    by = fu.cart_abandonment(ev, by="device")
    assert by["device"].tolist() == ["d", "m"] and by["censored"].tolist() == [1, 1]
    none = fu.cart_abandonment(mk([(1, 1, 0, "view_item", "m")]))
    assert none[["carts", "censored"]].values.tolist() == [[0, 0]]


# ----------------------------------------------------------------------------- own breakdowns


def _attr_store():
    ses = pd.DataFrame({"session_id": [1, 2, 3, 4], "user_id": [1, 2, 3, 3],
                        "started_at": pd.Timestamp("2025-01-01", tz="UTC"),
                        "device": ["mobile"] * 4, "landing": ["a", "b", "a", "a"]})
    users = pd.DataFrame({"user_id": [1, 2, 3], "plan": ["pro", "free", "free"],
                          "zip": ["10115", "20095", "80331"], "score": [1, 2, 2],
                          "region": ["north", "south", "south"]})
    return ses, users


def test_breakdown_columns_takes_the_data_s_own_attributes_with_few_values():
    ses, users = _attr_store()
    got = fu.breakdown_columns(ses, users, max_levels=2)
    # landing and plan are the data's own with 2 values; zip is one value per user (an id);
    # region is a canonical users column (shown only when asked for)
    assert got.to_dict("list") == {"column": ["landing", "plan", "score"],
                                   "table": ["sessions", "users", "users"], "levels": [2, 2, 2]}
    assert fu.breakdown_columns(ses, users, max_levels=1).attrs["too_many_levels"] == [
        "landing", "plan", "score"]


def test_breakdown_columns_by_name_checks_the_names():
    ses, users = _attr_store()
    assert fu.breakdown_columns(ses, users, ["region"]).to_dict("list") == {
        "column": ["region"], "table": ["users"], "levels": [2]}
    with pytest.raises(ValueError, match="'tier': no such column.*'plan'"):
        fu.breakdown_columns(ses, users, "tier")


def test_by_attribute_reads_a_user_attribute_from_the_session_s_user():
    ses, users = _attr_store()
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 4, 4], "user_id": [1, 1, 2, 3, 3, 3],
                       "ts": t0 + pd.to_timedelta([0, 1, 0, 0, 0, 1], unit="min"),
                       "event": ["view", "buy", "view", "view", "view", "buy"]})
    f = fu.by_attribute(ev, ["view", "buy"], "plan", sessions=ses, users=users)
    # free: sessions 2, 3, 4 (one bought); pro: session 1 (bought)
    got = f.set_index(["plan", "step"])["n"].to_dict()
    assert got == {("free", "view"): 3, ("free", "buy"): 1, ("pro", "view"): 1, ("pro", "buy"): 1}


def test_weekly_trend_partitions_the_sessions_of_the_whole_funnel():
    from helpers.data import load_store

    ev = load_store().events
    steps = fu.default_steps(ev)
    whole = fu.funnel(ev, steps)
    weekly = fu.trend(ev, steps, min_units=0)
    # every session starts in exactly one week: the weeks add up to the whole funnel, step by step
    assert weekly.groupby("step_index")["n"].sum().tolist() == whole["n"].tolist()
    assert weekly.attrs["dropped_periods"] == 0
    week = pd.Timestamp(weekly["period"].iloc[0])
    assert week.day_of_week == 0  # pandas' weekly periods start on Monday
    few = fu.trend(ev, steps, min_units=10**9)
    assert few.empty and few.attrs["dropped_periods"] == weekly["period"].nunique()


def test_drivers_odds_ratios_equal_statsmodels_and_ignore_what_follows_the_purchase():
    from statsmodels.stats.contingency_tables import Table2x2

    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    rows = []
    for s in range(200):  # chat in 100 sessions (30 buy), none in 100 (10 buy)
        chat, buy = s < 100, (s < 30) or (100 <= s < 110)
        rows.append((s, t0, "chat" if chat else "page_view"))
        if buy:
            rows.append((s, t0 + pd.Timedelta("1min"), "purchase"))
            rows.append((s, t0 + pd.Timedelta("2min"), "survey"))  # after buying: not a driver
    ev = pd.DataFrame(rows, columns=["session_id", "ts", "event"])
    d = fu.drivers(ev, exclude=("page_view",), min_units=10).set_index("feature")
    assert "survey" not in d.index
    ref = Table2x2(np.array([[30, 70], [10, 90]]))
    assert d.loc["chat", "odds_ratio"] == pytest.approx(ref.oddsratio)
    lo, hi = ref.oddsratio_confint()
    assert (d.loc["chat", "ci_low"], d.loc["chat", "ci_high"]) == pytest.approx((lo, hi))
    assert d.loc["chat", "p_value"] == pytest.approx(ref.oddsratio_pvalue())
    assert (d.loc["chat", "with_n"], d.loc["chat", "with_rate"]) == (100, 0.3)


def test_drivers_on_a_log_without_purchases_compare_nothing():
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    ev = pd.DataFrame({"session_id": np.arange(100), "ts": t0, "event": ["chat", "search"] * 50})
    d = fu.drivers(ev, min_units=10)
    assert d.empty and d.attrs["conversions"] == 0
