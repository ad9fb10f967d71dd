"""Precision marketing (精准营销): recommendations, lifecycle playbook, campaign targeting, scenes.

Four small toolkits that turn the earlier analyses into actions:

* **Recommenders** (猜你喜欢): a popularity baseline, item-to-item similarity from co-occurrence
  in baskets (orders or viewing sessions; cosine as in Linden, Smith & York 2003, "Amazon.com
  recommendations: item-to-item collaborative filtering"), optionally scored at category level,
  and association rules (the ``helpers.paths.rules`` / mlxtend output). Every model answers
  :func:`recommend` with the same tidy shape, and :func:`evaluate` / :func:`compare` score them
  offline on a temporal split with a paired bootstrap against popularity.
* **Lifecycle playbook**: stage × segment → action, channel, offer and the KPI to watch.
* **Campaign targeting** from a randomised campaign with a holdout: uplift by segment with a
  difference-of-proportions CI (Newcombe 1998 or Wald, via statsmodels), incremental profit net of
  the coupon, a two-model ("T-learner", Künzel et al. 2019) uplift estimator with scikit-learn,
  the Qini curve (Radcliffe 2007) and a comparison of targeting policies.
* **Scene marketing**: event-driven trigger audiences and their historical conversion.

Everything takes and returns DataFrames; nothing prints or reads files.

Examples
--------
>>> lines = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "basket": [10, 10, 20, 20, 30],
...                       "item_id": [7, 8, 7, 8, 9]})
>>> model = fit_item_to_item(lines, lines, basket="basket")
>>> recommend(model, [3], k=1)
   user_id  rank  item_id  score
0        3     1        7    0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from helpers.data import require_columns as _need

__all__ = [
    "PLAYBOOK",
    "UPLIFT_FEATURES",
    "Recommender",
    "UpliftModel",
    "add_profit",
    "best_recommender",
    "busiest_day",
    "campaign_frame",
    "campaign_plan",
    "choose_campaign",
    "choose_cutoff",
    "compare",
    "compare_policies",
    "evaluate",
    "expected_profit",
    "fit_item_to_item",
    "fit_popularity",
    "fit_recommenders",
    "fit_rules",
    "fit_uplift",
    "playbook",
    "policy_profit",
    "predict_uplift",
    "purchases",
    "qini",
    "recommend",
    "scene_dates",
    "scene_table",
    "scene_triggers",
    "similarities",
    "split_users",
    "temporal_split",
    "uplift_by_segment",
    "uplift_features",
    "views",
]


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------

def purchases(store, *, status: str | None = "completed") -> pd.DataFrame:
    """Order lines with their buyer and time: ``user_id, order_id, item_id, quantity, ordered_at``.

    Only orders with ``status`` (default completed; ``None`` keeps all). Sorted by time and ids.

    >>> from helpers.data import load_store
    >>> p = purchases(load_store())
    >>> p.columns.tolist()
    ['user_id', 'order_id', 'item_id', 'quantity', 'ordered_at']
    """
    _need(store.orders, "orders", ["order_id", "user_id", "ordered_at"])
    _need(store.order_lines, "order_lines", ["order_id", "item_id", "quantity"])
    o = store.orders
    if status is not None and "status" in o.columns:
        o = o.loc[o["status"] == status]
    out = store.order_lines[["order_id", "item_id", "quantity"]].merge(
        o[["order_id", "user_id", "ordered_at"]], on="order_id", how="inner")
    out = out[["user_id", "order_id", "item_id", "quantity", "ordered_at"]]
    return out.sort_values(["ordered_at", "order_id", "item_id"], kind="stable",
                           ignore_index=True)


def views(events: pd.DataFrame, *, event: str = "view_item") -> pd.DataFrame:
    """Item views, one row per (session, item): ``user_id, session_id, item_id, ts`` (first view).

    >>> ev = pd.DataFrame({"session_id": [1, 1, 1], "user_id": [5, 5, 5],
    ...     "ts": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02"]),
    ...     "event": ["view_item", "view_item", "search"], "item_id": [3, 3, None]})
    >>> views(ev)[["session_id", "item_id"]].values.tolist()
    [[1, 3]]
    """
    _need(events, "events", ["session_id", "user_id", "ts", "event", "item_id"])
    v = events.loc[(events["event"] == event) & events["item_id"].notna(),
                   ["user_id", "session_id", "item_id", "ts"]]
    v = v.sort_values(["ts", "session_id", "item_id"], kind="stable")
    v = v.drop_duplicates(["session_id", "item_id"], keep="first")
    return v.astype({"item_id": "int64"}).reset_index(drop=True)


def temporal_split(df: pd.DataFrame, cutoff, *, time: str = "ordered_at"):
    """Rows before ``cutoff`` (train) and from ``cutoff`` on (test), as a tuple.

    >>> df = pd.DataFrame({"ordered_at": pd.to_datetime(["2025-01-01", "2025-03-01"], utc=True)})
    >>> [len(x) for x in temporal_split(df, "2025-02-01")]
    [1, 1]
    """
    _need(df, "interactions", [time])
    cut = pd.Timestamp(cutoff)
    if cut.tzinfo is None and getattr(df[time].dt, "tz", None) is not None:
        cut = cut.tz_localize("UTC")
    before = df[time] < cut
    return df.loc[before].reset_index(drop=True), df.loc[~before].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# recommenders
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recommender:
    """A fitted recommender; score it with :func:`recommend`.

    ``items`` are the candidate item ids in tie-break order (popularity descending, then item id
    ascending); ``popularity`` the training purchase count of each. ``users`` index the rows of
    ``history`` (weights of a user's past interactions, used for scoring) and ``seen`` (items a
    user already bought, never recommended). ``project`` maps history columns into the space
    ``similarity`` lives in (identity for item level, item → category for category level), and
    ``expand`` maps that space back to items (scores per category times the item's share of its
    category's purchases); ``labels`` names that space's columns (categories) when it is not
    the items themselves.
    """

    name: str
    items: np.ndarray
    popularity: np.ndarray
    users: pd.Index
    history: sp.csr_matrix
    seen: sp.csr_matrix
    similarity: sp.csr_matrix | None = None
    project: sp.csr_matrix | None = None
    expand: sp.csr_matrix | None = None
    labels: np.ndarray | None = None


def _item_order(train: pd.DataFrame, items) -> tuple[np.ndarray, np.ndarray]:
    pop = train.groupby("item_id")["quantity"].sum() if "quantity" in train else \
        train.groupby("item_id").size()
    ids = pop.index
    if items is not None:
        ids = pd.Index(pd.unique(np.concatenate([np.asarray(items), ids.to_numpy()])))
    counts = pop.reindex(ids, fill_value=0).to_numpy(dtype=float)
    order = np.lexsort((ids.to_numpy(), -counts))
    return ids.to_numpy()[order], counts[order]


def _user_matrix(df: pd.DataFrame, users: pd.Index, items: np.ndarray, weight=None):
    cols = pd.Index(items).get_indexer(df["item_id"])
    rows = users.get_indexer(df["user_id"])
    keep = (cols >= 0) & (rows >= 0)
    w = np.ones(len(df)) if weight is None else np.asarray(weight, dtype=float)
    m = sp.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(len(users), len(items)))
    m.sum_duplicates()
    return m


def _history(train: pd.DataFrame, history: pd.DataFrame | None, items: np.ndarray,
             view_weight: float):
    """Users, their scoring history (bought = 1, viewed = view_weight) and what they bought."""
    frames = [train[["user_id", "item_id"]]]
    if history is not None:
        frames.append(history[["user_id", "item_id"]])
    users = pd.Index(np.unique(np.concatenate([f["user_id"].to_numpy() for f in frames])))
    seen = _user_matrix(train, users, items)
    seen.data[:] = 1.0
    hist = seen.copy()
    if history is not None and view_weight > 0:
        v = _user_matrix(history, users, items)
        v.data[:] = view_weight
        hist = hist.maximum(v)
    return users, hist.tocsr(), seen.tocsr()


def fit_popularity(train: pd.DataFrame, *, items=None) -> Recommender:
    """Most-bought items first (sum of ``quantity``, or rows when absent); the baseline.

    ``train`` has ``user_id, item_id`` (and ``quantity``), e.g. :func:`purchases` before a cut-off.
    ``items`` (optional) adds catalogue items never bought, so coverage counts them.

    >>> tr = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [5, 5, 6], "quantity": [1, 1, 1]})
    >>> recommend(fit_popularity(tr), [1, 9], k=1)
       user_id  rank  item_id  score
    0        1     1        6    1.0
    1        9     1        5    2.0
    """
    _need(train, "train", ["user_id", "item_id"])
    ids, pop = _item_order(train, items)
    users, hist, seen = _history(train, None, ids, 0.0)
    return Recommender("popularity", ids, pop, users, hist, seen)


def _basket_matrix(baskets: pd.DataFrame, basket: str, ids: np.ndarray) -> sp.csr_matrix:
    b = baskets[[basket, "item_id"]].drop_duplicates()
    rows = pd.Index(pd.unique(b[basket])).get_indexer(b[basket])
    cols = pd.Index(ids).get_indexer(b["item_id"])
    keep = cols >= 0
    return sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])),
                         shape=(rows.max() + 1 if len(rows) else 0, len(ids)))


def _cosine(x: sp.csr_matrix) -> sp.csr_matrix:
    """Cosine similarity of the columns of a binary basket × thing matrix (sparse)."""
    co = (x.T @ x).tocsr()
    norm = np.sqrt(co.diagonal())
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    d = sp.diags(inv)
    return (d @ co @ d).tocsr()


def fit_item_to_item(train: pd.DataFrame, baskets: pd.DataFrame, *, basket: str = "order_id",
                     history: pd.DataFrame | None = None, view_weight: float = 0.5,
                     items: pd.DataFrame | None = None, level: str = "item") -> Recommender:
    """Item-to-item recommender from basket co-occurrence, cosine similarity (sparse).

    Parameters
    ----------
    train : DataFrame
        Training purchases ``user_id, item_id`` (``quantity``): popularity, exclusions, history.
    baskets : DataFrame
        ``basket`` id and ``item_id`` rows whose co-occurrence defines similarity: order lines
        (``basket="order_id"``) or viewing sessions (``views(...)``, ``basket="session_id"``).
    history : DataFrame, optional
        Extra ``user_id, item_id`` interactions (e.g. item views before the cut-off), weighted
        ``view_weight`` against 1 for a purchase, so people who only browsed get suggestions too.
    items : DataFrame, optional
        The catalogue ``item_id, category``; needed for ``level="category"``.
    level : {"item", "category"}
        ``"item"`` scores item j for user u as Σ_i history(u,i)·cos(i,j). ``"category"`` measures
        the similarity between categories instead and scores
        Σ_c history(u,c)·cos(c, cat(j)) · share(j | cat(j)), where share is the item's fraction of
        its category's training purchases (+1 smoothing). Category level pools the sparse item
        pairs: useful when complements are planted between categories (phone → phone case) and
        each item pair is seen only a few times.

    Notes
    -----
    Self-similarity is kept (cos(i,i) = 1): an item the user viewed but did not buy scores by
    itself, a category the user liked scores its own items. Bought items are excluded later.

    >>> lines = pd.DataFrame({"user_id": [1, 1, 2], "order_id": [1, 1, 2], "item_id": [7, 8, 7]})
    >>> m = fit_item_to_item(lines, lines)
    >>> recommend(m, [2], k=1)
       user_id  rank  item_id   score
    0        2     1        8  0.7071
    """
    _need(train, "train", ["user_id", "item_id"])
    _need(baskets, "baskets", [basket, "item_id"])
    if level not in ("item", "category"):
        raise ValueError(f"level must be 'item' or 'category', not {level!r}")
    ids, pop = _item_order(train, None if items is None else items["item_id"])
    users, hist, seen = _history(train, history, ids, view_weight)
    x = _basket_matrix(baskets, basket, ids)
    if level == "item":
        return Recommender(f"item-to-item ({basket})", ids, pop, users, hist, seen, _cosine(x))
    if items is None:
        raise ValueError("level='category' needs items (item_id, category)")
    _need(items, "items", ["item_id", "category"])
    cat = items.set_index("item_id")["category"].reindex(ids)
    if cat.isna().any():
        bad = ids[cat.isna().to_numpy()]
        raise ValueError(f"items.category: {len(bad)} item(s) without a category, e.g. {bad[0]}")
    codes, cats = pd.factorize(cat.to_numpy(), sort=True)
    n = len(ids)
    proj = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, len(cats)))
    xc = (x @ proj).tocsr()
    xc.data[:] = 1.0
    share = pop + 1.0
    share = share / np.bincount(codes, weights=share)[codes]
    expand = sp.csr_matrix((share, (codes, np.arange(n))), shape=(len(cats), n))
    return Recommender(f"item-to-item by category ({basket})", ids, pop, users, hist, seen,
                       _cosine(xc), proj, expand, np.asarray(cats))


def similarities(model: Recommender) -> pd.DataFrame:
    """The similarity matrix of an item-to-item model as tidy pairs ``a, b, similarity``.

    Pairs of different items (or categories, for ``level="category"``) with a non-zero
    similarity, sorted by similarity (descending), then ``a``, ``b``.

    >>> lines = pd.DataFrame({"user_id": [1, 1, 2], "order_id": [1, 1, 2], "item_id": [7, 8, 7]})
    >>> similarities(fit_item_to_item(lines, lines)).round(4)
       a  b  similarity
    0  7  8      0.7071
    1  8  7      0.7071
    """
    if model.similarity is None:
        raise ValueError(f"model {model.name!r} has no similarity matrix")
    names = model.items if model.labels is None else model.labels
    m = model.similarity.tocoo()
    keep = (m.row != m.col) & (m.data != 0)
    out = pd.DataFrame({"a": names[m.row[keep]], "b": names[m.col[keep]],
                        "similarity": m.data[keep]})
    out = out.sort_values(["a", "b"], kind="stable")
    return out.sort_values("similarity", ascending=False, kind="stable", ignore_index=True)


def _split_set(s: pd.Series) -> pd.Series:
    return s.astype(str).str.split(r"\s*,\s*", regex=True)


def fit_rules(train: pd.DataFrame, rules: pd.DataFrame, items: pd.DataFrame, *,
              history: pd.DataFrame | None = None, view_weight: float = 0.5,
              on: str = "category", metric: str = "confidence") -> Recommender:
    """Recommender from association rules between categories (or items).

    ``rules`` is a rules table as returned by ``helpers.paths.rules`` (or mlxtend's
    ``association_rules`` with its sets joined): ``antecedents`` and ``consequents`` as strings
    ``"a, b"``, plus ``metric``. A rule fires for a user whose history holds every antecedent;
    a consequent's score is the sum of ``metric`` over the rules that fire (a rule whose
    antecedents were only partly bought and otherwise viewed counts ``view_weight``), spread over
    the category's items by their share of its purchases. ``on="item"`` uses item ids as labels.
    Labels in the rules that are not in the catalogue are ignored and counted in the model's
    ``unknown_labels``.

    >>> tr = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2]})
    >>> cat = pd.DataFrame({"item_id": [1, 2, 3], "category": ["phone", "case", "case"]})
    >>> r = pd.DataFrame({"antecedents": ["phone"], "consequents": ["case"], "confidence": [0.5]})
    >>> recommend(fit_rules(tr, r, cat), [1], k=2)
       user_id  rank  item_id  score
    0        1     1        2 0.3333
    1        1     2        3 0.1667
    """
    _need(train, "train", ["user_id", "item_id"])
    _need(rules, "rules", ["antecedents", "consequents", metric])
    ids, pop = _item_order(train, items["item_id"])
    users, hist, seen = _history(train, history, ids, view_weight)
    if on == "category":
        _need(items, "items", ["item_id", "category"])
        labels = items.set_index("item_id")["category"].reindex(ids).astype(str).to_numpy()
    else:
        labels = ids.astype(str)
    codes, names = pd.factorize(labels, sort=True)
    n = len(ids)
    proj = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, len(names)))
    share = pop + 1.0
    share = share / np.bincount(codes, weights=share)[codes]
    expand = sp.csr_matrix((share, (codes, np.arange(n))), shape=(len(names), n))
    # rule r: antecedent set A_r (a labels x rules 0/1 matrix) -> consequent set C_r
    r = rules.reset_index(drop=True)
    ante = _split_set(r["antecedents"]).explode()
    cons = _split_set(r["consequents"]).explode()
    lab = pd.Index(names)
    ai, ci = lab.get_indexer(ante.to_numpy()), lab.get_indexer(cons.to_numpy())
    unknown = int((ai < 0).sum() + (ci < 0).sum())
    a = sp.csr_matrix((np.ones((ai >= 0).sum()), (ai[ai >= 0], ante.index[ai >= 0])),
                      shape=(len(names), len(r)))
    c = sp.csr_matrix((r[metric].to_numpy(dtype=float)[cons.index[ci >= 0]],
                       (cons.index[ci >= 0], ci[ci >= 0])), shape=(len(r), len(names)))
    return _RulesRecommender(f"rules ({metric})", ids, pop, users, hist, seen, None, proj, expand,
                             np.asarray(names), ante=a.tocsr(), cons=c.tocsr(),
                             n_ante=np.asarray(a.sum(axis=0)).ravel(), unknown_labels=unknown,
                             view_weight=view_weight)


@dataclass(frozen=True)
class _RulesRecommender(Recommender):
    ante: sp.csr_matrix | None = None
    cons: sp.csr_matrix | None = None
    n_ante: np.ndarray | None = None
    unknown_labels: int = 0
    view_weight: float = 0.5


def _scores(model: Recommender, rows: np.ndarray) -> np.ndarray:
    """Dense users × items scores for history rows ``rows`` (-1 = no history)."""
    n_items = len(model.items)
    if model.name == "popularity":
        return np.broadcast_to(model.popularity, (len(rows), n_items)).copy()
    known = rows >= 0
    pick = sp.csr_matrix((np.ones(known.sum()), (np.flatnonzero(known), rows[known])),
                         shape=(len(rows), model.history.shape[0]))
    h = (pick @ model.history).tocsr()
    if isinstance(model, _RulesRecommender):
        # "has" a label: bought or viewed an item of it; "bought" it: from purchases only (the
        # summed history weights cannot tell two viewed items from one bought item)
        has = (h @ model.project).tocsr() > 0
        bought = ((pick @ model.seen) @ model.project).tocsr() > 0
        n_have = (has.astype(float) @ model.ante).toarray()
        n_bought = (bought.astype(float) @ model.ante).toarray()
        need = model.n_ante[None, :]
        w = np.where(n_bought >= need, 1.0, np.where(n_have >= need, model.view_weight, 0.0))
        return np.asarray((sp.csr_matrix(w) @ model.cons @ model.expand).todense())
    if model.project is None:
        return np.asarray((h @ model.similarity).todense())
    hc = h @ model.project
    return np.asarray((hc @ model.similarity @ model.expand).todense())


def _top_k(sc: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best scores per row, best first; ties by lower column index.

    The same as ``np.argsort(-sc, axis=1, kind="stable")[:, :k]`` (columns are in tie-break
    order), but partitions first (``np.argpartition``) and sorts only the ``k`` chosen columns.

    >>> _top_k(np.array([[1.0, 3, 3, 2, 3]]), 2).tolist()
    [[1, 2]]
    """
    kk = min(k, sc.shape[1])
    if kk == 0 or len(sc) == 0:
        return np.zeros((len(sc), kk), dtype=np.intp)
    part = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
    v = np.take_along_axis(sc, part, axis=1).min(axis=1)[:, None]  # the k-th best score
    # everything better than v, then the lowest-index columns tied at v until k are chosen
    greater = sc > v
    tied = sc == v
    fill = kk - greater.sum(axis=1, keepdims=True)
    sel = greater | (tied & (np.cumsum(tied, axis=1) <= fill))
    cols = np.nonzero(sel)[1].reshape(len(sc), kk)  # ascending column order within each row
    order = np.argsort(-np.take_along_axis(sc, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def recommend(model: Recommender, user_ids, k: int = 10, *, chunk: int = 20_000) -> pd.DataFrame:
    """Top-``k`` items per user: tidy ``user_id, rank, item_id, score``.

    Items the user already bought (in the model's training purchases) are never recommended.
    Ties, including users without any history (all scores 0), are broken by training popularity
    and then by item id, so cold-start users get the popularity list and the output is
    deterministic. Users are scored in chunks of at most ``chunk`` users and about 10 million
    user × item cells, so memory stays bounded for large catalogues; only the ``k`` best
    items of each user are sorted (``np.argpartition`` first).

    >>> tr = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [5, 6, 6]})
    >>> recommend(fit_popularity(tr), [3], k=2)
       user_id  rank  item_id  score
    0        3     1        5    1.0
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    uid = pd.Index(pd.unique(np.asarray(user_ids)))
    chunk = max(1, min(chunk, 10_000_000 // max(len(model.items), 1)))
    out = []
    for start in range(0, len(uid), chunk):
        u = uid[start:start + chunk]
        rows = model.users.get_indexer(u)
        sc = _scores(model, rows)
        known = rows >= 0
        if known.any():
            seen = model.seen[rows[known]].tocoo()
            sc[np.flatnonzero(known)[seen.row], seen.col] = -np.inf
        top = _top_k(sc, k)
        s = np.take_along_axis(sc, top, axis=1)
        ok = np.isfinite(s)
        out.append(pd.DataFrame({
            "user_id": np.repeat(u.to_numpy(), top.shape[1])[ok.ravel()],
            "rank": np.tile(np.arange(1, top.shape[1] + 1), len(u))[ok.ravel()],
            "item_id": model.items[top][ok],
            "score": np.round(s[ok], 4)}))
    if not out:
        return pd.DataFrame({"user_id": [], "rank": [], "item_id": [], "score": []})
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# offline evaluation
# ---------------------------------------------------------------------------------------------

def evaluate(recs: pd.DataFrame, test: pd.DataFrame, *, k: int = 10,
             n_items: int | None = None) -> pd.DataFrame:
    """Per-user hit, precision@k and recall@k of ``recs`` against the items in ``test``.

    ``test`` holds ``user_id, item_id`` bought after the cut-off (distinct items count). Users in
    ``test`` without recommendations score 0. The frame's ``attrs`` carry ``coverage``: distinct
    recommended items / ``n_items`` (the catalogue size; default: items recommended or tested).

    >>> recs = pd.DataFrame({"user_id": [1, 1, 2, 2], "rank": [1, 2, 1, 2],
    ...                      "item_id": [5, 6, 5, 6], "score": [1, 1, 1, 1]})
    >>> test = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [6, 7, 8]})
    >>> evaluate(recs, test, k=2)
             hit  precision  recall
    user_id
    1        1.0        0.5     1.0
    2        0.0        0.0     0.0
    """
    _need(recs, "recs", ["user_id", "rank", "item_id"])
    _need(test, "test", ["user_id", "item_id"])
    t = test[["user_id", "item_id"]].drop_duplicates()
    r = recs.loc[recs["rank"] <= k, ["user_id", "item_id"]].drop_duplicates()
    users = pd.Index(np.sort(t["user_id"].unique()), name="user_id")
    hits = r.merge(t, on=["user_id", "item_id"]).groupby("user_id").size()
    hits = hits.reindex(users, fill_value=0).to_numpy(dtype=float)
    relevant = t.groupby("user_id").size().reindex(users).to_numpy(dtype=float)
    out = pd.DataFrame({"hit": (hits > 0).astype(float), "precision": hits / k,
                        "recall": hits / relevant}, index=users)
    shown = r.loc[r["user_id"].isin(users), "item_id"].nunique()
    n = n_items if n_items is not None else len(set(r["item_id"]) | set(t["item_id"]))
    out.attrs["coverage"] = shown / n if n else np.nan
    return out


def compare(results: dict, *, baseline: str = "popularity", n_boot: int = 1000,
            seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Mean metrics of several recommenders and their paired bootstrap difference to a baseline.

    ``results`` maps a name to the :func:`evaluate` frame of that recommender (same test users).
    Users are resampled with replacement (the same draw for every model, so differences are
    paired); ``diff_low``/``diff_high`` are the percentile interval of mean(model) − mean(baseline).
    Returns one row per model × metric (hit_rate, precision, recall) plus ``coverage``.

    >>> a = pd.DataFrame({"hit": [1., 0, 1, 1], "precision": [.1, 0, .1, .1],
    ...                   "recall": [1., 0, 1, 1]})
    >>> b = pd.DataFrame({"hit": [0., 0, 1, 0], "precision": [0, 0, .1, 0],
    ...                   "recall": [0., 0, 1, 0]})
    >>> t = compare({"popularity": b, "new": a}, n_boot=200)
    >>> t.loc[t["metric"] == "hit_rate", ["model", "value", "diff"]]
            model  value  diff
    0  popularity   0.25   0.0
    3         new   0.75   0.5
    """
    if baseline not in results:
        raise ValueError(f"baseline {baseline!r} not in results {sorted(results)}")
    base = results[baseline]
    n = len(base)
    for name, r in results.items():
        if len(r) != n or not r.index.equals(base.index):
            raise ValueError(f"results[{name!r}] has other users than the baseline")
    # resampling as multinomial counts per user, in batches (memory ~ batch × users)
    rng = np.random.default_rng(seed)
    batch = max(1, min(n_boot, 20_000_000 // max(n, 1)))
    counts = [rng.multinomial(n, np.full(n, 1.0 / n), size=min(batch, n_boot - b))
              for b in range(0, n_boot, batch)]
    rows = []
    for name, r in results.items():  # a handful of models: this loop is over models, not users
        for col, metric in (("hit", "hit_rate"), ("precision", "precision"),
                            ("recall", "recall")):
            d = r[col].to_numpy() - base[col].to_numpy()
            boot = np.concatenate([c @ d for c in counts]) / n
            rows.append({"model": name, "metric": metric, "value": r[col].mean(),
                         "diff": d.mean(),
                         "diff_low": np.quantile(boot, alpha / 2),
                         "diff_high": np.quantile(boot, 1 - alpha / 2),
                         "coverage": r.attrs.get("coverage", np.nan), "users": n})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# campaign targeting (uplift)
# ---------------------------------------------------------------------------------------------

def campaign_frame(store, campaign: str, *, window_days: int = 30,
                   lapsed_cut: int = 270) -> pd.DataFrame:
    """One row per user a campaign was sent to or held out from, with features and outcomes.

    Features are measured at the campaign's first send (``t0``, so every user shares the same
    clock) from all orders placed before it: ``frequency`` (orders), ``recency_days`` (days
    since the last order), ``monetary`` (completed revenue), ``aov_gross`` (average completed
    order value before discounts), ``tenure_days`` (days since the first order) and
    ``views_90d`` (item views in the 90 days before). ``segment`` is repeat (2+ orders) vs one-time
    buyer × lapsed under ``lapsed_cut`` days vs longer, as in the bundled shop's answer key.

    Users without an earlier order get ``has_history = False``, segment ``"no earlier order"``,
    zero frequency, money and tenure, and as ``recency_days`` the days from the store's first
    order to ``t0`` (no buyer can be more lapsed), so every feature is a number; how many such
    users there are is in ``.attrs["no_earlier_order"]``.

    Outcomes in the ``window_days`` after each user's own ``sent_at``: ``converted`` (any
    completed order), ``revenue`` (completed, after discount) and ``discount``. When the orders
    carry no revenue at all (orders derived from purchase events), the money columns are NaN and
    ``.attrs["no_revenue"]`` is True: conversion and uplift still work, profit does not.

    >>> from helpers.data import load_store
    >>> store = load_store()
    >>> f = campaign_frame(store, "winback_2025q3")
    >>> f["segment"].value_counts().to_dict() == store.truth["winback"]["segment_sizes"]
    True
    """
    _need(store.campaign_sends, "campaign_sends", ["campaign", "user_id", "sent_at", "treated"])
    _need(store.orders, "orders", ["order_id", "user_id", "ordered_at", "revenue"])
    cs = store.campaign_sends.loc[store.campaign_sends["campaign"] == campaign]
    if cs.empty:
        raise ValueError(f"campaign_sends: no rows for campaign {campaign!r}")
    cs = cs[["user_id", "sent_at", "treated"]].sort_values("user_id", kind="stable")
    t0 = cs["sent_at"].min()
    o = store.orders
    disc = o["discount"] if "discount" in o.columns else pd.Series(0.0, index=o.index)
    done = o["status"].eq("completed") if "status" in o.columns else pd.Series(True, o.index)
    o = pd.DataFrame({"user_id": o["user_id"], "ordered_at": o["ordered_at"], "done": done,
                      "revenue": o["revenue"].where(done, 0.0),
                      "discount": disc.where(done, 0.0)})
    o = o.loc[o["user_id"].isin(cs["user_id"])]
    pre = o.loc[o["ordered_at"] < t0]
    g = pre.groupby("user_id")
    feat = pd.DataFrame({
        "frequency": g.size(),
        "recency_days": (t0 - g["ordered_at"].max()).dt.days,
        "tenure_days": (t0 - g["ordered_at"].min()).dt.days,
        "monetary": g["revenue"].sum(),
        "aov_gross": (g["revenue"].sum() + g["discount"].sum()) / g["done"].sum().clip(lower=1),
    })
    out = cs.merge(feat, left_on="user_id", right_index=True, how="left")
    never = out["frequency"].isna()
    # sentinels for users without an earlier order, so models get no NaN: recency = the whole
    # order history before t0 (at least as lapsed as any buyer), tenure = 0
    first = store.orders["ordered_at"].min()
    span = (t0 - first).days if pd.notna(first) and first < t0 else 0
    out = out.fillna({"frequency": 0, "monetary": 0.0, "aov_gross": 0.0,
                      "recency_days": span, "tenure_days": 0})
    out = out.astype({"frequency": "int64", "recency_days": "int64", "tenure_days": "int64"})
    out.insert(out.columns.get_loc("frequency"), "has_history", ~never.to_numpy())
    ev = store.events
    recent = ev.loc[(ev["event"] == "view_item") & (ev["ts"] < t0)
                    & (ev["ts"] >= t0 - pd.Timedelta(days=90)), "user_id"]
    out["views_90d"] = recent.value_counts().reindex(out["user_id"], fill_value=0).to_numpy()
    rep = np.where(out["frequency"] > 1, "repeat", "one-time")
    lap = np.where(out["recency_days"] < lapsed_cut, f", lapsed <{lapsed_cut}d",
                   f", lapsed {lapsed_cut}d+")
    out["segment"] = pd.Series(rep, index=out.index) + lap
    if lapsed_cut == 270:  # the answer key's labels
        out["segment"] = out["segment"].str.replace(", lapsed <270d", ", lapsed 120-269d")
    out.loc[never, "segment"] = "no earlier order"
    post = o.merge(cs[["user_id", "sent_at"]], on="user_id")
    post = post.loc[(post["ordered_at"] >= post["sent_at"]) & post["done"]
                    & (post["ordered_at"] < post["sent_at"] + pd.Timedelta(days=window_days))]
    gp = post.groupby("user_id")
    for col, val in (("converted", gp.size() > 0), ("revenue", gp["revenue"].sum()),
                     ("discount", gp["discount"].sum())):
        out[col] = val.reindex(out["user_id"]).fillna(0).to_numpy()
    out["converted"] = out["converted"].astype(bool)
    if store.orders["revenue"].isna().all():
        # orders derived from purchase events may carry no amounts: say "unknown", not 0
        out[["monetary", "aov_gross", "revenue", "discount"]] = np.nan
    out.attrs["no_revenue"] = bool(store.orders["revenue"].isna().all())
    out.attrs["t0"] = t0
    out.attrs["no_earlier_order"] = int(never.sum())
    return out.reset_index(drop=True)


def add_profit(frame: pd.DataFrame, *, margin: float = 0.3, contact_cost: float = 0.1,
               treated: str = "treated") -> pd.DataFrame:
    """Add ``profit`` = margin × gross − discount − contact cost (treated users only).

    ``gross`` = revenue + discount (the price before the coupon). Two assumptions the notebook
    states: a ``margin`` (gross margin on list price, default 30 %) and a ``contact_cost``
    per message (in the store's currency, default 0.1). The coupon's cost is inside: it is the discount given.

    >>> f = pd.DataFrame({"treated": [True, False], "revenue": [80.0, 100.0],
    ...                   "discount": [20.0, 0.0]})
    >>> add_profit(f, margin=0.4, contact_cost=1.0)["profit"].tolist()
    [19.0, 40.0]
    """
    _need(frame, "frame", [treated, "revenue", "discount"])
    out = frame.copy()
    gross = out["revenue"] + out["discount"]
    out["profit"] = margin * gross - out["discount"] - contact_cost * out[treated].astype(float)
    return out


def uplift_by_segment(frame: pd.DataFrame, *, by: str = "segment", outcome: str = "converted",
                      treated: str = "treated", method: str = "newcomb",
                      alpha: float = 0.05) -> pd.DataFrame:
    """Conversion of treated vs holdout per segment, the uplift and its CI, and money per user.

    ``uplift`` = treated − control conversion; ``ci_low``/``ci_high`` from statsmodels'
    ``confint_proportions_2indep`` (``method="newcomb"``: Newcombe's hybrid Wilson score interval,
    good with few events; ``"wald"`` the textbook normal interval). With a ``profit`` column (see
    :func:`add_profit`; not when no revenue is recorded) also ``incr_revenue`` and ``incr_profit``
    per treated user (difference of means) and ``coupon_cost`` (mean discount per treated user), and ``total_profit`` =
    incr_profit × segment size (what sending to the whole segment earned). A row ``all`` pools
    the segments. A segment with users in one arm only is left out (its users stay in ``all``)
    and named in ``.attrs["dropped_segments"]``; a campaign without a treated or a control user
    raises ValueError.

    >>> f = pd.DataFrame({"segment": ["a"] * 4, "treated": [True, True, False, False],
    ...                   "converted": [True, False, False, False]})
    >>> uplift_by_segment(f)[["segment", "uplift"]]
      segment  uplift
    0       a     0.5
    1     all     0.5
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    _need(frame, "frame", [by, outcome, treated])
    f = pd.concat([frame, frame.assign(**{by: "all"})], ignore_index=True)
    t = f[treated].astype(bool)
    y = f[outcome].astype(float)
    cols = {"n_treated": t.astype(int), "k_treated": y * t, "n_control": (~t).astype(int),
            "k_control": y * ~t}
    money = "profit" in f.columns and "revenue" in f.columns and f["revenue"].notna().any()
    if money:
        cols.update({"rev_t": f["revenue"] * t, "rev_c": f["revenue"] * ~t,
                     "pro_t": f["profit"] * t, "pro_c": f["profit"] * ~t,
                     "disc_t": f["discount"] * t})
    g = pd.DataFrame(cols).groupby(f[by], sort=True).sum()
    g = g.loc[[i for i in g.index if i != "all"] + ["all"]]
    nt, nc = g["n_treated"].to_numpy(float), g["n_control"].to_numpy(float)
    kt, kc = g["k_treated"].to_numpy(float), g["k_control"].to_numpy(float)
    one_arm = (nt == 0) | (nc == 0)
    if one_arm[-1]:
        raise ValueError(f"frame.{treated}: the campaign lacks a treated or a control user")
    # a segment with users in one arm only cannot be compared: left out, named in attrs
    dropped = g.index[one_arm].tolist()
    g, nt, nc, kt, kc = g.loc[~one_arm], nt[~one_arm], nc[~one_arm], kt[~one_arm], kc[~one_arm]
    lo, hi = confint_proportions_2indep(kt, nt, kc, nc, method=method, compare="diff",
                                        alpha=alpha)
    out = pd.DataFrame({by: g.index, "n_treated": nt.astype(int), "n_control": nc.astype(int),
                        "conv_treated": kt / nt, "conv_control": kc / nc,
                        "uplift": kt / nt - kc / nc, "ci_low": lo, "ci_high": hi})
    if money:
        out["incr_revenue"] = (g["rev_t"] / nt - g["rev_c"] / nc).to_numpy()
        out["coupon_cost"] = (g["disc_t"] / nt).to_numpy()
        out["incr_profit"] = (g["pro_t"] / nt - g["pro_c"] / nc).to_numpy()
        out["total_profit"] = out["incr_profit"] * (nt + nc)
    out = out.reset_index(drop=True)
    out.attrs["dropped_segments"] = dropped
    return out


UPLIFT_FEATURES = ("has_history", "frequency", "recency_days", "tenure_days", "monetary",
                   "aov_gross", "views_90d")
"""Default features of :func:`fit_uplift` (all made by :func:`campaign_frame`)."""


def uplift_features(frame: pd.DataFrame, features=UPLIFT_FEATURES) -> tuple:
    """The ``features`` a campaign frame can feed to :func:`fit_uplift`: those without NaN.

    Money features are NaN when the store records no revenue; the model then learns from
    recency, frequency, tenure and views only.

    >>> f = pd.DataFrame({"frequency": [1, 2], "monetary": [np.nan, np.nan]})
    >>> uplift_features(f, ("frequency", "monetary"))
    ('frequency',)
    """
    return tuple(f for f in features if f in frame.columns and frame[f].notna().all())


def split_users(frame: pd.DataFrame, *, test_size: float = 0.4, seed: int = 0,
                stratify: str = "treated"):
    """Seeded train/test split of a campaign frame, stratified by treatment (scikit-learn).

    >>> f = pd.DataFrame({"treated": [True, False] * 5})
    >>> [len(x) for x in split_users(f, test_size=0.4)]
    [6, 4]
    """
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(frame, test_size=test_size, random_state=seed,
                              stratify=frame[stratify])
    return tr.sort_index(), te.sort_index()


@dataclass(frozen=True)
class UpliftModel:
    """Two fitted classifiers (treated, control) and the features they use."""

    treated: object
    control: object
    features: tuple


def fit_uplift(train: pd.DataFrame, *, features=UPLIFT_FEATURES, outcome: str = "converted",
               treated: str = "treated", seed: int = 0, C: float = 0.3) -> UpliftModel:
    """Two-model ("T-learner") uplift estimator: P(y | x, treated) − P(y | x, control).

    Each arm gets its own scikit-learn pipeline (log1p of the features that are non-negative in
    ``train``, others unchanged; standard scaling; L2-regularised logistic regression with
    strength ``C``; Künzel et al. 2019 call this the T-learner). Predicting for a row with a
    negative value in a log1p feature raises ValueError. A linear model suits a holdout with few conversions; a tree model would
    overfit the small control arm. An arm without any conversion (or only conversions) gets a
    constant rate (k + 0.5) / (n + 1) instead of a model. ``seed`` fixes the solver's randomness.

    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"x": rng.random(400), "treated": np.arange(400) % 2 == 0})
    >>> f["converted"] = rng.random(400) < np.where(f["treated"], f["x"], 0.1)
    >>> m = fit_uplift(f, features=["x"])
    >>> p = predict_uplift(m, f)
    >>> bool(p["uplift"].corr(f["x"]) > 0.9)
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    features = tuple(features)
    _need(train, "train", [*features, outcome, treated])
    x_all = train[list(features)].to_numpy(float)
    if np.isnan(x_all).any():
        bad = [f for f, b in zip(features, np.isnan(x_all).any(axis=0)) if b]
        raise ValueError(f"train: missing values in feature(s) {bad}")
    logged = tuple(f for f, lo in zip(features, x_all.min(axis=0, initial=0.0)) if lo >= 0)
    t = train[treated].astype(bool).to_numpy()
    models = []
    for arm in (t, ~t):
        y = train.loc[arm, outcome].astype(int).to_numpy()
        if len(y) == 0:
            raise ValueError(f"train.{treated}: one arm has no users")
        if y.min() == y.max():
            # a small holdout may have no conversion at all: fall back to a constant rate,
            # (k + 0.5) / (n + 1) so it is never exactly 0 or 1
            models.append(float((y.sum() + 0.5) / (len(y) + 1)))
            continue
        m = make_pipeline(FunctionTransformer(_log1p_some, kw_args={
                              "mask": np.isin(features, logged), "names": features}),
                          StandardScaler(),
                          LogisticRegression(C=C, random_state=seed, max_iter=1000))
        models.append(m.fit(train.loc[arm, list(features)].to_numpy(float), y))
    return UpliftModel(models[0], models[1], features)


def _log1p_some(x: np.ndarray, mask: np.ndarray, names: tuple) -> np.ndarray:
    """log1p of the columns in ``mask`` (non-negative in training); the rest unchanged."""
    x = np.array(x, dtype=float)
    neg = (x[:, mask] < 0).any(axis=0)
    if neg.any():
        bad = [n for n, b in zip(np.asarray(names)[mask], neg) if b]
        raise ValueError(f"feature(s) {bad} were non-negative in training (log1p) but have "
                         "negative values here")
    x[:, mask] = np.log1p(x[:, mask])
    return x


def _proba(model, x: np.ndarray) -> np.ndarray:
    return np.full(len(x), model) if isinstance(model, float) else model.predict_proba(x)[:, 1]


def predict_uplift(model: UpliftModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``p_treated``, ``p_control`` and ``uplift`` per row of ``frame`` (index kept).

    >>> m = UpliftModel(treated=0.3, control=0.1, features=("x",))  # constant-rate arms
    >>> predict_uplift(m, pd.DataFrame({"x": [1.0]})).round(4)
       p_treated  p_control  uplift
    0        0.3        0.1     0.2
    """
    x = frame[list(model.features)].to_numpy(float)
    p1, p0 = _proba(model.treated, x), _proba(model.control, x)
    return pd.DataFrame({"p_treated": p1, "p_control": p0, "uplift": p1 - p0}, index=frame.index)


def qini(score, treated, outcome) -> pd.DataFrame:
    """Qini curve (Radcliffe 2007): incremental outcomes when targeting the top-scored users.

    Users are sorted by ``score`` (descending; ties in input order). At each depth n the curve is
    Y_t(n) − Y_c(n) · N_t(n) / N_c(n): treated outcomes minus control outcomes rescaled to the
    treated count. ``random`` is the straight line to the same end point. ``.attrs["qini"]``
    is the Qini coefficient: area between the curve and the random line, divided by the number
    of users (in outcome units per user; > 0 means better than random).

    >>> q = qini([0.9, 0.8, 0.1, 0.0], [True, False, True, False], [1, 0, 0, 0])
    >>> q[["n", "incremental"]].values.tolist()
    [[0.0, 0.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [4.0, 1.0]]
    """
    s = np.asarray(score, dtype=float)
    t = np.asarray(treated, dtype=bool)
    y = np.asarray(outcome, dtype=float)
    o = np.argsort(-s, kind="stable")
    t, y = t[o], y[o]
    nt, nc = np.cumsum(t), np.cumsum(~t)
    yt, yc = np.cumsum(y * t), np.cumsum(y * ~t)
    inc = yt - np.divide(yc * nt, nc, out=np.zeros(len(y)), where=nc > 0)
    n = np.arange(len(y) + 1, dtype=float)
    inc = np.concatenate([[0.0], inc])
    rand = n / max(len(y), 1) * inc[-1]
    out = pd.DataFrame({"n": n, "fraction": n / max(len(y), 1), "incremental": inc,
                        "random": rand})
    out.attrs["qini"] = float(np.trapezoid(inc - rand, n) / max(len(y), 1) ** 2)
    return out


def policy_profit(frame: pd.DataFrame, policies: dict, *, treated: str = "treated",
                  n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Incremental profit of targeting policies, estimated on a randomised campaign's users.

    ``policies`` maps a name to a boolean mask over ``frame`` (who would be targeted). For the
    targeted set A the estimate is |A| × (mean profit of treated in A − mean profit of holdout in
    A): the randomised holdout tells what A would have earned without the message. ``frame``
    needs ``profit`` (see :func:`add_profit`). A seeded bootstrap over users gives
    ``low``/``high``; ``diff_vs_everyone`` is each policy minus the blanket policy on the same
    resamples (paired), with its interval.

    >>> f = pd.DataFrame({"treated": [True, False, True, False], "profit": [5.0, 1, 0, 0]})
    >>> policy_profit(f, {"all": np.array([True] * 4)}, n_boot=50)[["policy", "targeted", "profit"]]
      policy  targeted  profit
    0    all         4     8.0
    """
    _need(frame, "frame", [treated, "profit"])
    t = frame[treated].astype(bool).to_numpy()
    pr = frame["profit"].to_numpy(float)
    n = len(frame)
    masks = [np.ones(n, bool)] + [np.asarray(m, dtype=bool) for m in policies.values()]
    for name, m in zip(policies, masks[1:]):
        if m.shape != (n,):
            raise ValueError(f"policies[{name!r}]: mask of shape {m.shape}, frame has {n} rows")
    # per policy four columns: treated, control, treated profit, control profit (in A)
    cols = np.column_stack([v for m in masks for v in (m & t, m & ~t, pr * (m & t),
                                                      pr * (m & ~t))])
    rng = np.random.default_rng(seed)
    # bootstrap as multinomial weights, one draw shared by all policies (paired comparisons),
    # drawn and reduced in batches of about 5 million user weights so memory stays bounded;
    # row 0 (weights 1) is the estimate on the sample itself
    batch = max(1, 5_000_000 // max(n, 1))
    sums = [np.ones((1, n)) @ cols]
    for b in range(0, n_boot, batch):
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=min(batch, n_boot - b))
        sums.append(w @ cols)
    sums = np.vstack(sums).reshape(n_boot + 1, len(masks), 4)
    st, sc, yt, yc = (sums[..., j] for j in range(4))
    mt = np.divide(yt, st, out=np.zeros_like(yt), where=st > 0)
    mc = np.divide(yc, sc, out=np.zeros_like(yc), where=sc > 0)
    est = (st + sc) * (mt - mc)  # (n_boot + 1) x policies, column 0 = everyone
    q = (lambda x, a: np.quantile(x[1:], a)) if n_boot else (lambda x, a: np.nan)
    rows = []
    for j, (name, m) in enumerate(zip(policies, masks[1:]), start=1):  # policies, not users
        e, d = est[:, j], est[:, j] - est[:, 0]
        rows.append({"policy": name, "targeted": int(m.sum()),
                     "profit": e[0], "low": q(e, alpha / 2), "high": q(e, 1 - alpha / 2),
                     "diff_vs_everyone": d[0], "diff_low": q(d, alpha / 2),
                     "diff_high": q(d, 1 - alpha / 2)})
    return pd.DataFrame(rows)


def expected_profit(pred: pd.DataFrame, frame: pd.DataFrame, *, margin: float = 0.3,
                    discount: float = 0.2, contact_cost: float = 0.1) -> pd.Series:
    """Expected incremental profit per user of sending the coupon, from predicted conversion.

    An extra purchase earns (margin − discount) × basket; a purchase that would have happened
    anyway now costs the discount: uplift × (margin − discount) × aov − p_control × discount ×
    aov − contact cost, with the user's own past gross order value ``aov_gross`` as basket.

    >>> pred = pd.DataFrame({"uplift": [0.1], "p_control": [0.05]})
    >>> f = pd.DataFrame({"aov_gross": [1000.0]})
    >>> expected_profit(pred, f, margin=0.4, contact_cost=0.5).round(2).tolist()
    [9.5]
    """
    aov = frame["aov_gross"].to_numpy(float)
    val = (pred["uplift"].to_numpy() * (margin - discount) * aov
           - pred["p_control"].to_numpy() * discount * aov - contact_cost)
    return pd.Series(val, index=pred.index, name="expected_profit")


def compare_policies(frame: pd.DataFrame, *, seeds=range(10), test_size: float = 0.4,
                     margin: float = 0.3, discount: float = 0.2, contact_cost: float = 0.1,
                     features=UPLIFT_FEATURES, key: dict | None = None) -> pd.DataFrame:
    """Blanket vs propensity vs uplift targeting, on held-out users of repeated seeded splits.

    For every seed: split the campaign frame (:func:`split_users`), fit the T-learner on the
    training part, and on the held-out part target (a) everyone, (b) the users with a positive
    :func:`expected_profit` ("uplift"), (c) the same number of users with the highest predicted
    purchase propensity when treated ("propensity"). Each policy's incremental profit is
    estimated on the held-out users with the randomised holdout (:func:`policy_profit`; ``frame``
    needs ``profit`` from :func:`add_profit` with the same ``margin`` and ``contact_cost``).
    Repeating the split shows how much the answer depends on which users were held out, which a
    small holdout makes large. Returns one row per seed × policy: ``seed``, ``policy``,
    ``targeted``, ``held_out``, ``profit``.

    >>> rng = np.random.default_rng(1)
    >>> f = pd.DataFrame({"user_id": np.arange(400), "frequency": rng.integers(1, 4, 400),
    ...                   "treated": rng.random(400) < .8, "aov_gross": 100.0, "segment": "a"})
    >>> f["converted"] = rng.random(400) < np.where(f["treated"], 0.05 * f["frequency"], 0.05)
    >>> f["revenue"], f["discount"] = 100.0 * f["converted"], 0.0
    >>> f = add_profit(f)
    >>> r = compare_policies(f, seeds=[0], features=["frequency"])
    >>> r["policy"].tolist()
    ['everyone', 'propensity', 'uplift']

    ``key`` (optional) maps ``segment`` to a known true uplift (a simulator's answer key). Each
    policy then also gets ``key_profit``: the expected incremental profit of its held-out
    targets under the true uplift (:func:`expected_profit` with uplift = key × (1 − p0) and p0 =
    the whole holdout's conversion rate), free of the sampling noise of the profit estimate.
    """
    _need(frame, "frame", ["user_id", "treated", "converted", "profit", "aov_gross",
                           *features])
    if key is not None:
        missing = sorted(set(frame["segment"]) - set(key))
        if missing:
            raise ValueError(f"key has no uplift for segment(s) {missing}")
        p0 = float(frame.loc[~frame["treated"].astype(bool), "converted"].mean())
    rows = []
    for seed in seeds:  # a handful of repetitions, each fully vectorised
        tr, te = split_users(frame, test_size=test_size, seed=seed)
        pred = predict_uplift(fit_uplift(tr, features=features, seed=seed), te)
        ep = expected_profit(pred, te, margin=margin, discount=discount,
                             contact_cost=contact_cost).to_numpy()
        up = ep > 0
        rank = np.argsort(np.lexsort((te["user_id"].to_numpy(), -pred["p_treated"].to_numpy())))
        pol = {"everyone": np.ones(len(te), bool), "propensity": rank < up.sum(), "uplift": up}
        r = policy_profit(te, pol, n_boot=0)
        r = r[["policy", "targeted", "profit"]].assign(seed=seed, held_out=len(te))
        if key is not None:
            true = pd.DataFrame({"uplift": te["segment"].map(key).to_numpy() * (1 - p0),
                                 "p_control": p0}, index=te.index)
            v = expected_profit(true, te, margin=margin, discount=discount,
                                contact_cost=contact_cost).to_numpy()
            r["key_profit"] = [v[m].sum() for m in pol.values()]
        rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    cols = ["seed", "policy", "targeted", "held_out", "profit"]
    return out[cols + (["key_profit"] if key is not None else [])]


# ---------------------------------------------------------------------------------------------
# lifecycle playbook
# ---------------------------------------------------------------------------------------------

PLAYBOOK = pd.DataFrame([
    # stage, segment ("*" = any), action, channel, offer, KPI to watch
    ("prospect", "*", "convert the first visit: reminders of browsed items, social proof",
     "retargeting ads, push", "a first-order coupon", "first-order conversion"),
    ("new", "*", "onboarding and a second purchase: 'customers also bought' complements",
     "e-mail, in-app", "none (complement bundle at most)", "second-order rate in 60 days"),
    ("active", "*", "grow the basket: cross-sell complements, loyalty programme",
     "in-app recommendations", "none; points", "orders per buyer, AOV"),
    ("active", "Champions", "reward and ask for reviews and referrals; early access",
     "e-mail, VIP service", "early access, no discount", "referrals, NPS"),
    ("dormant", "*", "win-back while it still works: personal recommendations + coupon",
     "e-mail", "a win-back coupon, only where uplift pays", "incremental profit vs holdout"),
    ("churned", "Can't lose them", "personal contact and a survey on what went wrong",
     "e-mail, phone", "generous personal coupon", "reactivation rate vs holdout"),
    ("churned", "*", "cheap reminders around the big sale only",
     "e-mail (low cost)", "sale-day offer, no extra coupon", "sale-week return rate"),
], columns=["stage", "segment", "action", "channel", "offer", "kpi"])
"""Default lifecycle playbook: stage × segment → action, channel, offer and KPI.

A row with segment ``"*"`` is the stage's default; a named segment overrides it. Stages are
those of ``helpers.segments.lifecycle``; segments those of ``helpers.segments.rfm``. Edit a copy
to fit your shop, and pass it as ``rules``.
"""


def playbook(stages: pd.DataFrame, segments: pd.DataFrame | None = None, *,
             rules: pd.DataFrame = PLAYBOOK) -> pd.DataFrame:
    """Users per lifecycle stage × segment with the playbook's action, channel, offer and KPI.

    ``stages`` has ``user_id, stage`` (e.g. ``segments.lifecycle(store)``); ``segments`` has
    ``user_id, segment`` (e.g. ``segments.rfm(orders)``; users without one, such as prospects,
    get ``"(none)"``). Cells without a playbook row get empty actions and are kept, so the table
    shows what the playbook does not cover yet.

    >>> st = pd.DataFrame({"user_id": [1, 2, 3], "stage": ["new", "active", "active"]})
    >>> sg = pd.DataFrame({"user_id": [2, 3], "segment": ["Champions", "Loyal"]})
    >>> playbook(st, sg)[["stage", "segment", "users", "kpi"]]
        stage    segment  users                    kpi
    0     new     (none)      1  second-order rate in 60 days
    1  active  Champions      1                 referrals, NPS
    2  active      Loyal      1          orders per buyer, AOV
    """
    _need(stages, "stages", ["user_id", "stage"])
    st = stages[["user_id", "stage"]].astype({"stage": "str"})
    if segments is not None:
        _need(segments, "segments", ["user_id", "segment"])
        st = st.merge(segments[["user_id", "segment"]].astype({"segment": "str"}),
                      on="user_id", how="left")
    else:
        st = st.assign(segment=np.nan)
    st["segment"] = st["segment"].fillna("(none)")
    cells = st.groupby(["stage", "segment"], sort=False).size().rename("users").reset_index()
    order = {s: i for i, s in enumerate(pd.unique(rules["stage"]))}
    cells["_o"] = cells["stage"].map(order).fillna(len(order))
    cells = cells.sort_values(["_o", "users", "segment"], ascending=[True, False, True],
                              kind="stable").drop(columns="_o")
    cells["share"] = cells["users"] / cells["users"].sum()
    cols = ["action", "channel", "offer", "kpi"]
    exact = cells.merge(rules, on=["stage", "segment"], how="left")
    default = cells[["stage"]].merge(rules.loc[rules["segment"] == "*"].drop(columns="segment"),
                                     on="stage", how="left")
    for c in cols:
        exact[c] = exact[c].fillna(default[c]).fillna("")
    return exact.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# scene marketing
# ---------------------------------------------------------------------------------------------

def scene_triggers(store, asof, *, lookback_days: int = 7, horizon_days: int = 14) -> pd.DataFrame:
    """Event-driven audiences at ``asof`` and how often they bought in the next days.

    Audiences (from the ``lookback_days`` before ``asof``):

    * ``visited`` — anyone with an event (the reference group);
    * ``browsed a category, no purchase`` — viewed items of a category and bought nothing;
    * ``abandoned a cart`` — added to cart and bought nothing since (a purchase event at the
      same timestamp as the last add-to-cart counts as buying).

    The window is ``[asof − lookback_days, asof)`` for the audiences and
    ``[asof, asof + horizon_days)`` for the outcome.

    Conversion is any completed order in the ``horizon_days`` from ``asof``, with a Wilson
    interval (``helpers.stats.rate_table``). Run it at several dates (an ordinary week, the week
    before the busiest day: see :func:`scene_dates`) to see how a scene changes who is worth a
    message.

    >>> from helpers.data import load_store
    >>> t = scene_triggers(load_store(), "2025-06-01")
    >>> t["audience"].tolist()
    ['visited', 'browsed a category, no purchase', 'abandoned a cart']
    """
    from helpers.stats import rate_table

    _need(store.events, "events", ["user_id", "ts", "event"])
    _need(store.orders, "orders", ["user_id", "ordered_at"])
    t = pd.Timestamp(asof)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    ev = store.events
    win = ev.loc[(ev["ts"] < t) & (ev["ts"] >= t - pd.Timedelta(days=lookback_days)),
                 ["user_id", "ts", "event"]]
    bought = win.loc[win["event"] == "purchase"].groupby("user_id")["ts"].max()
    carted = win.loc[win["event"] == "add_to_cart"].groupby("user_id")["ts"].max()
    viewed = pd.Index(win.loc[win["event"] == "view_item", "user_id"].unique())
    visited = pd.Index(win["user_id"].unique())
    # a purchase at the same moment as (or after) the last add-to-cart closes the cart
    abandoned = carted.index[~(bought.reindex(carted.index) >= carted).fillna(False).to_numpy()]
    browsed = viewed.difference(bought.index)
    o = store.orders
    done = o["status"].eq("completed") if "status" in o.columns else True
    fut = o.loc[done & (o["ordered_at"] >= t)
                & (o["ordered_at"] < t + pd.Timedelta(days=horizon_days)), "user_id"].unique()
    aud = {"visited": visited, "browsed a category, no purchase": browsed,
           "abandoned a cart": abandoned}
    n = pd.Series({k: len(v) for k, v in aud.items()})
    k = pd.Series({k: int(np.isin(v, fut).sum()) for k, v in aud.items()})
    out = rate_table(k, n).rename_axis("audience").reset_index()
    return out.assign(asof=t.date().isoformat())[["asof", "audience", "n", "k", "rate",
                                                  "ci_low", "ci_high"]]


# ---------------------------------------------------------------------------------------------
# choices from the data (parameters left as None)
# ---------------------------------------------------------------------------------------------

def choose_cutoff(times: pd.Series, share: float = 0.75, *, min_train: float = 0.5):
    """A cut-off for a temporal split: the moment ``share`` of the way through ``times``' period.

    The default, three quarters, keeps the last quarter of the period as the test. When that
    leaves fewer than ``min_train`` × ``share`` of the times before the cut-off (activity
    bunched at the end, as in an export that starts quiet: under 37.5 % of the purchases
    before a three-quarter cut), the cut-off is instead the moment ``share`` of the times have
    passed, so the models have something to learn from.

    Rounded down to the day when the period spans at least two weeks, to the hour when it spans
    at least two days, else to the minute, so the split reads well and is stable. ``None`` when
    there are fewer than two distinct times.

    >>> t = pd.Series(pd.to_datetime(["2025-01-01", "2025-12-31"], utc=True))
    >>> str(choose_cutoff(t, 0.5))
    '2025-07-02 00:00:00+00:00'
    >>> t = pd.Series(pd.to_datetime(["2025-01-01 10:00", "2025-01-01 14:00"], utc=True))
    >>> str(choose_cutoff(t))
    '2025-01-01 13:00:00+00:00'
    >>> late = pd.Series(pd.to_datetime(["2025-01-01 00:00"] + ["2025-01-01 10:00"] * 3
    ...                                 + [f"2025-01-01 10:{m:02d}" for m in range(1, 7)], utc=True))
    >>> str(choose_cutoff(late))  # 1 of 10 before 07:34: three quarters of the times instead
    '2025-01-01 10:04:00+00:00'
    """
    t = pd.Series(times).dropna()
    if t.nunique() < 2:
        return None
    start, end = t.min(), t.max()
    span = end - start
    unit = "D" if span >= pd.Timedelta(days=14) else "h" if span >= pd.Timedelta(days=2) else "min"
    cut = (start + share * span).floor(unit)
    if (t < cut).mean() < min_train * share:
        cut = t.sort_values().iloc[int(np.ceil(share * (len(t) - 1)))].floor(unit)
        if cut <= start:  # the floor fell on the first time: train on at least that moment
            cut = t.loc[t > start].min()
    return cut


def fit_recommenders(train: pd.DataFrame, seen: pd.DataFrame, items: pd.DataFrame | None = None,
                     *, min_support: float = 0.005, min_confidence: float = 0.2) -> dict:
    """The candidate recommenders of notebook 07, fitted on one training split.

    Always: ``popularity``, ``item-to-item (orders)`` and, when there are item views,
    ``item-to-item (views)``. When every item has a category: ``item-to-item, category level``
    (with browsing), ``category level, purchases only`` and ``category rules`` (association rules
    between categories, ``helpers.paths.rules``; left out when no rule reaches the thresholds).
    Returns ``{name: Recommender}`` plus the key ``"_skipped"``: a list of sentences saying which
    models were left out and why (pop it before scoring the models).

    >>> tr = pd.DataFrame({"user_id": [1, 1, 2], "order_id": [1, 1, 2], "item_id": [7, 8, 7],
    ...                    "quantity": 1})
    >>> sorted(k for k in fit_recommenders(tr, tr.iloc[:0].assign(session_id=[])) if k[0] != "_")
    ['item-to-item (orders)', 'popularity']
    """
    from helpers import paths

    catalogue = None if items is None else items["item_id"]
    models = {"popularity": fit_popularity(train, items=catalogue),
              "item-to-item (orders)": fit_item_to_item(train, train, history=seen, items=items)}
    skipped = []
    if len(seen):
        models["item-to-item (views)"] = fit_item_to_item(train, seen, basket="session_id",
                                                          history=seen, items=items)
    else:
        skipped.append("no item views before the cut-off, so no model learns from browsing")
    has_cat = items is not None and "category" in items.columns and \
        items["category"].notna().all() and items["category"].nunique() > 1
    if has_cat:
        models["item-to-item, category level"] = fit_item_to_item(
            train, train, history=seen, items=items, level="category")
        models["category level, purchases only"] = fit_item_to_item(
            train, train, items=items, level="category")
        baskets = paths.baskets(train.merge(items[["item_id", "category"]]), "order_id",
                                "category")
        rules = paths.rules(baskets, min_support, min_confidence=min_confidence,
                            single_consequent=True) if len(baskets) else pd.DataFrame()
        if len(rules):
            models["category rules"] = fit_rules(train, rules, items, history=seen)
        else:
            skipped.append("no association rule between categories reaches the thresholds")
    else:
        skipped.append("the category-level models need a category for every item")
    models["_skipped"] = skipped
    return models


def choose_campaign(campaign_sends: pd.DataFrame | None) -> str | None:
    """The campaign to analyse when none is named: the one with most users (ties: first name).

    >>> cs = pd.DataFrame({"campaign": ["b", "a", "a"]})
    >>> choose_campaign(cs)
    'a'
    """
    if campaign_sends is None or campaign_sends.empty:
        return None
    n = campaign_sends.groupby("campaign").size()
    return str(n.sort_index(kind="stable").sort_values(ascending=False, kind="stable").index[0])


def busiest_day(orders: pd.DataFrame, *, time: str = "ordered_at", tz: str = "UTC") -> pd.Series:
    """The day with most orders, its order count and the median day's (days with an order).

    Days are calendar days in the shop's time zone ``tz`` (``store.timezone``): a sale day
    starts at the shop's midnight, not at UTC's.

    >>> o = pd.DataFrame({"ordered_at": pd.to_datetime(["2025-01-01", "2025-01-02",
    ...                                                 "2025-01-02", "2025-01-03"], utc=True)})
    >>> busiest_day(o).to_dict()
    {'day': '2025-01-02', 'orders': 2, 'median_day': 1.0, 'days': 3}
    """
    # the shop's calendar day: drop the zone before flooring (a midnight may not exist in it)
    days = orders[time].dt.tz_convert(tz).dt.tz_localize(None).dt.floor("D").value_counts()
    if days.empty:
        return pd.Series({"day": None, "orders": 0, "median_day": np.nan, "days": 0})
    days = days.sort_index().sort_values(ascending=False, kind="stable")
    return pd.Series({"day": days.index[0].date().isoformat(), "orders": int(days.iloc[0]),
                      "median_day": float(days.median()), "days": len(days)})


def scene_dates(store, *, lookback_days: int = 7, horizon_days: int = 14) -> dict:
    """Dates for :func:`scene_triggers`: the week before the busiest day, and an ordinary week.

    A scene date needs ``lookback_days`` of events before it and ``horizon_days`` of orders
    after it inside the data. ``"week before the busiest day"`` is the busiest order day
    (:func:`busiest_day`, in the shop's time zone) minus ``lookback_days``, moved into that
    range if needed;
    ``"ordinary week"`` the valid date nearest the middle of the data whose windows do not
    overlap the busiest day's scene. Returns ``{scene: "YYYY-MM-DD"}`` (the ordinary week
    first): empty when the data is shorter than ``lookback_days + horizon_days``; only the
    busiest-day scene when no ordinary week fits.

    >>> from helpers.data import Store
    >>> days = pd.date_range("2025-01-01", "2025-03-31", tz="UTC")
    >>> ev = pd.DataFrame({"ts": days})
    >>> o = pd.DataFrame({"ordered_at": days.append(pd.DatetimeIndex([days[60]] * 5))})
    >>> scene_dates(Store(events=ev, orders=o))
    {'ordinary week': '2025-02-02', 'week before the busiest day': '2025-02-23'}
    """
    _need(store.orders, "orders", ["ordered_at"])
    times = [store.orders["ordered_at"]]
    if store.events is not None and "ts" in store.events.columns:
        times.append(store.events["ts"])
    start = min(t.min() for t in times).ceil("D")
    end = max(t.max() for t in times)
    first = start + pd.Timedelta(days=lookback_days)
    last = (end - pd.Timedelta(days=horizon_days)).floor("D")
    if last < first:
        return {}
    peak = busiest_day(store.orders, tz=getattr(store, "timezone", "UTC"))["day"]
    at = pd.Timestamp(peak, tz="UTC") - pd.Timedelta(days=lookback_days)
    at = min(max(at, first), last)
    out = {}
    span = pd.Timedelta(days=lookback_days + horizon_days)
    mid = (first + (last - first) / 2).floor("D")
    cands = pd.date_range(first, last, freq="D")
    ok = cands[abs(cands - at) >= span]
    if len(ok):
        best = ok[np.argmin(np.abs((ok - mid).total_seconds()))]
        out["ordinary week"] = best.date().isoformat()
    out["week before the busiest day"] = at.date().isoformat()
    return out


def campaign_plan(uplift: pd.DataFrame | None = None, *, campaign: str = "campaign",
                  recommend_users: int | None = None, abandoners: int | None = None,
                  currency: str | None = None) -> pd.DataFrame:
    """Next quarter's campaign plan from the measured results: audience, size, profit, test.

    ``uplift`` is :func:`uplift_by_segment` with money (or None when no campaign was measured):
    segments whose uplift interval lies above zero and whose measured profit is positive go to
    a "scale" line with the profit the last campaign earned there (in-sample, optimistic); the
    others to a "learn" line (both named after ``campaign``). ``recommend_users`` (test buyers of the recommender evaluation) and
    ``abandoners`` (the cart-abandonment audience of an ordinary week) add their lines. The
    profit column is named with ``currency`` when given.

    >>> u = pd.DataFrame({"segment": ["a", "b", "all"], "n_treated": [80, 80, 160],
    ...                   "n_control": [20, 20, 40], "ci_low": [0.01, -0.02, 0.0],
    ...                   "incr_profit": [3.0, 1.0, 2.0], "total_profit": [300.0, 100.0, 400.0]})
    >>> campaign_plan(u, campaign="spring", abandoners=95, currency="EUR")[[
    ...     "campaign", "users", "expected incr. profit (EUR)"]]
                        campaign  users  expected incr. profit (EUR)
    0              spring, scale    100                        300.0
    1              spring, learn    100                          NaN
    2  cart-abandonment reminder     95                          NaN
    """
    col = f"expected incr. profit ({currency})" if currency else "expected incr. profit"
    rows = []
    if uplift is not None and len(uplift):
        seg = uplift.set_index("segment").drop(index="all", errors="ignore")
        money = "total_profit" in seg.columns and seg["total_profit"].notna().any()
        good = seg["ci_low"] > 0
        if money:
            good &= seg["incr_profit"] > 0
        proven = seg.index[good].tolist()
        unproven = seg.index[~good].tolist()
        if proven:
            rows.append({"campaign": f"{campaign}, scale", "audience": "; ".join(proven),
                         "users": int(seg.loc[proven, ["n_treated", "n_control"]].sum().sum()),
                         col: round(float(seg.loc[proven, "total_profit"].sum()))
                         if money else np.nan,
                         "experiment": "keep a 20 % holdout; uplift in 30-day conversion and "
                                       "profit"})
        if unproven:
            rows.append({"campaign": f"{campaign}, learn", "audience": "; ".join(unproven),
                         "users": int(seg.loc[unproven, ["n_treated", "n_control"]].sum().sum()),
                         col: np.nan,
                         "experiment": "50 % holdout sized for the uplift worth acting on "
                                       "(power, notebook 06)"})
    if recommend_users:
        rows.append({"campaign": "recommendations (猜你喜欢)", "audience": "buyers and browsers",
                     "users": int(recommend_users), col: np.nan,
                     "experiment": "A/B: the best recommender vs bestsellers; KPI orders per "
                                   "user (notebook 06)"})
    if abandoners:
        rows.append({"campaign": "cart-abandonment reminder",
                     "audience": "added to cart, no order in 7 days", "users": int(abandoners),
                     col: np.nan, "experiment": "10 % holdout; 14-day conversion with Wilson CI"})
    return pd.DataFrame(rows, columns=["campaign", "audience", "users", col, "experiment"])


def scene_table(store, dates: dict, **kw) -> pd.DataFrame:
    """:func:`scene_triggers` at each of ``dates`` (``{scene: date}``), stacked with a ``scene``.

    An empty ``dates`` (the data is too short for a scene, see :func:`scene_dates`) gives an
    empty table with the same columns.

    >>> from helpers.data import load_store
    >>> scene_table(load_store(), {})
    Empty DataFrame
    Columns: [scene, asof, audience, n, k, rate, ci_low, ci_high]
    Index: []
    """
    cols = ["scene", "asof", "audience", "n", "k", "rate", "ci_low", "ci_high"]
    parts = [scene_triggers(store, d, **kw).assign(scene=name) for name, d in dates.items()]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def best_recommender(scores: pd.DataFrame) -> str:
    """The model of a :func:`compare` table to show: the best hit-rate among those that beat the
    baseline beyond chance (paired interval above 0), else the baseline itself.

    >>> t = pd.DataFrame({"model": ["popularity", "a", "b"], "metric": "hit_rate",
    ...                   "value": [0.2, 0.25, 0.3], "diff_low": [0.0, 0.01, -0.01]})
    >>> best_recommender(t)
    'a'
    """
    hr = scores.loc[scores["metric"] == "hit_rate"]
    better = hr.loc[hr["diff_low"] > 0]
    pick = better if len(better) else hr.loc[hr["diff_low"] == hr["diff_low"].max()].iloc[:1]
    if not len(better):
        base = hr.loc[hr["model"] == "popularity"]
        pick = base if len(base) else pick
    return str(pick.sort_values("value", ascending=False, kind="stable")["model"].iloc[0])
