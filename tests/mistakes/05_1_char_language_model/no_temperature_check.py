# part1_answer: accepts temperature 0 or below instead of raising ValueError
def softmax_with_temperature(logits, temperature):
    shifted = (logits - logits.max(axis=-1, keepdims=True)) / temperature
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)
