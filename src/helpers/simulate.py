"""A simulated shop with a known answer key.

The shop is a generative story, not random columns. Every effect an analysis
in the kit should find is planted here with a known size and written to
``store.truth`` (and ``truth.json``):

* **Arrivals.** New users arrive every day by channel. Organic channels
  follow a weekly rhythm and slow growth. Paid channels answer a planned
  daily spend through geometric adstock and a Hill saturation curve
  (:data:`CHANNEL_RESPONSE`, Jin et al. 2017; key ``truth["channel_response"]``);
  the spend moves in two-week flights. Around the 11.11 sale (Singles' Day)
  arrivals surge. ``Params(channel_response=None)`` (and :func:`steady`) keep
  the older story: paid arrivals follow demand at a fixed cost per visitor.
* **Sessions** walk a page Markov chain (home, search, category, product,
  cart, checkout steps) whose probabilities depend on channel intent, device,
  whether the visitor already bought, the sale, and the checkout experiment.
  Checkout steps depend on the device only, and mobile users fail much more
  often at the payment step (the planted bottleneck). Session conversion
  probabilities are computed exactly from the chain by linear algebra.
* **Prospects** (users who never bought) visit until they buy or leave: after
  a session without a purchase they leave with a fixed probability.
* **Buyers** repurchase as in the BG/NBD model (Fader, Hardie & Lee 2005):
  each has a weekly purchase rate λ ~ Gamma(r, α) and, after every repeat
  purchase, drops out with probability p ~ Beta(a, b). Browsing sessions
  without a purchase arrive at the rate that makes each session's conversion
  probability equal to the chain's (a thinned Poisson process), so the
  purchase process stays exactly BG/NBD.
* **Baskets** have a primary category from the user's taste, independent
  extras, and planted complements (a phone brings a phone case, …).
* **Reviews** depend on delivery delay and the purchase's quality; a low
  rating (≤ 2) makes the reviewer leave for good with a known probability.
  Their text (Chinese by default) says what the review is about: a late
  delivery, poor quality, praise or a so-so verdict (:data:`REVIEW_TOPICS`;
  key ``truth["review_topics"]``).
* **Price-sensitive customers** (the coupon lovers) use offered coupons more
  often and move repeat purchases into a sale (key ``truth["price_sensitivity"]``).
* **Experiments.** ``checkout_redesign`` (new users, 50/50) raises the
  payment-step success by a known relative lift. ``homepage_banner`` has a
  logging bug that loses part of the treatment arm: a sample-ratio mismatch.
* **Win-back campaign.** Lapsed buyers get a 20 %-off e-mail, with a
  randomised 20 % holdout; the incremental purchase probability differs by
  segment.
* **Incidents** (:data:`INCIDENTS`): a payment outage on one device for two
  weeks, a checkout loop on mobile for a month, a few days of low-intent paid
  traffic, and a release that lastingly lifts adding to cart; each with its
  days, segment and the series it moves in ``truth["incidents"]``.
  :func:`steady` gives a shop with none of these, no sale and no effects.
* **Funnel plants** (optional, off in the bundled shop): a hidden slow twin
  of ``begin_checkout`` whose visits outlast a gap and rarely go on to
  shipping (``Params.slow_checkout``); a ``view_reviews`` page after product
  views from which adding to cart is ``review_lift`` times as likely
  (``review_readers``); a placebo ``share`` event logged independently of
  everything (``share_rate``). Keys: ``truth["slow_checkout"]``,
  ``truth["conversion_driver"]``, ``truth["placebo_event"]``.

Run ``python -m helpers.simulate --users 25000 --seed 7 --out data`` to write
a store; the bundled ``data/`` is exactly that.

Examples
--------
>>> store = simulate(users=300, seed=1)
>>> store.available()
['users', 'sessions', 'events', 'items', 'orders', 'order_lines', 'reviews', 'spend', 'assignments', 'campaign_sends']
>>> simulate(users=300, seed=1).events.equals(store.events)
True
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import CHANNELS, Store, save_store, validate

# ----------------------------------------------------------------------------- parameters

STATES = ("home", "search", "category", "product", "view_reviews", "add_to_cart", "view_cart",
          "remove_from_cart", "begin_checkout", "slow_checkout", "add_shipping_info",
          "add_payment_info", "purchase", "exit")
S = {name: i for i, name in enumerate(STATES)}
PURCHASE, EXIT = S["purchase"], S["exit"]
N_TRANSIENT = len(STATES) - 2

# Hidden states of the optional funnel plants, each with the Params field that switches it on
# (0.0: off, the state is never entered). ``slow_checkout`` logs the same event as
# ``begin_checkout``; an analysis sees it only through its dwell time and where it leads.
PLANT_STATES = {"view_reviews": "review_readers", "slow_checkout": "slow_checkout"}

# state -> (event, page_type)
STATE_EVENT = {
    "home": ("page_view", "home"),
    "search": ("search", "search"),
    "category": ("view_item_list", "category"),
    "product": ("view_item", "product"),
    "view_reviews": ("view_reviews", "product"),
    "add_to_cart": ("add_to_cart", "product"),
    "view_cart": ("view_cart", "cart"),
    "remove_from_cart": ("remove_from_cart", "cart"),
    "begin_checkout": ("begin_checkout", "checkout"),
    "slow_checkout": ("begin_checkout", "checkout"),
    "add_shipping_info": ("add_shipping_info", "checkout"),
    "add_payment_info": ("add_payment_info", "checkout"),
    "purchase": ("purchase", "confirmation"),
}

DEVICES = ("mobile", "desktop", "tablet")

# Categories: (name, median price in US dollars — the catalogue converts to CNY at 7 —,
# popularity, base extra-inclusion probability).
CATEGORIES = (
    ("phone", 420.0, 1.0, 0.010),
    ("phone case", 14.0, 0.5, 0.020),
    ("charger", 19.0, 0.6, 0.030),
    ("laptop", 780.0, 0.6, 0.008),
    ("laptop bag", 38.0, 0.3, 0.015),
    ("headphones", 65.0, 0.9, 0.030),
    ("camera", 520.0, 0.4, 0.006),
    ("memory card", 18.0, 0.3, 0.020),
    ("coffee machine", 160.0, 0.5, 0.008),
    ("coffee beans", 12.0, 0.6, 0.025),
    ("running shoes", 85.0, 0.9, 0.020),
    ("sports socks", 9.0, 0.4, 0.025),
    ("skincare", 28.0, 1.2, 0.040),
    ("snacks", 8.0, 1.1, 0.050),
    ("books", 16.0, 1.0, 0.040),
    ("pet food", 24.0, 0.8, 0.040),
    ("toys", 22.0, 0.7, 0.030),
    ("home decor", 35.0, 0.8, 0.030),
)

# Planted complements: if the antecedent category is in a basket, the consequent is added
# with this probability.
COMPLEMENTS = (
    ("phone", "phone case", 0.45),
    ("phone", "charger", 0.30),
    ("laptop", "laptop bag", 0.35),
    ("camera", "memory card", 0.45),
    ("coffee machine", "coffee beans", 0.50),
    ("running shoes", "sports socks", 0.30),
)
NON_PAIRS = (("pet food", "books"),)

SEARCH_TERMS = {
    "phone": ["smartphone", "5g phone", "phone deals"], "phone case": ["phone case", "clear case"],
    "charger": ["fast charger", "usb c charger"], "laptop": ["laptop", "ultrabook", "gaming laptop"],
    "laptop bag": ["laptop bag", "backpack"], "headphones": ["wireless earbuds", "headphones"],
    "camera": ["mirrorless camera", "camera"], "memory card": ["sd card", "memory card"],
    "coffee machine": ["espresso machine", "coffee maker"], "coffee beans": ["coffee beans"],
    "running shoes": ["running shoes", "trainers"], "sports socks": ["sport socks"],
    "skincare": ["moisturiser", "sunscreen", "serum"], "snacks": ["snacks", "nuts"],
    "books": ["novel", "cookbook"], "pet food": ["dog food", "cat food"],
    "toys": ["lego", "puzzle"], "home decor": ["lamp", "cushion"],
}
# Terms the shop has no results for; sessions that search them mostly leave.
DEAD_TERMS = ["iphone 99", "free shipping code", "cheap laptop 50", "ps6", "gift card balance"]

REVIEW_WORDS = {
    1: ["broken on arrival", "arrived very late", "poor quality", "would not buy again"],
    2: ["late delivery", "cheap material", "not as described", "disappointing"],
    3: ["okay for the price", "average quality", "delivery a bit slow", "does the job"],
    4: ["good value", "works well", "nice quality", "quick delivery"],
    5: ["excellent quality", "fast delivery", "love it", "highly recommend"],
}

REGIONS = ("East", "North", "South", "Central", "West")
CITY_TIERS = ("tier 1", "tier 2", "tier 3", "tier 4")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
GENDERS = ("female", "male", "unknown")


@dataclass(frozen=True)
class Incident:
    """A time-bounded (or, with ``end=None``, lasting) change to the shop, planted with a key.

    ``kind`` is one of

    * ``"payment_outage"``: payment succeeds with probability ``size`` (on ``device`` only);
    * ``"checkout_loop"``: a share ``size`` of the shipping step sends people back to the cart;
    * ``"low_intent"``: arrivals from ``channel`` multiplied by ``arrivals``, their first
      session's intent multiplied by ``size`` (a campaign buying poor traffic);
    * ``"release"``: adding to cart from a product page is ``size`` times as likely from
      ``start`` on.

    Days are inclusive and in shop time.
    """

    name: str
    kind: str
    start: str
    end: str | None
    size: float
    device: str | None = None
    channel: str | None = None
    arrivals: float = 1.0


INCIDENTS = (
    Incident("payment outage", "payment_outage", "2025-03-17", "2025-03-30", 0.02,
             device="mobile"),
    Incident("checkout loop", "checkout_loop", "2025-01-13", "2025-02-11", 0.90,
             device="mobile"),
    Incident("low-intent traffic", "low_intent", "2025-05-12", "2025-05-15", 0.15,
             channel="Paid Social", arrivals=6.0),
    Incident("product page release", "release", "2025-07-07", None, 1.4),
)
"""The bundled shop's planted incidents (see data/README.md)."""

# the metric and segment in which helpers.changes.find_changes should see each kind
_INCIDENT_METRIC = {
    "payment_outage": ("add_payment_info → purchase", "down"),
    "checkout_loop": ("add_shipping_info → add_payment_info", "down"),
    "low_intent": ("share of sessions from {channel}", "up"),
    "release": ("view_item → add_to_cart", "up"),
}


@dataclass(frozen=True)
class ChannelResponse:
    """How a paid channel's new visitors answer its spend (Jin et al. 2017).

    The day's adstock is ``A_t = x_t + decay · A_(t-1)`` (spend ``x`` in CNY); the channel
    brings ``max_visitors · A^shape / (A^shape + half^shape)`` new visitors that day, so
    ``half`` is the adstock (CNY) that brings half the most the channel can bring. ``budget``
    is the marketer's ordinary daily spend. All money and visitor figures are for a shop of
    25,000 users and scale with ``users``.
    """

    decay: float
    half: float
    shape: float
    max_visitors: float
    budget: float


CHANNEL_RESPONSE = {
    "Paid Search": ChannelResponse(decay=0.30, half=60.0, shape=1.0, max_visitors=14.0, budget=50.0),
    "Paid Social": ChannelResponse(decay=0.50, half=40.0, shape=1.3, max_visitors=10.0, budget=25.0),
    "Affiliates": ChannelResponse(decay=0.10, half=150.0, shape=1.0, max_visitors=20.0, budget=18.0),
    "Email": ChannelResponse(decay=0.0, half=10.0, shape=1.0, max_visitors=3.0, budget=3.0),
}
"""The bundled shop's planted channel responses (``truth["channel_response"]``)."""

REVIEW_TOPICS = {
    "zh": {
        "late delivery": ["物流太慢了", "快递等了一个多星期", "发货太慢", "配送延迟了好几天",
                          "送货时间太长"],
        "poor quality": ["质量很差", "做工粗糙", "材料很廉价", "用了两天就坏了", "和描述不符"],
        "praise": ["非常满意", "性价比很高", "很好用", "推荐购买", "物美价廉", "包装精美"],
        "so-so": ["还可以吧", "一般般", "中规中矩", "凑合着用", "马马虎虎"],
    },
    "en": {
        "late delivery": ["delivery took far too long", "courier was over a week late",
                          "slow shipping", "parcel delayed for days", "waited ages for delivery"],
        "poor quality": ["poor quality", "cheap material", "broke after two days",
                         "badly made", "not as described"],
        "praise": ["love it", "great value", "works perfectly", "highly recommend",
                   "beautifully packed", "very happy"],
        "so-so": ["it is okay", "average", "nothing special", "does the job", "fine I guess"],
    },
}
"""Phrases of the planted review topics, by language (``Params.review_language``)."""


@dataclass(frozen=True)
class Params:
    """Every knob of the generative story (the answer key is derived from these)."""

    start: str = "2024-01-01"
    end: str = "2025-12-31"
    shop_timezone: str = "Asia/Shanghai"
    sale_days: tuple[str, ...] = ("2024-11-11", "2025-11-11")
    # arrivals: share of new users by channel on an ordinary day
    arrival_mix: dict = field(default_factory=lambda: {
        "Organic Search": 0.24, "Paid Search": 0.20, "Organic Social": 0.10, "Paid Social": 0.16,
        "Email": 0.02, "Referral": 0.06, "Direct": 0.14, "Affiliates": 0.08})
    # cost per new visitor (CNY) for channels with spend
    cost_per_visitor: dict = field(default_factory=lambda: {
        "Paid Search": 7.5, "Paid Social": 5.5, "Affiliates": 6.5, "Email": 2.5})
    # channel intent: multiplies the add-to-cart and checkout-start probabilities
    intent: dict = field(default_factory=lambda: {
        "Organic Search": 1.10, "Paid Search": 1.00, "Organic Social": 0.55, "Paid Social": 0.60,
        "Email": 1.60, "Referral": 0.95, "Direct": 1.45, "Affiliates": 0.85})
    device_mix: dict = field(default_factory=lambda: {"mobile": 0.63, "desktop": 0.29, "tablet": 0.08})
    # checkout steps by device: begin_checkout->shipping, shipping->payment, payment->purchase
    p_shipping: dict = field(default_factory=lambda: {"mobile": 0.84, "desktop": 0.88, "tablet": 0.86})
    p_payment_info: dict = field(default_factory=lambda: {"mobile": 0.85, "desktop": 0.89, "tablet": 0.87})
    p_purchase: dict = field(default_factory=lambda: {"mobile": 0.55, "desktop": 0.88, "tablet": 0.83})
    add_to_cart: float = 0.075          # product -> add_to_cart before intent multipliers
    begin_checkout: float = 0.68        # view_cart -> begin_checkout before intent multipliers
    returning_boost: float = 1.15       # buyers' sessions are a little more purposeful
    sale_boost: float = 1.60            # prospects' add-to-cart during the sale
    prospect_leave: float = 0.30        # P(leave for good) after a prospect session without purchase
    prospect_gap_days: float = 6.0      # mean days between a prospect's sessions
    prospect_return_mix: dict = field(default_factory=lambda: {
        "Organic Search": 0.28, "Paid Search": 0.12, "Organic Social": 0.05, "Paid Social": 0.06,
        "Email": 0.10, "Referral": 0.03, "Direct": 0.33, "Affiliates": 0.03})
    buyer_visit_mix: dict = field(default_factory=lambda: {
        "Organic Search": 0.18, "Paid Search": 0.08, "Organic Social": 0.05, "Paid Social": 0.04,
        "Email": 0.24, "Referral": 0.03, "Direct": 0.35, "Affiliates": 0.03})
    # BG/NBD-like purchase and dropout heterogeneity (rate per week)
    bgnbd_r: float = 0.24
    bgnbd_alpha: float = 12.0
    bgnbd_a: float = 0.85
    bgnbd_b: float = 2.6
    # reviews
    review_prob: float = 0.40
    low_rating_leave: float = 0.40      # P(leave for good) after writing a review rated <= 2
    # checkout experiment on new users
    checkout_experiment: tuple[str, str] = ("2025-06-01", "2025-09-30")
    checkout_lift: float = 0.30         # relative lift of payment -> purchase for treatment
    # SRM experiment
    srm_experiment: tuple[str, str] = ("2025-03-01", "2025-04-15")
    srm_loss: float = 0.50              # share of treatment users on a bounced first session lost
    # win-back campaign
    winback_send: str = "2025-09-15"
    winback_lapsed_days: int = 120
    winback_holdout: float = 0.20
    winback_window_days: int = 30
    winback_discount: float = 0.20
    winback_uplift: dict = field(default_factory=lambda: {
        "repeat, lapsed 120-269d": 0.11, "repeat, lapsed 270d+": 0.05,
        "one-time, lapsed 120-269d": 0.045, "one-time, lapsed 270d+": 0.012})
    # time-bounded incidents and a lasting release (at most 8)
    incidents: tuple = INCIDENTS
    # optional funnel plants (answer keys for step gaps and conversion drivers), off by default:
    # a share of begin_checkout visits is slow (dwell > gap) and rarely goes on to shipping
    slow_checkout: float = 0.0          # share of begin_checkout visits that are slow
    slow_checkout_gap: str = "10min"    # fast visits stay under 0.95 gap, slow ones over 1.05 gap
    slow_checkout_next: float = 0.25    # slow visit -> add_shipping_info; otherwise back to the cart
    # a product view leads to view_reviews, where adding to cart is review_lift times as likely
    review_readers: float = 0.0         # product -> view_reviews (taken from the page's exits)
    review_lift: float = 2.0            # view_reviews -> add_to_cart over product -> add_to_cart
    # placebo: a share event in this share of sessions, drawn independently of the walk
    share_rate: float = 0.0
    # channel response (Jin et al. 2017): paid channels' new visitors answer a planned daily
    # spend through geometric adstock and a Hill curve (CHANNEL_RESPONSE). None: the older story,
    # where paid arrivals follow demand and spend is cost_per_visitor per new visitor
    channel_response: dict | None = field(default_factory=lambda: dict(CHANNEL_RESPONSE))
    spend_flight_days: int = 14         # the marketer resets each channel's level this often
    spend_flight_sd: float = 0.45       # log-sd of a flight's level around the budget
    spend_dark: dict = field(default_factory=lambda: {   # share of flights with no spend
        "Paid Search": 0.08, "Paid Social": 0.08, "Affiliates": 0.10, "Email": 0.15})
    # review topics: each review says what went wrong or right (late delivery, poor quality,
    # praise, so-so; REVIEW_TOPICS) in this language; None keeps the older rating phrases
    review_language: str | None = "zh"
    late_delivery_days: int = 5         # a delivery this late (days) makes a late-delivery review
    poor_quality: float = -0.5          # a purchase's quality draw below this is poor quality
    # price sensitivity: the coupon lovers (this share of users) use offered coupons more often,
    # and move a repeat purchase planned for the sale_pull_days after a sale into the sale with
    # probability sale_pull (lover, other)
    price_sensitive_share: float = 0.3
    welcome_coupon_use: tuple = (0.6, 0.2)
    sale_coupon_use: tuple = (0.7, 0.3)
    sale_pull: tuple = (0.5, 0.05)
    sale_pull_days: int = 45


def steady(**changes) -> Params:
    """Parameters of a shop where nothing happens at a particular time: no sale, no incident,
    no experiment effect, no win-back effect (the null case for ``helpers.changes``). It also
    keeps the older, simpler arrivals (spend a fixed cost per paid visitor) and review phrases.

    >>> steady().incidents, steady().sale_days
    ((), ())
    """
    base = {"sale_days": (), "incidents": (), "checkout_lift": 0.0,
            "winback_uplift": {k: 0.0 for k in Params().winback_uplift},
            "channel_response": None, "review_language": None, "sale_pull": (0.0, 0.0)}
    return Params(**{**base, **changes})


# ----------------------------------------------------------------------------- the chain


def _applies(inc: Incident, device: str, channel: str) -> bool:
    return inc.device in (None, device) and inc.channel in (None, channel)


def _live(p: Params) -> np.ndarray:
    """Indices of the states in use: every state but the hidden ones of plants switched off."""
    off = {S[x] for x, knob in PLANT_STATES.items() if getattr(p, knob) == 0}
    return np.array([i for i in range(len(STATES)) if i not in off])


def _chain(p: Params, device: str, channel: str, returning: bool, sale: bool,
           treated: bool, mask: int = 0, live: np.ndarray | None = None) -> np.ndarray:
    """Transition matrix (states x states) of the page chain for one session type.

    ``mask`` has bit i set when incident ``p.incidents[i]`` is under way for the session;
    ``live`` is :func:`_live` of ``p`` (computed when not given).
    """
    active = [inc for i, inc in enumerate(p.incidents)
              if mask >> i & 1 and _applies(inc, device, channel)]
    kinds = {inc.kind: inc for inc in active}
    m = p.intent[channel] * (p.returning_boost if returning else 1.0)
    if "low_intent" in kinds:
        m *= kinds["low_intent"].size
    atc = p.add_to_cart * m * (0.9 if device == "mobile" else 1.0) * (p.sale_boost if sale else 1.0)
    if "release" in kinds:
        atc *= kinds["release"].size
    # the cart page also leads to removal (0.10) and back to a product (0.10)
    bc = min(0.78, p.begin_checkout * np.sqrt(m))
    q = p.p_purchase[device] * ((1 + p.checkout_lift) if treated else 1.0)
    if "payment_outage" in kinds:
        q = kinds["payment_outage"].size
    ship = p.p_shipping[device]
    loop = kinds["checkout_loop"].size if "checkout_loop" in kinds else 0.0
    # reading reviews is taken from the product page's exits; on the reviews the product page's
    # other ways on stay and adding to cart is review_lift times as likely, capped so the row
    # sums to one (in a steady shop the cap binds only for review_lift above 3.4)
    reviews = min(p.review_readers, 1.0 - 0.53 - atc)
    P = np.zeros((len(STATES), len(STATES)))
    rows = {
        "home": {"search": 0.25, "category": 0.35, "product": 0.15},
        "search": {"product": 0.55, "search": 0.10, "category": 0.10},
        "category": {"product": 0.60, "category": 0.10, "search": 0.05},
        "product": {"product": 0.36, "add_to_cart": atc, "category": 0.12, "search": 0.05,
                    "view_reviews": reviews},
        "view_reviews": {"product": 0.36, "add_to_cart": min(p.review_lift * atc, 1.0 - 0.53),
                         "category": 0.12, "search": 0.05},
        "add_to_cart": {"product": 0.20, "view_cart": 0.62, "category": 0.03},
        "view_cart": {"begin_checkout": bc, "remove_from_cart": 0.10, "product": 0.10},
        "remove_from_cart": {"view_cart": 0.30, "product": 0.20},
        "begin_checkout": {"add_shipping_info": ship},
        # a slow visitor always does something visible next, so the gap split is observable
        "slow_checkout": {"add_shipping_info": p.slow_checkout_next,
                          "view_cart": 1.0 - p.slow_checkout_next},
        "add_shipping_info": {"add_payment_info": p.p_payment_info[device] * (1 - loop),
                              "view_cart": loop},
        "add_payment_info": {"purchase": min(q, 0.99)},
    }
    for src, dests in rows.items():
        for dst, prob in dests.items():
            P[S[src], S[dst]] = prob
    # whatever goes to begin_checkout goes to its slow twin with probability slow_checkout
    P[:, S["slow_checkout"]] = P[:, S["begin_checkout"]] * p.slow_checkout
    P[:, S["begin_checkout"]] *= 1.0 - p.slow_checkout
    # exits summed over the states in use only: with the plants off, the same floating-point
    # sums as a chain without their states (the bundled shop stays bit for bit the same)
    live = _live(p) if live is None else live
    src = [S[x] for x in rows]
    P[src, EXIT] = 1.0 - P[np.ix_(src, live)].sum(axis=1)
    P[PURCHASE, PURCHASE] = P[EXIT, EXIT] = 1.0
    return P


def _landing(channel: str) -> np.ndarray:
    """Landing-page distribution over the transient states for a channel."""
    land = {
        "Organic Search": {"product": 0.55, "category": 0.30, "home": 0.15},
        "Paid Search": {"product": 0.70, "category": 0.20, "home": 0.10},
        "Organic Social": {"product": 0.60, "home": 0.40},
        "Paid Social": {"product": 0.75, "home": 0.25},
        "Email": {"home": 0.45, "product": 0.35, "category": 0.20},
        "Referral": {"product": 0.60, "home": 0.40},
        "Direct": {"home": 0.70, "search": 0.10, "view_cart": 0.05, "category": 0.15},
        "Affiliates": {"product": 0.80, "home": 0.20},
    }[channel]
    v = np.zeros(len(STATES))
    for k, prob in land.items():
        v[S[k]] = prob
    return v


def _absorb(P: np.ndarray, live: np.ndarray) -> np.ndarray:
    """h[i] = P(absorbed in purchase | start in i), by solving (I - Q) h = r.

    The system is solved over the states in use (``live``); a switched-off plant's state, which
    nothing enters, gets h from one step of its row.
    """
    t = live[live < N_TRANSIENT]
    h = np.zeros(len(STATES))
    h[t] = np.linalg.solve(np.eye(len(t)) - P[np.ix_(t, t)], P[t, PURCHASE])
    h[PURCHASE] = 1.0
    if len(t) < N_TRANSIENT:
        off = np.ones(N_TRANSIENT, dtype=bool)
        off[t] = False
        h[:N_TRANSIENT][off] = P[:N_TRANSIENT][off] @ h
    return h


class _Types:
    """All session types, their chains, conditioned chains and conversion probabilities."""

    def __init__(self, p: Params):
        self.keys = []
        mats, land, conv = [], [], []
        self.masks = 2 ** len(p.incidents)
        live = _live(p)
        chains = []
        for d in DEVICES:
            for ch in CHANNELS:
                for ret in (False, True):
                    for sale in (False, True):
                        for tr in (False, True):
                            for mask in range(self.masks):
                                P = _chain(p, d, ch, ret, sale, tr, mask, live)
                                h = _absorb(P, live)
                                pi = _landing(ch)
                                c = float(pi[live] @ h[live])
                                self.keys.append((d, ch, ret, sale, tr, mask))
                                mats.append(_condition(P, h))
                                land.append(np.stack([pi * (1 - h) / (1 - c), pi * h / c]))
                                conv.append(c)
                                chains.append(P)
        self.chains = np.stack(chains)                       # (T, states, states)
        self.index = {k: i for i, k in enumerate(self.keys)}
        # zero columns (a plant switched off) leave the sums and so the draws unchanged
        self.cum = np.cumsum(np.stack(mats), axis=-1)        # (T, 2, states, states)
        self.land_cum = np.cumsum(np.stack(land), axis=-1)   # (T, 2, states)
        self.conv = np.array(conv)

    def idx(self, device, channel, returning, sale, treated, mask=0) -> np.ndarray:
        d = pd.Categorical(device, categories=DEVICES).codes.astype(np.int64)
        c = pd.Categorical(channel, categories=CHANNELS).codes.astype(np.int64)
        r = np.asarray(returning, dtype=np.int64)
        s = np.asarray(sale, dtype=np.int64)
        t = np.asarray(treated, dtype=np.int64)
        m = np.asarray(mask, dtype=np.int64)
        return ((((d * len(CHANNELS) + c) * 2 + r) * 2 + s) * 2 + t) * self.masks + m


def _condition(P: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Doob h-transform: the chain conditioned on not converting [0] or converting [1]."""
    out = np.zeros((2, len(STATES), len(STATES)))
    for k, w in enumerate((1 - h, h)):
        with np.errstate(invalid="ignore", divide="ignore"):
            M = P * w[None, :] / w[:, None]
        M[~np.isfinite(M)] = 0.0
        absorbing = EXIT if k == 0 else PURCHASE
        M[PURCHASE] = 0.0
        M[EXIT] = 0.0
        M[absorbing, absorbing] = 1.0
        out[k] = M
    return out


# ----------------------------------------------------------------------------- simulation


def simulate(users: int = 25_000, seed: int = 7, params: Params | None = None) -> Store:
    """Simulate the shop and return a validated :class:`~helpers.data.Store` with ``truth``.

    Parameters
    ----------
    users : int
        Number of users (visitors) over the whole period.
    seed : int
        Seed of the one random generator; the same seed gives identical tables.
    params : Params, optional
        The generative story's knobs; defaults give the bundled shop.

    Examples
    --------
    >>> store = simulate(users=300, seed=3)
    >>> store.truth["bottleneck"]["device"]
    'mobile'
    """
    p = params or Params()
    rng = np.random.default_rng(seed)
    types = _Types(p)
    start, end = pd.Timestamp(p.start, tz="UTC"), pd.Timestamp(p.end, tz="UTC") + pd.Timedelta("1D")
    cat_names = [c[0] for c in CATEGORIES]

    items = _catalogue(rng)
    users_df, spend_df, traits, paid = _arrivals(p, rng, users, start, end,
                                                  np.random.default_rng([seed, 5]))
    n = len(users_df)

    # --- the checkout test's arms are drawn up front (own generator), because the treatment
    # changes whether a new user buys at all, not only the path through checkout
    in_test, treat = _checkout_arms(p, np.random.default_rng([seed, 2]), users_df)

    # --- prospects: sessions until the first purchase or leaving
    pros = _prospect_sessions(p, rng, users_df, types, end, treat, traits["junk"])
    first_buy = pros.loc[pros["converted"]].set_index("user")["start"]
    first_buy = pd.to_datetime(first_buy, utc=True)

    # --- buyers: BG/NBD repeat purchases
    buyers = first_buy.index.to_numpy()
    lam = rng.gamma(p.bgnbd_r, 1.0 / p.bgnbd_alpha, size=n)    # purchases per week
    drop = rng.beta(p.bgnbd_a, p.bgnbd_b, size=n)
    repeats, death = _repeat_purchases(rng, buyers, first_buy.to_numpy("datetime64[ns]"), lam,
                                       drop, end)
    if max(p.sale_pull) > 0 and p.sale_days:
        repeats, death = _wait_for_sale(p, np.random.default_rng([seed, 6]), repeats, death,
                                        buyers, first_buy, traits, end)

    # --- every purchase gets a basket, review and possible low-rating exit
    purchases = pd.concat([
        pd.DataFrame({"user": buyers, "time": first_buy.to_numpy(), "kind": "first"}),
        repeats.assign(kind="repeat"),
    ], ignore_index=True)
    purchases = _incident_losses(p, rng, purchases, traits, types)
    purchases = _rate_and_exit(p, rng, purchases, traits, death)
    leave_at = purchases.groupby("user")["leave_at"].min()
    alive_until = pd.Series(death, index=buyers).combine(leave_at.reindex(buyers), _min_time)
    purchases = purchases.loc[purchases["time"] <= purchases["user"].map(alive_until)]

    # --- win-back campaign on lapsed buyers (randomised holdout)
    sends, extra = _winback(p, rng, purchases, traits)
    purchases = pd.concat([purchases, extra], ignore_index=True)

    # --- buyers' sessions: converting ones at purchases, browsing ones by thinning
    ret_conv = _purchase_sessions(p, rng, purchases, traits, types)
    ret_browse = _browse_sessions(p, rng, buyers, first_buy, alive_until, lam, traits, types, end)

    sessions = _assemble_sessions(p, rng, pros, ret_conv, ret_browse, traits, end)
    assignments, sessions = _experiments(p, rng, sessions, users_df, in_test, treat)
    walk = _walk(rng, sessions, types)
    assignments = _srm_loss(p, rng, assignments, walk)
    land = walk.loc[walk["step"] == 0].set_index("s")["state"]
    page = np.array([STATE_EVENT[x][1] for x in STATES[:N_TRANSIENT]] + ["", ""], dtype=object)
    sessions["landing_page"] = page[land.reindex(np.arange(len(sessions))).to_numpy()]
    events, orders, lines, order_s = _events_orders(p, rng, sessions, walk, items, traits,
                                                    cat_names)
    if p.share_rate > 0:
        events = _placebo(p, np.random.default_rng([seed, 3]), events)
    reviews = _reviews(p, rng, orders, order_s, lines, purchases, sessions, seed)
    spend_df = _clicks(spend_df, sessions)
    truth = _truth(p, types, items, traits, sends, assignments, sessions)
    truth.update(_review_key(p, reviews))
    truth.update(_response_key(p, paid["scale"], users))
    for ch, spec in truth["channels"].items():
        spec["cost_per_new_visitor"] = round(paid["cost"].get(ch, 0.0), 4)
    truth.update(_price_key(p, traits, orders))
    reviews = reviews.drop(columns=["topic"])

    store = Store(
        users=users_df.drop(columns=["user"]),
        sessions=sessions[["session_id", "user_id", "started_at", "channel", "campaign", "device",
                           "landing_page"]],
        events=events, items=items.drop(columns=["quality"]), orders=orders, order_lines=lines, reviews=reviews,
        spend=spend_df,
        assignments=assignments[["experiment", "user_id", "variant", "assigned_at"]],
        campaign_sends=sends[["campaign", "user_id", "sent_at", "treated"]], truth=truth,
        meta={"currency": "CNY", "timezone": p.shop_timezone, "name": "simulated shop"})
    return validate(store)


def _min_time(a, b):
    if pd.isna(a):
        return b
    if pd.isna(b):
        return a
    return min(a, b)


def _catalogue(rng) -> pd.DataFrame:
    rows = []
    item_id = 1000
    for name, price, _, _ in CATEGORIES:
        brands = [f"{name.split()[0].title()}Co {b}" for b in "ABCD"]
        for k in range(24):
            item_id += 1
            rows.append({
                "item_id": item_id, "category": name, "brand": brands[k % 4],
                "price": round(float(7.0 * price * rng.lognormal(0.0, 0.35)), 2),
                "name": f"{name} {k + 1:02d}",
                "quality": float(rng.normal(0.0, 0.45)),
            })
    return pd.DataFrame(rows)


def _arrivals(p: Params, rng, n_users: int, start, end, plan_rng=None):
    days = pd.date_range(start, end - pd.Timedelta("1D"), freq="D")
    t = np.arange(len(days)) / 365.0
    weekly = np.where(days.day_of_week >= 5, 1.15, 1.0)
    sale = np.ones(len(days))
    for sd in p.sale_days:
        dd = (pd.Timestamp(sd, tz="UTC") - days).days.to_numpy()
        ramp = (dd >= 0) & (dd <= 10)
        sale = sale + np.where(ramp, 3.0 * np.exp(-dd / 2.0), 0.0) + np.where(dd == 0, 5.0, 0.0)
        sale = sale + np.where((dd < 0) & (dd >= -2), 0.8, 0.0)   # after-sale tail
    base = (1.0 + 0.3 * t) * weekly
    spike = np.ones((len(days), len(CHANNELS)))       # a low-intent campaign's extra arrivals
    for inc in p.incidents:
        if inc.kind == "low_intent":
            on = (days.tz_localize(None) >= pd.Timestamp(inc.start)) & (
                days.tz_localize(None) <= pd.Timestamp(inc.end))
            spike[on, list(CHANNELS).index(inc.channel)] *= inc.arrivals
    intensity = np.stack([
        base * (sale if ch not in ("Organic Search", "Referral") else 1 + (sale - 1) * 0.5)
        * p.arrival_mix[ch] for ch in CHANNELS], axis=1) * spike     # (days, channels)
    plan = None
    junk_share = (spike - 1.0) / spike    # of a day's arrivals, those a low-intent spike brought
    if p.channel_response:
        # organic channels keep their demand-driven shape, scaled to new visitors per day as if
        # they held their arrival_mix share of the shop; paid ones answer the spend plan, and a
        # low-intent campaign buys its extra visitors outside the curve
        paid = [CHANNELS.index(ch) for ch in p.channel_response]
        organic = [j for j in range(len(CHANNELS)) if j not in paid]
        share = sum(p.arrival_mix[CHANNELS[j]] for j in organic) / sum(p.arrival_mix.values())
        intensity[:, organic] *= n_users * share / intensity[:, organic].sum()
        plan = _spend_plan(p, plan_rng, days, 1.0 + 0.3 * t, sale, n_users)
        size = n_users / 25_000
        for ch, r in p.channel_response.items():
            j = CHANNELS.index(ch)
            a = adstock(plan[:, j], r.decay) / size
            intensity[:, j] = size * r.max_visitors * a ** r.shape / (a ** r.shape + r.half ** r.shape)
        for j in paid:   # a low-intent campaign: (k - 1) ordinary days' visitors, at the average cost
            extra = (spike[:, j] - 1.0) * intensity[:, j].mean()
            plan[:, j] += extra * plan[:, j].sum() / intensity[:, j].sum()
            junk_share[:, j] = np.divide(extra, intensity[:, j] + extra,
                                         out=np.zeros(len(extra)), where=extra > 0)
            intensity[:, j] += extra
    scale = n_users / intensity.sum()
    probs = intensity / intensity.sum()
    counts = rng.multinomial(n_users, probs.ravel()).reshape(probs.shape)
    day_idx, ch_idx = np.nonzero(counts)
    reps = counts[day_idx, ch_idx]
    day_of_user = np.repeat(day_idx, reps)
    ch_of_user = np.repeat(ch_idx, reps)
    n = len(day_of_user)
    # time of day: a shop in China; evenings busiest (hours in shop time, converted to UTC)
    hour_w = np.array([2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 7, 8, 10, 11, 11, 8, 4],
                      dtype=float)
    hours = rng.choice(24, size=n, p=hour_w / hour_w.sum()) + rng.random(n)
    local = days[day_of_user].tz_localize(None) + pd.to_timedelta(hours * 3600, unit="s")
    first_seen = local.tz_localize(p.shop_timezone).tz_convert("UTC").as_unit("ns")
    order = np.lexsort((ch_of_user, first_seen.asi8))
    first_seen, ch_of_user = first_seen[order], ch_of_user[order]
    day_of_user = day_of_user[order]
    # a user brought by a low-intent spike beyond the channel's usual arrivals that day
    junk = rng.random(n) < junk_share[day_of_user, ch_of_user]
    channel = np.array(CHANNELS)[ch_of_user]
    dev_p = np.array([p.device_mix[d] for d in DEVICES])
    device = np.array(DEVICES)[rng.choice(3, size=n, p=dev_p)]
    social = np.isin(channel, ["Organic Social", "Paid Social"])
    device = np.where(social & (rng.random(n) < 0.3), "mobile", device)
    users = pd.DataFrame({
        "user": np.arange(n),
        "user_id": np.arange(1, n + 1, dtype=np.int64) + 100000,
        "first_seen": first_seen,
        "acquisition_channel": channel,
        "device": device,
        "region": np.array(REGIONS)[rng.choice(5, size=n, p=[0.3, 0.2, 0.25, 0.15, 0.1])],
        "city_tier": np.array(CITY_TIERS)[rng.choice(4, size=n, p=[0.25, 0.35, 0.25, 0.15])],
        "age_band": np.array(AGE_BANDS)[rng.choice(5, size=n, p=[0.18, 0.34, 0.25, 0.14, 0.09])],
        "gender": np.array(GENDERS)[rng.choice(3, size=n, p=[0.52, 0.43, 0.05])],
    })
    pop = np.array([c[2] for c in CATEGORIES])
    affinity = rng.dirichlet(pop * 0.35, size=n)
    traits = {
        "affinity": affinity,
        "device": device,
        "channel": channel,
        "user_id": users["user_id"].to_numpy(),
        "region": users["region"].to_numpy(),
        "coupon_lover": rng.random(n) < p.price_sensitive_share,
        "junk": junk,
    }
    if plan is not None:
        rows = [pd.DataFrame({"date": days.tz_localize(None), "channel": ch,
                              "spend": np.round(plan[:, CHANNELS.index(ch)], 2)})
                for ch in sorted(p.channel_response)]
        # the average cost per new visitor that the curves imply for the spend actually spent
        cost = {ch: float(plan[:, CHANNELS.index(ch)].sum()
                          / (intensity[:, CHANNELS.index(ch)].sum() * scale))
                for ch in p.channel_response}
        return users, pd.concat(rows, ignore_index=True), traits, {"scale": scale, "cost": cost}
    # spend: paid channels' cost is proportional to the arrivals they buy
    rows = []
    for j, ch in enumerate(CHANNELS):
        if ch not in p.cost_per_visitor:
            continue
        noise = rng.lognormal(0.0, 0.08, size=len(days))
        rows.append(pd.DataFrame({
            "date": days.tz_localize(None), "channel": ch,
            "spend": np.round(intensity[:, j] * scale * p.cost_per_visitor[ch] * noise, 2)}))
    spend = pd.concat(rows, ignore_index=True)
    return users, spend, traits, {"scale": scale, "cost": dict(p.cost_per_visitor)}


def adstock(x: np.ndarray, decay: float) -> np.ndarray:
    """Geometric adstock along axis 0: ``A_t = x_t + decay · A_(t-1)``.

    >>> adstock(np.array([10.0, 0.0, 0.0]), 0.5).tolist()
    [10.0, 5.0, 2.5]
    """
    out = np.array(x, dtype=float)
    for t in range(1, len(out)):
        out[t] += decay * out[t - 1]
    return out


def _spend_plan(p: Params, rng, days, growth, push, n_users: int) -> np.ndarray:
    """The marketer's daily spend (CNY) per channel: a level per flight around the budget
    (some flights dark), growing with the shop, pushed around sale days, a little daily noise."""
    size = n_users / 25_000
    plan = np.zeros((len(days), len(CHANNELS)))
    flight = np.arange(len(days)) // p.spend_flight_days
    for ch in sorted(p.channel_response):
        r = p.channel_response[ch]
        level = rng.lognormal(-p.spend_flight_sd ** 2 / 2, p.spend_flight_sd, size=flight[-1] + 1)
        level[rng.random(len(level)) < p.spend_dark.get(ch, 0.0)] = 0.0
        noise = rng.lognormal(0.0, 0.1, size=len(days))
        plan[:, CHANNELS.index(ch)] = r.budget * size * growth * push * level[flight] * noise
    return plan


def _checkout_arms(p: Params, rng, users) -> tuple[np.ndarray, np.ndarray]:
    """Who is in checkout_redesign (first visit in the window) and who is treated (50/50)."""
    lo, hi = (pd.Timestamp(x, tz="UTC") for x in p.checkout_experiment)
    first = pd.to_datetime(users["first_seen"], utc=True).dt.floor("s")
    in_test = ((first >= lo) & (first < hi)).to_numpy()
    treat = in_test & (rng.random(len(users)) < 0.5)
    return in_test, treat


def _prospect_sessions(p: Params, rng, users, types: _Types, end, treat, junk) -> pd.DataFrame:
    n = len(users)
    user = np.arange(n)
    t = users["first_seen"].to_numpy(dtype="datetime64[ns]")
    channel = users["acquisition_channel"].to_numpy()
    device = users["device"].to_numpy()
    sale = _in_sale(p, t)
    out = []
    return_ch = np.array(list(p.prospect_return_mix))
    return_p = np.array(list(p.prospect_return_mix.values()))
    active = np.ones(n, dtype=bool)
    k = 0
    end64 = end.as_unit("ns").to_datetime64()
    while active.any():
        idx = np.flatnonzero(active)
        first_junk = junk[idx] if k == 0 else np.zeros(len(idx), dtype=bool)
        ty = types.idx(device[idx], channel[idx], False, sale[idx], treat[idx],
                       _incident_mask(p, t[idx], first_junk))
        c = types.conv[ty]
        conv = rng.random(len(idx)) < c
        out.append(pd.DataFrame({"user": user[idx], "start": t[idx], "channel": channel[idx],
                                 "returning": False, "converted": conv, "k": k,
                                 "junk": first_junk}))
        leave = rng.random(len(idx)) < p.prospect_leave
        gap = rng.exponential(p.prospect_gap_days, size=len(idx)) * 86400e9
        nxt = t[idx] + gap.astype("timedelta64[ns]")
        cont = ~conv & ~leave & (nxt < end64)
        active[:] = False
        active[idx[cont]] = True
        t = t.copy()
        t[idx] = nxt
        channel = channel.copy()
        channel[idx] = return_ch[rng.choice(len(return_ch), size=len(idx), p=return_p)]
        sale = _in_sale(p, t)
        k += 1
    return pd.concat(out, ignore_index=True)


def _in_sale(p: Params, t) -> np.ndarray:
    """True for timestamps in the ten days up to and including a sale day (shop time)."""
    local = pd.DatetimeIndex(t).tz_localize("UTC") if pd.DatetimeIndex(t).tz is None \
        else pd.DatetimeIndex(t)
    day = local.tz_convert(p.shop_timezone).tz_localize(None).normalize()
    hit = np.zeros(len(day), dtype=bool)
    for sd in p.sale_days:
        d = (pd.Timestamp(sd) - day).days.to_numpy()
        hit |= (d >= 0) & (d <= 10)
    return hit


def _local_day(p: Params, t) -> pd.DatetimeIndex:
    local = pd.DatetimeIndex(t)
    local = local.tz_localize("UTC") if local.tz is None else local
    return local.tz_convert(p.shop_timezone).tz_localize(None).normalize()


def _incident_mask(p: Params, t, junk=None) -> np.ndarray:
    """Bit i set where incident i is under way at time ``t`` (shop days, inclusive).

    A low-intent incident marks only the sessions flagged in ``junk`` (the first sessions of
    the poor traffic it brought); the others mark every session in their days, and the chain
    applies them to their device only.
    """
    day = _local_day(p, t)
    mask = np.zeros(len(day), dtype=np.int64)
    for i, inc in enumerate(p.incidents):
        if inc.kind == "low_intent":
            hit = np.zeros(len(day), dtype=bool) if junk is None else np.asarray(junk, bool)
        else:
            hit = day >= pd.Timestamp(inc.start)
            if inc.end is not None:
                hit &= day <= pd.Timestamp(inc.end)
        mask |= np.where(hit, 1 << i, 0)
    return mask


def _repeat_purchases(rng, buyers, t0, lam, drop, end):
    """BG/NBD: Poisson(λ) repeat purchases; after each repeat, dropout with probability p."""
    week = np.timedelta64(7 * 86400 * 10**9, "ns")
    end64 = end.as_unit("ns").to_datetime64()
    t = t0.astype("datetime64[ns]").copy()
    death = np.full(len(buyers), end64)
    active = np.ones(len(buyers), dtype=bool)
    rows = []
    while active.any():
        idx = np.flatnonzero(active)
        gap = rng.exponential(1.0, size=len(idx)) / lam[buyers[idx]]
        gap = np.minimum(gap, 1e4)
        nxt = t[idx] + (gap * week.astype(np.float64)).astype("timedelta64[ns]")
        inside = nxt < end64
        died = inside & (rng.random(len(idx)) < drop[buyers[idx]])
        rows.append(pd.DataFrame({"user": buyers[idx[inside]], "time": nxt[inside]}))
        death[idx[died]] = nxt[died]
        t[idx] = nxt
        active[:] = False
        active[idx[inside & ~died]] = True
    repeats = pd.concat(rows, ignore_index=True)
    repeats["time"] = pd.to_datetime(repeats["time"]).dt.tz_localize("UTC")
    return repeats, pd.to_datetime(death).tz_localize("UTC")


def _incident_losses(p: Params, rng, purchases: pd.DataFrame, traits, types: _Types):
    """Repeat purchases that an incident makes fail (a payment outage, a checkout loop).

    A buyer's purchases come from the BG/NBD clock, not from the page chain, so each gets the
    channel of its visit here, and where an incident lowers that visit type's conversion from
    c to c' it succeeds with probability c'/c; a failed one stays as a visit that got stuck
    (``lost``: no order, no review; the sale is lost, a small departure from BG/NBD). First
    purchases already follow the chain.
    """
    u = purchases["user"].to_numpy()
    mix = np.array(list(p.buyer_visit_mix.values()))
    ch = np.array(list(p.buyer_visit_mix))[rng.choice(len(mix), size=len(u), p=mix)]
    t = pd.to_datetime(purchases["time"], utc=True).to_numpy()
    key = (traits["device"][u], ch, True, _in_sale(p, t), False)
    keep = types.conv[types.idx(*key, _incident_mask(p, t))] / types.conv[types.idx(*key, 0)]
    lost = (purchases["kind"] == "repeat").to_numpy() & (
        rng.random(len(u)) >= np.minimum(keep, 1.0))
    return purchases.assign(channel=ch, lost=lost)


def _rate_and_exit(p: Params, rng, purchases: pd.DataFrame, traits, death) -> pd.DataFrame:
    """Delivery delay, review and rating per purchase; a low rating may end the customer."""
    purchases = purchases.sort_values(["time", "user"], kind="mergesort").reset_index(drop=True)
    m = len(purchases)
    region = traits["region"][purchases["user"].to_numpy()]
    slow = np.isin(region, ["West", "Central"])
    delay = 1 + rng.poisson(np.where(slow, 3.0, 1.5))
    quality = rng.normal(0.0, 0.45, size=m)
    score = 4.4 + quality - 0.35 * np.maximum(delay - 3, 0) + rng.normal(0, 0.7, size=m)
    rating = np.clip(np.round(score), 1, 5).astype(int)
    reviewed = (rng.random(m) < p.review_prob) & ~purchases["lost"].to_numpy()
    created = purchases["time"] + pd.to_timedelta(delay + rng.uniform(1, 6, size=m), unit="D")
    leaves = reviewed & (rating <= 2) & (rng.random(m) < p.low_rating_leave)
    purchases["delay_days"] = delay
    purchases["quality"] = quality
    purchases["reviewed"] = reviewed
    purchases["rating"] = rating
    purchases["review_at"] = created
    purchases["leave_at"] = created.where(leaves)
    return purchases


def _winback(p: Params, rng, purchases: pd.DataFrame, traits):
    send = pd.Timestamp(p.winback_send, tz="UTC") + pd.Timedelta("2h")
    before = purchases.loc[(purchases["time"] < send) & ~purchases["lost"]]
    last = before.groupby("user")["time"].max()
    count = before.groupby("user").size()
    lapsed_days = (send - last).dt.days
    elig = lapsed_days.index[lapsed_days >= p.winback_lapsed_days].to_numpy()
    ld = lapsed_days.loc[elig].to_numpy()
    freq = count.loc[elig].to_numpy()
    segment = np.where(freq > 1, "repeat", "one-time").astype(object) + np.where(
        ld < 270, ", lapsed 120-269d", ", lapsed 270d+")
    treated = rng.random(len(elig)) >= p.winback_holdout
    uplift = pd.Series(segment).map(p.winback_uplift).to_numpy()
    responds = treated & (rng.random(len(elig)) < uplift)
    sent_at = send + pd.to_timedelta(rng.uniform(0, 3600, size=len(elig)), unit="s")
    sends = pd.DataFrame({"campaign": "winback_2025q3", "user": elig, "user_id": traits["user_id"][elig],
                          "sent_at": sent_at, "treated": treated, "segment": segment})
    sends = sends.sort_values("user_id", kind="mergesort").reset_index(drop=True)
    r_users = elig[responds]
    extra = pd.DataFrame({
        "user": r_users,
        "time": sent_at[responds] + pd.to_timedelta(
            rng.exponential(5.0, size=len(r_users)).clip(0, p.winback_window_days - 1), unit="D"),
        "kind": "winback", "channel": "Email", "lost": False,
    })
    return sends, extra


def _wait_for_sale(p: Params, rng, repeats: pd.DataFrame, death, buyers, first_buy, traits, end):
    """Price-sensitive buyers wait for the sale: a repeat purchase planned for the
    ``sale_pull_days`` after a sale day is moved into that sale's last days with probability
    ``sale_pull`` (lover, other), if the buyer's first purchase came before the sale's ten days. Purchases are only moved earlier, never added or removed, so
    the purchase counts stay BG/NBD; a buyer who dropped out at a moved purchase drops out then.
    """
    t = pd.DatetimeIndex(repeats["time"])
    lover = traits["coupon_lover"][repeats["user"].to_numpy()]
    first = pd.DatetimeIndex(first_buy.reindex(repeats["user"].to_numpy()))
    new = t.copy()
    todo = np.ones(len(t), dtype=bool)
    for sd in sorted(p.sale_days):
        day_end = (pd.Timestamp(sd) + pd.Timedelta("1D")).tz_localize(p.shop_timezone)
        after = todo & (t >= day_end) & (t < day_end + pd.Timedelta(days=p.sale_pull_days)) & (
            first < day_end - pd.Timedelta("11D"))
        back = np.minimum(rng.exponential(1.5, size=len(t)), 9.99)
        moves = after & (rng.random(len(t)) < np.where(lover, *p.sale_pull))
        moved_to = (day_end - pd.to_timedelta(back, unit="D")).tz_convert("UTC")
        new = new.where(~moves, moved_to)
        todo &= ~after
    repeats = repeats.assign(time=new)
    died = death < end
    last = repeats.groupby("user")["time"].max().reindex(buyers)
    death = pd.DatetimeIndex(np.where(died, last.to_numpy("datetime64[ns]"),
                                      death.tz_localize(None).to_numpy())).tz_localize("UTC")
    return repeats, death


def _purchase_sessions(p, rng, purchases, traits, types):
    u = purchases["user"].to_numpy()
    lost = purchases["lost"].to_numpy(dtype=bool)
    kind = np.where(lost, "lost", purchases["kind"].to_numpy())
    # a converting session starts a few minutes before its purchase; the walk sets the exact
    # purchase time later, so here only the start is approximate
    return pd.DataFrame({"user": u, "start": purchases["time"].to_numpy(),
                         "channel": purchases["channel"].to_numpy(), "returning": True,
                         "converted": ~lost, "kind": kind})


def _browse_sessions(p, rng, buyers, first_buy, alive_until, lam, traits, types, end):
    """Non-converting sessions of buyers: per channel a Poisson process of rate w λ (1/c − 1)."""
    dev = traits["device"][buyers]
    mix = p.buyer_visit_mix
    start = first_buy.to_numpy("datetime64[ns]")
    stop = pd.to_datetime(alive_until.reindex(buyers), utc=True).to_numpy("datetime64[ns]")
    span_weeks = (stop - start) / np.timedelta64(7 * 86400, "s")
    span_weeks = np.maximum(span_weeks.astype(float), 0.0)
    frames = []
    for ch, w in mix.items():
        c = types.conv[types.idx(dev, np.full(len(buyers), ch), True, False, False)]
        rate = w * lam[buyers] * (1.0 / c - 1.0)
        k = rng.poisson(rate * span_weeks)
        u = np.repeat(buyers, k)
        off = rng.random(k.sum()) * np.repeat(span_weeks, k) * 7 * 86400
        t = np.repeat(start, k) + pd.to_timedelta(off, unit="s").to_numpy()
        frames.append(pd.DataFrame({"user": u, "start": t, "channel": ch, "returning": True,
                                    "converted": False}))
    out = pd.concat(frames, ignore_index=True)
    out["start"] = pd.to_datetime(out["start"], utc=True)
    return out.loc[out["start"] < end]


def _assemble_sessions(p, rng, pros, ret_conv, ret_browse, traits, end):
    pros = pros.assign(kind=np.where(pros["converted"], "first", "prospect"))
    ret_conv = ret_conv.loc[ret_conv["kind"] != "first"]
    # a purchase session opens 3-40 minutes before the purchase
    lead = pd.to_timedelta(rng.uniform(180, 2400, size=len(ret_conv)), unit="s")
    ret_conv = ret_conv.assign(start=pd.to_datetime(ret_conv["start"], utc=True) - lead)
    ret_browse = ret_browse.assign(kind="browse")
    s = pd.concat([pros.drop(columns=["k"]), ret_conv, ret_browse], ignore_index=True)
    s["start"] = pd.to_datetime(s["start"], utc=True).dt.as_unit("ns").dt.floor("s")
    s = s.loc[s["start"] < end]
    s["device"] = traits["device"][s["user"].to_numpy()]
    s["user_id"] = traits["user_id"][s["user"].to_numpy()]
    s["sale"] = _in_sale(p, s["start"].to_numpy())
    s["junk"] = s["junk"].astype("boolean").fillna(False).astype(bool)
    s["mask"] = _incident_mask(p, s["start"].to_numpy(), s["junk"].to_numpy())
    s = s.sort_values(["start", "user_id"], kind="mergesort").reset_index(drop=True)
    s["session_id"] = np.arange(1, len(s) + 1, dtype=np.int64) + 5_000_000
    s["started_at"] = s["start"]
    camp = np.full(len(s), None, dtype=object)
    chan = s["channel"].to_numpy()
    camp[chan == "Paid Search"] = "search_brand"
    camp[(chan == "Paid Search") & (rng.random(len(s)) < 0.5)] = "search_generic"
    camp[chan == "Paid Social"] = "social_prospecting"
    camp[chan == "Email"] = "newsletter"
    camp[chan == "Affiliates"] = "affiliate_network"
    camp[(s["kind"] == "winback").to_numpy()] = "winback_2025q3"
    camp[s["sale"].to_numpy() & np.isin(chan, ["Paid Search", "Paid Social", "Email"])] = "double11"
    s["campaign"] = camp
    return s


def _experiments(p, rng, sessions, users, in_test, treat):
    """Assign new users to the checkout test and visitors to the (broken) banner test."""
    first = sessions.drop_duplicates("user", keep="first")
    rows = []
    # checkout_redesign: new users whose first session falls in the window, 50/50
    inwin = first.loc[in_test[first["user"].to_numpy()]]
    variant = np.where(treat[inwin["user"].to_numpy()], "treatment", "control")
    rows.append(pd.DataFrame({"experiment": "checkout_redesign", "user": inwin["user"].to_numpy(),
                              "user_id": inwin["user_id"].to_numpy(), "variant": variant,
                              "assigned_at": inwin["start"].to_numpy()}))
    treated_users = set(inwin["user"].to_numpy()[variant == "treatment"])
    # homepage_banner: everyone with a session in the window, assigned at their first one there
    lo, hi = (pd.Timestamp(x, tz="UTC") for x in p.srm_experiment)
    win = sessions.loc[(sessions["start"] >= lo) & (sessions["start"] < hi)]
    firstw = win.drop_duplicates("user", keep="first")
    v = np.where(rng.random(len(firstw)) < 0.5, "treatment", "control")
    rows.append(pd.DataFrame({"experiment": "homepage_banner", "user": firstw["user"].to_numpy(),
                              "user_id": firstw["user_id"].to_numpy(), "variant": v,
                              "assigned_at": firstw["start"].to_numpy(),
                              "_sid": firstw.index.to_numpy()}))
    a = pd.concat(rows, ignore_index=True)
    # the treatment flag drives the checkout chain of those users' prospect sessions
    sessions["treated"] = sessions["user"].isin(treated_users) & (sessions["kind"].isin(
        ["prospect", "first"]))
    a["assigned_at"] = pd.to_datetime(a["assigned_at"], utc=True)
    return a, sessions


def _srm_loss(p, rng, assignments, walk):
    """The banner test's logging bug: treatment users whose first session bounced may be lost."""
    n_steps = walk.groupby("s").size()
    sid = assignments["_sid"]
    bounced = sid.notna() & sid.map(n_steps).eq(1)
    lost = (assignments["experiment"].eq("homepage_banner") & assignments["variant"].eq("treatment")
            & bounced & (rng.random(len(assignments)) < p.srm_loss))
    return assignments.loc[~lost].reset_index(drop=True)


def _walk(rng, sessions, types: _Types) -> pd.DataFrame:
    """Walk each session's conditioned chain; returns (session row, step, state)."""
    ty = types.idx(sessions["device"].to_numpy(), sessions["channel"].to_numpy(),
                   sessions["returning"].to_numpy(), sessions["sale"].to_numpy(),
                   sessions["treated"].to_numpy(), sessions["mask"].to_numpy())
    conv = sessions["converted"].to_numpy().astype(np.int64)
    n = len(sessions)
    u = rng.random(n)
    state = (types.land_cum[ty, conv] < u[:, None]).sum(axis=1)
    rows_s, rows_k, rows_x = [np.arange(n)], [np.zeros(n, dtype=np.int64)], [state]
    active = np.flatnonzero(state < N_TRANSIENT)
    step = 0
    cur = state.copy()
    while len(active):
        step += 1
        if step > 400:
            raise RuntimeError("session walk did not end; check the chain")
        cum = types.cum[ty[active], conv[active], cur[active]]
        nxt = (cum < rng.random(len(active))[:, None]).sum(axis=1)
        nxt = np.minimum(nxt, EXIT)
        cur[active] = nxt
        keep = nxt != EXIT
        rows_s.append(active[keep])
        rows_k.append(np.full(keep.sum(), step))
        rows_x.append(nxt[keep])
        active = active[nxt < N_TRANSIENT]
    walk = pd.DataFrame({"s": np.concatenate(rows_s), "step": np.concatenate(rows_k),
                         "state": np.concatenate(rows_x)})
    return walk.sort_values(["s", "step"], kind="mergesort").reset_index(drop=True)


def _baskets(rng, users: np.ndarray, affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category baskets: primary from taste, independent extras, planted complements.

    Returns (basket row, category index) pairs without duplicates.
    """
    m = len(users)
    k = len(CATEGORIES)
    names = [c[0] for c in CATEGORIES]
    cum = np.cumsum(affinity[users], axis=1)
    primary = np.minimum((cum < rng.random(m)[:, None] * cum[:, -1:]).sum(axis=1), k - 1)
    has = np.zeros((m, k), dtype=bool)
    has[np.arange(m), primary] = True
    beta = np.array([c[3] for c in CATEGORIES])
    has |= rng.random((m, k)) < beta[None, :]
    for a, b, prob in COMPLEMENTS:
        ia, ib = names.index(a), names.index(b)
        has[:, ib] |= has[:, ia] & (rng.random(m) < prob)
    return np.nonzero(has)


# event name and page type of each state, as lookup arrays (exit has neither)
_EVENT_OF = np.array([STATE_EVENT.get(x, (None, None))[0] for x in STATES], dtype=object)
_PAGE_OF = np.array([STATE_EVENT.get(x, (None, None))[1] for x in STATES], dtype=object)


def _events_orders(p, rng, sessions, walk, items, traits, cat_names):
    n_cat = len(CATEGORIES)
    s_user = sessions["user"].to_numpy()
    aff = traits["affinity"]
    # the category a session is about
    cum = np.cumsum(aff[s_user], axis=1)
    focus = np.minimum((cum < rng.random(len(sessions))[:, None]).sum(axis=1), n_cat - 1)

    # ---- orders for converting sessions
    conv_s = np.flatnonzero(sessions["converted"].to_numpy())
    b_row, b_cat = _baskets(rng, s_user[conv_s], aff)
    item_cat = pd.Categorical(items["category"], categories=cat_names).codes
    by_cat = np.array([np.flatnonzero(item_cat == c) for c in range(n_cat)])  # n_cat x 24
    # popularity within a category is Zipf-like: the first items sell most
    zipf = 1.0 / np.arange(1, 25) ** 0.9
    zipf = zipf / zipf.sum()
    pick = rng.choice(24, size=len(b_row), p=zipf)
    item_idx = by_cat[b_cat, pick].astype(np.int64)
    qty = 1 + (rng.random(len(b_row)) < 0.12) + (rng.random(len(b_row)) < 0.03)
    lines = pd.DataFrame({"s": conv_s[b_row], "item": item_idx, "quantity": qty})
    lines["unit_price"] = items["price"].to_numpy()[item_idx]
    sale_s = sessions["sale"].to_numpy()
    lines.loc[sale_s[lines["s"]], "unit_price"] = (lines["unit_price"] * 0.85).round(2)

    # ---- events from the walk
    ev = walk.merge(pd.DataFrame({"s": np.arange(len(sessions))}), on="s")
    st = ev["state"].to_numpy()
    dwell_med = {"home": 12, "search": 15, "category": 25, "product": 40, "view_reviews": 35,
                 "add_to_cart": 6, "view_cart": 18, "remove_from_cart": 5, "begin_checkout": 25,
                 "add_shipping_info": 45, "add_payment_info": 30, "purchase": 5}
    med = np.array([dwell_med.get(x, 5) for x in STATES], dtype=float)[st]
    mobile = sessions["device"].to_numpy()[ev["s"].to_numpy()] == "mobile"
    med = med * np.where(mobile & (st >= S["begin_checkout"]), 1.4, 1.0)
    dwell = med * rng.lognormal(0.0, 0.8, size=len(ev))
    if p.slow_checkout > 0:
        # the gap splits the two begin_checkout states exactly (5 % margins absorb the
        # millisecond rounding of timestamps): fast visits are capped at 0.95 gap, slow ones
        # last 1.05 gap plus an exponential with mean one gap
        gap = pd.Timedelta(p.slow_checkout_gap).total_seconds()
        fast, slow = st == S["begin_checkout"], st == S["slow_checkout"]
        dwell[fast] = np.minimum(dwell[fast], 0.95 * gap)
        dwell[slow] = gap * (1.05 + rng.exponential(1.0, size=int(slow.sum())))
    # time of each event = session start + dwell of previous events
    prev = np.concatenate([[0.0], dwell[:-1]])
    first_in_s = np.r_[True, ev["s"].to_numpy()[1:] != ev["s"].to_numpy()[:-1]]
    prev[first_in_s] = 0.0
    offs = pd.Series(prev).groupby(ev["s"].to_numpy()).cumsum().to_numpy()
    ev["ts"] = sessions["start"].to_numpy("datetime64[ns]")[ev["s"].to_numpy()] + pd.to_timedelta(
        np.round(offs, 3), unit="s").to_numpy()

    # items for product views: mostly the session's focus category
    is_view = st == S["product"]
    n_view = int(is_view.sum())
    own = rng.random(n_view) < 0.75
    s_of_view = ev["s"].to_numpy()[is_view]
    cum_v = np.cumsum(aff[s_user[s_of_view]], axis=1)
    other = np.minimum((cum_v < rng.random(n_view)[:, None]).sum(axis=1), n_cat - 1)
    vcat = np.where(own, focus[s_of_view], other)
    vpick = rng.choice(24, size=n_view, p=zipf)
    view_item = by_cat[vcat, vpick].astype(np.int64)
    item_col = np.full(len(ev), -1, dtype=np.int64)
    item_col[is_view] = view_item
    # reviews are of the product just viewed (view_reviews is entered from product pages only)
    is_rev = st == S["view_reviews"]
    item_col[is_rev] = item_col[np.flatnonzero(is_rev) - 1]
    # cart events carry the item of the product page just viewed (the previous event)
    is_atc = st == S["add_to_cart"]
    item_col[is_atc] = item_col[np.flatnonzero(is_atc) - 1]
    # in converting sessions, add_to_cart items are the basket's items (cycled), and the product
    # view right before each add gets the same item; extra basket items are added as quick adds
    conv_flag = sessions["converted"].to_numpy()[ev["s"].to_numpy()]
    atc_conv = np.flatnonzero(is_atc & conv_flag)
    atc_s = ev["s"].to_numpy()[atc_conv]
    atc_rank = pd.Series(atc_s).groupby(atc_s).cumcount().to_numpy()
    lines = lines.sort_values(["s", "item"], kind="mergesort").reset_index(drop=True)
    line_rank = lines.groupby("s").cumcount().to_numpy()
    n_lines = lines.groupby("s").size()
    nl = n_lines.reindex(atc_s).to_numpy()
    first_line = (lines.groupby("s").cumcount() == 0)
    first_pos = pd.Series(np.flatnonzero(first_line.to_numpy()), index=lines.loc[first_line, "s"])
    li = first_pos.reindex(atc_s).to_numpy() + (atc_rank % nl)
    item_col[atc_conv] = lines["item"].to_numpy()[li]
    item_col[atc_conv - 1] = lines["item"].to_numpy()[li]
    # an add made from the reviews: the product view before them shows the same item
    via_rev = st[atc_conv - 1] == S["view_reviews"]
    item_col[atc_conv[via_rev] - 2] = lines["item"].to_numpy()[li[via_rev]]
    n_atc = pd.Series(atc_s).groupby(atc_s).size()
    missing = lines.loc[line_rank >= n_atc.reindex(lines["s"]).fillna(0).to_numpy()]
    is_rm = st == S["remove_from_cart"]
    # removal is of the most recently added item of the session
    last_item = pd.Series(np.where(is_atc, item_col, np.nan)).groupby(ev["s"].to_numpy()).ffill()
    # a removal from a cart saved in an earlier session takes an item of the session's category
    rm_item = last_item.to_numpy()[is_rm]
    saved = np.isnan(rm_item)
    fallback = by_cat[focus[ev["s"].to_numpy()[is_rm]], 0].astype(np.int64)
    item_col[is_rm] = np.where(saved, fallback, np.nan_to_num(rm_item)).astype(np.int64)

    # quick adds: an add_to_cart right after the session's last add_to_cart
    last_atc = pd.Series(np.flatnonzero(is_atc & conv_flag), index=atc_s).groupby(level=0).max()
    # sessions that bought a saved cart (landed on the cart, added nothing) get no quick adds
    missing = missing.loc[missing["s"].isin(last_atc.index)]
    q_pos = last_atc.reindex(missing["s"]).to_numpy()
    extra = pd.DataFrame({
        "s": missing["s"].to_numpy(), "step": ev["step"].to_numpy()[q_pos],
        "state": S["add_to_cart"],
        "ts": ev["ts"].to_numpy()[q_pos] + pd.to_timedelta(
            (np.arange(len(missing)) % 5 + 1) * 2.0, unit="s").to_numpy(),
        "item": missing["item"].to_numpy(),
        "sub": np.arange(1, len(missing) + 1)})
    ev["item"] = item_col
    ev["sub"] = 0
    ev = pd.concat([ev, extra], ignore_index=True)
    ev = ev.sort_values(["s", "step", "sub"], kind="mergesort").reset_index(drop=True)
    # quick adds sit right after the last add; keep time non-decreasing within a session
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["ts"] = ev.groupby("s")["ts"].cummax()

    # search terms and list categories
    is_search = ev["state"].to_numpy() == S["search"]
    s_arr = ev["s"].to_numpy()
    nxt_state = np.r_[ev["state"].to_numpy()[1:], -1]
    nxt_same = np.r_[s_arr[1:] == s_arr[:-1], False]
    leaves = is_search & ~(nxt_same & (nxt_state != S["exit"]))
    dead = leaves & (rng.random(len(ev)) < 0.45)
    term = np.full(len(ev), None, dtype=object)
    fc = focus[s_arr]
    for c, nm in enumerate(cat_names):
        sel = is_search & ~dead & (fc == c)
        opts = SEARCH_TERMS[nm]
        term[sel] = np.array(opts, dtype=object)[rng.integers(0, len(opts), size=sel.sum())]
    term[dead] = np.array(DEAD_TERMS, dtype=object)[rng.integers(0, len(DEAD_TERMS), size=dead.sum())]
    items_cat = items["category"].to_numpy()
    cat = np.full(len(ev), None, dtype=object)
    has_item = ev["item"].to_numpy() >= 0
    cat[has_item] = items_cat[ev["item"].to_numpy()[has_item]]
    is_list = ev["state"].to_numpy() == S["category"]
    cat[is_list] = np.array(cat_names, dtype=object)[fc[is_list]]

    # ---- orders: one per converting session, at its purchase event
    lines["line_value"] = lines["quantity"] * lines["unit_price"]
    gross = lines.groupby("s")["line_value"].sum()
    purch = ev.loc[ev["state"] == PURCHASE, ["s", "ts"]].drop_duplicates("s")
    orders = pd.DataFrame({"s": purch["s"].to_numpy(), "ordered_at": purch["ts"].to_numpy()})
    orders["gross"] = gross.reindex(orders["s"]).to_numpy()
    kind = sessions["kind"].to_numpy()[orders["s"].to_numpy()]
    sale = sessions["sale"].to_numpy()[orders["s"].to_numpy()]
    lover = traits["coupon_lover"][s_user[orders["s"].to_numpy()]]
    coupon = np.full(len(orders), None, dtype=object)
    rate = np.zeros(len(orders))
    welcome = (kind == "first") & (rng.random(len(orders)) < np.where(lover, *p.welcome_coupon_use))
    coupon[welcome], rate[welcome] = "WELCOME10", 0.10
    sale_c = sale & (rng.random(len(orders)) < np.where(lover, *p.sale_coupon_use))
    coupon[sale_c], rate[sale_c] = "SALE1111", 0.12
    wb = kind == "winback"
    coupon[wb], rate[wb] = "WINBACK20", p.winback_discount
    orders["discount"] = np.round(orders["gross"] * rate, 2)
    orders["revenue"] = np.round(orders["gross"] - orders["discount"], 2)
    orders["coupon"] = coupon
    u_ = rng.random(len(orders))
    orders["status"] = np.where(u_ < 0.03, "cancelled", np.where(u_ < 0.075, "refunded", "completed"))
    orders = orders.sort_values(["ordered_at", "s"], kind="mergesort").reset_index(drop=True)
    orders["order_id"] = np.arange(1, len(orders) + 1, dtype=np.int64) + 900_000
    orders["session_id"] = sessions["session_id"].to_numpy()[orders["s"].to_numpy()]
    orders["user_id"] = sessions["user_id"].to_numpy()[orders["s"].to_numpy()]
    orders["kind"] = sessions["kind"].to_numpy()[orders["s"].to_numpy()]

    # purchase event value = order revenue
    val = np.full(len(ev), np.nan)
    is_p = ev["state"].to_numpy() == PURCHASE
    rev = pd.Series(orders["revenue"].to_numpy(), index=orders["s"].to_numpy())
    val[is_p] = rev.reindex(ev.loc[is_p, "s"]).to_numpy()
    prices = items["price"].to_numpy()
    val[has_item] = prices[ev["item"].to_numpy()[has_item]]
    ev["value"] = val

    item_ids = items["item_id"].to_numpy()
    events = pd.DataFrame({
        "session_id": sessions["session_id"].to_numpy()[s_arr],
        "user_id": sessions["user_id"].to_numpy()[s_arr],
        "ts": pd.to_datetime(ev["ts"], utc=True).dt.round("ms"),
        "event": _EVENT_OF[ev["state"].to_numpy()],
        "page_type": _PAGE_OF[ev["state"].to_numpy()],
        "item_id": pd.array(np.where(has_item, item_ids[np.maximum(ev["item"].to_numpy(), 0)], 0),
                            dtype="Int64"),
        "category": cat,
        "search_term": term,
        "value": val,
    })
    events.loc[~has_item, "item_id"] = pd.NA
    events = events.sort_values(["ts", "session_id"], kind="mergesort").reset_index(drop=True)

    lines_out = lines.merge(orders[["s", "order_id"]], on="s")
    lines_out = lines_out.assign(item_id=item_ids[lines_out["item"].to_numpy()])
    lines_out = lines_out.sort_values(["order_id", "item_id"], kind="mergesort")
    lines_out = lines_out[["order_id", "item_id", "quantity", "unit_price"]].reset_index(drop=True)
    orders_out = orders[["order_id", "user_id", "session_id", "ordered_at", "status", "revenue",
                         "discount", "coupon"]].copy()
    return events, orders_out, lines_out, orders["s"].to_numpy()


def _placebo(p: Params, rng, events: pd.DataFrame) -> pd.DataFrame:
    """The placebo event: a ``share`` of the session's landing page in a share ``p.share_rate``
    of sessions, drawn on its own generator and independently of the walk, so it neither
    causes nor reflects buying (conversion odds ratio 1).

    It sits halfway between the session's first and second event (30 s after a lone event),
    so always before any purchase, and carries the landing page's type, item and category.
    """
    first = events.drop_duplicates("session_id", keep="first")      # events are in time order
    second = events.groupby("session_id", sort=False)["ts"].nth(1)
    second = pd.Series(second.to_numpy(), index=events.loc[second.index, "session_id"])
    first = first.sort_values("session_id", kind="mergesort")
    hit = rng.random(len(first)) < p.share_rate
    f = first.loc[hit]
    t0 = f["ts"]
    t1 = pd.Series(second.reindex(f["session_id"]).to_numpy(), index=f.index)
    ts = (t0 + ((t1 - t0) / 2).fillna(pd.Timedelta("30s"))).dt.round("ms")
    share = f.assign(ts=ts, event="share", search_term=None)
    out = pd.concat([events, share], ignore_index=True)
    return out.sort_values(["ts", "session_id"], kind="mergesort").reset_index(drop=True)


def _reviews(p, rng, orders, order_s, lines, purchases, sessions, seed=0):
    """Reviews come from the purchase table's planned rating, one item per reviewed order."""
    users = sessions["user"].to_numpy()[order_s]
    o = orders.assign(user=users).reset_index(drop=True)
    # match each order to its planned purchase (same user, nearest time)
    plan = purchases.loc[~purchases["lost"].astype(bool),
                         ["user", "time", "reviewed", "rating", "review_at", "delay_days",
                          "quality"]].copy()
    plan = plan.sort_values("time", kind="mergesort")
    o = o.sort_values("ordered_at", kind="mergesort")
    m = pd.merge_asof(o, plan.rename(columns={"time": "ordered_at_plan"}),
                      left_on="ordered_at", right_on="ordered_at_plan", by="user",
                      direction="nearest")
    m = m.loc[m["reviewed"].fillna(False).astype(bool) & (m["status"] == "completed")]
    first_line = lines.drop_duplicates("order_id", keep="first").set_index("order_id")["item_id"]
    rating = m["rating"].astype(int).to_numpy()
    if p.review_language is None:
        words = np.array([REVIEW_WORDS[r][j]
                          for r, j in zip(rating, rng.integers(0, 4, size=len(m)))], dtype=object)
        late = (m["delay_days"].to_numpy() >= 5) & (rating <= 3)
        words = np.where(late, words + np.array(", arrived late", dtype=object), words)
        topic = np.full(len(m), None, dtype=object)
    else:
        topic = _review_topic(p, m["delay_days"].to_numpy(), m["quality"].to_numpy(), rating)
        words = _review_text(p, np.random.default_rng([seed, 4]), topic)
    created = pd.to_datetime(m["review_at"], utc=True) + (m["ordered_at"] - m["ordered_at_plan"])
    rev = pd.DataFrame({
        "order_id": m["order_id"].to_numpy(),
        "user_id": m["user_id"].to_numpy(),
        "item_id": first_line.reindex(m["order_id"]).to_numpy(),
        "rating": rating,
        "text": words,
        "created_at": created.dt.round("s").to_numpy(),
        "topic": topic,
    })
    # the extract ends with the period: reviews not yet written by then do not exist
    end = pd.Timestamp(p.end, tz="UTC") + pd.Timedelta("1D")
    rev = rev.loc[rev["created_at"] < end]
    return rev.sort_values(["created_at", "order_id"], kind="mergesort").reset_index(drop=True)


def _review_topic(p: Params, delay, quality, rating) -> np.ndarray:
    """What a review is about: a late delivery or poor quality when that is what pulled its
    score down (the larger of the two penalties when both), else praise (4-5 stars) or so-so."""
    late = delay >= p.late_delivery_days
    poor = quality < p.poor_quality
    delay_penalty = 0.35 * np.maximum(delay - 3, 0)
    topic = np.where(rating >= 4, "praise", "so-so").astype(object)
    topic[poor] = "poor quality"
    topic[late & (~poor | (delay_penalty >= -quality))] = "late delivery"
    return topic


def _review_text(p: Params, rng, topic) -> np.ndarray:
    """One or two phrases of the review's topic in ``p.review_language``."""
    phrases = REVIEW_TOPICS[p.review_language]
    sep = "，" if p.review_language == "zh" else ", "
    out = np.empty(len(topic), dtype=object)
    first = rng.random(len(topic))
    second = rng.random(len(topic))
    two = rng.random(len(topic)) < 0.5
    for i, t in enumerate(topic):
        options = phrases[t]
        a = int(first[i] * len(options))
        text = options[a]
        if two[i]:
            b = (a + 1 + int(second[i] * (len(options) - 1))) % len(options)
            text = text + sep + options[b]
        out[i] = text
    return out


def _review_key(p: Params, reviews: pd.DataFrame) -> dict:
    """Answer key of the planted review topics: each topic's cause, size, mean rating and orders."""
    if p.review_language is None:
        return {}
    cause = {"late delivery": f"delivery took at least {p.late_delivery_days} days and that "
                              "hurt the score more than the item's quality",
             "poor quality": f"the purchase's quality draw was below {p.poor_quality}",
             "praise": "neither, rated 4-5", "so-so": "neither, rated 1-3"}
    topics = {}
    for name in REVIEW_TOPICS[p.review_language]:
        r = reviews.loc[reviews["topic"] == name]
        topics[name] = {"cause": cause[name], "reviews": len(r),
                        "mean_rating": round(float(r["rating"].mean()), 3) if len(r) else None,
                        "order_ids": sorted(int(x) for x in r["order_id"])}
    return {"review_topics": {"language": p.review_language, "topics": topics,
                              "note": "each review has one topic; its text is one or two "
                                      "phrases of that topic (REVIEW_TOPICS)"}}


def _clicks(spend, sessions):
    day = sessions["started_at"].dt.tz_localize(None).dt.normalize()
    clicks = sessions.assign(date=day).groupby(["date", "channel"]).size().rename("clicks")
    out = spend.merge(clicks.reset_index(), on=["date", "channel"], how="left")
    out["clicks"] = out["clicks"].fillna(0).astype("int64")
    return out.sort_values(["date", "channel"], kind="mergesort").reset_index(drop=True)


def _expected_lift(affinity: np.ndarray, reps: int | None = None, seed: int = 12345) -> list[dict]:
    """Lift of each planted pair expected for this shop's orders, by Monte Carlo of the basket model.

    ``affinity`` holds one row per order (the buyer's category taste); the baskets of those
    orders are redrawn ``reps`` times with a separate generator, so the key is what the basket
    model implies for the shop's actual buyers, and the sample lift wanders around it only by
    basket-drawing noise.
    """
    rng = np.random.default_rng(seed)
    if reps is None:  # about 250k baskets in all, at most 60 draws per order
        reps = min(60, -(-250_000 // max(len(affinity), 1)))
    aff = np.tile(affinity, (reps, 1))
    n = len(aff)
    rows, cats = _baskets(rng, np.arange(n), aff)
    has = np.zeros((n, len(CATEGORIES)), dtype=bool)
    has[rows, cats] = True
    names = [c[0] for c in CATEGORIES]
    out = []
    for a, b, prob in COMPLEMENTS + tuple((a, b, 0.0) for a, b in NON_PAIRS):
        ia, ib = names.index(a), names.index(b)
        pa, pb, pab = has[:, ia].mean(), has[:, ib].mean(), (has[:, ia] & has[:, ib]).mean()
        out.append({"antecedent": a, "consequent": b, "add_probability": prob,
                    "support": round(float(pab), 5), "confidence": round(float(pab / pa), 4),
                    "lift": round(float(pab / (pa * pb)), 3)})
    return out


def _truth(p: Params, types: _Types, items, traits, sends, assignments, sessions) -> dict:
    dev_p = p.device_mix
    chan = {}
    for ch in CHANNELS:
        new = sum(dev_p[d] * types.conv[types.index[(d, ch, False, False, False, 0)]] for d in DEVICES)
        ret = sum(dev_p[d] * types.conv[types.index[(d, ch, True, False, False, 0)]] for d in DEVICES)
        chan[ch] = {"arrival_share": p.arrival_mix[ch],
                    "cost_per_new_visitor": p.cost_per_visitor.get(ch, 0.0),
                    "intent": p.intent[ch],
                    "session_conversion_new": round(float(new), 5),
                    "session_conversion_returning": round(float(ret), 5)}
    steps = {d: {"begin_checkout->add_shipping_info": p.p_shipping[d],
                 "add_shipping_info->add_payment_info": p.p_payment_info[d],
                 "add_payment_info->purchase": p.p_purchase[d]} for d in DEVICES}
    # checkout experiment: expected user-level conversion of a new user by variant. A prospect
    # converts at each session with probability c and otherwise leaves with probability `leave`:
    # P(buy) = c1 + (1 - c1)(1 - leave) c2 / (c2 + (1 - c2) leave), c1 for the first session's
    # type and c2 the mix-average of later sessions.
    ab = assignments.loc[assignments["experiment"] == "checkout_redesign"]
    first = sessions.drop_duplicates("user", keep="first").set_index("user")
    conv_by_variant = {}
    for v in ("control", "treatment"):
        u = ab.loc[ab["variant"] == v, "user"].to_numpy()
        f = first.loc[u]
        tr = v == "treatment"
        c1 = types.conv[types.idx(f["device"].to_numpy(), f["channel"].to_numpy(), False,
                                  f["sale"].to_numpy(), tr)]
        mix = p.prospect_return_mix
        c2 = sum(w * types.conv[types.idx(f["device"].to_numpy(), np.full(len(f), ch), False,
                                          False, tr)] for ch, w in mix.items())
        lv = p.prospect_leave
        pb = c1 + (1 - c1) * (1 - lv) * c2 / (c2 + (1 - c2) * lv)
        conv_by_variant[v] = float(pb.mean())
    ab_lift = conv_by_variant["treatment"] / conv_by_variant["control"] - 1
    srm = assignments.loc[assignments["experiment"] == "homepage_banner", "variant"].value_counts()
    truth = {
        "description": "Answer key of the simulated shop (helpers.simulate). Rates per week for BG/NBD.",
        "period": {"start": p.start, "end": p.end, "shop_timezone": p.shop_timezone},
        "currency": "CNY",
        "channels": chan,
        "channel_conversion_rank": sorted(
            CHANNELS, key=lambda c: -(0.5 * chan[c]["session_conversion_new"]
                                      + 0.5 * chan[c]["session_conversion_returning"])),
        "device_mix": p.device_mix,
        "checkout_steps_by_device": steps,
        "dead_search_terms": sorted(DEAD_TERMS),
        "bottleneck": {"step": "purchase", "from_step": "add_payment_info", "device": "mobile",
                       "rate": p.p_purchase["mobile"],
                       "rate_other_devices": {d: p.p_purchase[d] for d in DEVICES if d != "mobile"}},
        "basket_complements": _expected_lift(
            traits["affinity"][sessions.loc[sessions["converted"], "user"].to_numpy()]),
        "checkout_ab": {"experiment": "checkout_redesign", "population": "new users whose first "
                        "session falls in the window", "window": list(p.checkout_experiment),
                        "payment_step_relative_lift": p.checkout_lift,
                        "expected_conversion": {k: round(v, 5) for k, v in conv_by_variant.items()},
                        "user_conversion_relative_lift": round(ab_lift, 4),
                        "user_conversion_absolute_lift": round(
                            conv_by_variant["treatment"] - conv_by_variant["control"], 5)},
        "srm_experiment": {"experiment": "homepage_banner", "expected_ratio": [0.5, 0.5],
                           "bug": "treatment users whose first session in the window bounced "
                                  f"are lost from the log with probability {p.srm_loss}",
                           "observed": {k: int(v) for k, v in srm.sort_index().items()},
                           "true_effect": 0.0},
        "winback": {"campaign": "winback_2025q3", "send": p.winback_send,
                    "eligible": f"buyers whose last purchase was >= {p.winback_lapsed_days} days "
                                "before the send", "holdout": p.winback_holdout,
                    "window_days": p.winback_window_days, "discount": p.winback_discount,
                    "uplift_by_segment": p.winback_uplift,
                    "segment_sizes": {k: int(v) for k, v in
                                      sends["segment"].value_counts().sort_index().items()},
                    "note": "uplift = probability of an extra, campaign-caused purchase within the "
                            "window for a treated user; the measured uplift in 'any purchase' is "
                            "uplift x (1 - natural purchase rate), a few percent smaller"},
        "bgnbd": {"r": p.bgnbd_r, "alpha": p.bgnbd_alpha, "a": p.bgnbd_a, "b": p.bgnbd_b,
                  "time_unit": "week",
                  "note": "repeat purchases after the first purchase; a low rating and the win-back "
                          "campaign add small departures from the pure model"},
        "review_churn": {"low_rating": "rating <= 2", "leave_probability": p.low_rating_leave,
                         "next_purchase_risk_ratio": round(1 - p.low_rating_leave, 3),
                         "note": "ratings are independent of a user's purchase rate, so a low "
                                 "rating multiplies the chance of any later purchase by 0.6"},
        "sale": {"days": list(p.sale_days), "name": "11.11 (Singles' Day)",
                 "arrival_multiplier_on_day": 1 + 3.0 + 5.0, "prospect_add_to_cart_boost":
                 p.sale_boost, "price_discount": 0.15},
        "prospects": {"leave_probability": p.prospect_leave,
                      "mean_days_between_sessions": p.prospect_gap_days},
        "incidents": _incident_key(p),
    }
    truth.update(_plant_key(p, types, sessions))
    return truth


def _plant_key(p: Params, types: _Types, sessions) -> dict:
    """Answer keys of the optional funnel plants that are switched on (none by default)."""
    out = {}
    if p.slow_checkout > 0:
        out["slow_checkout"] = {
            "event": "begin_checkout", "after": "begin_checkout", "step": "add_shipping_info",
            "gap": p.slow_checkout_gap, "share": p.slow_checkout,
            "p_next_fast": dict(p.p_shipping), "p_next_slow": p.slow_checkout_next,
            "slow_otherwise": "view_cart",
            "note": "a share of begin_checkout visits (any session type) is slow: it lasts "
                    "more than 1.05 gap and goes on to add_shipping_info with p_next_slow, "
                    "else back to view_cart (never a silent exit); a fast one lasts at most "
                    "0.95 gap and goes on with p_next_fast by device, else the session ends. "
                    "So every begin_checkout whose next event comes more than gap later is "
                    "slow, and every other is fast"}
    if p.review_readers > 0:
        pv, rv, atc = S["product"], S["view_reviews"], S["add_to_cart"]
        walked = np.unique(types.idx(sessions["device"].to_numpy(), sessions["channel"].to_numpy(),
                                     sessions["returning"].to_numpy(), sessions["sale"].to_numpy(),
                                     sessions["treated"].to_numpy(), sessions["mask"].to_numpy()))
        ratio = types.chains[walked, rv, atc] / types.chains[walked, pv, atc]
        out["conversion_driver"] = {
            "event": "view_reviews", "page_type": "product", "from": "view_item",
            "p_from_view_item": p.review_readers, "add_to_cart_lift": p.review_lift,
            "add_to_cart_ratio_range": [round(float(ratio.min()), 4),
                                        round(float(ratio.max()), 4)],
            "note": "a product view leads to view_reviews with p_from_view_item (taken from "
                    "the page's exits); from there every way on is as from a product page, "
                    "except add_to_cart: add_to_cart_lift times as likely, capped at 0.47 "
                    "(add_to_cart_ratio_range: the ratio over the session types walked)"}
    if p.share_rate > 0:
        out["placebo_event"] = {
            "event": "share", "share_of_sessions": p.share_rate, "odds_ratio": 1.0,
            "note": "logged right after the session's first event in a random share of "
                    "sessions, independently of the walk: no effect on buying"}
    return out


def _response_key(p: Params, scale: float, users: int) -> dict:
    """Answer key of the planted channel responses, in the store's visitors and CNY."""
    if not p.channel_response:
        return {}
    size = users / 25_000
    return {"channel_response": {
        "outcome": "new users per day by acquisition channel",
        "adstock": "geometric, A_t = spend_t + decay * A_(t-1)",
        "response": "max_response * A^shape / (A^shape + half_saturation^shape)",
        "channels": {ch: {"decay": r.decay, "half_saturation": round(r.half * size, 6),
                          "shape": r.shape, "max_response": round(float(r.max_visitors * size * scale), 6),
                          "ordinary_daily_budget": round(r.budget * size, 6)}
                     for ch, r in sorted(p.channel_response.items())},
        "note": "new users are drawn from all channels' curves at once (their total is fixed), "
                "so max_response includes that small rescaling; a low-intent campaign's extra "
                "visitors and spend lie outside the curve"}}


def _price_key(p: Params, traits, orders: pd.DataFrame) -> dict:
    """Answer key of price sensitivity: who is price-sensitive among the buyers, and how."""
    if not (max(p.sale_pull) > 0 or p.welcome_coupon_use[0] != p.welcome_coupon_use[1]):
        return {}
    lover = pd.Series(traits["coupon_lover"], index=traits["user_id"])
    buyers = np.unique(orders["user_id"].to_numpy())
    return {"price_sensitivity": {
        "share_of_users": p.price_sensitive_share,
        "welcome_coupon_use": dict(zip(("sensitive", "other"), p.welcome_coupon_use)),
        "sale_coupon_use": dict(zip(("sensitive", "other"), p.sale_coupon_use)),
        "wait_for_sale": dict(zip(("sensitive", "other"), p.sale_pull)),
        "wait_for_sale_days": p.sale_pull_days,
        "buyers": sorted(int(u) for u in buyers[lover.reindex(buyers).to_numpy()]),
        "note": "price-sensitive users use an offered coupon (welcome on a first order, the sale "
                "coupon during a sale's ten days) more often, and move a repeat purchase planned "
                "for the wait_for_sale_days after a sale day into the sale's last days with "
                "probability wait_for_sale; buyers lists the price-sensitive users with an order"}}


def _incident_key(p: Params) -> list[dict]:
    """Each planted incident with the series and segment where a change finder should see it."""
    out = []
    for inc in p.incidents:
        metric, direction = _INCIDENT_METRIC[inc.kind]
        where = {"device": inc.device} if inc.device else {}
        if inc.channel:
            where["channel"] = inc.channel
        segment = "all" if inc.kind == "low_intent" or not where else ", ".join(
            f"{k}={v}" for k, v in where.items())
        out.append({"name": inc.name, "kind": inc.kind, "start": inc.start,
                    "end": inc.end or p.end, "lasting": inc.end is None, **where,
                    "metric": metric.format(channel=inc.channel), "segment": segment,
                    "direction": direction, "size": inc.size,
                    **({"arrival_multiplier": inc.arrivals} if inc.kind == "low_intent" else {})})
    return out


ID_STRIDE = 10_000_000_000
"""Id offset per chunk in :func:`stream`, so user, session and order ids stay unique."""


def stream(users: int, seed: int, out: str | Path, *, chunk_users: int = 250_000,
           params: Params | None = None, echo=None) -> dict:
    """Write a large shop chunk by chunk, never holding more than one chunk in memory.

    Each chunk of ``chunk_users`` users is an independent :func:`simulate` run (seed
    ``seed * 1_000_003 + k`` for chunk ``k``) whose user, session and order ids are shifted by
    ``k * ID_STRIDE``; its tables go to ``<out>/<table>/part-<k>.parquet``. Read them with a
    glob (``<out>/events/*.parquet``) in DuckDB or ``pd.read_parquet(<out>/events)``. ``items``
    is chunk 0's catalogue (each chunk draws its own prices, so item prices agree only with
    chunk 0's events); ``spend`` is summed over chunks; there is no single answer key. Meant for
    scale benchmarks.

    Returns the row count per table.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     counts = stream(400, 5, d, chunk_users=200)
    ...     ids = pd.read_parquet(Path(d) / "users")["user_id"]
    >>> counts["users"], ids.is_unique
    (400, True)
    """
    out = Path(out)
    counts: dict[str, int] = {}
    spend: list[pd.DataFrame] = []
    shift = {"user_id": 1, "session_id": 1, "order_id": 1}
    for k, first in enumerate(range(0, users, chunk_users)):
        n = min(chunk_users, users - first)
        st = simulate(n, seed=seed * 1_000_003 + k, params=params)
        for table in st.available():
            if table == "items" and k > 0:
                continue
            if table == "spend":  # one row per (date, channel): summed over chunks at the end
                spend.append(st.spend)
                continue
            df = getattr(st, table)
            for col in shift:
                if col in df.columns:
                    df[col] = df[col] + k * ID_STRIDE
            (out / table).mkdir(parents=True, exist_ok=True)
            df.to_parquet(out / table / f"part-{k:05d}.parquet", index=False)
            counts[table] = counts.get(table, 0) + len(df)
        if echo:
            echo(f"chunk {k}: {n:,} users, {len(st.events):,} events")
        del st
    if spend:
        total = (pd.concat(spend).groupby(["date", "channel"], sort=True)
                 .agg(spend=("spend", "sum"), clicks=("clicks", "sum")).reset_index())
        total["spend"] = total["spend"].round(2)
        (out / "spend").mkdir(parents=True, exist_ok=True)
        total.to_parquet(out / "spend" / "part-00000.parquet", index=False)
        counts["spend"] = len(total)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.simulate", description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=25_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="data")
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    ap.add_argument("--chunk-users", type=int, default=None,
                    help="stream a large shop in chunks of this many users to OUT/<table>/part-*.parquet")
    args = ap.parse_args(argv)
    if args.chunk_users:
        counts = stream(args.users, args.seed, args.out, chunk_users=args.chunk_users, echo=print)
        print(f"wrote {counts} to {args.out}")
        return 0
    store = simulate(users=args.users, seed=args.seed)
    save_store(store, args.out, fmt=args.format, overwrite=True)  # regenerating replaces the shop
    print(f"wrote {store!r} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
