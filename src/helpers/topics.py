"""Review topics: what reviewers write about, how it goes with low ratings and with coming back.

* :func:`tokenize` — words of a review: a regular-expression word tokeniser with a built-in
  stop-word list for English and other space-separated text, and jieba (a pure-Python
  dictionary + HMM segmenter whose dictionary ships in the package, so it works offline) for
  Chinese. ``language="auto"`` decides per text: a text with Han characters is segmented by
  jieba.
* :func:`fit_topics` — topics by non-negative matrix factorisation of the TF-IDF matrix (NMF;
  Lee & Seung 1999), latent Dirichlet allocation of the word counts (LDA; Blei, Ng & Jordan
  2003), or a mixture of unigrams that gives each review exactly one topic ("mixture"; Nigam et
  al. 2000, the model Yin & Wang 2014 build their short-text clustering on) over words and the
  phrases the reviews repeat (collocations by normalised PMI; Bouma 2009). All are seeded. The
  result's :meth:`Topics.assign` gives every review its dominant topic.
* :func:`choose_n_topics` — the number of topics from the data: the mixture's held-out
  log-likelihood for each k (cross-validated on halves of the reviews; Smyth 2000), and the
  smallest k within one standard error of the best (the one-standard-error rule), with a floor
  of :data:`CHOICE_TOLERANCE`. With :func:`best_n_topics` to read the choice.
* :func:`topic_by_rating` — topic × rating counts, the share of low ratings per topic with its
  Wilson interval, and a χ² test of topic versus low rating.
* :func:`topic_churn` — per topic, the share of reviewers who order again within a window after
  their review (censored as in :func:`helpers.retention.next_purchase_after_review`), with a risk
  ratio against the reviewers of the other topics.
* :func:`match_topics` — fitted topics against known ones (a simulator's answer key): for each
  known topic the fitted topic holding most of its reviews, with recall and purity.

Topics are numbered 1, 2, … from the largest (most total weight) down and carry a label made of
their three top terms ("battery · charge · hold"), so a table reads without looking up ids.

Why a one-topic mixture for short reviews
-----------------------------------------
A review of a few words is usually about one thing, and its words come in set phrases
("slow shipping", "性价比很高"). NMF and LDA let a review mix topics, and a low-rank fit spends
its topics where most of the words are: on a shop where most reviews are praise, they split
the praise phrase by phrase and lump the rarer complaints together, whatever the number of
topics. The mixture has to explain all of a review's words by one topic, so phrases that
appear in the same reviews end up in the same topic, and joining each set phrase into one
term first keeps a phrase's words from counting as separate evidence. Longer reviews that mix
several subjects break the one-topic assumption; there NMF's mixed topics can read better.

Choosing the number of topics
-----------------------------
:func:`choose_n_topics` fits the mixture on one half of the reviews and scores the other half,
both ways round, so every review is scored by a model that did not see it: too few topics
predict unseen reviews badly, too many learn chance co-occurrences of the half they saw and
stop improving or get worse. The smallest k within one standard error of the best (and at
least within 0.01 nats per term) is kept, because extra topics that do not predict unseen
reviews better are not supported by the data. (Stability of the top terms across refits,
Greene, O'Callaghan & Cunningham 2014, suits NMF, where surplus topics split at random; a
surplus mixture topic comes out empty or a copy of another, which a stability score counts as
stable.) On the Amazon Alexa reviews, 3,000 reviews of one device, the held-out likelihood is
highest at k = 1 and falls with every topic added: a one-topic-per-review model finds little
there that carries over to unseen reviews, and from ``range(2, 11)`` it keeps 2.

References
----------
Lee, D. D. & Seung, H. S. (1999). Learning the parts of objects by non-negative matrix
factorization. *Nature* 401, 788–791.

Blei, D. M., Ng, A. Y. & Jordan, M. I. (2003). Latent Dirichlet allocation. *Journal of Machine
Learning Research* 3, 993–1022.

Nigam, K., McCallum, A. K., Thrun, S. & Mitchell, T. (2000). Text classification from labeled
and unlabeled documents using EM. *Machine Learning* 39, 103–134.

Yin, J. & Wang, J. (2014). A Dirichlet multinomial mixture model-based approach for short text
clustering. *Proceedings of KDD 2014*, 233–242.

Bouma, G. (2009). Normalized (pointwise) mutual information in collocation extraction.
*Proceedings of the Biennial GSCL Conference*, 31–40.

Biernacki, C., Celeux, G. & Govaert, G. (2003). Choosing starting values for the EM algorithm
for getting the highest likelihood in multivariate Gaussian mixture models. *Computational
Statistics & Data Analysis* 41, 561–575.

Smyth, P. (2000). Model selection for probabilistic clustering using cross-validated
likelihood. *Statistics and Computing* 10, 63–72.

Hastie, T., Tibshirani, R. & Friedman, J. (2009). *The Elements of Statistical Learning*, 2nd
ed., section 7.10 (the one-standard-error rule). Springer.

Sievert, C. & Shirley, K. (2014). LDAvis: a method for visualizing and interpreting topics.
*Proceedings of the Workshop on Interactive Language Learning, Visualization, and Interfaces*,
63–70.

Greene, D., O'Callaghan, D. & Cunningham, P. (2014). How many topics? Stability analysis for
topic models. *ECML PKDD 2014*, 498–513 (arXiv:1404.4606).

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
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from helpers.data import require_columns
from helpers.retention import NotFittable, attempt, next_purchase_after_review, risk_ratio
from helpers.stats import rate_table

__all__ = ["STOP_WORDS", "Topics", "best_n_topics", "choose_n_topics", "fit_topics", "match_topics",
           "tokenize", "topic_by_rating", "topic_churn"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# letters only (no digits, no underscore); apostrophes split words as in scikit-learn
_WORD = re.compile(r"[^\W\d_]+")
# where a clause ends: sentence and clause punctuation of Latin and Chinese text, brackets, quotes
_CLAUSE = re.compile(r"[.!?;:,\n\r\t()\[\]{}\"“”‘’«»…，。！？；：、（）【】《》〈〉「」『』]+")


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

PHRASE_NPMI = 0.5
"""Two adjacent words are joined into a phrase when their normalised PMI is at least this."""

PHRASE_MIN_COUNT = 5
"""... and when they stand next to each other at least this often."""

MIXTURE_PRIOR = 0.1
"""Pseudo-count added to every term of every mixture topic (the β of Yin & Wang 2014)."""

CHOICE_TOLERANCE = 0.01
"""Held-out log-likelihood per term (nats) that a larger k must gain to be preferred: 0.01
is a 1 % better prediction of each term (e^0.01)."""

RELEVANCE_WEIGHT = 0.6
"""λ of Sievert & Shirley's relevance, by which mixture topics rank their terms."""

_METHODS = ("nmf", "lda", "mixture")
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


def _glue(a: str, b: str) -> str:
    # Chinese is written without spaces, everything else with one
    return a + b if _HAN.match(a[-1]) and _HAN.match(b[0]) else f"{a} {b}"


def _phrase_pairs(tokens, min_count: int, threshold: float) -> dict:
    """Adjacent word pairs whose normalised PMI (Bouma 2009) is at least ``threshold``.

    NPMI = ln(p(ab) / (p(a) p(b))) / −ln p(ab), with p over word positions: 1 for a pair that only
    ever occurs together, 0 for independence, below 0 for a pair that avoids each other.
    """
    words = Counter(w for t in tokens for w in t)
    pairs = Counter(p for t in tokens for p in pairwise(t))
    n = sum(words.values())
    out = {}
    for (a, b), c in pairs.items():
        if c < min_count or a == b or c >= n:
            continue
        pab = c / n
        score = math.log(pab / (words[a] / n * words[b] / n)) / -math.log(pab)
        if score >= threshold:
            out[(a, b)] = round(score, 9)
    return out


def _join(tokens, pairs: dict) -> list[list[str]]:
    """Join the ``pairs`` left to right; of two overlapping pairs the higher-scoring one wins."""
    out = []
    for t in tokens:
        row, i = [], 0
        while i < len(t):
            here = pairs.get((t[i], t[i + 1])) if i + 1 < len(t) else None
            after = pairs.get((t[i + 1], t[i + 2])) if here is not None and i + 2 < len(t) else None
            if here is not None and (after is None or here >= after):
                row.append(_glue(t[i], t[i + 1]))
                i += 2
            else:
                row.append(t[i])
                i += 1
        out.append(row)
    return out


def _learn_phrases(tokens, *, min_count: int = PHRASE_MIN_COUNT, threshold: float = PHRASE_NPMI,
                   passes: int = 3) -> tuple[tuple[dict, ...], list[list[str]]]:
    """Phrases of the corpus, in ``passes`` rounds (a round joins pairs of words or of phrases
    found in the round before, so three rounds reach phrases of up to eight words)."""
    learnt = []
    for _ in range(passes):
        pairs = _phrase_pairs(tokens, min_count, threshold)
        if not pairs:
            break
        learnt.append(pairs)
        tokens = _join(tokens, pairs)
    return tuple(learnt), tokens


def _apply_phrases(tokens, learnt) -> list[list[str]]:
    for pairs in learnt:
        tokens = _join(tokens, pairs)
    return tokens


def _unique_rows(X):
    """The distinct rows of a sparse count matrix and how often each occurs (short reviews repeat
    a lot, and EM on the distinct rows, weighted, gives the same fit much faster)."""
    import scipy.sparse as sp

    X = sp.csr_matrix(X, dtype=float)
    X.sort_indices()
    seen: dict = {}
    first, weight = [], []
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        key = (X.indices[lo:hi].tobytes(), X.data[lo:hi].tobytes())
        j = seen.setdefault(key, len(first))
        if j == len(first):
            first.append(i)
            weight.append(0.0)
        weight[j] += 1.0
    return X[first], np.asarray(weight)


class _Mixture:
    """A mixture of unigrams (one topic per document) fitted by EM, with a scikit-learn face.

    Each topic z has a share π_z and a distribution φ_z over the terms; a document is drawn by
    picking one topic and then all its terms from φ_z. The M-step adds ``prior`` to every count
    (the MAP estimate under a symmetric Dirichlet prior), so no term has probability 0. Starting
    values: ``starts`` short runs of ``short`` EM steps, half from k reviews drawn at random as
    the topics' seeds and half from random one-topic assignments, and the one with the highest
    likelihood is run to convergence (the "short runs" strategy of Biernacki, Celeux & Govaert
    2003). A topic EM leaves empty is then re-seeded with each of the ``reseeds`` reviews the
    fit explains worst (lowest likelihood per term), and the best refit is kept while it raises
    the likelihood. Seeded, so refits agree.
    """

    def __init__(self, n_components: int, *, prior: float = MIXTURE_PRIOR, random_state: int = 0,
                 starts: int = 20, short: int = 10, max_iter: int = 500, tol: float = 1e-8,
                 reseeds: int = 5):
        self.n_components, self.prior, self.random_state = n_components, prior, random_state
        self.starts, self.short, self.max_iter, self.tol = starts, short, max_iter, tol
        self.reseeds = reseeds

    def _em(self, X, XT, w, R, steps: int, tol: float):
        prev, total = -np.inf, w.sum()
        for step in range(1, steps + 1):
            Rw = R * w[:, None]
            pi = Rw.sum(axis=0) / total
            phi = np.asarray(XT @ Rw).T + self.prior
            phi /= phi.sum(axis=1, keepdims=True)
            L = self._joint(X, pi, phi)
            rows = _logsumexp(L)
            R = np.exp(L - rows[:, None])
            ll = float(w @ rows)
            if ll - prev <= tol * abs(ll):
                break
            prev = ll
        return ll, pi, phi, R, step

    @staticmethod
    def _joint(X, pi, phi):
        with np.errstate(divide="ignore"):
            log_pi = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1)), -np.inf)
        return np.asarray(X @ np.log(phi).T) + log_pi

    def _posterior(self, X, pi, phi):
        L = self._joint(X, pi, phi)
        return np.exp(L - _logsumexp(L)[:, None])

    def _worst(self, Xu, w, pi, phi, n: int) -> np.ndarray:
        """The ``n`` distinct reviews the model explains worst (lowest likelihood per term)."""
        per_word = (_logsumexp(self._joint(Xu, pi, phi))
                    / np.maximum(np.asarray(Xu.sum(axis=1)).ravel(), 1))
        return np.lexsort((-w, per_word))[:n]

    def _seeded(self, Xu, XT, w, pi, phi, slots, rows):
        """EM to convergence after topics ``slots`` are re-seeded by the reviews ``rows``."""
        pi, phi = pi.copy(), phi.copy()
        phi[slots] = Xu[rows].toarray() + self.prior
        phi[slots] /= phi[slots].sum(axis=1, keepdims=True)
        pi[slots] = w[rows] / w.sum()
        pi /= pi.sum()
        return self._em(Xu, XT, w, self._posterior(Xu, pi, phi), self.max_iter, self.tol)

    def fit(self, X, warm=None):
        """Fit on the count matrix ``X``; ``warm`` = (weights, components) of a fitted mixture
        with fewer topics on the same terms, tried as one more start (its topics kept and the
        worst-explained reviews seeding the new ones)."""
        Xu, w = _unique_rows(X)
        XT = Xu.T.tocsr()
        k, n = self.n_components, Xu.shape[0]
        rng = np.random.default_rng(self.random_state)
        best = None
        for start in range(self.starts):
            if start % 2 == 0 and k <= n:
                # k distinct reviews drawn at random (by frequency) seed the topics
                seeds = rng.choice(n, size=k, replace=False, p=w / w.sum())
                phi = Xu[seeds].toarray() + self.prior
                phi /= phi.sum(axis=1, keepdims=True)
                R = self._posterior(Xu, np.full(k, 1 / k), phi)
            else:  # every review to a random topic
                R = np.zeros((n, k))
                R[np.arange(n), rng.integers(0, k, n)] = 1.0
            run = self._em(Xu, XT, w, R, self.short, 0.0)
            if best is None or run[0] > best[0]:
                best = run
        run = self._em(Xu, XT, w, best[3], self.max_iter, self.tol)
        if warm is not None and 0 < len(warm[0]) < k and k - len(warm[0]) <= n:
            m = len(warm[0])
            pi = np.r_[warm[0], np.zeros(k - m)]
            phi = np.r_[warm[1], np.ones((k - m, Xu.shape[1]))]
            worst = self._worst(Xu, w, warm[0], warm[1], max(k - m, self.reseeds))
            tries = ([worst[[j]] for j in range(len(worst))] if k - m == 1
                     else [worst[:k - m]])
            for rows in tries:
                cand = self._seeded(Xu, XT, w, pi, phi, np.arange(m, k), rows)
                run = cand if cand[0] > run[0] else run
        # EM can leave a topic empty where the data hold one more: seed it with one of the
        # reviews the others explain worst, and keep the best while the likelihood rises
        for _ in range(k):
            ll, pi, phi = run[:3]
            empty = np.flatnonzero(pi * w.sum() < 0.5)
            if not len(empty):
                break
            cands = [self._seeded(Xu, XT, w, pi, phi, empty[:1], np.array([r]))
                     for r in self._worst(Xu, w, pi, phi, self.reseeds)]
            cand = max(cands, key=lambda c: c[0])
            if cand[0] <= ll + 1e-9 * abs(ll):
                break
            run = cand
        ll, pi, phi, _, steps = run
        self.weights_, self.components_, self.log_likelihood_, self.n_iter_ = pi, phi, ll, steps
        terms = np.asarray(X.sum(axis=0)).ravel()
        self.background_ = terms / terms.sum() if terms.sum() > 0 else terms
        return self

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def transform(self, X):
        """Each document's posterior topic probabilities (a document without terms: π)."""
        L = self._joint(X, self.weights_, self.components_)
        return np.exp(L - _logsumexp(L)[:, None])

    def score_samples(self, X):
        """Each document's log-likelihood, without the multinomial coefficient (which depends on
        the document only, so comparisons between models are unaffected)."""
        return _logsumexp(self._joint(X, self.weights_, self.components_))


def _logsumexp(L):
    from scipy.special import logsumexp

    return logsumexp(L, axis=1)


def _identity(tokens):
    return tokens


@dataclass
class Topics:
    """A fitted topic model (from :func:`fit_topics`).

    Attributes
    ----------
    method : "nmf", "lda" or "mixture"
    vectorizer : the fitted scikit-learn vectoriser (TF-IDF for NMF, counts for LDA and the
        mixture) over the output of :func:`tokenize` (with phrases joined when ``phrases``).
    model : the fitted scikit-learn ``NMF`` or ``LatentDirichletAllocation``, or the mixture.
    terms : DataFrame
        ``top`` rows per topic: ``topic``, ``label``, ``rank`` (1 = strongest), ``term``,
        ``weight`` (the term's share of the topic's total weight).
    labels : Series
        topic -> its (up to) three top terms joined by " · "; a term with less than
        :data:`LABEL_SHARE` of the first term's weight is left out of the label.
    attrs : dict
        ``documents`` (texts fitted on), ``empty`` (NaN or blank texts), ``no_terms`` (texts
        whose words are all stop words or outside the vocabulary), ``vocabulary`` (terms kept),
        ``phrases`` (phrases among them), ``requested`` (the ``n_topics`` asked for) and
        ``unused`` (mixture topics that no review ended up in, left out).
    phrases : tuple of dict
        The word pairs joined into phrases, one dict per round (empty: no phrases).
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
    phrases: tuple = ()

    @property
    def n_topics(self) -> int:
        return len(self.order)

    def _weights(self, texts) -> tuple[np.ndarray, np.ndarray]:
        if self.phrases:
            tokens = _phrase_terms(texts, self.phrases, language=self.language,
                                   stop_words=self.stop_words)
        else:
            tokens = tokenize(texts, language=self.language, stop_words=self.stop_words)
        X = self.vectorizer.transform(tokens)
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
            ``label`` and ``weight`` (0–1; 1 = the review is about that topic only; for the
            mixture, the posterior probability of the topic). ``.attrs``
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


def _clauses(texts, *, language, stop_words) -> list[list[list[str]]]:
    """The words of each clause of each text: a phrase does not run across punctuation."""
    out = []
    for t in texts:
        if _is_blank(t):
            out.append([])
            continue
        t = html.unescape(str(t))
        lang = language if language != "auto" else ("zh" if _HAN.search(t) else "latin")
        parts = [c for c in _CLAUSE.split(t) if c.strip()]
        out.append([w for w in tokenize(parts, language=lang, stop_words=stop_words) if w])
    return out


def _phrase_terms(texts, learnt, *, language, stop_words) -> list[list[str]]:
    """Terms of each text with the ``learnt`` phrases joined inside each clause."""
    return [[w for c in _apply_phrases(doc, learnt) for w in c]
            for doc in _clauses(texts, language=language, stop_words=stop_words)]


def _documents(texts, *, language, stop_words, phrases: bool):
    """Terms of each text (phrases joined when ``phrases``), the phrases learnt, blank flags and
    the number of words of each text (before phrases are joined)."""
    empty = np.array([_is_blank(t) for t in texts], dtype=bool)
    if not phrases:
        tokens = tokenize(texts, language=language, stop_words=stop_words)
        return tokens, (), empty, np.array([len(t) for t in tokens])
    docs = _clauses(texts, language=language, stop_words=stop_words)
    learnt, _ = _learn_phrases([c for doc in docs for c in doc])
    tokens = [[w for c in _apply_phrases(doc, learnt) for w in c] for doc in docs]
    return tokens, learnt, empty, np.array([sum(len(c) for c in doc) for doc in docs])


def _vectorise(tokens, kind, *, min_df, max_df, max_features, with_words: int):
    vec = kind(analyzer=_identity, min_df=min_df, max_df=max_df, max_features=max_features)
    try:
        X = vec.fit_transform(tokens)
    except ValueError as e:  # scikit-learn: no term left after min_df / max_df
        raise NotFittable(f"no term is in at least min_df={min_df!r} and at most "
                          f"max_df={max_df!r} of the {with_words} reviews with words") from e
    return vec, X


def fit_topics(reviews: pd.DataFrame, *, text: str = "text", n_topics: int = 6,
               method: str = "nmf", seed: int = 0, min_df=2, max_df=0.9,
               max_features: int | None = 5000, top: int = 10, language: str = "auto",
               stop_words=None, phrases: bool | None = None) -> Topics:
    """Fit ``n_topics`` topics to the review texts.

    NMF (default) factorises the TF-IDF matrix X ≈ W·H with non-negative W (reviews × topics)
    and H (topics × terms), minimising the Frobenius error (Lee & Seung 1999; scikit-learn,
    ``init="nndsvda"``, coordinate descent). LDA models each review as a mixture of topics and
    each topic as a distribution over words (Blei, Ng & Jordan 2003; scikit-learn, batch
    variational Bayes); it is a model of word *counts*, so it is fitted on counts, not TF-IDF.
    "mixture" gives each review exactly one topic: a mixture of unigrams (Nigam et al. 2000)
    fitted by EM on the term counts, with :data:`MIXTURE_PRIOR` added to every count as in Yin &
    Wang's (2014) model for short texts; its topics rank their terms by relevance
    (λ·log φ + (1 − λ)·log(φ / p), λ = :data:`RELEVANCE_WEIGHT`; Sievert & Shirley 2014), so
    words frequent in every topic do not name them all. It suits short reviews (see the module
    notes); NMF suits longer ones that mix subjects. All are seeded by ``seed`` and give the
    same topics on every run.

    Parameters
    ----------
    reviews : DataFrame with a ``text`` column.
    n_topics : int
        Number of topics (at least 1); :func:`choose_n_topics` picks one from the data. A
        mixture topic no review ends up in is left out (``attrs["unused"]``), so a mixture may
        return fewer.
    method : {"nmf", "lda", "mixture"}
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
    phrases : bool, optional
        Join set phrases into one term first: two adjacent words of a clause (after stop words
        are removed; a phrase does not run across punctuation) become one term when they stand
        together at least :data:`PHRASE_MIN_COUNT` times with a normalised PMI of at least
        :data:`PHRASE_NPMI` (Bouma 2009), in three rounds ("slow shipping", "性价比高").
        Default: on for "mixture", off for NMF and LDA.

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

    The mixture keeps the phrases a corpus repeats whole, and gives each review one topic:

    >>> rv = pd.DataFrame({"text": ["slow shipping", "slow shipping, parcel lost",
    ...                             "parcel lost", "great value", "great value, works fine",
    ...                             "works fine"] * 5})
    >>> tp = fit_topics(rv, n_topics=2, method="mixture")
    >>> tp.labels.tolist()
    ['great value · works fine', 'parcel lost · slow shipping']
    >>> tp.assign(rv)["topic"].head(6).tolist()
    [2, 2, 2, 1, 1, 1]
    """
    from sklearn.decomposition import NMF, LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    _need(reviews, "reviews", [text])
    if method not in _METHODS:
        raise ValueError(f"method must be 'nmf', 'lda' or 'mixture', got {method!r}")
    if not (isinstance(n_topics, int | np.integer) and n_topics >= 1):
        raise ValueError(f"n_topics must be a whole number >= 1, got {n_topics!r}")
    texts = reviews[text]
    tokens, learnt, empty, _ = _documents(texts, language=language, stop_words=stop_words,
                                       phrases=(method == "mixture") if phrases is None
                                       else phrases)
    with_words = sum(1 for t in tokens if t)
    if with_words < n_topics:
        raise NotFittable(f"{with_words} of {len(texts)} reviews have words to read "
                          f"({int(empty.sum())} empty, {len(texts) - with_words - int(empty.sum())}"
                          f" with stop words only); {n_topics} topics need at least {n_topics}")
    kind = TfidfVectorizer if method == "nmf" else CountVectorizer
    vec, X = _vectorise(tokens, kind, min_df=min_df, max_df=max_df, max_features=max_features,
                        with_words=with_words)
    vocab = vec.get_feature_names_out()
    has = np.asarray(X.sum(axis=1)).ravel() > 0
    if len(vocab) < n_topics or has.sum() < n_topics:
        raise NotFittable(f"{int(has.sum())} reviews and {len(vocab)} terms are left after "
                          f"min_df/max_df; {n_topics} topics need at least {n_topics} of each")
    if method == "nmf":
        model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=1000)
    elif method == "lda":
        model = LatentDirichletAllocation(n_components=n_topics, learning_method="batch",
                                          random_state=seed, max_iter=50)
    else:
        model = _Mixture(n_topics, random_state=seed)
    with warnings.catch_warnings():
        # a perfect fit (one review, one topic) makes NMF's reconstruction error sqrt(-0.0)
        warnings.filterwarnings("ignore", "invalid value encountered in sqrt", RuntimeWarning)
        if method == "mixture":
            W = model.fit(X[has]).transform(X[has])
        else:
            W = model.fit_transform(X)
    order = np.lexsort((np.arange(n_topics), -W.sum(axis=0).round(9)))
    unused = 0
    if method == "mixture":
        # a surplus topic is empty, or a copy of another that takes none of its reviews
        held = np.bincount(W.argmax(axis=1), minlength=n_topics) > 0
        unused = int((~held).sum())
        order = order[held[order]]
    H = model.components_[order]
    rank_by, used = H, H > 0
    if method == "mixture":
        bg = np.where(model.background_ > 0, model.background_, 1.0)
        rank_by = RELEVANCE_WEIGHT * np.log(H) + (1 - RELEVANCE_WEIGHT) * np.log(H / bg)
        # the prior gives every term some weight: list only terms the topic's reviews use
        used = np.asarray((X[has].T @ W[:, order]).T) >= 0.5
    rows, labels = [], {}
    for i, (h, by, u) in enumerate(zip(H, rank_by, used), start=1):
        share = h / h.sum() if h.sum() > 0 else h
        score = np.where(u, share if method != "mixture" else by, -np.inf)
        best = np.lexsort((vocab, -np.round(score, 9)))[:top]
        keep = (share[best].round(4) > 0) & u[best]
        best = best[keep] if keep.any() else best[:1]
        # a term far weaker than the topic's first is listed in terms but does not name it
        strong = best[:3][share[best[:3]] >= LABEL_SHARE * share[best[0]]]
        labels[i] = " · ".join(vocab[strong])
        rows.append(pd.DataFrame({"topic": i, "label": labels[i],
                                  "rank": np.arange(1, len(best) + 1),
                                  "term": vocab[best], "weight": share[best].round(4)}))
    glued = {_glue(a, b) for pairs in learnt for a, b in pairs}
    return Topics(method=method, text=text, language=language,
                  stop_words=None if stop_words is None else frozenset(stop_words),
                  vectorizer=vec, model=model, order=order,
                  terms=pd.concat(rows, ignore_index=True),
                  labels=pd.Series(labels, name="label").rename_axis("topic"),
                  attrs={"documents": len(texts), "empty": int(empty.sum()),
                         "no_terms": int((~has & ~empty).sum()), "vocabulary": len(vocab),
                         "phrases": sum(v in glued for v in vocab), "requested": n_topics,
                         "unused": unused},
                  phrases=learnt)


def choose_n_topics(reviews: pd.DataFrame, ks=range(2, 11), *, text: str = "text",
                    method: str = "mixture", seed: int = 0, folds: int = 2, min_df=2,
                    max_df=0.9, max_features: int | None = 5000, language: str = "auto",
                    stop_words=None, phrases: bool = True) -> pd.DataFrame:
    """The number of topics by cross-validated likelihood (Smyth 2000) and the 1-SE rule.

    The reviews are split at random (seeded) into ``folds`` parts. For each k in ``ks``, the
    mixture of :func:`fit_topics` (``method="mixture"``) is fitted on all parts but one and
    scores the reviews of the part left out by their log-likelihood under the fitted model;
    each part is left out once, so every review is scored by a model that did not see it
    (copies of one long review are kept in one part, see :data:`COPY_MIN_WORDS`). Each k is
    also started from the fit with one topic fewer, so a larger k never fits worse only
    because EM stopped early. The score of k is the held-out log-likelihood per term (nats; a
    joined phrase is one term; higher is better). The chosen k is the smallest whose score is
    within one standard error of the highest (the one-standard-error rule; Hastie, Tibshirani
    & Friedman 2009, section 7.10), or within :data:`CHOICE_TOLERANCE` of it when that is
    larger. The standard error is that of the difference from the best k, from the per-review
    differences (both are scored on the same reviews); with many identical short reviews it
    gets so small that gains of a fraction of a percent, which no reader would call a new
    topic, would count. Words, phrases and vocabulary are read from all the reviews first, so
    every k is scored on the same terms. Deterministic for a given ``seed``; see the module
    notes for why this criterion and not the stability of top terms.

    Parameters
    ----------
    reviews : DataFrame with a ``text`` column.
    ks : iterable of int
        Numbers of topics to try (each at least 1; k = 1, one topic for all, is a baseline).
    method : {"mixture"}
        The model scored. Only the mixture has a likelihood of unseen reviews to compare: NMF
        has none, and on short reviews NMF's topics split praise by phrase at any k.
    folds : int
        Parts of the cross-validation (2: two halves, each fitted and scored on the other).
    min_df, max_df, max_features, language, stop_words, phrases
        As in :func:`fit_topics`.

    Returns
    -------
    DataFrame
        One row per k that can be fitted (at most as many topics as the smallest training
        part has reviews): ``k``, ``loglik`` (held-out log-likelihood per term), ``diff``
        (``loglik`` minus the highest), ``se`` (standard error of ``diff``), ``best`` (True on
        the chosen k: the first whose ``diff`` is at least −max(``se``, 0.01)). ``.attrs``:
        ``reviews`` (scored), ``terms`` (their terms), ``folds``, ``top_k`` (the k with the
        highest score) and ``why`` (why the table is empty).

    Raises
    ------
    ValueError
        A missing column or a bad parameter; :class:`helpers.retention.NotFittable` when no
        review has a term left.

    Examples
    --------
    Two kinds of review, each written with one or two of its own phrases:

    >>> late = ["slow shipping", "parcel lost", "slow shipping, parcel lost"]
    >>> good = ["great value", "works fine", "great value, works fine"]
    >>> rv = pd.DataFrame({"text": (late + good) * 10})
    >>> choice = choose_n_topics(rv, ks=range(1, 5))
    >>> choice[["k", "best"]]
       k   best
    0  1  False
    1  2   True
    2  3  False
    3  4  False
    >>> best_n_topics(choice)
    2
    """
    from sklearn.feature_extraction.text import CountVectorizer

    _need(reviews, "reviews", [text])
    if method != "mixture":
        raise ValueError("choose_n_topics compares held-out likelihoods, which only "
                         f"method='mixture' has; got {method!r}")
    ks = list(ks)
    if not ks or not all(isinstance(k, int | np.integer) and k >= 1 for k in ks):
        raise ValueError(f"ks must be whole numbers >= 1, got {ks!r}")
    if not (isinstance(folds, int | np.integer) and folds >= 2):
        raise ValueError(f"folds must be a whole number >= 2, got {folds!r}")
    ks = sorted({int(k) for k in ks})
    texts = reviews[text]
    tokens, _, _, words = _documents(texts, language=language, stop_words=stop_words,
                                     phrases=phrases)
    with_words = sum(1 for t in tokens if t)
    if with_words == 0:
        raise NotFittable(f"none of the {len(texts)} reviews has words to read")
    _, X = _vectorise(tokens, CountVectorizer, min_df=min_df, max_df=max_df,
                      max_features=max_features, with_words=with_words)
    X = X.astype(float).tocsr()
    has = np.asarray(X.sum(axis=1)).ravel() > 0
    X, words = X[has], words[has]
    n = X.shape[0]
    part = _parts(X, words, folds, seed)
    smallest = n - int(np.bincount(part, minlength=folds).max()) if n >= folds else 0
    usable = [k for k in ks if k <= smallest]
    columns = ["k", "loglik", "diff", "se", "best"]
    if not usable:
        out = pd.DataFrame({c: pd.Series(dtype=bool if c == "best" else float) for c in columns})
        out.attrs.update(reviews=n, terms=int(X.sum()), folds=folds, top_k=None,
                         why=f"{n} reviews with words cannot be split into {folds} parts and "
                             f"still train {_ks_words(ks)} topics")
        return out
    ll = np.zeros((len(usable), n))
    for f in range(folds):
        train, test = part != f, part == f
        warm = None
        for j, k in enumerate(usable):
            # each k also starts from the fit with one topic fewer, so that a larger k never
            # fits the training part worse only because EM stopped at a poorer optimum
            m = _Mixture(k, random_state=seed).fit(X[train], warm=warm)
            ll[j, test] = m.score_samples(X[test])
            warm = (m.weights_, m.components_)
    terms = float(X.sum())
    score = ll.sum(axis=1) / terms
    top = int(np.argmax(score))
    diff = score - score[top]
    se = ((ll - ll[top]).std(axis=1, ddof=1) * np.sqrt(n) / terms if n > 1
          else np.zeros(len(usable)))
    pick = int(np.flatnonzero(diff >= -np.maximum(se, CHOICE_TOLERANCE))[0])
    out = pd.DataFrame({"k": usable, "loglik": score.round(4), "diff": diff.round(4),
                        "se": se.round(4), "best": np.arange(len(usable)) == pick})
    out.attrs.update(reviews=n, terms=int(terms), folds=folds, top_k=usable[top], why="")
    return out


COPY_MIN_WORDS = 10
"""Reviews with the same terms and at least this many words are taken for copies of one review
(people do write the same short review, "works great, easy to set up"; ten identical words
are a copy, not a coincidence)."""


def _parts(X, words, folds: int, seed: int) -> np.ndarray:
    """The cross-validation part of each row of ``X`` (``words``: each row's words before
    phrases are joined); copies of a review stay in one part.

    Marketplaces post one review under every variant of a product, so a long review can occur
    verbatim several times; a copy in the training part would let a model that memorised it
    score its twin as if it predicted an unseen review. Identical short reviews ("love it")
    are different reviewers saying the same thing, and are split like any others.
    """
    X = X.tocsr()
    X.sort_indices()
    key = {}
    group = np.empty(X.shape[0], dtype=np.int64)
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        if words[i] >= COPY_MIN_WORDS:
            group[i] = key.setdefault((X.indices[lo:hi].tobytes(), X.data[lo:hi].tobytes()), i)
        else:
            group[i] = i
    ids, group = np.unique(group, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    return (np.argsort(order) % folds)[group]


def _ks_words(ks) -> str:
    return str(ks[0]) if len(ks) == 1 else f"{ks[0]} to {ks[-1]}"


def best_n_topics(table: pd.DataFrame) -> int | None:
    """The k :func:`choose_n_topics` marked best, or ``None`` when no k could be scored.

    >>> best_n_topics(pd.DataFrame({"k": [3, 4], "best": [False, True]})), best_n_topics(pd.DataFrame())
    (4, None)
    """
    if len(table) == 0 or not table["best"].any():
        return None
    return int(table.loc[table["best"], "k"].iloc[0])


def _key_series(key) -> pd.Series:
    """Known topics as a Series id -> topic name, from a dict or a Series."""
    if isinstance(key, pd.Series):
        return key.dropna()
    ids, names = [], []
    for name, v in dict(key).items():
        members = v.get("order_ids", []) if isinstance(v, dict) else v
        ids.extend(members)
        names.extend([name] * len(members))
    s = pd.Series(names, index=pd.Index(ids), dtype=object)
    twice = s.index[s.index.duplicated()].unique()
    if len(twice):
        raise ValueError(f"{len(twice)} id(s) are listed under more than one known topic, "
                         f"e.g. {twice[0]!r}")
    return s


def match_topics(assigned: pd.DataFrame, key, *, on: str = "order_id") -> pd.DataFrame:
    """For each known topic, the fitted topic holding most of its reviews, with recall and purity.

    Parameters
    ----------
    assigned : DataFrame from :meth:`Topics.assign`, with the ``on`` column.
    key : dict or Series
        The known topics: ``{name: [ids]}``, ``{name: {"order_ids": [ids], ...}}`` (a
        simulator's ``truth["review_topics"]["topics"]``), or a Series id -> name.
    on : str
        The column of ``assigned`` holding the ids of ``key``.

    Returns
    -------
    DataFrame
        One row per known topic, in the key's order: ``known`` (its name), ``reviews`` (its
        reviews found in ``assigned``), ``unassigned`` (of those, without a fitted topic),
        ``topic`` and ``label`` (the fitted topic holding most of them; ties go to the lower
        number), ``recall`` (the share of the known topic's reviews in that topic, unassigned
        ones counting as missed), ``purity`` (the share of that topic's keyed reviews that have
        this known topic), ``second_topic`` and ``second_share`` (the fitted topic holding the
        next most, and its share: a large one means the known topic is split), ``merged_with``
        (the other known topics whose best match is the same fitted topic, joined by ", ").
        Reviews of ``assigned`` not in the key are left out (``.attrs["not_in_key"]``).

    Examples
    --------
    >>> a = pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                   "topic": pd.array([1, 1, 1, 2, 2, 2, 2, None], dtype="Int64"),
    ...                   "label": ["late"] * 3 + ["good"] * 4 + [None]})
    >>> key = {"late delivery": [1, 2, 3], "praise": [4, 5, 6], "so-so": [7, 8]}
    >>> match_topics(a, key)[["known", "reviews", "topic", "recall", "purity", "merged_with"]]
               known  reviews  topic  recall  purity merged_with
    0  late delivery        3      1     1.0    1.00
    1         praise        3      2     1.0    0.75       so-so
    2          so-so        2      2     0.5    0.25      praise
    """
    _need(assigned, "assigned", [on, "topic", "label"])
    known = _key_series(key)
    order = list(dict.fromkeys(known.tolist()))
    d = assigned[[on, "topic", "label"]].copy()
    d["known"] = d[on].map(known)
    not_in_key = int(d["known"].isna().sum())
    d = d.loc[d["known"].notna()]
    fitted = d.loc[d["topic"].notna()]
    counts = pd.crosstab(fitted["known"], fitted["topic"].astype(int))
    labels = fitted.drop_duplicates("topic").set_index(fitted.drop_duplicates("topic")["topic"]
                                                       .astype(int))["label"]
    rows = []
    for name in order:
        mine = d.loc[d["known"] == name]
        row = {"known": name, "reviews": len(mine), "unassigned": int(mine["topic"].isna().sum()),
               "topic": pd.NA, "label": None, "recall": np.nan, "purity": np.nan,
               "second_topic": pd.NA, "second_share": 0.0}
        if name in counts.index and counts.loc[name].sum() > 0:
            c = counts.loc[name]
            ranked = sorted(c.index, key=lambda t: (-c[t], t))
            t = ranked[0]
            row.update(topic=t, label=labels.get(t), recall=c[t] / len(mine),
                       purity=c[t] / counts[t].sum())
            if len(ranked) > 1 and c[ranked[1]] > 0:
                row.update(second_topic=ranked[1], second_share=c[ranked[1]] / len(mine))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["topic"] = pd.array(out["topic"], dtype="Int64")
    out["second_topic"] = pd.array(out["second_topic"], dtype="Int64")
    out["merged_with"] = [", ".join(o for o, t in zip(out["known"], out["topic"])
                                    if o != r["known"] and pd.notna(t) and pd.notna(r["topic"])
                                    and t == r["topic"]) for _, r in out.iterrows()]
    for c in ("recall", "purity", "second_share"):
        out[c] = out[c].astype(float).round(4)
    out.attrs["not_in_key"] = not_in_key
    return out


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
