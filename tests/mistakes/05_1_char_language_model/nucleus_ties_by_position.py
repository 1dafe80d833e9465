# part1_answer: cumulative sum over sorted probabilities: of two tied entries only the first is kept
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
    order = np.argsort(-q, axis=-1, kind="stable")
    sorted_q = np.take_along_axis(q, order, axis=-1)
    before = np.cumsum(sorted_q, axis=-1) - sorted_q
    mass_ok = np.empty_like(rank_ok)
    np.put_along_axis(mass_ok, order, before < p, axis=-1)
    kept = np.where(rank_ok & mass_ok, q, 0)
    return kept / kept.sum(axis=-1, keepdims=True)
