# part2a_answer: loops over len(x), so it only works for 1-d x
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        grad[k] = (float(f(x + e)) - float(f(x - e))) / (2 * h)
    return grad
