"""Data-tour checks on the event log: do the two ways of counting buying sessions agree?

The data tour's headline counts a session as converted when it holds a ``purchase`` event. The
ordered funnel of notebook 03 counts it only when the funnel steps happened in order
(``view_item`` → ``add_to_cart`` → … → ``purchase``). The two counts differ whenever tracking
is imperfect, and an analyst should know by how much and why before quoting either:

* :func:`funnel_steps` - the default funnel of a log: the canonical steps it actually records;
* :func:`purchase_reconciliation` - sessions with a purchase event against the funnel's
  purchase count, with the gap split into its two causes (a step never logged, steps logged
  out of order);
* :func:`order_checks` - events out of order within sessions: purchases that are not the
  session's last funnel step, funnel events that tie in time with another step, and the
  purchase sessions an ordered funnel loses to the order;
* :func:`event_names` - every event name with its volume and role (funnel step, standard, or
  the shop's own);
* :func:`session_mix` - the channel or device mix of sessions, or ``None`` when the data has no
  such column.

All functions take the canonical ``events`` table (a DataFrame with ``session_id``, ``ts`` and
``event``) and return small tidy DataFrames.

Examples
--------
>>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2], "user_id": 1,
...                    "ts": pd.to_datetime([0, 9, 0, 5], unit="s", utc=True),
...                    "event": ["view_item", "purchase", "purchase", "view_item"]})
>>> purchase_reconciliation(ev)[["part", "sessions"]]
                                     part  sessions
0          sessions with a purchase event         2
1  reach purchase in the ordered funnel         1
2    lack one of the earlier funnel steps         0
3    log every step, but not in order         1
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FUNNEL_STEPS = ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info",
                "add_payment_info", "purchase")
"""The canonical purchase funnel (GA4 recommended e-commerce events), in order."""

PARTS = ("sessions with a purchase event", "reach purchase in the ordered funnel",
         "lack one of the earlier funnel steps", "log every step, but not in order")


def funnel_steps(events: pd.DataFrame) -> list[str]:
    """The steps of :data:`FUNNEL_STEPS` that ``events`` records at least once, in funnel order.

    >>> funnel_steps(pd.DataFrame({"event": ["purchase", "view_item", "page_view"]}))
    ['view_item', 'purchase']
    """
    seen = set(events["event"].dropna().unique())
    return [s for s in FUNNEL_STEPS if s in seen]


def _funnel_events(events: pd.DataFrame, steps) -> pd.DataFrame:
    """The events of ``steps`` with ``rank`` (position of their step in ``steps``)."""
    for col in ("session_id", "ts", "event"):
        if col not in events.columns:
            raise ValueError(f"events: required column {col!r} is missing")
    rank = pd.Index(list(steps), dtype="object").get_indexer(events["event"].astype("object"))
    keep = rank >= 0
    ev = events.loc[keep, ["session_id", "ts", "event"]]
    return ev.assign(rank=rank[keep].astype("int64"))


def _steps_logged(fe: pd.DataFrame, sessions: pd.Index, k: int) -> np.ndarray:
    """For each of ``sessions``, a bit mask of the ``k`` funnel steps it logs (bit i = step i)."""
    at = sessions.get_indexer(fe["session_id"])
    hit = at >= 0
    mask = np.zeros(len(sessions), dtype="int64")
    np.bitwise_or.at(mask, at[hit], np.left_shift(1, fe["rank"].to_numpy()[hit]))
    return mask


def _lost(fe: pd.DataFrame, steps, reached: int) -> tuple[int, int, int, pd.Series]:
    """(purchase sessions, lacking a step, logged every step out of order, missing per step)."""
    buyers = pd.Index(fe.loc[fe["event"] == "purchase", "session_id"].unique())
    k = len(steps)
    mask = _steps_logged(fe, buyers, k)
    lacking = (mask & ((1 << (k - 1)) - 1)) != (1 << (k - 1)) - 1
    missing = pd.Series({s: int((lacking & ((mask >> i) & 1 == 0)).sum())
                         for i, s in enumerate(steps[:-1])}, dtype="int64")
    missing = missing[missing > 0].sort_values(ascending=False, kind="stable").rename("sessions")
    n_lack = int(lacking.sum())
    return len(buyers), n_lack, len(buyers) - reached - n_lack, missing


def purchase_reconciliation(events: pd.DataFrame) -> pd.DataFrame:
    """Sessions with a ``purchase`` event against the ordered funnel's purchase count.

    The funnel is :func:`helpers.funnel.funnel` on :func:`funnel_steps` (sessions as units, no
    window). A session with a purchase event is missing from the funnel's last step for one of
    two reasons, which partition the gap exactly: it lacks one of the earlier steps altogether
    (e.g. an ad blocker lost the ``view_item``, or the order was placed from a cart saved in an
    earlier visit), or it logs every step but never in the funnel's order (each step at or
    after the previous one).

    Returns
    -------
    DataFrame with four rows (``part``: the names in :data:`PARTS`), ``sessions`` and ``share``
    (of the sessions with a purchase event; NaN when there are none). ``.attrs`` holds
    ``steps`` (the funnel used) and ``missing_steps``: for the sessions lacking a step, how
    many lack each step (a Series indexed by step, largest first). With fewer than two steps or
    no ``purchase`` step the funnel is not defined and its three rows are NaN.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 3], "user_id": 1,
    ...                    "ts": pd.to_datetime([0, 9, 0, 0, 5], unit="s", utc=True),
    ...                    "event": ["view_item", "purchase", "purchase", "view_item", "page_view"]})
    >>> r = purchase_reconciliation(ev)
    >>> r["sessions"].tolist(), r.attrs["missing_steps"].to_dict()
    ([2, 1, 1, 0], {'view_item': 1})
    """
    steps = funnel_steps(events)
    fe = _funnel_events(events, steps)
    counts, missing = _reconcile(fe, steps)
    n_buy = counts[0]
    out = pd.DataFrame({"part": list(PARTS), "sessions": pd.array(counts, dtype="Int64")})
    out["share"] = out["sessions"].astype("float64") / n_buy if n_buy else np.nan
    out.attrs.update(steps=steps, missing_steps=missing)
    return out


def _reconcile(fe, steps):
    """The four counts of :func:`purchase_reconciliation` and the missing steps."""
    from helpers.funnel import funnel

    n_buy = fe.loc[fe["event"] == "purchase", "session_id"].nunique()
    if len(steps) < 2 or steps[-1] != "purchase":
        return [n_buy, pd.NA, pd.NA, pd.NA], pd.Series(dtype="int64", name="sessions")
    reached = int(funnel(fe, steps)["n"].iloc[-1]) if n_buy else 0
    n_buy, n_lack, n_order, missing = _lost(fe, steps, reached)
    return [n_buy, reached, n_lack, n_order], missing


def order_checks(events: pd.DataFrame) -> pd.DataFrame:
    """Quality checks of the order of funnel events within sessions, one row per check.

    Three checks on the events of :func:`funnel_steps`, in the columns of
    :func:`helpers.data.quality_checks` (``check``, ``table``, ``rows``, ``share``, ``status``,
    plus ``unit``, ``of``: what ``rows`` counts and the total its ``share`` is of):

    1. purchase sessions whose last purchase is followed (strictly later) by another funnel
       step: legal (a buyer may keep browsing), but a sign of clock or batching problems when
       frequent;
    2. funnel events with the same session and timestamp as an event of a *different* step:
       their order is unknown. The kit's funnel counts a tie as in order; tools that demand a
       strictly later step do not;
    3. purchase sessions that log every funnel step but not in order, so the ordered funnel
       loses them (the last part of :func:`purchase_reconciliation`).

    ``status`` is "ok" when ``rows`` is 0, "look" otherwise, and "n/a" when the check cannot be
    made (no purchase events, or fewer than two funnel steps). ``.attrs`` holds ``steps`` and
    ``tied_purchase_sessions`` (purchase sessions with at least one tie: what a strict-order
    funnel could lose).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2], "user_id": 1,
    ...     "ts": pd.to_datetime([0, 5, 9, 0, 0], unit="s", utc=True),
    ...     "event": ["view_item", "purchase", "view_item", "view_item", "purchase"]})
    >>> order_checks(ev)[["rows", "of", "status"]]
       rows  of status
    0     1   2   look
    1     2   5   look
    2     0   2     ok
    """
    steps = funnel_steps(events)
    fe = _funnel_events(events, steps)
    buy = fe.loc[fe["event"] == "purchase"]
    n_buy = buy["session_id"].nunique()

    last_buy = buy.groupby("session_id")["ts"].max()
    other = fe.loc[fe["event"] != "purchase"]
    last_other = other.loc[other["session_id"].isin(last_buy.index)].groupby("session_id")["ts"].max()
    not_last = int((last_other > last_buy.reindex(last_other.index)).sum())

    kinds = fe.groupby(["session_id", "ts"])["rank"].transform("nunique")
    tied = kinds > 1
    ties = int(tied.sum())

    lost = _reconcile(fe, steps)[0][3]
    funnel_ok = len(steps) >= 2 and steps[-1] == "purchase"

    rows = [
        ("purchase sessions whose last purchase is followed by another funnel step",
         not_last, "sessions", n_buy, n_buy > 0),
        ("funnel events that tie in time with another step of their session",
         ties, "events", len(fe), len(steps) >= 2),
        ("purchase sessions the ordered funnel loses (every step logged, not in order)",
         lost, "sessions", n_buy, funnel_ok and n_buy > 0),
    ]
    out = pd.DataFrame({
        "check": [r[0] for r in rows], "table": "events",
        "rows": pd.array([r[1] if r[4] else pd.NA for r in rows], dtype="Int64"),
        "unit": [r[2] for r in rows], "of": [int(r[3]) for r in rows]})
    of = out["of"].astype("float64")
    out["share"] = (out["rows"].astype("float64") / of.where(of > 0)).to_numpy()
    ok = [r[4] for r in rows]
    out["status"] = np.where(~np.array(ok), "n/a", np.where(out["rows"].fillna(0) == 0, "ok", "look"))
    out.attrs["steps"] = steps
    out.attrs["tied_purchase_sessions"] = int(
        fe.loc[tied.to_numpy(), "session_id"].isin(last_buy.index).groupby(
            fe.loc[tied.to_numpy(), "session_id"]).any().sum())
    return out[["check", "table", "rows", "unit", "of", "share", "status"]]


def event_names(events: pd.DataFrame) -> pd.DataFrame:
    """Every event name in the log with its volume and the role the notebooks give it.

    ``role`` is ``"funnel step"`` for the canonical funnel steps, ``"standard"`` for the other
    canonical GA4 names the notebooks know (page views, searches, lists, cart views) and
    ``"own"`` for a name of the shop's own (``payment_error``, ``wishlist``), which the series
    keeps and shows under that name.

    Returns
    -------
    DataFrame with ``event``, ``role``, ``events``, ``sessions`` (sessions with at least one)
    and ``session_share``; funnel steps first in funnel order, then the rest by volume.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2], "event": ["view_item", "oops", "oops",
    ...                    "page_view"]})
    >>> event_names(ev)[["event", "role", "events", "sessions"]].values.tolist()
    [['view_item', 'funnel step', 1, 1], ['oops', 'own', 2, 2], ['page_view', 'standard', 1, 1]]
    """
    from helpers.data import EVENT_NAMES

    name = events["event"].astype(str)
    g = pd.DataFrame({"event": name, "session_id": events["session_id"]}).groupby(
        "event", sort=True).agg(events=("session_id", "size"), sessions=("session_id", "nunique"))
    g = g.reset_index()
    g["role"] = np.where(g["event"].isin(FUNNEL_STEPS), "funnel step",
                         np.where(g["event"].isin(EVENT_NAMES), "standard", "own"))
    step = g["event"].map({e: i for i, e in enumerate(FUNNEL_STEPS)}).fillna(len(FUNNEL_STEPS))
    g = g.assign(_step=step).sort_values(["_step", "events", "event"],
                                         ascending=[True, False, True], kind="stable")
    n = events["session_id"].nunique()
    g["session_share"] = g["sessions"] / n if n else np.nan
    return g[["event", "role", "events", "sessions", "session_share"]].reset_index(drop=True)


def session_mix(store, by: str) -> pd.DataFrame | None:
    """Sessions by ``by`` (e.g. ``"device"``) as :func:`helpers.data.mix`; None without that column.

    None also when the store has no sessions table or the column is empty, so a narrator can
    say the data does not tell instead of describing a table of ``(missing)``.

    >>> from types import SimpleNamespace
    >>> ses = pd.DataFrame({"session_id": [1, 2], "device": ["mobile", None]})
    >>> session_mix(SimpleNamespace(sessions=ses), "device")["n"].tolist()
    [1, 1]
    >>> session_mix(SimpleNamespace(sessions=ses), "channel") is None
    True
    """
    from helpers.data import mix

    ses = getattr(store, "sessions", None)
    if ses is None or by not in ses.columns or ses[by].isna().all():
        return None
    return mix(ses, by)
