"""helpers.data: loading, coercion and validation of the canonical store."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import data
from helpers.data import DataValidationError, Store, load_store, save_store, validate

BUNDLED = data.BUNDLED_DATA


@pytest.fixture(scope="module")
def bundled():
    return load_store()


def corrupt_copy(tmp_path: Path, table: str, df: pd.DataFrame, fmt="parquet") -> Path:
    """A store directory equal to the bundled one except for ``table``."""
    for f in BUNDLED.iterdir():
        if f.suffix in (".parquet", ".json") and f.stem != table:
            (tmp_path / f.name).symlink_to(f)
    if fmt == "parquet":
        df.to_parquet(tmp_path / f"{table}.parquet", index=False)
    else:
        df.to_csv(tmp_path / f"{table}.csv", index=False)
    return tmp_path


def raw(table):
    return pd.read_parquet(BUNDLED / f"{table}.parquet")


def expect(tmp_path, table, df, column, problem, n_rows=None, fmt="parquet"):
    with pytest.raises(DataValidationError) as err:
        load_store(corrupt_copy(tmp_path, table, df, fmt))
    e = err.value
    assert e.table == table
    assert column in (e.column or "")
    assert f"{table}.{column}" in str(e) or (column == "" and str(e).startswith(table))
    assert problem in str(e)
    if n_rows is not None:
        assert e.n_rows == n_rows
        assert f"{n_rows} row" in str(e)
    return e


# --------------------------------------------------------------- the bundled store


def test_bundled_store_loads_with_every_table(bundled):
    assert bundled.available() == list(data.TABLES)
    assert bundled.truth is not None and "bgnbd" in bundled.truth


def test_timestamps_are_timezone_aware_utc(bundled):
    for table, cols in data.SCHEMA.items():
        for col, (kind, _, _) in cols.items():
            if kind == "ts":
                s = getattr(bundled, table)[col]
                assert str(s.dt.tz) == "UTC", f"{table}.{col}"


def test_ids_are_one_type_per_domain(bundled):
    assert bundled.events["user_id"].dtype == bundled.users["user_id"].dtype == np.int64
    assert bundled.order_lines["order_id"].dtype == bundled.orders["order_id"].dtype


def test_absent_optional_tables_are_none_and_events_is_required(tmp_path):
    (tmp_path / "events.parquet").symlink_to(BUNDLED / "events.parquet")
    store = load_store(tmp_path)
    # an events-only store: orders (and their lines) are derived from its purchase events
    assert store.available() == ["users", "sessions", "events", "orders"]
    assert set(store.derived) == {"users", "sessions", "orders"}
    # derived sessions start at their first event, as the bundled sessions do
    real_sessions = load_store().sessions.set_index("session_id")["started_at"]
    got = store.sessions.set_index("session_id")["started_at"]
    assert len(got) == len(real_sessions) and (got.reindex(real_sessions.index) >= real_sessions).all()
    # the bundled purchase events carry the order's revenue: derived orders match the real ones
    real = load_store().orders
    real = real.loc[real["session_id"].notna()]  # a purchase event does not know later refunds
    assert len(store.orders) == len(real)
    assert store.orders["revenue"].sum() == pytest.approx(real["revenue"].sum(), rel=1e-9)
    assert store.truth is None
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="events"):
        load_store(empty)


def test_csv_and_parquet_stores_load_the_same(tmp_path):
    ev = pd.DataFrame({"session_id": [2, 1], "user_id": [10, 11], "event": ["search", "purchase"],
                       "ts": ["2025-03-01T10:00:00+08:00", "2025-03-01 01:00:00+00:00"],
                       "value": [None, 12.5]})
    sess = pd.DataFrame({"session_id": [1, 2], "user_id": [11, 10],
                         "started_at": ["2025-03-01 00:59", "2025-03-01 01:59"]})
    st = validate(Store(events=ev, sessions=sess))
    a = load_store(save_store(st, tmp_path / "pq", fmt="parquet"))
    b = load_store(save_store(st, tmp_path / "csv", fmt="csv"))
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    # +08:00 is converted; the naive sessions.started_at are taken as UTC
    assert a.sessions["started_at"].tolist()[0] == pd.Timestamp("2025-03-01 00:59", tz="UTC")
    assert a.events["ts"].tolist() == [pd.Timestamp("2025-03-01 02:00", tz="UTC"),
                                       pd.Timestamp("2025-03-01 01:00", tz="UTC")]


def test_string_ids_stay_strings_across_tables():
    ev = pd.DataFrame({"session_id": ["s1", "s2"], "user_id": ["u1", "u2"],
                       "event": ["page_view", "page_view"], "ts": ["2025-01-01"] * 2})
    users = pd.DataFrame({"user_id": ["u1", "u2"], "first_seen": ["2025-01-01"] * 2})
    st = validate(Store(events=ev, users=users))
    assert st.events["user_id"].tolist() == ["u1", "u2"]
    # numeric text ids in one table and integers in another become integers everywhere
    users2 = pd.DataFrame({"user_id": [1, 2], "first_seen": ["2025-01-01"] * 2})
    ev2 = ev.assign(user_id=["1", "2"])
    st2 = validate(Store(events=ev2, users=users2))
    assert st2.events["user_id"].dtype == np.int64


# --------------------------------------------------------------- one defect at a time


def test_missing_required_column(tmp_path):
    expect(tmp_path, "orders", raw("orders").drop(columns=["revenue"]), "revenue",
           "required column is missing")


def test_wrong_type_that_cannot_be_coerced(tmp_path):
    lines = raw("order_lines")
    lines["quantity"] = lines["quantity"].astype(str)
    lines.loc[[3, 8], "quantity"] = "two"
    e = expect(tmp_path, "order_lines", lines, "quantity", "not numbers", n_rows=2)
    assert e.example == "two" and e.rows == [3, 8]


def test_null_key(tmp_path):
    users = raw("users")
    users["user_id"] = users["user_id"].astype("Int64")
    users.loc[5, "user_id"] = pd.NA
    expect(tmp_path, "users", users, "user_id", "null values", n_rows=1)


def test_unparseable_timestamp(tmp_path):
    orders = raw("orders")
    orders["ordered_at"] = orders["ordered_at"].astype(str)
    orders.loc[7, "ordered_at"] = "31/02/2025 25:61"
    e = expect(tmp_path, "orders", orders, "ordered_at", "unparseable timestamps", n_rows=1)
    assert e.example == "31/02/2025 25:61"


def test_negative_money(tmp_path):
    orders = raw("orders")
    orders.loc[[0, 1, 2], "revenue"] = -5.0
    expect(tmp_path, "orders", orders, "revenue", "negative values", n_rows=3)


def test_negative_quantity(tmp_path):
    lines = raw("order_lines")
    lines.loc[4, "quantity"] = -1
    expect(tmp_path, "order_lines", lines, "quantity", "negative values", n_rows=1)


def test_duplicate_primary_key(tmp_path):
    orders = raw("orders")
    orders = pd.concat([orders, orders.iloc[[10]]], ignore_index=True)
    e = expect(tmp_path, "orders", orders, "order_id", "duplicate primary key", n_rows=1)
    assert e.example == int(orders.loc[10, "order_id"])


def test_orphan_order_line(tmp_path):
    lines = raw("order_lines")
    lines.loc[0, "order_id"] = 1
    e = expect(tmp_path, "order_lines", lines, "order_id", "orphan foreign key", n_rows=1)
    assert e.example == 1


def test_orphan_event_session(tmp_path):
    ev = raw("events")
    ev.loc[100, "session_id"] = 42
    expect(tmp_path, "events", ev, "session_id", "no matching sessions.session_id", n_rows=1)


def test_an_empty_optional_table_is_absent_and_noted_but_empty_events_fail(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    st = load_store(corrupt_copy(tmp_path / "a", "reviews", raw("reviews").iloc[:0], "csv"))
    assert st.reviews is None
    assert st.notes.set_index("step").loc["empty table reviews", "detail"] == \
        "the file has no rows: treated as absent"
    expect(tmp_path / "b", "events", raw("events").iloc[:0], "", "empty")


def test_other_event_names_are_kept_and_misspelt_canonical_ones_named(tmp_path):
    ev = raw("events")
    ev["event"] = ev["event"].astype(object)
    ev.loc[[10, 20], "event"] = "checkout_bug"
    folder = tmp_path / "kept"
    folder.mkdir()
    ev.to_parquet(folder / "events.parquet")
    assert (data.load_store(folder).events["event"] == "checkout_bug").sum() == 2
    ev.loc[[30, 40, 50], "event"] = "Add-To-Cart"
    e = expect(tmp_path, "events", ev, "event", "canonical 'add_to_cart' spelt differently",
               n_rows=3)
    assert e.example == "Add-To-Cart"


def test_rating_out_of_range_and_bad_boolean():
    rev = pd.DataFrame({"order_id": [1], "user_id": [1], "item_id": [1], "rating": [6],
                        "created_at": ["2025-01-01"]})
    ev = pd.DataFrame({"session_id": [1], "user_id": [1], "event": ["page_view"], "ts": ["2025-01-01"]})
    with pytest.raises(DataValidationError, match=r"reviews.rating: ratings outside 1-5"):
        validate(Store(events=ev, reviews=rev))
    sends = pd.DataFrame({"campaign": ["c"], "user_id": [1], "sent_at": ["2025-01-01"],
                          "treated": ["maybe"]})
    with pytest.raises(DataValidationError, match=r"campaign_sends.treated"):
        validate(Store(events=ev, campaign_sends=sends))


def test_validation_error_message_names_everything():
    e = DataValidationError("orders", "revenue", "negative values", 3, [0, 1, 2], -5.0)
    assert str(e) == "orders.revenue: negative values (3 rows, e.g. row 0: -5.0); first rows [0, 1, 2]"


# --------------------------------------------------------------- tour helpers


def test_headline_conversion_matches_a_direct_count(bundled):
    h = data.headline(bundled).set_index("metric")
    ev = bundled.events
    expected = ev.loc[ev["event"] == "purchase", "session_id"].nunique() / ev["session_id"].nunique()
    assert h.loc["session conversion", "value"] == pytest.approx(expected)
    assert h.loc["session conversion", "ci_low"] < expected < h.loc["session conversion", "ci_high"]


def test_daily_activity_adds_up(bundled):
    day = data.daily_activity(bundled)
    done = bundled.orders["status"] == "completed"
    assert day["orders"].sum() == done.sum()
    assert day["revenue"].sum() == pytest.approx(bundled.orders.loc[done, "revenue"].sum())
    assert day.index.is_monotonic_increasing and day.index.is_unique


def test_quality_checks_flag_a_planted_problem(bundled):
    sessions = bundled.sessions.copy()
    sessions.loc[0, "started_at"] = sessions.loc[0, "started_at"] + pd.Timedelta("1h")
    st = Store(**{t: getattr(bundled, t) for t in data.TABLES} | {"sessions": sessions})
    checks = data.quality_checks(st).set_index("check")
    assert checks.loc["sessions whose first event is before the session start", "rows"] == 1
    clean = data.quality_checks(bundled).set_index("check")
    assert clean.loc["sessions whose first event is before the session start", "rows"] == 0


def test_a_store_of_orders_alone_gets_events_sessions_and_users(tmp_path):
    shop = load_store()
    o = shop.orders.drop(columns=["session_id"])
    o.to_csv(tmp_path / "orders.csv", index=False)
    shop.order_lines.to_csv(tmp_path / "order_lines.csv", index=False)
    shop.reviews.to_csv(tmp_path / "reviews.csv", index=False)
    st = load_store(tmp_path)
    assert st.available() == ["users", "sessions", "events", "orders", "order_lines", "reviews"]
    assert sorted(st.derived) == ["events", "sessions", "users"]
    # one purchase event and one session per order; each buyer is a user first seen at the first order
    assert len(st.events) == len(st.sessions) == len(o)
    assert (st.events["event"] == "purchase").all()
    first = o.groupby("user_id")["ordered_at"].min()
    got = st.users.set_index("user_id")["first_seen"]
    assert len(got) == o["user_id"].nunique()
    assert (got.reindex(first.index) == pd.to_datetime(first, utc=True)).all()
    assert st.notes.set_index("step").loc["derived events", "rows"] == len(o)
