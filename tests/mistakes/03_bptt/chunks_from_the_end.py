# part4_answer: counts the chunks from the last step (T - t) % k, so a short chunk comes first
def rnn_backward_truncated(dh, caches, k):
    first = caches[0]
    T = len(caches)
    dx = np.zeros(dh.shape[:2] + first["x_t"].shape[1:], dtype=dh.dtype)
    dW_ih, dW_hh = np.zeros_like(first["W_ih"]), np.zeros_like(first["W_hh"])
    db = np.zeros(first["W_hh"].shape[0], dtype=dh.dtype)
    dh_next = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        step = rnn_step_backward(dh[:, t] + dh_next, caches[t])
        dx[:, t] = step["dx_t"]
        dW_ih += step["dW_ih"]
        dW_hh += step["dW_hh"]
        db += step["db"]
        dh_next = np.zeros_like(dh_next) if (T - t) % k == 0 else step["dh_prev"]
    return {"dx": dx, "dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db, "db_hh": db.copy()}
