"""Adapters from public formats to the canonical store (fixtures written by the tests)."""

import pandas as pd
import pytest

from helpers import data
from helpers.data import DataValidationError, load_store


def retailrocket_rows():
    # visitor 1: view, add, buy within 30 min; comes back 2 h later and views again
    # visitor 2: one view; an unknown event name is dropped and counted
    return pd.DataFrame({
        "timestamp": [0, 60_000, 120_000, 7_320_000, 5_000, 6_000],
        "visitorid": [1, 1, 1, 1, 2, 2],
        "event": ["view", "addtocart", "transaction", "view", "view", "wishlist"],
        "itemid": [10, 10, 10, 11, 10, 10],
        "transactionid": [None, None, 77, None, None, None],
    })


def test_retailrocket_sessions_by_gap_and_notes():
    st = data.from_retailrocket(retailrocket_rows())
    ev = st.events.sort_values(["user_id", "ts"])
    assert ev["session_id"].tolist() == ["1-1", "1-1", "1-1", "1-2", "2-1", "2-1"]
    assert ev["event"].tolist() == ["view_item", "add_to_cart", "purchase", "view_item", "view_item",
                                    "wishlist"]
    notes = st.notes.set_index("step")
    # an event without a canonical name is kept under its own name, and counted
    assert notes.loc["event wishlist", ["rows", "detail"]].tolist() == [1, "kept as is"]
    assert (st.events["event"] == "wishlist").sum() == 1
    # notes add up: rows read = events kept (no row had an empty name)
    assert notes.loc["read source rows", "rows"] == notes.loc["kept events", "rows"] == 6
    assert st.orders is None and st.sessions["session_id"].nunique() == 3
    assert st.users.set_index("user_id").loc[1, "first_seen"] == pd.Timestamp(0, tz="UTC")


def test_gap_boundary_is_strictly_greater():
    rows = pd.DataFrame({"u": [1, 1, 1], "t": [0, 1800, 3601], "e": ["view"] * 3})
    st = data.from_events(rows, {"user_id": "u", "ts": "t", "event": "e"}, {"view": "view_item"},
                          ts_unit="s")
    # 1800 s apart is the same session (gap must exceed 30 min); 1801 s later is a new one
    assert st.events["session_id"].tolist() == ["1-1", "1-1", "1-2"]


def test_online_retail_drops_are_reported():
    uci = pd.DataFrame({
        "InvoiceNo": ["1", "1", "C2", "3", "4"], "StockCode": ["A", "B", "A", "A", "POST"],
        "Description": ["a", "b", "a", "a", "postage"], "Quantity": [2, 1, -2, 1, 1],
        "InvoiceDate": ["2011-01-01 10:00"] * 3 + ["2011-02-01 10:00", "2011-02-01 11:00"],
        "UnitPrice": [1.5, 4.0, 1.5, 1.5, 0.0], "CustomerID": [5.0, 5.0, 5.0, None, 6.0],
        "Country": ["France"] * 5})
    st = data.from_online_retail(uci)
    notes = st.notes.set_index("step")["rows"]
    assert notes["dropped: no CustomerID"] == 1
    assert notes["dropped: cancellation invoice"] == 1
    assert notes["dropped: quantity or price <= 0"] == 1
    # 5 rows read = 2 kept + 3 dropped
    assert notes["read source rows"] == len(st.order_lines) + 3
    assert st.orders["revenue"].tolist() == [7.0]
    assert st.users["region"].tolist() == ["France"]


def test_rees46_orders_from_session_purchases():
    r = pd.DataFrame({
        "event_time": [f"2019-10-01 00:0{i}:00 UTC" for i in range(5)],
        "event_type": ["view", "cart", "purchase", "purchase", "view"],
        "product_id": [1, 1, 1, 2, 3], "category_id": [9, 9, 9, 8, 7],
        "category_code": ["electronics.smartphone", "electronics.smartphone",
                          "electronics.smartphone", None, None],
        "brand": ["a", "a", "a", "b", None], "price": [100.0, 100.0, 100.0, 5.5, 2.0],
        "user_id": [7, 7, 7, 7, 8], "user_session": ["s1", "s1", "s1", "s1", None]})
    st = data.from_rees46(r)
    assert st.notes.set_index("step").loc["dropped: no user_session", "rows"] == 1
    assert st.orders[["order_id", "revenue"]].to_dict("records") == [{"order_id": "s1", "revenue": 105.5}]
    cats = st.items.set_index("item_id")["category"].to_dict()
    assert cats == {1: "electronics.smartphone", 2: "8"}


def test_ga4_channel_grouping_and_orders():
    ga = pd.DataFrame({
        "event_name": ["page_view", "add_to_cart", "purchase", "purchase", "scroll"],
        "event_timestamp": [1_000_000, 2_000_000, 3_000_000, 3_000_000, 4_000_000],
        "user_pseudo_id": ["a", "a", "a", "a", "b"], "ga_session_id": [1, 1, 1, 1, 9],
        "session_source": ["instagram"] * 4 + ["(direct)"],
        "session_medium": ["paid"] * 4 + ["(none)"],
        "transaction_id": [None, None, "T9", "T9", None],
        "purchase_revenue": [None, None, 30.0, 30.0, None],
        "item_id": [None, "x", "x", "y", None], "price": [None, 10.0, 10.0, 20.0, None],
        "quantity": [None, 1, 1, 1, None]})
    st = data.from_ga4(ga)
    assert st.sessions.set_index("session_id")["channel"].to_dict() == {"a-1": "Paid Social",
                                                                         "b-9": "Direct"}
    assert st.orders["revenue"].tolist() == [30.0]
    assert st.order_lines[["item_id", "quantity"]].values.tolist() == [["x", 1], ["y", 1]]
    assert st.notes.set_index("step").loc["event scroll", "detail"] == "kept as is"
    assert st.events["event"].tolist().count("scroll") == 1


def test_missing_source_column_is_named():
    with pytest.raises(DataValidationError, match="visitorid"):
        data.from_retailrocket(retailrocket_rows().drop(columns=["visitorid"]))


def test_cli_convert_writes_a_loadable_store(tmp_path):
    src = tmp_path / "events.csv"
    retailrocket_rows().to_csv(src, index=False)
    assert data.main(["convert", "--format", "retailrocket", str(src), str(tmp_path / "out")]) == 0
    st = load_store(tmp_path / "out")
    # RetailRocket has no orders: the loader derives them from the purchase (transaction) events
    assert st.available() == ["users", "sessions", "events", "orders", "order_lines"]
    assert st.orders["order_id"].astype(str).tolist() == ["77"] and st.orders["revenue"].isna().all()
    assert set(st.derived) == {"orders", "order_lines"}
    assert "event wishlist" in st.notes["step"].tolist()
