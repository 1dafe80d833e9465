# part2_answer: stops when the epochs without improvement reach patience instead of exceeding it (one epoch early)
def fit_with_early_stopping(model, train_epoch, validation_loss, max_epochs, patience,
                            min_delta=0.0):
    if max_epochs < 1 or patience < 0 or min_delta < 0:
        raise ValueError("bad max_epochs, patience or min_delta")
    losses, best, best_epoch, best_state, waited = [], math.inf, None, None, 0
    for epoch in range(max_epochs):
        train_epoch(model)
        loss = float(validation_loss(model))
        losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, waited = loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return best_epoch, losses
