"""funnel.after_dropout and its narrator: where units went after the last step they reached."""

import pandas as pd
import pytest

from helpers import funnel
from helpers.data import load_store
from helpers.narrate import funnel as tell


def _ev(rows):
    return pd.DataFrame(rows, columns=["session_id", "user_id", "ts", "event"]).assign(
        ts=lambda d: pd.to_datetime(d["ts"], unit="s", utc=True))


def test_hand_case_sessions_users_and_the_other_row():
    ev = _ev([(1, 1, 0, "view"), (1, 1, 1, "cart"), (1, 1, 2, "search"),
              (2, 1, 10, "view"), (2, 1, 11, "home"),
              (3, 2, 0, "view"), (4, 2, 50, "faq"),            # the user's next event is later
              (5, 3, 0, "view"), (5, 3, 1, "cart"), (5, 3, 2, "buy")])
    s = funnel.after_dropout(ev, ["view", "cart", "buy"])
    # sessions 2 and 3 stop at view (4 never starts), 1 at cart, 5 buys
    assert s.loc[s["step"] == "view", ["next_event", "units"]].values.tolist() == [
        ["(nothing more)", 1], ["home", 1]]
    assert s.loc[s["step"] == "cart", ["next_event", "units"]].values.tolist() == [["search", 1]]
    u = funnel.after_dropout(ev, ["view", "cart", "buy"], unit="user")
    # user 1's best attempt reaches cart (session 1), its next event is search; user 2 stops at
    # view and next logs faq in a later session
    assert u[["step", "next_event", "units"]].values.tolist() == [["view", "faq", 1],
                                                                  ["cart", "search", 1]]
    # more kinds of next event than `top`: the rest is one row and the step still adds up
    many = _ev([(i, i, 0, "view") for i in range(6)]
               + [(i, i, 1, f"e{i % 3}") for i in range(6)] + [(9, 9, 0, "view"), (9, 9, 1, "buy")])
    t = funnel.after_dropout(many, ["view", "buy"], top=2)
    assert t["next_event"].tolist() == ["e0", "e1", "(other events)"]
    assert t["units"].sum() == 6 and t["share"].sum() == pytest.approx(1.0)


def test_nobody_drops_out_gives_an_empty_table_and_a_plain_sentence():
    ev = _ev([(1, 1, 0, "view"), (1, 1, 1, "buy")])
    t = funnel.after_dropout(ev, ["view", "buy"])
    assert t.empty and list(t.columns) == ["step", "step_index", "next_event", "units", "share"]
    assert "nobody dropped out" in tell.after_dropout(t)
    with pytest.raises(ValueError, match="top"):
        funnel.after_dropout(ev, ["view", "buy"], top=0)


def test_stops_reconcile_with_the_funnel_and_show_the_planted_checkout_loop():
    st = load_store()
    steps = funnel.default_steps(st.events)
    t = funnel.after_dropout(st.events, steps)
    f = funnel.funnel(st.events, steps).set_index("step_index")["n"]
    per_step = t.groupby("step_index")["units"].sum()
    for k, n in per_step.items():
        assert n == f[k] - f[k + 1]  # each step's rows add up to the units that stopped there
    # the simulator's checkout loop (shipping details send mobile visitors back to the cart):
    # in its days, the sessions on mobile that stop after add_shipping_info mostly go to the cart
    loop = next(i for i in st.truth["incidents"] if i["kind"] == "checkout_loop")
    tz = st.meta["timezone"]
    day = st.sessions["started_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    ids = st.sessions.loc[day.between(pd.Timestamp(loop["start"]), pd.Timestamp(loop["end"]))
                          & (st.sessions["device"] == loop["device"]), "session_id"]
    during = funnel.after_dropout(st.events.loc[st.events["session_id"].isin(ids)], steps)
    ship = during.loc[during["step"] == "add_shipping_info"]
    assert ship.iloc[0]["next_event"] == "view_cart" and ship.iloc[0]["share"] > 0.5
