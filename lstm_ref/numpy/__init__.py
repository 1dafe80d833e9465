"""NumPy reference implementations: forward and hand-written backward passes.

Step-level functions (``rnn_step_forward`` / ``rnn_step_backward``, ``lstm_step_*``,
``gru_step_*``, ``peephole_step_*``) are what the book derives; the sequence functions
loop over them; the classes (``RNN``, ``LSTM``, ``GRU``, ``PeepholeLSTM``) stack them into
layers and directions with parameters named and shaped exactly like ``torch.nn``.
``lstm_fast.py`` and ``gru_fast.py`` hold vectorised sequence paths with the same numbers,
which ``LSTM`` and ``GRU`` use by default (``fast=False`` selects the readable loop).
"""

from .activations import sigmoid, tanh
from .clipping import clip_grad_norm
from .gradcheck import check_gradients, max_relative_error, numerical_gradient
from .gru import GRU, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .gru_fast import gru_backward_fast, gru_forward_fast
from .losses import mse, softmax_cross_entropy
from .lstm import LSTM, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .lstm_fast import lstm_backward_fast, lstm_forward_fast
from .optim import SGD, Adam
from .peephole import (
    PeepholeLSTM,
    peephole_backward,
    peephole_forward,
    peephole_step_backward,
    peephole_step_forward,
)
from .rnn import RNN, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from .tbptt import truncated_bptt

__all__ = [
    "RNN", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "LSTM", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "lstm_forward_fast", "lstm_backward_fast",
    "GRU", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "gru_forward_fast", "gru_backward_fast",
    "PeepholeLSTM", "peephole_step_forward", "peephole_step_backward", "peephole_forward",
    "peephole_backward",
    "sigmoid", "tanh",
    "softmax_cross_entropy", "mse",
    "SGD", "Adam",
    "numerical_gradient", "max_relative_error", "check_gradients",
    "clip_grad_norm",
    "truncated_bptt",
]
