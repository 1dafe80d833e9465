# part1_answer: W [h; x] written as z @ W (the book's orientation, not the batch-first one)
def rnn_step_forward(x_t, h_prev, W, b):
    stacked = np.concatenate([h_prev, x_t], axis=1)
    return np.tanh(stacked @ W + b)
