# part4_answer: returns the norms in the states' dtype (float32 states give float32 norms)
def gradient_norms_by_distance(h, W_hh):
    steps, hidden = h.shape
    jacobian = np.eye(hidden, dtype=h.dtype)
    norms = np.empty(steps + 1, dtype=h.dtype)
    norms[0] = 1.0
    for k in range(1, steps + 1):
        h_t = h[steps - k]
        jacobian = jacobian @ ((1 - h_t**2)[:, None] * W_hh)
        norms[k] = np.linalg.norm(jacobian, 2)
    return norms
