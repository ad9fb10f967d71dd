"""Every row accounted for, and messages that name what the user wrote (issue "bad input",
classes 5, 7 and 8): lines that vanished from one table but not another, purchase values that
double-count, ids that differ by a space, a prefix or a float export, errors reported on
internal column names, an unreadable answer key, a shared spill folder.
"""

import json
import shutil
import stat

import numpy as np
import pandas as pd
import pytest

from helpers import data, engine
from helpers.data import DataValidationError


@pytest.fixture(scope="module")
def shop():
    return data.load_store()


def test_an_online_retail_line_without_stockcode_leaves_lines_and_revenue_alike(tmp_path):
    uci = pd.DataFrame({"InvoiceNo": ["1", "1", "2"], "StockCode": ["A", "", "B"],
                        "Description": ["a", "b", "c"], "Quantity": [1, 2, 1],
                        "InvoiceDate": ["12/01/2010 08:26"] * 3, "UnitPrice": [2.0, 3.0, 4.0],
                        "CustomerID": [17850.0, 17850.0, 13047.0], "Country": ["UK"] * 3})
    src = tmp_path / "uci.csv"
    uci.to_csv(src, index=False)
    assert data.main(["convert", "--format", "online_retail", str(src), str(tmp_path / "s")]) == 0
    st = data.load_store(tmp_path / "s")
    lines = st.order_lines.merge(st.orders[["order_id", "revenue"]], on="order_id")
    by_order = (lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    assert by_order.to_dict() == st.orders.set_index("order_id")["revenue"].to_dict() == {1: 2.0, 2: 4.0}
    notes = st.notes.set_index("step")["rows"]
    assert notes["dropped: no StockCode"] == 1
    dropped = notes[[s for s in notes.index if s.startswith("dropped:")]].sum()
    assert notes["read source rows"] == dropped + len(st.order_lines)


def test_a_ga4_purchase_of_two_items_has_values_that_add_up_to_its_revenue(tmp_path):
    ga = pd.DataFrame({
        "event_name": ["view_item", "purchase", "purchase"],
        "event_timestamp": [1_700_000_000_000_000, 1_700_000_100_000_000, 1_700_000_100_000_000],
        "user_pseudo_id": ["u1"] * 3, "ga_session_id": [1, 1, 1], "session_source": ["google"] * 3,
        "session_medium": ["organic"] * 3, "device_category": ["mobile"] * 3,
        "transaction_id": [None, "T1", "T1"], "purchase_revenue": [None, 57.0, 57.0],
        "item_id": ["a", "a", "b"], "price": [45.0, 45.0, 12.0], "quantity": [None, 1, 1]})
    src = tmp_path / "ga.csv"
    ga.to_csv(src, index=False)
    assert data.main(["convert", "--format", "ga4", str(src), str(tmp_path / "s")]) == 0
    st = data.load_store(tmp_path / "s")
    buys = st.events.loc[st.events["event"] == "purchase", "value"]
    assert sorted(buys.tolist()) == [12.0, 45.0]
    assert buys.sum() == st.orders["revenue"].sum() == 57.0


def test_a_ga4_row_without_a_session_id_is_reported_on_the_source_column(tmp_path, capsys):
    ga = pd.DataFrame({"event_name": ["view_item", "purchase"],
                       "event_timestamp": [1_700_000_000_000_000, 1_700_000_100_000_000],
                       "user_pseudo_id": ["u1", "u1"], "ga_session_id": [1, None]})
    src = tmp_path / "ga.csv"
    ga.to_csv(src, index=False)
    assert data.main(["convert", "--format", "ga4", str(src), str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "events.ga_session_id: null session ids" in err and "row 1" in err
    assert "events._session" not in err


def _store_dir(tmp_path, events, **tables):
    d = tmp_path / "store"
    d.mkdir()
    events.to_csv(d / "events.csv", index=False)
    for name, df in tables.items():
        df.to_csv(d / f"{name}.csv", index=False)
    return d


def test_ids_with_spaces_around_them_are_an_error_not_twice_the_sessions(shop, tmp_path):
    ev = shop.events.head(200).copy()
    ev["session_id"] = ev["session_id"].astype(str)
    ev.loc[ev.index[::2], "session_id"] += " "
    with pytest.raises(DataValidationError, match=r"events.session_id: id values with spaces "
                       r"around them .* \(100 rows, e.g. row 0: '\d+ '\)"):
        data.load_store(_store_dir(tmp_path, ev))


def test_ids_written_by_a_float_export_match_their_integer_twins(shop, tmp_path):
    ev = shop.events.head(500).copy()
    ev["item_id"] = ev["item_id"].astype("Float64").astype(str).replace("<NA>", "")
    st = data.load_store(_store_dir(tmp_path, ev, items=shop.items))
    assert st.events["item_id"].dropna().isin(st.items["item_id"]).all()
    assert st.events["item_id"].dropna().tolist() == shop.events.head(500)["item_id"].dropna().tolist()


def test_ids_that_differ_by_a_prefix_get_an_orphan_message_that_shows_both_spellings(shop, tmp_path):
    ev = shop.events.head(300)
    users = shop.users.loc[shop.users["user_id"].isin(ev["user_id"])].copy()
    users["user_id"] = "u" + users["user_id"].astype(str)
    first = ev["user_id"].iloc[0]
    with pytest.raises(DataValidationError, match=(
            rf"events.user_id has '{first}' where users.user_id has 'u{first}'; write them the "
            "same way in both tables")):
        data.load_store(_store_dir(tmp_path, ev, users=users))


def test_an_unreadable_answer_key_names_its_file(shop, tmp_path):
    d = _store_dir(tmp_path, shop.events.head(50))
    (d / "truth.json").write_text('{"a": 1,')
    with pytest.raises(DataValidationError, match=r"truth: .*truth.json is not valid JSON"):
        data.load_store(d)
    (d / "truth.json").write_text(json.dumps([1, 2]))
    with pytest.raises(DataValidationError, match="must hold a JSON object, got list"):
        data.load_store(d)


@pytest.mark.parametrize("change, match", [
    (lambda e: e.assign(event=e["event"].replace({"purchase": "Purchase"})),
     r"events.event: event name 'Purchase' is the canonical 'purchase' spelt differently"),
    (lambda e: e.assign(value=e["value"].where(e.index != 5, np.inf)),
     r"events.value: money that is not finite or is negative \(1 row, e.g. inf\)"),
    (lambda e: e.assign(ts=e["ts"].astype("int64") // 10**6),
     r"events.ts: timestamps stored as BIGINT"),
])
def test_open_store_checks_what_one_scan_of_the_parquet_can(shop, tmp_path, change, match):
    d = tmp_path / "big"
    d.mkdir()
    change(shop.events.head(2000).copy()).to_parquet(d / "events.parquet")
    with pytest.raises(DataValidationError, match=match):
        data.open_store(d)


def test_duckdb_spills_to_a_private_folder_of_this_process():
    d = engine.spill_dir()
    assert d.is_dir() and stat.S_IMODE(d.stat().st_mode) == 0o700
    assert d.name.startswith("helpers-duckdb-") and d == engine.spill_dir()
    con = engine.connect()
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(d)
    finally:
        con.close()
    shutil.rmtree(d)  # gone (another process cleaned up): the next connection makes a new one
    assert engine.spill_dir().is_dir()
