"""helpers.changes: the scan finds planted periods, on hand-made logs and on the answer key,
and stays quiet on logs where nothing changed."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import changes
from helpers.data import load_store


def _log(seed, *, outage=None, days=60, per_day=120, base=0.10):
    """Sessions with a view and, at rate ``base``, a purchase; ``outage`` = (first, last day,
    device, rate) lowers the purchase rate of one device for that period."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    ev, ses = [], []
    for d in range(days):
        for s in range(per_day):
            sid = f"{d}-{s}"
            device = "mobile" if s % 2 else "desktop"
            day = t0 + pd.Timedelta(days=d, minutes=s)
            ev.append((sid, sid, day, "view_item"))
            rate = base
            if outage and outage[0] <= d <= outage[1] and device == outage[2]:
                rate = outage[3]
            if rng.random() < rate:
                ev.append((sid, sid, day + pd.Timedelta("1min"), "purchase"))
            ses.append((sid, sid, day, device))
    return (pd.DataFrame(ev, columns=["session_id", "user_id", "ts", "event"]),
            pd.DataFrame(ses, columns=["session_id", "user_id", "started_at", "device"]))


def test_scan_equals_a_direct_likelihood_ratio_on_its_best_window():
    k = np.array([10, 12, 9, 2, 1, 3, 11, 10, 12, 9])
    n = np.full(10, 100)
    r = changes.scan(k, n, min_days=2, min_n=50)
    assert (r["start"], r["end"]) == (3, 5)
    # the window is compared with the periods around it (here all the others)
    inside, outside = k[3:6].sum(), k.sum() - k[3:6].sum()
    ll = lambda x, m: x * np.log(x / m) + (m - x) * np.log(1 - x / m)
    direct = ll(inside, 300) + ll(outside, 700) - ll(k.sum(), 1000)
    assert r["llr"] == pytest.approx(direct)
    # and the same binomial likelihood-ratio test scipy would give, before the Bonferroni factor
    assert stats.chi2.sf(2 * r["llr"], 1) < r["p_value"]


def test_a_planted_outage_on_one_device_is_the_top_finding_with_its_dates():
    ev, ses = _log(3, outage=(20, 33, "mobile", 0.02))
    ch = changes.find_changes(ev, ses)
    top = ch.iloc[0]
    assert (top["metric"], top["segment"]) == ("view_item → purchase", "device=mobile")
    t0 = pd.Timestamp("2025-01-01")
    assert abs((top["start"] - (t0 + pd.Timedelta("20D"))).days) <= 2
    assert abs((top["end"] - (t0 + pd.Timedelta("33D"))).days) <= 2
    assert top["during"] < top["baseline"] and top["impact"] < 0
    assert top["ci_low"] <= top["during"] <= top["ci_high"]


def test_nothing_changed_means_almost_never_a_finding():
    # ten shops with steady rates: at most one may show a (false) finding at alpha = 0.05
    hits = sum(len(changes.find_changes(*_log(seed, days=45, per_day=80))) > 0
               for seed in range(10))
    assert hits <= 1


def test_the_bundled_shops_findings_are_its_planted_sales():
    st = load_store()
    ch = changes.find_changes(st.events, st.sessions)
    assert len(ch) > 0
    # the simulator's sale: ten days of boosted adding to cart up to the sale day, arrivals
    # surging from ten days before to two days after (simulate._in_sale, _arrivals)
    sale = pd.to_datetime(st.truth["sale"]["days"])
    d2 = pd.Timedelta("2D")
    near = [any(r.start <= d + pd.Timedelta("2D") + d2 and r.end >= d - pd.Timedelta("10D") - d2
                for d in sale) for r in ch.itertuples()]
    assert all(near), ch.loc[[not x for x in near], ["metric", "segment", "start", "end"]]
    top = ch.loc[(ch["metric"] == "view_item → add_to_cart") & (ch["segment"] == "all")].iloc[0]
    assert top["during"] > top["baseline"]  # the sale boosts adding to cart
    day = sale[sale.year == top["start"].year][0]
    assert abs((top["start"] - (day - pd.Timedelta("10D"))).days) <= 2
    assert abs((top["end"] - day).days) <= 2
