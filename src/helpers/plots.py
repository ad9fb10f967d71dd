"""One house style for every figure in the kit.

Call :func:`use_style` once in a notebook's setup cell. The figure helpers
all take the title and axis labels (with units) as required arguments, so a
plot cannot leave the notebook without saying what it shows.

Examples
--------
>>> use_style()
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([1, 2, 3], [0.1, 0.2, 0.15])
>>> label(ax, "Conversion by week", "week", "conversion", percent="y")
>>> ax.get_title(loc="left")
'Conversion by week'
>>> plt.close(fig)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = "colorblind"
CURRENCY = "CNY"

# Fixed colours so a channel or device looks the same in every notebook.
CHANNEL_COLORS = dict(zip(
    ("Organic Search", "Paid Search", "Organic Social", "Paid Social", "Email", "Referral",
     "Direct", "Affiliates"), sns.color_palette(PALETTE, 8).as_hex()))
DEVICE_COLORS = dict(zip(("mobile", "desktop", "tablet"), sns.color_palette(PALETTE, 3).as_hex()))


def use_style(*, dpi: int = 96) -> None:
    """Set the kit's seaborn theme (white grid, readable fonts, colour-blind palette).

    ``dpi`` keeps embedded PNGs small enough for HTML reports that open offline.
    """
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    plt.rcParams.update({
        "figure.figsize": (8.0, 4.2),
        "figure.dpi": dpi,
        "savefig.dpi": dpi,
        "savefig.bbox": "tight",
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "svg.hashsalt": "kit",  # stable ids if anyone saves SVG
    })


def label(ax, title: str, xlabel: str, ylabel: str, *, percent: str | None = None,
          money: str | None = None, subtitle: str | None = None) -> None:
    """Give ``ax`` a title and axis labels; format an axis as percent or money.

    Parameters
    ----------
    ax : matplotlib Axes
    title, xlabel, ylabel : str
        Required: every plot says what it shows and in which unit.
    percent, money : {"x", "y"}, optional
        Axis to format as a percentage (values are fractions) or in CNY.
    subtitle : str, optional
        A smaller second line under the title (e.g. the data period or n).
    """
    if not title or not xlabel or not ylabel:
        raise ValueError("a plot needs a title and both axis labels (with units)")
    ax.set_title(title if subtitle is None else f"{title}\n", loc="left")
    if subtitle is not None:
        ax.text(0, 1.02, subtitle, transform=ax.transAxes, fontsize=10, color="0.35",
                va="bottom")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for axis, fmt in ((percent, mticker.PercentFormatter(1.0, decimals=None)),
                      (money, mticker.FuncFormatter(_money))):
        if axis in ("x", "y"):
            getattr(ax, f"{axis}axis").set_major_formatter(fmt)


def bar_ci(data: pd.DataFrame, *, x: str, y: str, title: str, xlabel: str, ylabel: str,
           low: str | None = None, high: str | None = None, percent: bool = True, color=None,
           ax=None, horizontal: bool = True):
    """Bars of an estimate with its confidence interval as error bars.

    ``data`` has one row per bar; ``low``/``high`` are the CI bounds of ``y``
    (leave them out for counts or shares so large that an interval is invisible).

    Examples
    --------
    >>> df = pd.DataFrame({"channel": ["Email", "Direct"], "rate": [0.05, 0.04],
    ...                    "lo": [0.04, 0.035], "hi": [0.06, 0.045]})
    >>> ax = bar_ci(df, x="channel", y="rate", low="lo", high="hi",
    ...             title="Session conversion", xlabel="conversion", ylabel="channel")
    >>> len(ax.patches)
    2
    >>> plt.close(ax.figure)
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 0.45 * len(data) + 1.4) if horizontal else None)
    est = data[y].to_numpy(dtype=float)
    err = None
    if low is not None and high is not None:
        # clip rounding noise (a Wilson bound of 1e-17 below a zero rate) so matplotlib accepts it
        err = np.clip(np.vstack([est - data[low].to_numpy(dtype=float),
                                 data[high].to_numpy(dtype=float) - est]), 0.0, None)
    colors = color if color is not None else sns.color_palette(PALETTE, 1)[0]
    if horizontal:
        ax.barh(data[x].astype(str), est, xerr=err, color=colors, capsize=3,
                error_kw={"elinewidth": 1.2})
        ax.invert_yaxis()
        label(ax, title, xlabel, ylabel, percent="x" if percent else None)
    else:
        ax.bar(data[x].astype(str), est, yerr=err, color=colors, capsize=3)
        label(ax, title, xlabel, ylabel, percent="y" if percent else None)
    return ax


def daily(series: pd.Series, *, title: str, ylabel: str, ax=None, rolling: int = 7,
          money: bool = False, mark: list | None = None):
    """A daily series as thin bars of the raw values plus a rolling mean line.

    ``mark`` lists dates to annotate (e.g. sale days).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9.0, 3.6))
    s = series.sort_index()
    idx = pd.DatetimeIndex(s.index)
    idx = idx.tz_localize(None) if idx.tz is not None else idx
    ax.plot(idx, s.to_numpy(), lw=0.6, color="0.65", label="daily")
    ax.plot(idx, s.rolling(rolling, min_periods=1).mean().to_numpy(), lw=1.8,
            label=f"{rolling}-day mean")
    for d in mark or []:
        ax.axvline(pd.Timestamp(d), color="tab:red", lw=1, ls="--")
        ax.text(pd.Timestamp(d), ax.get_ylim()[1], " sale", color="tab:red", va="top", fontsize=9)
    ax.legend(loc="upper left")
    label(ax, title, "date", ylabel, money="y" if money else None)
    return ax


def _money(v, _pos=None) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.0f}"
