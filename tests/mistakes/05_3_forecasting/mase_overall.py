# part3_answer: one MASE over all steps ahead instead of one per step
def mase(y_true, y_pred, train_series, season=1):
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    train_series = np.asarray(train_series, dtype=np.float64)
    scale = np.mean(np.abs(train_series[season:] - train_series[:-season]))
    return np.mean(np.abs(y_true - y_pred)) / scale
