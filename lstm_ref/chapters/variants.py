"""Per-step classification ("tagging") with any of the package's recurrent networks.

Chapter 4 compares RNN, LSTM, GRU, peephole, bidirectional and stacked networks on tasks
that ask for an answer at EVERY step (:mod:`lstm_ref.data.context_tasks`).  This module holds the
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

from lstm_ref.data.context_tasks import IGNORE_INDEX, masked_accuracy
from lstm_ref.training import progress, train_loop

KINDS = ("rnn", "lstm", "gru", "gru_reset_before", "peephole")


BACKENDS = ("ref", "torch")


def make_body(kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
              bidirectional: bool = False, backend: str = "ref",
              forget_bias: float | None = None) -> nn.Module:
    """A recurrent network by name (batch-first): ``lstm_ref.torch`` or ``torch.nn``.

    ``kind``: "rnn", "lstm", "gru" (PyTorch's reset-after form), "gru_reset_before"
    (Cho et al.'s form) or "peephole".  With ``backend="ref"`` every kind is the plain
    ``lstm_ref.torch`` cell loop differentiated by autograd (the LSTM's and GRU's
    hand-written fast paths are switched off), so timings compare cells, not
    implementations.  With ``backend="torch"`` the "rnn", "lstm" and "gru" kinds are ``torch.nn``'s modules
    (fused kernels: oneDNN on the CPU, cuDNN on a GPU); they compute the same functions
    with the same parameter names, so a model trains alike on either backend, faster.

    ``forget_bias`` (LSTM kinds only): set the forget gate's total bias
    ``b_xf + b_hf`` of every layer to this value
    (:func:`lstm_ref.torch.init.set_forget_bias`), so ``f_t = sigma(b_f)`` starts near 1.
    """
    sizes = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                 bidirectional=bidirectional, batch_first=True)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if forget_bias is not None and kind not in ("lstm", "peephole"):
        raise ValueError(f"forget_bias applies to the LSTM kinds ('lstm', 'peephole') "
                         f"only, got kind {kind!r}")
    if backend == "torch":
        builders = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        if kind not in builders:
            raise ValueError(f"backend 'torch' has kinds {tuple(builders)}; {kind!r} "
                             f"exists only in backend 'ref'")
        body = builders[kind](**sizes)
    else:
        from lstm_ref import torch as ref

        builders = {
            "rnn": lambda: ref.RNN(**sizes),
            "lstm": lambda: ref.LSTM(**sizes, fast=False),
            "gru": lambda: ref.GRU(**sizes, reset_after=True, fast=False),
            "gru_reset_before": lambda: ref.GRU(**sizes, reset_after=False),
            "peephole": lambda: ref.PeepholeLSTM(**sizes),
        }
        body = builders[kind]()
    if forget_bias is not None:
        from lstm_ref.torch.init import set_forget_bias

        set_forget_bias(body, forget_bias)
    return body


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


def _training_step(model, x_train, y_train, batch_size, lr, seed, device, clip=None):
    """``step(i)``: one Adam update on batch ``i`` of epochs shuffled with ``seed``."""
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
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        labelled = target != IGNORE_INDEX
        accuracy = (logits.argmax(-1)[labelled] == target[labelled]).float().mean()
        return {"loss": loss.detach(), "accuracy": accuracy}

    return step


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
    step = _training_step(model, x_train, y_train, batch_size, lr, seed, device)

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


@dataclass
class StepsResult:
    history: dict        # "step" (updates done: 1, 2, ...), "loss", "accuracy" (batch)
    test_accuracy: float  # masked accuracy on the test set after training
    steps: int           # updates run: ``steps`` asked, or fewer when stopped early
    cpu_seconds: float   # CPU time of this process during training (time.process_time)
    device: str
    model: nn.Module = field(repr=False)  # the trained model


def fit_steps(model: nn.Module, train, test, steps: int, batch_size: int = 128,
              lr: float = 1e-2, device="cpu", seed: int = 0, desc: str = "training",
              clip: float | None = None, stop_at: float | None = None,
              patience: int = 25) -> StepsResult:
    """Train ``model`` for ``steps`` Adam updates; return a :class:`StepsResult`.

    Inputs:
        train, test: pairs ``(x, y)`` of NumPy arrays, ``x`` ``(N, T, D)``,
            ``y`` ``(N, T)`` with ``IGNORE_INDEX`` where a step has no label.
        steps: the budget, in updates of ``batch_size`` sequences drawn from ``train``
            (epochs shuffled with ``seed``).
        clip: if given, the gradient's global norm is clipped to it before each update.
        stop_at: if given, stop as soon as the training-batch accuracy has been
            ``>= stop_at`` on ``patience`` consecutive updates (the task is learned;
            more updates would only spend time).
    ``history`` logs, for every update ``k = 1, 2, ...``, the loss and the accuracy on
    its batch (measured in the forward pass of that update), which
    :func:`steps_to_reach` reads.
    """
    checks = ((steps, "steps"), (batch_size, "batch_size"), (patience, "patience"))
    for value, name in checks:
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    model.to(device)
    x_train, y_train = _as_tensors(*train, device)
    step = _training_step(model, x_train, y_train, batch_size, lr, seed, device, clip)
    history = {"step": [], "loss": [], "accuracy": []}
    streak = 0
    start = time.process_time()
    bar = progress(range(steps), desc=desc)
    for i in bar:
        metrics = step(i)
        accuracy = float(metrics["accuracy"])
        history["step"].append(i + 1)
        history["loss"].append(float(metrics["loss"]))
        history["accuracy"].append(accuracy)
        bar.set_postfix({"loss": f"{history['loss'][-1]:.4g}",
                         "acc": f"{accuracy:.3f}"}, refresh=False)
        streak = streak + 1 if stop_at is not None and accuracy >= stop_at else 0
        if stop_at is not None and streak >= patience:
            break
    bar.close()
    _synchronize(device)
    seconds = time.process_time() - start
    accuracy = evaluate(model, *test, device=device)
    return StepsResult(history, accuracy, len(history["step"]), seconds, str(device),
                       model)


def steps_to_reach(history: dict, threshold: float,
                   key: str = "accuracy") -> int | None:
    """The first ``history["step"]`` with ``history[key] >= threshold``; None if never.

    With a history from :func:`fit_steps` this is the number of updates a model needed
    before a training batch was answered with accuracy ``threshold``.
    """
    if "step" not in history or key not in history:
        raise ValueError(f"history must hold 'step' and {key!r}, "
                         f"got keys {sorted(history)}")
    if len(history["step"]) != len(history[key]):
        raise ValueError(f"history['step'] and history[{key!r}] differ in length")
    for step, value in zip(history["step"], history[key]):
        if value >= threshold:
            return int(step)
    return None


def clear_winner(scores, higher_is_better: bool = True) -> str | None:
    """The cell whose WORST seed beats every other cell's BEST seed; None if none does.

    ``scores``: ``{name: [score of seed 0, seed 1, ...]}`` with at least two names, each
    with at least one score (``inf`` is allowed, e.g. "never reached"; NaN is not).
    With ``higher_is_better=False`` smaller is better (updates needed, error, seconds).  The
    rule is deliberately strict: when the seeds' ranges overlap, the data do not
    separate the cells, whatever their means say.
    """
    scores = {name: [float(v) for v in values] for name, values in dict(scores).items()}
    if len(scores) < 2 or any(len(v) == 0 for v in scores.values()):
        raise ValueError(f"scores must map at least two names to non-empty lists of "
                         f"scores, got {scores!r}")
    if any(np.isnan(v) for values in scores.values() for v in values):
        raise ValueError(f"scores must not contain NaN, got {scores!r}")
    sign = 1.0 if higher_is_better else -1.0
    worst = {name: min(sign * v for v in values) for name, values in scores.items()}
    best = {name: max(sign * v for v in values) for name, values in scores.items()}
    for name in scores:
        if all(worst[name] > best[other] for other in scores if other != name):
            return name
    return None


def cpu_seconds_per_step(models, batch, rounds: int = 5, lr: float = 1e-2) -> dict:
    """CPU seconds per training update of each model, ``{name: median seconds}``.

    ``models``: ``{name: Tagger}``; ``batch``: ``(x, y)`` NumPy arrays, one batch.  Each
    model is timed on a COPY on the CPU (the models are untouched): forward,
    cross-entropy, backward and an Adam update, in ``rounds`` interleaved rounds (so a
    busy spell of the machine hits every model alike), by the process's CPU time
    (``time.process_time``), which leaves out the time other programs hold the core.
    Run with one thread (``torch.set_num_threads(1)``): seconds of one core.
    """
    from lstm_ref.bench import interleaved_times

    if isinstance(rounds, bool) or int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    x, y = _as_tensors(*batch, "cpu")
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)

    def update(model):
        clone = copy.deepcopy(model).to("cpu")
        optimizer = torch.optim.Adam(clone.parameters(), lr=lr)

        def step():
            logits = clone(x)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return step

    times, _ = interleaved_times({name: update(m) for name, m in dict(models).items()},
                                 rounds, clock=time.process_time)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}
