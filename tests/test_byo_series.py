"""Bring your own data: each public format -> adapter -> the whole notebook series.

The fixture files are written by this test from a small simulated shop, in the column layout of
each public source (GA4 flat export, RetailRocket, UCI Online Retail, REES46, and a plain store
directory with only some tables). Each is converted with the CLI and the full series runs on it
with papermill, as `make report DATA=dir` does. A notebook must either analyse or print a
"Skipped: ..." note for the parts whose tables the source lacks; none may crash.

The real public files in ../shared/datasets are used when that folder exists.
"""

import re
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
    """A flat GA4 export, with a user property (``user_tier``) and an event of the shop's own."""
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
    # a marker of the shop's own: a payment error after every fifth payment step
    pay = out.loc[out["event_name"] == "add_payment_info"].iloc[::5]
    err = pay[["event_timestamp", "user_pseudo_id", "ga_session_id", "session_source",
               "session_medium", "device_category"]].assign(event_name="payment_error",
                                                           event_timestamp=pay["event_timestamp"] + 1)
    out = pd.concat([out, err], ignore_index=True)
    tier = st.users.set_index("user_id")["city_tier"]
    out["user_tier"] = out["user_pseudo_id"].str[1:].astype("int64").map(tier).to_numpy()
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


def degenerate_stores(st, base):
    """Small legitimate stores the series must survive: {name: directory}."""
    out = {}

    def save(name, **tables):
        data.save_store(data.Store(**tables), base / name, fmt="csv")
        out[name] = base / name

    save("events_only", events=st.events)
    save("no_purchases", events=st.events.loc[st.events["event"] != "purchase"],
         sessions=st.sessions, users=st.users)
    one = st.orders["user_id"].value_counts().index[0]
    o1 = st.orders.loc[st.orders["user_id"] == one]
    save("one_user", events=st.events.loc[st.events["user_id"] == one],
         sessions=st.sessions.loc[st.sessions["user_id"] == one],
         users=st.users.loc[st.users["user_id"] == one], orders=o1,
         order_lines=st.order_lines.loc[st.order_lines["order_id"].isin(o1["order_id"])])
    start = st.events["ts"].max().normalize() - pd.Timedelta("2D")
    s2 = st.sessions.loc[st.sessions["started_at"] >= start]
    o2 = st.orders.loc[st.orders["session_id"].isin(s2["session_id"])]
    save("two_days", events=st.events.loc[st.events["session_id"].isin(s2["session_id"])],
         sessions=s2, users=st.users.loc[st.users["user_id"].isin(s2["user_id"])], orders=o2,
         order_lines=st.order_lines.loc[st.order_lines["order_id"].isin(o2["order_id"])],
         items=st.items)
    # orders alone (with their lines and reviews): the loader derives events, sessions and users
    (base / "orders_only").mkdir()
    st.orders.drop(columns=["session_id"]).to_csv(base / "orders_only" / "orders.csv", index=False)
    st.order_lines.to_csv(base / "orders_only" / "order_lines.csv", index=False)
    st.reviews.to_csv(base / "orders_only" / "reviews.csv", index=False)
    out["orders_only"] = base / "orders_only"
    return out


def real_stores(base):
    """The real public data sets of ../shared/datasets that map to a store: {name: directory}."""
    out = {}
    rees = DATASETS / "rees46-multicategory" / "2019-Oct_head17433.csv.gz"
    if rees.exists():
        assert data.main(["convert", "--format", "rees46", str(rees), str(base / "rees46_real")]) == 0
        out["rees46_real"] = base / "rees46_real"
    olist = DATASETS / "olist-sample-8k"
    if olist.exists():
        assert data.main(["convert", "--format", "olist", str(olist), str(base / "olist_real")]) == 0
        out["olist_real"] = base / "olist_real"
    ab = DATASETS / "udacity-ab-data" / "ab_data.csv.gz"
    if ab.exists():
        # the first 50,000 rows keep the series quick and keep the data's assignment errors
        out["ab_data_real"] = ab_data_store(pd.read_csv(ab, nrows=50_000), base / "ab_data_real")
    insta = DATASETS / "instacart-sample" / "instacart_df_sample_150k.csv.gz"
    if insta.exists():
        out["instacart_real"] = instacart_store(pd.read_csv(insta, index_col=0), base / "instacart_real")
    cats = DATASETS / "cookie-cats" / "cookie_cats.csv.gz"
    if cats.exists():
        out["cookie_cats_real"] = cookie_cats_store(pd.read_csv(cats, nrows=20_000),
                                                    base / "cookie_cats_real")
    paths = DATASETS / "channelattribution-paths" / "Data.csv.gz"
    if paths.exists():
        out["paths_real"] = attribution_paths_store(pd.read_csv(paths, sep=";", nrows=300),
                                                    base / "paths_real")
    alexa = DATASETS / "amazon-alexa-reviews" / "amazon_alexa.tsv.gz"
    if alexa.exists():
        out["alexa_real"] = alexa_store(pd.read_csv(alexa, sep="\t"), base / "alexa_real")
    return out


def cookie_cats_store(cc: pd.DataFrame, folder: Path) -> Path:
    """The Cookie Cats gate test: each player installs on one day (the data has no dates), comes
    back a day and a week later or not; the gate version is the experiment's variant."""
    day0 = pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(cc.index % 7, unit="D")
    rows = [pd.DataFrame({"user_id": cc["userid"], "ts": day0, "event": "install"})]
    for flag, days, name in (("retention_1", 1, "return_day_1"), ("retention_7", 7, "return_day_7")):
        back = cc[flag].astype(bool).to_numpy()
        rows.append(pd.DataFrame({"user_id": cc["userid"][back], "ts": day0[back] + pd.Timedelta(days, "D"),
                                  "event": name}))
    ev = pd.concat(rows, ignore_index=True)
    ev["session_id"] = ev["user_id"].astype(str) + "-" + ev["event"]
    folder.mkdir(parents=True)
    ev.to_csv(folder / "events.csv", index=False)
    pd.DataFrame({"experiment": "gate", "user_id": cc["userid"], "variant": cc["version"],
                  "assigned_at": day0}).to_csv(folder / "assignments.csv", index=False)
    return folder


def attribution_paths_store(paths: pd.DataFrame, folder: Path) -> Path:
    """ChannelAttribution's aggregated journeys, one user per journey: a session per touch (a day
    apart; the data has no times) on its channel, a purchase in the last one when it converted."""
    users, sessions, events, uid = [], [], [], 0
    t0 = pd.Timestamp("2020-01-01", tz="UTC")
    for row in paths.itertuples(index=False):
        touches = [t.strip() for t in row.path.split(">")]
        n_conv = round(row.total_conversions)
        value = row.total_conversion_value / n_conv if n_conv else 0.0
        for k in range(n_conv + int(row.total_null)):
            uid += 1
            start = t0 + pd.Timedelta(minutes=uid)
            for j, ch in enumerate(touches):
                sid = f"{uid}-{j + 1}"
                ts = start + pd.Timedelta(days=j)
                sessions.append((sid, uid, ts, ch))
                events.append((sid, uid, ts, "page_view", None))
            if k < n_conv:
                events.append((sid, uid, ts + pd.Timedelta(minutes=5), "purchase", round(value, 2)))
            users.append((uid, start, touches[0]))
    folder.mkdir(parents=True)
    pd.DataFrame(users, columns=["user_id", "first_seen", "acquisition_channel"]).to_csv(
        folder / "users.csv", index=False)
    pd.DataFrame(sessions, columns=["session_id", "user_id", "started_at", "channel"]).to_csv(
        folder / "sessions.csv", index=False)
    pd.DataFrame(events, columns=["session_id", "user_id", "ts", "event", "value"]).to_csv(
        folder / "events.csv", index=False)
    return folder


def alexa_store(rv: pd.DataFrame, folder: Path) -> Path:
    """Amazon Alexa reviews alone: every review is an anonymous order of its product variation,
    with no price, reviewed on the day it was written."""
    rv = rv.rename(columns=lambda c: c.lstrip("\ufeff"))
    day = pd.to_datetime(rv["date"], format="%d-%b-%y").dt.tz_localize("UTC")
    n = len(rv)
    folder.mkdir(parents=True)
    pd.DataFrame({"order_id": range(1, n + 1), "user_id": range(1, n + 1), "ordered_at": day,
                  "revenue": None}).to_csv(folder / "orders.csv", index=False)
    pd.DataFrame({"order_id": range(1, n + 1), "user_id": range(1, n + 1),
                  "item_id": rv["variation"].str.strip(), "rating": rv["rating"],
                  "text": rv["verified_reviews"], "created_at": day}).to_csv(
        folder / "reviews.csv", index=False)
    return folder


def ab_data_store(ab: pd.DataFrame, folder: Path) -> Path:
    """The Udacity landing-page test as an analyst would write it: the rows whose group and page
    agree, each user once; a page view per user and a purchase for each conversion."""
    ab = ab.loc[(ab["group"] == "treatment") == (ab["landing_page"] == "new_page")]
    ab = ab.drop_duplicates("user_id").reset_index(drop=True)
    ts = pd.to_datetime(ab["timestamp"], utc=True)
    view = pd.DataFrame({"session_id": ab["user_id"], "user_id": ab["user_id"], "ts": ts,
                         "event": "page_view", "page_type": ab["landing_page"]})
    bought = ab["converted"] == 1
    buy = view.loc[bought].assign(event="purchase", ts=ts[bought] + pd.Timedelta("1s"),
                                  page_type="confirmation")
    folder.mkdir(parents=True)
    pd.concat([view, buy], ignore_index=True).to_csv(folder / "events.csv", index=False)
    pd.DataFrame({"experiment": "landing_page", "user_id": ab["user_id"], "variant": ab["group"],
                  "assigned_at": ts}).to_csv(folder / "assignments.csv", index=False)
    return folder


def instacart_store(ic: pd.DataFrame, folder: Path) -> Path:
    """Instacart orders have no dates, only days since the previous order: an analyst anchors
    each user's first order on one day and counts on; there are no prices."""
    o = ic.drop_duplicates("order_id").sort_values(["user_id", "order_number"], kind="mergesort")
    days = o["days_since_prior_order"].fillna(0).groupby(o["user_id"]).cumsum()
    ordered = (pd.Timestamp("2017-01-01", tz="UTC") + pd.to_timedelta(days, unit="D")
               + pd.to_timedelta(o["order_hour_of_day"], unit="h"))
    folder.mkdir(parents=True)
    pd.DataFrame({"order_id": o["order_id"].astype("int64"), "user_id": o["user_id"].astype("int64"),
                  "ordered_at": ordered, "revenue": None}).to_csv(folder / "orders.csv", index=False)
    pd.DataFrame({"order_id": ic["order_id"].astype("int64"), "item_id": ic["product_id"].astype("int64"),
                  "quantity": 1, "unit_price": None}).to_csv(folder / "order_lines.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def converted(shop, tmp_path_factory):
    """{name: store directory}: each format converted with the CLI, a partial store, the small
    degenerate stores and the real public data sets that are present."""
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
    dirs.update(degenerate_stores(shop, base))
    dirs.update(real_stores(base))
    return dirs


SYNTHETIC = [*FORMATS, "partial", "events_only", "no_purchases", "one_user", "two_days",
             "orders_only"]
REAL_SETS = ["rees46_real", "olist_real", "ab_data_real", "instacart_real", "cookie_cats_real",
             "paths_real", "alexa_real"]


def test_each_format_converts_to_a_valid_store(converted):
    expected = {"ga4": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "retailrocket": {"events", "sessions", "users", "orders", "order_lines"},
                "online_retail": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "rees46": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "partial": {"events", "sessions", "users", "orders", "order_lines"},
                "events_only": {"events", "orders"},
                "orders_only": {"events", "sessions", "users", "orders", "order_lines", "reviews"},
                "olist_real": {"events", "sessions", "users", "orders", "order_lines", "items"},
                "ab_data_real": {"events", "orders", "assignments"},
                "instacart_real": {"events", "sessions", "users", "orders", "order_lines"},
                "cookie_cats_real": {"events", "sessions", "users", "assignments"},
                "paths_real": {"events", "sessions", "users", "orders"},
                "alexa_real": {"events", "sessions", "users", "orders", "reviews"}}
    for name, folder in converted.items():
        st = data.load_store(folder)
        assert expected.get(name, {"events"}) <= set(st.available()), name
        assert st.truth is None


# notebook parameters an analyst would set for a store (make report PARAMS=...)
STORE_PARAMS = {"cookie_cats_real": ["METRIC=return_day_7"]}


@pytest.fixture(scope="module")
def series(converted, tmp_path_factory):
    """Run the whole series on every store, two at a time (the machine has 2 cores)."""
    out = tmp_path_factory.mktemp("series")
    jobs = list(converted.items())
    results = {}
    for i in range(0, len(jobs), 2):
        procs = [(name, out / name, subprocess.Popen(
            [sys.executable, "-m", "helpers.report", "--data", str(folder), "--out", str(out / name),
             *[f"--param={p}" for p in STORE_PARAMS.get(name, [])]],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)) for name, folder in jobs[i:i + 2]]
        for name, folder, p in procs:
            log, _ = p.communicate(timeout=1800)
            results[name] = (p.returncode, log, folder)
    return results


def _run(series, name):
    if name not in series:
        pytest.skip(f"{name}: its data set is not under {DATASETS} (real data is optional)")
    return series[name]


@pytest.mark.parametrize("name", SYNTHETIC + REAL_SETS)
def test_series_runs_and_reports_what_it_skipped(series, name):
    code, log, folder = _run(series, name)
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


# What the bundled shop's story may say and no other shop's: the simulator, its answer key, its
# sale, its currency, and its experiments, campaigns and coupons (unless the data has them too).
_ALWAYS_BANNED = ["simulat", "answer key", "planted", "11.11", "Singles", "CNY"]
_BUNDLED_NAMES = ["checkout_redesign", "homepage_banner", "winback_2025q3", "double11",
                  "SALE1111", "WINBACK20"]


def _names_in_store(folder: Path) -> set[str]:
    st = data.load_store(folder)
    found = set()
    for table, col in (("assignments", "experiment"), ("campaign_sends", "campaign"),
                       ("sessions", "campaign"), ("orders", "coupon")):
        df = getattr(st, table)
        if df is not None and col in df.columns:
            found |= set(df[col].dropna().astype(str))
    return found


@pytest.mark.parametrize("name", SYNTHETIC + REAL_SETS)
def test_story_reports_say_nothing_of_the_bundled_shop(series, converted, name):
    code, log, folder = _run(series, name)
    assert code == 0, log[-3000:]
    own = _names_in_store(converted[name])
    banned = _ALWAYS_BANNED + [n for n in _BUNDLED_NAMES if n not in own]
    found = []
    for nb_path in report.notebooks():
        page = (folder / f"{nb_path.stem}.summary.html").read_text(encoding="utf-8")
        text = re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", page, flags=re.DOTALL)
        for word in banned:
            for m in re.finditer(re.escape(word), text, re.IGNORECASE):
                found.append(f"{nb_path.stem}: {word!r} in …{text[max(0, m.start() - 80):m.end() + 80]}…")
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("name", SYNTHETIC + REAL_SETS)
def test_story_reports_read_like_a_report_on_every_store(series, name):
    code, log, folder = _run(series, name)
    assert code == 0, log[-3000:]
    problems = []
    for nb_path in report.notebooks():
        page = (folder / f"{nb_path.stem}.summary.html").read_text(encoding="utf-8")
        nb = nbformat.read(folder / "executed" / nb_path.name, as_version=4)
        found = report.story_problems(page, nb)
        problems += [f"{nb_path.stem} {k}: {found[k][:4]}" for k in ("cells", "reprs", "ids")
                     if found[k]]
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_series_on_retailrocket_skips_revenue_analyses(series):
    # RetailRocket has no prices: orders are derived from its purchases, without revenue, and a
    # notebook part that needs revenue says so
    _, _, folder = series["retailrocket"]
    skipped = []
    for nb_path in report.notebooks():
        nb = nbformat.read(folder / "executed" / nb_path.name, as_version=4)
        skipped += report.skipped_parts(nb)
    if len(report.notebooks()) > 1:
        assert any("revenue" in s for s in skipped), skipped


# --------------------------------------------------------------------------- generated claims
# A sentence the series wrote about a store must equal the same number computed here, with plain
# pandas/scipy on that store. Each check returns None when its sentence is absent (the part does
# not apply to that store), else a list of mismatches.

def _said(folder: Path, stem: str) -> str:
    nb = nbformat.read(folder / "executed" / f"{stem}.ipynb", as_version=4)
    return "\n".join(o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))


def _num(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def _pct(x: float) -> float:
    """A share at the precision the kit prints it (one decimal, two digits below 0.5 %)."""
    from helpers.narrate import pct

    return _num(pct(x).removesuffix(" %"))


def claim_reconciliation(st, said):
    m = re.search(r"Of the ([\d,]+) sessions with a purchase event, the ordered funnel \(.*?\) "
                  r"counts ([\d,]+)", said["00_data_tour"])
    if not m:
        return None
    from helpers import funnel, tour

    ev = st.events
    buying = ev.loc[ev["event"] == "purchase", "session_id"].nunique()
    through = int(funnel.funnel(ev, tour.funnel_steps(ev))["n"].iloc[-1])
    return [] if (_num(m[1]), _num(m[2])) == (buying, through) else [
        f"reconciliation says {m[1]} / {m[2]}, data has {buying} / {through}"]


def claim_device_majority(st, said):
    m = re.search(r"Most visits \((\S+) %\) are on (\S+?),", said["00_data_tour"])
    if not m:
        return None
    share = st.sessions["device"].value_counts(normalize=True)
    return [] if (m[2], _num(m[1])) == (share.index[0], _pct(share.iloc[0])) else [
        f"device majority says {m[2]} {m[1]} %, data has {share.index[0]} {share.iloc[0]:.3f}"]


def claim_busiest_day(st, said):
    m = re.search(r"The \d+ busiest days are (\d+ \w{3} \d{4}) \(([\d,]+) sessions",
                  said["00_data_tour"])
    if not m:
        return None
    day = st.events["ts"].dt.tz_convert(st.timezone).dt.tz_localize(None).dt.normalize()
    per_day = st.events["session_id"].groupby(day).nunique()
    top = per_day.max()
    best = {f"{d.day} {d:%b %Y}" for d in per_day.index[per_day == top]}
    return [] if m[1] in best and _num(m[2]) == top else [
        f"busiest day says {m[1]} ({m[2]}), data has {sorted(best)} ({top})"]


def claim_best_channel(st, said):
    text = said["01_traffic_sources"]
    m = re.search(r"(?:^|[:.]\s+)([^,(:.\s][^,(:.]*?) converts best, (\S+) %", text, re.MULTILINE) or \
        re.search(r"convert best \(([^:]+): (\S+) %", text)
    if not m:
        return None
    ev = st.events.merge(st.sessions[["session_id", "channel"]], on="session_id", how="left")
    conv = ev.assign(buy=ev["event"] == "purchase").groupby("session_id").agg(
        channel=("channel", "first"), buy=("buy", "any"))
    rate = conv.groupby(conv["channel"].fillna("(not set)"))["buy"].mean()
    named = [c.strip() for c in re.split(r",| and ", m[1]) if c.strip()]
    best = _pct(rate.max())
    wrong = [c for c in named if c not in rate.index]
    if wrong or _num(m[2]) != best or _pct(rate[named[0]]) != best:
        return [f"best channel says {m[1]} {m[2]} %, data has {rate.idxmax()} {best}"]
    return []


def claim_channel_test(st, said):
    m = re.search(r"(?:Conversion differs by channel beyond chance|No channel's conversion differs "
                  r"from the rest beyond chance) \(chi-square, (p [<=] [\d.]+)\)",
                  said["01_traffic_sources"])
    if not m:
        return None
    from scipy.stats import chi2_contingency

    from helpers.narrate import p_value

    ev = st.events.merge(st.sessions[["session_id", "channel"]], on="session_id", how="left")
    conv = ev.assign(buy=ev["event"] == "purchase").groupby("session_id").agg(
        channel=("channel", "first"), buy=("buy", "any"))
    tab = pd.crosstab(conv["channel"].fillna("(not set)"), conv["buy"])
    p = chi2_contingency(tab.to_numpy())[1]
    return [] if m[1] == p_value(p) else [f"channel test says {m[1]}, scipy gives {p_value(p)}"]


def claim_smaller_arm(st, said):
    m = re.search(r"The smaller arm holds ([\d,]+) users", said["06_ab_testing"])
    if not m:
        return None
    from scipy.stats import chisquare

    from helpers import experiments as ex

    a, _ = ex.name_arms(st.assignments)
    n = a.groupby(["experiment", "variant"]).size().unstack(fill_value=0)
    ok = n.loc[[chisquare(r[["control", "treatment"]]).pvalue >= 0.001 for _, r in n.iterrows()]]
    pick = (ok if len(ok) else n).assign(total=lambda d: d["control"] + d["treatment"]) \
        .sort_values("total", ascending=False, kind="stable")
    smaller = int(pick[["control", "treatment"]].iloc[0].min())
    return [] if _num(m[1]) == smaller else [f"smaller arm says {m[1]}, data has {smaller}"]


def claim_busiest_order_day(st, said):
    m = re.search(r"The busiest day, (\S+), had ([\d,]+) orders?", said["07_precision_marketing"])
    if not m:
        return None
    day = st.orders["ordered_at"].dt.tz_convert(st.timezone).dt.tz_localize(None).dt.floor("D")
    per_day = day.value_counts()
    best = {d.strftime("%Y-%m-%d") for d in per_day.index[per_day == per_day.max()]}
    return [] if m[1].rstrip(",.") in best and _num(m[2]) == per_day.max() else [
        f"busiest order day says {m[1]} ({m[2]}), data has {sorted(best)} ({per_day.max()})"]


def claim_cart_abandonment(st, said):
    m = re.search(r"(\S+) % \(95 % CI [^)]*\) of carts are abandoned: ([\d,]+) of ([\d,]+) carts",
                  said["03_conversion_funnel"])
    if not m:
        return None
    ev = st.events.sort_values(["user_id", "ts"], kind="stable")
    end = st.events["ts"].max()
    window = pd.Timedelta("7D")
    carts = ev.loc[ev["event"] == "add_to_cart"].groupby("session_id").agg(
        user_id=("user_id", "first"), t=("ts", "min"))
    carts = carts.loc[carts["t"] + window <= end]  # too recent to judge: left out
    buys = ev.loc[ev["event"] == "purchase", ["user_id", "ts"]]
    pair = carts.reset_index().merge(buys, on="user_id", how="left")
    pair["hit"] = (pair["ts"] >= pair["t"]) & (pair["ts"] <= pair["t"] + window)
    bought = pair.groupby("session_id")["hit"].any()
    n, lost = len(bought), int((~bought).sum())
    said_n = (_num(m[1]), _num(m[2]), _num(m[3]))
    return [] if said_n == (_pct(lost / n), lost, n) else [
        f"abandonment says {m[1]} % = {m[2]} / {m[3]}, data has {lost} / {n}"]


def claim_one_time_buyers(st, said):
    m = re.search(r"(\S+) % of the ([\d,]+) buyers ordered exactly once", said["04_segmentation"])
    if not m:
        return None
    o = st.orders.loc[(st.orders["status"] == "completed")
                      & (st.orders["ordered_at"] <= st.events["ts"].max())]
    f = o.groupby("user_id").size()
    return [] if (_num(m[1]), _num(m[2])) == (_pct((f == 1).mean()), len(f)) else [
        f"one-time buyers says {m[1]} % of {m[2]}, data has {(f == 1).mean():.4f} of {len(f)}"]


def claim_repeat_within_90_days(st, said):
    m = re.search(r"(\S+) % \(95 % CI [^)]*\) of the first-time buyers watched for 90 days "
                  r"ordered again within them \(([\d,]+) buyers", said["05_retention_feedback"])
    if not m:
        return None
    o = st.orders.loc[st.orders["status"] == "completed"].sort_values("ordered_at", kind="stable")
    end = o["ordered_at"].max()
    first = o.groupby("user_id")["ordered_at"].min()
    watched = first.loc[first + pd.Timedelta("90D") <= end]
    later = o.merge(watched.rename("first").reset_index(), on="user_id")
    later = later.loc[later["ordered_at"] > later["first"]]
    nxt = later.groupby("user_id")["ordered_at"].min() - watched
    back = int((nxt.dropna() <= pd.Timedelta("90D")).sum())
    return [] if (_num(m[1]), _num(m[2])) == (_pct(back / len(watched)), len(watched)) else [
        f"90-day repeat says {m[1]} % of {m[2]}, data has {back} of {len(watched)}"]


def claim_visits_by_gap(st, said):
    m = re.search(r"The log has ([\d,]+) sessions; cutting each user's events after 30min without "
                  r"activity gives ([\d,]+) visits", said["02_browsing_paths"])
    if not m:
        return None
    ev = st.events.sort_values(["user_id", "ts"], kind="stable")
    new = ev["user_id"].ne(ev["user_id"].shift()) | (ev["ts"].diff() > pd.Timedelta("30min"))
    got = (st.events["session_id"].nunique(), int(new.sum()))
    return [] if (_num(m[1]), _num(m[2])) == got else [
        f"visits say {m[1]} sessions / {m[2]} visits, data has {got}"]


def claim_primary_rate(st, said):
    text = said["06_ab_testing"]
    m = re.search(r"\*\*(Conversion|\S+ rate)\*\* \(primary\): (\S+) % in control, (\S+) % in "
                  r"treatment", text)
    if not m:
        return None
    from helpers import experiments as ex

    win = pd.Timedelta(days=float(re.search(r"in the ([\d.]+) days? after assignment", text)[1]))
    a, _ = ex.name_arms(st.assignments)
    exp = re.search(r"Reading out \*\*(.+?)\*\*", text)[1]
    a = a.loc[a["experiment"] == exp]
    ends = [st.events["ts"].max()] + ([] if st.orders is None else [st.orders["ordered_at"].max()])
    a = a.loc[a["assigned_at"] + win <= max(ends)]
    if m[1] == "Conversion":
        hits = st.orders[["user_id", "ordered_at"]].rename(columns={"ordered_at": "ts"})
    else:
        hits = st.events.loc[st.events["event"] == m[1].removesuffix(" rate"), ["user_id", "ts"]]
    pair = a.merge(hits, on="user_id", how="left")
    pair["hit"] = (pair["ts"] >= pair["assigned_at"]) & (pair["ts"] < pair["assigned_at"] + win)
    rate = pair.groupby(["user_id", "variant"])["hit"].any().groupby("variant").mean()
    got = (_pct(rate["control"]), _pct(rate["treatment"]))
    return [] if (_num(m[2]), _num(m[3])) == got else [
        f"primary metric says {m[2]} % / {m[3]} %, data has {got}"]


def claim_own_events(st, said):
    m = re.findall(r"`(\w+)` \(([\d,]+) events?, in (\S+) % of sessions\)", said["00_data_tour"])
    if not m:
        return None
    ev = st.events
    wrong = []
    for name, n, share in m:
        got = (int((ev["event"] == name).sum()),
               _pct(ev.loc[ev["event"] == name, "session_id"].nunique() / ev["session_id"].nunique()))
        if (_num(n), _num(share)) != got:
            wrong.append(f"own event {name} says {n} events / {share} %, data has {got}")
    return wrong


def claim_own_breakdown(st, said):
    m = re.search(r"also broken down by `(\w+)` \((users|sessions), (\d+) values\)",
                  said["03_conversion_funnel"])
    if not m:
        return None
    levels = getattr(st, m[2])[m[1]].nunique()
    return [] if int(m[3]) == levels else [f"breakdown {m[1]} says {m[3]} values, data has {levels}"]


CLAIMS = [claim_reconciliation, claim_device_majority, claim_busiest_day, claim_best_channel,
          claim_channel_test, claim_smaller_arm, claim_busiest_order_day, claim_cart_abandonment,
          claim_one_time_buyers, claim_repeat_within_90_days, claim_visits_by_gap,
          claim_primary_rate, claim_own_breakdown, claim_own_events]

# the claims each real data set must make (so that a narrator that stops saying them fails)
EXPECTED_CLAIMS = {
    "rees46_real": {"claim_reconciliation", "claim_visits_by_gap"},
    "olist_real": {"claim_busiest_day", "claim_one_time_buyers", "claim_repeat_within_90_days"},
    "ab_data_real": {"claim_busiest_day", "claim_smaller_arm", "claim_primary_rate"},
    "instacart_real": {"claim_one_time_buyers", "claim_repeat_within_90_days"},
    "cookie_cats_real": {"claim_busiest_day", "claim_visits_by_gap", "claim_primary_rate"},
    "alexa_real": {"claim_busiest_day", "claim_one_time_buyers"},
    "paths_real": {"claim_best_channel", "claim_channel_test", "claim_busiest_day"},
    "ga4": {"claim_reconciliation", "claim_device_majority", "claim_best_channel",
            "claim_channel_test", "claim_cart_abandonment", "claim_one_time_buyers",
            "claim_own_breakdown", "claim_own_events"},
    "online_retail": {"claim_one_time_buyers", "claim_repeat_within_90_days"},
}


@pytest.mark.parametrize("name", SYNTHETIC + REAL_SETS)
def test_generated_claims_equal_an_independent_computation(series, converted, name):
    code, log, folder = _run(series, name)
    assert code == 0, log[-3000:]
    st = data.load_store(converted[name])
    said = {b.stem: _said(folder, b.stem) for b in report.notebooks()}
    made, wrong = set(), []
    for check in CLAIMS:
        result = check(st, said)
        if result is not None:
            made.add(check.__name__)
            wrong += result
    assert not wrong, "\n".join(wrong)
    missing = EXPECTED_CLAIMS.get(name, set()) - made
    assert not missing, f"{name}: the series no longer says {sorted(missing)}"
