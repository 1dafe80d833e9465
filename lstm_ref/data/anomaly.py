"""A labelled series for anomaly detection: a noisy, ECG-like periodic signal with anomalies.

Real labelled anomaly data is scarce and rarely redistributable, so the series is generated;
every anomaly's kind, position and extent is known, which makes precision and recall exact.
"""

from __future__ import annotations

import numpy as np

ANOMALY_KINDS = ("spike", "level_shift", "noise_burst", "flatline")


def _heartbeat(phase: np.ndarray) -> np.ndarray:
    """One beat per unit of phase: a sharp peak and a smaller, wider wave after it."""
    p = phase % 1.0
    return (np.exp(-((p - 0.3) / 0.03) ** 2) * 1.0
            - np.exp(-((p - 0.36) / 0.02) ** 2) * 0.25
            + np.exp(-((p - 0.65) / 0.08) ** 2) * 0.3)


def synthetic_anomaly_series(length: int, rng: np.random.Generator, period: float = 50.0,
                             noise: float = 0.03, num_anomalies: int = 8, clean_prefix: float = 0.4
                             ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """A periodic signal of ``length`` steps and its point labels.

    The first ``clean_prefix`` fraction has no anomalies (train a model of normal behaviour
    there); ``num_anomalies`` anomalies of the kinds in ``ANOMALY_KINDS`` are placed, without
    overlapping, in the rest.

    Returns:
        values ``(length,)``, labels ``(length,)`` (1 inside an anomaly), and a list of
        ``{"kind", "start", "stop"}`` dicts, one per anomaly.
    """
    if length < 200 or not 0 <= clean_prefix < 1:
        raise ValueError(f"expected length >= 200 and 0 <= clean_prefix < 1, "
                         f"got {length}, {clean_prefix}")
    t = np.arange(length)
    drift = 0.1 * np.sin(2 * np.pi * t / (period * 17.3))
    values = _heartbeat(t / period + rng.uniform()) + drift + noise * rng.standard_normal(length)
    labels = np.zeros(length, dtype=np.int64)
    anomalies: list[dict] = []
    first = int(length * clean_prefix)
    slots = np.linspace(first, length, num_anomalies + 1).astype(int)
    for k in range(num_anomalies):
        kind = ANOMALY_KINDS[k % len(ANOMALY_KINDS)]
        width = {"spike": 3, "level_shift": int(period), "noise_burst": int(period // 2),
                 "flatline": int(period)}[kind]
        lo, hi = slots[k], slots[k + 1] - width
        if hi <= lo:
            raise ValueError(f"series too short for {num_anomalies} anomalies")
        start = int(rng.integers(lo, hi))
        stop = start + width
        if kind == "spike":
            values[start:stop] += rng.choice([-1, 1]) * rng.uniform(0.8, 1.2)
        elif kind == "level_shift":
            values[start:stop] += rng.choice([-1, 1]) * 0.5
        elif kind == "noise_burst":
            values[start:stop] += 0.3 * rng.standard_normal(stop - start)
        else:  # flatline: the signal freezes at its current value
            values[start:stop] = values[start]
        labels[start:stop] = 1
        anomalies.append({"kind": kind, "start": start, "stop": stop})
    return values, labels, anomalies
