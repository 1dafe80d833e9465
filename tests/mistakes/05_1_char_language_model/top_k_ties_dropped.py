# part1_answer: keeps exactly k entries by sorting, dropping entries tied with the k-th logit
def top_k_top_p(logits, temperature, k, p):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not k >= 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    weights = np.exp((logits - logits.max(axis=-1, keepdims=True)) / temperature)
    q = weights / weights.sum(axis=-1, keepdims=True)
    order = np.argsort(-q, axis=-1, kind="stable")
    ranks = np.argsort(order, axis=-1)
    above = q[..., None, :] > q[..., :, None]
    mass_ok = (q[..., None, :] * above).sum(axis=-1) < p
    kept = np.where((ranks < k) & mass_ok, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
