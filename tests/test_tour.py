"""Data-tour checks on hand-built event logs (helpers.tour)."""

import pandas as pd
import pytest

from helpers import tour


def log(rows):
    """Events from (session, seconds, event) triples."""
    s, t, e = zip(*rows)
    return pd.DataFrame({"session_id": s, "user_id": 1,
                         "ts": pd.to_datetime(t, unit="s", utc=True), "event": e})


FULL = ["view_item", "add_to_cart", "begin_checkout", "add_shipping_info", "add_payment_info",
        "purchase"]


def test_funnel_steps_keeps_the_canonical_order_and_only_logged_steps():
    ev = log([(1, 0, "purchase"), (1, 1, "add_to_cart"), (1, 2, "page_view")])
    assert tour.funnel_steps(ev) == ["add_to_cart", "purchase"]


def test_reconciliation_splits_the_gap_into_missing_steps_and_order():
    ev = log([(1, 0, "view_item"), (1, 1, "add_to_cart"), (1, 2, "purchase"),   # in order
              (2, 0, "add_to_cart"), (2, 1, "purchase"),                         # no view_item
              (3, 0, "purchase"),                                                # no step at all
              (4, 0, "add_to_cart"), (4, 1, "view_item"), (4, 2, "purchase"),   # out of order
              (5, 0, "view_item"), (5, 1, "add_to_cart")])                      # no purchase
    r = tour.purchase_reconciliation(ev).set_index("part")
    assert r["sessions"].tolist() == [4, 1, 2, 1]
    assert r.loc["reach purchase in the ordered funnel", "share"] == pytest.approx(0.25)
    missing = tour.purchase_reconciliation(ev).attrs["missing_steps"]
    assert missing.to_dict() == {"view_item": 2, "add_to_cart": 1}
    # the gap is exactly the two causes
    assert r["sessions"].iloc[0] - r["sessions"].iloc[1] == r["sessions"].iloc[2] + r["sessions"].iloc[3]


def test_reconciliation_matches_the_funnel_on_a_full_log():
    from helpers.funnel import funnel

    ev = log([(s, i, e) for s in range(1, 4) for i, e in enumerate(FULL)]
             + [(9, 0, "purchase"), (9, 1, "view_item")])
    r = tour.purchase_reconciliation(ev)
    assert r.attrs["steps"] == FULL
    assert int(r["sessions"].iloc[1]) == int(funnel(ev, FULL)["n"].iloc[-1]) == 3


def test_a_tie_counts_as_in_order():
    ev = log([(1, 0, "view_item"), (1, 0, "purchase")])
    r = tour.purchase_reconciliation(ev)
    assert r["sessions"].tolist() == [1, 1, 0, 0]
    checks = tour.order_checks(ev)
    assert checks["rows"].tolist() == [0, 2, 0]
    assert checks["status"].tolist() == ["ok", "look", "ok"]


def test_no_purchase_events_gives_na_not_zero_shares():
    ev = log([(1, 0, "view_item"), (1, 1, "add_to_cart")])
    r = tour.purchase_reconciliation(ev)
    assert r["sessions"].iloc[0] == 0
    assert r["share"].isna().all()
    checks = tour.order_checks(ev)
    assert checks.loc[0, "status"] == "n/a" and checks.loc[2, "status"] == "n/a"
    assert checks.loc[1, "status"] == "ok"


def test_only_purchase_logged_leaves_the_funnel_undefined():
    ev = log([(1, 0, "purchase"), (2, 0, "page_view")])
    r = tour.purchase_reconciliation(ev)
    assert int(r["sessions"].iloc[0]) == 1
    assert r["sessions"].iloc[1:].isna().all()
    assert tour.order_checks(ev)["status"].tolist() == ["ok", "n/a", "n/a"]


def test_order_checks_count_purchases_followed_by_steps_and_lost_sessions():
    # steps: view_item, add_to_cart, purchase. Session 1 logs all three but the cart comes
    # after the purchase (lost to the funnel); session 2 browses on after buying but has no
    # cart (lacks a step, not lost to the order); session 3 buys last.
    ev = log([(1, 0, "view_item"), (1, 5, "purchase"), (1, 9, "add_to_cart"),
              (2, 0, "purchase"), (2, 3, "view_item"),
              (3, 0, "view_item"), (3, 2, "purchase")])
    c = tour.order_checks(ev)
    assert c["rows"].tolist() == [2, 0, 1]
    assert c["of"].tolist() == [3, 7, 3]
    assert c.loc[0, "share"] == pytest.approx(2 / 3)


def test_session_mix_is_none_without_the_column():
    from types import SimpleNamespace

    ses = pd.DataFrame({"session_id": [1, 2, 3], "device": ["mobile", "mobile", "desktop"],
                        "channel": [None, None, None]})
    store = SimpleNamespace(sessions=ses)
    assert tour.session_mix(store, "device")["n"].tolist() == [2, 1]
    assert tour.session_mix(store, "channel") is None
    assert tour.session_mix(SimpleNamespace(sessions=None), "device") is None
