"""How fast are our recurrent networks next to PyTorch's?  ``python -m lstm_ref.bench``

Times one forward pass plus one backward pass (``dout`` of ones) of

* ``lstm_ref.numpy.LSTM`` (its default fast path),
* ``lstm_ref.torch.LSTM`` (its default fast path),
* ``torch.nn.LSTM`` (oneDNN on the CPU, cuDNN on a GPU), the yardstick,

on the CPU with one thread in float32: at B=32, T=100, D=64, H=128 (the shape the
targets are set for: at most 1.2x for NumPy, 1.1x for lstm_ref.torch), then with B=1,
B=256 and H=512 (one change each), then the GRU at the first shape
(``lstm_ref.torch.GRU``'s fast path and its step loop, ``lstm_ref.numpy.GRU``'s fast
path and its readable step loop, against ``torch.nn.GRU``). With ``--device cuda`` (the
default when a GPU is present) it also times ``lstm_ref.torch.LSTM`` against cuDNN at
B=64, T=100, D=H=512.

The candidates run in interleaved rounds (each round times every candidate once, in a
rotating order), so a slow spell of a busy machine hits all of them alike; a table
reports the median over rounds and each median's ratio to the yardstick's. On the CPU
the clock is the process's CPU time (``time.process_time``), which does not count the
time other programs hold the core (wall-clock medians are printed beside it); on a GPU
it is wall-clock time between synchronisations.

Options: ``--repeats N`` rounds (default 7), ``--quick`` (3 rounds, the first shape and
the GRU only: a smoke run), ``--device cpu|cuda|auto``.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # one thread everywhere, set before NumPy and PyTorch load their thread pools
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_variable] = "1"

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

import lstm_ref.torch as lstm_torch

#: targets (issue 16): our time / torch.nn's time at most this, on the CPU at the first
#: shape of :data:`CPU_SHAPES`, one thread
CPU_TARGETS = {"lstm_ref.numpy.LSTM": 1.2, "lstm_ref.torch.LSTM": 1.1}
CUDA_TARGET = 2.0
#: (title, B, T, D, H) of the CPU tables; targets apply to the first only
CPU_SHAPES = [("B=32 T=100 D=64 H=128", 32, 100, 64, 128),
              ("B=1 T=100 D=64 H=128", 1, 100, 64, 128),
              ("B=256 T=100 D=64 H=128", 256, 100, 64, 128),
              ("B=32 T=100 D=64 H=512", 32, 100, 64, 512)]


@dataclass
class Row:
    """One line of the table: a candidate's median time and its ratio to torch.nn."""

    name: str
    device: str
    median_ms: float
    ratio: float | None = None      # None for the yardstick itself
    target: float | None = None
    note: str = ""
    wall_median_ms: float | None = None   # when median_ms is CPU time


def numpy_lstm_class():
    """``lstm_ref.numpy.LSTM``, or None while that backend does not provide it."""
    try:
        from lstm_ref.numpy import LSTM
    except ImportError:
        return None
    return LSTM


def torch_step(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """Forward and backward of a torch model with dout of ones, gradients reset each time."""
    def step():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.backward(torch.ones_like(out))
    return step


def numpy_step(model, x: np.ndarray) -> Callable[[], None]:
    """Forward and backward of a lstm_ref.numpy model with dout of ones."""
    def step():
        out, _ = model.forward(x)
        model.backward(np.ones_like(out))
    return step


def interleaved_times(candidates: dict[str, Callable[[], None]], rounds: int,
                      synchronize: Callable[[], None] = lambda: None,
                      clock: Callable[[], float] = time.perf_counter
                      ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per call of each candidate, over ``rounds`` interleaved rounds.

    Every candidate is called once before timing (warm-up). Round ``r`` starts with
    candidate ``r mod n`` so that no candidate always runs first.

    Returns the times by ``clock`` and the wall-clock times, each ``{name: [seconds]}``.
    """
    names = list(candidates)
    for name in names:
        candidates[name]()
    synchronize()
    times = {name: [] for name in names}
    wall_times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start, wall_start = clock(), time.perf_counter()
            candidates[name]()
            synchronize()
            times[name].append(clock() - start)
            wall_times[name].append(time.perf_counter() - wall_start)
    return times, wall_times


def cpu_benchmark(batch=32, steps=100, inputs=64, hidden=128, rounds=7, seed=0,
                  targets=True) -> list[Row]:
    """lstm_ref.numpy.LSTM and lstm_ref.torch.LSTM against torch.nn.LSTM on the CPU.

    ``targets``: mark each ratio against :data:`CPU_TARGETS` (only meaningful at the
    shape the targets were set for).
    """
    torch.manual_seed(seed)
    reference = torch.nn.LSTM(inputs, hidden, batch_first=True)
    ours = lstm_torch.LSTM(inputs, hidden, batch_first=True)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(batch, steps, inputs)
    candidates = {"torch.nn.LSTM": torch_step(reference, x),
                  "lstm_ref.torch.LSTM": torch_step(ours, x)}
    numpy_class = numpy_lstm_class()
    if numpy_class is not None:
        numpy_model = numpy_class(inputs, hidden, dtype=np.float32)
        numpy_model.load_state_dict({name: tensor.detach().numpy()
                                     for name, tensor in reference.state_dict().items()})
        candidates["lstm_ref.numpy.LSTM"] = numpy_step(numpy_model, x.numpy())
    times, wall_times = interleaved_times(candidates, rounds, clock=time.process_time)
    rows = rows_from_times(times, "torch.nn.LSTM", "cpu",
                           CPU_TARGETS if targets else None, wall_times)
    if numpy_class is None:
        rows.append(Row("lstm_ref.numpy.LSTM", "cpu", float("nan"),
                        note="not available yet"))
    return rows


def gru_benchmark(batch=32, steps=100, inputs=64, hidden=128, rounds=7, seed=0
                  ) -> list[Row]:
    """lstm_ref.torch.GRU and lstm_ref.numpy.GRU (each by its fast path, and by its step
    loop as "... loop") against torch.nn.GRU on the CPU (no targets: torch.nn.GRU has no
    oneDNN kernel on the CPU)."""
    from lstm_ref.numpy import GRU as NumpyGRU

    torch.manual_seed(seed)
    reference = torch.nn.GRU(inputs, hidden, batch_first=True)
    fast = lstm_torch.GRU(inputs, hidden, batch_first=True)
    plain = lstm_torch.GRU(inputs, hidden, batch_first=True, fast=False)
    x = torch.randn(batch, steps, inputs)
    numpy_fast = NumpyGRU(inputs, hidden, dtype=np.float32)
    numpy_plain = NumpyGRU(inputs, hidden, dtype=np.float32, fast=False)
    for model in (fast, plain):
        model.load_state_dict(reference.state_dict())
    for model in (numpy_fast, numpy_plain):
        model.load_state_dict({name: tensor.detach().numpy()
                               for name, tensor in reference.state_dict().items()})
    candidates = {"torch.nn.GRU": torch_step(reference, x),
                  "lstm_ref.torch.GRU": torch_step(fast, x),
                  "lstm_ref.torch.GRU loop": torch_step(plain, x),
                  "lstm_ref.numpy.GRU": numpy_step(numpy_fast, x.numpy()),
                  "lstm_ref.numpy.GRU loop": numpy_step(numpy_plain, x.numpy())}
    times, wall_times = interleaved_times(candidates, rounds, clock=time.process_time)
    return rows_from_times(times, "torch.nn.GRU", "cpu", None, wall_times)


def cuda_benchmark(batch=64, steps=100, inputs=512, hidden=512, rounds=7, seed=0) -> list[Row]:
    """lstm_ref.torch.LSTM against cuDNN's torch.nn.LSTM on the GPU."""
    torch.manual_seed(seed)
    reference = torch.nn.LSTM(inputs, hidden, batch_first=True, device="cuda")
    ours = lstm_torch.LSTM(inputs, hidden, batch_first=True, device="cuda")
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(batch, steps, inputs, device="cuda")
    candidates = {"torch.nn.LSTM": torch_step(reference, x),
                  "lstm_ref.torch.LSTM": torch_step(ours, x)}
    times, _ = interleaved_times(candidates, rounds, synchronize=torch.cuda.synchronize)
    return rows_from_times(times, "torch.nn.LSTM", "cuda", CUDA_TARGET)


def rows_from_times(times: dict[str, list[float]], yardstick: str, device: str,
                    target: float | dict[str, float] | None,
                    wall_times: dict[str, list[float]] | None = None) -> list[Row]:
    """Median milliseconds per candidate and the ratio to the yardstick's median.

    ``target``: one target for every candidate, one per candidate name, or None.
    """
    medians = {name: 1e3 * statistics.median(values) for name, values in times.items()}
    rows = []
    for name, median in medians.items():
        is_yardstick = name == yardstick
        wanted = target.get(name) if isinstance(target, dict) else target
        row = Row(name, device, median, None if is_yardstick else median / medians[yardstick],
                  None if is_yardstick else wanted)
        if wall_times is not None:
            row.wall_median_ms = 1e3 * statistics.median(wall_times[name])
        rows.append(row)
    return sorted(rows, key=lambda row: row.name != yardstick)


def format_table(rows: list[Row], title: str) -> str:
    """A plain-text table: candidate, device, median time, ratio and target."""
    lines = [title,
             f"{'candidate':<25}{'device':<8}{'median ms':>11}{'wall ms':>9}"
             f"{'ratio':>8}  target",
             "-" * 75]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        if row.ratio is None and row.median_ms == row.median_ms:
            verdict = "(yardstick)"
        elif row.ratio is None or row.ratio != row.ratio:
            verdict = row.note
        elif row.target is None:
            verdict = ""
        else:
            met = "met" if row.ratio <= row.target else "MISSED"
            verdict = f"<= {row.target:.1f}x {met}"
        median = "n/a" if row.median_ms != row.median_ms else f"{row.median_ms:.2f}"
        wall = "" if row.wall_median_ms is None else f"{row.wall_median_ms:.2f}"
        lines.append(f"{row.name:<25}{row.device:<8}{median:>11}{wall:>9}{ratio:>8}  "
                     f"{verdict}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lstm_ref.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--quick", action="store_true", help="3 rounds: a smoke run")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="also compare with cuDNN on the GPU (auto: when one is present)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda given, but torch.cuda.is_available() is False")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    rounds = 3 if args.quick else args.repeats
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}, {rounds} interleaved rounds, "
          "forward + backward (dout = ones), float32\n")
    shapes = CPU_SHAPES[:1] if args.quick else CPU_SHAPES
    for index, (title, batch, steps, inputs, hidden) in enumerate(shapes):
        rows = cpu_benchmark(batch, steps, inputs, hidden, rounds=rounds,
                             targets=index == 0)
        print(format_table(rows, f"LSTM, CPU, 1 thread, {title} (median ms: CPU time)"))
        print()
    title, batch, steps, inputs, hidden = CPU_SHAPES[0]
    print(format_table(gru_benchmark(batch, steps, inputs, hidden, rounds=rounds),
                       f"GRU, CPU, 1 thread, {title} (median ms: CPU time)"))
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if use_cuda:
        print()
        print(format_table(cuda_benchmark(rounds=rounds),
                           f"CUDA ({torch.cuda.get_device_name()}), B=64 T=100 D=H=512 "
                           "(median ms: wall clock)"))


if __name__ == "__main__":
    main()
