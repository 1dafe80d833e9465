# part3_answer: scales W in place and returns it (the caller's matrix changes)
def scale_to_spectral_radius(W, radius):
    W *= radius / np.max(np.abs(np.linalg.eigvals(W)))
    return W
