# part1_answer: keeps the series' dtype (integer input gives integer windows, not float64)
def make_windows(series, input_len, horizon):
    series = np.asarray(series)
    count = len(series) - input_len - horizon + 1
    if count < 1:
        raise ValueError(f"a series of length {len(series)} has no window")
    rows = np.arange(count)[:, None]
    return series[rows + np.arange(input_len)], series[rows + input_len + np.arange(horizon)]
