"""Adapters from public formats to the canonical store (fixtures written by the tests)."""

import pandas as pd
import pytest

from helpers import data
from helpers.data import DataValidationError, load_store

T0 = 1_433_221_332  # 2015-06-02, in seconds since 1970


def retailrocket_rows():
    # visitor 1: view, add, buy within 30 min; comes back 2 h later and views again
    # visitor 2: one view; an unknown event name is dropped and counted
    return pd.DataFrame({
        "timestamp": [T0 * 1000 + t for t in (0, 60_000, 120_000, 7_320_000, 5_000, 6_000)],
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
    assert st.users.set_index("user_id").loc[1, "first_seen"] == pd.Timestamp(T0, unit="s", tz="UTC")


def test_gap_boundary_is_strictly_greater():
    rows = pd.DataFrame({"u": [1, 1, 1], "t": [T0, T0 + 1800, T0 + 3601], "e": ["view"] * 3})
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
        "event_timestamp": [T0 * 10**6 + t for t in (1_000_000, 2_000_000, 3_000_000, 3_000_000,
                                                     4_000_000)],
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


OLIST = data.BUNDLED_DATA.parents[1] / "shared" / "datasets" / "olist-sample-8k"


def _olist_tables():
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c2", "c3"],
        "order_status": ["delivered", "unavailable", "shipped"],
        "order_purchase_timestamp": ["2018-01-05 10:00:00", "2018-02-01 09:30:00",
                                     "2018-03-01 12:00:00"],
        "order_delivered_customer_date": ["2018-01-09 15:00:00", None, None]})
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                              "customer_unique_id": ["ann", "ann", "bob"],
                              "customer_state": ["SP", "SP", "RJ"]})
    items = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3"], "order_item_id": ["1", "2", "1", "1"],
                          "product_id": ["x", "y", "y", "x"], "price": ["10", "4.5", "4.5", "10"],
                          "freight_value": ["2", "1", "1", "3"]})
    payments = pd.DataFrame({"order_id": ["o1", "o1", "o3"], "payment_value": ["10", "7.5", "13"]})
    reviews = pd.DataFrame({"review_id": ["r1", "r2", "r3", "r4"], "order_id": ["o1", "o1", "o3", "zz"],
                            "review_score": ["2", "4", "5", "1"],
                            "review_comment_title": [None, "ok", None, None],
                            "review_comment_message": ["late", "arrived fine", None, "?"],
                            "review_creation_date": ["2018-01-10 00:00:00", "2018-01-12 00:00:00",
                                                     "2018-03-05 00:00:00", "2018-03-05 00:00:00"]})
    products = pd.DataFrame({"product_id": ["x", "y"], "product_category_name": ["beleza_saude", None]})
    translation = pd.DataFrame({"product_category_name": ["beleza_saude"],
                                "product_category_name_english": ["health_beauty"]})
    return {"orders": orders, "customers": customers, "order_items": items,
            "order_payments": payments, "order_reviews": reviews, "products": products,
            "category_translation": translation}


def test_olist_people_orders_revenue_reviews():
    from helpers.adapters.olist import from_olist

    st = from_olist(_olist_tables())
    # customer_unique_id is the person: ann placed two orders under two customer_ids
    assert st.users["user_id"].tolist() == ["ann", "bob"]
    o = st.orders.set_index("order_id")
    assert o["status"].to_dict() == {"o1": "completed", "o2": "cancelled", "o3": "completed"}
    # revenue: payments where there are some (o1, o3), else items' price + freight (o2)
    assert o["revenue"].to_dict() == {"o1": 17.5, "o2": 5.5, "o3": 13.0}
    # São Paulo local time (UTC-2 in January 2018, daylight saving) stored as UTC
    assert o.loc["o1", "ordered_at"] == pd.Timestamp("2018-01-05 12:00", tz="UTC")
    assert o.loc["o1", "delivered_at"] == pd.Timestamp("2018-01-09 17:00", tz="UTC")
    # the later review of o1 is kept, on o1's first item; the review of an unknown order is dropped
    r = st.reviews.set_index("order_id")
    assert r.loc["o1", ["rating", "item_id", "text"]].tolist() == [4, "x", "ok arrived fine"]
    assert r.loc["o3", "text"] is None or pd.isna(r.loc["o3", "text"])
    notes = st.notes.set_index("step")["rows"]
    assert notes["dropped: earlier review of the same order"] == 1
    assert notes["dropped: review of an unknown order"] == 1
    assert notes["read reviews"] == len(st.reviews) + 2
    cats = st.items.set_index("item_id")["category"]
    assert cats["x"] == "health_beauty" and pd.isna(cats["y"])
    assert st.meta == {"currency": "BRL", "timezone": "America/Sao_Paulo", "name": "Olist"}


def test_olist_needs_orders_and_customers():
    from helpers.adapters.olist import from_olist

    with pytest.raises(DataValidationError, match="olist_customers_dataset.csv file is required"):
        from_olist({"orders": _olist_tables()["orders"]})


def test_olist_sample_converts_with_its_published_counts(tmp_path):
    if not OLIST.exists():
        pytest.skip(f"no Olist sample under {OLIST} (real data is optional)")
    assert data.main(["convert", "--format", "olist", str(OLIST), str(tmp_path / "olist")]) == 0
    st = load_store(tmp_path / "olist")
    raw_orders = pd.read_csv(OLIST / "olist_orders_dataset.csv.gz")
    raw_cust = pd.read_csv(OLIST / "olist_customers_dataset.csv.gz")
    raw_pay = pd.read_csv(OLIST / "olist_order_payments_dataset.csv.gz")
    raw_items = pd.read_csv(OLIST / "olist_order_items_dataset.csv.gz")
    assert len(st.orders) == len(raw_orders) == 8000
    assert len(st.users) == raw_cust["customer_unique_id"].nunique() == 7969
    assert st.order_lines["quantity"].sum() == len(raw_items) == 9116
    assert (st.orders["status"] == "cancelled").sum() == raw_orders["order_status"].isin(
        ["canceled", "unavailable"]).sum() == 107
    no_pay = ~raw_orders["order_id"].isin(raw_pay["order_id"])
    expected = raw_pay["payment_value"].sum() + (raw_items.loc[raw_items["order_id"].isin(
        raw_orders.loc[no_pay, "order_id"]), ["price", "freight_value"]].sum().sum())
    assert st.orders["revenue"].sum() == pytest.approx(expected, abs=0.05)
    assert st.currency == "BRL"


def test_online_retail_text_is_read_as_utf8_and_latin1_only_when_it_must(tmp_path):
    uci = pd.DataFrame({"InvoiceNo": ["1"], "StockCode": ["A"], "Description": ["CRÈME BRÛLÉE"],
                        "Quantity": [1], "InvoiceDate": ["12/1/2010 8:26"], "UnitPrice": [2.5],
                        "CustomerID": [5.0], "Country": ["France"]})
    uci.to_csv(tmp_path / "utf8.csv", index=False, encoding="utf-8")
    uci.to_csv(tmp_path / "latin1.csv", index=False, encoding="latin-1")
    for name, enc in (("utf8", "utf-8"), ("latin1", "latin-1")):
        st = data.convert("online_retail", tmp_path / f"{name}.csv", tmp_path / f"st_{name}")
        assert st.items["name"].tolist() == ["CRÈME BRÛLÉE"], name
        assert st.notes.set_index("step").loc["read as", "detail"].startswith(f"{name}.csv: {enc}")
