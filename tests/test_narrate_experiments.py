"""Narration of notebook 06: every verdict follows the numbers of the table it is given."""

import numpy as np
import pandas as pd

from helpers.narrate import experiments as say


def _health(flags=(False, True), control=(2231, 1224), treatment=(2290, 1025),
            p=(0.38, 2.7e-5)):
    return pd.DataFrame({"experiment": ["alpha", "beta"][:len(flags)], "control": control[:len(flags)],
                         "treatment": treatment[:len(flags)], "p_value": p[:len(flags)],
                         "flag": list(flags)})


def _readout(effect=0.013, lo=-0.0054, hi=0.0314, p=0.167, guard=(0.0, -0.03, 0.03, 0.9),
             srm="split OK", money=True):
    nan = np.nan
    sec = [(31.06, -13.44, 75.56, 0.17, 0.34), (105.4, -197.1, 407.8, 0.5, 0.5)] if money else \
        [(nan, nan, nan, nan, nan)] * 2
    return pd.DataFrame({
        "experiment": "alpha",
        "metric": ["sample ratio (SRM)", "conversion", "revenue per user", "AOV",
                   "cancel/refund rate"],
        "role": ["health", "primary", "secondary", "secondary", "guardrail"],
        "control": [0.49, 0.106, 117.6, 1036.9, 0.05],
        "treatment": [0.51, 0.106 + effect, 148.6, 1142.3, 0.05 + guard[0]],
        "effect": [0.01, effect, sec[0][0], sec[1][0], guard[0]],
        "ci_low": [nan, lo, sec[0][1], sec[1][1], guard[1]],
        "ci_high": [nan, hi, sec[0][2], sec[1][2], guard[2]],
        "rel_effect": [nan, effect / 0.106, 0.26, 0.1, 0.0],
        "p_value": [0.38, p, sec[0][3], sec[1][3], guard[3]],
        "p_adjusted": [nan, p, sec[0][4], sec[1][4], guard[3]],
        "verdict": [srm, "", "no test (no revenue recorded)" if not money else "",
                    "no test (no revenue recorded)" if not money else "", ""]})


def test_srm_names_the_broken_experiment_and_its_short_arm():
    text = say.srm(_health())
    assert "alpha (2,231 vs 2,290 users, p = 0.38) is consistent with 50/50" in text
    assert "beta fails the sample-ratio check" in text
    assert "its treatment arm lost users" in text


def test_srm_short_control_arm_and_all_healthy():
    text = say.srm(_health(flags=(True,), control=(900,), treatment=(1100,), p=(1e-6,)))
    assert "its control arm lost users" in text and text.startswith("**Takeaway:** Alpha")
    healthy = say.srm(_health(flags=(False, False), p=(0.38, 0.2)))
    assert "fails" not in healthy and "must not be used" not in healthy


def test_chosen_says_why():
    h = _health()
    assert "whose split passes" in say.chosen("alpha", h)
    assert "as the parameter asks" in say.chosen("beta", h, given=True)
    assert "no experiment" in say.chosen(None, h.iloc[:0])


def test_readout_not_significant_and_too_small():
    text = say.readout(_readout(), mde_abs=0.0272, currency="EUR")
    assert "+1.3 pp (95 % CI −0.5 to +3.1 pp" in text
    assert "includes zero: no detectable difference" in text
    assert "too small to tell an effect of this size from noise" in text
    assert "+31.06 EUR" in text and "no sign of harm" in text


def test_readout_significant_lift_and_breached_guardrail():
    text = say.readout(_readout(effect=0.04, lo=0.02, hi=0.06, p=0.0001,
                                guard=(0.05, 0.01, 0.09, 0.01)))
    assert "excludes zero: the treatment converts better" in text
    assert "**breached**" in text
    worse = say.readout(_readout(effect=-0.04, lo=-0.06, hi=-0.02, p=0.0001))
    assert "converts worse" in worse


def test_readout_void_when_srm_fails_and_honest_without_revenue():
    assert "none of these numbers can be used" in say.readout(_readout(srm="do not trust: SRM"))
    text = say.readout(_readout(money=False))
    assert "no test (no revenue recorded)" in text and "nan" not in text


def test_aa_flags_a_difference_between_identical_groups():
    ok = say.aa({"effect": 0.004, "ci_low": -0.02, "ci_high": 0.03, "p_value": 0.7, "n": 2000})
    assert "compatible with zero" in ok
    bad = say.aa({"effect": -0.05, "ci_low": -0.09, "ci_high": -0.006, "p_value": 0.026,
                  "n": 516})
    assert "a difference between identical groups" in bad
    tiny = say.aa({"effect": 0.1, "ci_low": -0.3, "ci_high": 0.5, "p_value": 0.6, "n": 10})
    assert "so few users" in tiny


def test_revenue_cuped_new_users_and_useful_covariate():
    w = pd.Series({"effect": 5.0, "ci_low": 1.0, "ci_high": 9.0})
    cup = pd.DataFrame({"experiment": ["new", "old"], "pre_spenders": [0.0, 0.6],
                        "variance_reduction": [0.0, 0.35], "raw_ci_width": [8.0, 10.0],
                        "ci_width": [8.0, 8.1], "srm_flag": [False, False]})
    text = say.revenue(w, {"effect": 5.0, "ci_low": -0.5, "ci_high": 9.5}, cup, "new")
    assert "disagree: only the Welch interval excludes zero" in text
    assert "In new no user spent anything" in text
    assert "in old it removes 35 % of the variance" in text
    tiny = cup.assign(variance_reduction=[0.0, 7e-9])
    assert "less than 0.01 %" in say.revenue(w, {"effect": 5.0, "ci_low": 1.0, "ci_high": 9.0},
                                              tiny, "new")


def test_segments_before_and_after_adjustment():
    seg = pd.DataFrame({"segment": ["a", "b", "c"], "effect": [0.05, 0.01, 0.0],
                        "ci_low": [0.01, -0.02, -0.03], "ci_high": [0.09, 0.04, 0.03],
                        "p_value": [0.02, 0.5, 0.9], "p_holm": [0.06, 1.0, 1.0],
                        "p_bh": [0.06, 0.75, 0.9]})
    text = say.segments(seg, "device")
    assert "1 device segment (a) look significant before the adjustment" in text
    assert "after Holm none" in text and "what many looks produce" in text
    none = say.segments(seg.assign(p_value=[0.2, 0.5, 0.9]), "device")
    assert "no device differs beyond chance" in none
    assert "nothing to compare" in say.segments(seg.iloc[:0], "device")


def test_peeking_and_design_follow_the_table():
    sim = pd.DataFrame({"look": [1, 20], "naive_fpr": [0.04, 0.24], "obf_fpr": [0.0, 0.0475]})
    text = say.peeking(sim)
    assert "over 20 looks" in text and "24 %" in text and "4.8 times" in text
    plan = pd.DataFrame({"lift_pp": [1.0, 2.0, 3.0], "users_per_arm": [14745, 3835, 1769]})
    assert "multiplies the users you need by 3.8" in say.design(plan)
    assert say.design(plan.iloc[:1]) == ""


def test_decisions_ship_extend_and_void():
    h = _health()
    ext = say.decisions(_readout(), h, mde_abs=0.0272, n_smaller=2231)
    assert "extend it to the planned sample size" in ext
    assert "**beta:** do not use its results" in ext
    ship = say.decisions(_readout(effect=0.04, lo=0.02, hi=0.06, p=0.0001),
                         _health(flags=(False,)), mde_abs=0.02, n_smaller=5000)
    assert "Ship it" in ship and "do not use" not in ship
    void = say.decisions(_readout(srm="do not trust: SRM"), h)
    assert "**alpha:** decide" not in void


def test_answer_key_inside_and_outside():
    conv = pd.Series({"experiment": "alpha", "effect": 0.013, "ci_low": -0.005, "ci_high": 0.031})
    inside = say.answer_key_check(conv, 0.019, "beta", "do not trust: SRM",
                                  {"control": 1224, "treatment": 1025})
    assert "lies inside" in inside and "is caught" in inside
    outside = say.answer_key_check(conv, 0.05, "beta", "split OK", {"control": 1, "treatment": 1})
    assert "OUTSIDE" in outside and "MISSED" in outside
