# part2_answer: writes PyTorch's reset-after candidate again instead of the classic reset-before one
def gru_step_forward_classic(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = np.split(x_t @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    r = 1.0 / (1.0 + np.exp(-(x_r + h_r)))
    z = 1.0 / (1.0 + np.exp(-(x_z + h_z)))
    n = np.tanh(x_n + r * h_n)
    return (1.0 - z) * n + z * h_prev
