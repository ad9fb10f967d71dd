"""Review topics: what reviewers write about, how it goes with low ratings and with coming back.

* :func:`tokenize` — words of a review: a regular-expression word tokeniser with a built-in
  stop-word list for English and other space-separated text, and jieba (a pure-Python
  dictionary + HMM segmenter whose dictionary ships in the package, so it works offline) for
  Chinese. ``language="auto"`` decides per text: a text with Han characters is segmented by
  jieba.
* :func:`fit_topics` — topics by non-negative matrix factorisation of the TF-IDF matrix (NMF;
  Lee & Seung 1999) or latent Dirichlet allocation of the word counts (LDA; Blei, Ng & Jordan
  2003), both scikit-learn and seeded. The result's :meth:`Topics.assign` gives every review its
  dominant topic.
* :func:`topic_by_rating` — topic × rating counts, the share of low ratings per topic with its
  Wilson interval, and a χ² test of topic versus low rating.
* :func:`topic_churn` — per topic, the share of reviewers who order again within a window after
  their review (censored as in :func:`helpers.retention.next_purchase_after_review`), with a risk
  ratio against the reviewers of the other topics.

Topics are numbered 1, 2, … from the largest (most total weight) down and carry a label made of
their three top terms ("battery · charge · hold"), so a table reads without looking up ids.

References
----------
Lee, D. D. & Seung, H. S. (1999). Learning the parts of objects by non-negative matrix
factorization. *Nature* 401, 788–791.

Blei, D. M., Ng, A. Y. & Jordan, M. I. (2003). Latent Dirichlet allocation. *Journal of Machine
Learning Research* 3, 993–1022.

Examples
--------
>>> rv = pd.DataFrame({"text": ["battery died fast", "battery charge lasts", "late delivery",
...                             "delivery was late again"], "rating": [2, 4, 1, 2]})
>>> tp = fit_topics(rv, n_topics=2, min_df=1)
>>> tp.labels.tolist()
['battery · charge · died', 'delivery · late']
>>> tp.assign(rv)[["rating", "topic", "label"]]
   rating  topic                    label
0       2      1  battery · charge · died
1       4      1  battery · charge · died
2       1      2          delivery · late
3       2      2          delivery · late
"""

from __future__ import annotations

import html
import logging
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.data import require_columns
from helpers.retention import NotFittable, attempt, next_purchase_after_review, risk_ratio
from helpers.stats import rate_table

__all__ = ["STOP_WORDS", "Topics", "fit_topics", "tokenize", "topic_by_rating", "topic_churn"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# letters only (no digits, no underscore); apostrophes split words as in scikit-learn
_WORD = re.compile(r"[^\W\d_]+")


def _english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # what is left of a contraction once the apostrophe splits it ("doesn't" -> "doesn", "t")
    fragments = {"don", "doesn", "didn", "isn", "wasn", "aren", "weren", "won", "wouldn",
                 "couldn", "shouldn", "haven", "hasn", "hadn", "ve", "ll", "re", "im", "ive",
                 "dont", "doesnt", "didnt", "isnt", "wasnt", "cant", "wont", "ok"}
    return frozenset(ENGLISH_STOP_WORDS) | fragments


# function words of Chinese reviews; negations (不, 没) are kept: 不好 is not 好
_CHINESE_FUNCTION_WORDS = ("的 了 很 也 都 就 是 我 你 他 她 它 我们 这 那 这个 那个 和 与 及 在 有 "
                           "还 又 吧 吗 呢 啊 呀 哦 嗯 着 过 把 被 给 让 对 为 从 到 个 些 非常 "
                           "比较 真的 还是 就是 一个 觉得 感觉")
_CHINESE_STOP = frozenset(_CHINESE_FUNCTION_WORDS.split())

STOP_WORDS = _english_stop_words() | _CHINESE_STOP
"""The built-in stop words: scikit-learn's ``ENGLISH_STOP_WORDS``, contraction fragments and a
short list of Chinese function words."""

LABEL_SHARE = 0.1
"""A topic's label is its top three terms, each with at least this share of the first's weight."""

_LANGUAGES = ("auto", "latin", "zh")
_jieba = None


def _segmenter():
    """jieba's default tokenizer, imported on first use with its log messages silenced."""
    global _jieba
    if _jieba is None:
        try:
            import jieba
        except ImportError as e:  # a dependency of the kit, so only a broken install gets here
            raise ImportError("Chinese text needs jieba, a dependency of the kit: "
                              "pip install jieba (or reinstall the kit: make setup)") from e
        jieba.setLogLevel(logging.WARNING)
        _jieba = jieba
    return _jieba


def _is_blank(x) -> bool:
    return x is None or (not isinstance(x, str) and pd.isna(x)) or str(x).strip() == ""


def tokenize(texts, *, language: str = "auto", stop_words=None) -> list[list[str]]:
    """The words of each text, lower-cased, without stop words, digits or punctuation.

    Parameters
    ----------
    texts : iterable of str
        One text per review. ``None``, NaN and blank texts give an empty list.
    language : {"auto", "latin", "zh"}
        "latin": words are runs of letters (English and any other space-separated script;
        apostrophes split, so "doesn't" gives "doesn" and "t", both dropped). "zh": segmented by
        jieba (dictionary and HMM; Latin words inside a Chinese text come out whole). "auto"
        (default) uses "zh" for a text containing a Han character and "latin" otherwise.
    stop_words : collection of str, optional
        Words to drop; default :data:`STOP_WORDS`. Pass ``()`` to keep every word. Single Latin
        letters are always dropped; a single Han character is a word (慢 "slow").

    Returns
    -------
    list of list of str

    Examples
    --------
    >>> tokenize(["Love my Echo!", "It doesn't work &amp; the sound is bad", None])
    [['love', 'echo'], ['work', 'sound', 'bad'], []]
    >>> tokenize(["物流很慢，快递延迟了三天"])
    [['物流', '慢', '快递', '延迟', '三天']]
    """
    if language not in _LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(_LANGUAGES)}, got {language!r}")
    stop = STOP_WORDS if stop_words is None else frozenset(stop_words)
    out = []
    for t in texts:
        if _is_blank(t):
            out.append([])
            continue
        t = html.unescape(str(t)).lower()
        if language == "zh" or (language == "auto" and _HAN.search(t)):
            # jieba returns punctuation and spaces as tokens too: keep runs of letters only
            words = [w for tok in _segmenter().lcut(t) for w in _WORD.findall(tok)]
        else:
            words = _WORD.findall(t)
        out.append([w for w in words if w not in stop and (len(w) > 1 or _HAN.match(w))])
    return out


def _identity(tokens):
    return tokens


@dataclass
class Topics:
    """A fitted topic model (from :func:`fit_topics`).

    Attributes
    ----------
    method : "nmf" or "lda"
    vectorizer : the fitted scikit-learn vectoriser (TF-IDF for NMF, counts for LDA) over the
        output of :func:`tokenize`.
    model : the fitted scikit-learn ``NMF`` or ``LatentDirichletAllocation``.
    terms : DataFrame
        ``top`` rows per topic: ``topic``, ``label``, ``rank`` (1 = strongest), ``term``,
        ``weight`` (the term's share of the topic's total weight).
    labels : Series
        topic -> its (up to) three top terms joined by " · "; a term with less than
        :data:`LABEL_SHARE` of the first term's weight is left out of the label.
    attrs : dict
        ``documents`` (texts fitted on), ``empty`` (NaN or blank texts), ``no_terms`` (texts
        whose words are all stop words or outside the vocabulary), ``vocabulary`` (terms kept).
    """

    method: str
    text: str
    language: str
    stop_words: frozenset | None
    vectorizer: object
    model: object
    order: np.ndarray
    terms: pd.DataFrame
    labels: pd.Series
    attrs: dict = field(default_factory=dict)

    @property
    def n_topics(self) -> int:
        return len(self.order)

    def _weights(self, texts) -> tuple[np.ndarray, np.ndarray]:
        X = self.vectorizer.transform(tokenize(texts, language=self.language,
                                               stop_words=self.stop_words))
        W = self.model.transform(X)[:, self.order]
        has = np.asarray(X.sum(axis=1)).ravel() > 0
        return W, has

    def assign(self, reviews: pd.DataFrame) -> pd.DataFrame:
        """Each review's dominant topic and that topic's share of its topic weights.

        Returns
        -------
        DataFrame
            The reviews' own index and columns except the text, then ``topic`` (nullable
            integer; missing when the text is empty or none of its words is in the vocabulary),
            ``label`` and ``weight`` (0–1; 1 = the review is about that topic only). ``.attrs``
            counts ``empty`` and ``no_terms`` reviews (kept, without a topic).
        """
        _need(reviews, "reviews", [self.text])
        texts = reviews[self.text]
        W, has = self._weights(texts)
        total = W.sum(axis=1)
        ok = has & (total > 0)
        best = W.argmax(axis=1)
        share = np.where(ok, W.max(axis=1) / np.where(total > 0, total, 1), np.nan)
        out = reviews.drop(columns=[self.text]).copy()
        out["topic"] = pd.array(np.where(ok, best + 1, 0), dtype="Int64")
        out.loc[~ok, "topic"] = pd.NA
        out["label"] = out["topic"].map(self.labels.to_dict()).astype(object)
        out["weight"] = np.round(share, 4)
        empty = np.array([_is_blank(t) for t in texts], dtype=bool)
        out.attrs.update(empty=int(empty.sum()), no_terms=int((~ok & ~empty).sum()))
        return out


def _need(df, name: str, cols) -> None:
    require_columns(df, name, cols)


def fit_topics(reviews: pd.DataFrame, *, text: str = "text", n_topics: int = 6,
               method: str = "nmf", seed: int = 0, min_df=2, max_df=0.9,
               max_features: int | None = 5000, top: int = 10, language: str = "auto",
               stop_words=None) -> Topics:
    """Fit ``n_topics`` topics to the review texts.

    NMF (default) factorises the TF-IDF matrix X ≈ W·H with non-negative W (reviews × topics)
    and H (topics × terms), minimising the Frobenius error (Lee & Seung 1999; scikit-learn,
    ``init="nndsvda"``, coordinate descent). LDA models each review as a mixture of topics and
    each topic as a distribution over words (Blei, Ng & Jordan 2003; scikit-learn, batch
    variational Bayes); it is a model of word *counts*, so it is fitted on counts, not TF-IDF.
    Both are seeded by ``seed`` and give the same topics on every run.

    Parameters
    ----------
    reviews : DataFrame with a ``text`` column.
    n_topics : int
        Number of topics (at least 1).
    method : {"nmf", "lda"}
    min_df, max_df : int or float
        A term is kept when it is in at least ``min_df`` reviews (an int counts reviews, a float
        is a share) and in at most ``max_df`` of them (words in nearly every review, like the
        product's name, say nothing about a topic).
    max_features : int, optional
        Keep only the most frequent terms.
    top : int
        Terms listed per topic in ``terms``.
    language, stop_words
        As in :func:`tokenize`.

    Raises
    ------
    ValueError
        A missing column, a bad parameter, or fewer reviews with words than topics (a
        :class:`helpers.retention.NotFittable`, so :func:`helpers.retention.attempt` turns it
        into a reason).

    Examples
    --------
    >>> rv = pd.DataFrame({"text": ["快递太慢了", "物流很慢", "质量很好", "做工精致，质量不错"]})
    >>> fit_topics(rv, n_topics=2, min_df=1).labels.tolist()
    ['质量 · 好 · 不错', '慢 · 物流 · 太慢']
    """
    from sklearn.decomposition import NMF, LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    _need(reviews, "reviews", [text])
    if method not in ("nmf", "lda"):
        raise ValueError(f"method must be 'nmf' or 'lda', got {method!r}")
    if not (isinstance(n_topics, int | np.integer) and n_topics >= 1):
        raise ValueError(f"n_topics must be a whole number >= 1, got {n_topics!r}")
    texts = reviews[text]
    empty = np.array([_is_blank(t) for t in texts], dtype=bool)
    tokens = tokenize(texts, language=language, stop_words=stop_words)
    with_words = sum(1 for t in tokens if t)
    if with_words < n_topics:
        raise NotFittable(f"{with_words} of {len(texts)} reviews have words to read "
                          f"({int(empty.sum())} empty, {len(texts) - with_words - int(empty.sum())}"
                          f" with stop words only); {n_topics} topics need at least {n_topics}")
    kind = TfidfVectorizer if method == "nmf" else CountVectorizer
    vec = kind(analyzer=_identity, min_df=min_df, max_df=max_df, max_features=max_features)
    try:
        X = vec.fit_transform(tokens)
    except ValueError as e:  # scikit-learn: no term left after min_df / max_df
        raise NotFittable(f"no term is in at least min_df={min_df!r} and at most "
                          f"max_df={max_df!r} of the {with_words} reviews with words") from e
    vocab = vec.get_feature_names_out()
    has = np.asarray(X.sum(axis=1)).ravel() > 0
    if len(vocab) < n_topics or has.sum() < n_topics:
        raise NotFittable(f"{int(has.sum())} reviews and {len(vocab)} terms are left after "
                          f"min_df/max_df; {n_topics} topics need at least {n_topics} of each")
    if method == "nmf":
        model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=1000)
    else:
        model = LatentDirichletAllocation(n_components=n_topics, learning_method="batch",
                                          random_state=seed, max_iter=50)
    with warnings.catch_warnings():
        # a perfect fit (one review, one topic) makes NMF's reconstruction error sqrt(-0.0)
        warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
        W = model.fit_transform(X)
    order = np.lexsort((np.arange(n_topics), -W.sum(axis=0).round(9)))
    H = model.components_[order]
    rows, labels = [], {}
    for i, h in enumerate(H, start=1):
        share = h / h.sum() if h.sum() > 0 else h
        best = np.lexsort((vocab, -share.round(9)))[:top]
        best = best[share[best].round(4) > 0] if (share[best].round(4) > 0).any() else best[:1]
        # a term far weaker than the topic's first is listed in terms but does not name it
        strong = best[:3][share[best[:3]] >= LABEL_SHARE * share[best[0]]]
        labels[i] = " · ".join(vocab[strong])
        rows.append(pd.DataFrame({"topic": i, "label": labels[i],
                                  "rank": np.arange(1, len(best) + 1),
                                  "term": vocab[best], "weight": share[best].round(4)}))
    return Topics(method=method, text=text, language=language,
                  stop_words=None if stop_words is None else frozenset(stop_words),
                  vectorizer=vec, model=model, order=order,
                  terms=pd.concat(rows, ignore_index=True),
                  labels=pd.Series(labels, name="label").rename_axis("topic"),
                  attrs={"documents": len(texts), "empty": int(empty.sum()),
                         "no_terms": int((~has & ~empty).sum()), "vocabulary": len(vocab)})


def _assigned(assigned: pd.DataFrame, name: str = "assigned") -> pd.DataFrame:
    _need(assigned, name, ["topic", "label"])
    return assigned.loc[assigned["topic"].notna()]


def topic_by_rating(assigned: pd.DataFrame, ratings="rating", *, low_max: int = 2,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Ratings per topic, the share of low ratings (≤ ``low_max``) and a χ² test of topic × low.

    Parameters
    ----------
    assigned : DataFrame from :meth:`Topics.assign`.
    ratings : str or Series
        The rating column of ``assigned`` (default "rating"), or a Series aligned on its index.

    Returns
    -------
    DataFrame
        One row per topic: ``topic``, ``label``, ``reviews``, counts ``r1``…``r5`` (one column per
        rating value), ``mean_rating``, ``low`` (count), ``low_share`` with Wilson
        ``ci_low``/``ci_high``. ``.attrs``: ``chi2``, ``dof``, ``p_value`` of Pearson's χ² test
        of independence of topic and low rating (scipy ``chi2_contingency``, no continuity
        correction), ``min_expected`` (the smallest expected count; below 5 the p-value is
        approximate), ``why`` (why no test: one topic, no low or only low ratings), ``low_share``
        overall, ``low_max`` and ``unassigned`` (reviews without a topic, left out).

    Examples
    --------
    >>> a = pd.DataFrame({"topic": [1, 1, 1, 2, 2, 2], "label": ["a"] * 3 + ["b"] * 3,
    ...                   "rating": [5, 5, 4, 1, 2, 5]})
    >>> t = topic_by_rating(a)
    >>> t[["topic", "reviews", "low", "low_share"]]
       topic  reviews  low  low_share
    0      1        3    0   0.000000
    1      2        3    2   0.666667
    >>> t.attrs["chi2"], round(t.attrs["p_value"], 3)
    (3.0, 0.083)
    """
    from scipy.stats import chi2_contingency

    _need(assigned, "assigned", ["topic", "label"])
    if isinstance(ratings, str):
        _need(assigned, "assigned", [ratings])
        r = assigned[ratings]
    else:
        r = pd.Series(ratings).reindex(assigned.index)
    ok = assigned["topic"].notna() & r.notna()
    if not ok.any():
        raise NotFittable("no review has both a topic and a rating")
    d = pd.DataFrame({"topic": assigned.loc[ok, "topic"].astype(int),
                      "rating": r[ok].astype(float)})
    values = np.sort(d["rating"].unique())
    if np.isin(values, np.arange(1, 6)).all():
        values = np.arange(1, 6)
    counts = pd.crosstab(d["topic"], d["rating"]).reindex(columns=values, fill_value=0)
    counts.columns = [f"r{int(v)}" if float(v).is_integer() else f"r{v:g}" for v in values]
    n = counts.sum(axis=1)
    low = d["rating"].le(low_max).groupby(d["topic"]).sum().reindex(n.index, fill_value=0)
    rates = rate_table(low, n, alpha=alpha)
    labels = assigned.loc[ok].drop_duplicates("topic").set_index("topic")["label"]
    out = counts.copy()
    out.insert(0, "reviews", n)
    out.insert(0, "label", labels.reindex(n.index.astype(assigned["topic"].dtype)).to_numpy())
    out["mean_rating"] = d.groupby("topic")["rating"].mean().round(4)
    out["low"] = low.astype("int64")
    out["low_share"] = rates["rate"]
    out["ci_low"], out["ci_high"] = rates["ci_low"], rates["ci_high"]
    out = out.rename_axis("topic").reset_index()
    out.columns.name = None
    table = np.column_stack([low.to_numpy(), (n - low).to_numpy()])
    stats = {"chi2": np.nan, "dof": 0, "p_value": np.nan, "min_expected": np.nan, "why": ""}
    if len(n) < 2:
        stats["why"] = "there is only one topic"
    elif table[:, 0].sum() == 0:
        stats["why"] = f"no review is rated {low_max} or lower"
    elif table[:, 1].sum() == 0:
        stats["why"] = f"every review is rated {low_max} or lower"
    else:
        res = chi2_contingency(table, correction=False)
        stats.update(chi2=round(float(res.statistic), 4), dof=int(res.dof),
                     p_value=float(res.pvalue),
                     min_expected=round(float(res.expected_freq.min()), 2))
    out.attrs.update(stats, low_share=float(low.sum() / n.sum()), low_max=low_max,
                     unassigned=int((~ok).sum()))
    return out


def topic_churn(assigned: pd.DataFrame, orders: pd.DataFrame, *, window_days: float = 180,
                observation_end=None, first_only: bool = True) -> pd.DataFrame:
    """Per topic, the share of reviewers who order again within ``window_days`` of their review.

    The conventions of :func:`helpers.retention.next_purchase_after_review`, which does the
    counting: an order in (review time, review time + ``window_days``] counts; a review whose
    window ends after ``observation_end`` (default: the last order) is censored (left out and
    counted); reviews after ``observation_end`` are ignored. With ``first_only`` each reviewer
    counts once, by their first review; a reviewer whose first review has no topic is left out
    (``.attrs["unassigned"]``). Each topic is compared with the reviewers of all other topics by
    a risk ratio (log-method CI, :func:`helpers.retention.risk_ratio`); with several topics, one
    comparison out of many can be beyond chance by luck.

    Parameters
    ----------
    assigned : DataFrame from :meth:`Topics.assign` with ``user_id`` and ``created_at``.
    orders : DataFrame with ``user_id`` and ``ordered_at`` (completed orders, usually).

    Returns
    -------
    DataFrame
        One row per topic: ``topic``, ``label``, ``n`` (reviewers with a full window), ``k``
        (ordered again), ``rate``, ``ci_low``, ``ci_high`` (Wilson), ``censored``,
        ``others_rate``, ``risk_ratio``, ``rr_low``, ``rr_high``, ``p_value`` (NaN with ``why``
        when a group has no or only repeat buyers). ``.attrs``: ``observation_end``,
        ``window_days``, ``after_end``, ``unassigned``.

    Examples
    --------
    User 3 reviews 20 days before the end: censored. User 2 orders again 55 days after the
    review, within the 60-day window; users 1 and 4 do not:

    >>> o = pd.DataFrame({"user_id": [1, 2, 2, 3, 4, 4], "ordered_at": pd.to_datetime(
    ...     ["2025-01-01", "2025-01-01", "2025-03-01", "2025-01-01", "2025-01-01", "2025-03-20"],
    ...     utc=True)})
    >>> a = pd.DataFrame({"user_id": [1, 2, 3, 4], "topic": [1, 2, 2, 1],
    ...                   "label": ["late", "love", "love", "late"],
    ...                   "created_at": pd.to_datetime(["2025-01-05", "2025-01-05", "2025-03-12",
    ...                                                 "2025-01-05"], utc=True)})
    >>> t = topic_churn(a, o, window_days=60, observation_end="2025-04-01")
    >>> t[["topic", "n", "k", "rate", "censored", "others_rate"]]
       topic  n  k  rate  censored  others_rate
    0      1  2  0   0.0         0          1.0
    1      2  1  1   1.0         1          0.0
    """
    _need(assigned, "assigned", ["topic", "label", "user_id", "created_at"])
    require_columns(orders, "orders", ["user_id", "ordered_at"])
    rv = assigned.assign(created_at=pd.to_datetime(assigned["created_at"], utc=True))
    unassigned = 0
    if first_only:
        keys = ["user_id", "created_at"] + (["order_id"] if "order_id" in rv.columns else [])
        rv = rv.sort_values(keys, kind="stable").drop_duplicates("user_id", keep="first")
    unassigned = int(rv["topic"].isna().sum())
    rv = rv.loc[rv["topic"].notna()]
    if len(rv) == 0:
        raise NotFittable("no reviewer has a review with a topic")
    labels = rv.drop_duplicates("topic").set_index("topic")["label"]
    rows, attrs = [], {}
    for t in sorted(labels.index):
        # "low" = this topic, "other" = every other topic: the same counting as for ratings
        mark = rv.assign(rating=np.where(rv["topic"] == t, 1, 2))
        after = next_purchase_after_review(orders, mark, low_max=1, window_days=window_days,
                                           observation_end=observation_end, first_only=False)
        attrs = after.attrs
        a = after.set_index("group")
        rr, why = attempt(risk_ratio, after) if len(labels) > 1 else (None, "only one topic")
        rows.append({"topic": t, "label": labels[t], **a.loc["low", ["n", "k", "rate", "ci_low",
                                                                        "ci_high", "censored"]],
                     "others_rate": a.loc["other", "rate"],
                     "risk_ratio": np.nan if rr is None else rr.loc[0, "risk_ratio"],
                     "rr_low": np.nan if rr is None else rr.loc[0, "ci_low"],
                     "rr_high": np.nan if rr is None else rr.loc[0, "ci_high"],
                     "p_value": np.nan if rr is None else rr.loc[0, "p_value"], "why": why})
    out = pd.DataFrame(rows)
    out["topic"] = out["topic"].astype(assigned["topic"].dtype)
    for c in ("n", "k", "censored"):
        out[c] = out[c].astype("int64")
    out.attrs.update(observation_end=attrs["observation_end"], window_days=window_days,
                     after_end=attrs["after_end"], unassigned=unassigned)
    return out
