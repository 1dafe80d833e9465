# part4_answer: fits without the intercept and puts a zero in its place
def fit_ar(series, p):
    series = np.asarray(series, dtype=np.float64)
    rows = np.arange(len(series) - p)[:, None]
    lagged = series[rows + np.arange(p)]
    coef, *_ = np.linalg.lstsq(lagged, series[p:], rcond=None)
    return np.concatenate([[0.0], coef])
