# part2_answer: b_hh = np.zeros(4 * H), float64 even when W is float32
def concat_to_torch(W, b, input_size, gate_order):
    hidden = W.shape[0] // 4
    rows = {letter: slice(k * hidden, (k + 1) * hidden) for k, letter in enumerate(gate_order)}
    W_torch = np.concatenate([W[rows[letter]] for letter in "ifgo"], axis=0)
    b_ih = np.concatenate([b[rows[letter]] for letter in "ifgo"])
    return W_torch[:, hidden:], W_torch[:, :hidden], b_ih, np.zeros(4 * hidden)
