# part1_answer: keeps an entry only while the mass up to and including it is below p
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
    rank_ok = above.sum(axis=-1) < k
    mass_ok = (q[..., None, :] * above).sum(axis=-1) + q < p
    mass_ok |= ~above.any(axis=-1)           # the most likely entry always stays
    kept = np.where(rank_ok & mass_ok, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
