# part1_answer: accumulates in float64 (float32 in, float64 out)
def lstm_step_backward(dh_t, dc_t, cache):
    c = {k: np.asarray(v, dtype=np.float64) for k, v in cache.items()}
    i, f, g, o, tanh_c = c["i"], c["f"], c["g"], c["o"], c["tanh_c"]
    dh_t = np.asarray(dh_t, dtype=np.float64)
    do = dh_t * tanh_c
    dc = dc_t + dh_t * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * c["c_prev"] * f * (1 - f),
                         dc * i * (1 - g ** 2), do * o * (1 - o)], axis=1)
    db = da.sum(axis=0)
    return {"dx_t": da @ c["W_ih"], "dh_prev": da @ c["W_hh"], "dc_prev": dc * f,
            "dW_ih": da.T @ c["x_t"], "dW_hh": da.T @ c["h_prev"], "db_ih": db, "db_hh": db.copy()}
