"""helpers.narrate.retention: the sentences of notebook 05 follow the numbers, not the bundled shop."""

import numpy as np
import pandas as pd

from helpers import retention
from helpers.narrate import retention as say


def pooled(rates, n=1000):
    rates = np.asarray(rates, float)
    half = 1.96 * np.sqrt(rates * (1 - rates) / n)
    return pd.DataFrame({"n": n, "k": (rates * n).round(), "rate": rates, "ci_low": rates - half,
                         "ci_high": rates + half},
                        index=pd.Index(range(1, len(rates) + 1), name="months_since"))


def test_cohorts_flat_versus_early_peak():
    assert "low and flat" in say.cohorts(pooled([0.06, 0.05, 0.05, 0.06, 0.05, 0.065]))
    peak = say.cohorts(pooled([0.30, 0.12, 0.08, 0.06, 0.05, 0.05]))
    assert "front-loaded" in peak and "month 1 brings back the most" in peak
    assert "substantial" in peak


def test_cohorts_too_short_or_too_few():
    empty = pooled([]).iloc[:0]
    assert "cover 1 calendar month" in say.cohorts(empty, months_observed=1)
    assert "too few to read a shape" in say.cohorts(pooled([0.0, 1.0], n=1))


def rp_table(n90=2000, n365=1000, r90=0.15, r365=0.32):
    return pd.DataFrame({"window_days": [90, 365], "n": [n90, n365],
                         "k": [round(r90 * n90), round(r365 * n365)], "rate": [r90, r365],
                         "ci_low": [r90 - 0.02, r365 - 0.03], "ci_high": [r90 + 0.02, r365 + 0.03],
                         "censored": [100, 1100]})


def test_repurchase_minority_front_loaded():
    km = pd.DataFrame({"time": [90.0, 365.0], "repurchased": [0.14, 0.33]})
    text = say.repurchase(rp_table(), km)
    assert "15 % (95 % CI 13–17 %) of the first-time buyers watched for 90 days" in text
    assert "climbs fastest early" in text and "a minority of first-time buyers" in text
    assert say.front_loaded(km) is True


def test_repurchase_majority_steady():
    km = pd.DataFrame({"time": [90.0, 365.0], "repurchased": [0.15, 0.62]})
    text = say.repurchase(rp_table(r90=0.15, r365=0.6), km)
    assert "steady pace" in text and "most first-time buyers order again within 365" in text
    assert say.front_loaded(km) is False


def test_repurchase_unobserved_window_is_said_not_nan():
    t = rp_table(n365=0).assign(rate=[0.15, np.nan], ci_low=[0.13, np.nan],
                                ci_high=[0.17, np.nan])
    km = pd.DataFrame({"time": [90.0, 365.0], "repurchased": [0.14, np.nan]})
    text = say.repurchase(t, km)
    assert "No buyer has been watched for 365 days yet" in text
    assert "nan" not in text.lower() and say.front_loaded(km) is None


def test_bgnbd_fit_good_bad_and_missing():
    s = retention.simulate_bgnbd(2000, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=3)
    bg = retention.fit_bgnbd(s)
    good = say.bgnbd_fit(bg, "", retention.bgnbd_check(bg, s))
    assert "reproduces the data" in good and "identified" in good
    wrong = retention.BGNBD(r=1.0, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, n=2000,
                            warning="a, b not identified by these data")
    bad = say.bgnbd_fit(wrong, "", retention.bgnbd_check(wrong, s))
    assert "does not reproduce" in bad and "**Caution:** a, b not identified" in bad
    assert say.bgnbd_fit(None, "only 1 customer").startswith("BG/NBD not fitted: only 1 customer")


def test_spend_model_and_value_bands():
    gg = retention.GammaGamma(p=6.0, q=4.0, gamma=15.0, log_likelihood=0.0, n=50, left_out=3)
    assert "3 left out" in say.spend_model(gg, corr=0.05)
    assert "**Caution:**" in say.spend_model(gg, corr=0.6)
    assert say.spend_model(None, "no repeat buyer").startswith("Gamma–Gamma not fitted")
    b = pd.DataFrame({"customers": [700, 200, 100], "p_alive": [1.0, 0.7, 0.65],
                      "clv": [800, 900, 2600], "clv_share": [0.56, 0.18, 0.26]},
                     index=["0", "1", "4+"])
    assert "2.6× their share" in say.value_by_band(b) and "still hold 56 %" in say.value_by_band(b)
    even = b.assign(clv_share=[0.8, 0.15, 0.05], clv=[800, 500, 300])
    assert "less than it" in say.value_by_band(even) and "each worth" not in say.value_by_band(even)


def test_alive_silent_repeaters_written_off_or_not():
    s = pd.DataFrame({"frequency": [0, 2, 2, 3, 2], "recency": [0.0, 10, 10, 30, 10],
                      "T": [40.0, 50, 12, 32, 60]})
    off = say.alive(pd.Series([1.0, 0.2, 0.9, 0.95, 0.1]), s)
    assert "probably gone" in off
    same = say.alive(pd.Series([1.0, 0.8, 0.85, 0.82, 0.8]), s)
    assert "costs little P(alive)" in same


def test_ratings_stand_out_or_not():
    c = pd.DataFrame({"category": ["toys", "books"], "reviews": [200, 200],
                      "mean_rating": [3.5, 4.4], "low_share": [0.2, 0.02],
                      "ci_low": [0.15, 0.008], "ci_high": [0.26, 0.05]})
    assert "*toys* has more low ratings than the overall" in say.ratings(c)
    even = c.assign(low_share=[0.05, 0.04], ci_low=[0.02, 0.02], ci_high=[0.1, 0.09])
    assert "No category's share" in say.ratings(even)
    assert say.ratings(c.iloc[:0]) == "No reviews to describe."


def test_review_words_topic():
    t = pd.DataFrame({"rating": [1, 2, 5], "term": ["broken", "cheap quality", "love"],
                      "docs": [5, 5, 9], "share": [0.5, 0.5, 0.3]})
    text = say.review_words(t)
    assert "about the product" in text and "delivery" not in text


def after_table(k_low=5, n_low=27):
    return pd.DataFrame({"group": ["low", "other"], "n": [n_low, 729], "k": [k_low, 207],
                         "rate": [k_low / n_low, 207 / 729], "ci_low": [0.08, 0.25],
                         "ci_high": [0.37, 0.32], "censored": [10, 410]})


def test_rating_effect_significant_ns_and_not_computable():
    ns = pd.DataFrame({"risk_ratio": [0.65], "ci_low": [0.29], "ci_high": [1.45], "p_value": [0.29]})
    assert "not distinguishable from no effect" in say.rating_effect(after_table(), ns,
                                                                     window_days=180)
    sig = ns.assign(risk_ratio=0.4, ci_low=0.25, ci_high=0.7, p_value=0.001)
    assert "clearly order again less often" in say.rating_effect(after_table(), sig,
                                                                 window_days=180)
    up = ns.assign(risk_ratio=1.8, ci_low=1.2, ci_high=2.6, p_value=0.004)
    assert "unexpected direction" in say.rating_effect(after_table(), up, window_days=180)
    none = say.rating_effect(after_table(0, 3), None, "not so in low (0 of 3)", window_days=90)
    assert none.startswith("No risk ratio: not so in low (0 of 3)")


def drivers(**odds):
    rows = [{"feature": f, "odds_ratio": o, "ci_low": lo, "ci_high": hi, "p_value": p, "n": 500}
            for f, (o, lo, hi, p) in odds.items()]
    return pd.DataFrame(rows)


def test_churn_history_only_versus_a_lever():
    f = pd.DataFrame({"churned": [True] * 80 + [False] * 20})
    f.attrs["cutoff"] = pd.Timestamp("2025-07-04", tz="UTC")
    hist = drivers(orders=(0.7, 0.6, 0.8, 1e-4), coupon_share=(0.9, 0.6, 1.3, 0.6),
                   low_rating=(1.5, 0.5, 4.4, 0.4))
    text = say.churn(f, hist)
    assert "mostly predictable from purchase history" in text
    assert "though a low rating points the expected way" in text
    lever = drivers(orders=(0.7, 0.6, 0.8, 1e-4), coupon_share=(0.5, 0.3, 0.8, 0.003))
    assert "coupon use goes with churn beyond chance" in say.churn(f, lever)
    nothing = drivers(orders=(0.9, 0.6, 1.3, 0.6))
    text = say.churn(f, nothing)
    assert "No factor is distinguishable from no effect: each extra past order" in text
    assert say.churn(None, None, "too short").startswith("No churn analysis: too short")
    assert "No regression: all 100 buyers" in say.churn(f, None, "all 100 buyers ...")


def test_decisions_follow_the_numbers():
    rr = pd.DataFrame({"risk_ratio": [0.5], "ci_low": [0.3], "ci_high": [0.8]})
    text = say.decisions(fast_repurchase=False, has_value=True, rr=rr)
    assert "steady pace" in text and "expected value" in text and "churn alarm:" in text
    bare = say.decisions(fast_repurchase=None, has_value=False, rr=None)
    assert bare.count("\n- ") == 1 and "notebook 07" in bare
    thin = say.decisions(fast_repurchase=None, has_value=False, rr=None, has_alive=False)
    assert "too thin" in thin and "notebook 07" not in thin


def test_answer_key_narrators():
    both = pd.DataFrame({"fitted": [0.257, 13.18, 1.69, 6.81, 0.199],
                         "key": [0.24, 12.0, 0.85, 2.6, 0.246]},
                        index=["r", "alpha", "a", "b", "a/(a+b)"])
    assert "are recovered" in say.bgnbd_key(both)
    far = both.assign(fitted=[0.5, 30, 1, 1, 0.5])
    assert "not recovered" in say.bgnbd_key(far)
    rr = pd.DataFrame({"risk_ratio": [0.65], "ci_low": [0.29], "ci_high": [1.45]})
    assert "inside the interval" in say.rating_key(0.6, rr)
    assert "outside the interval" in say.rating_key(2.0, rr)


def test_bgnbd_fit_small_counts_are_judged_by_their_noise():
    bg = retention.BGNBD(r=0.2, alpha=6.0, a=0.5, b=2.0, log_likelihood=0.0, n=16)
    check = pd.DataFrame({"observed": [2.0, 0.938], "expected": [1.6, 0.933],
                          "ratio": [1.25, 1.005]},
                         index=["repeat purchases", "share without repeat"])
    text = say.bgnbd_fit(bg, "", check)
    assert "expects 1.6 repeat purchases against 2 made" in text and "reproduces" in text


def test_thin_reviews_are_anecdotes_and_small_categories_do_not_stand_out():
    t = pd.DataFrame({"rating": [1, 5], "term": ["described", "love"], "docs": [1, 9],
                      "share": [1.0, 0.3]})
    assert "only 1 low-rated review: read their words as anecdotes" in say.review_words(t)
    c = pd.DataFrame({"category": ["toys", "books"], "reviews": [1, 39], "mean_rating": [1.0, 4.3],
                      "low_share": [1.0, 0.0], "ci_low": [0.21, 0.0], "ci_high": [1.0, 0.09]})
    assert "No category's share" in say.ratings(c)


def test_churn_names_factors_left_out():
    f = pd.DataFrame({"churned": [True] * 80 + [False] * 20})
    f.attrs["cutoff"] = pd.Timestamp("2025-07-04", tz="UTC")
    d = drivers(orders=(0.7, 0.6, 0.8, 1e-4))
    d.attrs["left_out"] = ["low_rating"]
    assert "Left out, too few buyers on one side: having written a low rating" in say.churn(f, d)


def test_review_topics_reads_truthfully_for_any_data():
    from helpers import topics

    def by_rating(texts, ratings):
        rv = pd.DataFrame({"text": texts, "rating": ratings})
        tp = topics.fit_topics(rv, n_topics=min(2, sum(isinstance(t, str) for t in texts)),
                               min_df=1)
        return topics.topic_by_rating(tp.assign(rv))

    many = by_rating(["battery died"] * 30 + ["love it"] * 30, [1] * 20 + [4] * 10 + [5] * 30)
    text = say.review_topics(many)
    assert "are not spread evenly" in text and "*battery · died*, more than the overall" in text
    assert "read the reviews of *battery · died* first" in text
    # no low ratings at all: no test, and the takeaway says why
    none_low = say.review_topics(by_rating(["battery died", "love it"] * 15, [4, 5] * 15))
    assert "No test of topic against low ratings: no review is rated 2 or lower" in none_low
    assert "no low ratings to trace" in none_low
    # one topic from two reviews, one of them NaN: counted, too few, no comparison
    one = say.review_topics(by_rating(["love it", np.nan], [5, 1]))
    assert "The only review with readable words falls into one topic, *love*" in one
    assert "1 review is left out (no usable words, or no rating)" in one
    assert "there is only one topic" in one and "too few reviews for firm shares" in one
    # an even spread is not a finding
    even = say.review_topics(by_rating(["battery died", "love it"] * 30, [1, 1, 5, 5] * 15))
    assert "does not differ between the topics beyond chance" in even
    assert "not where the low ratings come from" in even
    assert say.review_topics(None, why="2 of 5 reviews have words").startswith(
        "No review topics: 2 of 5 reviews have words.")


def test_review_topics_repeat_orders():
    t = pd.DataFrame({"topic": [1, 2], "label": ["late", "love"], "reviews": [50, 50],
                      "low": [5, 5], "low_share": [0.1, 0.1], "ci_low": [0.04, 0.04],
                      "ci_high": [0.21, 0.21]})
    t.attrs = {"chi2": 0.0, "dof": 1, "p_value": 1.0, "min_expected": 5.0, "why": "",
               "low_share": 0.1, "low_max": 2, "unassigned": 0}

    def churn(n, k, rr=(np.nan, np.nan, np.nan)):
        return pd.DataFrame({"topic": [1, 2], "label": ["late", "love"], "n": n, "k": k,
                             "rate": np.divide(k, np.maximum(n, 1)), "censored": [3, 4],
                             "risk_ratio": rr[0], "rr_low": rr[1], "rr_high": rr[2]})

    sig = say.review_topics(t, churn([40, 40], [8, 20], ([0.4, 2.5], [0.2, 1.3], [0.8, 4.8])),
                            window_days=90)
    assert "Within 90 days of their first review, 35 % of the 80 reviewers" in sig
    assert "*late* reviewers order again less often than the others (risk ratio 0.40" in sig
    assert "No reviewer has a full 90-day window" in say.review_topics(
        t, churn([0, 0], [0, 0]), window_days=90)
    assert "No topic can be compared" in say.review_topics(t, churn([5, 5], [0, 5]),
                                                          window_days=90)
    assert "No repeat orders by topic: no reviewer has" in say.review_topics(
        t, None, churn_why="no reviewer has a review with a topic")


def choice_table(k, loglik, se=None):
    loglik = np.asarray(loglik, float)
    top = int(np.argmax(loglik))
    diff = loglik - loglik[top]
    se = np.zeros(len(k)) if se is None else np.asarray(se, float)
    best = np.zeros(len(k), bool)
    best[int(np.flatnonzero(diff >= -np.maximum(se, 0.01))[0])] = True
    return pd.DataFrame({"k": k, "loglik": loglik, "diff": diff, "se": se, "best": best})


def test_review_topic_count_follows_the_table():
    peak = say.review_topic_count(choice_table([2, 3, 4, 5, 6], [-2.5, -2.44, -2.39, -2.45,
                                                                 -2.47]))
    assert peak.startswith("4 topics: fitted on part of the reviews and scored on the rest")
    assert "better with 4 topics than with 3 (−2.390 against −2.440 nats per term)" in peak
    assert "every larger number of topics predicts them worse" in peak
    # the best score is at 6, but 4 is within the tolerance: the smaller one is chosen
    flat = say.review_topic_count(choice_table([3, 4, 5, 6], [-2.44, -2.395, -2.39, -2.388],
                                               se=[0.004, 0.001, 0.001, 0.0]))
    assert flat.startswith("4 topics") and "no larger number of topics predicts them better" in flat
    edge = say.review_topic_count(choice_table([2, 3], [-2.6, -2.4]))
    assert "3 is the largest number tried, so more topics might predict better still" in edge
    first = say.review_topic_count(choice_table([2, 3, 4], [-6.88, -6.90, -6.91]))
    assert "with 2 topics, the fewest tried, predicts unseen reviews at −6.880 nats per term" in first
    empty = choice_table([2], [-1.0]).iloc[:0]
    empty.attrs["why"] = "3 reviews with words cannot be split into 2 parts and still train 2 topics"
    assert say.review_topic_count(empty) == ("No choice of the number of topics: 3 reviews with "
                                             "words cannot be split into 2 parts and still train "
                                             "2 topics.")


def key_match(**over):
    m = pd.DataFrame({"known": ["late delivery", "poor quality", "praise", "so-so"],
                      "reviews": [200, 190, 1000, 150], "unassigned": 0,
                      "topic": pd.array([2, 3, 1, 4], dtype="Int64"),
                      "label": ["slow shipping", "poor quality", "love", "okay"],
                      "recall": [1.0, 0.99, 1.0, 0.98], "purity": [1.0, 1.0, 0.995, 1.0],
                      "second_topic": pd.array([None, 1, None, 1], dtype="Int64"),
                      "second_share": [0.0, 0.01, 0.0, 0.02], "merged_with": ""})
    for col, values in over.items():
        m[col] = values
    return m


def test_review_topics_key_says_recovered_merged_and_split():
    text = say.review_topics_key(key_match())
    assert text.startswith("**Check against the answer key.** The simulator gives every review")
    assert ("All 4 planted topics are recovered, each by a fitted topic of its own: *late "
            "delivery* by topic 2 (*slow shipping*), recall 100 % and purity 100 %;") in text
    assert "*so-so* by topic 4 (*okay*), recall 98 % and purity 100 %." in text
    # poor quality and so-so share topic 3: merged, whatever their recall
    merged = say.review_topics_key(key_match(
        topic=pd.array([2, 3, 1, 3], dtype="Int64"), purity=[1.0, 0.56, 0.995, 0.44],
        merged_with=["", "so-so", "", "poor quality"]))
    assert "2 of the 4 planted topics are recovered, each by a fitted topic of its own" in merged
    assert ("*poor quality* and *so-so* are merged into topic 3 (*poor quality*), with recall "
            "99 % and 98 % and the topic's purity for each 56 % and 44 %.") in merged
    # praise spread over two fitted topics: split
    split = say.review_topics_key(key_match(recall=[1.0, 0.99, 0.55, 0.98],
                                            second_topic=pd.array([None, 1, 5, 1], dtype="Int64"),
                                            second_share=[0.0, 0.01, 0.45, 0.02]))
    assert "3 of the 4 planted topics are recovered" in split
    assert ("*praise* is split: its largest part, 55 % of its reviews, is in topic 1 (*love*), "
            "whose purity is 99.5 %, and the next, 45 %, in topic 5.") in split
    # neither split nor merged, just weak
    weak = say.review_topics_key(key_match(recall=[0.6, 0.99, 1.0, 0.98],
                                           second_share=[0.1, 0.01, 0.0, 0.02]))
    assert "*late delivery* is only partly recovered: 60 % of its reviews are in topic 2" in weak
    # reviews without a topic, and a planted topic without any fitted one
    lost = say.review_topics_key(key_match(unassigned=[3, 0, 0, 150],
                                           topic=pd.array([2, 3, 1, None], dtype="Int64"),
                                           recall=[0.985, 0.99, 1.0, np.nan]))
    assert "*so-so* has no review with a fitted topic." in lost
    assert "153 reviews of the planted topics got no fitted topic (no usable word)" in lost
    assert "None of the planted topics' reviews" in say.review_topics_key(
        key_match(reviews=0))


def test_review_topics_takeaway_names_the_worst_topic_not_the_largest():
    t = pd.DataFrame({"topic": [1, 2, 3], "label": ["love", "use · time", "hub · work"],
                      "reviews": [1973, 572, 508], "low": [58, 64, 113],
                      "low_share": [0.029, 0.112, 0.222], "ci_low": [0.023, 0.089, 0.188],
                      "ci_high": [0.038, 0.14, 0.261]})
    t.attrs = {"chi2": 224.0, "dof": 2, "p_value": 1e-40, "min_expected": 40.0, "why": "",
               "low_share": 0.077, "low_max": 2, "unassigned": 0}
    text = say.review_topics(t)
    assert "22.2 % (95 % CI 18.8–26.1 %) in *hub · work*, more than the overall share" in text
    assert "*use · time* too" in text
    assert "read the reviews of *hub · work* first" in text
