# part2_answer: takes dx_t from the first columns of the concatenated gradient (they belong to h)
def rnn_step_backward(dh_t, x_t, h_prev, h_t, W):
    D = x_t.shape[1]
    delta = dh_t * (1 - h_t ** 2)
    dstacked = delta @ W
    return dstacked[:, :D], dstacked[:, D:], delta.T @ np.concatenate([h_prev, x_t], axis=1), delta.sum(axis=0)
