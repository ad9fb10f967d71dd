"""A/B test evaluation: health checks, effects with intervals, CUPED, power and peeking.

Every statistic comes from scipy/statsmodels; this module adds what they lack for online
experiments: the sample-ratio-mismatch check, relative lifts with delta-method intervals, ratio
metrics, CUPED, a seeded bootstrap, an A/A peeking simulation, Lan–DeMets group-sequential
boundaries, and :func:`analyze`, which turns a store's ``assignments`` and ``orders`` into one
readout table per experiment. :func:`health` checks the split of every experiment in the log and
:func:`choose_experiment` picks the one to read out when the user names none.

Experiment metrics are measured per assigned user relative to ``assigned_at``: what the user did
in the ``window_days`` after assignment (see :func:`user_metrics`).

References: Kohavi, Tang & Xu (2020) *Trustworthy Online Controlled Experiments* (SRM, ratio
metrics, guardrails); Deng, Xu, Kohavi & Walker (2013) *Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data* (CUPED); Lan & DeMets (1983)
*Discrete sequential boundaries for clinical trials* (alpha spending); Jennison & Turnbull
(2000) *Group Sequential Methods* (the numerical recursion).

Examples
--------
>>> round(srm([1276, 1058])["p_value"], 6)
6e-06
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize

from helpers import args

SRM_ALPHA = 0.001
"""SRM is flagged at p < 0.001: strict, because with thousands of users a true 50/50 split
almost never gives p that small by chance, while a broken assignment or logging bug does
(Kohavi et al. 2020, ch. 21). A looser threshold would stop too many healthy tests."""

VARIANTS = ("control", "treatment")


# ----------------------------------------------------------------------------- health


def srm(counts, expected_ratios=(0.5, 0.5), *, alpha: float = SRM_ALPHA) -> dict:
    """Sample-ratio-mismatch test: Pearson χ² of observed arm sizes against the planned split.

    Parameters
    ----------
    counts : sequence of int
        Users per arm, in the same order as ``expected_ratios``.
    expected_ratios : sequence of float
        Planned shares (normalised to sum to 1).
    alpha : float
        Flag threshold, :data:`SRM_ALPHA` (0.001) by default.

    Returns
    -------
    dict with ``chi2``, ``p_value``, ``flag`` (True = the split is broken: do not trust the test)
    and ``shares`` (observed).

    Examples
    --------
    >>> r = srm([5000, 5100])
    >>> r["flag"], round(r["p_value"], 3)
    (False, 0.32)
    """
    alpha = args.alpha(alpha)
    c = np.asarray(counts, dtype=float)
    r = np.asarray(expected_ratios, dtype=float)
    if c.shape != r.shape or c.ndim != 1 or len(c) < 2:
        raise ValueError("srm: counts and expected_ratios need the same length (>= 2)")
    if (c < 0).any() or c.sum() == 0 or (r <= 0).any():
        raise ValueError("srm: counts must be >= 0 with a positive total; ratios must be > 0")
    chi2, p = stats.chisquare(c, f_exp=c.sum() * r / r.sum())
    return {"chi2": float(chi2), "p_value": float(p), "flag": bool(p < alpha),
            "shares": (c / c.sum()).tolist()}


# ----------------------------------------------------------------------------- effects


def _rel(m_c, m_t, var_c, var_t, z):
    """Relative lift m_t/m_c - 1 and its delta-method CI (independent arms)."""
    rel = float(m_t / m_c - 1.0)
    se = float(np.sqrt(var_t / m_c**2 + m_t**2 * var_c / m_c**4))
    return rel, rel - z * se, rel + z * se


def compare_proportions(k_c, n_c, k_t, n_t, *, alpha: float = 0.05) -> dict:
    """Treatment minus control for a conversion rate.

    The CI of the absolute difference is the unpooled Wald interval and the p-value the
    matching unpooled Wald z-test (statsmodels ``test_proportions_2indep(method="wald")``), so
    ``p < alpha`` exactly when the CI excludes 0 and a row can never contradict itself. When
    both arms are all-or-nothing (every rate 0 or 1) the Wald interval has zero width; there the
    interval is Newcombe's hybrid score interval and the p-value Fisher's exact test. (The
    textbook pooled z-test, ``proportions_ztest``, uses a slightly larger standard error under
    H0 and can give p > 0.05 while the Wald CI excludes 0; with thousands of users per arm the two
    agree to a few thousandths.) The relative lift's CI uses the delta method on ``p_t / p_c``
    (Kohavi et al. 2020, ch. 18).

    Returns a dict with ``control``, ``treatment``, ``effect``, ``ci_low``, ``ci_high``,
    ``rel_effect``, ``rel_ci_low``, ``rel_ci_high``, ``p_value``.

    Examples
    --------
    >>> r = compare_proportions(100, 1000, 130, 1000)
    >>> round(r["effect"], 3), round(r["rel_effect"], 2), round(r["p_value"], 4)
    (0.03, 0.3, 0.0353)
    """
    alpha = args.alpha(alpha)
    if min(n_c, n_t) <= 0 or not (0 <= k_c <= n_c and 0 <= k_t <= n_t):
        raise ValueError("compare_proportions: need 0 <= k <= n and n > 0 in both arms")
    z = stats.norm.ppf(1 - alpha / 2)
    p_c, p_t = k_c / n_c, k_t / n_t
    var_c, var_t = p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t
    se = np.sqrt(var_c + var_t)
    d = p_t - p_c
    lo, hi = d - z * se, d + z * se
    if se > 0:
        p = 2 * stats.norm.sf(abs(d) / se)
    else:
        # both arms all-or-nothing (0 of 1,000 in each, say): the Wald interval has zero width,
        # which no data can justify; Newcombe's hybrid score interval and Fisher's exact test
        # are the honest ones there
        lo, hi = confint_proportions_2indep(k_t, n_t, k_c, n_c, method="newcomb",
                                            compare="diff", alpha=alpha)
        p = stats.fisher_exact([[k_t, n_t - k_t], [k_c, n_c - k_c]])[1]
    rel, rlo, rhi = _rel(p_c, p_t, var_c, var_t, z) if p_c > 0 else (np.nan,) * 3
    return {"control": p_c, "treatment": p_t, "effect": d, "ci_low": float(lo),
            "ci_high": float(hi), "rel_effect": rel, "rel_ci_low": rlo, "rel_ci_high": rhi,
            "p_value": float(p)}


def compare_means(x_c, x_t, *, alpha: float = 0.05) -> dict:
    """Treatment minus control for a per-user mean (e.g. revenue per user): Welch's t-test.

    The p-value and the CI of the difference come from Welch's unequal-variance t-test (scipy
    ``ttest_ind(equal_var=False)``); the relative lift's CI uses the delta method.

    Examples
    --------
    >>> r = compare_means([1.0, 2, 3, 4], [2.0, 3, 4, 5, 6])
    >>> round(r["effect"], 2), round(r["p_value"], 4)
    (1.5, 0.1613)
    """
    alpha = args.alpha(alpha)
    x_c, x_t = np.asarray(x_c, dtype=float), np.asarray(x_t, dtype=float)
    if len(x_c) < 2 or len(x_t) < 2 or np.isnan(x_c).any() or np.isnan(x_t).any():
        raise ValueError("compare_means: need >= 2 non-missing values per arm")
    res = stats.ttest_ind(x_t, x_c, equal_var=False)
    lo, hi = res.confidence_interval(1 - alpha)
    m_c, m_t = x_c.mean(), x_t.mean()
    var_c, var_t = x_c.var(ddof=1) / len(x_c), x_t.var(ddof=1) / len(x_t)
    z = stats.norm.ppf(1 - alpha / 2)
    rel, rlo, rhi = _rel(m_c, m_t, var_c, var_t, z) if m_c != 0 else (np.nan,) * 3
    return {"control": float(m_c), "treatment": float(m_t), "effect": float(m_t - m_c),
            "ci_low": float(lo),
            "ci_high": float(hi), "rel_effect": rel, "rel_ci_low": rlo, "rel_ci_high": rhi,
            "p_value": float(res.pvalue)}


def ratio_stats(num, den) -> tuple[float, float]:
    """Ratio ``sum(num) / sum(den)`` over users and its delta-method variance.

    For metrics whose unit is not the randomisation unit (revenue per *order* when users are
    randomised) the orders of one user are correlated, so the naive variance is wrong. The delta
    method (Deng, Knoblich & Lu 2018) gives
    ``var(R) = (s_nn - 2 R s_nd + R² s_dd) / (n · mean(den)²)``.

    Examples
    --------
    >>> r, v = ratio_stats([10.0, 0, 30], [1, 0, 2])
    >>> round(r, 3), round(v, 3)
    (13.333, 3.704)
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if len(num) != len(den) or len(num) < 2 or den.sum() <= 0:
        raise ValueError("ratio_stats: num and den need equal length >= 2 and sum(den) > 0")
    n = len(num)
    r = num.sum() / den.sum()
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (n * den.mean() ** 2)
    return float(r), float(var)


def compare_ratios(num_c, den_c, num_t, den_t, *, alpha: float = 0.05) -> dict:
    """Treatment minus control for a ratio metric (e.g. AOV = revenue / orders) by the delta method.

    A z-test on the difference of two independent :func:`ratio_stats` estimates.

    Examples
    --------
    >>> r = compare_ratios([100.0, 50, 0], [2, 1, 0], [90.0, 60, 30], [1, 1, 1])
    >>> round(r["effect"], 2)
    10.0
    """
    alpha = args.alpha(alpha)
    r_c, v_c = ratio_stats(num_c, den_c)
    r_t, v_t = ratio_stats(num_t, den_t)
    z = stats.norm.ppf(1 - alpha / 2)
    d, se = r_t - r_c, np.sqrt(v_c + v_t)
    p = 2 * stats.norm.sf(abs(d) / se) if se > 0 else np.nan
    rel, rlo, rhi = _rel(r_c, r_t, v_c, v_t, z) if r_c != 0 else (np.nan,) * 3
    return {"control": r_c, "treatment": r_t, "effect": d, "ci_low": d - z * se,
            "ci_high": d + z * se, "rel_effect": rel, "rel_ci_low": rlo, "rel_ci_high": rhi,
            "p_value": float(p)}


def cuped(y, x, treated, *, alpha: float = 0.05) -> dict:
    """CUPED: adjust a metric with a pre-period covariate to shrink its variance.

    ``θ = cov(y, x) / var(x)`` pooled over both arms, ``y_adj = y − θ (x − mean(x))``; the
    effect on ``y_adj`` is unbiased for the same treatment effect because ``x`` is measured
    before assignment (Deng et al. 2013). The variance falls by ``corr(y, x)²``: a covariate
    that is the same for everyone (new users have no pre-period) gives ``θ = 0`` and no gain.

    Returns the :func:`compare_means` dict of the adjusted metric plus ``theta``,
    ``variance_reduction`` (1 − var(y_adj)/var(y)) and ``raw_ci_width``/``ci_width``.

    Examples
    --------
    >>> r = cuped([3.0, 5, 4, 8, 6, 9], [1.0, 2, 1, 3, 2, 3], [0, 0, 0, 1, 1, 1])
    >>> round(r["theta"], 3), round(r["variance_reduction"], 3)
    (2.5, 0.932)
    """
    alpha = args.alpha(alpha)
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    t = np.asarray(treated, dtype=bool)
    if not (len(y) == len(x) == len(t)):
        raise ValueError("cuped: y, x and treated need the same length")
    vx = x.var(ddof=1)
    theta = float(np.cov(y, x, ddof=1)[0, 1] / vx) if vx > 0 else 0.0
    y_adj = y - theta * (x - x.mean())
    raw = compare_means(y[~t], y[t], alpha=alpha)
    out = compare_means(y_adj[~t], y_adj[t], alpha=alpha)
    vy = y.var(ddof=1)
    out.update(theta=theta, variance_reduction=float(1 - y_adj.var(ddof=1) / vy) if vy > 0
               else 0.0, raw_ci_width=raw["ci_high"] - raw["ci_low"],
               ci_width=out["ci_high"] - out["ci_low"])
    return out


def bootstrap_ci(x_c, x_t, *, n_resamples: int = 2000, alpha: float = 0.05,
                 method: str = "BCa", seed: int = 0) -> dict:
    """Seeded bootstrap CI for the difference in means (treatment − control).

    For skewed money metrics (a few big orders) the t-interval can be off; the bootstrap
    (scipy ``stats.bootstrap``, BCa by default; Efron & Tibshirani 1993) resamples users within
    each arm.

    Examples
    --------
    >>> r = bootstrap_ci([0.0, 0, 10, 0, 50], [0.0, 20, 0, 30, 60], n_resamples=500, seed=1)
    >>> round(r["effect"], 1), r["ci_low"] < r["effect"] < r["ci_high"]
    (10.0, True)
    """
    alpha = args.alpha(alpha)
    x_c, x_t = np.asarray(x_c, dtype=float), np.asarray(x_t, dtype=float)

    def diff(a, b, axis=-1):
        return b.mean(axis=axis) - a.mean(axis=axis)

    res = stats.bootstrap((x_c, x_t), diff, n_resamples=n_resamples, confidence_level=1 - alpha,
                          method=method, vectorized=True, rng=np.random.default_rng(seed))
    return {"effect": float(diff(x_c, x_t)), "ci_low": float(res.confidence_interval.low),
            "ci_high": float(res.confidence_interval.high),
            "se": float(res.standard_error)}


def adjust(p_values, method: str = "holm") -> np.ndarray:
    """Multiple-testing adjusted p-values (statsmodels ``multipletests``).

    ``"holm"`` controls the family-wise error rate (Holm 1979); ``"fdr_bh"`` the false discovery
    rate (Benjamini & Hochberg 1995). NaN p-values are left out and stay NaN.

    Examples
    --------
    >>> adjust([0.01, 0.04, 0.03], "holm").round(2).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust([0.01, 0.04, 0.03], "fdr_bh").round(2).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


# ----------------------------------------------------------------------------- design


def _h_to_p2(p1: float, h: float) -> float:
    """Invert Cohen's h = 2 asin(√p2) − 2 asin(√p1) for p2."""
    return float(np.sin(np.arcsin(np.sqrt(p1)) + h / 2) ** 2)


def _base_and_lift(p_base, lift_abs) -> None:
    """A baseline rate strictly between 0 and 1 whose lifted rate stays a rate."""
    if not 0 < p_base < 1:
        raise ValueError(f"p_base: a baseline rate strictly between 0 and 1, got {p_base!r}")
    if not 0 <= p_base + lift_abs <= 1:
        raise ValueError(f"lift_abs: p_base + lift_abs = {p_base + lift_abs!r} is not a rate "
                         "between 0 and 1")


def sample_size(p_base: float, lift_abs: float, *, alpha: float = 0.05, power: float = 0.8,
                ratio: float = 1.0) -> int:
    """Users per control arm to detect ``p_base → p_base + lift_abs`` (two-sided z-test).

    Uses Cohen's h (statsmodels ``proportion_effectsize``) with ``NormalIndPower``;
    treatment gets ``ratio`` times as many users.

    Examples
    --------
    >>> sample_size(0.10, 0.02)
    3835
    """
    alpha, power = args.alpha(alpha), args.alpha(power, "power")
    _base_and_lift(p_base, lift_abs)
    h = proportion_effectsize(p_base + lift_abs, p_base)
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio)
    return int(np.ceil(n))


def mde(p_base: float, n_per_arm: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable absolute lift of a conversion rate with ``n_per_arm`` users per arm.

    Examples
    --------
    >>> round(mde(0.10, 3835), 4)
    0.02
    """
    alpha, power = args.alpha(alpha), args.alpha(power, "power")
    _base_and_lift(p_base, 0.0)
    if not n_per_arm > 0:
        raise ValueError(f"mde: n_per_arm must be above 0, got {n_per_arm!r}")
    h = NormalIndPower().solve_power(nobs1=n_per_arm, alpha=alpha, power=power, ratio=1.0)
    return _h_to_p2(p_base, h) - p_base


def power(p_base: float, lift_abs: float, n_per_arm: float, *, alpha: float = 0.05) -> float:
    """Power of the two-sided test for a lift ``lift_abs`` with ``n_per_arm`` users per arm.

    Examples
    --------
    >>> round(power(0.10, 0.02, 3835), 3)
    0.8
    """
    alpha = args.alpha(alpha)
    _base_and_lift(p_base, lift_abs)
    h = proportion_effectsize(p_base + lift_abs, p_base)
    return float(NormalIndPower().power(effect_size=h, nobs1=n_per_arm, alpha=alpha, ratio=1.0))


def power_means(sd: float, lift: float, n_per_arm: float, *, alpha: float = 0.05) -> float:
    """Power of Welch/t-test for a lift in a mean metric (statsmodels ``TTestIndPower``).

    Examples
    --------
    >>> round(power_means(100.0, 10.0, 1571), 3)
    0.8
    """
    alpha = args.alpha(alpha)
    return float(TTestIndPower().power(effect_size=lift / sd, nobs1=n_per_arm, alpha=alpha,
                                       ratio=1.0))


# ----------------------------------------------------------------------------- peeking


def _spend(t, alpha):
    """Two-sided Lan–DeMets O'Brien–Fleming-type spending: each side spends
    2 − 2Φ(z_{α/4}/√t) (the one-sided function at level α/2), as in gsDesign/ldbounds."""
    return 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / np.sqrt(t))


def obf_boundaries(looks, *, alpha: float = 0.05, grid: int = 401) -> pd.DataFrame:
    """Two-sided group-sequential z boundaries with O'Brien–Fleming-type alpha spending.

    ``looks`` is the number of equally spaced looks or the information fractions (increasing,
    ending at 1). The boundary ``c_k`` spends ``α(t_k) − α(t_{k−1})`` of the Lan–DeMets (1983)
    function ``α(t) = 2 · (2 − 2Φ(z_{α/4}/√t))`` (both sides together): the chance of first
    crossing at look ``k`` under H0. The crossing probabilities come from the exact recursion
    on the sub-density of the score process (Armitage, McPherson & Rowe 1969; Jennison &
    Turnbull 2000, ch. 19), integrated on a grid with Simpson's rule, so the total
    false-positive rate equals ``alpha`` however often you look. ``grid`` (points per look)
    must be odd: Simpson's rule needs an even number of intervals.

    Returns one row per look: ``look``, ``info`` (fraction), ``z_boundary``, ``nominal_p`` (the
    two-sided p a single look must beat) and ``alpha_spent`` (cumulative).

    Examples
    --------
    >>> obf_boundaries(5)["z_boundary"].round(3).tolist()
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    alpha = args.alpha(alpha)
    if int(grid) != grid or grid < 3 or grid % 2 == 0:
        raise ValueError(f"obf_boundaries: grid must be an odd integer >= 3 (Simpson's rule "
                         f"needs an even number of intervals), got {grid}")
    t = np.arange(1, looks + 1) / looks if np.isscalar(looks) else np.asarray(looks, float)
    if len(t) < 1 or (np.diff(t) <= 0).any() or t[0] <= 0 or not np.isclose(t[-1], 1.0):
        raise ValueError("obf_boundaries: information fractions must increase to 1")
    cum = _spend(t, alpha)
    bounds = []
    # score S_k = Z_k √t_k has independent N(0, Δt) increments; f is the sub-density of
    # S_{k} on the continuation region (-b, b) at the last look
    f = xs = None
    prev_t = 0.0
    for k, tk in enumerate(t):
        target = cum[k] - (cum[k - 1] if k else 0.0)
        sd = np.sqrt(tk - prev_t)
        if f is None:
            c = stats.norm.isf(target / 2)
        else:
            w = _simpson_weights(xs)

            def cross(c, tk=tk, xs=xs, sd=sd, w=w, f=f, target=target):
                b = c * np.sqrt(tk)
                pr = stats.norm.cdf((-b - xs) / sd) + stats.norm.sf((b - xs) / sd)
                return float(np.sum(w * f * pr)) - target

            c = optimize.brentq(cross, 0.1, 40.0, xtol=1e-12)
        bounds.append(c)
        b = c * np.sqrt(tk)
        new_x = np.linspace(-b, b, grid)
        if f is None:
            f = stats.norm.pdf(new_x / sd) / sd
        else:
            w = _simpson_weights(xs)
            f = (w * f) @ (stats.norm.pdf((new_x[None, :] - xs[:, None]) / sd) / sd)
        xs, prev_t = new_x, tk
    z = np.array(bounds)
    return pd.DataFrame({"look": np.arange(1, len(t) + 1), "info": t, "z_boundary": z,
                         "nominal_p": 2 * stats.norm.sf(z), "alpha_spent": cum})


def _simpson_weights(x):
    n = len(x)
    h = (x[-1] - x[0]) / (n - 1)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return w * h / 3


def aa_peeking(*, n_sims: int = 4000, looks: int = 10, users_per_look: int = 500,
               p: float = 0.10, alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """A/A simulation: how often does a test with no effect 'win' if you peek after every batch?

    Both arms convert at ``p``. After each batch of ``users_per_look`` users per arm the
    two-proportion z statistic is computed (vectorised over all simulations). ``naive_fpr`` is
    the share of simulations that have crossed ``|z| > z_{α/2}`` at any look so far (stopping
    at the first "significant" peek); ``obf_fpr`` the same with the O'Brien–Fleming-type
    boundaries of :func:`obf_boundaries` for ``looks`` equally spaced looks.

    Examples
    --------
    >>> sim = aa_peeking(n_sims=500, looks=4, seed=1)
    >>> list(sim.columns)
    ['look', 'users_per_arm', 'z_boundary', 'naive_fpr', 'obf_fpr']
    >>> bool(sim["naive_fpr"].iloc[-1] > sim["obf_fpr"].iloc[-1])
    True
    """
    alpha = args.alpha(alpha)
    rng = np.random.default_rng(seed)
    k = rng.binomial(users_per_look, p, size=(n_sims, looks, 2)).cumsum(axis=1)
    n = users_per_look * np.arange(1, looks + 1)[None, :]
    p1, p2 = k[..., 0] / n, k[..., 1] / n
    pool = (k[..., 0] + k[..., 1]) / (2 * n)
    se = np.sqrt(pool * (1 - pool) * 2 / n)
    z = np.divide(p2 - p1, se, out=np.zeros_like(se), where=se > 0)
    bnd = obf_boundaries(looks, alpha=alpha)["z_boundary"].to_numpy()
    naive = np.maximum.accumulate(np.abs(z) > stats.norm.isf(alpha / 2), axis=1).mean(axis=0)
    seq = np.maximum.accumulate(np.abs(z) > bnd[None, :], axis=1).mean(axis=0)
    return pd.DataFrame({"look": np.arange(1, looks + 1), "users_per_arm": n[0],
                         "z_boundary": bnd, "naive_fpr": naive, "obf_fpr": seq})


# ----------------------------------------------------------------------------- the readout


def user_metrics(store, experiment: str, *, window_days: float = 90,
                 pre_days: float = 90, metric: str | None = None) -> pd.DataFrame:
    """One row per assigned user with the experiment's metrics, measured from ``assigned_at``.

    Columns: ``user_id``, ``variant``, ``assigned_at``, ``converted`` (placed an order of any
    status in ``[assigned_at, assigned_at + window_days)``: a placed order is a conversion even
    if it is cancelled later), ``orders`` (all orders in the window), ``completed`` (completed
    orders), ``revenue`` (completed revenue, in the store's currency), ``bad_orders`` (cancelled or refunded) and
    ``pre_revenue`` (completed revenue in the ``pre_days`` before assignment: the CUPED
    covariate; 0 for new users). When the orders carry no revenue at all (orders derived from
    purchase events), ``revenue`` and ``pre_revenue`` are NaN.

    ``metric`` names an event to use as the primary metric instead of an order: ``converted``
    is then True for users with that event in their window (a game's "came back on day 7", a
    sign-up, an add to cart), read from ``events``. The order columns are kept when the store
    has orders and left out when it has none.

    Users whose window runs past the end of the data would be under-counted, so they are left
    out; how many is in ``.attrs["dropped"]`` (and ``.attrs["data_end"]``).

    Examples
    --------
    >>> from helpers.data import Store
    >>> t = pd.Timestamp("2025-01-01", tz="UTC")
    >>> a = pd.DataFrame({"experiment": "x", "user_id": [1, 2], "variant": ["control", "treatment"],
    ...                   "assigned_at": [t, t]})
    >>> o = pd.DataFrame({"order_id": [1, 2], "user_id": [2, 2], "session_id": [1, 1],
    ...                   "ordered_at": [t + pd.Timedelta("1D"), t + pd.Timedelta("40D")],
    ...                   "status": ["completed", "completed"], "revenue": [10.0, 5.0],
    ...                   "discount": 0.0, "coupon": ""})
    >>> ev = pd.DataFrame({"ts": [t + pd.Timedelta("60D")]})
    >>> m = user_metrics(Store(events=ev, assignments=a, orders=o), "x", window_days=30)
    >>> m[["user_id", "converted", "revenue"]].to_dict("list")
    {'user_id': [1, 2], 'converted': [False, True], 'revenue': [0.0, 10.0]}
    """
    if store.assignments is None:
        raise ValueError("user_metrics needs the assignments table")
    if metric is None and store.orders is None:
        raise ValueError("user_metrics needs the orders table, or an event as the metric "
                         "(metric=...)")
    events = _metric_events(store, metric)
    a = store.assignments.loc[store.assignments["experiment"] == experiment]
    if a.empty:
        known = sorted(store.assignments["experiment"].unique().tolist())
        raise ValueError(f"assignments: no rows for experiment {experiment!r}; have {known}")
    bad = ~a["variant"].isin(VARIANTS)
    if bad.any():
        raise ValueError(f"assignments.variant: {int(bad.sum())} rows of {experiment!r} are not "
                         f"control/treatment, e.g. {a.loc[bad, 'variant'].iloc[0]!r}")
    ends = [] if store.orders is None else [store.orders["ordered_at"].max()]
    if store.events is not None and "ts" in store.events:
        ends.append(store.events["ts"].max())
    data_end = max(ends)
    win = pd.Timedelta(days=window_days)
    full = a["assigned_at"] + win <= data_end
    a = a.loc[full, ["user_id", "variant", "assigned_at"]].sort_values(
        ["assigned_at", "user_id"], kind="stable").reset_index(drop=True)
    if store.orders is None:
        out = a.copy()
        out.insert(3, "converted", _did_event(a, events, win))
        out.attrs.update(dropped=int((~full).sum()), data_end=data_end, metric=metric)
        return out

    o = store.orders[["user_id", "ordered_at", "status", "revenue"]].merge(
        a[["user_id", "assigned_at"]], on="user_id")
    dt = o["ordered_at"] - o["assigned_at"]
    inwin = (dt >= pd.Timedelta(0)) & (dt < win)
    pre = (dt < pd.Timedelta(0)) & (dt >= -pd.Timedelta(days=pre_days))
    done = o["status"].eq("completed")
    per = pd.DataFrame({
        "user_id": o["user_id"],
        "orders": inwin.astype("int64"),
        "completed": (inwin & done).astype("int64"),
        "revenue": o["revenue"].where(inwin & done, 0.0),
        "bad_orders": (inwin & ~done).astype("int64"),
        "pre_revenue": o["revenue"].where(pre & done, 0.0),
    }).groupby("user_id").sum()
    out = a.merge(per, left_on="user_id", right_index=True, how="left")
    cols = ["orders", "completed", "revenue", "bad_orders", "pre_revenue"]
    out[cols] = out[cols].fillna(0)
    out[["orders", "completed", "bad_orders"]] = out[["orders", "completed", "bad_orders"]].astype(
        "int64")
    out.insert(3, "converted", out["orders"] > 0 if metric is None
               else _did_event(a, events, win))
    if store.orders["revenue"].isna().all():
        # orders derived from purchase events may carry no amounts: unknown, not zero
        out[["revenue", "pre_revenue"]] = np.nan
    out.attrs.update(dropped=int((~full).sum()), data_end=data_end, metric=metric)
    return out


def _metric_events(store, metric: str | None) -> pd.DataFrame | None:
    """The ``user_id``/``ts`` of the metric event, checked: None when the metric is an order."""
    if metric is None:
        return None
    ev = store.events
    if ev is None or isinstance(ev, str) or not {"user_id", "ts", "event"} <= set(ev.columns):
        raise ValueError(f"metric={metric!r} needs an events table with user_id, ts and event")
    hit = ev["event"] == metric
    if not hit.any():
        names = ev["event"].value_counts().index[:8].tolist()
        raise ValueError(f"metric={metric!r}: no such event in events.event; the most frequent "
                         f"are {names}")
    return ev.loc[hit, ["user_id", "ts"]]


def _did_event(a: pd.DataFrame, events: pd.DataFrame, win: pd.Timedelta) -> np.ndarray:
    """For each assignment row: did its user have a metric event in ``[assigned_at, +win)``?"""
    e = events.merge(a[["user_id", "assigned_at"]].reset_index(), on="user_id")
    dt = e["ts"] - e["assigned_at"]
    hit = e.loc[(dt >= pd.Timedelta(0)) & (dt < win), "index"].unique()
    return a.index.isin(hit)


def metric_name(metric: str | None) -> str:
    """The readout's name of the primary metric: ``'conversion'`` (an order) or ``'<event> rate'``.

    >>> metric_name(None), metric_name("return_day_7")
    ('conversion', 'return_day_7 rate')
    """
    return "conversion" if metric is None else f"{metric} rate"


def metric_events(store, experiment: str, *, window_days: float = 90,
                  top: int = 8) -> pd.DataFrame:
    """Candidate event metrics: the share of an experiment's users with each event after assignment.

    For a log without orders (a game, an app): which events could be the primary metric. One
    row per event that some but not all assigned users had in their window, with ``users`` and
    ``share``, most frequent first (at most ``top``).

    >>> from helpers.data import Store
    >>> t = pd.Timestamp("2025-01-01", tz="UTC")
    >>> a = pd.DataFrame({"experiment": "x", "user_id": [1, 2], "variant": ["control", "treatment"],
    ...                   "assigned_at": [t, t]})
    >>> ev = pd.DataFrame({"user_id": [1, 2, 2], "ts": [t, t, t + pd.Timedelta("1D")],
    ...                    "event": ["open", "open", "return"]})
    >>> metric_events(Store(events=ev, assignments=a), "x", window_days=2).to_dict("list")
    {'event': ['return'], 'users': [1], 'share': [0.5]}
    """
    a = store.assignments.loc[store.assignments["experiment"] == experiment,
                              ["user_id", "assigned_at"]]
    e = store.events[["user_id", "ts", "event"]].merge(a, on="user_id")
    dt = e["ts"] - e["assigned_at"]
    e = e.loc[(dt >= pd.Timedelta(0)) & (dt < pd.Timedelta(days=window_days))]
    n = a["user_id"].nunique()
    users = e.groupby("event")["user_id"].nunique()
    users = users.loc[(users > 0) & (users < n)]
    out = pd.DataFrame({"event": users.index.astype(str), "users": users.to_numpy()})
    out = out.sort_values(["users", "event"], ascending=[False, True], kind="stable").head(top)
    out["share"] = out["users"] / n
    return out.reset_index(drop=True)


_COLUMNS = ["experiment", "metric", "role", "n_control", "n_treatment", "control", "treatment",
            "effect", "ci_low", "ci_high", "rel_effect", "rel_ci_low", "rel_ci_high", "p_value",
            "p_adjusted", "verdict"]


_CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni"}


def _verdict(row, alpha, srm_failed, correction="holm"):
    """Plain-language verdict that agrees with the numbers of its own row.

    The decision uses ``p_adjusted`` (raw p for the primary metric and the guardrail, corrected
    among the secondaries). Every CI is the dual of its raw test, so an unadjusted "no
    detectable difference" always has a CI containing 0, and an adjusted secondary whose raw CI
    excludes 0 says that the correction removed it.
    """
    if srm_failed:
        return "do not trust: SRM"
    if row["role"] == "diagnostic":
        return "diagnostic (not a decision metric)"
    p, p_adj = row["p_value"], row["p_adjusted"]
    if np.isnan(p_adj):
        if row["metric"] in ("revenue per user", "AOV") and np.isnan(row["p_value"]) and \
                np.isnan(row["effect"]):
            return "no test (no revenue recorded)"
        return "no test (too little data)"
    name = _CORRECTION_NAMES.get(correction, correction)
    adjusted = row["role"] == "secondary"
    if p_adj >= alpha:
        if adjusted and p < alpha:
            return f"not significant after {name} correction (p_adj = {p_adj:.3f})"
        return "no detectable difference (CI includes 0)"
    up = row["effect"] > 0
    if row["role"] == "guardrail":
        return "guardrail breached: worse in treatment" if up else "guardrail improved"
    word = "treatment better" if up else "treatment worse"
    return f"{word} after {name} correction (p_adj = {p_adj:.3f})" if adjusted else word


def metric_table(m: pd.DataFrame, *, alpha: float = 0.05, correction: str = "holm",
                 experiment: str = "") -> pd.DataFrame:
    """Compare the arms of a :func:`user_metrics` frame on every metric (no SRM row).

    Metrics: ``conversion`` (primary, z-test), ``revenue per user`` (Welch),
    ``AOV`` (completed revenue per completed order, delta method), ``cancel/refund rate``
    (guardrail: bad orders per order, delta method; higher is worse).

    ``p_adjusted`` is the p-value each row's decision uses, as a careful experimenter
    pre-registers it (Kohavi et al. 2020, ch. 7 and 21): the one primary metric is not adjusted
    (it is the single question the test was run for); the secondary metrics are adjusted among
    themselves with ``correction`` (see :func:`adjust`); the guardrail is not adjusted, so that
    a breach is easy to flag. When ``revenue`` is all NaN (no revenue recorded) the two money
    rows have no test (NaN statistics).

    Examples
    --------
    >>> m = pd.DataFrame({"variant": ["control", "treatment"] * 3,
    ...                   "converted": [True, True, False, True, False, False],
    ...                   "orders": [1, 2, 0, 1, 0, 0], "completed": [1, 1, 0, 1, 0, 0],
    ...                   "revenue": [10.0, 20, 0, 30, 0, 0], "bad_orders": [0, 1, 0, 0, 0, 0]})
    >>> metric_table(m)["metric"].tolist()
    ['conversion', 'revenue per user', 'AOV', 'cancel/refund rate']
    """
    alpha = args.alpha(alpha)
    c, t = m.loc[m["variant"] == "control"], m.loc[m["variant"] == "treatment"]
    rows = []
    r = compare_proportions(int(c["converted"].sum()), len(c), int(t["converted"].sum()), len(t),
                            alpha=alpha)
    rows.append({"metric": metric_name(m.attrs.get("metric")), "role": "primary", **r})
    if "orders" not in m:  # an event metric on a store without orders: the primary alone
        pass
    elif m["revenue"].isna().all():  # no revenue recorded: the money metrics have no test
        rows += [{"metric": name, "role": "secondary", "p_value": np.nan}
                 for name in ("revenue per user", "AOV")]
    else:
        rows.append({"metric": "revenue per user", "role": "secondary",
                     **compare_means(c["revenue"], t["revenue"], alpha=alpha)})
        rows.append({"metric": "AOV", "role": "secondary",
                     **_ratio_or_nan(c["revenue"], c["completed"], t["revenue"], t["completed"],
                                     alpha)})
    if "orders" in m:
        rows.append({"metric": "cancel/refund rate", "role": "guardrail",
                     **_ratio_or_nan(c["bad_orders"], c["orders"], t["bad_orders"], t["orders"],
                                     alpha)})
    out = pd.DataFrame(rows)
    out.insert(0, "experiment", experiment)
    out["n_control"], out["n_treatment"] = len(c), len(t)
    sec = (out["role"] == "secondary").to_numpy()
    out["p_adjusted"] = out["p_value"]
    out.loc[sec, "p_adjusted"] = adjust(out.loc[sec, "p_value"], correction)
    return out


def funnel_by_arm(store, experiment: str, steps, *, window_days: float = 90,
                  alpha: float = 0.05) -> pd.DataFrame:
    """The funnel of an experiment on a shared denominator: every assigned user, in each arm.

    Step-to-step rates condition on having reached the previous step, which the treatment
    itself may change (a redesign that brings more, weaker users to checkout lowers the
    checkout → purchase rate while raising purchases): comparing arms on them is biased. Here
    every step's rate is the share of **all** users assigned to the arm who reached it, in
    order, within ``window_days`` of assignment (a user funnel; users with no events count as
    reaching nothing), so each difference is a plain randomised comparison (GrowthBook's
    funnel metrics do the same). Users whose window is not over when the data ends are left
    out, as in :func:`user_metrics`; p-values are Holm-adjusted over the steps.

    Returns
    -------
    DataFrame, one row per step: ``step``, ``step_index``, ``n_control``, ``n_treatment``,
    ``control``, ``treatment`` (shares of the assigned users), ``effect`` with its
    ``ci_low``/``ci_high``, ``p_value`` and ``p_holm``.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> f = funnel_by_arm(load_store(), "checkout_redesign", ["view_item", "add_to_cart", "purchase"])
    >>> f[["step", "n_control", "n_treatment"]].values.tolist()[0]
    ['view_item', 2267, 2365]
    """
    from helpers import funnel

    alpha = args.alpha(alpha)
    m = user_metrics(store, experiment, window_days=window_days,
                     metric=None if store.orders is not None else steps[-1])
    a = m[["user_id", "variant", "assigned_at"]]
    ev = store.events[["session_id", "user_id", "ts", "event"]].merge(a, on="user_id")
    dt = ev["ts"] - ev["assigned_at"]
    ev = ev.loc[(dt >= pd.Timedelta(0)) & (dt < pd.Timedelta(days=window_days))]
    j = funnel.journeys(ev.drop(columns=["variant", "assigned_at"]), steps, unit="user")
    reached = a.merge(j[["user_id", "reached"]], on="user_id", how="left")["reached"]
    reached = reached.fillna(-1).to_numpy()
    arm = a["variant"].to_numpy()
    rows = []
    for k, step in enumerate(args.names(steps, "steps")):
        kc = int(((reached >= k) & (arm == "control")).sum())
        kt = int(((reached >= k) & (arm == "treatment")).sum())
        nc, nt = int((arm == "control").sum()), int((arm == "treatment").sum())
        r = compare_proportions(kc, nc, kt, nt, alpha=alpha)
        rows.append({"step": step, "step_index": k, "n_control": nc, "n_treatment": nt,
                     "control": r["control"], "treatment": r["treatment"], "effect": r["effect"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"]})
    out = pd.DataFrame(rows)
    out["p_holm"] = adjust(out["p_value"], "holm")
    out.attrs["dropped"] = m.attrs["dropped"]
    return out


def _ratio_or_nan(num_c, den_c, num_t, den_t, alpha) -> dict:
    """:func:`compare_ratios`, or no test (NaN) when an arm has nothing in the denominator."""
    if min(np.sum(den_c), np.sum(den_t)) <= 0 or min(len(den_c), len(den_t)) < 2:
        return {"p_value": np.nan}
    return compare_ratios(num_c, den_c, num_t, den_t, alpha=alpha)


def analyze(store, experiment: str, *, window_days: float = 90, pre_days: float = 90,
            alpha: float = 0.05, correction: str = "holm",
            expected_ratios=(0.5, 0.5), metric: str | None = None) -> pd.DataFrame:
    """The readout of one experiment as one tidy table: SRM first, then each metric.

    Metrics are those of :func:`metric_table` on :func:`user_metrics` (window and pre-period
    relative to ``assigned_at``). ``p_adjusted`` is the p each decision uses: raw for the
    primary metric and the guardrail, corrected among the secondary metrics (Holm by default).
    ``verdict`` is plain language and agrees with its row's CI and p; when the SRM check fails (p < 0.001) every row says
    "do not trust: SRM", because a broken split biases every comparison.

    ``metric`` names an event as the primary metric instead of an order (see
    :func:`user_metrics`); its row is called ``'<event> rate'``.

    ``.attrs["dropped"]`` counts assigned users left out because their window is not complete.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> res = analyze(load_store(), "homepage_banner")
    >>> res[["metric", "verdict"]].head(2).values.tolist()
    [['sample ratio (SRM)', 'do not trust: SRM'], ['conversion', 'do not trust: SRM']]
    """
    alpha = args.alpha(alpha)
    m = user_metrics(store, experiment, window_days=window_days, pre_days=pre_days,
                     metric=metric)
    n = m["variant"].value_counts().reindex(list(VARIANTS), fill_value=0)
    s = srm(n.to_numpy(), expected_ratios)
    shares = s["shares"]
    head = pd.DataFrame([{"experiment": experiment, "metric": "sample ratio (SRM)",
                          "role": "health", "n_control": int(n["control"]),
                          "n_treatment": int(n["treatment"]), "control": shares[0],
                          "treatment": shares[1], "effect": shares[1] - shares[0],
                          "p_value": s["p_value"]}])
    body = metric_table(m, alpha=alpha, correction=correction, experiment=experiment)
    out = pd.concat([head, body], ignore_index=True).reindex(columns=_COLUMNS)
    out["verdict"] = [("do not trust: SRM" if s["flag"] else "split OK")
                      if r["role"] == "health" else _verdict(r, alpha, s["flag"], correction)
                      for _, r in out.iterrows()]
    out.attrs["dropped"] = m.attrs["dropped"]
    out.attrs["window_days"] = window_days
    return out


def by_segment(store, experiment: str, by: str = "device", *, window_days: float = 90,
               alpha: float = 0.05, metric: str | None = None) -> pd.DataFrame:
    """Conversion effect per segment (a ``users`` column), with Holm and BH adjusted p-values.

    Slicing a test into segments multiplies the chances of a false "win"; the adjusted columns
    say which segment effects survive (``p_holm``: family-wise error, ``p_bh``: false discovery
    rate). A segment with users in only one arm cannot be compared: it is left out and named in
    ``.attrs["dropped_segments"]`` (its users counted in ``.attrs["dropped_users"]``); if no
    segment is left, ValueError.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> by_segment(load_store(), "checkout_redesign")["segment"].tolist()
    ['desktop', 'mobile', 'tablet']
    """
    alpha = args.alpha(alpha)
    if store.users is None or by not in store.users.columns:
        raise ValueError(f"by_segment needs users.{by}")
    m = user_metrics(store, experiment, window_days=window_days, metric=metric).merge(
        store.users[["user_id", by]], on="user_id", how="left")
    m[by] = m[by].fillna("(unknown)")
    g = m.groupby([by, "variant"])["converted"].agg(["sum", "size"]).unstack("variant",
                                                                             fill_value=0)
    g = g.reindex(columns=pd.MultiIndex.from_product([["sum", "size"], list(VARIANTS)]),
                  fill_value=0)
    one_arm = (g[("size", "control")] == 0) | (g[("size", "treatment")] == 0)
    dropped = sorted(g.index[one_arm].tolist())
    if not (~one_arm).any():
        raise ValueError(f"by_segment: no segment of users.{by} has users in both arms "
                         f"(segments {dropped})")
    rows = []
    for seg in sorted(g.index[~one_arm]):  # a handful of segments, not users
        kc, kt = g.loc[seg, ("sum", "control")], g.loc[seg, ("sum", "treatment")]
        nc, nt = g.loc[seg, ("size", "control")], g.loc[seg, ("size", "treatment")]
        r = compare_proportions(int(kc), int(nc), int(kt), int(nt), alpha=alpha)
        rows.append({"segment": seg, "n_control": int(nc), "n_treatment": int(nt), **r})
    out = pd.DataFrame(rows)
    out["p_holm"] = adjust(out["p_value"], "holm")
    out["p_bh"] = adjust(out["p_value"], "fdr_bh")
    out.attrs["dropped_segments"] = dropped
    out.attrs["dropped_users"] = int(g.loc[one_arm, "size"].to_numpy().sum())
    return out


# ----------------------------------------------------------------------------- the log


def health(assignments: pd.DataFrame, expected_ratios=(0.5, 0.5), *,
           alpha: float = SRM_ALPHA) -> pd.DataFrame:
    """The SRM check of every experiment in an ``assignments`` table, one row each.

    Columns: ``experiment``, ``control``, ``treatment`` (users per arm), ``chi2``, ``p_value``
    and ``flag`` (True = the split is broken). Users with a variant other than control or
    treatment are counted in ``other``; an experiment with an empty arm is flagged, as it cannot
    be read out at all.

    Examples
    --------
    >>> a = pd.DataFrame({"experiment": ["x"] * 4 + ["y"] * 3,
    ...                   "variant": ["control", "treatment"] * 2 + ["control"] * 3})
    >>> health(a)[["experiment", "control", "treatment", "flag"]].values.tolist()
    [['x', 2, 2, False], ['y', 3, 0, True]]
    """
    alpha = args.alpha(alpha)
    counts = assignments.groupby(["experiment", "variant"]).size().unstack("variant",
                                                                           fill_value=0)
    rows = []
    for name, r in counts.iterrows():  # one row per experiment, a handful
        arms = r.reindex(list(VARIANTS), fill_value=0)
        s = srm(arms.to_numpy(), expected_ratios, alpha=alpha) if arms.sum() else \
            {"chi2": np.nan, "p_value": np.nan, "flag": True}
        rows.append({"experiment": name, "control": int(arms["control"]),
                     "treatment": int(arms["treatment"]), "other": int(r.sum() - arms.sum()),
                     "chi2": s["chi2"], "p_value": s["p_value"],
                     "flag": bool(s["flag"]) or bool((arms == 0).any())})
    cols = ["experiment", "control", "treatment", "other", "chi2", "p_value", "flag"]
    return pd.DataFrame(rows, columns=cols)


_CONTROL_NAMES = ("control", "ctrl", "baseline", "a", "old", "old_page", "original", "default")


def name_arms(assignments: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """Read every two-arm experiment as control vs treatment, whatever its variants are called.

    The analyses here speak of ``control`` and ``treatment``. An experiment logged with other
    names (``gate_30``/``gate_40``, ``A``/``B``) is mapped: the arm whose name says control
    (control, ctrl, baseline, A, old, original, default) is the control, else the name that sorts
    first. Experiments with more than two arms are left as they are (their extra arms count as
    ``other`` in :func:`health`). Returns the mapped table and one row per mapped experiment
    (``experiment``, ``control``, ``treatment``: the original names, ``rule``).

    Examples
    --------
    >>> a = pd.DataFrame({"experiment": ["gate"] * 3 + ["x"] * 2,
    ...                   "variant": ["gate_40", "gate_30", "gate_30", "control", "treatment"]})
    >>> mapped, names = name_arms(a)
    >>> mapped["variant"].tolist()
    ['treatment', 'control', 'control', 'control', 'treatment']
    >>> names.to_dict("records")
    [{'experiment': 'gate', 'control': 'gate_30', 'treatment': 'gate_40', 'rule': 'the name that sorts first'}]
    """
    cols = ["experiment", "control", "treatment", "rule"]
    if assignments is None or assignments.empty:
        return assignments, pd.DataFrame(columns=cols)
    out = assignments.copy()
    rows = []
    for name, arms in out.groupby("experiment", sort=True)["variant"]:
        found = sorted(arms.astype(str).unique())
        if set(found) <= set(VARIANTS) or len(found) != 2:
            continue
        named = [v for v in found if v.strip().lower() in _CONTROL_NAMES]
        control = named[0] if len(named) == 1 else found[0]
        rule = "its name says control" if len(named) == 1 else "the name that sorts first"
        treatment = found[1] if control == found[0] else found[0]
        mask = out["experiment"] == name
        out.loc[mask, "variant"] = np.where(out.loc[mask, "variant"].astype(str) == control,
                                            "control", "treatment")
        rows.append({"experiment": name, "control": control, "treatment": treatment, "rule": rule})
    return out, pd.DataFrame(rows, columns=cols)


def choose_experiment(assignments: pd.DataFrame) -> str | None:
    """The experiment to read out when none is named: the largest whose split passes SRM.

    When every split fails, the largest experiment (its readout then says why it is void);
    ties go to the name that sorts first. ``None`` when the table is missing or empty.

    Examples
    --------
    >>> a = pd.DataFrame({"experiment": ["big"] * 9 + ["small"] * 4,
    ...                   "variant": ["control"] * 9 + ["control", "treatment"] * 2})
    >>> choose_experiment(a)
    'small'
    """
    if assignments is None or assignments.empty:
        return None
    h = health(assignments).assign(n=lambda d: d["control"] + d["treatment"])
    ok = h.loc[~h["flag"] & (h["n"] > 0)]
    pick = ok if len(ok) else h
    return str(pick.sort_values(["n", "experiment"], ascending=[False, True]).iloc[0]["experiment"])


def aa_test(m: pd.DataFrame, *, seed: int = 0) -> dict:
    """A/A comparison: the control arm of a :func:`user_metrics` frame split at random in two.

    Both halves saw the same experience, so their difference in conversion should be
    compatible with zero; returns the :func:`compare_proportions` dict plus ``n`` (users in the
    control arm). Needs at least two control users.

    Examples
    --------
    >>> m = pd.DataFrame({"variant": ["control"] * 8, "converted": [1, 0] * 4})
    >>> r = aa_test(m, seed=1)
    >>> r["n"], 0 <= r["p_value"] <= 1
    (8, True)
    """
    ctrl = m.loc[m["variant"] == "control", "converted"].astype(int).to_numpy()
    if len(ctrl) < 2:
        raise ValueError("aa_test: need at least two control users")
    half = np.random.default_rng(seed).permutation(len(ctrl)) % 2 == 1
    out = compare_proportions(ctrl[~half].sum(), (~half).sum(), ctrl[half].sum(), half.sum())
    out["n"] = len(ctrl)
    return out


def cuped_table(store, experiments=None, *, window_days: float = 90,
                pre_days: float = 90) -> pd.DataFrame:
    """CUPED on revenue per user for each experiment, with pre-period spend as the covariate.

    One row per experiment (default: every experiment in ``store.assignments``):
    ``pre_spenders`` (share of users with pre-period revenue), ``theta``,
    ``variance_reduction``, ``raw_ci_width`` and ``ci_width`` (of the revenue-per-user effect,
    before and after the adjustment), ``users`` and ``srm_flag`` (the split failed SRM, so the
    experiment's effects must not be used; the variance reduction is still a fact about the
    covariate). Experiments with fewer than two users with a complete window in an arm, or
    without recorded revenue, are left out.

    Examples
    --------
    >>> from helpers.data import load_store
    >>> t = cuped_table(load_store(), ["checkout_redesign"])
    >>> float(t["variance_reduction"].iloc[0])
    0.0
    """
    names = sorted(store.assignments["experiment"].unique()) if experiments is None \
        else list(experiments)
    flags = health(store.assignments).set_index("experiment")["flag"]
    rows = []
    for name in names:  # a handful of experiments
        m = user_metrics(store, name, window_days=window_days, pre_days=pre_days)
        t = m["variant"].eq("treatment").to_numpy()
        if t.sum() < 2 or (~t).sum() < 2 or m["revenue"].isna().any():
            continue
        c = cuped(m["revenue"], m["pre_revenue"], t)
        rows.append({"experiment": name, "users": len(m),
                     "pre_spenders": float((m["pre_revenue"] > 0).mean()),
                     "theta": c["theta"], "variance_reduction": c["variance_reduction"],
                     "raw_ci_width": c["raw_ci_width"], "ci_width": c["ci_width"],
                     "srm_flag": bool(flags.get(name, False))})
    cols = ["experiment", "users", "pre_spenders", "theta", "variance_reduction",
            "raw_ci_width", "ci_width", "srm_flag"]
    return pd.DataFrame(rows, columns=cols)


def usable_window(store, experiment: str, window_days: float = 90) -> float:
    """``window_days``, or a shorter window when the data ends before most users' window does.

    A readout measures every user over the same window after assignment, and users whose
    window is not over when the data ends are left out (:func:`user_metrics`). When that would
    leave out more than half of the assigned users, the window shrinks to the longest one that
    keeps half of them: whole days when that is at least a day, else hours. Returned unchanged
    when it already fits.

    Examples
    --------
    >>> from helpers.data import Store
    >>> t = pd.Timestamp("2025-01-01", tz="UTC")
    >>> a = pd.DataFrame({"experiment": "x", "user_id": [1, 2, 3], "variant": "control",
    ...                   "assigned_at": [t, t, t + pd.Timedelta("2D")]})
    >>> ev = pd.DataFrame({"ts": [t + pd.Timedelta("10D")]})
    >>> usable_window(Store(events=ev, assignments=a), "x", 90), usable_window(Store(events=ev, assignments=a), "x", 5)
    (10.0, 5)
    """
    a = store.assignments.loc[store.assignments["experiment"] == experiment, "assigned_at"]
    ends = [t for t in (getattr(store.orders, "get", lambda _: None)("ordered_at"),
                        getattr(store.events, "get", lambda _: None)("ts")) if t is not None]
    if a.empty or not ends:
        return window_days
    data_end = max(t.max() for t in ends)
    left = ((data_end - a).dt.total_seconds() / 86400).median()
    if left >= window_days or left <= 0:
        return window_days
    return float(np.floor(left)) if left >= 1 else float(np.floor(left * 24) / 24)
