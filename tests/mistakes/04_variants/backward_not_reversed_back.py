# part3_answer: forgets to flip the backward direction's outputs back into time order
def bidirectional(run_forward, run_backward, x):
    return np.concatenate([run_forward(x), run_backward(x[:, ::-1])], axis=-1)
