"""NumPy reference implementations: forward and hand-written backward passes.

Step-level functions (``rnn_step_forward`` / ``rnn_step_backward`` ...) are what the book
derives; the classes (``RNN`` ...) stack them into layers and directions with parameters
named and shaped exactly like ``torch.nn``.
"""

from .activations import sigmoid, tanh
from .rnn import RNN, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "RNN", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "sigmoid", "tanh",
]
