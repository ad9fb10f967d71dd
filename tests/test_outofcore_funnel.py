"""funnel.funnel and paths.sessionize on Parquet paths (DuckDB) give exactly the in-memory result."""

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from helpers import data, paths
from helpers import funnel as fn

STEPS = ["view_item", "add_to_cart", "begin_checkout", "purchase"]


@pytest.fixture(scope="module")
def store():
    return data.load_store()


@pytest.fixture(scope="module")
def shop_files(store, tmp_path_factory):
    d = tmp_path_factory.mktemp("shop")
    store.events.to_parquet(d / "events.parquet")
    store.sessions.to_parquet(d / "sessions.parquet")
    return d


def _write(ev, tmp_path, name="ev.parquet"):
    path = tmp_path / name
    ev.to_parquet(path)
    return str(path)


def _ev(rows):
    """Hand events: (session, user, seconds, event[, dev])."""
    cols = ["session_id", "user_id", "s", "event", "dev"][:len(rows[0])]
    ev = pd.DataFrame(rows, columns=cols)
    ev["ts"] = pd.to_datetime(ev.pop("s"), unit="s", utc=True)
    return ev


# --------------------------------------------------------------------------- funnel: the shop

@pytest.mark.parametrize("unit, window, by, ses", [
    ("session", None, None, None),
    ("session", "30min", "category", None),
    ("user", None, "device", "frame"),
    ("user", "1D", ["device", "category"], "path"),
])
def test_funnel_on_parquet_equals_in_memory_on_the_shop(store, shop_files, unit, window, by,
                                                        ses):
    sessions = {None: None, "frame": store.sessions,
                "path": str(shop_files / "sessions.parquet")}[ses]
    want = fn.funnel(store.events, STEPS, unit=unit, window=window, by=by, sessions=sessions)
    got = fn.funnel(str(shop_files / "events.parquet"), STEPS, unit=unit, window=window, by=by,
                    sessions=sessions)
    assert_frame_equal(got, want)
    assert want["n"].iloc[-1] > 0          # the comparison is not between two empty funnels


def test_sessions_argument_equals_attach_in_memory(store):
    with_attach = fn.attach(store.events, store.sessions, "device")
    assert_frame_equal(fn.funnel(store.events, STEPS, by="device", sessions=store.sessions),
                       fn.funnel(with_attach, STEPS, by="device"))


# --------------------------------------------------------------------------- funnel: hand cases

def test_ties_count_and_the_best_attempt_sets_segment_and_times(tmp_path):
    ev = _ev([(1, 1, 0, "a", "x"), (1, 1, 5, "c", "x"), (1, 1, 5, "b", "x"),   # b, c tie at 5 s
              (2, 2, 0, "a", "x"), (2, 2, 100, "a", "y"), (2, 2, 110, "b", "y"),
              (2, 2, 110, "c", "y")])
    path = _write(ev, tmp_path)
    got = fn.funnel(path, ["a", "b", "c"], window="10s", by="dev")
    # session 2: the attempt at 0 s runs out of window; the one at 100 s reaches c exactly
    # 10 s later (window inclusive) and brings its segment y
    assert got["n"].tolist() == [1, 1, 1, 1, 1, 1]
    assert got["dev"].tolist() == ["x"] * 3 + ["y"] * 3
    assert got["median_time_from_prev"].dt.total_seconds().tolist()[1:3] == [5.0, 0.0]
    assert got["median_time_from_prev"].dt.total_seconds().tolist()[4:] == [10.0, 0.0]
    assert_frame_equal(got, fn.funnel(ev, ["a", "b", "c"], window="10s", by="dev"))


def test_repeated_step_needs_a_later_row_and_last_start_counts(tmp_path):
    ev = _ev([(1, 1, 0, "a"), (1, 1, 4, "b"),                   # a, a, b: one a only
              (2, 1, 0, "a"), (2, 1, 0, "a"), (2, 1, 0, "b"),   # tie, but two a rows
              (3, 1, 0, "a"), (3, 1, 3, "a"), (3, 1, 5, "b")])  # no window: a at 3 s starts
    path = _write(ev, tmp_path)
    got = fn.funnel(path, ["a", "a", "b"])
    assert got["n"].tolist() == [3, 2, 2]
    # time a -> b: 0 s (session 2) and 2 s (session 3, from the last a before b): median 1 s
    assert got["median_time_from_prev"].iloc[2] == pd.Timedelta("1s")
    assert_frame_equal(got, fn.funnel(ev, ["a", "a", "b"]))
    two = fn.funnel(path, ["a", "b"])
    assert two["median_time_from_prev"].iloc[1] == pd.Timedelta("2s")     # 4, 0, 2 s
    assert_frame_equal(two, fn.funnel(ev, ["a", "b"]))


def test_random_logs_with_many_ties_match_in_memory(tmp_path):
    rng = np.random.default_rng(7)
    for i in range(12):
        n = int(rng.integers(1, 40))
        ev = pd.DataFrame({"session_id": rng.integers(1, 5, n), "user_id": rng.integers(1, 3, n),
                           "ts": pd.to_datetime(rng.integers(0, 6, n), unit="s", utc=True),
                           "event": rng.choice(list("abcd"), n), "dev": rng.choice(["m", "d"], n)})
        path = _write(ev, tmp_path, f"r{i}.parquet")
        steps = [str(x) for x in rng.choice(list("abc"), int(rng.integers(2, 5)))]
        kw = {"unit": ["session", "user"][i % 2], "window": [None, "0s", "2s"][i % 3],
              "by": [None, "dev"][(i // 2) % 2]}
        assert_frame_equal(fn.funnel(path, steps, **kw), fn.funnel(ev, steps, **kw),
                           obj=f"case {i}: {steps} {kw}")


def test_options_that_need_a_dataframe_raise(tmp_path):
    path = _write(_ev([(1, 1, 0, "a"), (1, 1, 1, "b"), (1, 1, 2, "c")]), tmp_path)
    for kw in [{"optional": ["b"]}, {"exclude": ["c"]}, {"max_gap": "1min"}]:
        with pytest.raises(ValueError, match="not supported on a Parquet path"):
            fn.funnel(path, ["a", "b", "c"], **kw)
    with pytest.raises(ValueError, match="no column"):
        fn.funnel(path, ["a", "b"], by="device")
    assert fn.funnel(path, ["a", "b", "c"], optional=())["n"].tolist() == [1, 1, 1]


# --------------------------------------------------------------------------- sessionize

def test_sessionize_parquet_ids_equal_in_memory_ids(store, tmp_path):
    ev = store.events.drop(columns="session_id").sample(frac=0.3, random_state=3)
    ev = ev.assign(ts=ev["ts"].dt.floor("15min")).reset_index(drop=True)   # many ties
    parts = np.array_split(np.arange(len(ev)), 2)
    for i, rows in enumerate(parts):
        ev.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet")
    out = paths.sessionize(str(tmp_path / "part-*.parquet"), "30min",
                           to=tmp_path / "sessionized.parquet")
    assert out == tmp_path / "sessionized.parquet"
    got = pd.read_parquet(out)
    want = paths.sessionize(ev, "30min")
    assert_series_equal(got["session_id"], want["session_id"])
    # Parquet written by DuckDB has no pandas metadata (Int64 comes back as float): values only
    assert_frame_equal(got, want, check_dtype=False)


def test_sessionize_path_needs_to_and_frame_refuses_it(tmp_path):
    ev = _ev([(1, 1, 0, "a")]).drop(columns="session_id")
    path = _write(ev, tmp_path)
    with pytest.raises(ValueError, match="to="):
        paths.sessionize(path)
    with pytest.raises(ValueError, match="to="):
        paths.sessionize(ev, to=tmp_path / "x.parquet")
    gap_edge = _ev([(1, 1, 0, "a"), (1, 1, 1800, "a"), (1, 1, 3601, "a")])
    out = paths.sessionize(_write(gap_edge, tmp_path, "g.parquet"), to=tmp_path / "g_out.parquet")
    assert pd.read_parquet(out)["session_id"].tolist() == [1, 1, 2]   # exactly 30 min: same


def test_absent_steps_warn_and_one_step_funnels_match_in_memory(tmp_path):
    ev = _ev([(1, 1, 0, "view_item"), (1, 1, 5, "purchase"), (2, 2, 0, "view_item")])
    path = _write(ev, tmp_path)
    steps = ["view_item", "begin_checkout", "purchase"]
    with pytest.warns(UserWarning, match="'begin_checkout'"):
        sql = fn.funnel(path, steps)
    with pytest.warns(UserWarning, match="'begin_checkout'"):
        mem = fn.funnel(ev, steps)
    assert_frame_equal(sql, mem)
    assert sql.attrs["absent_steps"] == mem.attrs["absent_steps"] == ["begin_checkout"]
    assert_frame_equal(fn.funnel(path, ["purchase"]), fn.funnel(ev, ["purchase"]))
