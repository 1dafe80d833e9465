# part4_answer: dh = (1 - h_T^2) * dc, the RNN's tanh' at h_T instead of o_T * (1 - tanh(c_T)^2)
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
        dc[:, k] = dc[:, k - 1] * gates[T - k]
    return dc, (1 - h**2)[:, None, :] * dc
