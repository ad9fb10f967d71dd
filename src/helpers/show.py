"""Result tables formatted for reading: the kit's one presentation layer.

The helpers return tidy frames of raw numbers, which is what an analyst computes with. A reader
wants the same table formatted like a report: shares as percentages, counts with thousands
separators, money with its currency in the header, p-values as ``0.023`` or ``< 0.001``,
intervals as ``12.3 % [11.8, 12.9]``, durations in words, dates without nanoseconds, no index
column, no scientific notation, no text cut with an ellipsis, and no customer identifiers.
:func:`table` does that and returns a :class:`Table` that displays as HTML in a notebook (and
as plain text elsewhere); ``.raw`` keeps the numbers.

Column roles are read from the kit's column names (``rate``, ``share``, ``ci_low``, ``p_value``,
``user_id`` …) and can be named explicitly (``pct=``, ``money=``, ``ci=``).

Examples
--------
>>> t = pd.DataFrame({"channel": ["Email", "Direct"], "sessions": [12034, 981],
...                   "rate": [0.0351, 0.1], "ci_low": [0.032, 0.083], "ci_high": [0.0385, 0.12],
...                   "p_value": [0.0004, 0.31]})
>>> print(table(t))
channel sessions             rate (95 % CI) p_value
  Email   12,034 3.5 % [3.2 %, 3.9 %] < 0.001
 Direct      981   10 % [8.3 %, 12 %]    0.31
"""

from __future__ import annotations

import hashlib
import html
import re

import numpy as np
import pandas as pd

from helpers.narrate import duration as _duration
from helpers.narrate import p_value as _p_value
from helpers.narrate import pct as _pct

_SHARE = re.compile(r"(^|_)(rate|share|shares|probability|confidence|support|coverage|precision|"
                    r"recall|conversion|retention|p_alive|hit_rate|churn|repurchased|"
                    r"rate_from_prev|rate_from_start|rate_rest|pct|ratio_share)($|_)")
_BOUND = re.compile(r"(^|_)(low|high)$")
_P = re.compile(r"^(p|p_value|pvalue|p_holm|p_bh|p_adjusted|p_adj|p_raw)$")
_MONEY = re.compile(r"(^|_)(revenue|aov|clv|spend|monetary|price|unit_price|value|profit|cac|"
                    r"cost|discount|amount)($|_)")
IDENTIFIERS = ("user_id", "customer_id", "user_pseudo_id", "customer_unique_id", "visitorid")
"""Columns that identify a customer: shown as a stable pseudonym (see :func:`pseudonym`) under
the header ``customer``."""

NA = "—"
"""How a missing value reads in a table."""


def pseudonym(value, salt: str = "") -> str:
    """A stable short stand-in for a customer id: the same id and salt always give the same one.

    Enough to follow one customer through a table. :func:`table` salts with a digest of the
    whole column, so a reader without the data cannot recover an id by hashing candidates.

    Letters only, so that no pseudonym reads as a number (``4e57`` would look like an exponent).

    >>> pseudonym(100029), pseudonym("100029") == pseudonym(100029), pseudonym(1, "x") == pseudonym(1)
    ('c-jjbkdg', True, False)
    """
    digest = hashlib.sha256(f"{salt}{value}".encode()).hexdigest()[:6]
    return "c-" + digest.translate(_LETTERS)


_LETTERS = str.maketrans("0123456789abcdef", "bcdfghjkmnpqrstv")


def number(x) -> str:
    """:func:`_number` with a typographic minus.

    >>> number(-12.5)
    '−12.5'
    """
    return _minus(_number(x))


def _number(x) -> str:
    """A number for a table: thousands separators, two to three significant digits below 10,
    never an exponent.

    >>> [_number(v) for v in (1234567.8, 45.678, 3.14159, 0.000421, 0, -12.5)]
    ['1,234,568', '45.7', '3.14', '0.00042', '0', '-12.5']
    """
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return NA
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if not np.isfinite(x):
        return "∞" if x > 0 else "−∞"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}".rstrip("0").rstrip(".")
    if a >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    if a == 0:
        return "0"
    return np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")


def _share(x) -> str:
    if x is None or pd.isna(x):
        return NA
    if abs(x) < 0.0005 and x != 0:
        return "< 0.1 %" if x > 0 else "> −0.1 %"
    return _minus(_pct(x))


def _minus(text: str) -> str:
    """A typographic minus for a negative number, as in the pp columns."""
    return "−" + text[1:] if text.startswith("-") else text


def _p(x) -> str:
    if x is None or pd.isna(x):
        return NA
    return _p_value(x).removeprefix("p ").removeprefix("= ")


def _time(s: pd.Series) -> pd.Series:
    t = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
    whole_days = t.dropna().eq(t.dropna().dt.normalize()).all()
    fmt = "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M"
    return t.dt.strftime(fmt).where(t.notna(), NA)


def _is_share(name: str, s: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(s) or not _SHARE.search(name.lower()):
        return False
    vals = s.dropna()
    return bool(len(vals) == 0 or ((vals >= -1.0001) & (vals <= 1.0001)).all())


class Table:
    """A formatted result table: HTML in a notebook, plain text in a console; ``.raw`` is the
    frame it was made from, ``.data`` the formatted strings."""

    def __init__(self, data: pd.DataFrame, raw: pd.DataFrame, caption: str | None = None):
        self.data, self.raw, self.caption = data, raw, caption

    def _repr_html_(self) -> str:
        if self.data.empty:
            return f"<p><em>{html.escape(self.caption or '')} (no rows)</em></p>"
        with pd.option_context("display.max_colwidth", None):
            body = self.data.to_html(index=False, escape=True, border=0,
                                     classes=["dataframe", "kit-table"], na_rep=NA)
        if self.caption:
            body = body.replace(">\n  <thead>", f">\n  <caption>{html.escape(self.caption)}"
                                "</caption>\n  <thead>", 1)
        return body

    def __repr__(self) -> str:
        if self.data.empty:
            return f"{self.caption or ''} (no rows)".strip()
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            text = self.data.to_string(index=False)
        return f"{self.caption}\n{text}" if self.caption else text

    def __len__(self) -> int:
        return len(self.data)


def table(df: pd.DataFrame | pd.Series, *, pct=(), pp=(), money=(), currency: str | None = None,
          p=(), ci: dict | None = None, plain=(), ids=IDENTIFIERS, rename: dict | None = None,
          caption: str | None = None, max_rows: int | None = None) -> Table:
    """``df`` formatted for a report (see the module notes for the rules).

    Parameters
    ----------
    df : DataFrame or Series
        A result table. A meaningful index (named, or not a plain 0..n range) becomes columns;
        a plain range index is dropped.
    pct, pp, money, p, plain : sequence of str
        Columns to format as shares (``12.3 %``), differences of shares (``+1.2 pp``), money
        (header gains the currency), p-values, or plain numbers, overriding the roles read from
        the names. ``pct=True`` makes every float column a share (a pivot of rates).
    currency : str, optional
        The store's currency, added to the header of each money column.
    ci : dict, optional
        ``{column: (low, high)}``: the interval columns are merged into their column, as
        ``12.3 % [11.8 %, 12.9 %]``, and dropped. By default ``ci_low``/``ci_high`` join the
        share column right before them, and ``<x>_low``/``<x>_high`` join a share column
        ``<x>`` or ``<x>_rate``.
    ids : sequence of str
        Customer identifier columns, shown as :func:`pseudonym`.
    rename : dict, optional
        Header changes, applied last.
    caption : str, optional
        A line above the table.
    max_rows : int, optional
        Show the first ``max_rows`` rows and say how many there are in the caption.

    Examples
    --------
    >>> f = pd.DataFrame({"step": ["view", "buy"], "n": [1000, 35], "effect": [0.0, 0.012],
    ...                   "median_time": pd.to_timedelta(["0s", "95s"])})
    >>> print(table(f, pp=["effect"]))
    step     n  effect median_time
    view 1,000 +0.0 pp         0 s
     buy    35 +1.2 pp       2 min
    """
    from helpers.narrate import pp as _pp

    raw = df.to_frame() if isinstance(df, pd.Series) else df
    out = raw
    if not isinstance(out.index, pd.RangeIndex) or any(n is not None for n in out.index.names):
        out = out.reset_index()
    else:
        out = out.reset_index(drop=True)
    total = len(out)
    if max_rows is not None and total > max_rows:
        out = out.head(max_rows)
        more = f"the first {max_rows:,} of {total:,} rows"
        caption = f"{caption} ({more})" if caption else f"Showing {more}."
    out = out.copy()
    out.columns = [str(c) for c in out.columns]
    names = list(out.columns)
    if pct is True:  # every float column is a share (a pivot of rates, say)
        pct = [c for c in names if pd.api.types.is_float_dtype(out[c])]
    pct, pp, money, p, plain = map(set, (pct, pp, money, p, plain))

    pairs = dict(ci or {})
    if ci is None:
        for i, c in enumerate(names):
            if c == "ci_low" and "ci_high" in names and i > 0:
                base = names[i - 1]
                if pd.api.types.is_numeric_dtype(out[base]) and base not in ids:
                    pairs[base] = ("ci_low", "ci_high")
            m = re.fullmatch(r"(.+?)_(?:ci_)?low", c)
            if m and c != "ci_low":
                high = c[: -len("low")] + "high"
                for base in (m[1], f"{m[1]}_rate"):
                    if high in names and base in names and pd.api.types.is_numeric_dtype(out[base]):
                        pairs[base] = (c, high)
                        break

    def role(c):
        s = out[c]
        if c in ids:
            return "id"
        if c in p or (c not in plain and _P.fullmatch(c)):
            return "p"
        if c in pp:
            return "pp"
        if c in pct or (c not in plain and c not in money and _is_share(c, s)):
            return "share"
        if pd.api.types.is_timedelta64_dtype(s):
            return "duration"
        if pd.api.types.is_datetime64_any_dtype(s):
            return "time"
        if pd.api.types.is_bool_dtype(s):
            return "bool"
        if pd.api.types.is_integer_dtype(s) and (c == "id" or c.endswith("_id")):
            return "label"  # an item or order id: no thousands separator
        if pd.api.types.is_numeric_dtype(s):
            return "money" if (c in money or (c not in plain and _MONEY.search(c.lower()))) \
                else "number"
        return "text"

    fmts = {"share": _share, "pp": lambda v: NA if pd.isna(v) else _pp(v),
            "money": lambda v: NA if pd.isna(v) else number(v),
            "number": lambda v: NA if pd.isna(v) else number(v),
            "p": _p, "duration": lambda v: NA if pd.isna(v) else _duration(v),
            "bool": lambda v: NA if pd.isna(v) else ("yes" if v else "no"),
            "label": lambda v: NA if pd.isna(v) else str(int(v)),
            "text": lambda v: NA if v is None or (not isinstance(v, (list, tuple, set, frozenset))
                                                  and pd.isna(v)) else _text(v)}
    cols, heads = {}, {}
    for c in names:
        if any(c in lh for lh in pairs.values()):
            continue
        r = role(c)
        s = out[c]
        if r == "id":
            salt = hashlib.sha256("\n".join(sorted(map(str, _raw_ids(raw, c)))).encode()).hexdigest()
            cols[c] = s.map(lambda v, k=salt: NA if pd.isna(v) else pseudonym(v, k))
        elif r == "time":
            cols[c] = _time(s)
        else:
            cols[c] = s.map(fmts[r])
        if c in pairs:
            lo, hi = pairs[c]
            f = fmts[r] if r in ("share", "pp", "money", "number") else fmts["number"]
            cols[c] = [f"{v} [{f(a)}, {f(b)}]" if v != NA and not pd.isna(a) else v
                       for v, a, b in zip(cols[c], out[lo], out[hi])]
        unit = [currency] if r == "money" and currency else []
        extra = ", ".join(unit + (["95 % CI"] if c in pairs else []))
        heads[c] = "customer" if r == "id" and c in IDENTIFIERS else (
            f"{c} ({extra})" if extra else c)
    data = pd.DataFrame(cols, index=range(len(out))).rename(columns=heads)
    data = data.rename(columns=rename or {})
    return Table(data, raw, caption)


def _raw_ids(raw: pd.DataFrame, col: str) -> set:
    """The distinct values of an id column of ``raw`` (a column or an index level)."""
    if col in raw.columns:
        return set(raw[col].dropna().unique())
    return set(raw.index.get_level_values(col).dropna().unique())


def _text(v) -> str:
    if isinstance(v, (list, tuple, set, frozenset)):
        return ", ".join(map(str, sorted(v) if isinstance(v, (set, frozenset)) else v))
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, (float, np.floating, int, np.integer)):
        return number(v)
    return str(v)


def series(s: pd.Series, *, name: str = "value", **kwargs) -> Table:
    """A labelled Series (a dict of results) as a two-column table: ``what`` and ``name``.

    Each row is formatted by the role its label suggests (a share, a p-value, a count).

    >>> print(series(pd.Series({"users": 2231, "effect_share": 0.0046, "p_value": 0.73})))
            what  value
           users  2,231
    effect_share 0.46 %
         p_value   0.73
    """
    rows = [table(pd.DataFrame({k: [v]}), **kwargs).data.iloc[0, 0] for k, v in s.items()]
    return Table(pd.DataFrame({"what": [str(k) for k in s.index], name: rows}), s.to_frame())
