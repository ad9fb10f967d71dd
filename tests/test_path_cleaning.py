"""Tests of helpers.paths.clean_paths: rules, merged repeats, and paths that still add up."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import data, paths

PRODUCT_ID = (r"^/product/\d+$", "/product/:id")


def _ts(*minutes):
    return pd.to_datetime("2025-01-01 10:00", utc=True) + pd.to_timedelta(list(minutes), "min")


def log(rows, col="page"):
    """rows: (session_id, minute, page, event) -> an events table."""
    df = pd.DataFrame(rows, columns=["session_id", "minute", col, "event"])
    df.insert(1, "ts", _ts(*df.pop("minute")))
    return df


@pytest.fixture(scope="module")
def events():
    return data.load_store().events


# --------------------------------------------------------------------------- rules


def test_a_rule_maps_ids_to_one_page_and_counts_the_rows_it_changed():
    ev = log([(1, 0, "/product/1", "view_item"), (1, 1, "/cart", "view_cart"),
              (2, 0, "/product/22", "view_item"), (2, 1, "/product/22x", "view_item")])
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID], merge_repeats=False)
    assert out["page"].tolist() == ["/product/:id", "/cart", "/product/:id", "/product/22x"]
    report = pd.DataFrame(out.attrs["cleaning"])
    assert report.to_dict("records") == [{"rule": 1, "pattern": PRODUCT_ID[0],
                                          "replacement": "/product/:id", "matched": 2,
                                          "changed": 2}]
    assert (out.attrs["values_in"], out.attrs["values_out"]) == (4, 3)
    assert out.attrs["overwritten"] and out.attrs["column"] == "page"
    assert out["repeats"].tolist() == [1, 1, 1, 1]


def test_rules_apply_in_turn_by_default_and_stop_at_the_first_match_on_request():
    ev = log([(1, 0, "/product/7", "view_item"), (1, 1, "/p/8", "view_item"),
              (1, 2, "/home", "page_view")])
    rules = [(r"^/product/", "/p/"), (r"^/p/\d+$", "product"), (r"^.*$", "other")]
    # in turn: /product/7 -> /p/7 -> product -> other; every value ends as "other"
    seq = paths.clean_paths(ev, by="page", rules=rules, merge_repeats=False)
    assert seq["page"].tolist() == ["other", "other", "other"]
    assert pd.DataFrame(seq.attrs["cleaning"])[["matched", "changed"]].values.tolist() == \
        [[1, 1], [2, 2], [3, 3]]
    # first match: /product/7 -> /p/7 (rule 1 only), /p/8 -> product (rule 2), /home -> other
    first = paths.clean_paths(ev, by="page", rules=rules, first_match=True, merge_repeats=False)
    assert first["page"].tolist() == ["/p/7", "product", "other"]
    assert pd.DataFrame(first.attrs["cleaning"])[["matched", "changed"]].values.tolist() == \
        [[1, 1], [1, 1], [1, 1]]


def test_a_rule_that_matches_without_changing_is_matched_not_changed():
    ev = log([(1, 0, "/cart", "view_cart"), (1, 1, "/product/3", "view_item")])
    out = paths.clean_paths(ev, by="page", rules={r"^/cart$": "/cart", r"\d+": ":id"},
                            first_match=True, merge_repeats=False)
    assert out["page"].tolist() == ["/cart", "/product/:id"]
    assert pd.DataFrame(out.attrs["cleaning"])[["matched", "changed"]].values.tolist() == \
        [[1, 0], [1, 1]]


def test_replacements_can_use_groups():
    ev = log([(1, 0, "/de/product/3", "view_item"), (1, 1, "/fr/cart", "view_cart")])
    out = paths.clean_paths(ev, by="page", rules=[(r"^/(\w\w)/(\w+).*$", r"\2 (\1)")],
                            merge_repeats=False)
    assert out["page"].tolist() == ["product (de)", "cart (fr)"]


def test_into_keeps_the_raw_column_and_is_reported():
    ev = log([(1, 0, "/product/1", "view_item"), (1, 1, "/product/2", "view_item")])
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID], into="template")
    assert out[["page", "template", "repeats"]].values.tolist() == [
        ["/product/1", "/product/:id", 2]]
    assert out.attrs["column"] == "template" and not out.attrs["overwritten"]
    again = paths.clean_paths(out.drop(columns="repeats"), by="page", into="template",
                              merge_repeats=False)
    assert again.attrs["overwritten"]  # an existing column was replaced


# --------------------------------------------------------------------------- merging


def test_merging_keeps_the_first_row_of_each_run_and_counts_the_repeats():
    ev = log([(1, 0, "product", "view_item"), (1, 1, "product", "view_item"),
              (1, 2, "cart", "view_cart"), (1, 3, "product", "view_item"),
              (2, 0, "product", "view_item"), (2, 1, "product", "add_to_cart")],
             col="page_type")
    out = paths.clean_paths(ev)
    # the run in session 1 is broken by the cart; session 2's run does not join session 1's
    assert out.index.tolist() == [0, 2, 3, 4]
    assert out[["session_id", "page_type", "repeats"]].values.tolist() == [
        [1, "product", 2], [1, "cart", 1], [1, "product", 1], [2, "product", 2]]
    assert int(out["repeats"].sum()) == len(ev)
    assert out.attrs["rows_in"] == 6 and out.attrs["merged"] == 2
    assert pd.DataFrame(out.attrs["merged_events"]).values.tolist() == [
        ["product", "add_to_cart", 1], ["product", "view_item", 1]]


def test_ties_in_time_keep_their_row_order_and_the_first_row_in_time_is_kept():
    # rows: 0 home@1, 1 product@1, 2 home@0 -> in time order home(2), home(0), product(1)
    ev = log([(1, 1, "home", "page_view"), (1, 1, "product", "view_item"),
              (1, 0, "home", "page_view")], col="page_type")
    out = paths.clean_paths(ev)
    assert out.index.tolist() == [1, 2]  # input order; row 2 is the run's first event
    assert out[["page_type", "repeats"]].values.tolist() == [["product", 1], ["home", 2]]
    # equal times, row order home, product, home: no two neighbours agree, nothing merged
    tie = log([(1, 0, "home", "page_view"), (1, 0, "product", "view_item"),
               (1, 0, "home", "page_view")], col="page_type")
    assert paths.clean_paths(tie)["repeats"].tolist() == [1, 1, 1]


def test_a_purchase_is_never_merged_away_unless_asked():
    ev = log([(1, 0, "checkout", "begin_checkout"), (1, 1, "checkout", "purchase"),
              (1, 2, "checkout", "page_view")], col="page_type")
    kept = paths.clean_paths(ev)
    assert kept[["event", "repeats"]].values.tolist() == [["begin_checkout", 1],
                                                          ["purchase", 2]]
    assert paths.clean_paths(ev, keep=())[["event", "repeats"]].values.tolist() == [
        ["begin_checkout", 3]]


def test_events_can_be_the_states():
    ev = log([(1, 0, "/", "view_item"), (1, 1, "/", "view_item"), (1, 2, "/", "purchase"),
              (1, 3, "/", "purchase")])
    out = paths.clean_paths(ev, by="event")
    assert out[["event", "repeats"]].values.tolist() == [["view_item", 2], ["purchase", 1],
                                                         ["purchase", 1]]
    renamed = paths.clean_paths(ev, by="event", rules={"^view_item$": "look"})
    assert renamed[["event", "repeats"]].values.tolist() == [["look", 2], ["purchase", 1],
                                                             ["purchase", 1]]
    assert renamed.attrs["merged_events"] == {"event": ["look"], "rows": [1]}


def test_cleaning_twice_still_adds_up_to_the_raw_rows():
    ev = log([(1, 0, "/product/1", "view_item"), (1, 1, "/product/1", "view_item"),
              (1, 2, "/product/2", "view_item"), (1, 3, "/cart", "view_cart")])
    once = paths.clean_paths(ev, by="page")
    assert once["repeats"].tolist() == [2, 1, 1]
    twice = paths.clean_paths(once, by="page", rules=[PRODUCT_ID])
    assert twice[["page", "repeats"]].values.tolist() == [["/product/:id", 3], ["/cart", 1]]


def test_top_paths_after_cleaning_on_a_hand_made_log():
    rows = [(1, 0, "/", "page_view"), (1, 1, "/product/1", "view_item"),
            (1, 2, "/product/2", "view_item"), (1, 3, "/cart", "view_cart"),
            (1, 4, "/thanks", "purchase"),
            (2, 0, "/", "page_view"), (2, 1, "/product/3", "view_item"),
            (3, 0, "/product/1", "view_item"), (3, 1, "/product/1", "view_item"),
            (4, 0, "/", "page_view"), (4, 1, "/product/2", "view_item"),
            (4, 2, "/product/2", "add_to_cart")]
    ev = log(rows)
    clean = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID])
    assert len(clean) == 4 + 2 + 1 + 2
    assert int(clean["repeats"].sum()) == len(ev) == 12
    top = paths.top_paths(clean, by="page", other=True)
    assert top[["path", "sessions", "purchases"]].values.tolist() == [
        ["/ → /product/:id", 2, 0],
        ["/ → /product/:id → /cart → /thanks", 1, 1],
        ["/product/:id", 1, 0],
        [paths.OTHER, 0, 0]]
    # the same table from the raw log with the rule alone: merging changes no path
    ruled = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID], merge_repeats=False)
    pd.testing.assert_frame_equal(paths.top_paths(ruled, by="page", other=True), top)


# --------------------------------------------------------------------------- empty and bad


def test_empty_values_stay_empty_are_counted_and_merge_with_each_other():
    ev = log([(1, 0, None, "scroll"), (1, 1, None, "scroll"), (1, 2, "/product/5", "view_item"),
              (1, 3, np.nan, "scroll")])
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID])
    assert out["page"].isna().tolist() == [True, False, True]
    assert out["repeats"].tolist() == [2, 1, 1]
    assert out.attrs["missing"] == 3
    assert out.attrs["merged_events"] == {"page": [paths.MISSING], "event": ["scroll"],
                                          "rows": [1]}
    top = paths.top_paths(out, by="page")
    assert top["path"].tolist() == ["(missing) → /product/:id → (missing)"]


def test_values_that_are_not_text_are_left_alone_and_counted():
    ev = log([(1, 0, "/product/1", "view_item"), (1, 1, 404, "page_view")])
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID], merge_repeats=False)
    assert out["page"].tolist() == ["/product/:id", 404]
    assert out.attrs["not_text"] == 1
    numbers = log([(1, 0, 7, "view_item")], col="item_id")
    with pytest.raises(ValueError, match=r"events\.item_id: the rules read text"):
        paths.clean_paths(numbers, by="item_id", rules=[PRODUCT_ID])


def test_bad_rules_are_refused_naming_the_rule():
    ev = log([(1, 0, "/", "page_view")])
    with pytest.raises(ValueError, match=r"rule 2 \('/product/\[0-9'.*not a regular expression"):
        paths.clean_paths(ev, by="page", rules=[PRODUCT_ID, ("/product/[0-9", "x")])
    with pytest.raises(ValueError, match=r"rule 1 .*bad replacement.*group"):
        paths.clean_paths(ev, by="page", rules={r"(\d+)": r"\2"})
    with pytest.raises(ValueError, match="rule 1 must be a \\(pattern, replacement\\) pair"):
        paths.clean_paths(ev, by="page", rules=["^/product/"])
    with pytest.raises(ValueError, match="rules must be a mapping or a list"):
        paths.clean_paths(ev, by="page", rules="^/product/")
    with pytest.raises(ValueError, match="text replacement"):
        paths.clean_paths(ev, by="page", rules={"x": None})


def test_missing_columns_and_bad_arguments_are_named():
    ev = log([(1, 0, "/", "page_view")])
    with pytest.raises(ValueError, match=r"events\.page_type: missing column"):
        paths.clean_paths(ev)
    with pytest.raises(ValueError, match="'ts'"):
        paths.clean_paths(ev.drop(columns="ts"), by="page")
    with pytest.raises(ValueError, match="'event'"):
        paths.clean_paths(ev.drop(columns="event"), by="page")
    assert len(paths.clean_paths(ev.drop(columns="event"), by="page", keep=())) == 1
    with pytest.raises(ValueError, match="into='session_id' would overwrite"):
        paths.clean_paths(ev, by="page", into="session_id")
    with pytest.raises(ValueError, match="keep: give a list of names"):
        paths.clean_paths(ev, by="page", keep="purchase")
    with pytest.raises(ValueError, match=r"events\.repeats: .*row 0 \(0\)"):
        paths.clean_paths(ev.assign(repeats=0), by="page")
    with pytest.raises(ValueError, match="null value"):
        paths.clean_paths(ev.assign(session_id=[None]), by="page")
    with pytest.raises(ValueError, match="read a Parquet log first"):
        paths.clean_paths("data/events.parquet")


def test_attrs_are_plain_values_that_survive_parquet(tmp_path):
    ev = log([(1, 0, "/product/1", "view_item"), (1, 1, "/product/2", "view_item")])
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID])
    json.dumps(out.attrs)
    out.to_parquet(tmp_path / "clean.parquet")
    assert pd.read_parquet(tmp_path / "clean.parquet").attrs == out.attrs
    assert pd.concat([out, out.copy()]).attrs == out.attrs  # frames in attrs would raise here


def test_an_empty_log_gives_an_empty_table_with_repeats():
    ev = log([(1, 0, "/", "page_view")]).iloc[:0]
    out = paths.clean_paths(ev, by="page", rules=[PRODUCT_ID])
    assert out.empty and "repeats" in out.columns and out.attrs["rows_in"] == 0


# --------------------------------------------------------------------------- properties


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 5), st.sampled_from(
    ["home", "product", "cart", None]), st.sampled_from(["page_view", "purchase"])),
    min_size=1, max_size=40))
def test_cleaning_loses_nothing_and_leaves_no_repeat_but_a_kept_event(rows):
    ev = log(rows, col="page_type")
    out = paths.clean_paths(ev)
    assert int(out["repeats"].sum()) == len(ev)
    assert out.attrs["merged"] == sum(out.attrs["merged_events"]["rows"])
    o = out.reset_index(drop=True)
    o = o.iloc[np.lexsort((np.arange(len(o)), o["ts"].to_numpy(), o["session_id"].to_numpy()))]
    same = (o["session_id"].eq(o["session_id"].shift()) &
            o["page_type"].fillna("-").eq(o["page_type"].fillna("-").shift()))
    assert (o.loc[same.to_numpy(), "event"] == "purchase").all()
    for other in (False, True):
        pd.testing.assert_frame_equal(paths.top_paths(out, other=other),
                                      paths.top_paths(ev, other=other))


# --------------------------------------------------------------------------- the bundled shop


def test_bundled_shop_merges_product_runs_and_adds_up(events):
    clean = paths.clean_paths(events)
    assert int(clean["repeats"].sum()) == len(events)
    assert len(clean) + clean.attrs["merged"] == len(events)
    raw_tr, tr = paths.transitions(events, by="page_type"), paths.transitions(clean, by="page_type")
    loop = (raw_tr["from"] == "product") & (raw_tr["to"] == "product")
    assert raw_tr.loc[loop, "n"].sum() > 0
    assert not ((tr["from"] == "product") & (tr["to"] == "product")).any()
    merged = pd.DataFrame(clean.attrs["merged_events"])
    assert merged["rows"].sum() == clean.attrs["merged"]
    product = merged.loc[merged["page_type"] == "product", "rows"].sum()
    assert product == raw_tr.loc[loop, "n"].sum()  # every product -> product step merged
    assert clean.loc[clean["page_type"] == "product", "repeats"].max() > 1
    pd.testing.assert_frame_equal(paths.top_paths(clean, other=True),
                                  paths.top_paths(events, other=True))
    assert (clean["event"] == "purchase").sum() == (events["event"] == "purchase").sum()


def test_bundled_shop_product_urls_become_one_page(events):
    urls = events.assign(url=np.where(events["item_id"].notna(),
                                      "/product/" + events["item_id"].astype("string"),
                                      "/" + events["page_type"].astype("string")))
    clean = paths.clean_paths(urls, by="url", rules=[PRODUCT_ID], into="page")
    on_product = int(events["item_id"].notna().sum())
    assert clean.attrs["cleaning"]["changed"] == [on_product]
    assert clean.attrs["values_in"] > 100 and clean.attrs["values_out"] <= 8
    assert int(clean["repeats"].sum()) == len(events)
    top = paths.top_paths(clean, by="page", n=3, other=True)
    assert top["path"].iloc[0] == "/product/:id"
    assert top["sessions"].sum() == events["session_id"].nunique()
