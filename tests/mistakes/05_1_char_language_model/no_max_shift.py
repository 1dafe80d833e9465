# part1_answer: exponentiates the logits without subtracting the maximum (overflows)
def softmax_with_temperature(logits, temperature):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    weights = np.exp(logits / temperature)
    return weights / weights.sum(axis=-1, keepdims=True)
