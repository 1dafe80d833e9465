# part1_answer: couples the gates the wrong way round, c_t = (1 - f) * c_prev + f * g
def cifg_step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    a_f, a_g, a_o = np.split(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh, 3, axis=1)
    f, g, o = 1 / (1 + np.exp(-a_f)), np.tanh(a_g), 1 / (1 + np.exp(-a_o))
    c_t = (1 - f) * c_prev + f * g
    return o * np.tanh(c_t), c_t, None
