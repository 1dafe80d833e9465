"""Small helpers every chapter's training cells share: device, seeds, progress, history.

The training loops themselves stay in the notebooks, where the reader can see them; this
module only removes the plumbing around them.
"""

from __future__ import annotations

import os
import random
import sys
from collections import defaultdict
from typing import Callable, Iterable, Mapping

import numpy as np
from tqdm.std import tqdm


def get_device():
    """``torch.device("cuda")`` when a GPU is present, otherwise the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


SEED_ENV = "LSTM_COURSE_SEED"
FULL_ENV = "LSTM_COURSE_FULL"


def course_seed() -> int:
    """The book's seed knob: the integer in ``LSTM_COURSE_SEED`` (0 when unset).

    Every notebook derives all of its randomness (data, initialisation, batch order) from this
    one number, so running a chapter with ``LSTM_COURSE_SEED=3`` repeats every experiment with
    other draws; no conclusion the text states may depend on it.
    """
    raw = os.environ.get(SEED_ENV, "").strip()
    if raw == "":
        return 0
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {raw!r}") from None
    if seed < 0:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {seed}")
    return seed


def derive_seed(*keys: int) -> int:
    """A seed for one part of a notebook, mixed from :func:`course_seed` and integer ``keys``.

    ``derive_seed(k)`` differs for every ``k`` and every course seed (NumPy's ``SeedSequence``
    does the mixing), so "seed ``k`` of a comparison" is a new draw under each course seed
    rather than the same few numbers shifted by one.
    """
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in keys):
        raise ValueError(f"derive_seed takes non-negative integers, got {keys!r}")
    state = np.random.SeedSequence([course_seed(), *map(int, keys)]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def full_config() -> bool:
    """True when ``LSTM_COURSE_FULL=1``: the chapters' larger (GPU-sized) configurations."""
    return os.environ.get(FULL_ENV) == "1"


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch (all devices); return a fresh NumPy generator."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def progress(iterable: Iterable | None = None, **kwargs) -> tqdm:
    """A text progress bar (tqdm) that renders the same in Jupyter, a terminal and the book.

    Text rather than a widget, so the executed notebook stays readable as static HTML.
    """
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("ncols", 90)
    kwargs.setdefault("mininterval", 1.0)
    kwargs.setdefault("ascii", True)
    return tqdm(iterable, **kwargs)


def train_loop(step: Callable[[int], Mapping[str, float]], num_steps: int, desc: str = "training",
               log_every: int = 1, postfix_keys: Iterable[str] | None = None) -> dict[str, list]:
    """Call ``step(i)`` for ``i`` in ``range(num_steps)`` with a progress bar.

    ``step`` does one optimisation step and returns a mapping of scalar metrics (loss, accuracy,
    ...).  Every ``log_every`` steps they are appended to the returned history, a dict of lists
    that also holds the step numbers under ``"step"``.
    """
    if num_steps < 1 or log_every < 1:
        raise ValueError(f"num_steps and log_every must be >= 1, got {num_steps} and {log_every}")
    history: dict[str, list] = defaultdict(list)
    bar = progress(range(num_steps), desc=desc)
    for i in bar:
        metrics = step(i)
        if i % log_every == 0 or i == num_steps - 1:
            history["step"].append(i)
            for key, value in metrics.items():
                history[key].append(float(value))
            keys = list(postfix_keys) if postfix_keys is not None else list(metrics)
            bar.set_postfix({k: f"{float(metrics[k]):.4g}" for k in keys}, refresh=False)
    bar.close()
    return dict(history)
