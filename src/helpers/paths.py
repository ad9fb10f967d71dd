"""Browsing paths and association rules: how people move through the shop and what goes together.

Event-level functions take the canonical ``events`` table (``session_id``, ``user_id``, ``ts``,
``event``, ``page_type``, ``item_id``, ``category``, ``search_term``) and return tidy frames:

* :func:`sessionize` cuts a log without sessions into visits (30-minute inactivity rule);
* :func:`clean_paths` maps raw values to pages by regex rules (``/product/123`` →
  ``/product/:id``) and merges consecutive repeats into one row, counting what it merged;
* :func:`transitions` is the page-to-page transition table (a first-order Markov chain with
  explicit ``(start)`` and ``(exit)`` states), :func:`top_paths` the most common paths;
* :func:`dwell_times`, :func:`search_terms`, :func:`category_interest` and
  :func:`browsed_not_bought` describe how long people look, what they search, what interests
  them and what they keep looking at without buying;
* :func:`baskets` and :func:`rules` mine association rules (Agrawal, Imielinski & Swami 1993)
  with mlxtend's FP-growth (Han, Pei & Yin 2000), thresholds applied on exact integer counts;
* :func:`next_step_rules` are sequential rules "A, then later B in the same visit", which
  mlxtend does not offer.

Everything is vectorised with numpy/pandas (no Python loop over sessions or rows). Within a
session, events are ordered by time and, for equal times, by their row order in the input.

Examples
--------
>>> ev = pd.DataFrame({"session_id": [1, 1, 2], "ts": pd.to_datetime(["2025-01-01 10:00",
...                    "2025-01-01 10:01", "2025-01-01 11:00"], utc=True),
...                    "event": ["page_view", "view_item", "page_view"]})
>>> transitions(ev)[["from", "to", "n"]]
        from        to  n
0    (start)  page_view  2
1  page_view    (exit)  1
2  page_view  view_item  1
3  view_item     (exit)  1
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from math import ceil

import numpy as np
import pandas as pd

from helpers import args
from helpers.data import require_columns as _require
from helpers.engine import is_path
from helpers.stats import wilson

START = "(start)"
"""State before the first event of a session in :func:`transitions`."""
EXIT = "(exit)"
"""State after the last event of a session in :func:`transitions`."""
MISSING = "(missing)"
"""Label given to events whose state column is empty (they are kept, not dropped)."""
MORE = "…"
"""Last step of a path in :func:`top_paths` that continues beyond ``max_steps``."""

PAGE_ORDER = ("home", "other", "search", "category", "product", "cart", "checkout",
              "confirmation")
"""Reading order of the page types the loader assigns (from the front door to the receipt)."""

SPARSE_CELLS = 20_000_000
""":func:`baskets` returns a sparse frame when transactions × items exceeds this."""


# --------------------------------------------------------------------------- states


def fill_page_type(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events whose ``page_type`` is empty take their event name as the page.

    A custom marker (``payment_error``, ``checkout_bug``) or a log that records no pages at all
    then shows in paths and transitions under its own name instead of as "(missing)". The
    events are not changed in place.

    Returns
    -------
    (events, filled): the events with ``page_type`` filled, and one row per event name that
    was filled (``event``, ``rows``), most rows first.

    Examples
    --------
    >>> ev = pd.DataFrame({"event": ["page_view", "payment_error", "payment_error"],
    ...                    "page_type": ["home", None, None]})
    >>> out, filled = fill_page_type(ev)
    >>> out["page_type"].tolist(), filled.to_dict("list")
    (['home', 'payment_error', 'payment_error'], {'event': ['payment_error'], 'rows': [2]})
    """
    _require(events, "events", ["event"])
    page = events["page_type"] if "page_type" in events.columns else \
        pd.Series(pd.NA, index=events.index, dtype="object")
    empty = page.isna()
    counts = events.loc[empty, "event"].astype(str).value_counts()
    filled = pd.DataFrame({"event": counts.index.astype(str), "rows": counts.to_numpy()})
    filled = filled.sort_values(["rows", "event"], ascending=[False, True], kind="stable")
    out = events.assign(page_type=page.astype("object").where(~empty, events["event"].astype(str)))
    return out, filled.reset_index(drop=True)


REPEATS = "repeats"
"""Column of :func:`clean_paths`: how many input events each row stands for."""


def clean_paths(events: pd.DataFrame, *, by: str = "page_type", rules=None,
                first_match: bool = False, merge_repeats: bool = True, keep=("purchase",),
                into: str | None = None, session: str = "session_id",
                time: str = "ts") -> pd.DataFrame:
    """Path cleaning: map values to pages by regex rules, merge consecutive repeats into one row.

    Raw logs name pages too finely for paths (``/product/12345``, ``/product/12346``, … each
    its own state) and repeat the same state many times in a row (product → product →
    product). Cleaning, as in product-analytics tools (PostHog's path cleaning rules), does two
    things, and returns an events table that :func:`top_paths`, :func:`transitions`,
    :func:`paths_from`, :func:`dwell_times` and the rest take unchanged:

    1. **Rules** rewrite the ``by`` values. Each rule is a regex ``pattern`` and a
       ``replacement``; every match of the pattern in a value is replaced (``re.sub``: anchor
       with ``^`` and ``$`` to replace whole values, and write a catch-all as ``^.*$``, since
       ``.*`` also matches the empty end of a value; ``\\1`` or ``\\g<name>`` insert a group).
       By default the rules are applied **in order, each to the output of the one before**, as
       PostHog applies its rules: strip the host, then the query string, then map ids. With
       ``first_match=True`` a value is rewritten by the first rule whose pattern it matches
       and later rules do not see it (a catch-all last rule then means "everything else").
       Rules read text only: empty values stay empty (paths show them as ``"(missing)"``) and
       other non-text values are left as they are; both are counted in ``.attrs``.
    2. **Merging**: consecutive events of a session with the same (cleaned) state become one
       row, the first of the run, with ``repeats`` = how many events it stands for. Events are
       ordered within a session by time and, for equal times, by row order, as everywhere in
       this module. An event named in ``keep`` (by default ``purchase``) is never merged into
       the row before it, so every purchase survives and merging changes no :func:`top_paths`
       result (which collapses repeats itself): the same sessions, paths and purchases.

    Nothing is lost: ``repeats`` adds up to the rows read (a ``repeats`` column already there,
    from an earlier cleaning, is summed, so cleaning twice still adds up), and ``.attrs`` say
    what each rule changed and which events were merged into which state.

    Parameters
    ----------
    events : DataFrame
        Needs ``by``; with ``merge_repeats`` also ``session`` and ``time``, and ``event`` when
        ``keep`` names events.
    by : str
        Column whose values are the states: ``page_type``, ``event``, or a URL column such as
        ``page_location`` (a GA4 export keeps it on events).
    rules : mapping or sequence of (pattern, replacement), optional
        Ordered ``{pattern: replacement}`` or a list of pairs; a pattern is a string or a
        compiled ``re.Pattern``. Every pattern is compiled before any data is read: a bad one
        raises ``ValueError`` naming the rule.
    first_match : bool
        Apply only the first matching rule to each value (default: every rule in turn).
    merge_repeats : bool
        Merge consecutive repeats of a state within a session (``False``: only the rules).
    keep : sequence of str
        Event names never merged into the row before them; ``()`` merges every repeat (and
        does not need an ``event`` column).
    into : str, optional
        Column to write the cleaned states to (default: overwrite ``by``); ``by`` then keeps
        the raw value of each row's first event. Pass the same name to the path functions.
    session, time : str
        Column names of the session id and the timestamp.

    Returns
    -------
    DataFrame
        The columns of ``events`` plus ``repeats`` (int64), with ``into`` cleaned; one row per
        run (all rows when ``merge_repeats`` is False), in input order, with the index of each
        run's first event so a row traces back to its source. ``.attrs`` (plain Python values,
        so they survive ``to_parquet``): ``column`` (the cleaned column), ``overwritten``
        (whether it replaced an existing column), ``rows_in``, ``merged`` (rows merged into an
        earlier row), ``missing`` (rows with an empty ``by``), ``not_text`` (non-text rows the
        rules did not read), ``values_in``/``values_out`` (distinct non-empty states before and
        after the rules), ``cleaning`` (per rule: ``rule`` number, ``pattern``,
        ``replacement``, ``matched`` rows, ``changed`` rows) and ``merged_events`` (per state,
        and ``event`` unless the states are the events: ``rows`` merged), each a dict of
        lists for ``pd.DataFrame``.

    Examples
    --------
    A URL per page view, here ``"/product/" + item_id`` on product pages:

    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 1, 2, 2], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02", "2025-01-01 10:02",
    ...      "2025-01-01 11:00", "2025-01-01 11:05"]),
    ...     "event": ["page_view", "view_item", "view_item", "add_to_cart", "page_view",
    ...               "view_item"],
    ...     "page": ["/", "/product/12", "/product/7", "/product/7", "/", "/product/12"]})
    >>> clean = clean_paths(ev, by="page", rules={r"^/product/\\d+$": "/product/:id"})
    >>> clean[["session_id", "event", "page", "repeats"]]
       session_id      event          page  repeats
    0           1  page_view             /        1
    1           1  view_item  /product/:id        3
    4           2  page_view             /        1
    5           2  view_item  /product/:id        1
    >>> pd.DataFrame(clean.attrs["cleaning"])
       rule         pattern   replacement  matched  changed
    0     1  ^/product/\\d+$  /product/:id        4        4
    >>> pd.DataFrame(clean.attrs["merged_events"])
               page        event  rows
    0  /product/:id  add_to_cart     1
    1  /product/:id    view_item     1
    >>> int(clean["repeats"].sum()) == len(ev)
    True

    Full URLs, as a GA4 export's ``page_location``: rules in turn drop the host, then the query
    string, then map the ids.

    >>> ga = ev.assign(page_location="https://shop.example" + ev["page"] + "?utm_source=mail")
    >>> rules = [(r"^https?://[^/]+", ""), (r"[?#].*$", ""), (r"^/product/[^/]+$", "/product/:id")]
    >>> clean_paths(ga, by="page_location", rules=rules, into="page")["page"].tolist()
    ['/', '/product/:id', '/', '/product/:id']
    """
    if not isinstance(events, pd.DataFrame):
        raise ValueError(f"clean_paths: events must be a pandas DataFrame, got "  # noqa: TRY004
                         f"{type(events).__name__}; read a Parquet log first "
                         f"(pd.read_parquet)")
    compiled = _clean_rules(rules)
    keep = args.names(keep, "keep")
    into = by if into is None else into
    for name, what in [(by, "by"), (into, "into"), (session, "session"), (time, "time")]:
        if not isinstance(name, str) or not name:
            raise ValueError(f"clean_paths: {what} must be a column name, got {name!r}")
    if into in {session, time, REPEATS}:
        raise ValueError(f"clean_paths: into={into!r} would overwrite a column the cleaning "
                         f"needs; write the states to a new column, e.g. into='page'")
    need = [by] + ([session, time] if merge_repeats else []) + \
        (["event"] if keep and merge_repeats else [])
    _require(events, "events", need)
    n = len(events)
    weight = _repeats(events)

    codes, uniq = pd.factorize(events[by], sort=False)
    uniq = np.asarray(uniq, dtype=object)
    per_value = np.bincount(codes[codes >= 0], minlength=len(uniq))
    text = np.fromiter((isinstance(u, str) for u in uniq), dtype=bool, count=len(uniq))
    if compiled and len(uniq) and not text.any():
        raise ValueError(f"events.{by}: the rules read text and the column holds "
                         f"{events[by].dtype} values (e.g. {uniq[0]!r}); make a text column "
                         f"first, e.g. events.assign(page='/product/' + "
                         f"events[{by!r}].astype(str)), and clean that")
    cleaned, report = _apply_rules(uniq, text, per_value, compiled, first_match)

    # states as integer codes: cleaned values that became equal share a code; -1 = empty
    if compiled:
        new_codes, new_uniq = pd.factorize(pd.Series(cleaned, dtype=object), sort=False)
        state = np.r_[new_codes, -1][codes]  # code -1 (empty) picks the appended -1
        values_out = len(new_uniq)
        dtype = events[by].dtype if isinstance(events[by].dtype, pd.StringDtype) else object
        col = pd.array([*cleaned, np.nan], dtype=dtype).take(np.where(codes < 0, len(cleaned),
                                                                      codes))
    else:
        new_uniq, state, values_out, col = uniq, codes, len(uniq), None

    if merge_repeats and n:
        scode = _codes(events[session])
        order = np.lexsort((_ns(events[time], "events", time), scode))
        s, x = scode[order], state[order]
        start = np.ones(n, dtype=bool)
        start[1:] = (s[1:] != s[:-1]) | (x[1:] != x[:-1])
        if keep:
            start |= events["event"].isin(keep).to_numpy(dtype=bool)[order]
        firsts = np.flatnonzero(start)
        runs = np.zeros(n, dtype=np.int64)
        runs[order[firsts]] = np.add.reduceat(weight[order], firsts)
        rows = np.sort(order[firsts])
        merged = _merged_events(events, x[~start], order[~start], new_uniq, into)
    else:
        rows, runs = np.arange(n), weight
        with_event = "event" in events.columns and into != "event"
        merged = {c: [] for c in ([into, "event", "rows"] if with_event else [into, "rows"])}

    out = events.iloc[rows] if len(rows) < n else events.copy(deep=False)
    overwritten = into in events.columns and (into != by or col is not None)
    if col is not None:
        out[into] = col[rows]
    elif into != by:
        out[into] = out[by]
    out[REPEATS] = runs[rows]
    out.attrs = {"column": into, "overwritten": bool(overwritten), "rows_in": int(n),
                 "merged": int(n - len(rows)), "missing": int((codes < 0).sum()),
                 "not_text": int(per_value[~text].sum()) if compiled else 0,
                 "values_in": len(uniq), "values_out": int(values_out),
                 "cleaning": report, "merged_events": merged}
    return out


def _clean_rules(rules) -> list[tuple[re.Pattern, str]]:
    """The ``rules`` of :func:`clean_paths` as compiled (pattern, replacement) pairs, checked."""
    if rules is None:
        return []
    if isinstance(rules, (str, bytes, re.Pattern)) or not isinstance(rules, (Mapping, Iterable)):
        raise ValueError(f"clean_paths: rules must be a mapping or a list of (pattern, "  # noqa: TRY004
                         f"replacement) pairs, e.g. {{r'^/product/\\d+$': '/product/:id'}}, "
                         f"got {rules!r}")
    pairs = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    out = []
    for i, pair in enumerate(pairs, start=1):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) or \
                len(pair := tuple(pair)) != 2:
            raise ValueError(f"clean_paths: rule {i} must be a (pattern, replacement) pair, "
                             f"e.g. (r'^/product/\\d+$', '/product/:id'), got {pair!r}")
        pattern, repl = pair
        if not isinstance(pattern, (str, re.Pattern)) or not isinstance(repl, str):
            raise ValueError(f"clean_paths: rule {i} ({pattern!r} -> {repl!r}) needs a text "  # noqa: TRY004
                             f"pattern and a text replacement")
        try:
            pat = re.compile(pattern)
        except re.error as e:
            raise ValueError(f"clean_paths: rule {i} ({pattern!r} -> {repl!r}): the pattern is "
                             f"not a regular expression ({e})") from None
        try:
            pat.sub(repl, "")  # compiles the replacement: a bad group reference fails here
        except (re.error, IndexError) as e:
            raise ValueError(f"clean_paths: rule {i} ({pattern!r} -> {repl!r}): bad replacement "
                             f"({e}); write a literal backslash as '\\\\\\\\'") from None
        out.append((pat, repl))
    return out


def _apply_rules(uniq, text, per_value, rules, first_match):
    """Rules applied once per distinct value; returns (cleaned values, per-rule report)."""
    cur = uniq.copy()
    report = {"rule": [], "pattern": [], "replacement": [], "matched": [], "changed": []}
    if not rules:
        return cur, report
    open_ = text.copy()  # values a rule may still rewrite
    for i, (pat, repl) in enumerate(rules, start=1):
        idx = np.flatnonzero(open_)
        hit = np.fromiter((pat.search(v) is not None for v in cur[idx]), dtype=bool,
                          count=len(idx))
        idx = idx[hit]
        new = np.array([pat.sub(repl, v) for v in cur[idx]], dtype=object)
        changed = idx[new != cur[idx]] if len(idx) else idx
        cur[idx] = new
        if first_match:
            open_[idx] = False
        report["rule"].append(i)
        report["pattern"].append(pat.pattern)
        report["replacement"].append(repl)
        report["matched"].append(int(per_value[idx].sum()))
        report["changed"].append(int(per_value[changed].sum()))
    return cur, report


def _repeats(events: pd.DataFrame) -> np.ndarray:
    """How many events each row stands for: 1, or an earlier cleaning's ``repeats``."""
    if REPEATS not in events.columns:
        return np.ones(len(events), dtype=np.int64)
    r = events[REPEATS]
    what = (f"events.{REPEATS}: holds the run lengths of an earlier clean_paths and must be "
            f"whole numbers of at least 1")
    if not pd.api.types.is_integer_dtype(r) or isinstance(r.dtype, pd.CategoricalDtype):
        raise ValueError(f"{what}; it has dtype {r.dtype}. Rename or drop the column")
    bad = (r.isna() | (r < 1)).to_numpy(dtype=bool)
    if bad.any():
        pos = np.flatnonzero(bad)
        raise ValueError(f"{what}; {len(pos)} row(s) are not, e.g. row {int(pos[0])} "
                         f"({r.iloc[int(pos[0])]}). Rename or drop the column")
    return r.to_numpy(dtype=np.int64)


def _merged_events(events, state, rows, names, into) -> dict:
    """Rows merged into an earlier row, per cleaned state and event name, most first.

    ``state`` are the merged rows' state codes (-1 empty), ``rows`` their positions. When the
    states are the event names themselves (``into == "event"``) the event is not repeated.
    """
    with_event = "event" in events.columns and into != "event"
    if with_event:
        codes, enames = pd.factorize(events["event"], sort=True)
        ev = codes[rows]
    else:
        ev, enames = np.zeros(len(rows), dtype=np.int64), np.array([""], dtype=object)
    ne = len(enames) + 1
    cnt = np.bincount((state + 1) * ne + (ev + 1), minlength=(len(names) + 1) * ne)
    nz = np.flatnonzero(cnt)
    labels = np.r_[np.array([MISSING], dtype=object), np.asarray(names, dtype=object)]
    elabels = np.r_[np.array([MISSING], dtype=object), np.asarray(enames, dtype=object)]
    df = pd.DataFrame({"state": [str(v) for v in labels[nz // ne]],
                       "event": [str(v) for v in elabels[nz % ne]],
                       "rows": cnt[nz].astype(np.int64)})
    df = df.sort_values(["rows", "state", "event"], ascending=[False, True, True], kind="stable")
    out = {into: df["state"].tolist()}
    if with_event:
        out["event"] = df["event"].tolist()
    out["rows"] = [int(v) for v in df["rows"]]
    return out



# --------------------------------------------------------------------------- sessions


def sessionize(events, gap="30min", *, user: str = "user_id", time: str = "ts",
               out: str = "session_id", to=None):
    """Give every event a session id: a new session starts after more than ``gap`` of inactivity.

    The rule is the one web analytics tools use (Google Analytics: 30 minutes). Per user,
    events are ordered by time (ties keep their input order); an event opens a new session
    when the time since the user's previous event is **strictly greater** than ``gap``. A gap
    of exactly ``gap`` stays in the same session.

    On a Parquet file / glob / directory (see :mod:`helpers.engine`) the same rule runs in
    DuckDB (window functions, spilling to disk) and the sessionized log, as large as its input,
    is written to the Parquet file ``to`` (required), whose path is returned. Input order
    there is (file name, row in file): rows come out in that order, and ties in time keep it,
    so the ids equal those of the in-memory function on the files concatenated in name order.

    Parameters
    ----------
    events : DataFrame or str or PathLike
        Needs ``user`` and ``time`` columns without nulls.
    gap : str or Timedelta
        Inactivity that ends a session (must be positive).
    user, time : str
        Column names of the user id and the timestamp.
    out : str
        Name of the session id column to write (replaced if present).
    to : str or PathLike, optional
        Output Parquet file; required when ``events`` is a path, not allowed otherwise.

    Returns
    -------
    DataFrame (or the path ``to``)
        A copy of ``events`` in its original row order with ``out`` added: int64 ids
        1, 2, … numbered in (user, session start) order, so the same log always gets the
        same ids.

    Examples
    --------
    >>> ev = pd.DataFrame({"user_id": [7, 7, 7, 3], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:30", "2025-01-01 11:01", "2025-01-02 09:00"])})
    >>> sessionize(ev)["session_id"].tolist()
    [2, 2, 3, 1]
    """
    from helpers import engine

    if engine.is_path(events):
        return _sessionize_sql(events, gap, user=user, time=time, out=out, to=to)
    if to is not None:
        raise ValueError("sessionize: to= is for Parquet input; on a DataFrame save the result "
                         "yourself (.to_parquet)")
    _require(events, "events", [user, time])
    gap = args.duration(gap, "gap", positive=True)
    ucode = _codes(events[user])
    t = _ns(events[time], "events", time)
    order = np.lexsort((np.arange(len(events)), t, ucode))
    u, ts = ucode[order], t[order]
    new = np.ones(len(events), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | ((ts[1:] - ts[:-1]) > gap.value)
    sid = np.empty(len(events), dtype=np.int64)
    sid[order] = np.cumsum(new)
    res = events.copy()
    res[out] = sid
    return res


def _sessionize_sql(path, gap, *, user, time, out, to):
    """:func:`sessionize` on Parquet in DuckDB; writes ``to`` and returns it."""
    from helpers import engine

    if to is None:
        raise ValueError("sessionize: on a Parquet path give to= (the output Parquet file); a "
                         "sessionized log is as large as its input")
    gap = args.duration(gap, "gap", positive=True)
    q = lambda c: '"' + str(c).replace('"', '""') + '"'
    src = engine.parquet_source(path)
    con = engine.connect()
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
        types = {r[0]: r[1] for r in desc}
        lack = [c for c in [user, time] if c not in types]
        if lack:
            raise ValueError(f"events: missing column(s) {', '.join(map(repr, lack))}; "
                             f"it has {', '.join(types)}")
        if not types[time].startswith("TIMESTAMP"):
            raise ValueError(f"events.{time}: expected timestamps, got type {types[time]}")
        for col, what in [(user, "null value(s)"), (time, "missing timestamp(s)")]:
            bad = con.execute(f"SELECT count(*) FROM {src} WHERE {q(col)} IS NULL"
                              ).fetchall()[0][0]
            if bad:
                raise ValueError(f"events.{col}: {bad} {what} in {path}")
        # Narrow pass: ids keyed by (file, row); numbered per user, then offset by the
        # sessions of all smaller user ids, as the in-memory cumulative sum does.
        con.execute(f"""
            CREATE TEMP TABLE ids AS
            WITH e AS (
                SELECT {q(user)} AS u, epoch_ns({q(time)}) AS t, filename AS f,
                       file_index AS fi, file_row_number AS r FROM {src}),
            g AS (
                SELECT u, t, f, fi, r, CASE WHEN t - lag(t) OVER w <= {gap.value} THEN 0
                                            ELSE 1 END AS new
                FROM e WINDOW w AS (PARTITION BY u ORDER BY t, f, r)),
            k AS (
                SELECT u, fi, r, sum(new) OVER (PARTITION BY u ORDER BY t, f, r
                                                ROWS UNBOUNDED PRECEDING) AS k FROM g),
            n AS (
                SELECT u, sum(max(k)) OVER (ORDER BY u ROWS UNBOUNDED PRECEDING) - max(k) AS off
                FROM k GROUP BY u)
            SELECT fi, r, (n.off + k.k)::BIGINT AS sid FROM k JOIN n USING (u)""")
        cols = list(types)
        sel = [f"ids.sid AS {q(out)}" if c == out else f"s.{q(c)}" for c in cols]
        if out not in cols:
            sel.append(f"ids.sid AS {q(out)}")
        target = "'" + str(to).replace("'", "''") + "'"
        con.execute(f"""
            COPY (SELECT {', '.join(sel)}
                  FROM (SELECT *, file_index AS _fi, file_row_number AS _r FROM {src}) s
                  JOIN ids ON s._fi = ids.fi AND s._r = ids.r
                  ORDER BY s._fi, s._r) TO {target} (FORMAT parquet)""")
    finally:
        con.close()
    return to


def transitions(events: pd.DataFrame, by: str = "event", *, session: str = "session_id",
                time: str = "ts") -> pd.DataFrame:
    """Transition counts and probabilities between consecutive events of a session.

    Every session contributes ``(start) → first``, one pair per consecutive pair of events, and
    ``last → (exit)``; a single-event session gives ``(start) → x → (exit)``. Repeats (e.g.
    product → product) are kept: they are the loops. Empty ``by`` values become
    ``"(missing)"`` and are counted in ``.attrs["missing"]``.

    Parameters
    ----------
    events : DataFrame or str or Path
        Needs ``session``, ``time`` and ``by`` columns. A Parquet file, glob or directory is
        read by DuckDB (see :mod:`helpers.engine`) without loading the events into pandas;
        the result is identical to the DataFrame read from the same files, because ties in
        time are broken by input order: files in sorted name order, then row order.
    by : str
        Column whose values are the states (``"event"`` or ``"page_type"``).

    Returns
    -------
    DataFrame
        ``from``, ``to``, ``n`` (transitions), ``probability`` = P(to | from), with its 95 %
        Wilson ``ci_low``/``ci_high``; sorted by ``from``, then ``n`` descending, then ``to``.
        Probabilities out of each ``from`` state sum to 1.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02", "2025-01-01 12:00"]),
    ...     "event": ["page_view", "view_item", "view_item", "view_item"]})
    >>> transitions(ev)[["from", "to", "n", "probability"]].round(4)
            from         to  n  probability
    0    (start)  page_view  1       0.5000
    1    (start)  view_item  1       0.5000
    2  page_view  view_item  1       1.0000
    3  view_item     (exit)  2       0.6667
    4  view_item  view_item  1       0.3333
    """
    if is_path(events):
        names, cnt, missing, n_sess = _transitions_sql(events, by, session=session, time=time)
        k = len(names)
    else:
        o = _ordered(events, by, session=session, time=time)
        names = list(o.names) + [START, EXIT]
        k = len(names)
        x = o.state
        first, last = o.first, o.last
        frm = np.where(first, k - 2, np.r_[0, x[:-1]])
        key = np.concatenate([frm * k + x, x[last] * k + (k - 1)])
        cnt = np.bincount(key, minlength=k * k)
        missing, n_sess = o.missing, int(first.sum()) if len(first) else 0
    nz = np.flatnonzero(cnt)
    res = pd.DataFrame({"from": np.array(names, dtype=object)[nz // k],
                        "to": np.array(names, dtype=object)[nz % k],
                        "n": cnt[nz].astype("int64")})
    out_n = res.groupby("from")["n"].transform("sum").to_numpy()
    res["probability"] = res["n"] / out_n
    res["ci_low"], res["ci_high"] = wilson(res["n"].to_numpy(), out_n)
    res = res.sort_values(["from", "n", "to"], ascending=[True, False, True], kind="stable")
    res = res.reset_index(drop=True).astype({"from": "str", "to": "str"})
    res.attrs["missing"] = missing
    res.attrs["sessions"] = n_sess
    return res


def exits_and_loops(tr: pd.DataFrame, by: str = "state") -> pd.DataFrame:
    """Per state of a :func:`transitions` table: how often a visit ends there, how often it repeats.

    Returns one row per state (not ``(start)``): ``exits`` (visits that ended on it),
    ``exit_rate`` = P(exit | state) with its Wilson ``ci_low``/``ci_high``, and ``loop_rate`` =
    P(same state next | state), 0 when it never repeats; sorted by exit rate (descending), then
    state. The state column is called ``by``.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02", "2025-01-01 12:00"]),
    ...     "page_type": ["home", "product", "product", "product"]})
    >>> exits_and_loops(transitions(ev, by="page_type"), by="page_type")[
    ...     ["page_type", "exits", "exit_rate", "loop_rate"]].round(4)
      page_type  exits  exit_rate  loop_rate
    0   product      2     0.6667     0.3333
    1      home      0     0.0000     0.0000
    """
    out_n = tr.loc[tr["from"] != START].groupby("from")["n"].sum()
    ex = tr.loc[tr["to"] == EXIT].set_index("from")["n"].reindex(out_n.index, fill_value=0)
    loop = tr.loc[tr["from"] == tr["to"]].set_index("from")["n"].reindex(out_n.index,
                                                                          fill_value=0)
    res = pd.DataFrame({by: out_n.index.astype(str), "exits": ex.to_numpy().astype("int64"),
                        "exit_rate": (ex / out_n).to_numpy()})
    res["ci_low"], res["ci_high"] = wilson(ex.to_numpy(), out_n.to_numpy())
    res["loop_rate"] = (loop / out_n).to_numpy()
    res = res.sort_values(["exit_rate", by], ascending=[False, True], kind="stable")
    return res.reset_index(drop=True)


def top_paths(events: pd.DataFrame, max_steps: int = 5, n: int = 10, *, by: str = "page_type",
              session: str = "session_id", time: str = "ts",
              purchase: str = "purchase", other: bool = False) -> pd.DataFrame:
    """The most frequent session paths, with how many sessions took them and how many bought.

    A path is the session's sequence of ``by`` values (page types by default) with
    **consecutive repeats collapsed**: product → product → cart is read as product → cart,
    because three product pages in a row are one "browsing products" step. Paths longer than
    ``max_steps`` (after collapsing) are cut and end in ``"…"``. A session converts when it has
    an ``event == purchase`` row.

    Parameters
    ----------
    events : DataFrame or str or Path
        Needs ``session``, ``time``, ``by`` and ``event``. A Parquet path is handled in DuckDB
        as in :func:`transitions` (same result, nothing per event loaded into pandas).
    max_steps : int
        Steps kept per path (1–12).
    n : int
        How many paths to return.
    other : bool
        Add a last row ``"(other paths)"`` with every session not on a listed path, so that
        sessions and purchases add up to the whole log (and to a funnel's totals).

    Returns
    -------
    DataFrame
        ``path`` (states joined by " → "), ``steps``, ``sessions``, ``share`` of all sessions,
        ``purchases`` (converting sessions), ``conversion`` and its 95 % Wilson
        ``ci_low``/``ci_high``; sorted by sessions (descending), ties by path. ``.attrs``:
        ``sessions`` (all), ``purchases`` (all converting sessions), ``truncated`` (sessions
        whose path was cut).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2, 3], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02"] * 2),
    ...     "page_type": ["home", "product", "product", "home", "product", "search"],
    ...     "event": ["page_view", "view_item", "purchase", "page_view", "view_item", "search"]})
    >>> top_paths(ev, n=2)[["path", "sessions", "purchases", "conversion"]]
                 path  sessions  purchases  conversion
    0  home → product         2          1         0.5
    1          search         1          0         0.0
    >>> top_paths(ev, n=1, other=True)[["path", "sessions", "purchases"]]
                path  sessions  purchases
    0  home → product         2          1
    1  (other paths)         1          0
    """
    if not 1 <= int(max_steps) <= 12:
        raise ValueError(f"max_steps must be between 1 and 12, got {max_steps}")
    width = int(max_steps) + 1  # one extra digit marks "…"
    if is_path(events):
        names, g, n_sess, truncated = _top_paths_sql(events, max_steps, n, by=by, session=session,
                                                     time=time, purchase=purchase)
        base = len(names) + 2
    else:
        _require(events, "events", ["event"])
        o = _ordered(events, by, session=session, time=time)
        names = o.names
        m = len(o.state)
        keep = np.ones(m, dtype=bool)
        keep[1:] = o.first[1:] | (o.state[1:] != o.state[:-1])
        x, first = o.state[keep], o.first[keep]
        start = np.flatnonzero(first)
        step = np.arange(len(x)) - np.repeat(start, np.diff(np.r_[start, len(x)]))
        n_sess = len(start)
        base = _path_base(len(names), max_steps, by)  # 0 = no step, 1..K states, K+1 = "…"
        digit = np.where(step < max_steps, x + 1, base - 1)
        on = step <= max_steps
        sidx = np.cumsum(first) - 1
        key = np.zeros(n_sess, dtype=np.int64)
        np.add.at(key, sidx[on], digit[on] * base ** (width - 1 - step[on]))
        bought = np.zeros(n_sess, dtype=np.int64)
        is_buy = _is(events, "event", purchase, o.order)
        np.maximum.at(bought, np.cumsum(o.first) - 1, is_buy.astype(np.int64))
        df = pd.DataFrame({"key": key, "bought": bought})
        g = df.groupby("key", sort=True)["bought"].agg(["size", "sum"]).reset_index()
        g = g.sort_values(["size", "key"], ascending=[False, True], kind="stable").head(int(n))
        truncated = int((np.diff(np.r_[start, len(x)]) > max_steps).sum())
    labels = np.array([""] + list(names) + [MORE], dtype=object)
    digits = (g["key"].to_numpy()[:, None] // base ** np.arange(width - 1, -1, -1)) % base
    paths = [" → ".join(labels[d[d > 0]]) for d in digits]  # only the n shown paths
    res = pd.DataFrame({"path": paths, "steps": (digits > 0).sum(axis=1).astype("int64"),
                        "sessions": g["size"].to_numpy().astype("int64"),
                        "purchases": g["sum"].to_numpy().astype("int64")})
    res.insert(3, "share", res["sessions"] / max(n_sess, 1))
    res["conversion"] = res["purchases"] / res["sessions"]
    res["ci_low"], res["ci_high"] = wilson(res["purchases"].to_numpy(), res["sessions"].to_numpy())
    res = res.astype({"path": "str"})
    res.attrs["sessions"] = int(n_sess)
    res.attrs["purchases"] = _purchase_sessions(events, session=session, purchase=purchase)
    res.attrs["truncated"] = int(truncated)
    return add_other(res) if other else res


def paths_from(events: pd.DataFrame, event: str, *, max_steps: int = 5, n: int = 10,
               by: str = "page_type", session: str = "session_id", time: str = "ts",
               purchase: str = "purchase") -> pd.DataFrame:
    """Where sessions go after an event: :func:`top_paths` of each session from the first
    ``event`` on (after a search, a payment error, a chat), with every other path in one row.

    Only sessions that have the event count; the path starts at the event's own state (its
    ``by`` value) and collapses repeats as :func:`top_paths` does. ``.attrs["sessions"]`` is the
    number of sessions with the event.

    Examples
    --------
    >>> t = pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:02"])
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2, 3], "ts": list(t) * 2,
    ...     "page_type": ["home", "search", "product", "search", "home", "home"],
    ...     "event": ["page_view", "search", "view_item", "search", "page_view", "page_view"]})
    >>> paths_from(ev, "search")[["path", "sessions"]].values.tolist()
    [['search → home', 1], ['search → product', 1], ['(other paths)', 0]]
    """
    _require(events, "events", [session, time, "event", by])
    ev = events.reset_index(drop=True)
    order = np.lexsort((np.arange(len(ev)), _ns(ev[time], "events", time), _codes(ev[session])))
    ev = ev.iloc[order]
    seen = (ev["event"] == event).groupby(ev[session], sort=False).cummax()
    after = ev.loc[seen.to_numpy()]
    if after.empty:
        raise ValueError(f"paths_from: no session has a {event!r} event")
    return add_other(top_paths(after, max_steps=max_steps, n=n, by=by, session=session,
                               time=time, purchase=purchase))


def interesting_event(events: pd.DataFrame) -> str | None:
    """The event whose aftermath is worth a look: the shop's own most frequent event (a name
    that is not a canonical GA4 one: an error page, a chat), else ``search``, else None.

    >>> interesting_event(pd.DataFrame({"event": ["view_item", "search", "payment_error"]}))
    'payment_error'
    """
    from helpers.data import EVENT_NAMES

    counts = events["event"].astype(str).value_counts()
    own = counts.loc[~counts.index.isin(EVENT_NAMES)]
    if len(own):
        top = own.max()
        return min(own.index[own == top])
    return "search" if "search" in counts.index else None


OTHER = "(other paths)"
"""The row of :func:`add_other` that holds every session not on a listed path."""


def add_other(top: pd.DataFrame) -> pd.DataFrame:
    """:func:`top_paths` with a last row ``"(other paths)"``: every session not listed, so that
    sessions and purchases add up to the whole log (and reconcile with a funnel's totals).

    >>> t = pd.DataFrame({"path": ["home"], "steps": [1], "sessions": [6], "share": [0.6],
    ...                   "purchases": [1], "conversion": [1 / 6], "ci_low": [0.03],
    ...                   "ci_high": [0.56]})
    >>> t.attrs.update(sessions=10, purchases=3, truncated=0)
    >>> add_other(t)[["path", "sessions", "purchases"]].values.tolist()
    [['home', 6, 1], ['(other paths)', 4, 2]]
    """
    n_sess, total_buy = top.attrs["sessions"], top.attrs["purchases"]
    rest_n = int(n_sess) - int(top["sessions"].sum())
    rest_k = int(total_buy) - int(top["purchases"].sum())
    lo, hi = wilson(rest_k, rest_n) if rest_n else (np.nan, np.nan)
    row = pd.DataFrame({"path": [OTHER], "steps": [pd.NA], "sessions": [rest_n],
                        "share": [rest_n / max(n_sess, 1)], "purchases": [rest_k],
                        "conversion": [rest_k / rest_n if rest_n else np.nan],
                        "ci_low": [lo], "ci_high": [hi]})
    out = pd.concat([top.astype({"steps": "Int64"}), row.astype({"steps": "Int64"})],
                    ignore_index=True)
    out.attrs.update(top.attrs)
    return out


def _purchase_sessions(events, *, session: str, purchase: str) -> int:
    """How many sessions have a purchase event (a DataFrame, or a Parquet path via DuckDB)."""
    if is_path(events):
        from helpers import engine

        con = engine.connect()
        try:
            return int(con.execute(f'SELECT count(DISTINCT "{session}") FROM '
                                   f'{engine.parquet_source(events)} WHERE "event" = ?',
                                   [purchase]).fetchone()[0])
        finally:
            con.close()
    return int(events.loc[events["event"] == purchase, session].nunique())


# Out-of-core versions of transitions/top_paths (events given as a Parquet path). DuckDB does the
# per-session window work (LAG over session, ordered by time, then input order); pandas only sees
# the distinct states and the small aggregated counts, and builds the result with the same code
# as the in-memory path. Input order of Parquet rows = (file_index, file_row_number): files in
# the sorted order of their names (DuckDB's glob order, which is also the order in which
# pd.read_parquet(directory) concatenates them), then row order within the file.
_ORD = "(file_index::BIGINT << 40) + file_row_number"


def _q(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def _state_codes(con, events, by: str, *, session: str, time: str, extra=()):
    """Check a Parquet events source and number its ``by`` values as :func:`_ordered` does.

    Registers the view ``_ev`` (s, t, o, x = state code; plus ``extra`` columns unchanged) and
    returns ``(names, missing)``: ``names`` are the sorted distinct values as str (+ MISSING when
    there are nulls), ``missing`` the count of null ``by`` values.
    """
    from helpers import engine

    cols = engine.columns(events)
    lack = [c for c in [session, time, by, *extra] if c not in cols]
    if lack:
        raise ValueError(f"events: missing column(s) {', '.join(map(repr, lack))}; "
                         f"it has {', '.join(cols)}")
    src = engine.parquet_source(events)
    con.execute("SET enable_progress_bar = false")  # no progress text in notebook outputs
    ttype = con.execute(f"SELECT typeof({_q(time)}) FROM {src} LIMIT 1").fetchall()
    if ttype and not ttype[0][0].startswith("TIMESTAMP"):
        raise ValueError(f"events.{time}: expected timestamps, got type {ttype[0][0]}")
    # one scan: distinct states with their counts, and the null checks pandas would do
    vals = con.execute(f"SELECT {_q(by)} AS v, count(*) AS n, "
                       f"count(*) FILTER ({_q(session)} IS NULL) AS ns, "
                       f"count(*) FILTER ({_q(time)} IS NULL) AS nt "
                       f"FROM {src} GROUP BY ALL").df()
    for col, what in [("ns", f"events.{session}: {{}} null value(s)"),
                      ("nt", f"events.{time}: {{}} missing timestamp(s)")]:
        bad = int(vals[col].sum())
        if bad:
            raise ValueError(what.format(bad))
    isnull = vals["v"].isna().to_numpy()
    present = vals.loc[~isnull, "v"]
    codes, uniq = pd.factorize(present, sort=True)
    names = [str(v) for v in uniq]
    missing = int(vals.loc[isnull, "n"].sum())
    miss_code = len(names)
    if missing:
        names.append(MISSING)
    con.register("_codes", pd.DataFrame({"v": present.to_numpy(), "code": codes.astype("int64")}))
    more = "".join(f", e.{_q(c)}" for c in extra)
    con.execute(f"CREATE TEMP VIEW _ev AS SELECT e.{_q(session)} AS s, e.{_q(time)} AS t, "
                f"{_ORD} AS o, coalesce(c.code, {miss_code}) AS x{more} "
                f"FROM {src} AS e LEFT JOIN _codes AS c ON e.{_q(by)} = c.v")
    return names, missing


def _transitions_sql(events, by: str, *, session: str, time: str):
    """:func:`transitions` counts from a Parquet source: (names, k*k counts, missing, sessions)."""
    from helpers import engine

    con = engine.connect()
    try:
        names, missing = _state_codes(con, events, by, session=session, time=time)
        names = names + [START, EXIT]
        k = len(names)
        # One row per event: its incoming pair (prev or START -> x) and, for the last event, the
        # outgoing pair (x -> EXIT); grouping by both keeps it one pass over the window result.
        agg = con.execute(f"""
            SELECT coalesce(prv, {k - 2}) * {k} + x AS k1,
                   CASE WHEN nxt IS NULL THEN x * {k} + {k - 1} END AS k2,
                   count(*) AS n
            FROM (SELECT x, lag(x) OVER w AS prv, lead(x) OVER w AS nxt FROM _ev
                  WINDOW w AS (PARTITION BY s ORDER BY t, o))
            GROUP BY ALL""").df()
    finally:
        con.close()
    n = agg["n"].to_numpy(dtype=np.int64)
    cnt = np.zeros(k * k, dtype=np.int64)
    np.add.at(cnt, agg["k1"].to_numpy(dtype=np.int64), n)
    out = agg["k2"].notna().to_numpy()
    np.add.at(cnt, agg.loc[out, "k2"].to_numpy(dtype=np.int64), n[out])
    n_sess = int(cnt[(k - 2) * k:(k - 1) * k].sum())
    return names, cnt, missing, n_sess


def _path_base(n_states: int, max_steps: int, by: str) -> int:
    """Digit base of a :func:`top_paths` key; refuses keys that would not fit in int64."""
    base = n_states + 2
    if base ** (int(max_steps) + 1) >= 2 ** 62:
        raise ValueError(f"too many distinct {by!r} values ({n_states}) for "
                         f"max_steps={max_steps}; use fewer steps or a coarser column")
    return base


def _top_paths_sql(events, max_steps: int, n: int, *, by: str, session: str, time: str,
                   purchase: str):
    """:func:`top_paths` from a Parquet source: (names, top-n key table, sessions, truncated).

    The path key is the same base-(K+2) number as in memory, so ties sort identically.
    """
    from helpers import engine

    m = int(max_steps)
    con = engine.connect()
    try:
        names, _ = _state_codes(con, events, by, session=session, time=time, extra=["event"])
        base = _path_base(len(names), m, by)
        width = m + 1
        powers = "[" + ", ".join(str(base ** (width - 1 - j)) for j in range(width)) + "]::BIGINT[]"
        g = con.execute(f"""
            WITH a AS (
                SELECT s, t, o, x, lag(x) OVER w AS prv,
                       bool_or(coalesce(event = $purchase, false)) OVER (
                           w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS buy
                FROM _ev WINDOW w AS (PARTITION BY s ORDER BY t, o)),
            b AS (  -- consecutive repeats collapsed; step = position in the collapsed path
                SELECT s, x, buy, row_number() OVER (PARTITION BY s ORDER BY t, o) - 1 AS step
                FROM a WHERE prv IS NULL OR prv <> x),
            per AS (
                SELECT s, sum(CASE WHEN step <= {m} THEN
                           (CASE WHEN step < {m} THEN x + 1 ELSE {base - 1} END)
                           * ({powers})[step + 1] END)::BIGINT AS key,
                       count(*) > {m} AS cut, bool_or(buy)::BIGINT AS bought
                FROM b GROUP BY s),
            k AS (SELECT key, count(*) AS size, sum(bought)::BIGINT AS sum,
                         sum(cut::BIGINT) AS cut FROM per GROUP BY key)
            SELECT key, size, sum, sum(size) OVER () AS n_sess, sum(cut) OVER () AS cut
            FROM k ORDER BY size DESC, key LIMIT {int(n)}""",
                        {"purchase": purchase}).df()
    finally:
        con.close()
    n_sess = int(g["n_sess"].iloc[0]) if len(g) else 0
    truncated = int(g["cut"].iloc[0]) if len(g) else 0
    g = pd.DataFrame({"key": g["key"].to_numpy(dtype=np.int64),
                      "size": g["size"].to_numpy(dtype=np.int64),
                      "sum": g["sum"].to_numpy(dtype=np.int64)})
    return names, g, n_sess, truncated


# --------------------------------------------------------------------------- looking


def dwell_times(events: pd.DataFrame, by: str = "page_type", *, session: str = "session_id",
                time: str = "ts") -> pd.DataFrame:
    """How long people stay on each page type: the time from an event to the next one.

    Web logs only record when a page is opened, so the dwell of an event is the time to the
    next event of the same session. **The last event of a session has no dwell time** (we do not
    know when the visitor left); it is counted in ``last_in_session``, not guessed.

    Returns
    -------
    DataFrame
        One row per state: ``events``, ``timed`` (events with a next event),
        ``last_in_session``, and the dwell in seconds over the timed events: ``median_s``,
        ``mean_s``, ``p25_s``, ``p75_s``; sorted by events (descending), then state.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00:00", "2025-01-01 10:00:30", "2025-01-01 10:01:30"]),
    ...     "page_type": ["home", "product", "cart"]})
    >>> dwell_times(ev)[["page_type", "events", "timed", "last_in_session", "median_s"]]
      page_type  events  timed  last_in_session  median_s
    0      cart       1      0                1       NaN
    1      home       1      1                0      30.0
    2   product       1      1                0      60.0
    """
    o = _ordered(events, by, session=session, time=time)
    dwell = np.full(len(o.state), np.nan)
    nxt = ~o.last
    dwell[nxt] = (o.ts[1:][nxt[:-1]] - o.ts[:-1][nxt[:-1]]) / 1e9 if len(o.state) else []
    df = pd.DataFrame({"code": o.state, "dwell": dwell, "last": o.last})
    g = df.groupby("code", sort=True)
    res = pd.DataFrame({"events": g.size(), "timed": g["dwell"].count(),
                        "last_in_session": g["last"].sum().astype("int64"),
                        "median_s": g["dwell"].median(), "mean_s": g["dwell"].mean(),
                        "p25_s": g["dwell"].quantile(0.25), "p75_s": g["dwell"].quantile(0.75)})
    res.insert(0, by, np.array(o.names, dtype=object)[res.index.to_numpy()])
    res = res.reset_index(drop=True).astype({by: "str"})
    res = res.sort_values(["events", by], ascending=[False, True], kind="stable")
    return res.reset_index(drop=True)


def search_terms(events: pd.DataFrame, *, term: str = "search_term", session: str = "session_id",
                 time: str = "ts", purchase: str = "purchase") -> pd.DataFrame:
    """Search terms: how often, whether the search led anywhere, and whether the visit bought.

    A search "leads nowhere" when it is the last event of its session: the visitor searched
    and left. Logs rarely record how many results a search returned, so a zero-result term
    shows up here as a term with a very high exit rate. ``leads_nowhere`` flags terms whose exit
    rate is clearly above the shop's overall search exit rate (the Wilson 95 % lower bound of
    the term's rate is above the overall rate). Searches without a term are counted in
    ``.attrs["no_term"]``.

    Returns
    -------
    DataFrame
        ``search_term``, ``searches``, ``sessions``, ``exits``, ``exit_rate`` (+ ``exit_low``,
        ``exit_high``), ``to_product`` (share of searches followed by a product view, + Wilson
        CI ``product_low``, ``product_high``),
        ``purchases`` (sessions that bought), ``conversion`` (+ ``conv_low``, ``conv_high``),
        ``leads_nowhere``; sorted by searches (descending), then term.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 11:00", "2025-01-01 12:00"]),
    ...     "event": ["search", "view_item", "search", "search"],
    ...     "search_term": ["lamp", None, "ps6", "lamp"]})
    >>> search_terms(ev)[["search_term", "searches", "exits", "to_product"]]
      search_term  searches  exits  to_product
    0        lamp         2      1         0.5
    1         ps6         1      1         0.0
    """
    _require(events, "events", ["event", term])
    o = _ordered(events, "event", session=session, time=time)
    is_search = _is(events, "event", "search", o.order)
    has_term = is_search & events[term].notna().to_numpy()[o.order]
    terms = events[term].to_numpy(dtype=object)[o.order[has_term]]
    nxt_product = np.r_[_is(events, "event", "view_item", o.order)[1:], False] & ~o.last
    sidx = np.cumsum(o.first) - 1
    bought = np.zeros(int(o.first.sum()), dtype=bool)
    bought[sidx[_is(events, "event", purchase, o.order)]] = True
    df = pd.DataFrame({"search_term": terms, "session": sidx[has_term],
                       "exit": o.last[has_term], "product": nxt_product[has_term],
                       "bought": bought[sidx[has_term]]})
    g = df.groupby("search_term", sort=True)
    res = pd.DataFrame({"searches": g.size(), "sessions": g["session"].nunique(),
                        "exits": g["exit"].sum().astype("int64"),
                        "to_product": g["product"].mean(),
                        "products": g["product"].sum().astype("int64")})
    sess_buy = df.drop_duplicates(["search_term", "session"]).groupby("search_term")["bought"].sum()
    res["purchases"] = sess_buy.astype("int64")
    res["exit_rate"] = res["exits"] / res["searches"]
    res["exit_low"], res["exit_high"] = wilson(res["exits"].to_numpy(), res["searches"].to_numpy())
    res["product_low"], res["product_high"] = wilson(res["products"].to_numpy(),
                                                     res["searches"].to_numpy())
    res["conversion"] = res["purchases"] / res["sessions"]
    res["conv_low"], res["conv_high"] = wilson(res["purchases"].to_numpy(),
                                               res["sessions"].to_numpy())
    overall = df["exit"].mean() if len(df) else np.nan
    res["leads_nowhere"] = res["exit_low"] > overall
    res = res.reset_index().astype({"search_term": "str"})
    res = res[["search_term", "searches", "sessions", "exits", "exit_rate", "exit_low",
               "exit_high", "to_product", "product_low", "product_high", "purchases",
               "conversion", "conv_low", "conv_high",
               "leads_nowhere"]]
    res = res.sort_values(["searches", "search_term"], ascending=[False, True], kind="stable")
    res = res.reset_index(drop=True)
    res.attrs["no_term"] = int((is_search & ~has_term).sum())
    res.attrs["overall_exit_rate"] = float(overall)
    return res


def category_interest(events: pd.DataFrame, *, category: str = "category",
                      session: str = "session_id", user: str = "user_id") -> pd.DataFrame:
    """Interest by category: views, how many visits and people looked, and how many added to cart.

    Returns
    -------
    DataFrame
        ``category``, ``item_views`` (``view_item``), ``list_views`` (``view_item_list``),
        ``sessions`` and ``users`` with any event of the category, ``view_share`` (share of all
        item views), ``sessions_added`` (sessions that added an item of the category to the
        cart), ``add_rate`` = sessions_added / sessions with its Wilson ``ci_low``/``ci_high``;
        sorted by sessions (descending), then category. Events without a category are not
        about a category and are counted in ``.attrs["no_category"]``.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [5, 5, 6],
    ...     "event": ["view_item", "add_to_cart", "view_item"], "category": ["toys"] * 3})
    >>> category_interest(ev)[["category", "item_views", "sessions", "sessions_added", "add_rate"]]
      category  item_views  sessions  sessions_added  add_rate
    0     toys           2  2               1       0.5
    """
    _require(events, "events", [category, session, user, "event"])
    d = events.loc[events[category].notna(), [category, session, user, "event"]]
    ev = d["event"]
    g = d.groupby(category, sort=True)
    res = pd.DataFrame({
        "item_views": (ev == "view_item").groupby(d[category], sort=True).sum().astype("int64"),
        "list_views": (ev == "view_item_list").groupby(d[category], sort=True).sum()
                      .astype("int64"),
        "sessions": g[session].nunique().astype("int64"),
        "users": g[user].nunique().astype("int64")})
    res["view_share"] = res["item_views"] / max(int(res["item_views"].sum()), 1)
    added = d.loc[ev == "add_to_cart"].groupby(category)[session].nunique()
    res["sessions_added"] = added.reindex(res.index, fill_value=0).astype("int64")
    res["add_rate"] = res["sessions_added"] / res["sessions"]
    res["ci_low"], res["ci_high"] = wilson(res["sessions_added"].to_numpy(),
                                           res["sessions"].to_numpy())
    res = res.reset_index().astype({category: "str"})
    res = res.sort_values(["sessions", category], ascending=[False, True], kind="stable")
    res = res.reset_index(drop=True)
    res.attrs["no_category"] = int(events[category].isna().sum())
    return res


def browsed_not_bought(events: pd.DataFrame, bought: pd.DataFrame | None = None, *,
                       min_views: int = 3, user: str = "user_id",
                       item: str = "item_id") -> pd.DataFrame:
    """Items a user viewed at least ``min_views`` times and never bought: retargeting candidates.

    Parameters
    ----------
    events : DataFrame
        ``view_item`` rows with ``user`` and ``item`` are the views.
    bought : DataFrame, optional
        (``user``, ``item``) pairs the user bought, e.g. ``orders`` joined to ``order_lines``.
        Without it, an item counts as bought when the user added it to the cart in a session
        that has a ``purchase`` event (``.attrs["bought_from"]`` says which was used).
    min_views : int
        Views needed to count as "looked at repeatedly".

    Returns
    -------
    DataFrame
        ``user_id``, ``item_id``, ``category`` (when events have it), ``views``, ``sessions``
        (distinct visits with a view), ``last_view``; sorted by views (descending), then user and
        item.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2, 2], "user_id": [7] * 5,
    ...     "ts": pd.to_datetime(["2025-01-01"] * 5), "event": ["view_item"] * 5,
    ...     "item_id": [11, 11, 11, 12, 12]})
    >>> browsed_not_bought(ev, pd.DataFrame({"user_id": [7], "item_id": [12]}), min_views=2)
       user_id  item_id  views  sessions  last_view
    0        7       11      3         2 2025-01-01
    """
    _require(events, "events", [user, item, "event", "session_id", "ts"])
    v = events.loc[(events["event"] == "view_item") & events[item].notna()]
    agg = {"views": ("event", "size"), "sessions": ("session_id", "nunique"),
           "last_view": ("ts", "max")}
    if "category" in v.columns:
        agg = {"category": ("category", "first"), **agg}
    res = v.groupby([user, item], sort=True).agg(**agg).reset_index()
    res = res.loc[res["views"] >= min_views]
    if bought is None:
        buy_s = events.loc[events["event"] == "purchase", "session_id"].unique()
        adds = events.loc[(events["event"] == "add_to_cart") & events["session_id"].isin(buy_s)]
        bought, source = adds[[user, item]], "add_to_cart in sessions with a purchase"
    else:
        _require(bought, "bought", [user, item])
        source = "the given bought pairs"
    bought = bought[[user, item]].drop_duplicates()
    res = res.merge(bought.assign(_b=True), on=[user, item], how="left")
    res = res.loc[res["_b"].isna()].drop(columns="_b")
    res = res.sort_values(["views", user, item], ascending=[False, True, True], kind="stable")
    res = res.reset_index(drop=True)
    res["views"] = res["views"].astype("int64")
    res["sessions"] = res["sessions"].astype("int64")
    res.attrs["bought_from"] = source
    return res


# --------------------------------------------------------------------------- baskets and rules


def baskets(df: pd.DataFrame, transaction: str, item: str, *,
            sparse: bool | None = None) -> pd.DataFrame:
    """One-hot basket matrix from long (transaction, item) rows, ready for :func:`rules`.

    Parameters
    ----------
    df : DataFrame
        One row per item in a transaction (duplicates are fine: one-hot is presence).
    transaction, item : str
        Column names. Nulls raise ``ValueError``.
    sparse : bool, optional
        Return a pandas sparse frame. ``None`` (default) chooses sparse when transactions ×
        items exceeds ``SPARSE_CELLS``, so large data does not blow up memory (mlxtend's
        ``fpgrowth`` reads sparse frames directly).

    Returns
    -------
    DataFrame
        Index: transactions (sorted); columns: items as strings (sorted); values bool.

    Examples
    --------
    >>> long = pd.DataFrame({"order": [1, 1, 2], "item": ["tea", "cake", "tea"]})
    >>> baskets(long, "order", "item")
            cake   tea
    order
    1       True  True
    2      False  True
    """
    _require(df, "df", [transaction, item])
    for c in (transaction, item):
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise ValueError(f"baskets: column {c!r} has {int(bad.sum())} null value(s), "
                             f"e.g. row {int(np.flatnonzero(bad)[0])}; drop or fill them first")
    t_codes, t_uni = pd.factorize(df[transaction], sort=True)
    i_codes, i_uni = pd.factorize(df[item].astype(str), sort=True)
    shape = (len(t_uni), len(i_uni))
    if sparse is None:
        sparse = shape[0] * shape[1] > SPARSE_CELLS
    index = pd.Index(t_uni, name=transaction)
    cols = pd.Index(np.asarray(i_uni, dtype=object)).astype(str)
    if sparse:
        from scipy.sparse import csr_matrix

        m = csr_matrix((np.ones(len(t_codes), dtype=bool), (t_codes, i_codes)), shape=shape)
        m.sum_duplicates()
        m.data[:] = True
        res = pd.DataFrame.sparse.from_spmatrix(m, index=index, columns=cols)
        return res.astype(pd.SparseDtype(bool, False))
    arr = np.zeros(shape, dtype=bool)
    arr[t_codes, i_codes] = True
    return pd.DataFrame(arr, index=index, columns=cols)


RULE_COLUMNS = ["antecedents", "consequents", "transactions", "antecedent_count",
                "consequent_count", "support", "confidence", "conf_low", "conf_high", "lift",
                "leverage", "conviction"]


def rules(baskets: pd.DataFrame, min_support: float, *, min_confidence: float | None = None,
          min_lift: float | None = None, max_len: int | None = None,
          single_consequent: bool = False) -> pd.DataFrame:
    """Association rules A → B from a one-hot basket frame (mlxtend FP-growth), exact thresholds.

    mlxtend finds the frequent itemsets (``fpgrowth``, Han et al. 2000) and forms the rules
    (``association_rules``). Floating-point division can drop a rule whose support or
    confidence equals the threshold exactly (3 of 10 baskets is a confidence of 0.3, yet
    ``3/47*47 / (10/47*47) < 0.3`` in floating point). So mlxtend is called with slightly lower
    thresholds and every threshold is then applied on the **integer counts**, comparing
    fractions exactly (``count(A∪B) / count(A) >= min_confidence`` with ``min_confidence`` read
    as the decimal number it prints as). All thresholds are inclusive, as in R's arules.

    Parameters
    ----------
    baskets : DataFrame
        Boolean one-hot frame (dense or sparse), one row per transaction (see :func:`baskets`).
    min_support : float
        Minimum share of transactions containing A ∪ B.
    min_confidence, min_lift : float or Fraction, optional
        Minimum confidence P(B | A) and lift P(B | A) / P(B). A float is read as the decimal
        it prints as (``0.7`` is 7/10); pass a ``fractions.Fraction`` for e.g. exactly 10/9.
    max_len : int, optional
        Longest itemset A ∪ B considered.
    single_consequent : bool
        Keep only rules with one item on the right, as R's arules makes them.

    Returns
    -------
    DataFrame
        ``antecedents`` and ``consequents`` as readable strings (items sorted, joined by ", "),
        ``transactions`` (count of A ∪ B), ``antecedent_count``, ``consequent_count``,
        ``support``, ``confidence`` with its Wilson ``conf_low``/``conf_high``, ``lift``,
        ``leverage``, ``conviction`` (inf when confidence is 1). Sorted by lift (descending),
        then transactions (descending), antecedents, consequents. ``.attrs["transactions"]`` is
        the number of baskets.

    Examples
    --------
    >>> b = baskets(pd.DataFrame({"t": [1, 1, 2, 2, 3, 4], "i": ["a", "b", "a", "b", "a", "c"]}),
    ...             "t", "i")
    >>> rules(b, 0.5)[["antecedents", "consequents", "transactions", "confidence", "lift"]].round(4)
      antecedents consequents  transactions  confidence    lift
    0           a           b             2      0.6667  1.3333
    1           b           a             2      1.0000  1.3333
    """
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    n = len(baskets)
    if n == 0:
        raise ValueError("rules: the basket frame has no transactions")
    args.share(min_support, "min_support", allow_zero=False)
    if min_confidence is not None:
        args.share(min_confidence, "min_confidence")
    if min_lift is not None:
        args.positive(min_lift, "min_lift")
    min_count = max(1, ceil(_exact(min_support) * n))
    # Ask for count >= min_count - 0.5: mlxtend's ceil(min_support * n) is then min_count.
    fi = fpgrowth(baskets, min_support=(min_count - 0.5) / n, use_colnames=True, max_len=max_len)
    empty = pd.DataFrame({c: pd.Series(dtype="str" if c in RULE_COLUMNS[:2] else
                                       ("int64" if c.endswith(("count", "tions")) else float))
                          for c in RULE_COLUMNS})
    empty.attrs["transactions"] = n
    if fi.empty or fi["itemsets"].map(len).max() < 2:
        return empty
    raw = association_rules(fi, num_itemsets=n, metric="support", min_threshold=0.0,
                            return_metrics=["antecedent support", "consequent support",
                                            "support"])
    if single_consequent:
        raw = raw.loc[raw["consequents"].map(len) == 1]
    c_ab = np.rint(raw["support"].to_numpy() * n).astype(np.int64)
    c_a = np.rint(raw["antecedent support"].to_numpy() * n).astype(np.int64)
    c_b = np.rint(raw["consequent support"].to_numpy() * n).astype(np.int64)
    keep = c_ab >= min_count
    if min_confidence is not None:
        f = _exact(min_confidence)
        keep &= _ge(c_ab.astype(object) * f.denominator, c_a, f.numerator)
    if min_lift is not None:
        f = _exact(min_lift)
        # c_ab / c_a / (c_b / n) >= p/q  <=>  c_ab * n * q >= p * c_a * c_b  (Python ints)
        keep &= _ge(c_ab.astype(object) * n * f.denominator, c_a.astype(object) * c_b, f.numerator)
    raw = raw.loc[keep]
    c_ab, c_a, c_b = c_ab[keep], c_a[keep], c_b[keep]
    if raw.empty:
        return empty
    conf = c_ab / c_a
    s_b = c_b / n
    lo, hi = wilson(c_ab, c_a)
    with np.errstate(divide="ignore"):
        conviction = np.where(c_ab == c_a, np.inf, (1 - s_b) / np.where(c_ab == c_a, 1, 1 - conf))
    res = pd.DataFrame({
        "antecedents": _names(raw["antecedents"]), "consequents": _names(raw["consequents"]),
        "transactions": c_ab, "antecedent_count": c_a, "consequent_count": c_b,
        "support": c_ab / n, "confidence": conf, "conf_low": lo, "conf_high": hi,
        "lift": conf / s_b, "leverage": c_ab / n - (c_a / n) * s_b, "conviction": conviction})
    # lift from integers so that equal lifts tie exactly and sort stably
    res["lift"] = (c_ab.astype(float) * n) / (c_a.astype(float) * c_b)
    res = res.sort_values(["lift", "transactions", "antecedents", "consequents"],
                          ascending=[False, False, True, True], kind="stable")
    res = res.reset_index(drop=True).astype({"antecedents": "str", "consequents": "str"})
    res.attrs["transactions"] = n
    return res


def next_step_rules(events: pd.DataFrame, by: str = "category", *, session: str = "session_id",
                    time: str = "ts", min_sessions: int = 1) -> pd.DataFrame:
    """Sequential rules "A, then later B in the same session" (mlxtend has no sequential rules).

    A session supports A ⇒ B when some event with state A comes strictly before some event with
    state B (A ≠ B), i.e. A's first position is before B's last. With N the sessions that have
    at least one non-empty ``by`` value: support = sessions(A ⇒ B) / N, confidence =
    sessions(A ⇒ B) / sessions(A), lift = confidence / (sessions(B) / N). Lift above 1 means
    that after looking at A, people turn to B more often than visitors in general do. Events
    with an empty ``by`` are ignored (``.attrs["ignored"]`` counts them).

    Returns
    -------
    DataFrame
        ``antecedent``, ``consequent``, ``sessions``, ``antecedent_sessions``,
        ``consequent_sessions``, ``support``, ``confidence`` (+ Wilson ``ci_low``/``ci_high``),
        ``lift``; pairs with at least ``min_sessions`` sessions, sorted by lift (descending),
        then sessions (descending), antecedent, consequent.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 4], "ts": pd.to_datetime(
    ...     ["2025-01-01 10:00", "2025-01-01 10:05"] + ["2025-01-01 12:00"] * 3),
    ...     "category": ["phone", "phone case", "phone", "books", "books"]})
    >>> next_step_rules(ev)[["antecedent", "consequent", "sessions", "confidence", "lift"]]
      antecedent  consequent  sessions  confidence  lift
    0      phone  phone case         1         0.5   2.0
    """
    _require(events, "events", [by])
    _require(events, "events", [session, time])
    d = events.loc[events[by].notna(), [session, time, by]]
    o = _ordered(d, by, session=session, time=time)
    sidx = np.cumsum(o.first) - 1
    k_states = len(o.names)
    key = sidx * k_states + o.state
    pos = pd.Series(np.arange(len(key)))
    g = pos.groupby(key, sort=True).agg(["min", "max"])
    kk = g.index.to_numpy()
    g = pd.DataFrame({"s": kk // k_states, "x": kk % k_states,
                      "min": g["min"].to_numpy(), "max": g["max"].to_numpy()})
    n_sess = int(o.first.sum())
    pairs = g.merge(g, on="s", suffixes=("_a", "_b"))
    pairs = pairs.loc[(pairs["x_a"] != pairs["x_b"]) & (pairs["min_a"] < pairs["max_b"])]
    cnt = pairs.groupby(["x_a", "x_b"], sort=True).size().rename("sessions").reset_index()
    per = g.groupby("x").size()
    cnt = cnt.loc[cnt["sessions"] >= min_sessions]
    names = np.array(o.names, dtype=object)
    n_a = per.reindex(cnt["x_a"]).to_numpy()
    n_b = per.reindex(cnt["x_b"]).to_numpy()
    k = cnt["sessions"].to_numpy()
    lo, hi = wilson(k, n_a)
    res = pd.DataFrame({"antecedent": names[cnt["x_a"].to_numpy()],
                        "consequent": names[cnt["x_b"].to_numpy()],
                        "sessions": k.astype("int64"), "antecedent_sessions": n_a.astype("int64"),
                        "consequent_sessions": n_b.astype("int64"),
                        "support": k / n_sess, "confidence": k / n_a, "ci_low": lo, "ci_high": hi,
                        "lift": (k.astype(float) * n_sess) / (n_a.astype(float) * n_b)})
    res = res.astype({"antecedent": "str", "consequent": "str"})
    res = res.sort_values(["lift", "sessions", "antecedent", "consequent"],
                          ascending=[False, False, True, True], kind="stable")
    res = res.reset_index(drop=True)
    res.attrs["sessions"] = n_sess
    res.attrs["ignored"] = int(len(events) - len(d))
    return res


# --------------------------------------------------------------------------- pictures


def plot_transitions(tr: pd.DataFrame, *, order: list[str] | None = None, ax=None,
                     title: str = "Where visitors go next", min_n: int = 0):
    """Heatmap of P(next state | current state) from :func:`transitions` (rows sum to 100 %).

    ``order`` fixes the row/column order (states not listed are appended alphabetically);
    ``(start)`` is always the first row and ``(exit)`` the last column. Cells with fewer than
    ``min_n`` transitions are left blank.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1], "ts": pd.to_datetime(["2025-01-01"] * 2),
    ...                    "event": ["page_view", "view_item"]})
    >>> ax = plot_transitions(transitions(ev))
    >>> ax.get_xlabel()
    'next step'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from helpers import plots

    states = sorted((set(tr["from"]) | set(tr["to"])) - {START, EXIT})
    if order is not None:
        states = [s for s in order if s in states] + [s for s in states if s not in order]
    p = tr.loc[tr["n"] >= min_n].pivot(index="from", columns="to", values="probability")
    p = p.reindex(index=[START] + states, columns=states + [EXIT])
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.62 * p.shape[1], 0.8 + 0.45 * p.shape[0]))
    sns.heatmap(p, annot=True, fmt=".0%", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax,
                linewidths=0.5, linecolor="white", annot_kws={"fontsize": 8})
    ax.grid(False)
    ax.tick_params(axis="x", rotation=45)
    ax.tick_params(axis="y", rotation=0)
    plots.label(ax, title, "next step", "current step",
                subtitle="share of transitions out of each row; blank = never or too rare")
    return ax


def plot_flow(paths: pd.DataFrame, *, ax=None, title: str = "Top paths through the shop"):
    """A flow picture of :func:`top_paths`: one lane per path, one box per step.

    Each lane is a path read left to right; box colours identify the page type (the same
    colour in every lane), the bar on the right shows how many sessions took it and the label
    their conversion rate.

    Examples
    --------
    >>> p = pd.DataFrame({"path": ["home → product", "search"], "sessions": [20, 10],
    ...                   "conversion": [0.05, 0.0]})
    >>> ax = plot_flow(p)
    >>> len(ax.patches) >= 3
    True
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import FancyBboxPatch

    from helpers import plots

    steps = [p.split(" → ") for p in paths["path"]]
    names = sorted({s for st in steps for s in st})
    colors = dict(zip(names, sns.color_palette("Set2", max(len(names), 8)).as_hex()))
    width = max(len(s) for s in steps)
    if ax is None:
        _, ax = plt.subplots(figsize=(9.5, 0.5 * len(steps) + 1.2))
    top = paths["sessions"].max()
    for row, (st, n, conv) in enumerate(zip(steps, paths["sessions"], paths["conversion"])):
        y = -row
        for j, s in enumerate(st):
            ax.add_patch(FancyBboxPatch((j + 0.05, y - 0.35), 0.8, 0.7,
                                        boxstyle="round,pad=0.02", color=colors[s], alpha=0.85))
            ax.text(j + 0.45, y, s, ha="center", va="center", fontsize=8, color="black")
            if j:
                ax.annotate("", (j + 0.05, y), (j - 0.12, y),
                            arrowprops={"arrowstyle": "->", "color": "0.4"})
        bar = 1.6 * n / top
        ax.add_patch(plt.Rectangle((width + 0.2, y - 0.25), bar, 0.5, color="0.55"))
        ax.text(width + 0.3 + bar, y, f"{n:,} sessions · {conv:.1%} buy", va="center",
                fontsize=8)
    ax.set_xlim(-0.1, width + 3.6)
    ax.set_ylim(-len(steps) + 0.4, 0.6)
    ax.set_yticks(-np.arange(len(steps)), [f"#{i + 1}" for i in range(len(steps))])
    ax.set_xticks(np.arange(width) + 0.45, [f"step {j + 1}" for j in range(width)])
    ax.grid(False)
    plots.label(ax, title, "step in the visit (repeats collapsed)", "path rank",
                subtitle="bar: sessions that took the path")
    return ax


# --------------------------------------------------------------------------- private


class _Ordered:
    """Events in (session, time, row) order as integer arrays."""

    __slots__ = ("first", "last", "missing", "names", "order", "session", "state", "ts")


def _ordered(events: pd.DataFrame, by: str, *, session: str, time: str) -> _Ordered:
    _require(events, "events", [session, time, by])
    scode = _codes(events[session])
    t = _ns(events[time], "events", time)
    order = np.lexsort((t, scode))  # lexsort is stable: equal times keep their row order
    codes, names = pd.factorize(events[by], sort=True)
    names = [str(x) for x in names]
    miss = codes < 0
    if miss.any():
        codes = np.where(miss, len(names), codes)
        names.append(MISSING)
    o = _Ordered()
    o.order = order
    o.session = scode[order]
    o.state = codes[order].astype(np.int64)
    o.names = names
    o.ts = t[order]
    m = len(order)
    o.first = np.ones(m, dtype=bool)
    o.first[1:] = o.session[1:] != o.session[:-1]
    o.last = np.ones(m, dtype=bool)
    o.last[:-1] = o.first[1:]
    o.missing = int(miss.sum())
    return o


def _is(events: pd.DataFrame, col: str, value, order: np.ndarray) -> np.ndarray:
    """Boolean array ``events[col] == value`` in the order ``order`` (nulls are False)."""
    return (events[col] == value).fillna(False).to_numpy(dtype=bool)[order]


def _codes(s: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(s, sort=True)
    if (codes < 0).any():
        bad = np.flatnonzero(codes < 0)
        raise ValueError(f"events.{s.name}: {len(bad)} null value(s), e.g. row {int(bad[0])}")
    return codes


def _ns(s: pd.Series, table: str, col: str) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(s):
        raise ValueError(f"{table}.{col}: expected timestamps, got dtype {s.dtype}")
    if s.isna().any():
        bad = np.flatnonzero(s.isna().to_numpy())
        raise ValueError(f"{table}.{col}: {len(bad)} missing timestamp(s), e.g. row {int(bad[0])}")
    idx = pd.DatetimeIndex(s)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ns").asi8


def _exact(x) -> Fraction:
    """A threshold as the decimal number it prints as (0.7 means 7/10, not the nearest float)."""
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def _ge(lhs, count, num) -> np.ndarray:
    """Vectorised exact ``lhs >= num * count`` on integers (object arrays avoid overflow)."""
    return np.asarray(np.asarray(lhs, dtype=object) >= np.asarray(count, dtype=object) * num,
                      dtype=bool)


def _names(sets: pd.Series) -> np.ndarray:
    return np.array([", ".join(sorted(map(str, s))) for s in sets], dtype=object)
