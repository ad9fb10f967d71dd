"""What changed, when, for whom: time-bounded shifts in a shop's daily rates, found on their own.

A three-week payment failure on one device dilutes into the average of a two-year funnel. This
module turns the log into daily binomial series (each funnel step, each event's share of
sessions, the session conversion rate, each channel's share of traffic, the share of new
visitors), overall and per segment, and looks in every series for periods whose rate differs.

The search is the temporal scan statistic for binomial counts (Kulldorff 1997, "A spatial scan
statistic"; its one-dimensional form in time): for every window ``[s, e]`` of consecutive days
(two days to six weeks), the log-likelihood ratio of "the rate inside differs from the rate in
the four weeks around it" against "one rate throughout", maximised over the windows with
cumulative sums. The best window's p-value is the χ²₁ tail of twice its log-likelihood ratio
multiplied by the number of windows searched (a Bonferroni bound, conservative where Kulldorff
uses Monte Carlo). In funnel steps a change-point test (Hinkley 1970) also looks for a lasting
shift (:func:`shift`), and the likelier explanation is kept. After a significant change the
search goes on in the rest of the series (binary segmentation; Scott & Knott 1974), every
period found is tested again with the days of the other changes left out of its baseline, and
all p-values are adjusted together by Benjamini–Hochberg. Windows with fewer than ``min_n``
trials inside or around them are not searched, so tiny segments cannot flood the table.
:func:`headlines` folds one event seen in several series into one row.

Examples
--------
>>> k = np.r_[[10] * 20, [1] * 10, [10] * 20]
>>> best = scan(k, np.full(50, 100))
>>> best["start"], best["end"], round(best["during"], 2), round(best["baseline"], 2)
(20, 29, 0.01, 0.1)
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from helpers import args
from helpers.funnel import CANONICAL_STEPS as FUNNEL
from helpers.stats import wilson


def _loglik(k, n):
    """Binomial log-likelihood at the MLE, elementwise (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        a = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0.0)
    return a + b


def scan(k, n, *, min_days: int = 2, max_days: int = 42, context: int = 28,
         min_n: int = 100) -> dict:
    """The window of consecutive periods whose binomial rate differs most from its surroundings.

    ``k`` successes out of ``n`` trials per period. A window ``[s, e]`` of ``min_days`` to
    ``max_days`` periods is compared with the ``context`` periods on each side of it (fewer at
    the ends of the series): a local baseline, so that a slow trend (a young shop's share of new
    visitors falling month after month) is not read as an incident. Returns ``start`` and
    ``end`` (inclusive positions), ``during`` and ``baseline`` rates, ``k_in``, ``n_in``, the
    log-likelihood ratio ``llr`` and ``p_value`` (Bonferroni over the windows searched; 1.0 when
    no window qualifies).

    >>> r = scan([5, 5, 30, 30, 5, 5], [100] * 6, min_days=1, min_n=50)
    >>> r["start"], r["end"], r["p_value"] < 1e-6
    (2, 3, True)
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    T = len(k)
    none = {"start": None, "end": None, "during": np.nan, "baseline": np.nan, "k_in": 0,
            "n_in": 0, "llr": 0.0, "p_value": 1.0}
    if T < min_days + 1 or n.sum() == 0:
        return none
    ck, cn = np.r_[0, np.cumsum(k)], np.r_[0, np.cumsum(n)]
    s, e = np.triu_indices(T)  # window [s, e]
    length = e - s + 1
    ok = (length >= min_days) & (length <= max_days)
    s, e = s[ok], e[ok]
    lo, hi = np.maximum(s - context, 0), np.minimum(e + context, T - 1)
    k_in, n_in = ck[e + 1] - ck[s], cn[e + 1] - cn[s]
    k_out = (ck[s] - ck[lo]) + (ck[hi + 1] - ck[e + 1])
    n_out = (cn[s] - cn[lo]) + (cn[hi + 1] - cn[e + 1])
    ok = (n_in >= min_n) & (n_out >= min_n)
    if not ok.any():
        return none
    s, e, k_in, n_in, k_out, n_out = s[ok], e[ok], k_in[ok], n_in[ok], k_out[ok], n_out[ok]
    llr = _loglik(k_in, n_in) + _loglik(k_out, n_out) - _loglik(k_in + k_out, n_in + n_out)
    i = int(np.argmax(llr))
    p = min(1.0, float(stats.chi2.sf(2 * max(llr[i], 0.0), 1)) * len(llr))
    return {"start": int(s[i]), "end": int(e[i]), "during": float(k_in[i] / n_in[i]),
            "baseline": float(k_out[i] / n_out[i]), "k_in": int(k_in[i]), "n_in": int(n_in[i]),
            "llr": float(llr[i]), "p_value": p, "windows": len(llr)}


def shift(k, n, *, side: int = 42, min_side: int = 14, min_n: int = 100) -> dict:
    """The period from which a binomial rate moved and stayed moved: a change point.

    For every period ``t`` the binomial log-likelihood ratio of :func:`scan` (the single
    change-point test of Hinkley 1970) compares the rate before ``t`` with the rate from ``t``
    on twice: in the ``side`` periods on either side (a sharp step, so a slow trend does not
    qualify), over the whole series (everything before against everything after) and between
    everything before and what comes after those first ``side`` periods (so the start of a sale
    or an outage, after which the rate returns, does not qualify); the weakest is the evidence
    at ``t`` (an intersection–union test: all must hold, in the same direction). The end of
    such a period can still look like a step down from everything before it:
    :func:`find_changes` keeps a shift only where it explains the series better than a period
    (:func:`scan`) does. At
    least ``min_side`` periods and ``min_n`` trials on each side. Returns ``start`` (the first
    period at the new rate), ``baseline`` (the rate before it), ``during`` (the rate from it
    to the end), ``k_in`` and ``n_in`` (successes and trials from it to the end; ``n_after``
    too), ``llr`` and ``p_value`` (Bonferroni over the candidate periods).

    >>> r = shift([5] * 40 + [30] * 40, [100] * 80)
    >>> r["start"], r["during"], r["baseline"]
    (40, 0.3, 0.05)
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    T = len(k)
    none = {"start": None, "during": np.nan, "baseline": np.nan, "k_in": 0, "n_in": 0,
            "n_after": 0, "llr": 0.0, "p_value": 1.0}
    t = np.arange(min_side, T - min_side + 1)
    if len(t) == 0:
        return none
    ck, cn = np.r_[0, np.cumsum(k)], np.r_[0, np.cumsum(n)]
    lo, hi = np.maximum(t - side, 0), np.minimum(t + side, T)
    kb, nb = ck[t] - ck[lo], cn[t] - cn[lo]
    ka, na = ck[hi] - ck[t], cn[hi] - cn[t]
    kr, nr = ck[T] - ck[t], cn[T] - cn[t]
    ok = (nb >= min_n) & (na >= min_n)
    if not ok.any():
        return none
    t, kb, nb, ka, na, kr, nr = (x[ok] for x in (t, kb, nb, ka, na, kr, nr))
    local = _loglik(kb, nb) + _loglik(ka, na) - _loglik(kb + ka, nb + na)
    kp, np_ = ck[t], cn[t]                              # everything before t
    whole = _loglik(kp, np_) + _loglik(kr, nr) - _loglik(kp + kr, np_ + nr)
    up = ka / na > kb / nb
    same = up == (kr / nr > kp / np_)
    # and the rate still differs after the first ``side`` periods (where there are any)
    kf, nf = kr - ka, nr - na
    far = _loglik(kp, np_) + _loglik(kf, nf) - _loglik(kp + kf, np_ + nf)
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.where(nf >= min_n, np.where(up == (kf / nf > kp / np_), far, 0.0), np.inf)
    llr = np.where(same, np.minimum(np.minimum(local, whole), far), 0.0)
    i = int(np.argmax(llr))
    p = min(1.0, float(stats.chi2.sf(2 * max(llr[i], 0.0), 1)) * len(llr))
    return {"start": int(t[i]), "during": float(kr[i] / nr[i]), "baseline": float(kp[i] / np_[i]),
            "k_in": int(kr[i]), "n_in": int(nr[i]), "n_after": int(nr[i]), "llr": float(llr[i]),
            "p_value": p}


_LAST = np.iinfo(np.int64).max  # a missing time (NaT) sorts after every real one


def _period_codes(first: np.ndarray, dtype: np.dtype, freq: str) -> tuple[np.ndarray, pd.Index]:
    """Each session's period, as a code into the sorted periods, from its first event's time.

    Parameters
    ----------
    first : ndarray of int64
        Per session, its first event's time in the unit of ``dtype`` (``_LAST`` for none).
    dtype : numpy datetime64 dtype
        The (tz-naive, UTC) unit of the times.
    freq : str
        The period frequency; a period is ``to_period(freq).start_time`` of the time.

    Returns
    -------
    codes : ndarray of int64
        Per session, the position of its period among ``periods`` (−1 without a time).
    periods : Index
        The distinct periods, sorted.

    Notes
    -----
    The periods are computed once per distinct day when no period boundary falls inside a day
    (the start and the end of every day share a period: days, weeks, months), else once per
    session (hourly periods).
    """
    valid = first != _LAST
    t = first[valid]
    per_day = int(np.timedelta64(1, "D") / np.timedelta64(1, np.datetime_data(dtype)[0]))
    day = t // per_day
    lo = int(day.min()) if len(day) else 0
    if len(day) and int(day.max()) - lo <= 4 * len(day) + 100_000:
        seen = np.zeros(int(day.max()) - lo + 1, dtype=bool)
        seen[day - lo] = True
        days, inv = np.flatnonzero(seen) + lo, (np.cumsum(seen) - 1)[day - lo]
    else:
        days, inv = np.unique(day, return_inverse=True)

    def start(x):
        return pd.Series(x.view(dtype)).dt.to_period(freq).dt.start_time

    p = start(days * per_day)
    if not (p.to_numpy() == start(days * per_day + (per_day - 1)).to_numpy()).all():
        p, inv = start(t), slice(None)  # a boundary inside a day: every session's own time
    pcode, periods = pd.factorize(p, sort=True)
    codes = np.full(len(first), -1, dtype=np.int64)
    codes[valid] = pcode[inv]
    return codes, periods


def _levels(values: pd.Series, pos: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """Each session's level of a sessions column, as a code into the sorted text levels.

    Parameters
    ----------
    values : Series
        A column of the sessions table.
    pos : ndarray of intp
        Per session of the events, its row in the sessions table (−1 when absent).

    Returns
    -------
    (codes, levels) or None
        ``levels`` are the sorted distinct texts of the sessions' values (``"(none)"`` for a
        missing value or session), as ``values.reindex(...).astype("string")`` writes them
        (a missing session turns integers into floats there, so here too); ``codes`` the
        position of each session's level. None when no session has a value.
    """
    codes, uniq = values.factorize()
    c = np.where(pos >= 0, codes[pos], -1) if len(codes) else np.full(len(pos), -1)
    if not (c >= 0).any():
        return None
    lev = pd.Series(uniq)
    if (pos < 0).any():  # reindexing would insert missing values: promote the dtype alike
        lev = lev.reindex(np.arange(len(uniq) + 1))
    text = ["(none)", *lev.astype("string").fillna("(none)").tolist()[:len(uniq)]]
    seen = np.flatnonzero(np.bincount(c + 1, minlength=len(uniq) + 1))
    levels = sorted({text[i] for i in seen})
    lut = np.full(len(text), -1, dtype=np.int64)
    lut[seen] = [levels.index(text[i]) for i in seen]
    return lut[c + 1], levels


def _count(key: np.ndarray, size: int, rows: list[np.ndarray]) -> np.ndarray:
    """Sessions per key (row 0) and, for each boolean row, the sessions per key that have it."""
    out = np.empty((len(rows) + 1, size), dtype=np.int64)
    out[0] = np.bincount(key, minlength=size)
    for i, r in enumerate(rows, 1):
        out[i] = np.bincount(key, weights=r, minlength=size)
    return out


def daily_series(events: pd.DataFrame, sessions: pd.DataFrame | None = None, *,
                 by=("device", "channel"), freq: str = "D", steps=None, tz: str | None = None,
                 warmup: int = 28) -> pd.DataFrame:
    """The binomial series :func:`find_changes` scans, one row per (metric, segment, period).

    Per session (its period is the one of its first event): which funnel steps it reached
    (it has an event of the step, whatever the order: robust to out-of-order logs), which other
    events it had, its channel, whether it is its user's first. Series:

    * ``"<step k-1> → <step k>"``: sessions that reached step k among those that reached k−1;
    * ``"share of sessions with <event>"`` for every event that is not a funnel step, and for
      the last funnel step (the session conversion rate);
    * ``"share of sessions from <channel>"`` (traffic mix) and ``"share of new visitors"``
      (from ``warmup`` days into the log: before that, everyone looks new);

    each overall (``segment="all"``) and, for the first two kinds, per level of every ``by``
    column the sessions have (``"device=mobile"``). Periods are calendar days (weeks, …) in
    ``tz`` (the shop's time zone, e.g. ``store.meta["timezone"]``; default UTC) for
    timezone-aware times, as logged for naive ones.

    Returns
    -------
    DataFrame with ``metric``, ``segment``, ``period`` (the period's first day), ``k``, ``n``.

    Notes
    -----
    Linear in the events: session, event and user ids are factorised once, a (event × session)
    boolean matrix records which events each session had, and every series is one
    ``np.bincount`` over (period, level) codes.
    """
    steps = list(steps or FUNNEL)
    sc, ids = pd.factorize(events["session_id"])  # -1: no session id (left out, as by groupby)
    ts = events["ts"]
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert(tz or "UTC").dt.tz_localize(None)
    when = ts.to_numpy()
    t = when.view(np.int64)
    t = np.where(t == np.iinfo(np.int64).min, _LAST, t)
    ok = sc >= 0
    everyone = bool(ok.all())
    first = np.full(len(ids), _LAST, dtype=np.int64)
    np.minimum.at(first, sc if everyone else sc[ok], t if everyone else t[ok])
    pc, periods = _period_codes(first, when.dtype, freq)

    ec, names = pd.factorize(events["event"], sort=True)
    names = list(names)
    has = np.zeros((len(names), len(ids)), dtype=bool)
    named = ok & (ec >= 0)
    if named.all():
        has[ec, sc] = True
    else:
        has[ec[named], sc[named]] = True

    # a user's first session: the one of its earliest event (the first row among ties)
    uc, users = pd.factorize(events["user_id"], use_na_sentinel=False)
    earliest = np.full(len(users), _LAST, dtype=np.int64)
    np.minimum.at(earliest, uc, t)
    tie = np.flatnonzero(t == earliest[uc])
    row = np.full(len(users), len(t), dtype=np.int64)
    np.minimum.at(row, uc[tie], tie)
    new = np.zeros(len(ids), dtype=bool)
    fs = sc[row]
    new[fs[fs >= 0]] = True

    segs = []  # (column, level code per session, levels)
    if sessions is not None:
        index = pd.Index(sessions["session_id"])
        if not index.is_unique:
            raise ValueError("cannot reindex on an axis with duplicate labels")
        pos = index.get_indexer(ids)
        for col in by:
            if col != "session_id" and col in sessions.columns:
                found = _levels(sessions[col], pos)
                if found is not None:
                    segs.append((col, *found))

    dated = pc >= 0  # a session without a time has no period (its levels still count above)
    if not dated.all():
        pc, has, new = pc[dated], has[:, dated], new[dated]
        segs = [(col, codes[dated], levels) for col, codes, levels in segs]
    P = len(periods)
    present = [s for s in steps if s in names]
    # every event that is not a funnel step, and the last step reached (session conversion)
    others = [c for c in names if c not in FUNNEL] + present[-1:]
    has = dict(zip(names, has, strict=True))
    pairs = list(pairwise(present))
    rows = ([has[a] for a, _ in pairs] + [has[a] & has[b] for a, b in pairs]
            + [has[e] for e in others])
    per_seg = [_count(pc * len(levels) + codes, P * len(levels), rows).reshape(-1, P, len(levels))
               for _, codes, levels in segs]
    every = per_seg[0].sum(axis=2) if segs else _count(pc, P, rows)

    out = []  # (metric, segment, k, n)

    def add(segment, c):
        for i, (a, b) in enumerate(pairs):
            out.append((f"{a} → {b}", segment, c[1 + len(pairs) + i], c[1 + i]))
        for j, e in enumerate(others):
            out.append((f"share of sessions with {e}", segment, c[1 + 2 * len(pairs) + j], c[0]))

    add("all", every)
    for (col, _, levels), c in zip(segs, per_seg, strict=True):
        for i, level in enumerate(levels):
            add(f"{col}={level}", c[:, :, i])
    channel = [(levels, c) for (col, _, levels), c in zip(segs, per_seg, strict=True)
               if col == "channel"]
    if channel:
        levels, c = channel[-1]
        for i, level in enumerate(levels):
            out.append((f"share of sessions from {level}", "all", c[0, :, i], every[0]))
    # in a log's first weeks everyone looks new (their earlier visits are before the log): the
    # share of new visitors is only counted from ``warmup`` days after its first period
    k_new = np.bincount(pc, weights=new, minlength=P).astype(np.int64)
    n_new = every[0].copy()
    if P:
        warm = np.asarray(periods < periods[0] + pd.Timedelta(days=warmup))
        k_new[warm], n_new[warm] = 0, 0
    out.append(("share of new visitors", "all", k_new, n_new))
    return pd.DataFrame({
        "metric": pd.Series(np.repeat(np.array([o[0] for o in out], dtype=object), P), dtype="str"),
        "segment": pd.Series(np.repeat(np.array([o[1] for o in out], dtype=object), P),
                             dtype="str"),
        "period": np.tile(periods.to_numpy(), len(out)),
        "k": np.concatenate([o[2] for o in out]).astype(np.int64),
        "n": np.concatenate([o[3] for o in out]).astype(np.int64),
    })


def _to_purchase(series: pd.DataFrame) -> dict:
    """Per metric, the share of its successes that end in the last funnel step, over the whole
    log: for ``"a → b"`` the product of the overall rates of the steps after ``b``; for a share
    of sessions the session conversion rate (what those sessions would buy at the shop's
    average); missing when the log has no funnel."""
    tot = series.loc[series["segment"] == "all"].groupby("metric", sort=False)[["k", "n"]].sum()
    rate = (tot["k"] / tot["n"].where(tot["n"] > 0)).to_dict()
    pairs = [m.split(" → ") for m in rate if " → " in m]
    chain = {a: b for a, b in pairs}
    out = {}
    for a, b in pairs:
        w, step = 1.0, b
        while step in chain:
            w *= rate[f"{step} → {chain[step]}"]
            step = chain[step]
        out[f"{a} → {b}"] = w
    last = step if pairs else None
    conv = rate.get(f"share of sessions with {last}", np.nan) if last else np.nan
    for m in rate:
        if " → " not in m:
            out[m] = 1.0 if m == f"share of sessions with {last}" else conv
    return out


def _significant(p, alpha) -> np.ndarray:
    if not len(p):
        return np.zeros(0, dtype=bool)
    return multipletests(p, alpha=alpha, method="fdr_bh")[0]


def _search(k, n, *, alpha, min_days, max_days, min_n, shift_side, lasting, most) -> list:
    """Changes in one series, strongest first: each search's best period or shift, until one is
    not significant at ``alpha`` (that one included: it counts in the multiple-testing
    adjustment) or ``most`` are found."""
    k, n = np.asarray(k, float).copy(), np.asarray(n, float).copy()
    parts, out = [(0, len(k))], []
    while len(out) < most:
        best = None
        for a, b in parts:
            r = scan(k[a:b], n[a:b], min_days=min_days, max_days=max_days, min_n=min_n)
            r.update(kind="period", n_after=r["n_in"])
            if lasting:
                q = shift(k[a:b], n[a:b], side=shift_side, min_n=min_n)
                if q["start"] is not None and q["p_value"] < r["p_value"]:
                    r = {**q, "kind": "shift", "end": b - 1 - a}
            if r["start"] is None:
                continue
            r.update(start=r["start"] + a, end=r["end"] + a, part=(a, b))
            if r["kind"] == "period":  # a window may reach over blanked days: not its own
                while n[r["start"]] == 0 and r["start"] < r["end"]:
                    r["start"] += 1
                while n[r["end"]] == 0 and r["end"] > r["start"]:
                    r["end"] -= 1
            if best is None or r["p_value"] < best["p_value"]:
                best = r
        if best is None:
            break
        a, b = best.pop("part")
        out.append(best)
        if best["p_value"] >= alpha:
            break
        if best["kind"] == "shift":
            parts.remove((a, b))
            parts += [(a, best["start"]), (best["start"], b)]
        else:
            k[best["start"]:best["end"] + 1] = 0
            n[best["start"]:best["end"] + 1] = 0
    return out


def _retest(r: dict, k, n, busy, *, min_n: int, context: int = 28) -> None:
    """A period again, with the days of every other change found left out of its baseline.

    ``busy`` marks those days. A normal stretch between two incidents looks high next to them,
    but not next to the ordinary days; the p-value keeps its search's Bonferroni factor.
    """
    s, e = r["start"], r["end"]
    lo, hi = max(s - context, 0), min(e + context, len(k) - 1)
    keep = ~busy.copy()
    keep[s:e + 1] = False
    idx = np.r_[lo:s, e + 1:hi + 1]
    idx = idx[keep[idx]]
    k_out, n_out = k[idx].sum(), n[idx].sum()
    if n_out < min_n:
        return
    llr = float(_loglik(r["k_in"], r["n_in"]) + _loglik(k_out, n_out)
                - _loglik(r["k_in"] + k_out, r["n_in"] + n_out))
    r.update(baseline=k_out / n_out, llr=llr,
             p_value=min(1.0, float(stats.chi2.sf(2 * max(llr, 0.0), 1)) * r["windows"]))


def find_changes(events: pd.DataFrame | None, sessions: pd.DataFrame | None = None, *,
                 by=("device", "channel"), freq: str = "D", steps=None, alpha: float = 0.05,
                 min_days: int = 2, max_days: int = 42, min_n: int = 50, shift_side: int = 42,
                 per_series: int = 4, tz: str | None = None,
                 series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Periods in which a rate of the shop differed from the rest of the time, ranked by impact.

    Every series of :func:`daily_series` (or the ``series`` given, in its format) is searched
    for a *period* that differs from the weeks around it (:func:`scan`: an outage, a sale, a
    burst of odd traffic) and, in funnel-step series, for a lasting *shift* from one period on
    (:func:`shift`: a release, a price change; shares of traffic drift as a shop grows, so
    there only periods are sought). The likelier of the two (smaller p-value) is kept; while
    it is significant the search goes on (binary segmentation: a shift splits the series in
    two, a period is blanked out) for at most ``per_series`` changes per series. Every search
    made, the last unsuccessful one included, enters one Benjamini–Hochberg adjustment over all
    series × segments, and a change is reported when its adjusted p-value is below ``alpha``.
    ``min_n`` trials at least inside and outside a period (or on each side of a shift) keep
    tiny segments out.

    Returns
    -------
    DataFrame, one row per change: ``metric``, ``segment``, ``kind`` (``"period"`` or
    ``"shift"``), ``start``, ``end`` (inclusive dates; a shift ends with the data),
    ``baseline`` (the rate around the period, or in the weeks before the shift), ``during``
    (inside the period, or in the weeks after the shift) with its Wilson ``ci_low``/``ci_high``,
    ``p_value`` (adjusted), ``impact`` ((during − baseline) × trials inside the period or from
    the shift to the end: units gained or lost at that step), ``purchases`` (that impact in
    purchases: times the share of the step's units that go on to buy, or for a share of
    sessions times the session conversion rate; NaN without a funnel); largest
    ``|purchases|`` (else ``|impact|``) first. ``.attrs["series"]`` is the number of series searched, ``.attrs["searches"]`` the
    number of tests made in them (the count the adjustment is over).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> days = pd.date_range("2025-01-01", periods=40, freq="D", tz="UTC")
    >>> rows = []
    >>> for d, day in enumerate(days):
    ...     for s in range(150):
    ...         sid = f"{d}-{s}"
    ...         rows.append((sid, sid, day, "view_item"))
    ...         if rng.random() < (0.02 if 15 <= d <= 24 else 0.10):
    ...             rows.append((sid, sid, day + pd.Timedelta("1min"), "purchase"))
    >>> ev = pd.DataFrame(rows, columns=["session_id", "user_id", "ts", "event"])
    >>> ch = find_changes(ev)
    >>> r = ch.loc[ch["metric"] == "view_item → purchase"].iloc[0]
    >>> r["kind"], str(r["start"].date()), str(r["end"].date()), bool(r["impact"] < 0)
    ('period', '2025-01-16', '2025-01-25', True)
    """
    alpha = args.alpha(alpha)
    if series is None:
        if events is None and sessions is None:
            raise ValueError("find_changes: give the events, the sessions or the series")
        series = daily_series(events, sessions, by=by, freq=freq, steps=steps, tz=tz)
    else:
        _check_series(series)
    searched = []  # (periods, k, n, metric, segment, result)
    n_series = 0
    for (metric, segment), g in series.groupby(["metric", "segment"], sort=True):
        n_series += 1
        g = g.sort_values("period")
        k, n = g["k"].to_numpy(float), g["n"].to_numpy(float)
        for r in _search(k, n, alpha=alpha, min_days=min_days, max_days=max_days, min_n=min_n,
                         shift_side=shift_side, lasting=" → " in metric, most=per_series):
            searched.append((g["period"].to_numpy(), k, n, metric, segment, r))
    # second look at each period: its baseline without the days of the other changes found
    sig = _significant([r["p_value"] for *_, r in searched], alpha)
    spans = [(p[r["start"]], p[r["end"]], id(r)) for (p, *_, r), ok in zip(searched, sig,
             strict=True) if ok]
    for periods, k, n, _, _, r in searched:
        if r["kind"] == "period" and r["p_value"] < 1.0:
            busy = np.zeros(len(periods), dtype=bool)
            for a, b, who in spans:
                if who != id(r):
                    busy |= (periods >= a) & (periods <= b)
            _retest(r, k, n, busy, min_n=min_n)
    found = [{"metric": metric, "segment": segment, "kind": r["kind"],
              "start": pd.Timestamp(periods[r["start"]]), "end": pd.Timestamp(periods[r["end"]]),
              "baseline": r["baseline"], "during": r["during"], "k_in": r["k_in"],
              "n_in": r["n_in"], "n_after": r["n_after"], "p_raw": r["p_value"]}
             for periods, _, _, metric, segment, r in searched]
    cols = ["metric", "segment", "kind", "start", "end", "baseline", "during", "ci_low",
            "ci_high", "p_value", "impact", "purchases"]
    if not found:
        out = pd.DataFrame(columns=cols)
        out.attrs.update(series=n_series, searches=0)
        return out
    res = pd.DataFrame(found)
    res["p_value"] = multipletests(res["p_raw"], alpha=alpha, method="fdr_bh")[1]
    res["ci_low"], res["ci_high"] = wilson(res["k_in"].to_numpy(), res["n_in"].to_numpy())
    res["impact"] = (res["during"] - res["baseline"]) * res["n_after"]
    res["purchases"] = res["impact"] * res["metric"].map(_to_purchase(series))
    searches = len(res)
    res = res.loc[res["p_value"] < alpha]
    res = res.assign(_abs=-res["purchases"].fillna(res["impact"]).abs()).sort_values(
        ["_abs", "metric", "segment"], kind="stable")
    out = res[cols].reset_index(drop=True)
    out.attrs.update(series=n_series, searches=searches)
    return out


def _naive(t):
    """Timestamps without their zone (UTC wall time), as :func:`daily_series` writes periods."""
    t = pd.to_datetime(t)
    if isinstance(t, pd.Series):
        return t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t
    return t.tz_convert("UTC").tz_localize(None) if t.tz is not None else t


def plot_changes(series: pd.DataFrame, found: pd.DataFrame | None, *, top: int = 6,
                 window: int = 7, pad: int = 56, context: int = 28):
    """Small multiples of the top findings: each flagged series' rolling rate around its change.

    One panel per row of ``found`` (the first ``top``, in its order: largest impact first), two
    panels a row. Each shows, for the series ``(metric, segment)`` of ``series``:

    * its rate per period (thin grey) and its ``window``-period rolling rate, centred
      (successes over trials summed over the window, not a mean of daily rates, so a quiet day
      weighs little), from ``pad`` periods before the change to ``pad`` periods after it
      (clipped to the data);
    * the period shaded, from ``start`` to ``end`` (a shift: from its start to its ``end``,
      the end of the data);
    * ``baseline`` as a solid line (over the ``context`` periods on each side of a period, as
      :func:`scan` measures it by default; before a shift, from the first period shown) and
      ``during`` as a dashed line over the shaded periods.

    Parameters
    ----------
    series : DataFrame
        :func:`daily_series` (``metric``, ``segment``, ``period``, ``k``, ``n``).
    found : DataFrame or None
        :func:`find_changes` on that series.
    top : int
        How many findings get a panel.

    Returns
    -------
    matplotlib Figure, or None when ``found`` has no row whose series is in ``series``: with
    nothing to draw there is no chart (the narrator says that nothing changed).

    Examples
    --------
    >>> days = pd.date_range("2025-01-01", periods=60, freq="D")
    >>> k = np.where((days >= "2025-01-21") & (days <= "2025-01-30"), 2, 10)
    >>> s = pd.DataFrame({"metric": "view_item → purchase", "segment": "all", "period": days,
    ...                   "k": k, "n": 100})
    >>> found = find_changes(None, series=s)
    >>> fig = plot_changes(s, found)
    >>> len(fig.axes), fig.axes[0].get_title(loc="left")
    (1, 'view_item → purchase')
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    >>> plot_changes(s, found.iloc[:0]) is None
    True
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from helpers import plots

    top, window = int(args.positive(top, "top")), int(args.positive(window, "window"))
    if found is None or not len(found):
        return None
    groups = {key: g.sort_values("period", kind="stable").reset_index(drop=True)
              for key, g in series.groupby(["metric", "segment"], sort=False)}
    rows = [r for _, r in found.head(top).iterrows() if (r["metric"], r["segment"]) in groups]
    if not rows:
        return None
    periods = _naive(groups[(rows[0]["metric"], rows[0]["segment"])]["period"])
    step = periods.diff().median() if len(periods) > 1 else pd.Timedelta("1D")
    step = step if pd.notna(step) and step > pd.Timedelta(0) else pd.Timedelta("1D")
    unit = {pd.Timedelta("1D"): "day", pd.Timedelta("7D"): "week"}.get(step, "period")
    ncols = 1 if len(rows) == 1 else 2
    nrows = -(-len(rows) // ncols)
    height = 2.9 * nrows + 0.7
    fig, axes = plt.subplots(nrows, ncols, figsize=(9.0 if ncols == 1 else 11.0, height),
                             squeeze=False)
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, rows):
        g = groups[(r["metric"], r["segment"])]
        x = _naive(g["period"])
        k = g["k"].rolling(window, center=True, min_periods=1).sum()
        n = g["n"].rolling(window, center=True, min_periods=1).sum()
        rate = (k / n.where(n > 0)).to_numpy(dtype=float)
        start, end = _naive(r["start"]), _naive(r["end"])
        i0 = min(int(x.searchsorted(start)), len(x) - 1)
        shift = r["kind"] == "shift"
        i1 = max(int(x.searchsorted(end, side="right")) - 1, i0)
        lo, hi = max(i0 - pad, 0), min(i1 + pad, len(x) - 1)
        daily = (g["k"] / g["n"].where(g["n"] > 0)).to_numpy(dtype=float)
        ax.plot(x[lo:hi + 1], daily[lo:hi + 1], color="0.7", lw=0.6)
        ax.plot(x[lo:hi + 1], rate[lo:hi + 1], color="C0", lw=1.4)
        ax.axvspan(x[i0], x[i1] + step, color="C1", alpha=0.2, lw=0)
        if shift:
            base, during = (x[lo], x[i0]), (x[i0], x[i1] + step)
        else:
            base = (x[max(i0 - context, 0)], x[min(i1 + context, len(x) - 1)] + step)
            during = (x[i0], x[i1] + step)
        ax.hlines(r["baseline"], *base, color="0.25", lw=1.4)
        ax.hlines(r["during"], *during, color="C3", lw=1.6, ls="--")
        name = str(r["metric"]) + ("" if r["segment"] == "all" else f" · {r['segment']}")
        plots.label(ax, name, unit, "rate", percent="y")
        ax.title.set_fontsize(10)
        loc = mdates.AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    handles = [Line2D([], [], color="0.7", lw=0.6, label=f"rate per {unit}"),
               Line2D([], [], color="C0", lw=1.4, label=f"{window}-{unit} rolling rate"),
               Patch(color="C1", alpha=0.2, label="the period (a shift: from its start on)"),
               Line2D([], [], color="0.25", lw=1.4, label="rate around it (before a shift)"),
               Line2D([], [], color="C3", lw=1.6, ls="--", label="rate during it (after a shift)")]
    fig.suptitle(f"The {'change' if len(rows) == 1 else f'{len(rows)} largest changes'} found: "
                 f"{window}-{unit} rolling rate (centred)", x=0.01, y=1 - 0.08 / height,
                 ha="left", va="top", fontsize=12, fontweight="bold")
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.3 / height),
               ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / height))
    return fig


SERIES_COLUMNS = ("metric", "segment", "period", "k", "n")
"""Columns of :func:`daily_series`, which ``find_changes(series=...)`` expects."""


def _check_series(series) -> None:
    """The ``series`` argument of :func:`find_changes` in the format of :func:`daily_series`."""
    if not isinstance(series, pd.DataFrame):
        raise ValueError(f"find_changes: series must be a DataFrame like daily_series' output, "  # noqa: TRY004
                         f"got {type(series).__name__}")
    missing = [c for c in SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise ValueError(f"find_changes: the series table has no column(s) {missing} (it needs "
                         f"{list(SERIES_COLUMNS)}, as daily_series returns)")
    for col in ("k", "n"):
        v = pd.to_numeric(series[col], errors="coerce")
        bad = v.isna() | (v < 0) | (v != np.floor(v))
        if bad.any():
            i = series.index[bad.to_numpy()][0]
            raise ValueError(f"find_changes: series column {col!r} must hold counts (whole "
                             f"numbers >= 0); {int(bad.sum())} rows do not, e.g. row {i!r}: "
                             f"{series.loc[i, col]!r}")
    over = series["k"].to_numpy() > series["n"].to_numpy()
    if over.any():
        i = series.index[over][0]
        raise ValueError(f"find_changes: series has k > n in {int(over.sum())} rows, e.g. row "
                         f"{i!r} (k={series.loc[i, 'k']}, n={series.loc[i, 'n']})")
    if series["period"].isna().any():
        i = series.index[series["period"].isna().to_numpy()][0]
        raise ValueError(f"find_changes: series has a missing period in "
                         f"{int(series['period'].isna().sum())} rows, e.g. row {i!r}")
    dup = series.duplicated(["metric", "segment", "period"])
    if dup.any():
        i = series.index[dup.to_numpy()][0]
        raise ValueError(f"find_changes: series repeats (metric, segment, period) in "
                         f"{int(dup.sum())} rows, e.g. row {i!r}: "
                         f"{tuple(series.loc[i, ['metric', 'segment', 'period']])}")


def headlines(found: pd.DataFrame, *, days: int = 3, overlap: float = 0.5) -> pd.DataFrame:
    """One row per event: findings of the same kind whose periods match (start and end within
    ``days``, or overlapping by at least ``overlap`` of the shorter one) are one change seen in
    several series and segments, reported as its largest finding.

    ``found`` is :func:`find_changes`' result (largest first). Returns the leading rows with
    ``also``: the other findings of the same event as ``"metric (segment)"`` strings, largest
    first, and ``findings``: how many rows the event gathers.

    >>> f = pd.DataFrame({"metric": ["a → b", "a → b", "x"], "segment": ["all", "device=m", "all"],
    ...     "kind": "period", "start": pd.to_datetime(["2025-01-10", "2025-01-11", "2025-05-01"]),
    ...     "end": pd.to_datetime(["2025-01-20", "2025-01-20", "2025-05-03"]), "purchases": [-9, -7, 2]})
    >>> h = headlines(f)
    >>> h[["metric", "findings"]].values.tolist(), h["also"].tolist()
    ([['a → b', 2], ['x', 1]], [['a → b (device=m)'], []])
    """
    missing = [c for c in ("metric", "segment", "kind", "start", "end") if c not in found.columns]
    if missing:
        raise ValueError(f"headlines: the findings table has no column(s) {missing} (give "
                         f"find_changes' result)")
    if days < 0 or not 0 <= overlap <= 1:
        raise ValueError(f"headlines: days must be >= 0 and overlap a share in [0, 1]; got "
                         f"days={days!r}, overlap={overlap!r}")
    lead, members = [], []
    for i, r in enumerate(found.itertuples(index=False)):
        for j, g in enumerate(lead):
            both = (min(r.end, g.end) - max(r.start, g.start)).days + 1
            short = min((r.end - r.start).days, (g.end - g.start).days) + 1
            if r.kind == g.kind and (both >= overlap * short or (
                    abs((r.start - g.start).days) <= days and abs((r.end - g.end).days) <= days)):
                members[j].append(i)
                break
        else:
            lead.append(r)
            members.append([i])
    out = found.iloc[[m[0] for m in members]].reset_index(drop=True)
    out["also"] = [[f"{found['metric'].iloc[i]} ({found['segment'].iloc[i]})" for i in m[1:]]
                   for m in members]
    out["findings"] = [len(m) for m in members]
    return out
