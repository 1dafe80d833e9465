# part3_answer: never clears the gradients, so every step adds the earlier steps' gradients to its own
def lr_range_test(model, loss_fn, batches, lr_min, lr_max, num_steps, beta=0.9,
                  diverge_factor=4.0):
    if not 0 < lr_min < lr_max:
        raise ValueError(f"expected 0 < lr_min < lr_max, got {lr_min!r} and {lr_max!r}")
    if not (int(num_steps) == num_steps and num_steps >= 2):
        raise ValueError(f"num_steps: expected an integer >= 2, got {num_steps!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta: expected 0 <= beta < 1, got {beta!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor: expected a number > 1, got {diverge_factor!r}")
    initial_weights = copy.deepcopy(model.state_dict())
    trained = [p for p in model.parameters() if p.requires_grad]
    growth = (lr_max / lr_min) ** (1.0 / (num_steps - 1))      # the same factor every step
    lrs, smoothed = [], []
    average = 0.0
    try:
        for k in range(int(num_steps)):
            lr = lr_min * growth ** k
            loss = loss_fn(model, batches[k % len(batches)])
            value = float(loss.detach())
            if not math.isfinite(value):
                break
            average = beta * average + (1 - beta) * value
            lrs.append(lr)
            smoothed.append(average / (1 - beta ** (k + 1)))
            if smoothed[-1] > diverge_factor * min(smoothed):
                break
            loss.backward()
            with torch.no_grad():
                for p in trained:
                    if p.grad is not None:
                        p.sub_(lr * p.grad)
    finally:
        model.load_state_dict(initial_weights)
    if not lrs:
        raise ValueError("lr_range_test: the loss at step 0 is not finite; nothing was recorded")
    bottom = min(range(len(smoothed)), key=smoothed.__getitem__)
    return lrs, smoothed, lrs[bottom] / 10
