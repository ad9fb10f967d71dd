"""Retention, repurchase, customer lifetime value and review feedback (notebook 05).

Four groups of functions, all taking tidy pandas frames and returning tidy frames:

* **Cohorts and repurchase** — :func:`cohort_retention` (acquisition month × months since),
  :func:`repurchase_rate` (share of first-time buyers buying again within N days, only buyers
  observed for N days), :func:`time_to_second_purchase` and :func:`kaplan_meier` (the
  Kaplan–Meier estimate of the time to the second purchase, censored at the observation end;
  statsmodels ``SurvfuncRight``).
* **Who is alive and what they are worth** — :func:`summary_from_orders` (frequency / recency /
  T as in lifetimes' ``summary_data_from_transaction_data``), :func:`fit_bgnbd` (BG/NBD of
  Fader, Hardie & Lee 2005, "Counting your customers the easy way"), :func:`fit_gamma_gamma`
  (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves") and :func:`clv`.
* **Feedback** — :func:`rating_by_category`, :func:`review_terms` (TF-IDF, scikit-learn),
  :func:`next_purchase_after_review` and :func:`risk_ratio` (log-method CI, statsmodels
  ``Table2x2``).
* **Churn drivers** — :func:`churn_features` and :func:`churn_drivers` (statsmodels ``Logit``
  reported as odds ratios with 95 % CIs).

Revenue analyses use completed orders: pass ``orders.loc[orders["status"] == "completed"]``
(the functions here use whatever orders they are given, so the caller decides).

A column named ``T`` is always read as ``df["T"]``: ``df.T`` is the transpose.

Examples
--------
>>> orders = pd.DataFrame({"user_id": [1, 1, 2],
...                        "ordered_at": pd.to_datetime(["2025-01-06", "2025-01-20",
...                                                      "2025-01-08"], utc=True)})
>>> summary_from_orders(orders, observation_end="2025-02-03")
         frequency  recency    T
user_id
1                1      2.0  4.0
2                0      0.0  4.0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, gammaln, hyp2f1
from scipy.stats import norm

from helpers.data import require_columns
from helpers.stats import rate_table, round_sig, wilson

__all__ = [
    "BGNBD",
    "GammaGamma",
    "NotFittable",
    "attempt",
    "bgnbd_check",
    "churn_drivers",
    "churn_features",
    "clv",
    "clv_by_band",
    "cohort_retention",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "kaplan_meier",
    "km_at",
    "next_purchase_after_review",
    "rating_by_category",
    "repurchase_rate",
    "review_terms",
    "risk_ratio",
    "simulate_bgnbd",
    "summary_from_orders",
    "time_to_second_purchase",
]


# --------------------------------------------------------------------------- shared bits


class NotFittable(ValueError):
    """The data cannot support this model or test (too few customers, no repeat buyer, ...).

    A ``ValueError``, so callers that catch those keep working; :func:`attempt` turns it into a
    reason a notebook can print instead of stopping.
    """


def attempt(fit, *args, **kwargs):
    """``(result, "")`` when ``fit(*args, **kwargs)`` works, ``(None, reason)`` when it cannot.

    Only :class:`NotFittable` is caught (a real bug still raises). Warnings the fit issues are
    not shown: a fitted model keeps its own ``warning`` (see :func:`fit_bgnbd`).

    >>> attempt(fit_gamma_gamma, pd.DataFrame({"frequency": [0, 1], "monetary_value": [0, 5.0]}))
    (None, 'only 1 repeat buyer with a positive spend (the Gamma–Gamma model needs at least 3)')
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return fit(*args, **kwargs), ""
        except NotFittable as e:
            return None, str(e)


def _utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def _check_cols(df: pd.DataFrame, name: str, cols) -> None:
    require_columns(df, name, cols)
    if len(df) == 0:
        raise ValueError(f"{name}: the table is empty")


def _times(df: pd.DataFrame, name: str, col: str) -> pd.Series:
    t = pd.to_datetime(df[col], utc=True, errors="coerce")
    bad = t.isna()
    if bad.any():
        raise ValueError(f"{name}.{col}: {int(bad.sum())} row(s) are not timestamps "
                         f"(e.g. row {int(np.flatnonzero(bad.to_numpy())[0])})")
    return t


def _end(times: pd.Series, observation_end) -> pd.Timestamp:
    return times.max() if observation_end is None else _utc(observation_end)


def _ordered(orders: pd.DataFrame, user_col: str, time_col: str, observation_end):
    """Orders up to ``observation_end`` sorted by user, time (and order id), plus the end used."""
    _check_cols(orders, "orders", [user_col, time_col])
    t = _times(orders, "orders", time_col)
    end = _end(t, observation_end)
    keep = (t <= end).to_numpy()
    o = orders.loc[keep].assign(**{time_col: t[keep]})
    keys = [user_col, time_col] + (["order_id"] if "order_id" in o.columns else [])
    o = o.sort_values(keys, kind="stable").reset_index(drop=True)
    return o, end, int((~keep).sum())


# --------------------------------------------------------------------------- cohorts


def cohort_retention(orders: pd.DataFrame, *, observation_end=None, user_col: str = "user_id",
                     time_col: str = "ordered_at") -> pd.DataFrame:
    """Monthly cohort retention: share of a cohort's buyers who buy in each later month.

    A buyer's cohort is the calendar month (UTC) of their first order; ``months_since`` counts
    calendar months from it (0 = the acquisition month, where the rate is 1 by definition).
    Only months up to the month of ``observation_end`` appear; the last one may be partial
    (see ``partial``).

    Parameters
    ----------
    orders : DataFrame
        One row per order with ``user_col`` and ``time_col``; pass completed orders only.
    observation_end : timestamp, optional
        Orders after it are ignored (and counted in ``.attrs["dropped"]``); default the last order.

    Returns
    -------
    DataFrame
        Long table: ``cohort`` (Period[M]), ``months_since``, ``buyers`` (cohort size),
        ``active`` (buyers with an order that month), ``rate`` with Wilson ``ci_low``/``ci_high``,
        ``partial`` (the month is not fully observed).

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2, 3],
    ...                   "ordered_at": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-01-20",
    ...                                                 "2025-02-01"], utc=True)})
    >>> cohort_retention(o, observation_end="2025-02-28")[["cohort", "months_since", "buyers",
    ...                                                     "active", "rate"]]
        cohort  months_since  buyers  active  rate
    0  2025-01             0       2       2   1.0
    1  2025-01             1       2       1   0.5
    2  2025-02             0       1       1   1.0
    """
    o, end, dropped = _ordered(orders, user_col, time_col, observation_end)
    month = o[time_col].dt.tz_localize(None).dt.to_period("M")
    m = pd.Series(month.array.asi8, index=o.index)
    first = m.groupby(o[user_col]).transform("min")
    act = pd.DataFrame({"user": o[user_col], "cohort": first, "k": m - first}).drop_duplicates()
    active = act.groupby(["cohort", "k"]).size()
    size = act.loc[act["k"] == 0].groupby("cohort").size()
    end_m = pd.Period(end.tz_localize(None), "M").ordinal
    # every (cohort, k) cell that is observable, including those with no active buyer
    coh = size.index.to_numpy()
    span = end_m - coh
    rep = np.repeat(coh, span + 1)
    ks = np.concatenate([np.arange(s + 1) for s in span]) if len(span) else np.array([], int)
    idx = pd.MultiIndex.from_arrays([rep, ks], names=["cohort", "k"])
    k = active.reindex(idx, fill_value=0)
    n = pd.Series(size.reindex(rep).to_numpy(), index=idx)
    tab = rate_table(k, n)
    tab.index = tab.index.set_names(["cohort", "months_since"])
    out = tab.rename(columns={"n": "buyers", "k": "active"}).reset_index()
    out["cohort"] = pd.PeriodIndex.from_ordinals(out["cohort"].to_numpy(), freq="M")
    month_end = (pd.Period(end.tz_localize(None), "M") + 1).to_timestamp().tz_localize("UTC")
    out["partial"] = (out["cohort"].array.asi8 + out["months_since"] == end_m) & (
        end < month_end - pd.Timedelta("1ns"))
    out.attrs["dropped"] = dropped
    return out.sort_values(["cohort", "months_since"], kind="stable").reset_index(drop=True)


def _first_two(orders, user_col, time_col, observation_end):
    """First order time and first strictly later order time per buyer, plus bookkeeping.

    Orders at exactly the first order's timestamp are read as part of the first purchase (a
    split basket or a duplicate export row), not as a repurchase after 0 days; how many such
    extra orders there were is returned as ``same_time_as_first``.
    """
    o, end, dropped = _ordered(orders, user_col, time_col, observation_end)
    t0 = o.groupby(user_col, sort=False)[time_col].transform("min")
    later = o.loc[o[time_col] > t0]
    first = o.drop_duplicates(user_col).set_index(user_col)[time_col]
    second = later.drop_duplicates(user_col).set_index(user_col)[time_col].reindex(first.index)
    same_time = int((o[time_col] == t0).sum() - len(first))
    return first, second, end, {"dropped": dropped, "same_time_as_first": same_time}


def repurchase_rate(orders: pd.DataFrame, *, windows=(90, 365), observation_end=None,
                    user_col: str = "user_id", time_col: str = "ordered_at") -> pd.DataFrame:
    """Share of first-time buyers who order again within each window (days), with Wilson CIs.

    Censoring: a buyer counts for window ``w`` only when their first order is at least ``w``
    days before ``observation_end`` (otherwise we cannot know yet); ``censored`` says how many
    buyers were left out for that reason. Orders after ``observation_end`` are ignored and
    counted in ``.attrs["dropped"]``. A repurchase is an order strictly later than the first:
    orders at the very same timestamp as a buyer's first order count as part of that first
    purchase (``.attrs["same_time_as_first"]`` says how many there were).

    Returns
    -------
    DataFrame
        One row per window: ``window_days``, ``n`` (buyers observed long enough), ``k`` (bought
        again within the window), ``rate``, ``ci_low``, ``ci_high``, ``censored``.

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2, 3, 3],
    ...                   "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01",
    ...                                                 "2025-01-01", "2025-09-01"], utc=True)})
    >>> repurchase_rate(o, windows=(90, 365), observation_end="2025-12-01")
       window_days  n  k    rate  ci_low  ci_high  censored
    0           90  3  1  0.3333  0.0615   0.7923         0
    1          365  0  0     NaN     NaN      NaN         3
    """
    first, second, end, notes = _first_two(orders, user_col, time_col, observation_end)
    gap = (second - first).dt.total_seconds().to_numpy() / 86400.0
    follow = (end - first).dt.total_seconds().to_numpy() / 86400.0
    rows = []
    for w in windows:
        seen = follow >= w
        k = int((seen & (gap <= w)).sum())  # NaN gap (no second order) compares False
        n = int(seen.sum())
        lo, hi = wilson(k, n)
        rows.append({"window_days": int(w), "n": n, "k": k, "rate": k / n if n else np.nan,
                     "ci_low": lo, "ci_high": hi, "censored": int((~seen).sum())})
    out = pd.DataFrame(rows).round({"rate": 4, "ci_low": 4, "ci_high": 4})
    out.attrs.update(notes)
    return out


def time_to_second_purchase(orders: pd.DataFrame, *, observation_end=None,
                            user_col: str = "user_id", time_col: str = "ordered_at"
                            ) -> pd.DataFrame:
    """Per buyer: days from the first to the second order, or censored at the observation end.

    The second order is the first one strictly later than the first order (same-timestamp
    orders belong to the first purchase, as in :func:`repurchase_rate`); ``.attrs`` counts
    orders after ``observation_end`` (``dropped``) and same-timestamp ones
    (``same_time_as_first``).

    Returns
    -------
    DataFrame
        Indexed by user: ``first_order``, ``days`` (to the second order, or to
        ``observation_end`` when there is none) and ``repurchased`` (True = event observed,
        False = censored).

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2],
    ...                   "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-11",
    ...                                                 "2025-01-21"], utc=True)})
    >>> time_to_second_purchase(o, observation_end="2025-01-31")[["days", "repurchased"]]
             days  repurchased
    user_id
    1        10.0         True
    2        10.0        False
    """
    first, second, end, notes = _first_two(orders, user_col, time_col, observation_end)
    stop = second.fillna(end)
    out = pd.DataFrame({"first_order": first,
                        "days": (stop - first).dt.total_seconds() / 86400.0,
                        "repurchased": second.notna()})
    out.attrs.update(notes)
    return out


def kaplan_meier(durations: pd.DataFrame, *, time: str = "days", event: str = "repurchased",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve of ``1 - S(t)``, the share who have bought again by time t.

    Uses statsmodels' ``SurvfuncRight`` (Kaplan & Meier 1958); the pointwise CI is the
    log(-log) transform of Greenwood's standard error, so it stays inside [0, 1].

    Returns
    -------
    DataFrame
        One row per distinct event time: ``time``, ``at_risk``, ``events``, ``survival``,
        ``repurchased`` (= 1 - survival) and its ``ci_low``/``ci_high``.

    Examples
    --------
    >>> d = pd.DataFrame({"days": [2.0, 3.0, 3.0, 5.0], "repurchased": [True, False, True, True]})
    >>> kaplan_meier(d)[["time", "at_risk", "events", "survival"]]
       time  at_risk  events  survival
    0   2.0        4       1      0.75
    1   3.0        3       1      0.50
    2   5.0        1       1      0.00
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    _check_cols(durations, "durations", [time, event])
    sf = SurvfuncRight(durations[time].to_numpy(float), durations[event].to_numpy(int))
    s = np.asarray(sf.surv_prob, float)
    se = np.asarray(sf.surv_prob_se, float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.log(-np.log(s))
        half = z * se / (s * np.abs(np.log(s)))
        s_lo = np.exp(-np.exp(ll + half))
        s_hi = np.exp(-np.exp(ll - half))
    s_lo = np.where((s > 0) & (s < 1), s_lo, s)
    s_hi = np.where((s > 0) & (s < 1), s_hi, s)
    return pd.DataFrame({"time": sf.surv_times, "at_risk": sf.n_risk.astype("int64"),
                         "events": sf.n_events.astype("int64"), "survival": s,
                         "repurchased": 1 - s, "ci_low": 1 - s_hi, "ci_high": 1 - s_lo})


def km_at(km: pd.DataFrame, times, durations: pd.DataFrame, *, time: str = "days"
          ) -> pd.DataFrame:
    """The Kaplan–Meier curve read at ``times``, missing where nobody was watched that long.

    A step curve read past its last follow-up time would simply repeat its last value, which
    says nothing about later times; those rows are NaN instead.

    >>> d = pd.DataFrame({"days": [2.0, 3.0, 5.0], "repurchased": [True, False, True]})
    >>> km_at(kaplan_meier(d), [4, 10], d)[["time", "repurchased"]]
       time  repurchased
    0   4.0     0.333333
    1  10.0          NaN
    """
    t = pd.DataFrame({"time": [float(x) for x in times]})
    out = pd.merge_asof(t, km.sort_values("time"), on="time")[
        ["time", "at_risk", "repurchased", "ci_low", "ci_high"]]
    beyond = out["time"] > float(durations[time].max()) if len(durations) else True
    out.loc[beyond, ["at_risk", "repurchased", "ci_low", "ci_high"]] = np.nan
    return out


# --------------------------------------------------------------------------- RFM summary


def summary_from_orders(orders: pd.DataFrame, *, observation_end, freq: str = "W",
                        user_col: str = "user_id", time_col: str = "ordered_at",
                        value_col: str | None = None) -> pd.DataFrame:
    """Frequency / recency / T per customer, as lifetimes' ``summary_data_from_transaction_data``.

    Timestamps (UTC) are floored to pandas periods of ``freq`` ("D", "W" = weeks ending Sunday,
    "M", ...). Several orders in the same period count once. ``frequency`` = number of distinct
    periods minus 1 (repeat periods); ``recency`` = last period − first period; ``T`` =
    period of ``observation_end`` − first period, all in units of ``freq``. With ``value_col``,
    ``monetary_value`` = mean over the repeat periods of the period's summed value (0 when
    frequency is 0; the first period is left out, as in lifetimes; periods without any value
    are left out of the mean, and a repeat buyer with none gets NaN). Only orders up to
    ``observation_end`` count; how many were left out is in ``.attrs["dropped"]``.

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 1, 2, 2],
    ...                   "ordered_at": pd.to_datetime(["2025-01-06", "2025-01-07", "2025-01-20",
    ...                                                 "2025-01-08", "2025-03-01"], utc=True),
    ...                   "revenue": [10.0, 20.0, 30.0, 5.0, 99.0]})
    >>> s = summary_from_orders(o, observation_end="2025-02-03", value_col="revenue")
    >>> s
             frequency  recency    T  monetary_value
    user_id
    1                1      2.0  4.0            30.0
    2                0      0.0  4.0             0.0
    >>> s.attrs["dropped"]
    1
    """
    if observation_end is None:
        raise ValueError("summary_from_orders: observation_end is required (e.g. the last order)")
    cols = [user_col, time_col] + ([value_col] if value_col else [])
    _check_cols(orders, "orders", cols)
    t = _times(orders, "orders", time_col)
    end = _utc(observation_end)
    keep = (t <= end).to_numpy()
    if not keep.any():
        raise ValueError(f"orders: no order at or before observation_end {end}")
    try:
        per = t[keep].dt.tz_localize(None).dt.to_period(freq)
        end_p = pd.Period(end.tz_localize(None), freq)
    except (ValueError, TypeError) as e:
        raise ValueError(f"freq {freq!r} is not a pandas period frequency: {e}") from None
    step = end_p.freq.n  # e.g. "2W": ordinals still step by one base unit
    d = pd.DataFrame({"u": orders[user_col].to_numpy()[keep], "p": per.array.asi8})
    if value_col:
        d["v"] = pd.to_numeric(orders[value_col], errors="raise").to_numpy()[keep]
        # a period whose orders all lack a value has an unknown value, not 0
        d = d.groupby(["u", "p"], sort=True, as_index=False)["v"].sum(min_count=1)
    else:
        d = d.drop_duplicates(["u", "p"]).sort_values(["u", "p"], kind="stable")
    g = d.groupby("u", sort=True)["p"]
    first, last, count = g.min(), g.max(), g.size()
    out = pd.DataFrame({"frequency": (count - 1).astype("int64"),
                        "recency": ((last - first) / step).astype(float),
                        "T": ((end_p.ordinal - first) / step).astype(float)})
    if value_col:
        is_first = d["p"].to_numpy() == first.reindex(d["u"]).to_numpy()
        rep = d.loc[~is_first].groupby("u")["v"].mean()
        out["monetary_value"] = rep.reindex(out.index, fill_value=0.0).astype(float)
    out.index.name = user_col
    out.attrs["dropped"] = int((~keep).sum())
    return out


def _frt(summary: pd.DataFrame):
    _check_cols(summary, "summary", ["frequency", "recency", "T"])
    x = summary["frequency"].to_numpy(float)
    tx = summary["recency"].to_numpy(float)
    T = summary["T"].to_numpy(float)  # never summary.T: that is the transpose
    bad = (x < 0) | (tx < 0) | (tx > T + 1e-9) | ~np.isfinite(x + tx + T) | ((x == 0) & (tx > 0))
    if bad.any():
        raise ValueError(f"summary: {int(bad.sum())} row(s) with impossible frequency/recency/T "
                         f"(need 0 <= recency <= T and recency 0 when frequency 0), e.g. row "
                         f"{int(np.flatnonzero(bad)[0])}")
    return x, tx, T


# --------------------------------------------------------------------------- BG/NBD


def _bgnbd_ll(r, alpha, a, b, x, tx, T):
    """Per-customer log-likelihood of BG/NBD (Fader, Hardie & Lee 2005, eq. 6), stable form."""
    common = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
              + betaln(a, b + x) - betaln(a, b))
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                      - (r + x) * np.log(alpha + tx), -np.inf)
    return common + np.logaddexp(a3, a4)


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model: purchase rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b).

    Time is in the units of the summary it was fitted on (e.g. weeks). ``log_likelihood`` is
    the maximised total; ``n`` the number of customers; ``warning`` is empty unless
    :func:`fit_bgnbd` warned that the fit did not converge or is not identified.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n: int
    warning: str = ""
    cov: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Covariance of the log-parameters (inverse observed information); None when singular."""

    def params(self) -> pd.Series:
        """The four parameters as a Series (r, alpha, a, b)."""
        return pd.Series({"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b})

    def intervals(self, alpha: float = 0.05) -> pd.DataFrame:
        """Each parameter with its standard error and Wald interval, and the mean dropout a/(a+b).

        The intervals are computed on the log scale (where the likelihood is closer to
        quadratic) and mapped back, so they stay positive; ``a/(a+b)`` gets a delta-method
        interval. NaN when the information matrix is singular (see ``warning``).

        >>> s = simulate_bgnbd(3000, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=7)
        >>> ci = fit_bgnbd(s).intervals().set_index("parameter")
        >>> ci.loc[["r", "alpha"], ["ci_low", "ci_high"]].round(2).values.tolist()
        [[0.23, 0.26], [3.3, 4.26]]
        """
        est = self.params().to_numpy()
        names = ["r", "alpha", "a", "b"]
        rows = _log_intervals(names, est, self.cov, alpha)
        g = self.a / (self.a + self.b)
        z = float(norm.ppf(1 - alpha / 2))
        if self.cov is not None:
            jac = np.array([0.0, 0.0, 1.0, -1.0]) * self.a * self.b / (self.a + self.b) ** 2
            se = float(np.sqrt(jac @ self.cov @ jac))
        else:
            se = np.nan
        rows.append({"parameter": "a/(a+b)", "estimate": g, "se": se,
                     "ci_low": max(0.0, g - z * se), "ci_high": min(1.0, g + z * se)})
        return pd.DataFrame(rows)

    def _odds_dead(self, x, tx, T):
        # a/(b+x-1) * ((alpha+T)/(alpha+tx))^(r+x), in logs; zero when x = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = (np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-300))
                  + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + tx)))
        return np.where(x > 0, np.exp(np.minimum(lo, 700.0)), 0.0)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(customer still alive | frequency, recency, T) for each row (FHL 2005, eq. 11).

        >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, n=1)
        >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
        >>> m.p_alive(s).round(3).tolist()
        [1.0, 0.727]
        """
        x, tx, T = _frt(summary)
        return pd.Series(1.0 / (1.0 + self._odds_dead(x, tx, T)), index=summary.index,
                         name="p_alive")

    def expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """Conditional expected repeat purchases in the next ``t`` periods (FHL 2005, eq. 10).

        Uses the Gaussian hypergeometric function ``scipy.special.hyp2f1``. For heavy buyers
        over long horizons (hundreds of purchases, thousands of periods) the closed form's
        ``2F1(r+x, b+x; a+b+x-1; z)`` overflows while its factor ``(1 - z)^(r+x)`` underflows;
        there Euler's transformation ``2F1(p, q; c; z) = (1 - z)^(c-p-q) 2F1(c-p, c-q; c; z)``
        (Abramowitz & Stegun 15.3.3) folds the two into ``(1 - z)^(a-1) 2F1(a+b-1-r, a-1;
        a+b+x-1; z)``, which stays finite.

        >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, n=1)
        >>> s = pd.DataFrame({"frequency": [2, 400], "recency": [30.43, 299.0], "T": [38.86, 300.0]})
        >>> m.expected_purchases(39, s).round(3).tolist()
        [1.226, 48.509]
        """
        x, tx, T = _frt(summary)
        r, al, a, b = self.r, self.alpha, self.a, self.b
        z = t / (al + T + t)
        head = (a + b + x - 1) / (a - 1)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            ratio = np.exp((r + x) * (np.log(al + T) - np.log(al + T + t)))
            body = 1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z)
            bad = ~np.isfinite(body)
            if np.any(bad):
                folded = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(
                    a + b - 1 - r, a - 1, a + b + x - 1, z)
                body = np.where(bad, folded, body)
        val = head * body / (1.0 + self._odds_dead(x, tx, T))
        return pd.Series(val, index=summary.index, name=f"expected_{t:g}")

    def expected_new(self, t) -> np.ndarray:
        """Unconditional expected repeat purchases E[X(t)] of a new customer by time ``t``.

        >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, n=1)
        >>> m.expected_new([0, 39]).round(3).tolist()  # a simulation gives 1.19
        [0.0, 1.197]
        """
        t = np.asarray(t, float)
        r, al, a, b = self.r, self.alpha, self.a, self.b
        return 0.0 + ((a + b - 1) / (a - 1)) * (1 - (al / (al + t)) ** r
                                          * hyp2f1(r, b, a + b - 1, t / (al + t)))


def simulate_bgnbd(n: int, T, *, r: float, alpha: float, a: float, b: float,
                   seed: int = 0) -> pd.DataFrame:
    """Simulate the BG/NBD story and return its frequency / recency / T summary.

    Each customer draws a purchase rate λ ~ Gamma(r, rate α) and a dropout probability
    p ~ Beta(a, b); after the first purchase at time 0 they buy as a Poisson process with rate
    λ and, after each repeat purchase, become inactive with probability p (Fader, Hardie & Lee
    2005, section 2). Purchases are counted up to ``T`` (a number or one per customer). Useful
    to see how well :func:`fit_bgnbd` recovers known parameters at a given sample size.

    Returns
    -------
    DataFrame
        ``n`` rows: ``frequency`` (repeat purchases), ``recency`` (time of the last one, 0 if
        none), ``T``.

    Examples
    --------
    >>> s = simulate_bgnbd(4, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=1)
    >>> list(s.columns), len(s), bool((s["recency"] <= s["T"]).all())
    (['frequency', 'recency', 'T'], 4, True)
    """
    if n < 1 or min(r, alpha, a, b) <= 0:
        raise ValueError("simulate_bgnbd: need n >= 1 and positive r, alpha, a, b")
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    clock, freq, last = np.zeros(n), np.zeros(n, np.int64), np.zeros(n)
    alive = np.arange(n)
    while alive.size:  # one pass per purchase round, vectorised over the customers still active
        clock[alive] += rng.exponential(1.0, alive.size) / lam[alive]
        alive = alive[clock[alive] <= T[alive]]
        freq[alive] += 1
        last[alive] = clock[alive]
        alive = alive[rng.random(alive.size) >= p[alive]]
    return pd.DataFrame({"frequency": freq, "recency": last, "T": T})


def fit_bgnbd(summary: pd.DataFrame, *, start=(1.0, 1.0, 1.0, 1.0)) -> BGNBD:
    """Maximum-likelihood BG/NBD (Fader, Hardie & Lee 2005) on a frequency/recency/T summary.

    The log-likelihood is maximised over the log-parameters (so all four stay positive) with
    scipy's bounded L-BFGS-B, |log θ| ≤ 20. Fewer than 4 customers, or none with a repeat
    purchase, raise :class:`NotFittable`. Identical rows are pooled and weighted, so millions
    of customers cost no more than their distinct (x, tₓ, T) triples.

    A ``RuntimeWarning`` is issued (and the model's ``warning`` says why) when the optimiser
    does not report convergence, a parameter runs off towards 0 or ∞ (|log θ| > 15), or a
    parameter is not identified: the observed-information standard error of its log exceeds
    2.5 (statsmodels' numerical Hessian). That happens when the data do not look like BG/NBD:
    e.g. nobody buys again (r → 0), nobody seems to drop out (a → 0), or everyone has the same
    dropout chance (a and b → ∞ together; then only a/(a + b) means anything).

    Parameters
    ----------
    summary : DataFrame
        Columns ``frequency``, ``recency``, ``T`` (e.g. from :func:`summary_from_orders`).
    start : four floats
        Starting values of r, alpha, a, b.

    Returns
    -------
    BGNBD
        Attributes ``r``, ``alpha``, ``a``, ``b``, ``log_likelihood``, ``warning``; methods
        ``p_alive`` and ``expected_purchases``.

    Examples
    --------
    Fit 3,000 simulated customers watched for 52 weeks (true r 0.25, α 4, a 0.8, b 2.5):

    >>> s = simulate_bgnbd(3000, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=7)
    >>> m = fit_bgnbd(s)
    >>> m.params().round(2).tolist(), m.warning
    ([0.24, 3.75, 0.86, 2.59], '')
    """
    x, tx, T = _frt(summary)
    if len(x) < 4:
        raise NotFittable(f"only {len(x)} customer{'s' if len(x) != 1 else ''} (BG/NBD needs at "
                          "least 4)")
    if not (x > 0).any():
        raise NotFittable(f"none of the {len(x):,} customers bought again in a later period, so "
                          "there is no purchase rate to learn")
    pooled = pd.DataFrame({"x": x, "tx": tx, "T": T}).value_counts(sort=False).reset_index()
    xs, txs, Ts = (pooled[c].to_numpy(float) for c in ("x", "tx", "T"))
    w = pooled["count"].to_numpy(float)
    scale = w.sum()

    def nll(theta):
        r, al, a, b = np.exp(theta)
        v = -(w * _bgnbd_ll(r, al, a, b, xs, txs, Ts)).sum() / scale
        return v if np.isfinite(v) else 1e10

    x0 = np.clip(np.log(np.asarray(start, float)), -20, 20)
    opts = {"ftol": 1e-13, "gtol": 1e-8, "maxiter": 2000}
    res = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=[(-20.0, 20.0)] * 4, options=opts)
    if res.success and (np.abs(res.x) < 15).all():
        # polish with central differences: the one-sided gradient's rounding noise lets the
        # optimiser stop anywhere along a flat direction (b's fourth digit moved with the
        # summation order, i.e. with the CPU); central ones pin the optimum to about six digits
        # (it may end "ABNORMAL" when no step improves any more: that is the point sought)
        pol = optimize.minimize(nll, res.x, method="L-BFGS-B", jac="3-point",
                                bounds=[(-20.0, 20.0)] * 4,
                                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 200})
        if np.isfinite(pol.fun) and pol.fun <= res.fun:
            res.x, res.fun = pol.x, pol.fun
    warning, cov = _bgnbd_diagnose(res, lambda th: nll(th) * scale)
    if warning:
        warnings.warn(f"fit_bgnbd: {warning}", RuntimeWarning, stacklevel=2)
    r, al, a, b = np.exp(res.x)
    return BGNBD(float(r), float(al), float(a), float(b), float(-res.fun * scale), int(scale),
                 warning=warning, cov=cov)


def _bgnbd_diagnose(res, total_nll) -> tuple[str, np.ndarray | None]:
    """Why a BG/NBD fit should not be trusted ("" when it looks fine), and the covariance of
    the log-parameters."""
    names = np.array(["r", "alpha", "a", "b"])
    vals = ", ".join(f"{n} {v:.4g}" for n, v in zip(names, np.exp(res.x)))
    # identification first: an optimiser that stops abnormally on a flat likelihood (how it
    # stops varies between machines) has met the flatness, which is the reason to report
    off = names[np.abs(res.x) > 15]
    if off.size:
        return (f"{', '.join(off)} ran off towards 0 or infinity ({vals}); the data do not look "
                "like BG/NBD"), None
    # Standard errors of the log-parameters from the observed information: a flat direction
    # (e.g. a and b growing together when everyone has the same dropout chance) shows up as a
    # singular Hessian or a huge standard error long before the parameter reaches the bound.
    cov = _log_covariance(res.x, total_nll)
    se = np.sqrt(np.diag(cov)) if cov is not None else np.full(len(names), np.inf)
    flat = names[~(se <= 2.5)]
    if flat.size:
        return (f"{', '.join(flat)} not identified by these data (standard error of the log "
                f"above 2.5, i.e. a 95 % interval wider than a factor 10,000; {vals}); only "
                "combinations such as a/(a + b) may be meaningful"), cov
    if not res.success:
        return f"the optimiser did not converge ({res.message}); got {vals}", cov
    return "", cov


def _log_covariance(x, total_nll) -> np.ndarray | None:
    """Inverse observed information at the optimum ``x`` (log-parameters); None if singular."""
    from statsmodels.tools.numdiff import approx_hess3

    with np.errstate(all="ignore"):
        H = approx_hess3(np.asarray(x, float), total_nll)
        if not np.isfinite(H).all() or not (np.linalg.eigvalsh(H) > 0).all():
            return None
        return np.linalg.inv(H)


def _log_intervals(names, est, cov, alpha) -> list[dict]:
    """Rows of parameter, estimate, se and a Wald interval built on the log scale."""
    z = float(norm.ppf(1 - alpha / 2))
    se_log = np.sqrt(np.diag(cov)) if cov is not None else np.full(len(names), np.nan)
    return [{"parameter": n, "estimate": float(v), "se": float(v * s),
             "ci_low": float(v * np.exp(-z * s)), "ci_high": float(v * np.exp(z * s))}
            for n, v, s in zip(names, est, se_log)]


def holdout_check(orders: pd.DataFrame, split=None, end=None, *, freq: str = "W",
                  max_frequency: int = 6, user_col: str = "user_id",
                  time_col: str = "ordered_at") -> pd.DataFrame:
    """Does the BG/NBD model predict the future? Fit on the orders up to ``split``, predict each
    customer's repeat purchases in ``(split, end]``, and compare with what they did.

    The calibration/holdout check of Fader, Hardie & Lee (2005, figure 4): customers are grouped
    by their repeat purchases in the calibration period (``max_frequency`` and more in one group);
    per group the mean predicted and the mean actual purchases over the holdout, counted the way
    the model counts them (distinct ``freq`` periods with an order). Only customers whose first
    order is on or before ``split`` are scored. ``split`` None: three quarters of the way
    through the orders' period (to the day), so the last quarter is the holdout; ``end`` None:
    the last order.

    Returns
    -------
    DataFrame with ``frequency`` (calibration repeat periods, the last group "6+"),
    ``customers``, ``predicted``, ``actual``; ``.attrs`` holds ``model`` (the fitted
    :class:`BGNBD`), ``horizon`` (holdout length in ``freq`` periods) and the totals
    ``predicted_total`` / ``actual_total``.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> o = load_store().orders
    >>> h = holdout_check(o.loc[o["status"] == "completed"], "2025-06-30")
    >>> h.attrs["horizon"], round(h.attrs["predicted_total"]), round(h.attrs["actual_total"])
    (26, 356, 419)
    """
    t = _times(orders, "orders", time_col)
    end = t.max() if end is None else _utc(end)
    split = (t.min() + 0.75 * (end - t.min())).floor("D") if split is None else _utc(split)
    if not end > split:
        raise NotFittable(f"the holdout is empty (end {end:%Y-%m-%d} is not after the split "
                          f"{split:%Y-%m-%d})")
    cal = orders.loc[(t <= split).to_numpy()]
    if cal.empty:
        raise NotFittable(f"no order before the split {split:%Y-%m-%d}")
    summ = summary_from_orders(cal, observation_end=split, freq=freq, user_col=user_col,
                               time_col=time_col)
    model = fit_bgnbd(summ)
    split_p = pd.Period(split.tz_localize(None), freq)
    end_p = pd.Period(end.tz_localize(None), freq)
    horizon = int((end_p.ordinal - split_p.ordinal) / split_p.freq.n)
    later = (t > split) & (t <= end)
    per = t[later.to_numpy()].dt.tz_localize(None).dt.to_period(freq).array.asi8
    done = pd.DataFrame({"u": orders.loc[later.to_numpy(), user_col].to_numpy(), "p": per})
    done = done.loc[done["p"] > split_p.ordinal].drop_duplicates()
    actual = done.groupby("u").size().reindex(summ.index, fill_value=0)
    pred = model.expected_purchases(horizon, summ)
    band = np.minimum(summ["frequency"].to_numpy(), max_frequency)
    labels = [str(k) if k < max_frequency else f"{max_frequency}+" for k in band]
    g = pd.DataFrame({"frequency": labels, "k": band, "predicted": pred.to_numpy(),
                      "actual": actual.to_numpy(float)})
    out = (g.groupby(["k", "frequency"], sort=True)
           .agg(customers=("predicted", "size"), predicted=("predicted", "mean"),
                actual=("actual", "mean")).reset_index().drop(columns="k"))
    out.attrs.update(model=model, horizon=horizon, split=split, predicted_total=float(pred.sum()),
                     actual_total=float(actual.sum()))
    return out


def plot_holdout(h: pd.DataFrame, *, ax=None):
    """Predicted against actual holdout purchases per customer, by past repeat purchases.

    >>> h = pd.DataFrame({"frequency": ["0", "1+"], "predicted": [0.2, 1.1], "actual": [0.2, 1.0]})
    >>> ax = plot_holdout(h)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['predicted', 'actual']
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(h["frequency"], h["predicted"], marker="o", label="predicted")
    ax.plot(h["frequency"], h["actual"], marker="s", label="actual")
    ax.legend()
    plots.label(ax, "Holdout: repeat purchases per customer", "repeat purchases before the split",
                "purchases in the holdout")
    return ax


# --------------------------------------------------------------------------- Gamma-Gamma


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma–Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

    A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ); the mean spend per
    transaction of the population is p·γ/(q − 1).
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n: int
    left_out: int = 0
    warning: str = ""
    cov: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Covariance of the log-parameters (inverse observed information); None when singular."""

    def intervals(self, alpha: float = 0.05) -> pd.DataFrame:
        """p, q and gamma with standard errors and Wald intervals on the log scale.

        >>> rng = np.random.default_rng(0)
        >>> nu = rng.gamma(4.0, 1 / 20.0, size=600)
        >>> x = rng.integers(1, 6, size=600)
        >>> s = pd.DataFrame({"frequency": x, "monetary_value": rng.gamma(5.0 * x, 1 / (nu * x))})
        >>> fit_gamma_gamma(s).intervals()["parameter"].tolist()
        ['p', 'q', 'gamma']
        """
        return pd.DataFrame(_log_intervals(["p", "q", "gamma"], [self.p, self.q, self.gamma],
                                           self.cov, alpha))

    @property
    def mean_spend(self) -> float:
        """The population's mean spend per transaction, p·γ/(q − 1) (NaN when q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Conditional expected spend per transaction given ``frequency`` and ``monetary_value``.

        A weighted average of the population mean and the customer's own mean (eq. 5 of the
        note by Fader & Hardie 2013); customers with no repeat, or no known spend, get the
        population mean.

        >>> gg = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=0.0, n=1)
        >>> s = pd.DataFrame({"frequency": [0, 4], "monetary_value": [0.0, 50.0]})
        >>> gg.expected_spend(s).round(2).tolist()
        [35.22, 48.54]
        """
        _check_cols(summary, "summary", ["frequency", "monetary_value"])
        x = summary["frequency"].to_numpy(float)
        m = summary["monetary_value"].to_numpy(float)
        x = np.where(np.isfinite(m), x, 0.0)  # unknown spend: no information, like no repeat
        m = np.nan_to_num(m)
        val = self.p * (self.gamma + m * x) / (self.p * x + self.q - 1)
        return pd.Series(val, index=summary.index, name="expected_spend")


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGamma:
    """Maximum-likelihood Gamma–Gamma spend model on repeat buyers (frequency > 0).

    Fitted on log-parameters with scipy; customers with ``frequency`` 0 carry no spend
    information (their ``monetary_value`` is 0) and are left out (``n`` says how many were
    used), and so are repeat buyers whose spend is missing or not positive (orders without
    revenue, free orders; ``left_out`` counts them). Fewer than 3 usable repeat buyers raise
    :class:`NotFittable`. The model assumes spend is independent of frequency; check it with the correlation
    of ``frequency`` and ``monetary_value`` among repeat buyers.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> nu = rng.gamma(4.0, 1 / 20.0, size=600)
    >>> x = rng.integers(1, 6, size=600)
    >>> s = pd.DataFrame({"frequency": x, "monetary_value": rng.gamma(5.0 * x, 1 / (nu * x))})
    >>> gg = fit_gamma_gamma(s)
    >>> round(gg.p * gg.gamma / (gg.q - 1) / (5.0 * 20.0 / 3.0), 1)  # mean spend vs truth
    1.0
    """
    _check_cols(summary, "summary", ["frequency", "monetary_value"])
    rep = summary.loc[summary["frequency"] > 0]
    usable = rep["monetary_value"].gt(0) & np.isfinite(rep["monetary_value"].astype(float))
    left_out = int((~usable).sum())
    rep = rep.loc[usable]
    if len(rep) < 3:
        why = f" ({left_out:,} more without a positive spend)" if left_out else ""
        who = (f"only {len(rep)} repeat buyer{'s' if len(rep) != 1 else ''}" if len(rep) else
               "no repeat buyer")
        raise NotFittable(f"{who} with a positive spend{why} (the Gamma–Gamma model needs at "
                          "least 3)")
    x = rep["frequency"].to_numpy(float)
    m = rep["monetary_value"].to_numpy(float)

    def nll(theta):
        p, q, g = np.exp(np.clip(theta, -20, 20))
        ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g)
              + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))
        v = -ll.mean()
        return v if np.isfinite(v) else 1e10

    x0 = np.log([1.0, 2.0, float(np.mean(m))])
    res = optimize.minimize(nll, x0, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000})
    res = optimize.minimize(nll, res.x, method="L-BFGS-B")
    p, q, g = np.exp(res.x)
    cov = _log_covariance(res.x, lambda th: nll(th) * len(x))
    warning = _gg_diagnose(res, cov, (p, q, g))
    if warning:
        warnings.warn(f"fit_gamma_gamma: {warning}", RuntimeWarning, stacklevel=2)
    return GammaGamma(float(p), float(q), float(g), float(-res.fun * len(x)), len(x),
                      left_out=left_out, warning=warning, cov=cov)


def _gg_diagnose(res, cov, params) -> str:
    """Why a Gamma–Gamma fit should not be trusted ("" when it looks fine), as for BG/NBD."""
    vals = ", ".join(f"{n} {v:.4g}" for n, v in zip(("p", "q", "gamma"), params))
    off = [n for n, t in zip(("p", "q", "gamma"), res.x) if abs(t) > 15]
    if off:
        return f"{', '.join(off)} ran off towards 0 or infinity ({vals})"
    se = np.sqrt(np.diag(cov)) if cov is not None else np.full(3, np.inf)
    flat = [n for n, e in zip(("p", "q", "gamma"), se) if not e <= 2.5]
    if flat:
        return (f"{', '.join(flat)} not identified by these data (standard error of the log "
                f"above 2.5; {vals})")
    if params[1] <= 1:
        return f"q = {params[1]:.3g} <= 1: the population's mean spend is not defined ({vals})"
    if not res.success:
        return f"the optimiser did not converge ({res.message}); got {vals}"
    return ""


def clv(bgnbd: BGNBD, gamma_gamma: GammaGamma, summary: pd.DataFrame, *, horizon: int = 52,
        discount_rate: float = 0.0, margin: float = 1.0) -> pd.DataFrame:
    """Customer lifetime value over ``horizon`` periods: expected purchases × expected spend.

    ``value = margin × Σ_{i=1..horizon} (E[Y(i)] − E[Y(i−1)]) × spend / (1 + d)^i``: the BG/NBD
    expected purchases in each future period, times the Gamma–Gamma expected spend, discounted
    at ``discount_rate`` per period (0 = undiscounted, then it is simply
    E[Y(horizon)] × spend). This is the discrete approximation lifetimes uses; the horizon is
    in the summary's units (52 weeks = one year).

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``p_alive``, ``expected_purchases``, ``expected_spend``,
        ``clv``.

    Examples
    --------
    >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, n=1)
    >>> gg = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=0.0, n=1)
    >>> s = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86],
    ...                   "monetary_value": [40.0]})
    >>> out = clv(m, gg, s, horizon=39)
    >>> bool(np.isclose(out["clv"].iloc[0],
    ...                 out["expected_purchases"].iloc[0] * out["expected_spend"].iloc[0]))
    True
    """
    if horizon < 1:
        raise ValueError("horizon must be at least one period")
    spend = gamma_gamma.expected_spend(summary)
    cum = np.column_stack([np.zeros(len(summary))] + [
        bgnbd.expected_purchases(i, summary).to_numpy() for i in range(1, horizon + 1)])
    disc = (1.0 + discount_rate) ** -np.arange(1, horizon + 1)
    value = margin * (np.diff(cum, axis=1) * disc).sum(axis=1) * spend.to_numpy()
    return pd.DataFrame({"p_alive": bgnbd.p_alive(summary), "expected_purchases": cum[:, -1],
                         "expected_spend": spend, "clv": value}, index=summary.index)


def bgnbd_check(bgnbd: BGNBD, summary: pd.DataFrame) -> pd.DataFrame:
    """How well a fitted BG/NBD reproduces the data it was fitted on: two in-sample checks.

    Each customer was watched for their own ``T`` periods after the first purchase. The model
    predicts, for such a customer, ``E[X(T)]`` repeat purchases (:meth:`BGNBD.expected_new`) and
    a chance ``(α / (α + T))^r`` of no repeat purchase at all (in BG/NBD nobody can drop out
    before a first repeat purchase, so that is the gamma-Poisson zero). Summed and averaged over
    the customers these give the expected repeat purchases and share of one-purchase customers,
    set against what was observed; ``ratio`` = observed / expected.

    Examples
    --------
    >>> s = simulate_bgnbd(2000, 52.0, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=3)
    >>> bgnbd_check(fit_bgnbd(s), s)["ratio"].round(1).tolist()
    [1.0, 1.0]
    """
    x, _, T = _frt(summary)
    expected = np.array([float(np.sum(bgnbd.expected_new(T))),
                         float(np.mean((bgnbd.alpha / (bgnbd.alpha + T)) ** bgnbd.r))])
    observed = np.array([float(x.sum()), float(np.mean(x == 0))])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = observed / expected
    return pd.DataFrame({"observed": observed, "expected": expected, "ratio": ratio},
                        index=pd.Index(["repeat purchases", "share without repeat"],
                                       name="check"))


def clv_by_band(value: pd.DataFrame, summary: pd.DataFrame,
                bands=(0, 1, 3)) -> pd.DataFrame:
    """Expected value per band of past repeat purchases: who holds the CLV.

    ``bands`` are the upper ends of the bands of ``frequency`` ((0, 1, 3) gives "0", "1", "2-3"
    and "4+"); empty bands are left out.

    Returns
    -------
    DataFrame indexed by band: ``customers``, mean ``p_alive``, mean ``expected_purchases``,
    mean ``clv``, ``clv_total`` (both to 3 significant digits: the fit supports no more) and
    ``clv_share``.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 0, 1, 5]})
    >>> v = pd.DataFrame({"p_alive": [1.0, 1.0, 0.5, 0.9], "expected_purchases": [0.1, 0.2, 0.5, 3],
    ...                   "clv": [10.0, 20.0, 30.0, 140.0]})
    >>> clv_by_band(v, s)[["customers", "clv", "clv_share"]]
               customers   clv  clv_share
    frequency
    0                  2  15.0       0.15
    1                  1  30.0       0.15
    4+                 1 140.0       0.70
    """
    edges = [-1, *bands, np.inf]
    labels = []
    for lo, hi in pairwise(edges):
        lo = int(lo) + 1
        labels.append(f"{lo}+" if hi == np.inf else (str(lo) if lo == hi else f"{lo}-{int(hi)}"))
    band = pd.cut(summary["frequency"], edges, labels=labels)
    out = value.groupby(band.to_numpy(), observed=True).agg(
        customers=("clv", "size"), p_alive=("p_alive", "mean"),
        expected_purchases=("expected_purchases", "mean"), clv=("clv", "mean"),
        clv_total=("clv", "sum"))
    out = out.reindex([b for b in labels if b in out.index])
    out["clv_share"] = out["clv_total"] / out["clv_total"].sum()
    out.index.name = "frequency"
    # a and b are loosely pinned down: CLV moves in its sixth digit between machines
    out["clv"], out["clv_total"] = round_sig(out["clv"], 3), round_sig(out["clv_total"], 3)
    return out.round({"p_alive": 3, "expected_purchases": 3, "clv_share": 3})


# --------------------------------------------------------------------------- feedback


def rating_by_category(reviews: pd.DataFrame, items: pd.DataFrame, *, low_max: int = 2
                       ) -> pd.DataFrame:
    """Rating distribution per item category, with the share of low ratings (≤ ``low_max``).

    Returns
    -------
    DataFrame
        One row per category (worst mean first): ``category``, ``reviews``, ``mean_rating``,
        the share of each rating ``r1``–``r5``, ``low_share`` and its Wilson ``ci_low``/``ci_high``.
        Reviews whose item is not in ``items`` are grouped as "(unknown)".

    Examples
    --------
    >>> rv = pd.DataFrame({"item_id": [1, 1, 2], "rating": [1, 5, 4]})
    >>> it = pd.DataFrame({"item_id": [1, 2], "category": ["toys", "books"]})
    >>> rating_by_category(rv, it)[["category", "reviews", "mean_rating", "low_share"]]
      category  reviews  mean_rating  low_share
    0     toys        2          3.0        0.5
    1    books        1          4.0        0.0
    """
    _check_cols(reviews, "reviews", ["item_id", "rating"])
    _check_cols(items, "items", ["item_id", "category"])
    cat = reviews["item_id"].map(items.drop_duplicates("item_id").set_index("item_id")["category"])
    d = pd.DataFrame({"category": cat.fillna("(unknown)").astype(str),
                      "rating": reviews["rating"].astype(int).to_numpy()})
    dist = pd.crosstab(d["category"], d["rating"]).reindex(columns=range(1, 6), fill_value=0)
    n = dist.sum(axis=1)
    out = dist.div(n, axis=0).add_prefix("r")
    out.insert(0, "mean_rating", d.groupby("category")["rating"].mean())
    out.insert(0, "reviews", n)
    low = rate_table(dist.loc[:, dist.columns <= low_max].sum(axis=1), n)
    out["low_share"], out["ci_low"], out["ci_high"] = low["rate"], low["ci_low"], low["ci_high"]
    out = out.reset_index().rename(columns={"index": "category"})
    out.columns.name = None
    return out.sort_values(["mean_rating", "category"], kind="stable").reset_index(drop=True)


def review_terms(reviews: pd.DataFrame, *, by: str = "rating", top: int = 5,
                 ngram_range=(1, 2)) -> pd.DataFrame:
    """The most characteristic terms of the review texts in each group (TF-IDF, scikit-learn).

    Each review is a document (English stop words removed); a term's score in a group is its
    mean TF-IDF weight over the group's reviews, so terms frequent in one group and rare in the
    others come first. ``docs`` counts the group's reviews that contain the term.

    Returns
    -------
    DataFrame
        ``top`` rows per group: ``<by>``, ``term``, ``docs``, ``share`` (of the group's reviews),
        ``tfidf``.

    Examples
    --------
    >>> rv = pd.DataFrame({"rating": [1, 1, 5], "text": ["arrived broken", "broken box",
    ...                                                  "love it"]})
    >>> review_terms(rv, top=1, ngram_range=(1, 1))[["rating", "term", "docs"]]
       rating    term  docs
    0       1  broken     2
    1       5    love     1
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    _check_cols(reviews, "reviews", [by, "text"])
    d = reviews.loc[reviews["text"].notna() & (reviews["text"].astype(str).str.strip() != "")]
    vec = TfidfVectorizer(stop_words="english", ngram_range=ngram_range)
    X = vec.fit_transform(d["text"].astype(str))
    terms = vec.get_feature_names_out()
    groups = d[by].to_numpy()
    rows = []
    for g in np.unique(groups):  # one pass per group (a handful), not per review
        sub = X[groups == g]
        score = np.asarray(sub.mean(axis=0)).ravel()
        docs = np.asarray((sub > 0).sum(axis=0)).ravel()
        order = np.lexsort((terms, -score))[:top]
        rows.append(pd.DataFrame({by: g, "term": terms[order], "docs": docs[order],
                                  "share": docs[order] / sub.shape[0], "tfidf": score[order]}))
    out = pd.concat(rows, ignore_index=True)
    return out.round({"share": 4, "tfidf": 4})


def next_purchase_after_review(orders: pd.DataFrame, reviews: pd.DataFrame, *,
                               low_max: int = 2, window_days: float = 365,
                               observation_end=None, first_only: bool = True) -> pd.DataFrame:
    """Share of reviewers who order again within ``window_days`` of a low versus a not-low rating.

    A reviewer "buys again" when they place an order in (review time, review time +
    ``window_days``]. Every review gets the same follow-up window, so a review written late in
    the data is not judged on less time: reviews whose window ends after ``observation_end``
    are censored (left out, counted in ``censored``), as in :func:`repurchase_rate`. Reviews
    written after ``observation_end`` are ignored (counted in ``.attrs["after_end"]``). With
    ``first_only`` (default) each reviewer counts once, by their first review, so the units are
    independent; otherwise every review is a unit (more data, but one person's reviews are
    correlated). Low means rating ≤ ``low_max``; the comparison group is every other rating.

    Returns
    -------
    DataFrame
        Two rows, ``group`` "low" and "other": ``n`` reviewers with a full window, ``k`` who
        bought again within it, ``rate``, ``ci_low``, ``ci_high``, ``censored``. Pass it to
        :func:`risk_ratio`. ``.attrs`` holds ``observation_end``, ``window_days`` and
        ``after_end``.

    Examples
    --------
    User 3's review is only 20 days before the end, so it is censored; user 2 buys again 55
    days after the review, user 4 only after the 30-day window:

    >>> o = pd.DataFrame({"user_id": [1, 2, 2, 3, 4, 4],
    ...                   "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01",
    ...                                                 "2025-01-01", "2025-01-01", "2025-03-20"],
    ...                                                utc=True)})
    >>> rv = pd.DataFrame({"user_id": [1, 2, 3, 4], "rating": [1, 5, 4, 5],
    ...                    "created_at": pd.to_datetime(["2025-01-05", "2025-01-05", "2025-03-12",
    ...                                                  "2025-01-05"], utc=True)})
    >>> t = next_purchase_after_review(o, rv, window_days=60, observation_end="2025-04-01")
    >>> t[["group", "n", "k", "rate", "censored"]]
       group  n  k  rate  censored
    0    low  1  0   0.0         0
    1  other  2  1   0.5         1
    """
    _check_cols(orders, "orders", ["user_id", "ordered_at"])
    _check_cols(reviews, "reviews", ["user_id", "rating", "created_at"])
    if not window_days > 0:
        raise ValueError(f"window_days must be positive, got {window_days!r}")
    ot = _times(orders, "orders", "ordered_at")
    rt = _times(reviews, "reviews", "created_at")
    end = _end(ot, observation_end)
    inside = (rt <= end).to_numpy()
    rv = reviews.assign(created_at=rt).loc[inside]
    keys = ["user_id", "created_at"] + (["order_id"] if "order_id" in rv.columns else [])
    rv = rv.sort_values(keys, kind="stable").reset_index(drop=True)
    if first_only:
        rv = rv.drop_duplicates("user_id", keep="first")
    win = pd.Timedelta(days=window_days)
    grp = np.where(rv["rating"].to_numpy() <= low_max, "low", "other")
    full = (rv["created_at"] + win <= end).to_numpy()
    # the first order strictly after each review (merge_asof: one vectorised pass)
    left = pd.DataFrame({"user_id": rv["user_id"].to_numpy(), "t": rv["created_at"].to_numpy(),
                         "row": np.arange(len(rv))}).sort_values("t", kind="stable")
    od = pd.DataFrame({"user_id": orders["user_id"].to_numpy(), "t": ot.to_numpy(),
                       "next": ot.to_numpy()}).loc[(ot <= end).to_numpy()]
    nxt = pd.merge_asof(left, od.sort_values("t", kind="stable"), on="t", by="user_id",
                        direction="forward", allow_exact_matches=False)
    nxt = nxt.sort_values("row")["next"].to_numpy()
    again = ~pd.isna(nxt) & (nxt <= (rv["created_at"] + win).to_numpy())
    order = ["low", "other"]
    k = pd.Series(again[full], index=grp[full]).groupby(level=0).sum().reindex(order, fill_value=0)
    n = pd.Series(grp[full]).value_counts().reindex(order, fill_value=0)
    out = rate_table(k, n).rename_axis("group").reset_index()
    out["censored"] = pd.Series(grp[~full]).value_counts().reindex(order, fill_value=0).to_numpy()
    out.attrs.update(observation_end=end, window_days=window_days,
                     after_end=int((~inside).sum()))
    return out


def risk_ratio(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Risk ratio of buying again, low versus other rating, with its CI (log method).

    RR = (k₁/n₁)/(k₂/n₂); the CI is exp(log RR ± z·√(1/k₁ − 1/n₁ + 1/k₂ − 1/n₂)) as in
    statsmodels' ``Table2x2.riskratio_confint``; ``p_value`` tests RR = 1.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["low", "other"], "n": [50, 500], "k": [10, 200]})
    >>> risk_ratio(t).round(3)
       risk_ratio  ci_low  ci_high  p_value
    0         0.5   0.284    0.879    0.016
    """
    from statsmodels.stats.contingency_tables import Table2x2

    _check_cols(table, "table", ["n", "k"])
    if len(table) != 2:
        raise ValueError("table: need exactly two rows (exposed first, then the reference)")
    n = table["n"].to_numpy(float)
    k = table["k"].to_numpy(float)
    if (k <= 0).any() or (k >= n).any():
        groups = table["group"] if "group" in table.columns else pd.Series(["first", "second"])
        thin = [f"{g} ({int(kk)} of {int(nn)})" for g, kk, nn in zip(groups, k, n)
                if kk <= 0 or kk >= nn]
        raise NotFittable("each group needs at least one reviewer who bought again and one who "
                          f"did not; not so in {', '.join(thin)}")
    t = Table2x2(np.array([[k[0], n[0] - k[0]], [k[1], n[1] - k[1]]]))
    lo, hi = t.riskratio_confint(alpha=alpha)
    return pd.DataFrame({"risk_ratio": [t.riskratio], "ci_low": [lo], "ci_high": [hi],
                         "p_value": [t.riskratio_pvalue()]})


# --------------------------------------------------------------------------- churn drivers

MIN_BINARY = 5
"""A yes/no churn factor needs at least this many buyers on each side to be estimated."""


def churn_features(orders: pd.DataFrame, *, reviews: pd.DataFrame | None = None,
                   users: pd.DataFrame | None = None, observation_end=None,
                   horizon_days: int = 180, low_max: int = 2) -> pd.DataFrame:
    """One row per buyer at a cutoff, with behaviour before it and churn after it.

    The cutoff is ``observation_end − horizon_days``. Buyers with an order on or before the
    cutoff are kept; ``churned`` = no order in (cutoff, observation_end]. Features, all measured
    up to the cutoff: ``orders`` (count), ``months_since_last`` (30-day months),
    ``log_aov`` (log of mean revenue, needs ``revenue``), ``coupon_share`` (share of orders with
    a coupon, needs ``coupon``; a missing or blank code is no coupon; left out when no order has
    a revenue), ``low_rating`` (wrote a
    review rated ≤ ``low_max``, needs ``reviews``), ``mobile`` (``users.device`` is mobile,
    needs ``users``).

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2, 3], "revenue": [10.0, 30.0, 5.0, 8.0],
    ...                   "ordered_at": pd.to_datetime(["2025-01-01", "2025-08-01",
    ...                                                 "2025-02-01", "2025-09-01"], utc=True)})
    >>> churn_features(o, observation_end="2025-12-31")[["orders", "churned"]]
             orders  churned
    user_id
    1             1    False
    2             1     True
    """
    _check_cols(orders, "orders", ["user_id", "ordered_at"])
    t = _times(orders, "orders", "ordered_at")
    end = _end(t, observation_end)
    cut = end - pd.Timedelta(days=horizon_days)
    before = (t <= cut).to_numpy()
    after = ((t > cut) & (t <= end)).to_numpy()
    if not before.any():
        raise NotFittable(f"no order before the cutoff {cut:%Y-%m-%d} ({horizon_days} days "
                          "before the end): the data are too short to watch buyers for that long")
    ob = orders.loc[before].assign(ordered_at=t[before])
    g = ob.groupby("user_id", sort=True)
    f = pd.DataFrame({"orders": g.size(),
                      "months_since_last": (cut - g["ordered_at"].max()).dt.days / 30.0})
    if "revenue" in ob.columns and ob["revenue"].notna().any():
        f["log_aov"] = np.log1p(g["revenue"].mean())
    if "coupon" in ob.columns:
        used = ob["coupon"].notna() & ob["coupon"].astype(str).str.strip().ne("")
        f["coupon_share"] = used.groupby(ob["user_id"]).mean()
    if reviews is not None:
        rt = _times(reviews, "reviews", "created_at")
        low = reviews.loc[((rt <= cut) & (reviews["rating"] <= low_max)).to_numpy(), "user_id"]
        f["low_rating"] = f.index.isin(low.unique()).astype(int)
    if users is not None and "device" in users.columns:
        dev = users.drop_duplicates("user_id").set_index("user_id")["device"]
        f["mobile"] = (f.index.map(dev) == "mobile").astype(int)
    f["churned"] = ~f.index.isin(orders.loc[after, "user_id"].unique())
    f.attrs["cutoff"] = cut
    return f


def churn_drivers(features: pd.DataFrame, *, outcome: str = "churned", columns=None,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Logistic regression of churn on features, reported as odds ratios with CIs.

    Fits ``statsmodels`` ``Logit`` (with an intercept) of ``outcome`` on ``columns`` (default:
    every other numeric column, dropping constant ones and yes/no ones that fewer than
    ``MIN_BINARY`` buyers have or lack, listed in ``.attrs["left_out"]``). Data that cannot
    support the model (one
    outcome only, fewer than about 10 buyers per factor, a singular fit) raise
    :class:`NotFittable`. An odds ratio above 1 means the
    feature goes with more churn, holding the others fixed; it is an association, not a cause.

    Returns
    -------
    DataFrame
        One row per feature: ``feature``, ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``,
        and ``n`` (rows used; ``.attrs["dropped"]`` counts rows with missing values).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"x": rng.normal(size=2000)})
    >>> f["churned"] = rng.random(2000) < 1 / (1 + np.exp(-(0.2 + np.log(2) * f["x"])))
    >>> round(float(churn_drivers(f)["odds_ratio"].iloc[0]), 1)  # planted 2
    2.1
    """
    import statsmodels.api as sm

    _check_cols(features, "features", [outcome])
    rare = []
    if columns is None:
        num = features.drop(columns=[outcome]).select_dtypes("number")
        columns = [c for c in num.columns if num[c].nunique(dropna=True) > 1]
        # a yes/no factor that only a handful of buyers have (or lack) cannot be estimated
        rare = [c for c in columns if num[c].nunique(dropna=True) == 2
                and num[c].value_counts().min() < MIN_BINARY]
        columns = [c for c in columns if c not in rare]
    if not columns:
        raise NotFittable("no numeric feature that varies")
    d = features[list(columns) + [outcome]]
    ok = d.notna().all(axis=1)
    d = d.loc[ok]
    y = d[outcome].astype(float)
    if y.nunique() < 2:
        raise NotFittable(f"all {len(d):,} buyers have the same outcome "
                          f"({'churned' if len(y) and y.iloc[0] else 'stayed'}): nothing to explain")
    if len(d) < 10 * len(columns):
        raise NotFittable(f"only {len(d):,} buyers for {len(columns)} factors (a logistic "
                          "regression needs about 10 per factor)")
    X = sm.add_constant(d[list(columns)].astype(float), has_constant="add")
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("error", ConvergenceWarning)
            fit = sm.Logit(y, X).fit(disp=0)
        if not np.isfinite(fit.bse[list(columns)]).all():
            raise np.linalg.LinAlgError("infinite standard errors")
    except (np.linalg.LinAlgError, PerfectSeparationError, PerfectSeparationWarning,
            ConvergenceWarning) as e:
        raise NotFittable(f"the logistic regression cannot be fitted on these data ({e})") from None
    ci = fit.conf_int(alpha=alpha)
    out = pd.DataFrame({"feature": list(columns),
                        "odds_ratio": np.exp(fit.params[list(columns)]).to_numpy(),
                        "ci_low": np.exp(ci.loc[list(columns), 0]).to_numpy(),
                        "ci_high": np.exp(ci.loc[list(columns), 1]).to_numpy(),
                        "p_value": fit.pvalues[list(columns)].to_numpy(), "n": len(d)})
    out.attrs["dropped"] = int((~ok).sum())
    out.attrs["left_out"] = rare
    return out
