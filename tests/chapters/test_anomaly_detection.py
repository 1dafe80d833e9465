"""lstm_ref.chapters.applications.anomaly_detection: runs and event scores counted by hand, the rolling z-score
against a direct loop, prediction-error scores against the forecaster, PR sweeps against
lstm_ref.training.metrics, and a trained detector that finds injected anomalies."""

import numpy as np
import pytest
import torch

from lstm_ref.chapters.applications import anomaly_detection as ad
from lstm_ref.chapters.applications import forecasting as fc
from lstm_ref.data import synthetic_anomaly_series
from lstm_ref.training.metrics import precision_recall_f1


def test_runs_by_hand():
    assert ad.runs([0, 1, 1, 0, 0, 1, 0, 1]) == [(1, 3), (5, 6), (7, 8)]
    assert ad.runs([1, 1]) == [(0, 2)]
    assert ad.runs([0, 0, 0]) == []
    with pytest.raises(ValueError, match="only 0 and 1"):
        ad.runs([0, 2, 1])
    with pytest.raises(ValueError, match="1-D"):
        ad.runs(np.zeros((2, 2)))


def test_event_scores_by_hand():
    #          0  1  2  3  4  5  6  7  8  9 10 11
    flags = [0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0]
    anomalies = [{"kind": "a", "start": 2, "stop": 5},    # touched by the run (1, 3): detected
                 {"kind": "b", "start": 7, "stop": 9},    # no flag inside: missed
                 {"kind": "a", "start": 10, "stop": 12}]  # touched by the run (9, 11): detected
    scores = ad.event_scores(flags, anomalies)
    # runs: (1,3) true, (6,7) false, (9,11) true -> precision 2/3; recall 2/3
    assert scores.precision == pytest.approx(2 / 3) and scores.recall == pytest.approx(2 / 3)
    assert scores.detected == [True, False, True] and scores.false_alarms == 1
    by_kind = ad.per_kind_recall(flags, anomalies)
    assert by_kind["a"] == {"events": 2, "event_recall": 1.0, "point_recall": pytest.approx(2 / 5)}
    assert by_kind["b"] == {"events": 1, "event_recall": 0.0, "point_recall": 0.0}
    assert ad.event_scores([0] * 12, anomalies)[:2] == (0.0, 0.0)
    with pytest.raises(ValueError, match="does not lie inside"):
        ad.event_scores(flags, [{"kind": "a", "start": 10, "stop": 13}])


def test_rolling_zscore_matches_a_loop():
    values = np.random.default_rng(0).standard_normal(40)
    scores = ad.rolling_zscore(values, 7)
    for t in range(7, 40):
        past = values[t - 7:t]
        assert scores[t] == pytest.approx(abs(values[t] - past.mean()) / past.std())
    assert np.all(scores[:7] == 0)
    with pytest.raises(ValueError, match="window"):
        ad.rolling_zscore(values, 40)


def test_one_step_errors_align_with_the_forecaster():
    torch.manual_seed(0)
    model = fc.Forecaster(hidden_size=4, horizon=1)
    values = np.random.default_rng(1).standard_normal(30)
    scores = ad.one_step_errors(model, values, 5)
    assert scores.shape == (30,) and np.all(scores[:5] == 0)
    window = torch.tensor(values[12:17], dtype=torch.float32)[None]
    expected = abs(values[17] - model(window).item())
    assert scores[17] == pytest.approx(expected, abs=1e-5)


def test_pr_curve_agrees_with_metrics_and_best_threshold_is_on_it():
    rng = np.random.default_rng(2)
    labels = (rng.uniform(size=300) < 0.1).astype(int)
    scores = rng.uniform(size=300) + 0.8 * labels
    thresholds = np.array([0.2, 0.7, 1.1])
    curve = ad.pr_curve(labels, scores, thresholds)
    for i, t in enumerate(thresholds):
        expected = precision_recall_f1(labels, (scores > t).astype(int))
        assert (curve["precision"][i], curve["recall"][i], curve["f1"][i]) == pytest.approx(tuple(expected))
    best = ad.best_f1_threshold(labels, scores)
    best_f1 = precision_recall_f1(labels, (scores > best).astype(int)).f1
    for t in np.quantile(scores, np.linspace(0.5, 0.9995, 200)):
        assert precision_recall_f1(labels, (scores > t).astype(int)).f1 <= best_f1 + 1e-12
    with pytest.raises(ValueError, match="same shape"):
        ad.pr_curve(labels[:10], scores, thresholds)


def test_a_trained_predictor_detects_injected_anomalies():
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    values, labels, anomalies = synthetic_anomaly_series(3000, rng, num_anomalies=4)
    scaler = fc.Standardizer(values[:1000])
    z = scaler.transform(values)
    model = fc.Forecaster(hidden_size=16, horizon=1)
    fc.fit_forecaster(model, fc.windows_at(z, 50, 1, np.arange(50, 1000)),
                      fc.windows_at(z, 50, 1, np.arange(1000, 1200)), steps=300, lr=1e-2)
    scores = ad.one_step_errors(model, z, 50)
    tau = np.quantile(scores[1000:1200], 0.999)
    flags = (scores > tau).astype(int)
    events = ad.event_scores(flags, anomalies)
    assert events.recall >= 0.75, events
    # the learned detector beats the rolling z-score on point-wise F1
    z_scores = ad.rolling_zscore(values, 50)
    z_flags = (z_scores > np.quantile(z_scores[1000:1200], 0.999)).astype(int)
    assert precision_recall_f1(labels, flags).f1 > precision_recall_f1(labels, z_flags).f1
