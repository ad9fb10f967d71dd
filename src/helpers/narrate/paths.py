"""Sentences of notebook 02 (browsing paths), generated from the tables of ``helpers.paths``.

Where visits land and end, which paths are common, how long pages hold attention, which searches
lead nowhere, which categories turn looking into adding, what goes together in a visit and in a
basket, and who keeps coming back to an item without buying it: each function takes a table
the notebook computed and words what *that* table shows, including when it shows nothing.

Examples
--------
>>> print(visits(1000, 990, "30min"))
The log has 1,000 sessions; cutting each user's events after 30min without activity gives 990 visits (1 % fewer): the rule reproduces the log's sessions closely.
"""

from __future__ import annotations

import pandas as pd

from helpers.narrate import (
    Text,
    bullets,
    count,
    interval,
    join,
    number,
    paragraphs,
    pct,
    plural,
    takeaway,
)
from helpers.narrate import (
    code as _c,
)
from helpers.narrate import (
    missing as _nan,
)

FEW = 30
"""Below this many events a page's dwell time or a term's rate is too few to be firm."""
END = 0.95
"""A page that ends at least this share of the visits reaching it is an end page (a receipt)."""
ENDS = {"confirmation", "purchase"}
"""Page types and events that close a purchase (a visit is expected to end there)."""
FRONT = {"home", "page_view", "other"}
"""Page types that are a shop's front door by design."""
CHECKOUT = {"cart", "checkout", "view_cart", "begin_checkout", "add_shipping_info",
            "add_payment_info"}
"""Page types and events of the checkout: an exit there loses a nearly made sale."""
START, EXIT, MISSING = "(start)", "(exit)", "(missing)"
"""The extra states of helpers.paths; ``(missing)`` (no page type) is never ranked as a page."""


# --------------------------------------------------------------------------- 1 · paths


def filled_pages(filled: pd.DataFrame, n_events: int, *, shown: int = 5) -> Text:
    """Which events had no page type and now stand for a page under their own name.

    ``filled`` is the second result of :func:`helpers.paths.fill_page_type`.

    >>> f = pd.DataFrame({"event": ["payment_error", "checkout_bug"], "rows": [2000, 1210]})
    >>> filled_pages(f, 50_000)
    3,210 of 50,000 events carry no page type (`payment_error` 2,000, `checkout_bug` 1,210): paths and transitions show them under their event name, so nothing the log tracked is left out.
    >>> filled_pages(f, 3210)
    The log records no page types, so paths and transitions use the event names (`payment_error` and `checkout_bug`).
    >>> filled_pages(f.iloc[:0], 10)
    Every event carries a page type.
    """
    n = int(filled["rows"].sum()) if len(filled) else 0
    if n == 0:
        return Text("Every event carries a page type.")
    names = filled["event"].head(shown).tolist()
    more = len(filled) - len(names)
    tail = f" and {plural(more, 'other')}" if more else ""
    if n == n_events:
        return Text("The log records no page types, so paths and transitions use the event names "
                    f"({join(map(_c, names))}{tail}).")
    items = ", ".join(f"{_c(r.event)} {count(r.rows)}" for r in filled.head(shown).itertuples())
    return Text(f"{count(n)} of {count(n_events)} events carry no page type ({items}{tail}): "
                "paths and transitions show them under their event name, so nothing the log "
                "tracked is left out.")


def paths_from(after: pd.DataFrame | None, event: str | None) -> Text:
    """Where sessions go after an event (``paths.paths_from``), in two sentences.

    >>> a = pd.DataFrame({"path": ["search → product", "search", "(other paths)"],
    ...                   "sessions": [9163, 6628, 4056], "share": [0.386, 0.279, 0.171],
    ...                   "purchases": [0, 0, 764], "conversion": [0.0, 0.0, 0.188]})
    >>> a.attrs.update(sessions=23719, purchases=764)
    >>> paths_from(a, "search")
    Of the 23,719 sessions with `search`, the most common continuation is `search → product` (38.6 %); 27.9 % end right after it. 3.2 % of these sessions buy.
    """
    if after is None or not event:
        return Text("The log has neither an event of the shop's own nor searches to follow.")
    n = after.attrs["sessions"]
    listed = after.loc[after["path"] != "(other paths)"]
    state = listed["path"].str.split(" → ").str[0]
    alone = listed.loc[listed["path"] == state, "share"].sum()
    onward = listed.loc[listed["path"] != state]
    head = f"Of the {count(n)} sessions with {_c(event)}, "
    if onward.empty:
        head += "none goes on along a common path"
    else:
        top = onward.iloc[0]
        head += f"the most common continuation is {_c(top['path'])} ({pct(top['share'])})"
    buy = after.attrs.get("purchases", 0) / n if n else 0
    return Text(f"{head}; {pct(alone)} end right after it. {pct(buy)} of these sessions buy.")


def cleaning(clean: pd.DataFrame, *, shown: int = 2) -> Text:
    """What path cleaning did (``paths.clean_paths``): rules, merged repeats, empty values.

    >>> c = pd.DataFrame({"page": ["/product/:id"]})
    >>> c.attrs = {"column": "page", "rows_in": 1000, "merged": 300, "missing": 0,
    ...            "not_text": 0, "values_in": 420, "values_out": 6,
    ...            "cleaning": {"rule": [1], "pattern": [r"^/product/\\d+$"],
    ...                         "replacement": ["/product/:id"], "matched": [500],
    ...                         "changed": [500]},
    ...            "merged_events": {"page": ["/product/:id", "/product/:id", "/cart"],
    ...                              "event": ["view_item", "add_to_cart", "view_cart"],
    ...                              "rows": [200, 90, 10]}}
    >>> cleaning(c)
    The rule (`^/product/\\d+$` → `/product/:id` on 500 events) turned 420 distinct values of `page` into 6. 300 of 1,000 events (30 %) repeated the `page` of the event before them in the same visit and were merged into it (`view_item` on `/product/:id` 200, `add_to_cart` on `/product/:id` 90 and 1 other); each row's `repeats` says how many events it stands for, so counts of events (a funnel) belong on the raw log.
    >>> c.attrs.update(merged=0, cleaning={"rule": []}, missing=12)
    >>> cleaning(c)
    No two consecutive events of a visit share a `page`: nothing was merged. 12 events have no `page` and stay empty (`(missing)` in paths).
    """
    a = clean.attrs
    col, n, merged = a["column"], a["rows_in"], a["merged"]
    rules = pd.DataFrame(a["cleaning"])
    parts = []
    if len(rules):
        each = ", ".join(f"{_c(r.pattern)} → {_c(r.replacement)} on {plural(r.changed, 'event')}"
                         for r in rules.head(shown).itertuples())
        more = f" and {plural(len(rules) - shown, 'other')}" if len(rules) > shown else ""
        word = "rule" if len(rules) == 1 else f"{len(rules)} rules"
        parts.append(f"The {word} ({each}{more}) turned {count(a['values_in'])} distinct values "
                     f"of {_c(col)} into {count(a['values_out'])}.")
    if merged:
        m = pd.DataFrame(a["merged_events"]).rename(columns={col: "state"})
        items = [(f"{_c(r.event)} on " if "event" in m.columns else "") +
                 f"{_c(r.state)} {count(r.rows)}" for r in m.head(shown).itertuples()]
        if len(m) > shown:
            items.append(plural(len(m) - shown, "other"))
        parts.append(f"{count(merged)} of {count(n)} events ({pct(merged / n)}) repeated the "
                     f"{_c(col)} of the event before them in the same visit and were merged "
                     f"into it ({join(items)}); each row's `repeats` says how many events it "
                     "stands for, so counts of events (a funnel) belong on the raw log.")
    else:
        parts.append(f"No two consecutive events of a visit share a {_c(col)}: nothing was "
                     "merged.")
    if a.get("missing"):
        parts.append(f"{plural(a['missing'], 'event')} {'has' if a['missing'] == 1 else 'have'} "
                     f"no {_c(col)} and stay empty (`(missing)` in paths).")
    if a.get("not_text"):
        parts.append(f"{plural(a['not_text'], 'event')} with a {_c(col)} that is not text "
                     "kept it as it is; the rules read text only.")
    return Text(" ".join(parts))


def visits(log_sessions: int, rule_visits: int, gap: str) -> Text:
    """Section 1: how closely the inactivity rule reproduces the log's sessions."""
    if not log_sessions:
        return Text(f"The log has no sessions; the {gap} rule cuts {plural(rule_visits, 'visit')}.")
    diff = (rule_visits - log_sessions) / log_sessions
    how = ("reproduces the log's sessions closely" if abs(diff) <= 0.05 else
           "cuts visits differently from the log's own sessions: the shop (or the export) "
           "starts a session on other grounds than inactivity")
    more = "fewer" if diff < 0 else "more"
    return Text(f"The log has {plural(log_sessions, 'session')}; cutting each user's events "
                f"after {gap} without activity gives {plural(rule_visits, 'visit')} "
                f"({pct(abs(diff))} {more}): the rule {how}.")


def transitions(tr: pd.DataFrame) -> Text:
    """Section 1: where visits land, and where people go next from the busiest pages.

    ``tr`` is :func:`helpers.paths.transitions`.

    Examples
    --------
    >>> tr = pd.DataFrame({"from": ["(start)", "(start)", "a", "a", "b"],
    ...                    "to": ["a", "b", "b", "(exit)", "(exit)"], "n": [8, 2, 6, 2, 8],
    ...                    "probability": [0.8, 0.2, 0.75, 0.25, 1.0]})
    >>> print(transitions(tr))
    Visits land mostly on `a` (80 %) and `b` (20 %). From `a`, 75 % go on to `b` and 25 % leave; from `b`, 100 % leave.
    """
    start = tr.loc[(tr["from"] == START) & (tr["to"] != MISSING)].sort_values("probability", ascending=False,
                                                    kind="stable")
    if start.empty:
        return Text("The log has no visits to follow.")
    land = start.loc[start["probability"] >= 0.05].head(3)
    land = land if len(land) else start.head(1)
    parts = ["Visits land mostly on " +
             join(f"{_c(r['to'])} ({pct(r['probability'])})" for _, r in land.iterrows()) + "."]
    rest = tr.loc[~tr["from"].isin([START, MISSING])]
    busiest = rest.groupby("from")["n"].sum().sort_values(ascending=False, kind="stable")
    said = []
    for state in busiest.index[:2]:
        out = rest.loc[rest["from"] == state].sort_values("probability", ascending=False,
                                                          kind="stable")
        exit_p = out.loc[out["to"] == EXIT, "probability"].sum()
        nxt = out.loc[~out["to"].isin([EXIT, MISSING])].head(1)
        bits = []
        if len(nxt):
            r = nxt.iloc[0]
            target = "another " + _c(r["to"]) if r["to"] == state else _c(r["to"])
            bits.append(f"{pct(r['probability'])} go on to {target}")
        if exit_p:
            bits.append(f"{pct(exit_p)} leave")
        said.append(f"from {_c(state)}, {join(bits)}")
    if said:
        parts.append(said[0][0].upper() + said[0][1:] + ("; " + "; ".join(said[1:]) if
                                                          len(said) > 1 else "") + ".")
    loops = rest.loc[(rest["from"] == rest["to"]) & (rest["probability"] >= 0.2)]
    if len(loops):
        parts.append("The diagonal shows the loops: " + join(
            f"{_c(r['from'])} repeats {pct(r['probability'])} of the time"
            for _, r in loops.sort_values("probability", ascending=False).iterrows()) + ".")
    return Text(" ".join(parts))


def top_paths(top: pd.DataFrame, buying: pd.DataFrame, tr: pd.DataFrame | None = None) -> Text:
    """Section 1: the most common paths, whether any of them buys, how buying visits go.

    ``top`` and ``buying`` are :func:`helpers.paths.top_paths` over all visits and over the
    visits with a purchase; ``tr`` (the transitions) gives the landing page for the takeaway.

    Examples
    --------
    >>> top = pd.DataFrame({"path": ["product", "home → product"], "steps": [1, 2],
    ...                     "sessions": [300, 100], "share": [0.3, 0.1], "purchases": [0, 0]})
    >>> top.attrs["sessions"] = 1000
    >>> buy = pd.DataFrame({"path": ["product → cart → checkout"], "steps": [3],
    ...                     "sessions": [20], "share": [0.5]})
    >>> print(top_paths(top, buy))  # doctest: +ELLIPSIS
    The most common path is a single `product` page (30 % of 1,000 visits): people arrive, look and leave. ...
    """
    if top.empty:
        return Text("The log has no visits, so there are no paths to show.")
    first = top.iloc[0]
    n_all = top.attrs.get("sessions", first["sessions"])
    if first["steps"] == 1 and first["path"] not in ENDS:
        head = (f"The most common path is a single {_c(first['path'])} page "
                f"({pct(first['share'])} of {count(n_all)} visits): people arrive, look and "
                f"leave.")
    else:
        head = (f"The most common path is {_c(first['path'])} ({pct(first['share'])} of "
                f"{count(n_all)} visits).")
    buyers = int((top["purchases"] > 0).sum())
    if buying.empty:
        buy_top = None
    elif len(top) == 1:
        buy_top = f"It is the only path{' and it buys' if buyers else ''}."
    elif buyers == 0:
        buy_top = (f"None of the {len(top)} most common paths buys: buying paths are longer, so "
                   f"each of them is rare among all visits.")
    else:
        buy_top = f"{buyers} of the {len(top)} most common paths include a purchase."
    if buying.empty:
        buy = "No visit bought anything, so there are no buying paths to compare."
    else:
        b = buying.iloc[0]
        buy = (f"Among the buying visits the most common path is {_c(b['path'])} "
               f"({pct(b['share'])} of them).")
        back = buying.loc[buying["path"].str.split(" → ").str[0].isin(CHECKOUT), "share"].sum()
        if back > 0:
            buy += (f" Among the top buying paths, {pct(back)} of buying visits start at the "
                    f"cart or checkout: buyers coming back to a cart they filled earlier.")
    single = top.loc[top["steps"] == 1, "share"].sum()
    tk = None
    if tr is not None:
        land = tr.loc[(tr["from"] == START) & (tr["to"] != MISSING)].sort_values("probability", ascending=False,
                                                       kind="stable")
        states = set(tr["from"]) - {START}
        if len(states) == 1:
            tk = (f"the log records only one kind of page ({_c(next(iter(states)))}), so it "
                  f"shows no browsing path.")
        elif len(land):
            door = land.iloc[0]["to"]
            tk = ((f"at least {pct(single)} of visits see a single kind of page, and "
                   if single > 0 else "") + f"more land on {_c(door)} than anywhere else" + (", not on the home page: that is the shop's real front door."
                                   if door not in FRONT | ENDS else "."))
    return paragraphs(f"{head} {buy_top}", buy, takeaway(tk) if tk else None)


# --------------------------------------------------------------------------- 2 · exits


def exits(stall: pd.DataFrame, by: str = "page_type") -> Text:
    """Section 2: end pages, the biggest leak by volume, exits in the checkout, the loops.

    ``stall`` is :func:`helpers.paths.exits_and_loops`.

    Examples
    --------
    >>> st = pd.DataFrame({"page_type": ["confirmation", "product", "checkout"],
    ...     "exits": [400, 7000, 300], "exit_rate": [1.0, 0.37, 0.19],
    ...     "loop_rate": [0.0, 0.43, 0.61]})
    >>> print(exits(st))  # doctest: +ELLIPSIS
    `confirmation` ends 100 % of the visits that reach it: an end page, not a leak. ...
    """
    if stall.empty:
        return Text("The log has no visits, so no page ends one.")
    stall = stall.loc[stall[by] != MISSING]
    end = stall.loc[stall["exit_rate"] >= END]
    other = stall.loc[stall["exit_rate"] < END]
    parts = []
    if len(end):
        low = end["exit_rate"].min()
        if len(end) == 1:
            parts.append(f"{_c(end[by].iloc[0])} ends {pct(low)} of the visits that reach it: "
                         "an end page, not a leak.")
        else:
            most = "all" if low >= 1 else f"at least {pct(low)}"
            parts.append(f"{join(map(_c, end[by]))} each end {most} of the visits that reach "
                         "them: end pages, not leaks.")
    tk = []
    if len(other):
        vol = other.sort_values("exits", ascending=False, kind="stable").head(2)
        parts.append("By volume, most visits end on " + join(
            f"{_c(r[by])} ({count(r['exits'])} exits, {pct(r['exit_rate'])} of its views)"
            for _, r in vol.iterrows()) + ".")
        tk.append(f"exits concentrate on {join(map(_c, vol[by]))} (volume)")
        co = other.loc[other[by].isin(CHECKOUT) & (other["exits"] > 0)]
        if len(co):
            parts.append("In the checkout, " + join(
                f"{pct(r['exit_rate'])} of {_c(r[by])} views end the visit"
                for _, r in co.iterrows()) + ": money lost at the last moment.")
            tk.append(f"in {join(map(_c, co[by]))} (value)")
        loops = other.loc[other["loop_rate"] >= 0.2].sort_values("loop_rate", ascending=False)
        if len(loops):
            parts.append("Loops: " + join(f"{_c(r[by])} repeats {pct(r['loop_rate'])}"
                                          for _, r in loops.iterrows())
                         + (" (in the checkout, a repeated step can be a form that fails)."
                            if loops[by].isin(CHECKOUT).any() else "."))
    text = " and ".join(tk) if tk else "no page other than the end pages loses visits"
    return paragraphs(" ".join(parts), takeaway(text + "."))


# --------------------------------------------------------------------------- 3 · dwell


def dwell(d: pd.DataFrame, by: str = "page_type") -> Text:
    """Section 3: which pages hold attention longest and shortest, and how much is unknown.

    ``d`` is :func:`helpers.paths.dwell_times`.

    Examples
    --------
    >>> d = pd.DataFrame({"page_type": ["product", "home", "cart"], "events": [200, 100, 40],
    ...     "timed": [120, 80, 35], "last_in_session": [80, 20, 5],
    ...     "median_s": [35.0, 12.0, 17.0]})
    >>> print(dwell(d))  # doctest: +ELLIPSIS
    `product` holds attention longest (median 35 s until the next click); `home` is passed through quickest (12 s). ...
    """
    d = d.loc[d[by] != MISSING]
    timed = d.loc[d["timed"] >= FEW].sort_values("median_s", ascending=False, kind="stable")
    if timed.empty:
        return Text(f"Too few pages have a next click in their visit (fewer than {FEW} each) to "
                    f"say how long people look.")
    if len(timed) < 3 or timed["median_s"].iloc[0] == timed["median_s"].iloc[-1]:
        return paragraphs("Median time until the next click: " + join(
            f"{_c(r[by])} {r['median_s']:.0f} s" for _, r in timed.iterrows())
            + f" (pages with at least {FEW} timed views); too few kinds of page to rank.")
    long, short = timed.head(2 if len(timed) > 3 else 1), timed.tail(2 if len(timed) > 3 else 1)
    head = (f"{join(map(_c, long[by]))} {'hold' if len(long) > 1 else 'holds'} attention longest "
            f"(median {join(f'{r.median_s:.0f} s' for r in long.itertuples())} until the next "
            f"click)")
    if len(timed) > 1:
        head += (f"; {join(map(_c, short[by]))} {'are' if len(short) > 1 else 'is'} passed "
                 f"through quickest ({join(f'{r.median_s:.0f} s' for r in short.itertuples())})")
    d2 = d.loc[d["events"] > 0].assign(untimed=lambda x: x["last_in_session"] / x["events"])
    d2 = d2.loc[d2["timed"] > 0]
    unknown = None
    if len(d2):
        u = d2.sort_values("last_in_session", ascending=False, kind="stable").iloc[0]
        unknown = (f"{pct(u['untimed'])} of {_c(u[by])} views are the last of their visit, so "
                   f"their dwell time is unknown: a \"time on site\" from a log is always an "
                   f"underestimate.")
    return paragraphs(head + ".", unknown, takeaway(
        f"people take their time on {join(map(_c, long[by]))}"
        + (f" and pass quickly through {join(map(_c, short[by]))}." if len(timed) > 1 else ".")))


# --------------------------------------------------------------------------- 4 · search


def search(st: pd.DataFrame, nowhere: pd.DataFrame) -> Text:
    """Section 4: which search terms lead nowhere, against the average search.

    ``st`` is :func:`helpers.paths.search_terms`, ``nowhere`` its rows with ``leads_nowhere``.

    Examples
    --------
    >>> st = pd.DataFrame({"search_term": ["lamp", "ps6"], "searches": [900, 600],
    ...     "exit_rate": [0.15, 1.0]})
    >>> st.attrs["overall_exit_rate"] = 0.25
    >>> print(search(st, st.iloc[[1]]))  # doctest: +ELLIPSIS
    1 term leads nowhere: `ps6` (600 searches, 100 % end the visit), against 25 % of all searches. ...
    """
    if st.empty:
        return Text("No search in this log has a search term, so there are no terms to judge.")
    avg = st.attrs.get("overall_exit_rate")
    if st["searches"].sum() < FEW:
        return Text(f"Only {plural(st['searches'].sum(), 'search', 'searches')} with a term: too "
                    f"few to tell a term that leads nowhere from chance.")
    if nowhere.empty:
        return paragraphs(f"No term ends visits clearly more often than the average search "
                          f"({pct(avg)} of searches end the visit), across "
                          f"{plural(len(st), 'term')}.",
                          takeaway("the search finds something for every popular term; "
                                   "re-check as the catalogue changes."))
    n = nowhere.sort_values("searches", ascending=False, kind="stable")
    always = bool((n["exit_rate"] >= 0.99).all())
    shown = n.head(8)
    head = (f"{plural(len(n), 'term')} {'leads' if len(n) == 1 else 'lead'} nowhere: " + join(
        f"{_c(r['search_term'])} ({count(r['searches'])} searches, {pct(r['exit_rate'])} end the "
        f"visit)" for _, r in shown.iterrows())
        + (f" and {len(n) - 8} more" if len(n) > 8 else "")
        + f", against {pct(avg)} of all searches.")
    share = n["searches"].sum() / st["searches"].sum()
    body = (f"Together they are {pct(share)} of all searches with a term; they look like "
            f"searches with no result (a product the shop does not sell, a question the search "
            f"cannot answer).")
    popular = "popular " if n["searches"].max() >= FEW else ""
    few = "" if popular else " (each rests on few searches: watch it before acting)"
    tk = (f"{'a handful of ' + popular + 'terms' if len(n) <= 10 else plural(len(n), 'term')} "
          f"end the visit{few} "
          f"{'every time' if always else 'far more often than other searches'}. Each is a fix "
          f"worth doing: a result page, a redirect to a help page, or stocking the product.")
    return paragraphs(head, body, takeaway(tk))


def key_search(nowhere: pd.DataFrame, planted: list) -> Text:
    """Answer key: are the flagged terms exactly the planted dead ones?

    >>> print(key_search(pd.DataFrame({"search_term": ["ps6"]}), ["ps6"]))  # doctest: +ELLIPSIS
    **Check against the answer key.** ...all 1 planted dead terms are flagged, and nothing else.
    """
    found = set(nowhere["search_term"])
    miss, extra = sorted(set(planted) - found), sorted(found - set(planted))
    expl = ("The simulated shop has no results for a few planted search terms; the flag should "
            "find exactly those.")
    if not miss and not extra:
        verdict = f"Found: all {len(planted)} planted dead terms are flagged, and nothing else."
    else:
        verdict = ("Missed: " + (join(map(_c, miss)) or "none") + "; flagged but not planted: "
                   + (join(map(_c, extra)) or "none") + ".")
    return paragraphs(f"**Check against the answer key.** {expl}", verdict)


# --------------------------------------------------------------------------- 5 · categories


def categories(interest: pd.DataFrame) -> Text:
    """Section 5: whether the categories that draw attention are those where looking turns into
    adding to the cart.

    ``interest`` is :func:`helpers.paths.category_interest`.

    Examples
    --------
    >>> t = pd.DataFrame({"category": ["a", "b"], "sessions": [5000, 1000],
    ...     "add_rate": [0.10, 0.20], "ci_low": [0.09, 0.18], "ci_high": [0.11, 0.22]})
    >>> print(categories(t))  # doctest: +ELLIPSIS
    `a` draws the most visits (5,000), but `b` turns looking into adding best: ...
    """
    t = interest.loc[interest["sessions"] >= FEW]
    if len(t) < 2:
        return Text("Too few categories have enough visits to compare their add rates.")
    big = t.sort_values("sessions", ascending=False, kind="stable").iloc[0]
    best = t.sort_values("add_rate", ascending=False, kind="stable").iloc[0]
    worst = t.sort_values("add_rate", ascending=True, kind="stable").iloc[0]
    if best["category"] == big["category"]:
        head = (f"{_c(big['category'])} draws the most visits ({count(big['sessions'])}) and also "
                f"turns looking into adding best "
                f"({interval(best['add_rate'], best['ci_low'], best['ci_high'])}).")
        tk = (f"{_c(big['category'])} leads on attention and intent alike; help the categories "
              f"where looking rarely becomes adding, such as {_c(worst['category'])}.")
    else:
        clear = best["ci_low"] > big["ci_high"]
        if clear:
            head = (f"{_c(big['category'])} draws the most visits ({count(big['sessions'])}), but "
                    f"{_c(best['category'])} turns looking into adding best: "
                    f"{interval(best['add_rate'], best['ci_low'], best['ci_high'])} of its visits "
                    f"add it to the cart, against {pct(big['add_rate'])} for "
                    f"{_c(big['category'])} (the intervals do not overlap).")
        else:
            head = (f"{_c(big['category'])} draws the most visits ({count(big['sessions'])}); the "
                    f"highest add rate, {interval(best['add_rate'], best['ci_low'], best['ci_high'])}"
                    f" for {_c(best['category'])}, is not clearly above its "
                    f"{pct(big['add_rate'])}: the intervals overlap.")
        tk = ("attention and intent differ by category: promote the categories where looking "
              "turns into adding, and help those where it does not (comparisons, reviews)."
              if clear else "the add rates of the categories are close; attention, not intent, "
              "is what differs between them.")
    low = (f"The lowest add rate is {_c(worst['category'])} ({pct(worst['add_rate'])}); "
           f"categories are compared only when at least {FEW} visits looked at them.")
    return paragraphs(head, low, takeaway(tk))


# --------------------------------------------------------------------------- 6 · rules


def next_step(seq: pd.DataFrame, min_sessions: int = 1) -> Text:
    """Section 6: whether visits move from one category to another more often than chance.

    ``seq`` is :func:`helpers.paths.next_step_rules`.

    Examples
    --------
    >>> seq = pd.DataFrame({"antecedent": ["a"], "consequent": ["b"], "sessions": [100],
    ...                     "lift": [0.8]})
    >>> print(next_step(seq))  # doctest: +ELLIPSIS
    Even the strongest sequential pair, `a → b` (100 visits), stays below a lift of 1 (0.80): ...
    """
    if seq.empty:
        return Text(f"No pair of categories is viewed in sequence in at least "
                    f"{plural(min_sessions, 'visit')}: too few visits look at two categories to "
                    f"form sequential rules.")
    top = seq.iloc[0]
    above = seq.loc[seq["lift"] > 1]
    if above.empty:
        return paragraphs(
            f"Even the strongest sequential pair, `{top['antecedent']} → {top['consequent']}` "
            f"({count(top['sessions'])} visits), stays below a lift of 1 "
            f"({number(top['lift'])}): a visit is mostly about one category, and people seldom "
            f"turn to a second one more often than visitors in general do.",
            "Co-viewing is the wrong place to look for complements here; baskets are the right "
            "place.")
    return paragraphs(
        f"{plural(len(above), 'category pair')} {'is' if len(above) == 1 else 'are'} viewed in "
        f"sequence more often than chance; the strongest is `{top['antecedent']} → "
        f"{top['consequent']}` (lift {number(top['lift'])}, {count(top['sessions'])} visits). "
        f"Browsing does link these categories; baskets show whether people also buy them "
        f"together.")


def _pairs(rules: pd.DataFrame) -> pd.DataFrame:
    """One row per unordered pair of a rules table (the direction with the higher confidence)."""
    key = rules.apply(lambda r: tuple(sorted([r["antecedents"], r["consequents"]])), axis=1)
    return rules.assign(_k=key).sort_values(["lift", "confidence"], ascending=False,
                                            kind="stable").drop_duplicates("_k")


def basket_rules(rules: pd.DataFrame, min_support, min_confidence, min_lift,
                 seq: pd.DataFrame | None = None) -> Text:
    """Section 6: the basket rules that pass the thresholds, and what sets them apart.

    ``rules`` is :func:`helpers.paths.rules` on baskets of categories; ``seq`` the sequential
    rules, to contrast baskets with browsing.

    Examples
    --------
    >>> r = pd.DataFrame({"antecedents": ["a", "b"], "consequents": ["b", "a"],
    ...     "transactions": [80, 80], "support": [0.02, 0.02], "confidence": [0.45, 0.3],
    ...     "lift": [5.0, 5.0]})
    >>> r.attrs["transactions"] = 4000
    >>> print(basket_rules(r, 0.005, 0.2, 1.5))  # doctest: +ELLIPSIS
    2 rules (1 pair of categories) pass the thresholds in 4,000 orders: ...
    """
    n = rules.attrs.get("transactions")
    limits = (f"support ≥ {pct(min_support)}, confidence ≥ {pct(min_confidence)}, lift ≥ "
              f"{number(min_lift, 1)}")
    if rules.empty:
        return paragraphs(f"No pair of categories passes the thresholds ({limits}) in "
                          f"{plural(n, 'order')}: baskets here do not show complements strong "
                          f"and common enough to recommend.",
                          takeaway("no \"frequently bought together\" suggestion is supported "
                                   "by these baskets; lower the thresholds only with care."))
    pairs = _pairs(rules)
    top = pairs.head(5)
    if rules["transactions"].max() < 20:
        return paragraphs(
            f"{plural(len(rules), 'rule')} pass the thresholds ({limits}) in "
            f"{plural(n, 'order')}, but each rests on at most "
            f"{plural(rules['transactions'].max(), 'order')}: chance pairs of a few baskets, too "
            f"few to act on, whatever their lift.",
            takeaway("these baskets are too few to show complements; collect more orders (or "
                     "raise `MIN_SUPPORT`) before recommending pairs."))
    head = (f"{plural(len(rules), 'rule')} ({plural(len(pairs), 'pair')} of categories) pass the "
            f"thresholds in {plural(n, 'order')}: " + join(
                f"`{r['antecedents']} → {r['consequents']}` (lift {number(r['lift'], 1)}, "
                f"confidence {pct(r['confidence'])})" for _, r in top.iterrows())
            + (f" and {len(pairs) - 5} more" if len(pairs) > 5 else "") + ".")
    t0 = top.iloc[0]
    back = rules.loc[(rules["antecedents"] == t0["consequents"])
                     & (rules["consequents"] == t0["antecedents"])]
    asym = None
    if len(back) and back.iloc[0]["confidence"] != t0["confidence"]:
        b = back.iloc[0]
        asym = (f"Both directions of a pair share support and lift but not confidence: "
                f"recommending `{t0['consequents']}` to a `{t0['antecedents']}` buyer works "
                f"{pct(t0['confidence'])} of the time, `{b['consequents']}` to a "
                f"`{b['antecedents']}` buyer {pct(b['confidence'])}.")
    contrast = ""
    if seq is not None and len(seq) and (seq["lift"] <= 1).all():
        contrast = ", not co-viewed categories,"
    tk = (f"baskets show clear complements ({join(f'`{r.antecedents} → {r.consequents}`' for r in top.head(5).itertuples())})."
          f" These{contrast} are the \"frequently bought together\" suggestions to make.")
    return paragraphs(head, asym, takeaway(tk))


def key_complements(key: pd.DataFrame) -> Text:
    """Answer key: the planted complements (and the planted non-pair) against the found lifts.

    ``key`` has ``antecedent``, ``consequent``, ``add_probability`` (0 for the non-pair),
    ``lift`` (planted), ``found_lift`` and ``as_planted``.

    >>> k = pd.DataFrame({"antecedent": ["a", "c"], "consequent": ["b", "d"],
    ...     "add_probability": [0.4, 0.0], "lift": [5.0, 0.6], "found_lift": [4.8, 0.7],
    ...     "as_planted": [True, True]})
    >>> print(key_complements(k))  # doctest: +ELLIPSIS
    **Check against the answer key.** ...
    <BLANKLINE>
    1 of 1 planted pairs come back with a lift within ±20 % of the key; the planted non-pair `c → d` has a lift of 0.70, not above 1.
    """
    pair = key["add_probability"] > 0
    good = int((key["as_planted"] & pair).sum())
    expl = ("The simulator plants complements with a known lift and one non-pair of two popular "
            "categories. A planted pair is found as planted when its lift is within ±20 % of the "
            "key (a finite shop wanders around the key, by up to about a fifth for pairs seen "
            "in about a hundred orders); the non-pair should not have a lift above 1.")
    off = key.loc[pair & ~key["as_planted"]]
    found = (f"{good} of {int(pair.sum())} planted pairs come back with a lift within ±20 % of "
             f"the key" + ("" if off.empty else " (off: " + join(
                 f"`{r['antecedent']} → {r['consequent']}` {number(r['found_lift'])} against "
                 f"{number(r['lift'])}" for _, r in off.iterrows()) + ")"))
    for _, r in key.loc[~pair].iterrows():
        lift = r["found_lift"]
        found += (f"; the planted non-pair `{r['antecedent']} → {r['consequent']}` has a lift of "
                  f"{number(lift)}, {'not above 1' if not _nan(lift) and lift <= 1 else 'above 1'}")
    return paragraphs(f"**Check against the answer key.** {expl}", found + ".")


# --------------------------------------------------------------------------- 7 · undecided


def undecided(bnb: pd.DataFrame, min_views: int, viewers: int | None = None) -> Text:
    """Section 7: who keeps coming back to an item without buying it.

    ``bnb`` is :func:`helpers.paths.browsed_not_bought`; ``viewers`` the users who viewed any
    item (to say how small the group is).

    Examples
    --------
    >>> b = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5],
    ...                   "category": ["x", "x", "y"]})
    >>> print(undecided(b, 5, viewers=100))  # doctest: +ELLIPSIS
    3 (user, item) pairs were viewed at least 5 times and never bought, by 2 users (2 % of the 100 users who viewed an item)...
    """
    if viewers == 0:
        return paragraphs("The log has no product views (`view_item`), so there is nothing "
                          "browsed to compare with what was bought.")
    if bnb.empty:
        return paragraphs(f"Nobody viewed an item {min_views} times or more without buying it: "
                          f"there is no undecided audience at this threshold (try a lower "
                          f"`MIN_VIEWS`).")
    users = bnb["user_id"].nunique()
    share = f" ({pct(users / viewers)} of the {plural(viewers, 'user')} who viewed an item)" \
        if viewers else ""
    head = (f"{count(len(bnb))} (user, item) pairs were viewed at least {min_views} times and "
            f"never bought, by {plural(users, 'user')}{share}.")
    cats = None
    if "category" in bnb and bnb["category"].notna().any():
        top = bnb["category"].value_counts().head(3)
        cats = "Most of them are in " + join(f"{_c(c)} ({count(v)})" for c, v in top.items()) + "."
    small = viewers and users / viewers < 0.2
    return paragraphs(head, cats, takeaway(
        f"{'this person keeps' if users == 1 else 'a small group of people keep' if small else 'these people keep'} returning to specific products without buying; they are the cheapest audience "
        f"for a reminder e-mail or a retargeting ad (notebook 07 tests who responds)."))


# --------------------------------------------------------------------------- decisions


def decisions(tr=None, nowhere=None, rules=None, seq=None, bnb=None) -> Text:
    """The closing "Decisions" list from the tables the sections computed (None: part skipped).

    >>> print(decisions(rules=pd.DataFrame({"transactions": []})))
    ## Decisions
    <BLANKLINE>
    - **Use lift to choose, support to prioritise, confidence to set expectations** for any "frequently bought together" widget.
    """
    lines = []
    if tr is not None:
        land = tr.loc[(tr["from"] == START) & (tr["to"] != MISSING)].sort_values("probability", ascending=False,
                                                       kind="stable")
        states = set(tr["from"]) - {START}
        if len(land) and len(states) > 2 and land.iloc[0]["to"] not in FRONT | ENDS:
            door = land.iloc[0]
            lines.append(f"**Treat {_c(door['to'])} as the landing page:** "
                         f"{pct(door['probability'])} of visits start there; put the cart "
                         f"button, delivery promise and the best complement on it.")
    if nowhere is not None and len(nowhere):
        lines.append(f"**Fix the {plural(len(nowhere), 'search', 'searches')} that lead nowhere** "
                     f"({join(map(_c, nowhere['search_term'].head(5)))}"
                     f"{' …' if len(nowhere) > 5 else ''}): add results, synonyms or a help "
                     f"redirect; re-check the list every month.")
    if rules is not None and len(rules) and rules["transactions"].max() >= 20:
        top = _pairs(rules).head(3)
        browse = (", not from browsing (co-viewing does not reveal them)"
                  if seq is not None and len(seq) and (seq["lift"] <= 1).all() else "")
        lines.append("**Recommend complements from baskets**" + browse + ": "
                     + join(f"`{r.antecedents} → {r.consequents}`" for r in top.itertuples())
                     + ".")
    if rules is not None:
        lines.append("**Use lift to choose, support to prioritise, confidence to set "
                     "expectations** for any \"frequently bought together\" widget.")
    if bnb is not None and len(bnb):
        lines.append(f"**Remind the undecided:** {plural(bnb['user_id'].nunique(), 'user')} "
                     f"viewed an item many times without buying; a small, well-defined "
                     f"retargeting audience.")
    return bullets(lines, title="Decisions")
