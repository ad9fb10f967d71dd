"""Notebook conveniences: the ``%%needs`` and ``%%answer_key`` cell magics.

Load it once per notebook with ``%load_ext helpers.notebook``. A cell that starts with

    %%needs orders sessions.channel

runs only when the current ``store`` (a :class:`helpers.data.Store` in the notebook's
namespace) has the table ``orders`` and a ``sessions`` table whose ``channel`` column holds at
least one value. Otherwise the cell prints one line saying what is missing and is skipped, so a
notebook run on a store with fewer tables reports its gaps instead of crashing. The line says
how to get what is missing; a run of skipped cells in a row (one part of the notebook) prints it
once.

A cell that starts with ``%%answer_key`` (optionally followed by needs, as above) runs only when
the store carries a simulator's answer key (``store.truth``) and prints nothing otherwise: the
comparison with planted effects belongs to the bundled lesson, not to a user's own shop.

Examples
--------
>>> import pandas as pd
>>> from helpers.data import Store
>>> missing(Store(events=pd.DataFrame()), ["orders", "events"])
['orders']
"""

from __future__ import annotations


class CellFailed(RuntimeError):
    """Raised by ``%%needs`` when the cell it ran failed, so the notebook run fails too."""


SKIPPED: list[str] = []
"""What was skipped in this kernel, one line per cell (for a closing summary)."""

_LAST_SKIP: dict = {}

_HOW = {
    "orders": "add orders.csv (or purchase events, from which orders are derived)",
    "order_lines": "add order_lines.csv (order_id, item_id, quantity, unit_price)",
    "items": "add items.csv (item_id, category)",
    "sessions": "add sessions.csv, or a session id in the events",
    "users": "add users.csv",
    "reviews": "add reviews.csv (order_id, user_id, item_id, rating, created_at)",
    "spend": "add spend.csv (date, channel, spend)",
    "assignments": "add assignments.csv (experiment, user_id, variant, assigned_at)",
    "campaign_sends": "add campaign_sends.csv (campaign, user_id, sent_at, treated)",
}


def how_to_get(need: str) -> str:
    """One hint per missing table or column: what to add to the store directory.

    >>> how_to_get("sessions.device")
    'a device column in sessions'
    """
    named = next((v for v in NAMED_NEEDS.values() if v[1] == need), None)
    if named:
        return named[2]
    table, _, column = need.partition(".")
    if column:
        return f"a {column} column in {table}"
    return _HOW.get(table, f"add {table}.csv")


FUNNEL_EVENTS = ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info",
                 "add_payment_info", "purchase")


def _has_funnel(store) -> bool:
    ev = getattr(store, "events", None)
    if ev is None or isinstance(ev, str) or "event" not in ev.columns:
        return ev is not None and isinstance(ev, str)  # a Parquet path: trust the caller
    return bool(ev["event"].isin(FUNNEL_EVENTS).any())


NAMED_NEEDS = {
    "funnel": (_has_funnel, ("funnel events (view_item, add_to_cart, begin_checkout, "
                             "add_shipping_info, add_payment_info or purchase)"),
               "name your events after these roles (event_map in data.from_events)"),
}
"""Needs that are not a table or column: name -> (test on the store, what, how to get it)."""


def missing(store, needs: list[str]) -> list[str]:
    """The entries of ``needs`` (``table``, ``table.column`` or a name in ``NAMED_NEEDS``) that
    ``store`` lacks."""
    out = []
    for need in needs:
        if need in NAMED_NEEDS:
            if not NAMED_NEEDS[need][0](store):
                out.append(NAMED_NEEDS[need][1])
            continue
        table, _, column = need.partition(".")
        df = getattr(store, table, None)
        if df is None:
            out.append(table)
        elif column and (column not in df.columns or df[column].isna().all()):
            out.append(need)
    return out


def needs(line: str, cell: str, local_ns=None):
    """Cell magic body: run ``cell`` when the store has what ``line`` names, else explain."""
    from IPython import get_ipython

    ip = get_ipython()
    words = line.split()
    name = "store"
    if words and words[0].startswith("--store="):
        name = words.pop(0).split("=", 1)[1]
    store = ip.user_ns.get(name)
    if store is None:
        raise NameError(f"%%needs looks for a Store called {name!r}; load it first")
    lack = missing(store, words)
    if lack:
        msg = (f"Skipped: this part needs {', '.join(lack)}, which this data does not have "
               f"(to run it: {'; '.join(how_to_get(x) for x in lack)}).")
        SKIPPED.append(msg)
        count = getattr(ip, "execution_count", None)
        # a part is a run of cells skipped in a row: say it once
        if not (_LAST_SKIP.get("msg") == msg and count is not None
                and _LAST_SKIP.get("count") == count - 1):
            print(msg)
        _LAST_SKIP.update(msg=msg, count=count)
        return None
    return _run(ip, cell)


def answer_key(line: str, cell: str, local_ns=None):
    """Cell magic body: run ``cell`` only when the store has an answer key (and what ``line`` names)."""
    from IPython import get_ipython

    ip = get_ipython()
    store = ip.user_ns.get("store")
    if store is None:
        raise NameError("%%answer_key looks for a Store called 'store'; load it first")
    if not getattr(store, "truth", None) or missing(store, line.split()):
        # a silent cell inside a skipped part does not end the part: its line is not repeated
        count = getattr(ip, "execution_count", None)
        if count is not None and _LAST_SKIP.get("count") == count - 1:
            _LAST_SKIP["count"] = count
        return None
    return _run(ip, cell)


def _run(ip, cell: str):
    result = ip.run_cell(cell)
    if result.error_before_exec or result.error_in_exec:
        # the traceback is already shown above; fail this cell too so a run stops here
        raise CellFailed("the cell failed (see the error above)") from None


def load_ipython_extension(ip) -> None:
    """Register ``%%needs`` and ``%%answer_key`` (called by ``%load_ext helpers.notebook``)."""
    ip.register_magic_function(needs, magic_kind="cell", magic_name="needs")
    ip.register_magic_function(answer_key, magic_kind="cell", magic_name="answer_key")
