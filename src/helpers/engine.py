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


_SPILL: list[Path] = []


def spill_dir() -> Path:
    """This process's private spill directory (mode 0700, removed when the process ends).

    A fixed shared folder would let another user of the machine read what DuckDB spills (the
    shop's events) or fill it; ``tempfile.mkdtemp`` makes one only this process can open.

    >>> spill_dir() == spill_dir() and oct(spill_dir().stat().st_mode & 0o777)
    '0o700'
    """
    if not _SPILL or not _SPILL[0].is_dir():
        import atexit
        import shutil

        path = Path(tempfile.mkdtemp(prefix="helpers-duckdb-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _SPILL[:] = [path]
    return _SPILL[0]


def connect(*, threads: int | None = None):
    """A fresh in-memory DuckDB connection with the kit's memory cap and a private spill folder."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT,
                                 "preserve_insertion_order": False,
                                 "temp_directory": str(spill_dir())})
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
