"""Tests of helpers.narrate.paths: the sentences of notebook 02 follow the numbers given."""

import pandas as pd

from helpers import paths
from helpers.narrate import paths as tell


def events(rows):
    """rows: (session_id, seconds, page_type) -> events with one user per session."""
    df = pd.DataFrame(rows, columns=["session_id", "sec", "page_type"])
    df["ts"] = pd.to_datetime(df.pop("sec"), unit="s", utc=True)
    df["user_id"] = df["session_id"]
    df["event"] = df["page_type"].map({"confirmation": "purchase"}).fillna("page_view")
    return df


def shop(front="product", n=40):
    """Visits that land on ``front``; a few go on to the cart and buy."""
    rows = []
    for s in range(n):
        rows.append((s, 0, front))
        if s % 4 == 0:
            rows += [(s, 30, "product"), (s, 60, "cart"), (s, 90, "checkout"),
                     (s, 150, "confirmation")]
        elif s % 4 == 1:
            rows += [(s, 20, "category"), (s, 50, "product")]
    return events(rows)


# --------------------------------------------------------------------------- 1 · paths

def test_visits_close_or_different():
    assert "closely" in tell.visits(1000, 990, "30min")
    far = tell.visits(1000, 700, "30min")
    assert "30 % fewer" in far and "differently" in far


def test_landing_page_is_read_from_the_data():
    ev = shop("product")
    tr = paths.transitions(ev, by="page_type")
    top = paths.top_paths(ev, n=5, by="page_type")
    buy = paths.top_paths(ev[ev["session_id"].isin(ev.loc[ev["event"] == "purchase",
                                                          "session_id"])], by="page_type")
    assert tell.transitions(tr).startswith("Visits land mostly on `product` (100 %)")
    text = tell.top_paths(top, buy, tr)
    assert "more land on `product` than anywhere else, not on the home page" in text
    assert "**Treat `product` as the landing page:**" in tell.decisions(tr=tr)
    # the opposite shop: visits land on the home page, which is no news
    ev = shop("home")
    tr = paths.transitions(ev, by="page_type")
    text = tell.top_paths(paths.top_paths(ev, by="page_type"), buy, tr)
    assert "more land on `home` than anywhere else." in text and "front door" not in text
    assert "landing page" not in tell.decisions(tr=tr)


def test_paths_without_purchases_or_with_one_kind_of_page():
    ev = events([(s, 0, "product") for s in range(10)])
    tr = paths.transitions(ev, by="page_type")
    top = paths.top_paths(ev, by="page_type")
    text = tell.top_paths(top, top.iloc[0:0], tr)
    assert "No visit bought anything" in text and "None of the" not in text
    assert "only one kind of page" in text
    only_receipts = events([(s, 0, "confirmation") for s in range(10)])
    tr = paths.transitions(only_receipts, by="page_type")
    assert "landing page" not in tell.decisions(tr=tr)


# --------------------------------------------------------------------------- 2/3 · exits, dwell

def test_exits_separate_end_pages_from_leaks_and_name_checkout_exits():
    stall = paths.exits_and_loops(paths.transitions(shop(), by="page_type"), by="page_type")
    text = tell.exits(stall)
    assert text.startswith("`confirmation` ends 100 %")
    assert "By volume, most visits end on `product`" in text
    empty = tell.exits(stall.iloc[0:0])
    assert "no visits" in empty


def test_dwell_ranks_pages_and_is_honest_when_too_few():
    d = pd.DataFrame({"page_type": ["checkout", "product", "home", "search"],
                      "events": [100, 500, 200, 100], "timed": [90, 300, 150, 80],
                      "last_in_session": [10, 200, 50, 20],
                      "median_s": [40.0, 35.0, 12.0, 15.0]})
    text = tell.dwell(d)
    assert text.startswith("`checkout` and `product` hold attention longest")
    assert "40 % of `product` views are the last of their visit" in text
    few = tell.dwell(d.assign(timed=5))
    assert "Too few pages" in few and "nan" not in few.lower()


# --------------------------------------------------------------------------- 4 · search

def terms(exit_rates, searches=600):
    st = pd.DataFrame({"search_term": [f"t{i}" for i in range(len(exit_rates))],
                       "searches": searches, "exit_rate": exit_rates})
    st.attrs["overall_exit_rate"] = 0.25
    return st


def test_search_flags_terms_or_says_none_lead_nowhere():
    st = terms([0.15, 0.2, 1.0])
    text = tell.search(st, st.loc[st["exit_rate"] > 0.9])
    assert text.startswith("1 term leads nowhere: `t2`") and "every time" in text
    none = tell.search(st.iloc[:2], st.iloc[0:0])
    assert "No term ends visits clearly more often than the average search (25 %" in none
    few = terms([1.0], searches=3)
    assert "too few to tell" in tell.search(few, few) and "leads nowhere:" not in tell.search(few, few)
    small = terms([1.0] * 8, searches=5)
    assert "popular" not in tell.search(small, small) and "few searches" in tell.search(small, small)
    assert "no terms to judge" in tell.search(st.iloc[0:0], st.iloc[0:0])


# --------------------------------------------------------------------------- 5 · categories

def interest(rates, sessions, lows, highs):
    return pd.DataFrame({"category": list("abc"), "sessions": sessions, "add_rate": rates,
                         "ci_low": lows, "ci_high": highs})


def test_categories_attention_against_intent_and_when_it_is_chance():
    clear = tell.categories(interest([0.10, 0.20, 0.05], [5000, 1000, 800],
                                     [0.09, 0.18, 0.04], [0.11, 0.22, 0.07]))
    assert "`a` draws the most visits (5,000), but `b` turns looking into adding best" in clear
    assert "lowest add rate is `c`" in clear
    overlap = tell.categories(interest([0.10, 0.12, 0.09], [5000, 60, 50],
                                       [0.09, 0.05, 0.03], [0.11, 0.22, 0.2]))
    assert "not clearly above" in overlap and "turns looking into adding best" not in overlap
    same = tell.categories(interest([0.30, 0.20, 0.05], [5000, 1000, 800],
                                    [0.28, 0.18, 0.04], [0.32, 0.22, 0.07]))
    assert "also turns looking into adding best" in same


# --------------------------------------------------------------------------- 6 · rules

def test_next_step_below_and_above_chance_and_empty():
    below = pd.DataFrame({"antecedent": ["a"], "consequent": ["b"], "sessions": [100],
                          "lift": [0.8]})
    assert "stays below a lift of 1" in tell.next_step(below)
    above = below.assign(lift=2.5)
    assert "more often than chance" in tell.next_step(above)
    assert "at least 50 visits" in tell.next_step(below.iloc[0:0], min_sessions=50)


def rules(transactions=80, conf_back=0.3):
    r = pd.DataFrame({"antecedents": ["a", "b"], "consequents": ["b", "a"],
                      "transactions": transactions, "support": 0.02,
                      "confidence": [0.45, conf_back], "lift": 5.0})
    r.attrs["transactions"] = 4000
    return r


def test_basket_rules_strong_none_and_too_few_orders():
    seq = pd.DataFrame({"antecedent": ["a"], "consequent": ["b"], "sessions": [9], "lift": [0.5]})
    text = tell.basket_rules(rules(), 0.005, 0.2, 1.5, seq=seq)
    assert "`a → b` (lift 5.0, confidence 45 %)" in text
    assert "not co-viewed categories" in text and "works 45 % of the time" in text
    assert "works" not in tell.basket_rules(rules(conf_back=0.45), 0.005, 0.2, 1.5)
    none = tell.basket_rules(rules().iloc[0:0], 0.005, 0.2, 1.5)
    assert "No pair of categories passes the thresholds" in none
    few = tell.basket_rules(rules(transactions=1), 0.005, 0.2, 1.5)
    assert "too few to act on" in few and "clear complements" not in few


def test_decisions_recommend_only_rules_with_enough_orders():
    assert "Recommend complements" in tell.decisions(rules=rules())
    assert "Recommend complements" not in tell.decisions(rules=rules(transactions=1))
    assert "Use lift" not in tell.decisions()        # no basket part ran


def test_answer_key_narrators():
    nowhere = pd.DataFrame({"search_term": ["ps6", "lamp"]})
    assert "flagged but not planted: `lamp`" in tell.key_search(nowhere, ["ps6"])
    k = pd.DataFrame({"antecedent": ["a", "c"], "consequent": ["b", "d"],
                      "add_probability": [0.4, 0.0], "lift": [5.0, 0.6],
                      "found_lift": [3.0, 1.3], "as_planted": [False, False]})
    text = tell.key_complements(k)
    assert "0 of 1 planted pairs" in text and "above 1" in text


# --------------------------------------------------------------------------- 7 · undecided

def test_undecided_small_group_none_and_no_views():
    b = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "category": ["x", "x", "y"]})
    assert "a small group of people keep returning" in tell.undecided(b, 5, viewers=100)
    assert "this person keeps returning" in tell.undecided(b.iloc[:1], 5, viewers=1)
    assert "try a lower `MIN_VIEWS`" in tell.undecided(b.iloc[0:0], 5, viewers=100)
    assert "no product views" in tell.undecided(b.iloc[0:0], 5, viewers=0)


def test_a_missing_page_type_is_never_ranked_as_a_page():
    ev = shop("product")
    ev.loc[ev["page_type"] == "category", "page_type"] = None
    tr = paths.transitions(ev, by="page_type")
    assert "(missing)" in set(tr["from"])
    text = tell.transitions(tr) + tell.exits(paths.exits_and_loops(tr, by="page_type"))
    assert "(missing)" not in text


# --------------------------------------------------------------------------- path cleaning

def test_cleaning_words_the_rules_and_merges_of_the_table_it_is_given():
    ev = events([(1, 0, "product"), (1, 30, "product"), (1, 60, "cart"), (2, 0, "product"),
                 (2, 5, None)])
    ev["url"] = ("/" + ev["page_type"] + "/" + ev["session_id"].astype(str)).where(
        ev["page_type"].notna())
    clean = paths.clean_paths(ev, by="url", rules={r"^/product/\d+$": "product"})
    text = tell.cleaning(clean)
    assert "turned 3 distinct values of `url` into 2" in text
    assert "on 3 events" in text
    assert "1 of 5 events (20 %)" in text and "`page_view` on `product` 1" in text
    assert "1 event has no `url`" in text
    plain = tell.cleaning(paths.clean_paths(ev.iloc[[0, 2]]))
    assert plain.startswith("No two consecutive events") and "rule" not in plain
