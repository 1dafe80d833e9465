# part1_answer: rescales to max_norm even when the norm is already below it
def clip_gradients(grads, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None))
    if not math.isfinite(total):
        raise FloatingPointError("non-finite gradient norm")
    scale = max_norm / (total + 1e-6)
    return [None if g is None else g * scale for g in grads], total
