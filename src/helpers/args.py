"""Argument checks at the door: a ValueError that names the argument and what it accepts.

A helper called with ``alpha=1.5``, ``window="banana"`` or ``steps="view_item"`` should stop at
once and say so, not return an inverted interval, a pandas parse error about unit
abbreviations, or a funnel of nine one-letter steps. Each function returns the checked value in
the form the caller needs.

Examples
--------
>>> duration("30min", "window")
Timedelta('0 days 00:30:00')
>>> duration("banana", "window")
Traceback (most recent call last):
...
ValueError: window: 'banana' is not a duration; write it like '30min', '2h', '7D' or '90D'
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import pandas as pd


def duration(value, name: str, *, positive: bool = False) -> pd.Timedelta:
    """``value`` (``'30min'``, ``'7D'``, a Timedelta) as a Timedelta, not negative.

    ``positive=True`` also refuses zero.

    >>> duration(pd.Timedelta("2h"), "gap")
    Timedelta('0 days 02:00:00')
    """
    if isinstance(value, bool):  # a ValueError throughout: one kind of error for a bad argument
        raise ValueError(f"{name}: {value!r} is not a duration; write it like '30min', '2h', "  # noqa: TRY004
                         "'7D' or '90D'")
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: {value!r} is not a duration; write it like '30min', '2h', "
                         "'7D' or '90D'") from None
    if pd.isna(td):
        raise ValueError(f"{name}: a duration is needed, got {value!r}")
    if td < pd.Timedelta(0) or (positive and td == pd.Timedelta(0)):
        raise ValueError(f"{name}: must be {'positive' if positive else 'zero or more'}, "
                         f"got {value!r}")
    return td


def alpha(value, name: str = "alpha") -> float:
    """A significance level: strictly between 0 and 1.

    >>> alpha(0.05)
    0.05
    >>> alpha(2)
    Traceback (most recent call last):
    ...
    ValueError: alpha: must be between 0 and 1 (e.g. 0.05), got 2
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name}: must be between 0 and 1 (e.g. 0.05), got {value!r}")
    return float(value)


def share(value, name: str, *, allow_zero: bool = True):
    """A share of a whole: 0 to 1 (``allow_zero=False``: above 0). Fractions stay exact.

    >>> share(Fraction(1, 5), "min_confidence")
    Fraction(1, 5)
    >>> share(1.5, "min_confidence")
    Traceback (most recent call last):
    ...
    ValueError: min_confidence: must be a share between 0 and 1, got 1.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ValueError(f"{name}: must be a share between 0 and 1, got {value!r}")  # noqa: TRY004
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= 1):
        raise ValueError(f"{name}: must be a share between {'0' if allow_zero else 'above 0'} "
                         f"and 1, got {value!r}")
    return value


def positive(value, name: str):
    """A number above 0 (a lift threshold, a count).

    >>> positive(1.5, "min_lift")
    1.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) or not value > 0:
        raise ValueError(f"{name}: must be a number above 0, got {value!r}")
    return value


def names(value, name: str) -> list[str]:
    """A list of names (event names, columns); one bare string is refused, not split into letters.

    >>> names(("view_item", "purchase"), "steps")
    ['view_item', 'purchase']
    >>> names("view_item", "steps")
    Traceback (most recent call last):
    ...
    ValueError: steps: give a list of names, e.g. ['view_item'], not the string 'view_item'
    """
    if isinstance(value, str):
        raise ValueError(f"{name}: give a list of names, e.g. [{value!r}], not the string "  # noqa: TRY004
                         f"{value!r}")
    if not isinstance(value, Iterable):
        raise ValueError(f"{name}: give a list of names, got {value!r}")  # noqa: TRY004
    return list(value)


def timestamp(value, name: str) -> pd.Timestamp:
    """A date or timestamp as a UTC ``Timestamp`` (a naive one is read as UTC).

    >>> timestamp("2025-06-30", "asof")
    Timestamp('2025-06-30 00:00:00+0000', tz='UTC')
    >>> timestamp("soon", "asof")
    Traceback (most recent call last):
    ...
    ValueError: asof: not a date or timestamp: 'soon' (e.g. '2025-06-30')
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if pd.isna(ts):
        raise ValueError(f"{name}: not a date or timestamp: {value!r} (e.g. '2025-06-30')")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
