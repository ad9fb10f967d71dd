"""Money, counts and text that would load silently wrong (issue: bad input, class 2)."""

import pandas as pd
import pytest

from helpers.data import DataValidationError, Store, load_store, validate


def _orders(revenue):
    n = len(revenue)
    return pd.DataFrame({"order_id": range(n), "user_id": [1] * n, "revenue": revenue,
                         "ordered_at": ["2024-01-01"] * n})


def _events():
    return pd.DataFrame({"session_id": [1], "user_id": [1], "event": ["page_view"],
                         "ts": ["2024-01-01"]})


@pytest.mark.parametrize("bad", ["inf", "1e309", "Infinity", "-inf"])
def test_infinite_money_is_an_error(tmp_path, bad):
    _events().to_csv(tmp_path / "events.csv", index=False)
    _orders(["10.5", bad]).to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataValidationError, match=r"orders\.revenue: (infinite|negative) values"):
        load_store(tmp_path)


def test_a_quantity_too_large_to_hold_is_an_error():
    lines = pd.DataFrame({"order_id": [0], "item_id": [5], "quantity": [1e20], "unit_price": [1.0]})
    with pytest.raises(DataValidationError, match="order_lines.quantity: counts too large"):
        validate(Store(events=_events(), orders=_orders([1.0]), order_lines=lines))


def test_na_and_null_text_stay_text_in_a_csv_store(tmp_path):
    _events().assign(search_term="null").to_csv(tmp_path / "events.csv", index=False)
    pd.DataFrame({"user_id": [1], "first_seen": ["2024-01-01"], "region": ["NA"]}).to_csv(
        tmp_path / "users.csv", index=False)
    st = load_store(tmp_path)
    assert st.users["region"].tolist() == ["NA"]  # North America, not missing
    assert st.events["search_term"].tolist() == ["null"]


def test_missing_value_words_in_a_number_column_are_missing(tmp_path):
    _events().to_csv(tmp_path / "events.csv", index=False)
    o = _orders(["10.5", "12"]).assign(discount=["NA", "null"])
    o.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataValidationError, match="orders.discount: null values"):
        load_store(tmp_path)
