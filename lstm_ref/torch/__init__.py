"""PyTorch versions of the course's recurrent networks.

Each model is a ``torch.nn.Module`` with the parameter names and shapes of its
``torch.nn`` counterpart, so ``state_dict`` s move between the two, and it runs on
whatever device its parameters are on (``model.to("cuda")``).

* :class:`RNN` (``rnn.py``), cell :func:`rnn_cell`
* :class:`LSTM` (``lstm.py``), cell :func:`lstm_cell`; its fast path with a hand-written
  backward pass is in ``lstm_fast.py``
"""

from lstm_ref.torch.lstm import LSTM, lstm_cell
from lstm_ref.torch.rnn import RNN, rnn_cell

__all__ = ["RNN", "rnn_cell", "LSTM", "lstm_cell"]
