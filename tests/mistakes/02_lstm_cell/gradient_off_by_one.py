# part4_answer: multiplies f_{T-k} .. f_{T-1}, not f_{T-k+1} .. f_T (off by one, wraps at k = T)
def cell_state_gradient(x, W_ih, W_hh, b_ih, b_hh):
    B, T, _ = x.shape
    H = W_hh.shape[1]
    h, c = np.zeros((B, H), dtype=x.dtype), np.zeros((B, H), dtype=x.dtype)
    gates = []
    for t in range(T):
        a_i, a_f, a_g, a_o = np.split(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4, axis=1)
        sigmoid = lambda z: 1 / (1 + np.exp(-z))
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
        c = f * c + i * g
        h = o * np.tanh(c)
        gates.append(f)
    dc = np.ones((B, T + 1, H), dtype=x.dtype)
    for k in range(1, T + 1):
        dc[:, k] = dc[:, k - 1] * gates[T - k - 1]
    return dc, (o * (1 - np.tanh(c) ** 2))[:, None, :] * dc
