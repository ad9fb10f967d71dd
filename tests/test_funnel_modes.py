"""Order modes (ordered, strict, any) and censoring (units still in progress) of the funnel."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import funnel as fu
from helpers import simulate as sim

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def log(rows, unit="session_id"):
    """rows: (unit id, seconds after T0, event)."""
    ev = pd.DataFrame(rows, columns=[unit, "s", "event"])
    ev["ts"] = T0 + pd.to_timedelta(ev["s"], unit="s")
    other = "user_id" if unit == "session_id" else "session_id"
    ev[other] = ev[unit]
    return ev.drop(columns="s")


def counts(table):
    return table["n"].tolist()


STEPS = ["view", "cart", "buy"]


def test_strict_forbids_other_step_events_between_steps_but_not_other_events_or_ties():
    ev = log([(1, 0, "view"), (1, 10, "cart"), (1, 20, "buy"),                 # clean: 3 steps
              (2, 0, "view"), (2, 10, "cart"), (2, 15, "view"), (2, 20, "buy"),  # view between
              (3, 0, "view"), (3, 0, "cart"), (3, 0, "buy"),                   # all tied
              (4, 0, "view"), (4, 5, "search"), (4, 10, "cart"),               # not a step
              (5, 0, "view"), (5, 5, "view"), (5, 10, "cart")])                # restart at 5 s
    assert counts(fu.funnel(ev, STEPS)) == [5, 5, 3]
    strict = fu.funnel(ev, STEPS, order="strict")
    assert counts(strict) == [5, 5, 2]
    j = fu.journeys(ev, STEPS, order="strict").set_index("session_id")
    assert j.loc[2, "reached"] == 1 and j.loc[5, "t0"] == T0 + pd.Timedelta("5s")


def test_any_order_counts_distinct_steps_within_the_window():
    ev = log([(1, 0, "buy"), (1, 10, "view"),
              (2, 0, "cart"),
              (3, 0, "view"), (3, 1, "cart"), (3, 2, "buy"),
              (4, 0, "cart"), (4, 86_400, "buy"), (4, 172_800, "view")], unit="user_id")
    f = fu.funnel(ev, STEPS, unit="user", order="any")
    assert f["step"].tolist() == ["1 of 3 steps", "2 of 3 steps", "3 of 3 steps"]
    assert counts(f) == [4, 3, 2]
    assert counts(fu.funnel(ev, STEPS, unit="user", order="any", window="1D")) == [4, 3, 1]
    j = fu.journeys(ev, STEPS, unit="user", order="any").set_index("user_id")
    assert j.loc[1, "t1"] - j.loc[1, "t0"] == pd.Timedelta("10s")
    assert j.attrs["step_names"] == STEPS


def _brute(ev, steps, mode, window):
    """Furthest step per session by trying every sequence of events (tiny logs only)."""
    out = {}
    for sid, g in ev.groupby("session_id"):
        g = g.sort_values("ts", kind="stable").reset_index(drop=True)
        t = g["ts"].to_numpy()
        best = -1
        if mode == "any":
            for i in range(len(g)):
                if g.loc[i, "event"] not in steps:
                    continue
                inside = g[g["ts"] >= t[i]]
                if window is not None:
                    inside = inside[inside["ts"] - t[i] <= window]
                best = max(best, len(set(inside["event"]) & set(steps)) - 1)
            out[sid] = best
            continue
        for r in range(len(steps), 0, -1):
            for combo in itertools.permutations(range(len(g)), r):
                if any(g.loc[i, "event"] != steps[k] for k, i in enumerate(combo)):
                    continue
                ts = [t[i] for i in combo]
                if any(b < a for a, b in itertools.pairwise(ts)):
                    continue
                if window is not None and ts[-1] - ts[0] > window:
                    continue
                if mode == "strict" and any(
                        ((g["ts"] > a) & (g["ts"] < b) & g["event"].isin(steps)).any()
                        for a, b in itertools.pairwise(ts)):
                    continue
                best = r - 1
                break
            if best >= 0:
                break
        out[sid] = best
    return out


@pytest.mark.parametrize("mode", ["ordered", "strict", "any"])
@pytest.mark.parametrize("window", [None, pd.Timedelta("3s")])
def test_modes_equal_an_exhaustive_search_on_random_logs(mode, window):
    rng = np.random.default_rng(11)
    names = np.array(["view", "cart", "buy", "other"])
    rows = []
    for sid in range(150):
        for _ in range(rng.integers(1, 7)):
            rows.append((sid, int(rng.integers(0, 8)), names[rng.integers(0, 4)]))
    ev = log(rows)
    j = fu.journeys(ev, STEPS, order=mode, window=window).set_index("session_id")["reached"]
    want = {k: v for k, v in _brute(ev, STEPS, mode, window).items() if v >= 0}
    assert j.to_dict() == want


@pytest.mark.filterwarnings("ignore:funnel. the data has no")
def test_modes_are_checked_at_the_door():
    ev = log([(1, 0, "view"), (1, 1, "cart")])
    with pytest.raises(ValueError, match="order must be one of"):
        fu.funnel(ev, STEPS, order="loose")
    with pytest.raises(ValueError, match="cannot be used with it"):
        fu.funnel(ev, STEPS, order="any", max_gap="1h")
    with pytest.raises(ValueError, match="distinct steps"):
        fu.funnel(ev, ["view", "view"], order="any")
    with pytest.raises(ValueError, match="cannot be optional"):
        fu.funnel(ev, STEPS, order="strict", optional=["cart"])
    with pytest.raises(ValueError, match="window or a max_gap"):
        fu.funnel(ev, STEPS, unit="user", censor=True)
    with pytest.raises(ValueError, match="censor must be True or False"):
        fu.funnel(ev, STEPS, censor="yes")
    with pytest.raises(ValueError, match="start after until"):
        fu.funnel(ev, STEPS, unit="user", window="1D", censor=True, until=T0 - pd.Timedelta("1D"))


def test_parquet_path_refuses_modes_and_censoring(tmp_path):
    path = tmp_path / "ev.parquet"
    log([(1, 0, "view"), (1, 1, "cart")]).to_parquet(path)
    with pytest.raises(ValueError, match="not supported on a Parquet path"):
        fu.funnel(str(path), STEPS, order="strict")


def test_censored_user_funnel_by_hand():
    day = 86_400
    ev = log([(1, 0, "view"), (1, day, "cart"),            # decided, reached cart
              (2, 0, "view"),                               # decided (window ended day 7)
              (3, 8 * day, "view"),                         # in progress at cart (until day 10)
              (4, 9 * day, "view"), (4, 9 * day + 60, "cart")], unit="user_id")  # quick success
    until = T0 + pd.Timedelta("10D")
    f = fu.funnel(ev, ["view", "cart"], unit="user", window="7D", censor=True, until=until)
    row = f.iloc[1]
    assert (row["n"], row["n_prev"], row["in_progress"]) == (2, 4, 1)
    assert (row["n_decided"], row["n_prev_decided"]) == (1, 2)   # user 4 is not decided either
    assert row["rate_from_prev"] == 0.5 and f.attrs["until"] == until
    assert fu.funnel(ev, ["view", "cart"], unit="user", window="7D").iloc[1]["rate_from_prev"] == 0.5


def test_censored_session_funnel_waits_for_the_session_to_end():
    ev = log([(1, 0, "view"), (1, 30, "cart"),
              (2, 0, "view"), (2, 100, "search"),           # ended long before the data end
              (3, 3_500, "view"), (3, 3_590, "search"),     # last event 10 s before the end
              (4, 3_600, "page_view")])
    f = fu.funnel(ev, ["view", "cart"], censor=True)
    row = f.iloc[1]
    assert (row["in_progress"], row["n_prev_decided"], row["n_decided"]) == (1, 2, 1)
    gap = fu.funnel(ev, ["view", "cart"], censor=True, max_gap="5s")  # the gap closes it sooner
    assert gap.iloc[1]["in_progress"] == 0 and gap.iloc[1]["n_prev_decided"] == 3


@pytest.fixture(scope="module")
def steady_shop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sim.simulate(25_000, seed=3, params=sim.steady()).events


def test_cut_shop_censored_funnel_matches_full_history_and_naive_is_low(steady_shop):
    """Cut a steady shop two months in: users who viewed in the last 30 days before the cut are
    still inside their window. The full history of the same attempts (every attempt that began
    before the cut, followed for the whole window) is the truth."""
    steps, window = ["view_item", "add_to_cart", "begin_checkout", "purchase"], pd.Timedelta("30D")
    ev, cut = steady_shop, pd.Timestamp("2024-03-01", tz="UTC")
    seen = ev[ev["ts"] < cut]
    naive = fu.funnel(seen, steps, unit="user", window=window)
    cens = fu.funnel(seen, steps, unit="user", window=window, censor=True, until=cut)
    later = ev[(ev["ts"] <= cut + window) & ~((ev["event"] == steps[0]) & (ev["ts"] >= cut))]
    full = fu.funnel(later, steps, unit="user", window=window)
    assert cens["in_progress"].iloc[1] > 0.3 * cens["n"].iloc[0]     # a large share in progress
    for k in range(1, len(steps)):
        assert cens["ci_low"].iloc[k] <= full["rate_from_prev"].iloc[k] <= cens["ci_high"].iloc[k]
    assert naive["rate_from_prev"].iloc[1] < full["ci_low"].iloc[1]  # biased low
    assert naive["rate_from_start"].iloc[-1] < 0.9 * full["rate_from_start"].iloc[-1]
    assert abs(cens["rate_from_start"].iloc[-1] / full["rate_from_start"].iloc[-1] - 1) < 0.1


def test_cut_shop_cart_abandonment_leaves_recent_carts_out(steady_shop):
    ev, cut = steady_shop, pd.Timestamp("2024-03-01", tz="UTC")
    seen = ev[ev["ts"] < cut]
    carts = fu.cart_abandonment(seen, window="7D")
    full = fu.cart_abandonment(ev[ev["ts"] < cut + pd.Timedelta("7D")], window="7D")
    # carts judged before the cut are judged alike with more data; the recent ones wait
    assert carts["censored"].iloc[0] > 0
    assert carts["ci_low"].iloc[0] <= full["abandonment_rate"].iloc[0] <= carts["ci_high"].iloc[0]
    # told the data run 3 days longer, fewer carts wait: `until` is where the extract ends
    later = fu.cart_abandonment(seen, window="7D", until=cut + pd.Timedelta("3D"))
    assert later["censored"].iloc[0] < carts["censored"].iloc[0]
