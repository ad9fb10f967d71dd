"""Price sensitivity: which buyers respond to discounts and promotions (notebook 04).

The article's *price-sensitive customers* (价格敏感型客户) are the ones a coupon or a sale moves;
the others buy at full price and a blanket discount only costs margin on them. Nobody records
the trait, but every order records a response: whether it used a discount (``discount > 0`` or a
coupon code) and whether it was placed on a promotion day. This module turns those responses
into a segment with a two-class latent-class model, in four steps.

**1 · Promotions.** :func:`promotions` looks for runs of calendar days (in the shop's time
zone) on which discounted orders are far more common than usual, with the temporal scan
statistic of Kulldorff (1997). First orders are discounted far more often than repeat orders
(welcome offers), so "usual" is set per kind of order: a day's expected discounted orders are
E_d = p_first · (first orders that day) + p_repeat · (repeat orders that day), with the two
shares pooled over the days outside promotions. For a run with O discounted orders against E
expected, out of C in all (ΣE = C), the log-likelihood ratio is

    LLR = O log(O/E) + (C − O) log((C − O)/(C − E))      (when O/E > (C − O)/(C − E), else 0).

The run with the largest LLR (1 to 31 days) is tested against reshufflings of which orders were
discounted, within first and within repeat orders (each day keeps its orders), and kept if
significant and it has at least ``lift`` (1.5) times the discounted orders that the shares
outside it predict. Its days are set
aside and the search repeats (Zhang, Assunção & Kulldorff 2010) until nothing is left: a sale,
a coupon campaign, a clearance. The days can also be passed in (``promo_days=``).

**2 · Evidence per buyer.** Each counted order is a trial of one indicator:

* ``first order``: the buyer's first order, on an ordinary day: discounted or not;
* ``repeat order``: a later order on an ordinary day: discounted or not;
* ``promotion-day order``: any order on a promotion day: discounted or not;
* ``returned on a promotion day``: a *repeat* order: placed on a promotion day or not (the
  response to the promotion itself, not to its coupon).

So buyer i has k_ij successes in n_ij trials of indicator j (:func:`evidence` lists them).
Splitting discount use by context matters: welcome offers make first orders far more often
discounted than repeat orders, and a buyer who takes a welcome offer is not yet a discount
hunter.

**3 · Two latent classes.** Buyers are a mixture of a price-sensitive class (share w) and the
rest. Given the class, the trials are independent binomials, so

    L = Π_i [ w Π_j Bin(k_ij; n_ij, θ_sj) + (1 − w) Π_j Bin(k_ij; n_ij, θ_oj) ].

A latent-class model with one rate per class and indicator lets the classes differ in unrelated
ways on every indicator; with most buyers ordering once it is barely identified. The discount
indicators therefore share one class effect, as in Kamakura & Russell's (1989) segments that
differ in price response: logit θ_oj = a_j and logit θ_sj = a_j + b, so the context sets the
baseline a_j (how often a discount is on offer there) and the class multiplies the odds of
taking it by e^b in every context. A weakly informative Normal(0, 2.5²) prior on b (in the
spirit of Gelman et al. 2008) keeps b finite when one class never takes a discount somewhere
(an odds ratio of e^5 ≈ 150 is already extreme). The promotion-timing indicator keeps two free
rates. The price-sensitive class is the one with b > 0. The estimate comes from EM (Dempster,
Laird & Rubin 1977): the E-step gives each buyer's posterior

    r_i = w f_s(i) / (w f_s(i) + (1 − w) f_o(i)),   f_c(i) = Π_j θ_cj^k_ij (1 − θ_cj)^(n_ij − k_ij),

the M-step sets w = mean r_i, the free rates to Σ r_i k_ij / Σ r_i n_ij, and (a, b) by a Newton
step on the expected counts (a generalised EM step). Buyers with the same record share one
posterior, so EM runs on the distinct records, accelerated by SQUAREM (Varadhan & Roland 2008),
from four starts (three fixed, one seeded); the best wins.

**4 · Can the data tell?** Two classes always fit at least as well as one, and with this much
noise EM will always report some split. Before fitting, :func:`score_test` asks whether buyers
differ at all: under one class every trial is an independent Bernoulli(p_j), so the products of
residuals of *different* trials of the same buyer, U_i = Σ_{m≠l} (x_m − p_m)(x_l − p_l), have
mean 0; a shared propensity makes them positive. z = Σ U_i / sqrt(2 Σ_i (V_i² − Σ_m v_m²)),
with v_m = p_m (1 − p_m) and V_i = Σ_m v_m, is referred to the upper tail of N(0, 1) (the C(α)
test for extra-binomial variation: Tarone 1979, Dean 1992). One-order buyers add nothing to
it, as they should. If p > ``alpha``, :func:`price_sensitivity` raises
:class:`helpers.retention.NotFittable` with the reason: no segment is better than an invented
one. (A parametric-bootstrap likelihood-ratio test of two classes against one, McLachlan 1987,
is valid too, but found the planted trait in fewer simulated shops: it also spends the data on
the class share, which they hardly determine; see below.)

**The segment.** When most buyers order once, the data pin down the rates' contrasts far better
than the class share w: the likelihood is nearly flat along a ridge that trades a small, extreme
class for a large, mild one (refits of resampled buyers put w anywhere from a few percent to
over half). The posterior r_i of a one-order buyer who used a discount crosses 0.5 as w moves
along that ridge, taking a third of all buyers in or out of a "posterior ≥ 0.5" segment at once.
The segment therefore uses the evidence of each buyer's own orders, the Bayes factor
BF_i = f_s(i) / f_o(i): a buyer is *price-sensitive* when BF_i ≥ 1, i.e. when their orders
raise their chance above the prior (r_i ≥ w). A one-order buyer is then in the segment if that
order used a discount, while their posterior ``p_sensitive`` stays near the prior, as one order
deserves; repeat buyers are judged on all their orders. The classification entropy R²
(Ramaswamy et al. 1993) in ``.attrs["model"]`` says how sharp the split is (1: every posterior
0 or 1; 0: all equal). :func:`sensitivity_summary` compares the segment with the rest (discount
share and promotion-day share, which the model used, and revenue per order, which it did not);
:func:`agreement` compares it with a known list of price-sensitive users.

References
----------
Dean, C. B. (1992). Testing for overdispersion in Poisson and binomial regression models.
*Journal of the American Statistical Association* 87(418), 451–457.

Dempster, A. P., Laird, N. M. & Rubin, D. B. (1977). Maximum likelihood from incomplete data
via the EM algorithm. *Journal of the Royal Statistical Society B* 39(1), 1–38.

Gelman, A., Jakulin, A., Pittau, M. G. & Su, Y.-S. (2008). A weakly informative default prior
distribution for logistic and other regression models. *Annals of Applied Statistics* 2(4),
1360–1383.

Kamakura, W. A. & Russell, G. J. (1989). A probabilistic choice model for market segmentation
and elasticity structure. *Journal of Marketing Research* 26(4), 379–390.

Kulldorff, M. (1997). A spatial scan statistic. *Communications in Statistics: Theory and
Methods* 26(6), 1481–1496.

McLachlan, G. J. (1987). On bootstrapping the likelihood ratio test statistic for the number of
components in a normal mixture. *Applied Statistics* 36(3), 318–324.

Ramaswamy, V., DeSarbo, W. S., Reibstein, D. J. & Robinson, W. T. (1993). An empirical pooling
approach for estimating marketing mix elasticities with PIMS data. *Marketing Science* 12(1),
103–124.

Tarone, R. E. (1979). Testing the goodness of fit of the binomial distribution. *Biometrika*
66(3), 585–590.

Varadhan, R. & Roland, C. (2008). Simple and globally convergent methods for accelerating the
convergence of any EM algorithm. *Scandinavian Journal of Statistics* 35(2), 335–353.

Zhang, Z., Assunção, R. & Kulldorff, M. (2010). Spatial scan statistics adjusted for multiple
clusters. *Journal of Probability and Statistics* 2010, 642379.

Examples
--------
Ten buyers who took a discount on all four of their orders and ten who never did: two classes
of equal size, with rates 1 and 0, and every posterior is certain.

>>> k = pd.DataFrame({"discounted": [4] * 10 + [0] * 10})
>>> n = pd.DataFrame({"discounted": [4] * 20})
>>> fit = fit_latent_classes(k, n)
>>> round(fit.share, 3), fit.rates.round(3).to_dict("index")
(0.5, {'discounted': {'sensitive': 1.0, 'other': 0.0}})
>>> fit.posterior(k, n)[[0, -1]].round(3).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, logit, xlogy
from scipy.stats import norm

from helpers import args, timing
from helpers.data import require_columns
from helpers.retention import NotFittable
from helpers.stats import wilson

__all__ = ["INDICATORS", "SEGMENTS", "SHIFT_PRIOR_SD", "LatentClassFit", "agreement",
           "discounted", "evidence", "fit_latent_classes", "price_sensitivity", "promotions",
           "score_test", "sensitivity_summary"]

SEGMENTS = ("price-sensitive", "other")
"""The two labels of ``segment``, in this order."""

INDICATORS = {
    "first order": "the first order, on an ordinary day, used a discount",
    "repeat order": "a later order, on an ordinary day, used a discount",
    "promotion-day order": "an order on a promotion day used a discount",
    "returned on a promotion day": "a repeat order was placed on a promotion day",
}
"""The evidence of :func:`price_sensitivity`: indicator -> what one success means."""

_TIMING = "returned on a promotion day"
_MIN_REPEAT = 10      # buyers with two or more orders needed before two classes can be told
_CAP = 25.0           # |logit| cap: rates stay inside (1.4e-11, 1 - 1.4e-11)
SHIFT_PRIOR_SD = 2.5
"""Standard deviation of the Normal(0, sd²) prior on the class effect b (module notes)."""
_PROMO_COLUMNS = ["start", "end", "days", "orders", "discounted", "share", "expected_share",
                  "ratio", "llr", "p_value"]
_RANDOM_STARTS = 1     # EM runs of price_sensitivity: three fixed starts and this many random


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True, eq=False)
class LatentClassFit:
    """A fitted two-class binomial mixture (see the module notes).

    ``share`` is w, the weight of the class with the higher rates (called ``sensitive``);
    ``rates`` has one row per indicator and columns ``sensitive`` and ``other``; ``shift`` is
    the common log odds ratio b of the linked indicators (NaN when none is linked).
    ``one_class_log_likelihood`` is the fit of a single class (each indicator's pooled rate);
    ``entropy`` the classification entropy R² (Ramaswamy et al. 1993).
    """

    share: float
    rates: pd.DataFrame
    shift: float
    log_likelihood: float
    one_class_log_likelihood: float
    n: int
    entropy: float
    iterations: int
    linked: tuple = field(default=())

    @property
    def lr(self) -> float:
        """Likelihood-ratio statistic of two classes against one: 2 (log L₂ − log L₁)."""
        return max(2.0 * (self.log_likelihood - self.one_class_log_likelihood), 0.0)

    def posterior(self, successes, trials) -> np.ndarray:
        """P(sensitive class | a unit's successes and trials), one value per row.

        >>> fit = LatentClassFit(0.5, pd.DataFrame({"sensitive": [0.8], "other": [0.2]},
        ...     index=["d"]), np.nan, 0.0, 0.0, 1, 0.0, 0)
        >>> fit.posterior(pd.DataFrame({"d": [1, 0]}), pd.DataFrame({"d": [1, 1]})).round(2)
        array([0.8, 0.2])
        """
        k, n = _arrays(successes, trials, list(self.rates.index))
        th = self.rates[["sensitive", "other"]].to_numpy().T
        return _posterior(k, n, self.share, th)


def _arrays(successes, trials, columns=None):
    """Successes and trials as float arrays (units x indicators), checked."""
    for name, df in (("successes", successes), ("trials", trials)):
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"{name}: expected a DataFrame with one column per indicator, got "  # noqa: TRY004
                             f"{type(df).__name__}")
    cols = list(trials.columns) if columns is None else list(columns)
    for name, df in (("successes", successes), ("trials", trials)):
        require_columns(df, name, cols)
    if len(successes) != len(trials):
        raise ValueError(f"successes and trials must have the same rows; got {len(successes)} "
                         f"and {len(trials)}")
    k = successes[cols].to_numpy(dtype=float)
    n = trials[cols].to_numpy(dtype=float)
    bad = ~np.isfinite(k) | ~np.isfinite(n) | (k < 0) | (k > n) | (k != np.round(k)) | (
        n != np.round(n))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise ValueError(f"successes/trials: need whole numbers with 0 <= successes <= trials; "
                         f"row {i}, column {cols[j]!r} has {float(k[i, j])!r} of "
                         f"{float(n[i, j])!r}")
    return k, n


def _rates(x, lay):
    """Class rates (2 x J) from the unconstrained parameter vector x."""
    J, linked, free = lay[:3]
    eta = np.empty((2, J))
    L = len(linked)
    if L:
        a, b = x[1:1 + L], x[1 + L]
        eta[0, linked] = a + b
        eta[1, linked] = a
    if len(free):
        f = x[2 + L if L else 1:].reshape(2, -1)
        eta[:, free] = f
    return expit(np.clip(eta, -_CAP, _CAP))


def _log_f(k, n, th):
    """Per unit and class: log Π_j θ^k (1 − θ)^(n − k) (binomial coefficients left out)."""
    th = np.clip(th, 1e-300, 1.0)
    one = np.clip(1.0 - th, 1e-300, 1.0)
    return k @ np.log(th).T + (n - k) @ np.log(one).T


def _posterior(k, n, w, th):
    lf = _log_f(k, n, th)
    d = (np.log1p(-w) + lf[:, 1]) - (np.log(w) + lf[:, 0])
    return expit(-np.clip(d, -700, 700))


def _loglik(x, k, n, c, lay, *, penalty: bool = False):
    """Log-likelihood (without binomial coefficients); ``penalty`` adds the log prior of b."""
    th = _rates(x, lay)
    w = float(expit(x[0]))
    lf = _log_f(k, n, th) + np.log([max(w, 1e-300), max(1 - w, 1e-300)])
    m = lf.max(axis=1)
    ll = float(c @ (m + np.log(np.exp(lf[:, 0] - m) + np.exp(lf[:, 1] - m))))
    if penalty and len(lay[1]):
        ll -= 0.5 * (x[1 + len(lay[1])] / SHIFT_PRIOR_SD) ** 2
    return ll


def _newton_linked(num, den, a, b, steps: int = 1, sd: float = SHIFT_PRIOR_SD,
                   nonneg: bool = False):
    """M-step of the linked block: raise Σ_cj num log θ + (den − num) log(1 − θ) over (a, b).

    The objective includes the Normal(0, sd²) log prior of b. ``steps`` Newton steps, each
    halved until the objective does not fall: a generalised EM step (Dempster et al. 1977,
    section 3), which is all EM needs to climb.
    """
    L = len(a)
    beta = np.empty(L + 1)
    beta[:L], beta[L] = a, b
    miss = den - num
    e = np.empty((2, L))

    def objective(be):
        e[0], e[1] = be[:L] + be[L], be[:L]
        return float((num * np.logaddexp(0, -e) + miss * np.logaddexp(0, e)).sum() * -1.0
                     - 0.5 * (be[L] / sd) ** 2)

    best = objective(beta)
    H = np.empty((L + 1, L + 1))
    g = np.empty(L + 1)
    for _ in range(steps):
        e[0], e[1] = beta[:L] + beta[L], beta[:L]
        m = expit(e)
        v = den * m * (1 - m)
        resid = num - den * m
        g[:L], g[L] = resid.sum(axis=0), resid[0].sum() - beta[L] / sd ** 2
        H[:] = 0.0
        H[np.arange(L), np.arange(L)] = v.sum(axis=0) + 1e-9
        H[:L, L] = H[L, :L] = v[0]
        H[L, L] = v[0].sum() + 1 / sd ** 2
        step = np.clip(np.linalg.solve(H, g), -5.0, 5.0)
        t = 1.0
        while t > 1e-3:
            cand = np.clip(beta + t * step, -_CAP, _CAP)
            if nonneg:
                cand[L] = max(cand[L], 0.0)
            val = objective(cand)
            if val >= best:
                beta, best = cand, val
                break
            t /= 2
        else:
            break
    return beta[:L], float(beta[L])


def _em_step(x, k, n, c, lay):
    """One EM (GEM) update of the unconstrained parameters (the share stays if ``lay`` fixes it)."""
    _, linked, free, fixed = lay
    th = _rates(x, lay)
    w = min(max(float(expit(x[0])), 1e-12), 1 - 1e-12)
    r = _posterior(k, n, w, th)
    rc = np.empty((len(c), 2))
    rc[:, 0] = r * c
    rc[:, 1] = c - rc[:, 0]
    num, den = rc.T @ k, rc.T @ n
    w_new = min(max(rc[:, 0].sum() / c.sum(), 1e-12), 1 - 1e-12)
    out = np.empty_like(x)
    out[0] = logit(w_new) if fixed is None else x[0]
    L = len(linked)
    if L:
        out[1:1 + L], out[1 + L] = _newton_linked(num[:, linked], den[:, linked], x[1:1 + L],
                                                  x[1 + L], nonneg=fixed is not None)
    if len(free):
        df, nf = den[:, free], num[:, free]
        f = np.where(df > 0, nf / np.maximum(df, 1e-300), th[:, free])
        out[(2 + L if L else 1):] = logit(np.clip(f, expit(-_CAP), expit(_CAP))).ravel()
    return np.clip(out, -_CAP, _CAP)


def _squarem(x, k, n, c, lay, *, tol, max_iter):
    """EM accelerated by SQUAREM (the 'SqS3' step with a monotone fallback to plain EM)."""
    ll = _loglik(x, k, n, c, lay, penalty=True)
    it = 0
    for it in range(1, max_iter + 1):
        x1 = _em_step(x, k, n, c, lay)
        x2 = _em_step(x1, k, n, c, lay)
        r, v = x1 - x, x2 - 2 * x1 + x
        nv = np.linalg.norm(v)
        if nv < 1e-12:
            x_new = x2
        else:
            alpha = min(-np.linalg.norm(r) / nv, -1.0)
            x_new = _em_step(np.clip(x - 2 * alpha * r + alpha ** 2 * v, -_CAP, _CAP),
                             k, n, c, lay)
        ll_new = _loglik(x_new, k, n, c, lay, penalty=True)
        ll2 = _loglik(x2, k, n, c, lay, penalty=True)
        if not np.isfinite(ll_new) or ll_new < ll2:
            x_new, ll_new = x2, ll2
        done = abs(ll_new - ll) < tol * (1 + abs(ll))
        x, ll = x_new, ll_new
        if done:
            break
    return x, ll, it


def _starts(p, lay, rng, n_random):
    """Deterministic starts around the pooled rates ``p`` (and ``n_random`` seeded ones)."""
    _, linked, free, fixed = lay
    p = np.clip(p, 0.01, 0.99)
    specs = [(0.3, 1.5), (0.1, 3.0), (0.5, 1.0)]
    specs += [(float(rng.uniform(0.05, 0.6)), float(rng.uniform(0.5, 4.0)))
              for _ in range(n_random)]
    if fixed is not None:
        specs = [(fixed, b) for _, b in specs]
    out = []
    for w, b in specs:
        x = [logit(w)]
        if len(linked):
            x += list(logit(p[linked]) - w * b)
            x.append(b)
        if len(free):
            hi = np.clip(p[free] * np.exp(b * (1 - w)), 0.01, 0.99)
            lo = np.clip(p[free] * np.exp(-b * w), 0.005, 0.99)
            x += list(logit(np.r_[hi, lo]))
        out.append(np.clip(np.asarray(x, float), -_CAP, _CAP))
    return out


def _fit(k, n, c, lay, *, seed, n_random, tol=1e-10, max_iter=2000):
    """Best of several SQUAREM-EM runs on distinct records ``k, n`` with counts ``c``."""
    linked = lay[1]
    p = (c @ k) / np.maximum(c @ n, 1e-300)
    rng = np.random.default_rng(seed)
    best = None
    for x0 in _starts(p, lay, rng, n_random):
        x, ll, it = _squarem(x0, k, n, c, lay, tol=tol, max_iter=max_iter)
        if best is None or ll > best[1] + 1e-9:
            best = (x, ll, it)
    x, _, it = best
    ll = _loglik(x, k, n, c, lay)  # the plain log-likelihood at the posterior mode
    th = _rates(x, lay)
    w = float(expit(x[0]))
    L = len(linked)
    b = float(x[1 + L]) if L else np.nan
    # the "sensitive" class: higher odds on the linked indicators (b > 0), else higher pooled rate
    if lay[3] is not None:
        swap = False  # a fixed share belongs to the class it was given to
    elif L:
        swap = b < 0
    else:
        tot = c @ n
        swap = (th[1] * tot).sum() > (th[0] * tot).sum()
    if swap:
        th, w, b = th[::-1], 1 - w, -b
    p1 = np.clip(p, 1e-300, 1.0)
    q1 = np.clip(1 - p, 1e-300, 1.0)
    ll1 = float(c @ (k @ np.log(p1) + (n - k) @ np.log(q1)))
    r = _posterior(k, n, min(max(w, 1e-12), 1 - 1e-12), th)
    return w, th, b, ll, ll1, r, it


def fit_latent_classes(successes: pd.DataFrame, trials: pd.DataFrame, *, linked=(),
                       share: float | None = None, seed: int = 0, n_starts: int = 8,
                       tol: float = 1e-10, max_iter: int = 2000) -> LatentClassFit:
    """Two-class binomial mixture (latent-class model) by EM; see the module notes.

    Parameters
    ----------
    successes, trials : DataFrame
        One row per unit (buyer), one column per indicator: successes k_ij out of trials n_ij
        (whole numbers, 0 <= k <= n; n = 0 means no evidence on that indicator).
    linked : sequence of str
        Indicators whose class rates differ by one common odds ratio e^b (logit θ_sj = a_j + b,
        logit θ_oj = a_j); the others get two free rates each. Empty: every rate free (the
        plain latent-class model).
    share : float, optional
        Fix the sensitive class's share w instead of estimating it (b is then kept ≥ 0 and the
        classes are not swapped): a profile of the likelihood over w shows how well the data
        pin it down.
    seed : int
        Seeds the random starts (besides three fixed ones); the fit is deterministic.
    n_starts : int
        Number of EM runs (three fixed starts plus ``n_starts − 3`` random ones).
    tol, max_iter : float, int
        Convergence: relative change of the log-likelihood, and at most this many
        SQUAREM cycles per run.

    Returns
    -------
    LatentClassFit
        ``sensitive`` is the class with the higher rates (b > 0 when indicators are linked).
        The log-likelihoods include the binomial coefficients.

    Raises
    ------
    ValueError
        Columns missing, rows that differ in number, counts that are not whole or exceed their
        trials, a ``linked`` name that is not a column.
    helpers.retention.NotFittable
        No unit, or no indicator with both a success and a failure (nothing to mix).

    Examples
    --------
    >>> k = pd.DataFrame({"a": [2, 2, 0, 0, 2, 0], "b": [1, 1, 0, 0, 1, 0]})
    >>> n = pd.DataFrame({"a": [2] * 6, "b": [1] * 6})
    >>> fit = fit_latent_classes(k, n)
    >>> round(fit.share, 2), fit.posterior(k, n).round(2).tolist()
    (0.5, [1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    """
    cols = list(trials.columns) if isinstance(trials, pd.DataFrame) else []
    k, n = _arrays(successes, trials, cols)
    linked = args.names(linked, "linked")
    unknown = [c for c in linked if c not in cols]
    if unknown:
        raise ValueError(f"linked: {unknown[0]!r} is not an indicator; the columns are "
                         f"{', '.join(map(repr, cols))}")
    if len(k) == 0:
        raise NotFittable("no unit to fit: the table is empty")
    tk, tn = k.sum(axis=0), n.sum(axis=0)
    if not ((tk > 0) & (tk < tn)).any():
        raise NotFittable("no indicator has both successes and failures, so there is nothing "
                          "for two classes to differ in")
    if isinstance(n_starts, bool) or not isinstance(n_starts, int) or n_starts < 1:
        raise ValueError(f"n_starts: must be a whole number of EM runs, at least 1 (e.g. 8); got "
                         f"{n_starts!r}")
    if share is not None:
        share = float(args.share(share, "share", allow_zero=False))
        if share >= 1:
            raise ValueError(f"share: must be below 1, got {share!r}")
    lay = (len(cols), [cols.index(c) for c in linked],
           [j for j, c in enumerate(cols) if c not in linked], share)
    uk, un, cnt, _ = _distinct(k, n)
    n_random = max(n_starts - 3, 0)
    w, th, b, ll, ll1, r, it = _fit(uk, un, cnt, lay, seed=seed, n_random=n_random, tol=tol,
                                    max_iter=max_iter)
    const = float(cnt @ (gammaln(un + 1) - gammaln(uk + 1) - gammaln(un - uk + 1)).sum(axis=1))
    return _result(w, th, b, ll + const, ll1 + const, r, cnt, it, cols, linked)


def _distinct(k, n):
    X = np.c_[k, n]
    U, inv, cnt = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    J = k.shape[1]
    return U[:, :J], U[:, J:], cnt.astype(float), inv.ravel()


def _result(w, th, b, ll, ll1, r, cnt, it, cols, linked) -> LatentClassFit:
    rr = np.clip(np.c_[r, 1 - r], 1e-300, 1.0)
    h = -(cnt @ (np.c_[r, 1 - r] * np.log(rr)).sum(axis=1))
    entropy = float(1 - h / (cnt.sum() * np.log(2))) if cnt.sum() else np.nan
    rates = pd.DataFrame({"sensitive": th[0], "other": th[1]}, index=pd.Index(cols,
                                                                               name="indicator"))
    return LatentClassFit(share=float(w), rates=rates, shift=float(b), log_likelihood=float(ll),
                          one_class_log_likelihood=float(ll1), n=int(cnt.sum()),
                          entropy=entropy, iterations=int(it), linked=tuple(linked))


def score_test(successes, trials) -> tuple[float, float]:
    """One-sided score test that all units share each indicator's rate: (z, p-value).

    Under one class every trial m of unit i is Bernoulli(p_j) with p_j the pooled rate of its
    indicator. With residuals e_m = x_m − p_j, the statistic sums the products of *different*
    trials of the same unit, U_i = Σ_{m≠l} e_m e_l = R_i² − Σ_m e_m² (R_i = Σ_m e_m), which
    has mean 0 and variance 2 (V_i² − Σ_m v_m²) under the null (V_i = Σ_m v_m, v_m = p_j q_j).
    A shared propensity (some units take the discounts more often everywhere) makes the
    products positive, so z = Σ U_i / sqrt(2 Σ (V_i² − Σ v_m²)) is referred to the upper tail of
    N(0, 1): the C(α) test for extra-binomial variation of Tarone (1979) and Dean (1992), with
    the one-trial units (which carry no product) dropping out by construction.

    Returns ``(nan, 1.0)`` when no unit has two trials with a rate strictly between 0 and 1.

    >>> k = pd.DataFrame({"d": [3, 3, 3, 0, 0, 0]}); n = pd.DataFrame({"d": [3] * 6})
    >>> z, p = score_test(k, n)
    >>> round(z, 2), p < 0.001
    (4.24, True)
    """
    k, n = _arrays(successes, trials)
    p = k.sum(axis=0) / np.maximum(n.sum(axis=0), 1e-300)
    q = 1 - p
    R = (k - n * p).sum(axis=1)
    S2 = (k * q ** 2 + (n - k) * p ** 2).sum(axis=1)
    V = (n * p * q).sum(axis=1)
    W = (n * (p * q) ** 2).sum(axis=1)
    var = 2 * (V ** 2 - W).sum()
    if not var > 1e-12:
        return float("nan"), 1.0
    z = float((R ** 2 - S2).sum() / np.sqrt(var))
    return z, float(norm.sf(z))


# ----------------------------------------------------------------------------- the orders


def discounted(orders: pd.DataFrame) -> pd.Series:
    """True for each order that used a discount: ``discount > 0`` or a (non-blank) ``coupon``.

    Either column may be absent; a missing discount or coupon counts as none.

    >>> o = pd.DataFrame({"discount": [0.0, 5.0, np.nan], "coupon": [None, None, "SPRING"]})
    >>> discounted(o).tolist()
    [False, True, True]
    """
    flag = pd.Series(False, index=orders.index)
    if "discount" in orders.columns:
        d = pd.to_numeric(orders["discount"], errors="coerce")
        flag |= d.gt(0).fillna(False).astype(bool)
    if "coupon" in orders.columns:
        cp = orders["coupon"]
        flag |= (cp.notna() & cp.astype("string").str.strip().ne("")).fillna(False).astype(bool)
    return flag


def _evidence_columns(orders: pd.DataFrame) -> list[str]:
    cols = []
    if "discount" in orders.columns and pd.to_numeric(orders["discount"],
                                                      errors="coerce").notna().any():
        cols.append("discount")
    if "coupon" in orders.columns:
        cols.append("coupon")
    return cols


def _counted(orders, *, asof, status, user_col, time_col, what):
    """The counted orders (status, up to asof) with parsed UTC times; dropped counts."""
    require_columns(orders, "orders", [user_col, time_col])
    if not _evidence_columns(orders):
        raise NotFittable(f"{what} needs to know which orders were discounted, and the orders "
                          "table has neither a discount column with values nor a coupon column "
                          f"(it has {', '.join(map(str, orders.columns))})")
    t = timing._check_orders(orders, user_col, time_col)   # not empty, every time a timestamp
    if orders[user_col].isna().any():
        i = int(np.flatnonzero(orders[user_col].isna().to_numpy())[0])
        raise ValueError(f"orders.{user_col}: {int(orders[user_col].isna().sum())} row(s) have "
                         f"no customer, e.g. row {i}")
    end = t.max() if asof is None else args.timestamp(asof, "asof")
    keep = pd.Series(True, index=orders.index)
    dropped = {}
    if status is not None:
        if not isinstance(status, str):
            raise ValueError(f"status: give one order status such as 'completed', or None for "
                             f"every order; got {status!r}")
        ok = orders["status"].eq(status) if "status" in orders.columns else keep
        dropped[f"status not {status}"] = int((~ok).sum())
        keep &= ok
    late = (t > end).to_numpy()
    dropped["after asof"] = int((keep & late).sum())
    keep &= ~late
    o = orders.loc[keep].copy()
    o["_t"] = t[keep]
    o["_disc"] = discounted(o)
    return o, end, dropped


def _tz(tz) -> str:
    try:
        pd.Timestamp("2000-01-01", tz=tz)
    except Exception:  # noqa: BLE001 - pytz and zoneinfo raise different errors
        raise ValueError(f"tz: {tz!r} is not a time zone; write it like 'UTC' or "
                         "'Asia/Shanghai'") from None
    return tz


def _days(t: pd.Series, tz: str) -> pd.Series:
    return t.dt.tz_convert(tz).dt.tz_localize(None).dt.floor("D")


def _scan_llr(o, e, barred, max_days):
    """Best run of consecutive days (at most ``max_days``) by the Poisson scan statistic.

    ``o`` are (..., D) daily discounted orders and ``e`` their expected numbers (summing to the
    same total), with excluded days set to 0; runs that touch an excluded day are ruled out by
    ``barred`` (the D + 1 cumulative count of excluded days). Returns the largest
    log-likelihood ratio and, for 1-D input, its run as (first day index, length).
    """
    co = np.concatenate([np.zeros(o.shape[:-1] + (1,)), np.cumsum(o, axis=-1)], axis=-1)
    ce = np.concatenate([np.zeros(e.shape[:-1] + (1,)), np.cumsum(e, axis=-1)], axis=-1)
    C = co[..., -1:]
    best = np.full(o.shape[:-1], -np.inf)
    where = (0, 0)
    D = o.shape[-1]
    for L in range(1, min(max_days, D) + 1):
        oi, ei = co[..., L:] - co[..., :-L], ce[..., L:] - ce[..., :-L]
        oo, eo = C - oi, C - ei
        llr = xlogy(oi, np.divide(oi, ei, out=np.ones_like(oi), where=ei > 0)) + xlogy(
            oo, np.divide(oo, eo, out=np.ones_like(oo), where=eo > 0))
        ok = (oi * eo > oo * ei) & (ei > 0) & (eo > 0) & (barred[L:] - barred[:-L] == 0)
        llr = np.where(ok, llr, -np.inf)
        m = llr.max(axis=-1)
        if o.ndim == 1 and m > best:
            where = (int(llr.argmax()), L)
        best = np.maximum(best, m)
    return best, where


def promotions(orders: pd.DataFrame, *, asof=None, status: str | None = "completed",
               tz: str = "UTC", alpha: float = 0.05, lift: float = 1.5, max_days: int = 31,
               n_perm: int = 99, seed: int = 0, user_col: str = "user_id",
               time_col: str = "ordered_at") -> pd.DataFrame:
    """Runs of days with far more discounted orders than usual: the shop's promotions.

    The temporal scan statistic (Kulldorff 1997) with expected counts set per kind of order
    (first or repeat), as in the module notes (step 1): every run of 1 to ``max_days``
    consecutive calendar days (in ``tz``) is compared with the rest; the best run is tested
    against ``n_perm`` reshufflings of which orders were discounted (within first and within
    repeat orders), and kept when its Monte Carlo p-value is at most ``alpha`` and it has at
    least ``lift`` times the discounted orders that the rest's shares predict for it. Its days are then set aside and the
    search repeats (Zhang, Assunção & Kulldorff 2010) until no run qualifies.

    Parameters
    ----------
    orders : DataFrame
        ``user_id``, ``ordered_at`` and a ``discount`` and/or ``coupon`` column; ``status`` and
        ``order_id`` if present.
    asof : date or timestamp, optional
        Only orders up to it count (default: the last order).
    status : str or None
        Only orders of this status count; None counts every order.
    tz : str
        Time zone of the shop's calendar days (``store.timezone``).
    alpha : float
        Level of each scan test.
    lift : float
        How many times the discounted orders expected from the rest of the period a promotion
        must at least have.
    max_days : int
        The longest promotion looked for, in days.
    n_perm : int
        Reshufflings per test (the smallest p-value is 1 / (n_perm + 1)).
    seed : int
        Seeds the reshufflings.

    Returns
    -------
    DataFrame
        One row per promotion, in time order: ``start``, ``end`` (calendar days, inclusive),
        ``days``, ``orders``, ``discounted``, ``share`` (discounted / orders),
        ``expected_share`` (what the shares of first and of repeat orders outside it give for
        its mix of the two), ``ratio`` (share over expected share), ``llr`` and
        ``p_value``. ``.attrs``: ``days`` (every promotion day), ``usual_first`` and
        ``usual_repeat`` (the discounted shares outside the promotions), ``tz``, ``alpha``,
        ``lift``, ``max_days``, ``n_perm``, ``dropped``.

    Raises
    ------
    helpers.retention.NotFittable
        No discount or coupon column, or no counted order.

    Examples
    --------
    Sixty days of ten orders, one in ten discounted, except five days at eight in ten:

    >>> day = pd.date_range("2025-03-01", periods=60, freq="D", tz="UTC")
    >>> sale = (day >= "2025-04-01") & (day <= "2025-04-05")
    >>> o = pd.DataFrame({"user_id": range(600), "ordered_at": np.repeat(day, 10),
    ...     "discount": [5.0 if (i % 10 < 8 if sale[i // 10] else i % 10 == 0) else 0.0
    ...                  for i in range(600)]})
    >>> p = promotions(o)
    >>> p[["start", "end", "days", "orders", "discounted", "expected_share"]]
           start        end  days  orders  discounted  expected_share
    0 2025-04-01 2025-04-05     5      50          40             0.1
    """
    args.alpha(alpha)
    lift = args.positive(lift, "lift")
    for name, v, low in (("max_days", max_days, 1), ("n_perm", n_perm, 19)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name}: must be a whole number, at least {low}; got {v!r}")
    tz = _tz(tz)
    o, end, dropped = _counted(orders, asof=asof, status=status, user_col=user_col,
                               time_col=time_col, what="promotions")
    if len(o) == 0:
        raise NotFittable(f"no counted order (status {status!r}, up to {end:%Y-%m-%d})")
    o = o.sort_values([user_col, "_t"] + (["order_id"] if "order_id" in o.columns else []),
                      kind="mergesort")
    found, usual = _scan(_days(o["_t"], tz), o["_disc"], ~o.duplicated(user_col), alpha=alpha,
                         lift=float(lift), max_days=int(max_days), n_perm=int(n_perm), seed=seed)
    out = pd.DataFrame(found, columns=_PROMO_COLUMNS)
    out = out.sort_values("start", kind="stable").reset_index(drop=True)
    days = sorted({d for s_, e in zip(out["start"], out["end"])
                   for d in pd.date_range(s_, e, freq="D")})
    out.attrs.update(days=days, usual_first=usual[0], usual_repeat=usual[1], tz=tz, alpha=alpha,
                     lift=float(lift), max_days=int(max_days), n_perm=int(n_perm),
                     dropped=dropped)
    return out


def _scan(day: pd.Series, disc: pd.Series, first: pd.Series, *, alpha, lift, max_days,
          n_perm, seed, max_found: int = 20):
    """The sequential scan of :func:`promotions` (see there) on order days and flags."""
    start = day.min()
    cal = pd.date_range(start, day.max(), freq="D")
    idx = ((day - start) / pd.Timedelta("1D")).to_numpy().astype(np.int64)
    d = disc.to_numpy(bool)
    strata = [first.to_numpy(bool), ~first.to_numpy(bool)]
    n_s = [np.bincount(idx[m], minlength=len(cal)).astype(float) for m in strata]
    k_s = [np.bincount(idx[m & d], minlength=len(cal)).astype(float) for m in strata]
    excluded = np.zeros(len(cal), dtype=bool)
    rng = np.random.default_rng([seed, 2])
    found = []
    ratio = np.nan
    for _ in range(max_found):
        keep = ~excluded
        nn = [np.where(keep, n, 0.0) for n in n_s]
        kk = [np.where(keep, k, 0.0) for k in k_s]
        rate = [k.sum() / n.sum() if n.sum() else 0.0 for k, n in zip(kk, nn)]
        o = kk[0] + kk[1]
        e = rate[0] * nn[0] + rate[1] * nn[1]
        C = o.sum()
        if not 0 < C < nn[0].sum() + nn[1].sum():
            break
        barred = np.concatenate([[0], np.cumsum(excluded)])
        llr, (s, L) = _scan_llr(o, e, barred, max_days)
        if not np.isfinite(llr) or llr <= 0:
            break
        # reshuffle which orders were discounted, within first and within repeat orders
        sims = sum(rng.multivariate_hypergeometric(n.astype(np.int64), int(k.sum()),
                                                   size=n_perm).astype(float)
                   for n, k in zip(nn, kk))
        null, _ = _scan_llr(sims, np.broadcast_to(e, sims.shape), barred, max_days)
        p = float((1 + (null >= llr - 1e-9).sum()) / (n_perm + 1))
        win = np.zeros(len(cal), dtype=bool)
        win[s:s + L] = True
        # what the shares of first and of repeat orders outside the run give for its mix
        out_rate = [k[~win].sum() / n[~win].sum() if n[~win].sum() else 0.0
                    for k, n in zip(kk, nn)]
        nin = [n[win].sum() for n in nn]
        oin = o[win].sum()
        expected = out_rate[0] * nin[0] + out_rate[1] * nin[1]
        ratio = oin / expected if expected > 0 else np.inf
        if p > alpha or ratio < lift:
            break
        found.append((cal[s], cal[s + L - 1], L, int(sum(nin)), int(oin), oin / sum(nin),
                      expected / sum(nin), ratio, float(llr), p))
        excluded[s:s + L] = True
    keep = ~excluded
    usual = [float(k[keep].sum() / n[keep].sum()) if n[keep].sum() else np.nan
             for k, n in zip(k_s, n_s)]
    return found, usual


def _promo_set(promo_days, tz):
    """User-given promotion days as a set of midnight Timestamps (naive, in the shop's days)."""
    if isinstance(promo_days, (str, pd.Timestamp)):
        promo_days = [promo_days]
    try:
        days = pd.to_datetime(pd.Series(list(promo_days), dtype=object), errors="raise")
    except (ValueError, TypeError):
        raise ValueError("promo_days: give dates like ['2025-11-10', '2025-11-11'] (days in the "
                         "shop's time zone)") from None
    if days.dt.tz is not None:
        days = days.dt.tz_convert(tz).dt.tz_localize(None)
    return set(days.dt.floor("D"))


# ----------------------------------------------------------------------------- the segment


def _prepare(orders, *, asof, status, min_orders, promo_days, tz, alpha, seed, user_col,
             time_col, what):
    """Counted orders with the flags the evidence needs (``_disc``, ``_first``, ``_promo``)."""
    args.alpha(alpha)
    if isinstance(min_orders, bool) or not isinstance(min_orders, (int, np.integer)) or \
            min_orders < 1:
        raise ValueError(f"min_orders: must be a whole number of orders, at least 1 (e.g. 2); "
                         f"got {min_orders!r}")
    tz = _tz(tz)
    o, end, dropped = _counted(orders, asof=asof, status=status, user_col=user_col,
                               time_col=time_col, what=what)
    if len(o) == 0:
        raise NotFittable(f"no counted order (status {status!r}, up to {end:%Y-%m-%d})")
    keys = [user_col, "_t"] + (["order_id"] if "order_id" in o.columns else [])
    o = o.sort_values(keys, kind="mergesort")
    o["_day"] = _days(o["_t"], tz)
    o["_first"] = ~o.duplicated(user_col)
    found = None
    if promo_days is None:
        rows, _ = _scan(o["_day"], o["_disc"], o["_first"], alpha=alpha, lift=1.5, max_days=31,
                        n_perm=99, seed=seed)
        found = pd.DataFrame(rows, columns=_PROMO_COLUMNS)
        pdays = {d for r in rows for d in pd.date_range(r[0], r[1], freq="D")}
        source = "inferred"
    else:
        pdays, source = _promo_set(promo_days, tz), "given"
    if not pdays:
        source = "none"
    o["_promo"] = o["_day"].isin(pdays)
    n_orders = o.groupby(user_col).size()
    few = n_orders.index[n_orders < min_orders]
    if len(few):
        dropped[f"buyers with fewer than {min_orders} orders"] = len(few)
        o = o.loc[~o[user_col].isin(few)]
    if len(o) == 0:
        raise NotFittable(f"no buyer has {min_orders} or more counted orders")
    return o, found, pdays, source, end, dropped


def evidence(orders: pd.DataFrame, *, asof=None, status: str | None = "completed",
             min_orders: int = 1, promo_days=None, tz: str = "UTC", alpha: float = 0.05,
             seed: int = 0, user_col: str = "user_id",
             time_col: str = "ordered_at") -> pd.DataFrame:
    """Each buyer's trials and successes on every indicator (module notes, step 2).

    The arguments are those of :func:`price_sensitivity`, which fits its model on exactly this
    evidence; use it to fit :func:`fit_latent_classes` or :func:`score_test` yourself.

    Returns
    -------
    DataFrame
        One row per buyer and indicator (:data:`INDICATORS`; indicators nobody met are left
        out), sorted: ``user_id``, ``indicator``, ``trials``, ``successes``. Pivot it for the
        model: ``ev.pivot(index="user_id", columns="indicator", values="successes")``.
        ``.attrs``: ``promo_days``, ``promo_source``, ``asof``, ``dropped``.

    Examples
    --------
    >>> o = pd.DataFrame({"user_id": [1, 1, 2], "discount": [5.0, 0.0, 0.0],
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-15"], utc=True)})
    >>> evidence(o, promo_days=[])
       user_id                    indicator  trials  successes
    0        1                  first order       1          1
    1        1                 repeat order       1          0
    2        1  returned on a promotion day       1          0
    3        2                  first order       1          0
    4        2                 repeat order       0          0
    5        2  returned on a promotion day       0          0
    """
    o, _, pdays, source, end, dropped = _prepare(
        orders, asof=asof, status=status, min_orders=min_orders, promo_days=promo_days, tz=tz,
        alpha=alpha, seed=seed, user_col=user_col, time_col=time_col, what="evidence")
    k, n = _evidence(o, user_col)
    cols = [c for c in k.columns if n[c].sum() > 0]
    out = (pd.DataFrame({"trials": n[cols].stack(), "successes": k[cols].stack()})
           .astype("int64").rename_axis([user_col, "indicator"]).reset_index())
    out.attrs.update(promo_days=sorted(pdays), promo_source=source, asof=end, dropped=dropped)
    return out


def price_sensitivity(orders: pd.DataFrame, *, asof=None, status: str | None = "completed",
                      min_orders: int = 1, promo_days=None, tz: str = "UTC",
                      alpha: float = 0.05, seed: int = 0, user_col: str = "user_id",
                      time_col: str = "ordered_at") -> pd.DataFrame:
    """Each buyer's chance of belonging to the price-sensitive class, and the segment.

    Finds the promotions (:func:`promotions`, unless ``promo_days`` are given), collects each
    buyer's evidence (discount use on first, repeat and promotion-day orders; repeat orders
    placed on promotion days), tests whether buyers differ in it at all (:func:`score_test`),
    fits the two-class model of the module notes by EM, and puts a buyer in the segment when
    their own orders favour the price-sensitive class.

    Parameters
    ----------
    orders : DataFrame
        One row per order: ``user_id``, ``ordered_at`` and ``discount`` (money, 0 if none)
        and/or ``coupon`` (a code or missing); ``status``, ``revenue`` and ``order_id`` (the
        tie-break for two orders at the same time) when present.
    asof : date or timestamp, optional
        Only orders up to it count (default: the last order).
    status : str or None
        Only orders of this status count; None counts every order.
    min_orders : int
        Buyers with fewer counted orders are left out (of the fit and the table).
    promo_days : sequence of dates, optional
        The shop's promotion days (calendar days in ``tz``); None infers them with
        :func:`promotions`; an empty list means there were none.
    tz : str
        Time zone of the calendar days (``store.timezone``).
    alpha : float
        Level of the test that buyers differ (and of each promotion scan).
    seed : int
        Seeds the promotion scan's reshufflings and the random EM start; the result is
        deterministic.

    Returns
    -------
    DataFrame
        One row per buyer, sorted by ``user_id``: ``orders``, ``discounted_orders``,
        ``discount_share``, ``promo_orders`` (orders on promotion days), ``revenue`` (when the
        orders carry it), ``p_sensitive`` (the posterior r_i), ``bayes_factor`` (BF_i, the
        evidence of the buyer's own orders) and ``segment`` (categorical over :data:`SEGMENTS`:
        price-sensitive when ``bayes_factor`` ≥ 1; see the module notes). ``.attrs``: ``model``
        (:class:`LatentClassFit`), ``evidence`` (per indicator: trials and successes of all
        buyers and of the segment), ``test`` (``z``, ``p_value``, ``alpha``, ``lr``),
        ``promotions`` (the table of :func:`promotions`, when inferred), ``promo_days`` (the days
        used), ``promo_source`` ("inferred", "given" or "none"), ``rule``, ``asof``, ``status``,
        ``dropped``, ``tz``.

    Raises
    ------
    ValueError
        A bad argument, a missing column, unparseable times.
    helpers.retention.NotFittable
        No discount or coupon column; no counted order; no discounted order (or only
        discounted ones); fewer than 10 buyers with two or more orders; or buyers do not
        differ in their response beyond chance (the message gives the test).

    Examples
    --------
    Thirty buyers who take a discount on most of their four orders and ninety who rarely do:

    >>> rows = [(u, i, float(i < (3 if u < 30 else (1 if u % 3 == 0 else 0))))
    ...         for u in range(120) for i in range(4)]
    >>> o = pd.DataFrame(rows, columns=["user_id", "i", "discount"])
    >>> o["ordered_at"] = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
    ...     o["i"] * 30 + o["user_id"] % 7, unit="D")
    >>> ps = price_sensitivity(o, promo_days=[])
    >>> ps["segment"].value_counts().sort_index().to_dict()
    {'price-sensitive': 30, 'other': 90}
    >>> round(ps.attrs["test"]["z"], 1), ps.attrs["test"]["p_value"] < 0.001
    (11.3, True)
    """
    o, found, pdays, source, end, dropped = _prepare(
        orders, asof=asof, status=status, min_orders=min_orders, promo_days=promo_days, tz=tz,
        alpha=alpha, seed=seed, user_col=user_col, time_col=time_col, what="price_sensitivity")
    tz = _tz(tz)
    if not o["_disc"].any():
        raise NotFittable(f"none of the {len(o):,} counted orders used a discount or coupon, so "
                          "nobody's response to discounts can be seen")
    if o["_disc"].all():
        raise NotFittable(f"all {len(o):,} counted orders used a discount or coupon, so "
                          "discount use cannot separate anybody")
    k, n = _evidence(o, user_col)
    users = k.index
    repeat = int((o.groupby(user_col).size() >= 2).sum())
    if repeat < _MIN_REPEAT:
        raise NotFittable(f"only {repeat} buyer(s) have two or more counted orders; who "
                          "responds to discounts shows in repeated choices, and the model needs "
                          f"at least {_MIN_REPEAT} such buyers")
    cols = [c for c in k.columns if n[c].sum() > 0]
    k, n = k[cols], n[cols]
    z, p_value = score_test(k, n)
    test = {"z": z, "p_value": p_value, "alpha": alpha}
    if not p_value <= alpha:
        why = ("discount use varies only on one order per buyer (every indicator that buyers "
               "meet more than once is always or never a success), so nothing shows whether "
               "the same buyers take discounts again"
               if not np.isfinite(z) else
               f"buyers who took a discount once are no likelier than others to take one again "
               f"or to come back on a promotion day (score test z = {z:.2f}, one-sided "
               f"p = {p_value:.2f})")
        raise NotFittable(f"the data cannot tell price-sensitive buyers from the rest: {why}")
    linked = [c for c in cols if c != _TIMING]
    lay = (len(cols), [cols.index(c) for c in linked],
           [j for j, c in enumerate(cols) if c not in linked], None)
    uk, un, cnt, inv = _distinct(k.to_numpy(float), n.to_numpy(float))
    w, th, b, ll, ll1, r, it = _fit(uk, un, cnt, lay, seed=seed, n_random=_RANDOM_STARTS)
    const = float(cnt @ (gammaln(un + 1) - gammaln(uk + 1) - gammaln(un - uk + 1)).sum(axis=1))
    fit = _result(w, th, b, ll + const, ll1 + const, r, cnt, it, cols, linked)
    test["lr"] = fit.lr
    gap = np.abs(logit(np.clip(th[0], 1e-9, 1 - 1e-9)) - logit(np.clip(th[1], 1e-9, 1 - 1e-9)))
    if not (gap >= 0.1).any():
        raise NotFittable("the data cannot tell price-sensitive buyers from the rest: the two "
                          "fitted classes take discounts and come back on promotion days at "
                          "nearly the same rates (no odds ratio reaches 1.1)")
    lf = _log_f(uk, un, th)
    bf = np.exp(np.clip(lf[:, 0] - lf[:, 1], -700, 700))[inv]
    g = o.groupby(user_col)
    out = pd.DataFrame({user_col: users.to_numpy(),
                        "orders": g.size().reindex(users).to_numpy(),
                        "discounted_orders": g["_disc"].sum().reindex(users).to_numpy()})
    out["discount_share"] = out["discounted_orders"] / out["orders"]
    out["promo_orders"] = g["_promo"].sum().reindex(users).to_numpy().astype("int64")
    if "revenue" in o.columns and pd.to_numeric(o["revenue"], errors="coerce").notna().any():
        out["revenue"] = pd.to_numeric(o["revenue"], errors="coerce").groupby(
            o[user_col]).sum(min_count=1).reindex(users).to_numpy()
    out["p_sensitive"] = r[inv]
    out["bayes_factor"] = bf
    out["segment"] = pd.Categorical(np.where(bf >= 1, SEGMENTS[0], SEGMENTS[1]),
                                    categories=SEGMENTS)
    seg = out["segment"].to_numpy() == SEGMENTS[0]
    totals = {c: {"trials": int(n[c].sum()), "successes": int(k[c].sum()),
                  "segment_trials": int(n.loc[seg, c].sum()),
                  "segment_successes": int(k.loc[seg, c].sum())} for c in cols}
    out.attrs.update(model=fit, evidence=totals, test=test, promotions=found,
                     promo_days=sorted(pdays), promo_source=source,
                     rule="price-sensitive when the buyer's own orders favour the class: "
                          "bayes_factor >= 1, i.e. p_sensitive >= the class share",
                     asof=end, status=status, dropped=dropped, tz=tz)
    return out


def _evidence(o: pd.DataFrame, user_col: str):
    """Successes and trials of each indicator per buyer (module notes, step 2)."""
    first, promo, disc = o["_first"], o["_promo"], o["_disc"]
    masks = {"first order": (first & ~promo, disc),
             "repeat order": (~first & ~promo, disc),
             "promotion-day order": (promo, disc),
             _TIMING: (~first, promo)}
    users = pd.Index(np.sort(o[user_col].unique()), name=user_col)
    k, n = pd.DataFrame(index=users), pd.DataFrame(index=users)
    for name, (trial, hit) in masks.items():
        n[name] = trial.groupby(o[user_col]).sum().reindex(users, fill_value=0).astype(float)
        k[name] = (trial & hit).groupby(o[user_col]).sum().reindex(users,
                                                                   fill_value=0).astype(float)
    return k, n


# ----------------------------------------------------------------------------- describing it


def sensitivity_summary(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The price-sensitive segment beside the rest: size, discount use, timing, revenue per order.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`price_sensitivity` (``segment``, ``orders``,
        ``discounted_orders``, ``promo_orders``, ``p_sensitive`` and, if present, ``revenue``).
    alpha : float
        1 − confidence of the intervals.

    Returns
    -------
    DataFrame
        One row per segment (:data:`SEGMENTS`): ``buyers``, ``share`` of buyers (Wilson
        ``share_ci_low``/``share_ci_high``), ``orders``, ``orders_per_buyer``,
        ``discount_share`` of their orders (Wilson ``discount_ci_low``/``discount_ci_high``),
        ``promo_share`` of their orders on promotion days (Wilson), ``mean_p_sensitive``, and
        with revenue ``revenue_per_order`` with a ratio-estimator interval
        ``revenue_ci_low``/``revenue_ci_high`` (buyers as clusters: one buyer's orders are not
        independent). The Wilson intervals on orders treat orders as independent, so they are
        a little narrow. ``.attrs["revenue_p_value"]``: two-sided z-test of equal revenue per
        order (NaN without revenue or with an empty segment).

    Examples
    --------
    >>> t = pd.DataFrame({"segment": pd.Categorical(["price-sensitive", "other", "other"],
    ...                                             categories=SEGMENTS),
    ...     "orders": [4, 2, 2], "discounted_orders": [3, 0, 1], "promo_orders": [2, 0, 0],
    ...     "p_sensitive": [0.9, 0.1, 0.3], "revenue": [200.0, 150.0, 90.0]})
    >>> s = sensitivity_summary(t)
    >>> s[["segment", "buyers", "discount_share", "promo_share", "revenue_per_order"]]
               segment  buyers  discount_share  promo_share  revenue_per_order
    0  price-sensitive       1            0.75          0.5               50.0
    1            other       2            0.25          0.0               60.0
    """
    args.alpha(alpha)
    require_columns(table, "table", ["segment", "orders", "discounted_orders", "promo_orders",
                                     "p_sensitive"])
    z = float(norm.ppf(1 - alpha / 2))
    has_rev = "revenue" in table.columns and table["revenue"].notna().any()
    total = len(table)
    rows, est = [], {}
    for name in SEGMENTS:
        t = table.loc[table["segment"].astype(str) == name]
        m, n = len(t), int(t["orders"].sum())
        k, pk = int(t["discounted_orders"].sum()), int(t["promo_orders"].sum())
        row = {"segment": name, "buyers": m, "share": m / total if total else np.nan}
        row["share_ci_low"], row["share_ci_high"] = wilson(m, total, alpha=alpha)
        row.update(orders=n, orders_per_buyer=n / m if m else np.nan,
                   discount_share=k / n if n else np.nan)
        row["discount_share_ci_low"], row["discount_share_ci_high"] = wilson(k, n, alpha=alpha)
        row["promo_share"] = pk / n if n else np.nan
        row["promo_share_ci_low"], row["promo_share_ci_high"] = wilson(pk, n, alpha=alpha)
        row["mean_p_sensitive"] = float(t["p_sensitive"].mean()) if m else np.nan
        if has_rev:
            rev = t["revenue"].fillna(0.0).to_numpy(float)
            cnt = t["orders"].to_numpy(float)
            ratio = rev.sum() / n if n else np.nan
            se = (np.sqrt(((rev - ratio * cnt) ** 2).sum() * m / (m - 1)) / n
                  if m > 1 and n else np.nan)
            est[name] = (ratio, se)
            row.update(revenue_per_order=ratio, revenue_per_order_ci_low=ratio - z * se,
                       revenue_per_order_ci_high=ratio + z * se)
        rows.append(row)
    out = pd.DataFrame(rows)
    p = np.nan
    if has_rev and all(np.isfinite(est.get(s, (np.nan, np.nan))[1]) for s in SEGMENTS):
        (r1, s1), (r2, s2) = est[SEGMENTS[0]], est[SEGMENTS[1]]
        if s1 ** 2 + s2 ** 2 > 0:
            p = float(2 * norm.sf(abs(r1 - r2) / np.sqrt(s1 ** 2 + s2 ** 2)))
    out.attrs["revenue_p_value"] = p
    out.attrs["alpha"] = alpha
    return out


def agreement(table: pd.DataFrame, known, *, user_col: str = "user_id") -> pd.DataFrame:
    """Precision and recall of the segment against a known list of price-sensitive users.

    Only buyers in ``table`` count (a known user who is not a buyer here cannot be found).
    Rows: all buyers, then buyers with 1, 2 and 3 or more orders.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`price_sensitivity`.
    known : iterable
        User ids known to be price-sensitive (a survey, a simulator's answer key).

    Returns
    -------
    DataFrame
        ``buyers``, ``known`` (of them on the list), ``segment`` (in the segment), ``both``,
        ``precision`` = both / segment, ``recall`` = both / known, and ``base_rate`` = known /
        buyers (the precision of picking buyers at random).

    Examples
    --------
    >>> t = pd.DataFrame({"user_id": [1, 2, 3, 4], "orders": [1, 1, 2, 3],
    ...     "segment": ["price-sensitive", "other", "price-sensitive", "other"]})
    >>> agreement(t, [1, 4])[["buyers", "known", "segment", "both", "precision", "recall"]]
              buyers  known  segment  both  precision  recall
    group
    all            4      2        2     1        0.5     0.5
    1 order        2      1        1     1        1.0     1.0
    2 orders       1      0        1     0        0.0     NaN
    3+ orders      1      1        0     0        NaN     0.0
    """
    require_columns(table, "table", [user_col, "orders", "segment"])
    known = set(pd.Series(list(known), dtype=object).dropna().tolist())
    is_known = table[user_col].isin(known).to_numpy()
    in_seg = (table["segment"].astype(str) == SEGMENTS[0]).to_numpy()
    orders = table["orders"].to_numpy()
    groups = {"all": np.ones(len(table), bool), "1 order": orders == 1, "2 orders": orders == 2,
              "3+ orders": orders >= 3}
    rows = []
    for m in groups.values():
        kn, sg, both = int((is_known & m).sum()), int((in_seg & m).sum()), int(
            (is_known & in_seg & m).sum())
        rows.append({"buyers": int(m.sum()), "known": kn, "segment": sg, "both": both,
                     "precision": both / sg if sg else np.nan,
                     "recall": both / kn if kn else np.nan,
                     "base_rate": kn / m.sum() if m.sum() else np.nan})
    return pd.DataFrame(rows, index=pd.Index(list(groups), name="group"))
