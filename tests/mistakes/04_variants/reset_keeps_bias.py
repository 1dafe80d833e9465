# part1_answer: n = tanh(x_n + r * (W_hn h_prev) + b_hn): the reset gate does not multiply b_hn
def gru_step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    x_r, x_z, x_n = np.split(x_t @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T, 3, axis=1)
    b_r, b_z, b_n = np.split(b_hh, 3)
    r = 1.0 / (1.0 + np.exp(-(x_r + h_r + b_r)))
    z = 1.0 / (1.0 + np.exp(-(x_z + h_z + b_z)))
    n = np.tanh(x_n + r * h_n + b_n)
    return (1.0 - z) * n + z * h_prev
