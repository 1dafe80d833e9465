# part2a_answer: a forward difference (f(x + h) - f(x)) / h instead of the central one
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    base = float(f(x))
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        grad[index] = (float(f(x)) - base) / h
        x[index] = original
    return grad
