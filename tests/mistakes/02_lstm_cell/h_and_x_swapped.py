# part2_answer: takes W_ih from the first columns of W (the block multiplying h, not x)
def concat_to_torch(W, b, input_size, gate_order):
    hidden = W.shape[0] // 4
    rows = {letter: slice(k * hidden, (k + 1) * hidden) for k, letter in enumerate(gate_order)}
    W_torch = np.concatenate([W[rows[letter]] for letter in "ifgo"], axis=0)
    b_ih = np.concatenate([b[rows[letter]] for letter in "ifgo"])
    return W_torch[:, :input_size], W_torch[:, input_size:], b_ih, np.zeros_like(b_ih)
