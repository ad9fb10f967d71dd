"""Budget: response curves per channel from spend and outcomes, marginal returns, a reallocation.

From daily (or weekly) spend per channel and an outcome (sessions, new buyers, revenue), fit how
the outcome responds to spend with the carryover and shape effects of Jin, Wang, Sun, Chan &
Koehler (2017), with bootstrap intervals; then read off each channel's response curve, the
return of the last unit spent today, and a split of the same budget that is expected to bring
more.

**Carryover (geometric adstock).** Spend keeps working after the day it is spent: with daily
spend x_t on a channel and decay θ (0 ≤ θ < 1),

    A_t = x_t + θ A_{t−1},     A_0 = x_0,

so a unit spent today counts fully today, θ tomorrow, θ² the day after (half-life
ln 0.5 / ln θ steps). Unlike Jin et al., who normalise the weights to sum to 1 over a maximum
lag, the adstock here is not normalised: A is accumulated money, and at a constant spend x it
settles at x / (1 − θ).

**Saturation (Hill).** The effect of the accumulated spend flattens:

    h(A) = A^s / (A^s + K^s),

with half-saturation K > 0 (h(K) = 1/2, in the money units of A) and shape s > 0 (s ≤ 1: every
extra unit brings less; s > 1: an S-curve that first accelerates).

**Outcome.** For one outcome series y_t explained by channels c,

    y_t = base_t + Σ_c β_c h_c(A_c,t) + ε_t,       β_c ≥ 0,

where β_c is the most channel c can bring per step, and base_t = intercept + day-of-week
effects (``weekday``) + a linear trend (``trend``) + linear effects of ``controls``. An outcome
with a ``channel`` column (new users by acquisition channel) fits this per channel with that
channel's spend alone; an outcome without one (total revenue) is explained by all channels
jointly, a classic media mix model.

**Response curve and marginal return.** At a constant spend x per step the channel settles at

    R_c(x) = β_c h_c(x / (1 − θ_c)) = β_c x^s / (x^s + (K (1 − θ_c))^s),

so K(1 − θ) (``half_spend``) is the spend per step at which the channel brings half its
maximum. The return of the last unit is R_c'(x) = s R_c(x) (1 − R_c(x)/β_c) / x, against the
average return R_c(x) / x. When the outcome is money, R' is the marginal ROAS; when it is a
count, R' is outcome per extra money unit and 1 / R' the marginal cost of one more.

**Fit.** Least squares by variable projection (Golub & Pereyra 1973): for given nonlinear
parameters (θ, K, s per channel) the linear ones (β ≥ 0 and the base coefficients) are the
bounded linear least squares solution (the base is projected out exactly; ``lsq_linear`` when
an unconstrained β would be negative), so the outer search (``scipy.optimize.least_squares``,
with Kaufman's projected Jacobian, whose gradient is exact) is only over θ ∈ [0, 0.9],
log K(1 − θ) (from 1 % of the mean spend to 100× the largest spend) and log s ∈ [log 0.5,
log 3], started from the best points of a small fixed grid. The cap on K is generous on
purpose: a channel that does not saturate within the data then gets a practically straight
curve (K far above the spend, β/K^s its slope; ``max_response`` and ``half_saturation`` are then
not identified, and their intervals say so). With K capped near the largest adstock, as is
common, such a channel is forced to bend, and the reallocation exploits the bend (on two
identical straight-line channels a 3× cap showed a "gain" in 80 % of simulated data sets).
Everything is deterministic: the same input gives the same output.

**Outlying steps (``robust=True``, the default).** A one-off campaign that buys visitors
outside the curve, a tracking glitch or a bot day can pull a least-squares curve far from the
rest of the data. The fit is therefore an M-estimate by iteratively reweighted least squares
(Huber 1964; Holland & Welsch 1977), each step a weighted variable-projection fit: from the
least-squares fit, residuals are scaled by a robust scale (1.4826 × the median absolute
residual, the standard deviation for normal noise) and get Huber weights (constant 1.345) until
the weights settle, then Tukey's bisquare weights w = (1 − (r / (c σ))²)² (0 beyond c σ)
from there, the scale re-estimated at every step. Huber's loss is convex in the residuals and
only bounds each step's pull, so the first stage moves the fit off the outliers without the
risk a redescending loss run from a poor start has of settling on a wrong fit; the bisquare
then redescends, so a gross outlier ends with weight 0 instead of a bounded pull. The bisquare constant is c = 10, not the textbook 4.685: counts of new users
and daily revenue are skewed, and with 4.685 ordinary busy days count less (on the bundled
shop 15 to 35 ordinary days per channel counted less than half, and the smallest channel's
curve came out 13–19 % low at today's spend and above); at 10 a step must lie about ten robust
standard deviations off to be dropped, which a campaign buying several days' worth of traffic
does and Poisson noise rarely does.
Nothing is dropped silently: every step's weight is in ``.fit["weight"]``, and the steps that
count less than half (``OUTLIER_WEIGHT``) are listed in ``.attrs["outliers"]`` (date, channel,
observed, fitted, weight) and in :attr:`Response.outliers`. ``robust=False`` gives plain least
squares.

**Intervals.** A moving-block bootstrap of the residuals (Künsch 1989): the residual series is
cut into overlapping blocks of ``block_days`` days, blocks drawn at random are laid end to end,
added back to the fitted values, and the model is refitted (from the point estimate) ``n_boot``
times; intervals are the percentiles at level 1 − ``alpha``. Blocks keep the day-to-day
dependence of the residuals that a plain bootstrap would break. With several series (one per
channel) the same blocks are drawn for all of them, so sums over channels keep their dependence.
In a robust fit each residual carries its weight to wherever it lands, and a refit is the
weighted fit with those weights. The weights are not re-estimated per draw (the fast robust
bootstrap of Salibian-Barrera & Zamar 2002 likewise reuses the full-sample weights, and adds a
linear correction this does not): a resampled outlier still counts for nothing, and a refit
costs no more than a least-squares one. Treating the weights as known
leaves out their own variation, which is small when only a few steps are down-weighted.

**Reallocation.** Keeping the total spend per step, maximise Σ_c R_c(x_c) with each x_c within
``bounds`` × today's spend (``scipy.optimize.minimize`` SLSQP from several fixed starts; at the
optimum the channels not at a bound have equal marginal returns). The plan's gain on the curves
that chose it, G(plan) = Σ R_c(proposed) − Σ R_c(current), is optimistic: the optimiser moves
money toward whatever bend the noise put into the fitted curves, and then scores the move on
the same curves. With two identical straight-line channels, scoring the plan under every
bootstrap parameter set gave a 90 % interval above zero in 26 % of 50 simulated data sets (9 of
25 in an earlier count), where 5 % would be right. The gain is therefore corrected for this
optimism with the bootstrap (Efron 1983; Harrell, Lee & Mark 1996): in each draw b the plan is
re-optimised on that draw's curves, and its optimism O_b = G_b(plan_b) − G(plan_b) is how much
better it looks on the curves that chose it than on the fitted curves, which play the truth in
the bootstrap world. The reported ``gain`` is the apparent gain minus the mean optimism, and its
interval the percentiles of G(plan) − O_b: the bootstrap distribution of the true gain of a plan
chosen this way (a basic, or pivotal, bootstrap interval). On the same 50 null data sets the
interval lay above zero in 10 % (below zero in 2 %); with one channel saturated and the other
not, it lay above zero in 19 of 20 (the exception a data set whose saturated channel had had
little spend lately, so there was little to move). The apparent gain and the optimism are kept
in ``.attrs``.

What this does not do: it reads correlation between spend and outcome. Spend that follows
demand (more budget in the season, search ads bought when people search anyway) makes a channel
look better than it is, and a channel whose spend never changed cannot be judged. The curves are
steady-state responses to a spend held for a while, and only known near the spend levels the
data contain. A geo or holdout experiment is the way to confirm a reallocation.

References
----------
Jin, Y., Wang, Y., Sun, Y., Chan, D. & Koehler, J. (2017). Bayesian methods for media mix
modeling with carryover and shape effects. Google Inc. technical report.

Golub, G. H. & Pereyra, V. (1973). The differentiation of pseudo-inverses and nonlinear least
squares problems whose variables separate. *SIAM Journal on Numerical Analysis* 10(2), 413–432.

Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary observations.
*The Annals of Statistics* 17(3), 1217–1241.

Huber, P. J. (1964). Robust estimation of a location parameter. *The Annals of Mathematical
Statistics* 35(1), 73–101.

Holland, P. W. & Welsch, R. E. (1977). Robust regression using iteratively reweighted
least-squares. *Communications in Statistics – Theory and Methods* 6(9), 813–827.

Salibian-Barrera, M. & Zamar, R. H. (2002). Bootstrapping robust estimates of regression.
*The Annals of Statistics* 30(2), 556–582.

Efron, B. (1983). Estimating the error rate of a prediction rule: improvement on
cross-validation. *Journal of the American Statistical Association* 78(382), 316–331.

Harrell, F. E., Lee, K. L. & Mark, D. B. (1996). Multivariable prognostic models: issues in
developing models, evaluating assumptions and adequacy, and measuring and reducing errors.
*Statistics in Medicine* 15(4), 361–387.

Examples
--------
Two channels over a year: ``a`` saturates early, ``b`` barely bends over the spend it gets.

>>> rng = np.random.default_rng(3)
>>> days = pd.date_range("2024-01-01", periods=364, freq="D")
>>> x = {"a": rng.lognormal(np.log(100), 0.5, 364), "b": rng.lognormal(np.log(100), 0.5, 364)}
>>> truth = {"a": (0.3, 50.0, 1.0, 400.0), "b": (0.5, 2000.0, 1.0, 4000.0)}  # θ, K, s, β
>>> y = 200 + sum(b * hill(adstock(x[c], t), k, s) for c, (t, k, s, b) in truth.items())
>>> spend = pd.DataFrame([(d, c, x[c][i]) for c in x for i, d in enumerate(days)],
...                      columns=["date", "channel", "spend"])
>>> out = pd.DataFrame({"date": days, "revenue": y + rng.normal(0, 10, 364)})
>>> resp = fit_response(spend, out, weekday=False, n_boot=20)
>>> resp.params[["channel", "decay"]].round(1)
  channel  decay
0       a    0.3
1       b    0.5
>>> m = resp.marginal()
>>> bool(m.loc[1, "marginal"] > 5 * m.loc[0, "marginal"])  # the last unit pays more in b
True
>>> plan = resp.allocate()
>>> plan[["channel", "change"]].assign(change=np.sign(plan["change"]))
  channel  change
0       a    -1.0
1       b     1.0
>>> bool(plan.attrs["gain_lo"] > 0), bool(np.isclose(plan["proposed"].sum(), plan["current"].sum()))
(True, True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from scipy import optimize, signal
from scipy.special import expit

from helpers import args
from helpers.data import require_columns
from helpers.retention import NotFittable

__all__ = ["Response", "adstock", "fit_response", "hill", "marginal_response", "plot_curves",
           "response"]

MAX_DECAY = 0.9
SHAPE_RANGE = (0.5, 3.0)
HALF_RANGE = (0.01, 100.0)  # half_spend: 1 % of the mean spend to 100× the largest spend
MIN_STEPS_PER_PARAMETER = 8
HUBER_C = 1.345     # Huber's constant: 95 % efficiency under normal noise
BISQUARE_C = 10.0   # Tukey's bisquare: 0 weight beyond 10 robust sd (the module notes say why)
IRLS_STEPS = 20     # reweighting steps per stage, at most
IRLS_TOL = 1e-3     # a stage ends when no weight changes by more than this
OUTLIER_WEIGHT = 0.5
"""A step whose robust weight is below this counts as an outlier in ``.attrs["outliers"]``."""
_GRID = {"decay": (0.0, 0.3, 0.6, 0.85), "half": (0.3, 1.0, 3.0), "shape": (0.75, 1.5, 2.5)}


# --------------------------------------------------------------------------- the two transforms


def _array(x, name: str, who: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {name} must be numbers, e.g. [100.0, 80.0, 0.0]; got "
                         f"{x!r}") from None
    bad = ~np.isfinite(a)
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), a.shape)
        raise ValueError(f"{who}: {name} has {int(bad.sum())} missing or infinite value(s), "
                         f"e.g. {float(a[i])!r} at position {i[0] if a.ndim == 1 else i}")
    neg = a < 0
    if neg.any():
        i = np.unravel_index(int(np.flatnonzero(neg)[0]), a.shape)
        raise ValueError(f"{who}: {name} cannot be negative; {int(neg.sum())} value(s) are, "
                         f"e.g. {float(a[i])!r} at position {i[0] if a.ndim == 1 else i}")
    return a


def _number(x, name: str, who: str, *, low: float, high: float | None = None,
            closed_low: bool = False, example: str) -> float:
    ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and \
        np.isfinite(x) and (x >= low if closed_low else x > low) and (high is None or x < high)
    if not ok:
        rng = f"{'at least' if closed_low else 'above'} {low:g}" + \
            (f" and below {high:g}" if high is not None else "")
        raise ValueError(f"{who}: {name} must be a number {rng} (e.g. {example}), got {x!r}")
    return float(x)


def adstock(x, decay: float) -> np.ndarray:
    """Geometric adstock A_t = x_t + decay · A_{t−1}, with A_0 = x_0 (along the first axis).

    ``x`` is spend per step (one series, or one column per channel); ``decay`` in [0, 1).

    >>> adstock([100.0, 0.0, 0.0, 50.0], 0.5)
    array([100. ,  50. ,  25. ,  62.5])
    >>> adstock([1.0, 2.0], 1.0)
    Traceback (most recent call last):
    ...
    ValueError: adstock: decay must be a number at least 0 and below 1 (e.g. 0.5), got 1.0
    """
    decay = _number(decay, "decay", "adstock", low=0.0, high=1.0, closed_low=True,
                    example="0.5")
    a = _array(x, "x", "adstock")
    return _adstock(a, decay)


def hill(a, half: float, shape: float) -> np.ndarray:
    """Hill saturation a^shape / (a^shape + half^shape), between 0 and 1 (1/2 at ``a = half``).

    >>> hill([0.0, 50.0, 100.0, 300.0], 100.0, 2.0)
    array([0. , 0.2, 0.5, 0.9])
    >>> hill([1.0], 0.0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: hill: half must be a number above 0 (e.g. 100.0), got 0.0
    """
    half = _number(half, "half", "hill", low=0.0, example="100.0")
    shape = _number(shape, "shape", "hill", low=0.0, example="1.5")
    return _hill(_array(a, "a", "hill"), half, shape)


def response(x, decay: float, half: float, shape: float, max_response: float) -> np.ndarray:
    """Steady-state response per step at a constant spend ``x`` per step: β h(x / (1 − θ)).

    >>> response([0.0, 50.0, 150.0], 0.5, 200.0, 1.0, 10.0)  # half at 200 · (1 − 0.5) = 100
    array([0. , 3.33333333, 6. ])
    """
    decay = _number(decay, "decay", "response", low=0.0, high=1.0, closed_low=True,
                    example="0.5")
    half = _number(half, "half", "response", low=0.0, example="100.0")
    shape = _number(shape, "shape", "response", low=0.0, example="1.5")
    beta = _number(max_response, "max_response", "response", low=0.0, closed_low=True,
                   example="500.0")
    return _curve(_array(x, "x", "response"), half * (1 - decay), shape, beta)


def marginal_response(x, decay: float, half: float, shape: float,
                      max_response: float) -> np.ndarray:
    """Derivative of :func:`response` in ``x``: the return of one more unit of spend per step.

    >>> marginal_response([100.0], 0.5, 200.0, 1.0, 10.0)  # β H / (x + H)² with H = 100
    array([0.025])
    """
    decay = _number(decay, "decay", "marginal_response", low=0.0, high=1.0, closed_low=True,
                    example="0.5")
    half = _number(half, "half", "marginal_response", low=0.0, example="100.0")
    shape = _number(shape, "shape", "marginal_response", low=0.0, example="1.5")
    beta = _number(max_response, "max_response", "marginal_response", low=0.0,
                   closed_low=True, example="500.0")
    return _slope(_array(x, "x", "marginal_response"), half * (1 - decay), shape, beta)


def _adstock(x: np.ndarray, decay: float) -> np.ndarray:
    return signal.lfilter([1.0], [1.0, -decay], x, axis=0)


def _hill(a, half, shape):
    # a logistic in log a: stable for any a / half, and exactly 0 at a = 0
    with np.errstate(divide="ignore"):
        return expit(shape * (np.log(a) - np.log(half)))


def _curve(x, half_spend, shape, beta):
    return beta * _hill(x, half_spend, shape)


def _slope(x, half_spend, shape, beta):
    x = np.asarray(x, float)
    h = _hill(x, half_spend, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = beta * shape * h * (1 - h) / x
    # at x = 0 the slope is 0 (s > 1), β / H (s = 1) or unbounded (s < 1)
    at0 = np.where(shape > 1, 0.0, np.where(shape == 1, beta / half_spend, np.inf))
    return np.where(x > 0, d, at0)


# --------------------------------------------------------------------------- input checks


def _dates(df: pd.DataFrame, table: str) -> pd.Series:
    t = pd.to_datetime(df["date"], errors="coerce")
    bad = t.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{table}.date: {int(bad.sum())} row(s) are not dates, e.g. row {i}: "
                         f"{df['date'].iloc[i]!r} (write dates like '2025-06-30')")
    if t.dt.tz is not None:
        t = t.dt.tz_localize(None)  # the wall-clock date is the business day
    return t.reset_index(drop=True)


def _numbers(df: pd.DataFrame, table: str, col: str, *, nonnegative: bool) -> np.ndarray:
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{table}.{col}: {int(bad.sum())} row(s) are not numbers, e.g. row {i}: "
                         f"{df[col].iloc[i]!r}")
    if nonnegative and (v < 0).any():
        i = int(np.flatnonzero(v < 0)[0])
        raise ValueError(f"{table}.{col}: {int((v < 0).sum())} row(s) are negative, e.g. row "
                         f"{i}: {float(v[i])!r}; spend cannot be negative")
    return v


def _no_duplicates(keys: pd.DataFrame, table: str, what: str) -> None:
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        ex = ", ".join(f"{c} {keys[c].iloc[i]!s}" for c in keys.columns)
        raise ValueError(f"{table}: {int(dup.sum())} rows repeat a {what}, e.g. {ex} (rows "
                         f"{', '.join(map(str, np.flatnonzero(dup)[:3]))}); keep one row per "
                         f"{what} (sum them first)")


def _step(dates: pd.DatetimeIndex) -> pd.Timedelta:
    if len(dates) < 2:
        raise NotFittable(f"outcome: only {len(dates)} date(s); a response curve needs a time "
                          "series")
    gaps = dates[1:] - dates[:-1]
    step = gaps.min()
    off = np.flatnonzero(gaps != step)
    if len(off):
        i = int(off[0])
        raise ValueError(f"outcome.date: the dates must be evenly spaced; the step is "
                         f"{_days(step)}, but {dates[i]:%Y-%m-%d} is followed by "
                         f"{dates[i + 1]:%Y-%m-%d} ({_days(gaps[i])} later); add "
                         "the missing dates (with their outcome) or aggregate to a longer step")
    return pd.Timedelta(step)


def _days(td: pd.Timedelta) -> str:
    d = td / pd.Timedelta("1D")
    return f"{d:g} day{'' if d == 1 else 's'}"


def _count(x, name: str, *, low: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < low:
        raise ValueError(f"{name}: must be a whole number of at least {low} (e.g. "
                         f"{max(low, 14)}), got {x!r}")
    return int(x)


def _step_word(step: pd.Timedelta) -> str:
    days = step / pd.Timedelta("1D")
    return {1.0: "daily", 7.0: "weekly"}.get(days, f"every {step}")


# --------------------------------------------------------------------------- data -> arrays


@dataclass
class _Data:
    dates: pd.DatetimeIndex
    step: pd.Timedelta
    channels: list
    x: np.ndarray               # steps × channels, spend per step
    y: np.ndarray               # steps × series
    bases: list                 # per series: steps × q design of the base
    members: list               # per series: channel positions it is explained by
    outcome: str
    pooled: bool
    notes: dict


def _prepare(spend, outcome, value, y, controls, weekday, trend) -> _Data:
    require_columns(spend, "spend", ["date", "channel", value])
    require_columns(outcome, "outcome", ["date"])
    pooled = "channel" not in outcome.columns
    ctrl_names: list = []
    ctrl_frame = None
    if controls is not None:
        if isinstance(controls, pd.DataFrame):
            require_columns(controls, "controls", ["date"])
            ctrl_frame = controls
            ctrl_names = [c for c in controls.columns if c != "date"]
            if not ctrl_names:
                raise ValueError("controls: the table has only a date column; add one column "
                                 "per control, e.g. 'competitor_sales'")
        else:
            ctrl_names = args.names(controls, "controls")
            require_columns(outcome, "outcome", ctrl_names)
    if y is None:
        cands = [c for c in outcome.columns if c not in {"date", "channel", *ctrl_names}
                 and is_numeric_dtype(outcome[c])]
        if len(cands) != 1:
            raise ValueError(f"y: name the outcome column, e.g. y={(cands or ['revenue'])[0]!r}; "
                             f"the outcome table has {', '.join(map(str, outcome.columns))}")
        y = cands[0]
    require_columns(outcome, "outcome", [y])
    if y in ("date", "channel"):
        raise ValueError(f"y: {y!r} is a key column; name the outcome column, e.g. y='revenue'")

    s_dates, o_dates = _dates(spend, "spend"), _dates(outcome, "outcome")
    s_val = _numbers(spend, "spend", value, nonnegative=True)
    o_val = _numbers(outcome, "outcome", y, nonnegative=False)
    s_chan = spend["channel"].reset_index(drop=True)
    if s_chan.isna().any():
        i = int(np.flatnonzero(s_chan.isna().to_numpy())[0])
        raise ValueError(f"spend.channel: {int(s_chan.isna().sum())} row(s) have no channel, "
                         f"e.g. row {i}")
    _no_duplicates(pd.DataFrame({"date": s_dates.dt.date, "channel": s_chan}), "spend",
                   "date and channel")
    o_keys = pd.DataFrame({"date": o_dates.dt.date})
    if not pooled:
        o_keys["channel"] = outcome["channel"].reset_index(drop=True)
    _no_duplicates(o_keys, "outcome", "date" if pooled else "date and channel")

    grid = pd.DatetimeIndex(np.unique(o_dates.to_numpy()))
    step = _step(grid)
    channels = sorted(pd.unique(s_chan), key=str)
    if not channels:
        raise NotFittable("spend: the table is empty")
    taken = {"date", "observed", "fitted", "base"} & set(map(str, channels))
    if pooled and taken:
        raise ValueError(f"spend.channel: {min(taken)!r} is a column of the fit table; "
                         "rename that channel")
    notes: dict = {"controls": list(ctrl_names)}

    # spend on the grid; a missing date×channel cell is a day without spend, reported
    inside = ((s_dates >= grid[0]) & (s_dates <= grid[-1])).to_numpy()
    on_grid = s_dates.isin(grid).to_numpy()
    off = inside & ~on_grid
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"spend.date: {int(off.sum())} row(s) fall between the outcome's dates "
                         f"({_step_word(step)} from {grid[0]:%Y-%m-%d}), e.g. row {i}: "
                         f"{s_dates[i]:%Y-%m-%d}; aggregate spend to the outcome's step first")
    notes["spend_rows_outside"] = int((~inside).sum())
    cols = {c: i for i, c in enumerate(channels)}
    x = np.zeros((len(grid), len(channels)))
    have = np.zeros_like(x, dtype=bool)
    r = grid.get_indexer(s_dates[inside])
    k = s_chan[inside].map(cols).to_numpy(int)
    x[r, k] = s_val[inside]
    have[r, k] = True
    notes["zero_filled"] = {c: int((~have[:, i]).sum()) for i, c in enumerate(channels)
                            if (~have[:, i]).any()}

    # outcome series, one per channel or one pooled
    if pooled:
        series_names = [None]
        yy = np.full((len(grid), 1), np.nan)
        yy[grid.get_indexer(o_dates), 0] = o_val
        members = [list(range(len(channels)))]
    else:
        o_chan = outcome["channel"].reset_index(drop=True)
        extra = sorted(set(pd.unique(o_chan)) - set(channels), key=str)
        lack = [c for c in channels if c not in set(pd.unique(o_chan))]
        if extra:
            raise ValueError(f"outcome.channel: {', '.join(map(repr, extra[:3]))} has no spend "
                             "rows; keep only the channels with spend (an unpaid channel such as "
                             "organic has no response curve to fit)")
        if lack:
            raise ValueError(f"outcome.channel: no outcome rows for spend channel(s) "
                             f"{', '.join(map(repr, lack[:3]))}; give the outcome of every "
                             "channel with spend, or drop its spend rows")
        series_names = channels
        yy = np.full((len(grid), len(channels)), np.nan)
        yy[grid.get_indexer(o_dates), o_chan.map(cols).to_numpy(int)] = o_val
        members = [[i] for i in range(len(channels))]
    miss = np.isnan(yy)
    if miss.any():
        r0, c0 = np.argwhere(miss)[0]
        who = "" if pooled else f" of channel {channels[c0]!r}"
        raise ValueError(f"outcome: no row for {grid[r0]:%Y-%m-%d}{who}; every date from "
                         f"{grid[0]:%Y-%m-%d} to {grid[-1]:%Y-%m-%d} needs one")

    # the base: intercept, weekday, trend, controls (standardised; shifts are absorbed anyway)
    n = len(grid)
    common = [np.ones(n)]
    if weekday:
        if step != pd.Timedelta("1D"):
            raise ValueError(f"weekday: day-of-week effects need daily dates, these are "
                             f"{_step_word(step)}; pass weekday=False")
        dow = grid.day_of_week.to_numpy()
        common += [(dow == d).astype(float) for d in range(1, 7)]
    if trend:
        common.append(np.linspace(-1.0, 1.0, n))
    bases = []
    for j, _name in enumerate(series_names):
        extra_cols = []
        for c in ctrl_names:
            if ctrl_frame is not None:
                v = _control_from_frame(ctrl_frame, c, grid)
            else:
                v = np.full(n, np.nan)
                keep = np.ones(len(outcome), bool) if pooled else \
                    (outcome["channel"].map(cols).to_numpy() == j)
                v[grid.get_indexer(o_dates[keep])] = _numbers(outcome.loc[keep], "outcome", c,
                                                              nonnegative=False)
            if np.ptp(v) == 0:
                raise ValueError(f"controls: {c!r} never varies (always {v[0]:g}), so it cannot "
                                 "be told from the intercept; leave it out")
            extra_cols.append((v - v.mean()) / v.std())
        bases.append(np.column_stack(common + extra_cols))
        _full_rank(bases[-1], ["intercept"] + (["weekday"] * 6 if weekday else [])
                   + (["trend"] if trend else []) + ctrl_names)
    return _Data(grid, step, channels, x, yy, bases, members, str(y), pooled, notes)


def _control_from_frame(frame, c, grid) -> np.ndarray:
    d = _dates(frame, "controls")
    _no_duplicates(pd.DataFrame({"date": d.dt.date}), "controls", "date")
    v = _numbers(frame, "controls", c, nonnegative=False)
    pos = pd.Series(v, index=pd.DatetimeIndex(d)).reindex(grid)
    if pos.isna().any():
        raise ValueError(f"controls: no row for {pos.index[pos.isna().to_numpy()][0]:%Y-%m-%d}; "
                         "the controls need every date of the outcome")
    return pos.to_numpy()


def _full_rank(b: np.ndarray, names: list) -> None:
    r = np.linalg.qr(b, mode="r")
    d = np.abs(np.diag(r))
    weak = np.flatnonzero(d <= 1e-8 * d.max())
    if len(weak):
        raise ValueError(f"controls: {names[int(weak[0])]!r} is a linear combination of the "
                         "other base columns (intercept, weekday, trend, controls); leave it out")


# --------------------------------------------------------------------------- the fit


class _Series:
    """One outcome series and the channels that explain it, in scaled units.

    Spend is divided by each channel's mean spend and the outcome by its standard deviation, so
    the optimiser sees numbers near 1 whatever the currency. The nonlinear parameters of
    channel j are u[3j : 3j + 3] = (θ, log H, log s), with H = K(1 − θ).
    """

    def __init__(self, y, base, x):
        self.base = base
        self.x = x
        self.k = x.shape[1]
        self.lower = np.tile([0.0, np.log(HALF_RANGE[0]), np.log(SHAPE_RANGE[0])], self.k)
        self.upper = np.ravel([[MAX_DECAY, np.log(HALF_RANGE[1] * m), np.log(SHAPE_RANGE[1])]
                               for m in x.max(axis=0)])
        self.set_y(y, np.ones(len(y)))

    def set_y(self, y, w=None):
        """The outcome and, when given, the weights of the steps (weighted least squares)."""
        if w is not None:
            self.w = w
            self.sw = np.sqrt(w)
            self.q, _ = np.linalg.qr(self.sw[:, None] * self.base)
        self.y = y
        yw = self.sw * y
        self.yp = yw - self.q @ (self.q.T @ yw)
        self._last = None

    def _perp(self, v):
        return v - self.q @ (self.q.T @ v)

    def design(self, u, derivatives=False):
        """Hill columns h (steps × channels) and, on request, their derivatives in u."""
        th, lh, sh = u[0::3], u[1::3], np.exp(u[2::3])
        a = np.empty_like(self.x)
        for j in range(self.k):
            a[:, j] = _adstock(self.x[:, j], th[j])
        # h(A; K) = h(A(1−θ); H): the steady-state half-spend H is the parameter
        with np.errstate(divide="ignore"):
            z = sh * (np.log(a * (1 - th)) - lh)
        h = expit(z)
        if not derivatives:
            return h
        g = h * (1 - h)
        lag = np.vstack([np.zeros((1, self.k)), a[:-1]])
        da = np.empty_like(a)  # dA_t/dθ = A_{t−1} + θ dA_{t−1}/dθ
        for j in range(self.k):
            da[:, j] = _adstock(lag[:, j], th[j])
        pos = a > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            d_th = np.where(pos, g * sh * (da / a - 1 / (1 - th)), 0.0)
            d_lh = -g * sh
            d_ls = np.where(pos, g * z, 0.0)
        return h, (d_th, d_lh, d_ls)

    def solve(self, u):
        h = self.design(u)
        hp = self._perp(self.sw[:, None] * h)
        if self.k == 1:
            d = float(hp[:, 0] @ hp[:, 0])
            b = np.array([max(float(hp[:, 0] @ self.yp) / d, 0.0) if d > 0 else 0.0])
        else:
            b = np.linalg.lstsq(hp, self.yp, rcond=None)[0]
            if (b < 0).any():
                b = optimize.lsq_linear(hp, self.yp, bounds=(0.0, np.inf), method="bvls").x
        return h, hp, b

    def resid(self, u):
        _, hp, b = self.solve(u)
        self._last = (u.copy(), hp, b)
        return self.yp - hp @ b

    def sse(self, u) -> float:
        e = self.resid(u)
        return float(e @ e)

    def jac(self, u):
        """Kaufman's variable-projection Jacobian −P⊥ (∂H/∂u) β.

        P⊥ projects off the base and the channels in use; dropping the second term of the full
        Golub–Pereyra derivative leaves the gradient Jᵀr exact, so the minimum is the same.
        """
        if self._last is None or not np.array_equal(self._last[0], u):
            self.resid(u)
        _, hp, b = self._last
        _, ds = self.design(u, derivatives=True)
        on = b > 0
        q2 = np.linalg.qr(hp[:, on])[0] if on.any() else np.zeros((len(hp), 0))
        j = np.zeros((len(hp), 3 * self.k))
        for p, d in enumerate(ds):
            j[:, p::3] = d * b * self.sw[:, None]
        j = self._perp(j)
        return -(j - q2 @ (q2.T @ j))

    def local(self, u0, effort=100):
        # dogbox: a trust region that handles the parameters resting on their bounds well
        r = optimize.least_squares(self.resid, np.clip(u0, self.lower, self.upper), jac=self.jac,
                                   bounds=(self.lower, self.upper), method="dogbox",
                                   max_nfev=effort * (len(u0) + 1))
        return r.x, 2 * r.cost

    def start_points(self):
        """The best few points of the fixed grid (all channels moved together, then one by one)."""
        grid = np.array([(t, np.log(h), np.log(s)) for t in _GRID["decay"]
                         for h in _GRID["half"] for s in _GRID["shape"]])
        grid_u = [np.clip(np.tile(g, self.k), self.lower, self.upper) for g in grid]
        sse = np.array([self.sse(u) for u in grid_u])
        order = np.argsort(sse, kind="stable")
        starts = [grid_u[i] for i in order[: 3 if self.k == 1 else 2]]
        if self.k > 1:
            u = starts[0].copy()
            best = self.sse(u)
            for j in range(self.k):
                lo, hi = self.lower[3 * j: 3 * j + 3], self.upper[3 * j: 3 * j + 3]
                for g in grid:
                    v = u.copy()
                    v[3 * j: 3 * j + 3] = np.clip(g, lo, hi)
                    e = self.sse(v)
                    if e < best:
                        best, u = e, v
            starts.insert(0, u)
        return starts

    def best(self):
        fits = [self.local(u0) for u0 in self.start_points()]
        return min(fits, key=lambda f: f[1])[0]

    def fitted(self, u):
        """Hill columns, β and the fitted values (unweighted: a step of weight 0 gets one too)."""
        h, _, b = self.solve(u)
        rest = self.y - h @ b
        gamma = np.linalg.lstsq(self.sw[:, None] * self.base, self.sw * rest, rcond=None)[0]
        return h, b, h @ b + self.base @ gamma


def _mad_scale(r) -> float:
    """1.4826 × the median absolute residual: the standard deviation for normal noise."""
    return float(1.4826 * np.median(np.abs(r)))


def _huber_w(z, c=HUBER_C):
    a = np.abs(z)
    return np.where(a <= c, 1.0, c / np.maximum(a, 1e-300))


def _bisquare_w(z, c=BISQUARE_C):
    return np.where(np.abs(z) < c, (1 - (z / c) ** 2) ** 2, 0.0)


def _irls(s: _Series, u):
    """Iteratively reweighted least squares from the least-squares fit ``u`` (see the notes).

    Huber weights first (a convex loss: it bounds the outliers' pull without locking onto a
    wrong fit), then Tukey's bisquare from there (redescending: a gross outlier ends with weight
    0); the scale is re-estimated from the residuals at each step, and each stage stops when no
    weight changes by more than ``IRLS_TOL`` (at most ``IRLS_STEPS`` steps). Returns u, the
    weights and the scale.
    """
    w = np.ones(len(s.y))
    scale = np.nan
    for wf in (_huber_w, _bisquare_w):
        for _ in range(IRLS_STEPS):
            _, _, f = s.fitted(u)
            r = s.y - f
            scale = _mad_scale(r)
            if not scale > 0:  # more than half the steps fitted exactly: nothing to weigh
                return u, w, scale
            w_new = wf(r / scale)
            if np.abs(w_new - w).max() < IRLS_TOL:
                break
            w = w_new
            s.set_y(s.y, w)
            u, _ = s.local(u, effort=30)
    return u, w, scale


def _unscale(u, b, xmean, ysd):
    """(θ, K, s, β, H) per channel in the data's units from scaled (θ, log H, log s) and β."""
    u = u.reshape(-1, 3)
    th = u[:, 0]
    half_spend = np.exp(u[:, 1]) * xmean
    return np.column_stack([th, half_spend / (1 - th), np.exp(u[:, 2]), b * ysd, half_spend])


def fit_response(spend: pd.DataFrame, outcome: pd.DataFrame, *, value: str = "spend",
                 y: str | None = None, controls=None, weekday: bool = True, trend: bool = True,
                 n_boot: int = 200, alpha: float = 0.1, seed: int = 0, block_days: int = 14,
                 current_days: int = 28, robust: bool = True) -> Response:
    """Fit an adstock + Hill response curve per channel, with moving-block bootstrap intervals.

    The model, the fit and the bootstrap are described in the module notes.

    Parameters
    ----------
    spend : DataFrame
        One row per date × channel: ``date``, ``channel`` and the spend column ``value``
        (money per step, 0 or more). A date × channel row that is missing counts as no spend
        that step (how many were filled is in ``.attrs["zero_filled"]``); spend rows outside
        the outcome's dates are left out (``.attrs["spend_rows_outside"]``).
    outcome : DataFrame
        ``date`` and the outcome column ``y``, on evenly spaced dates (daily or weekly). With a
        ``channel`` column, one row per date × channel: each channel's outcome (new users by
        acquisition channel) is fitted on that channel's spend alone. Without one, one row per
        date: the outcome is explained by all channels jointly.
    value : str
        Name of the spend column of ``spend``.
    y : str, optional
        Name of the outcome column (e.g. ``"revenue"``, ``"new_users"``); default the one
        numeric column of ``outcome`` that is not a key or a control.
    controls : list of str or DataFrame, optional
        Other drivers of the outcome, entered linearly: names of columns of ``outcome``, or a
        table with ``date`` and one column per control (one row per date).
    weekday : bool
        Day-of-week effects in the base (daily dates only).
    trend : bool
        A linear trend in the base.
    n_boot : int
        Bootstrap refits (0: no intervals, the lo/hi columns are NaN).
    alpha : float
        Intervals are at level 1 − alpha.
    seed : int
        Seed of ``np.random.default_rng`` for the bootstrap.
    block_days : int
        Length of the bootstrap blocks in days (at least one step).
    current_days : int
        "Today's" spend per channel is the mean spend per step over the last ``current_days``
        days (at least one step; with weekly dates, 28 days are the last 4 weeks).
    robust : bool
        Down-weight outlying steps (Huber, then Tukey's bisquare, by iteratively reweighted
        least squares; see the module notes). The steps that count less than half are in
        ``.attrs["outliers"]``; ``False`` gives plain least squares.

    Returns
    -------
    Response
        ``.params``, ``.fit``, ``.r2``, ``.current``, ``.outliers`` and the methods
        ``.curve()``, ``.marginal()`` and ``.allocate()``. ``.attrs`` holds ``robust``,
        ``outliers`` (one dict per down-weighted step: ``date``, ``channel`` (None for a pooled
        outcome), ``observed``, ``fitted``, ``weight``), ``scale`` (the robust residual scale
        per series, in the outcome's units), the input notes (``zero_filled``,
        ``spend_rows_outside``, ``controls``) and the bootstrap settings.

    Raises
    ------
    ValueError
        A missing column, a row that is not a date or a number, negative spend, repeated
        date × channel rows, unevenly spaced dates, a channel in one table and not the other,
        a control that never varies, or a bad argument.
    retention.NotFittable
        Too few steps for the parameters (fewer than 8 per parameter), or a channel whose spend
        (or an outcome that) never varies.

    Examples
    --------
    >>> d = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> fit_response(pd.DataFrame({"date": d, "channel": "tv", "spend": 100.0}),
    ...              pd.DataFrame({"date": d, "revenue": 1000.0}))
    Traceback (most recent call last):
    ...
    helpers.retention.NotFittable: too little data: 10 daily steps for 12 parameters (the fit needs at least 8 steps per parameter, 96 here)
    """
    n_boot = _count(n_boot, "n_boot", low=0)
    alpha = args.alpha(alpha)
    seed = _count(seed, "seed", low=0)
    block_days = _count(block_days, "block_days", low=1)
    current_days = _count(current_days, "current_days", low=1)
    for name, v in (("weekday", weekday), ("trend", trend), ("robust", robust)):
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{name}: must be True or False, got {v!r}")  # noqa: TRY004
    d = _prepare(spend, outcome, value, y, controls, bool(weekday), bool(trend))
    n, n_ch = d.x.shape
    params_per_series = 4 * len(d.members[0]) + d.bases[0].shape[1]
    if n < MIN_STEPS_PER_PARAMETER * params_per_series:
        raise NotFittable(f"too little data: {n} {_step_word(d.step)} steps for "
                          f"{params_per_series} parameters (the fit needs at least "
                          f"{MIN_STEPS_PER_PARAMETER} steps per parameter, "
                          f"{MIN_STEPS_PER_PARAMETER * params_per_series} here)")
    for i, c in enumerate(d.channels):
        if np.ptp(d.x[:, i]) == 0:
            raise NotFittable(f"spend: channel {c!r} spends the same ({d.x[0, i]:g}) every step "
                              f"from {d.dates[0]:%Y-%m-%d} to {d.dates[-1]:%Y-%m-%d}, so the "
                              "data hold no information about its response curve")
    for j in range(d.y.shape[1]):
        if np.ptp(d.y[:, j]) == 0:
            who = "" if d.pooled else f" of channel {d.channels[j]!r}"
            raise NotFittable(f"outcome: {d.outcome}{who} never varies, so spend cannot explain "
                              "it")

    xmean = d.x.mean(axis=0)
    ysd = d.y.std(axis=0)
    series = [_Series(d.y[:, j] / ysd[j], d.bases[j], d.x[:, m] / xmean[m])
              for j, m in enumerate(d.members)]
    point = np.zeros((n_ch, 5))
    fitted = np.zeros_like(d.y)
    contrib = np.zeros((n, n_ch))
    resid = np.zeros_like(d.y)
    u_hat = []
    weights = np.ones_like(d.y)
    scales = np.full(d.y.shape[1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for j, (s, m) in enumerate(zip(series, d.members, strict=True)):
            u = s.best()
            if robust:
                u, weights[:, j], scales[j] = _irls(s, u)
            h, b, fit_scaled = s.fitted(u)
            u_hat.append(u)
            point[m] = _unscale(u, b, xmean[m], ysd[j])
            contrib[:, m] = h * b * ysd[j]
            fitted[:, j] = fit_scaled * ysd[j]
            resid[:, j] = d.y[:, j] - fitted[:, j]

        steps_per_block = max(1, min(n, int(np.ceil(pd.Timedelta(days=block_days) / d.step))))
        boot = np.full((n_boot, n_ch, 5), np.nan)
        rng = np.random.default_rng(seed)
        n_blocks = int(np.ceil(n / steps_per_block))
        starts = rng.integers(0, n - steps_per_block + 1, size=(n_boot, n_blocks))
        idx = (starts[:, :, None] + np.arange(steps_per_block)).reshape(
            n_boot, n_blocks * steps_per_block)[:, :n]
        for r in range(n_boot):
            for j, (s, m) in enumerate(zip(series, d.members, strict=True)):
                # a residual keeps its weight where it lands: a resampled outlier still counts
                # little, and the refit is the weighted fit the point estimate ended with
                s.set_y((fitted[:, j] + resid[idx[r], j]) / ysd[j],
                        weights[idx[r], j] if robust else None)
                # from the point estimate, with a cap: a flat direction can otherwise
                # take a single refit a thousand steps for digits nobody reads
                u, _ = s.local(u_hat[j], effort=30)
                boot[r, m] = _unscale(u, s.solve(u)[2], xmean[m], ysd[j])

    sse = (resid ** 2).sum(axis=0)
    sst = ((d.y - d.y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = float(1 - sse.sum() / sst.sum())
    last = d.dates > d.dates[-1] - pd.Timedelta(days=current_days)
    current = pd.Series(d.x[last].mean(axis=0), index=pd.Index(d.channels, name="channel"),
                        name="current")
    if d.pooled:
        fit_tab = pd.DataFrame({"date": d.dates, "observed": d.y[:, 0], "fitted": fitted[:, 0],
                                "base": fitted[:, 0] - contrib.sum(axis=1)})
        for i, c in enumerate(d.channels):
            fit_tab[c] = contrib[:, i]
        fit_tab["weight"] = weights[:, 0]
    else:
        fit_tab = pd.DataFrame({
            "date": np.tile(d.dates, n_ch), "channel": np.repeat(d.channels, n),
            "spend": d.x.T.ravel(), "observed": d.y.T.ravel(), "fitted": fitted.T.ravel(),
            "base": (fitted - contrib).T.ravel(), "contribution": contrib.T.ravel(),
            "weight": weights.T.ravel()})
    low = np.argwhere(weights.T < OUTLIER_WEIGHT)  # (series, step), by series then date
    outliers = [{"date": d.dates[t], "channel": None if d.pooled else d.channels[j],
                 "observed": float(d.y[t, j]), "fitted": float(fitted[t, j]),
                 "weight": float(weights[t, j])} for j, t in low]
    attrs = dict(d.notes, steps_per_block=steps_per_block, current_days=current_days,
                 n_steps=n, first=d.dates[0], last=d.dates[-1], robust=bool(robust),
                 outliers=outliers,
                 scale={None if d.pooled else c: float(scales[j] * ysd[j])
                        for j, c in enumerate([None] if d.pooled else d.channels)})
    r2_by = pd.Series(1 - sse / sst, index=d.channels) if not d.pooled else None
    return Response(point=point, boot=boot, channels=tuple(d.channels), current=current,
                    fit=fit_tab, r2=r2, outcome=d.outcome, step=d.step, pooled=d.pooled,
                    alpha=alpha, xmean=xmean, r2_by_channel=r2_by, attrs=attrs)


# --------------------------------------------------------------------------- the result


def _band(values: np.ndarray, alpha: float):
    """Percentile interval along the first axis (NaN without draws)."""
    if values.shape[0] == 0:
        nan = np.full(values.shape[1:], np.nan)
        return nan, nan
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi


@dataclass(frozen=True, eq=False)
class Response:
    """Fitted response curves (from :func:`fit_response`).

    Attributes
    ----------
    params : DataFrame
        One row per channel: ``decay`` (θ), ``half_saturation`` (K, accumulated money),
        ``shape`` (s), ``max_response`` (β, outcome per step), ``half_spend`` (K(1 − θ): the
        spend per step held constant at which the channel brings half its maximum), each with
        ``_lo``/``_hi``; ``current`` (today's spend per step) and, per-channel outcomes only,
        ``r2``. ``.attrs`` holds ``r2``, ``outcome``, ``step_days``, ``pooled``, ``alpha``,
        ``n_boot``, ``robust`` and ``outliers`` (as in :attr:`attrs`).
    fit : DataFrame
        Pooled outcome: ``date``, ``observed``, ``fitted``, ``base``, one column per channel
        (its contribution; base + contributions = fitted) and ``weight``. Per-channel outcomes:
        ``date``, ``channel``, ``spend``, ``observed``, ``fitted``, ``base``, ``contribution``,
        ``weight``. ``weight`` is the step's weight in the robust fit (1 without one).
    r2 : float
        Share of the outcome's variation the model explains (per-channel outcomes: pooled over
        the channels, each around its own mean).
    current : Series
        Today's spend per step per channel (mean of the last ``current_days`` days).
    outcome, step, pooled, alpha
        The outcome's name, the step of the dates, whether the outcome is pooled, the interval
        level 1 − alpha.
    """

    point: np.ndarray = field(repr=False)
    boot: np.ndarray = field(repr=False)
    channels: tuple
    current: pd.Series = field(repr=False)
    fit: pd.DataFrame = field(repr=False)
    r2: float
    outcome: str
    step: pd.Timedelta
    pooled: bool
    alpha: float
    xmean: np.ndarray = field(repr=False)
    r2_by_channel: pd.Series | None = field(default=None, repr=False)
    attrs: dict = field(default_factory=dict, repr=False)

    @property
    def n_boot(self) -> int:
        return int(self.boot.shape[0])

    @property
    def step_days(self) -> float:
        return float(self.step / pd.Timedelta("1D"))

    def _meta(self) -> dict:
        return {"outcome": self.outcome, "step_days": self.step_days, "pooled": self.pooled,
                "alpha": self.alpha, "n_boot": self.n_boot}

    @property
    def outliers(self) -> pd.DataFrame:
        """The steps the robust fit counts less than half: ``date``, ``channel``, ``observed``,
        ``fitted``, ``weight`` (empty without any, or with ``robust=False``)."""
        return pd.DataFrame(self.attrs.get("outliers", []),
                            columns=["date", "channel", "observed", "fitted", "weight"])

    @property
    def params(self) -> pd.DataFrame:
        names = ["decay", "half_saturation", "shape", "max_response", "half_spend"]
        lo, hi = _band(self.boot, self.alpha)
        out = pd.DataFrame({"channel": list(self.channels)})
        for k, name in enumerate(names):
            out[name] = self.point[:, k]
            out[f"{name}_lo"] = lo[:, k]
            out[f"{name}_hi"] = hi[:, k]
        out["current"] = self.current.to_numpy()
        if self.r2_by_channel is not None:
            out["r2"] = self.r2_by_channel.to_numpy()
        out.attrs.update(self._meta(), r2=self.r2, robust=self.attrs.get("robust", False),
                         outliers=list(self.attrs.get("outliers", [])))
        return out

    def _channel_list(self, channel) -> list[int]:
        if channel is None:
            return list(range(len(self.channels)))
        wanted = [channel] if isinstance(channel, str) or not np.iterable(channel) else \
            list(channel)
        out = []
        for c in wanted:
            if c not in self.channels:
                raise ValueError(f"channel: {c!r} is not a fitted channel; the channels are "
                                 f"{', '.join(map(repr, self.channels))}")
            out.append(self.channels.index(c))
        return out

    def _r(self, p, x):
        """R(x) for parameter rows ``p`` (… × 5) and spend ``x`` broadcast against them."""
        return _curve(x, p[..., 4], p[..., 2], p[..., 3])

    def _dr(self, p, x):
        return _slope(x, p[..., 4], p[..., 2], p[..., 3])

    def curve(self, channel=None, points: int = 50, upto: float = 2.0) -> pd.DataFrame:
        """Steady-state response per step R_c(x) against spend per step, with its bootstrap band.

        ``x`` runs over ``points`` values from 0 to ``upto`` × the larger of today's and the
        average spend of the channel.

        Returns
        -------
        DataFrame
            ``channel``, ``spend``, ``response``, ``lo``, ``hi``, sorted by channel and spend.
        """
        points = _count(points, "points", low=2)
        upto = _number(upto, "upto", "curve", low=0.0, example="2.0")
        rows = []
        for i in self._channel_list(channel):
            top = upto * max(float(self.current.iloc[i]), float(self.xmean[i]))
            x = np.linspace(0.0, top, points)
            lo, hi = _band(self._r(self.boot[:, i, None, :], x[None, :]), self.alpha)
            rows.append(pd.DataFrame({"channel": self.channels[i], "spend": x,
                                      "response": self._r(self.point[i], x), "lo": lo,
                                      "hi": hi}))
        out = pd.concat(rows, ignore_index=True)
        out.attrs.update(self._meta())
        return out

    def marginal(self) -> pd.DataFrame:
        """Return of today's spend per channel: average R(x)/x and marginal R'(x), with intervals.

        With a money outcome ``marginal`` is the marginal ROAS (revenue from one more unit of
        spend per step); with a count it is the count per extra unit (its inverse is the
        marginal cost of one more).

        Returns
        -------
        DataFrame
            ``channel``, ``spend`` (today's, per step), ``response`` (R at it), ``average``,
            ``marginal``, each of the last three with ``_lo``/``_hi``.
        """
        x = self.current.to_numpy()
        out = pd.DataFrame({"channel": list(self.channels), "spend": x})
        with np.errstate(divide="ignore", invalid="ignore"):
            for name, fn in (("response", self._r), ("average", None), ("marginal", self._dr)):
                if fn is None:
                    pt = np.where(x > 0, self._r(self.point, x) / x, np.nan)
                    bs = np.where(x > 0, self._r(self.boot, x) / x, np.nan)
                else:
                    pt, bs = fn(self.point, x), fn(self.boot, x)
                lo, hi = _band(bs, self.alpha)
                out[name], out[f"{name}_lo"], out[f"{name}_hi"] = pt, lo, hi
        out.attrs.update(self._meta())
        return out

    def allocate(self, total: float | None = None, bounds=(0.5, 1.5)) -> pd.DataFrame:
        """Split ``total`` spend per step over the channels to maximise the expected outcome.

        Each channel stays within ``bounds`` × today's spend: the curves are only known near the
        spend levels the data contain, and far outside them the plan would rest on the Hill
        curve's extrapolation rather than on the data (a channel with no spend today stays at
        0). The expected gain of the plan over today's split is corrected for the optimism of
        choosing and scoring the plan on the same curves (module notes): in every bootstrap draw
        the plan is chosen again, and how much better it looks on that draw's curves than on the
        fitted ones gives the correction, the interval and the share of draws in which the plan
        gains.

        Parameters
        ----------
        total : float, optional
            Spend per step to split; default the sum of today's spend (the same budget).
        bounds : (float, float)
            Lowest and highest multiple of today's spend per channel, e.g. (0.5, 1.5).

        Returns
        -------
        DataFrame
            ``channel``, ``current``, ``proposed``, ``change``, ``response_current``,
            ``response_proposed``, ``marginal_current``, ``marginal_proposed``. ``.attrs``:
            ``total``, ``gain`` (per step, corrected for optimism), ``gain_lo``, ``gain_hi``
            (its interval), ``p_gain`` (share of bootstrap draws in which the corrected gain is
            positive), ``gain_apparent`` (the gain on the fitted curves, uncorrected),
            ``optimism`` (their difference), ``bounds`` and the fit's ``outcome``,
            ``step_days``, ``alpha`` and ``n_boot``. Without bootstrap draws ``gain`` is the
            apparent gain and the interval is NaN.
        """
        ok = isinstance(bounds, (tuple, list)) and len(bounds) == 2 and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and np.isfinite(b)
            for b in bounds) and 0 <= bounds[0] <= 1 <= bounds[1]
        if not ok:
            raise ValueError(f"bounds: give (lowest, highest) multiples of today's spend with "
                             f"lowest ≤ 1 ≤ highest, e.g. (0.5, 1.5); got {bounds!r}")
        cur = self.current.to_numpy()
        lo, hi = bounds[0] * cur, bounds[1] * cur
        total = float(cur.sum()) if total is None else _number(
            total, "total", "allocate", low=0.0, example=f"{cur.sum():.0f}")
        if not lo.sum() - 1e-9 * total <= total <= hi.sum() + 1e-9 * total:
            raise ValueError(f"total: {total:g} cannot be split within bounds {tuple(bounds)} × "
                             f"today's spend (from {lo.sum():g} to {hi.sum():g}); widen the "
                             "bounds or pick a total in that range")
        plan = _best_split(lambda x: self._r(self.point, x), lambda x: self._dr(self.point, x),
                           cur, lo, hi, total)
        base_pt = self._r(self.point, cur)
        new_pt = self._r(self.point, plan)
        apparent = float(new_pt.sum() - base_pt.sum())
        # the optimism of choosing the plan on the same curves that score it (Efron 1983): in
        # each draw, the plan that draw's curves like best, scored on them and on the fit
        optimism = np.full(self.n_boot, np.nan)
        for b, p in enumerate(self.boot):
            plan_b = _best_split(lambda x, p=p: self._r(p, x), lambda x, p=p: self._dr(p, x),
                                 cur, lo, hi, total, starts=[plan])
            optimism[b] = float((self._r(p, plan_b) - self._r(p, cur)).sum()
                                - (self._r(self.point, plan_b) - base_pt).sum())
        shift = float(optimism.mean()) if self.n_boot else 0.0
        gain_b = apparent - optimism  # the true gain of the plan, in the bootstrap world
        g_lo, g_hi = _band(gain_b, self.alpha)
        out = pd.DataFrame({"channel": list(self.channels), "current": cur, "proposed": plan,
                            "change": plan - cur, "response_current": base_pt,
                            "response_proposed": new_pt,
                            "marginal_current": self._dr(self.point, cur),
                            "marginal_proposed": self._dr(self.point, plan)})
        out.attrs.update(self._meta(), total=total, gain=apparent - shift,
                         gain_apparent=apparent, optimism=shift,
                         gain_lo=float(g_lo), gain_hi=float(g_hi),
                         p_gain=float((gain_b > 0).mean()) if len(gain_b) else np.nan,
                         bounds=tuple(bounds))
        return out

    def __repr__(self) -> str:
        kind = "pooled" if self.pooled else "per-channel"
        return (f"Response({kind} {self.outcome!r}, {len(self.channels)} channels, "
                f"{_step_word(self.step)}, R² {self.r2:.3f}, {self.n_boot} bootstrap draws)")


# --------------------------------------------------------------------------- the picture


def plot_curves(resp: Response, channel=None, *, points: int = 60, upto: float = 2.0,
                bounds=None, currency: str | None = None, unit: str | None = None,
                ncols: int = 2):
    """One panel per channel: the response curve R(x) with its bootstrap band and today's spend.

    The line is the fitted steady-state response per step to a spend held at x, the band its
    bootstrap interval (level 1 − ``resp.alpha``), the dashed vertical and the dot today's spend
    and what the curve says it brings. With ``bounds`` (e.g. ``(0.5, 1.5)``) the spend range
    the reallocation may use is shaded. Each panel has its own scales: channels differ in spend
    by orders of magnitude. ``unit`` names one unit of a counted outcome ("new user"); without
    it the outcome's column name is used.

    Returns
    -------
    numpy array of matplotlib Axes, one per channel (in the order of ``resp.channels``).
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    ncols = _count(ncols, "ncols", low=1)
    cv = resp.curve(channel, points=points, upto=upto)
    names = list(pd.unique(cv["channel"]))
    ncols = min(ncols, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.3 * nrows), squeeze=False)
    per = {1.0: "day", 7.0: "week"}.get(resp.step_days, f"{resp.step_days:g} days")
    money = f"spend ({currency} per {per})" if currency else f"spend per {per}"
    what = f"{unit}s per {per}" if unit else f"{resp.outcome} per {per}"
    level = f"{(1 - resp.alpha) * 100:.0f} %"
    flat = axes.ravel()
    for ax, c in zip(flat, names, strict=False):
        d = cv.loc[cv["channel"] == c]
        color = plots.CHANNEL_COLORS.get(c, "C0")
        ax.fill_between(d["spend"], d["lo"], d["hi"], color=color, alpha=0.25, lw=0,
                        label=f"{level} band")
        ax.plot(d["spend"], d["response"], color=color, lw=2, label="fitted curve")
        now = float(resp.current[c])
        if bounds is not None and now > 0:
            ax.axvspan(bounds[0] * now, bounds[1] * now, color="0.5", alpha=0.08, lw=0,
                       label="reallocation range")
        ax.axvline(now, color="0.25", lw=1, ls="--")
        i = resp.channels.index(c)
        ax.plot([now], [float(resp._r(resp.point[i], now))], "o", color="0.25", ms=5,
                label="today's spend")
        ax.set_xlim(0, float(d["spend"].max()))
        ax.set_ylim(0, float(np.nanmax(d["hi"].to_numpy())) * 1.1 or 1.0)
        plots.label(ax, c, money, what)
    for ax in flat[len(names):]:
        ax.set_visible(False)
    flat[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Response curves: {what} against a spend held steady (dashed: today's)",
                 x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return flat[:len(names)]


def _project(x, lo, hi, total):
    """The point of {lo ≤ x ≤ hi, Σ x = total} reached by shifting ``x`` by one common amount."""
    # Σ clip(x + m, lo, hi) is piecewise linear and nondecreasing in m, with kinks where a
    # channel meets a bound: find the piece that reaches the total and solve on it
    kinks = np.unique(np.concatenate([lo - x, hi - x]))
    sums = np.clip(x[None, :] + kinks[:, None], lo, hi).sum(axis=1)
    i = int(np.searchsorted(sums, total))
    if i == 0 or i == len(kinks):
        m = kinks[min(i, len(kinks) - 1)]
    else:
        m = kinks[i - 1] + (total - sums[i - 1]) * (kinks[i] - kinks[i - 1]) / (
            sums[i] - sums[i - 1])
    p = np.clip(x + m, lo, hi)
    free = (p > lo) & (p < hi)
    if free.any():  # put the last rounding error on a channel that is not at a bound
        p[np.flatnonzero(free)[0]] += total - p.sum()
    return p


def _best_split(r, dr, cur, lo, hi, total, starts=None):
    """Maximise Σ r(x) over {lo ≤ x ≤ hi, Σ x = total} by SLSQP from a few starts.

    The starts are today's split and the middle of the box (both shifted onto the budget), one
    corner per channel, and ``starts`` (already feasible) when given; with ``starts`` only those
    and today's split are tried.
    """
    move = hi > lo
    if move.sum() < 2:
        return _project(cur.astype(float), lo, hi, total)
    scale = max(float(r(cur).sum()), 1e-12)
    size = max(total, 1e-12)

    def full(z):
        x = cur.astype(float).copy()
        x[move] = z * size
        return x

    def f(z):
        return -float(r(full(z)).sum()) / scale

    def g(z):
        return -dr(full(z))[move] * size / scale

    if starts is None:
        starts = [_project(cur.astype(float), lo, hi, total),
                  _project(lo + 0.5 * (hi - lo), lo, hi, total)]
        for i in np.flatnonzero(move):
            x = lo.astype(float).copy()
            x[i] = hi[i]
            starts.append(_project(x, lo, hi, total))
    else:
        starts = [np.asarray(x, float) for x in starts] + [_project(cur.astype(float), lo, hi,
                                                                    total)]
    fixed = float(cur[~move].sum())
    cons = {"type": "eq", "fun": lambda z: (z.sum() * size + fixed - total) / size,
            "jac": lambda z: np.ones_like(z)}
    bnds = list(zip(lo[move] / size, hi[move] / size, strict=True))
    cands = list(starts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x0 in starts:
            res = optimize.minimize(f, x0[move] / size, jac=g, method="SLSQP", bounds=bnds,
                                    constraints=[cons], options={"maxiter": 200, "ftol": 1e-12})
            cands.append(_project(full(np.asarray(res.x, float)), lo, hi, total))
    values = [float(r(x).sum()) for x in cands]
    return cands[int(np.argmax(values))]
