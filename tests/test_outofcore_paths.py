"""Out-of-core transitions, top_paths and channel_summary: events given as Parquet paths.

The contract: on a path the helpers compute in DuckDB exactly what the in-memory code computes
on the DataFrame read from the same files in the same order (pandas.testing equality, attrs
included). Input order of Parquet rows is (file name, row in file), which decides ties in time.
"""

import numpy as np
import pandas as pd
import pytest

from helpers import data, engine, paths, sources
from helpers.data import Store


def _ts(*minutes):
    return pd.to_datetime("2025-01-01 10:00", utc=True) + pd.to_timedelta(list(minutes), "min")


@pytest.fixture(scope="module")
def shop():
    return data.load_store()


@pytest.fixture(scope="module")
def shop_files(shop, tmp_path_factory):
    """The shop's events, rows shuffled (so the in-memory sort does real work), in 3 files.

    File names sort as part-10 < part-2 < part-9 (as strings, not numbers): both DuckDB's glob
    and pd.read_parquet(directory) read them in that order.
    """
    d = tmp_path_factory.mktemp("events")
    ev = shop.events.sample(frac=1.0, random_state=3).reset_index(drop=True)
    # Ties: in 3000 sessions, give the 2nd row (in shuffled order) the time of the 1st row.
    nth = ev.groupby("session_id").cumcount().to_numpy()
    first_ts = ev.loc[nth == 0].set_index("session_id")["ts"]
    pick = np.flatnonzero(nth == 1)[:3000]
    ev.loc[pick, "ts"] = first_ts.reindex(ev.loc[pick, "session_id"]).to_numpy()
    cut = np.array_split(np.arange(len(ev)), 3)
    for name, rows in zip(["part-10", "part-2", "part-9"], cut):
        ev.iloc[rows].to_parquet(d / f"{name}.parquet", index=False)
    return d


@pytest.fixture(scope="module")
def shop_back(shop_files):
    return pd.read_parquet(shop_files)


def test_file_order_is_sorted_file_names(shop_files):
    # the tie rule relies on DuckDB numbering files in sorted-name order
    con = engine.connect()
    rows = con.execute(f"SELECT DISTINCT file_index, filename FROM "
                       f"{engine.parquet_source(shop_files)} ORDER BY 1").fetchall()
    con.close()
    names = [r[1] for r in rows]
    assert names == sorted(names) and [r[0] for r in rows] == [0, 1, 2]


@pytest.mark.parametrize("by", ["event", "page_type", "category"])
def test_transitions_path_equals_memory_on_shop(shop_files, shop_back, by):
    mem = paths.transitions(shop_back, by=by)
    ooc = paths.transitions(shop_files, by=by)
    pd.testing.assert_frame_equal(ooc, mem)
    assert ooc.attrs == mem.attrs
    if by == "category":  # most events have no category: they are (missing), not dropped
        assert ooc.attrs["missing"] == int(shop_back["category"].isna().sum()) > 0


@pytest.mark.parametrize("by,max_steps,n", [("page_type", 5, 10), ("event", 3, 25),
                                            ("category", 8, 40)])
def test_top_paths_path_equals_memory_on_shop(shop_files, shop_back, by, max_steps, n):
    mem = paths.top_paths(shop_back, max_steps, n, by=by)
    ooc = paths.top_paths(str(shop_files / "*.parquet"), max_steps, n, by=by)
    pd.testing.assert_frame_equal(ooc, mem)
    assert ooc.attrs == mem.attrs


@pytest.fixture()
def tie_files(tmp_path):
    """Session 1 has three events at 10:00 split over two files; session 2 is one event."""
    a = pd.DataFrame({"session_id": [1, 2], "ts": _ts(0, 5),
                      "event": ["view_item", "page_view"],
                      "page_type": ["product", None]})
    b = pd.DataFrame({"session_id": [1, 1, 1], "ts": _ts(0, 0, 1),
                      "event": ["page_view", "view_item", "purchase"],
                      "page_type": ["home", "product", "checkout"]})
    # "part-1x" sorts before "part-2": its rows come first in input order
    a.to_parquet(tmp_path / "part-1x.parquet", index=False)
    b.to_parquet(tmp_path / "part-2.parquet", index=False)
    return tmp_path


def test_transitions_hand_case_ties_follow_file_then_row_order(tie_files):
    # input order of session 1: view_item (file 1), page_view, view_item (file 2), purchase
    tr = paths.transitions(tie_files)
    got = {(f, t): n for f, t, n in tr[["from", "to", "n"]].itertuples(index=False)}
    assert got == {("(start)", "view_item"): 1, ("view_item", "page_view"): 1,
                   ("page_view", "view_item"): 1, ("view_item", "purchase"): 1,
                   ("purchase", "(exit)"): 1, ("(start)", "page_view"): 1,
                   ("page_view", "(exit)"): 1}
    pd.testing.assert_frame_equal(tr, paths.transitions(pd.read_parquet(tie_files)))
    # page_type: session 2's only event has none -> (start) -> (missing) -> (exit)
    tp = paths.transitions(tie_files, by="page_type")
    assert tp.attrs == {"missing": 1, "sessions": 2}
    row = tp.loc[(tp["from"] == "(missing)")]
    assert row[["to", "n", "probability"]].values.tolist() == [["(exit)", 1, 1.0]]
    pd.testing.assert_frame_equal(tp, paths.transitions(pd.read_parquet(tie_files),
                                                        by="page_type"))


def test_top_paths_hand_case_with_ties(tie_files):
    # session 1: product, home, product, checkout (no repeats to collapse); session 2: (missing)
    tp = paths.top_paths(tie_files, max_steps=3)
    assert tp[["path", "steps", "sessions", "purchases"]].values.tolist() == [
        ["product → home → product → …", 4, 1, 1], ["(missing)", 1, 1, 0]]
    assert tp.attrs == {"sessions": 2, "purchases": 1, "truncated": 1}
    pd.testing.assert_frame_equal(tp, paths.top_paths(pd.read_parquet(tie_files), max_steps=3))


def test_path_input_errors(tmp_path):
    f = tmp_path / "ev.parquet"
    pd.DataFrame({"session_id": [1, None], "ts": _ts(0, 1), "event": ["a", "b"]}).to_parquet(f)
    with pytest.raises(ValueError, match="session_id: 1 null"):
        paths.transitions(f)
    with pytest.raises(ValueError, match="missing column.*'page_type'"):
        paths.top_paths(f)
    g = tmp_path / "ev2.parquet"
    pd.DataFrame({"session_id": [1], "ts": ["2025-01-01"], "event": ["a"]}).to_parquet(g)
    with pytest.raises(ValueError, match="expected timestamps"):
        paths.transitions(g)


def test_path_never_builds_the_pandas_event_arrays(tie_files, monkeypatch):
    # the in-memory ordering (O(events) numpy arrays) must not run on a path
    def boom(*a, **k):
        raise AssertionError("events were ordered in pandas")
    monkeypatch.setattr(paths, "_ordered", boom)
    assert paths.transitions(tie_files)["n"].sum() == 7
    assert paths.top_paths(tie_files).attrs["sessions"] == 2


# --------------------------------------------------------------------------- channel_summary


@pytest.fixture(scope="module")
def shop_ses_file(shop, tmp_path_factory):
    d = tmp_path_factory.mktemp("sessions")
    ses = shop.sessions
    ses.iloc[: len(ses) // 2].to_parquet(d / "part-0.parquet", index=False)
    ses.iloc[len(ses) // 2:].to_parquet(d / "part-1.parquet", index=False)
    return d


@pytest.mark.parametrize("lazy", ["both", "events", "sessions"])
def test_channel_summary_on_paths_equals_memory(shop, shop_files, shop_ses_file, lazy):
    mem = sources.channel_summary(shop, margin=0.3)
    store = Store(events=shop_files if lazy != "sessions" else shop.events,
                  sessions=shop_ses_file if lazy != "events" else shop.sessions,
                  users=shop.users, orders=shop.orders, spend=shop.spend)
    ooc = sources.channel_summary(store, margin=0.3)
    pd.testing.assert_frame_equal(ooc, mem)
    assert ooc.attrs == mem.attrs


def test_channel_summary_on_paths_hand_case(tmp_path):
    # same tiny shop as the in-memory hand test; user 8 has no user row -> first session channel
    ses = pd.DataFrame({"session_id": [1, 2, 3, 4], "user_id": [7, 7, 8, 9],
                        "started_at": _ts(60, 0, 0, 0), "channel": ["Email", "Direct", None,
                                                                   "Email"]})
    ev = pd.DataFrame({"session_id": [1, 2, 2, 3], "user_id": [7, 7, 7, 8], "ts": _ts(60, 0, 1, 0),
                       "event": ["page_view", "page_view", "purchase", "page_view"]})
    ses.to_parquet(tmp_path / "s.parquet")
    ev.to_parquet(tmp_path / "e.parquet")
    o = pd.DataFrame({"order_id": [1, 2], "user_id": [7, 9], "session_id": [2, 4],
                      "ordered_at": _ts(1, 5), "revenue": [50.0, 20.0],
                      "status": ["completed", "refunded"]})
    store = Store(events=str(tmp_path / "e.parquet"), sessions=str(tmp_path / "s.parquet"),
                  orders=o)
    out = sources.channel_summary(store).set_index("channel")
    # Direct: session 2 (2 events, bought); Email: sessions 1 and 4 (4 has no event: a bounce)
    assert out.loc["Direct", ["sessions", "new_users", "conversions", "orders"]].tolist() == [
        1, 1, 1, 1]
    assert out.loc["Email", ["sessions", "users", "new_users", "bounce_rate"]].tolist() == [
        2, 2, 1, 1.0]
    assert out.loc["(not set)", ["sessions", "new_users"]].tolist() == [1, 1]
    assert out.attrs["orders_excluded"] == {"refunded": 1}
    mem = Store(events=ev, sessions=ses, orders=o)
    pd.testing.assert_frame_equal(sources.channel_summary(store),
                                  sources.channel_summary(mem))


def test_channel_summary_path_needs_channel(tmp_path):
    pd.DataFrame({"session_id": [1], "user_id": [1], "started_at": _ts(0)}).to_parquet(
        tmp_path / "s.parquet")
    store = Store(events=pd.DataFrame({"session_id": [1], "event": ["page_view"]}),
                  sessions=tmp_path / "s.parquet")
    with pytest.raises(ValueError, match="sessions.channel"):
        sources.channel_summary(store)
