# part3_answer: divides by the largest singular value instead of the spectral radius
def scale_to_spectral_radius(W, radius):
    return W * (radius / np.linalg.norm(W, 2))
