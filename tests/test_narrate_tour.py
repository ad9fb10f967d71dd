"""Sentences of the data tour (helpers.narrate.tour) on small hand-built tables."""

import numpy as np
import pandas as pd
import pytest

from helpers import tour
from helpers.narrate import tour as nt


def checks(rows, shares=None):
    n = len(rows)
    return pd.DataFrame({"check": [f"check {i}" for i in range(n)], "table": "orders",
                         "rows": rows, "share": shares or [r / 100 for r in rows],
                         "status": ["ok" if r == 0 else "look" for r in rows]})


def mix(by, shares):
    names = list(shares)
    return pd.DataFrame({by: names, "n": [int(1000 * shares[k]) for k in names],
                         "share": [shares[k] for k in names]})


def days(values, start="2025-01-01"):
    return pd.DataFrame({"sessions": values},
                        index=pd.date_range(start, periods=len(values), name="day"))


# ------------------------------------------------------------------ quality


def test_quality_names_the_flagged_checks_only():
    text = nt.quality(checks([0, 12, 0]))
    assert "1 of the 3 checks flags rows: check 1 (12 orders, 12 %)" in text
    assert "check 0" not in text and "check 2" not in text
    assert "read every number with the flagged rows in mind" in text


def test_quality_all_clean_says_so():
    text = nt.quality(checks([0, 0]))
    assert text.startswith("None of the 2 checks flags a row.")
    assert "complete and consistent" in text


def test_quality_tiny_flags_are_called_nearly_clean_and_na_checks_are_left_out():
    order = pd.DataFrame({"check": ["ties", "lost"], "table": "events",
                          "rows": pd.array([3, pd.NA], dtype="Int64"), "unit": ["events", "sessions"],
                          "of": [1000, 0], "share": [0.003, np.nan], "status": ["look", "n/a"]})
    text = nt.quality(checks([0]), order)
    assert "1 of the 2 checks flags rows: ties (3 events, 0.3 %)" in text
    assert "nearly clean" in text and "nan" not in text


# ------------------------------------------------------------------ reconciliation and order


def test_reconciliation_on_hand_built_log_gives_the_gap_and_its_cause():
    ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 3], "user_id": 1,
                       "ts": pd.to_datetime([0, 5, 0, 0, 5], unit="s", utc=True),
                       "event": ["view_item", "purchase", "purchase", "purchase", "view_item"]})
    text = nt.reconciliation(tour.purchase_reconciliation(ev))
    assert "Of the 3 sessions with a purchase event" in text
    assert "counts 1 (33.3 %)" in text
    assert "two reasons: 1 never logged an earlier step (missing: view_item in 1)" in text
    assert "1 logged every step, but not in order" in text


def test_reconciliation_agreeing_counts_and_no_purchases():
    ev = pd.DataFrame({"session_id": [1, 1], "user_id": 1,
                       "ts": pd.to_datetime([0, 5], unit="s", utc=True),
                       "event": ["view_item", "purchase"]})
    assert "The two counts agree" in nt.reconciliation(tour.purchase_reconciliation(ev))
    none = ev.assign(event=["view_item", "add_to_cart"])
    assert nt.reconciliation(tour.purchase_reconciliation(none)).startswith(
        "No session holds a purchase event")
    only = ev.assign(event=["page_view", "purchase"])
    text = nt.reconciliation(tour.purchase_reconciliation(only))
    assert "no ordered funnel that ends in a purchase can be built" in text and "nan" not in text


def test_order_sentence_reports_lost_sessions_and_ties():
    ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2], "user_id": 1,
                       "ts": pd.to_datetime([0, 5, 9, 0, 0], unit="s", utc=True),
                       "event": ["view_item", "purchase", "add_to_cart", "view_item", "purchase"]})
    text = nt.order(tour.order_checks(ev))
    assert "1 purchase session (50 %) logs another funnel step after its last purchase" in text
    assert "2 funnel events (40 %) share their timestamp" in text
    assert "could lose up to 1 purchase session" in text
    assert "The ordered funnel loses 1 purchase session (50 %)" in text


# ------------------------------------------------------------------ headline


def test_headline_with_orders_and_currency_and_without_purchases():
    h = pd.DataFrame({"metric": ["users", "sessions", "events", "session conversion",
                                 "completed orders", "buyers", "revenue", "average order value",
                                 "share of users who bought"],
                      "value": [900.0, 2000.0, 9000.0, 0.05, 100.0, 90.0, 5000.0, 50.0, 0.1],
                      "ci_low": [np.nan] * 3 + [0.04] + [np.nan] * 4 + [0.08],
                      "ci_high": [np.nan] * 3 + [0.06] + [np.nan] * 4 + [0.12]})
    text = nt.headline(h, "EUR")
    assert "5 % (95 % CI 4–6 %) of sessions hold a purchase event" in text
    assert "5,000 EUR" in text and "uncertain" not in text
    assert "CNY" not in nt.headline(h)
    zero = h.iloc[:4].assign(value=[9.0, 10.0, 20.0, 0.0])
    text = nt.headline(zero)
    assert "no session holds a purchase event" in text and "uncertain" in text


# ------------------------------------------------------------------ calendar


def test_daily_finds_a_clustered_recurring_peak():
    d = days(np.full(800, 100), start="2024-01-01")
    for when, v in [("2024-11-11", 300), ("2025-11-10", 280), ("2025-11-11", 400),
                    ("2025-11-12", 290)]:
        d.loc[when, "sessions"] = v
    text = nt.daily(d)
    assert "11 Nov 2025 (400 sessions, 4.0× the median day)" in text
    assert "3 of them fall within 10–12 Nov 2025" in text
    assert "recurs in another year (11 Nov 2024)" in text
    assert "busiest days cluster" in text


def test_daily_without_a_peak_and_with_a_short_or_sparse_log():
    rng = np.random.default_rng(0)
    flat = days(100 + rng.integers(0, 10, 60))
    text = nt.daily(flat)
    assert "no day stands out" in text and "cluster" not in text
    assert "too short" in nt.daily(days([5, 6, 7]))
    assert "too few to tell a peak from chance" in nt.daily(days([1, 0, 2] * 10))


def test_daily_detects_a_partial_last_day_and_a_trend():
    d = days(np.r_[np.full(50, 100), np.full(49, 300), [30]])
    text = nt.daily(d)
    assert "rose from 100 to 300 sessions a day" in text
    assert "probably a partial day" in text


# ------------------------------------------------------------------ mix


def test_devices_majority_and_the_opposite_case():
    text = nt.devices(mix("device", {"mobile": 0.66, "desktop": 0.26, "tablet": 0.08}))
    assert "Most visits (66 %) are on mobile" in text and "majority device" in text
    text = nt.devices(mix("device", {"desktop": 0.45, "mobile": 0.40, "tablet": 0.15}))
    assert "No device has a majority: desktop leads with 45 %" in text
    assert "majority device" not in text


def test_devices_leave_out_missing_and_handle_none():
    text = nt.devices(mix("device", {"(missing)": 0.5, "desktop": 0.3, "mobile": 0.2}))
    assert "Most visits (60 %) are on desktop" in text
    assert "50 % of sessions have no device" in text
    assert nt.devices(None) == "This data records no device for its sessions."


def test_channels_largest_share_and_single_channel():
    text = nt.channels(mix("channel", {"A": 0.6, "B": 0.3, "C": 0.1}))
    assert text.startswith("The largest channel, A, brings 60 % of sessions")
    assert "the smallest, C, brings 10 %" in text
    assert "no mix to compare" in nt.channels(mix("channel", {"Direct": 1.0}))


def test_decisions_follow_the_numbers():
    d = days(np.full(60, 100))
    d.iloc[[20, 21, 22], 0] = 400
    dev = mix("device", {"desktop": 0.7, "mobile": 0.3})
    text = nt.decisions(checks([0, 40]), None, None, d, dev)
    assert text.startswith("## Decisions")
    assert "keep the flagged checks in mind: check 1" in text
    assert "busiest days cluster" in text
    assert "Most traffic (70 %) is on desktop" in text
    plain = nt.decisions(checks([0]), None, None, days(np.full(60, 100)))
    assert "no quality check flagged a row" in plain and "device" not in plain


@pytest.mark.parametrize("fn", [nt.channels, nt.devices])
def test_mix_narrators_never_print_nan(fn):
    assert "nan" not in fn(None).lower()


def test_headline_orders_without_amounts_say_so():
    h = pd.DataFrame({"metric": ["users", "sessions", "events", "session conversion",
                                 "completed orders", "buyers", "revenue", "average order value",
                                 "share of users who bought"],
                      "value": [900.0, 2000.0, 9000.0, 0.05, 100.0, 90.0, 0.0, np.nan, 0.1],
                      "ci_low": [np.nan] * 3 + [0.04] + [np.nan] * 4 + [0.08],
                      "ci_high": [np.nan] * 3 + [0.06] + [np.nan] * 4 + [0.12]})
    text = nt.headline(h)
    assert "100 completed orders from 90 buyers carry no revenue amounts" in text
    assert "n/a" not in text


def test_daily_sparse_orders_read_revenue_by_week():
    d = days(np.full(60, 100))
    d["orders"] = [1 if i % 3 == 0 else 0 for i in range(60)]
    d["revenue"] = d["orders"] * 50.0
    assert "Most days have no completed order" in nt.daily(d)


def test_headline_every_session_buys_is_called_an_artefact():
    h = pd.DataFrame({"metric": ["users", "sessions", "events", "session conversion"],
                      "value": [10.0, 2000.0, 2000.0, 1.0], "ci_low": [np.nan] * 3 + [0.998],
                      "ci_high": [np.nan] * 3 + [1.0]})
    text = nt.headline(h)
    assert "every session holds a purchase event" in text and "100 %" not in text
