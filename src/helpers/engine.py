"""Out-of-core plumbing: event tables given as Parquet paths are read by DuckDB, not pandas.

Event-level helpers (``paths.sessionize``, ``paths.transitions``, ``paths.top_paths``,
``funnel.funnel``, ``sources.channel_summary``) accept either a DataFrame or a Parquet path /
glob / directory. On a path they push the work into DuckDB (in-process; it streams Parquet and
spills to disk), and only the small result comes back as pandas.

Examples
--------
>>> import pandas as pd
>>> is_path("shop/events/*.parquet"), is_path(pd.DataFrame())
(True, False)
>>> parquet_source("shop/events/*.parquet")
"read_parquet('shop/events/*.parquet')"
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

MEMORY_LIMIT = os.environ.get("HELPERS_DUCKDB_MEMORY", "2GB")
"""DuckDB's memory cap for out-of-core work (it spills to a temp directory beyond it)."""


def is_path(x) -> bool:
    """True for a str or PathLike (a Parquet file, glob or directory), False for a DataFrame."""
    return isinstance(x, (str, os.PathLike))


def parquet_source(x) -> str:
    """SQL table expression reading ``x``: a file, a glob, or a directory of ``*.parquet``."""
    p = str(x)
    if not any(ch in p for ch in "*?[") and Path(p).is_dir():
        p = str(Path(p) / "*.parquet")
    return "read_parquet('" + p.replace("'", "''") + "')"


def connect(*, threads: int | None = None):
    """A fresh in-memory DuckDB connection with the kit's memory cap and a spill directory."""
    import duckdb

    spill = Path(tempfile.gettempdir()) / "helpers-duckdb"
    spill.mkdir(exist_ok=True)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT,
                                 "preserve_insertion_order": False,
                                 "temp_directory": str(spill)})
    con.execute("SET enable_progress_bar = false")  # no progress text in notebook outputs
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def columns(x) -> list[str]:
    """Column names of a Parquet source without reading its rows."""
    con = connect()
    try:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {parquet_source(x)}").fetchall()]
    finally:
        con.close()
