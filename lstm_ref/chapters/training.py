"""Small character-level language-model runs that record what a practitioner reads.

Chapter 6 trains many tiny models and compares their curves.  This module holds the one
model and the one training loop they share:

* :class:`DropoutCharLM` -- embedding -> LSTM layers -> linear head, with dropout placed as
  Zaremba et al. (2014) place it: on the embedded input, between layers and on the last
  layer's output, never on the recurrent connection ``h_{t-1} -> h_t``.  The layers are
  ``lstm_ref.torch.LSTM`` or, with ``layer_norm=True``,
  :class:`lstm_ref.torch.layernorm_lstm.LayerNormLSTM`.
* :class:`LMConfig` -- every setting of a run, so a sweep is a list of configs.
* :func:`fit_char_lm` -- Adam on random windows of the training text, with the global
  gradient norm of every step recorded (before any clipping), and the loss on a fixed
  training sample and on the validation text evaluated every ``eval_every`` steps.
* :func:`evaluate_loss` -- mean cross-entropy in nats per character over a text.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from lstm_ref.training.early_stopping import EarlyStopping
from lstm_ref.torch.layernorm_lstm import LayerNormLSTM
from lstm_ref.torch import LSTM
from lstm_ref.training import get_device, progress
from lstm_ref._validation import check_positive_int


class DropoutCharLM(nn.Module):
    """A character language model with dropout on the non-recurrent connections only.

    ``forward(ids (B, T) int64) -> logits (B, T, V)``; every call starts from a zero state.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0, layer_norm: bool = False):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_positive_int(name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.embedding = nn.Embedding(vocab_size, embed_size)
        layer = (lambda d: LayerNormLSTM(d, hidden_size)) if layer_norm else \
            (lambda d: LSTM(d, hidden_size, batch_first=True))
        self.layers = nn.ModuleList(layer(embed_size if k == 0 else hidden_size)
                                    for k in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.ndim != 2 or ids.dtype != torch.int64:
            raise ValueError(f"ids: expected an int64 tensor (B, T), got {ids.dtype} "
                             f"{tuple(ids.shape)}")
        x = self.dropout(self.embedding(ids))
        for layer in self.layers:
            x, _ = layer(x)
            x = self.dropout(x)
        return self.head(x)


#: optimisers :func:`fit_char_lm` can use (plain SGD: no momentum, no weight decay)
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class LMConfig:
    """Every setting of one :func:`fit_char_lm` run."""

    hidden_size: int = 64
    lr: float = 3e-3
    dropout: float = 0.0
    num_layers: int = 1
    embed_size: int = 16
    layer_norm: bool = False
    batch_size: int = 16
    seq_len: int = 32
    num_steps: int = 150
    eval_every: int = 10
    clip: float | None = None
    optimizer: str = "adam"
    seed: int = 0

    def with_(self, **changes) -> "LMConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class LMRun:
    """What :func:`fit_char_lm` returns.

    ``history``: per training step, ``step``, ``loss`` (the batch's, with dropout active) and
    ``grad_norm`` (global norm before clipping).  ``evals``: per evaluation, ``step``,
    ``train_loss`` (on a fixed training sample, eval mode) and ``val_loss``.  ``diverged``:
    the loss became NaN or infinite and the run was stopped there.  ``stopped_step``: the
    step at which early stopping ended the run (None if it ran to the end).  ``seconds``
    and ``cpu_seconds``: wall-clock and process CPU time of the run.
    """

    config: LMConfig
    history: dict[str, list]
    evals: dict[str, list]
    diverged: bool
    stopped_step: int | None
    seconds: float
    cpu_seconds: float
    model: DropoutCharLM = field(repr=False)

    @property
    def best_val(self) -> float:
        finite = [v for v in self.evals["val_loss"] if math.isfinite(v)]
        return min(finite) if finite else math.nan

    @property
    def final_val(self) -> float:
        return self.evals["val_loss"][-1]


def _as_rows(ids: torch.Tensor, row_len: int) -> torch.Tensor:
    rows = (len(ids) - 1) // row_len
    if rows < 1:
        raise ValueError(f"ids: expected at least {row_len + 1} ids to evaluate, got {len(ids)}")
    return ids[:rows * row_len + 1]


@torch.no_grad()
def evaluate_loss(model: nn.Module, ids, row_len: int = 32) -> float:
    """Mean cross-entropy (nats per character) of predicting ``ids[1:]`` from ``ids[:-1]``.

    The text is cut into rows of ``row_len`` characters read in one batch, each from a zero
    state, in eval mode (no dropout); the model's mode is restored afterwards.
    """
    device = next(model.parameters()).device
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64, device=device)
    ids = _as_rows(ids, row_len)
    rows = (len(ids) - 1) // row_len
    x = ids[:-1].reshape(rows, row_len)
    y = ids[1:].reshape(rows, row_len)
    was_training = model.training
    model.eval()
    logits = model(x)
    model.train(was_training)
    return float(nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)))


def _global_norm(parameters) -> float:
    norms = [p.grad.detach().norm() for p in parameters if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def fit_char_lm(config: LMConfig, train_ids, val_ids, vocab_size: int, *, device=None,
                early_stopping: EarlyStopping | None = None, stop_early: bool = False,
                train_eval_chars: int = 4096, init: Callable[[nn.Module], None] | None = None,
                desc: str | None = None, show_progress: bool = True) -> LMRun:
    """Train a :class:`DropoutCharLM` as ``config`` says (Adam or plain SGD), and record its curves.

    Each step reads ``batch_size`` windows of ``seq_len + 1`` characters starting at random
    places of ``train_ids`` (fresh windows every step; for a small text they repeat, which is
    how a model comes to memorise it).  Every ``eval_every`` steps and after the last, the
    loss is measured on the first ``train_eval_chars`` training characters and on all of
    ``val_ids``.  If ``early_stopping`` is given it sees every validation loss (and keeps the
    best weights); with ``stop_early`` the run ends when it says so.  ``init(model)`` is
    called after the default initialisation.  Training stops if the loss becomes NaN or
    infinite (``diverged``).
    """
    train_ids = np.asarray(train_ids)
    val_ids = np.asarray(val_ids)
    for name, ids in (("train_ids", train_ids), ("val_ids", val_ids)):
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected a 1-D integer array, got shape {ids.shape}, "
                             f"dtype {ids.dtype}")
    if len(train_ids) < config.seq_len + 2:
        raise ValueError(f"train_ids: expected more than seq_len + 1 = {config.seq_len + 1} "
                         f"ids, got {len(train_ids)}")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"config.optimizer: expected one of {sorted(OPTIMIZERS)}, got "
                         f"{config.optimizer!r}")
    if not config.lr > 0:
        raise ValueError(f"config.lr: expected a positive learning rate, got {config.lr!r}")
    device = get_device() if device is None else torch.device(device)

    torch.manual_seed(config.seed)
    model = DropoutCharLM(vocab_size, config.embed_size, config.hidden_size, config.num_layers,
                          config.dropout, config.layer_norm)
    if init is not None:
        init(model)
    model.to(device)
    optimiser = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    train = torch.as_tensor(train_ids, dtype=torch.int64, device=device)
    offsets = torch.arange(config.seq_len + 1, device=device)
    train_sample = train_ids[:train_eval_chars]

    history = {"step": [], "loss": [], "grad_norm": []}
    evals = {"step": [], "train_loss": [], "val_loss": []}
    diverged, stopped_step = False, None
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    steps = range(config.num_steps)
    bar = progress(steps, desc=desc or f"lr={config.lr:.0e} H={config.hidden_size}") \
        if show_progress else steps
    for step in bar:
        starts = torch.as_tensor(rng.integers(0, len(train_ids) - config.seq_len - 1,
                                              size=config.batch_size), device=device)
        window = train[starts[:, None] + offsets]
        logits = model(window[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size),
                                           window[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        norm = _global_norm(model.parameters())
        history["step"].append(step)
        history["loss"].append(loss.item())
        history["grad_norm"].append(norm)
        if not (math.isfinite(history["loss"][-1]) and math.isfinite(norm)):
            diverged = True
            break
        if config.clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimiser.step()
        if step % config.eval_every == 0 or step == config.num_steps - 1:
            evals["step"].append(step)
            evals["train_loss"].append(evaluate_loss(model, train_sample))
            evals["val_loss"].append(evaluate_loss(model, val_ids))
            if show_progress:
                bar.set_postfix({"val": f"{evals['val_loss'][-1]:.3f}"}, refresh=False)
            if early_stopping is not None:
                if early_stopping.update(evals["val_loss"][-1], model, step) and stop_early:
                    stopped_step = step
                    break
    if show_progress:
        bar.close()
    if not evals["step"] or evals["step"][-1] != history["step"][-1]:
        evals["step"].append(history["step"][-1])
        evals["train_loss"].append(evaluate_loss(model, train_sample) if not diverged else math.nan)
        evals["val_loss"].append(evaluate_loss(model, val_ids) if not diverged else math.nan)
    model.eval()
    return LMRun(config, history, evals, diverged, stopped_step, time.perf_counter() - start,
                 time.process_time() - cpu_start, model)
