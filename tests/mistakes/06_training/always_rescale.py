# part1_answer: rescales to max_norm even when the norm is already below it
def clip_gradients_(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    if not math.isfinite(total):
        raise FloatingPointError("non-finite gradient norm")
    with torch.no_grad():
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total
