# part3_answer: takes the largest real part of the eigenvalues, not the largest absolute value
def scale_to_spectral_radius(W, radius):
    current = np.max(np.linalg.eigvals(W).real)
    return W * (radius / current)
