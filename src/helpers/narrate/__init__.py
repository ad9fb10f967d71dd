"""Result tables -> the sentences a notebook prints about them.

No statement about results lives in a notebook's markdown: the markdown explains the method and
the question, and every takeaway, decision or comparison with an answer key is *generated* here
from the numbers the notebook computed on the data it ran on. So the same notebook tells the
truth about the bundled shop and about a user's own shop.

This module holds the vocabulary every narrator shares (how a share, a count, an amount of
money, an interval, a p-value or a duration is written) and :class:`Text`, a string that Jupyter
shows as Markdown. One submodule per notebook turns that notebook's result tables into its
sentences (``narrate.tour``, ``narrate.funnel``, …). A narrator returns ``Text``; it never
prints, and it says plainly when the numbers cannot support a claim (too few units, no
significant difference) instead of repeating what a different shop would show.

Examples
--------
>>> pct(0.1234), pct(0.0004), pct(1.0)
('12.3 %', '0.04 %', '100 %')
>>> count(12345), money(1234.5, "EUR"), money(1234.5)
('12,345', '1,234.50 EUR', '1,234.50')
>>> interval(0.123, 0.118, 0.129)
'12.3 % (95 % CI 11.8–12.9 %)'
>>> p_value(0.0004), p_value(0.0234)
('p < 0.001', 'p = 0.023')
>>> duration(pd.Timedelta("00:04:10")), duration(pd.Timedelta("9 days 03:00:00"))
('4 min', '9.1 days')
>>> join(["mobile", "desktop", "tablet"])
'mobile, desktop and tablet'
>>> takeaway("mobile converts least.")
**Takeaway:** mobile converts least.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd


class Text(str):
    """Markdown text: shown as rendered Markdown in Jupyter and as plain text elsewhere.

    A notebook cell that ends with a ``Text`` displays it as Markdown, so the story report reads
    like prose while the sentence itself was computed from the data.
    """

    def _repr_markdown_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return str(self)

    def __add__(self, other) -> Text:
        return Text(str(self) + str(other))


def paragraphs(*parts: str | None) -> Text:
    """Join the non-empty parts as Markdown paragraphs (``None`` and "" are left out).

    >>> paragraphs("One.", None, "Two.")
    One.
    <BLANKLINE>
    Two.
    """
    return Text("\n\n".join(p.strip() for p in parts if p and p.strip()))


def takeaway(sentence: str) -> Text:
    """The closing line of a section: ``**Takeaway:** sentence``."""
    return Text(f"**Takeaway:** {sentence.strip()}")


def bullets(lines: Iterable[str | None], *, title: str | None = None) -> Text:
    """A Markdown list of the non-empty ``lines`` (under a ``## title`` heading when given).

    >>> bullets(["a", None, "b"], title="Decisions")
    ## Decisions
    <BLANKLINE>
    - a
    - b
    """
    items = "\n".join(f"- {line.strip()}" for line in lines if line and line.strip())
    if title:
        return Text(f"## {title}\n\n{items}" if items else f"## {title}")
    return Text(items)


def answer_key(explanation: str, *findings: str | None) -> Text:
    """A "Check against the answer key" paragraph: the method, then what this run found."""
    return paragraphs(f"**Check against the answer key.** {explanation.strip()}", *findings)


# --------------------------------------------------------------------------- numbers in words


def missing(x) -> bool:
    """True for None, NaN, NaT or pd.NA (and False for anything pandas cannot test)."""
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def pct(x, digits: int = 1) -> str:
    """A share as a percentage: ``0.1234`` -> ``'12.3 %'``.

    Small shares keep two significant digits rather than rounding to 0 (``'0.04 %'``); whole
    percentages drop their decimals (``'100 %'``); a missing value is ``'n/a'``.
    """
    if missing(x):
        return "n/a"
    v = 100 * float(x)
    if v != 0 and abs(v) < 10 ** -digits * 5:
        text = f"{v:.2g}"
    else:
        text = f"{v:.{digits}f}"
        if "." in text:
            whole, frac = text.split(".")
            text = whole if set(frac) == {"0"} else text
    return f"{text} %"


def pp(x, digits: int = 1) -> str:
    """A difference of two shares in percentage points: ``-0.052`` -> ``'−5.2 pp'``.

    A difference that rounds to zero has no sign: ``pp(-0.0001)`` -> ``'+0.0 pp'``.
    """
    if missing(x):
        return "n/a"
    v = 100 * float(x)
    sign = "−" if round(v, digits) < 0 else "+"
    return f"{sign}{abs(v):.{digits}f} pp"


def count(n) -> str:
    """A whole number with thousands separators: ``12345`` -> ``'12,345'``."""
    if missing(n):
        return "n/a"
    return f"{round(float(n)):,}"


def number(x, digits: int = 2) -> str:
    """A real number with thousands separators and ``digits`` decimals."""
    if missing(x):
        return "n/a"
    return f"{float(x):,.{digits}f}"


def money(x, currency: str | None = None, digits: int = 2) -> str:
    """An amount with thousands separators and the store's currency code when it has one.

    >>> money(1099.87, "CNY"), money(-3, None, 0)
    ('1,099.87 CNY', '-3')
    """
    if missing(x):
        return "n/a"
    text = f"{float(x):,.{digits}f}"
    return f"{text} {currency}" if currency else text


def interval(rate, low, high, digits: int = 1) -> str:
    """A share with its 95 % interval: ``'12.3 % (95 % CI 11.8–12.9 %)'``."""
    if missing(low) or missing(high):
        return pct(rate, digits)
    lo = pct(low, digits).removesuffix(" %")
    return f"{pct(rate, digits)} (95 % CI {lo}–{pct(high, digits)})"


def p_value(p) -> str:
    """``'p < 0.001'`` or ``'p = 0.023'`` (two significant digits above 0.01)."""
    if missing(p):
        return "p n/a"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"


def duration(td) -> str:
    """A time span in the unit a person would use: ``'40 s'``, ``'4 min'``, ``'3.5 h'``, ``'9.1 days'``."""
    if missing(td):
        return "n/a"
    s = pd.Timedelta(td).total_seconds()
    if abs(s) < 90:
        return f"{s:.0f} s"
    if abs(s) < 90 * 60:
        return f"{s / 60:.0f} min"
    if abs(s) < 36 * 3600:
        h = s / 3600
        return f"{h:.1f} h" if h < 10 else f"{h:.0f} h"
    d = s / 86400
    return f"{d:.1f} days" if d < 10 else f"{d:.0f} days"


def code(name) -> str:
    """A step, event, segment or column name as inline code: ``'`add_to_cart`'``.

    >>> code("payment_error")
    '`payment_error`'
    """
    return f"`{name}`"


def join(items: Iterable, *, word: str = "and") -> str:
    """``['a', 'b', 'c']`` -> ``'a, b and c'``; one item as is; none -> ``''``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def plural(n, one: str, many: str | None = None) -> str:
    """``'1 session'`` / ``'2,345 sessions'``.

    >>> plural(1, "session"), plural(2345, "session"), plural(2, "query", "queries")
    ('1 session', '2,345 sessions', '2 queries')
    """
    word = one if not missing(n) and math.isclose(float(n), 1) else (many or one + "s")
    return f"{count(n)} {word}"


def times(ratio, digits: int = 1) -> str:
    """A ratio as ``'2.3×'``."""
    if missing(ratio):
        return "n/a"
    return f"{float(ratio):.{digits}f}×"
