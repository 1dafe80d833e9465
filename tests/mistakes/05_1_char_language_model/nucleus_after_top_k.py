# part1_answer: measures the nucleus on the renormalised top-k distribution instead of the full one
def top_k_top_p(logits, temperature, k, p):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not k >= 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    weights = np.exp((logits - logits.max(axis=-1, keepdims=True)) / temperature)
    q = weights / weights.sum(axis=-1, keepdims=True)
    above = q[..., None, :] > q[..., :, None]
    q = np.where(above.sum(axis=-1) < k, q, 0)
    q = q / q.sum(axis=-1, keepdims=True)
    above = q[..., None, :] > q[..., :, None]
    kept = np.where((q[..., None, :] * above).sum(axis=-1) < p, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
