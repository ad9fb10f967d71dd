"""narrate.pricing: the sentences say what the price-sensitivity tables show, and no more."""

import re

import numpy as np
import pandas as pd
import pytest

from helpers import pricing, retention
from helpers.data import load_store
from helpers.narrate import pricing as say
from helpers.pricing import SEGMENTS, LatentClassFit


@pytest.fixture(scope="module")
def store():
    return load_store()


@pytest.fixture(scope="module")
def fitted(store):
    table, why = retention.attempt(pricing.price_sensitivity, store.orders, tz=store.timezone)
    assert table is not None, why
    return table


def promo_rows(n):
    start = pd.date_range("2025-01-01", periods=n, freq="30D")
    return pd.DataFrame({"start": start, "end": start + pd.Timedelta("2D"), "days": 3,
                         "orders": 40, "discounted": 30, "share": 0.75, "expected_share": 0.2,
                         "ratio": np.linspace(2, 5, n), "p_value": 0.01})


def fake_table(n_one=60, n_three=40, seg_one=20, seg_three=10):
    fit = LatentClassFit(0.3, pd.DataFrame(
        {"sensitive": [0.6, 0.01, 0.8, 0.3], "other": [0.2, 0.002, 0.4, 0.05]},
        index=list(pricing.INDICATORS)), float(np.log(6.0)), 0.0, 0.0, n_one + n_three, 0.3, 10)
    orders = [1] * n_one + [3] * n_three
    seg = ([SEGMENTS[0]] * seg_one + [SEGMENTS[1]] * (n_one - seg_one) + [SEGMENTS[0]] * seg_three
           + [SEGMENTS[1]] * (n_three - seg_three))
    bf = [3.0 if s == SEGMENTS[0] else 0.5 for s in seg]
    t = pd.DataFrame({"orders": orders, "bayes_factor": bf,
                      "segment": pd.Categorical(seg, categories=SEGMENTS)})
    t.attrs.update(model=fit, test={"z": 2.5, "p_value": 0.006})
    return t


def summary(rev=(80.0, 100.0), p=0.001, other_discount=0.01):
    s = pd.DataFrame({"segment": list(SEGMENTS), "buyers": [300, 700], "orders": [500, 900],
                      "orders_per_buyer": [1.67, 1.29], "discount_share": [0.62, other_discount],
                      "discount_share_ci_low": [0.58, other_discount / 2],
                      "discount_share_ci_high": [0.66, other_discount * 2 + 0.01],
                      "promo_share": [0.16, 0.05], "promo_share_ci_low": [0.13, 0.04],
                      "promo_share_ci_high": [0.2, 0.07], "revenue_per_order": list(rev),
                      "revenue_per_order_ci_low": [r - 5 for r in rev], "revenue_per_order_ci_high": [r + 5 for r in rev]})
    s.attrs["revenue_p_value"] = p
    return s


# --- promotions -------------------------------------------------------------------------------

def test_promotions_none_one_and_many():
    assert say.promotions(None).startswith("No run of days stands out")
    assert say.promotions(promo_rows(0)).startswith("No run of days stands out")
    one = say.promotions(promo_rows(1))
    assert one.startswith("One run of days stands out as a promotion: 2025-01-01 to 2025-01-03")
    assert "75 % of 40 orders discounted against 20 % expected" in one
    many = say.promotions(promo_rows(8))
    assert many.startswith("8 runs of days stand out as promotions (24 days in all)")
    assert many.count("orders discounted") == say.SHOWN
    assert "and 3 shorter or weaker ones" in many


def test_a_one_day_promotion_is_named_by_its_day():
    p = promo_rows(1).assign(days=1, end=lambda d: d["start"])
    assert "promotion: 2025-01-01 (1 day," in say.promotions(p)


# --- the segment ------------------------------------------------------------------------------

def test_segment_without_a_fit_gives_the_reason_and_no_advice_to_aim():
    why = ("the data cannot tell price-sensitive buyers from the rest: buyers who took a "
           "discount once are no likelier than others to take one again (score test z = 0.3)")
    text = say.segment(None, why)
    assert text.startswith("No price-sensitive segment: the data cannot say who responds to "
                           "discounts, because buyers who took a discount once")
    assert "cannot tell price-sensitive buyers from the rest" not in text  # said once, not twice
    assert "cannot be aimed" in text


def test_segment_counts_shares_and_class_contrasts():
    text = say.segment(fake_table())
    assert text.startswith("30 of the 100 buyers (30 %, 95 % CI 22–40 %) are in the "
                           "price-sensitive segment.")
    assert "score test z = 2.50, p = 0.006" in text
    assert "the odds of taking an available discount are 6.0× those of the other buyers" in text
    # only contexts where a discount is common are given as examples; the timing rates follow
    assert "on first orders 60 % against 20 % and on promotion-day orders 80 % against 40 %" in text
    assert "repeat orders 1 %" not in text
    assert "30 % of its repeat orders fall on promotion days against 5 %" in text
    # one order: the Bayes factors of a discounted and a full-price first order (0.6/0.2, 0.4/0.8)
    assert "a discounted first order on an ordinary day multiplies the odds by 3.0, a full-price one by 0.50" in text
    assert "Most buyers ordered once (60 %)" in text


def test_segment_with_mostly_repeat_buyers_drops_the_one_order_caveat():
    text = say.segment(fake_table(n_one=10, n_three=90, seg_one=5, seg_three=30))
    assert "Most buyers ordered once" not in text
    assert "For the 10 one-order buyers" in text


def test_segment_warns_when_few_buyers():
    text = say.segment(fake_table(n_one=6, n_three=6, seg_one=2, seg_three=2))
    assert text.startswith("Only 12 buyers: too few for the shares below to mean much.")


# --- the comparison ---------------------------------------------------------------------------

def test_comparison_lower_revenue_and_rare_discounts_elsewhere():
    text = say.comparison(summary(), "EUR")
    assert text.startswith("62 % of the segment's orders used a discount (95 % CI 58–66 %), 1 % "
                           "of the other buyers'")
    assert "they describe it rather than confirm it" in text
    assert "is lower in the segment: 80.00 EUR against 100.00 EUR (p = 0.001)" in text
    assert "aim coupons and sale reminders at the 300 price-sensitive buyers and keep the 700" in text
    assert "took a discount on 1 % of their orders" in text
    assert "smaller baskets" in text and "holdout test" in text


def test_comparison_same_revenue_higher_revenue_and_no_discount_at_all():
    same = say.comparison(summary(rev=(1088.07, 1065.84), p=0.74), "CNY")
    assert "is about the same: 1,088 CNY against 1,066 CNY (p = 0.74)" in same
    assert "baskets" not in same
    higher = say.comparison(summary(rev=(120.0, 100.0), p=0.01))
    assert "is higher in the segment" in higher and "not low-value customers" in higher
    none = say.comparison(summary(other_discount=0.0))
    assert "they took no discount at all" in none


def test_comparison_when_the_others_take_discounts_too():
    text = say.comparison(summary(other_discount=0.4))
    assert "the other buyers take them too (40 % of their orders)" in text
    assert "keep the 700 others on full price" not in text


def test_comparison_with_an_empty_group():
    s = summary()
    s.loc[0, "buyers"] = 0
    assert say.comparison(s) == "The price-sensitive segment is empty, so there is nothing to compare."


# --- the answer key ---------------------------------------------------------------------------

def agreement(prec, rec, base=0.3, n=2500):
    known = round(base * n)
    both = round(rec * known)
    seg = max(round(both / prec), 1)
    rows = {"all": (n, known, seg, both)}
    for g, f in (("1 order", 0.7), ("2 orders", 0.2), ("3+ orders", 0.1)):
        rows[g] = tuple(round(x * f) for x in (n, known, seg, both))
    a = pd.DataFrame(rows, index=["buyers", "known", "segment", "both"]).T
    a.index.name = "group"
    a["precision"] = a["both"] / a["segment"]
    a["recall"] = a["both"] / a["known"]
    a["base_rate"] = a["known"] / a["buyers"]
    return a


@pytest.mark.parametrize("prec, rec, verdict", [
    (0.55, 0.62, "about half of it is not price-sensitive"),
    (0.65, 0.62, "a good part of it is not price-sensitive"),
    (0.8, 0.7, "most of its members are price-sensitive"),
    (0.6, 0.3, "finds fewer than half of them"),
    (0.33, 0.9, "not much richer in price-sensitive buyers than a random pick"),
])
def test_key_check_verdicts(prec, rec, verdict):
    text = say.key_check(agreement(prec, rec))
    assert text.startswith("**Check against the answer key.**")
    assert verdict in text


def test_key_check_numbers_come_from_the_table():
    a = agreement(0.55, 0.62)
    text = say.key_check(a)
    r = a.loc["all"]
    assert f"{int(r['known']):,} of the {int(r['buyers']):,} buyers (30 %)" in text
    assert f"(precision, {r['precision'] / r['base_rate']:.1f}× the 30 % of a random pick" in text
    assert "for one order;" in text and "for three or more." in text


def test_key_check_without_known_buyers_or_segment():
    a = agreement(0.5, 0.5)
    a["known"] = 0
    assert "cannot be computed" in say.key_check(a)
    b = agreement(0.5, 0.5)
    b.loc["all", "segment"] = 0
    assert "The segment is empty" in say.key_check(b)


# --- on the bundled shop: every number in the sentences is one of the table's -----------------

def test_sentences_on_the_bundled_shop_match_the_tables(store, fitted):
    text = say.segment(fitted)
    k = int((fitted["segment"] == "price-sensitive").sum())
    assert text.startswith(f"{k:,} of the {len(fitted):,} buyers (")
    fit = fitted.attrs["model"]
    assert f"{np.exp(fit.shift):.1f}×" in text
    s = say.comparison(pricing.sensitivity_summary(fitted), store.currency)
    share = fitted.loc[fitted["segment"] == "price-sensitive", "discounted_orders"].sum() / \
        fitted.loc[fitted["segment"] == "price-sensitive", "orders"].sum()
    assert s.startswith(f"{round(100 * share)} % of the segment's orders used a discount")
    a = pricing.agreement(fitted, store.truth["price_sensitivity"]["buyers"])
    key = say.key_check(a)
    assert f"{100 * a.loc['all', 'precision']:.1f} % of the segment is (precision" in key
    assert f"finds {100 * a.loc['all', 'recall']:.1f} % of them (recall)" in key
    promo = say.promotions(fitted.attrs["promotions"])
    n = len(fitted.attrs["promotions"])
    assert re.match(rf"({n} runs of days stand out|One run of days stands out)", promo)
    for part in (text, s, key, promo):
        assert "WELCOME" not in part and "11.11" not in part and "CNY" not in part.replace(
            f" {store.currency}", "")
