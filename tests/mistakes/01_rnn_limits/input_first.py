# part1_answer: concatenates [x_t, h_prev], so W's columns for h multiply x
def rnn_step_forward(x_t, h_prev, W, b):
    return np.tanh(np.concatenate([x_t, h_prev], axis=1) @ W.T + b)
