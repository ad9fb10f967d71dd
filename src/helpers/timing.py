"""The right time: when each customer is likely to buy next (notebook 07).

The purchase model is the BG/NBD of :mod:`helpers.retention` (Fader, Hardie & Lee 2005): while
a customer is alive they buy as a Poisson process with rate λ, λ ~ Gamma(r, α) across customers,
and after each repeat purchase they leave for good with probability p ~ Beta(a, b).

**The next-purchase time.** Take a customer whose first purchase was ``T`` time units before
``observation_end`` and who has made ``x`` repeat purchases since. Conditional on being alive
at ``observation_end``, the likelihood of their purchase record in λ is ``λ^x e^(−λT)`` (the
dropout factor ``(1 − p)^x`` does not involve λ), so by conjugacy

    λ | alive, x, T  ~  Gamma(shape s = r + x, rate β = α + T).

Their own inter-purchase history (x purchases in T) is thus shrunk toward the population's
prior (r, α): the posterior mean rate is (r + x) / (α + T), between the prior mean r / α and
the customer's own x / T. In BG/NBD a customer drops out only right after a purchase, so an
alive customer is certain to buy once more, and by the Poisson process's lack of memory the wait
W from ``observation_end`` is Exp(λ). Mixing over the posterior gives a Lomax (Pareto II) law:

    P(W > w | alive) = (β / (β + w))^s,      quantile  Q(q) = β ((1 − q)^(−1/s) − 1),

and unconditionally P(buy within w) = P(alive) · (1 − (β / (β + w))^s), with P(alive) from
FHL 2005 eq. 11 (``BGNBD.p_alive``). The Lomax density is decreasing, so the *shortest* window
that holds a chance ``coverage`` of the next purchase (given alive) starts at
``observation_end`` and ends at Q(coverage). One-time buyers (x = 0) have no gaps of their own:
their window uses the population prior aged by the time they have not bought, Gamma(r, α + T),
and is flagged ``basis = "population"``.

**Timed contacts at a fixed budget.** With a budget of contact-days to spend, the plan that
maximises expected purchases inside the contact windows gives each customer the days on which
their chance of buying per day, P(alive) · f(w), is above one common level μ (a Lagrange
condition; because each density is decreasing, each customer's contact days form one window
that starts at once). Solving P(alive) s/β (1 + w/β)^(−(s+1)) = μ gives

    w(μ) = β ((P(alive) s / (β μ))^(1 / (s + 1)) − 1), or 0 when that is negative,

and μ is set by bisection so the windows add up to the budget. :func:`evaluate_timing` scores
this plan against a fixed schedule with the same contact-days on orders after a split.

The model has no regular rhythm (purchases are Poisson while alive); for goods bought on a
cycle (refills, pet food) a renewal model of the gaps would time contacts later than "now".

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275–284.

Examples
--------
>>> orders = pd.DataFrame({"user_id": [1, 1, 1, 2, 3, 3, 4, 4, 5],
...                        "ordered_at": pd.to_datetime(
...                            ["2025-01-02", "2025-01-20", "2025-02-10", "2025-01-15",
...                             "2025-01-05", "2025-03-01", "2025-02-01", "2025-02-08",
...                             "2025-02-20"], utc=True)})
>>> m = retention.BGNBD(r=0.5, alpha=20.0, a=1.0, b=3.0, log_likelihood=0.0, n=5)
>>> w = next_purchase_window(orders, observation_end="2025-03-31", model=m)
>>> w[["user_id", "n_orders", "p_alive", "window_days", "basis"]].round(2)
   user_id  n_orders  p_alive  window_days       basis
0        1         3     0.47        34.51    own gaps
1        2         1     1.00       285.00  population
2        3         2     0.64        61.68    own gaps
3        4         2     0.38        45.82    own gaps
4        5         1     1.00       177.00  population

Customer 2 (one order, 75 days ago): s = 0.5, β = 20 + 75 = 95 days, so the median wait is
95 · (2² − 1) = 285 days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from helpers import args, retention
from helpers.data import require_columns
from helpers.stats import wilson

__all__ = ["contact_windows", "evaluate_timing", "next_purchase_window", "wait_cdf",
           "wait_quantile"]

_PERIOD_DAYS = {"D": 1.0, "W": 7.0}
DAY = pd.Timedelta("1D")


def wait_cdf(w, shape, scale):
    """P(next purchase within ``w`` | alive) = 1 − (β / (β + w))^s (a Lomax law; see the module).

    ``shape`` s = r + x and ``scale`` β = α + T, in the same time unit as ``w``.

    >>> round(float(wait_cdf(10.0, 2.0, 10.0)), 4)  # 1 - (1/2)^2
    0.75
    """
    w, s, b = (np.asarray(v, float) for v in (w, shape, scale))
    return -np.expm1(s * (np.log(b) - np.log(b + np.maximum(w, 0.0))))


def wait_quantile(q, shape, scale):
    """The wait by which the next purchase has happened with chance ``q`` (given alive).

    >>> float(wait_quantile(0.75, 2.0, 10.0))  # inverse of wait_cdf
    10.0
    """
    q, s, b = (np.asarray(v, float) for v in (q, shape, scale))
    return b * np.expm1(-np.log1p(-q) / s)


def _check_orders(orders, user_col: str, time_col: str) -> pd.Series:
    require_columns(orders, "orders", [user_col, time_col])
    if len(orders) == 0:
        raise retention.NotFittable("orders: the table is empty")
    t = pd.to_datetime(orders[time_col], utc=True, errors="coerce")
    bad = t.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"orders.{time_col}: {int(bad.sum())} row(s) are not timestamps, e.g. "
                         f"row {i}: {orders[time_col].iloc[i]!r}")
    return t


def _check_share(x, name: str, *, closed_low: bool = False) -> float:
    ok = isinstance(x, (int, float, np.floating)) and not isinstance(x, bool) and (
        (0 <= x < 1) if closed_low else (0 < x < 1))
    if not ok:
        raise ValueError(f"{name} must be a number {'from 0' if closed_low else 'between 0'} "
                         f"and 1 (exclusive), e.g. 0.5; got {x!r}")
    return float(x)


def next_purchase_window(orders: pd.DataFrame, *, observation_end, model=None,
                         coverage: float = 0.5, horizon_days: float | None = None,
                         freq: str = "D", user_col: str = "user_id",
                         time_col: str = "ordered_at") -> pd.DataFrame:
    """Each customer's window for their next purchase after ``observation_end``.

    The window is the shortest one that holds a chance ``coverage`` of the next purchase if the
    customer is still alive (it starts at ``observation_end``; formula in the module notes),
    cut at ``horizon_days`` when given. Customers with two or more orders get it from their own
    record shrunk toward the population (``basis = "own gaps"``), one-time buyers from the
    population prior (``basis = "population"``).

    Parameters
    ----------
    orders : DataFrame
        One row per order with ``user_col`` and ``time_col``; orders after ``observation_end``
        are ignored. Pass completed orders if cancellations should not count.
    observation_end : date or timestamp
        The moment of the forecast (naive means UTC).
    model : retention.BGNBD, optional
        A fitted model in units of ``freq``; None fits one (``retention.fit_bgnbd`` on
        ``retention.summary_from_orders(..., freq=freq)``).
    coverage : float
        Chance (given alive) that the next purchase falls in the window, in (0, 1).
    horizon_days : float, optional
        Longest window in days (e.g. the length of a campaign); windows are cut there and
        ``p_in_window_if_alive`` says how much they then hold.
    freq : {"D", "W"}
        Time unit of the summary and the model: days or weeks (weeks ending Sunday).

    Returns
    -------
    DataFrame
        One row per customer: ``user_id`` (named as ``user_col``), ``n_orders`` (distinct
        periods with an order), ``last_order``, ``p_alive``, ``rate_per_day`` (posterior mean
        purchase rate if alive, s/β per day), ``shape`` and ``scale_days`` (s and β, β in days),
        ``window_start``, ``window_end``, ``window_days``, ``p_in_window_if_alive``,
        ``p_buy_in_window`` (= p_alive × p_in_window_if_alive) and ``basis``. ``.attrs["model"]``
        is the BG/NBD used.

    Raises
    ------
    ValueError
        Bad ``coverage``, ``horizon_days`` or ``freq``, an unparseable ``observation_end``, a
        missing column, or no order at or before ``observation_end``;
        ``retention.NotFittable`` when the model cannot be fitted (no repeat buyer).

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2], "ordered_at": pd.to_datetime(
    ...     ["2025-01-01", "2025-01-11", "2025-01-05"], utc=True)})
    >>> m = retention.BGNBD(r=1.0, alpha=10.0, a=1.0, b=3.0, log_likelihood=0.0, n=2)
    >>> w = next_purchase_window(o, observation_end="2025-01-21", model=m, coverage=0.75)
    >>> w.loc[0, ["shape", "scale_days", "window_days"]].tolist()  # s=2, β=30: 30·(4^(1/2)−1)
    [2.0, 30.0, 30.0]
    >>> str(w.loc[0, "window_end"].date()), w["basis"].tolist()
    ('2025-02-20', ['own gaps', 'population'])
    """
    coverage = _check_share(coverage, "coverage")
    if freq not in _PERIOD_DAYS:
        raise ValueError(f"freq must be 'D' (days) or 'W' (weeks), got {freq!r}")
    if horizon_days is not None and not (np.isscalar(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon_days must be a positive number of days, e.g. 90; got "
                         f"{horizon_days!r}")
    if model is not None and not isinstance(model, retention.BGNBD):
        raise ValueError(f"model must be a retention.BGNBD (from retention.fit_bgnbd), got "
                         f"{type(model).__name__}")
    t = _check_orders(orders, user_col, time_col)
    end = args.timestamp(observation_end, "observation_end")
    if not (t <= end).any():
        raise ValueError(f"orders.{time_col}: no order at or before observation_end "
                         f"{end:%Y-%m-%d} (the first is {t.min():%Y-%m-%d})")
    summ = retention.summary_from_orders(orders, observation_end=end, freq=freq,
                                         user_col=user_col, time_col=time_col)
    unit = _PERIOD_DAYS[freq]
    if model is None:
        # fit_bgnbd's default start (alpha 1) is scaled for weeks; start at a week in any unit
        model = retention.fit_bgnbd(summ, start=(1.0, 7.0 / unit, 1.0, 1.0))
    x = summ["frequency"].to_numpy(float)
    shape = model.r + x
    scale = (model.alpha + summ["T"].to_numpy(float)) * unit  # in days
    days = wait_quantile(coverage, shape, scale)
    inside = np.full(len(x), coverage)
    if horizon_days is not None:
        cut = days > horizon_days
        days = np.minimum(days, float(horizon_days))
        inside = np.where(cut, wait_cdf(days, shape, scale), coverage)
    p_alive = model.p_alive(summ).to_numpy()
    last = t[(t <= end).to_numpy()].groupby(orders[user_col].to_numpy()[(t <= end).to_numpy()]
                                           ).max().reindex(summ.index)
    out = pd.DataFrame({
        user_col: summ.index.to_numpy(),
        "n_orders": (summ["frequency"].to_numpy() + 1).astype("int64"),
        "last_order": last.to_numpy(),
        "p_alive": p_alive,
        "rate_per_day": shape / scale,
        "shape": shape,
        "scale_days": scale,
        "window_start": end,
        "window_end": end + pd.to_timedelta(days, unit="D"),
        "window_days": days,
        "p_in_window_if_alive": inside,
        "p_buy_in_window": p_alive * inside,
        "basis": np.where(x > 0, "own gaps", "population"),
    })
    out.attrs.update(model=model, observation_end=end, coverage=coverage, freq=freq)
    return out


def contact_windows(windows: pd.DataFrame, *, days_per_customer: float,
                    horizon_days: float | None = None) -> pd.Series:
    """Contact days per customer that spend ``days_per_customer`` on average where buying is likeliest.

    Each customer is contacted from the window start for ``w`` days, where ``w`` is the time at
    which their chance of buying per day, ``p_alive · f(w)``, falls below a level common to all
    customers (the module notes derive it); the level is chosen so the mean of ``w`` is
    ``days_per_customer``. Customers whose chance is below the level from the start get 0 days
    (not contacted). With ``horizon_days`` no window runs beyond it.

    Parameters
    ----------
    windows : DataFrame
        The output of :func:`next_purchase_window` (columns ``p_alive``, ``shape``,
        ``scale_days``).
    days_per_customer : float
        The budget: mean contact-days per customer (e.g. 30 for a 30-day schedule).
    horizon_days : float, optional
        Longest window in days; must be at least ``days_per_customer``.

    Returns
    -------
    Series
        Contact days per row of ``windows`` (same index), named ``contact_days``.

    Examples
    --------
    >>> w = pd.DataFrame({"p_alive": [1.0, 1.0, 0.2], "shape": [3.0, 0.3, 1.0],
    ...                   "scale_days": [60.0, 200.0, 100.0]})
    >>> d = contact_windows(w, days_per_customer=20)
    >>> round(float(d.mean()), 6), bool(d.iloc[0] > d.iloc[2])
    (20.0, True)
    """
    require_columns(windows, "windows", ["p_alive", "shape", "scale_days"])
    if not (np.isscalar(days_per_customer) and days_per_customer > 0):
        raise ValueError(f"days_per_customer must be a positive number of days, e.g. 30; got "
                         f"{days_per_customer!r}")
    cap = np.inf if horizon_days is None else float(horizon_days)
    if days_per_customer > cap:
        raise ValueError(f"days_per_customer ({days_per_customer}) is longer than horizon_days "
                         f"({horizon_days}): the budget cannot be spent")
    p = windows["p_alive"].to_numpy(float)
    s = windows["shape"].to_numpy(float)
    b = windows["scale_days"].to_numpy(float)
    head = np.log(np.maximum(p, 1e-300)) + np.log(s) - np.log(b)  # log density at w = 0

    def days(log_mu):
        w = b * np.expm1(np.maximum(head - log_mu, 0.0) / (s + 1))
        return np.minimum(w, cap)

    target = days_per_customer * len(p)
    if len(p) == 0:
        return pd.Series([], index=windows.index, name="contact_days", dtype=float)
    lo, hi = head.max() - 200.0, head.max()  # days(hi) = 0; days(lo) is huge (or capped)
    if days(lo).sum() < target:  # only when capped: the whole horizon for everyone
        return pd.Series(days(lo), index=windows.index, name="contact_days")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if days(mid).sum() > target else (lo, mid)
    w = days(hi)
    # spread the rounding gap over the contacted, so both plans spend exactly the same days
    if w.sum() > 0:
        w = np.minimum(w * (target / w.sum()), cap)
    return pd.Series(w, index=windows.index, name="contact_days")


def _days(x, name: str) -> float:
    try:
        td = pd.Timedelta(x) if isinstance(x, str) else pd.Timedelta(days=float(x))
    except (ValueError, TypeError):
        td = pd.NaT
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration such as '30D' or 30 (days); got "
                         f"{x!r}")
    return td / DAY


def evaluate_timing(orders: pd.DataFrame, *, split=None, end=None, schedule="30D",
                    coverage: float = 0.5, threshold: float = 0.25, freq: str = "D",
                    alpha: float = 0.05, user_col: str = "user_id",
                    time_col: str = "ordered_at") -> pd.DataFrame:
    """Offline test of timing: do model-timed contacts catch more next purchases than a schedule?

    The model is fitted on the orders up to ``split``; every customer with an order by then is
    scored on whether they buy in ``(split, end]`` inside the window they were given. Four plans:

    * ``fixed schedule``: everyone is contacted for ``schedule`` from ``split``;
    * ``timed``: the same contact-days in total, spent by :func:`contact_windows` (longer for
      customers likelier to buy soon, none for those very unlikely to);
    * ``coverage windows``: each customer's :func:`next_purchase_window` at ``coverage``, cut at
      ``end`` (its ``expected`` hits check the model's calibration);
    * ``coverage windows, p ≥ threshold``: only customers whose ``p_buy_in_window`` is at least
      ``threshold``.

    Parameters
    ----------
    orders : DataFrame
        One row per order (``user_col``, ``time_col``).
    split, end : date or timestamp, optional
        Fit up to ``split``, score in ``(split, end]``. Defaults: ``end`` the last order,
        ``split`` three quarters of the way from the first order to ``end`` (to the day).
    schedule : str or float
        Length of the fixed schedule ("30D", or days); at most ``end − split``.
    coverage, threshold : float
        As in :func:`next_purchase_window`; the targeting rule's cut on ``p_buy_in_window``.
    alpha : float
        1 − confidence of the intervals.

    Returns
    -------
    DataFrame
        One row per plan: ``plan``, ``customers`` (scored), ``contacted``, ``contact_days``
        (mean per scored customer), ``hits`` (next purchase inside the contact window),
        ``expected`` (the model's expected hits), ``hit_rate`` = hits / customers with Wilson
        ``ci_low``/``ci_high``, ``precision`` = hits / contacted with Wilson
        ``precision_low``/``precision_high``, and ``diff``: the hit rate minus that of a fixed
        schedule with the same budget (everyone contacted for ``contact_days`` from ``split``;
        0 for the fixed schedule itself), with a paired Wald interval ``diff_low``/``diff_high``
        (the same customers under both plans).
        ``.attrs``: ``split``, ``end``, ``schedule_days``, ``coverage``, ``threshold``,
        ``model``.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> o = load_store().orders
    >>> ev = evaluate_timing(o.loc[o["status"] == "completed"], split="2025-06-30")
    >>> ev.set_index("plan").loc[["fixed schedule", "timed"], "hits"].tolist()
    [65, 107]
    """
    coverage = _check_share(coverage, "coverage")
    threshold = _check_share(threshold, "threshold", closed_low=True)
    _check_share(alpha, "alpha")
    t = _check_orders(orders, user_col, time_col)
    end = t.max() if end is None else args.timestamp(end, "end")
    split = ((t.min() + 0.75 * (end - t.min())).floor("D") if split is None
             else args.timestamp(split, "split"))
    if not end > split:
        raise retention.NotFittable(f"end ({end:%Y-%m-%d}) must be after split ({split:%Y-%m-%d})")
    horizon = (end - split) / DAY
    width = _days(schedule, "schedule")
    if width > horizon:
        raise retention.NotFittable(f"schedule ({width:g} days) is longer than the scored period "
                         f"{split:%Y-%m-%d} to {end:%Y-%m-%d} ({horizon:g} days)")
    before = (t <= split).to_numpy()
    if not before.any():
        raise retention.NotFittable(f"orders.{time_col}: no order at or before split {split:%Y-%m-%d}")
    cal = orders.loc[before]
    win = next_purchase_window(cal, observation_end=split, coverage=coverage,
                               horizon_days=horizon, freq=freq, user_col=user_col,
                               time_col=time_col)
    later = ((t > split) & (t <= end)).to_numpy()
    first_after = t[later].groupby(orders[user_col].to_numpy()[later]).min()
    wait = ((first_after.reindex(win[user_col]) - split) / DAY).to_numpy(float)  # NaN: none
    p, s, b = win["p_alive"].to_numpy(), win["shape"].to_numpy(), win["scale_days"].to_numpy()
    n = len(win)
    timed = contact_windows(win, days_per_customer=width, horizon_days=horizon).to_numpy()
    cov_days = win["window_days"].to_numpy()
    target = win["p_buy_in_window"].to_numpy() >= threshold
    plans = [("fixed schedule", np.full(n, width), np.ones(n, bool)),
             ("timed", timed, timed > 0),
             ("coverage windows", cov_days, np.ones(n, bool)),
             ("coverage windows, p ≥ threshold", np.where(target, cov_days, 0.0), target)]
    z = float(norm.ppf(1 - alpha / 2))
    rows = []
    for name, days, contacted in plans:
        hit = (wait <= days) & contacted
        k, m = int(hit.sum()), int(contacted.sum())
        lo, hi = wilson(k, n, alpha=alpha)
        plo, phi = wilson(k, m, alpha=alpha)
        # against everyone contacted for the same mean number of days: an equal budget
        d = hit.astype(float) - (wait <= days[contacted].sum() / n)
        se = d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        rows.append({"plan": name, "customers": n, "contacted": m,
                     "contact_days": float(days[contacted].sum() / n),
                     "hits": k, "expected": float((p * wait_cdf(days, s, b) * contacted).sum()),
                     "hit_rate": k / n, "ci_low": lo, "ci_high": hi,
                     "precision": k / m if m else np.nan, "precision_low": plo,
                     "precision_high": phi, "diff": float(d.mean()),
                     "diff_low": float(d.mean() - z * se), "diff_high": float(d.mean() + z * se)})
    out = pd.DataFrame(rows)
    out.attrs.update(split=split, end=end, schedule_days=width, coverage=coverage,
                     threshold=threshold, model=win.attrs["model"])
    return out
