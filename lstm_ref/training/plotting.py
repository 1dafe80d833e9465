"""Plot helpers: one look for every figure in the book, readable in light and dark themes."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt

BOOK_STYLE = {
    # An opaque white background keeps black labels readable when the site is in dark mode
    # (Jupyter's inline backend otherwise saves figures with a transparent background).
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "figure.dpi": 100,
    "figure.figsize": (7.0, 3.8),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


def use_book_style() -> None:
    """Apply the book's figure style (call once at the top of a notebook, after importing pyplot,
    so it overrides the inline backend's transparent background)."""
    mpl.rcParams.update(BOOK_STYLE)


def plot_history(history: Mapping[str, Sequence[float]], keys: Iterable[str],
                 ax: plt.Axes | None = None, title: str = "", ylabel: str = "",
                 logy: bool = False) -> plt.Axes:
    """Plot metrics from :func:`lstm_ref.training.train_loop` against the step number."""
    if ax is None:
        _, ax = plt.subplots()
    for key in keys:
        if key not in history:
            raise ValueError(f"history has no metric {key!r}; it has {sorted(history)}")
        ax.plot(history["step"], history[key], label=key)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel or ", ".join(keys))
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
