"""Traffic sources (流量来源): channel KPIs, channel quality downstream, and attribution.

Three questions and the functions that answer them:

* :func:`channel_summary` - what each channel brings (visits, buyers, revenue) and costs
  (spend, CAC, ROAS);
* :func:`repeat_by_channel` and :func:`value_by_channel` - how good the customers a channel
  acquires are later on (90-day repeat purchase, 180-day revenue), with a test of whether
  channels differ;
* :func:`journeys` and :func:`attribution` - who gets credit for a conversion when a buyer
  came through several channels: first touch, last touch, linear, and the data-driven Markov
  model of Anderl, Becker, von Wangenheim & Schumann (2016), "Mapping the customer journey:
  Lessons learned from graph-based online attribution modeling", *International Journal of
  Research in Marketing* 33(3), 457-474;
* :func:`compare_attribution` puts the models side by side;
* :func:`acquisition_economics` - what an acquired user is worth against what they cost;
* :func:`weekly_spend`, :func:`plot_weekly_spend` and :func:`plot_attribution` - the two
  figures of notebook 01, safe on a store without spend or without a single conversion.

Everything is vectorised (groupby / bincount / small dense linear algebra), so it runs on
millions of sessions. Conventions shared by all functions:

* **orders** are ``status == "completed"`` orders; cancelled and refunded orders are counted
  in ``.attrs["orders_excluded"]``, never silently lost;
* an order's **channel** is the channel of the session it was placed in (last touch). Orders
  without a session (null ``session_id``) are kept under the channel ``"(no session)"``;
* a session with no channel is ``"(not set)"`` (GA4's label);
* a user's **acquisition channel** is ``users.acquisition_channel`` where filled, else the
  channel of the user's first session.

Examples
--------
>>> paths = pd.DataFrame({"path": [["Email", "Direct"], ["Direct"]], "converted": [True, False]})
>>> attribution(paths, "first_touch", n_boot=0)[["channel", "conversions"]]
  channel  conversions
0   Email          1.0
1  Direct          0.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.engine import is_path
from helpers.stats import wilson

MODELS = ("first_touch", "last_touch", "linear", "markov")
"""Attribution models understood by :func:`attribution`."""

NO_SESSION = "(no session)"
NOT_SET = "(not set)"


# --------------------------------------------------------------------------- channel summary


def channel_summary(store, *, margin: float | None = None) -> pd.DataFrame:
    """One row per channel: traffic, conversion, orders, revenue and what the channel costs.

    Parameters
    ----------
    store : helpers.data.Store
        Needs ``sessions`` (with ``channel``) and ``events``; ``users``, ``orders`` and
        ``spend`` are used when present (their columns are NaN otherwise). ``events`` and/or
        ``sessions`` may be Parquet paths (file, glob or directory): the per-session and
        per-channel counting then runs in DuckDB (:mod:`helpers.engine`) and only each user's
        first session and the sessions of orders come back to pandas; same result.
    margin : float, optional
        Gross margin as a fraction of revenue (an assumption: the data has no cost of goods).
        When given, adds ``profit`` = margin x revenue - spend.

    Returns
    -------
    DataFrame, sorted by sessions (descending), then channel, with columns

    ``channel``
        session channel; ``"(no session)"`` collects orders without a session (reported, not
        dropped; their session columns are 0/NaN).
    ``sessions``, ``users``
        sessions from the channel and distinct users with at least one of them.
    ``new_users``
        users acquired by the channel (acquisition channel, see the module notes).
    ``bounce_rate``, ``bounce_low``, ``bounce_high``
        share of the channel's sessions with at most one event (a session without any
        logged event also counts as a bounce), with its Wilson 95 % CI.
    ``pages_per_session``
        events with a ``page_type`` per session (every event of the canonical log is a page
        load; without ``page_type`` all events count).
    ``conversions``, ``conversion_rate``, ``ci_low``, ``ci_high``
        sessions with a ``purchase`` event, their share of sessions and its Wilson 95 % CI.
    ``orders``, ``revenue``, ``aov``
        completed orders placed in the channel's sessions (last touch), their revenue and
        revenue / orders.
    ``spend``, ``cost_per_new_user``
        total spend of the channel (0 when the spend table has no row for it; NaN without a
        spend table) and spend / new_users.
    ``new_buyers``, ``cac``
        users acquired by the channel who placed at least one completed order; CAC =
        spend / new_buyers.
    ``roas``
        last-touch revenue / spend (NaN where spend is 0: unpaid channels have no ROAS).

    ``.attrs`` holds ``orders_excluded`` (orders by non-completed status),
    ``orders_without_session`` and ``test``: a chi-square test of independence of channel and
    session conversion over the channels with sessions (NaN p-value when it cannot be made,
    e.g. no conversions at all or a single channel).

    Examples
    --------
    >>> from helpers.data import Store, validate
    >>> ses = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [7, 7, 8],
    ...                     "started_at": ["2025-01-01", "2025-01-02", "2025-01-01"],
    ...                     "channel": ["Email", "Direct", "Email"]})
    >>> ev = pd.DataFrame({"session_id": [1, 2, 2, 3], "user_id": [7, 7, 7, 8],
    ...                    "ts": ["2025-01-01", "2025-01-02", "2025-01-02 00:01", "2025-01-01"],
    ...                    "event": ["page_view", "page_view", "purchase", "page_view"]})
    >>> o = pd.DataFrame({"order_id": [1], "user_id": [7], "session_id": [2],
    ...                   "ordered_at": ["2025-01-02 00:01"], "revenue": [50.0]})
    >>> sp = pd.DataFrame({"date": ["2025-01-01"], "channel": ["Email"], "spend": [10.0]})
    >>> s = validate(Store(events=ev, sessions=ses, orders=o, spend=sp))
    >>> channel_summary(s)[["channel", "sessions", "new_users", "orders", "cac", "roas"]]
      channel  sessions  new_users  orders   cac  roas
    0   Email         2          2       0  10.0   0.0
    1  Direct         1          0       1   NaN   NaN
    """
    if is_path(store.events) or is_path(store.sessions):
        out, acq, ses = _channel_counts_sql(store)
    else:
        ses = _sessions(store)
        ev = store.events
        sid = ses["session_id"]
        # one hash pass over the events' session ids, then counts by bincount
        codes, uniq = pd.factorize(ev["session_id"])
        ok = codes >= 0
        at = pd.Index(uniq).get_indexer(sid)
        has = at >= 0
        safe = np.where(has, at, 0)

        def per_session(mask=None):  # events per session (those where mask is True)
            c = np.bincount(codes[ok if mask is None else ok & mask], minlength=len(uniq))
            return np.where(has, c[safe], 0)

        n_events = per_session()
        if "page_type" in ev.columns and ev["page_type"].notna().any():
            n_pages = per_session(ev["page_type"].notna().to_numpy())
        else:
            n_pages = n_events
        bought = per_session((ev["event"] == "purchase").to_numpy(dtype=bool)) > 0
        per_session = pd.DataFrame({"channel": ses["channel"].to_numpy(),
                                    "user_id": ses["user_id"].to_numpy(),
                                    "bounce": n_events <= 1, "pages": n_pages, "conv": bought})
        g = per_session.groupby("channel", sort=True)
        out = pd.DataFrame({"sessions": g.size(), "users": g["user_id"].nunique(),
                            "bounces": g["bounce"].sum(), "pages": g["pages"].sum(),
                            "conversions": g["conv"].sum()})
        acq = acquisition_channels(store)

    out = out.join(acq.value_counts().rename("new_users"), how="outer")

    orders, attrs = _completed_orders(store, ses)
    if orders is not None:
        og = orders.groupby("channel", sort=True)
        out = out.join(pd.DataFrame({"orders": og.size(), "revenue": og["revenue"].sum()}),
                       how="outer")
        buyers = pd.Index(orders["user_id"].unique())
        new_buyers = acq[acq.index.isin(buyers)].value_counts()
        out = out.join(new_buyers.rename("new_buyers"), how="outer")
    else:
        out[["orders", "revenue", "new_buyers"]] = np.nan
    if store.spend is not None:
        out = out.join(store.spend.groupby("channel")["spend"].sum().rename("spend"), how="outer")
        out["spend"] = out["spend"].fillna(0.0)
    else:
        out["spend"] = np.nan

    counts = ["sessions", "users", "bounces", "conversions", "new_users"]
    if orders is not None:
        counts += ["orders", "new_buyers"]
        out["revenue"] = out["revenue"].fillna(0.0)
    out[counts] = out[counts].fillna(0).astype("int64")
    out["pages"] = out["pages"].fillna(0.0)

    n = out["sessions"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["bounce_rate"] = np.where(n > 0, out["bounces"] / n, np.nan)
        out["bounce_low"], out["bounce_high"] = wilson(out["bounces"].to_numpy(), n)
        out["pages_per_session"] = np.where(n > 0, out["pages"] / n, np.nan)
        out["conversion_rate"] = np.where(n > 0, out["conversions"] / n, np.nan)
        out["ci_low"], out["ci_high"] = wilson(out["conversions"].to_numpy(), n)
        out["aov"] = _ratio(out["revenue"], out["orders"])
        out["cost_per_new_user"] = _ratio(out["spend"], out["new_users"])
        out["cac"] = _ratio(out["spend"], out["new_buyers"])
        out["roas"] = _ratio(out["revenue"], out["spend"])
    cols = ["sessions", "users", "new_users", "bounce_rate", "bounce_low", "bounce_high",
            "pages_per_session", "conversions",
            "conversion_rate", "ci_low", "ci_high", "orders", "revenue", "aov", "spend",
            "cost_per_new_user", "new_buyers", "cac", "roas"]
    if margin is not None:
        out["profit"] = margin * out["revenue"] - out["spend"].fillna(0.0)
        cols.append("profit")
    out = out.rename_axis("channel").reset_index()[["channel", *cols]]
    out = out.sort_values(["sessions", "channel"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(attrs)
    has = out.loc[out["sessions"] > 0]
    out.attrs["test"] = _chi2(np.column_stack([has["conversions"],
                                               has["sessions"] - has["conversions"]]))
    return out


def acquisition_channels(store) -> pd.Series:
    """Each user's acquisition channel, indexed by ``user_id`` (name ``acquisition_channel``).

    ``users.acquisition_channel`` where it is filled, else the channel of the user's first
    session (earliest ``started_at``, ties broken by ``session_id``); ``"(not set)"`` if neither.

    Examples
    --------
    >>> from helpers.data import Store, validate
    >>> ses = pd.DataFrame({"session_id": [1, 2], "user_id": [7, 7], "channel": ["Email", "Direct"],
    ...                     "started_at": ["2025-01-02", "2025-01-01"]})
    >>> ev = pd.DataFrame({"session_id": [1, 2], "user_id": [7, 7], "event": ["page_view"] * 2,
    ...                    "ts": ["2025-01-02", "2025-01-01"]})
    >>> acquisition_channels(validate(Store(events=ev, sessions=ses))).to_dict()
    {7: 'Direct'}
    """
    users = store.users
    complete = (users is not None and "acquisition_channel" in users.columns
                and users["acquisition_channel"].notna().all())
    if (complete and store.sessions is not None
            and store.sessions["user_id"].isin(users["user_id"]).all()):
        # every user's channel is known: the first sessions are not needed
        first = pd.Series(dtype="str", index=pd.Index([], name="user_id"))
    elif store.sessions is not None and "channel" in store.sessions.columns:
        ses = _sessions(store)
        first = (ses.sort_values(["started_at", "session_id"], kind="stable")
                 .drop_duplicates("user_id").set_index("user_id")["channel"])
    elif users is not None and "acquisition_channel" in users.columns:
        first = pd.Series(dtype="str", index=pd.Index([], name="user_id"))
    else:
        raise ValueError("the acquisition channel needs users.acquisition_channel or "
                         "sessions.channel; this store has neither")
    if users is not None and "acquisition_channel" in users.columns:
        acq = users.set_index("user_id")["acquisition_channel"]
        acq = acq.fillna(first.reindex(acq.index)).fillna(NOT_SET)
        extra = first[~first.index.isin(acq.index)]
        acq = pd.concat([acq, extra]) if len(extra) else acq
    else:
        acq = first
    return acq.astype("str").rename("acquisition_channel").rename_axis("user_id")


def _channel_counts_sql(store):
    """The event- and session-level part of :func:`channel_summary` in DuckDB.

    For a store whose ``events`` and/or ``sessions`` are Parquet paths (the other one may be a
    DataFrame, which DuckDB scans in place). Returns ``(out, acq, ses)``: the per-channel counts
    (as the in-memory code builds them), the acquisition channels, and the few sessions the
    rest of :func:`channel_summary` needs (each user's first session and the sessions that
    orders point to), with ``channel`` filled as :func:`_sessions` does.
    """
    from types import SimpleNamespace

    from helpers import engine

    con = engine.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # no progress text in notebook outputs
        tables = {}
        for name, need in [("sessions", ["session_id", "user_id", "started_at", "channel"]),
                           ("events", ["session_id", "event"])]:
            x = getattr(store, name)
            if x is None:
                cols = []
            elif is_path(x):
                cols = engine.columns(x)
            else:
                cols = list(x.columns)
            if name == "sessions" and "channel" not in cols:
                raise ValueError("sources needs the sessions table with a channel column "
                                 "(sessions.channel); this store has none")
            lack = [c for c in need if c not in cols]
            if lack:
                raise ValueError(f"{name}: missing column(s) {', '.join(map(repr, lack))}")
            if is_path(x):
                tables[name] = engine.parquet_source(x)
            else:
                con.register(f"_{name}", x[[c for c in need + ["page_type"] if c in cols]])
                tables[name] = f"_{name}"
            if name == "events":
                has_pages = "page_type" in cols
        ses, ev = tables["sessions"], tables["events"]
        pages = "count(page_type)" if has_pages else "0"
        out = con.execute(f"""
            WITH e AS (SELECT session_id, count(*) AS n, {pages} AS p,
                              bool_or(event = 'purchase') AS buy
                       FROM {ev} GROUP BY session_id)
            SELECT coalesce(s.channel, $not_set) AS channel, count(*)::BIGINT AS sessions,
                   count(DISTINCT s.user_id)::BIGINT AS users,
                   sum((coalesce(e.n, 0) <= 1)::BIGINT)::BIGINT AS bounces,
                   sum(coalesce(e.n, 0))::DOUBLE AS n_events,
                   sum(coalesce(e.p, 0))::DOUBLE AS pages,
                   sum(coalesce(e.buy, false)::BIGINT)::BIGINT AS conversions
            FROM {ses} AS s LEFT JOIN e ON s.session_id = e.session_id
            GROUP BY ALL ORDER BY channel""", {"not_set": NOT_SET}).df()
        # pages = events with a page_type, unless no event at all has one (then all events)
        any_page = has_pages and (out["pages"].sum() > 0 or con.execute(
            f"SELECT count(page_type) > 0 FROM {ev}").fetchone()[0])
        if not any_page:
            out["pages"] = out["n_events"]
        order_ids = "SELECT NULL::BIGINT AS session_id WHERE false"
        if store.orders is not None:
            con.register("_orders", store.orders[["session_id"]])
            order_ids = "SELECT session_id FROM _orders"
        few = con.execute(f"""
            SELECT session_id, user_id, started_at, channel FROM {ses}
            QUALIFY row_number() OVER (PARTITION BY user_id
                                       ORDER BY started_at NULLS LAST, session_id NULLS LAST) = 1
            UNION
            SELECT session_id, user_id, started_at, channel FROM {ses}
            WHERE session_id IN ({order_ids})""").df()
    finally:
        con.close()
    out = out.drop(columns="n_events").astype({"channel": "str"}).set_index("channel")
    few = few.sort_values(["started_at", "session_id"], kind="stable").reset_index(drop=True)
    small = SimpleNamespace(users=store.users, sessions=few)
    return out, acquisition_channels(small), _sessions(small)


# --------------------------------------------------------------------------- channel quality


def repeat_by_channel(store, *, days: int = 90, asof=None) -> pd.DataFrame:
    """Share of first-time buyers who buy again within ``days``, by acquisition channel.

    A first-time buyer's clock starts at their first completed order; they *repeat* when a
    second completed order follows within ``days`` (a second order at the very same time counts).
    Only buyers whose whole window is observed (first order + ``days`` <= ``asof``) are
    scored: the others are **censored** (their window runs past the data) and counted in
    ``excluded``, because counting them as "no repeat" would bias recent channels downwards.

    Parameters
    ----------
    store : helpers.data.Store
        Needs ``orders`` and ``users`` or ``sessions`` (for the acquisition channel).
    days : int
        Length of the repeat window.
    asof : timestamp, optional
        End of the observation; default the last timestamp in the data.

    Returns
    -------
    DataFrame with ``channel``, ``first_buyers`` (all), ``excluded`` (censored), ``n``
    (scored), ``repeaters``, ``repeat_rate`` and its Wilson ``ci_low``/``ci_high``; sorted by
    rate (descending). ``.attrs["test"]``: chi-square test of independence of channel and
    repeat (``scipy.stats.chi2_contingency``) over channels with n > 0.
    ``.attrs["excluded"]`` says how many buyers were censored and why.

    Examples
    --------
    >>> from helpers.data import Store, validate
    >>> ev = pd.DataFrame({"session_id": [1, 2], "user_id": [7, 8], "event": ["purchase"] * 2,
    ...                    "ts": ["2025-01-01", "2025-01-01"]})
    >>> u = pd.DataFrame({"user_id": [7, 8], "first_seen": ["2025-01-01"] * 2,
    ...                   "acquisition_channel": ["Email", "Direct"]})
    >>> o = pd.DataFrame({"order_id": [1, 2, 3], "user_id": [7, 7, 8],
    ...                   "ordered_at": ["2025-01-01", "2025-01-20", "2025-01-01"],
    ...                   "revenue": [10.0, 20.0, 5.0]})
    >>> r = repeat_by_channel(validate(Store(events=ev, users=u, orders=o)), days=30,
    ...                       asof="2025-03-01")
    >>> r[["channel", "n", "repeaters", "repeat_rate"]]
      channel  n  repeaters  repeat_rate
    0   Email  1          1          1.0
    1  Direct  1          0          0.0
    """
    orders = _require_orders(store)
    asof = _asof(store, asof)
    o = orders.sort_values(["user_id", "ordered_at", "order_id"], kind="stable")
    k = o.groupby("user_id", sort=False).cumcount()
    first = o.loc[k == 0].set_index("user_id")["ordered_at"]
    second = o.loc[k == 1].set_index("user_id")["ordered_at"].reindex(first.index)
    window = pd.Timedelta(days=days)
    observed = first + window <= asof
    repeat = (second - first) <= window
    df = pd.DataFrame({"channel": acquisition_channels(store).reindex(first.index).fillna(NOT_SET),
                       "observed": observed.to_numpy(),
                       "repeat": (repeat & observed).to_numpy()})
    g = df.groupby("channel", sort=True)
    out = pd.DataFrame({"first_buyers": g.size(), "n": g["observed"].sum(),
                        "repeaters": g["repeat"].sum()})
    out["excluded"] = out["first_buyers"] - out["n"]
    out = _rate_columns(out, "repeaters", "repeat_rate")
    out = out[["first_buyers", "excluded", "n", "repeaters", "repeat_rate", "ci_low", "ci_high"]]
    out = _sort_rate(out, "repeat_rate")
    scored = out.loc[out["n"] > 0]
    table = np.column_stack([scored["repeaters"], scored["n"] - scored["repeaters"]])
    out.attrs["test"] = _chi2(table)
    out.attrs["excluded"] = {"censored": int(out["excluded"].sum()),
                             "reason": f"first order less than {days} days before {asof:%Y-%m-%d}"}
    return out


def value_by_channel(store, *, days: int = 180, asof=None) -> pd.DataFrame:
    """Revenue per acquired user in their first ``days`` days, by acquisition channel.

    Each user's clock starts at ``users.first_seen`` (else their first session); revenue is
    the sum of their completed orders in ``[first_seen, first_seen + days)``, zero for users who
    did not buy, so the mean is *value per acquired visitor*, comparable with the cost per new
    visitor. Only users with a full window (first_seen + ``days`` <= ``asof``) are scored; the
    censored rest is counted in ``excluded``.

    The 95 % CI of the mean is Student's t (``scipy.stats.t``); with hundreds of users per
    channel the central limit theorem makes it adequate even for this skewed, zero-heavy
    variable. Channels are compared with the Kruskal-Wallis H test
    (``scipy.stats.kruskal``), which does not assume normal revenue.

    Returns
    -------
    DataFrame with ``channel``, ``acquired`` (all users), ``excluded``, ``n`` (scored),
    ``buyers`` (scored users with an order in the window), ``buyer_rate`` (Wilson CI
    ``buyer_low``, ``buyer_high``), ``mean_revenue``, ``ci_low``, ``ci_high`` (of the mean), sorted by mean revenue (descending).
    ``.attrs["test"]`` holds the Kruskal-Wallis result, ``.attrs["excluded"]`` the censoring.

    Examples
    --------
    >>> from helpers.data import Store, validate
    >>> ev = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [7, 8, 9],
    ...                    "event": ["purchase"] * 3, "ts": ["2025-01-01"] * 3})
    >>> u = pd.DataFrame({"user_id": [7, 8, 9], "first_seen": ["2025-01-01"] * 3,
    ...                   "acquisition_channel": ["Email", "Email", "Direct"]})
    >>> o = pd.DataFrame({"order_id": [1, 2], "user_id": [7, 9],
    ...                   "ordered_at": ["2025-01-01", "2025-12-01"], "revenue": [10.0, 5.0]})
    >>> v = value_by_channel(validate(Store(events=ev, users=u, orders=o)), days=30,
    ...                      asof="2026-01-01")
    >>> v[["channel", "n", "buyers", "mean_revenue"]]
      channel  n  buyers  mean_revenue
    0   Email  2       1           5.0
    1  Direct  1       0           0.0
    """
    orders = _require_orders(store)
    asof = _asof(store, asof)
    window = pd.Timedelta(days=days)
    if store.users is not None:
        start = store.users.set_index("user_id")["first_seen"]
    else:
        start = _sessions(store).groupby("user_id")["started_at"].min()
    o_start = pd.Series(start.reindex(orders["user_id"]).to_numpy(), index=orders.index)
    inside = (orders["ordered_at"] >= o_start) & (orders["ordered_at"] < o_start + window)
    rev = orders.loc[inside].groupby("user_id")["revenue"].sum().reindex(start.index, fill_value=0.0)
    df = pd.DataFrame({"channel": acquisition_channels(store).reindex(start.index).fillna(NOT_SET),
                       "observed": (start + window <= asof).to_numpy(), "revenue": rev.to_numpy()})
    df["buyer"] = df["revenue"] > 0
    seen = df.loc[df["observed"]]
    g = seen.groupby("channel", sort=True)
    out = pd.DataFrame({"acquired": df.groupby("channel", sort=True).size()})
    out = out.join(pd.DataFrame({"n": g.size(), "buyers": g["buyer"].sum(),
                                 "mean_revenue": g["revenue"].mean(),
                                 "sd": g["revenue"].std(ddof=1)}))
    out[["n", "buyers"]] = out[["n", "buyers"]].fillna(0).astype("int64")
    out["excluded"] = out["acquired"] - out["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["buyer_rate"] = _ratio(out["buyers"], out["n"])
        out["buyer_low"], out["buyer_high"] = wilson(out["buyers"].to_numpy(), out["n"].to_numpy())
        half = sps.t.ppf(0.975, out["n"] - 1) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean_revenue"] - half
    out["ci_high"] = out["mean_revenue"] + half
    out = out[["acquired", "excluded", "n", "buyers", "buyer_rate", "buyer_low", "buyer_high",
               "mean_revenue", "ci_low", "ci_high"]]
    out = _sort_rate(out, "mean_revenue")
    groups = [grp.to_numpy() for _, grp in seen.groupby("channel", sort=True)["revenue"]]
    out.attrs["test"] = _kruskal(groups)
    out.attrs["excluded"] = {"censored": int(out["excluded"].sum()),
                             "reason": f"first seen less than {days} days before {asof:%Y-%m-%d}"}
    return out


# --------------------------------------------------------------------------- attribution


def journeys(store) -> pd.DataFrame:
    """Each user's journeys: the channels of their sessions in time order, up to each conversion.

    A user's sessions (ordered by ``started_at``, ties by ``session_id``) are cut after every
    converting session; the sessions after the last conversion (or all sessions of a user who
    never converted) form one unconverted journey. A session *converts* when it holds a
    completed order (``value`` = its revenue); without an ``orders`` table, when it has a
    ``purchase`` event (``value`` = the events' ``value``). Orders without a session cannot be
    placed on a journey; ``.attrs["orders_without_session"]`` counts them.

    Returns
    -------
    DataFrame with ``user_id``, ``journey`` (0, 1, ... per user), ``path`` (list of channels),
    ``converted`` (bool), ``value`` (float) and ``touches`` (path length).

    Examples
    --------
    >>> from helpers.data import Store, validate
    >>> ses = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [7, 7, 7],
    ...                     "started_at": ["2025-01-01", "2025-01-02", "2025-01-03"],
    ...                     "channel": ["Paid Social", "Email", "Direct"]})
    >>> ev = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [7, 7, 7],
    ...                    "ts": ["2025-01-01", "2025-01-02", "2025-01-03"],
    ...                    "event": ["page_view", "purchase", "page_view"], "value": [None, 9.0, None]})
    >>> journeys(validate(Store(events=ev, sessions=ses)))[["path", "converted", "value"]]
                      path  converted  value
    0  [Paid Social, Email]       True    9.0
    1             [Direct]      False    0.0
    """
    ses = _sessions(store)
    attrs = {}
    if store.orders is not None:
        orders, attrs = _completed_orders(store, ses)
        conv_value = orders.dropna(subset=["session_id"]).groupby("session_id")["revenue"].sum()
    else:
        ev = store.events
        buy = ev.loc[ev["event"] == "purchase"]
        vals = buy["value"] if "value" in buy.columns else pd.Series(0.0, index=buy.index)
        conv_value = vals.fillna(0.0).groupby(buy["session_id"]).sum()
        attrs["orders_without_session"] = 0
    s = ses.sort_values(["user_id", "started_at", "session_id"], kind="stable")
    conv = s["session_id"].isin(conv_value.index).to_numpy()
    value = conv_value.reindex(s["session_id"]).fillna(0.0).to_numpy()
    user = s["user_id"].to_numpy()
    done = pd.Series(conv.astype("int64")).groupby(user).cumsum().to_numpy()
    journey = done - conv
    # Rows are sorted by user then time, so every journey is a contiguous block.
    new_block = np.r_[True, (user[1:] != user[:-1]) | (journey[1:] != journey[:-1])]
    starts = np.flatnonzero(new_block)
    parts = np.split(s["channel"].to_numpy(dtype=object), starts[1:])
    out = pd.DataFrame({"user_id": user[starts], "journey": journey[starts],
                        "path": pd.Series(parts, dtype=object).map(list),
                        "converted": np.logical_or.reduceat(conv, starts),
                        "value": np.add.reduceat(value, starts),
                        "touches": np.diff(np.r_[starts, len(user)])})
    out.attrs["orders_without_session"] = attrs.get("orders_without_session", 0)
    return out


def attribution(paths: pd.DataFrame, model: str, *, n_boot: int = 200, seed: int = 0,
                alpha: float = 0.05) -> pd.DataFrame:
    """Credit conversions (and value) to channels under one attribution model.

    Parameters
    ----------
    paths : DataFrame
        ``path`` (non-empty list of channels in time order), ``converted`` (bool) and optional
        ``value`` (conversion value), one row per journey (e.g. from :func:`journeys`).
    model : {"first_touch", "last_touch", "linear", "markov"}
        * ``first_touch`` / ``last_touch``: all credit to the first / last channel;
        * ``linear``: equal credit to every touch (a channel touched twice gets two parts);
        * ``markov``: the removal effect on a first-order Markov chain (Anderl et al., 2016).
          States are START, the channels, CONVERSION and NULL; every journey adds the
          transitions START -> c1 -> ... -> ck -> CONVERSION (or NULL), and transition
          probabilities are the row-normalised counts. P(conv) is the probability of being
          absorbed in CONVERSION from START, solved **exactly** from the absorbing chain:
          (I - Q) x = r, with Q the transient-to-transient and r the transient-to-CONVERSION
          probabilities (``numpy.linalg.solve``, no simulation, so runs never vary). Removing
          channel c sends every transition into c to NULL; the removal effect is
          RE_c = 1 - P_without_c(conv) / P(conv). Credit is total conversions x RE_c / sum RE.
          Removing a state can never raise P(conv), so RE_c >= 0; a channel whose removal
          changes nothing gets exactly 0. Repeated touches (self-loops) do not change the
          absorption probabilities.
    n_boot : int
        Bootstrap replicates over journeys (resampled with replacement) for the percentile CI
        of each channel's attributed conversions; 0 skips the CI.
    seed : int
        Seed of ``numpy.random.default_rng`` for the bootstrap.

    Returns
    -------
    DataFrame with ``channel``, ``conversions`` (attributed), ``share`` (of all conversions),
    ``ci_low``/``ci_high`` (bootstrap CI of conversions), ``value`` (attributed value, when
    ``paths`` has ``value``) and, for ``markov``, ``removal_effect``. Every channel that appears
    in ``paths`` has a row; sorted by conversions (descending), then channel.

    Examples
    --------
    >>> paths = pd.DataFrame({"path": [["A", "B"], ["B"], ["A"]],
    ...                       "converted": [True, True, False]})
    >>> attribution(paths, "markov", n_boot=0)[["channel", "conversions", "removal_effect"]]
      channel  conversions  removal_effect
    0       B     1.333333             1.0
    1       A     0.666667             0.5
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    t = _touches(paths)
    has_value = "value" in paths.columns
    conv = t["converted"]
    credit = _credit_fn(model, t)
    est = credit(np.ones(t["n_journeys"]))
    conversions = est[0]
    out = pd.DataFrame({"channel": t["channels"], "conversions": conversions})
    total = conv.sum()
    out["share"] = conversions / total if total > 0 else np.nan
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        n = t["n_journeys"]
        boot = np.empty((n_boot, len(t["channels"])))
        for b in range(n_boot):  # loop over replicates; each replicate is vectorised
            w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            boot[b] = credit(w, full=False)[0]
        out["ci_low"] = np.quantile(boot, alpha / 2, axis=0)
        out["ci_high"] = np.quantile(boot, 1 - alpha / 2, axis=0)
    else:
        out["ci_low"] = out["ci_high"] = np.nan
    if has_value:
        out["value"] = est[1]
    if model == "markov":
        out["removal_effect"] = est[2]
    out[["conversions", "share"]] = out[["conversions", "share"]].round(12)
    out = out.sort_values(["conversions", "channel"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def compare_attribution(paths: pd.DataFrame, *, models=MODELS, what: str = "share",
                        n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
    """The attribution models side by side: one row per channel, one column per model.

    ``what`` picks the column of :func:`attribution` to show (``"share"``, ``"conversions"``
    or ``"value"``). Rows are sorted by the last model's figure (descending), then channel.

    Examples
    --------
    >>> paths = pd.DataFrame({"path": [["A", "B"], ["B"]], "converted": [True, True]})
    >>> compare_attribution(paths, models=("first_touch", "last_touch"))
             first_touch  last_touch
    channel
    B                0.5         1.0
    A                0.5         0.0
    """
    cols = {m: attribution(paths, m, n_boot=n_boot, seed=seed).set_index("channel")[what]
            for m in models}
    out = pd.DataFrame(cols).rename_axis("channel")
    last = out.columns[-1]
    order = out.reset_index().sort_values([last, "channel"], ascending=[False, True],
                                          kind="stable")["channel"]
    return out.loc[order.to_numpy()]


# --------------------------------------------------------------------------- economics and figures


def acquisition_economics(summary: pd.DataFrame, value: pd.DataFrame, *,
                          margin: float) -> pd.DataFrame:
    """Gross profit of an acquired user against their acquisition cost, for the paid channels.

    Parameters
    ----------
    summary : DataFrame
        :func:`channel_summary` (its ``cost_per_new_user``).
    value : DataFrame
        :func:`value_by_channel` (``mean_revenue`` and its ``ci_low``/``ci_high``).
    margin : float
        Assumed gross margin (share of revenue).

    Returns
    -------
    DataFrame indexed by ``channel``, one row per channel with a positive cost per new user
    and a value estimate: ``cost_per_new_user``, ``mean_revenue``, ``ci_low``, ``ci_high``,
    ``profit_per_user`` = margin x mean_revenue - cost, ``profit_low`` (the same at the low end
    of the revenue interval) and ``return_per_spend`` = margin x mean_revenue / cost (gross
    profit per unit of money spent); sorted by ``return_per_spend`` (descending).

    Examples
    --------
    >>> summary = pd.DataFrame({"channel": ["A", "B", "C"], "cost_per_new_user": [2.0, 5.0, 0.0]})
    >>> value = pd.DataFrame({"channel": ["A", "B", "C"], "mean_revenue": [100.0, 10.0, 50.0],
    ...                       "ci_low": [80.0, 5.0, 40.0], "ci_high": [120.0, 15.0, 60.0]})
    >>> acquisition_economics(summary, value, margin=0.3)[["profit_per_user", "return_per_spend"]]
             profit_per_user  return_per_spend
    channel
    A                   28.0              15.0
    B                   -2.0               0.6
    """
    econ = summary.set_index("channel")[["cost_per_new_user"]].join(
        value.set_index("channel")[["mean_revenue", "ci_low", "ci_high"]], how="inner")
    econ = econ.loc[(econ["cost_per_new_user"] > 0) & econ["mean_revenue"].notna()].copy()
    econ["profit_per_user"] = margin * econ["mean_revenue"] - econ["cost_per_new_user"]
    econ["profit_low"] = margin * econ["ci_low"] - econ["cost_per_new_user"]
    econ["return_per_spend"] = margin * econ["mean_revenue"] / econ["cost_per_new_user"]
    econ = econ.reset_index().sort_values(["return_per_spend", "channel"],
                                          ascending=[False, True], kind="stable")
    return econ.set_index("channel")


def daily_acquisitions(store, *, what: str = "new_users") -> pd.DataFrame:
    """What each acquisition channel brought per calendar day: the outcome of a spend response.

    ``what="new_users"`` counts users by the day of their first visit (``users.first_seen``,
    else their first session); ``"first_orders"`` counts users by the day of their first
    completed order. Days are the shop's calendar days (``store.timezone``), like
    ``spend.date``; every day from the first to the last day with data is a row for every
    channel (0 when nothing came), so a day without arrivals is not mistaken for a gap.

    Returns a tidy frame ``date``, ``channel``, ``what`` sorted by date and channel.

    >>> from helpers.data import Store, validate
    >>> ses = pd.DataFrame({"session_id": [1, 2, 3], "user_id": [7, 8, 8],
    ...                     "channel": ["Email", "Direct", "Email"],
    ...                     "started_at": ["2025-01-01 10:00", "2025-01-03", "2025-01-04"]})
    >>> ev = ses.rename(columns={"started_at": "ts"}).assign(event="page_view")
    >>> daily_acquisitions(validate(Store(events=ev, sessions=ses))).pivot(
    ...     index="date", columns="channel", values="new_users")
    channel     Direct  Email
    date
    2025-01-01       0      1
    2025-01-02       0      0
    2025-01-03       1      0
    """
    if what not in ("new_users", "first_orders"):
        raise ValueError(f"what must be 'new_users' or 'first_orders', got {what!r}")
    acq = acquisition_channels(store)
    if what == "new_users":
        users = store.users
        if users is not None and "first_seen" in users.columns and users["first_seen"].notna().all():
            when = users.set_index("user_id")["first_seen"]
        else:
            when = _sessions(store).groupby("user_id")["started_at"].min()
    else:
        o = _require_orders(store)
        when = o.groupby("user_id")["ordered_at"].min()
    day = pd.to_datetime(when, utc=True).dt.tz_convert(store.timezone).dt.tz_localize(None) \
        .dt.normalize()
    frame = pd.DataFrame({"date": day, "channel": acq.reindex(day.index).fillna(NOT_SET)})
    counts = frame.groupby(["date", "channel"]).size()
    if not len(counts):
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"),
                             "channel": pd.Series(dtype="str"), what: pd.Series(dtype="int64")})
    days = pd.date_range(counts.index.get_level_values(0).min(),
                         counts.index.get_level_values(0).max(), freq="D", name="date")
    channels = sorted(counts.index.get_level_values(1).unique())
    full = counts.reindex(pd.MultiIndex.from_product([days, channels], names=["date", "channel"]),
                          fill_value=0)
    return full.rename(what).reset_index()


def weekly_spend(spend: pd.DataFrame | None) -> pd.DataFrame:
    """Spend per week (rows, weeks ending on Sunday) and channel (columns); empty without spend.

    >>> sp = pd.DataFrame({"date": pd.to_datetime(["2025-01-06", "2025-01-07", "2025-01-14"]),
    ...                    "channel": ["A", "A", "B"], "spend": [1.0, 2.0, 5.0]})
    >>> weekly_spend(sp)
    channel       A    B
    date
    2025-01-12  3.0  0.0
    2025-01-19  0.0  5.0
    """
    if spend is None or not len(spend):
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    out = spend.pivot_table(index=pd.Grouper(key="date", freq="W"), columns="channel",
                            values="spend", aggfunc="sum").fillna(0.0)
    out.columns.name = "channel"
    return out


def plot_weekly_spend(weekly: pd.DataFrame, *, currency: str | None = None, mark=(),
                      mark_label: str = "marked days", ax=None):
    """Weekly spend by channel as lines (dashed verticals at the ``mark`` dates, named ``mark_label``).

    The y axis starts at 0 with head room for the legend; a table without spend gives an empty
    figure that says so instead of failing on an undefined axis limit.
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    if ax is None:
        _, ax = plt.subplots(figsize=(9.0, 3.6))
    unit = f"spend ({currency} per week)" if currency else "spend per week"
    top = float(np.nanmax(weekly.to_numpy())) if weekly.size else np.nan
    if not np.isfinite(top) or top <= 0:
        ax.text(0.5, 0.5, "no spend recorded", ha="center", va="center",
                transform=ax.transAxes, color="0.4")
        plots.label(ax, "Weekly spend by paid channel", "week", unit)
        return ax
    weekly.plot(ax=ax, lw=1.6, color=[plots.CHANNEL_COLORS.get(c, "0.5") for c in weekly.columns])
    for d in mark:
        ax.axvline(pd.Timestamp(d), color="tab:red", lw=1, ls="--")
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper left", ncol=4, title=None)
    plots.label(ax, "Weekly spend by paid channel", "week", unit,
                subtitle=f"dashed: {mark_label}" if len(mark) else None)
    return ax


def plot_attribution(side: pd.DataFrame, *, ax=None):
    """Grouped bars: each channel's share of conversions under each model (columns of ``side``).

    ``side`` has one row per channel and one column per model (shares, as built from
    :func:`attribution`). Shares are NaN when nothing converted; the figure then says so
    instead of failing on an undefined axis limit.

    Examples
    --------
    >>> side = pd.DataFrame({"last_touch": [np.nan, np.nan]}, index=["A", "B"])
    >>> ax = plot_attribution(side)
    >>> [float(y) for y in ax.get_ylim()]
    [0.0, 1.0]
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    from helpers import plots

    if ax is None:
        _, ax = plt.subplots(figsize=(9.0, 4.0))
    vals = side.to_numpy(dtype=float)
    top = float(np.nanmax(vals)) if np.isfinite(vals).any() else np.nan
    side.fillna(0.0).plot.bar(ax=ax, width=0.8, rot=30)
    if np.isfinite(top) and top > 0:
        ax.set_ylim(0, top * 1.3)
        ax.legend(title=None, ncol=4, loc="upper right")
    else:
        ax.set_ylim(0, 1)
        ax.legend().remove()
        ax.text(0.5, 0.5, "no converted journey: nothing to credit", ha="center", va="center",
                transform=ax.transAxes, color="0.4")
    plots.label(ax, "Share of conversions credited, by model", "channel", "share of conversions",
                percent="y")
    return ax


# --------------------------------------------------------------------------- private


def _sessions(store) -> pd.DataFrame:
    ses = store.sessions
    if ses is None or "channel" not in ses.columns:
        raise ValueError("sources needs the sessions table with a channel column "
                         "(sessions.channel); this store has none")
    return ses.assign(channel=ses["channel"].fillna(NOT_SET))


def _completed_orders(store, ses):
    """Completed orders with their session's channel, and a note on what was left out."""
    o = store.orders
    if o is None:
        return None, {"orders_excluded": {}, "orders_without_session": 0}
    status = o["status"].value_counts()
    excluded = {str(k): int(v) for k, v in status.sort_index().items() if k != "completed"}
    done = o.loc[o["status"] == "completed", ["order_id", "user_id", "session_id", "ordered_at",
                                              "revenue"]]
    ch = ses.set_index("session_id")["channel"].reindex(done["session_id"]).to_numpy()
    done = done.assign(channel=pd.Series(ch, index=done.index, dtype="str").fillna(NO_SESSION))
    return done, {"orders_excluded": excluded,
                  "orders_without_session": int(done["session_id"].isna().sum())}


def _require_orders(store) -> pd.DataFrame:
    if store.orders is None:
        raise ValueError("channel quality needs the orders table; this store has none")
    return store.orders.loc[store.orders["status"] == "completed"]


def _asof(store, asof):
    if asof is None:
        return store.events["ts"].max()
    ts = pd.Timestamp(asof)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _rate_columns(out, k, name):
    out[name] = _ratio(out[k], out["n"])
    out["ci_low"], out["ci_high"] = wilson(out[k].to_numpy(), out["n"].to_numpy())
    return out


def _sort_rate(out, col):
    out = out.rename_axis("channel").reset_index()
    out = out.sort_values([col, "channel"], ascending=[False, True], kind="stable",
                          na_position="last")
    return out.reset_index(drop=True)


def _chi2(table):
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return {"test": "chi-square", "statistic": np.nan, "dof": 0, "pvalue": np.nan}
    chi2, p, dof, expected = sps.chi2_contingency(table)
    return {"test": "chi-square", "statistic": float(chi2), "dof": int(dof), "pvalue": float(p),
            "min_expected": float(expected.min())}


def _kruskal(groups):
    groups = [g for g in groups if len(g)]
    try:
        h, p = sps.kruskal(*groups)
    except ValueError:  # fewer than two groups, or all values identical
        return {"test": "Kruskal-Wallis", "statistic": np.nan, "dof": 0, "pvalue": np.nan}
    return {"test": "Kruskal-Wallis", "statistic": float(h), "dof": len(groups) - 1,
            "pvalue": float(p)}


def _touches(paths: pd.DataFrame) -> dict:
    """Long form of ``paths``: channel codes of every touch with its journey and position."""
    for col in ("path", "converted"):
        if col not in paths.columns:
            raise ValueError(f"paths: required column {col!r} is missing "
                             f"(columns: {', '.join(map(str, paths.columns))})")
    lengths = paths["path"].map(len, na_action="ignore").fillna(0).to_numpy(dtype="int64")
    if (lengths == 0).any():
        bad = np.flatnonzero(lengths == 0)
        raise ValueError(f"paths.path: {len(bad)} empty or missing paths, e.g. row {bad[0]}; "
                         "every journey needs at least one channel")
    flat = paths["path"].explode().astype("str").fillna(NOT_SET).to_numpy()
    channels, codes = np.unique(flat, return_inverse=True)
    n = len(paths)
    journey = np.repeat(np.arange(n), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(len(flat)) - np.repeat(starts, lengths)
    value = (paths["value"].fillna(0.0).to_numpy(dtype=float) if "value" in paths.columns
             else np.zeros(n))
    return {"channels": channels.astype(object), "codes": codes, "journey": journey, "pos": pos,
            "lengths": lengths, "converted": paths["converted"].to_numpy(dtype=bool),
            "value": value, "n_journeys": n, "starts": starts}


def _credit_fn(model, t):
    """A function of journey weights returning (conversions, value, extra) per channel."""
    k = len(t["channels"])
    codes, journey, lengths = t["codes"], t["journey"], t["lengths"]
    conv = t["converted"].astype(float)
    value = t["value"] * conv
    if model != "markov":
        if model == "first_touch":
            part = (t["pos"] == 0).astype(float)
        elif model == "last_touch":
            part = (t["pos"] == lengths[journey] - 1).astype(float)
        else:
            part = 1.0 / lengths[journey]
        cpart, vpart = part * conv[journey], part * value[journey]

        def credit(w, full=True):
            wj = w[journey]
            return (np.bincount(codes, weights=cpart * wj, minlength=k),
                    np.bincount(codes, weights=vpart * wj, minlength=k) if full else None, None)
        return credit

    # Markov: states 0 = START, 1..k channels, k+1 = CONVERSION, k+2 = NULL.
    s = k + 3
    state = codes + 1
    first = t["pos"] == 0
    src = np.where(first, 0, np.roll(state, 1))
    last_idx = t["starts"] + lengths - 1
    end_state = np.where(t["converted"], k + 1, k + 2)
    src = np.concatenate([src, state[last_idx]])
    dst = np.concatenate([state, end_state])
    jid = np.concatenate([journey, np.arange(t["n_journeys"])])
    flat = src * s + dst

    def credit(w, full=True):
        counts = np.bincount(flat, weights=w[jid], minlength=s * s).reshape(s, s)
        re = markov_removal_effects(counts)
        total_conv = float((w * conv).sum())
        total_val = float((w * value).sum())
        tot = re.sum()
        share = re / tot if tot > 0 else np.zeros(k)
        return share * total_conv, share * total_val, re
    return credit


def markov_removal_effects(counts) -> np.ndarray:
    """Removal effects of the channels from a transition-count matrix (exact linear algebra).

    ``counts`` is square of size k + 3 with states ordered START, k channels, CONVERSION, NULL
    (rows of the absorbing states are ignored). Returns the k removal effects
    RE_c = 1 - P(conv | c removed) / P(conv), with values below 1e-12 set to 0.

    Examples
    --------
    >>> c = np.zeros((4, 4)); c[0, 1] = 4; c[1, 2] = 1; c[1, 3] = 3   # START->A, A->CONV/NULL
    >>> markov_removal_effects(c).tolist()
    [1.0]
    """
    counts = np.asarray(counts, dtype=float)
    k = counts.shape[0] - 3
    tr = counts[: k + 1]
    tot = tr.sum(axis=1)
    safe = np.where(tot > 0, tot, 1.0)
    q = tr[:, : k + 1] / safe[:, None]
    r = tr[:, k + 1] / safe
    a = np.eye(k + 1) - q
    p = np.linalg.solve(a, r)[0]
    if p <= 0:
        return np.zeros(k)
    re = np.empty(k)
    for c in range(1, k + 1):  # one small solve per channel (k is the number of channels)
        keep = np.r_[0:c, c + 1:k + 1]
        re[c - 1] = 1.0 - np.linalg.solve(a[np.ix_(keep, keep)], r[keep])[0] / p
    re[re < 1e-12] = 0.0
    return re
