# part3_answer: rescales to max_norm even when the norm is already below it
def clip_by_global_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))
    scale = max_norm / (total + 1e-6)
    return {name: (g * scale).astype(g.dtype) for name, g in grads.items()}, total
