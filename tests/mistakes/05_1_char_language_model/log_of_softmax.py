# part3_answer: log(softmax) instead of log-softmax (underflows to log 0 for very unlikely targets)
def perplexity(logits, targets):
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets: expected shape {logits.shape[:-1]}, got {targets.shape}")
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(probs, targets[..., None], axis=-1)
    return float(np.exp(-np.log(picked).mean()))
