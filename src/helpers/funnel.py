"""Ordered conversion funnels (转化漏斗) with conversion windows, breakdowns and tests.

The core is :func:`journeys`: for every unit (a session or a user) it finds the *best attempt*
at the ordered list of steps and returns when each step happened. :func:`funnel` counts those
journeys per step (and segment) with Wilson intervals; :func:`compare`, :func:`pairwise` and
:func:`bottlenecks` test whether segments differ (:func:`period_bottlenecks`: whether a
segment fell below its own usual rate in some month); :func:`cart_abandonment` and
:func:`time_to_convert` answer the two questions every shop asks next.

Matching rules (the same in every function)
-------------------------------------------
* A unit reaches step ``k`` when some occurrence of step 1 is followed by steps 2..k in order,
  each at or after the previous one (a tie in timestamps counts: ``ts >= previous ts``), and,
  with a ``window``, each within ``window`` of that step-1 occurrence (exactly ``window`` later
  still counts). Each step is matched to the earliest qualifying event, which is optimal for
  the window rule.
* Every occurrence of step 1 starts an attempt; the unit counts at the furthest step of its best
  attempt (ties: the earliest such attempt). An attempt that starts later can therefore go
  further than an earlier one that ran out of window. Step-1 repeats with no step-2 event
  between them lead to the same chain, so only the last of them is kept: the time to step 2
  is measured from the last step-1 event before it.
* A step whose name already appeared earlier in ``steps`` must be a later event row than every
  row matched so far, so one event never fills two steps.
* ``exclude``: an attempt stops at step ``i`` if an excluded event occurs strictly between the
  times of step ``i`` and the next required step (inside the given step range).
  (PostHog drops such users from the whole funnel instead; here they keep the steps they reached.)
* ``max_gap``: the next step must come within this time of the previous required step. The gap
  is checked on the earliest match, so with a gap rule a unit that did a step twice is judged
  on its first occurrence after the previous step.
* ``optional`` steps never block: the chain continues from the last required step, and the
  optional step counts as done when it happens at or after that step and no later than the
  next required step (and inside the window). Its ``rate_from_prev`` is relative to the
  previous required step, as is the next required step's.
* Breakdowns (``by``) read the segment from the step-1 event that starts the unit's best
  attempt, so every unit is counted once and segments add up to the overall funnel.

Implementation: numpy ``searchsorted`` on events sorted by (unit, time): one vectorised pass
per step, no loop over units (linear-logarithmic in the number of events).

Examples
--------
>>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2], "user_id": 1,
...                    "ts": pd.to_datetime([0, 60, 120, 0, 30], unit="s", utc=True),
...                    "event": ["view", "cart", "buy", "view", "buy"]})
>>> funnel(ev, ["view", "cart", "buy"])[["step", "n", "rate_from_start"]]
   step  n  rate_from_start
0  view  2              1.0
1  cart  1              0.5
2   buy  1              0.5
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, fisher_exact, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from helpers import args, engine
from helpers.stats import wilson

UNITS = {"session": "session_id", "user": "user_id"}
"""Funnel unit name -> id column of the events table."""

FUNNEL_COLUMNS = ["step", "step_index", "from_step", "n", "n_prev", "rate_from_start", "rate_from_prev",
                  "ci_low", "ci_high", "median_time_from_prev"]

CANONICAL_STEPS = ("view_item", "add_to_cart", "begin_checkout", "add_shipping_info",
                   "add_payment_info", "purchase")
"""The GA4 e-commerce events that make the shop's purchase funnel, in funnel order."""

BOTTLENECK_COLUMNS = ["dimension", "segment", "from_step", "step", "step_index", "n_prev", "n",
                      "rate", "rate_overall", "rate_rest", "gap", "gap_overall", "z", "p_value",
                      "missing", "p_holm", "significant"]
"""Columns of :func:`bottlenecks` (also when it has no rows)."""

TIME_BINS = ("0s", "1min", "5min", "15min", "1h", "6h", "1D", "3D", "7D", "14D", "30D", "3650D")
TIME_LABELS = ("< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–6 h", "6–24 h", "1–3 days",
               "3–7 days", "7–14 days", "14–30 days", "30 days +")


# ----------------------------------------------------------------------------- joining

def attach(events: pd.DataFrame, table: pd.DataFrame, columns, *, on: str = "session_id"):
    """Copy ``columns`` of ``table`` (e.g. sessions' device, channel) onto ``events`` by ``on``.

    Columns already on ``events`` with the same names are replaced. Events whose key is not in
    ``table`` get a missing value; how many is stored in ``.attrs["unmatched"]``.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3], "event": ["a", "b", "a", "a"]})
    >>> ses = pd.DataFrame({"session_id": [1, 2], "device": ["mobile", "desktop"]})
    >>> out = attach(ev, ses, "device")
    >>> out["device"].tolist(), out.attrs["unmatched"]
    (['mobile', 'mobile', 'desktop', nan], 1)
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    for col in [on, *columns]:
        if col not in table.columns:
            raise ValueError(f"attach: the lookup table has no column {col!r}")
    if on not in events.columns:
        raise ValueError(f"attach: events have no column {on!r}")
    dup = table[on].duplicated()
    if dup.any():
        raise ValueError(f"attach: {int(dup.sum())} duplicate keys in the lookup table's {on!r}"
                         f" (e.g. {table.loc[dup, on].iloc[0]!r})")
    lookup = table.set_index(on)[columns]
    out = events.drop(columns=[c for c in columns if c in events.columns])
    idx = lookup.index.get_indexer(out[on])
    for col in columns:
        vals = lookup[col].take(np.where(idx >= 0, idx, 0)).to_numpy()
        out[col] = pd.Series(vals, index=out.index, dtype=lookup[col].dtype).where(idx >= 0)
    out.attrs["unmatched"] = int((idx < 0).sum())
    return out


def default_steps(events: pd.DataFrame, candidates=CANONICAL_STEPS) -> list[str]:
    """The funnel this data can measure: the ``candidates`` (canonical steps) it has events of.

    A funnel step without a single event is not a step people drop out at but one the log does
    not record (many exports have purchases but no checkout events), so it is left out, in
    the canonical order.

    Examples
    --------
    >>> ev = pd.DataFrame({"event": ["purchase", "view_item", "page_view", "add_to_cart"]})
    >>> default_steps(ev)
    ['view_item', 'add_to_cart', 'purchase']
    """
    have = set(pd.unique(events["event"]))
    return [s for s in candidates if s in have]


def absent_steps(events: pd.DataFrame, steps) -> list[str]:
    """The names in ``steps`` that no event of ``events`` has (each once, in step order).

    >>> absent_steps(pd.DataFrame({"event": ["view_item", "purchase"]}),
    ...              ["view_item", "begin_checkout", "purchase"])
    ['begin_checkout']
    """
    have = set(pd.unique(events["event"]))
    return [s for s in dict.fromkeys(steps) if s not in have]


def _warn_absent(absent) -> None:
    if absent:
        warnings.warn(f"funnel: the data has no {', '.join(map(repr, absent))} events at all, "
                      f"so no unit can reach {'that step' if len(absent) == 1 else 'those steps'}"
                      f" or any step after it (leave it out of the steps, or check the export)",
                      UserWarning, stacklevel=3)


# ----------------------------------------------------------------------------- matching

def _ns(ts: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(ts).as_unit("ns").asi8


def _at(arr: np.ndarray, j: np.ndarray, fill: int) -> np.ndarray:
    """``arr[j]`` where ``j`` is inside ``arr``, else ``fill`` (searchsorted ran off the end)."""
    if not len(arr):
        return np.full(len(j), fill, dtype="int64")
    return np.where(j < len(arr), arr[np.minimum(j, len(arr) - 1)], fill)


def _check(steps, unit, window):
    """Validated (steps, number of steps, unit column, window in ns or None)."""
    steps = args.names(steps, "steps")
    if not steps:
        raise ValueError("funnel: give at least one step")
    if unit not in UNITS:
        raise ValueError(f"funnel: unit must be 'session' or 'user', not {unit!r}")
    win = None if window is None else args.duration(window, "window").value
    return steps, len(steps), UNITS[unit], win


def _resolve(ref, steps, what):
    """Step reference (index or name) -> list of indices."""
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        if not -len(steps) <= ref < len(steps):
            raise ValueError(f"{what}: step index {ref} is outside 0..{len(steps) - 1}")
        return [int(ref) % len(steps)]
    hits = [i for i, s in enumerate(steps) if s == ref]
    if not hits:
        raise ValueError(f"{what}: {ref!r} is not one of the steps {steps}")
    return hits


ORDERS = ("ordered", "strict", "any")
"""Order modes of :func:`journeys` and :func:`funnel`."""


def _gaps(steps, max_gap) -> np.ndarray:
    """Per-step largest gap from the previous required step in ns (-1: no limit)."""
    gap = np.full(len(steps), -1, dtype="int64")
    if isinstance(max_gap, dict):
        for ref, g in max_gap.items():
            gap[_resolve(ref, steps, "max_gap")] = args.duration(g, "max_gap").value
    elif max_gap is not None:
        gap[:] = args.duration(max_gap, "max_gap").value
    return gap


def _check_order(order, steps, optional, exclude, max_gap) -> str:
    if order not in ORDERS:
        raise ValueError(f"funnel: order must be one of {ORDERS}, not {order!r}")
    given = [name for name, val in [("optional", optional), ("exclude", exclude),
                                    ("max_gap", max_gap)]
             if val is not None and not (isinstance(val, (list, tuple, set, dict)) and not val)]
    if order == "any" and given:
        raise ValueError(f"funnel: order='any' counts how many of the steps a unit did, so "
                         f"{', '.join(g + '=' for g in given)} (which refer to the order of the "
                         f"steps) cannot be used with it")
    if order == "any" and len(set(steps)) < len(steps):
        raise ValueError(f"funnel: order='any' needs distinct steps; {steps} repeats one")
    if order == "strict" and "optional" in given:
        raise ValueError("funnel: order='strict' forbids other step events between two steps, "
                         "so a step cannot be optional in it")
    return order


def journeys(events: pd.DataFrame, steps, *, unit: str = "session", window=None, by=None,
             optional=(), exclude=(), max_gap=None, order: str = "ordered") -> pd.DataFrame:
    """One row per unit: its best attempt at the ordered ``steps`` (rules in the module doc).

    Parameters
    ----------
    events : DataFrame
        Canonical events: ``session_id``, ``user_id``, ``ts``, ``event`` (+ ``by`` columns).
        Any row order; rows whose event is not a step or an excluded event are ignored.
    steps : list of str
        Ordered event names (at least one; a single step just counts the units that did it).
        A step that no event has triggers a ``UserWarning`` naming it (and is listed in
        ``.attrs["absent_steps"]``): every unit stops before it, which says more about the
        export than about the shop.
    unit : {"session", "user"}
    window : Timedelta or str, optional
        Every step within this time of the step-1 event (inclusive).
    by : str or list of str, optional
        Segment columns, read from the attempt's step-1 event.
    optional : step names or indices
        Steps that may be skipped (not the first).
    exclude : list of str or (event, from_step, to_step)
        An excluded event between two matched required steps of that range stops the attempt.
    max_gap : Timedelta/str, or dict {step: Timedelta}
        Largest time from the previous required step to this step (all steps, or per step).
    order : {"ordered", "strict", "any"}
        ``"ordered"``: the steps in this order, other events in between allowed.
        ``"strict"``: as ordered, and no event of any of the steps strictly between two
        matched steps (an event at the same time as either does not count as between);
        other events may come between. ``"any"``: the steps in any order; row ``k`` counts
        units that did at least ``k + 1`` of the (distinct) steps, all within ``window`` of
        the first of them; the steps are then labelled ``"1 of K steps"``, ``"2 of K
        steps"``... and ``t0``, ``t1``... are the times at which the unit completed its first,
        second... step (the first occurrence of each step after the attempt's start).

    Returns
    -------
    DataFrame with the unit id column, the ``by`` columns, ``reached`` (0-based index of the
    furthest required step) and ``t0``, ``t1``, ... (time of each matched step, NaT if not).
    ``.attrs`` hold ``steps``, ``optional``, ``by``, ``absent_steps``, ``order`` and ``unit``.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": 1, "user_id": 1,
    ...                    "ts": pd.to_datetime([0, 5, 5, 9], unit="s", utc=True),
    ...                    "event": ["a", "c", "b", "c"]})
    >>> j = journeys(ev, ["a", "b", "c"])          # b and the first c tie at 5 s: counts
    >>> int(j.loc[0, "reached"]), j.loc[0, "t2"].second
    (2, 5)
    """
    steps, K, ucol, win = _check(steps, unit, window)
    order = _check_order(order, steps, optional, exclude, max_gap)
    by = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in [ucol, "ts", "event", *by] if c not in events.columns]
    if missing:
        raise ValueError(f"funnel: the events table has no column(s) {missing}")
    opt = np.zeros(K, bool)
    for ref in optional if isinstance(optional, (list, tuple, set)) else [optional]:
        opt[_resolve(ref, steps, "optional")] = True
    if opt[0] or opt[-1]:
        raise ValueError("funnel: the first and the last step cannot be optional")
    gap = _gaps(steps, max_gap)
    excl = []
    for x in exclude if isinstance(exclude, (list, tuple)) else [exclude]:
        name, lo, hi = (x, 0, K - 1) if isinstance(x, str) else x
        excl.append((name, min(_resolve(lo, steps, "exclude")), max(_resolve(hi, steps, "exclude"))))
    if order == "strict":      # strict = every step's event excluded between any two steps
        excl += [(name, 0, K - 1) for name in dict.fromkeys(steps)]

    names = list(dict.fromkeys(steps + [x[0] for x in excl]))
    ecode, seen = pd.factorize(events["event"])          # one hash pass over the event names
    absent = [x for x in dict.fromkeys(steps) if x not in set(seen)]
    _warn_absent(absent)
    lut = np.array([names.index(x) if x in names else -1 for x in seen] + [-1], dtype="int64")
    code_all = lut[ecode]                                # factorize marks missing as -1 -> -1
    keep = np.flatnonzero(code_all >= 0)
    uval = events[ucol].take(keep)
    ts = events["ts"].take(keep)
    bad = uval.isna().to_numpy() | ts.isna().to_numpy()
    if bad.any():
        raise ValueError(f"funnel: events have a missing {ucol} or ts in {int(bad.sum())} rows "
                         f"(e.g. row {events.index[keep[bad][0]]!r})")
    if pd.api.types.is_integer_dtype(uval) and isinstance(uval.dtype, np.dtype):
        ucode, uniq = uval.to_numpy(), None             # integer ids sort as they are
    else:
        ucode, uniq = pd.factorize(uval, sort=True)
    t_raw = _ns(ts)
    sort = np.lexsort((t_raw, ucode))                   # stable: file order breaks full ties
    u, t = ucode[sort], t_raw[sort]
    code = code_all[keep][sort]
    n = len(sort)
    idx = np.arange(n)
    new = np.ones(n, bool)
    new[1:] = (u[1:] != u[:-1]) | (t[1:] != t[:-1])
    tie_start = np.maximum.accumulate(np.where(new, idx, 0))
    grp_start = idx[new]
    tie_end = np.append(grp_start[1:], n)[np.cumsum(new) - 1]   # first row after the tie group
    pos_of = {name: idx[code == c] for c, name in enumerate(names)}
    meta = {"events": events, "keep": keep, "order": order, "u": u, "t": t, "uniq": uniq,
            "ucol": ucol, "by": by, "steps": steps, "absent": absent, "unit": unit,
            "sort": sort, "window": win, "gaps": gap}
    if order == "any":
        return _any_order(meta, pos_of, tie_start, win)

    s = pos_of[steps[0]]
    nxt = 1
    while nxt < K and opt[nxt]:
        nxt += 1
    # An attempt whose next step-1 occurrence (same unit) comes before the first next-step event
    # it could match is dominated by that later attempt (same chain, later start); drop it.
    if nxt < K and steps[nxt] != steps[0] and len(s) > 1 and nxt == 1:
        arr = pos_of[steps[1]]
        j = np.searchsorted(arr, tie_start[s])
        first_next = _at(arr, j, n)
        same_next = np.append(u[s[1:]] == u[s[:-1]], False)
        later = np.append(s[1:], n)
        s = s[~(same_next & (first_next >= np.append(tie_start, n)[later]))]
    if win is None and not excl and (gap < 0).all() and len(s):
        s = s[np.append(True, u[s[1:]] != u[s[:-1]])]   # the first attempt is already the best

    A = len(s)
    pos = np.full((A, K), -1, dtype="int64")
    pos[:, 0] = s
    alive = np.ones(A, bool)
    prev = s.copy()
    prev_k = np.zeros(A, dtype="int64")
    maxpos = s.copy()
    reached = np.zeros(A, dtype="int64")
    pending: list[int] = []
    for k in range(1, K):
        act = np.flatnonzero(alive)
        arr = pos_of[steps[k]]
        p = prev[act]
        if steps[k] in steps[:k]:
            j = np.searchsorted(arr, maxpos[act], side="right")
        else:
            j = np.searchsorted(arr, tie_start[p])
        cand = _at(arr, j, n)
        ok = cand < n
        cand = np.minimum(cand, n - 1)
        ok &= u[cand] == u[p]
        if win is not None:
            ok &= t[cand] - t[s[act]] <= win
        if gap[k] >= 0:
            ok &= t[cand] - t[p] <= gap[k]
        if not opt[k]:
            for name, lo, hi in excl:
                hit = (prev_k[act] >= lo) & (k <= hi)
                if hit.any():
                    xa = pos_of[name]
                    cnt = (np.searchsorted(xa, tie_start[cand]) - np.searchsorted(xa, tie_end[p]))
                    ok &= ~(hit & (cnt > 0))
        a_ok, c_ok = act[ok], cand[ok]
        pos[a_ok, k] = c_ok
        if opt[k]:
            pending.append(k)
            continue
        for o in pending:       # an optional step must not come after the next required one
            late = pos[a_ok, o] >= 0
            late &= t[np.maximum(pos[a_ok, o], 0)] > t[c_ok]
            pos[a_ok[late], o] = -1
        pending = []
        alive[act[~ok]] = False
        reached[a_ok] = k
        prev[a_ok] = c_ok
        prev_k[a_ok] = k
        maxpos[a_ok] = np.maximum(maxpos[a_ok], c_ok)

    best = np.lexsort((s, -reached, u[s]))
    first = np.append(True, u[s[best[1:]]] != u[s[best[:-1]]]) if A else np.zeros(0, bool)
    b = best[first]
    times = np.where(pos[b] >= 0, t[np.maximum(pos[b], 0)], _NAT)
    return _journey_table(meta, s[b], reached[b], times, opt)


_NAT = np.iinfo("int64").min
"""NaT's int64 bit pattern: a view of it is exact and skips pandas' slow parsing path."""


def _journey_table(meta, rows, reached, times, opt) -> pd.DataFrame:
    """The journeys frame from the best attempts' sorted-row index ``rows`` (of the step-1
    event), furthest step ``reached`` and step times ``times`` (ns, _NAT if not done)."""
    events, keep, u, uniq, ucol = (meta[k] for k in ("events", "keep", "u", "uniq", "ucol"))
    out = pd.DataFrame({ucol: u[rows] if uniq is None else uniq.take(u[rows])})
    src = keep[meta["sort"][rows]]
    for col in meta["by"]:
        out[col] = events[col].take(src).to_numpy()
    out["reached"] = reached
    tz = getattr(events["ts"].dtype, "tz", None)
    for k in range(times.shape[1]):
        tk = pd.DatetimeIndex(times[:, k].view("M8[ns]"))
        out[f"t{k}"] = tk.tz_localize("UTC").tz_convert(tz) if tz is not None else tk
    K = times.shape[1]
    out.attrs["steps"] = (meta["steps"] if meta["order"] != "any" else
                          [f"{k + 1} of {K} steps" for k in range(K)])
    out.attrs["optional"] = [int(i) for i in np.flatnonzero(opt)]
    out.attrs["by"] = meta["by"]
    out.attrs["absent_steps"] = meta["absent"]
    out.attrs["order"] = meta["order"]
    out.attrs["unit"] = meta["unit"]
    out.attrs["window"] = meta["window"]
    out.attrs["gaps"] = [int(g) for g in meta["gaps"]]
    if meta["order"] == "any":
        out.attrs["step_names"] = meta["steps"]
    return out


def _any_order(meta, pos_of, tie_start, win) -> pd.DataFrame:
    """Any-order attempts: from each step event (the first per unit without a window), the
    first occurrence of every step at or after it, within ``win``; the unit keeps the start
    that covers most steps (ties: the earliest)."""
    u, t, steps = meta["u"], meta["t"], meta["steps"]
    K, n = len(steps), len(u)
    starts = np.sort(np.concatenate([pos_of[x] for x in steps]))
    if win is None and len(starts):
        starts = starts[np.append(True, u[starts[1:]] != u[starts[:-1]])]
    hit = np.full((len(starts), K), _NAT, dtype="int64")
    for k, name in enumerate(steps):
        arr = pos_of[name]
        cand = _at(arr, np.searchsorted(arr, tie_start[starts]), n)
        ok = cand < n
        cand = np.minimum(cand, n - 1)
        ok &= u[cand] == u[starts]
        if win is not None:
            ok &= t[cand] - t[starts] <= win
        hit[ok, k] = t[cand[ok]]
    count = (hit != _NAT).sum(axis=1)
    best = np.lexsort((starts, -count, u[starts]))
    first = np.append(True, u[starts[best[1:]]] != u[starts[best[:-1]]]) if len(starts) else \
        np.zeros(0, bool)
    b = best[first]
    times = np.sort(np.where(hit[b] == _NAT, np.iinfo("int64").max, hit[b]), axis=1)
    times[times == np.iinfo("int64").max] = _NAT
    return _journey_table(meta, starts[b], count[b] - 1, times, np.zeros(K, bool))


# ----------------------------------------------------------------------------- counting

def funnel(events, steps, *, unit: str = "session", window=None, by=None,
           optional=(), exclude=(), max_gap=None, sessions=None, order: str = "ordered",
           censor: bool = False, until=None, session_gap="30min") -> pd.DataFrame:
    """Ordered funnel: units reaching each step, step rates with 95 % Wilson CIs, step times.

    A unit (session or user) reaches step ``k`` if some occurrence of step 1 is followed by
    steps 2..k in order, each at or after the previous one (equal timestamps count), and,
    with a ``window``, all within ``window`` of that step-1 occurrence (a step exactly
    ``window`` later counts). Each unit counts at the furthest step of its best attempt.
    Exclusions, per-step gaps and optional steps: see :func:`journeys` and the module notes.

    ``events`` may be a DataFrame or a Parquet file / glob / directory (see
    :mod:`helpers.engine`). On a path the matching runs in DuckDB and only the small funnel
    table comes back to pandas; the result is identical to the in-memory one (ties in time
    keep (file name, row in file) order). On a path ``steps``, ``unit``, ``window``, ``by`` and
    ``sessions`` are supported; ``optional``, ``exclude`` and ``max_gap`` need a DataFrame
    (ValueError): they break the earliest-next-step chain that the SQL relies on.

    ``sessions`` (DataFrame or Parquet path with ``session_id``) supplies ``by`` columns that
    the events lack (e.g. device, channel): they are joined by the session of the event that
    starts the best attempt, replacing event columns of the same name (as :func:`attach`).

    ``order``: ``"ordered"``, ``"strict"`` or ``"any"`` (see :func:`journeys`).

    ``censor=True`` tells units still in progress from units that dropped out: a unit that
    reached the previous step but not this one, while its time to reach it has not run out by
    ``until`` (default: the last event of ``events``), is *in progress*. The time runs out at
    the end of the window, the step's ``max_gap`` after the previous step, and, for sessions,
    ``session_gap`` after the session's last event (any event), whichever comes first. Step
    rates are then computed on the units whose time for that step has run out, whether or
    not they made it (keeping only the finished successes would bias the rate upwards, dropping
    the unfinished counts biases the naive rate downwards); ``rate_from_start`` is the
    product of those step rates. A user funnel needs a ``window`` or ``max_gap`` for this: with
    neither, a user who has not bought yet may still buy.

    Returns
    -------
    DataFrame, one row per (``by``..., step): ``step``, ``step_index`` (0-based), ``n`` (units
    that reached the step), ``n_prev`` (units at the previous required step), ``rate_from_start``
    (n / units at step 1), ``rate_from_prev`` (n / n_prev; 1 for the first step), ``ci_low``,
    ``ci_high`` (Wilson 95 % on rate_from_prev; NaN for the first step),
    ``median_time_from_prev`` (median time from the previous required step among units that
    reached this step). :func:`journeys` gives the per-unit matches behind it. With
    ``censor=True`` also ``in_progress``, ``n_prev_decided`` and ``n_decided`` (units at the
    previous step, and of them at this one, whose time has run out), on which the rates and
    intervals are then computed; ``.attrs["until"]`` is the time the data end.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2, 3], "user_id": [1, 1, 2, 2, 3],
    ...     "ts": pd.to_datetime([0, 30, 0, 90, 0], unit="s", utc=True),
    ...     "event": ["view", "cart", "view", "cart", "view"],
    ...     "device": ["mobile", "mobile", "desktop", "desktop", "mobile"]})
    >>> f = funnel(ev, ["view", "cart"], by="device")
    >>> f[["device", "step", "n", "rate_from_prev", "median_time_from_prev"]]
        device  step  n  rate_from_prev median_time_from_prev
    0  desktop  view  1             1.0                   NaT
    1  desktop  cart  1             1.0       0 days 00:01:30
    2   mobile  view  2             1.0                   NaT
    3   mobile  cart  1             0.5       0 days 00:00:30
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if engine.is_path(events):
        if order != "ordered" or censor:
            raise ValueError("funnel: order= and censor= are not supported on a Parquet path "
                             "yet; load the events into a DataFrame for them")
        return _funnel_sql(events, steps, unit=unit, window=window, by=by_cols,
                           sessions=sessions, optional=optional, exclude=exclude,
                           max_gap=max_gap)
    if not isinstance(censor, (bool, np.bool_)):
        raise ValueError(f"funnel: censor must be True or False, not {censor!r}")  # noqa: TRY004
    if sessions is not None:
        ses_cols = _session_columns(sessions, by_cols)
        if ses_cols:
            events = attach(events, _read_sessions(sessions, ses_cols), ses_cols)
    j = journeys(events, steps, unit=unit, window=window, by=by, optional=optional,
                 exclude=exclude, max_gap=max_gap, order=order)
    if not censor:
        return summarize(j)
    last_seen = None
    if unit == "session":
        last_seen = events.groupby("session_id", sort=False)["ts"].max()
    return summarize(j, until=data_end(events) if until is None else until,
                     last_seen=last_seen, session_gap=session_gap)


def data_end(events: pd.DataFrame) -> pd.Timestamp:
    """The time of the last event: where an extract ends (the default ``until`` of censoring)."""
    if "ts" not in events.columns:
        raise ValueError("funnel: the events table has no column 'ts'")
    end = events["ts"].max()
    if pd.isna(end):
        raise ValueError("funnel: the events table has no timestamps, so it has no end")
    return end


STANDARD_BREAKDOWNS = ("device", "channel")
"""The breakdowns every notebook shows when the sessions carry them."""


def breakdown_columns(sessions: pd.DataFrame | None, users: pd.DataFrame | None = None,
                      names=None, *, max_levels: int = 12) -> pd.DataFrame:
    """Session and user columns to break a funnel down by, beyond device and channel.

    With ``names`` None: every attribute the data carries beyond the canonical tables' columns
    (what an adapter kept from the source: a lifecycle stage, a plan, a cohort) that has 2 to
    ``max_levels`` distinct values, one of them shared by several rows; a column with more
    values, or a different value on every row, is an identifier or a measure, not a segment. With ``names`` (a column name or a list): exactly those columns, checked. A
    column on both tables is read from ``sessions``.

    Returns
    -------
    DataFrame with ``column``, ``table`` (``'sessions'`` or ``'users'``) and ``levels``
    (distinct non-missing values); ``.attrs["too_many_levels"]`` lists the attributes left
    out for having more than ``max_levels`` values.

    Examples
    --------
    >>> ses = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [1, 2, 3],
    ...                     "started_at": pd.Timestamp("2025-01-01", tz="UTC"),
    ...                     "device": ["mobile"] * 3})
    >>> users = pd.DataFrame({"user_id": [1, 2, 3], "lifecycle": ["new", "loyal", "new"],
    ...                       "email": ["a@x", "b@x", "c@x"]})
    >>> breakdown_columns(ses, users).to_dict("list")
    {'column': ['lifecycle'], 'table': ['users'], 'levels': [2]}
    >>> breakdown_columns(ses, users, "device")["table"].tolist()
    ['sessions']
    """
    from helpers.data import SCHEMA

    tables = {"sessions": sessions, "users": users}
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        rows = []
        for name in names:
            where = next((t for t, df in tables.items() if df is not None and name in df.columns
                          and name not in ("session_id", "user_id")), None)
            if where is None:
                have = sorted({c for df in tables.values() if df is not None for c in df.columns}
                              - {"session_id", "user_id"})
                raise ValueError(f"breakdown {name!r}: no such column in sessions or users; "
                                 f"they have {have}")
            rows.append((name, where, int(tables[where][name].nunique())))
        return pd.DataFrame(rows, columns=["column", "table", "levels"])
    rows, wide, seen = [], [], set(STANDARD_BREAKDOWNS)
    for table, df in tables.items():
        if df is None:
            continue
        for col in df.columns:
            if col in SCHEMA[table] or col in seen:
                continue
            seen.add(col)
            levels = int(df[col].nunique())
            if levels == df[col].notna().sum():  # a value per row: an identifier
                continue
            if 2 <= levels <= max_levels:
                rows.append((col, table, levels))
            elif levels > max_levels:
                wide.append(col)
    out = pd.DataFrame(rows, columns=["column", "table", "levels"])
    out.attrs["too_many_levels"] = wide
    return out


def by_attribute(events: pd.DataFrame, steps, column: str, *, sessions: pd.DataFrame,
                 users: pd.DataFrame | None = None, **kwargs) -> pd.DataFrame:
    """:func:`funnel` broken down by a column of ``sessions`` or, failing that, of ``users``.

    A user attribute is copied onto each of the user's sessions (by ``user_id``), so the
    segment of a unit is the one of the user whose session starts its best attempt.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [1, 1, 2],
    ...     "ts": pd.to_datetime([0, 30, 0], unit="s", utc=True), "event": ["view", "cart", "view"]})
    >>> ses = pd.DataFrame({"session_id": [1, 2], "user_id": [1, 2]})
    >>> users = pd.DataFrame({"user_id": [1, 2], "plan": ["pro", "free"]})
    >>> by_attribute(ev, ["view", "cart"], "plan", sessions=ses, users=users)[["plan", "step", "n"]]
       plan  step  n
    0  free  view  1
    1  free  cart  0
    2   pro  view  1
    3   pro  cart  1
    """
    if column not in sessions.columns:
        if users is None or column not in users.columns:
            raise ValueError(f"by_attribute: neither sessions nor users have a column {column!r}")
        sessions = attach(sessions, users, column, on="user_id")
    return funnel(events, steps, by=column, sessions=sessions, **kwargs)


def trend(events: pd.DataFrame, steps, *, freq: str = "W", unit: str = "session",
          window=None, min_units: int = 30) -> pd.DataFrame:
    """Step rates per period (funnel trends): :func:`funnel` broken down by the week (``freq``)
    in which each unit's attempt starts, with Wilson intervals.

    The period is the one of the unit's first event (its session's start, or a user's first
    visit). Periods with fewer than ``min_units`` units at the first step are left out (their
    rates are noise); how many is in ``.attrs["dropped_periods"]``. :func:`compare` on the
    result tests whether a step rate changes between periods.

    Returns
    -------
    The :func:`funnel` table with a ``period`` column (the period's first day).

    Examples
    --------
    >>> t0 = pd.Timestamp("2025-01-06", tz="UTC")
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 3], "user_id": [1, 1, 2, 3, 3],
    ...     "ts": [t0, t0, t0, t0 + pd.Timedelta("8D"), t0 + pd.Timedelta("8D")],
    ...     "event": ["view", "cart", "view", "view", "cart"]})
    >>> t = trend(ev, ["view", "cart"], min_units=1)
    >>> t.loc[t["step"] == "cart", ["period", "n", "rate_from_prev"]].astype(str).values.tolist()
    [['2025-01-06', '1', '0.5'], ['2025-01-13', '1', '1.0']]
    """
    if engine.is_path(events):
        raise ValueError("trend: give the events as a DataFrame")
    key = "session_id" if unit == "session" else "user_id"
    start = events.groupby(key)["ts"].transform("min")
    day = start.dt.tz_convert("UTC").dt.tz_localize(None) if start.dt.tz is not None else start
    period = day.dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    out = funnel(events.assign(period=period.to_numpy()), steps, unit=unit, window=window,
                 by="period")
    size = out.loc[out["step_index"] == 0].set_index("period")["n"]
    keep = size.index[size >= min_units]
    out = out.loc[out["period"].isin(keep)].reset_index(drop=True)
    out.attrs["dropped_periods"] = int((size < min_units).sum())
    return out


def plot_trend(table: pd.DataFrame, *, title: str = "Step rates week by week (95 % CI)"):
    """One line per step transition of a :func:`trend` table, with its Wilson band.

    >>> t0 = pd.Timestamp("2025-01-06", tz="UTC")
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [1, 1, 2], "ts": [t0] * 3,
    ...                    "event": ["view", "cart", "view"]})
    >>> ax = plot_trend(trend(ev, ["view", "cart"], min_units=1))
    >>> ax.get_ylabel()
    'share continuing from the previous step'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    _, ax = plt.subplots(figsize=(9, 3.8))
    steps = table.loc[table["step_index"] > 0]
    for _, g in steps.groupby("step_index", sort=True):
        x = pd.to_datetime(g["period"])
        label = f"{g['from_step'].iloc[0]} → {g['step'].iloc[0]}"
        line, = ax.plot(x, g["rate_from_prev"], lw=1.4, label=label)
        ax.fill_between(x, g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.15, lw=0)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    plots.label(ax, title, "week", "share continuing from the previous step", percent="y")
    return ax


def drivers(events: pd.DataFrame, sessions: pd.DataFrame | None = None, *,
            target: str = "purchase", exclude=(*CANONICAL_STEPS, "view_cart"), attributes=(),
            min_units: int = 30, alpha: float = 0.05) -> pd.DataFrame:
    """What goes with converting: per event, and per level of a session attribute, the odds
    ratio of converting for sessions that had it against those that did not.

    In the manner of PostHog's correlation analysis. A converting session counts only the
    events before its first ``target`` event (what happened after buying cannot have caused
    it). Funnel steps and the cart page are left out by default (``exclude``): reaching
    checkout "predicts" buying trivially. Each feature gets a 2 × 2 table (had it / not × converted / not), its
    odds ratio with a Woolf (log) interval and a χ² p-value (statsmodels ``Table2x2``), and
    p-values adjusted over all features by Holm and by Benjamini–Hochberg. Features with
    fewer than ``min_units`` sessions on either side are left out (their count is in
    ``.attrs["too_rare"]``). Odds ratios describe association, not cause: a driver is a place
    to look, and an experiment tells whether it matters.

    Parameters
    ----------
    attributes : sequence of str
        Columns of ``sessions`` (device, channel …) whose levels are features too.

    Returns
    -------
    DataFrame with ``feature``, ``kind`` (``"event"`` or the attribute's name), ``with_n``,
    ``with_rate``, ``without_n``, ``without_rate``, ``odds_ratio``, ``ci_low``, ``ci_high``,
    ``p_value``, ``p_holm``, ``p_bh``; the features significant after Holm first, each group
    by odds ratio furthest from 1.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": np.repeat(np.arange(200), 2),
    ...     "ts": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(np.tile([0, 1], 200), "min"),
    ...     "event": np.ravel([["chat", "purchase"] if i < 30 else ["chat", "page_view"] if i < 100
    ...                        else ["search", "purchase"] if i < 110 else ["search", "page_view"]
    ...                        for i in range(200)])})
    >>> d = drivers(ev, exclude=())
    >>> d[["feature", "with_n", "with_rate", "odds_ratio"]].round(3).values.tolist()
    [['page_view', 160, 0.0, 0.0], ['chat', 100, 0.3, 3.857], ['search', 100, 0.1, 0.259]]
    """
    from statsmodels.stats.contingency_tables import Table2x2

    alpha = args.alpha(alpha)
    ev = events[["session_id", "ts", "event"]]
    first_buy = ev.loc[ev["event"] == target].groupby("session_id")["ts"].min()
    if first_buy.empty:  # nobody converts: every event is "before", and nothing can be compared
        before = pd.Series(True, index=ev.index)
    else:
        buy_t = ev["session_id"].map(first_buy)
        before = buy_t.isna() | (ev["ts"] < buy_t)
    skip = set(exclude) | {target}
    had = ev.loc[before & ~ev["event"].isin(skip), ["session_id", "event"]].drop_duplicates()
    units = pd.Index(ev["session_id"].unique())
    conv = pd.Series(units.isin(first_buy.index), index=units)
    n_all, k_all = len(units), int(conv.sum())
    feats = [("event", name, pd.Index(g["session_id"])) for name, g in
             had.groupby("event", sort=True)]
    if sessions is not None:
        ses = sessions.set_index("session_id").reindex(units)
        for col in args.names(attributes, "attributes"):
            for level, g in ses.groupby(col, sort=True, dropna=True):
                feats.append((col, str(level), g.index))
    rows, rare = [], 0
    if k_all in (0, n_all):
        feats = []  # no contrast: nobody (or everybody) converts
    for kind, name, ids in feats:
        n1 = len(ids)
        k1 = int(conv.reindex(ids).sum())
        n0, k0 = n_all - n1, k_all - k1
        if min(n1, n0) < min_units:
            rare += 1
            continue
        tab = np.array([[k1, n1 - k1], [k0, n0 - k0]], dtype=float)
        t = Table2x2(tab + 0.5 if (tab == 0).any() else tab)  # Haldane's 0.5 for an empty cell
        lo, hi = t.oddsratio_confint(alpha=alpha)
        rows.append({"feature": name, "kind": kind, "with_n": n1, "with_rate": k1 / n1,
                     "without_n": n0, "without_rate": k0 / n0 if n0 else np.nan,
                     "odds_ratio": (k1 * (n0 - k0)) / ((n1 - k1) * k0) if (n1 - k1) * k0 else
                     float(t.oddsratio), "ci_low": float(lo), "ci_high": float(hi),
                     "p_value": float(t.oddsratio_pvalue())})
    cols = ["feature", "kind", "with_n", "with_rate", "without_n", "without_rate", "odds_ratio",
            "ci_low", "ci_high", "p_value", "p_holm", "p_bh"]
    out = pd.DataFrame(rows, columns=[c for c in cols if not c.startswith("p_") or c == "p_value"])
    if len(out):
        out["p_holm"] = multipletests(out["p_value"], method="holm")[1]
        out["p_bh"] = multipletests(out["p_value"], method="fdr_bh")[1]
        far = np.abs(np.log(out["odds_ratio"].clip(lower=1e-12)))
        out = out.assign(_ns=~(out["p_holm"] < alpha), _far=-far).sort_values(
            ["_ns", "_far", "feature"], kind="stable")
        out = out.drop(columns=["_ns", "_far"]).reset_index(drop=True)
    else:
        out["p_holm"] = out["p_bh"] = pd.Series(dtype=float)
    out.attrs.update(too_rare=rare, sessions=n_all, conversions=k_all)
    return out


def summarize(j: pd.DataFrame, *, until=None, last_seen: pd.Series | None = None,
              session_gap="30min") -> pd.DataFrame:
    """Count a :func:`journeys` table into the funnel table of :func:`funnel`.

    With ``until`` (the time the data end), units still in progress are told apart as in
    ``funnel(..., censor=True)``; a session funnel then needs ``last_seen`` (each session's
    last event time, indexed by session id).

    >>> ev = pd.DataFrame({"session_id": [1, 1, 2], "user_id": [1, 1, 2],
    ...     "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-09"], utc=True),
    ...     "event": ["a", "b", "a"]})
    >>> j = journeys(ev, ["a", "b"], unit="user", window="7D")
    >>> summarize(j)["n"].tolist()
    [2, 1]
    >>> summarize(j, until="2025-01-09")[["n", "in_progress", "n_prev_decided", "rate_from_prev"]]
       n  in_progress  n_prev_decided  rate_from_prev
    0  2            0               2             1.0
    1  1            1               1             1.0
    """
    steps, by = j.attrs["steps"], j.attrs["by"]
    opt = set(j.attrs["optional"])
    keys = [j[c] for c in by] if by else [pd.Series(0, index=j.index, name="_all")]
    total = j.groupby(keys, dropna=False, sort=True).size()
    ns, meds, prev_req = [], [], 0
    for k in range(len(steps)):
        done = j[f"t{k}"].notna() if k in opt else j["reached"] >= k
        g = pd.DataFrame({"n": done.astype("int64"),
                          "dt": (j[f"t{k}"] - j[f"t{prev_req}"]).where(done & (k > 0))})
        agg = g.groupby(keys, dropna=False, sort=True)
        ns.append(agg["n"].sum())
        meds.append(agg["dt"].median())
        if k not in opt:
            prev_req = k
    out = _table(total, ns, meds, steps, by, opt)
    out.attrs["absent_steps"] = list(j.attrs.get("absent_steps", []))
    if until is not None:
        out = _censored(out, j, keys, until, last_seen, session_gap)
    return out


def _deadlines(j: pd.DataFrame, until, last_seen, session_gap) -> np.ndarray:
    """(units x steps) int64 ns: when each unit's time to reach each step runs out."""
    steps, opt = j.attrs["steps"], set(j.attrs["optional"])
    win, gap, unit = j.attrs.get("window"), j.attrs.get("gaps"), j.attrs.get("unit", "session")
    K, big = len(steps), np.iinfo("int64").max
    t = [pd.DatetimeIndex(j[f"t{k}"]).as_unit("ns").asi8 for k in range(K)]
    dead = np.full((len(j), K), big, dtype="int64")
    if win is not None:
        dead[:] = np.where(t[0] == _NAT, big, t[0] + win)[:, None]
    prev = 0
    for k in range(1, K):
        if gap is not None and gap[k] >= 0:
            dead[:, k] = np.minimum(dead[:, k], np.where(t[prev] == _NAT, big, t[prev] + gap[k]))
        if k not in opt:
            prev = k
    if unit == "session":
        if last_seen is None:
            raise ValueError("funnel: censoring a session funnel needs each session's last "
                             "event time (last_seen)")
        pad = args.duration(session_gap, "session_gap").value
        ends = pd.DatetimeIndex(last_seen.reindex(j["session_id"])).as_unit("ns").asi8
        if (ends == _NAT).any():
            raise ValueError("funnel: last_seen has no time for some sessions of the journeys, "
                             f"e.g. {j['session_id'][ends == _NAT].iloc[0]!r}")
        dead = np.minimum(dead, (ends + pad)[:, None])
    elif win is None:
        open_steps = [steps[k] for k in range(1, K) if gap is None or gap[k] < 0]
        if open_steps:
            raise ValueError(f"funnel: a user funnel can be censored only with a window or a "
                             f"max_gap for every step: without one a user who has not reached "
                             f"{open_steps[0]!r} yet may still do so")
    return dead


def _censored(out: pd.DataFrame, j: pd.DataFrame, keys, until, last_seen, session_gap):
    """Add in-progress counts to a funnel table and recompute its rates on decided units."""
    steps, opt, by = j.attrs["steps"], set(j.attrs["optional"]), j.attrs["by"]
    try:
        end = pd.Timestamp(until)
    except (TypeError, ValueError):
        raise ValueError(f"funnel: until={until!r} is not a time") from None
    if pd.isna(end):
        raise ValueError("funnel: until is missing (NaT)")
    tz = getattr(j["t0"].dtype, "tz", None)
    if (end.tzinfo is None) != (tz is None):
        end = end.tz_localize(tz) if end.tzinfo is None else end.tz_convert(None)
    end_ns = pd.DatetimeIndex([end]).as_unit("ns").asi8[0]
    late = pd.DatetimeIndex(j["t0"]).as_unit("ns").asi8 > end_ns
    if late.any():
        raise ValueError(f"funnel: {int(late.sum())} units start after until={end} (e.g. "
                         f"{j.iloc[int(np.argmax(late)), 0]!r}); until must be the end of the data")
    decided = _deadlines(j, end, last_seen, session_gap) <= end_ns
    cols, prev = {}, 0
    for k in range(len(steps)):
        done = (j[f"t{k}"].notna() if k in opt else j["reached"] >= k).to_numpy()
        at_prev = (j["reached"] >= prev).to_numpy() if k else np.ones(len(j), bool)
        dk = decided[:, k] if k else np.ones(len(j), bool)
        cols[k] = pd.DataFrame({"in_progress": at_prev & ~done & ~dk,
                                "n_prev_decided": at_prev & dk, "n_decided": done & dk},
                               index=j.index).astype("int64").groupby(keys, dropna=False,
                                                                      sort=True).sum()
        if k not in opt:
            prev = k
    extra = pd.concat(cols, names=["step_index"]).reset_index()
    extra = extra.drop(columns="_all") if not by else extra
    out = out.merge(extra, on=[*by, "step_index"], how="left", validate="one_to_one")
    for c in ("in_progress", "n_prev_decided", "n_decided"):
        out[c] = out[c].fillna(0).astype("int64")
    first = out["step_index"].to_numpy() == 0
    rate = out["n_decided"] / out["n_prev_decided"].where(out["n_prev_decided"] > 0)
    out["rate_from_prev"] = np.where(first, np.where(out["n"] > 0, 1.0, np.nan), rate)
    lo, hi = wilson(out["n_decided"].to_numpy(), out["n_prev_decided"].to_numpy())
    out["ci_low"], out["ci_high"] = np.where(first, np.nan, lo), np.where(first, np.nan, hi)
    chain, prev_rate = [], {}
    for row in out.itertuples(index=False):
        seg = tuple(getattr(row, c) for c in by)
        k = row.step_index
        base = 1.0 if k == 0 else prev_rate[seg]
        r = base * row.rate_from_prev if k else row.rate_from_prev
        chain.append(r)
        if k not in opt:
            prev_rate[seg] = r
    out["rate_from_start"] = chain
    out.attrs["absent_steps"] = list(j.attrs.get("absent_steps", []))
    out.attrs["until"] = end
    return out


def _table(total, ns, meds, steps, by, opt) -> pd.DataFrame:
    """Funnel table from per-segment counts: ``total`` units, and per step ``ns[k]`` units that
    did it and ``meds[k]`` the median time from the previous required step (all indexed by the
    segment keys, or by ``_all`` = 0 without ``by``)."""
    if not by:                      # keep the rows (with n = 0) when no unit did step 1
        total = total.reindex(pd.Index([0], name="_all"), fill_value=0)
    parts, prev_req = [], 0
    for k, name in enumerate(steps):
        part = pd.DataFrame({"n": ns[k], "median_time_from_prev": meds[k],
                             "n_start": total}).reindex(total.index)
        part["n"] = part["n"].fillna(0).astype("int64")
        part["step"], part["step_index"] = name, k
        part["from_step"] = steps[prev_req] if k else None
        part["prev"] = prev_req if k else 0
        parts.append(part)
        if k not in opt:
            prev_req = k
    out = pd.concat(parts).reset_index()
    out = out.drop(columns="_all") if not by else out
    out = out.sort_values([*by, "step_index"], kind="stable").reset_index(drop=True)
    n_by_step = out.set_index([*by, "step_index"])["n"]
    prev_key = [out[c] for c in by] + [out["prev"]]
    prev_index = pd.MultiIndex.from_arrays(prev_key) if by else pd.Index(out["prev"])
    out["n_prev"] = n_by_step.reindex(prev_index).to_numpy()
    out["n_prev"] = out["n_prev"].astype("int64")
    out["rate_from_start"] = out["n"] / out["n_start"].where(out["n_start"] > 0)
    out["rate_from_prev"] = out["n"] / out["n_prev"].where(out["n_prev"] > 0)
    lo, hi = wilson(out["n"].to_numpy(), out["n_prev"].to_numpy())
    first = out["step_index"].to_numpy() == 0
    out["ci_low"] = np.where(first, np.nan, lo)
    out["ci_high"] = np.where(first, np.nan, hi)
    out["median_time_from_prev"] = pd.to_timedelta(out["median_time_from_prev"]).astype(
        "timedelta64[ns]")     # all-NaT columns would otherwise come back in seconds
    return out[[*by, *FUNNEL_COLUMNS]]


# ----------------------------------------------------------------------------- out-of-core

def _q(name: str) -> str:
    """SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _lit(value: str) -> str:
    """SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _session_columns(sessions, by) -> list[str]:
    """The ``by`` columns that ``sessions`` provides (it must have ``session_id``)."""
    cols = list(sessions.columns) if isinstance(sessions, pd.DataFrame) else engine.columns(sessions)
    if "session_id" not in cols:
        raise ValueError("funnel: the sessions table has no column 'session_id'")
    return [c for c in by if c in cols and c != "session_id"]


def _read_sessions(sessions, cols) -> pd.DataFrame:
    if isinstance(sessions, pd.DataFrame):
        return sessions[["session_id", *cols]]
    con = engine.connect()
    try:
        sel = ", ".join(_q(c) for c in ["session_id", *cols])
        return con.execute(f"SELECT {sel} FROM {engine.parquet_source(sessions)}").df()
    finally:
        con.close()


def _funnel_sql(path, steps, *, unit, window, by, sessions, optional, exclude, max_gap):
    """:func:`funnel` on a Parquet source, computed in DuckDB (same rules as :func:`journeys`).

    Every step event gets its position ``p`` in its unit (row_number over time, file, row) and
    the position ``r`` where its tie group in time starts (rank over time). ``journeys``'s
    ``searchsorted`` calls then become ASOF joins on ``p``: the next step is the first event of
    that step with ``p >= r`` of the previous match (a tie in time counts), or ``p > `` every
    matched position when the step name repeats.
    """
    steps, K, ucol, win = _check(steps, unit, window)
    for name, val in [("optional", optional), ("exclude", exclude), ("max_gap", max_gap)]:
        if val is not None and not (isinstance(val, (list, tuple, set, dict)) and not val):
            raise ValueError(f"funnel: {name}= is not supported on a Parquet path (the SQL "
                             f"matches the earliest next step, exact only for a total window); "
                             f"load the events into a DataFrame for {name}=")
    ses_cols = _session_columns(sessions, by) if sessions is not None else []
    have = engine.columns(path)
    need = [ucol, "ts", "event", *[c for c in by if c not in ses_cols]]
    if ses_cols:
        need.append("session_id")
    missing = [c for c in dict.fromkeys(need) if c not in have]
    if missing:
        raise ValueError(f"funnel: the events at {path} have no column(s) {missing}")

    names = list(dict.fromkeys(steps))
    code = [names.index(x) for x in steps]
    src = engine.parquet_source(path)
    first = f"event = {_lit(steps[0])}"
    carry = [c for c in by if c not in ses_cols] + (["session_id"] if ses_cols else [])
    bcols = [f"b{i}" for i in range(len(carry))]
    # segment columns are only needed on the step-1 rows that can start an attempt
    carry_sel = "".join(f", CASE WHEN {first} THEN {_q(c)} END AS {b}"
                        for c, b in zip(carry, bcols))
    case = " ".join(f"WHEN {_lit(x)} THEN {i}" for i, x in enumerate(names))
    con = engine.connect()
    try:
        con.execute(f"""
            CREATE TEMP TABLE pos AS
            SELECT u, t, e, row_number() OVER (PARTITION BY u ORDER BY t, f, fr) AS p,
                   rank() OVER (PARTITION BY u ORDER BY t) AS r {''.join(', ' + b for b in bcols)}
            FROM (SELECT {_q(ucol)} AS u, epoch_ns(ts) AS t, CASE event {case} END AS e,
                         filename AS f, file_row_number AS fr {carry_sel}
                  FROM {src} WHERE event IN ({', '.join(map(_lit, names))}))""")
        bad = con.execute("SELECT count(*) FROM pos WHERE u IS NULL OR t IS NULL").fetchall()[0][0]
        if bad:
            raise ValueError(f"funnel: events at {path} have a missing {ucol} or ts in {bad} "
                             f"step rows")
        bsel = "".join(", " + b for b in bcols)
        have = {int(x) for (x,) in con.execute("SELECT DISTINCT e FROM pos").fetchall()}
        _warn_absent([x for i, x in enumerate(names) if i not in have])
        # Drop attempts dominated by the next step-1 occurrence (same rule as journeys).
        prune = ""
        if K > 1 and steps[1] != steps[0]:
            prune = "WHERE NOT (r_next IS NOT NULL AND (fn IS NULL OR fn >= r_next))"
        keep1 = "QUALIFY row_number() OVER (PARTITION BY u ORDER BY p) = 1" if win is None else ""
        ctes = [f"""s0 AS (SELECT u, p, r, t {bsel},
                        lead(r) OVER (PARTITION BY u ORDER BY p) AS r_next
                        FROM pos WHERE e = {code[0]})""",
                f"""s1 AS (SELECT s0.*, c.p AS fn FROM s0
                        ASOF LEFT JOIN (SELECT u, p FROM pos WHERE e = {code[1]}) c
                        ON s0.u = c.u AND c.p >= s0.r)""" if K > 1 else
                "s1 AS (SELECT s0.*, NULL AS fn FROM s0)",
                f"""a0 AS (SELECT u, p AS sp, t AS st {bsel}, 0 AS reached, r AS prev_r,
                        p AS maxpos, t AS t0 FROM s1 {prune} {keep1})"""]
        tcols = ["t0"]
        for k in range(1, K):
            cond = "c.p > a.maxpos" if steps[k] in steps[:k] else "c.p >= a.prev_r"
            in_win = f" AND c.t - a.st <= {win}" if win is not None else ""
            ok = f"(a.reached = {k - 1} AND c.p IS NOT NULL{in_win})"
            ctes.append(f"""a{k} AS (SELECT a.u, a.sp, a.st {''.join(', a.' + b for b in bcols)},
                CASE WHEN {ok} THEN {k} ELSE a.reached END AS reached,
                CASE WHEN {ok} THEN c.r ELSE a.prev_r END AS prev_r,
                CASE WHEN {ok} THEN greatest(a.maxpos, c.p) ELSE a.maxpos END AS maxpos,
                {''.join('a.' + x + ', ' for x in tcols)}CASE WHEN {ok} THEN c.t END AS t{k}
                FROM a{k - 1} a ASOF LEFT JOIN (SELECT u, p, r, t FROM pos WHERE e = {code[k]}) c
                ON a.u = c.u AND {cond})""")
            tcols.append(f"t{k}")
        ctes.append(f"""best AS (SELECT * FROM a{K - 1}
                    QUALIFY row_number() OVER (PARTITION BY u ORDER BY reached DESC, sp) = 1)""")
        seg = [f"best.{b} AS {_q(c)}" for c, b in zip(carry, bcols) if c != "session_id"]
        join = ""
        if ses_cols:
            ses = _read_sessions(sessions, ses_cols) if isinstance(sessions, pd.DataFrame) \
                else None
            if ses is not None:
                con.register("ses_df", ses)
                ses_src = "ses_df"
            else:
                ses_src = f"(SELECT session_id, {', '.join(map(_q, ses_cols))} " \
                          f"FROM {engine.parquet_source(sessions)})"
            dup = con.execute(f"SELECT count(*) - count(DISTINCT session_id) FROM {ses_src}"
                              ).fetchall()[0][0]
            if dup:
                raise ValueError(f"funnel: {dup} duplicate keys in the sessions' 'session_id'")
            sid = bcols[carry.index("session_id")]
            join = f"LEFT JOIN {ses_src} ses ON best.{sid} = ses.session_id"
            seg += [f"ses.{_q(c)} AS {_q(c)}" for c in ses_cols]
        seg = [s for c in by for s in seg if s.endswith(f" AS {_q(c)}")]   # the order of by
        aggs = ["count(*) AS total"]
        for k in range(1, K):
            aggs.append(f"count(*) FILTER (WHERE reached >= {k}) AS n{k}")
            aggs.append(f"median((t{k} - t{k - 1})::DOUBLE) FILTER (WHERE reached >= {k}) AS m{k}")
        group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(by)))}" if by else ""
        agg = con.execute(f"""WITH {', '.join(ctes)}
            SELECT {''.join(x + ', ' for x in seg)}{', '.join(aggs)}
            FROM best {join} {group}""").df()
    finally:
        con.close()

    if by:
        agg = agg.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)
        for c in by:        # pandas groups an all-missing key column as float NaN
            if len(agg) and agg[c].isna().all():
                agg[c] = np.full(len(agg), np.nan)
        idx = pd.MultiIndex.from_frame(agg[by]) if len(by) > 1 else pd.Index(agg[by[0]])
    else:
        idx = pd.Index(np.zeros(len(agg), dtype="int64"), name="_all")
    total = pd.Series(agg["total"].to_numpy("int64"), index=idx)
    ns, meds = [total], [pd.Series(pd.NaT, index=idx, dtype="timedelta64[ns]")]
    for k in range(1, K):
        ns.append(pd.Series(agg[f"n{k}"].to_numpy("int64"), index=idx))
        m = agg[f"m{k}"].to_numpy("float64")
        # pandas turns a float median back into a timedelta by truncating toward zero
        td = pd.to_timedelta(np.trunc(np.nan_to_num(m)).astype("int64"), unit="ns")
        meds.append(pd.Series(td, index=idx).where(~np.isnan(m)))
    out = _table(total, ns, meds, steps, by, set())
    out.attrs["absent_steps"] = [x for i, x in enumerate(names) if i not in have]
    return out


# ----------------------------------------------------------------------------- tests

def _by_columns(table: pd.DataFrame) -> list[str]:
    by = [c for c in table.columns if c not in FUNNEL_COLUMNS]
    if len(by) != 1:
        raise ValueError(f"need a funnel table broken down by exactly one column, got {by}")
    return by


def compare(table: pd.DataFrame) -> pd.DataFrame:
    """χ² test of independence per step: does the step rate depend on the segment?

    ``table`` is a :func:`funnel` result with one ``by`` column. For every step after the first,
    the segments × (continued, dropped) contingency table among units at the previous required
    step goes to ``scipy.stats.chi2_contingency`` (Pearson, no continuity correction).
    Segments with nobody at the previous step are left out (``segments`` counts those used).

    Examples
    --------
    >>> t = pd.DataFrame({"device": ["a", "a", "b", "b"], "step": ["v", "c"] * 2,
    ...     "step_index": [0, 1, 0, 1], "n": [100, 30, 100, 50], "n_prev": [100, 100, 100, 100]})
    >>> t = t.assign(from_step="v", **{c: 0.0 for c in ["rate_from_start", "rate_from_prev",
    ...     "ci_low", "ci_high", "median_time_from_prev"]})
    >>> compare(t).round(4)[["step", "chi2", "dof", "p_value"]]
      step    chi2  dof  p_value
    0    c  8.3333    1   0.0039
    """
    _by_columns(table)  # one breakdown column, or ValueError
    rows = []
    for k, g in table.loc[table["step_index"] > 0].groupby("step_index", sort=True):
        g = g.loc[g["n_prev"] > 0]
        obs = np.column_stack([g["n"], g["n_prev"] - g["n"]])
        if len(g) < 2 or (obs.sum(axis=0) == 0).any():
            chi2, p, dof = np.nan, np.nan, len(g) - 1
        else:
            chi2, p, dof, _ = chi2_contingency(obs, correction=False)
        rows.append({"step": g["step"].iloc[0] if len(g) else None, "step_index": k,
                     "segments": len(g), "chi2": chi2, "dof": int(dof), "p_value": p})
    return pd.DataFrame(rows, columns=["step", "step_index", "segments", "chi2", "dof", "p_value"])


def pairwise(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Two-proportion z tests of every pair of segments per step, Holm-corrected within a step.

    Uses ``statsmodels.stats.proportion.proportions_ztest`` (pooled variance) and
    ``statsmodels.stats.multitest.multipletests(method="holm")`` (Holm 1979) over the pairs of
    one step. ``diff`` is rate(a) − rate(b).

    Examples
    --------
    >>> t = pd.DataFrame({"device": ["a", "a", "b", "b"], "step": ["v", "c"] * 2,
    ...     "step_index": [0, 1, 0, 1], "n": [100, 30, 100, 50], "n_prev": [100, 100, 100, 100]})
    >>> t = t.assign(from_step="v", **{c: 0.0 for c in ["rate_from_start", "rate_from_prev",
    ...     "ci_low", "ci_high", "median_time_from_prev"]})
    >>> pairwise(t).round(4)[["a", "b", "diff", "p_holm", "significant"]]
       a  b  diff  p_holm  significant
    0  a  b  -0.2  0.0039         True
    """
    (col,) = _by_columns(table)
    rows = []
    for k, g in table.loc[(table["step_index"] > 0) & (table["n_prev"] > 0)].groupby(
            "step_index", sort=True):
        g = g.sort_values(col, kind="stable")
        recs = []
        for (_, x), (_, y) in combinations(g.iterrows(), 2):
            if x["n"] + y["n"] in (0, x["n_prev"] + y["n_prev"]):
                z, p = np.nan, 1.0      # no variation at all: nothing to test
            else:
                z, p = proportions_ztest([x["n"], y["n"]], [x["n_prev"], y["n_prev"]])
            recs.append({"step": x["step"], "step_index": k, "a": x[col], "b": y[col],
                         "rate_a": x["n"] / x["n_prev"], "rate_b": y["n"] / y["n_prev"],
                         "z": z, "p_value": p})
        if recs:
            ps = np.array([r["p_value"] for r in recs], float)
            rej, adj, _, _ = multipletests(ps, alpha=alpha, method="holm")
            for r, q, s in zip(recs, adj, rej):
                r.update(p_holm=q, significant=bool(s))
            rows += recs
    out = pd.DataFrame(rows, columns=["step", "step_index", "a", "b", "rate_a", "rate_b", "z",
                                      "p_value", "p_holm", "significant"])
    out.insert(6, "diff", out["rate_a"] - out["rate_b"])
    return out


def bottlenecks(tables, *, alpha: float = 0.05) -> pd.DataFrame:
    """Step × segment cells that fall furthest below the step rate of everyone else, with a test.

    ``tables``: one :func:`funnel` result or a list of them, each broken down by one column
    (e.g. device, channel). For every step after the first and every segment the function
    reports the segment's step rate, the overall rate (all segments pooled, equal to the
    overall funnel since each unit is in exactly one segment), and the rate of the *rest*
    (all other segments). The ranking uses ``gap`` = rate − rate of the rest: the overall rate
    contains the segment itself, so a big segment (mobile is most of the traffic) would hide its
    own shortfall; the rest is also what the test compares against (two-proportion z test,
    ``statsmodels.stats.proportion.proportions_ztest``, Holm-corrected over all cells).
    ``gap_overall`` = rate − overall rate, and ``missing`` = how many more units would have
    continued at the overall rate. Rows are ranked: significant shortfalls first, most negative
    ``gap`` first, then the rest.

    Examples
    --------
    >>> t = pd.DataFrame({"device": ["a", "a", "b", "b"], "step": ["v", "c"] * 2,
    ...     "step_index": [0, 1, 0, 1], "n": [100, 30, 100, 50], "n_prev": [100, 100, 100, 100]})
    >>> t = t.assign(from_step="v", **{c: 0.0 for c in ["rate_from_start", "rate_from_prev",
    ...     "ci_low", "ci_high", "median_time_from_prev"]})
    >>> bottlenecks(t)[["segment", "step", "rate", "rate_rest", "gap", "gap_overall", "missing"]]
      segment step  rate  rate_rest  gap  gap_overall  missing
    0       a    c   0.3        0.5 -0.2         -0.1     10.0
    1       b    c   0.5        0.3  0.2          0.1    -10.0
    """
    tables = [tables] if isinstance(tables, pd.DataFrame) else list(tables)
    rows = []
    for table in tables:
        (col,) = _by_columns(table)
        for k, g in table.loc[(table["step_index"] > 0) & (table["n_prev"] > 0)].groupby(
                "step_index", sort=True):
            n_all, m_all = g["n"].sum(), g["n_prev"].sum()
            for _, r in g.iterrows():
                n_rest, m_rest = n_all - r["n"], m_all - r["n_prev"]
                if m_rest == 0 or n_all in (0, m_all):
                    z, p = np.nan, 1.0
                else:
                    z, p = proportions_ztest([r["n"], n_rest], [r["n_prev"], m_rest])
                rate, overall = r["n"] / r["n_prev"], n_all / m_all
                rate_rest = n_rest / m_rest if m_rest else np.nan
                rows.append({"dimension": col, "segment": r[col], "from_step": r["from_step"],
                             "step": r["step"], "step_index": k, "n_prev": int(r["n_prev"]),
                             "n": int(r["n"]), "rate": rate, "rate_overall": overall,
                             "rate_rest": rate_rest, "gap": rate - rate_rest,
                             "gap_overall": rate - overall, "z": z, "p_value": p,
                             "missing": (overall - rate) * r["n_prev"]})
    out = pd.DataFrame(rows, columns=BOTTLENECK_COLUMNS[:-2])
    if out.empty:       # no breakdown, or nobody past step 1: a table with no rows, not no table
        return out.assign(p_holm=pd.Series(dtype=float), significant=pd.Series(dtype=bool))
    rej, adj, _, _ = multipletests(out["p_value"].to_numpy(float), alpha=alpha, method="holm")
    out["p_holm"], out["significant"] = adj, rej & (out["gap"] < 0)
    out = out.sort_values(["significant", "gap", "dimension", "segment", "step_index"],
                          ascending=[False, True, True, True, True], kind="stable")
    return out.reset_index(drop=True)


def fix_first(bottleneck: pd.DataFrame, overall: pd.DataFrame) -> pd.DataFrame:
    """The significant shortfalls of :func:`bottlenecks`, ranked by the purchases they cost.

    ``extra`` is how many more units would have gone on had the segment done as well as
    everyone else at that step: (rate of the rest − rate) × units at the previous step. A unit
    saved early in the funnel is not yet a sale, so ``extra_purchases`` weights ``extra`` by the
    share of units at that step that reach the last step in ``overall`` (the funnel without a
    breakdown, same steps and unit). When nothing falls significantly below the rest the
    result has the same columns and no rows.

    Examples
    --------
    >>> bn = pd.DataFrame({"dimension": "device", "segment": ["a", "b"], "from_step": "v",
    ...     "step": ["c", "c"], "step_index": 1, "n_prev": [100, 100], "rate": [0.3, 0.5],
    ...     "rate_rest": [0.5, 0.3], "gap": [-0.2, 0.2], "p_holm": [0.004, 0.004],
    ...     "significant": [True, False]})
    >>> overall = pd.DataFrame({"step": ["v", "c", "buy"], "step_index": [0, 1, 2],
    ...                         "n": [200, 80, 40]})
    >>> fix_first(bn, overall)[["segment", "step", "extra", "extra_purchases"]]
      segment step  extra  extra_purchases
    0       a    c   20.0             10.0
    """
    cols = ["dimension", "segment", "from_step", "step", "step_index", "n_prev", "rate",
            "rate_rest", "gap", "p_holm", "extra", "extra_purchases"]
    fix = bottleneck.loc[bottleneck["significant"].astype(bool)] if len(bottleneck) else \
        bottleneck.iloc[0:0]
    if fix.empty:
        return pd.DataFrame({c: pd.Series(dtype=bottleneck[c].dtype if c in bottleneck
                                          else float) for c in cols})
    n = overall.set_index("step_index")["n"]
    to_buy = n.iloc[-1] / n.where(n > 0)             # step -> share of its units that buy
    fix = fix.assign(extra=(fix["rate_rest"] - fix["rate"]) * fix["n_prev"])
    fix = fix.assign(extra_purchases=fix["extra"] * fix["step_index"].map(to_buy))
    fix = fix.sort_values(["extra_purchases", "dimension", "segment"],
                          ascending=[False, True, True], kind="stable")
    return fix[cols].reset_index(drop=True)


PERIOD_BOTTLENECK_COLUMNS = ["dimension", "segment", "period", "from_step", "step", "step_index",
                             "n_prev", "n", "rate", "n_prev_usual", "n_usual", "rate_usual",
                             "spread", "gap", "gap_others", "test", "p_value", "p_adj",
                             "significant", "missing"]
"""Columns of :func:`period_bottlenecks` (also when it has no rows)."""

_PERIOD = "__period__"
_CORRECTIONS = {"fdr_bh": "Benjamini–Hochberg", "holm": "Holm"}


def period_alias(freq: str) -> str:
    """The pandas *period* alias of a calendar frequency: ``"MS"`` -> ``"M"``, ``"W"`` -> ``"W"``.

    Offsets anchored at the start of a period (``MS``, ``QS``, ``YS``) name the same calendar
    periods as their period aliases, which is what :func:`period_bottlenecks` counts by.

    >>> period_alias("MS"), period_alias("W"), period_alias("QS")
    ('M', 'W', 'Q')
    """
    if not isinstance(freq, str) or not freq:
        raise ValueError(f"freq: give a calendar frequency such as 'MS' or 'W', not {freq!r}")
    for alias in (freq, freq[:-1] if freq.endswith("S") else None):
        if alias:
            try:
                pd.Period("2000-01-01", freq=alias)
                return alias
            except ValueError:
                pass
    raise ValueError(f"freq: {freq!r} is not a calendar frequency pandas knows ('MS', 'W', 'D')")


def _spread(g: pd.DataFrame, dim: str, x1: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """Per row of ``g`` (segment × period × step, sorted by segment, period, step): tau², the
    variance of the segment's step rate between its other periods beyond binomial chance.

    DerSimonian and Laird's (1986) moment estimator, with the pooled rate p of those periods
    as every period's binomial variance p(1 − p)/m:
    tau² = max(0, (Q − (k − 1)) · p(1 − p) / (M − Σm²/M)), where Q is Pearson's χ² of the
    k periods × (went on, dropped) and M = Σm their units. The periods are all but the row's
    own and its two neighbours (the segment's previous and next period with data): an incident
    that straddles two periods must not widen its own yardstick. Computed for every row at
    once by taking those rows' counts out of the segment's sums.
    """
    nz = m1 > 0
    d = pd.DataFrame({"x": x1.astype("float64"), "m": m1.astype("float64"),
                      "sq": np.where(nz, x1 ** 2.0 / np.where(nz, m1, 1), 0.0),
                      "mm": m1 ** 2.0, "k": nz.astype("float64")})
    keys = [g[dim], g["step_index"]]
    grouped = d.groupby(keys)
    drop = d + grouped.shift(1).fillna(0.0) + grouped.shift(-1).fillna(0.0)
    o = grouped.transform("sum") - drop
    X, M, S2, MM, k = (o[c].to_numpy() for c in ("x", "m", "sq", "mm", "k"))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = X / M
        c = p * (1 - p)
        q = (S2 - p ** 2 * M) / c                  # Pearson's χ² of those periods
        tau2 = (q - (k - 1)) * c / (M - MM / M)
    ok = (k >= 2) & (M > 0) & (c > 0) & (M - MM / np.where(M > 0, M, 1) > 0)
    return np.where(ok, np.maximum(np.nan_to_num(tau2), 0.0), 0.0)


def period_bottlenecks(events: pd.DataFrame, steps, *, sessions: pd.DataFrame | None = None,
                       users: pd.DataFrame | None = None, by=STANDARD_BREAKDOWNS,
                       freq: str = "MS", unit: str = "session", window=None,
                       alpha: float = 0.05, min_n: int = 30, method: str = "fdr_bh",
                       spread: bool = True) -> pd.DataFrame:
    """Segment × period cells whose step rate falls below the segment's own usual rate.

    :func:`bottlenecks` compares segments with each other over the whole log, so a problem with
    a date (a two-week payment outage on desktop, a month of a checkout loop on mobile) dilutes
    into the segment's average, and a segment that always does worse hides it. Here every
    segment is compared with *itself*: for each breakdown column of ``by``, each period
    (calendar month by default) and each step after the first, the step rate of the cell
    (segment, period) is tested against the same segment's rate in all its other periods.

    Counting is :func:`funnel`'s, broken down by every column of ``by`` and the period at once
    (one matching pass); a unit belongs to the period in which the session that starts its best
    attempt starts (its first event in the log), and to the segment read as :func:`funnel`
    reads it. Units whose segment is missing are left out of that breakdown.

    Each cell gets a one-sided test of its ``n`` of ``n_prev`` against the usual
    ``n_usual`` of ``n_prev_usual``: the two-proportion z test
    (``statsmodels.stats.proportion.proportions_ztest``, as :func:`bottlenecks`, with
    ``alternative="smaller"``) when every expected count of the 2 × 2 table is at least 5,
    else Fisher's exact test (``scipy.stats.fisher_exact``, ``alternative="less"``), named in
    ``test``. One-sided, because the claim is a shortfall: a period above its usual rate is
    no bottleneck (:mod:`helpers.changes` looks for rises as well).

    A rate is never quite the same every month (seasons, campaigns, a release that changed
    the shop for good), and with thousands of units at a step the tests above call every
    such wobble significant: a lasting rise from some month on makes every month before it
    "below usual". So, with ``spread=True`` (the default), a month must also fall outside the
    segment's usual month-to-month variation. ``spread`` is the standard deviation of the
    segment's step rate between its *other* periods beyond binomial chance (DerSimonian and
    Laird's 1986 moment estimator from the Pearson χ² of those periods; 0 when they vary no
    more than chance, and then the test is exactly the one above). The cell's two neighbouring
    periods are left out of it, so that an incident straddling two months (a loop from
    mid-January to mid-February) does not widen its own yardstick. It is added to the
    z test's variance, once for the cell and once, weighted, for the usual rate (the
    studentized deleted residual of a random-effects meta-analysis, Viechtbauer and Cheung
    2010); an exact test keeps the larger of the two p-values.

    Only cells with at least ``min_n`` units at the previous step, in the cell and in the rest
    of the segment's periods, are tested
    (how many were too small: ``.attrs["too_small"]``). The p-values of all cells of all
    breakdowns are adjusted together, by Benjamini–Hochberg by default (``method="fdr_bh"``):
    this is a screen of many cells (periods × segments × steps) for a short list to look
    into, where a small expected share of false leads is acceptable, and with Holm's
    family-wise bound (``method="holm"``) every extra month of history would make the same
    incident harder to find. (BH is proven for independent or positively dependent tests;
    here cells share units across breakdowns and steps, and the periods of one segment share
    its usual rate, so its guarantee is approximate, as in most such screens.)

    A cell is ``significant`` when it is rejected at ``alpha`` (so below its usual rate).
    ``missing`` = (rate_usual − rate) × n_prev, the units that would have gone on at the
    segment's usual rate. ``gap_others`` is how far the *other* segments of the same breakdown
    moved from their usual rate at that step in that period: close to ``gap`` when the whole
    shop fell short then, near 0 when the drop is the segment's own. Rows: significant
    shortfalls first, most units missing first, then the rest the same way.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``session_id``, ``user_id``, ``ts``, ``event``).
    steps : list of str
        The ordered funnel steps.
    sessions, users : DataFrame, optional
        Where the ``by`` columns come from: a column of ``sessions`` (joined by
        ``session_id``) replaces the events' column of that name, as in :func:`funnel`; a
        column that neither has is read from ``users`` (by ``user_id``, as
        :func:`by_attribute`).
    by : str or list of str
        Breakdown columns. A column that neither table has, or that is empty, is skipped and
        listed in ``.attrs["absent"]``.
    freq : str
        Calendar period (``"MS"`` months, ``"W"`` weeks, ``"D"`` days), in the time zone of the
        timestamps (UTC for a stored store).
    unit, window
        As :func:`funnel`. With ``unit="user"`` and a ``window``, periods ending less than a
        window before the last event are left out: their users could not finish yet.
    alpha : float
    min_n : int
        Fewest units at the previous step for a cell (and for its usual) to be tested.
    method : {"fdr_bh", "holm"}
        The correction over all cells (``statsmodels.stats.multitest.multipletests``).
    spread : bool
        Allow for the segment's month-to-month variation beyond chance (above); False gives
        the plain two-proportion test, which assumes the segment's rate is otherwise constant.

    Returns
    -------
    DataFrame with :data:`PERIOD_BOTTLENECK_COLUMNS`: ``period`` is the period's first day
    (``YYYY-MM-DD``); ``n_prev_usual``/``rate_usual`` the segment's other periods pooled;
    ``spread`` their variation beyond chance (a standard deviation of the rate);
    ``gap`` = rate − rate_usual. ``.attrs``: ``freq`` (period alias), ``method``, ``spread``,
    ``unit``, ``min_n``, ``dimensions`` (breakdowns used), ``absent``, ``periods``,
    ``tested``, ``too_small``, ``censored_periods`` and ``reason`` (why there are no rows:
    ``"no_breakdown"``, ``"one_step"``, ``"one_period"``, ``"too_small"``; None otherwise).
    With no breakdown column, one step, fewer than two periods or no cell of ``min_n`` units
    the table has these columns and no rows.

    Examples
    --------
    >>> t0 = pd.Timestamp("2025-01-01", tz="UTC")
    >>> ok = [(m, i < 80) for m in (0, 1, 2) for i in range(100)]          # 80 % go on
    >>> bad = [(3, i < 40) for i in range(100)]                              # then 40 %
    >>> rows = [(s, t0 + pd.DateOffset(months=m), e) for s, (m, buy) in enumerate(ok + bad)
    ...         for e in (["view", "buy"] if buy else ["view"])]
    >>> ev = pd.DataFrame(rows, columns=["session_id", "ts", "event"]).assign(
    ...     user_id=lambda d: d["session_id"], device="desktop")
    >>> pb = period_bottlenecks(ev, ["view", "buy"], by="device")
    >>> pb.loc[:1, ["segment", "period", "rate", "rate_usual", "missing", "significant"]].round(3)
       segment      period  rate  rate_usual  missing  significant
    0  desktop  2025-04-01   0.4       0.800   40.000         True
    1  desktop  2025-01-01   0.8       0.667  -13.333        False
    """
    if engine.is_path(events):
        raise ValueError("period_bottlenecks: give the events as a DataFrame")
    alpha = args.alpha(alpha)
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise ValueError(f"period_bottlenecks: min_n must be a whole number of at least 1, "
                         f"not {min_n!r}")
    if method not in _CORRECTIONS:
        raise ValueError(f"period_bottlenecks: method must be one of {list(_CORRECTIONS)}, "
                         f"not {method!r}")
    alias = period_alias(freq)
    steps, _, ucol, win = _check(steps, unit, window)
    by = list(dict.fromkeys([by] if isinstance(by, str) else args.names(by, "by")))
    attrs = {"freq": alias, "method": method, "spread": bool(spread), "unit": unit,
             "min_n": int(min_n),
             "dimensions": [], "absent": [], "periods": 0, "tested": 0, "too_small": 0,
             "censored_periods": 0, "reason": None}

    def empty(reason):
        out = pd.DataFrame({c: pd.Series(dtype=(bool if c == "significant" else
                                                "int64" if c in ("step_index", "n_prev", "n",
                                                                 "n_prev_usual", "n_usual") else
                                                float if c not in ("dimension", "segment",
                                                                   "period", "from_step", "step",
                                                                   "test") else object))
                            for c in PERIOD_BOTTLENECK_COLUMNS})
        out.attrs.update(attrs, reason=reason)
        return out

    def usable(df, col):
        return df is not None and col in df.columns and bool(df[col].notna().any())

    ev_cols, ses_cols, user_cols = [], [], []
    for col in by:
        if col in ("session_id", "user_id", "ts", "event"):
            raise ValueError(f"period_bottlenecks: {col!r} is a key, not a breakdown")
        if usable(sessions, col):
            ses_cols.append(col)
        elif usable(events, col):
            ev_cols.append(col)
        elif usable(users, col):
            user_cols.append(col)
        else:
            attrs["absent"].append(col)
    dims = [c for c in by if c in ev_cols + ses_cols + user_cols]
    attrs["dimensions"] = dims
    if not dims:
        return empty("no_breakdown")
    if len(steps) < 2:
        return empty("one_step")

    key = "session_id" if "session_id" in events.columns else ucol
    start = events.groupby(key, sort=False)["ts"].transform("min")
    wall = start.dt.tz_localize(None) if getattr(start.dt, "tz", None) is not None else start
    code, uniq = pd.factorize(wall.dt.to_period(alias))        # label each period once
    labels = np.append(uniq.start_time.strftime("%Y-%m-%d").to_numpy(object), None)
    ev = events.assign(**{_PERIOD: labels[code]})
    if user_cols:
        if sessions is not None and "user_id" in sessions.columns:
            sessions = attach(sessions, users, user_cols, on="user_id")
            ses_cols += user_cols
        else:
            ev = attach(ev, users, user_cols, on="user_id")
    # only the columns read from the sessions, so that they replace no event column in use
    f = funnel(ev, steps, unit=unit, window=window, by=[*dims, _PERIOD],
               sessions=sessions[["session_id", *ses_cols]] if ses_cols else None)

    if unit == "user" and win is not None and len(f):
        ends = pd.PeriodIndex(pd.unique(f[_PERIOD]), freq=alias)
        ts = events["ts"]
        last = (ts.dt.tz_localize(None) if getattr(ts.dt, "tz", None) is not None else ts).max()
        late = {str(p.start_time.date()) for p in ends
                if p.end_time + pd.Timedelta(win, unit="ns") > last}
        attrs["censored_periods"] = len(late)
        f = f.loc[~f[_PERIOD].isin(late)]
    live = f.loc[f["step_index"] == 0].groupby(_PERIOD)["n"].sum()
    attrs["periods"] = int((live > 0).sum())
    if attrs["periods"] < 2:
        return empty("one_period")

    names = f.drop_duplicates("step_index").set_index("step_index")[["from_step", "step"]]
    parts = []
    for dim in dims:
        g = (f.loc[f["step_index"] > 0].groupby([dim, _PERIOD, "step_index"], sort=True)
             [["n", "n_prev"]].sum().reset_index())          # missing segments drop out here
        g["n_prev_sq"] = g["n_prev"].astype("float64") ** 2
        seg = g.groupby([dim, "step_index"])[["n", "n_prev", "n_prev_sq"]].transform("sum")
        per = g.groupby([_PERIOD, "step_index"])[["n", "n_prev"]].transform("sum")
        tot = g.groupby("step_index")[["n", "n_prev"]].transform("sum")
        x1, m1 = g["n"].to_numpy("int64"), g["n_prev"].to_numpy("int64")
        x0, m0 = seg["n"].to_numpy("int64") - x1, seg["n_prev"].to_numpy("int64") - m1
        xo1, mo1 = per["n"].to_numpy("int64") - x1, per["n_prev"].to_numpy("int64") - m1
        xo0 = tot["n"].to_numpy("int64") - seg["n"].to_numpy("int64") - xo1
        mo0 = tot["n_prev"].to_numpy("int64") - seg["n_prev"].to_numpy("int64") - mo1
        with np.errstate(divide="ignore", invalid="ignore"):
            others = np.where((mo1 > 0) & (mo0 > 0), xo1 / mo1 - xo0 / mo0, np.nan)
        tau2 = (_spread(g, dim, x1, m1) if spread else np.zeros(len(g)))
        big = (m1 >= min_n) & (m0 >= min_n)
        attrs["too_small"] += int(((m1 > 0) & ~big).sum())
        keep = np.flatnonzero(big)
        if not len(keep):
            continue
        k = g["step_index"].to_numpy()[keep]
        parts.append(pd.DataFrame({
            "dimension": dim, "segment": g[dim].to_numpy()[keep],
            "period": g[_PERIOD].to_numpy()[keep],
            "from_step": names["from_step"].reindex(k).to_numpy(),
            "step": names["step"].reindex(k).to_numpy(), "step_index": k,
            "n_prev": m1[keep], "n": x1[keep], "rate": x1[keep] / m1[keep],
            "n_prev_usual": m0[keep], "n_usual": x0[keep],
            "rate_usual": x0[keep] / m0[keep], "spread": np.sqrt(tau2[keep]),
            "_mm": (seg["n_prev_sq"].to_numpy("float64")[keep] - m1[keep] ** 2.0)
            / m0[keep] ** 2.0, "gap_others": others[keep]}))
    if not parts:
        return empty("too_small")
    out = pd.concat(parts, ignore_index=True)
    out["gap"] = out["rate"] - out["rate_usual"]
    x1, m1, x0, m0 = (out[c].to_numpy("float64") for c in ("n", "n_prev", "n_usual",
                                                            "n_prev_usual"))
    pooled = (x1 + x0) / (m1 + m0)
    var0 = pooled * (1 - pooled) * (1 / m1 + 1 / m0)          # proportions_ztest's variance
    # the usual month-to-month variation: in the cell's own rate, and in the usual rate (a
    # count-weighted mean of the other periods: tau² · Σ m² / M²)
    extra = out["spread"].to_numpy() ** 2 * (1 + out["_mm"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        # one-sided: the claim is a shortfall (a period above its usual is no bottleneck)
        p_wide = np.where(var0 + extra > 0, norm.cdf(out["gap"].to_numpy()
                                                     / np.sqrt(var0 + extra)),
                          np.where(out["gap"].to_numpy() < 0, 0.0, 1.0))
    exact = np.minimum(m1, m0) * np.minimum(pooled, 1 - pooled) < 5
    ps = p_wide.copy()
    for i in np.flatnonzero(exact | (extra == 0)):
        if exact[i]:        # rare outcomes or a small cell: the normal approximation is poor
            a, b, c, d = (int(v) for v in (x1[i], m1[i] - x1[i], x0[i], m0[i] - x0[i]))
            p = fisher_exact([[a, b], [c, d]], alternative="less")[1]
        else:
            p = proportions_ztest([x1[i], x0[i]], [m1[i], m0[i]], alternative="smaller")[1]
        ps[i] = p if extra[i] == 0 else max(p, p_wide[i])
    out["test"], out["p_value"] = np.where(exact, "exact", "z"), ps
    rej, adj, _, _ = multipletests(out["p_value"].to_numpy(float), alpha=alpha, method=method)
    out["p_adj"], out["significant"] = adj, rej & (out["gap"] < 0)
    out["missing"] = (out["rate_usual"] - out["rate"]) * out["n_prev"]
    out = out.sort_values(["significant", "missing", "dimension", "segment", "period",
                           "step_index"], ascending=[False, False, True, True, True, True],
                          kind="stable")
    out = out[PERIOD_BOTTLENECK_COLUMNS].reset_index(drop=True)
    out.attrs.update(attrs, tested=len(out))
    return out


# ----------------------------------------------------------------------------- follow-ups

def after_dropout(events: pd.DataFrame, steps, *, unit: str = "session", window=None,
                  top: int = 5) -> pd.DataFrame:
    """Where units went after the last funnel step they reached, when they did not finish.

    For every unit of :func:`journeys` that stopped before the last step, the first event it
    logged strictly after its furthest matched step (in the same session for ``unit="session"``,
    in any later session for ``unit="user"``), or ``"(nothing more)"`` when the log ends there.
    The ``top`` next events of each step are listed and the rest summed into one ``"(other
    events)"`` row, so each step's rows add up to the units that stopped there.

    Returns
    -------
    DataFrame with ``step`` (last step reached), ``step_index``, ``next_event``, ``units`` and
    ``share`` (of the units that stopped at that step); steps in funnel order, most frequent
    next event first (ties by name).

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 1, 2, 2, 3, 3, 3], "user_id": 1,
    ...     "ts": pd.to_datetime([0, 1, 2, 0, 1, 0, 1, 2], unit="s", utc=True),
    ...     "event": ["view", "cart", "search", "view", "home", "view", "cart", "buy"]})
    >>> after_dropout(ev, ["view", "cart", "buy"])[["step", "next_event", "units", "share"]]
       step next_event  units  share
    0  view       home      1    1.0
    1  cart     search      1    1.0
    """
    top = int(args.positive(top, "top"))
    j = journeys(events, steps, unit=unit, window=window)
    steps = list(steps)
    ucol = "session_id" if unit == "session" else "user_id"
    last = len(steps) - 1
    out_cols = ["step", "step_index", "next_event", "units", "share"]
    stopped = j.loc[j["reached"] < last]
    if stopped.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "share" else
                                          "int64" if c in ("step_index", "units") else object)
                             for c in out_cols})
    t = np.full(len(stopped), np.datetime64("NaT"), dtype="datetime64[ns]")
    r = stopped["reached"].to_numpy()
    for k in range(last):
        col = pd.to_datetime(stopped[f"t{k}"], utc=True).dt.tz_localize(None).to_numpy(
            "datetime64[ns]")
        t = np.where(r == k, col, t)
    left = pd.DataFrame({ucol: stopped[ucol].to_numpy(), "t": t, "reached": r})
    ts = events["ts"]
    ts = ts.dt.tz_convert("UTC").dt.tz_localize(None) if ts.dt.tz is not None else ts
    right = pd.DataFrame({ucol: events[ucol].to_numpy(), "t": ts.to_numpy("datetime64[ns]"),
                          "next_event": events["event"].to_numpy()}).dropna(subset=["t"])
    left = left.dropna(subset=["t"]).sort_values("t", kind="stable")
    nxt = pd.merge_asof(left, right.sort_values("t", kind="stable"), on="t", by=ucol,
                        direction="forward", allow_exact_matches=False)
    nxt["next_event"] = nxt["next_event"].astype(object).where(nxt["next_event"].notna(),
                                                               "(nothing more)")
    rows = []
    for k, g in nxt.groupby("reached", sort=True):
        c = g["next_event"].value_counts()
        c = c.rename_axis("next_event").reset_index(name="units").sort_values(
            ["units", "next_event"], ascending=[False, True], kind="stable")
        if len(c) > top:
            rest = int(c["units"].iloc[top:].sum())
            c = pd.concat([c.iloc[:top], pd.DataFrame({"next_event": ["(other events)"],
                                                       "units": [rest]})])
        c = c.assign(step=steps[int(k)], step_index=int(k), share=c["units"] / len(g))
        rows.append(c)
    out = pd.concat(rows, ignore_index=True)
    out["units"] = out["units"].astype("int64")
    return out[out_cols]


def cart_abandonment(events: pd.DataFrame, *, window="7D", cart: str = "add_to_cart",
                     purchase: str = "purchase", by=None, until=None) -> pd.DataFrame:
    """Carts with no purchase by the same user within ``window`` (购物车放弃率).

    A cart is a session with at least one ``cart`` event, starting at its first one. It is
    ``recovered`` when the same user has a ``purchase`` event at or after that time and no later
    than ``window`` after it (in the same or a later session); ``same_session`` counts those
    bought in the cart's own session. Carts whose window runs past the end of the data
    (``until``; default the last event) cannot be judged yet: they are in progress, left out and
    counted in ``censored``, whether or not they were bought (keeping the bought ones would
    count every recent cart as recovered).

    Returns one row (per ``by`` group, read from the cart's event): ``carts``, ``same_session``,
    ``later_session``, ``abandoned``, ``abandonment_rate`` with Wilson ``ci_low``/``ci_high``,
    ``censored``.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 3, 4, 5], "user_id": [1, 1, 1, 2, 3, 4],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-02",
    ...                           "2024-01-02", "2024-01-30"], utc=True),
    ...     "event": ["add_to_cart", "view_item", "purchase", "add_to_cart", "add_to_cart",
    ...               "add_to_cart"]})
    >>> cart_abandonment(ev)[["carts", "same_session", "later_session", "abandoned", "censored"]]
       carts  same_session  later_session  abandoned  censored
    0      3             0              1          2         1
    """
    by = [by] if isinstance(by, str) else list(by or [])
    need = [c for c in ["session_id", "user_id", "ts", "event", *by] if c not in events.columns]
    if need:
        raise ValueError(f"cart_abandonment: the events table has no column(s) {need}")
    win = args.duration(window, "window")
    c = events.loc[events["event"] == cart, ["session_id", "user_id", "ts", *by]]
    c = c.sort_values(["session_id", "ts"], kind="stable").drop_duplicates("session_id")
    p = events.loc[events["event"] == purchase, ["session_id", "user_id", "ts"]]
    p = p.rename(columns={"session_id": "buy_session", "ts": "buy_ts"})
    c = c.sort_values(["ts", "session_id"], kind="stable")
    p = p.sort_values(["buy_ts", "buy_session"], kind="stable")
    m = pd.merge_asof(c, p, left_on="ts", right_on="buy_ts", by="user_id", direction="forward",
                      allow_exact_matches=True)
    same = events.loc[events["event"] == purchase].groupby("session_id")["ts"].max()
    # (with no purchase at all the empty lookup has no time dtype to compare with)
    m["same"] = (m["ts"] <= m["session_id"].map(same)) if len(same) else False
    m["recovered"] = m["same"] | ((m["buy_ts"] - m["ts"]) <= win)
    # judged only when the whole window lies inside the data, bought or not: censoring only the
    # unbought carts would keep every recent bought cart and bias the rate towards recovery
    end = data_end(events) if until is None else pd.Timestamp(until)
    m["censored"] = m["ts"] + win > end
    keys = by if by else np.zeros(len(m), dtype=int)
    judged = m.loc[~m["censored"]]
    g = judged.groupby(keys if not by else by, dropna=False, sort=True) if by else \
        judged.groupby(np.zeros(len(judged), dtype=int))
    out = pd.DataFrame({
        "carts": g.size(),
        "same_session": g["same"].sum(),
        "later_session": g["recovered"].sum() - g["same"].sum(),
    })
    out["abandoned"] = out["carts"] - out["same_session"] - out["later_session"]
    cens = (m.groupby(by, dropna=False, sort=True)["censored"].sum() if by
            else pd.Series([int(m["censored"].sum())], index=[0]))
    # a group whose carts are all too recent (or no cart at all) keeps its row, with 0 judged
    out = out.reindex(cens.index.union(out.index), fill_value=0)
    out["censored"] = cens.reindex(out.index, fill_value=0)
    out = out.astype("int64")
    out["abandonment_rate"] = out["abandoned"] / out["carts"].where(out["carts"] > 0)
    out["ci_low"], out["ci_high"] = wilson(out["abandoned"].to_numpy(), out["carts"].to_numpy())
    out = out.reset_index() if by else out.reset_index(drop=True)
    return out[[*by, "carts", "same_session", "later_session", "abandoned", "abandonment_rate",
                "ci_low", "ci_high", "censored"]]


def time_to_convert(j: pd.DataFrame, *, from_step: int = 0, to_step: int = -1,
                    bins=TIME_BINS, labels=TIME_LABELS) -> pd.DataFrame:
    """Distribution of the time from ``from_step`` to ``to_step`` among units that reached both.

    ``j`` is a :func:`journeys` table. Returns one row per
    time bin (per ``by`` group if the journeys have one): ``bin``, ``n``, ``share`` and
    ``cum_share``; empty bins are kept so tables line up. Bins include their upper edge.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2], "user_id": [1, 1, 2, 2],
    ...     "ts": pd.to_datetime([0, 30, 0, 600], unit="s", utc=True), "event": ["a", "b"] * 2})
    >>> t = time_to_convert(journeys(ev, ["a", "b"]))
    >>> t.loc[t["n"] > 0, ["bin", "n", "cum_share"]]
            bin  n  cum_share
    0   < 1 min  1        0.5
    2  5–15 min  1        1.0
    """
    dt = _span(j, from_step, to_step)
    ok = dt.notna()
    edges = pd.to_timedelta(list(bins))
    cut = pd.cut(dt[ok], edges, labels=list(labels), include_lowest=True, right=True)
    by = j.attrs["by"]
    keys = [j.loc[ok, c] for c in by] + [cut]
    n = pd.Series(1, index=cut.index).groupby(keys, dropna=False, observed=False).sum()
    out = n.rename("n").reset_index()
    out.columns = [*by, "bin", "n"]
    tot = out.groupby(by, dropna=False)["n"].transform("sum") if by else out["n"].sum()
    out["share"] = out["n"] / tot
    out["cum_share"] = (out.groupby(by, dropna=False)["share"].cumsum() if by
                        else out["share"].cumsum())
    out["bin"] = out["bin"].astype(str)
    return out


def _span(j: pd.DataFrame, from_step: int, to_step: int) -> pd.Series:
    """Time from one matched step to a later one per unit (NaT if either is missing)."""
    K = len(j.attrs["steps"])
    a, b = from_step % K, to_step % K
    dt = j[f"t{b}"] - j[f"t{a}"]
    # a step to itself (a one-step funnel) has no time to convert
    return dt if a < b else dt.where(pd.Series(False, index=dt.index))


def conversion_times(j: pd.DataFrame, *, quantiles=(0.25, 0.5, 0.75, 0.9), from_step: int = 0,
                     to_step: int = -1) -> pd.Series:
    """Quantiles of the time from ``from_step`` to ``to_step`` among units that reached both.

    ``j`` is a :func:`journeys` table. Returns a timedelta Series indexed by quantile (NaT when
    no unit got that far); ``.attrs["n"]`` is how many units it is based on.

    Examples
    --------
    >>> ev = pd.DataFrame({"session_id": [1, 1, 2, 2], "user_id": [1, 1, 2, 2],
    ...     "ts": pd.to_datetime([0, 30, 0, 90], unit="s", utc=True), "event": ["a", "b"] * 2})
    >>> q = conversion_times(journeys(ev, ["a", "b"]), quantiles=[0.5])
    >>> str(q.loc[0.5]), q.attrs["n"]
    ('0 days 00:01:00', 2)
    """
    dt = _span(j, from_step, to_step).dropna()
    out = pd.Series(pd.to_timedelta(dt.quantile(list(quantiles)).to_numpy()).astype(
        "timedelta64[ns]"), index=pd.Index(list(quantiles), name="quantile"),
        name="time to convert")
    out.attrs["n"] = len(dt)
    return out


def plot_steps(table: pd.DataFrame, *, title: str = "Step conversion with 95 % CI", colors=None,
               ax=None):
    """Grouped bars of ``rate_from_prev`` per step (and segment) with Wilson error bars.

    ``colors`` maps segment -> colour (e.g. ``plots.DEVICE_COLORS``). Returns the Axes.
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    by = [c for c in table.columns if c not in FUNNEL_COLUMNS]
    t = table.loc[table["step_index"] > 0]
    steps = t.drop_duplicates("step_index")["step"].tolist()
    groups = t.groupby(by[0], sort=True) if by else [("all", t)]
    groups = list(groups)
    if ax is None:
        _, ax = plt.subplots(figsize=(9.0, 4.0))
    width = 0.8 / len(groups)
    x = np.arange(len(steps))
    for i, (name, g) in enumerate(groups):
        est = g["rate_from_prev"].to_numpy(float)
        err = np.vstack([est - g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float) - est])
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, est, width * 0.95, yerr=err, capsize=2,
               label=str(name), color=(colors or {}).get(name))
    ax.set_xticks(x, [f"→ {s}" for s in steps])
    if by:
        ax.legend(title=by[0], loc="upper left")
    plots.label(ax, title, "step (from the previous step)", "share continuing", percent="y")
    return ax
