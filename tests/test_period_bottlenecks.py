"""Tests of helpers.funnel.period_bottlenecks: a segment × period against the segment's usual rate."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact, norm
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from helpers import funnel as fu

STEPS = ["view_item", "add_to_cart", "add_payment_info", "purchase"]
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def log(counts):
    """Events from ``{(device, month, last step index): sessions}``: each session does the steps
    up to that index, one minute apart, starting on the 10th of month ``month`` (0 = Jan 2024)."""
    rows, sid = [], 0
    for (device, month, last), n in counts.items():
        start = T0 + pd.DateOffset(months=month, days=9)
        for _ in range(n):
            sid += 1
            rows += [(sid, sid, start + pd.Timedelta(minutes=k), STEPS[k], device)
                     for k in range(last + 1)]
    return pd.DataFrame(rows, columns=["session_id", "user_id", "ts", "event", "device"])


def shop(months=12, seed=7, drop=None, sessions_per_month=4000):
    """A synthetic log of ``months`` months from January 2024, sessions spread evenly in time:
    mobile (two thirds of them) always pays worse (0.55 against desktop's 0.88: the structural
    bottleneck). ``drop`` = (device, first day, last day, rate) sets that device's payment rate
    for the sessions starting on those days. Returns (events, sessions)."""
    rng = np.random.default_rng(seed)
    n = months * sessions_per_month
    span = ((T0 + pd.DateOffset(months=months)) - T0).total_seconds()
    start = T0 + pd.to_timedelta(np.sort(rng.integers(0, int(span), n)), unit="s")
    device = np.where(rng.random(n) < 2 / 3, "mobile", "desktop")
    pay = np.where(device == "mobile", 0.55, 0.88)
    if drop is not None:
        dev, first, last, rate = drop
        hit = (device == dev) & (start >= pd.Timestamp(first, tz="UTC")) & (
            start < pd.Timestamp(last, tz="UTC") + pd.Timedelta("1D"))
        pay = np.where(hit, rate, pay)
    go = np.column_stack([rng.random(n) < 0.3, rng.random(n) < 0.5, rng.random(n) < pay])
    reps = np.cumprod(go, axis=1).sum(axis=1) + 1      # steps done by each session
    k = np.concatenate([np.arange(r) for r in reps])
    sid = np.arange(n)
    ev = pd.DataFrame({"session_id": np.repeat(sid, reps), "user_id": np.repeat(sid, reps),
                       "ts": np.repeat(start, reps) + pd.to_timedelta(k, unit="min"),
                       "event": np.array(STEPS)[k]})
    ses = pd.DataFrame({"session_id": sid, "user_id": sid, "device": device,
                        "channel": np.where(rng.random(n) < 0.5, "Email", "Direct")})
    return ev, ses


# --------------------------------------------------------------------------- hand cases

def desktop_and_mobile(jan, feb, mar):
    """Desktop: ``jan``, ``feb`` and ``mar`` of 100 buy after paying in January to March, 20 of
    50 in April. Mobile pays worse, 30 of 100, every month."""
    counts = {("desktop", 3, 3): 20, ("desktop", 3, 2): 30}
    for m, k in enumerate((jan, feb, mar)):
        counts.update({("desktop", m, 3): k, ("desktop", m, 2): 100 - k})
    for m in range(4):
        counts.update({("mobile", m, 3): 30, ("mobile", m, 2): 70})
    return log(counts)


def test_a_cell_against_the_same_segment_in_its_other_months_by_hand():
    # January to March alike (65 of 100): no spread, so the plain two-proportion z test
    pb = fu.period_bottlenecks(desktop_and_mobile(65, 65, 65), STEPS, by="device", min_n=10)
    r = pb.set_index(["segment", "period", "step"]).loc[("desktop", "2024-04-01", "purchase")]
    assert (r["n"], r["n_prev"], r["n_usual"], r["n_prev_usual"]) == (20, 50, 195, 300)
    assert r["rate"] == pytest.approx(0.4) and r["rate_usual"] == pytest.approx(0.65)
    assert r["gap"] == pytest.approx(-0.25) and r["spread"] == 0
    assert r["missing"] == pytest.approx(0.25 * 50)            # 12.5 purchases at the usual rate
    assert r["test"] == "z"
    assert r["p_value"] == pytest.approx(
        proportions_ztest([20, 195], [50, 300], alternative="smaller")[1])
    # the other device (mobile) in April: 30 % against its usual 30 %: it did not move
    assert r["gap_others"] == pytest.approx(0.0)
    # the earlier steps: everyone reached add_payment_info, so those rates are all 1
    assert (pb.loc[pb["step"] != "purchase", "gap"] == 0).all()
    # Benjamini-Hochberg over every tested cell (the default)
    assert pb["p_adj"].to_numpy() == pytest.approx(
        multipletests(pb["p_value"], method="fdr_bh")[1])
    top = pb.iloc[0]
    assert (top["segment"], top["period"], top["step"], bool(top["significant"])) == (
        "desktop", "2024-04-01", "purchase", True)
    # mobile never falls below itself, though it is the worst segment every month
    assert not pb.loc[pb["segment"] == "mobile", "significant"].any()


def test_the_usual_month_to_month_spread_widens_the_test_by_hand():
    # January 60 of 100, February 70 of 100: they differ by more than chance, so April is
    # judged against that spread too. March (65) is April's neighbour: left out of the spread
    pb = fu.period_bottlenecks(desktop_and_mobile(60, 70, 65), STEPS, by="device", min_n=10)
    r = pb.set_index(["segment", "period", "step"]).loc[("desktop", "2024-04-01", "purchase")]
    # DerSimonian-Laird by hand on January and February: pooled p = 0.65, c = p(1 - p) = 0.2275;
    # Pearson's chi² Q = (60²/100 + 70²/100 - 0.65² · 200) / c = 0.5 / c; k = 2 periods,
    # M = 200, Σm² = 20,000: tau² = (Q - 1) · c / (200 - 20,000 / 200) = (0.5 - c) / 100
    tau2 = (0.5 - 0.2275) / 100
    assert r["spread"] ** 2 == pytest.approx(tau2)
    # ... which is statsmodels' DerSimonian-Laird estimate for the two months
    ref = combine_effects(np.array([0.6, 0.7]), np.full(2, 0.2275 / 100), method_re="dl")
    assert r["spread"] ** 2 == pytest.approx(ref.tau2)
    # z = gap / sqrt(pooled variance of the z test + tau² · (1 + Σm²/M²)); the usual is the
    # three other months (195 of 300, Σm²/M² = 3 · 100² / 300² = 1/3), the pooled rate 215/350
    pooled = 215 / 350
    var = pooled * (1 - pooled) * (1 / 50 + 1 / 300) + tau2 * (1 + 1 / 3)
    assert r["p_value"] == pytest.approx(norm.sf(0.25 / np.sqrt(var)))   # one-sided
    assert r["p_value"] > proportions_ztest([20, 195], [50, 300],
                                            alternative="smaller")[1]      # wider: less sure
    # spread=False is the plain test
    plain = fu.period_bottlenecks(desktop_and_mobile(60, 70, 65), STEPS, by="device", min_n=10,
                                  spread=False)
    r = plain.set_index(["segment", "period", "step"]).loc[("desktop", "2024-04-01", "purchase")]
    assert r["p_value"] == pytest.approx(
        proportions_ztest([20, 195], [50, 300], alternative="smaller")[1])


def test_an_incident_straddling_two_months_does_not_hide_itself():
    # desktop pays at 0.45 for a month from 15 June: half of June and half of July fall short.
    # Each month's spread leaves its neighbours out, so June is not judged against a yardstick
    # widened by July, nor July by June
    ev, ses = shop(drop=("desktop", "2024-06-15", "2024-07-14", 0.45))
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, by="device")
    sig = pb.loc[pb["significant"]]
    assert set(zip(sig["segment"], sig["step"], sig["period"])) == {
        ("desktop", "purchase", "2024-06-01"), ("desktop", "purchase", "2024-07-01")}
    cell = pb.set_index(["segment", "period", "step"])["spread"]
    assert cell[("desktop", "2024-06-01", "purchase")] < 0.02       # no more than chance
    assert cell[("desktop", "2024-05-01", "purchase")] > 0.05       # June and July widen May's


def test_a_lasting_change_does_not_make_every_month_before_it_a_shortfall():
    # desktop pays better (0.95 instead of 0.88) from July on, for good: with the plain test
    # the months before July look "below usual"; allowing for the spread they do not
    ev, ses = shop(drop=("desktop", "2024-07-01", "2024-12-31", 0.95), sessions_per_month=8000)

    def flagged(pb):
        hit = pb.loc[pb["significant"] & (pb["segment"] == "desktop") & (pb["step"] == "purchase")]
        return sorted(hit["period"])

    plain = fu.period_bottlenecks(ev, STEPS, sessions=ses, by="device", spread=False)
    assert len(flagged(plain)) >= 3 and max(flagged(plain)) < "2024-07-01"
    wide = fu.period_bottlenecks(ev, STEPS, sessions=ses, by="device")
    assert flagged(wide) == []
    r = wide.set_index(["segment", "period", "step"]).loc[("desktop", "2024-01-01", "purchase")]
    assert 0.02 < r["spread"] < 0.05                # about half the 7 pp step, as it should


def test_tiny_expected_counts_use_fishers_exact_test():
    # February: 0 of 12 buy, against 3 of 60 in January: 12 * 3/72 = 0.5 expected purchases,
    # far too few for the normal approximation, so Fisher's exact test
    counts = {("d", 0, 3): 3, ("d", 0, 2): 57, ("d", 1, 2): 12}
    pb = fu.period_bottlenecks(log(counts), STEPS, by="device", min_n=10)
    r = pb.set_index(["period", "step"]).loc[("2024-02-01", "purchase")]
    assert r["test"] == "exact"
    assert r["p_value"] == pytest.approx(
        fisher_exact([[0, 12], [3, 57]], alternative="less")[1])


def test_holm_is_available_and_applied_over_all_cells():
    ev, ses = shop(months=4, drop=("desktop", "2024-03-01", "2024-03-31", 0.5))
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, method="holm")
    assert pb.attrs["method"] == "holm"
    assert pb["p_adj"].to_numpy() == pytest.approx(multipletests(pb["p_value"], method="holm")[1])
    assert pb.iloc[0]["significant"]


def test_counts_add_up_to_the_funnel_by_segment():
    # cell + usual = the segment's whole-period funnel, for every segment and step
    ev, ses = shop(months=3)
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, min_n=1)
    f = fu.funnel(ev, STEPS, by="channel", sessions=ses).set_index(["channel", "step"])
    ch = pb.loc[pb["dimension"] == "channel"]
    whole = f.loc[list(zip(ch["segment"], ch["step"]))]
    assert (ch["n_prev"] + ch["n_prev_usual"]).tolist() == whole["n_prev"].tolist()
    assert (ch["n"] + ch["n_usual"]).tolist() == whole["n"].tolist()


def test_a_session_belongs_to_the_month_it_starts_in():
    # a session that starts on 31 Jan and pays on 1 Feb is January's
    ev = pd.DataFrame({"session_id": 1, "user_id": 1, "device": "d", "event": STEPS,
                       "ts": pd.to_datetime(["2024-01-31 23:57", "2024-01-31 23:58",
                                             "2024-01-31 23:59", "2024-02-01 00:01"], utc=True)})
    ev = pd.concat([ev, log({("d", 1, 3): 5})], ignore_index=True)
    pb = fu.period_bottlenecks(ev, STEPS, by="device", min_n=1)
    assert sorted(pb["period"].unique()) == ["2024-01-01", "2024-02-01"]
    jan = pb.loc[(pb["period"] == "2024-01-01") & (pb["step"] == "purchase")].iloc[0]
    assert (jan["n"], jan["n_prev"]) == (1, 1)


# --------------------------------------------------------------------------- planted and steady

def test_a_planted_one_month_drop_on_one_device_is_found_with_its_month():
    # desktop pays at 0.45 instead of 0.88 in July 2024; mobile pays at 0.55 all year
    ev, ses = shop(drop=("desktop", "2024-07-01", "2024-07-31", 0.45))
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses)
    top = pb.iloc[0]
    assert (top["dimension"], top["segment"], top["period"], top["from_step"], top["step"]) == (
        "device", "desktop", "2024-07-01", "add_payment_info", "purchase")
    assert top["significant"] and top["p_adj"] < 1e-6
    assert top["rate_usual"] == pytest.approx(0.88, abs=0.02)
    assert top["rate"] == pytest.approx(0.45, abs=0.06)
    assert top["gap_others"] == pytest.approx(0.0, abs=0.05)    # mobile did not move
    sig = pb.loc[pb["significant"]]
    assert set(sig["period"]) == {"2024-07-01"}                # no other month is flagged
    assert not sig["segment"].eq("mobile").any()
    # the whole-period comparison of segments sees only the structural gap: mobile
    assert fu.bottlenecks(fu.funnel(ev, STEPS, by="device", sessions=ses)).iloc[0][
        "segment"] == "mobile"


def test_a_planted_two_week_drop_is_found_by_week():
    # desktop pays at 0.2 for two weeks (Monday 4 to Sunday 17 March 2024)
    ev, ses = shop(months=4, drop=("desktop", "2024-03-04", "2024-03-17", 0.2))
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, by="device", freq="W")
    assert pb.attrs["freq"] == "W"
    top = pb.iloc[:2]
    assert top["significant"].all() and set(top["period"]) == {"2024-03-04", "2024-03-11"}
    assert set(zip(top["segment"], top["step"])) == {("desktop", "purchase")}
    desktop = pb.loc[pb["significant"] & (pb["segment"] == "desktop")]
    assert set(desktop["period"]) == {"2024-03-04", "2024-03-11"}       # those weeks only
    # by month the same two weeks still show, half diluted
    top = fu.period_bottlenecks(ev, STEPS, sessions=ses, by="device").iloc[0]
    assert (top["segment"], top["period"], bool(top["significant"])) == (
        "desktop", "2024-03-01", True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_steady_log_gives_no_significant_row(seed):
    # every month alike (mobile still pays worse than desktop): 144 cells, none flagged. Under
    # the null BH keeps the chance of any flag near alpha; other seeds can flag one cell.
    ev, ses = shop(seed=seed)
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses)
    assert len(pb) == 144 and not pb["significant"].any()
    assert pb.attrs["reason"] is None and pb.attrs["periods"] == 12


# --------------------------------------------------------------------------- degenerate input

def _empty(pb, reason):
    assert pb.empty and list(pb.columns) == fu.PERIOD_BOTTLENECK_COLUMNS
    assert pb.attrs["reason"] == reason


def test_no_breakdown_column_gives_an_empty_table_with_the_columns():
    ev, _ = shop(months=2)
    _empty(fu.period_bottlenecks(ev, STEPS), "no_breakdown")               # no sessions
    pb = fu.period_bottlenecks(ev, STEPS, sessions=pd.DataFrame({"session_id": [0]}))
    _empty(pb, "no_breakdown")
    assert pb.attrs["absent"] == ["device", "channel"]


def test_a_single_month_one_step_or_tiny_cells_give_empty_tables():
    ev, ses = shop(months=1)
    _empty(fu.period_bottlenecks(ev, STEPS, sessions=ses), "one_period")
    ev, ses = shop(months=3, sessions_per_month=200)
    _empty(fu.period_bottlenecks(ev, ["view_item"], sessions=ses), "one_step")
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, min_n=10_000)
    _empty(pb, "too_small")
    assert pb.attrs["too_small"] > 0


def test_user_attributes_and_a_missing_segment():
    ev, ses = shop(months=3, sessions_per_month=500)
    users = pd.DataFrame({"user_id": ses["user_id"], "plan": np.where(ses["user_id"] % 3, "free",
                                                                       "pro")})
    ses = ses.assign(device=ses["device"].where(ses["session_id"] % 10 > 0))   # 10 % unknown
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, users=users,
                               by=["device", "plan"], min_n=1)
    assert set(pb["dimension"]) == {"device", "plan"}
    assert set(pb.loc[pb["dimension"] == "device", "segment"]) == {"desktop", "mobile"}
    assert set(pb.loc[pb["dimension"] == "plan", "segment"]) == {"free", "pro"}


def test_a_breakdown_the_sessions_leave_empty_is_read_from_the_events():
    ev, ses = shop(months=2, sessions_per_month=300)
    ev = ev.merge(ses[["session_id", "device"]], on="session_id")
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses.assign(device=None), min_n=1)
    assert set(pb.loc[pb["dimension"] == "device", "segment"]) == {"desktop", "mobile"}


def test_users_with_a_window_leave_out_the_months_they_could_not_finish():
    ev, ses = shop(months=3, sessions_per_month=500)
    pb = fu.period_bottlenecks(ev, STEPS, sessions=ses, unit="user", window="30D", min_n=1)
    assert pb.attrs["censored_periods"] == 1 and pb["period"].max() == "2024-02-01"


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "bonferroni"}, "method"), ({"freq": "fortnight"}, "freq"),
    ({"min_n": 0}, "min_n"), ({"alpha": 1.5}, "alpha"), ({"by": "ts"}, "key")])
def test_bad_arguments_are_refused(kwargs, match):
    ev, ses = shop(months=2, sessions_per_month=50)
    with pytest.raises(ValueError, match=match):
        fu.period_bottlenecks(ev, STEPS, sessions=ses, **kwargs)


def test_period_aliases():
    assert [fu.period_alias(f) for f in ("MS", "M", "W", "W-MON", "D", "QS", "YS")] == [
        "M", "M", "W", "W-MON", "D", "Q", "Y"]
