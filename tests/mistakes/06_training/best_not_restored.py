# part2_answer: remembers the best epoch and its weights but never loads them back into the model
def fit_with_early_stopping(train_epoch, validation_loss, get_weights, set_weights,
                            max_epochs, patience, min_delta=0.0):
    if not (int(max_epochs) == max_epochs and max_epochs >= 1):
        raise ValueError(f"max_epochs: expected an integer >= 1, got {max_epochs!r}")
    if not (int(patience) == patience and patience >= 0):
        raise ValueError(f"patience: expected an integer >= 0, got {patience!r}")
    if not min_delta >= 0:
        raise ValueError(f"min_delta: expected a number >= 0, got {min_delta!r}")
    losses = []
    best_loss, best_epoch, best_weights = math.inf, None, None
    epochs_without_improvement = 0
    for epoch in range(int(max_epochs)):
        train_epoch()
        loss = float(validation_loss())
        losses.append(loss)
        if loss < best_loss - min_delta:         # False for nan: nan never improves
            best_loss, best_epoch = loss, epoch
            best_weights = {name: tensor.clone() for name, tensor in get_weights().items()}
            epochs_without_improvement = 0
            continue
        epochs_without_improvement += 1
        if epochs_without_improvement > patience:
            break
    return best_epoch, losses
