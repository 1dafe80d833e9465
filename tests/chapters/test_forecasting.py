"""lstm_ref.chapters.applications.forecasting: windows and splits by index, baselines on hand-made series, errors by
hand, AR recovery of known coefficients, and the LSTM forecaster against a plain loop."""

import numpy as np
import pytest
import torch

from lstm_ref.chapters.applications import forecasting as fc
from lstm_ref.data import sliding_windows


def test_make_windows_alignment_and_agreement_with_sliding_windows():
    series = np.arange(10.0)
    inputs, targets = fc.make_windows(series, input_len=3, horizon=2)
    assert inputs.shape == (6, 3) and targets.shape == (6, 2)
    np.testing.assert_array_equal(inputs[0], [0, 1, 2])
    np.testing.assert_array_equal(targets[0], [3, 4])
    np.testing.assert_array_equal(targets[-1], [8, 9])
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(57)
    x_ref, y_ref = sliding_windows(noise, 7, 4)
    x, y = fc.make_windows(noise, 7, 4)
    np.testing.assert_array_equal(x, x_ref[:, :, 0])
    np.testing.assert_array_equal(y, y_ref)


def test_windows_at_picks_rows_of_make_windows():
    series = np.random.default_rng(1).standard_normal(40)
    x_all, y_all = fc.make_windows(series, 5, 3)
    starts = np.array([5, 12, 37])
    x, y = fc.windows_at(series, 5, 3, starts)
    np.testing.assert_array_equal(x, x_all[starts - 5])
    np.testing.assert_array_equal(y, y_all[starts - 5])
    with pytest.raises(ValueError, match="starts must lie"):
        fc.windows_at(series, 5, 3, np.array([4]))
    with pytest.raises(ValueError, match="starts must lie"):
        fc.windows_at(series, 5, 3, np.array([38]))


def test_split_is_chronological_and_targets_stay_in_their_part():
    split = fc.chronological_split(100, val=0.2, test=0.1)
    assert split == fc.Split(100, 70, 90)
    seen = []
    for part, (lo, hi) in {"train": (0, 70), "val": (70, 90), "test": (90, 100)}.items():
        starts = fc.target_starts(split, part, input_len=8, horizon=3)
        assert starts.min() >= max(lo, 8) and starts.max() + 3 <= hi
        assert starts.max() + 3 == hi            # no window that fits is left out
        seen.append(starts)
    assert seen[0].max() < seen[1].min() and seen[1].max() < seen[2].min()
    with pytest.raises(ValueError, match="no window"):
        fc.target_starts(split, "test", input_len=8, horizon=11)


def test_standardizer_uses_training_values_only():
    scaler = fc.Standardizer([1.0, 2.0, 3.0])
    assert scaler.mean == 2.0 and scaler.std == pytest.approx(np.sqrt(2 / 3))
    values = np.array([10.0, -4.0])
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)


def test_naive_and_seasonal_naive_by_hand():
    history = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(fc.naive_forecast(history, 3), [[5, 5, 5]])
    # season 3: the last season is [3, 4, 5]; steps 1..7 repeat it
    np.testing.assert_array_equal(fc.seasonal_naive_forecast(history, 7, 3), [[3, 4, 5, 3, 4, 5, 3]])
    # a pure periodic series is forecast exactly by its seasonal naive forecast
    series = np.sin(2 * np.pi * np.arange(60) / 12)
    x, y = fc.make_windows(series, 24, 12)
    np.testing.assert_allclose(fc.seasonal_naive_forecast(x, 12, 12), y, atol=1e-12)
    with pytest.raises(ValueError, match="at least one season"):
        fc.seasonal_naive_forecast(history, 2, 6)


def test_fit_ar_recovers_known_coefficients_and_forecasts_recursively():
    rng = np.random.default_rng(2)
    c, a = 0.5, np.array([-0.3, 0.6])             # z_t = c + a[0] z_{t-2} + a[1] z_{t-1} + e
    z = np.zeros(5000)
    for t in range(2, len(z)):
        z[t] = c + a[0] * z[t - 2] + a[1] * z[t - 1] + 0.1 * rng.standard_normal()
    coef = fc.fit_ar(z, 2)
    np.testing.assert_allclose(coef, [c, *a], atol=0.02)
    history = np.array([[1.0, 2.0]])
    step1 = c + a[0] * 1 + a[1] * 2
    step2 = c + a[0] * 2 + a[1] * step1
    np.testing.assert_allclose(fc.ar_forecast([c, *a], history, 2), [[step1, step2]])


def test_errors_by_hand():
    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    pred = np.array([[2.0, 2.0], [3.0, 1.0]])
    np.testing.assert_allclose(fc.mae(truth, pred), [0.5, 1.5])
    np.testing.assert_allclose(fc.rmse(truth, pred), [np.sqrt(0.5), np.sqrt(4.5)])
    # training series 0, 2, 4, 2: one-step naive MAE = (2 + 2 + 2) / 3 = 2
    np.testing.assert_allclose(fc.mase(truth, pred, [0, 2, 4, 2]), [0.25, 0.75])
    # season 2: |4 - 0|, |2 - 2| -> scale 2 as well
    np.testing.assert_allclose(fc.mase(truth, pred, [0, 2, 4, 2], season=2), [0.25, 0.75])
    with pytest.raises(ValueError, match="same shape"):
        fc.mae(truth, pred[:1])
    with pytest.raises(ValueError, match="constant"):
        fc.mase(truth, pred, [1.0, 1.0, 1.0])


def test_bad_input_names_what_came():
    with pytest.raises(ValueError, match=r"shape \(N,\), got shape \(3, 2\)"):
        fc.make_windows(np.zeros((3, 2)), 1, 1)
    with pytest.raises(ValueError, match="too short"):
        fc.make_windows(np.zeros(4), 3, 2)
    with pytest.raises(ValueError, match="positive integer"):
        fc.make_windows(np.zeros(10), 0, 1)
    with pytest.raises(ValueError, match=r"history must have shape \(M, L\)"):
        fc.naive_forecast(np.zeros(5), 1)


def test_forecaster_matches_lstm_plus_head_and_relative_mode():
    torch.manual_seed(0)
    model = fc.Forecaster(hidden_size=6, horizon=3).double()
    x = torch.randn(4, 9, dtype=torch.float64)
    reference = torch.nn.LSTM(1, 6, batch_first=True, dtype=torch.float64)
    reference.load_state_dict(model.lstm.state_dict())
    out, _ = reference(x[:, :, None])
    expected = model.head(out[:, -1])
    torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-12)
    # relative: a constant shift of the window shifts the forecast by the same amount
    relative = fc.Forecaster(hidden_size=6, horizon=3, relative=True).double()
    torch.testing.assert_close(relative(x + 5.0), relative(x) + 5.0, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="expected a window"):
        model(torch.randn(2, 5, 3, dtype=torch.float64))


def test_fit_forecaster_learns_a_sine_and_beats_naive():
    torch.manual_seed(0)
    series = np.sin(2 * np.pi * np.arange(400) / 20)
    split = fc.chronological_split(len(series))
    windows = {p: fc.windows_at(series, 20, 5, fc.target_starts(split, p, 20, 5))
               for p in ("train", "val", "test")}
    model = fc.Forecaster(hidden_size=16, horizon=5)
    history = fc.fit_forecaster(model, windows["train"], windows["val"], steps=300, lr=1e-2)
    assert len(history["val_loss"]) == len(history["val_step"]) > 1
    x_test, y_test = windows["test"]
    lstm_mae = fc.mae(y_test, fc.predict(model, x_test)).mean()
    naive_mae = fc.mae(y_test, fc.naive_forecast(x_test, 5)).mean()
    assert lstm_mae < 0.3 * naive_mae, (lstm_mae, naive_mae)


def test_recursive_forecast_with_an_exact_one_step_model_is_exact():
    series = np.sin(2 * np.pi * np.arange(80) / 16)
    # sin obeys z_t = 2 cos(2 pi / 16) z_{t-1} - z_{t-2}: an exact AR(2)
    coef = np.array([0.0, -1.0, 2 * np.cos(2 * np.pi / 16)])
    x, y = fc.make_windows(series, 10, 6)
    np.testing.assert_allclose(fc.ar_forecast(coef, x, 6), y, atol=1e-9)
    with pytest.raises(ValueError, match="context"):
        fc.recursive_forecast(lambda w: w[:, -1], x, 2, context=11)
