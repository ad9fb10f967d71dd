"""The canonical data model: a :class:`Store` of ten tables, loaded and validated.

Every notebook starts from ``load_store(path)``. A store is a directory with
one ``<table>.parquet`` or ``<table>.csv`` file per table (plus an optional
``truth.json`` answer key for simulated data). ``events`` is required; the
other tables are optional and come back as ``None`` when absent.

Validation happens on load and raises :class:`DataValidationError` naming the
table, the column, how many rows are bad, which rows and an example value.
Nothing is dropped silently: loading either succeeds with every row or fails.

Examples
--------
>>> store = load_store()                      # the bundled simulated shop
>>> store.events.columns[:4].tolist()
['session_id', 'user_id', 'ts', 'event']
>>> str(store.events["ts"].dt.tz)
'UTC'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

EVENT_NAMES = (
    "page_view",
    "view_item_list",
    "view_item",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
)
"""Event names of the canonical events table (GA4 recommended e-commerce events)."""

CHANNELS = (
    "Organic Search",
    "Paid Search",
    "Organic Social",
    "Paid Social",
    "Email",
    "Referral",
    "Direct",
    "Affiliates",
)
"""Channel names (GA4 default channel grouping)."""

TABLES = (
    "users",
    "sessions",
    "events",
    "items",
    "orders",
    "order_lines",
    "reviews",
    "spend",
    "assignments",
    "campaign_sends",
)

# Column kinds:
#   id      key column (int64 or string, consistent across tables)
#   ts      timestamp, returned tz-aware UTC
#   date    calendar day, tz-naive at midnight
#   str     text / category label
#   money   float >= 0
#   count   integer >= 0
#   float   any float (may be negative)
#   rating  integer 1..5
#   bool    boolean
# A column is (kind, required, nullable).
_C = tuple[str, bool, bool]

SCHEMA: dict[str, dict[str, _C]] = {
    "users": {
        "user_id": ("id", True, False),
        "first_seen": ("ts", True, False),
        "acquisition_channel": ("str", False, True),
        "device": ("str", False, True),
        "region": ("str", False, True),
        "city_tier": ("str", False, True),
        "age_band": ("str", False, True),
        "gender": ("str", False, True),
    },
    "sessions": {
        "session_id": ("id", True, False),
        "user_id": ("id", True, False),
        "started_at": ("ts", True, False),
        "channel": ("str", False, True),
        "campaign": ("str", False, True),
        "device": ("str", False, True),
        "landing_page": ("str", False, True),
    },
    "events": {
        "session_id": ("id", True, False),
        "user_id": ("id", True, False),
        "ts": ("ts", True, False),
        "event": ("str", True, False),
        "page_type": ("str", False, True),
        "item_id": ("id", False, True),
        "category": ("str", False, True),
        "search_term": ("str", False, True),
        "value": ("money", False, True),
    },
    "items": {
        "item_id": ("id", True, False),
        "category": ("str", True, True),
        "brand": ("str", False, True),
        "price": ("money", False, True),
        "name": ("str", False, True),
    },
    "orders": {
        "order_id": ("id", True, False),
        "user_id": ("id", True, False),
        "session_id": ("id", False, True),
        "ordered_at": ("ts", True, False),
        "status": ("str", False, False),
        "revenue": ("money", True, False),
        "discount": ("money", False, False),
        "coupon": ("str", False, True),
    },
    "order_lines": {
        "order_id": ("id", True, False),
        "item_id": ("id", True, False),
        "quantity": ("count", True, False),
        "unit_price": ("money", True, False),
    },
    "reviews": {
        "order_id": ("id", True, False),
        "user_id": ("id", True, False),
        "item_id": ("id", True, False),
        "rating": ("rating", True, False),
        "text": ("str", False, True),
        "created_at": ("ts", True, False),
    },
    "spend": {
        "date": ("date", True, False),
        "channel": ("str", True, False),
        "spend": ("money", True, False),
        "clicks": ("count", False, True),
    },
    "assignments": {
        "experiment": ("str", True, False),
        "user_id": ("id", True, False),
        "variant": ("str", True, False),
        "assigned_at": ("ts", True, False),
    },
    "campaign_sends": {
        "campaign": ("str", True, False),
        "user_id": ("id", True, False),
        "sent_at": ("ts", True, False),
        "treated": ("bool", True, False),
    },
}

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "sessions": ("session_id",),
    "items": ("item_id",),
    "orders": ("order_id",),
    "order_lines": ("order_id", "item_id"),
    "reviews": ("order_id", "item_id"),
    "spend": ("date", "channel"),
    "assignments": ("experiment", "user_id"),
    "campaign_sends": ("campaign", "user_id"),
}

# (child table, child column) -> (parent table, parent column); checked when both tables exist.
FOREIGN_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("events", "session_id"): ("sessions", "session_id"),
    ("events", "user_id"): ("users", "user_id"),
    ("events", "item_id"): ("items", "item_id"),
    ("sessions", "user_id"): ("users", "user_id"),
    ("orders", "user_id"): ("users", "user_id"),
    ("orders", "session_id"): ("sessions", "session_id"),
    ("order_lines", "order_id"): ("orders", "order_id"),
    ("order_lines", "item_id"): ("items", "item_id"),
    ("reviews", "order_id"): ("orders", "order_id"),
    ("assignments", "user_id"): ("users", "user_id"),
    ("campaign_sends", "user_id"): ("users", "user_id"),
}

# Which id columns share a domain, so their types are made consistent across tables.
_ID_DOMAIN = {"user_id": "user", "session_id": "session", "order_id": "order", "item_id": "item"}

_DEFAULTS = {("orders", "status"): "completed", ("orders", "discount"): 0.0}

BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data"
"""Where the bundled simulated shop lives (the repository's data/ folder)."""


class DataValidationError(ValueError):
    """A table does not fit the canonical data model.

    Attributes ``table``, ``column``, ``n_rows`` (how many rows are bad),
    ``rows`` (up to five row positions) and ``example`` (one bad value) say
    exactly what is wrong; the message repeats them in words.
    """

    def __init__(self, table, column, problem, n_rows=0, rows=(), example=None):
        self.table, self.column, self.problem = table, column, problem
        self.n_rows, self.rows, self.example = int(n_rows), list(rows), example
        where = f"{table}.{column}" if column else table
        msg = f"{where}: {problem}"
        if n_rows:
            msg += f" ({n_rows} row{'s' if n_rows != 1 else ''}, e.g. row {self.rows[0]}"
            msg += f": {example!r})" if example is not None else ")"
            if len(self.rows) > 1:
                msg += f"; first rows {self.rows}"
        super().__init__(msg)


@dataclass
class Store:
    """The shop's tables as pandas DataFrames (``None`` when a table is absent).

    ``truth`` is the simulator's answer key (a dict) and ``None`` for real data;
    ``source`` is the directory the store was loaded from.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1], "user_id": [7], "event": ["page_view"],
    ...                    "ts": ["2025-01-01 10:00"]})
    >>> store = validate(Store(events=ev))
    >>> store.available()
    ['events']
    """

    events: pd.DataFrame
    users: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    order_lines: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    spend: pd.DataFrame | None = None
    assignments: pd.DataFrame | None = None
    campaign_sends: pd.DataFrame | None = None
    truth: dict | None = field(default=None, repr=False)
    source: str | None = None

    def available(self) -> list[str]:
        """Names of the tables present, in canonical order."""
        return [t for t in TABLES if getattr(self, t) is not None]

    def has(self, *tables: str) -> bool:
        """True when every named table is present."""
        return all(getattr(self, t) is not None for t in tables)

    def summary(self) -> pd.DataFrame:
        """One row per canonical table: rows, columns, and the time span it covers."""
        rows = []
        for t in TABLES:
            df = getattr(self, t)
            if df is None:
                rows.append({"table": t, "rows": 0, "columns": 0, "from": pd.NaT, "to": pd.NaT,
                             "present": False})
                continue
            tcol = next((c for c, (k, _, _) in SCHEMA[t].items() if k in ("ts", "date")), None)
            lo = df[tcol].min() if tcol else pd.NaT
            hi = df[tcol].max() if tcol else pd.NaT
            rows.append({"table": t, "rows": len(df), "columns": df.shape[1],
                         "from": _day(lo), "to": _day(hi), "present": True})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        parts = [f"{t}={len(getattr(self, t)):,}" for t in self.available()]
        return f"Store({', '.join(parts)}{', truth' if self.truth else ''})"


def load_store(path: str | os.PathLike | None = None) -> Store:
    """Load and validate a store directory.

    Parameters
    ----------
    path : str or Path, optional
        A directory with one ``<table>.parquet`` or ``<table>.csv`` per table
        (see ``TABLES``) and optionally ``truth.json``. ``None`` loads the
        bundled simulated shop.

    Returns
    -------
    Store
        Validated tables: timestamps tz-aware UTC, ids consistent across tables.

    Raises
    ------
    FileNotFoundError
        The directory or its required ``events`` table is missing.
    DataValidationError
        A table breaks the data model (message names table, column, rows, example).

    Examples
    --------
    >>> store = load_store()
    >>> store.available()[:3]
    ['users', 'sessions', 'events']
    """
    root = Path(path) if path is not None else BUNDLED_DATA
    if not root.is_dir():
        raise FileNotFoundError(f"store directory not found: {root}")
    tables = {}
    for t in TABLES:
        tables[t] = _read_table(root, t)
    if tables["events"] is None:
        raise FileNotFoundError(f"{root}: the required table 'events' (events.parquet or "
                                "events.csv) is missing")
    truth = None
    if (root / "truth.json").exists():
        truth = json.loads((root / "truth.json").read_text())
    return validate(Store(**tables, truth=truth, source=str(root)))


def save_store(store: Store, path: str | os.PathLike, *, fmt: str = "parquet") -> Path:
    """Write every present table as ``<table>.<fmt>`` (and ``truth.json``) into ``path``.

    Examples
    --------
    >>> import tempfile
    >>> ev = pd.DataFrame({"session_id": [1], "user_id": [7], "event": ["page_view"],
    ...                    "ts": ["2025-01-01 10:00"]})
    >>> out = save_store(validate(Store(events=ev)), tempfile.mkdtemp())
    >>> load_store(out).events["ts"].iloc[0]
    Timestamp('2025-01-01 10:00:00+0000', tz='UTC')
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for t in store.available():
        df = getattr(store, t)
        if fmt == "parquet":
            df.to_parquet(root / f"{t}.parquet", index=False, compression="zstd")
        else:
            df.to_csv(root / f"{t}.csv", index=False)
    if store.truth is not None:
        (root / "truth.json").write_text(json.dumps(store.truth, indent=2, sort_keys=True) + "\n")
    return root


def validate(store: Store) -> Store:
    """Check and coerce every table of ``store`` to the canonical model (returns a new Store).

    Checks, each raising :class:`DataValidationError`: empty table, missing
    required column, values that cannot be coerced to the column's type,
    null keys or required values, unparseable timestamps, negative money or
    quantities, ratings outside 1–5, unknown event names, duplicate primary
    keys and orphan foreign keys (a child row whose parent is absent, checked
    when both tables are present). Naive timestamps are taken as UTC.
    Optional columns that are absent are added as nulls (or their default:
    ``orders.status`` "completed", ``orders.discount`` 0).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1], "user_id": [7], "event": ["jump"],
    ...                    "ts": ["2025-01-01"]})
    >>> validate(Store(events=ev))
    Traceback (most recent call last):
    ...
    helpers.data.DataValidationError: events.event: unknown event name; expected one of ...
    """
    out = {}
    for t in TABLES:
        df = getattr(store, t)
        out[t] = None if df is None else _coerce_table(t, df)
    _unify_id_types(out)
    for t, df in out.items():
        if df is not None:
            _check_keys(t, df)
    _check_foreign_keys(out)
    return Store(**out, truth=store.truth, source=store.source)


# --------------------------------------------------------------------------- private


def _day(x):
    if x is None or pd.isna(x):
        return pd.NaT
    return pd.Timestamp(x).tz_localize(None).normalize() if pd.Timestamp(x).tz else pd.Timestamp(x)


def _read_table(root: Path, table: str) -> pd.DataFrame | None:
    pq, csv = root / f"{table}.parquet", root / f"{table}.csv"
    if pq.exists():
        return pd.read_parquet(pq)
    if csv.exists():
        # Read everything as text first so that coercion (and its error messages) is ours.
        return pd.read_csv(csv, dtype=str, keep_default_na=True)
    return None


def _bad(table, column, problem, mask, values):
    mask = np.asarray(mask, dtype=bool)
    pos = np.flatnonzero(mask)
    example = values[mask].iloc[0] if len(pos) else None
    if isinstance(example, np.generic):
        example = example.item()
    return DataValidationError(table, column, problem, len(pos), pos[:5].tolist(), example)


def _coerce_table(table: str, df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(table, None, f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DataValidationError(table, None, "the table is empty")
    df = df.reset_index(drop=True).copy()
    for col, (kind, required, nullable) in SCHEMA[table].items():
        if col not in df.columns:
            if required:
                have = ", ".join(map(str, df.columns))
                raise DataValidationError(table, col, f"required column is missing (columns: {have})")
            df[col] = _DEFAULTS.get((table, col), None)
        df[col] = _coerce_column(table, col, kind, df[col])
        if not nullable:
            isnull = df[col].isna()
            if isnull.any():
                raise _bad(table, col, "null values in a column that must be filled", isnull,
                           df[col].astype(object))
    if table == "events":
        known = df["event"].isin(EVENT_NAMES)
        if not known.all():
            raise _bad(table, "event", f"unknown event name; expected one of {', '.join(EVENT_NAMES)}",
                       ~known, df["event"])
    return df


def _coerce_column(table: str, col: str, kind: str, s: pd.Series) -> pd.Series:
    if kind == "ts":
        return _to_utc(table, col, s)
    if kind == "date":
        parsed = pd.to_datetime(s, errors="coerce")
        failed = parsed.isna() & s.notna()
        if failed.any():
            raise _bad(table, col, "unparseable date", failed, s)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return parsed.dt.normalize().astype("datetime64[ns]")
    if kind in ("money", "float", "count", "rating"):
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else None
        if num is None:
            raise DataValidationError(table, col, "expected numbers, got booleans")
        failed = num.isna() & s.notna()
        if failed.any():
            raise _bad(table, col, "values that are not numbers", failed, s)
        num = num.astype("float64")
        if kind == "float":
            return num
        if kind in ("money", "count"):
            neg = num < 0
            if neg.any():
                raise _bad(table, col, "negative values", neg, s)
        if kind == "money":
            return num
        frac = num.notna() & (num != np.floor(num))
        if frac.any():
            raise _bad(table, col, "values that are not whole numbers", frac, s)
        if kind == "rating":
            out_of_range = num.notna() & ((num < 1) | (num > 5))
            if out_of_range.any():
                raise _bad(table, col, "ratings outside 1-5", out_of_range, s)
        return num.astype("int64") if num.notna().all() else num.astype("Int64")
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype(bool)
        mapping = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False,
                   "yes": True, "no": False}
        mapped = s.astype(str).str.strip().str.lower().map(mapping)
        failed = mapped.isna()
        if failed.any():
            raise _bad(table, col, "values that are not booleans (true/false, 1/0)", failed, s)
        return mapped.astype(bool)
    if kind == "id":
        return _to_id(table, col, s)
    # str: keep nulls as nulls, everything else as text
    if s.isna().all():
        return s.astype("str")
    return s.where(s.isna(), s.astype(str)).astype("str")


def _to_utc(table: str, col: str, s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:
        parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    failed = parsed.isna() & s.notna()
    if failed.any():
        raise _bad(table, col, "unparseable timestamps", failed, s)
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize("UTC")
    return parsed.dt.tz_convert("UTC").dt.as_unit("ns")


def _to_id(table: str, col: str, s: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(s):
        return s.astype("int64") if s.notna().all() else s.astype("Int64")
    if pd.api.types.is_float_dtype(s):
        whole = s.isna() | (s == np.floor(s))
        if whole.all():
            return s.astype("Int64") if s.isna().any() else s.astype("int64")
        raise _bad(table, col, "id values that are not whole numbers", ~whole, s)
    text = s.where(s.isna(), s.astype(str))
    return text.astype("str")


def _int_like(s: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(s):
        return True
    vals = s.dropna().astype(str)
    return bool(vals.str.fullmatch(r"-?\d{1,18}").all())


def _unify_id_types(tables: dict[str, pd.DataFrame | None]) -> None:
    """Make every column of an id domain either all int64 or all string."""
    by_domain: dict[str, list[tuple[str, str]]] = {}
    for t, df in tables.items():
        if df is None:
            continue
        for col, (kind, _, _) in SCHEMA[t].items():
            if kind == "id":
                by_domain.setdefault(_ID_DOMAIN[col], []).append((t, col))
    for members in by_domain.values():
        cols = [tables[t][c] for t, c in members]
        if all(_int_like(c) for c in cols):
            for (t, c), s in zip(members, cols):
                if not pd.api.types.is_integer_dtype(s):
                    num = pd.to_numeric(s)
                    tables[t][c] = num.astype("Int64") if num.isna().any() else num.astype("int64")
        else:
            for (t, c), s in zip(members, cols):
                if pd.api.types.is_integer_dtype(s):
                    tables[t][c] = s.astype("str").where(s.notna())


def _check_keys(table: str, df: pd.DataFrame) -> None:
    key = PRIMARY_KEYS.get(table)
    if not key:
        return
    dup = df.duplicated(list(key), keep="first")
    if dup.any():
        ex = df.loc[dup, list(key)].iloc[0]
        example = ex.iloc[0] if len(key) == 1 else tuple(ex.tolist())
        if isinstance(example, np.generic):
            example = example.item()
        pos = np.flatnonzero(dup.to_numpy())
        raise DataValidationError(table, ", ".join(key), "duplicate primary key", len(pos),
                                  pos[:5].tolist(), example)


def _check_foreign_keys(tables: dict[str, pd.DataFrame | None]) -> None:
    for (child, ccol), (parent, pcol) in FOREIGN_KEYS.items():
        cdf, pdf = tables.get(child), tables.get(parent)
        if cdf is None or pdf is None:
            continue
        vals = cdf[ccol]
        orphan = vals.notna() & ~vals.isin(pdf[pcol])
        if orphan.any():
            raise _bad(child, ccol, f"values with no matching {parent}.{pcol} (orphan foreign key)",
                       orphan, vals)



# --------------------------------------------------------------------------- data tour


def profile(store: Store) -> pd.DataFrame:
    """One row per column of every present table: type, nulls, distinct values, an example.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1], "user_id": [7, 7], "ts": ["2025-01-01"] * 2,
    ...                    "event": ["page_view", "search"], "search_term": [None, "shoes"]})
    >>> p = profile(validate(Store(events=ev)))
    >>> p.loc[p["column"] == "search_term", ["nulls", "null_share", "distinct"]].to_dict("records")
    [{'nulls': 1, 'null_share': 0.5, 'distinct': 1}]
    """
    rows = []
    for t in store.available():
        df = getattr(store, t)
        for col in df.columns:
            s = df[col]
            nonnull = s.dropna()
            ex = nonnull.iloc[0] if len(nonnull) else None
            rows.append({"table": t, "column": col, "dtype": str(s.dtype),
                         "nulls": int(s.isna().sum()), "null_share": float(s.isna().mean()),
                         "distinct": int(nonnull.nunique()),
                         "example": "" if ex is None else str(ex)[:40]})
    return pd.DataFrame(rows)


def quality_checks(store: Store) -> pd.DataFrame:
    """Cross-table consistency checks beyond validation, each with a count of rows affected.

    Validation on load already guarantees types, keys and foreign keys; these
    checks look for things that are legal but worth knowing (sessions without
    events, orders without lines, purchases without an order, …). ``status``
    is "ok" when the count is zero and "look" otherwise.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1], "user_id": [7], "ts": ["2025-01-01"],
    ...                    "event": ["purchase"]})
    >>> quality_checks(validate(Store(events=ev)))[["check", "rows"]].to_dict("records")
    [{'check': 'events with the same session, time and event (possible double logging)', 'rows': 0}]
    """
    ev = store.events
    checks = []

    def add(name, table, n, total):
        checks.append({"check": name, "table": table, "rows": int(n),
                       "share": float(n) / total if total else 0.0})

    dup = ev.duplicated(["session_id", "ts", "event", "item_id"]).sum()
    add("events with the same session, time and event (possible double logging)", "events", dup,
        len(ev))
    if store.sessions is not None:
        s = store.sessions
        add("sessions without any event", "sessions", (~s["session_id"].isin(ev["session_id"])).sum(),
            len(s))
        first = ev.groupby("session_id")["ts"].min()
        started = s.set_index("session_id")["started_at"].reindex(first.index)
        add("sessions whose first event is before the session start", "sessions",
            (first < started).sum(), len(s))
    if store.users is not None and store.sessions is not None:
        u = store.users
        add("users without any session", "users", (~u["user_id"].isin(store.sessions["user_id"])).sum(),
            len(u))
    if store.orders is not None:
        o = store.orders
        if store.order_lines is not None:
            add("orders without order lines", "orders",
                (~o["order_id"].isin(store.order_lines["order_id"])).sum(), len(o))
            gross = (store.order_lines["quantity"] * store.order_lines["unit_price"]).groupby(
                store.order_lines["order_id"]).sum()
            net = gross.reindex(o["order_id"]).to_numpy() - o["discount"].to_numpy()
            add("orders whose revenue differs from lines minus discount by more than 0.05",
                "orders", (np.abs(net - o["revenue"].to_numpy()) > 0.05).sum(), len(o))
        if o["session_id"].notna().any():
            buy = ev.loc[ev["event"] == "purchase", "session_id"]
            add("orders whose session has no purchase event", "orders",
                (o["session_id"].notna() & ~o["session_id"].isin(buy)).sum(), len(o))
    out = pd.DataFrame(checks)
    out["status"] = np.where(out["rows"] == 0, "ok", "look")
    return out


def daily_activity(store: Store, *, tz: str | None = None) -> pd.DataFrame:
    """Daily sessions, users, orders and revenue (completed orders), indexed by calendar day.

    ``tz`` is the shop's time zone for day boundaries (default: the answer key's
    shop time zone when present, else UTC).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 2], "user_id": [7, 8], "event": ["page_view"] * 2,
    ...                    "ts": ["2025-01-01 10:00", "2025-01-02 11:00"]})
    >>> daily_activity(validate(Store(events=ev)))["sessions"].tolist()
    [1, 1]
    """
    tz = tz or ((store.truth or {}).get("period", {}).get("shop_timezone")) or "UTC"
    ev = store.events
    day = ev["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    out = pd.DataFrame({
        "sessions": ev["session_id"].groupby(day).nunique(),
        "users": ev["user_id"].groupby(day).nunique(),
    })
    if store.orders is not None:
        o = store.orders.loc[store.orders["status"] == "completed"]
        oday = o["ordered_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
        out["orders"] = o.groupby(oday).size()
        out["revenue"] = o["revenue"].groupby(oday).sum()
    full = pd.date_range(out.index.min(), out.index.max(), freq="D")
    out = out.reindex(full).fillna(0)
    out.index.name = "day"
    return out.astype({c: "int64" for c in out.columns if c != "revenue"})


def headline(store: Store) -> pd.DataFrame:
    """The shop in a few numbers, each rate with a Wilson 95 % interval.

    Session conversion counts sessions with a ``purchase`` event.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 2, 2], "user_id": [7, 8, 8], "ts": ["2025-01-01"] * 3,
    ...                    "event": ["page_view", "view_item", "purchase"]})
    >>> h = headline(validate(Store(events=ev))).set_index("metric")
    >>> float(h.loc["session conversion", "value"])
    0.5
    """
    from statsmodels.stats.proportion import proportion_confint

    ev = store.events
    n_sess = ev["session_id"].nunique()
    conv = ev.loc[ev["event"] == "purchase", "session_id"].nunique()
    rows = [("users", ev["user_id"].nunique(), None), ("sessions", n_sess, None),
            ("events", len(ev), None)]
    lo, hi = proportion_confint(conv, n_sess, method="wilson")
    rows.append(("session conversion", conv / n_sess, (lo, hi)))
    if store.orders is not None:
        o = store.orders.loc[store.orders["status"] == "completed"]
        buyers = o["user_id"].nunique()
        rows += [("completed orders", len(o), None), ("buyers", buyers, None),
                 ("revenue", float(o["revenue"].sum()), None),
                 ("average order value", float(o["revenue"].mean()) if len(o) else np.nan, None)]
        n_users = store.users["user_id"].nunique() if store.users is not None else ev["user_id"].nunique()
        lo, hi = proportion_confint(buyers, n_users, method="wilson")
        rows.append(("share of users who bought", buyers / n_users, (lo, hi)))
    return pd.DataFrame({"metric": [r[0] for r in rows],
                         "value": [float(r[1]) for r in rows],
                         "ci_low": [r[2][0] if r[2] else np.nan for r in rows],
                         "ci_high": [r[2][1] if r[2] else np.nan for r in rows]})


def mix(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Count and share of rows by a column, largest first (ties by name).

    Examples
    --------
    >>> mix(pd.DataFrame({"device": ["mobile", "mobile", "desktop"]}), "device")
        device  n     share
    0   mobile  2  0.666667
    1  desktop  1  0.333333
    """
    if by not in df.columns:
        raise ValueError(f"mix: column {by!r} not in the table (columns: {', '.join(df.columns)})")
    n = df[by].fillna("(missing)").value_counts()
    out = n.rename("n").reset_index().rename(columns={"index": by})
    out = out.sort_values(["n", by], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    out["share"] = out["n"] / out["n"].sum()
    return out
