# part3_answer: reports the NLL in nats as bits per character (no division by ln 2)
def bits_and_perplexity(logits, targets, lengths):
    logits = np.asarray(logits, dtype=np.float64)
    targets, lengths = np.asarray(targets), np.asarray(lengths)
    B, T, V = logits.shape
    if targets.shape != (B, T) or lengths.shape != (B,):
        raise ValueError(f"expected targets {(B, T)} and lengths {(B,)}, got {targets.shape} "
                         f"and {lengths.shape}")
    if lengths.min() < 0 or lengths.max() > T or lengths.sum() == 0:
        raise ValueError(f"lengths must lie in [0, {T}] with at least one position, got {lengths}")
    real = np.arange(T) < lengths[:, None]
    z, y = logits[real], targets[real]
    m = z.max(axis=-1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    nll = -log_probs[np.arange(len(y)), y].mean()
    return float(nll), float(np.exp(nll))
