# part1_answer: sums the log-probabilities of all T steps, past the first eos
def score_hypotheses(log_probs, tokens, eos, alpha):
    log_probs, tokens = np.asarray(log_probs), np.asarray(tokens)
    if log_probs.ndim != 3 or not np.issubdtype(log_probs.dtype, np.floating):
        raise ValueError(f"log_probs must be a float array of shape (N, T, V), got "
                         f"{log_probs.dtype} of shape {log_probs.shape}")
    n_hyp, steps, vocab = log_probs.shape
    if tokens.shape != (n_hyp, steps) or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"tokens must be an integer array of shape (N, T) = {(n_hyp, steps)}, "
                         f"got {tokens.dtype} of shape {tokens.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(f"tokens must lie in [0, V) = [0, {vocab}), got values from "
                         f"{tokens.min()} to {tokens.max()}")
    is_eos = tokens == eos
    lengths = np.where(is_eos.any(axis=1), is_eos.argmax(axis=1) + 1, steps)  # |Y| with eos
    chosen = np.take_along_axis(log_probs, tokens[:, :, None], axis=2)[:, :, 0]
    counted = np.arange(steps) < lengths[:, None]        # up to and including the first eos
    total = chosen.sum(axis=1)
    penalty = ((5.0 + lengths) / 6.0) ** alpha
    return (total / penalty).astype(log_probs.dtype)
