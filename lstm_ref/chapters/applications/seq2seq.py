r"""An encoder-decoder LSTM (sequence to sequence) with greedy and beam-search decoding.

The encoder LSTM reads the source sequence; its final hidden and cell states
``(h_n, c_n)`` become the decoder's initial state, as in Sutskever et al. (2014).  The
decoder LSTM is a conditional language model over target tokens: at step ``t`` it reads the
previous target token and outputs a distribution over the next one,

.. math::

    p(y_1, \dots, y_T \mid x) = \prod_{t=1}^{T} p(y_t \mid y_{<t}, x).

Training feeds the *true* previous token (teacher forcing, :meth:`Seq2Seq.forward`);
decoding feeds the model's own previous choice, one token at a time
(:meth:`Seq2Seq.step`), picked by :func:`greedy_decode` or :func:`beam_search`.

The decoding functions only need a *step function*
``step(prev_tokens, state) -> (log_probs, state)`` with ``prev_tokens`` of shape ``(N,)``,
``log_probs`` of shape ``(N, V)`` and ``state`` either ``None`` or a tuple of tensors whose
dimension 1 indexes the ``N`` sequences (the layout of an LSTM's ``(h, c)``), so they work
for any model, including the hand-built ones in ``tests/chapters/test_seq2seq.py``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np
import torch
from torch import nn

from lstm_ref.torch import LSTM

StepFn = Callable[[torch.Tensor, Optional[tuple]], tuple[torch.Tensor, Optional[tuple]]]


class Seq2Seq(nn.Module):
    """Character (or token) embedding + encoder LSTM, and embedding + decoder LSTM + linear head.

    Args:
        source_vocab, target_vocab: numbers of source and target token ids.
        embed_size, hidden_size, num_layers: sizes of both LSTMs (the decoder's state is the
            encoder's final state, so they must match).

    The encoder reads every row of ``source`` to its end, so a batch must hold sources of one
    length (no padding), e.g. from :func:`equal_length_batches`.
    """

    def __init__(self, source_vocab: int, target_vocab: int, embed_size: int, hidden_size: int,
                 num_layers: int = 1):
        super().__init__()
        self.source_embedding = nn.Embedding(source_vocab, embed_size)
        self.encoder = LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.target_embedding = nn.Embedding(target_vocab, embed_size)
        self.decoder = LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, target_vocab)

    @staticmethod
    def _check_tokens(name: str, tokens: torch.Tensor, dims: int) -> None:
        if tokens.dim() != dims or tokens.dtype != torch.int64:
            shape = "(B, T)" if dims == 2 else "(N,)"
            raise ValueError(f"{name} must be an int64 tensor of shape {shape}, got "
                             f"{tokens.dtype} of shape {tuple(tokens.shape)}")

    def encode(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``source`` ``(B, S)`` -> the encoder's final ``(h_n, c_n)``, each ``(L, B, H)``."""
        self._check_tokens("source", source, 2)
        _, state = self.encoder(self.source_embedding(source))
        return state

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits ``(B, T, V)`` for every position of ``target_in`` ``(B, T)``.

        ``target_in`` is the target shifted right (``<bos>`` first), so position ``t`` is
        scored on the true prefix ``y_{<t}``, whatever the model would have generated.
        """
        self._check_tokens("target_in", target_in, 2)
        state = self.encode(source)
        out, _ = self.decoder(self.target_embedding(target_in), state)
        return self.head(out)

    def step(self, prev_tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        """One decoding step: ``prev_tokens`` ``(N,)`` -> log-probabilities ``(N, V)``, new state."""
        self._check_tokens("prev_tokens", prev_tokens, 1)
        out, state = self.decoder(self.target_embedding(prev_tokens)[:, None, :], state)
        return torch.log_softmax(self.head(out[:, 0]), dim=-1), state


def _select(state: Optional[tuple], index: torch.Tensor) -> Optional[tuple]:
    """Keep (and reorder) the sequences ``index`` of a state: dimension 1 of every tensor."""
    return None if state is None else tuple(s.index_select(1, index) for s in state)


def greedy_decode(step: StepFn, state: Optional[tuple], batch_size: int, bos: int, eos: int,
                  max_len: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the most probable next token at every step.

    Returns ``tokens`` ``(B, max_len)`` (after ``<eos>`` the row is filled with ``eos``) and
    ``scores`` ``(B,)``, the log-probability of each sequence up to and including its ``<eos>``.
    """
    prev = torch.full((batch_size,), bos, dtype=torch.int64, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    scores = torch.zeros(batch_size, device=device)
    tokens = []
    for _ in range(max_len):
        log_probs, state = step(prev, state)
        best, prev = log_probs.max(dim=-1)
        prev = torch.where(finished, torch.full_like(prev, eos), prev)
        scores = scores + torch.where(finished, torch.zeros_like(best), best)
        finished = finished | (prev == eos)
        tokens.append(prev)
        if bool(finished.all()):
            break
    tokens = torch.stack(tokens, dim=1)
    pad = torch.full((batch_size, max_len - tokens.shape[1]), eos, dtype=torch.int64,
                     device=tokens.device)
    return torch.cat([tokens, pad], dim=1), scores


class BeamResult(NamedTuple):
    tokens: torch.Tensor   # (B, K, max_len), best first; eos-filled after the end
    scores: torch.Tensor   # (B, K), sum of log-probabilities, descending along K


def beam_search(step: StepFn, state: Optional[tuple], batch_size: int, bos: int, eos: int,
                beam_width: int, max_len: int, device=None) -> BeamResult:
    r"""Keep the ``beam_width`` most probable prefixes at every step, for each of ``batch_size``
    independent inputs.

    Each of the ``K = beam_width`` hypotheses of an input is extended by every token; the
    scores :math:`\log p(y_{1..t} \mid x) = \log p(y_{1..t-1} \mid x) + \log p(y_t \mid y_{<t}, x)`
    of the ``K * V`` candidates are compared and the best ``K`` kept.  A finished hypothesis
    (it produced ``<eos>``) stays in the competition unchanged: its only continuation is
    ``<eos>`` again at no cost.  The search stops when every kept hypothesis has finished or
    after ``max_len`` steps.  Scores are plain sums of log-probabilities (no length
    normalisation; all date targets have the same length).  With ``beam_width=1`` this is
    exactly :func:`greedy_decode`.

    ``state`` holds the ``batch_size`` inputs' states (dimension 1); each is copied ``K`` times.
    """
    if beam_width < 1 or max_len < 1 or batch_size < 1:
        raise ValueError(f"beam_width, max_len and batch_size must be >= 1, got {beam_width}, "
                         f"{max_len}, {batch_size}")
    B, K = batch_size, beam_width
    rows = torch.arange(B, device=device)
    state = _select(state, rows.repeat_interleave(K))             # (L, B*K, H): input b at b*K..
    prev = torch.full((B * K,), bos, dtype=torch.int64, device=device)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0                                            # one live hypothesis at first
    finished = torch.zeros(B * K, dtype=torch.bool, device=device)
    history = torch.empty((B * K, 0), dtype=torch.int64, device=device)
    for _ in range(max_len):
        log_probs, state = step(prev, state)                      # (B*K, V)
        vocab = log_probs.shape[-1]
        log_probs = log_probs.clone()
        log_probs[finished] = float("-inf")
        log_probs[finished, eos] = 0.0
        candidates = (scores.reshape(B * K, 1) + log_probs).reshape(B, K * vocab)
        scores, best = candidates.topk(K, dim=1)                  # sorted, best first
        parent = (rows[:, None] * K + best // vocab).reshape(-1)  # which hypothesis each extends
        prev = (best % vocab).reshape(-1)
        history = torch.cat([history[parent], prev[:, None]], dim=1)
        state = _select(state, parent)
        finished = finished[parent] | (prev == eos)
        if bool(finished.all()):
            break
    pad = torch.full((B * K, max_len - history.shape[1]), eos, dtype=torch.int64,
                     device=history.device)
    tokens = torch.cat([history, pad], dim=1).reshape(B, K, max_len)
    return BeamResult(tokens, scores)


def sequence_log_prob(model: Seq2Seq, source: torch.Tensor, target: torch.Tensor, bos: int,
                      eos: int) -> torch.Tensor:
    """``log p(target | source)`` ``(B,)``, summed up to and including each row's first ``eos``."""
    target_in = torch.cat([torch.full_like(target[:, :1], bos), target[:, :-1]], dim=1)
    log_probs = torch.log_softmax(model(source, target_in), dim=-1)
    picked = log_probs.gather(2, target[:, :, None])[:, :, 0]
    is_eos = (target == eos).long()
    before_end = (is_eos.cumsum(1) - is_eos) == 0                # up to the first eos, inclusive
    return (picked * before_end).sum(1)


def strip(tokens, eos: int) -> list[int]:
    """The tokens of one decoded row before its first ``eos``."""
    tokens = [int(t) for t in tokens]
    return tokens[:tokens.index(eos)] if eos in tokens else tokens


def equal_length_batches(lengths, batch_size: int, rng: Optional[np.random.Generator] = None
                         ) -> list[np.ndarray]:
    """Batches of indices whose items all have the same length (so they need no padding).

    With ``rng`` the items and the batches are shuffled; without it they come in order.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or batch_size < 1:
        raise ValueError(f"expected 1-D lengths and batch_size >= 1, got shape "
                         f"{lengths.shape} and {batch_size}")
    order = rng.permutation(len(lengths)) if rng is not None else np.arange(len(lengths))
    batches = []
    for length in np.unique(lengths):
        group = order[lengths[order] == length]
        batches += [group[i:i + batch_size] for i in range(0, len(group), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
