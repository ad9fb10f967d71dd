"""The %%needs cell magic: a cell runs only when the store has what it names."""

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from helpers import notebook
from helpers.data import Store


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "helpers.notebook")
    yield ip
    InteractiveShell.clear_instance()


def test_missing_tables_and_columns():
    store = Store(events=pd.DataFrame({"a": [1]}),
                  sessions=pd.DataFrame({"channel": [None, None], "device": ["mobile", None]}))
    assert notebook.missing(store, ["events", "orders", "sessions.device"]) == ["orders"]
    # a column that exists but holds no value at all is as good as absent
    assert notebook.missing(store, ["sessions.channel", "sessions.campaign"]) == [
        "sessions.channel", "sessions.campaign"]


def test_cell_runs_or_is_skipped_with_a_note(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}))
    shell.user_ns["x"] = 0
    shell.run_cell("%%needs events\nx = 5")
    assert shell.user_ns["x"] == 5
    shell.run_cell("%%needs orders spend\nx = 7")
    assert shell.user_ns["x"] == 5
    assert "Skipped: this part needs orders, spend" in capsys.readouterr().out
    assert notebook.SKIPPED[-1].startswith("Skipped: this part needs orders, spend")


def test_needs_a_store(shell):
    shell.user_ns.pop("store", None)
    result = shell.run_cell("%%needs orders\nx = 1")
    assert isinstance(result.error_in_exec, NameError)


def test_an_error_inside_the_cell_fails_the_cell(shell):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}))
    result = shell.run_cell("%%needs events\n1 / 0")
    assert isinstance(result.error_in_exec, notebook.CellFailed)


def test_skip_line_says_how_to_get_what_is_missing(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}),
                                   sessions=pd.DataFrame({"channel": ["Email"]}))
    shell.run_cell("%%needs sessions.device\nx = 1")
    out = capsys.readouterr().out
    assert "Skipped: this part needs sessions.device" in out
    assert "to run it: a device column in sessions" in out


def test_a_run_of_skipped_cells_prints_one_line(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}))
    for _ in range(3):
        shell.run_cell("%%needs reviews\nx = 1", store_history=True)
    assert capsys.readouterr().out.count("Skipped: this part needs reviews") == 1
    shell.run_cell("y = 2", store_history=True)
    shell.run_cell("%%needs reviews\nx = 1", store_history=True)
    assert capsys.readouterr().out.count("Skipped: this part needs reviews") == 1


def test_a_silent_answer_key_cell_inside_a_skipped_part_does_not_repeat_the_line(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}))  # no truth, no reviews
    notebook._LAST_SKIP.clear()
    shell.run_cell("%%needs reviews\nx = 1", store_history=True)
    shell.run_cell("%%answer_key reviews\nx = 1", store_history=True)
    shell.run_cell("%%needs reviews\nx = 1", store_history=True)
    assert capsys.readouterr().out.count("Skipped: this part needs reviews") == 1


def test_answer_key_cells_run_only_with_a_truth(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}))
    shell.user_ns["x"] = 0
    shell.run_cell("%%answer_key\nx = 1\nprint('planted')")
    assert shell.user_ns["x"] == 0 and capsys.readouterr().out == ""
    shell.user_ns["store"] = Store(events=pd.DataFrame({"a": [1]}), truth={"k": 1})
    shell.run_cell("%%answer_key\nx = 1")
    assert shell.user_ns["x"] == 1
    shell.user_ns["x"] = 0
    shell.run_cell("%%answer_key orders\nx = 1")  # a truth, but not the table it needs
    assert shell.user_ns["x"] == 0


def test_a_log_without_funnel_events_skips_funnel_parts(shell, capsys):
    shell.user_ns["store"] = Store(events=pd.DataFrame({"event": ["install", "return_day_1"]}))
    shell.user_ns["x"] = 0
    shell.run_cell("%%needs funnel\nx = 1")
    out = capsys.readouterr().out
    assert shell.user_ns["x"] == 0
    assert "Skipped: this part needs funnel events (view_item" in out and "event_map" in out
    shell.user_ns["store"] = Store(events=pd.DataFrame({"event": ["install", "purchase"]}))
    shell.run_cell("%%needs funnel\nx = 1")
    assert shell.user_ns["x"] == 1
