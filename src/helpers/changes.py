"""What changed, when, for whom: time-bounded shifts in a shop's daily rates, found on their own.

A three-week payment failure on one device dilutes into the average of a two-year funnel. This
module turns the log into daily binomial series (of each funnel step, each event's share of
sessions, each channel's share of traffic, the share of new visitors), overall and per segment,
and looks in every series for the one period whose rate differs most from the rest.

The search is the temporal scan statistic for binomial counts (Kulldorff 1997, "A spatial scan
statistic"; its one-dimensional form in time): for every window ``[s, e]`` of consecutive days
(two days to six weeks), the log-likelihood ratio of "the rate inside differs from the rate in
the four weeks around it" against "one rate throughout", maximised over the windows with
cumulative sums. The best window's p-value is the
χ²₁ tail of twice its log-likelihood ratio multiplied by the number of windows searched (a
Bonferroni bound, conservative where Kulldorff uses Monte Carlo), and the p-values of all series
are then adjusted together by Benjamini–Hochberg. Windows shorter than ``min_days`` or with fewer
than ``min_n`` trials inside are not searched, so tiny segments cannot flood the table.

Examples
--------
>>> k = np.r_[[10] * 20, [1] * 10, [10] * 20]
>>> best = scan(k, np.full(50, 100))
>>> best["start"], best["end"], round(best["during"], 2), round(best["baseline"], 2)
(20, 29, 0.01, 0.1)
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from helpers import args
from helpers.funnel import CANONICAL_STEPS as FUNNEL
from helpers.stats import wilson


def _loglik(k, n):
    """Binomial log-likelihood at the MLE, elementwise (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        a = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0.0)
    return a + b


def scan(k, n, *, min_days: int = 2, max_days: int = 42, context: int = 28,
         min_n: int = 100) -> dict:
    """The window of consecutive periods whose binomial rate differs most from its surroundings.

    ``k`` successes out of ``n`` trials per period. A window ``[s, e]`` of ``min_days`` to
    ``max_days`` periods is compared with the ``context`` periods on each side of it (fewer at
    the ends of the series): a local baseline, so that a slow trend (a young shop's share of new
    visitors falling month after month) is not read as an incident. Returns ``start`` and
    ``end`` (inclusive positions), ``during`` and ``baseline`` rates, ``k_in``, ``n_in``, the
    log-likelihood ratio ``llr`` and ``p_value`` (Bonferroni over the windows searched; 1.0 when
    no window qualifies).

    >>> r = scan([5, 5, 30, 30, 5, 5], [100] * 6, min_days=1, min_n=50)
    >>> r["start"], r["end"], r["p_value"] < 1e-6
    (2, 3, True)
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    T = len(k)
    none = {"start": None, "end": None, "during": np.nan, "baseline": np.nan, "k_in": 0,
            "n_in": 0, "llr": 0.0, "p_value": 1.0}
    if T < min_days + 1 or n.sum() == 0:
        return none
    ck, cn = np.r_[0, np.cumsum(k)], np.r_[0, np.cumsum(n)]
    s, e = np.triu_indices(T)  # window [s, e]
    length = e - s + 1
    ok = (length >= min_days) & (length <= max_days)
    s, e = s[ok], e[ok]
    lo, hi = np.maximum(s - context, 0), np.minimum(e + context, T - 1)
    k_in, n_in = ck[e + 1] - ck[s], cn[e + 1] - cn[s]
    k_out = (ck[s] - ck[lo]) + (ck[hi + 1] - ck[e + 1])
    n_out = (cn[s] - cn[lo]) + (cn[hi + 1] - cn[e + 1])
    ok = (n_in >= min_n) & (n_out >= min_n)
    if not ok.any():
        return none
    s, e, k_in, n_in, k_out, n_out = s[ok], e[ok], k_in[ok], n_in[ok], k_out[ok], n_out[ok]
    llr = _loglik(k_in, n_in) + _loglik(k_out, n_out) - _loglik(k_in + k_out, n_in + n_out)
    i = int(np.argmax(llr))
    p = min(1.0, float(stats.chi2.sf(2 * max(llr[i], 0.0), 1)) * len(llr))
    return {"start": int(s[i]), "end": int(e[i]), "during": float(k_in[i] / n_in[i]),
            "baseline": float(k_out[i] / n_out[i]), "k_in": int(k_in[i]), "n_in": int(n_in[i]),
            "llr": float(llr[i]), "p_value": p}


def daily_series(events: pd.DataFrame, sessions: pd.DataFrame | None = None, *,
                 by=("device", "channel"), freq: str = "D", steps=None) -> pd.DataFrame:
    """The binomial series :func:`find_changes` scans, one row per (metric, segment, period).

    Per session (its period is the one of its first event): which funnel steps it reached
    (it has an event of the step, whatever the order: robust to out-of-order logs), which other
    events it had, its channel, whether it is its user's first. Series:

    * ``"<step k-1> → <step k>"``: sessions that reached step k among those that reached k−1;
    * ``"share of sessions with <event>"`` for every event that is not a funnel step;
    * ``"share of sessions from <channel>"`` (traffic mix) and ``"share of new visitors"``;

    each overall (``segment="all"``) and, for the first two kinds, per level of every ``by``
    column the sessions have (``"device=mobile"``).

    Returns
    -------
    DataFrame with ``metric``, ``segment``, ``period`` (the period's first day), ``k``, ``n``.
    """
    steps = list(steps or FUNNEL)
    ev = events[["session_id", "user_id", "ts", "event"]]
    start = ev.groupby("session_id")["ts"].min()
    t = start.dt.tz_convert("UTC").dt.tz_localize(None) if start.dt.tz is not None else start
    period = t.dt.to_period(freq).dt.start_time
    per = pd.DataFrame({"period": period})
    names = ev.drop_duplicates(["session_id", "event"])
    has = pd.crosstab(names["session_id"], names["event"]).astype(bool).reindex(per.index,
                                                                             fill_value=False)
    seg_cols = []
    if sessions is not None:
        ses = sessions.set_index("session_id").reindex(per.index)
        for col in by:
            if col in ses.columns and ses[col].notna().any():
                per[col] = ses[col].astype("string").fillna("(none)")
                seg_cols.append(col)
    first = ev.sort_values("ts", kind="stable").drop_duplicates("user_id")["session_id"]
    per["new"] = per.index.isin(first)

    present = [s for s in steps if s in has.columns]
    others = [c for c in has.columns if c not in FUNNEL]
    rows = []

    def add(metric, segment, mask_n, mask_k):
        g = pd.DataFrame({"period": per["period"], "n": mask_n, "k": mask_k & mask_n})
        g = g.groupby("period", sort=True)[["k", "n"]].sum().reset_index()
        g["metric"], g["segment"] = metric, segment
        rows.append(g)

    segments = [("all", np.ones(len(per), dtype=bool))]
    for col in seg_cols:
        for level in sorted(per[col].unique()):
            segments.append((f"{col}={level}", (per[col] == level).to_numpy()))
    for seg, m in segments:
        for a, b in pairwise(present):
            add(f"{a} → {b}", seg, m & has[a].to_numpy(), has[b].to_numpy())
        for e in others:
            add(f"share of sessions with {e}", seg, m, has[e].to_numpy())
    if "channel" in seg_cols:
        for level in sorted(per["channel"].unique()):
            add(f"share of sessions from {level}", "all", np.ones(len(per), dtype=bool),
                (per["channel"] == level).to_numpy())
    add("share of new visitors", "all", np.ones(len(per), dtype=bool), per["new"].to_numpy())
    out = pd.concat(rows, ignore_index=True)
    return out[["metric", "segment", "period", "k", "n"]].astype({"k": "int64", "n": "int64"})


def find_changes(events: pd.DataFrame, sessions: pd.DataFrame | None = None, *,
                 by=("device", "channel"), freq: str = "D", steps=None, alpha: float = 0.05,
                 min_days: int = 2, max_days: int = 42, min_n: int = 200) -> pd.DataFrame:
    """Periods in which a rate of the shop differed from the rest of the time, ranked by impact.

    Every series of :func:`daily_series` is scanned (:func:`scan`); a change is reported when
    its Benjamini–Hochberg-adjusted p-value (over every series × segment) is below ``alpha``.

    Returns
    -------
    DataFrame, one row per change: ``metric``, ``segment``, ``start``, ``end`` (inclusive
    dates), ``baseline`` (the rate outside the period), ``during`` with its Wilson
    ``ci_low``/``ci_high``, ``p_value`` (adjusted), ``impact`` ((during − baseline) × trials
    inside: e.g. purchases lost or gained at that step over the period); largest
    ``|impact|`` first. ``.attrs["series"]`` is the number of series scanned.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> days = pd.date_range("2025-01-01", periods=40, freq="D", tz="UTC")
    >>> rows = []
    >>> for d, day in enumerate(days):
    ...     for s in range(150):
    ...         sid = f"{d}-{s}"
    ...         rows.append((sid, sid, day, "view_item"))
    ...         if rng.random() < (0.02 if 15 <= d <= 24 else 0.10):
    ...             rows.append((sid, sid, day + pd.Timedelta("1min"), "purchase"))
    >>> ev = pd.DataFrame(rows, columns=["session_id", "user_id", "ts", "event"])
    >>> ch = find_changes(ev)
    >>> r = ch.iloc[0]
    >>> r["metric"], r["segment"], str(r["start"].date()), str(r["end"].date()), bool(r["impact"] < 0)
    ('view_item → purchase', 'all', '2025-01-16', '2025-01-25', True)
    """
    alpha = args.alpha(alpha)
    series = daily_series(events, sessions, by=by, freq=freq, steps=steps)
    found = []
    for (metric, segment), g in series.groupby(["metric", "segment"], sort=True):
        g = g.sort_values("period")
        r = scan(g["k"].to_numpy(), g["n"].to_numpy(), min_days=min_days, max_days=max_days,
                 min_n=min_n)
        if r["start"] is None:
            continue
        periods = g["period"].to_numpy()
        found.append({"metric": metric, "segment": segment,
                      "start": pd.Timestamp(periods[r["start"]]),
                      "end": pd.Timestamp(periods[r["end"]]), "baseline": r["baseline"],
                      "during": r["during"], "k_in": r["k_in"], "n_in": r["n_in"],
                      "p_raw": r["p_value"]})
    cols = ["metric", "segment", "start", "end", "baseline", "during", "ci_low", "ci_high",
            "p_value", "impact"]
    if not found:
        out = pd.DataFrame(columns=cols)
        out.attrs["series"] = 0
        return out
    res = pd.DataFrame(found)
    res["p_value"] = multipletests(res["p_raw"], method="fdr_bh")[1]
    res["ci_low"], res["ci_high"] = wilson(res["k_in"].to_numpy(), res["n_in"].to_numpy())
    res["impact"] = (res["during"] - res["baseline"]) * res["n_in"]
    n_series = len(res)
    res = res.loc[res["p_value"] < alpha]
    res = res.assign(_abs=-res["impact"].abs()).sort_values(["_abs", "metric", "segment"],
                                                             kind="stable")
    out = res[cols].reset_index(drop=True)
    out.attrs["series"] = n_series
    return out
