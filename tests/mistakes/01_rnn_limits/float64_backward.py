# part2_answer: promotes the gradients to float64 (float32 in, float64 out)
def rnn_step_backward(dh_t, x_t, h_prev, h_t, W):
    H = h_prev.shape[1]
    delta = dh_t.astype(np.float64) * (1 - h_t.astype(np.float64) ** 2)
    dstacked = delta @ W
    return dstacked[:, H:], dstacked[:, :H], delta.T @ np.concatenate([h_prev, x_t], axis=1), delta.sum(axis=0)
