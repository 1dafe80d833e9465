"""NumPy reference implementations: forward and hand-written backward passes.

Step-level functions (``rnn_step_forward`` / ``rnn_step_backward`` ...) are what the book
derives; the classes (``RNN`` ...) stack them into layers and directions with parameters
named and shaped exactly like ``torch.nn``.
"""

from .activations import sigmoid, tanh
from .lstm import LSTM, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .lstm_fast import lstm_backward_fast, lstm_forward_fast
from .rnn import RNN, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "RNN", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "LSTM", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "lstm_forward_fast", "lstm_backward_fast",
    "sigmoid", "tanh",
]
