"""Random search over hyperparameters with a fixed budget of trials (Bergstra & Bengio, 2012).

A *search space* maps each hyperparameter's name to a distribution: :class:`LogUniform`
(learning rates, anything whose scale matters more than its digits), :class:`Uniform`
(dropout), :class:`Choice` (a list of values, e.g. hidden sizes).  :func:`random_search`
draws ``num_trials`` configurations independently, evaluates each with the objective, and
returns them sorted best first.

Example::

    space = {"lr": LogUniform(1e-4, 3e-2), "hidden_size": Choice([32, 64, 128]),
             "dropout": Uniform(0.0, 0.5)}
    trials = random_search(lambda cfg: validation_loss_after_training(**cfg), space,
                           num_trials=20, rng=np.random.default_rng(0))
    trials[0].config, trials[0].score
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from lstm_ref.training import progress
from lstm_ref._validation import check_positive_int


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"Uniform: expected finite low < high, got {self.low}, {self.high}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is uniform on ``[log low, log high]`` (``0 < low < high``)."""

    low: float
    high: float

    def __post_init__(self):
        if not (0 < self.low < self.high and math.isfinite(self.high)):
            raise ValueError(f"LogUniform: expected 0 < low < high, got {self.low}, {self.high}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class Choice:
    """One of ``values``, each equally likely."""

    values: Sequence[Any]

    def __post_init__(self):
        if len(self.values) == 0:
            raise ValueError("Choice: expected at least one value, got none")

    def sample(self, rng: np.random.Generator):
        value = self.values[int(rng.integers(len(self.values)))]
        return value.item() if isinstance(value, np.generic) else value


@dataclass
class Trial:
    """One evaluated configuration: its draw order ``index``, ``config``, ``score`` (lower is
    better) and whatever else the objective returned in ``extra``."""

    index: int
    config: dict[str, Any]
    score: float
    extra: dict[str, Any] = field(default_factory=dict)


def sample_config(space: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One configuration drawn from ``space`` (keys in the space's order)."""
    if not space:
        raise ValueError("space: expected at least one hyperparameter, got an empty mapping")
    config = {}
    for name, distribution in space.items():
        if not hasattr(distribution, "sample"):
            raise ValueError(f"space[{name!r}]: expected Uniform, LogUniform or Choice, got "
                             f"{type(distribution).__name__}")
        config[name] = distribution.sample(rng)
    return config


def random_search(objective: Callable[[dict[str, Any]], Any], space: Mapping[str, Any],
                  num_trials: int, rng: np.random.Generator, desc: str = "random search"
                  ) -> list[Trial]:
    """Evaluate ``num_trials`` random configurations; return the trials sorted best first.

    ``objective(config)`` returns the score to minimise (e.g. a validation loss), or a
    ``(score, extra_dict)`` pair.  A NaN score (a diverged run) sorts last.  All the
    configurations are drawn before the first evaluation, so the draws do not depend on
    what the objective does with random numbers.
    """
    check_positive_int("num_trials", num_trials)
    configs = [sample_config(space, rng) for _ in range(num_trials)]
    trials = []
    for index, config in enumerate(progress(configs, desc=desc)):
        result = objective(dict(config))
        score, extra = result if isinstance(result, tuple) else (result, {})
        trials.append(Trial(index, config, float(score), dict(extra)))
    return sorted(trials, key=lambda t: (math.isnan(t.score), t.score))


def trials_table(trials: Sequence[Trial], formats: Mapping[str, str] | None = None,
                 score_name: str = "score") -> str:
    """A Markdown (GFM) table of the trials: one row each, in the given order.

    ``formats`` maps a config key (or ``score_name``) to a format spec such as ``".2e"``.
    """
    if not trials:
        raise ValueError("trials: expected at least one trial, got none")
    formats = dict(formats or {})
    keys = list(trials[0].config)
    header = ["trial", *keys, score_name]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for t in trials:
        cells = [str(t.index)]
        for key in keys:
            value = t.config[key]
            cells.append(format(value, formats[key]) if key in formats else str(value))
        cells.append(format(t.score, formats.get(score_name, ".4g")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class SeedComparison:
    """Two settings, each run with several seeds, compared on a score where lower is better.

    ``mean_a``, ``mean_b``: the means; ``spread``: the larger of the two sample standard
    deviations (``ddof=1``); ``difference = mean_b - mean_a`` (positive: ``a`` is lower).
    ``verdict`` is ``"lower"`` when ``a``'s mean is below ``b``'s by more than ``factor``
    spreads, ``"higher"`` when above by as much, else ``"no clear difference"``.
    """

    mean_a: float
    mean_b: float
    spread: float
    difference: float
    verdict: str


def compare_seeds(a: Sequence[float], b: Sequence[float], factor: float = 2.0
                  ) -> SeedComparison:
    """Compare scores ``a`` and ``b`` (one per seed, at least 2 each, finite): is ``a`` lower?

    The rule the book uses throughout: a difference of means smaller than ``factor`` times
    the larger of the two seed-to-seed standard deviations is not evidence of a difference.
    """
    arrays = []
    for name, values in (("a", a), ("b", b)):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) < 2 or not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected at least 2 finite scores (one per seed), got "
                             f"{values.tolist()}")
        arrays.append(values)
    if not factor > 0:
        raise ValueError(f"factor: expected a positive number, got {factor!r}")
    mean_a, mean_b = float(arrays[0].mean()), float(arrays[1].mean())
    spread = float(max(arrays[0].std(ddof=1), arrays[1].std(ddof=1)))
    difference = mean_b - mean_a
    if difference > factor * spread:
        verdict = "lower"
    elif -difference > factor * spread:
        verdict = "higher"
    else:
        verdict = "no clear difference"
    return SeedComparison(mean_a, mean_b, spread, difference, verdict)
