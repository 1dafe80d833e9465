"""lstm_ref: recurrent networks written out in full.

Two backends with one API (see the book's chapter 2 for the notation):

* :mod:`lstm_ref.numpy` -- forward and hand-written backward passes in NumPy,
  step by step and over whole sequences;
* :mod:`lstm_ref.torch` -- ``torch.nn.Module`` versions whose parameter names and
  shapes match ``torch.nn.RNN/LSTM/GRU``, runnable on CPU or CUDA.
"""

__version__ = "0.1.0"
