# part1_answer: computes the gates in float64 (float32 in, float64 out)
def gru_step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    x_t, h_prev = x_t.astype(np.float64), h_prev.astype(np.float64)
    x_r, x_z, x_n = np.split(x_t @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    r = 1.0 / (1.0 + np.exp(-(x_r + h_r)))
    z = 1.0 / (1.0 + np.exp(-(x_z + h_z)))
    n = np.tanh(x_n + r * h_n)
    return (1.0 - z) * n + z * h_prev
