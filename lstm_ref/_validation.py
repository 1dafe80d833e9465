"""Argument checks shared across the package (model sizes, counts, lengths)."""

from __future__ import annotations

import numbers


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1 (``bool`` excluded).

    Raises ``ValueError`` naming the argument, what was expected and what was given.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)
