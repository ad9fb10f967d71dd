"""Stores and raw input are never overwritten or mixed; misnamed files are named (bad input, class 3)."""

import pandas as pd
import pytest

from helpers import data
from helpers.data import DataValidationError, Store, load_store, save_store, validate


def _store(n=2, truth=None):
    ev = pd.DataFrame({"session_id": range(n), "user_id": [1] * n, "event": ["page_view"] * n,
                       "ts": ["2025-01-01"] * n})
    return Store(events=validate(Store(events=ev)).events, truth=truth)


def test_save_store_refuses_an_existing_store_and_replaces_it_whole(tmp_path):
    save_store(_store(truth={"planted": 1}), tmp_path)
    pd.DataFrame({"order_id": [1]}).to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "README.md").write_text("mine")
    with pytest.raises(FileExistsError, match="already holds a store"):
        save_store(_store(3), tmp_path)
    save_store(_store(3), tmp_path, overwrite=True)
    st = load_store(tmp_path)
    # no old table or answer key mixes with the new store; other files stay
    assert len(st.events) == 3 and st.orders is None and st.truth is None
    assert (tmp_path / "README.md").read_text() == "mine"


def _rees46(path):
    pd.DataFrame({"event_time": ["2019-10-01 00:00:00 UTC"], "event_type": ["view"],
                  "product_id": [1], "price": [2.0], "user_id": [3], "user_session": ["s"]}).to_csv(
        path, index=False)


def test_convert_never_writes_over_its_source_or_an_existing_store(tmp_path, capsys):
    src = tmp_path / "events.csv"
    _rees46(src)
    assert data.main(["convert", "--format", "rees46", str(src), str(tmp_path)]) == 2
    assert "would overwrite the source" in capsys.readouterr().err
    assert data.main(["convert", "--format", "rees46", str(src), str(tmp_path / "st")]) == 0
    assert data.main(["convert", "--format", "rees46", str(src), str(tmp_path / "st")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert data.main(["convert", "--format", "rees46", "--overwrite", str(src),
                      str(tmp_path / "st")]) == 0


def test_a_wrong_format_fails_in_one_line_naming_the_right_one(tmp_path, capsys):
    src = tmp_path / "rr.csv"
    src.write_text("timestamp,visitorid,event,itemid,transactionid\n1433221332117,1,view,5,\n")
    assert data.main(["convert", "--format", "ga4", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "fit --format retailrocket" in err
    assert data.main(["convert", "--format", "ga4", str(tmp_path / "nope.csv"), str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_two_files_for_one_table_and_misnamed_files_are_errors(tmp_path):
    save_store(_store(), tmp_path)
    _store().events.to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(DataValidationError, match="2 files for this table"):
        load_store(tmp_path)
    (tmp_path / "events.csv").unlink()
    for name in ("Orders.csv", "review.csv"):
        (tmp_path / name).write_text("order_id\n1\n")
        with pytest.raises(DataValidationError, match=f"{name} looks like the"):
            load_store(tmp_path)
        (tmp_path / name).unlink()


def test_a_gzipped_csv_table_loads(tmp_path):
    save_store(_store(), tmp_path)
    pd.DataFrame({"user_id": [1], "first_seen": ["2025-01-01"]}).to_csv(
        tmp_path / "users.csv.gz", index=False)
    assert load_store(tmp_path).users["user_id"].tolist() == [1]
