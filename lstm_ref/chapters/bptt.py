"""Chapter 3's two training experiments: truncated BPTT and exploding gradients (PyTorch).

* :func:`truncated_forward` -- run a recurrent net over a sequence in chunks of ``k`` steps,
  carrying the state forward but cutting the graph between chunks (truncated BPTT);
* :func:`train_delayed_echo` -- train an LSTM tagger to repeat, at every step, the symbol
  shown ``delay`` steps earlier, with truncation window ``k``; report the test accuracy;
* :func:`train_adding_sgd` -- train a recurrent net on the adding problem with plain SGD,
  optionally with a scaled-up recurrent matrix and gradient clipping, recording the loss and
  the global gradient norm (before clipping) at every step.

The NumPy counterpart of truncated BPTT is :func:`lstm_ref.numpy.truncated_bptt`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lstm_ref.data.context_tasks import IGNORE_INDEX, masked_accuracy, shifted_symbols
from lstm_ref.training.synthetic import SequenceModel
from lstm_ref.data.tasks import adding_problem
from lstm_ref.training import get_device, train_loop
from lstm_ref._validation import check_positive_int


def detach_state(state):
    """Cut the graph behind a recurrent state: a tensor, a tuple of tensors, or None."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def truncated_forward(recurrent: nn.Module, x: torch.Tensor, k: int, state=None):
    """Run ``recurrent`` over ``x`` (B, T, D) in chunks of ``k`` steps (truncated BPTT).

    Each chunk starts from the state the previous chunk ended in, so the forward pass is
    exactly the full one; but that state is detached, so a backward pass from any output
    stops at the start of its own chunk. With ``k >= T`` this is ordinary BPTT.

    Returns ``out`` (B, T, num_directions * H) and the final (detached) state.
    """
    k = check_positive_int("k", k)
    if x.dim() != 3:
        raise ValueError(f"x: expected a 3-D tensor (B, T, D), got shape {tuple(x.shape)}")
    outputs = []
    for start in range(0, x.shape[1], k):
        out, state = recurrent(x[:, start:start + k], state)
        outputs.append(out)
        state = detach_state(state)      # the gradient stops here
    return torch.cat(outputs, dim=1), state


class EchoTagger(nn.Module):
    """An ``lstm_ref.torch.LSTM`` with a linear layer at every step: (B, T, S) -> (B, T, S)."""

    def __init__(self, num_symbols: int, hidden_size: int):
        super().__init__()
        from lstm_ref.torch import LSTM

        self.recurrent = LSTM(num_symbols, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_symbols)

    def forward(self, x: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """Scores for every step; ``k`` truncates the backward pass (None: full BPTT)."""
        out, _ = truncated_forward(self.recurrent, x, k or x.shape[1])
        return self.head(out)


@dataclass
class EchoResult:
    """What :func:`train_delayed_echo` returns: ``history`` ("step", "loss") and the test
    accuracy over the labelled steps (chance is ``1 / num_symbols``)."""

    k: int
    delay: int
    history: dict
    test_accuracy: float
    chance_accuracy: float
    model: EchoTagger = field(repr=False)


def train_delayed_echo(k: int, delay: int, *, seq_len: int = 24, num_symbols: int = 6,
                       hidden_size: int = 32, num_steps: int = 300, batch_size: int = 32,
                       lr: float = 1e-2, test_size: int = 512, seed: int = 0, device=None,
                       log_every: int = 10) -> EchoResult:
    """Train an LSTM to output, at every step t, the symbol shown at step t - ``delay``.

    The backward pass is truncated every ``k`` steps (:func:`truncated_forward`); the test
    uses the full forward pass, which truncation never changes. Every training step draws a
    fresh batch from :func:`lstm_ref.data.context_tasks.shifted_symbols` (shift = -delay) and
    takes one Adam step on the cross-entropy of every labelled step.
    """
    k = check_positive_int("k", k)
    delay = check_positive_int("delay", delay)
    for name, value in [("seq_len", seq_len), ("num_steps", num_steps),
                        ("batch_size", batch_size), ("test_size", test_size)]:
        check_positive_int(name, value)
    if delay >= seq_len:
        raise ValueError(f"delay: expected fewer than seq_len = {seq_len} steps, got {delay}")
    device = get_device() if device is None else torch.device(device)
    train_seed, test_seed, model_seed = np.random.SeedSequence(seed).spawn(3)
    train_rng = np.random.default_rng(train_seed)
    torch.manual_seed(int(model_seed.generate_state(1)[0]))
    model = EchoTagger(num_symbols, hidden_size).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)

    def batch(n, rng):
        x, y = shifted_symbols(n, seq_len, rng, shift=-delay, num_symbols=num_symbols)
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def step(_: int) -> dict[str, float]:
        x, y = batch(batch_size, train_rng)
        scores = model(x, k)
        loss = nn.functional.cross_entropy(scores.reshape(-1, num_symbols), y.reshape(-1),
                                           ignore_index=IGNORE_INDEX)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return {"loss": loss.item()}

    history = train_loop(step, num_steps, desc=f"k={k:>2}, delay={delay}", log_every=log_every)
    x_test, y_test = batch(test_size, np.random.default_rng(test_seed))
    with torch.no_grad():
        scores = model(x_test)
    accuracy = masked_accuracy(scores.cpu().numpy(), y_test.cpu().numpy())
    return EchoResult(k, delay, history, accuracy, 1.0 / num_symbols, model)


def train_adding_sgd(model_name: str = "lstm", *, recurrent_scale: float = 1.0, lr: float = 0.5,
                     max_norm: float | None = None, seq_len: int = 15, hidden_size: int = 32,
                     num_steps: int = 300, batch_size: int = 32, seed: int = 0,
                     device=None) -> dict[str, list]:
    """Plain SGD on the adding problem, recording the gradient norm at every step.

    ``recurrent_scale`` multiplies the default-initialised ``weight_hh_l0`` (a large value
    makes the gradients explode); ``max_norm`` clips the global gradient norm with
    ``torch.nn.utils.clip_grad_norm_`` (None: no clipping). Training stops early once the
    loss is no longer finite.

    Returns the history of :func:`lstm_ref.training.train_loop` with, at every step,
    "loss" (MSE on the batch) and "grad_norm" (global L2 norm of all gradients BEFORE
    clipping), plus "diverged_at": [step] if the loss became inf/NaN, else [].
    """
    num_steps = check_positive_int("num_steps", num_steps)
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive number or None, got {max_norm!r}")
    if not lr > 0 or not recurrent_scale > 0:
        raise ValueError(f"lr and recurrent_scale: expected positive numbers, "
                         f"got {lr!r} and {recurrent_scale!r}")
    device = get_device() if device is None else torch.device(device)
    train_seed, model_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(train_seed)
    torch.manual_seed(int(model_seed.generate_state(1)[0]))
    model = SequenceModel(model_name, 2, hidden_size, 1)
    with torch.no_grad():
        model.recurrent.weight_hh_l0.mul_(recurrent_scale)
    model.to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    diverged: list[int] = []

    def step(i: int) -> dict[str, float]:
        if diverged:
            return {"loss": math.nan, "grad_norm": math.nan}
        x, y = adding_problem(batch_size, seq_len, rng)
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        loss = nn.functional.mse_loss(model(x).squeeze(-1), y)
        optimiser.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(),
                                        math.inf if max_norm is None else max_norm)
        if not (math.isfinite(loss.item()) and math.isfinite(norm.item())):
            diverged.append(i)
        else:
            optimiser.step()
        return {"loss": loss.item(), "grad_norm": norm.item()}

    label = f"{model_name} x{recurrent_scale:g}, " + ("no clipping" if max_norm is None
                                                      else f"clip {max_norm:g}")
    history = train_loop(step, num_steps, desc=label)
    history["diverged_at"] = diverged
    return history
