# part1_answer: exponentiates logits / temperature without subtracting the maximum (overflows)
def top_k_top_p(logits, temperature, k, p):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not k >= 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    weights = np.exp(logits / temperature)
    q = weights / weights.sum(axis=-1, keepdims=True)
    above = q[..., None, :] > q[..., :, None]
    keep = (above.sum(axis=-1) < k) & ((q[..., None, :] * above).sum(axis=-1) < p)
    kept = np.where(keep, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
