"""Anomaly detection on a series by prediction error, and how to score a detector.

A model of *normal* behaviour (here a one-step LSTM forecaster trained on clean data, after
Malhotra et al., 2015) predicts each value from the ones before it; a point whose prediction
error is large is flagged. The evaluation has two views:

* **point-wise**: every time step is a labelled example (precision, recall and F1 from
  :mod:`lstm_ref.training.metrics`);
* **event-wise**: an anomaly is a contiguous run of labelled points and counts as detected if
  *any* of its points is flagged; a flagged run (a contiguous stretch of flags) is a true
  alarm if it overlaps an anomaly. An operator cares about events: one alarm per incident.

Functions: :func:`one_step_errors`, :func:`rolling_zscore` (a baseline), :func:`runs`,
:func:`event_scores`, :func:`per_kind_recall`, :func:`pr_curve`, :func:`best_f1_threshold`.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import torch

from lstm_ref.chapters.applications.forecasting import make_windows, predict
from lstm_ref.training.metrics import precision_recall_f1


def _flags(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of 0/1 flags, got shape {array.shape}")
    if array.size and not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold only 0 and 1 (or booleans), got values "
                         f"{sorted(set(np.unique(array).tolist()))[:5]}")
    return array.astype(bool)


def one_step_errors(model: torch.nn.Module, values, input_len: int) -> np.ndarray:
    """``|z_t - prediction of z_t from z_{t-input_len..t-1}|`` for every ``t``: ``(N,)``.

    ``model`` maps windows ``(B, input_len)`` to ``(B, 1)``; the first ``input_len`` points
    have no full window before them and get a score of 0.
    """
    values = np.asarray(values, dtype=np.float64)
    inputs, targets = make_windows(values, input_len, 1)
    scores = np.zeros(len(values))
    scores[input_len:] = np.abs(targets[:, 0] - predict(model, inputs)[:, 0])
    return scores


def rolling_zscore(values, window: int) -> np.ndarray:
    """``|z_t - mean| / std`` with the mean and standard deviation of the ``window`` values
    before ``t`` (the first ``window`` points score 0)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must have shape (N,), got {values.shape}")
    if not isinstance(window, (int, np.integer)) or not 2 <= window < len(values):
        raise ValueError(f"window must be an integer in [2, N) = [2, {len(values)}), got {window!r}")
    past = np.lib.stride_tricks.sliding_window_view(values[:-1], window)   # past[i] = z[i:i+w]
    scores = np.zeros(len(values))
    spread = past.std(axis=1)
    scores[window:] = np.abs(values[window:] - past.mean(axis=1)) / np.maximum(spread, 1e-12)
    return scores


def runs(flags) -> list[tuple[int, int]]:
    """The ``(start, stop)`` of every run of consecutive ones (``stop`` is exclusive)."""
    flags = _flags("flags", flags).astype(np.int8)
    edges = np.diff(np.concatenate([[0], flags, [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


class EventScores(NamedTuple):
    precision: float     # flagged runs that overlap an anomaly / flagged runs
    recall: float        # anomalies with at least one flagged point / anomalies
    detected: list       # one bool per anomaly, in the order given
    false_alarms: int    # flagged runs that overlap no anomaly


def event_scores(flags, anomalies: Sequence[dict]) -> EventScores:
    """Event-wise precision and recall of ``flags`` ``(N,)`` against ``anomalies``, a list of
    ``{"start", "stop", ...}`` dicts (as :func:`lstm_ref.data.synthetic_anomaly_series` returns)."""
    flags = _flags("flags", flags)
    for a in anomalies:
        if not 0 <= a["start"] < a["stop"] <= len(flags):
            raise ValueError(f"anomaly {a} does not lie inside the {len(flags)} flags")
    detected = [bool(flags[a["start"]:a["stop"]].any()) for a in anomalies]
    labelled = np.zeros(len(flags), dtype=bool)
    for a in anomalies:
        labelled[a["start"]:a["stop"]] = True
    alarms = runs(flags)
    true_alarms = sum(bool(labelled[start:stop].any()) for start, stop in alarms)
    precision = true_alarms / len(alarms) if alarms else 0.0
    recall = sum(detected) / len(anomalies) if anomalies else 0.0
    return EventScores(float(precision), float(recall), detected, len(alarms) - true_alarms)


def per_kind_recall(flags, anomalies: Sequence[dict]) -> dict[str, dict[str, float]]:
    """For each anomaly kind: the number of events, the event recall and the point recall
    (flagged points inside that kind's anomalies / their points). Precision has no kind: a
    false alarm is not of any kind."""
    flags = _flags("flags", flags)
    out: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(a["kind"] for a in anomalies):
        mine = [a for a in anomalies if a["kind"] == kind]
        points = np.concatenate([flags[a["start"]:a["stop"]] for a in mine])
        out[kind] = {"events": len(mine),
                     "event_recall": float(np.mean([flags[a["start"]:a["stop"]].any() for a in mine])),
                     "point_recall": float(points.mean())}
    return out


def pr_curve(labels, scores, thresholds) -> dict[str, np.ndarray]:
    """Point-wise precision, recall and F1 of ``scores > threshold`` for each threshold."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = _flags("labels", labels).astype(np.int64)
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have the same shape, got {scores.shape} "
                         f"and {labels.shape}")
    thresholds = np.asarray(thresholds, dtype=np.float64)
    rows = np.array([tuple(precision_recall_f1(labels, (scores > t).astype(np.int64)))
                     for t in thresholds]).reshape(-1, 3)
    return {"threshold": thresholds, "precision": rows[:, 0], "recall": rows[:, 1], "f1": rows[:, 2]}


def best_f1_threshold(labels, scores, num: int = 200) -> float:
    """The threshold, among ``num`` quantiles of ``scores``, with the highest point-wise F1."""
    candidates = np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0.5, 0.9995, num))
    curve = pr_curve(labels, scores, candidates)
    return float(candidates[int(np.argmax(curve["f1"]))])
