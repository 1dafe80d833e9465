"""Dates written in many human formats, paired with their ISO 8601 form, for seq2seq.

Formats come from Babel's locale data (Babel ships with Sphinx, so it is always installed):
the CLDR ``medium``, ``long`` and ``full`` patterns of several English locales, the US ``short``
one, and a few explicit patterns.  Styles are chosen so that no written date is ambiguous: the
only all-numeric styles with a slash are US month-first with a two-digit year and ISO-like
year-first, and day-first numeric dates use dots or dashes.  Two-digit years map to 1950-2049.
Targets are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from babel.dates import format_date

#: (locale, CLDR format name or pattern) pairs
STYLES = (
    ("en_US", "short"), ("en_US", "medium"), ("en_GB", "medium"), ("en_IN", "medium"),
    ("en_US", "long"), ("en_GB", "long"), ("en_US", "full"), ("en_GB", "full"),
    ("en_US", "y/MM/dd"), ("en_US", "dd.MM.y"), ("en_US", "d-M-y"), ("en_US", "d MMM y"),
    ("en_US", "EEE d MMMM y"), ("en_US", "MMMM d, y"),
)


def date_pairs(count: int, rng: np.random.Generator, start: date = date(1950, 1, 1),
               end: date = date(2049, 12, 31)) -> tuple[list[str], list[str]]:
    """``count`` random dates between ``start`` and ``end``: (human-written, ISO) strings."""
    if count < 1 or end <= start:
        raise ValueError(f"expected count >= 1 and start < end, got {count}, {start}, {end}")
    days = rng.integers(0, (end - start).days + 1, size=count)
    styles = rng.integers(0, len(STYLES), size=count)
    sources, targets = [], []
    for offset, style in zip(days, styles):
        day = start + timedelta(days=int(offset))
        locale, pattern = STYLES[style]
        sources.append(format_date(day, format=pattern, locale=locale))
        targets.append(day.isoformat())
    return sources, targets
