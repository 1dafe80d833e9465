# part2_answer: returns the bias gradient per example instead of summed over the batch
def rnn_step_backward(dh_t, x_t, h_prev, h_t, W):
    H = h_prev.shape[1]
    delta = dh_t * (1 - h_t ** 2)
    dstacked = delta @ W
    return dstacked[:, H:], dstacked[:, :H], delta.T @ np.concatenate([h_prev, x_t], axis=1), delta
