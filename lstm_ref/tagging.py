"""Per-step classification ("tagging") with any of the package's recurrent networks.

Chapter 4 compares RNN, LSTM, GRU, peephole, bidirectional and stacked networks on tasks
that ask for an answer at EVERY step (:mod:`lstm_ref.context_tasks`).  This module holds the
plumbing those comparisons share, so the notebook shows only the experiment:

* :func:`make_body` builds an ``lstm_ref.torch`` network by name;
* :class:`Tagger` puts a linear layer on top of it, applied at every step;
* :func:`fit_tagger` trains for some epochs on a fixed training set with Adam and
  cross-entropy (steps labelled ``IGNORE_INDEX`` are skipped), with a progress bar, and
  reports the test accuracy and the measured seconds per epoch;
* :func:`time_epoch` measures one training epoch on a given device without changing the
  model (a copy is trained).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lstm_ref.context_tasks import IGNORE_INDEX, masked_accuracy
from lstm_ref.training import train_loop

KINDS = ("rnn", "lstm", "gru", "gru_reset_before", "peephole")


def make_body(kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
              bidirectional: bool = False) -> nn.Module:
    """An ``lstm_ref.torch`` network by name (batch-first).

    ``kind``: "rnn", "lstm", "gru" (PyTorch's reset-after form), "gru_reset_before"
    (Cho et al.'s form) or "peephole".  Every kind is the plain cell loop differentiated by
    autograd (the LSTM's and GRU's hand-written fast paths are switched off), so timings
    compare cells, not implementations.
    """
    from lstm_ref import torch as ref

    sizes = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                 bidirectional=bidirectional, batch_first=True)
    builders = {
        "rnn": lambda: ref.RNN(**sizes),
        "lstm": lambda: ref.LSTM(**sizes, fast=False),
        "gru": lambda: ref.GRU(**sizes, reset_after=True, fast=False),
        "gru_reset_before": lambda: ref.GRU(**sizes, reset_after=False),
        "peephole": lambda: ref.PeepholeLSTM(**sizes),
    }
    if kind not in builders:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return builders[kind]()


class Tagger(nn.Module):
    """A recurrent body followed by a linear layer at every step: ``(B, T, D) -> (B, T, C)``.

    ``body`` is any module called as ``out, state = body(x)`` with ``out`` of shape
    ``(B, T, F)``, where ``F = num_directions * hidden_size`` (read from the body).
    """

    def __init__(self, body: nn.Module, num_classes: int):
        super().__init__()
        self.body = body
        features = body.hidden_size * (2 if body.bidirectional else 1)
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.body(x)
        return self.head(out)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters of a module."""
    return sum(p.numel() for p in model.parameters())


@dataclass
class FitResult:
    history: dict            # from lstm_ref.training.train_loop: "step", "loss", "accuracy"
    test_accuracy: float     # masked accuracy on the test set after training
    seconds_per_epoch: float  # wall-clock training time per epoch on the device used
    device: str
    model: nn.Module = field(repr=False)  # the trained model


def _as_tensors(x, y, device):
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    if x.ndim != 3 or y.shape != x.shape[:2]:
        raise ValueError(f"expected x of shape (N, T, D) and y of shape (N, T), "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    return x, y


def predict(model: nn.Module, x) -> np.ndarray:
    """Predicted class at every step, ``(N, T)`` int64, for NumPy inputs ``x`` ``(N, T, D)``."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    if x.ndim != 3:
        raise ValueError(f"expected x of shape (N, T, D), got {tuple(x.shape)}")
    model.eval()
    with torch.no_grad():
        predicted = model(x).argmax(dim=-1)
    model.train()
    return predicted.cpu().numpy()


def evaluate(model: nn.Module, x, y, device=None) -> float:
    """Masked per-step accuracy of ``model`` on ``(x, y)`` (steps labelled IGNORE_INDEX skipped)."""
    if device is not None:
        model.to(device)
    return masked_accuracy(predict(model, x), np.asarray(y))


def _synchronize(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def fit_tagger(model: nn.Module, train, test, epochs: int, batch_size: int = 32,
               lr: float = 1e-2, device="cpu", seed: int = 0, desc: str = "training",
               log_every: int = 4) -> FitResult:
    """Train ``model`` (a :class:`Tagger`) with Adam and cross-entropy; return a :class:`FitResult`.

    Inputs:
        train, test: pairs ``(x, y)`` of NumPy arrays, ``x`` ``(N, T, D)``, ``y`` ``(N, T)``
            with ``IGNORE_INDEX`` where a step has no label.
        epochs: passes over ``train``, shuffled with ``seed``; the last partial batch is kept.
    The model is moved to ``device``.  ``history`` logs the training loss and the batch
    accuracy every ``log_every`` optimisation steps.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    model.to(device)
    x_train, y_train = _as_tensors(*train, device)
    num_batches = -(-x_train.shape[0] // batch_size)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    order = None

    def step(i):
        nonlocal order
        batch = i % num_batches
        if batch == 0:
            order = torch.randperm(x_train.shape[0], generator=generator).to(device)
        index = order[batch * batch_size:(batch + 1) * batch_size]
        logits = model(x_train[index])
        target = y_train[index]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        labelled = target != IGNORE_INDEX
        accuracy = (logits.argmax(-1)[labelled] == target[labelled]).float().mean()
        return {"loss": loss.detach(), "accuracy": accuracy}

    _synchronize(device)
    start = time.perf_counter()
    history = train_loop(step, epochs * num_batches, desc=desc, log_every=log_every,
                         postfix_keys=("loss",))
    _synchronize(device)
    seconds = (time.perf_counter() - start) / epochs
    return FitResult(history, evaluate(model, *test, device=device), seconds, str(device), model)


def time_epoch(model: nn.Module, train, batch_size: int = 32, device="cpu") -> float:
    """Seconds for one training epoch of a COPY of ``model`` on ``device`` (the model is untouched)."""
    clone = copy.deepcopy(model).to(device)
    x_train, y_train = _as_tensors(*train, device)
    optimizer = torch.optim.Adam(clone.parameters())
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    _synchronize(device)
    start = time.perf_counter()
    for first in range(0, x_train.shape[0], batch_size):
        logits = clone(x_train[first:first + batch_size])
        target = y_train[first:first + batch_size]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _synchronize(device)
    return time.perf_counter() - start
