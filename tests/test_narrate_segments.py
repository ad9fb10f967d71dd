"""helpers.narrate.segments: the sentences of notebook 04 follow the numbers, not the bundled shop."""

import numpy as np
import pandas as pd

from helpers.narrate import segments as say


def seg_table(users, revenue=None):
    names = ["Champions", "Loyal", "New", "Promising", "At risk", "Can't lose them",
             "Hibernating", "Lost"]
    users = np.asarray(users, float)
    n = users.sum()
    share = users / n
    half = 1.96 * np.sqrt(share * (1 - share) / n)
    t = pd.DataFrame({"segment": names, "users": users.astype(int), "share": share,
                      "share_ci_low": share - half, "share_ci_high": share + half})
    if revenue is not None:
        revenue = np.asarray(revenue, float)
        t["revenue"] = revenue
        t["revenue_share"] = revenue / revenue.sum()
    return t


def test_buyers_one_order_majority_and_skew():
    t = pd.DataFrame({"frequency": [1] * 70 + [3] * 30, "monetary": [10.0] * 70 + [500.0] * 30})
    text = say.buyers(t, "EUR")
    assert "70 % of the 100 buyers ordered exactly once" in text
    assert "the typical customer bought once" in text
    assert "EUR" in text and "skewed" in text


def test_buyers_mostly_repeat_and_even_spend():
    t = pd.DataFrame({"frequency": [1] * 20 + [2] * 80, "monetary": [50.0] * 100})
    text = say.buyers(t)
    assert "80 % came back at least once" in text and "fairly even" in text
    assert "typical customer bought once" not in text


def test_buyers_without_revenue_and_empty_and_single():
    t = pd.DataFrame({"frequency": [1, 2] * 20, "monetary": np.nan})
    assert "carry no revenue" in say.buyers(t) and "nan" not in say.buyers(t)
    assert "nobody to segment" in say.buyers(t.iloc[:0])
    one = say.buyers(pd.DataFrame({"frequency": [13], "monetary": [99.0]}))
    assert "single buyer, with 13 orders" in one and "%" not in one


def test_scores_name_the_empty_levels():
    t = pd.DataFrame({"r": [1, 2, 3, 4, 5] * 4, "f": [1] * 14 + [4] * 3 + [5] * 3,
                      "m": [1, 2, 3, 4, 5] * 4, "frequency": [1] * 14 + [2] * 3 + [3] * 3})
    text = say.scores(t)
    assert "70 % of the buyers have a single order" in text and "F = 2 and 3" in text
    assert "R and M use all five levels" in text
    nom = t.assign(m=pd.array([pd.NA] * 20, dtype="Int64"))
    assert "FM is F alone" in say.scores(nom)


def test_segment_map_concentrated_revenue():
    t = seg_table([100, 100, 150, 150, 100, 50, 200, 150],
                  [300, 200, 20, 20, 150, 100, 60, 50])
    text = say.segment_map(t, currency="EUR")
    assert "*Champions* and *Loyal* are 20 % of the buyers but 55.6 % of the revenue" in text
    assert "revenue is concentrated" in text
    assert "*Hibernating*" in text.split(".")[0]      # the biggest segment is named first


def test_segment_map_revenue_spread_with_head_count():
    t = seg_table([100] * 8, [100] * 8)
    text = say.segment_map(t)
    assert "not much richer than its size" in text and "spread roughly in line" in text
    assert "about equally large" in text               # eight equal segments: no single winner


def test_segment_map_without_revenue_short_history_and_one_buyer():
    t = seg_table([100, 100, 150, 150, 100, 50, 200, 150])
    text = say.segment_map(t, recency_span_days=0.2)
    assert "less than a day" in text and "cannot be said" in text and "nan" not in text
    one = seg_table([0, 0, 0, 0, 0, 0, 0, 1])
    assert "single buyer sits in *Lost*" in say.segment_map(one)


def test_choice_of_k_reads_the_silhouette():
    strong = pd.DataFrame({"k": [3, 4], "silhouette": [0.62, 0.4], "best": [True, False]})
    assert "reasonable structure" in say.choice_of_k(strong)
    weak = pd.DataFrame({"k": [3, 4], "silhouette": [0.12, 0.2], "best": [False, True]})
    assert "no substantial structure" in say.choice_of_k(weak)
    empty = pd.DataFrame(columns=["k", "silhouette", "best"])
    empty.attrs["why"] = "1 distinct buyer(s) cannot be split"
    assert say.choice_of_k(empty) == "No clustering: 1 distinct buyer(s) cannot be split."


def test_clusters_flag_device_twins_only_when_devices_are_single():
    cl = pd.DataFrame({"users": [50, 50], "share": [0.5, 0.5],
                       "profile": ["high aov, high mobile_share", "high aov, low mobile_share"]})
    single = pd.DataFrame({"mobile_share": [0.0, 1.0] * 50})
    mixed = pd.DataFrame({"mobile_share": [0.5, 0.3] * 50})
    assert "differ only in it" in say.clusters(cl, single)
    assert "differ only in it" not in say.clusters(cl, mixed)
    assert say.clusters(None) == ""
    flat = pd.DataFrame({"users": [5, 5], "share": [0.5, 0.5], "profile": ["average"] * 2})
    assert "add little" in say.clusters(flat)


def test_lifecycle_lapsed_majority_versus_active_majority():
    lapsed = pd.DataFrame({"stage": ["prospect", "new", "active", "dormant", "churned"],
                           "users": [900, 10, 30, 25, 35]})
    assert "wins first orders more easily than it keeps" in say.lifecycle(lapsed)
    active = lapsed.assign(users=[900, 30, 50, 10, 10])
    assert "still in touch" in say.lifecycle(active)
    new = lapsed.assign(users=[10, 100, 0, 0, 0])
    assert "too recent for anyone to have lapsed" in say.lifecycle(new)
    few = lapsed.assign(users=[0, 1, 2, 0, 0])
    assert "too few for shares: 1 new buyer and 2 active buyers" in say.lifecycle(few)


def test_coupons_direction_and_significance():
    who = pd.DataFrame({"users": [300, 300, 200], "orders_per_user": [1.0, 1.0, 4.0],
                        "coupon_use": [0.4, 0.35, 0.1]}, index=["New", "Lost", "Champions"])
    assert "door" in say.coupons(who)
    flipped = who.assign(coupon_use=[0.1, 0.1, 0.4])
    assert "best customers use coupons more" in say.coupons(flipped)
    same = who.assign(users=[10, 10, 5], coupon_use=[0.2, 0.2, 0.25])
    assert "not different beyond chance" in say.coupons(same)
    assert "no coupon codes" in say.coupons(who.drop(columns="coupon_use"))


def test_decisions_follow_the_numbers():
    rich = seg_table([10, 10, 15, 15, 10, 5, 20, 15], [30, 20, 5, 5, 15, 10, 10, 5])
    stages = pd.DataFrame({"stage": ["new", "active", "dormant", "churned"],
                           "users": [5, 10, 7, 3]})
    text = say.decisions(rich, stages, active_days=60, churn_days=200)
    assert "Protect the top" in text and "60 days without an order, 7 buyers now" in text
    flat = seg_table([10] * 8, [10] * 8)
    assert "Protect the top" not in say.decisions(flat, None, active_days=60, churn_days=200)
    assert "too thin" in say.decisions(None, None, active_days=60, churn_days=200)


def test_answer_key_checks_report_a_mismatch():
    ok = pd.DataFrame({"from lifecycle": [3, 2], "answer key": [3, 2]}, index=["a", "b"])
    assert "reproduced exactly" in say.winback_check(ok, True)
    bad = ok.assign(**{"from lifecycle": [4, 2]})
    assert "not reproduced: 1 users differ" in say.winback_check(bad, True)
    assert "explains the many one-order buyers" in say.one_order_check(0.72, 0.71)
    assert "further apart" in say.one_order_check(0.72, 0.60)


def test_empty_segments_are_not_named_and_few_buyers_get_no_takeaway():
    t = seg_table([1, 0, 3, 3, 0, 0, 4, 5], [30, 0, 3, 3, 0, 0, 4, 5])
    text = say.decisions(t, None, active_days=60, churn_days=200)
    assert "*Champions* carry" in text and "*Loyal*" not in text
    assert "too few buyers for a segment-level conclusion" in say.segment_map(t)
