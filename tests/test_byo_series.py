"""Bring your own data: each public format -> adapter -> the whole notebook series.

The fixture files are written by this test from a small simulated shop, in the column layout of
each public source (GA4 flat export, RetailRocket, UCI Online Retail, REES46, and a plain store
directory with only some tables). Each is converted with the CLI and the full series runs on it
with papermill, as `make report DATA=dir` does. A notebook must either analyse or print a
"Skipped: ..." note for the parts whose tables the source lacks; none may crash.

The real public files in ../shared/datasets are used when that folder exists.
"""

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import data, report
from helpers.simulate import simulate

ROOT = report.ROOT
DATASETS = ROOT.parent / "shared" / "datasets"

# source channel -> (session_source, session_medium) that GA4's grouping maps back to it
_GA4_SOURCE = {"Organic Search": ("google", "organic"), "Paid Search": ("google", "cpc"),
               "Organic Social": ("instagram", "referral"), "Paid Social": ("facebook", "paid"),
               "Email": ("newsletter", "email"), "Referral": ("blog.example", "referral"),
               "Direct": ("(direct)", "(none)"), "Affiliates": ("partner", "affiliate")}


@pytest.fixture(scope="module")
def shop():
    return simulate(users=1200, seed=3)


def _us(ts: pd.Series) -> np.ndarray:
    return (ts.dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)) // pd.Timedelta("1us")


def to_ga4(st) -> pd.DataFrame:
    ev = st.events.merge(st.sessions[["session_id", "channel", "device"]], on="session_id")
    ev = ev.merge(st.items[["item_id", "name", "brand"]], on="item_id", how="left")
    src = ev["channel"].map(lambda c: _GA4_SOURCE[c][0])
    med = ev["channel"].map(lambda c: _GA4_SOURCE[c][1])
    out = pd.DataFrame({"event_name": ev["event"], "event_timestamp": _us(ev["ts"]),
                        "user_pseudo_id": "u" + ev["user_id"].astype(str),
                        "ga_session_id": ev["session_id"], "session_source": src,
                        "session_medium": med, "device_category": ev["device"],
                        "search_term": ev["search_term"], "item_id": ev["item_id"].astype("Int64"),
                        "item_name": ev["name"], "item_category": ev["category"],
                        "item_brand": ev["brand"], "price": ev["value"].where(ev["item_id"].notna())})
    # purchases: one row per order line, with the order's transaction id and revenue
    o = st.orders.loc[st.orders["session_id"].notna()].merge(st.order_lines, on="order_id")
    o = o.merge(st.sessions[["session_id", "channel", "device"]], on="session_id")
    o = o.merge(st.items[["item_id", "name", "brand", "category"]], on="item_id")
    buy = pd.DataFrame({"event_name": "purchase", "event_timestamp": _us(o["ordered_at"]),
                        "user_pseudo_id": "u" + o["user_id"].astype(str),
                        "ga_session_id": o["session_id"],
                        "session_source": o["channel"].map(lambda c: _GA4_SOURCE[c][0]),
                        "session_medium": o["channel"].map(lambda c: _GA4_SOURCE[c][1]),
                        "device_category": o["device"], "transaction_id": "T" + o["order_id"].astype(str),
                        "purchase_revenue": o["revenue"], "item_id": o["item_id"].astype("Int64"),
                        "item_name": o["name"], "item_category": o["category"],
                        "item_brand": o["brand"], "price": o["unit_price"],
                        "quantity": o["quantity"]})
    extra = out.groupby("ga_session_id").head(1).assign(event_name="session_start")
    out = pd.concat([out.loc[out["event_name"] != "purchase"], buy, extra], ignore_index=True)
    return out.sort_values(["event_timestamp", "ga_session_id"], kind="stable")


def to_retailrocket(st) -> pd.DataFrame:
    ev = st.events.loc[st.events["event"].isin(["view_item", "add_to_cart"])]
    rr = pd.DataFrame({"timestamp": _us(ev["ts"]) // 1000, "visitorid": ev["user_id"],
                       "event": ev["event"].map({"view_item": "view", "add_to_cart": "addtocart"}),
                       "itemid": ev["item_id"], "transactionid": np.nan})
    o = st.orders.merge(st.order_lines, on="order_id")
    tr = pd.DataFrame({"timestamp": _us(o["ordered_at"]) // 1000, "visitorid": o["user_id"],
                       "event": "transaction", "itemid": o["item_id"],
                       "transactionid": o["order_id"].astype(float)})
    return pd.concat([rr, tr], ignore_index=True).sort_values("timestamp", kind="stable")


def to_online_retail(st) -> pd.DataFrame:
    o = st.orders.merge(st.order_lines, on="order_id").merge(st.items, on="item_id")
    o = o.merge(st.users[["user_id", "region"]], on="user_id")
    cancelled = o["status"] != "completed"
    inv = o["order_id"].astype(str).where(~cancelled, "C" + o["order_id"].astype(str))
    when = o["ordered_at"].dt.tz_convert("UTC").dt.strftime("%m/%d/%Y %H:%M")
    uci = pd.DataFrame({"InvoiceNo": inv, "StockCode": o["item_id"].astype(str),
                        "Description": o["name"], "Quantity": o["quantity"].where(~cancelled, -o["quantity"]),
                        "InvoiceDate": when, "UnitPrice": o["unit_price"],
                        "CustomerID": o["user_id"].astype(float), "Country": o["region"]})
    guest = uci.head(3).assign(CustomerID=np.nan, InvoiceNo="999999")  # no customer: dropped, reported
    return pd.concat([uci, guest], ignore_index=True)


def to_rees46(st) -> pd.DataFrame:
    ev = st.events.loc[st.events["event"].isin(["view_item", "add_to_cart"])].merge(
        st.items[["item_id", "category", "brand", "price"]], on="item_id", suffixes=("_ev", ""))
    r = pd.DataFrame({"event_time": ev["ts"].dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
                      "event_type": ev["event"].map({"view_item": "view", "add_to_cart": "cart"}),
                      "product_id": ev["item_id"], "category_id": ev["category"].astype("category").cat.codes,
                      "category_code": ev["category"], "brand": ev["brand"], "price": ev["price"],
                      "user_id": ev["user_id"], "user_session": "s" + ev["session_id"].astype(str)})
    o = st.orders.loc[st.orders["session_id"].notna() & (st.orders["status"] == "completed")]
    o = o.merge(st.order_lines, on="order_id").merge(st.items, on="item_id")
    b = pd.DataFrame({"event_time": o["ordered_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
                      "event_type": "purchase", "product_id": o["item_id"],
                      "category_id": 0, "category_code": o["category"], "brand": o["brand"],
                      "price": o["unit_price"], "user_id": o["user_id"],
                      "user_session": "s" + o["session_id"].astype("int64").astype(str)})
    return pd.concat([r, b], ignore_index=True).sort_values("event_time", kind="stable")


FORMATS = {"ga4": to_ga4, "retailrocket": to_retailrocket, "online_retail": to_online_retail,
           "rees46": to_rees46}


@pytest.fixture(scope="module")
def converted(shop, tmp_path_factory):
    """{name: store directory}: each format converted with the CLI, plus a partial store."""
    base = tmp_path_factory.mktemp("byo")
    dirs = {}
    for fmt, export in FORMATS.items():
        src = base / f"{fmt}.csv"
        export(shop).to_csv(src, index=False)
        assert data.main(["convert", "--format", fmt, str(src), str(base / fmt)]) == 0
        dirs[fmt] = base / fmt
    # a store with events, sessions, users, orders and order_lines only, written as CSV
    partial = data.Store(events=shop.events, sessions=shop.sessions, users=shop.users,
                         orders=shop.orders, order_lines=shop.order_lines)
    data.save_store(partial, base / "partial", fmt="csv")
    dirs["partial"] = base / "partial"
    return dirs


def test_each_format_converts_to_a_valid_store(converted):
    expected = {"ga4": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "retailrocket": {"events", "sessions", "users"},
                "online_retail": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "rees46": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "partial": {"events", "sessions", "users", "orders", "order_lines"}}
    for name, folder in converted.items():
        st = data.load_store(folder)
        assert expected[name] <= set(st.available()), name
        assert st.truth is None


@pytest.fixture(scope="module")
def series(converted, tmp_path_factory):
    """Run the whole series on every converted store, two at a time (the machine has 2 cores)."""
    out = tmp_path_factory.mktemp("series")
    jobs = list(converted.items())
    results = {}
    for i in range(0, len(jobs), 2):
        procs = [(name, out / name, subprocess.Popen(
            [sys.executable, "-m", "helpers.report", "--data", str(folder), "--out", str(out / name)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)) for name, folder in jobs[i:i + 2]]
        for name, folder, p in procs:
            log, _ = p.communicate(timeout=900)
            results[name] = (p.returncode, log, folder)
    return results


@pytest.mark.parametrize("name", [*FORMATS, "partial"])
def test_series_runs_and_reports_what_it_skipped(series, name):
    code, log, folder = series[name]
    assert code == 0, f"{name}: the series failed\n{log[-3000:]}"
    books = report.notebooks()
    for nb_path in books:
        assert (folder / f"{nb_path.stem}.html").exists(), nb_path.stem
        nb = nbformat.read(folder / "executed" / nb_path.name, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{name}/{nb_path.stem}: {errors[:1]}"
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert all(b.stem in index for b in books)


def test_series_on_retailrocket_skips_order_analyses(series):
    # RetailRocket has no prices or orders: a notebook that needs orders says so
    _, _, folder = series["retailrocket"]
    skipped = []
    for nb_path in report.notebooks():
        nb = nbformat.read(folder / "executed" / nb_path.name, as_version=4)
        skipped += report.skipped_parts(nb)
    if len(report.notebooks()) > 1:
        assert any("orders" in s for s in skipped), skipped


# Real public exports, when ../shared/datasets holds them (a user's clone does not): the first
# rows of each file go through the same converter and the whole series.
REAL = {"retailrocket": "retailrocket/events.csv", "online_retail": "online_retail/online_retail.csv",
        "rees46": "rees46/events.csv", "ga4": "ga4/events.csv"}


@pytest.mark.parametrize("fmt", list(REAL))
def test_series_on_real_public_files(fmt, tmp_path):
    src = DATASETS / REAL[fmt]
    if not src.exists():
        pytest.skip(f"no {REAL[fmt]} under {DATASETS} (real {fmt} data is optional)")
    sample = tmp_path / f"{fmt}.csv"
    pd.read_csv(src, nrows=200_000, encoding="latin-1" if fmt == "online_retail" else None).to_csv(
        sample, index=False)
    assert data.main(["convert", "--format", fmt, str(sample), str(tmp_path / "store")]) == 0
    done = subprocess.run([sys.executable, "-m", "helpers.report", "--data", str(tmp_path / "store"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
