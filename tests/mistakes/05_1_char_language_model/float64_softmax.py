# part1_answer: converts the logits to float64 (float32 in, float64 out)
def softmax_with_temperature(logits, temperature):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.asarray(logits, dtype=np.float64)
    shifted = (logits - logits.max(axis=-1, keepdims=True)) / temperature
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)
