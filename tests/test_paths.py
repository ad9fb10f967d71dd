"""Tests of helpers.paths: hand-made logs, mlxtend as the reference, Groceries, the answer key."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth

from helpers import data, paths

REPO = Path(__file__).resolve().parents[1]
GROCERIES = REPO.parent / "shared" / "datasets" / "groceries" / "groceries_long.csv"


def _ts(*minutes):
    return pd.to_datetime("2025-01-01 10:00", utc=True) + pd.to_timedelta(list(minutes), "min")


@pytest.fixture(scope="module")
def store():
    return data.load_store()


# --------------------------------------------------------------------------- sessionize


def test_sessionize_gap_boundary_is_inclusive():
    # 30 min exactly stays in the session; 30 min + 1 s starts a new one.
    ev = pd.DataFrame({"user_id": [1, 1, 1],
                       "ts": _ts(0, 30, 0) + pd.to_timedelta([0, 0, 3601], "s")})
    assert paths.sessionize(ev)["session_id"].tolist() == [1, 1, 2]


def test_sessionize_ids_follow_user_then_time_and_ignore_row_order():
    ev = pd.DataFrame({"user_id": [9, 2, 9, 2, 9], "ts": _ts(100, 0, 0, 45, 20)})
    out = paths.sessionize(ev)
    # user 2: 0 | 45 (gap 45 > 30); user 9: 0, 20 | 100
    assert out["session_id"].tolist() == [4, 1, 3, 2, 3]
    shuffled = paths.sessionize(ev.iloc[[4, 2, 0, 3, 1]])
    assert shuffled["session_id"].sort_index().tolist() == out["session_id"].tolist()


def test_sessionize_ties_and_single_events():
    ev = pd.DataFrame({"user_id": [5, 5, 6], "ts": _ts(0, 0, 0)})
    assert paths.sessionize(ev, gap="1min")["session_id"].tolist() == [1, 1, 2]


def test_sessionize_rejects_bad_input():
    ev = pd.DataFrame({"user_id": [1, None], "ts": _ts(0, 1)})
    with pytest.raises(ValueError, match="user_id"):
        paths.sessionize(ev)
    with pytest.raises(ValueError, match="gap"):
        paths.sessionize(ev.dropna(), gap="0min")


# --------------------------------------------------------------------------- transitions


def test_transitions_hand_case_with_single_event_session_and_tie():
    ev = pd.DataFrame({"session_id": [1, 1, 1, 2],
                       # a tie at minute 1: row order decides (view_item before add_to_cart)
                       "ts": _ts(0, 1, 1, 5),
                       "event": ["page_view", "view_item", "add_to_cart", "search"]})
    tr = paths.transitions(ev)
    got = {(f, t): n for f, t, n in tr[["from", "to", "n"]].itertuples(index=False)}
    assert got == {("(start)", "page_view"): 1, ("page_view", "view_item"): 1,
                   ("view_item", "add_to_cart"): 1, ("add_to_cart", "(exit)"): 1,
                   ("(start)", "search"): 1, ("search", "(exit)"): 1}
    assert tr.loc[tr["from"] == "(start)", "probability"].tolist() == [0.5, 0.5]
    # events + sessions transitions in total
    assert tr["n"].sum() == len(ev) + 2


def test_transitions_on_shop_rows_sum_to_one(store):
    tr = paths.transitions(store.events, by="page_type")
    sums = tr.groupby("from")["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert tr["n"].sum() == len(store.events) + store.events["session_id"].nunique()


# --------------------------------------------------------------------------- paths


def test_top_paths_collapses_repeats_and_truncates():
    ev = pd.DataFrame({
        "session_id": [1, 1, 1, 1, 2, 2, 3, 3, 3, 3],
        "ts": _ts(0, 1, 2, 3, 0, 1, 0, 1, 2, 3),
        "page_type": ["home", "product", "product", "confirmation", "home", "product",
                      "home", "search", "product", "cart"],
        "event": ["page_view", "view_item", "view_item", "purchase", "page_view", "view_item",
                  "page_view", "search", "view_item", "view_cart"]})
    tp = paths.top_paths(ev, max_steps=3, n=5)
    assert tp["path"].tolist() == ["home → product", "home → product → confirmation",
                                   "home → search → product → …"]
    assert tp["sessions"].tolist() == [1, 1, 1]
    assert tp["purchases"].tolist() == [0, 1, 0]
    assert tp.attrs["truncated"] == 1


def test_dwell_last_event_has_none():
    ev = pd.DataFrame({"session_id": [1, 1, 2], "ts": _ts(0, 2, 0),
                       "page_type": ["product", "product", "product"]})
    d = paths.dwell_times(ev)
    assert d.loc[0, ["events", "timed", "last_in_session"]].tolist() == [3, 1, 2]
    assert d.loc[0, "median_s"] == 120.0


def test_search_terms_exit_and_conversion():
    ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 3], "ts": _ts(0, 1, 2, 0, 0),
                       "event": ["search", "view_item", "purchase", "search", "search"],
                       "search_term": ["lamp", None, None, "lamp", "ps6"]})
    st = paths.search_terms(ev).set_index("search_term")
    assert st.loc["lamp", ["searches", "exits", "purchases"]].tolist() == [2, 1, 1]
    assert st.loc["ps6", "exit_rate"] == 1.0
    # one of the two lamp searches leads to a product view: 1/2 with Wilson 0.0945 .. 0.9055
    assert st.loc["lamp", ["to_product", "product_low", "product_high"]].round(4).tolist() == [
        0.5, 0.0945, 0.9055]


def test_search_terms_flag_the_planted_dead_terms(store):
    # The simulator gives dead terms (no results) only to searches that end the visit.
    st = paths.search_terms(store.events)
    assert sorted(st.loc[st["leads_nowhere"], "search_term"]) == store.truth["dead_search_terms"]


def test_browsed_not_bought_excludes_bought_items():
    ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2, 2, 2], "user_id": [7] * 7,
                       "ts": _ts(0, 1, 2, 0, 1, 2, 3),
                       "event": ["view_item"] * 3 + ["view_item", "view_item", "add_to_cart",
                                                     "purchase"],
                       "item_id": [11, 11, 12, 11, 12, 12, None]})
    out = paths.browsed_not_bought(ev, min_views=2)
    # item 12 was bought in session 2 (added to cart, session has a purchase)
    assert out[["item_id", "views", "sessions"]].values.tolist() == [[11, 3, 2]]


def test_next_step_rules_respect_order():
    ev = pd.DataFrame({"session_id": [1, 1, 2, 2, 3, 4], "ts": _ts(0, 1, 0, 1, 0, 0),
                       "category": ["a", "b", "b", "a", "a", "c"]})
    r = paths.next_step_rules(ev).set_index(["antecedent", "consequent"])
    # a→b in session 1 only; b→a in session 2 only. N=4, sessions(a)=3, sessions(b)=2.
    assert r.loc[("a", "b"), "sessions"] == 1
    assert r.loc[("a", "b"), "confidence"] == pytest.approx(1 / 3)
    assert r.loc[("a", "b"), "lift"] == pytest.approx((1 / 3) / (2 / 4))
    assert len(r) == 2


# --------------------------------------------------------------------------- baskets and rules


def _random_baskets(seed=3, n=80):
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.5
    m = pd.DataFrame({"bread": a, "butter": a & (rng.random(n) < 0.7),
                      "jam": rng.random(n) < 0.3, "milk": rng.random(n) < 0.4,
                      "tea": rng.random(n) < 0.2})
    return m


def test_baskets_dense_and_sparse_agree():
    long = pd.DataFrame({"t": [3, 1, 1, 2, 1], "i": ["b", "a", "b", "c", "a"]})
    dense = paths.baskets(long, "t", "i")
    sparse = paths.baskets(long, "t", "i", sparse=True)
    assert dense.values.tolist() == [[True, True, False], [False, False, True],
                                     [False, True, False]]
    assert isinstance(sparse.dtypes.iloc[0], pd.SparseDtype)
    assert sparse.sparse.to_dense().equals(dense)
    with pytest.raises(ValueError, match="null"):
        paths.baskets(pd.DataFrame({"t": [1], "i": [None]}), "t", "i")


def test_rules_match_mlxtend_away_from_boundaries():
    b = _random_baskets()
    ours = paths.rules(b, 0.1, min_confidence=0.45)
    fi = fpgrowth(b, min_support=0.1, use_colnames=True)
    ref = association_rules(fi, num_itemsets=len(b), metric="confidence", min_threshold=0.45)
    ref = ref.assign(antecedents=[", ".join(sorted(s)) for s in ref["antecedents"]],
                     consequents=[", ".join(sorted(s)) for s in ref["consequents"]])
    cols = ["support", "confidence", "lift", "leverage", "conviction"]
    merged = ours.merge(ref, on=["antecedents", "consequents"], suffixes=("", "_ref"))
    assert len(ours) == len(ref) == len(merged) > 3
    for c in cols:
        np.testing.assert_allclose(merged[c], merged[f"{c}_ref"], rtol=1e-12)
    assert (ours["transactions"] == np.rint(ours["support"] * len(b))).all()
    assert ours["lift"].is_monotonic_decreasing
    # the same rules from a sparse frame
    sp = b.astype(pd.SparseDtype(bool, False))
    pd.testing.assert_frame_equal(paths.rules(sp, 0.1, min_confidence=0.45), ours)


def test_rules_keep_boundary_confidence_that_mlxtend_drops():
    # 47 baskets: A in 10, A and B in 3 -> confidence exactly 3/10 = 0.3.
    n = 47
    a = np.zeros(n, bool)
    a[:10] = True
    b = np.zeros(n, bool)
    b[:3] = True
    b[10:20] = True
    m = pd.DataFrame({"A": a, "B": b})
    fi = fpgrowth(m, min_support=0.01, use_colnames=True)
    ref = association_rules(fi, num_itemsets=n, metric="confidence", min_threshold=0.3)
    assert ref.empty  # mlxtend: 3/47*47 / (10/47*47) < 0.3 in floating point
    ours = paths.rules(m, 0.01, min_confidence=0.3)
    row = ours.loc[(ours["antecedents"] == "A") & (ours["consequents"] == "B")]
    assert row[["transactions", "antecedent_count"]].values.tolist() == [[3, 10]]
    # and just above the boundary the rule goes
    assert paths.rules(m, 0.01, min_confidence=0.3000001).query("antecedents == 'A'").empty


def test_rules_exact_support_and_lift_thresholds():
    b = pd.DataFrame({"x": [1, 1, 1, 0, 0], "y": [1, 1, 0, 1, 0]}).astype(bool)
    # support(x,y) = 2/5 = 0.4 exactly; lift = 0.4 / (0.6 * 0.6) = 10/9
    assert len(paths.rules(b, 0.4)) == 2
    assert paths.rules(b, 0.41).empty
    # a float 10/9 reads as its printed decimal (a hair above 10/9); a Fraction is exact
    assert len(paths.rules(b, 0.4, min_lift=Fraction(10, 9))) == 2
    assert paths.rules(b, 0.4, min_lift=10 / 9).empty
    assert paths.rules(b, 0.4, min_lift=1.112).empty


@pytest.mark.skipif(not GROCERIES.exists(),
                    reason="Groceries data absent (needs ../shared/datasets next to the repo)")
@pytest.mark.parametrize("support, confidence, expected",
                         [(0.005, 0.5, 120), (0.001, 0.5, 5668), (0.001, 0.8, 410)])
def test_groceries_rule_counts_match_arules(support, confidence, expected):
    # arules' published counts (Hahsler et al.) are exact: single-item consequents, inclusive.
    long = pd.read_csv(GROCERIES)
    b = paths.baskets(long, "transaction", "item")
    r = paths.rules(b, support, min_confidence=confidence, single_consequent=True)
    assert len(r) == expected


def test_planted_basket_complements_are_found(store):
    ol = store.order_lines.merge(store.items[["item_id", "category"]], on="item_id")
    b = paths.baskets(ol, "order_id", "category")
    r = paths.rules(b, 0.001, max_len=2).set_index(["antecedents", "consequents"])
    bad = []
    for c in store.truth["basket_complements"]:
        key = (c["antecedent"], c["consequent"])
        found = r["lift"].get(key)
        if c["add_probability"] > 0:
            # ±20 % (the bar): ~4,000 orders give 70-180 baskets per pair, so the sample
            # lift wanders by about 7 % (bootstrap SD) around the planted population value.
            if found is None or abs(found / c["lift"] - 1) > 0.20:
                bad.append((key, c["lift"], found))
        elif found is not None and found > 1.0:
            bad.append((key, c["lift"], found))  # the planted non-pair must not have lift > 1
    assert not bad, f"(pair, planted lift, found lift): {bad}"


def test_exits_and_loops_rows_sum_with_the_transitions():
    ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 3, 3], "ts": pd.to_datetime(
        [0, 1, 2, 0, 0, 1], unit="s"), "page_type": ["home", "product", "product", "product",
                                                   "product", "confirmation"]})
    tr = paths.transitions(ev, by="page_type")
    out = paths.exits_and_loops(tr, by="page_type").set_index("page_type")
    # product: 4 events, 2 end a visit, 1 is followed by another product
    assert out.loc["product", ["exits", "exit_rate", "loop_rate"]].tolist() == [2, 0.5, 0.25]
    assert out.loc["confirmation", "exit_rate"] == 1.0 and out.loc["home", "exits"] == 0
    assert out.index[0] == "confirmation"          # sorted by exit rate


def test_top_paths_with_other_add_up_to_every_session_and_purchase(tmp_path):
    from helpers.data import load_store

    ev = load_store().events
    top = paths.top_paths(ev, n=10, other=True)
    assert top["path"].iloc[-1] == paths.OTHER and len(top) == 11
    assert top["sessions"].sum() == ev["session_id"].nunique() == top.attrs["sessions"]
    buying = ev.loc[ev["event"] == "purchase", "session_id"].nunique()
    assert top["purchases"].sum() == buying == top.attrs["purchases"]
    assert top["share"].sum() == pytest.approx(1.0)
    # the same from Parquet, through DuckDB
    ev.to_parquet(tmp_path / "events.parquet")
    lazy = paths.top_paths(str(tmp_path / "events.parquet"), n=10, other=True)
    pd.testing.assert_frame_equal(lazy, top)


def test_paths_from_an_event_cover_every_session_that_had_it():
    from helpers.data import load_store

    ev = load_store().events
    after = paths.paths_from(ev, "search", n=5)
    with_search = ev.loc[ev["event"] == "search", "session_id"].nunique()
    assert after["sessions"].sum() == after.attrs["sessions"] == with_search
    assert after["path"].iloc[:-1].str.startswith("search").all()
    assert paths.interesting_event(ev) == "search"  # the bundled shop logs no events of its own
    with pytest.raises(ValueError, match="no session has a 'chat' event"):
        paths.paths_from(ev, "chat")
