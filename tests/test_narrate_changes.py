"""Sentences of the "What changed" section (helpers.narrate.changes) on hand-made finding tables."""

import pandas as pd

from helpers.narrate import changes as nc

COLS = ["metric", "segment", "kind", "start", "end", "baseline", "during", "ci_low", "ci_high",
        "p_value", "impact"]


def found(rows, series=None):
    f = pd.DataFrame(rows, columns=COLS)
    for c in ("start", "end"):
        f[c] = pd.to_datetime(f[c])
    if series is not None:
        f.attrs["series"] = series
    return f


OUTAGE = ("add_payment_info → purchase", "device=desktop", "period", "2024-09-02", "2024-09-15",
          0.88, 0.05, 0.031, 0.079, 1e-9, -28.2)
SHIFT = ("share of sessions with search", "all", "shift", "2025-10-01", "2025-12-31", 0.86, 0.97,
         0.965, 0.975, 1e-6, 1234.4)


def test_nothing_found_says_so_with_the_number_of_series_searched():
    text = nc.what_changed(found([], series=129))
    assert text.startswith(nc.HEADING)
    assert "no significant change found" in text
    assert "none of the 129 series searched" in text
    assert "- " not in text


def test_the_count_can_be_given_and_overrides_the_tables():
    text = nc.what_changed(found([], series=129), series_count=12)
    assert "none of the 12 series searched" in text


def test_one_series_searched_reads_in_the_singular():
    text = nc.what_changed(found([], series=1))
    assert "no significant change found: the one series searched has no period" in text
    assert "1 significant change stands out in the one series searched:" in nc.what_changed(
        found([OUTAGE], series=1))


def test_no_series_searched_means_too_little_data():
    text = nc.what_changed(found([], series=0))
    assert "too little data" in text and "none of" not in text
    # find_changes searched nothing: a count of the series it was given does not change that
    assert "too little data" in nc.what_changed(found([], series=0), series_count=30)
    # a table without the count still says that nothing was found
    assert "no significant change found" in nc.what_changed(found([]))
    assert "no significant change found" in nc.what_changed(None)


def test_a_period_reads_with_its_dates_segment_direction_interval_and_impact():
    text = nc.what_changed(found([OUTAGE], series=40))
    assert text.startswith("**What changed:** 1 significant change stands out among the 40 "
                           "series searched:")
    assert ("- From 2 Sep to 15 Sep 2024, on desktop, add_payment_info → purchase fell to 5 % "
            "(95 % CI 3.1–7.9 %) from 88 % on the ordinary days around it: about 28 fewer sessions went "
            "on to purchase.") in text
    assert "more change" not in text


def test_one_shift_reads_from_its_start_on_against_the_rate_before():
    text = nc.what_changed(found([SHIFT], series=3))
    assert ("- From 1 Oct 2025 on, the share of sessions with search rose to 97 % "
            "(95 % CI 96.5–97.5 %) from 86 % before: since then, about 1,234 more "
            "sessions had search.") in text
    assert "around it" not in text


def test_more_than_shown_lists_the_first_and_counts_the_rest():
    rows = [(f"share of sessions from Channel {i}", "all", "period", "2025-03-01", "2025-03-04",
             0.10, 0.10 + 0.01 * (7 - i), 0.09, 0.2, 0.001, 70 - 10 * i) for i in range(7)]
    text = nc.what_changed(found(rows, series=50), shown=3)
    assert "7 significant changes stand out among the 50 series searched; the 3 with the largest " \
           "impact:" in text
    assert [line for line in text.splitlines() if line.startswith("- ")] == [
        f"- From 1 Mar to 4 Mar 2025, the share of sessions from Channel {i} rose to "
        f"{17 - i} % (95 % CI 9–20 %) from 10 % on the ordinary days around it: about {70 - 10 * i} more "
        f"sessions than usual came from Channel {i}." for i in range(3)]
    assert text.endswith("4 more changes with a smaller impact are not listed here.")
    one_more = nc.what_changed(found(rows[:2], series=50), shown=1)
    assert one_more.endswith("1 more change with a smaller impact is not listed here.")
    assert "the one with the largest impact:" in one_more


def test_all_shown_when_there_are_few():
    text = nc.what_changed(found([OUTAGE, SHIFT], series=9))
    assert "2 significant changes stand out among the 9 series searched, largest impact first:" \
        in text
    assert sum(line.startswith("- ") for line in text.splitlines()) == 2
    assert "not listed" not in text


def test_segments_metrics_and_dates_in_words():
    assert nc.segment("channel=Paid Social") == "in sessions from Paid Social"
    assert nc.segment("city_tier=1") == "where city_tier is 1"
    assert nc.when("period", "2024-12-30", "2025-01-02") == "From 30 Dec 2024 to 2 Jan 2025"
    new = ("share of new visitors", "all", "period", "2025-11-10", "2025-11-11", 0.177, 0.497,
           0.463, 0.53, 1e-80, 275.5)
    assert "the share of new visitors rose to 49.7 %" in nc.finding(found([new]).iloc[0])
    assert "about 276 more sessions came from new visitors." in nc.finding(found([new]).iloc[0])
    # an impact that rounds to no session is not mentioned; an unknown metric reads generically
    tiny = ("minutes per session", "all", "period", "2025-01-01", "2025-01-05", 0.5, 0.4, 0.3,
            0.5, 0.01, -0.3)
    assert nc.finding(found([tiny]).iloc[0]).endswith("fell to 40 % (95 % CI 30–50 %) from 50 % "
                                                      "on the ordinary days around it.")
    one = tiny[:-1] + (-1.2,)
    assert nc.finding(found([one]).iloc[0]).endswith(": about 1 fewer session than at the usual "
                                                     "rate.")


def test_a_headline_gives_purchases_and_the_other_series_it_shows_in():
    row = pd.Series({"metric": "add_shipping_info → add_payment_info", "segment": "all",
                     "kind": "period", "start": pd.Timestamp("2025-01-13"),
                     "end": pd.Timestamp("2025-02-11"), "baseline": 0.86, "during": 0.44,
                     "ci_low": 0.39, "ci_high": 0.49, "impact": -128.4, "purchases": -83.3,
                     "also": ["a → b (device=mobile)", "c (all)", "d (all)", "e (all)"]})
    text = nc.finding(row)
    assert ("about 128 fewer sessions went on to add_payment_info, which makes about 83 fewer "
            "purchases.") in text
    assert text.endswith("The same change shows in a → b (device=mobile), c (all), d (all) and "
                         "1 more.")
