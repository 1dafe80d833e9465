# part1_answer: computes in float64 and returns float64 gradients for float32 ones
def clip_gradients(grads, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [None if g is None else g.double() for g in grads]
    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads if g is not None))
    if not math.isfinite(total):
        raise FloatingPointError("non-finite gradient norm")
    scale = min(1.0, max_norm / (total + 1e-6))
    return [None if g is None else g * scale for g in grads], total
