# part1_answer: clips a gradient holding inf or nan instead of refusing (the gradients turn into nan)
def clip_gradients_(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    with torch.no_grad():
        for g in grads:
            g.mul_(scale)
    return total
