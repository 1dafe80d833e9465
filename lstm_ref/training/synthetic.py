"""The dependency-length experiment: train a recurrent net on a task of length ``T``.

Chapter 1 runs it for the vanilla RNN, chapters 2 and 4 for the LSTM and the GRU, so the
comparison between them uses one model wrapper, one training loop and one test set.

* :class:`SequenceModel` -- a recurrent network from :mod:`lstm_ref.torch` with a linear head
  on its last hidden state ``h_T``;
* :data:`TASKS` -- how to generate, score and judge :mod:`lstm_ref.data.tasks`' problems;
* :func:`train_on_task` -- Adam with gradient clipping on fresh batches, evaluated on a fixed
  test set; returns the training history and the test accuracy.

Example::

    result = train_on_task("rnn", seq_len=20, task="adding", num_steps=500)
    result.test_accuracy, result.chance_accuracy, result.history["loss"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

import lstm_ref.torch as recurrent_models
from lstm_ref.data.tasks import adding_accuracy, adding_problem, recall_problem
from lstm_ref.training import get_device, train_loop

#: model names accepted by :class:`SequenceModel`, and the class of lstm_ref.torch each means
MODEL_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_class(model_name: str) -> type[nn.Module]:
    """The :mod:`lstm_ref.torch` class called ``model_name`` ("rnn", "lstm" or "gru")."""
    if model_name not in MODEL_CLASSES:
        raise ValueError(f"model_name: expected one of {sorted(MODEL_CLASSES)}, got {model_name!r}")
    cls = getattr(recurrent_models, MODEL_CLASSES[model_name], None)
    if cls is None:
        raise ValueError(f"model_name {model_name!r}: lstm_ref.torch has no "
                         f"{MODEL_CLASSES[model_name]} class yet")
    return cls


class SequenceModel(nn.Module):
    """A recurrent network that reads a whole sequence and answers once, from ``h_T``.

    Args:
        model_name: "rnn", "lstm" or "gru" (built from :mod:`lstm_ref.torch`).
        input_size: D. hidden_size: H. output_size: size of the answer (1 for a regression,
            the number of classes for a classification).
        num_layers: stacked recurrent layers.
        **recurrent_options: passed on to the recurrent class (e.g. ``nonlinearity``).

    Attributes ``recurrent`` (the network, parameters named as in ``torch.nn``) and ``head``
    (``nn.Linear(H, output_size)``).

    ``forward(x (B, T, D)) -> (B, output_size)``.
    """

    def __init__(self, model_name: str, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, **recurrent_options):
        super().__init__()
        self.model_name = model_name
        self.recurrent = recurrent_class(model_name)(input_size, hidden_size, num_layers,
                                                     batch_first=True, **recurrent_options)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.recurrent(x)
        return self.head(out[:, -1])


@dataclass(frozen=True)
class Task:
    """A synthetic problem from :mod:`lstm_ref.data.tasks`, with its loss and its score.

    ``make(num_sequences, seq_len, rng) -> (x, y)`` NumPy arrays; ``output_size`` is what the
    head must produce; ``loss(output, y)`` is a torch loss; ``accuracy(output, y)`` a float;
    ``chance(x, y, k)`` the accuracy of the best answer that ignores the input's distant past
    (``k`` is the number of symbols, used by "recall").
    """

    name: str
    input_size: Callable[[int], int]
    output_size: Callable[[int], int]
    make: Callable
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    accuracy: Callable[[torch.Tensor, torch.Tensor], float]
    chance: Callable[[np.ndarray, np.ndarray, int], float]


def _adding_loss(output, y):
    return nn.functional.mse_loss(output.squeeze(-1), y)


def _adding_score(output, y):
    return adding_accuracy(output.squeeze(-1).detach().cpu().numpy(), y.cpu().numpy())


def _adding_chance(x, y, k):
    # The recent (second) marked value plus the mean, 0.5, of the forgotten first one.
    steps = x.shape[1]
    second = steps - 1 - np.argmax(x[:, ::-1, 1], axis=1)
    recent = x[np.arange(len(x)), second, 0]
    return adding_accuracy(recent + 0.5, y)


def distinct_recall_problem(num_sequences: int, seq_len: int, rng: np.random.Generator,
                            num_symbols: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """First-symbol recall with distractors from a separate alphabet.

    Step 0 shows one of ``num_symbols`` symbols (0 .. k-1); steps 1 .. T-1 show symbols
    drawn uniformly from another ``num_symbols`` (k .. 2k-1), all one-hot over ``2k``
    channels.  The label is the symbol at step 0, so the dependency still spans the whole
    sequence, but the symbol to keep never reappears later: a network need not find out
    *when* it was shown, only keep it.  Chance accuracy is ``1 / num_symbols``.

    Returns:
        x: ``(num_sequences, seq_len, 2 * num_symbols)`` float32 one-hot;
        y: ``(num_sequences,)`` int64 in ``[0, num_symbols)``.
    """
    _check_positive_int("num_sequences", num_sequences)
    _check_positive_int("seq_len", seq_len)
    if isinstance(num_symbols, bool) or int(num_symbols) != num_symbols or num_symbols < 2:
        raise ValueError(f"num_symbols must be an integer >= 2, got {num_symbols!r}")
    k = int(num_symbols)
    symbols = rng.integers(k, 2 * k, size=(num_sequences, seq_len))
    symbols[:, 0] = rng.integers(0, k, size=num_sequences)
    x = np.eye(2 * k, dtype=np.float32)[symbols]
    return x, symbols[:, 0].astype(np.int64)


def _recall_loss(output, y):
    return nn.functional.cross_entropy(output, y)


def _recall_score(output, y):
    return float((output.argmax(dim=-1) == y).float().mean())


TASKS = {
    # Adding problem: regression of the sum of two marked values.  Without the first marked
    # value the best answer is the second one plus 0.5; its accuracy (about 16%) is the chance
    # level.
    "adding": Task("adding", input_size=lambda k: 2, output_size=lambda k: 1,
                   make=lambda n, T, rng, k: adding_problem(n, T, rng),
                   loss=_adding_loss, accuracy=_adding_score,
                   chance=_adding_chance),
    # First-symbol recall: classification among k symbols; chance is 1/k.
    "recall": Task("recall", input_size=lambda k: k, output_size=lambda k: k,
                   make=lambda n, T, rng, k: recall_problem(n, T, rng, num_symbols=k),
                   loss=_recall_loss, accuracy=_recall_score,
                   chance=lambda x, y, k: 1.0 / k),
    # The same with distractors from another alphabet (see distinct_recall_problem).
    "recall_distinct": Task("recall_distinct", input_size=lambda k: 2 * k,
                            output_size=lambda k: k,
                            make=lambda n, T, rng, k: distinct_recall_problem(n, T, rng, k),
                            loss=_recall_loss, accuracy=_recall_score,
                            chance=lambda x, y, k: 1.0 / k),
}


@dataclass
class TaskResult:
    """What :func:`train_on_task` returns.

    ``history`` holds lists keyed "step", "loss" and "accuracy" (on the training batches,
    every ``log_every`` steps); ``test_accuracy`` and ``test_loss`` are measured on a fixed
    test set of fresh sequences; ``chance_accuracy`` is what ignoring the distant past gets
    on that test set.
    """

    model_name: str
    task: str
    seq_len: int
    history: dict[str, list]
    test_accuracy: float
    test_loss: float
    chance_accuracy: float
    seconds: float
    model: SequenceModel = field(repr=False)


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def train_on_task(model_name: str, seq_len: int, task: str = "adding", *,
                  hidden_size: int = 32, num_layers: int = 1, num_steps: int = 500,
                  batch_size: int = 64, lr: float = 1e-2, clip: float | None = 1.0,
                  lr_decay: bool = True, test_size: int = 1000, num_symbols: int = 8,
                  seed: int = 0, device=None, log_every: int = 10,
                  init: Callable[[SequenceModel], None] | None = None,
                  desc: str | None = None, **recurrent_options) -> TaskResult:
    """Train ``model_name`` on ``task`` with sequences of length ``seq_len``; test it.

    Every step draws a fresh batch (so the net cannot memorise a training set), takes one
    Adam step on the task's loss, and clips the global gradient norm to ``clip`` (``None``:
    no clipping).  With ``lr_decay`` the learning rate follows a cosine from ``lr`` to 0.
    The test set depends only on ``task``, ``seq_len``, ``num_symbols`` and ``seed``, so
    different models are scored on the same sequences.

    Args:
        model_name: "rnn", "lstm" or "gru". seq_len: T.
        task: "adding", "recall" or "recall_distinct" (see :data:`TASKS`).
        init: optional ``init(model)`` called after the default initialisation and before
            training (e.g. to set an LSTM's forget-gate bias).
        device: where to train; default :func:`lstm_ref.training.get_device` (CUDA if any).
        desc: the progress bar's label.
        **recurrent_options: passed to the recurrent class (e.g. ``nonlinearity="relu"``).
    Returns:
        :class:`TaskResult`.
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {sorted(TASKS)}, got {task!r}")
    spec = TASKS[task]
    seq_len = _check_positive_int("seq_len", seq_len)
    for name, value in [("hidden_size", hidden_size), ("num_steps", num_steps),
                        ("batch_size", batch_size), ("test_size", test_size),
                        ("log_every", log_every)]:
        _check_positive_int(name, value)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    device = get_device() if device is None else torch.device(device)

    train_seed, test_seed, model_seed = np.random.SeedSequence(seed).spawn(3)
    train_rng = np.random.default_rng(train_seed)
    x_test, y_test = spec.make(test_size, seq_len, np.random.default_rng(test_seed), num_symbols)
    chance = float(spec.chance(x_test, y_test, num_symbols))
    x_test, y_test = torch.from_numpy(x_test).to(device), torch.from_numpy(y_test).to(device)

    torch.manual_seed(int(model_seed.generate_state(1)[0]))
    model = SequenceModel(model_name, spec.input_size(num_symbols), hidden_size,
                          spec.output_size(num_symbols), num_layers, **recurrent_options)
    if init is not None:
        init(model)
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=num_steps)
                if lr_decay else None)

    def step(_: int) -> dict[str, float]:
        x, y = spec.make(batch_size, seq_len, train_rng, num_symbols)
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        output = model(x)
        loss = spec.loss(output, y)
        optimiser.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        if schedule is not None:
            schedule.step()
        return {"loss": loss.item(), "accuracy": spec.accuracy(output, y)}

    start = time.perf_counter()
    model.train()
    history = train_loop(step, num_steps, desc=desc or f"{model_name} {task} T={seq_len}",
                         log_every=log_every, postfix_keys=["loss"])
    model.eval()
    with torch.no_grad():
        output = model(x_test)
        test_loss = float(spec.loss(output, y_test))
        test_accuracy = float(spec.accuracy(output, y_test))
    return TaskResult(model_name, task, seq_len, history, test_accuracy, test_loss, chance,
                      time.perf_counter() - start, model)
