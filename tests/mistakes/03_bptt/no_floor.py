# part2b_answer: no floor on the denominator (0/0 gives nan)
def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
