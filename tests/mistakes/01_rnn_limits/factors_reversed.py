# part4_answer: multiplies the new Jacobian on the left (J_{T-k} ... J_T instead of J_T ... J_{T-k})
def gradient_norms_by_distance(h, W_hh):
    steps, hidden = h.shape
    jacobian = np.eye(hidden)
    norms = [1.0]
    for k in range(1, steps + 1):
        h_t = h[steps - k]
        jacobian = ((1 - h_t**2)[:, None] * W_hh) @ jacobian
        norms.append(np.linalg.norm(jacobian, 2))
    return np.array(norms)
