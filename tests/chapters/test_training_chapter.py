"""Chapter 6's character-LM runs: the model, the evaluation and the recorded curves."""

import math

import numpy as np
import pytest
import torch

from lstm_ref.chapters.training import DropoutCharLM, LMConfig, evaluate_loss, fit_char_lm
from lstm_ref.training.early_stopping import EarlyStopping

# a periodic "text" of 5 symbols: learnable to near zero loss by a small LSTM
PERIODIC = np.tile(np.array([0, 1, 2, 3, 4, 2, 1]), 300)


def test_dropout_only_in_training_mode_and_layer_norm_option():
    torch.manual_seed(0)
    model = DropoutCharLM(7, 4, 8, num_layers=2, dropout=0.5)
    ids = torch.randint(0, 7, (3, 10))
    model.eval()
    torch.testing.assert_close(model(ids), model(ids))
    model.train()
    assert not torch.allclose(model(ids), model(ids))
    assert model(ids).shape == (3, 10, 7)
    ln = DropoutCharLM(7, 4, 8, layer_norm=True)
    assert any("norm_cell" in n for n, _ in ln.named_parameters())
    with pytest.raises(ValueError, match="dropout"):
        DropoutCharLM(7, 4, 8, dropout=1.0)
    with pytest.raises(ValueError, match="int64"):
        model(ids.float())


def test_evaluate_loss_matches_a_direct_computation():
    torch.manual_seed(1)
    model = DropoutCharLM(5, 3, 6, dropout=0.3)
    ids = np.random.default_rng(0).integers(0, 5, size=101)
    x = torch.as_tensor(ids[:100]).reshape(10, 10)
    y = torch.as_tensor(ids[1:101]).reshape(10, 10)
    model.eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(x).reshape(-1, 5), y.reshape(-1))
    model.train()
    assert evaluate_loss(model, ids, row_len=10) == pytest.approx(float(expected), rel=1e-6)
    assert model.training


def test_fit_learns_a_periodic_text_and_records_curves():
    config = LMConfig(hidden_size=16, embed_size=4, lr=2e-2, num_steps=80, eval_every=20,
                      batch_size=8, seq_len=14)
    run = fit_char_lm(config, PERIODIC[:1500], PERIODIC[1500:], 5, device="cpu",
                      show_progress=False)
    assert len(run.history["grad_norm"]) == 80 and all(g > 0 for g in run.history["grad_norm"])
    assert run.evals["step"] == [0, 20, 40, 60, 79]
    assert run.evals["val_loss"][0] > 1.2 and run.final_val < 0.3 < math.log(5)
    assert run.best_val == min(run.evals["val_loss"]) and not run.diverged


def test_early_stopping_ends_the_run_and_restores_the_best_weights():
    rng = np.random.default_rng(2)
    noise = rng.integers(0, 5, size=600)      # nothing to learn: validation soon stops improving
    config = LMConfig(hidden_size=32, embed_size=4, lr=3e-2, num_steps=300, eval_every=5,
                      batch_size=8, seq_len=10)
    stopper = EarlyStopping(patience=3)
    run = fit_char_lm(config, noise[:400], noise[400:], 5, device="cpu",
                      early_stopping=stopper, stop_early=True, show_progress=False)
    assert run.stopped_step is not None and run.stopped_step < 299
    assert run.history["step"][-1] == run.stopped_step
    stopper.restore(run.model)
    assert evaluate_loss(run.model, noise[400:]) == pytest.approx(stopper.best, rel=1e-6)
    assert stopper.best == pytest.approx(run.best_val)


def test_clipping_bounds_sgd_steps_and_bad_configs_are_refused():
    config = LMConfig(hidden_size=8, embed_size=4, lr=1.0, num_steps=1, batch_size=4,
                      seq_len=8, optimizer="sgd", clip=1e-3)
    run = fit_char_lm(config, PERIODIC[:200], PERIODIC[200:300], 5, device="cpu",
                      show_progress=False)
    torch.manual_seed(config.seed)
    fresh = DropoutCharLM(5, 4, 8)
    moved = torch.sqrt(sum(((a.detach() - b.detach()) ** 2).sum() for a, b in
                            zip(run.model.parameters(), fresh.parameters())))
    assert float(moved) == pytest.approx(1e-3, rel=1e-3)   # one step of lr * clip
    with pytest.raises(ValueError, match="optimizer"):
        fit_char_lm(config.with_(optimizer="rmsprop"), PERIODIC, PERIODIC, 5)
    with pytest.raises(ValueError, match="1-D integer"):
        fit_char_lm(config, PERIODIC.astype(float), PERIODIC, 5)
