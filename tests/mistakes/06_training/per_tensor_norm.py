# part1_answer: clips each gradient by its own norm instead of one global norm over all of them
def clip_gradients(grads, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norms = [None if g is None else float(g.norm()) for g in grads]
    present = [n for n in norms if n is not None]
    if not all(math.isfinite(n) for n in present):
        raise FloatingPointError("non-finite gradient")
    clipped = [None if g is None else g * min(1.0, max_norm / (n + 1e-6))
               for g, n in zip(grads, norms)]
    return clipped, math.sqrt(sum(n ** 2 for n in present))
