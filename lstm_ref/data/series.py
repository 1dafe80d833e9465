"""Real time series for forecasting: sunspots, Mauna Loa CO2 and Seattle's daily weather.

``sunspots`` and ``co2_weekly`` read files committed under ``lstm_ref/data/files/`` (public
domain, copied from statsmodels' datasets); ``seattle_weather`` reads the CSV shipped in the
PyPI package ``vega_datasets==0.9.0`` (public-domain NOAA data).
"""

from __future__ import annotations

import csv
from datetime import date

import numpy as np

from ._files import committed_file, package_file


def _read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot number, 1700-2008: ``(years (309,), values (309,))``."""
    rows = _read_csv(committed_file("sunspots_yearly.csv"))
    years = np.array([int(float(r["YEAR"])) for r in rows])
    return years, np.array([float(r["SUNACTIVITY"]) for r in rows])


def co2_weekly() -> tuple[np.ndarray, np.ndarray]:
    """Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001, gaps filled by linear interpolation.

    Returns ``(dates (N,) datetime64[D], values (N,))``.
    """
    rows = _read_csv(committed_file("co2_mauna_loa_weekly.csv"))
    dates = np.array([date(int(r["date"][:4]), int(r["date"][4:6]), int(r["date"][6:]))
                      for r in rows], dtype="datetime64[D]")
    values = np.array([float(r["co2"]) if r["co2"] else np.nan for r in rows])
    missing = np.isnan(values)
    idx = np.arange(len(values))
    values[missing] = np.interp(idx[missing], idx[~missing], values[~missing])
    return dates, values


def seattle_weather() -> dict[str, np.ndarray]:
    """Daily Seattle weather 2012-2015: arrays ``date``, ``temp_max``, ``temp_min`` (deg C),
    ``precipitation`` (mm), ``wind`` (m/s) and ``weather`` (a label such as ``"rain"``)."""
    rows = _read_csv(package_file("vega_datasets", "_data", "seattle-weather.csv"))
    out = {"date": np.array([r["date"].replace("/", "-") for r in rows], dtype="datetime64[D]"),
           "weather": np.array([r["weather"] for r in rows])}
    for key in ("temp_max", "temp_min", "precipitation", "wind"):
        out[key] = np.array([float(r[key]) for r in rows])
    return out


def sliding_windows(series: np.ndarray, input_len: int, horizon: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series ``(N,)`` or ``(N, D)`` into inputs ``(M, input_len, D)`` and the next
    ``horizon`` values of the first feature ``(M, horizon)``, where ``M = N - input_len - horizon + 1``.
    """
    series = np.asarray(series, dtype=np.float64)
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2:
        raise ValueError(f"series must have shape (N,) or (N, D), got {series.shape}")
    if input_len < 1 or horizon < 1:
        raise ValueError(f"input_len and horizon must be >= 1, got {input_len}, {horizon}")
    count = len(series) - input_len - horizon + 1
    if count < 1:
        raise ValueError(f"a series of length {len(series)} is too short for input_len "
                         f"{input_len} + horizon {horizon}")
    starts = np.arange(count)
    inputs = series[starts[:, None] + np.arange(input_len)]
    targets = series[starts[:, None] + input_len + np.arange(horizon), 0]
    return inputs, targets
