"""Who the customers are: RFM scores and segments, lifecycle stages, behavioural clusters, personas.

The article's user profile and segmentation section (用户画像与分层) in four tools:

* :func:`rfm` scores every buyer on recency, frequency and monetary value (Hughes 1994,
  *Strategic Database Marketing*) and names a segment from :data:`SEGMENT_MAP`;
* :func:`lifecycle` puts every user in a stage (prospect, new, active, dormant, churned) by
  day thresholds, with the article's acquisition / growth / maturity / decline stage beside it;
* :func:`cluster_features`, :func:`choose_k` and :func:`clusters` group buyers by behaviour with
  scikit-learn's k-means, choosing k by the silhouette (Rousseeuw 1987);
* :func:`segment_summary` and :func:`personas` describe any grouping in a manager's words.

All functions take an ``asof`` time: only orders and sessions up to it count, so a segmentation
can be rebuilt as it looked on any past day (e.g. the day a campaign was sent).

Examples
--------
>>> orders = pd.DataFrame({"user_id": [1, 1, 2, 3], "revenue": [10.0, 30.0, 5.0, 80.0],
...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-02-01", "2025-03-05"],
...                                  utc=True)})
>>> rfm(orders, "2025-03-10")[["user_id", "recency_days", "frequency", "monetary"]]
   user_id  recency_days  frequency  monetary
0        1             9          2      40.0
1        2            37          1       5.0
2        3             5          1      80.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from helpers.data import require_columns as _require
from helpers.stats import wilson

SEGMENTS = ("Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
            "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost")
"""The named RFM segments, best first (the order tables and plots use)."""

# Rows: R score 1..5 (1 = longest ago); columns: FM score 1..5 (1 = fewest orders / least spend).
_GRID = (
    ("Lost", "Lost", "At risk", "Can't lose them", "Can't lose them"),                   # R1
    ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"),             # R2
    ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),            # R3
    ("Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Champions"),     # R4
    ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),       # R5
)

SEGMENT_MAP: dict[tuple[int, int], str] = {
    (r + 1, fm + 1): _GRID[r][fm] for r in range(5) for fm in range(5)}
"""Segment name for every ``(R, FM)`` score pair, FM = ``(F + M) // 2``.

The grid (R down, FM across) reads like the usual RFM map: the top right (recent, many orders,
high spend) are *Champions*; the top left are *New* buyers (recent, one small order) and
*Promising* ones; recent buyers with a middling FM are *Potential loyalists*; the middle row is
*About to sleep* / *Need attention* / *Loyal*; the bottom rows are *Hibernating* and *Lost* when
FM is low, *At risk* when it is middling and *Can't lose them* when it is high.

==  ==============  ==================  ==================  ===============  ===============
R   FM 1            FM 2                FM 3                FM 4             FM 5
==  ==============  ==================  ==================  ===============  ===============
5   New             Potential loyalist  Potential loyalist  Champions        Champions
4   Promising       Potential loyalist  Potential loyalist  Loyal            Champions
3   About to sleep  About to sleep      Need attention      Loyal            Loyal
2   Hibernating     Hibernating         At risk             At risk          Can't lose them
1   Lost            Lost                At risk             Can't lose them  Can't lose them
==  ==============  ==================  ==================  ===============  ===============
"""

SEGMENT_NEEDS: dict[str, str] = {
    "Champions": "reward and ask for referrals and reviews; early access, no discounts needed",
    "Loyal": "membership perks and cross-sell of complements to raise basket size",
    "Potential loyalist": "a second-category recommendation and a loyalty invitation",
    "New": "onboarding: delivery follow-up, a 'customers also bought' nudge for order two",
    "Promising": "a timely second-purchase reminder while the brand is fresh",
    "Need attention": "personalised offers from their favourite category before they drift",
    "About to sleep": "a light reactivation nudge (new arrivals, a small limited-time offer)",
    "At risk": "win-back e-mail with a personal offer; ask what went wrong",
    "Can't lose them": "the strongest win-back: personal contact, a generous offer, a survey",
    "Hibernating": "low-cost reminders only around the shop's big sales",
    "Lost": "leave out of paid campaigns; keep in the cheapest channel",
}
"""What each RFM segment needs next (the hand-off to notebook 07, precision marketing)."""

STAGES = ("prospect", "new", "active", "dormant", "churned")
"""Lifecycle stages of :func:`lifecycle`, in the order a user passes them."""

ARTICLE_STAGE: dict[str, str] = {
    "prospect": "acquisition", "new": "growth", "active": "maturity",
    "dormant": "decline", "churned": "decline"}
"""The article's lifecycle stage for each of our stages.

acquisition (引入期) is a visitor not yet won; growth (成长期) a buyer whose first order is
recent; maturity (成熟期) a buyer who keeps buying; decline (衰退期/流失期) a buyer gone quiet
(dormant) or gone (churned).
"""

ARTICLE_STAGES = ("acquisition", "growth", "maturity", "decline")

FEATURES = ("frequency", "aov", "discount_share", "category_breadth", "sessions", "mobile_share")
"""Behavioural features of :func:`cluster_features` (those a store can supply)."""

# Skewed counts and money are clustered on log1p so a handful of big spenders do not become
# clusters of their own.
_LOG_FEATURES = ("frequency", "aov", "category_breadth", "sessions")


def as_of(store, asof=None) -> pd.Timestamp:
    """The analysis time as a UTC timestamp; ``None`` means the end of the data (last event).

    A naive time or date string is read as UTC.

    >>> as_of(None, "2025-09-15 02:00")
    Timestamp('2025-09-15 02:00:00+0000', tz='UTC')
    """
    if asof is None:
        if store is None:
            raise ValueError("asof=None needs a store to find the end of the data")
        return store.events["ts"].max()
    ts = pd.Timestamp(asof)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def score(values, *, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Quantile score 1..``bins``: 1 + floor(bins x p), p = share of the others with a worse value.

    p is the percentile of the value among the other users (0 for the worst, 1 for the best),
    and p = 1 is folded into the top score. When the values do not vary at all (a lone user, or
    every user with the same recency), there is nothing to rank: everyone gets the middle score,
    (bins + 1) // 2, rather than the bottom one (a lone buyer who ordered today is not "Lost").

    Ties share a score (the score of the tie block's lowest member), so two users with the same
    value never get different scores, which ``rank(method="first")`` or ``pd.qcut`` on ranks
    would do arbitrarily. The price: a big tie block swallows its quantiles. When 75 % of buyers
    have one order, all of them get F = 1 and the next value (two orders) jumps straight to F = 4:
    F then reads "one order" versus "more", and scores 2-3 stay empty. Unique values give plain
    quintiles.

    Parameters
    ----------
    values : Series
        One value per user (no NaN).
    bins : int
        Number of score levels.
    higher_is_better : bool
        False for recency in days (fewer days = better = higher score).

    Examples
    --------
    >>> score(pd.Series([1, 1, 1, 2, 3])).tolist()
    [1, 1, 1, 4, 5]
    >>> score(pd.Series([3, 30, 300, 3, 60]), higher_is_better=False).tolist()
    [4, 3, 1, 4, 2]
    >>> score(pd.Series([0]), higher_is_better=False).tolist()
    [3]
    """
    values = pd.Series(values)
    if values.isna().any():
        raise ValueError(f"score: {int(values.isna().sum())} missing values")
    n = len(values)
    if n == 0:
        return pd.Series([], dtype="int64", index=values.index)
    if values.nunique() == 1:
        return pd.Series((bins + 1) // 2, index=values.index, name=values.name, dtype="int64")
    x = values if higher_is_better else -values
    worse = (x.rank(method="min").to_numpy() - 1) / max(n - 1, 1)
    out = np.minimum(1 + np.floor(bins * worse), bins).astype("int64")
    return pd.Series(out, index=values.index, name=values.name)


def rfm(orders: pd.DataFrame, asof=None, *, status: str | None = "completed") -> pd.DataFrame:
    """Recency, frequency, monetary value, their 1-5 scores and a named segment per buyer.

    Parameters
    ----------
    orders : DataFrame
        The orders table: ``user_id``, ``ordered_at`` (tz-aware), ``revenue`` and, if present,
        ``status``.
    asof : timestamp or str, optional
        Only orders at or before it count; recency is measured back from it. ``None`` means the
        last order in ``orders`` (pass :func:`as_of` of the store for the end of the data).
    status : str or None
        Orders of this status count (default completed); ``None`` counts every order.

    Returns
    -------
    DataFrame, one row per buyer sorted by ``user_id``: ``first_order``, ``last_order``,
    ``recency_days`` (whole days from the last order to ``asof``), ``frequency`` (orders),
    ``monetary`` (revenue), ``aov``, scores ``r``, ``f``, ``m`` (:func:`score`: R on recency, lower
    is better), ``fm`` = (f + m) // 2, and ``segment`` from :data:`SEGMENT_MAP` (an ordered
    categorical over :data:`SEGMENTS`). Scores are relative to the buyers in the table.
    ``.attrs["dropped"]`` counts the orders left out (wrong status, after ``asof``);
    ``.attrs["no_revenue"]`` the counted orders whose revenue is missing (they add nothing to
    ``monetary``). When no counted order has a revenue, ``monetary``, ``aov`` and ``m`` are
    missing and FM is simply F (the map becomes R × F).

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 2, 2, 3, 4, 5], "revenue": [5.0, 9, 9, 50, 20, 1],
    ...     "status": ["completed"] * 5 + ["cancelled"],
    ...     "ordered_at": pd.to_datetime(["2025-03-01", "2025-01-01", "2025-02-20",
    ...                                   "2025-01-15", "2025-03-02", "2025-03-03"], utc=True)})
    >>> t = rfm(o, "2025-03-03")
    >>> t[["user_id", "recency_days", "frequency", "r", "f", "m", "segment"]]
       user_id  recency_days  frequency  r  f  m         segment
    0        1             2          1  4  1  1       Promising
    1        2            11          2  2  5  2          At risk
    2        3            47          1  1  1  5          At risk
    3        4             1          1  5  1  4  Potential loyalist
    >>> t.attrs["dropped"]
    {'status not completed': 1, 'after asof': 0}
    """
    _require(orders, "orders", ("user_id", "ordered_at", "revenue"))
    asof = as_of(None, asof) if asof is not None else orders["ordered_at"].max()
    keep = pd.Series(True, index=orders.index)
    dropped = {}
    if status is not None:
        ok = orders["status"].eq(status) if "status" in orders.columns else keep
        dropped[f"status not {status}"] = int((~ok).sum())
        keep &= ok
    late = orders["ordered_at"] > asof
    dropped["after asof"] = int((keep & late).sum())
    o = orders.loc[keep & ~late, ["user_id", "ordered_at", "revenue"]]
    has_revenue = bool(o["revenue"].notna().any())
    t = o.groupby("user_id", sort=True).agg(
        first_order=("ordered_at", "min"), last_order=("ordered_at", "max"),
        frequency=("ordered_at", "size"), monetary=("revenue", "sum")).reset_index()
    t["recency_days"] = (asof - t["last_order"]).dt.days.astype("int64")
    t["r"] = score(t["recency_days"], higher_is_better=False)
    t["f"] = score(t["frequency"])
    if has_revenue:
        t["aov"] = t["monetary"] / t["frequency"]
        t["m"] = score(t["monetary"])
        t["fm"] = (t["f"] + t["m"]) // 2
    else:
        t["monetary"] = t["aov"] = np.nan
        t["m"] = pd.array([pd.NA] * len(t), dtype="Int64")
        t["fm"] = t["f"]
    names = np.array(_GRID, dtype=object)[t["r"].to_numpy() - 1, t["fm"].to_numpy() - 1]
    t["segment"] = pd.Categorical(names, categories=SEGMENTS, ordered=True)
    cols = ["user_id", "first_order", "last_order", "recency_days", "frequency", "monetary",
            "aov", "r", "f", "m", "fm", "segment"]
    t = t[cols]
    t.attrs["dropped"] = dropped
    t.attrs["no_revenue"] = int(o["revenue"].isna().sum())
    t.attrs["asof"] = asof
    return t


def rfm_grid(table: pd.DataFrame, *, value: str = "users", cols: str = "fm") -> pd.DataFrame:
    """R x F (or R x FM) grid of buyer counts or revenue: the data behind an RFM heatmap.

    Rows are R = 5 (most recent) down to 1, columns ``cols`` score 1..5; every cell is present
    (empty cells hold 0). ``value`` is ``"users"`` (counts) or ``"monetary"`` (revenue).

    >>> t = pd.DataFrame({"r": [5, 5, 1], "fm": [1, 1, 3], "monetary": [1.0, 2.0, 4.0]})
    >>> rfm_grid(t).loc[5].tolist(), int(rfm_grid(t).to_numpy().sum())
    ([2, 0, 0, 0, 0], 3)
    """
    if value not in ("users", "monetary"):
        raise ValueError(f"rfm_grid: value must be 'users' or 'monetary', got {value!r}")
    vals = np.ones(len(table), dtype="int64") if value == "users" else table["monetary"]
    grid = (pd.DataFrame({"r": table["r"].to_numpy(), cols: table[cols].to_numpy(),
                          "v": np.asarray(vals)})
            .pivot_table(index="r", columns=cols, values="v", aggfunc="sum", fill_value=0)
            .reindex(index=range(5, 0, -1), columns=range(1, 6), fill_value=0))
    grid.index.name, grid.columns.name = "R", cols.upper()
    return grid


def segment_summary(table: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Size, share (with Wilson 95 % CI), revenue (whole units) and revenue share per group of ``by``.

    ``table`` has one row per user with ``by``, ``frequency`` and ``monetary`` (the output of
    :func:`rfm` or :func:`lifecycle`). Every category of a categorical ``by`` gets a row, empty
    ones with 0, so the sizes add up to the users in ``table``. When ``monetary`` is missing
    for every user (orders without revenue), the revenue columns are left out rather than
    filled with NaN.

    >>> t = pd.DataFrame({"g": ["a", "a", "b"], "frequency": [1, 3, 1],
    ...                   "monetary": [10.0, 30.0, 60.0]})
    >>> segment_summary(t, "g")[["g", "users", "share", "revenue_share", "aov"]]
       g  users   share  revenue_share   aov
    0  a      2  0.6667            0.4  10.0
    1  b      1  0.3333            0.6  60.0
    """
    g = table.groupby(by, observed=False, sort=True)
    out = pd.DataFrame({"users": g.size(), "orders": g["frequency"].sum(),
                        "revenue": g["monetary"].sum()})
    n = int(out["users"].sum())
    out["share"] = out["users"] / n
    out["share_ci_low"], out["share_ci_high"] = wilson(out["users"].to_numpy(), n)
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total > 0 else np.nan
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    out["orders_per_user"] = out["orders"] / out["users"].where(out["users"] > 0)
    out["revenue"] = out["revenue"].round(0).astype("int64")  # whole money units read better
    cols = ["users", "share", "share_ci_low", "share_ci_high", "orders", "revenue",
            "revenue_share", "aov", "orders_per_user"]
    if table["monetary"].isna().all():
        cols = [c for c in cols if c not in ("revenue", "revenue_share", "aov")]
    return out[cols].round(4).reset_index()


def lifecycle(store, asof=None, *, new_days: int = 30, active_days: int = 120,
              churn_days: int = 270, status: str | None = "completed") -> pd.DataFrame:
    """Lifecycle stage of every user known at ``asof``, by documented day thresholds.

    With d_first / d_last the whole days from a user's first / last counted order to ``asof``:

    =========  ===========================================  ===============================
    stage      rule (checked top down)                      article stage
    =========  ===========================================  ===============================
    prospect   no counted order up to ``asof``              acquisition (引入期)
    new        d_first < ``new_days``                       growth (成长期)
    active     d_last < ``active_days``                     maturity (成熟期)
    dormant    ``active_days`` <= d_last < ``churn_days``   decline (衰退期)
    churned    d_last >= ``churn_days``                     decline (流失期)
    =========  ===========================================  ===============================

    The defaults (120 and 270 days) suit a shop whose customers buy a few times a year; choose
    them from the data (e.g. the inter-purchase times of notebook 05) for another rhythm.

    Parameters
    ----------
    store : helpers.data.Store
        Needs ``orders``; users come from ``users`` (first_seen up to ``asof``) or, without it,
        from ``events``.
    asof : timestamp or str, optional
        ``None`` is the end of the data (:func:`as_of`).
    new_days, active_days, churn_days : int
        Thresholds in days; need 0 < new_days <= active_days < churn_days.
    status : str or None
        Which orders count (:func:`rfm`).

    Returns
    -------
    DataFrame, one row per user sorted by ``user_id``: ``stage`` and ``article_stage``
    (ordered categoricals), ``days_since_first``, ``days_since_last`` (NaN for prospects),
    ``frequency`` and ``monetary`` (0 for prospects). ``.attrs["dropped"]`` counts users first
    seen after ``asof`` and the orders :func:`rfm` left out.

    Examples
    --------
    >>> from helpers.data import Store
    >>> ev = pd.DataFrame({"user_id": [1, 2, 3, 4, 5], "ts": pd.to_datetime(["2025-01-01"] * 5,
    ...                    utc=True)})
    >>> o = pd.DataFrame({"user_id": [2, 3, 3, 4], "revenue": [1.0, 1, 1, 1], "ordered_at":
    ...     pd.to_datetime(["2025-06-01", "2025-01-02", "2025-05-01", "2025-01-10"], utc=True)})
    >>> lc = lifecycle(Store(events=ev, orders=o), "2025-06-10", new_days=10, active_days=30,
    ...                churn_days=150)
    >>> lc[["user_id", "stage", "article_stage", "days_since_last"]]
       user_id     stage article_stage  days_since_last
    0        1  prospect   acquisition              NaN
    1        2       new        growth              9.0
    2        3   dormant       decline             40.0
    3        4   churned       decline            151.0
    4        5  prospect   acquisition              NaN
    """
    if not (0 < new_days <= active_days < churn_days):
        raise ValueError("lifecycle: need 0 < new_days <= active_days < churn_days, got "
                         f"{new_days}, {active_days}, {churn_days}")
    if store.orders is None:
        raise ValueError("lifecycle needs the orders table")
    asof = as_of(store, asof)
    if store.users is not None:
        seen = store.users.set_index("user_id")["first_seen"]
    else:
        seen = store.events.groupby("user_id")["ts"].min()
    known = seen.index[seen <= asof]
    buyers = rfm(store.orders, asof, status=status).set_index("user_id")
    users = known.union(buyers.index).sort_values()
    t = pd.DataFrame(index=pd.Index(users, name="user_id"))
    t["days_since_first"] = (asof - buyers["first_order"]).dt.days.reindex(users)
    t["days_since_last"] = buyers["recency_days"].reindex(users).astype("float64")
    t["frequency"] = buyers["frequency"].reindex(users, fill_value=0).astype("int64")
    t["monetary"] = buyers["monetary"].reindex(users, fill_value=0.0)
    if buyers["monetary"].isna().all():  # no revenue at all: unknown, not zero, for everyone
        t["monetary"] = np.nan
    first, last = t["days_since_first"], t["days_since_last"]
    stage = np.select(
        [last.isna(), first < new_days, last < active_days, last < churn_days],
        ["prospect", "new", "active", "dormant"], default="churned")
    t["stage"] = pd.Categorical(stage, categories=STAGES, ordered=True)
    t["article_stage"] = pd.Categorical(pd.Series(stage).map(ARTICLE_STAGE).to_numpy(),
                                        categories=ARTICLE_STAGES, ordered=True)
    t["days_since_first"] = first.astype("float64")
    t = t.reset_index()[["user_id", "stage", "article_stage", "days_since_first",
                         "days_since_last", "frequency", "monetary"]]
    t.attrs["dropped"] = {"users first seen after asof": int(len(seen) - (seen <= asof).sum()),
                          **{f"orders {k}": v for k, v in buyers.attrs["dropped"].items()}}
    t.attrs["asof"] = asof
    return t


def cluster_features(store, asof=None) -> pd.DataFrame:
    """Behavioural features of every buyer up to ``asof`` (completed orders), one row each.

    Columns (those the store can supply; a missing table drops its features):
    ``frequency`` (orders), ``aov`` (revenue per order; needs revenue: a buyer none of whose
    orders has one gets the median AOV, counted in ``.attrs["aov_imputed"]``),
    ``discount_share`` (discount over revenue + discount; needs revenue), ``category_breadth`` (distinct categories bought; needs order_lines and
    items), ``sessions`` (visits up to ``asof``; needs sessions) and ``mobile_share`` (share of
    those visits on mobile; needs sessions.device). Indexed by ``user_id``, sorted.

    >>> from helpers.data import Store
    >>> o = pd.DataFrame({"order_id": [1, 2], "user_id": [7, 7], "revenue": [90.0, 30.0],
    ...     "discount": [10.0, 0.0], "status": "completed",
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01"], utc=True)})
    >>> cluster_features(Store(events=pd.DataFrame({"ts": o["ordered_at"]}), orders=o))
             frequency   aov  discount_share
    user_id
    7                2  60.0          0.0769
    """
    asof = as_of(store, asof)
    if store.orders is None:
        raise ValueError("cluster_features needs the orders table")
    o = _completed(store.orders, asof)
    g = o.groupby("user_id", sort=True)
    f = pd.DataFrame({"frequency": g.size()})
    has_revenue = bool(o["revenue"].notna().any())
    imputed = 0
    if has_revenue:
        aov = g["revenue"].mean()
        imputed = int(aov.isna().sum())
        f["aov"] = aov.fillna(aov.median())
    if "discount" in o.columns and has_revenue:
        disc = g["discount"].sum()
        f["discount_share"] = (disc / (g["revenue"].sum() + disc).where(lambda s: s > 0)).fillna(0)
    if store.order_lines is not None and store.items is not None:
        lines = (store.order_lines[["order_id", "item_id"]]
                 .merge(o[["order_id", "user_id"]], on="order_id")
                 .merge(store.items[["item_id", "category"]], on="item_id", how="left"))
        f["category_breadth"] = (lines.groupby("user_id")["category"].nunique()
                                 .reindex(f.index, fill_value=0))
    if store.sessions is not None:
        s = store.sessions.loc[(store.sessions["started_at"] <= asof)
                               & store.sessions["user_id"].isin(f.index)]
        sg = s.groupby("user_id")
        f["sessions"] = sg.size().reindex(f.index, fill_value=0)
        if "device" in s.columns and s["device"].notna().any():
            f["mobile_share"] = (s["device"].eq("mobile").groupby(s["user_id"]).mean()
                                 .reindex(f.index, fill_value=0.0))
    f.index.name = "user_id"
    f = f.round(4)
    f.attrs["aov_imputed"] = imputed
    return f


def choose_k(features: pd.DataFrame, ks=range(2, 9), *, seed: int = 0,
             sample: int = 2000, n_init: int = 10) -> pd.DataFrame:
    """Silhouette and inertia of k-means for each k in ``ks``; pick the k with the top silhouette.

    The silhouette (Rousseeuw 1987; ``sklearn.metrics.silhouette_score``) compares each point's
    distance to its own cluster with the nearest other one (-1..1, higher is better separated).
    It is quadratic in the number of points, so it is computed on a seeded sample of ``sample``
    users; k-means itself sees all of them. Features are standardised as in :func:`clusters`.

    Returns a DataFrame with ``k``, ``silhouette``, ``inertia`` and ``best`` (True on the first
    k with the highest silhouette). Only k from 2 to one less than the number of distinct
    buyers can be scored (the silhouette needs a buyer outside each cluster); the others are left
    out, and when none is left the table is empty and ``.attrs["why"]`` says so.

    >>> rng = np.random.default_rng(1)
    >>> blob = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(9, 1, (50, 2))]  # two clear groups
    >>> X = pd.DataFrame(blob, columns=["a", "b"])
    >>> choose_k(X, range(2, 5)).query("best")["k"].tolist()
    [2]
    """
    X = _standardise(features)
    distinct = len(np.unique(X, axis=0)) if len(X) else 0
    usable = [k for k in ks if 2 <= k < distinct]
    rows = []
    for k in usable:
        km = _kmeans(X, k, seed, n_init)
        sil = silhouette_score(X, km.labels_, sample_size=min(sample, len(X)), random_state=seed)
        rows.append((k, round(float(sil), 4), round(float(km.inertia_), 2)))
    out = pd.DataFrame(rows, columns=["k", "silhouette", "inertia"])
    out["best"] = (np.arange(len(out)) == int(out["silhouette"].to_numpy().argmax())
                   if len(out) else pd.Series([], dtype=bool))
    out.attrs["why"] = "" if len(out) else (
        f"{distinct} distinct buyer(s) cannot be split into {_join_ks(ks)} clusters and still "
        "leave a buyer outside each")
    out.attrs["buyers"] = len(X)
    return out


def best_k(table: pd.DataFrame) -> int | None:
    """The k :func:`choose_k` marked best, or ``None`` when no k could be scored.

    >>> best_k(pd.DataFrame({"k": [3, 4], "best": [False, True]})), best_k(pd.DataFrame())
    (4, None)
    """
    if len(table) == 0 or not table["best"].any():
        return None
    return int(table.loc[table["best"], "k"].iloc[0])


def _join_ks(ks) -> str:
    # range(3, 9) -> "3 to 8"
    ks = list(ks)
    if not ks:
        return "no"
    return str(ks[0]) if len(ks) == 1 else f"{ks[0]} to {ks[-1]}"


def clusters(features: pd.DataFrame, k: int, *, seed: int = 0, n_init: int = 10) -> pd.DataFrame:
    """k-means clusters (scikit-learn ``KMeans``, fixed ``random_state`` and ``n_init``).

    Features are log1p-transformed where skewed (frequency, AOV, category breadth, sessions) and
    then z-scored (``StandardScaler``) so each counts equally. Clusters are numbered 0..k-1 by
    size, largest first.

    Returns
    -------
    DataFrame indexed by cluster: ``users``, ``share``, the mean of each raw feature, and
    ``profile``, the features whose standardised cluster mean is at least 0.5 above ("high")
    or below ("low") the buyers' average. ``.attrs["labels"]`` is a Series of the cluster per
    ``user_id``.

    >>> X = pd.DataFrame({"a": [0.0, 0.1, 0.2, 5.0, 5.1]}, index=pd.Index([1, 2, 3, 4, 5],
    ...                  name="user_id"))
    >>> c = clusters(X, 2)
    >>> c[["users", "a", "profile"]]
             users    a profile
    cluster
    0            3  0.10   low a
    1            2  5.05  high a
    >>> c.attrs["labels"].tolist()
    [0, 0, 0, 1, 1]
    """
    X = _standardise(features)
    km = _kmeans(X, k, seed, n_init)
    raw = pd.Series(km.labels_, index=features.index)
    sizes = raw.value_counts()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))  # k items: largest first, stable
    labels = raw.map({c: i for i, c in enumerate(order)}).rename("cluster")
    z = pd.DataFrame(X, index=features.index, columns=features.columns).groupby(labels).mean()
    out = features.groupby(labels).mean().round(4)
    out.insert(0, "share", (labels.value_counts(normalize=True).sort_index()).round(4))
    out.insert(0, "users", labels.value_counts().sort_index())
    out["profile"] = _profile(z)
    out.index.name = "cluster"
    out.attrs["labels"] = labels
    out.attrs["z"] = z
    return out


def personas(store, groups: pd.Series, asof=None) -> pd.DataFrame:
    """Persona table: who is in each group and how they buy (completed orders up to ``asof``).

    Parameters
    ----------
    store : helpers.data.Store
    groups : Series
        Group label (a segment, stage or cluster) indexed by ``user_id``.
    asof : optional
        As in :func:`rfm`.

    Returns
    -------
    DataFrame indexed by group: ``users``, ``revenue_share`` and ``aov`` (when the orders carry
    revenue), ``orders_per_user``,
    ``top_category`` (the category most users in the group spent most on; needs order_lines
    and items), ``top_channel`` (acquisition channel), ``top_device`` (users.device, else the
    most used session device; sessions count up to ``asof`` too), ``coupon_use`` (share of
    orders with a coupon; a missing or blank code is no coupon) with its Wilson
    95 % CI. Ties between top values go to the alphabetically first.

    >>> from helpers.data import Store
    >>> o = pd.DataFrame({"order_id": [1, 2, 3], "user_id": [7, 7, 8], "status": "completed",
    ...     "revenue": [10.0, 30.0, 60.0], "coupon": ["A", None, None],
    ...     "ordered_at": pd.to_datetime(["2025-01-01"] * 3, utc=True)})
    >>> s = Store(events=pd.DataFrame({"ts": o["ordered_at"]}), orders=o)
    >>> personas(s, pd.Series({7: "x", 8: "y"}))[["users", "revenue_share", "aov", "coupon_use"]]
           users  revenue_share   aov  coupon_use
    group
    x          1            0.4  20.0         0.5
    y          1            0.6  60.0         0.0
    """
    asof = as_of(store, asof)
    groups = groups.rename("group")
    groups.index.name = "user_id"
    o = _completed(store.orders, asof).merge(groups.reset_index(), on="user_id")
    g = o.groupby("group", observed=True, sort=True)
    out = pd.DataFrame({"users": groups.groupby(groups, observed=True).size()})
    if o["revenue"].notna().any():  # without any revenue these columns would be all NaN
        rev = g["revenue"].sum()
        out["revenue_share"] = rev / rev.sum()
        out["aov"] = g["revenue"].mean()
    out["orders_per_user"] = g.size() / out["users"]
    per_user = pd.DataFrame(index=groups.index)
    if store.order_lines is not None and store.items is not None:
        lines = (store.order_lines.merge(o[["order_id", "user_id"]], on="order_id")
                 .merge(store.items[["item_id", "category"]], on="item_id", how="left"))
        lines["spent"] = lines["quantity"] * lines["unit_price"]
        top = (lines.groupby(["user_id", "category"], as_index=False)["spent"].sum()
               .sort_values(["user_id", "spent", "category"], ascending=[True, False, True],
                            kind="stable").drop_duplicates("user_id"))
        per_user["category"] = top.set_index("user_id")["category"]
    if store.users is not None:
        u = store.users.set_index("user_id")
        for col, name in (("acquisition_channel", "channel"), ("device", "device")):
            if col in u.columns:
                per_user[name] = u[col]
    if store.sessions is not None:
        ses = store.sessions.loc[store.sessions["started_at"] <= asof]
        first = ses.sort_values(["user_id", "started_at"], kind="stable")
        if "channel" not in per_user and "channel" in first.columns:
            per_user["channel"] = first.drop_duplicates("user_id").set_index("user_id")["channel"]
        if "device" not in per_user and "device" in first.columns:
            per_user["device"] = _mode(first["device"], first["user_id"])
    for col in ("category", "channel", "device"):
        if col in per_user:
            out[f"top_{col}"] = _mode(per_user[col], groups)
    if "coupon" in o.columns:
        used = o["coupon"].notna() & o["coupon"].astype(str).str.strip().ne("")
        k = used.groupby(o["group"], observed=True).sum()
        n = g.size()
        out["coupon_use"] = k / n
        out["coupon_ci_low"], out["coupon_ci_high"] = wilson(k.reindex(out.index).to_numpy(),
                                                            n.reindex(out.index).to_numpy())
    out.index.name = "group"
    return out.round(4)


def _completed(orders, asof):
    _require(orders, "orders", ("order_id", "user_id", "ordered_at", "revenue"))
    ok = orders["ordered_at"] <= asof
    if "status" in orders.columns:
        ok &= orders["status"].eq("completed")
    return orders.loc[ok]


def _standardise(features: pd.DataFrame) -> np.ndarray:
    if features.isna().any().any():
        bad = features.columns[features.isna().any()].tolist()
        raise ValueError(f"features: missing values in column(s) {bad}")
    X = features.astype("float64").copy()
    logs = [c for c in _LOG_FEATURES if c in X.columns]
    X[logs] = np.log1p(X[logs].clip(lower=0))
    return StandardScaler().fit_transform(X.to_numpy())


def _kmeans(X, k, seed, n_init):
    # One thread: on a few thousand rows OpenMP start-up and spin-waiting cost more than they
    # save, and on a busy machine oversubscribed threads made the fit ten times slower.
    with threadpool_limits(limits=1):
        return KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(X)


def _profile(z: pd.DataFrame, cut: float = 0.5) -> pd.Series:
    """'high x, low y' from standardised cluster means (features in column order)."""
    words = pd.DataFrame(np.where(z >= cut, "high ", np.where(z <= -cut, "low ", "")),
                         index=z.index, columns=z.columns)
    words = words.where(words == "", words + np.asarray(z.columns, dtype=object))
    return words.apply(lambda r: ", ".join(w for w in r if w) or "average", axis=1)


def _mode(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Most frequent value of ``values`` within each group (ties: alphabetically first)."""
    df = pd.DataFrame({"g": groups, "v": values.reindex(groups.index)}).dropna()
    counts = df.groupby(["g", "v"], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["g", "n", "v"], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("g").set_index("g")["v"]
