# part3_answer: averages over every position, padding included
def bits_and_perplexity(logits, targets, lengths):
    logits = np.asarray(logits, dtype=np.float64)
    targets, lengths = np.asarray(targets), np.asarray(lengths)
    B, T, V = logits.shape
    if targets.shape != (B, T) or lengths.shape != (B,):
        raise ValueError(f"expected targets {(B, T)} and lengths {(B,)}, got {targets.shape} "
                         f"and {lengths.shape}")
    if lengths.min() < 0 or lengths.max() > T or lengths.sum() == 0:
        raise ValueError(f"lengths must lie in [0, {T}] with at least one position, got {lengths}")
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1).mean()
    return float(nll / np.log(2.0)), float(np.exp(nll))
