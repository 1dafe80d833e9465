r"""Forecasting a univariate series: windows, baselines, errors and a small LSTM forecaster.

Everything here is indexed by **target start**: a forecast made from the values up to index
``s - 1`` (the *origin*) for the ``horizon`` values at ``s, s + 1, ..., s + horizon - 1``.
Baselines, the autoregression and the LSTM all receive the same windows, so their errors are
computed on exactly the same targets.

* windows: :func:`make_windows` (every window of a series), :func:`windows_at` (the windows
  whose targets start at given indices), :func:`chronological_split` and
  :func:`target_starts` (train / validation / test by time, never shuffled across it);
* scaling: :class:`Standardizer`, fitted on the training part only;
* baselines: :func:`naive_forecast`, :func:`seasonal_naive_forecast`, :func:`fit_ar` /
  :func:`ar_forecast` (a linear autoregression fitted by least squares);
* errors: :func:`mae`, :func:`rmse`, :func:`mase` per horizon step;
* the network: :class:`Forecaster` (an ``lstm_ref.torch.LSTM`` and a linear head that emits
  all ``horizon`` steps at once), :func:`fit_forecaster`, :func:`predict`,
  :func:`recursive_forecast`.

MASE, the mean absolute scaled error of Hyndman and Koehler (2006), divides a forecast's MAE
by the in-sample MAE of the one-step naive forecast on the training series,

.. math:: \text{MASE} = \frac{\frac1M \sum_i |y_i - \hat y_i|}{\frac{1}{n-m}\sum_{t=m}^{n-1} |z_t - z_{t-m}|},

so 1.0 means "as wrong as copying the last value was on the data you trained on".
"""

from __future__ import annotations

import copy
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from lstm_ref.torch import LSTM
from lstm_ref.training import train_loop


def _series(name: str, series) -> np.ndarray:
    array = np.asarray(series, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series of shape (N,), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers, found NaN or inf")
    return array


def _positive_int(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _history(history) -> np.ndarray:
    array = np.asarray(history, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"history must have shape (M, L) with L >= 1, got {array.shape}")
    return array


# ----------------------------------------------------------------------------- windows

def make_windows(series, input_len: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """All windows of a 1-D series: inputs ``(M, input_len)`` and targets ``(M, horizon)``.

    Row ``i`` reads ``series[i : i + input_len]`` and its targets are the next ``horizon``
    values ``series[i + input_len : i + input_len + horizon]``; ``M = N - input_len - horizon + 1``.
    """
    series = _series("series", series)
    input_len, horizon = _positive_int("input_len", input_len), _positive_int("horizon", horizon)
    count = len(series) - input_len - horizon + 1
    if count < 1:
        raise ValueError(f"a series of length {len(series)} is too short for input_len "
                         f"{input_len} + horizon {horizon}")
    rows = np.arange(count)[:, None]
    return series[rows + np.arange(input_len)], series[rows + input_len + np.arange(horizon)]


def windows_at(series, input_len: int, horizon: int, starts) -> tuple[np.ndarray, np.ndarray]:
    """The windows whose targets start at ``starts`` (``(M,)`` indices): inputs
    ``series[s - input_len : s]`` ``(M, input_len)`` and targets ``series[s : s + horizon]``."""
    series = _series("series", series)
    input_len, horizon = _positive_int("input_len", input_len), _positive_int("horizon", horizon)
    starts = np.asarray(starts)
    if starts.ndim != 1 or not np.issubdtype(starts.dtype, np.integer):
        raise ValueError(f"starts must be a 1-D array of integer indices, got {starts.dtype} "
                         f"of shape {starts.shape}")
    if starts.size and (starts.min() < input_len or starts.max() + horizon > len(series)):
        raise ValueError(f"starts must lie in [input_len, N - horizon] = [{input_len}, "
                         f"{len(series) - horizon}], got {starts.min()} to {starts.max()}")
    return (series[starts[:, None] - input_len + np.arange(input_len)],
            series[starts[:, None] + np.arange(horizon)])


class Split(NamedTuple):
    """Index ranges of a chronological split: ``train = [0, val_start)``,
    ``val = [val_start, test_start)``, ``test = [test_start, n)``."""
    n: int
    val_start: int
    test_start: int


def chronological_split(n: int, val: float = 0.15, test: float = 0.15) -> Split:
    """Split ``range(n)`` by time: the oldest values train, the next validate, the newest test."""
    n = _positive_int("n", n)
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise ValueError(f"val and test must be fractions with val + test < 1, got {val}, {test}")
    test_start = n - max(1, int(round(n * test)))
    val_start = test_start - max(1, int(round(n * val)))
    if val_start < 1:
        raise ValueError(f"n = {n} is too small to split into train, val and test")
    return Split(n, val_start, test_start)


def target_starts(split: Split, part: str, input_len: int, horizon: int) -> np.ndarray:
    """Target starts ``s`` whose targets ``[s, s + horizon)`` all lie in ``part`` of ``split``
    (``"train"``, ``"val"`` or ``"test"``) and which have ``input_len`` values before them.

    Inputs may reach back into earlier parts: that is history, known at forecast time.
    """
    bounds = {"train": (0, split.val_start), "val": (split.val_start, split.test_start),
              "test": (split.test_start, split.n)}
    if part not in bounds:
        raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}")
    lo, hi = bounds[part]
    starts = np.arange(max(lo, input_len), hi - horizon + 1)
    if starts.size == 0:
        raise ValueError(f"no window of input_len {input_len} and horizon {horizon} fits "
                         f"in the {part} part [{lo}, {hi})")
    return starts


class Standardizer:
    """``(x - mean) / std`` with the mean and standard deviation of the training values only."""

    def __init__(self, train_values):
        train_values = _series("train_values", np.ravel(train_values))
        self.mean = float(train_values.mean())
        self.std = float(train_values.std()) or 1.0

    def transform(self, values):
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse(self, values):
        return np.asarray(values, dtype=np.float64) * self.std + self.mean


# ----------------------------------------------------------------------------- baselines

def naive_forecast(history, horizon: int) -> np.ndarray:
    """Repeat the last observed value: ``history (M, L) -> (M, horizon)``."""
    history, horizon = _history(history), _positive_int("horizon", horizon)
    return np.repeat(history[:, -1:], horizon, axis=1)


def seasonal_naive_forecast(history, horizon: int, season: int) -> np.ndarray:
    """Repeat the value one season earlier: step ``k`` (1-based) of the forecast is the value
    observed ``season * ceil(k / season)`` steps before the time it forecasts.

    ``history (M, L)`` with ``L >= season`` -> ``(M, horizon)``.
    """
    history = _history(history)
    horizon, season = _positive_int("horizon", horizon), _positive_int("season", season)
    length = history.shape[1]
    if length < season:
        raise ValueError(f"history must hold at least one season: got L = {length} < "
                         f"season = {season}")
    steps = np.arange(1, horizon + 1)
    back = season * np.ceil(steps / season).astype(int) - steps   # how far before the origin
    return history[:, length - 1 - back]


def fit_ar(series, p: int) -> np.ndarray:
    """Least-squares AR(p) with intercept: ``z_t = c + a_1 z_{t-p} + ... + a_p z_{t-1}``.

    Returns ``(p + 1,)``: the intercept ``c`` then the weights of the window's values from the
    oldest to the newest (so a window ``(M, p)`` forecasts ``c + window @ coef[1:]``).
    """
    series, p = _series("series", series), _positive_int("p", p)
    if len(series) < 2 * p + 1:
        raise ValueError(f"fitting AR({p}) needs a series of at least {2 * p + 1} values, "
                         f"got {len(series)}")
    inputs, targets = make_windows(series, p, 1)
    design = np.hstack([np.ones((len(inputs), 1)), inputs])
    coef, *_ = np.linalg.lstsq(design, targets[:, 0], rcond=None)
    return coef


def recursive_forecast(step: Callable[[np.ndarray], np.ndarray], history, horizon: int,
                       context: int | None = None) -> np.ndarray:
    """Forecast ``horizon`` steps by feeding each one-step forecast back as an input.

    ``step`` maps windows ``(M, context)`` to next values ``(M,)``; ``history (M, L)`` with
    ``L >= context`` (default: ``L``). Returns ``(M, horizon)``.
    """
    history, horizon = _history(history), _positive_int("horizon", horizon)
    context = history.shape[1] if context is None else _positive_int("context", context)
    if context > history.shape[1]:
        raise ValueError(f"context {context} is longer than the history L = {history.shape[1]}")
    window = history[:, -context:].copy()
    out = np.empty((len(history), horizon))
    for k in range(horizon):
        out[:, k] = np.asarray(step(window), dtype=np.float64).reshape(len(history))
        window = np.concatenate([window[:, 1:], out[:, k:k + 1]], axis=1)
    return out


def ar_forecast(coef, history, horizon: int) -> np.ndarray:
    """Recursive ``horizon``-step forecasts of an AR(p) from :func:`fit_ar`: ``(M, horizon)``."""
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim != 1 or coef.size < 2:
        raise ValueError(f"coef must have shape (p + 1,) with p >= 1, got {coef.shape}")
    return recursive_forecast(lambda w: coef[0] + w @ coef[1:], history, horizon,
                              context=coef.size - 1)


# ----------------------------------------------------------------------------- errors

def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape or true.ndim not in (1, 2) or true.size == 0:
        raise ValueError(f"y_true and y_pred must have the same shape (M,) or (M, horizon), "
                         f"got {true.shape} and {pred.shape}")
    return true, pred


def mae(y_true, y_pred) -> np.ndarray:
    """Mean absolute error over windows: one value per horizon step (``(horizon,)``)."""
    true, pred = _pair(y_true, y_pred)
    return np.mean(np.abs(true - pred), axis=0)


def rmse(y_true, y_pred) -> np.ndarray:
    """Root mean squared error over windows, one value per horizon step."""
    true, pred = _pair(y_true, y_pred)
    return np.sqrt(np.mean((true - pred) ** 2, axis=0))


def mase(y_true, y_pred, train_series, season: int = 1) -> np.ndarray:
    """MAE divided by the in-sample MAE of the (seasonal) naive forecast on ``train_series``."""
    train_series, season = _series("train_series", train_series), _positive_int("season", season)
    if len(train_series) <= season:
        raise ValueError(f"train_series must be longer than season = {season}, "
                         f"got {len(train_series)} values")
    scale = np.mean(np.abs(train_series[season:] - train_series[:-season]))
    if scale == 0:
        raise ValueError("train_series is constant at lag season: MASE is undefined")
    return mae(y_true, y_pred) / scale


# ----------------------------------------------------------------------------- the network

class Forecaster(nn.Module):
    """An LSTM that reads a window and a linear head that emits ``horizon`` values at once.

    With ``relative=True`` the network sees the window minus its last value and predicts the
    change from that value (the naive forecast is then the network's zero): a series with a
    trend that leaves the training range, such as CO2, stays inside what the network has seen.

    Input ``(B, L)`` or ``(B, L, D)`` (feature 0 is the series); output ``(B, horizon)``.
    """

    def __init__(self, hidden_size: int, horizon: int = 1, input_size: int = 1,
                 num_layers: int = 1, relative: bool = False):
        super().__init__()
        self.horizon = _positive_int("horizon", horizon)
        self.relative = relative
        self.lstm = LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        if x.dim() != 3 or x.shape[2] != self.lstm.input_size:
            raise ValueError(f"expected a window of shape (B, L) or (B, L, "
                             f"{self.lstm.input_size}), got {tuple(x.shape)}")
        last = x[:, -1:, 0]                                   # (B, 1)
        if self.relative:
            x = torch.cat([x[:, :, :1] - last[:, :, None], x[:, :, 1:]], dim=2)
        out, _ = self.lstm(x)
        y = self.head(out[:, -1])
        return y + last if self.relative else y


def predict(model: nn.Module, inputs, batch_size: int = 1024) -> np.ndarray:
    """Run ``model`` on NumPy inputs (on the model's device) and return NumPy float64 outputs."""
    device = next(model.parameters()).device
    inputs = np.asarray(inputs, dtype=np.float32)
    model.eval()
    with torch.no_grad():
        out = [model(torch.from_numpy(inputs[i:i + batch_size]).to(device)).cpu()
               for i in range(0, len(inputs), batch_size)]
    return torch.cat(out).double().numpy()


def fit_forecaster(model: nn.Module, train: tuple, val: tuple, steps: int, batch_size: int = 64,
                   lr: float = 3e-3, eval_every: int = 25, seed: int = 0,
                   desc: str = "training") -> dict[str, list]:
    """Adam on the mean squared error over ``steps`` minibatches drawn from ``train = (X, Y)``.

    Every ``eval_every`` steps the validation MSE on ``val = (X, Y)`` is logged; at the end
    the model keeps the weights with the lowest validation error (early stopping without
    stopping). Returns the history with ``"loss"``, ``"val_loss"`` (at ``"val_step"``) keys.
    """
    device = next(model.parameters()).device
    x_train, y_train = (torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
                        for a in train)
    x_val, y_val = (torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
                    for a in val)
    if len(x_train) != len(y_train) or len(x_val) != len(y_val):
        raise ValueError(f"inputs and targets must have the same length, got train "
                         f"{len(x_train)}/{len(y_train)}, val {len(x_val)}/{len(y_val)}")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best = {"val_loss": float("inf"), "state": None}
    val_history: dict[str, list] = {"val_step": [], "val_loss": []}

    def step(i):
        model.train()
        rows = torch.randint(len(x_train), (batch_size,), generator=generator).to(device)
        loss = torch.mean((model(x_train[rows]) - y_train[rows]) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % eval_every == 0 or i == steps - 1:
            model.eval()
            with torch.no_grad():
                val_loss = float(torch.mean((model(x_val) - y_val) ** 2))
            val_history["val_step"].append(i)
            val_history["val_loss"].append(val_loss)
            if val_loss < best["val_loss"]:
                best.update(val_loss=val_loss, state=copy.deepcopy(model.state_dict()))
        return {"loss": loss.item(), "val_loss": val_history["val_loss"][-1]}

    history = train_loop(step, steps, desc=desc, log_every=5)
    history.pop("val_loss")          # logged at every step; the fresh values are below
    model.load_state_dict(best["state"])
    model.eval()
    history.update(val_history)
    return history
