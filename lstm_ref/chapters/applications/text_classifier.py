"""A recurrent text classifier that reads each padded sequence only up to its true length.

Batches of texts are padded to a common length ``T`` (id 0 at the end of short rows, as
:meth:`lstm_ref.data.WordVocab.encode` does).  A network that reads the padding as if it were
text gets a different answer for the same review depending on what it was batched with.  This
module avoids that without ``torch.nn.utils.rnn.pack_padded_sequence`` (which only works with
``torch.nn``'s own LSTM):

* the forward LSTM reads the row left to right and we keep its hidden state at step
  ``length - 1``, the last real token, so whatever it computes on the padding afterwards is
  never used;
* the backward direction is a second LSTM that reads each row **reversed within its length**
  (:func:`reverse_padded`), so it also starts on real tokens and ends on the first word;
* or, with ``pooling="mean"``, the states are averaged over the real steps only
  (:func:`masked_mean`).

The result equals what ``torch.nn.LSTM(bidirectional=True)`` gives on a packed batch with the
same weights; ``tests/chapters/test_text_classifier.py`` checks that, and that the logits of a text do
not depend on how much padding follows it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lstm_ref.torch import LSTM


def _check_lengths(ids: torch.Tensor, lengths: torch.Tensor) -> None:
    if ids.dim() < 2:
        raise ValueError(f"expected a padded batch of shape (B, T, ...), got shape {tuple(ids.shape)}")
    if lengths.shape != ids.shape[:1]:
        raise ValueError(f"lengths must have shape (B,) = ({ids.shape[0]},), "
                         f"got {tuple(lengths.shape)}")
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > ids.shape[1]):
        raise ValueError(f"lengths must lie in [1, T] = [1, {ids.shape[1]}], got values from "
                         f"{int(lengths.min())} to {int(lengths.max())}")


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` steps; padding stays at the end.

    ``x``: ``(B, T)`` or ``(B, T, D)``; ``lengths``: ``(B,)`` integers in ``[1, T]``.
    Example: ``[[1, 2, 3, 0]]`` with length 3 becomes ``[[3, 2, 1, 0]]``.
    """
    _check_lengths(x, lengths)
    steps = torch.arange(x.shape[1], device=x.device)
    lengths = lengths.to(x.device)
    source = lengths[:, None] - 1 - steps[None, :]                 # (B, T)
    source = torch.where(source >= 0, source, steps[None, :])     # padding maps to itself
    if x.dim() == 3:
        source = source[:, :, None].expand(-1, -1, x.shape[2])
    return torch.gather(x, 1, source)


def last_real_step(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``out[b, lengths[b] - 1]`` for every row: ``(B, T, H) -> (B, H)``."""
    _check_lengths(out, lengths)
    rows = torch.arange(out.shape[0], device=out.device)
    return out[rows, lengths.to(out.device) - 1]


def masked_mean(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean of ``out[b, :lengths[b]]`` over time: ``(B, T, H) -> (B, H)``."""
    _check_lengths(out, lengths)
    lengths = lengths.to(out.device)
    mask = torch.arange(out.shape[1], device=out.device)[None, :] < lengths[:, None]
    return (out * mask[:, :, None].to(out.dtype)).sum(1) / lengths[:, None].to(out.dtype)


class LSTMClassifier(nn.Module):
    """Embedding, a (bidirectional) LSTM read up to each row's length, dropout, a linear head.

    Args:
        vocab_size: number of token ids (id 0 is padding). embed_size, hidden_size: widths.
        num_classes: outputs of the head (logits).
        bidirectional: add a second LSTM that reads each text backwards.
        pooling: ``"last"`` (the state at the last real token of each direction) or ``"mean"``
            (the states averaged over the real tokens).
        dropout: applied to the embeddings and to the pooled features during training.

    Inputs: ``ids`` ``(B, T)`` int64 padded with 0 at the end; ``lengths`` ``(B,)`` in ``[1, T]``.
    Output: logits ``(B, num_classes)``.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_classes: int = 2,
                 bidirectional: bool = True, pooling: str = "last", dropout: float = 0.0):
        super().__init__()
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.forward_lstm = LSTM(embed_size, hidden_size, batch_first=True)
        self.backward_lstm = LSTM(embed_size, hidden_size, batch_first=True) if bidirectional else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def _pool(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return last_real_step(out, lengths) if self.pooling == "last" else masked_mean(out, lengths)

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The pooled text representation ``(B, num_directions * H)`` that the head reads."""
        if ids.dim() != 2 or ids.dtype != torch.int64:
            raise ValueError(f"ids must be an int64 tensor of shape (B, T), got "
                             f"{ids.dtype} of shape {tuple(ids.shape)}")
        _check_lengths(ids, lengths)
        embedded = self.dropout(self.embedding(ids))
        out, _ = self.forward_lstm(embedded)
        pooled = [self._pool(out, lengths)]
        if self.backward_lstm is not None:
            out_reversed, _ = self.backward_lstm(reverse_padded(embedded, lengths))
            pooled.append(self._pool(out_reversed, lengths))
        return torch.cat(pooled, dim=1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(ids, lengths)))


def length_bucketed_batches(lengths, batch_size: int, rng: np.random.Generator,
                            pool_batches: int = 20) -> list[np.ndarray]:
    """Shuffled batches of indices in which texts have similar lengths.

    The indices are shuffled, cut into pools of ``pool_batches * batch_size``, each pool sorted
    by length and cut into batches, and the batches shuffled.  A batch then needs little padding
    (it is trimmed to its longest text), yet every epoch sees different batches.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or batch_size < 1 or pool_batches < 1:
        raise ValueError(f"expected 1-D lengths, batch_size >= 1 and pool_batches >= 1, got "
                         f"shape {lengths.shape}, {batch_size}, {pool_batches}")
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
