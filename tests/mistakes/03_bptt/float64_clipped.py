# part3_answer: returns float64 clipped gradients for float32 input
def clip_by_global_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {name: np.asarray(g, dtype=np.float64) * scale for name, g in grads.items()}, total
