# part2_answer: no ValueError when the history is shorter than one season (wraps around instead)
def naive_forecast(history, horizon):
    history = np.asarray(history, dtype=np.float64)
    return np.repeat(history[:, -1:], horizon, axis=1)


def seasonal_naive_forecast(history, horizon, season):
    history = np.asarray(history, dtype=np.float64)
    L = history.shape[1]
    k = np.arange(1, horizon + 1)
    steps_back = season * np.ceil(k / season).astype(int) - k
    return history[:, (L - 1 - steps_back) % L]
