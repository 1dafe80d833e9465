"""EarlyStopping: patience counting, min_delta, NaN handling, best checkpoint restored."""

import math

import pytest
import torch

from lstm_ref.training.early_stopping import EarlyStopping


def test_stops_after_patience_evaluations_without_improvement():
    stopper = EarlyStopping(patience=3)
    values = [1.0, 0.8, 0.9, 0.85, 0.81, 0.7]
    decisions = [stopper.update(v, step=10 * k) for k, v in enumerate(values)]
    assert decisions == [False, False, False, False, True, False]
    assert stopper.stopped_step == 40
    # the later improvement resets the count but the first stop is remembered
    assert stopper.best == 0.7 and stopper.best_step == 50 and stopper.bad_evaluations == 0


def test_min_delta_and_non_finite_values_do_not_count_as_improvement():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert not stopper.update(1.0, step=0)
    assert not stopper.update(0.95, step=1)        # better, but by less than min_delta
    assert stopper.update(math.nan, step=2)
    assert stopper.best == 1.0 and stopper.best_step == 0


def test_restore_loads_the_best_weights_not_the_last():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    stopper = EarlyStopping(patience=2)
    stopper.update(0.5, model, step=0)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)        # training moves on, validation gets worse
    stopper.update(0.6, model, step=1)
    assert not torch.equal(model.weight, best["weight"])
    stopper.restore(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, best[k])
    # the stored copy is independent of the model: editing the model keeps the checkpoint
    with torch.no_grad():
        model.bias.zero_()
    stopper.restore(model)
    assert torch.equal(model.bias, best["bias"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(patience=1, min_delta=-1)
    with pytest.raises(ValueError, match="no checkpoint"):
        EarlyStopping(patience=1).restore(torch.nn.Linear(1, 1))
