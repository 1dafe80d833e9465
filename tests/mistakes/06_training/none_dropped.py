# part1_answer: leaves out the parameters without a gradient, so the list gets shorter and its entries no longer line up with the parameters
def clip_gradients(grads, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [g for g in grads if g is not None]
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    if not math.isfinite(total):
        raise FloatingPointError("non-finite gradient norm")
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], total
