"""Small statistics shared by the analysis modules: rates with confidence intervals.

Kept tiny on purpose; each analysis module composes statsmodels/scipy itself.

Examples
--------
>>> lo, hi = wilson(8, 10)
>>> round(float(lo), 4), round(float(hi), 4)
(0.4902, 0.9433)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def wilson(k, n, *, alpha: float = 0.05):
    """Wilson score interval for ``k`` successes out of ``n`` (scalars or arrays).

    Returns ``(low, high)``; where ``n`` is 0 both are NaN. Wilson (1927) keeps its coverage
    close to nominal for small ``n`` and rates near 0 or 1, unlike the normal approximation.
    At ``k = n`` the upper bound is exactly 1 and at ``k = 0`` the lower bound exactly 0 (the
    closed form leaves a rounding error there, which would put the rate outside its interval).

    >>> wilson(7, 7)[1], wilson(0, 7)[0]
    (1.0, 0.0)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"wilson: alpha must be between 0 and 1, got {alpha!r}")
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if (k < 0).any() or (k > n).any():
        raise ValueError("wilson: need 0 <= k <= n")
    safe = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(np.minimum(k, safe), safe, alpha=alpha, method="wilson")
    lo = np.where(k == 0, 0.0, np.minimum(lo, k / safe))
    hi = np.where(k == n, 1.0, np.maximum(hi, k / safe))
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def rate_table(k: pd.Series, n: pd.Series, *, alpha: float = 0.05) -> pd.DataFrame:
    """``n``, ``k``, ``rate`` = k/n and its Wilson ``ci_low``/``ci_high``, aligned on the index.

    >>> rate_table(pd.Series({"a": 1, "b": 0}), pd.Series({"a": 4, "b": 0}))["rate"].tolist()
    [0.25, nan]
    """
    k, n = k.align(n, fill_value=0)
    lo, hi = wilson(k.to_numpy(), n.to_numpy(), alpha=alpha)
    rate = np.where(n.to_numpy() > 0, k.to_numpy() / np.where(n > 0, n, 1), np.nan)
    return pd.DataFrame({"n": n.astype("int64"), "k": k.astype("int64"), "rate": rate,
                         "ci_low": lo, "ci_high": hi}, index=k.index)


def round_sig(x, digits: int = 3):
    """Round to ``digits`` significant digits (element-wise; NaN and 0 stay as they are).

    For quantities whose last digits are noise: a value from a loosely identified fit changes
    in its sixth digit between machines, and a table that prints it to the unit would then
    differ from run to run.

    Examples
    --------
    >>> round_sig(1585866.37), round_sig(0.012345, 2), round_sig(-870.4)
    (1590000.0, 0.012, -870.0)
    """
    a = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(a)))
    mag = np.where(np.isfinite(mag), mag, 0)
    scale = 10.0 ** (digits - 1 - mag)
    out = np.round(a * scale) / scale
    out = np.where(np.isfinite(a) & (a != 0), out, a)
    if isinstance(x, pd.Series):
        return pd.Series(out, index=x.index, name=x.name)
    return float(out) if out.ndim == 0 else out

