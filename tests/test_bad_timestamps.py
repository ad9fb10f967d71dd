"""Timestamps that would load silently wrong are named errors (issue: bad input, class 1)."""

import pandas as pd
import pytest

from helpers import data
from helpers.data import DataValidationError, Store, load_store, validate

T0 = 1_700_000_000  # 2023-11-14 in seconds since 1970


def _events(ts):
    n = len(ts)
    return pd.DataFrame({"session_id": range(n), "user_id": [1] * n, "event": ["page_view"] * n,
                         "ts": ts})


@pytest.mark.parametrize("unit,scale", [("s", 1), ("ms", 10**3), ("us", 10**6)])
def test_epoch_integers_in_parquet_need_their_unit(tmp_path, unit, scale):
    _events([T0 * scale, (T0 + 60) * scale]).to_parquet(tmp_path / "events.parquet")
    with pytest.raises(DataValidationError, match=r"events\.ts: timestamps given as epoch numbers"):
        load_store(tmp_path)


def test_epoch_numbers_as_text_need_their_unit(tmp_path):
    _events([str(T0), str(T0 + 60)]).to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(DataValidationError, match="epoch numbers in text"):
        load_store(tmp_path)


def test_from_events_without_a_unit_is_an_error():
    log = pd.DataFrame({"u": [1, 1], "t": [T0, T0 + 5], "e": ["view_item"] * 2})
    with pytest.raises(DataValidationError, match="epoch numbers"):
        data.from_events(log, {"user_id": "u", "ts": "t", "event": "e"})


def test_a_wrong_epoch_unit_is_named_with_the_unit_that_fits():
    log = pd.DataFrame({"u": [1, 1], "t": [T0 * 1000, T0 * 1000 + 5], "e": ["view_item"] * 2})
    with pytest.raises(DataValidationError, match="outside 1980-2100; the values look like ms"):
        data.from_events(log, {"user_id": "u", "ts": "t", "event": "e"}, ts_unit="us")
    with pytest.raises(ValueError, match="ts_unit must be one of"):
        data.from_events(log, {"user_id": "u", "ts": "t", "event": "e"}, ts_unit="sec")


def test_ga4_in_milliseconds_does_not_convert_into_1970():
    ga = pd.DataFrame({"event_name": ["view_item"], "event_timestamp": [T0 * 1000],
                       "user_pseudo_id": ["u"], "ga_session_id": [1]})
    with pytest.raises(DataValidationError, match="look like ms"):
        data.from_ga4(ga)


def test_day_first_and_month_first_slash_dates():
    # 13/02 can only be day-first: the whole column is read day-first
    st = validate(Store(events=_events(["01/02/2024 10:00", "13/02/2024 10:00"])))
    assert st.events["ts"].dt.month.tolist() == [2, 2]
    # 02/13 can only be month-first
    st = validate(Store(events=_events(["02/01/2024", "02/13/2024"])))
    assert st.events["ts"].dt.month.tolist() == [2, 2]
    with pytest.raises(DataValidationError, match="may be day-first or month-first"):
        validate(Store(events=_events(["01/02/2024", "03/04/2024"])))
    with pytest.raises(DataValidationError, match="both day-first and month-first"):
        validate(Store(events=_events(["13/02/2024", "02/13/2024"])))


def test_zoned_and_naive_values_in_one_column_are_an_error():
    with pytest.raises(DataValidationError, match="1 timestamps without a time zone beside 1"):
        validate(Store(events=_events(["2024-03-01 10:00+00:00", "2024-03-01 18:00"])))


def test_a_year_beyond_2262_is_a_named_error():
    with pytest.raises(DataValidationError, match="outside the years 1677-2262"):
        validate(Store(events=_events(["2300-01-01", "2024-01-01"])))
