r"""Character-level language modelling: metrics, count baselines, sampling and the PyTorch model.

A language model gives, at every position of a text, a distribution over the next character.
It is scored by the mean negative log-likelihood (NLL) of the characters that actually come,
in nats per character, or by its exponential, the perplexity:

.. math::

    \mathrm{NLL} = -\frac{1}{N} \sum_{t=1}^{N} \log p(x_t \mid x_{<t}), \qquad
    \mathrm{PPL} = e^{\mathrm{NLL}}

A perplexity of :math:`k` means the model is, on average, as unsure as a uniform choice among
:math:`k` characters; the uniform model over a vocabulary of :math:`V` characters scores
exactly :math:`V`.

NumPy (model-free): :func:`softmax_with_temperature`, :func:`sample_next`, :func:`perplexity`,
:func:`entropy`, and the count baselines :func:`unigram_perplexity` and
:func:`bigram_perplexity`. PyTorch: :class:`CharLM` (embedding, ``lstm_ref.torch.LSTM``,
linear head), :class:`TextStream` (a long text as parallel streams for truncated BPTT),
:func:`evaluate_nll` and :func:`generate`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lstm_ref.torch import LSTM
from lstm_ref._validation import check_positive_int

# ----------------------------------------------------------------------------- NumPy helpers


def _float_logits(logits, name: str = "logits") -> np.ndarray:
    array = np.asarray(logits)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name}: expected a numeric array (..., V), got dtype {array.dtype}")
    if array.ndim < 1 or array.shape[-1] < 1:
        raise ValueError(f"{name}: expected shape (..., V) with V >= 1, got {array.shape}")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return array


def _check_temperature(temperature) -> float:
    if not isinstance(temperature, (int, float, np.integer, np.floating)) or isinstance(temperature, bool) \
            or not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature: expected a finite number > 0, got {temperature!r}")
    return float(temperature)


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    r"""Probabilities :math:`p_v \propto e^{z_v / \tau}` over the last axis.

    The largest logit is subtracted *before* dividing by :math:`\tau`, so every exponent is
    :math:`\le 0`: nothing overflows however large the logits or however small :math:`\tau`
    (as :math:`\tau \to 0` the result tends to the one-hot vector of the argmax; as
    :math:`\tau \to \infty`, to the uniform distribution).

    Inputs: logits ``(..., V)``; temperature ``> 0``.
    Returns: probabilities with the shape of ``logits`` (float dtype kept; integers -> float64).
    """
    logits = _float_logits(logits)
    temperature = _check_temperature(temperature)
    shifted = (logits - logits.max(axis=-1, keepdims=True)) / temperature
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def sample_next(logits, temperature: float, rng: np.random.Generator):
    """Draw the next id from ``softmax_with_temperature(logits, temperature)``.

    Inputs: logits ``(V,)`` or ``(B, V)``; temperature ``> 0``; rng a ``np.random.Generator``
    (the only source of randomness, so the same seed gives the same draws).
    Returns: an ``int`` for ``(V,)`` logits, an int64 array ``(B,)`` for ``(B, V)``.
    Uses the inverse CDF: one uniform number per row, the first id whose cumulative
    probability exceeds it.
    """
    probs = softmax_with_temperature(logits, temperature)
    if probs.ndim > 2:
        raise ValueError(f"logits: expected shape (V,) or (B, V), got {probs.shape}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    rows = np.atleast_2d(probs)
    uniform = rng.random(rows.shape[0])[:, None]
    cdf = np.cumsum(rows, axis=-1)
    ids = np.minimum((cdf <= uniform).sum(axis=-1), rows.shape[-1] - 1).astype(np.int64)
    return int(ids[0]) if probs.ndim == 1 else ids


def _check_targets(targets, shape, vocab_size, name="targets") -> np.ndarray:
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer ids, got dtype {targets.dtype}")
    if targets.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (logits without the last axis), "
                         f"got {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= vocab_size):
        raise ValueError(f"{name}: expected ids in [0, {vocab_size}), got range "
                         f"[{targets.min()}, {targets.max()}]")
    return targets


def perplexity(logits, targets) -> float:
    r"""exp(mean NLL) of ``targets`` under ``softmax(logits)``.

    Inputs: logits ``(..., V)`` (log-probabilities work too: the log-softmax leaves them
    unchanged); targets ``(...)`` integer ids, at least one.
    Returns: a float :math:`\ge 1`.
    """
    logits = _float_logits(logits).astype(np.float64)
    targets = _check_targets(targets, logits.shape[:-1], logits.shape[-1])
    if targets.size == 0:
        raise ValueError("targets: expected at least one position, got none")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)
    return float(np.exp(-picked.mean()))


def entropy(probs, base: float = 2.0) -> np.ndarray:
    """Entropy -sum p log p over the last axis (0 log 0 = 0), in bits by default."""
    probs = _float_logits(probs, "probs")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError("probs: expected non-negative rows that sum to 1")
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return -(probs * logs).sum(axis=-1) / np.log(base)


def _check_ids(ids, vocab_size: int, name: str, minimum: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or ids.size < minimum:
        raise ValueError(f"{name}: expected a 1-D integer array of at least {minimum} ids, got "
                         f"shape {ids.shape}, dtype {ids.dtype}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{name}: expected ids in [0, {vocab_size}), got range "
                         f"[{ids.min()}, {ids.max()}]")
    return ids.astype(np.int64)


def _check_counts_args(train_ids, eval_ids, vocab_size, alpha):
    check_positive_int("vocab_size", vocab_size)
    if not alpha > 0:
        raise ValueError(f"alpha: expected a smoothing count > 0, got {alpha!r}")
    return (_check_ids(train_ids, vocab_size, "train_ids", 2),
            _check_ids(eval_ids, vocab_size, "eval_ids", 2))


def unigram_perplexity(train_ids, eval_ids, vocab_size: int, alpha: float = 1.0) -> float:
    r"""Perplexity on ``eval_ids[1:]`` of character frequencies counted on ``train_ids``.

    :math:`p(v) = (n_v + \alpha) / (N + \alpha V)` (add-:math:`\alpha` smoothing, so a
    character never seen in training still gets a little probability).
    """
    train_ids, eval_ids = _check_counts_args(train_ids, eval_ids, vocab_size, alpha)
    counts = np.bincount(train_ids, minlength=vocab_size) + alpha
    log_probs = np.log(counts / counts.sum())
    return float(np.exp(-log_probs[eval_ids[1:]].mean()))


def bigram_counts(ids, vocab_size: int) -> np.ndarray:
    """(V, V) matrix whose entry [a, b] counts how often id b follows id a in ``ids``."""
    ids = _check_ids(ids, vocab_size, "ids", 2)
    counts = np.zeros((vocab_size, vocab_size), dtype=np.int64)
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return counts


def bigram_perplexity(train_ids, eval_ids, vocab_size: int, alpha: float = 1.0) -> float:
    r"""Perplexity on ``eval_ids[1:]`` of a bigram count model fitted on ``train_ids``.

    :math:`p(b \mid a) = (n_{ab} + \alpha) / (n_a + \alpha V)` with :math:`n_{ab}` the
    number of times b follows a in training and :math:`n_a = \sum_b n_{ab}`.
    """
    train_ids, eval_ids = _check_counts_args(train_ids, eval_ids, vocab_size, alpha)
    counts = bigram_counts(train_ids, vocab_size) + alpha
    log_probs = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(np.exp(-log_probs[eval_ids[:-1], eval_ids[1:]].mean()))


# ----------------------------------------------------------------------------- PyTorch model


class CharLM(nn.Module):
    """Embedding -> ``lstm_ref.torch.LSTM`` -> (dropout) -> linear head over the vocabulary.

    ``forward(ids (B, T) int64, state=None) -> logits (B, T, V), (h_n, c_n)``; the state
    (``(num_layers, B, H)`` each) is what truncated BPTT carries from one window to the next.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_positive_int(name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.lstm = LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        if ids.ndim != 2 or ids.dtype != torch.int64:
            raise ValueError(f"ids: expected an int64 tensor (B, T), got {ids.dtype} "
                             f"{tuple(ids.shape)}")
        out, state = self.lstm(self.embedding(ids), state)
        return self.head(self.dropout(out)), state


class TextStream:
    """A long id sequence cut into ``batch_size`` parallel streams, served as windows.

    Row ``b`` of the ``(B, L)`` layout is a contiguous stretch of the text, so row ``b`` of
    window ``k + 1`` continues row ``b`` of window ``k``: a model may carry its state from
    one window to the next (truncated BPTT over the whole stream). ``window(k)`` returns
    ``x, y`` of shape ``(B, seq_len)`` on ``device``, with ``y`` the next character of ``x``.
    ``len(stream)`` windows make one pass; ``window(k)`` wraps around, and a new pass begins
    where ``k % len(stream) == 0`` (the place to reset the state).
    """

    def __init__(self, ids, batch_size: int, seq_len: int, device=None):
        for name, value in (("batch_size", batch_size), ("seq_len", seq_len)):
            check_positive_int(name, value)
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"ids: expected a 1-D integer array, got shape {ids.shape}, "
                             f"dtype {ids.dtype}")
        length = len(ids) // batch_size
        if length < seq_len + 1:
            raise ValueError(f"ids: expected at least batch_size * (seq_len + 1) = "
                             f"{batch_size * (seq_len + 1)} ids, got {len(ids)}")
        self.streams = torch.as_tensor(ids[:batch_size * length].astype(np.int64)).reshape(
            batch_size, length).to(device)
        self.seq_len = seq_len
        self.num_windows = (length - 1) // seq_len

    def __len__(self) -> int:
        return self.num_windows

    def window(self, k: int):
        start = (k % self.num_windows) * self.seq_len
        chunk = self.streams[:, start:start + self.seq_len + 1]
        return chunk[:, :-1], chunk[:, 1:]

    def __iter__(self):
        return (self.window(k) for k in range(self.num_windows))


@torch.no_grad()
def evaluate_nll(model: CharLM, stream: TextStream) -> float:
    """Mean NLL (nats per character) of ``model`` over one pass of ``stream``, state carried.

    The model is put in eval mode for the pass (no dropout) and restored afterwards.
    """
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for x, y in stream:
        logits, state = model(x, state)
        total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                             reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / count


@torch.no_grad()
def generate(model: CharLM, vocab, prompt: str, length: int, temperature: float,
             rng: np.random.Generator) -> str:
    """``prompt`` followed by ``length`` characters sampled one at a time.

    The prompt is read in one call (its final state and logits start the sampling); each
    sampled character is fed back in. ``vocab`` is a :class:`lstm_ref.data.CharVocab`.
    """
    if not prompt:
        raise ValueError("prompt: expected at least one character, got ''")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length: expected an integer >= 0, got {length!r}")
    _check_temperature(temperature)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = torch.as_tensor(vocab.encode(prompt), device=device)[None]
    logits, state = model(ids)
    sampled = []
    for _ in range(length):
        next_id = sample_next(logits[0, -1].double().cpu().numpy(), temperature, rng)
        sampled.append(next_id)
        logits, state = model(torch.tensor([[next_id]], device=device), state)
    model.train(was_training)
    return prompt + vocab.decode(sampled)
