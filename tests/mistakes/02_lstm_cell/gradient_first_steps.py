# part4_answer: cumulative product in time order, f_1 .. f_k (the first k gates, not the last k)
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
    products = np.cumprod(np.stack(gates, axis=1), axis=1)          # (B, T, H)
    dc = np.concatenate([np.ones((B, 1, H), dtype=x.dtype), products], axis=1)
    return dc, (o * (1 - np.tanh(c) ** 2))[:, None, :] * dc
