# part4_answer: orders the lag coefficients newest first (the instructions ask oldest first)
def fit_ar(series, p):
    series = np.asarray(series, dtype=np.float64)
    rows = np.arange(len(series) - p)[:, None]
    lagged = series[rows + np.arange(p)][:, ::-1]
    design = np.hstack([np.ones((len(lagged), 1)), lagged])
    coef, *_ = np.linalg.lstsq(design, series[p:], rcond=None)
    return coef
