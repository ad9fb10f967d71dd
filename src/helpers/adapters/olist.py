"""The Olist Brazilian e-commerce public export (a folder of its CSV files) as a store.

Olist published its marketplace orders of 2016–2018 as one CSV per table:
``olist_orders_dataset``, ``olist_customers_dataset``, ``olist_order_items_dataset``,
``olist_order_payments_dataset``, ``olist_order_reviews_dataset``, ``olist_products_dataset``
and ``product_category_name_translation`` (plus sellers and geolocation, which the kit does not
use). Orders and customers are required; every other file adds what it can.

Mapping
-------
- **users**: one per ``customer_unique_id`` (Olist gives every *order* a new ``customer_id``;
  the unique id is the person), ``region`` = state, ``city`` kept as an attribute.
- **orders**: ``ordered_at`` = purchase time (Brazilian local time, taken as
  America/Sao_Paulo); ``status`` "cancelled" for canceled/unavailable orders, "completed" for
  every other (the source status is kept in ``source_status``); ``revenue`` = the order's
  payments (which include freight), or its items' price + freight where it has no payment row;
  the approval, delivery and estimated-delivery times are kept as attributes.
- **order_lines**: one per order × product, ``quantity`` = its item rows, ``unit_price`` their
  mean price (freight excluded: the data tour's revenue check will show the difference).
- **items**: products with their category (in English where the translation file is given).
- **reviews**: score and text (title and message), created at the review's creation date, tied
  to the order's first item; an order reviewed twice keeps its latest review.
- **events** and **sessions**: one session with one ``purchase`` event per order (the export has
  no browsing).
- ``meta``: currency BRL, time zone America/Sao_Paulo.

Examples
--------
>>> orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"],
...     "order_status": ["delivered", "canceled"],
...     "order_purchase_timestamp": ["2018-01-05 10:00:00", "2018-02-01 09:30:00"],
...     "order_delivered_customer_date": ["2018-01-09 15:00:00", None],
...     "order_estimated_delivery_date": ["2018-01-20 00:00:00", "2018-02-20 00:00:00"]})
>>> customers = pd.DataFrame({"customer_id": ["c1", "c2"], "customer_unique_id": ["p", "p"],
...     "customer_city": ["sao paulo", "sao paulo"], "customer_state": ["SP", "SP"]})
>>> items = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "order_item_id": [1, 2, 1],
...     "product_id": ["x", "x", "y"], "price": [10.0, 10.0, 5.0], "freight_value": [2.0, 2.0, 1.0]})
>>> st = from_olist({"orders": orders, "customers": customers, "order_items": items})
>>> st.orders[["order_id", "user_id", "status", "revenue"]].to_dict("records")
[{'order_id': 'o1', 'user_id': 'p', 'status': 'completed', 'revenue': 24.0}, {'order_id': 'o2', 'user_id': 'p', 'status': 'cancelled', 'revenue': 6.0}]
>>> st.order_lines[["order_id", "item_id", "quantity"]].values.tolist()
[['o1', 'x', 2], ['o2', 'y', 1]]
>>> st.currency
'BRL'
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import DataValidationError, Store, _note, validate

TIMEZONE = "America/Sao_Paulo"

FILES = {
    "orders": "olist_orders_dataset",
    "customers": "olist_customers_dataset",
    "order_items": "olist_order_items_dataset",
    "order_payments": "olist_order_payments_dataset",
    "order_reviews": "olist_order_reviews_dataset",
    "products": "olist_products_dataset",
    "category_translation": "product_category_name_translation",
}
"""Olist table -> the stem of its published file name (``.csv``, optionally ``.gz``)."""

_REQUIRED = {
    "orders": ["order_id", "customer_id", "order_status", "order_purchase_timestamp"],
    "customers": ["customer_id", "customer_unique_id"],
    "order_items": ["order_id", "order_item_id", "product_id", "price"],
    "order_payments": ["order_id", "payment_value"],
    "order_reviews": ["review_id", "order_id", "review_score", "review_creation_date"],
    "products": ["product_id", "product_category_name"],
    "category_translation": ["product_category_name", "product_category_name_english"],
}

_CANCELLED = {"canceled", "cancelled", "unavailable"}


def read_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The Olist files found in ``folder``, by table (see ``FILES``); ids are read as text."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"olist: {folder} is not a folder (give the folder that holds "
                                "the Olist CSV files)")
    found = {}
    for table, stem in FILES.items():
        paths = sorted(p for p in folder.iterdir()
                       if re.fullmatch(rf"{re.escape(stem)}\.csv(\.gz)?", p.name, re.IGNORECASE))
        if paths:
            found[table] = pd.read_csv(paths[0], dtype=str, keep_default_na=False,
                                       na_values=[""])
    return found


def from_olist(tables: dict[str, pd.DataFrame]) -> Store:
    """A Store from the Olist tables (``{"orders": df, "customers": df, ...}``; see ``FILES``)."""
    for table in ("orders", "customers"):
        if table not in tables:
            raise DataValidationError(table, None, f"the Olist {FILES[table]}.csv file is required "
                                      f"(found: {', '.join(sorted(tables)) or 'none'})")
    for table, df in tables.items():
        lack = [c for c in _REQUIRED.get(table, []) if c not in df.columns]
        if lack:
            raise DataValidationError(table, lack[0], f"required Olist column is missing "
                                      f"(columns: {', '.join(map(str, df.columns))})")
    notes: list = []
    o, c = tables["orders"].copy(), tables["customers"]
    _note(notes, "read orders", len(o), FILES["orders"])
    person = c.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
    o["user_id"] = o["customer_id"].map(person)
    lost = o["user_id"].isna()
    if lost.any():
        _note(notes, "dropped: order without customer", lost.sum(),
              f"customer_id not in {FILES['customers']} (e.g. {o.loc[lost, 'customer_id'].iloc[0]!r})")
        o = o.loc[~lost]
    o["ordered_at"] = _local(o["order_purchase_timestamp"], "orders", "order_purchase_timestamp")
    src_status = o["order_status"].str.strip().str.lower()
    o["status"] = np.where(src_status.isin(_CANCELLED), "cancelled", "completed")
    _note(notes, "status", (o["status"] == "cancelled").sum(),
          "canceled/unavailable orders are 'cancelled', every other status 'completed' "
          "(source status kept in orders.source_status)")

    items = tables.get("order_items")
    lines = item_table = None
    if items is not None:
        items = items.assign(price=_money(items, "price"),
                             freight_value=_money(items, "freight_value")
                             if "freight_value" in items.columns else 0.0)
        orphan = ~items["order_id"].isin(o["order_id"])
        if orphan.any():
            _note(notes, "dropped: item of an unknown order", orphan.sum(), FILES["order_items"])
            items = items.loc[~orphan]
        lines = items.groupby(["order_id", "product_id"], sort=True).agg(
            quantity=("price", "size"), unit_price=("price", "mean")).reset_index()
        lines = lines.rename(columns={"product_id": "item_id"})
        _note(notes, "order lines", len(lines), f"{len(items)} item rows: one line per order and "
              "product, quantity = its rows, unit price = their mean price (freight excluded)")
        item_table = items.groupby("product_id", sort=True)["price"].median().rename(
            "price").reset_index().rename(columns={"product_id": "item_id"})
        item_table["category"] = None

    revenue = pd.Series(np.nan, index=o["order_id"].to_numpy())
    pay = tables.get("order_payments")
    if pay is not None:
        paid = pay.assign(v=_money(pay, "payment_value")).groupby("order_id")["v"].sum()
        revenue = paid.reindex(revenue.index)
        _note(notes, "revenue from payments", revenue.notna().sum(),
              "revenue = sum of the order's payments (freight included)")
    if items is not None:
        gross = (items["price"] + items["freight_value"]).groupby(items["order_id"]).sum()
        fill = revenue.isna() & revenue.index.isin(gross.index)
        if fill.any():
            _note(notes, "revenue from items", fill.sum(),
                  "orders without a payment row: revenue = their items' price + freight")
        revenue = revenue.where(~fill, gross.reindex(revenue.index))
    if revenue.isna().any():
        _note(notes, "orders without revenue", revenue.isna().sum(),
              "neither payments nor items: revenue unknown")

    orders = pd.DataFrame({"order_id": o["order_id"].to_numpy(), "user_id": o["user_id"].to_numpy(),
                           "session_id": o["order_id"].to_numpy(),
                           "ordered_at": o["ordered_at"].to_numpy(), "status": o["status"],
                           "revenue": revenue.round(2).to_numpy(), "discount": 0.0,
                           "source_status": src_status.to_numpy()})
    for src, name in (("order_approved_at", "approved_at"),
                      ("order_delivered_customer_date", "delivered_at"),
                      ("order_estimated_delivery_date", "estimated_delivery_at")):
        if src in o.columns:
            orders[name] = _local(o[src], "orders", src).to_numpy()

    products = tables.get("products")
    if products is not None:
        cat = products.set_index("product_id")["product_category_name"]
        tr = tables.get("category_translation")
        if tr is not None:
            english = tr.set_index("product_category_name")["product_category_name_english"]
            cat = cat.map(english).where(cat.map(english).notna(), cat)
            _note(notes, "categories in English", cat.notna().sum(), FILES["category_translation"])
        base = item_table if item_table is not None else pd.DataFrame(
            {"item_id": products["product_id"].to_numpy(), "price": np.nan})
        base["category"] = cat.reindex(base["item_id"]).to_numpy()
        item_table = base

    reviews = None
    rv = tables.get("order_reviews")
    if rv is not None:
        reviews = _reviews(rv, orders, items, notes)

    events = pd.DataFrame({"session_id": orders["order_id"], "user_id": orders["user_id"],
                           "ts": orders["ordered_at"], "event": "purchase",
                           "page_type": "confirmation", "value": orders["revenue"]})
    sessions = pd.DataFrame({"session_id": orders["order_id"], "user_id": orders["user_id"],
                             "started_at": orders["ordered_at"], "landing_page": "confirmation"})
    users = orders.groupby("user_id", sort=True)["ordered_at"].min().rename("first_seen").reset_index()
    cust = c.drop_duplicates("customer_unique_id").set_index("customer_unique_id")
    if "customer_state" in cust.columns:
        users["region"] = cust["customer_state"].reindex(users["user_id"]).to_numpy()
    if "customer_city" in cust.columns:
        users["city"] = cust["customer_city"].reindex(users["user_id"]).to_numpy()
    _note(notes, "users", len(users), "one per customer_unique_id (Olist's customer_id is per order)")
    _note(notes, "derived sessions and events", len(orders),
          "one session with one purchase event per order: the export has no browsing")
    _note(notes, "not in Olist", 0, "no browsing events, channels, devices, spend, experiments "
          "or campaigns")
    store = Store(events=events, sessions=sessions, users=users, items=item_table, orders=orders,
                  order_lines=lines, reviews=reviews, notes=pd.DataFrame(notes),
                  meta={"currency": "BRL", "timezone": TIMEZONE, "name": "Olist"})
    return validate(store)


def _reviews(rv: pd.DataFrame, orders: pd.DataFrame, items, notes: list) -> pd.DataFrame | None:
    rv = rv.copy()
    _note(notes, "read reviews", len(rv), FILES["order_reviews"])
    unknown = ~rv["order_id"].isin(orders["order_id"])
    if unknown.any():
        _note(notes, "dropped: review of an unknown order", unknown.sum(), FILES["order_reviews"])
        rv = rv.loc[~unknown]
    rv["created_at"] = _local(rv["review_creation_date"], "reviews", "review_creation_date")
    rv = rv.sort_values(["order_id", "created_at", "review_id"], kind="mergesort")
    twice = rv.duplicated("order_id", keep="last")
    if twice.any():
        _note(notes, "dropped: earlier review of the same order", twice.sum(),
              "an order reviewed more than once keeps its latest review")
        rv = rv.loc[~twice]
    if items is None:
        _note(notes, "dropped: reviews", len(rv), "without order items a review has no item")
        return None
    first = items.assign(n=pd.to_numeric(items["order_item_id"], errors="coerce")).sort_values(
        ["order_id", "n"], kind="mergesort").drop_duplicates("order_id").set_index("order_id")
    rv["item_id"] = rv["order_id"].map(first["product_id"])
    no_item = rv["item_id"].isna()
    if no_item.any():
        _note(notes, "dropped: review of an order without items", no_item.sum(), "")
        rv = rv.loc[~no_item]
    parts = [rv[c].fillna("") for c in ("review_comment_title", "review_comment_message")
             if c in rv.columns]
    text = (parts[0] + " " + parts[1]).str.strip() if len(parts) == 2 else \
        parts[0] if parts else pd.Series("", index=rv.index)
    user = orders.set_index("order_id")["user_id"]
    _note(notes, "reviews", len(rv), "tied to the order's first item; text = title and message")
    return pd.DataFrame({"order_id": rv["order_id"].to_numpy(),
                         "user_id": rv["order_id"].map(user).to_numpy(),
                         "item_id": rv["item_id"].to_numpy(),
                         "rating": rv["review_score"].to_numpy(),
                         "text": text.where(text != "").to_numpy(),
                         "created_at": rv["created_at"].to_numpy()})


def _local(values: pd.Series, table: str, column: str) -> pd.Series:
    """Olist's naive local times -> UTC (America/Sao_Paulo); a bad value is a named error."""
    parsed = pd.to_datetime(values, errors="coerce", format="%Y-%m-%d %H:%M:%S")
    failed = parsed.isna() & values.notna()
    if failed.any():
        pos = np.flatnonzero(failed.to_numpy())
        raise DataValidationError(table, column, "timestamps not in Olist's YYYY-MM-DD HH:MM:SS "
                                  "form", len(pos), pos[:5].tolist(), values.iloc[pos[0]])
    # the hour repeated when daylight saving ends is read as standard time
    standard = np.zeros(len(parsed), dtype=bool)
    return parsed.dt.tz_localize(TIMEZONE, ambiguous=standard, nonexistent="shift_forward") \
        .dt.tz_convert("UTC").dt.as_unit("ns")


def _money(df: pd.DataFrame, column: str) -> pd.Series:
    num = pd.to_numeric(df[column], errors="coerce")
    failed = num.isna() & df[column].notna()
    if failed.any():
        pos = np.flatnonzero(failed.to_numpy())
        raise DataValidationError("order_items" if column != "payment_value" else "order_payments",
                                  column, "values that are not numbers", len(pos), pos[:5].tolist(),
                                  df[column].iloc[pos[0]])
    return num
