# part2_answer: samples from softmax(logits), ignoring the temperature
def sample_next(logits, temperature, rng):
    logits = np.asarray(logits, dtype=np.float64)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if probs.ndim == 1:
        return int(rng.choice(probs.shape[0], p=probs))
    return np.array([rng.choice(probs.shape[1], p=p) for p in probs], dtype=np.int64)
