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

import csv
import json
import os
import re
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
        "revenue": ("money", True, True),  # missing where only the purchase is known
        "discount": ("money", False, False),
        "coupon": ("str", False, True),
    },
    "order_lines": {
        "order_id": ("id", True, False),
        "item_id": ("id", True, False),
        "quantity": ("count", True, False),
        "unit_price": ("money", True, True),
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
        if n_rows and self.rows:
            msg += f" ({n_rows} row{'s' if n_rows != 1 else ''}, e.g. row {self.rows[0]}"
            msg += f": {example!r})" if example is not None else ")"
            if len(self.rows) > 1:
                msg += f"; first rows {self.rows}"
        elif n_rows:  # counted in a scan that keeps no row positions
            msg += f" ({n_rows} row{'s' if n_rows != 1 else ''}"
            msg += f", e.g. {example!r})" if example is not None else ")"
        super().__init__(msg)


def require_columns(df, table: str, cols) -> None:
    """Raise :class:`DataValidationError` unless ``df`` is a DataFrame with every column in ``cols``.

    The one input check the analysis modules share: it names the table, the missing columns and
    the columns the table does have.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"order_id": [1]}), "orders", ["order_id", "revenue"])
    Traceback (most recent call last):
    ...
    helpers.data.DataValidationError: orders.revenue: missing column(s) 'revenue'; the table has order_id
    """
    if df is None:
        raise DataValidationError(table, None, "this table is required and the store has none")
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(table, None, f"expected a pandas DataFrame, got {type(df).__name__}")
    lack = [c for c in cols if c not in df.columns]
    if lack:
        raise DataValidationError(table, lack[0], f"missing column(s) {', '.join(map(repr, lack))}; "
                                  f"the table has {', '.join(map(str, df.columns))}")


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
    notes: pd.DataFrame | None = field(default=None, repr=False)
    """What an adapter did on the way in: one row per step (``step``, ``rows``, ``detail``)."""
    meta: dict = field(default_factory=dict, repr=False)
    """Facts about the shop that no table holds (``meta.json``): ``currency``, ``timezone``."""
    derived: dict = field(default_factory=dict, repr=False)
    """Tables the loader built because the store lacked them: table -> how (one sentence)."""

    @property
    def currency(self) -> str | None:
        """The shop's currency code (``meta.json``), or None when the store does not say."""
        return self.meta.get("currency")

    @property
    def timezone(self) -> str:
        """The shop's time zone for calendar days (``meta.json``); UTC when the store does not say."""
        return self.meta.get("timezone") or "UTC"

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
        parts = [f"{t}={len(getattr(self, t)):,}" if isinstance(getattr(self, t), pd.DataFrame)
                 else f"{t}=<parquet>" for t in self.available()]
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
    _check_file_names(root)
    tables = {}
    for t in TABLES:
        tables[t] = _read_table(root, t)
    if tables["events"] is None and tables["orders"] is None:
        raise FileNotFoundError(f"{root}: the store needs an events table (events.parquet or "
                                "events.csv) or an orders table (orders.csv) to derive it from")
    truth = None
    if (root / "truth.json").exists():
        truth = _read_truth(root / "truth.json")
    notes = pd.read_csv(root / "notes.csv") if (root / "notes.csv").exists() else None
    empty = [t for t, df in tables.items() if df is not None and len(df) == 0 and t != "events"]
    if empty:
        notes = pd.concat([notes, pd.DataFrame([
            {"step": f"empty table {t}", "rows": 0, "detail": "the file has no rows: treated as absent"}
            for t in empty])], ignore_index=True)
        tables.update({t: None for t in empty})
    store = validate(Store(**tables, truth=truth, source=str(root), notes=notes, meta=_read_meta(root)))
    if store.events is None:
        return with_derived_events(store)
    return with_derived_orders(with_derived_sessions(store))


def with_derived_sessions(store: Store) -> Store:
    """Sessions (start, landing page) and users (first seen) read off the events when the store
    lacks them, so that every part that only needs those runs on an events-only store.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [7, 7, 7],
    ...                    "event": ["page_view", "view_item", "page_view"],
    ...                    "ts": ["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-02 09:00"]})
    >>> st = with_derived_sessions(validate(Store(events=ev)))
    >>> st.sessions[["session_id", "started_at"]].astype(str).values.tolist()
    [['1', '2025-01-01 10:00:00+00:00'], ['2', '2025-01-02 09:00:00+00:00']]
    >>> st.derived
    {'sessions': 'one per session id of the events, started at its first event', 'users': 'one per user id of the events, first seen at their first event'}
    """
    if not isinstance(store.events, pd.DataFrame) or (store.sessions is not None
                                                      and store.users is not None):
        return store
    sessions, users = _derive_sessions_users(store.events)
    notes = [] if store.notes is None else store.notes.to_dict("records")
    derived = dict(store.derived)
    tables = {t: getattr(store, t) for t in TABLES}
    if store.sessions is None:
        tables["sessions"] = sessions
        derived["sessions"] = "one per session id of the events, started at its first event"
        _note(notes, "derived sessions", len(sessions), derived["sessions"])
    if store.users is None:
        if store.sessions is not None:  # first seen at the first session the store records
            users = store.sessions.groupby("user_id", sort=True)["started_at"].min().rename(
                "first_seen").reset_index()
            users = pd.concat([users, _derive_sessions_users(store.events)[1].loc[
                lambda u: ~u["user_id"].isin(users["user_id"])]], ignore_index=True)
        tables["users"] = users
        derived["users"] = "one per user id of the events, first seen at their first event"
        _note(notes, "derived users", len(users), derived["users"])
    out = validate(Store(**tables, truth=store.truth, source=store.source,
                         notes=pd.DataFrame(notes), meta=store.meta))
    out.derived = derived
    return out


def with_derived_events(store: Store) -> Store:
    """A store given as orders (and perhaps lines, reviews, …) but no events: each order becomes
    one session holding one ``purchase`` event (value = its revenue); users come from the orders
    when the store has none. Recorded in ``store.derived`` and ``store.notes``.

    Examples
    --------
    >>> o = pd.DataFrame({"order_id": [1, 2], "user_id": [7, 7], "revenue": [20.0, 5.0],
    ...                   "ordered_at": ["2025-01-01 10:00", "2025-02-01 11:00"]})
    >>> st = with_derived_events(validate(Store(events=None, orders=o)))
    >>> st.events[["session_id", "event", "value"]].to_dict("records")
    [{'session_id': 1, 'event': 'purchase', 'value': 20.0}, {'session_id': 2, 'event': 'purchase', 'value': 5.0}]
    >>> sorted(st.derived)
    ['events', 'sessions', 'users']
    """
    o = store.orders
    sid = o["session_id"].where(o["session_id"].notna(), o["order_id"]) \
        if o["session_id"].notna().any() else o["order_id"]
    events = pd.DataFrame({"session_id": sid.to_numpy(), "user_id": o["user_id"].to_numpy(),
                           "ts": o["ordered_at"].to_numpy(), "event": "purchase",
                           "page_type": "confirmation", "value": o["revenue"].to_numpy()})
    events = events.sort_values(["ts", "session_id"], kind="mergesort").reset_index(drop=True)
    tables = {t: getattr(store, t) for t in TABLES}
    tables["events"] = events
    if o["session_id"].isna().any() or not o["session_id"].notna().any():
        tables["orders"] = o.assign(session_id=sid.to_numpy())
    notes = [] if store.notes is None else store.notes.to_dict("records")
    derived = dict(store.derived, events="one purchase event per order (no events table)")
    _note(notes, "derived events", len(events), derived["events"])
    if store.sessions is None:
        first = events.drop_duplicates("session_id")
        tables["sessions"] = pd.DataFrame({"session_id": first["session_id"].to_numpy(),
                                           "user_id": first["user_id"].to_numpy(),
                                           "started_at": first["ts"].to_numpy(),
                                           "landing_page": "confirmation"})
        derived["sessions"] = "one session per order"
        _note(notes, "derived sessions", len(tables["sessions"]), derived["sessions"])
    if store.users is None:
        users = events.groupby("user_id", sort=True)["ts"].min().rename("first_seen").reset_index()
        tables["users"] = users
        derived["users"] = "one user per customer of the orders, first seen at the first order"
        _note(notes, "derived users", len(users), derived["users"])
    out = validate(Store(**tables, truth=store.truth, source=store.source,
                         notes=pd.DataFrame(notes), meta=store.meta))
    out.derived = derived
    return out


def with_derived_orders(store: Store) -> Store:
    """The store, with ``orders`` (and ``order_lines``) built from purchase events when it has none.

    So that segmentation, retention and marketing run on any event log with purchases. The rule
    is :func:`orders_from_events`; what was built is recorded in ``store.derived`` and
    ``store.notes``. A store that has an orders table, or no purchase event, is returned as is.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [7, 7, 7], "item_id": [3, 3, 4],
    ...                    "event": ["view_item", "purchase", "purchase"], "value": [9.5, 9.5, None],
    ...                    "ts": ["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-02 09:00"]})
    >>> st = with_derived_orders(validate(Store(events=ev)))
    >>> st.orders[["order_id", "session_id", "revenue"]].to_dict("records")
    [{'order_id': '1-1', 'session_id': 1, 'revenue': 9.5}, {'order_id': '2-1', 'session_id': 2, 'revenue': nan}]
    >>> st.derived["orders"]
    'one order per purchase event (several purchase events of a session at the same time are one order); revenue = the sum of their value, missing where they have none'
    """
    if store.orders is not None or not isinstance(store.events, pd.DataFrame):
        return store
    orders, lines, how = orders_from_events(store.events)
    if orders is None:
        return store
    notes = [] if store.notes is None else store.notes.to_dict("records")
    _note(notes, "derived orders", len(orders), f"no orders table: {how}")
    no_rev = int(orders["revenue"].isna().sum())
    if no_rev:
        _note(notes, "orders without revenue", no_rev,
              "their purchase events carry no value: revenue-based analyses leave them out")
    derived = dict(store.derived, orders=how)
    if lines is not None and store.order_lines is None:
        _note(notes, "derived order lines", len(lines),
              "one line per item of a derived order: quantity = its purchase events")
        derived["order_lines"] = "one line per item of a derived order"
    out = Store(**{t: getattr(store, t) for t in TABLES}, truth=store.truth, source=store.source,
                notes=pd.DataFrame(notes), meta=store.meta, derived=derived)
    out.orders = orders
    if "order_lines" in derived:
        out.order_lines = lines
    checked = validate(out)
    checked.derived = derived
    return checked


def orders_from_events(events: pd.DataFrame):
    """Orders and order lines read off purchase events: ``(orders, order_lines, rule)``.

    The purchase events of one order share the event column ``order_id`` (or
    ``transaction_id``) where the log has one; otherwise the purchase events of a session at the
    same time are one order (a log that writes one purchase event per item). ``revenue`` is the
    sum of the events' ``value``, missing where none has a value. Order lines exist where the
    purchase events carry an ``item_id``: ``quantity`` is the number of purchase events of the
    item, ``unit_price`` their mean value. Returns ``(None, None, rule)`` without purchases.
    """
    buy = events.loc[events["event"] == "purchase"]
    key_col = next((c for c in ("order_id", "transaction_id") if c in buy.columns
                    and buy[c].notna().any()), None)
    rule = "one order per purchase event (several purchase events of a session at the same " \
           "time are one order)"
    if len(buy) == 0:
        return None, None, rule
    buy = buy.sort_values(["ts", "session_id"], kind="mergesort")
    sess = buy["session_id"].astype(str)
    # k-th distinct purchase time of the session -> "<session>-<k>"
    k = buy.groupby(sess.to_numpy(), sort=False)["ts"].rank(method="dense").astype(int)
    oid = sess + "-" + k.astype(str)
    if key_col is not None:
        tid = buy[key_col]
        tid_text = tid.astype("string").str.replace(r"\.0$", "", regex=True)
        oid = tid_text.where(tid.notna(), oid).astype(str)
        rule = f"one order per {key_col} of the purchase events (purchases without one: per " \
               "session and time)"
    value = buy["value"] if "value" in buy.columns else pd.Series(np.nan, index=buy.index)
    b = pd.DataFrame({"order_id": oid.to_numpy(), "user_id": buy["user_id"].to_numpy(),
                      "session_id": buy["session_id"].to_numpy(), "ordered_at": buy["ts"].to_numpy(),
                      "value": value.to_numpy(dtype=float)})
    g = b.groupby("order_id", sort=False)
    orders = g.agg(user_id=("user_id", "first"), session_id=("session_id", "first"),
                   ordered_at=("ordered_at", "min")).reset_index()
    orders["status"] = "completed"
    orders["revenue"] = g["value"].sum(min_count=1).round(2).to_numpy()
    orders["discount"] = 0.0
    orders = orders.sort_values(["ordered_at", "order_id"], kind="mergesort").reset_index(drop=True)
    lines = None
    if "item_id" in buy.columns and buy["item_id"].notna().any():
        li = b.assign(item_id=buy["item_id"].to_numpy()).dropna(subset=["item_id"])
        lines = li.groupby(["order_id", "item_id"], sort=True).agg(
            quantity=("value", "size"), unit_price=("value", "mean")).reset_index()
    rule += "; revenue = the sum of their value, missing where they have none"
    return orders[["order_id", "user_id", "session_id", "ordered_at", "status", "revenue",
                   "discount"]], lines, rule


LAZY_TABLES = ("events", "sessions")
"""Tables that :func:`open_store` leaves on disk (they grow with traffic); the rest are loaded."""


def open_store(path: str | os.PathLike) -> Store:
    """Open a large store without reading its events: ``events`` and ``sessions`` stay Parquet paths.

    For shops too large for pandas. ``store.events`` and ``store.sessions`` are paths (a
    ``<table>.parquet`` file or a ``<table>/`` folder of parts) that the event-level helpers
    (``funnel.funnel``, ``paths.transitions``, ``paths.top_paths``, ``sources.channel_summary``)
    read with DuckDB; the other tables are loaded and validated as in :func:`load_store`. The
    lazy tables get the checks one column-wise scan can make (required columns, timestamps
    stored as timestamps, canonical event names spelt differently, money finite and not
    negative); row-level checks such as keys and orphans would mean reading them.

    Examples
    --------
    >>> st = open_store(BUNDLED_DATA)
    >>> isinstance(st.events, str), isinstance(st.orders, pd.DataFrame)
    (True, True)
    """
    from helpers import engine

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"store directory not found: {root}")
    lazy = {}
    for t in LAZY_TABLES:
        pq, parts = root / f"{t}.parquet", root / t
        src = str(pq) if pq.exists() else str(parts / "*.parquet") if parts.is_dir() else None
        if src is None:
            continue
        have = set(engine.columns(src))
        for col, (_, required, _) in SCHEMA[t].items():
            if required and col not in have:
                raise DataValidationError(t, col, f"required column is missing (columns: "
                                          f"{', '.join(sorted(have))})")
        _check_lazy(t, src)
        lazy[t] = src
    if "events" not in lazy:
        raise FileNotFoundError(f"{root}: the required table 'events' (events.parquet or an "
                                "events/ folder of Parquet parts) is missing")
    tables = {t: _read_table(root, t) for t in TABLES if t not in LAZY_TABLES}
    for t, df in tables.items():
        if df is not None:
            tables[t] = _coerce_table(t, df)
    _unify_id_types(tables)
    for t, df in tables.items():
        if df is not None:
            _check_keys(t, df)
    truth = _read_truth(root / "truth.json") if (root / "truth.json").exists() else None
    return Store(**tables, **lazy, truth=truth, source=str(root), meta=_read_meta(root))


def _check_lazy(table: str, src: str) -> None:
    """The checks one column-wise DuckDB scan can make on a Parquet table left unread.

    Timestamps stored as numbers (they would read as nanoseconds), canonical event names spelt
    differently (the funnel would count zeros), and money that is not finite or negative.
    """
    from helpers import engine

    con = engine.connect()
    try:
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                                 f"{engine.parquet_source(src)})").fetchall())
        for col, (kind, _, _) in SCHEMA[table].items():
            if kind == "ts" and col in types and "TIMESTAMP" not in types[col].upper():
                raise DataValidationError(table, col, f"timestamps stored as {types[col]}, not "
                                          "as a Parquet timestamp; write them as timestamps "
                                          "(load_store and from_events(ts_unit=...) convert "
                                          "epoch numbers)")
        if table == "events":
            names = con.execute(f'SELECT "event", count(*) AS n FROM '
                                f'{engine.parquet_source(src)} GROUP BY "event" ORDER BY "event"'
                                ).df()
            try:
                _check_event_names(names["event"].astype("str"))
            except DataValidationError as e:  # say how many rows, not where in the name list
                n = int(names.loc[names["event"] == e.example, "n"].sum())
                raise DataValidationError(table, "event", e.problem, n, (), e.example) from None
            if "value" in types:
                bad = con.execute(
                    f'SELECT count(*), any_value("value") FILTER (WHERE NOT isfinite("value") OR '
                    f'"value" < 0) FROM {engine.parquet_source(src)} WHERE "value" IS NOT NULL '
                    f'AND (NOT isfinite("value") OR "value" < 0)').fetchone()
                if bad[0]:
                    raise DataValidationError(table, "value", "money that is not finite or is "
                                              "negative", bad[0], (), bad[1])
    finally:
        con.close()


def save_store(store: Store, path: str | os.PathLike, *, fmt: str = "parquet",
               overwrite: bool = False) -> Path:
    """Write every present table as ``<table>.<fmt>`` (and ``truth.json``) into ``path``.

    A folder that already holds a store is refused unless ``overwrite=True``, which first removes
    that store's files (tables, ``truth.json``, ``notes.csv``, ``meta.json``), so an old table
    or answer key never mixes with the new ones; other files in the folder are left alone.

    Parquet keeps every value as it is. CSV cannot tell an empty text from a missing one: an
    empty text (``""``) comes back missing, as in any CSV reader; everything else comes back
    equal (text with line breaks is quoted).

    Examples
    --------
    >>> import tempfile
    >>> ev = pd.DataFrame({"session_id": [1], "user_id": [7], "event": ["page_view"],
    ...                    "ts": ["2025-01-01 10:00"]})
    >>> out = save_store(validate(Store(events=ev)), tempfile.mkdtemp())
    >>> load_store(out).events["ts"].iloc[0]
    Timestamp('2025-01-01 10:00:00+0000', tz='UTC')
    >>> save_store(validate(Store(events=ev)), out)
    Traceback (most recent call last):
    ...
    FileExistsError: ... already holds a store (events.parquet); pass overwrite=True ...
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    root = Path(path)
    existing = store_files(root)
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing[:5]) + (", …" if len(existing) > 5 else "")
        raise FileExistsError(f"{root} already holds a store ({names}); pass overwrite=True "
                              "(convert --overwrite) to replace it; nothing was written")
    for old in existing:
        if old.is_dir():
            import shutil

            shutil.rmtree(old)
        else:
            old.unlink()
    root.mkdir(parents=True, exist_ok=True)
    for t in store.available():
        df = getattr(store, t)
        if fmt == "parquet":
            df.to_parquet(root / f"{t}.parquet", index=False, compression="zstd")
        else:
            # pandas quotes a field with a newline but not one with a bare carriage return,
            # which a reader then takes as a line break: quote every text field in that case
            text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
            cr = any(df[c].astype("string").str.contains("\r", regex=False).any() for c in text)
            df.to_csv(root / f"{t}.csv", index=False,
                      quoting=csv.QUOTE_NONNUMERIC if cr else csv.QUOTE_MINIMAL)
    if store.truth is not None:
        (root / "truth.json").write_text(json.dumps(store.truth, indent=2, sort_keys=True) + "\n")
    if store.notes is not None:
        store.notes.to_csv(root / "notes.csv", index=False)
    if store.meta:
        (root / "meta.json").write_text(json.dumps(store.meta, indent=2, sort_keys=True) + "\n")
    return root


def store_files(root: str | os.PathLike) -> list[Path]:
    """The files (and table folders) of a store in ``root``: what :func:`save_store` replaces."""
    root = Path(root)
    if not root.is_dir():
        return []
    names = {f"{t}{ext}" for t in TABLES for ext in (".parquet", ".csv", ".csv.gz")}
    names |= {"truth.json", "notes.csv", "meta.json"}
    return sorted(p for p in root.iterdir()
                  if p.name in names or (p.is_dir() and p.name in TABLES))


def validate(store: Store) -> Store:
    """Check and coerce every table of ``store`` to the canonical model (returns a new Store).

    Checks, each raising :class:`DataValidationError`: empty table, missing
    required column, values that cannot be coerced to the column's type,
    null keys or required values, unparseable timestamps, negative money or
    quantities, ratings outside 1–5, a canonical event name spelt differently, duplicate primary
    keys and orphan foreign keys (a child row whose parent is absent, checked
    when both tables are present). Naive timestamps are taken as UTC.
    Optional columns that are absent are added as nulls (or their default:
    ``orders.status`` "completed", ``orders.discount`` 0).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1], "user_id": [7, 7], "event": ["jump", "Purchase"],
    ...                    "ts": ["2025-01-01"] * 2})
    >>> validate(Store(events=ev))
    Traceback (most recent call last):
    ...
    helpers.data.DataValidationError: events.event: event name 'Purchase' is the canonical 'purchase' spelt differently; ...
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
    return Store(**out, truth=store.truth, source=store.source, notes=store.notes, meta=store.meta,
                 derived=store.derived)


# --------------------------------------------------------------------------- private


MAX_MONEY = 1e15
"""Money above this is refused: no order is worth a thousand trillion, and sums of amounts near
the float limit (1.8e308) overflow to infinity."""


META_KEYS = {"currency": "ISO 4217 code of every money column, e.g. 'EUR'",
             "timezone": "IANA time zone of the shop's calendar days, e.g. 'Europe/Berlin'",
             "name": "what the shop or data set is called"}
"""The keys ``meta.json`` may hold."""


def _read_truth(path: Path) -> dict:
    """The simulator's answer key, or a named error when the file is not a JSON object."""
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataValidationError("truth", None, f"{path} is not valid JSON ({e}); it holds a "
                                  "simulator's answer key: delete it if this is your own data"
                                  ) from None
    if not isinstance(truth, dict):
        raise DataValidationError("truth", None, f"{path} must hold a JSON object, got "
                                  f"{type(truth).__name__}")
    return truth


def _read_meta(root: Path) -> dict:
    path = root / "meta.json"
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise DataValidationError("meta", None, f"{path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise DataValidationError("meta", None, f"{path} must hold a JSON object, got {type(meta).__name__}")
    unknown = sorted(set(meta) - set(META_KEYS))
    if unknown:
        raise DataValidationError("meta", unknown[0], f"unknown key in {path.name}; allowed: "
                                  f"{', '.join(META_KEYS)}")
    if meta.get("timezone"):
        try:
            pd.Timestamp("2000-01-01", tz=meta["timezone"])
        except (KeyError, ValueError, TypeError):  # zoneinfo's error is a KeyError
            raise DataValidationError("meta", "timezone", f"unknown time zone {meta['timezone']!r} "
                                      "(use an IANA name such as 'Asia/Shanghai' or 'UTC')") from None
    return meta


def _day(x):
    if x is None or pd.isna(x):
        return pd.NaT
    return pd.Timestamp(x).tz_localize(None).normalize() if pd.Timestamp(x).tz else pd.Timestamp(x)


def _read_table(root: Path, table: str) -> pd.DataFrame | None:
    pq, parts = root / f"{table}.parquet", root / table
    csvs = [p for p in (root / f"{table}.csv", root / f"{table}.csv.gz") if p.exists()]
    found = [p for p in (pq, *csvs) if p.exists()] + ([parts] if parts.is_dir() else [])
    if len(found) > 1:
        raise DataValidationError(table, None, f"the store has {len(found)} files for this table "
                                  f"({', '.join(p.name for p in found)}): keep one")
    if pq.exists():
        return pd.read_parquet(pq)
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return pd.read_parquet(parts)  # a table written in parts (python -m helpers.simulate --chunk-users)
    if csvs:
        # Read everything as text first so that coercion (and its error messages) is ours; only
        # an empty field is missing ("NA" may be North America, "null" a search term).
        try:
            return pd.read_csv(csvs[0], dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            raise DataValidationError(table, None, f"{csvs[0].name} is empty (not even a header "
                                      "row)") from None
    return None


def _check_file_names(root: Path) -> None:
    """A file that looks like a table but is not named like one would be silently ignored."""
    known = {p.name for p in store_files(root)}
    for p in sorted(root.iterdir()):
        if p.name in known or p.name.startswith("."):
            continue
        stem = p.name.lower().split(".")[0]
        if not re.search(r"\.(csv|parquet)(\.gz)?$", p.name.lower()) and not p.is_dir():
            continue
        for t in TABLES:
            if stem in (t, t.rstrip("s"), t + "s") or stem.replace("-", "_") == t:
                raise DataValidationError(t, None, f"{p.name} looks like the {t} table but is "
                                          f"not named {t}.csv or {t}.parquet: rename it")


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
        _check_event_names(df["event"])
    return df


def _canonical_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


_CANONICAL_KEYS = {_canonical_key(e): e for e in EVENT_NAMES}


def _check_event_names(event: pd.Series) -> None:
    """Any event name is allowed (the canonical ones are roles); one that is a canonical name in
    another spelling ("Purchase", "add-to-cart", " view_item") is an error, since the notebooks
    would silently not find it."""
    names = pd.Series(event.unique())
    blank = names.str.strip() == ""
    if blank.any():
        raise _bad("events", "event", "empty event names", (event.str.strip() == "").to_numpy(), event)
    keys = names.map(_canonical_key)
    near = keys.isin(list(_CANONICAL_KEYS)) & ~names.isin(EVENT_NAMES)
    if near.any():
        wrong = names[near].iloc[0]
        rows = event.isin(names[near]).to_numpy()
        raise _bad("events", "event", f"event name {wrong!r} is the canonical "
                   f"{_CANONICAL_KEYS[_canonical_key(wrong)]!r} spelt differently; rename it "
                   "(event_map in from_events) so that the notebooks find it", rows, event)


# Text that means "no value" in a number, time or flag column (in a text column it is text).
_MISSING_TOKENS = {"", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None", "none", "NaT"}


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
    if kind != "str" and kind != "id" and not pd.api.types.is_numeric_dtype(s) \
            and not pd.api.types.is_datetime64_any_dtype(s):
        s = s.mask(s.astype(str).str.strip().isin(_MISSING_TOKENS))
    if kind in ("money", "float", "count", "rating"):
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else None
        if num is None:
            raise DataValidationError(table, col, "expected numbers, got booleans")
        failed = num.isna() & s.notna()
        if failed.any():
            raise _bad(table, col, "values that are not numbers", failed, s)
        num = num.astype("float64")
        infinite = np.isinf(num)
        if infinite.any():
            raise _bad(table, col, "infinite values", infinite, s)
        if kind in ("count", "rating"):
            huge = num.abs() > 2**53
            if huge.any():
                raise _bad(table, col, "counts too large to be held exactly (over 2^53)", huge, s)
        if kind == "float":
            return num
        if kind in ("money", "count"):
            neg = num < 0
            if neg.any():
                raise _bad(table, col, "negative values", neg, s)
        if kind == "money":
            huge = num > MAX_MONEY
            if huge.any():
                raise _bad(table, col, f"implausibly large amounts (over {MAX_MONEY:.0e}; sums "
                           "of them would overflow)", huge, s)
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


_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d|\bUTC|\bGMT)\s*$", re.IGNORECASE)
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}\b")
_NS_MIN, _NS_MAX = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")


def _to_utc(table: str, col: str, s: pd.Series, *, dayfirst: bool | None = None) -> pd.Series:
    """Timestamps -> tz-aware UTC (ns); every way a column can be silently misread is an error.

    Epoch numbers need their unit (``from_events(ts_unit=...)``); text that mixes zoned and naive
    values, or slash dates that could be day-first or month-first, needs the writer to say which
    (``dayfirst`` here; ISO 8601 text in a store); dates outside 1677-2262 cannot be held.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        raise _bad(table, col, "timestamps given as epoch numbers: say their unit (s, ms, us or "
                   "ns; from_events(ts_unit=...)) or store them as ISO 8601 text", s.notna(), s)
    else:
        text = s.where(s.isna(), s.astype(str).str.strip())
        digits = text.str.fullmatch(r"-?\d{9,19}(\.\d+)?").fillna(False).astype(bool)
        if digits.any():
            raise _bad(table, col, "timestamps given as epoch numbers in text: say their unit "
                       "(s, ms, us or ns; from_events(ts_unit=...)) or write ISO 8601 text",
                       digits, s)
        slash = text.str.extract(_SLASH_DATE)
        fmt = "mixed"
        if slash[0].notna().any():
            first, second = pd.to_numeric(slash[0]), pd.to_numeric(slash[1])
            day_first = bool((first > 12).any())
            month_first = bool((second > 12).any())
            if day_first and month_first:
                raise _bad(table, col, "slash dates read both day-first and month-first "
                           "(some first fields and some second fields exceed 12)",
                           (first > 12).to_numpy(), s)
            if dayfirst is None and not (day_first or month_first):
                ambiguous = (first != second) & first.notna()
                if ambiguous.any():
                    raise _bad(table, col, "slash dates that may be day-first or month-first "
                               "(e.g. 03/04): write ISO 8601 dates (YYYY-MM-DD)", ambiguous, s)
            dayfirst = day_first if dayfirst is None else dayfirst
            try:
                parsed = pd.to_datetime(text, errors="coerce", utc=True, dayfirst=dayfirst,
                                        format=fmt)
            except (ValueError, OverflowError):
                raise _bad(table, col, "unparseable timestamps", text.notna(), s) from None
        else:
            try:
                parsed = pd.to_datetime(text, errors="coerce", utc=True, format=fmt)
            except (ValueError, OverflowError):
                raise _bad(table, col, "unparseable timestamps", text.notna(), s) from None
    failed = parsed.isna() & s.notna()
    if failed.any():
        raise _bad(table, col, "unparseable timestamps", failed, s)
    if not pd.api.types.is_datetime64_any_dtype(s):
        zoned = text.str.contains(_ZONED).fillna(False).astype(bool)
        naive = text.notna() & ~zoned
        if zoned.any() and naive.any():
            raise _bad(table, col, f"{int(naive.sum())} timestamps without a time zone beside "
                       f"{int(zoned.sum())} with one: give every value its offset (or none)",
                       naive, s)
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize("UTC")
    parsed = parsed.dt.tz_convert("UTC")
    out_of_range = (parsed < _NS_MIN) | (parsed > _NS_MAX)
    if out_of_range.any():
        raise _bad(table, col, "timestamps outside the years 1677-2262", out_of_range, s)
    return parsed.dt.as_unit("ns")


def _to_id(table: str, col: str, s: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(s):
        return s.astype("int64") if s.notna().all() else s.astype("Int64")
    if pd.api.types.is_float_dtype(s):
        huge = s.abs() > 2**53
        if huge.any():   # a float holds whole numbers exactly only up to 2^53: digits are lost
            raise _bad(table, col, "id values too large to be held exactly in a float column "
                       "(over 2^53; read the ids as text or integers)", huge, s)
        whole = s.isna() | (s == np.floor(s))
        if whole.all():
            return s.astype("Int64") if s.isna().any() else s.astype("int64")
        raise _bad(table, col, "id values that are not whole numbers", ~whole, s)
    text = s.where(s.isna(), s.astype(str))
    vals = text.dropna()
    if len(vals) and vals.str.fullmatch(r"-?\d{1,18}\.0+").all():
        # whole numbers written by a float export ('1001.0'), as the float column above
        num = pd.to_numeric(text.str.replace(r"\.0+$", "", regex=True))
        return num.astype("Int64") if num.isna().any() else num.astype("int64")
    spaced = text.notna() & (text.str.strip() != text)
    if spaced.any():
        raise _bad(table, col, "id values with spaces around them (an id must match exactly; "
                   "strip them in the source)", spaced, text)
    return text.astype("str")


def _int_like(s: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(s):
        return True
    vals = s.dropna().astype(str)
    if not vals.str.fullmatch(r"-?\d{1,19}").all():
        return False
    long = vals.loc[vals.str.len() >= 19]  # int64 holds most, not all, 19-digit numbers
    return bool(long.map(lambda v: -2**63 <= int(v) < 2**63).all()) if len(long) else True


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
            hint = _id_hint(vals[orphan], pdf[pcol], child, ccol, parent, pcol)
            raise _bad(child, ccol, f"values with no matching {parent}.{pcol} (orphan foreign "
                       f"key){hint}", orphan, vals)


def _id_hint(orphans: pd.Series, parents: pd.Series, child, ccol, parent, pcol) -> str:
    """When orphans match parents once both are reduced to their digits, say how they differ."""
    digits = lambda s: s.astype(str).str.replace(r"\.0+$", "", regex=True).str.replace(
        r"\D", "", regex=True)
    keyed = pd.Series(parents.to_numpy(), index=digits(parents).to_numpy())
    keyed = keyed.loc[keyed.index != ""]
    keyed = keyed.loc[~keyed.index.duplicated()]
    d = digits(orphans.head(1000))
    hit = d.isin(keyed.index) & (d != "")
    if hit.mean() < 0.5:
        return ""
    c = orphans.head(1000)[hit.to_numpy()].iloc[0]
    p = keyed.loc[d[hit].iloc[0]]
    return (f"; the ids look alike but are written differently: {child}.{ccol} has {c!r} where "
            f"{parent}.{pcol} has {p!r}; write them the same way in both tables")



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

    ``tz`` is the shop's time zone for day boundaries (default: ``store.timezone``, from the
    store's ``meta.json``, else UTC).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 2], "user_id": [7, 8], "event": ["page_view"] * 2,
    ...                    "ts": ["2025-01-01 10:00", "2025-01-02 11:00"]})
    >>> daily_activity(validate(Store(events=ev)))["sessions"].tolist()
    [1, 1]
    """
    tz = tz or store.timezone
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
    from helpers.stats import wilson

    ev = store.events
    n_sess = ev["session_id"].nunique()
    conv = ev.loc[ev["event"] == "purchase", "session_id"].nunique()
    rows = [("users", ev["user_id"].nunique(), None), ("sessions", n_sess, None),
            ("events", len(ev), None)]
    lo, hi = wilson(conv, n_sess)
    rows.append(("session conversion", conv / n_sess, (lo, hi)))
    if store.orders is not None:
        o = store.orders.loc[store.orders["status"] == "completed"]
        buyers = o["user_id"].nunique()
        rows += [("completed orders", len(o), None), ("buyers", buyers, None),
                 ("revenue", float(o["revenue"].sum()), None),
                 ("average order value", float(o["revenue"].mean()) if len(o) else np.nan, None)]
        n_users = store.users["user_id"].nunique() if store.users is not None else ev["user_id"].nunique()
        lo, hi = wilson(buyers, n_users)
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


# --------------------------------------------------------------------------- adapters
#
# Each adapter turns a common public or export format into a canonical Store holding only the
# tables that the source can honestly fill, validates it, and records in ``store.notes`` what
# it mapped, what it could not and how many rows it dropped, and why.

GA4_CHANNEL_RULES = """GA4-like default channel grouping from source/medium (simplified):
medium organic -> Organic Search; cpc/ppc/paidsearch on a search engine -> Paid Search;
social source with a paid medium (cpc, paid, paidsocial) -> Paid Social; social source ->
Organic Social; email/e-mail -> Email; affiliate -> Affiliates; referral -> Referral;
(direct)/(none) -> Direct; anything else -> Unassigned."""

_SEARCH_ENGINES = ("google", "bing", "baidu", "yahoo", "duckduckgo", "yandex", "sogou", "naver")
_SOCIAL = ("facebook", "instagram", "tiktok", "twitter", "t.co", "x.com", "linkedin", "pinterest",
           "youtube", "reddit", "weibo", "wechat", "douyin", "xiaohongshu", "snapchat")

GA4_COLUMNS = {
    "event_name": "event_name", "event_timestamp": "event_timestamp",
    "user_pseudo_id": "user_pseudo_id", "ga_session_id": "ga_session_id",
    "source": "session_source", "medium": "session_medium", "campaign": "session_campaign",
    "device": "device_category", "page_type": "page_type", "search_term": "search_term",
    "transaction_id": "transaction_id", "purchase_revenue": "purchase_revenue",
    "item_id": "item_id", "item_name": "item_name", "item_category": "item_category",
    "item_brand": "item_brand", "price": "price", "quantity": "quantity",
}
"""Flat GA4 export columns the GA4 adapter reads (override any with ``columns=``)."""


def _note(notes: list, step: str, rows: int, detail: str) -> None:
    notes.append({"step": step, "rows": int(rows), "detail": detail})


_EPOCH_UNITS = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _parse_ts(values: pd.Series, unit: str | None, table: str, column: str) -> pd.Series:
    if unit is None:
        return _to_utc(table, column, values)
    if unit not in _EPOCH_UNITS:
        raise ValueError(f"ts_unit must be one of {', '.join(_EPOCH_UNITS)}, got {unit!r}")
    num = pd.to_numeric(values, errors="coerce")
    failed = num.isna() & values.notna()
    if failed.any():
        raise _bad(table, column, f"values that are not epoch numbers ({unit})", failed, values)
    # a wrong unit gives dates in 1970 or far in the future: name the unit that fits
    seconds = num / _EPOCH_UNITS[unit]
    implausible = (seconds < 315_532_800) | (seconds > 4_102_444_800)  # outside 1980-2100
    if implausible.any():
        median = float(num.median())
        fits = [u for u, k in _EPOCH_UNITS.items() if 315_532_800 <= median / k <= 4_102_444_800]
        hint = f"; the values look like {fits[0]}" if fits else ""
        raise _bad(table, column, f"epoch numbers read as {unit} give dates outside 1980-2100"
                   f"{hint} (pass ts_unit=...)", implausible, values)
    return pd.to_datetime(num, unit=unit, utc=True).dt.as_unit("ns")


def _session_numbers(user: pd.Series, ts: pd.Series, gap: pd.Timedelta) -> np.ndarray:
    """Session counter in (user, time) order; the rule is :func:`helpers.paths.sessionize`."""
    from helpers.paths import sessionize  # one sessionizer for the whole kit

    frame = pd.DataFrame({"user_id": user.to_numpy(), "ts": ts.to_numpy()})
    return sessionize(frame, gap)["session_id"].to_numpy()


def _derive_sessions_users(ev: pd.DataFrame, extra: pd.DataFrame | None = None):
    """Sessions (start, landing page, first channel/device) and users (first seen) from events."""
    ev = ev.sort_values(["session_id", "ts"], kind="mergesort")
    first = ev.drop_duplicates("session_id", keep="first")
    sessions = pd.DataFrame({"session_id": first["session_id"].to_numpy(),
                             "user_id": first["user_id"].to_numpy(),
                             "started_at": first["ts"].to_numpy(),
                             "landing_page": first["page_type"].to_numpy()})
    if extra is not None:
        sessions = sessions.merge(extra, on="session_id", how="left")
    users = sessions.groupby("user_id", sort=True)["started_at"].min().rename("first_seen")
    users = users.reset_index()
    if "channel" in sessions.columns:
        fch = sessions.sort_values("started_at", kind="mergesort").drop_duplicates("user_id")
        users = users.merge(fch[["user_id", "channel"]].rename(
            columns={"channel": "acquisition_channel"}), on="user_id", how="left")
    if "device" in sessions.columns:
        fdev = sessions.sort_values("started_at", kind="mergesort").drop_duplicates("user_id")
        users = users.merge(fdev[["user_id", "device"]], on="user_id", how="left")
    return sessions.sort_values("session_id", kind="mergesort").reset_index(drop=True), users


def from_events(df: pd.DataFrame, columns: dict[str, str], event_map: dict[str, str] | None = None,
                *, ts_unit: str | None = None, session_gap: str = "30min",
                page_types: dict[str, str] | None = None, consumed=()) -> Store:
    """Build a Store from any event log, given a column mapping and an event-name mapping.

    Nothing the source tracked is lost: events whose name is not in ``event_map`` are kept under
    their own name (the canonical GA4 names are *roles* the notebooks look for, not a whitelist),
    and every source column that ``columns`` does not map is kept as an attribute: on ``users``
    when it has one value per user (a lifecycle stage, a cohort), else on ``sessions`` when it
    has one value per session (a landing page variant), else on ``events``. ``store.notes``
    lists every source column and every event name with what became of it, and its row counts
    add up: rows read = events kept + rows dropped (per reason).

    Parameters
    ----------
    df : DataFrame
        One row per event.
    columns : dict
        Canonical name -> source column. ``user_id``, ``ts`` and ``event`` are required;
        ``session_id``, ``item_id``, ``category``, ``search_term``, ``value``, ``page_type``,
        ``channel`` and ``device`` are optional. Without ``session_id``, sessions are cut
        per user after ``session_gap`` of inactivity.
    event_map : dict, optional
        Source event name -> canonical event name (see ``EVENT_NAMES``). Names not in the map are
        kept as they are. Rows without an event name are dropped and counted.
    ts_unit : {"s", "ms", "us", "ns"}, optional
        The timestamp column holds epoch numbers in this unit; otherwise it is parsed as text
        (naive times are taken as UTC).
    page_types : dict, optional
        Canonical event -> page type; defaults to the kit's usual page of each event.
    consumed : sequence of str, optional
        Source columns the caller (an adapter) reads itself: neither mapped nor kept as
        attributes here.

    Returns
    -------
    Store
        ``events``, ``sessions`` and ``users`` (derived from the events), validated, with notes.

    Examples
    --------
    >>> t0 = 1_700_000_000  # seconds since 1970: 2023-11-14
    >>> log = pd.DataFrame({"visitor": [1, 1, 1, 2], "t": [t0, t0 + 60, t0 + 7200, t0 + 30],
    ...                     "action": ["view", "cart", "view", "like"], "sku": [5, 5, 6, 5],
    ...                     "tier": ["gold", "gold", "gold", "new"]})
    >>> st = from_events(log, {"user_id": "visitor", "ts": "t", "event": "action",
    ...                        "item_id": "sku"}, {"view": "view_item", "cart": "add_to_cart"},
    ...                  ts_unit="s")
    >>> st.events[["session_id", "user_id", "event"]].to_dict("list")
    {'session_id': ['1-1', '2-1', '1-1', '1-2'], 'user_id': [1, 2, 1, 1], 'event': ['view_item', 'like', 'add_to_cart', 'view_item']}
    >>> st.users[["user_id", "tier"]].to_dict("records")
    [{'user_id': 1, 'tier': 'gold'}, {'user_id': 2, 'tier': 'new'}]
    >>> st.notes.loc[st.notes["step"].str.startswith(("event", "column tier")), "detail"].tolist()
    ['mapped to add_to_cart', 'kept as is', 'mapped to view_item', 'kept as users.tier (one value per user)']
    """
    event_map = dict(event_map or {})
    for need in ("user_id", "ts", "event"):
        if need not in columns:
            raise ValueError(f"from_events: columns must map {need!r} to a source column")
    unknown = sorted(set(columns) - set(SCHEMA["events"]) - {"channel", "device"})
    if unknown:
        raise ValueError(f"from_events: cannot map {unknown[0]!r}; columns may map "
                         f"{', '.join([*SCHEMA['events'], 'channel', 'device'])}")
    missing = [src for src in columns.values() if src not in df.columns]
    if missing:
        raise DataValidationError("events", missing[0], "source column named in `columns` is "
                                  f"missing (source columns: {', '.join(map(str, df.columns))})")
    bad = {k: v for k, v in event_map.items() if v not in EVENT_NAMES}
    if bad:
        raise ValueError(f"from_events: event_map targets must be canonical event names; "
                         f"got {bad} (allowed: {', '.join(EVENT_NAMES)})")
    notes: list = []
    _note(notes, "read source rows", len(df), "rows in the source log")
    raw_event = df[columns["event"]]
    no_name = raw_event.isna() | (raw_event.astype(str).str.strip() == "")
    if no_name.any():
        _note(notes, "dropped: no event name", no_name.sum(),
              f"rows whose {columns['event']!r} is empty")
    src_event = raw_event.astype(str).str.strip()
    mapped = src_event.map(event_map).where(lambda m: m.notna(), src_event)
    for name, n in src_event[~no_name].value_counts().sort_index().items():
        target = event_map.get(name)
        _note(notes, f"event {name}", n, f"mapped to {target}" if target and target != name
              else "kept as is")
    keep = (~no_name).to_numpy()
    if not keep.any():
        raise DataValidationError("events", columns["event"], f"no row has an event name ("
                                  f"{len(df):,} rows read, all with an empty {columns['event']!r})")
    src = df.loc[keep].reset_index(drop=True)
    for canon, col in columns.items():
        table = "sessions" if canon in ("channel", "device") else "events"
        _note(notes, f"column {col}", src[col].notna().sum(), f"mapped to {table}.{canon}")
    for col in consumed:
        if col in df.columns and col not in columns.values():
            _note(notes, f"column {col}", df[col].notna().sum(), "read by the adapter")
    ev = pd.DataFrame({"user_id": _to_id("events", "user_id", src[columns["user_id"]]),
                       "ts": _parse_ts(src[columns["ts"]], ts_unit, "events", columns["ts"]),
                       "event": mapped[keep].to_numpy()})
    for col in ("item_id", "category", "search_term", "value", "page_type"):
        if col in columns:
            ev[col] = src[columns[col]].to_numpy()
    pages = page_types or _DEFAULT_PAGE
    if "page_type" not in ev.columns:
        ev["page_type"] = ev["event"].map(pages)
    if "session_id" in columns:
        sid = src[columns["session_id"]]
        nulls = sid.isna()
        if nulls.any():
            raise _bad("events", columns["session_id"], "null session ids", nulls, sid)
        ev["session_id"] = sid.astype(str).to_numpy() if not pd.api.types.is_integer_dtype(sid) \
            else sid.to_numpy()
    else:
        gap = pd.Timedelta(session_gap)
        num = _session_numbers(ev["user_id"], ev["ts"], gap)
        first_num = pd.Series(num).groupby(ev["user_id"].to_numpy()).transform("min").to_numpy()
        ev["session_id"] = ev["user_id"].astype(str).to_numpy() + "-" + (num - first_num + 1).astype(str)
        _note(notes, "cut sessions", len(np.unique(num)),
              f"no session column: a new session after more than {session_gap} of inactivity")
    taken = set(columns.values()) | set(consumed)
    session_cols = [c for c in ("channel", "device") if c in columns]
    # an unmapped column named like a column the store builds (a second "category", a "ts") is
    # kept under another name rather than overwrite or collide with it
    built = (set(ev.columns) | {"session_id", "user_id", "started_at", "landing_page",
                                "first_seen"} | set(session_cols)
             | ({"acquisition_channel"} if "channel" in columns else set()))
    renamed = {}
    for c in [c for c in src.columns if c not in taken and c in built]:
        new = f"{c}_source"
        while new in src.columns or new in built or new in renamed.values():
            new += "_"
        renamed[c] = new
        _note(notes, f"column {c}", src[c].notna().sum(), f"renamed {new}: the store builds its "
              f"own {c}")
    src = src.rename(columns=renamed)
    levels = _attribute_levels(src, [c for c in src.columns if c not in taken], ev, notes)
    per_session = pd.DataFrame({"session_id": ev["session_id"].to_numpy(), "ts": ev["ts"].to_numpy()})
    for c in session_cols:
        per_session[c] = src[columns[c]].to_numpy()
    for c in levels["sessions"]:
        per_session[c] = src[c].to_numpy()
    extra = None
    if session_cols or levels["sessions"]:
        # a session's channel/device is the one of its first event; an attribute its first value
        first = per_session.sort_values(["session_id", "ts"], kind="mergesort")
        extra = first.drop_duplicates("session_id")[["session_id", *session_cols]]
        for c in levels["sessions"]:
            val = first.dropna(subset=[c]).drop_duplicates("session_id").set_index("session_id")[c]
            extra[c] = val.reindex(extra["session_id"]).to_numpy()
    for c in levels["events"]:
        ev[c] = src[c].to_numpy()
    order = np.lexsort((ev["session_id"].astype(str).to_numpy(), ev["ts"].to_numpy()))
    ev = ev.iloc[order].reset_index(drop=True)
    sessions, users = _derive_sessions_users(ev, extra)
    if levels["users"]:
        attrs = (pd.DataFrame({"user_id": _to_id("events", "user_id", src[columns["user_id"]]),
                               **{c: src[c].to_numpy() for c in levels["users"]}}))
        for c in levels["users"]:
            val = attrs.dropna(subset=[c]).drop_duplicates("user_id").set_index("user_id")[c]
            users[c] = val.reindex(users["user_id"]).to_numpy()
    _note(notes, "kept events", len(ev), "every row with an event name")
    canon = [c for c in SCHEMA["events"] if c in ev.columns]
    st = Store(events=ev[canon + [c for c in levels["events"] if c not in canon]],
               sessions=sessions, users=users,
               notes=pd.DataFrame(notes))
    return validate(st)


def _attribute_levels(src: pd.DataFrame, cols: list, ev: pd.DataFrame, notes: list) -> dict:
    """Where each unmapped source column belongs: the coarsest table on which it has one value."""
    out = {"users": [], "sessions": [], "events": []}
    user = ev["user_id"].to_numpy()
    session = ev["session_id"].to_numpy()
    for c in cols:
        s = src[c]
        if s.isna().all():
            _note(notes, f"column {c}", 0, "dropped: the column is empty")
            continue
        clash = [t for t in out if c in SCHEMA[t]]
        for table, key in (("users", user), ("sessions", session), ("events", None)):
            if key is None or (s.groupby(key).nunique(dropna=False) <= 1).all():
                break
        if clash and table in clash:
            _note(notes, f"column {c}", s.notna().sum(), f"kept as {table}.{c} (a canonical column)")
        else:
            _note(notes, f"column {c}", s.notna().sum(),
                  f"kept as {table}.{c}" + (" (one value per user)" if table == "users" else
                                            " (one value per session)" if table == "sessions" else ""))
        out[table].append(c)
    return out


_DEFAULT_PAGE = {"page_view": "other", "view_item_list": "category", "view_item": "product",
                 "search": "search", "add_to_cart": "product", "remove_from_cart": "cart",
                 "view_cart": "cart", "begin_checkout": "checkout", "add_shipping_info": "checkout",
                 "add_payment_info": "checkout", "purchase": "confirmation"}


def ga4_channel(source: pd.Series, medium: pd.Series) -> pd.Series:
    """GA4-like default channel group from session source and medium (see ``GA4_CHANNEL_RULES``).

    Examples
    --------
    >>> ga4_channel(pd.Series(["google", "google", "facebook", "(direct)", "newsletter"]),
    ...             pd.Series(["organic", "cpc", "referral", "(none)", "email"])).tolist()
    ['Organic Search', 'Paid Search', 'Organic Social', 'Direct', 'Email']
    """
    src = source.fillna("(direct)").astype(str).str.lower()
    med = medium.fillna("(none)").astype(str).str.lower()
    engine = src.str.contains("|".join(_SEARCH_ENGINES), regex=True)
    social = src.str.contains("|".join(map(re.escape, _SOCIAL)), regex=True) | med.isin(["social"])
    paid = med.isin(["cpc", "ppc", "paid", "paidsearch", "paidsocial", "paid_social", "cpm"])
    conds = [
        (src == "(direct)") & med.isin(["(none)", "(not set)"]),
        med.str.contains("email|e-mail|e_mail", regex=True),
        med.str.contains("affiliate", regex=True),
        social & paid,
        social,
        engine & paid,
        med == "organic",
        med == "referral",
    ]
    choices = ["Direct", "Email", "Affiliates", "Paid Social", "Organic Social", "Paid Search",
               "Organic Search", "Referral"]
    return pd.Series(np.select(conds, choices, default="Unassigned"), index=source.index)


def from_ga4(df: pd.DataFrame, *, columns: dict[str, str] | None = None) -> Store:
    """A Store from a flattened GA4 BigQuery export (one row per event, or per event × item).

    Reads the columns in ``GA4_COLUMNS`` (override names with ``columns``): ``event_timestamp``
    in microseconds, ``user_pseudo_id``, ``ga_session_id`` (unique within a user, so the session
    key is ``user_pseudo_id-ga_session_id``), session source/medium/campaign (channel by
    ``ga4_channel``), device category, and item fields. Purchases with a ``transaction_id`` become
    ``orders`` (revenue = ``purchase_revenue``, status completed) and their item rows
    ``order_lines``; item fields fill ``items``. Events whose name is not a canonical e-commerce
    event (``session_start``, ``scroll``, ``user_engagement``, …) are dropped and counted.
    GA4 exports carry no spend, reviews, experiments or campaign holdouts.

    Examples
    --------
    >>> ga = pd.DataFrame({"event_name": ["session_start", "view_item", "purchase"],
    ...     "event_timestamp": [1_700_000_000_000_000, 1_700_000_010_000_000, 1_700_000_090_000_000],
    ...     "user_pseudo_id": ["u1"] * 3, "ga_session_id": [17] * 3,
    ...     "session_source": ["google"] * 3, "session_medium": ["cpc"] * 3,
    ...     "transaction_id": [None, None, "T1"], "purchase_revenue": [None, None, 25.0],
    ...     "item_id": [None, "sku1", "sku1"], "price": [None, 25.0, 25.0],
    ...     "quantity": [None, None, 1]})
    >>> st = from_ga4(ga)
    >>> st.sessions[["session_id", "channel"]].to_dict("records")
    [{'session_id': 'u1-17', 'channel': 'Paid Search'}]
    >>> st.orders[["order_id", "revenue"]].to_dict("records")
    [{'order_id': 'T1', 'revenue': 25.0}]
    """
    c = dict(GA4_COLUMNS, **(columns or {}))
    for need in ("event_name", "event_timestamp", "user_pseudo_id", "ga_session_id"):
        if c[need] not in df.columns:
            raise DataValidationError("events", c[need], "required GA4 column is missing "
                                      f"(columns: {', '.join(map(str, df.columns))})")
    df = df.reset_index(drop=True)
    nulls = df[c["ga_session_id"]].isna()
    if nulls.any():
        raise _bad("events", c["ga_session_id"], "null session ids (every GA4 event row carries "
                   "its ga_session_id; export it with the event params)", nulls,
                   df[c["ga_session_id"]])
    df["_session"] = df[c["user_pseudo_id"]].astype(str) + "-" + df[c["ga_session_id"]].astype(
        "Int64").astype(str)
    has = {k: c[k] in df.columns for k in c}
    if has["source"] or has["medium"]:
        src = df[c["source"]] if has["source"] else pd.Series(None, index=df.index, dtype=object)
        med = df[c["medium"]] if has["medium"] else pd.Series(None, index=df.index, dtype=object)
        df["_channel"] = ga4_channel(src, med)
    cols = {"user_id": c["user_pseudo_id"], "ts": c["event_timestamp"], "event": c["event_name"],
            "session_id": "_session"}
    for canon, key in (("item_id", "item_id"), ("category", "item_category"),
                       ("search_term", "search_term"), ("page_type", "page_type"),
                       ("device", "device")):
        if has[key]:
            cols[canon] = c[key]
    if "_channel" in df.columns:
        cols["channel"] = "_channel"
    if has["price"]:
        # a flat export repeats the transaction's purchase_revenue on each of its item rows:
        # an item row's value is its own price x quantity, so the values add up to the order;
        # a purchase row without a price carries the revenue once per transaction
        price = pd.to_numeric(df[c["price"]], errors="coerce")
        qty = (pd.to_numeric(df[c["quantity"]], errors="coerce").fillna(1) if has["quantity"]
               else 1)
        buy = df[c["event_name"]] == "purchase"
        value = price.where(~buy, price * qty)
        if has["purchase_revenue"]:
            rev = pd.to_numeric(df[c["purchase_revenue"]], errors="coerce")
            tid = df[c["transaction_id"]] if has["transaction_id"] else df["_session"]
            first = ~pd.DataFrame({"t": tid, "b": buy}).duplicated()
            value = value.where(~(buy & price.isna()), rev.where(first))
        df["_value"] = value
        cols["value"] = "_value"
    # one row per event × item: keep one event row per (session, time, name, item)
    internal = [x for x in ("_session", "_channel", "_value") if x in df.columns]
    store = from_events(df, cols, {}, ts_unit="us",
                        consumed=[c[k] for k in c if has[k]] + internal)
    notes = store.notes.to_dict("records")
    tables = {"events": store.events, "sessions": store.sessions, "users": store.users}
    if has["campaign"]:
        camp = df.sort_values(c["event_timestamp"], kind="mergesort").drop_duplicates("_session")
        tables["sessions"] = tables["sessions"].merge(
            camp[["_session", c["campaign"]]].rename(columns={"_session": "session_id",
                                                             c["campaign"]: "campaign"}),
            on="session_id", how="left")
    if has["item_id"]:
        it = df.loc[df[c["item_id"]].notna()]
        items = pd.DataFrame({"item_id": _to_id("items", c["item_id"], it[c["item_id"]])})
        items["category"] = it[c["item_category"]].to_numpy() if has["item_category"] else None
        items["brand"] = it[c["item_brand"]].to_numpy() if has["item_brand"] else None
        items["price"] = pd.to_numeric(it[c["price"]], errors="coerce").to_numpy() if has["price"] else np.nan
        items["name"] = it[c["item_name"]].to_numpy() if has["item_name"] else None
        items = items.groupby("item_id", sort=True).last().reset_index()
        tables["items"] = items
        _note(notes, "derived items", len(items), "distinct item_id values with their last-seen fields")
    if has["transaction_id"]:
        p = df.loc[(df[c["event_name"]] == "purchase") & df[c["transaction_id"]].notna()]
        no_id = ((df[c["event_name"]] == "purchase") & df[c["transaction_id"]].isna()).sum()
        if no_id:
            _note(notes, "purchases without transaction_id", no_id,
                  "kept as purchase events; no order can be built for them")
        if len(p):
            ts = pd.to_datetime(pd.to_numeric(p[c["event_timestamp"]]), unit="us", utc=True)
            p = p.assign(_ts=ts.to_numpy())
            rev = (pd.to_numeric(p[c["purchase_revenue"]], errors="coerce") if has["purchase_revenue"]
                   else pd.Series(np.nan, index=p.index))
            p = p.assign(_rev=rev.to_numpy())
            head = p.sort_values("_ts", kind="mergesort").drop_duplicates(c["transaction_id"])
            orders = pd.DataFrame({"order_id": _to_id("orders", c["transaction_id"], head[c["transaction_id"]]).to_numpy(),
                                   "user_id": _to_id("orders", c["user_pseudo_id"], head[c["user_pseudo_id"]]).to_numpy(),
                                   "session_id": head["_session"].to_numpy(),
                                   "ordered_at": head["_ts"].to_numpy(),
                                   "status": "completed", "revenue": head["_rev"].to_numpy(),
                                   "discount": 0.0})
            if has["item_id"]:
                li = p.loc[p[c["item_id"]].notna()]
                qty = pd.to_numeric(li[c["quantity"]], errors="coerce").fillna(1) if has["quantity"] \
                    else pd.Series(1, index=li.index)
                lines = pd.DataFrame({"order_id": _to_id("order_lines", c["transaction_id"], li[c["transaction_id"]]).to_numpy(),
                                      "item_id": _to_id("order_lines", c["item_id"], li[c["item_id"]]).to_numpy(),
                                      "quantity": qty.to_numpy(),
                                      "unit_price": pd.to_numeric(li[c["price"]], errors="coerce")
                                      .to_numpy() if has["price"] else np.nan})
                lines = lines.groupby(["order_id", "item_id"], sort=True).agg(
                    quantity=("quantity", "sum"), unit_price=("unit_price", "mean")).reset_index()
                tables["order_lines"] = lines
                missing_rev = orders["revenue"].isna()
                if missing_rev.any():
                    gross = (lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
                    orders.loc[missing_rev, "revenue"] = gross.reindex(
                        orders.loc[missing_rev, "order_id"]).to_numpy()
                    _note(notes, "revenue from items", int(missing_rev.sum()),
                          "orders without purchase_revenue: revenue = sum of item price x quantity")
            tables["orders"] = orders
            _note(notes, "derived orders", len(orders), "one order per transaction_id")
    _note(notes, "not in a GA4 export", 0, "spend, reviews, assignments and campaign_sends are absent")
    return validate(Store(**tables, notes=pd.DataFrame(notes)))


def from_retailrocket(events: pd.DataFrame, *, session_gap: str = "30min") -> Store:
    """A Store from the RetailRocket ``events.csv`` (timestamp ms, visitorid, event, itemid,
    transactionid).

    ``view`` → ``view_item``, ``addtocart`` → ``add_to_cart``, ``transaction`` → ``purchase``.
    The log has no sessions, so sessions are cut after ``session_gap`` of inactivity. It has
    no prices (item properties are hashed), so **no orders table** is built: revenue-based
    analyses are skipped, purchases remain as events with their item.

    Examples
    --------
    >>> rr = pd.DataFrame({"timestamp": [1433221332117, 1433224214164, 1433224300000],
    ...                    "visitorid": [257597, 257597, 257597],
    ...                    "event": ["view", "addtocart", "transaction"],
    ...                    "itemid": [355908, 355908, 355908],
    ...                    "transactionid": [None, None, 4000]})
    >>> st = from_retailrocket(rr)
    >>> st.events["event"].tolist(), st.events["session_id"].tolist()
    (['view_item', 'add_to_cart', 'purchase'], ['257597-1', '257597-2', '257597-2'])
    """
    need = ["timestamp", "visitorid", "event", "itemid"]
    for col in need:
        if col not in events.columns:
            raise DataValidationError("events", col, "required RetailRocket column is missing "
                                      f"(columns: {', '.join(map(str, events.columns))})")
    if "transactionid" in events.columns:  # kept on the purchase events: load_store's orders use it
        events = events.rename(columns={"transactionid": "order_id"})
    st = from_events(events, {"user_id": "visitorid", "ts": "timestamp", "event": "event",
                              "item_id": "itemid"},
                     {"view": "view_item", "addtocart": "add_to_cart", "transaction": "purchase"},
                     ts_unit="ms", session_gap=session_gap)
    notes = st.notes.to_dict("records")
    _note(notes, "no orders table", 0, "RetailRocket has no prices: load_store derives orders "
          "from the purchase events (one per transactionid), without revenue")
    return Store(events=st.events, sessions=st.sessions, users=st.users, notes=pd.DataFrame(notes))


def from_online_retail(df: pd.DataFrame) -> Store:
    """A Store from UCI Online Retail transactions (InvoiceNo, StockCode, Description, Quantity,
    InvoiceDate, UnitPrice, CustomerID, Country).

    Each invoice is one order and one session holding a single ``purchase`` event (the data has
    no browsing). Dropped and counted in ``notes``: rows without CustomerID, cancellation
    invoices (InvoiceNo starting with "C"; their value is reported), and other rows with
    quantity or unit price ≤ 0 (adjustments, bad debt). Times are UK local without zone and are
    taken as UTC. ``users.region`` is the country.

    Examples
    --------
    >>> uci = pd.DataFrame({"InvoiceNo": ["536365", "536365", "C536379", "536380"],
    ...     "StockCode": ["85123A", "71053", "D", "22728"], "Description": ["heart", "lantern",
    ...     "Discount", "alarm"], "Quantity": [6, 6, -1, 4],
    ...     "InvoiceDate": ["12/1/2010 8:26", "12/1/2010 8:26", "12/1/2010 9:41", "12/1/2010 9:41"],
    ...     "UnitPrice": [2.55, 3.39, 27.5, 3.75], "CustomerID": [17850, 17850, 14527, None],
    ...     "Country": ["United Kingdom"] * 4})
    >>> st = from_online_retail(uci)
    >>> st.orders[["order_id", "user_id", "revenue"]].to_dict("records")
    [{'order_id': 536365, 'user_id': 17850, 'revenue': 35.64}]
    >>> st.notes["step"].tolist()[1:3]
    ['dropped: no CustomerID', 'dropped: cancellation invoice']
    """
    need = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    for col in need:
        if col not in df.columns:
            raise DataValidationError("orders", col, "required Online Retail column is missing "
                                      f"(columns: {', '.join(map(str, df.columns))})")
    notes: list = []
    _note(notes, "read source rows", len(df), "invoice lines")
    inv = df["InvoiceNo"].astype(str).str.strip()
    qty = pd.to_numeric(df["Quantity"], errors="coerce")
    price = pd.to_numeric(df["UnitPrice"], errors="coerce")
    no_cust = df["CustomerID"].isna()
    _note(notes, "dropped: no CustomerID", no_cust.sum(), "lines that cannot be tied to a customer")
    cancel = ~no_cust & inv.str.upper().str.startswith("C")
    _note(notes, "dropped: cancellation invoice", cancel.sum(),
          f"C-invoices (value {float((qty[cancel] * price[cancel]).sum()):.2f}); they cannot "
          "always be matched to the original order")
    bad = ~no_cust & ~cancel & ((qty <= 0) | (price <= 0) | qty.isna() | price.isna())
    _note(notes, "dropped: quantity or price <= 0", bad.sum(), "adjustments, samples, bad debt")
    code = df["StockCode"].astype("string").str.strip()
    no_code = ~(no_cust | cancel | bad) & (code.isna() | (code == "")).to_numpy()
    _note(notes, "dropped: no StockCode", no_code.sum(),
          f"lines with no item (value {float((qty[no_code] * price[no_code]).sum()):.2f}), left "
          "out of order lines and revenue alike")
    keep = ~(no_cust | cancel | bad | no_code)
    d = df.loc[keep].assign(_inv=inv[keep], _qty=qty[keep], _price=price[keep])
    # UCI writes month first (12/1/2010 8:26)
    d["_ts"] = _to_utc("orders", "InvoiceDate", d["InvoiceDate"].astype(str), dayfirst=False).to_numpy()
    d["_user"] = _to_id("users", "CustomerID", pd.to_numeric(d["CustomerID"])).to_numpy()
    d["_item"] = code[keep].to_numpy(dtype=object)
    d["_value"] = d["_qty"] * d["_price"]
    head = d.sort_values("_ts", kind="mergesort").groupby("_inv", sort=True).agg(
        user_id=("_user", "first"), ordered_at=("_ts", "min"), revenue=("_value", "sum"))
    orders = head.reset_index().rename(columns={"_inv": "order_id"})
    orders["revenue"] = orders["revenue"].round(2)
    orders["session_id"] = orders["order_id"]
    orders["status"] = "completed"
    orders["discount"] = 0.0
    lines = d.groupby(["_inv", "_item"], sort=True).agg(quantity=("_qty", "sum"),
                                                        value=("_value", "sum")).reset_index()
    lines["unit_price"] = (lines["value"] / lines["quantity"]).round(4)
    lines = lines.rename(columns={"_inv": "order_id", "_item": "item_id"})[
        ["order_id", "item_id", "quantity", "unit_price"]]
    desc = d["Description"] if "Description" in d.columns else pd.Series(None, index=d.index)
    items = (d.assign(_desc=desc).sort_values("_ts", kind="mergesort")
             .groupby("_item", sort=True).agg(price=("_price", "median"), name=("_desc", "last"))
             .reset_index().rename(columns={"_item": "item_id"}))
    items["category"] = None
    events = pd.DataFrame({"session_id": orders["order_id"], "user_id": orders["user_id"],
                           "ts": orders["ordered_at"], "event": "purchase",
                           "page_type": "confirmation", "value": orders["revenue"]})
    sessions = pd.DataFrame({"session_id": orders["order_id"], "user_id": orders["user_id"],
                             "started_at": orders["ordered_at"], "landing_page": "confirmation"})
    country = d.groupby("_user", sort=True)["Country"].first() if "Country" in d.columns else None
    users = sessions.groupby("user_id", sort=True)["started_at"].min().rename("first_seen").reset_index()
    if country is not None:
        users["region"] = country.reindex(users["user_id"]).to_numpy()
    _note(notes, "derived orders", len(orders), "one order, session and purchase event per invoice")
    _note(notes, "not in Online Retail", 0, "no browsing events, channels, devices, reviews, spend, "
          "experiments or campaigns; item categories are unknown")
    return validate(Store(events=events, sessions=sessions, users=users, items=items,
                          orders=orders[["order_id", "user_id", "session_id", "ordered_at", "status",
                                         "revenue", "discount"]],
                          order_lines=lines, notes=pd.DataFrame(notes)))


def from_rees46(df: pd.DataFrame) -> Store:
    """A Store from REES46 multi-category store events (event_time, event_type, product_id,
    category_id, category_code, brand, price, user_id, user_session).

    ``view`` → ``view_item``, ``cart`` → ``add_to_cart``, ``remove_from_cart`` →
    ``remove_from_cart``, ``purchase`` → ``purchase``. Sessions are ``user_session``; rows
    without a session are dropped and counted. The purchases of a session form one order (the
    data has no order id): revenue = sum of purchased prices, one line per product with its
    count as quantity. ``category`` is ``category_code`` (``category_id`` when the code is
    missing); items take their last seen brand, category and median price.

    Examples
    --------
    >>> r = pd.DataFrame({"event_time": ["2019-10-01 00:00:00 UTC", "2019-10-01 00:01:00 UTC",
    ...                                  "2019-10-01 00:02:00 UTC"],
    ...                   "event_type": ["view", "cart", "purchase"], "product_id": [44600062] * 3,
    ...                   "category_id": [2103807459595387724] * 3,
    ...                   "category_code": ["electronics.smartphone"] * 3, "brand": ["shiseido"] * 3,
    ...                   "price": [35.79] * 3, "user_id": [541312140] * 3,
    ...                   "user_session": ["72d76fde-8bb3-4e00-8c23-a032dfed738c"] * 3})
    >>> st = from_rees46(r)
    >>> st.orders[["user_id", "revenue"]].to_dict("records")
    [{'user_id': 541312140, 'revenue': 35.79}]
    """
    need = ["event_time", "event_type", "product_id", "price", "user_id", "user_session"]
    for col in need:
        if col not in df.columns:
            raise DataValidationError("events", col, "required REES46 column is missing "
                                      f"(columns: {', '.join(map(str, df.columns))})")
    notes: list = []
    no_sess = df["user_session"].isna()
    if no_sess.any():
        _note(notes, "dropped: no user_session", no_sess.sum(), "events without a session id")
    d = df.loc[~no_sess].copy()
    cat = d["category_code"] if "category_code" in d.columns else pd.Series(None, index=d.index)
    if "category_id" in d.columns:
        cat = cat.where(cat.notna(), d["category_id"].astype("Int64").astype(str))
    d["_category"] = cat
    d["_time"] = d["event_time"].astype(str).str.replace(" UTC", "+00:00", regex=False)
    st = from_events(d, {"user_id": "user_id", "ts": "_time", "event": "event_type",
                         "session_id": "user_session", "item_id": "product_id",
                         "category": "_category", "value": "price"},
                     {"view": "view_item", "cart": "add_to_cart",
                      "remove_from_cart": "remove_from_cart", "purchase": "purchase"},
                     consumed=[x for x in ("event_time", "category_code", "category_id", "brand")
                               if x in d.columns])
    notes = notes + st.notes.to_dict("records")
    ev = st.events
    items = (ev.loc[ev["item_id"].notna()].sort_values("ts", kind="mergesort")
             .groupby("item_id", sort=True).agg(category=("category", "last"),
                                                price=("value", "median")).reset_index())
    if "brand" in d.columns:
        brand = d.sort_values("_time", kind="mergesort").groupby("product_id")["brand"].last()
        items["brand"] = brand.reindex(items["item_id"].to_numpy()).to_numpy()
    buy = ev.loc[ev["event"] == "purchase"]
    tables = {"events": ev, "sessions": st.sessions, "users": st.users, "items": items}
    if len(buy):
        head = buy.groupby("session_id", sort=True).agg(user_id=("user_id", "first"),
                                                        ordered_at=("ts", "max"),
                                                        revenue=("value", "sum"))
        orders = head.reset_index()
        orders["order_id"] = orders["session_id"]
        orders["status"] = "completed"
        orders["discount"] = 0.0
        orders["revenue"] = orders["revenue"].round(2)
        lines = buy.groupby(["session_id", "item_id"], sort=True).agg(
            quantity=("event", "size"), unit_price=("value", "mean")).reset_index()
        lines = lines.rename(columns={"session_id": "order_id"})
        tables["orders"] = orders
        tables["order_lines"] = lines
        _note(notes, "derived orders", len(orders), "one order per session with purchases")
    _note(notes, "not in REES46", 0, "no channels, devices, reviews, spend, experiments, campaigns")
    return validate(Store(**tables, notes=pd.DataFrame(notes)))


def _olist(tables):
    from helpers.adapters.olist import from_olist

    return from_olist(tables)


ADAPTERS = {"ga4": from_ga4, "retailrocket": from_retailrocket, "online_retail": from_online_retail,
            "rees46": from_rees46, "olist": _olist}


def convert(fmt: str, source: str | os.PathLike, out_dir: str | os.PathLike, *,
            overwrite: bool = False) -> Store:
    """Read a source file (CSV, optionally compressed, or Parquet), convert and save a store.

    ``olist`` reads a folder: the Olist export's CSV files (see :mod:`helpers.adapters.olist`).
    """
    if fmt not in ADAPTERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(ADAPTERS)}")
    path = Path(source)
    out = Path(out_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    src_files = {p.resolve() for p in ([path] if path.is_file() else path.rglob("*"))}
    if any(f.resolve() in src_files or f.resolve() == path.resolve() for f in store_files(out)) \
            or out.resolve() == path.resolve():
        raise FileExistsError(f"{out} would overwrite the source {path}: write the store to "
                              "another folder")
    if store_files(out) and not overwrite:
        raise FileExistsError(f"{out} already holds a store: pass --overwrite to replace it "
                              "(nothing was converted)")
    if fmt == "olist":
        from helpers.adapters import olist

        store = olist.from_olist(olist.read_folder(path))
        save_store(store, out_dir, overwrite=overwrite)
        return store
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    elif fmt == "online_retail" and path.suffix in (".xlsx", ".xls"):
        raw = pd.read_excel(path, dtype={"InvoiceNo": str, "StockCode": str})
    else:
        dtype = {"InvoiceNo": str, "StockCode": str, "user_session": str,
                 "transactionid": "Int64"} if fmt != "ga4" else \
            {"user_pseudo_id": str, "transaction_id": str}
        encoding = "utf-8"
        try:
            raw = pd.read_csv(path, dtype=dtype, encoding="utf-8")
        except UnicodeDecodeError:
            # the UCI file as first published is Latin-1; a re-saved copy is usually UTF-8
            encoding = "latin-1"
            raw = pd.read_csv(path, dtype=dtype, encoding="latin-1")
    store = ADAPTERS[fmt](raw)
    if path.suffix != ".parquet" and path.suffix not in (".xlsx", ".xls"):
        notes = store.notes.to_dict("records") if store.notes is not None else []
        _note(notes, "read as", len(raw), f"{path.name}: {encoding} text"
              + (" (not valid UTF-8)" if encoding != "utf-8" else ""))
        store.notes = pd.DataFrame(notes)
    save_store(store, out_dir, overwrite=overwrite)
    return store


_SIGNATURES = {
    "ga4": {"event_name", "event_timestamp", "user_pseudo_id"},
    "retailrocket": {"timestamp", "visitorid", "event", "itemid"},
    "online_retail": {"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"},
    "rees46": {"event_time", "event_type", "product_id", "user_session"},
}


def guess_format(source: Path) -> str | None:
    """The adapter whose required columns the file's header has (``olist`` for a folder), or None.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "e.csv"
    >>> _ = f.write_text("timestamp,visitorid,event,itemid,transactionid\\n1,2,view,3,\\n")
    >>> guess_format(f)
    'retailrocket'
    """
    if source.is_dir():
        return "olist" if any("olist" in p.name for p in source.iterdir()) else None
    try:
        cols = set(pd.read_parquet(source).columns) if source.suffix == ".parquet" else \
            set(pd.read_csv(source, nrows=0, encoding="latin-1").columns)
    except (OSError, ValueError):  # unreadable: no guess (pyarrow's errors are OSError/ValueError)
        return None
    return next((fmt for fmt, need in _SIGNATURES.items() if need <= cols), None)


FORMAT_HELP = {
    "ga4": "flat GA4 BigQuery export (event_name, event_timestamp in µs, user_pseudo_id, "
           "ga_session_id, ...)",
    "olist": "a folder of the Olist e-commerce CSV files (orders and customers at least)",
    "online_retail": "UCI Online Retail invoice lines (InvoiceNo, StockCode, Quantity, "
                     "InvoiceDate, UnitPrice, CustomerID)",
    "rees46": "REES46 store events (event_time, event_type, product_id, price, user_id, "
              "user_session)",
    "retailrocket": "RetailRocket events.csv (timestamp in ms, visitorid, event, itemid, "
                    "transactionid)",
}
"""One line per ``convert --format``: what the source looks like."""


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m helpers.data",
                                 description="Convert a public or exported data set into a store.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    cv = sub.add_parser("convert", help="convert a file into a store directory",
                        description="Convert an export into a store directory that "
                                    "`make report DATA=...` can read. notes.csv in the store "
                                    "says what was mapped, kept and dropped.",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog="formats:\n" + "\n".join(f"  {k:<14}{v}" for k, v in
                                                          FORMAT_HELP.items()))
    cv.add_argument("--format", required=True, choices=sorted(ADAPTERS),
                    help="the export's format (see below; a wrong one is named with the format "
                         "whose columns the file has)")
    cv.add_argument("source", help="the export file (olist: the folder of its CSV files)")
    cv.add_argument("out_dir", help="the store folder to write (refused if it holds a store)")
    cv.add_argument("--overwrite", action="store_true",
                    help="replace the store already in out_dir (never the source)")
    cv.add_argument("--debug", action="store_true", help="show the full traceback of a failure")
    args = ap.parse_args(argv)
    try:
        store = convert(args.format, args.source, args.out_dir, overwrite=args.overwrite)
    except (DataValidationError, FileNotFoundError, FileExistsError, ValueError, UnicodeDecodeError,
            pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        if args.debug:
            raise
        hint = ""
        if isinstance(e, DataValidationError) and "required" in str(e):
            other = guess_format(Path(args.source))
            if other and other != args.format:
                hint = f"; the file's columns fit --format {other}"
        import sys

        print(f"convert: {args.source}: {e}{hint}", file=sys.stderr)
        return 2
    print(f"wrote {store!r} to {args.out_dir}")
    print(store.notes.to_string(index=False))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
