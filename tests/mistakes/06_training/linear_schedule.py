# part3_answer: raises the learning rate linearly from lr_min to lr_max instead of exponentially
def lr_range_test(loss_and_gradients, get_weights, set_weights, lr_min, lr_max, num_steps,
                  beta=0.9, diverge_factor=4.0):
    if not 0 < lr_min < lr_max:
        raise ValueError(f"expected 0 < lr_min < lr_max, got {lr_min!r} and {lr_max!r}")
    if not (int(num_steps) == num_steps and num_steps >= 2):
        raise ValueError(f"num_steps: expected an integer >= 2, got {num_steps!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta: expected 0 <= beta < 1, got {beta!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor: expected a number > 1, got {diverge_factor!r}")
    initial = {name: tensor.clone() for name, tensor in get_weights().items()}
    lrs, smoothed = [], []
    average = 0.0
    try:
        for k in range(int(num_steps)):
            lr = lr_min + (lr_max - lr_min) * k / (num_steps - 1)
            loss, grads = loss_and_gradients()
            loss = float(loss)
            if not math.isfinite(loss):
                break
            average = beta * average + (1 - beta) * loss
            lrs.append(lr)
            smoothed.append(average / (1 - beta ** (k + 1)))
            if smoothed[-1] > diverge_factor * min(smoothed):
                break
            weights = get_weights()
            set_weights({name: weights[name] - lr * grads[name] if name in grads else weights[name]
                         for name in weights})
    finally:
        set_weights(initial)
    if not lrs:
        raise ValueError("lr_range_test: the loss at step 0 is not finite; nothing was recorded")
    bottom = min(range(len(smoothed)), key=smoothed.__getitem__)
    return lrs, smoothed, lrs[bottom] / 10
