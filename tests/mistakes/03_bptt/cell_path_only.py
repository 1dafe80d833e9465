# part1_answer: dc = dc_t, forgetting the path from h_t into c_t
def lstm_step_backward(dh_t, dc_t, cache):
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    do = dh_t * tanh_c
    dc = dc_t
    da = np.concatenate([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f),
                         dc * i * (1 - g ** 2), do * o * (1 - o)], axis=1)
    db = da.sum(axis=0)
    return {"dx_t": da @ cache["W_ih"], "dh_prev": da @ cache["W_hh"], "dc_prev": dc * f,
            "dW_ih": da.T @ cache["x_t"], "dW_hh": da.T @ cache["h_prev"], "db_ih": db, "db_hh": db}
