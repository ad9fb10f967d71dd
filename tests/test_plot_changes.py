"""helpers.changes.plot_changes: one panel per top finding, drawn from the numbers it is given."""

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from helpers import changes

DAYS = pd.date_range("2025-01-01", periods=90, freq="D")


def series(metric="view_item → purchase", segment="all", low=("2025-01-21", "2025-01-30")):
    k = np.where((DAYS >= low[0]) & (DAYS <= low[1]), 2, 10)
    return pd.DataFrame({"metric": metric, "segment": segment, "period": DAYS, "k": k, "n": 100})


def finding(metric="view_item → purchase", segment="all", kind="period", start="2025-01-21",
            end="2025-01-30", baseline=0.1, during=0.02):
    return {"metric": metric, "segment": segment, "kind": kind, "start": pd.Timestamp(start),
            "end": pd.Timestamp(end), "baseline": baseline, "during": during, "ci_low": 0.01,
            "ci_high": 0.03, "p_value": 1e-9, "impact": (during - baseline) * 1000}


def day(x) -> pd.Timestamp:
    return pd.Timestamp(mdates.num2date(x)).tz_localize(None)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_one_panel_draws_the_rolling_rate_the_period_and_both_levels():
    fig = changes.plot_changes(series(), pd.DataFrame([finding()]))
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "view_item → purchase"
    assert "7-day rolling rate" in fig._suptitle.get_text()
    raw, rolling = ax.lines
    x, y = rolling.get_data()
    # the centred 7-day rate on 23 Jan: 20 Jan (10 of 100) and 21–26 Jan (2 of 100 each)
    i = list(pd.DatetimeIndex(x)).index(pd.Timestamp("2025-01-23"))
    assert y[i] == pytest.approx(22 / 700)
    assert raw.get_data()[1][i] == pytest.approx(0.02)
    # shown from 56 days before the period to 56 days after it, clipped to the data
    assert pd.Timestamp(x[0]) == DAYS[0] and pd.Timestamp(x[-1]) == pd.Timestamp("2025-03-27")
    # the period shaded from its first day to the end of its last
    (span,) = ax.patches
    x0, x1 = span.get_x(), span.get_x() + span.get_width()
    assert (day(x0), day(x1)) == (pd.Timestamp("2025-01-21"), pd.Timestamp("2025-01-31"))
    base, during = ax.collections
    (b,), (d,) = base.get_segments(), during.get_segments()
    assert b[0][1] == b[1][1] == pytest.approx(0.1) and d[0][1] == pytest.approx(0.02)
    # the baseline over the 28 days either side (clipped at the start), the rate during the period
    assert (day(b[0][0]), day(b[1][0])) == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-28"))
    assert (day(d[0][0]), day(d[1][0])) == (pd.Timestamp("2025-01-21"), pd.Timestamp("2025-01-31"))


def test_a_shift_compares_the_rate_before_it_with_the_rate_since():
    s = series(low=("2025-02-15", "2025-03-31"))
    f = finding(kind="shift", start="2025-02-15", end="2025-03-31", baseline=0.1, during=0.02)
    ax = changes.plot_changes(s, pd.DataFrame([f])).axes[0]
    (span,) = ax.patches
    assert (day(span.get_x()), day(span.get_x() + span.get_width())) == (
        pd.Timestamp("2025-02-15"), pd.Timestamp("2025-04-01"))
    (b,), (d,) = (c.get_segments() for c in ax.collections)
    assert (day(b[0][0]), day(b[1][0])) == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-15"))
    assert day(d[1][0]) == pd.Timestamp("2025-04-01")


def test_top_findings_get_a_panel_each_in_their_order():
    s = pd.concat([series(segment=f"device=d{i}") for i in range(8)], ignore_index=True)
    f = pd.DataFrame([finding(segment=f"device=d{i}") for i in range(8)])
    fig = changes.plot_changes(s, f)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in shown] == [
        f"view_item → purchase · device=d{i}" for i in range(6)]
    fig = changes.plot_changes(s, f, top=3)
    assert sum(ax.get_visible() for ax in fig.axes) == 3 and len(fig.axes) == 4


def test_nothing_to_draw_is_no_figure():
    s = series()
    assert changes.plot_changes(s, pd.DataFrame([finding()]).iloc[:0]) is None
    assert changes.plot_changes(s, None) is None
    # a finding whose series is not in the table has nothing to draw either
    assert changes.plot_changes(s, pd.DataFrame([finding(segment="device=mobile")])) is None
    with pytest.raises(ValueError, match="top"):
        changes.plot_changes(s, pd.DataFrame([finding()]), top=0)


def test_the_same_input_draws_the_same_figure():
    f = pd.DataFrame([finding()])

    def png():
        fig = changes.plot_changes(series(), f)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).tobytes()

    assert png() == png()
