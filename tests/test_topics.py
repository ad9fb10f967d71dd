"""Tests of helpers.topics: hand corpora (English and Chinese), the Alexa reviews, errors, churn."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import topics
from helpers.data import DataValidationError
from helpers.retention import NotFittable

REPO_ROOT = Path(__file__).resolve().parents[1]
ALEXA = REPO_ROOT.parent / "shared" / "datasets" / "amazon-alexa-reviews" / "amazon_alexa.tsv.gz"


def two_themes(n=20):
    battery = ["battery charge", "the battery does not hold a charge", "charge battery overnight",
               "battery charge lasts a day"]
    delivery = ["delivery late box", "the box arrived late", "late delivery and a crushed box",
                "delivery was late"]
    texts = [battery[i % 4] for i in range(n)] + [delivery[i % 4] for i in range(n)]
    return pd.DataFrame({"text": texts, "theme": ["battery"] * n + ["delivery"] * n,
                         "rating": [4] * n + [1, 2] * (n // 2)},
                        index=pd.Index(range(100, 100 + 2 * n), name="review_id"))


@pytest.mark.parametrize("method", ["nmf", "lda"])
def test_two_obvious_themes_are_recovered_exactly(method):
    rv = two_themes()
    tp = topics.fit_topics(rv, n_topics=2, method=method)
    a = tp.assign(rv)
    assert a.index.equals(rv.index) and "text" not in a.columns and "theme" in a.columns
    by_theme = a.groupby("theme")["topic"].agg(["nunique", "first"])
    assert (by_theme["nunique"] == 1).all() and by_theme["first"].nunique() == 2
    battery = by_theme.loc["battery", "first"]
    assert "battery" in tp.labels[battery] and "charge" in tp.labels[battery]
    delivery = tp.labels[by_theme.loc["delivery", "first"]]
    assert {"delivery", "late", "box"} <= set(delivery.split(" · "))
    assert set(tp.terms.columns) == {"topic", "label", "rank", "term", "weight"}
    again = topics.fit_topics(rv, n_topics=2, method=method)
    pd.testing.assert_frame_equal(again.terms, tp.terms)
    pd.testing.assert_frame_equal(again.assign(rv), a)


def test_topic_by_rating_on_two_themes():
    rv = two_themes()
    a = topics.fit_topics(rv, n_topics=2).assign(rv)
    t = topics.topic_by_rating(a)
    assert t["reviews"].tolist() == [20, 20]
    assert sorted(t["low"].tolist()) == [0, 20]
    assert list(t.columns[t.columns.str.match(r"r\d")]) == ["r1", "r2", "r3", "r4", "r5"]
    assert t.attrs["chi2"] == pytest.approx(40.0) and t.attrs["p_value"] < 1e-8
    high = t.loc[t["low"] == 0].iloc[0]
    assert high["ci_low"] == 0 and high["ci_high"] == pytest.approx(0.1611, abs=1e-4)


def test_tokenize_latin_and_auto_detection():
    toks = topics.tokenize(["Love my Echo!!", "It doesn’t work; 2 stars.", "", None, np.nan,
                            "Café crème, très bon"])
    assert toks == [["love", "echo"], ["work", "stars"], [], [], [], ["café", "crème", "très",
                                                                       "bon"]]
    assert topics.tokenize(["the a and"], stop_words=()) == [["the", "and"]]
    with pytest.raises(ValueError, match="language must be one of"):
        topics.tokenize(["x"], language="klingon")


CHINESE = (["物流太慢了，等了一个星期", "快递延迟了三天才到", "物流很慢，快递员态度差",
            "快递延迟，物流信息不更新"] * 5
           + ["质量很好，做工精致", "做工精致，质量不错", "质量很好，非常满意", "做工很精致，质量好"] * 5)


def test_chinese_is_segmented_by_jieba_and_gives_two_topics():
    pytest.importorskip("jieba", reason="jieba is not installed (pip install jieba)")
    assert topics.tokenize(["物流很慢，快递延迟了三天"]) == [["物流", "慢", "快递", "延迟", "三天"]]
    assert topics.tokenize(["质量很好，做工精致"]) == [["质量", "好", "做工", "精致"]]
    # Latin words inside a Chinese text stay whole
    assert topics.tokenize(["Echo音质很好"]) == [["echo", "音质", "好"]]
    rv = pd.DataFrame({"text": CHINESE, "theme": ["delivery"] * 20 + ["quality"] * 20})
    tp = topics.fit_topics(rv, n_topics=2)
    a = tp.assign(rv)
    assert (a.groupby("theme")["topic"].nunique() == 1).all()
    assert a.groupby("theme")["topic"].first().nunique() == 2
    labels = " ".join(tp.labels)
    assert "物流" in labels and "质量" in labels and "做工" in tp.labels.iloc[
        int(a.loc[a["theme"] == "quality", "topic"].iloc[0]) - 1]


def test_empty_texts_are_counted_not_dropped():
    rv = two_themes()
    rv.iloc[0, 0] = np.nan
    rv.iloc[1, 0] = "   "
    rv.iloc[2, 0] = "the and of"  # stop words only
    tp = topics.fit_topics(rv, n_topics=2)
    assert (tp.attrs["empty"], tp.attrs["no_terms"], tp.attrs["documents"]) == (2, 1, 40)
    a = tp.assign(rv)
    assert len(a) == 40 and a["topic"].isna().sum() == 3
    assert a.attrs == {"empty": 2, "no_terms": 1}
    t = topics.topic_by_rating(a)
    assert t["reviews"].sum() == 37 and t.attrs["unassigned"] == 3


def test_argument_errors():
    rv = two_themes()
    with pytest.raises(DataValidationError, match="reviews.body: missing column"):
        topics.fit_topics(rv, text="body")
    with pytest.raises(ValueError, match="method must be"):
        topics.fit_topics(rv, method="pca")
    with pytest.raises(ValueError, match="n_topics must be"):
        topics.fit_topics(rv, n_topics=0)
    with pytest.raises(NotFittable, match="2 of 5 reviews have words to read \\(2 empty, 1 with "
                                          "stop words only\\); 4 topics need at least 4"):
        topics.fit_topics(pd.DataFrame({"text": ["a b", "battery", "late box", None, ""]}),
                          n_topics=4, min_df=1)
    with pytest.raises(NotFittable, match="no term is in at least min_df=5"):
        topics.fit_topics(pd.DataFrame({"text": ["battery", "late box", "screen"]}),
                          n_topics=2, min_df=5)
    tp = topics.fit_topics(rv, n_topics=2)
    with pytest.raises(DataValidationError, match="reviews.text"):
        tp.assign(rv.rename(columns={"text": "body"}))
    a = tp.assign(rv)
    with pytest.raises(DataValidationError, match="assigned.stars"):
        topics.topic_by_rating(a, "stars")
    with pytest.raises(DataValidationError, match="assigned.user_id"):
        topics.topic_churn(a, pd.DataFrame({"user_id": [1], "ordered_at": ["2025-01-01"]}),
                           window_days=30)


def test_topic_by_rating_without_a_test():
    one = pd.DataFrame({"topic": pd.array([1, 1, 1], dtype="Int64"), "label": "a",
                        "rating": [5, 4, 5]})
    t = topics.topic_by_rating(one)
    assert np.isnan(t.attrs["p_value"]) and t.attrs["why"] == "there is only one topic"
    two = pd.DataFrame({"topic": [1, 2], "label": ["a", "b"], "rating": [5, 4]})
    assert topics.topic_by_rating(two).attrs["why"] == "no review is rated 2 or lower"


def test_topic_churn_with_censoring():
    day = pd.Timestamp("2025-01-01", tz="UTC")
    d = pd.Timedelta(days=1)
    # topic 1 ("late"): users 1-4; topic 2 ("love"): users 5-8; user 9 without a topic
    a = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 1],
                      "topic": pd.array([1, 1, 1, 1, 2, 2, 2, 2, None, 2], dtype="Int64"),
                      "label": ["late"] * 4 + ["love"] * 4 + [None, "love"],
                      "created_at": [day] * 3 + [day + 80 * d] + [day] * 4 + [day, day + 5 * d]})
    o = pd.DataFrame({"user_id": [1, 2, 5, 6, 7, 3, 8, 9],
                      "ordered_at": [day + 10 * d, day + 40 * d, day + 5 * d, day + 20 * d,
                                     day + 29 * d, day + 31 * d, day + 30 * d, day + 3 * d]})
    t = topics.topic_churn(a, o, window_days=30, observation_end=day + 90 * d)
    # user 4's window (day 80 to 110) runs past the end (day 90): censored
    assert t[["topic", "n", "k", "censored"]].values.tolist() == [[1, 3, 1, 1], [2, 4, 4, 0]]
    assert t["rate"].tolist() == pytest.approx([1 / 3, 1.0])
    assert t["others_rate"].tolist() == pytest.approx([1.0, 1 / 3])
    # topic 2's reviewers all ordered again: no risk ratio, and the reason says so
    assert t["risk_ratio"].isna().all() and "at least one reviewer" in t.loc[0, "why"]
    assert t.attrs["unassigned"] == 1 and t.attrs["window_days"] == 30
    # every review, not just each reviewer's first
    every = topics.topic_churn(a, o, window_days=30, observation_end=day + 90 * d,
                               first_only=False)
    assert every["n"].tolist() == [3, 5]


@pytest.fixture(scope="module")
def alexa():
    if not ALEXA.exists():
        pytest.skip(f"Alexa reviews not found at {ALEXA} (../shared/datasets is only present in "
                    "the project's workspace)")
    return pd.read_csv(ALEXA, sep="\t", encoding="utf-8-sig")


def test_alexa_known_figures(alexa):
    assert alexa.shape == (3150, 5)
    assert list(alexa.columns) == ["rating", "date", "variation", "verified_reviews", "feedback"]
    assert alexa["rating"].value_counts().to_dict() == {5: 2286, 4: 455, 3: 152, 2: 96, 1: 161}
    assert int(alexa["feedback"].sum()) == 2893


def test_alexa_topics_have_known_content_and_low_ratings_concentrate(alexa):
    tp = topics.fit_topics(alexa, text="verified_reviews", n_topics=8)
    # one review is NaN and 79 are blank; those are counted, not silently dropped
    assert tp.attrs["empty"] == 80 and tp.attrs["documents"] == 3150
    top = tp.terms.loc[tp.terms["rank"] <= 5].groupby("topic")["term"].agg(set)
    assert any(s & {"music", "speaker", "sound"} for s in top)
    assert any(s & {"love", "great"} for s in top)
    a = tp.assign(alexa)
    t = topics.topic_by_rating(a)
    assert t["reviews"].sum() + t.attrs["unassigned"] == 3150
    assert t.attrs["p_value"] < 0.01 and t.attrs["min_expected"] >= 5
    # some topic's low-rating share lies above the overall share beyond its interval
    assert (t["ci_low"] > t.attrs["low_share"]).any()
    again = topics.fit_topics(alexa, text="verified_reviews", n_topics=8)
    pd.testing.assert_frame_equal(again.terms, tp.terms)
    pd.testing.assert_frame_equal(again.assign(alexa), a)
