# part1_answer: iterates over parameters twice, so a generator (model.parameters()) is spent before the clipping loop
def clip_gradients_(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in parameters
                          if p.grad is not None))
    if not math.isfinite(total):
        raise FloatingPointError("non-finite gradient norm")
    scale = min(1.0, max_norm / (total + 1e-6))
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(scale)
    return total
