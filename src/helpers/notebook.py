"""Notebook conveniences: the ``%%needs`` cell magic that skips a cell politely.

Load it once per notebook with ``%load_ext helpers.notebook``. A cell that starts with

    %%needs orders sessions.channel

runs only when the current ``store`` (a :class:`helpers.data.Store` in the notebook's
namespace) has the table ``orders`` and a ``sessions`` table whose ``channel`` column holds at
least one value. Otherwise the cell prints one line saying what is missing and is skipped, so a
notebook run on a store with fewer tables reports its gaps instead of crashing.

Examples
--------
>>> import pandas as pd
>>> from helpers.data import Store
>>> missing(Store(events=pd.DataFrame()), ["orders", "events"])
['orders']
"""

from __future__ import annotations

class CellFailed(RuntimeError):
    """Raised by ``%%needs`` when the cell it ran failed, so the notebook run fails too."""


SKIPPED: list[str] = []
"""What was skipped in this kernel, one line per cell (for a closing summary)."""


def missing(store, needs: list[str]) -> list[str]:
    """The entries of ``needs`` (``table`` or ``table.column``) that ``store`` lacks."""
    out = []
    for need in needs:
        table, _, column = need.partition(".")
        df = getattr(store, table, None)
        if df is None:
            out.append(table)
        elif column and (column not in df.columns or df[column].isna().all()):
            out.append(need)
    return out


def needs(line: str, cell: str, local_ns=None):
    """Cell magic body: run ``cell`` when the store has what ``line`` names, else explain."""
    from IPython import get_ipython

    ip = get_ipython()
    words = line.split()
    name = "store"
    if words and words[0].startswith("--store="):
        name = words.pop(0).split("=", 1)[1]
    store = ip.user_ns.get(name)
    if store is None:
        raise NameError(f"%%needs looks for a Store called {name!r}; load it first")
    lack = missing(store, words)
    if lack:
        msg = f"Skipped: this part needs {', '.join(lack)}, which this data does not have."
        SKIPPED.append(msg)
        print(msg)
        return None
    result = ip.run_cell(cell)
    if result.error_before_exec or result.error_in_exec:
        # the traceback is already shown above; fail this cell too so a run stops here
        raise CellFailed("the cell failed (see the error above)") from None
    return None


def load_ipython_extension(ip) -> None:
    """Register ``%%needs`` (called by ``%load_ext helpers.notebook``)."""
    ip.register_magic_function(needs, magic_kind="cell", magic_name="needs")
