# part1_answer: clips each gradient by its own norm instead of one global norm over all of them
def clip_gradients_(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = [float(g.norm()) for g in grads]
    if not all(math.isfinite(n) for n in norms):
        raise FloatingPointError("non-finite gradient")
    with torch.no_grad():
        for g, n in zip(grads, norms):
            g.mul_(min(1.0, max_norm / (n + 1e-6)))
    return math.sqrt(sum(n ** 2 for n in norms))
