"""Narration of notebook 07: each claim follows the numbers of the table it is given."""

import numpy as np
import pandas as pd

from helpers.narrate import marketing as say


def _scores(diffs, lows, highs, names=("item-to-item (orders)", "item-to-item, category level")):
    models = ["popularity", *names]
    return pd.DataFrame({"model": models, "metric": "hit_rate",
                         "value": [0.28 + d for d in (0.0, *diffs)], "diff": [0.0, *diffs],
                         "diff_low": [0.0, *lows], "diff_high": [0.0, *highs],
                         "coverage": [0.03, 0.9, 0.35]})


def _uplift(lows=(-0.03, 0.02), all_low=0.004, money=True):
    u = pd.DataFrame({"segment": ["one-time", "repeat", "all"], "n_treated": [826, 218, 1044],
                      "n_control": [209, 52, 261], "conv_treated": [0.03, 0.12, 0.05],
                      "conv_control": [0.02, 0.02, 0.02], "uplift": [0.01, 0.1, 0.03],
                      "ci_low": [*lows, all_low], "ci_high": [0.03, 0.2, 0.05],
                      "incr_profit": [4.0, 20.0, 8.2] if money else [np.nan] * 3})
    return u


def test_recommenders_bundled_like_category_level_wins():
    text = say.recommenders(_scores([-0.023, 0.028], [-0.039, 0.013], [-0.007, 0.044]),
                            test_users=1143, with_history=371, k=10)
    assert "Better than the bestsellers beyond chance: item-to-item, category level" in text
    assert "Worse: item-to-item (orders)" in text
    assert "Only 371 of the 1,143 test buyers (32.5 %)" in text
    assert "naive item-pair recommender" in text


def test_recommenders_opposite_and_no_significance():
    text = say.recommenders(_scores([0.03, -0.02], [0.01, -0.035], [0.05, -0.005]),
                            test_users=2000, with_history=1500, k=10)
    assert "Better than the bestsellers beyond chance: item-to-item (orders)" in text
    assert "naive" not in text and "have history to personalise from" in text
    tie = say.recommenders(_scores([0.01, 0.0], [-0.01, -0.02], [0.03, 0.02]),
                           test_users=20, with_history=0, k=10,
                           skipped=["the category-level models need a category for every item"])
    assert "no recommender beats the bestseller list beyond chance" in tie
    assert "With only 20 test buyers" in tie and "None of the test buyers" in tie
    assert "Left out: the category-level models" in tie


def test_recommenders_without_test_buyers():
    assert "no test buyers" in say.recommenders(_scores([0.0, 0.0], [0, 0], [0, 0]),
                                                test_users=0, with_history=0, k=10)


def test_split_edges():
    assert "nothing to learn from" in say.split("2025-01-01", 0, 5, 3, 0)
    assert "nothing to score" in say.split("2025-01-01", 5, 0, 0, 0)
    assert "2025-01-01 11:30" in say.split(pd.Timestamp("2025-01-01 11:30"), 5, 5, 2, 1)


def test_uplift_significant_segment_and_none():
    text = say.uplift(_uplift())
    assert "an uplift of +3.0 pp (95 % CI +0.4 to +5.0 pp), beyond chance" in text
    assert "The segment *repeat*" in text and "in *one-time* the uplift is small" in text
    flat = say.uplift(_uplift(lows=(-0.03, -0.01), all_low=-0.01, money=False))
    assert "no effect shown" in flat and "records no revenue" in flat
    assert "beyond chance" not in flat.split("\n\n")[1]


def test_targeting_and_decisions_follow_the_intervals():
    assert "largest in *repeat*" in say.targeting(_uplift())
    assert "no effect beyond chance overall" in say.targeting(
        _uplift(lows=(-0.03, -0.01), all_low=-0.01))
    memo = say.decisions(best="item-to-item, category level", uplift=_uplift(),
                         policy_ranked=False)
    assert "ship item-to-item, category level" in memo and "proven (*repeat*)" in memo
    assert "a holdout of 20 %" in memo
    none = say.decisions(best="popularity",
                         uplift=_uplift(lows=(-0.03, -0.01), all_low=-0.01))
    assert "keep the bestseller list" in none and "do not scale it" in none
    assert "nothing to decide" in say.decisions()


def test_policies_honest_when_the_holdout_cannot_rank():
    one = pd.DataFrame({"policy": ["everyone", "propensity", "uplift"], "targeted": [500, 150, 150],
                        "profit": [5000.0, 3600, 4600], "diff_vs_everyone": [0.0, -1400, -400],
                        "diff_low": [0.0, -6000, -5000], "diff_high": [0.0, 200, 2400]})
    reps = pd.DataFrame({"seed": np.repeat(range(3), 3),
                         "policy": ["everyone", "propensity", "uplift"] * 3,
                         "profit": [5.0, 2, 6, 5, 3, 2, 5, 1, 2]})
    text = say.policies(one, reps, currency="EUR")
    assert "no targeted list differs from sending to everyone beyond chance" in text
    assert "too small to rank the policies" in text and "in 1 (uplift 1, propensity 0)" in text
    clear = one.assign(diff_vs_everyone=[0.0, -1400, 3000], diff_low=[0.0, -6000, 500],
                       diff_high=[0.0, 200, 6000])
    reps2 = reps.assign(profit=[5.0, 2, 9, 5, 3, 8, 5, 1, 7])
    won = say.policies(clear, reps2)
    assert "uplift beats sending to everyone" in won and "stable across splits" in won


def test_playbook_prospect_majority_and_buyer_majority():
    b = pd.DataFrame({"stage": ["prospect", "active", "dormant"], "users": [900, 60, 40]})
    assert "most users are prospects (900, 90 %)" in say.playbook(b)
    c = pd.DataFrame({"stage": ["prospect", "active", "churned"], "users": [10, 1, 54]})
    text = say.playbook(c)
    assert "the largest stage is churned (54 users" in text and "1 active one " in text
    assert "No user" in say.playbook(c.iloc[:0])


def test_scenes_peak_growth_and_empty():
    t = pd.DataFrame({"scene": ["ordinary week"] * 2 + ["week before the busiest day"] * 2,
                      "audience": ["visited", "abandoned a cart"] * 2, "n": [855, 95, 1001, 174],
                      "rate": [0.061, 0.095, 0.051, 0.2], "ci_low": [0.047, 0.051, 0.039, 0.15],
                      "ci_high": [0.079, 0.17, 0.066, 0.26]})
    peak = pd.Series({"day": "2025-11-11", "orders": 25, "median_day": 5.0})
    text = say.scenes(t, peak)
    assert "2025-11-11, had 25 orders, 5.0× the median day (5)." in text
    assert "more often beyond chance" in text and "enlarges the cart-abandoner audience 1.8×" in text
    flat = say.scenes(t, pd.Series({"day": "2025-01-01", "orders": 1, "median_day": 1.0}))
    assert "no day stands out" in flat
    assert "too short for a scene" in say.scenes(t.iloc[:0], peak)
    nocart = t.loc[t["audience"] == "visited"]
    assert "no cart was abandoned" in say.scenes(nocart, peak)


def test_answer_key_pairs_and_uplift():
    top = pd.DataFrame({"a": ["phone", "books"], "b": ["phone case", "pet food"],
                        "planted lift": [5.2, np.nan]})
    text = say.pairs_answer_key(top, not_pairs=[("pet food", "books")])
    assert "1 of the top 2 pairs is planted" in text and "partly among them" in text
    check = pd.DataFrame({"uplift": [0.03, 0.3], "ci_low": [-0.04, 0.2], "ci_high": [0.1, 0.4],
                          "answer key": [0.045, 0.11], "key inside": [True, False]},
                         index=["one-time", "repeat"])
    out = say.uplift_answer_key(check)
    assert "(1 of 2)" in out and "Outside: *repeat*" in out


def test_decisions_advise_a_pre_peak_push_only_for_a_real_peak():
    t = pd.DataFrame({"scene": ["ordinary week", "week before the busiest day"],
                      "audience": "abandoned a cart", "n": [95, 174]})
    real = say.decisions(scenes=t, peak=pd.Series({"day": "2025-11-11", "orders": 25,
                                                   "median_day": 5.0}))
    assert "the week before 2025-11-11" in real and "174 abandoned carts" in real
    flat = say.decisions(scenes=t, peak=pd.Series({"day": "2025-01-01", "orders": 3,
                                                   "median_day": 2.0}))
    assert "2025-01-01" not in flat and "cart-abandonment reminder" in flat
    assert "Scenes" not in say.decisions(scenes=t.assign(n=0), best="popularity")


def test_a_handful_of_orders_is_not_a_peak():
    t = pd.DataFrame({"scene": ["ordinary week"] * 2, "audience": ["visited", "abandoned a cart"],
                      "n": [30, 8], "rate": [0.03, 0.125], "ci_low": [0.01, 0.02],
                      "ci_high": [0.15, 0.47]})
    tiny = pd.Series({"day": "2024-09-13", "orders": 3, "median_day": 1.0})
    assert "no day stands out" in say.scenes(t, tiny)
    assert "2024-09-13" not in say.decisions(scenes=t, peak=tiny)


def _timing(diff, low, high, *, n=1577, hits=(59, 105, 260, 73), contacted=581):
    ev = pd.DataFrame({"plan": ["fixed schedule", "timed", "coverage windows",
                                "coverage windows, p ≥ threshold"],
                       "customers": n, "contacted": [n, contacted, n, 0],
                       "contact_days": [30.0, 30.0, 176.9, 0.0], "hits": list(hits),
                       "expected": [61.9, 102.1, 258.0, 0.0],
                       "hit_rate": [h / n for h in hits],
                       "precision": [0.04, 0.18, 0.17, np.nan], "precision_low": [0.03, 0.15, 0.15, np.nan],
                       "precision_high": [0.05, 0.21, 0.18, np.nan],
                       "diff": [0.0, diff, 0.03, 0.0], "diff_low": [0.0, low, 0.01, 0.0],
                       "diff_high": [0.0, high, 0.05, 0.0]})
    ev.attrs.update(schedule_days=30.0, coverage=0.5, threshold=0.25)
    return ev


def test_timing_reads_truthfully_whichever_way():
    win = say.timing(_timing(0.029, 0.018, 0.04))
    assert "beyond chance" in win and "catches more next purchases" in win
    assert "in line with the model" in win and "catch more than the same days" in win
    assert "No customer's chance of buying in their window reaches 25 %" in win
    lose = say.timing(_timing(-0.02, -0.03, -0.01))
    assert "fewer beyond chance" in lose and "fixed schedule catches more" in lose
    unsure = say.timing(_timing(0.01, -0.01, 0.03))
    assert "no difference shown" in unsure and "does not beat" in unsure
    tie = say.timing(_timing(0.0, 0.0, 0.0, hits=(5, 5, 8, 0)))
    assert "exactly the same customers" in tie and "does not beat" in tie
    tiny = say.timing(_timing(0.1, -0.2, 0.4, n=12, hits=(1, 2, 3, 0), contacted=0))
    assert "With only 12 customers" in tiny and "contacts nobody" in tiny
    none = say.timing(_timing(0.0, 0.0, 0.0, hits=(0, 0, 0, 0)))
    assert "cannot be judged" in none
