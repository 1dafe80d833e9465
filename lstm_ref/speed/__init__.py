"""Chapter 7's toolkit: one LSTM layer from the slowest correct version to the fastest,
and the instruments that measure them.

* ``layers.py``: the versions (:func:`per_step_loop`, :func:`hoisted_loop`,
  :func:`fused_loop`, :func:`autograd_function`, :func:`compiled_loop`,
  :func:`torch_nn`), all computing ``torch.nn.LSTM``'s function from :class:`Weights`;
* ``measure.py``: interleaved CPU-time medians, operation counts, the FLOPs of a layer
  and the device's measured matrix-multiply throughput, the NumPy path's BLAS share and
  its gate layouts.
"""

from lstm_ref.speed.layers import (
    EAGER_VERSIONS,
    Weights,
    autograd_function,
    compiled_loop,
    fused_loop,
    fused_step,
    hoisted_loop,
    input_projection,
    per_step_loop,
    torch_nn,
)
from lstm_ref.speed.measure import (
    count_operations,
    forward_backward,
    gate_layout_call,
    lstm_flops,
    matmul_flops_per_second,
    onednn_matmul_flops_per_second,
    peak_flops_per_second,
    median_times,
    numpy_blas_seconds,
)

__all__ = ["Weights", "per_step_loop", "input_projection", "hoisted_loop", "fused_step",
           "fused_loop", "autograd_function", "compiled_loop", "torch_nn",
           "EAGER_VERSIONS",
           "lstm_flops", "median_times", "forward_backward", "count_operations",
           "matmul_flops_per_second", "onednn_matmul_flops_per_second",
           "peak_flops_per_second", "numpy_blas_seconds", "gate_layout_call"]
