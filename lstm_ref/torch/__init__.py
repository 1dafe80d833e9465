"""PyTorch versions of the course's recurrent networks, drop-ins for ``torch.nn``'s.

Each model is a ``torch.nn.Module`` built by the same call as its ``torch.nn``
counterpart (same arguments, order and defaults: time-major unless ``batch_first=True``),
with the same parameter names and shapes, so ``state_dict`` s move between the two; it
takes what ``torch.nn`` takes (``hx``, a ``PackedSequence``, unbatched ``(T, D)`` input,
an empty batch) and runs on whatever device its parameters are on (``model.to("cuda")``).
Bad input raises :class:`InputError`, both a ``RuntimeError`` (as ``torch.nn``) and a
``ValueError`` (as the NumPy models). ``tests/torch/test_torch_nn_dropin.py`` holds the two
equal, gradients and higher-order gradients included.

* :class:`RNN` (``rnn.py``), cell :func:`rnn_cell`
* :class:`LSTM` (``lstm.py``), cell :func:`lstm_cell`; its fast path with a hand-written
  backward pass is in ``lstm_fast.py``
* :class:`GRU` (``gru.py``), cell :func:`gru_cell` (PyTorch's form or Cho et al.'s); its
  fast path for PyTorch's form, with a hand-written backward pass, is in ``gru_fast.py``
* :class:`PeepholeLSTM` (``peephole.py``), cell :func:`peephole_lstm_cell`

The plumbing shared by all of them (parameters, layers, directions) is in ``stack.py``,
the input checks in ``_checks.py``.
"""

from lstm_ref.torch._checks import InputError
from lstm_ref.torch.gru import GRU, gru_cell
from lstm_ref.torch.lstm import LSTM, lstm_cell
from lstm_ref.torch.peephole import PeepholeLSTM, peephole_lstm_cell
from lstm_ref.torch.rnn import RNN, rnn_cell

__all__ = ["InputError", "RNN", "rnn_cell", "LSTM", "lstm_cell", "GRU", "gru_cell",
           "PeepholeLSTM", "peephole_lstm_cell"]
