# part1_answer: converts the logits to float64 (float32 in, float64 out)
def top_k_top_p(logits, temperature, k, p):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not k >= 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    logits = np.asarray(logits, dtype=np.float64)
    weights = np.exp((logits - logits.max(axis=-1, keepdims=True)) / temperature)
    q = weights / weights.sum(axis=-1, keepdims=True)
    above = q[..., None, :] > q[..., :, None]
    keep = (above.sum(axis=-1) < k) & ((q[..., None, :] * above).sum(axis=-1) < p)
    kept = np.where(keep, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
