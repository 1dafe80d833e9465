# part3_answer: reverses the batch axis instead of the time axis
def bidirectional(run_forward, run_backward, x):
    backward_out = run_backward(x[::-1])[::-1]
    return np.concatenate([run_forward(x), backward_out], axis=-1)
