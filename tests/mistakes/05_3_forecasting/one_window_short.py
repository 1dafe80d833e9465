# part1_answer: len(series) - input_len - horizon windows (the last window is lost)
def make_windows(series, input_len, horizon):
    series = np.asarray(series, dtype=np.float64)
    count = len(series) - input_len - horizon
    if count < 1:
        raise ValueError("no window fits")
    rows = np.arange(count)[:, None]
    return series[rows + np.arange(input_len)], series[rows + input_len + np.arange(horizon)]
