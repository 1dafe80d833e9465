# part3_answer: flattens logits and targets without checking that their shapes agree
def perplexity(logits, targets):
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    flat = log_probs.reshape(-1, logits.shape[-1])
    picked = flat[np.arange(targets.size), targets.reshape(-1)]
    return float(np.exp(-picked.mean()))
