r"""Measuring recurrent layers: time, operations dispatched, FLOPs, the device's limit.

Times are medians of interleaved rounds (:func:`lstm_ref.bench.interleaved_times`):
every round runs every candidate once, in a rotating order, so that a busy spell of a
shared machine slows all of them alike. On the CPU the clock is the process's CPU time,
on a GPU wall-clock time between synchronisations.

FLOPs of one LSTM layer (``T`` steps, batch ``B``, input ``D``, hidden ``H``), counting
a multiply-add as two and only the matrix products (the elementwise work is
:math:`O(TBH)`, smaller by a factor of about :math:`D + H`):

.. math::

    \text{forward} = 2 \cdot T B \cdot 4H (D + H), \qquad
    \text{forward + backward} = 3 \times \text{forward}

since backward computes two products of the same size per forward product: the
gradient with respect to the product's input (:math:`\delta a_t W_h`, :math:`\delta a_t
W_x`) and with respect to its weights (:math:`\sum_t \delta a_t h_{t-1}^\top`, ...).
"""

from __future__ import annotations

import statistics
import time
import warnings
from typing import Callable

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lstm_ref.bench import interleaved_times
from lstm_ref.numpy.lstm_fast import block_steps


def lstm_flops(steps: int, batch: int, inputs: int, hidden: int,
               backward: bool = True) -> int:
    """Floating-point operations of one LSTM layer's matrix products (see above)."""
    for name, value in (("steps", steps), ("batch", batch), ("inputs", inputs),
                        ("hidden", hidden)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    forward = 2 * steps * batch * 4 * hidden * (inputs + hidden)
    return 3 * forward if backward else forward


def synchronizer(device: torch.device | str) -> Callable[[], None]:
    """``torch.cuda.synchronize`` on a GPU, a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def clock_for(device: torch.device | str) -> Callable[[], float]:
    """CPU time of the process on the CPU (robust to other programs), wall time on a
    GPU."""
    if torch.device(device).type == "cpu":
        return time.process_time
    return time.perf_counter


def median_times(candidates: dict[str, Callable[[], None]], rounds: int,
                 device: torch.device | str = "cpu") -> dict[str, float]:
    """Median seconds per call of every candidate over ``rounds`` interleaved rounds."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    times, _ = interleaved_times(candidates, rounds, synchronize=synchronizer(device),
                                 clock=clock_for(device))
    return {name: statistics.median(values) for name, values in times.items()}


def forward_backward(run: Callable, x: torch.Tensor, weights, parameters=()
                     ) -> Callable[[], None]:
    """A call of ``run(x, weights)`` and a backward pass with ``dout`` of ones, with the
    gradients of ``weights`` and ``parameters`` reset first."""
    tensors = list(weights) + list(parameters)

    def call():
        for tensor in tensors:
            tensor.grad = None
        out = run(x, weights)
        out.backward(torch.ones_like(out))
    return call


class _OperationCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def count_operations(call: Callable[[], None]) -> int:
    """How many PyTorch operations (ATen operators, forward and backward) ``call`` asks
    for: each is a trip through PyTorch's dispatcher, and on a GPU at least one kernel
    launch (a library such as cuDNN launches more inside one operation)."""
    with _OperationCounter() as counter:
        call()
    return counter.count


def matmul_flops_per_second(n: int, device, dtype=torch.float32, rounds: int = 5,
                            batch: int | None = None) -> float:
    """Measured throughput of matrix products on ``device``.

    ``batch=None``: an ``(n, n) @ (n, n)`` product (the device's practical peak).
    ``batch=B``: the recurrent product of one LSTM step, ``(B, n) @ (n, 4n)``, repeated
    100 times per round (one call is too short to time alone).
    """
    generator = torch.Generator().manual_seed(0)
    if batch is None:
        a = torch.randn(n, n, generator=generator, dtype=dtype).to(device)
        b = torch.randn(n, n, generator=generator, dtype=dtype).to(device)
        repeats, flops = 1, 2 * n ** 3
    else:
        a = torch.randn(batch, n, generator=generator, dtype=dtype).to(device)
        b = torch.randn(n, 4 * n, generator=generator, dtype=dtype).to(device)
        repeats, flops = 100, 2 * batch * n * 4 * n

    def call():
        for _ in range(repeats):
            torch.mm(a, b)
    seconds = median_times({"mm": call}, rounds, device)["mm"]
    return repeats * flops / seconds


def numpy_blas_seconds(steps: int, batch: int, inputs: int, hidden: int,
                       rounds: int = 5, dtype=np.float32, library: str = "numpy") -> float:
    """CPU seconds of the matrix products that :mod:`lstm_ref.numpy.lstm_fast` makes in
    one forward and backward pass, timed on their own (same shapes, same layouts, same
    number of calls): the BLAS share of the NumPy path.

    ``library="torch"`` runs the very same products through ``torch.matmul`` on the CPU
    (PyTorch's own BLAS, MKL in the x86 wheels) instead of NumPy's (OpenBLAS in its
    wheels), to tell the BLAS from the code that calls it.
    """
    if library not in ("numpy", "torch"):
        raise ValueError(f"library must be 'numpy' or 'torch', got {library!r}")
    rng = np.random.default_rng(0)

    def array(*shape):
        return rng.standard_normal(shape).astype(dtype)

    inputs_1 = inputs + 1 + hidden                    # [x_t; 1; h_{t-1}]
    block = block_steps(steps, batch)                 # backward's weight-gradient blocks
    W = array(4 * hidden, inputs_1)                   # [W_ih | b | W_hh], gate rows
    z = array(steps + 1, batch, inputs_1)             # batch-major per step
    W_h_T, d_t = array(hidden, 4 * hidden), array(4 * hidden, batch)
    d_block = array(4 * hidden, block * batch)
    step_out, back_out = (np.empty((4 * hidden, batch), dtype),
                          np.empty((hidden, batch), dtype))
    dW, dx = (np.empty((4 * hidden, inputs_1), dtype),
              np.empty((steps * batch, inputs), dtype))
    matmul = np.matmul
    if library == "torch":
        W, z, W_h_T, d_t, d_block, step_out, back_out, dW, dx = (
            torch.from_numpy(a)
            for a in (W, z, W_h_T, d_t, d_block, step_out, back_out, dW, dx))
        matmul = torch.matmul
    z_flat = z[:steps].reshape(steps * batch, inputs_1)

    def products():
        for t in range(steps):
            matmul(W, z[t].T, out=step_out)           # forward, per step
        for _ in range(steps):
            matmul(W_h_T, d_t, out=back_out)          # backward, per step
        for t0 in range(0, steps, block):             # per block of steps
            columns = slice(t0 * batch, min(steps, t0 + block) * batch)
            d = d_block[:, :columns.stop - columns.start]
            matmul(d, z_flat[columns], out=dW)        # weights (summed over blocks)
            matmul(d.T, W[:, :inputs], out=dx[columns])   # dx
    times, _ = interleaved_times({"blas": products}, rounds, clock=time.process_time)
    return statistics.median(times["blas"])


def gate_layout_call(batch: int, hidden: int, layout: str, repeats: int = 200,
                        dtype=np.float32) -> Callable[[], None]:
    """A call running the elementwise part of ``repeats`` LSTM steps in NumPy on a
    pre-activation laid out ``"batch-major"`` ``(B, 4H)`` (a gate is a block of columns,
    strided) or ``"feature-major"`` ``(4H, B)`` (a gate is a block of rows,
    contiguous)."""
    if layout not in ("batch-major", "feature-major"):
        raise ValueError("layout must be 'batch-major' or 'feature-major', "
                         f"got {layout!r}")
    rng = np.random.default_rng(1)
    shape = (batch, 4 * hidden) if layout == "batch-major" else (4 * hidden, batch)
    state = (batch, hidden) if layout == "batch-major" else (hidden, batch)
    a0 = rng.standard_normal(shape).astype(dtype)
    a = np.empty(shape, dtype)
    c = rng.standard_normal(state).astype(dtype)
    c_new, h, product = (np.empty(state, dtype) for _ in range(3))

    def gate(k):
        block = slice(k * hidden, (k + 1) * hidden)
        return a[:, block] if layout == "batch-major" else a[block]

    def call():
        for _ in range(repeats):
            np.copyto(a, a0)
            np.tanh(a, out=a)
            sig = gate(0), gate(1), gate(2)
            for s in sig:
                s *= 0.5
                s += 0.5
            i, f, o, g = gate(0), gate(1), gate(2), gate(3)
            np.multiply(f, c, out=c_new)
            np.multiply(i, g, out=product)
            np.add(c_new, product, out=c_new)
            np.tanh(c_new, out=product)
            np.multiply(o, product, out=h)
    return call


def onednn_matmul_flops_per_second(n: int, rounds: int = 5) -> float | None:
    """Throughput of an ``(n, n) @ (n, n)`` float32 product by oneDNN (the library
    behind ``torch.nn.LSTM`` on the CPU), through a oneDNN ``Linear``; None where
    PyTorch was built without it. On some CPUs oneDNN's own kernels are much faster
    than the BLAS that ``torch.mm`` calls, so the device's limit is the better of the
    two."""
    if not torch.backends.mkldnn.is_available():
        return None
    with warnings.catch_warnings():      # it defines TorchScript modules (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.utils import mkldnn as mkldnn_utils

    generator = torch.Generator().manual_seed(0)
    layer = torch.nn.Linear(n, n, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(n, n, generator=generator))
        try:
            layer = mkldnn_utils.to_mkldnn(layer)
            a = torch.randn(n, n, generator=generator).to_mkldnn()
            layer(a)
        except RuntimeError:
            return None
        seconds = median_times({"mm": lambda: layer(a)}, rounds, "cpu")["mm"]
    return 2 * n ** 3 / seconds


def peak_flops_per_second(device, n: int = 1024, rounds: int = 5) -> dict[str, float]:
    """The device's measured matrix-multiply throughput, FLOP/s, by each route that is
    present: ``"torch.mm"`` always, ``"oneDNN"`` on a CPU where it runs; ``"peak"`` is
    the best of them."""
    routes = {"torch.mm": matmul_flops_per_second(n, device, rounds=rounds)}
    if torch.device(device).type == "cpu":
        onednn = onednn_matmul_flops_per_second(n, rounds)
        if onednn is not None:
            routes["oneDNN"] = onednn
    routes["peak"] = max(routes.values())
    return routes
