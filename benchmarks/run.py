"""Scale benchmarks: the event-level helpers on 10M events in memory and 100M events from Parquet.

    python benchmarks/run.py                 # both sizes (builds and caches the shops first)
    python benchmarks/run.py --sizes 10M     # only the in-memory size
    python benchmarks/run.py --sizes 10M --only find_changes --no-report   # some rows only
    make bench                               # the same, from the Makefile

Each measurement runs in its own Python process so its peak RSS (resident memory, including
DuckDB's) is its own. For every helper the same process also times a hand-written DuckDB SQL
query that computes the same thing, so the ratio helper / SQL compares like with like on the
same machine at the same moment. Shops are generated once with
``python -m helpers.simulate --chunk-users`` into benchmarks/cache/ (git-ignored).
Not part of `make test`: timings are measurements, not pass/fail checks.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
EVENTS_PER_USER = 14.8  # the simulated shop's events per user (bundled: 370,525 / 25,000)
SIZES = {"10M": 10_000_000, "100M": 100_000_000}
STEPS = ["view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase"]


# ----------------------------------------------------------------------------- shops

def build_shop(label: str, chunk_users: int = 250_000) -> Path:
    """Generate (once) a shop of about SIZES[label] events under benchmarks/cache/shop_<label>."""
    out = CACHE / f"shop_{label}"
    done = out / "counts.json"
    if done.exists():
        return out
    users = int(SIZES[label] / EVENTS_PER_USER)
    t0 = time.perf_counter()
    from helpers.simulate import stream

    counts = stream(users, 11, out, chunk_users=chunk_users,
                    echo=lambda m: print(f"  {label}: {m}", flush=True))
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    done.write_text(json.dumps(counts, indent=1))
    return out


# ----------------------------------------------------------------------------- hand-written SQL

def _src(x) -> str:
    from helpers.engine import parquet_source

    return parquet_source(x) if isinstance(x, (str, Path)) else "ev"


def _series_sql(ev: str, se: str) -> str:
    """The counts of changes.daily_series: per session its first day (UTC), which events it had,
    its device and channel, whether it is its user's first; sessions counted per day overall,
    per device and per channel, in total, with each event and with each pair of consecutive
    funnel steps (the scan over these ~130 series of ~730 days is not the SQL's part)."""
    from helpers.data import EVENT_NAMES as events
    from helpers.funnel import CANONICAL_STEPS as steps

    return f"""
        WITH s AS (SELECT session_id, min(ts) AS t0,
                   {", ".join(f"bool_or(event = '{e}') AS {e}" for e in events)}
                   FROM {ev} GROUP BY session_id),
        f AS (SELECT arg_min(session_id, ts) AS session_id FROM {ev} GROUP BY user_id),
        x AS (SELECT s.*, t0::DATE AS day, coalesce(se.device, '(none)') AS device,
              coalesce(se.channel, '(none)') AS channel, f.session_id IS NOT NULL AS new
              FROM s LEFT JOIN {se} se USING (session_id) LEFT JOIN f USING (session_id))
        SELECT day, device, channel, count(*) AS n, count(*) FILTER (new) AS new,
               {", ".join(f"count(*) FILTER ({e}) AS {e}" for e in events)},
               {", ".join(f"count(*) FILTER ({a} AND {b}) AS {a}__{b}" for a, b in pairwise(steps))}
        FROM x GROUP BY GROUPING SETS ((day), (day, device), (day, channel))"""


SQL = {
    # session funnel: earliest next step at or after the previous one (ASOF chain), no window
    "funnel": lambda ev: f"""
        WITH e AS (SELECT session_id, ts, event FROM {ev} WHERE event IN ({", ".join(f"'{s}'" for s in STEPS)})),
        s0 AS (SELECT session_id, ts AS t0 FROM e WHERE event = '{STEPS[0]}'),
        s1 AS (SELECT s0.*, x.ts AS t1 FROM s0 ASOF LEFT JOIN (SELECT * FROM e WHERE event = '{STEPS[1]}') x
               ON s0.session_id = x.session_id AND x.ts >= s0.t0),
        s2 AS (SELECT s1.*, x.ts AS t2 FROM s1 ASOF LEFT JOIN (SELECT * FROM e WHERE event = '{STEPS[2]}') x
               ON s1.session_id = x.session_id AND x.ts >= s1.t1),
        s3 AS (SELECT s2.*, x.ts AS t3 FROM s2 ASOF LEFT JOIN (SELECT * FROM e WHERE event = '{STEPS[3]}') x
               ON s2.session_id = x.session_id AND x.ts >= s2.t2),
        s4 AS (SELECT s3.*, x.ts AS t4 FROM s3 ASOF LEFT JOIN (SELECT * FROM e WHERE event = '{STEPS[4]}') x
               ON s3.session_id = x.session_id AND x.ts >= s3.t3),
        best AS (SELECT session_id, max((t1 IS NOT NULL)::INT + (t2 IS NOT NULL)::INT
                 + (t3 IS NOT NULL)::INT + (t4 IS NOT NULL)::INT) AS k FROM s4 GROUP BY session_id)
        SELECT k, count(*) FROM best GROUP BY k ORDER BY k""",
    "transitions": lambda ev: f"""
        WITH o AS (SELECT session_id, event,
                   lag(event) OVER (PARTITION BY session_id ORDER BY ts) AS prev,
                   lead(event) OVER (PARTITION BY session_id ORDER BY ts) AS nxt FROM {ev})
        SELECT coalesce(prev, '(start)') AS "from", event AS "to", count(*) AS n FROM o GROUP BY ALL
        UNION ALL SELECT event, '(exit)', count(*) FROM o WHERE nxt IS NULL GROUP BY ALL""",
    "top_paths": lambda ev: f"""
        WITH o AS (SELECT session_id, ts, page_type,
                   lag(page_type) OVER (PARTITION BY session_id ORDER BY ts) AS prev FROM {ev}),
        c AS (SELECT session_id, string_agg(page_type, ' > ' ORDER BY ts) AS path FROM o
              WHERE prev IS NULL OR prev <> page_type GROUP BY session_id)
        SELECT path, count(*) AS sessions FROM c GROUP BY path ORDER BY sessions DESC LIMIT 10""",
    "sessionize": lambda ev: f"""
        SELECT count(DISTINCT sid) FROM (
          SELECT sum(new) OVER (ORDER BY user_id, ts ROWS UNBOUNDED PRECEDING) AS sid FROM (
            SELECT user_id, ts, CASE WHEN lag(ts) OVER (PARTITION BY user_id ORDER BY ts) IS NULL
              OR ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) > INTERVAL 30 MINUTE
              THEN 1 ELSE 0 END AS new FROM {ev}))""",
    # the same columns as sources.channel_summary: traffic, acquisition, orders, spend
    "channel_summary": lambda ev, se: f"""
        WITH per AS (SELECT session_id, count(*) AS n, count(page_type) AS pages,
                     max(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS conv
                     FROM {ev} GROUP BY session_id),
        traffic AS (SELECT s.channel, count(*) AS sessions, count(DISTINCT s.user_id) AS users,
                    avg(CASE WHEN coalesce(per.n, 0) <= 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate,
                    avg(coalesce(per.pages, 0)) AS pages_per_session,
                    sum(coalesce(per.conv, 0)) AS conversions
                    FROM {se} s LEFT JOIN per USING (session_id) GROUP BY s.channel),
        done AS (SELECT o.user_id, o.revenue, s.channel FROM o JOIN {se} s USING (session_id)
                 WHERE o.status = 'completed'),
        sales AS (SELECT channel, count(*) AS orders, sum(revenue) AS revenue FROM done GROUP BY channel),
        acq AS (SELECT acquisition_channel AS channel, count(*) AS new_users,
                count(*) FILTER (WHERE user_id IN (SELECT user_id FROM done)) AS new_buyers
                FROM u GROUP BY ALL),
        cost AS (SELECT channel, sum(spend) AS spend FROM sp GROUP BY channel)
        SELECT * , revenue / orders AS aov, spend / new_buyers AS cac, revenue / spend AS roas
        FROM traffic LEFT JOIN acq USING (channel) LEFT JOIN sales USING (channel)
        LEFT JOIN cost USING (channel)""",
    "daily_series": _series_sql,
    "find_changes": _series_sql,
}


# ----------------------------------------------------------------------------- one measurement

def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _best(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(case: str, shop: str, mode: str) -> dict:
    """Run one helper (and its SQL twin) on ``shop``; ``mode`` is "memory" or "parquet"."""
    import duckdb
    import pandas as pd

    from helpers import changes, data, funnel, paths, sources

    shop = Path(shop)
    ev_path, se_path = str(shop / "events" / "*.parquet"), str(shop / "sessions" / "*.parquet")
    t_load = time.perf_counter()
    if case == "rules":
        ev = se = None
    elif mode == "memory":
        cols = {"funnel": ["session_id", "ts", "event"], "transitions": ["session_id", "ts", "event"],
                "top_paths": ["session_id", "ts", "event", "page_type"],
                "sessionize": ["user_id", "ts"],
                "daily_series": ["session_id", "user_id", "ts", "event"],
                "find_changes": ["session_id", "user_id", "ts", "event"]}.get(case)
        ev = pd.read_parquet(shop / "events", columns=cols)
        se = None
        if case == "channel_summary":
            se = pd.read_parquet(shop / "sessions")
        elif case in ("daily_series", "find_changes"):  # the columns the helper segments by
            se = pd.read_parquet(shop / "sessions", columns=["session_id", "device", "channel"])
    else:
        ev, se = ev_path, se_path
    load_s = time.perf_counter() - t_load
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{ev_path}')").fetchall()[0][0]
    lines = st = None

    if case == "rules":
        lines = pd.read_parquet(shop / "order_lines", columns=["order_id", "item_id"]).merge(
            pd.read_parquet(shop / "items", columns=["item_id", "category"]), on="item_id")
        rows = int(lines["order_id"].nunique())  # baskets, not events, for this case
    if case == "channel_summary":
        st = data.open_store(shop)
        if mode == "memory":
            st.events, st.sessions = ev, se

    def helper():
        if case == "funnel":
            funnel.funnel(ev, STEPS)
        elif case == "transitions":
            paths.transitions(ev)
        elif case == "top_paths":
            paths.top_paths(ev, max_steps=6, n=10)
        elif case == "sessionize":
            paths.sessionize(ev) if mode == "memory" else paths.sessionize(
                ev, to=str(CACHE / "sessionized.parquet"))
        elif case == "rules":
            paths.rules(paths.baskets(lines, "order_id", "category"), 0.001, min_confidence=0.1)
        elif case == "channel_summary":
            sources.channel_summary(st)
        elif case == "daily_series":
            changes.daily_series(ev, se)
        elif case == "find_changes":
            changes.find_changes(ev, se)

    # in memory: best of two runs on each side (the first run of either pays one-off costs such
    # as page faults and lazy set-up); on Parquet one cold run each (both read the files)
    reps = 2 if mode == "memory" else 1
    helper_s = _best(helper, reps)
    helper_rss = _peak_rss_mb()
    extra = {}
    if case == "find_changes":  # the yardstick: one funnel on the same events and steps
        funnel_s = _best(lambda: funnel.funnel(ev, list(funnel.CANONICAL_STEPS)), reps)
        extra = {"funnel_s": round(funnel_s, 2), "vs_funnel": round(helper_s / funnel_s, 2)}

    if case == "rules":  # the reference is mlxtend itself on the same one-hot baskets
        from mlxtend.frequent_patterns import association_rules, fpgrowth

        onehot = paths.baskets(lines, "order_id", "category")

        def reference():
            fi = fpgrowth(onehot, min_support=0.001, use_colnames=True)
            association_rules(fi, num_itemsets=len(onehot), metric="confidence", min_threshold=0.1)

        ref_s = _best(reference, reps)
        return {"case": case, "mode": "baskets vs mlxtend", "rows": rows, "load_s": round(load_s, 2),
                "helper_s": round(helper_s, 2), "duckdb_sql_s": round(ref_s, 2),
                "ratio": round(helper_s / ref_s, 2), "peak_rss_mb_after_helper": round(helper_rss),
                "peak_rss_mb": round(_peak_rss_mb())}
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    if case == "channel_summary":  # the small tables, as the helper gets them
        small = data.open_store(shop)
        con.register("u", small.users)
        con.register("o", small.orders)
        con.register("sp", small.spend)
    if case in ("daily_series", "find_changes"):
        con.execute("SET TimeZone = 'UTC'")  # a session's day is its UTC day, as in the helper
    if mode == "memory":
        con.register("ev", ev)
        if se is not None:
            con.register("se", se)
    src_ev = "ev" if mode == "memory" else f"read_parquet('{ev_path}')"
    src_se = "se" if mode == "memory" else f"read_parquet('{se_path}')"
    two = ("channel_summary", "daily_series", "find_changes")
    sql = SQL[case](src_ev, src_se) if case in two else SQL[case](src_ev)
    sql_s = _best(lambda: con.execute(sql).fetchall(), reps)
    return {"case": case, "mode": mode, "rows": rows, "load_s": round(load_s, 2),
            "helper_s": round(helper_s, 2), "duckdb_sql_s": round(sql_s, 2),
            "ratio": round(helper_s / sql_s, 2) if sql_s > 0 else None,
            "peak_rss_mb_after_helper": round(helper_rss), "peak_rss_mb": round(_peak_rss_mb()),
            **extra}


def run_case(case: str, shop: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", case, "--shop", str(shop),
                          "--mode", mode], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"case": case, "mode": mode, "error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def report_seconds() -> float | None:
    """Wall time of executing the whole notebook series on the bundled shop (make report)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "helpers.report", "--out", str(CACHE / "reports")],
                          capture_output=True, text=True, check=False)
    return round(time.perf_counter() - t0, 1) if done.returncode == 0 else None


def describe(shop: Path) -> str:
    c = json.loads((shop / "counts.json").read_text())
    return (f"{shop.name}: {c['events']:,} events, {c['sessions']:,} sessions, {c['users']:,} users; "
            f"generated in {c['seconds']} s ({c['events'] / c['seconds'] / 1e6:.2f}M events/s)")


def table(results: list[dict]) -> str:
    head = ("| helper | input | events | helper s | DuckDB SQL s | ratio | peak RSS MB |\n"
            "|---|---|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['mode']} | | error: {r['error']} | | | |")
            continue
        lines.append(f"| {r['case']} | {r['mode']} | {r['rows']:,} | {r['helper_s']} | "
                     f"{r['duckdb_sql_s']} | {r['ratio']} | {r['peak_rss_mb_after_helper']:,} |")
    return "\n".join(lines)


def notes(results: list[dict]) -> str:
    """The rows measured against another helper too (find_changes against one funnel)."""
    return "\n".join(f"{r['case']} ({r['mode']}): {r['helper_s']} s = {r['vs_funnel']}x one funnel "
                     f"({r['funnel_s']} s) on the same events and the canonical funnel steps"
                     for r in results if "vs_funnel" in r)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10M,100M")
    ap.add_argument("--case")
    ap.add_argument("--shop")
    ap.add_argument("--mode", default="memory")
    ap.add_argument("--only", help="comma-separated helpers: time only these rows")
    ap.add_argument("--no-report", action="store_true", help="skip timing the notebook series")
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(measure(args.case, args.shop, args.mode)))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, "
          f"{__import__('os').cpu_count()} CPUs")
    results = []
    sizes = args.sizes.split(",")
    only = set(args.only.split(",")) if args.only else None

    def chosen(cases):
        return [c for c in cases if only is None or c in only]

    if "10M" in sizes:
        shop = build_shop("10M")
        print(describe(shop), flush=True)
        for case in chosen(("sessionize", "funnel", "transitions", "top_paths", "channel_summary",
                            "daily_series", "find_changes", "rules")):
            results.append(run_case(case, shop, "memory"))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    if "100M" in sizes:
        shop = build_shop("100M")
        print(describe(shop), flush=True)
        for case in chosen(("funnel", "transitions", "channel_summary")):
            results.append(run_case(case, shop, "parquet"))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(results))
    if notes(results):
        print(notes(results))
    if not args.no_report:
        print(f"\nmake report on the bundled shop (8 notebooks, execution + HTML): "
              f"{report_seconds()} s")
    (CACHE / "last_run.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
