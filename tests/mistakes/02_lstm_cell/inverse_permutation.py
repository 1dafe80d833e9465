# part2_answer: applies the gate permutation in the wrong direction (right only when it is its own inverse)
def concat_to_torch(W, b, input_size, gate_order):
    hidden = W.shape[0] // 4
    order = ["ifgo".index(letter) for letter in gate_order]
    W_torch = np.concatenate([W[k * hidden:(k + 1) * hidden] for k in order], axis=0)
    b_ih = np.concatenate([b[k * hidden:(k + 1) * hidden] for k in order])
    return W_torch[:, hidden:], W_torch[:, :hidden], b_ih, np.zeros_like(b_ih)
