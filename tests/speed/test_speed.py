"""lstm_ref.speed: chapter 7's versions compute torch.nn.LSTM's function; the
instruments count what they say they count (no timing assertions: the machine is
shared)."""

import numpy as np
import pytest
import torch

from lstm_ref import speed

T, B, D, H = 5, 3, 4, 6


@pytest.fixture
def layer():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(D, H, dtype=torch.float64)
    x = torch.randn(T, B, D, dtype=torch.float64)
    return reference, speed.Weights.of(reference), x


def outputs_and_grads(run, x, weights, parameters):
    for tensor in list(weights) + list(parameters):
        tensor.grad = None
    x = x.clone().requires_grad_(True)
    out = run(x, weights)
    weighting = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * weighting).sum().backward()
    grads = [x.grad] + [p.grad.clone() for p in parameters]
    return out.detach(), grads


def test_every_version_computes_torch_nn_lstm(layer):
    reference, weights, x = layer
    versions = dict(speed.EAGER_VERSIONS)
    versions["compiled step run eagerly"] = speed.compiled_loop(speed.fused_step)
    expected_out, expected_grads = outputs_and_grads(
        speed.torch_nn(reference), x, weights, list(reference.parameters()))
    for name, run in versions.items():
        out, grads = outputs_and_grads(run, x, weights, list(reference.parameters()))
        torch.testing.assert_close(out, expected_out, rtol=1e-12, atol=1e-12, msg=name)
        for got, want in zip(grads, expected_grads):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=name)


def test_operations_per_step_fall_version_by_version():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(D, H)              # float32: oneDNN's kernel on the CPU
    weights = speed.Weights.of(reference)
    versions = dict(speed.EAGER_VERSIONS)
    versions["torch.nn.LSTM"] = speed.torch_nn(reference)

    def count(run, steps):
        x = torch.randn(steps, B, D)
        return speed.count_operations(speed.forward_backward(run, x, weights,
                                                             reference.parameters()))
    # the operations each extra step adds (fixed costs cancel)
    per_step = [(count(run, 2 * T) - count(run, T)) / T for run in versions.values()]
    assert per_step == sorted(per_step, reverse=True)
    assert len(set(per_step)) == len(per_step)
    assert per_step[0] > 8                # eight products per step, forward alone
    if torch.backends.mkldnn.is_available():
        assert per_step[-1] == 0                 # one call for the whole sequence


def test_flops_and_throughputs():
    assert speed.lstm_flops(1, 1, 1, 1) == 3 * 2 * 4 * 2
    assert speed.lstm_flops(10, 2, 3, 4, backward=False) == 2 * 10 * 2 * 16 * 7
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        speed.lstm_flops(1, 1, 1, 0)
    assert speed.matmul_flops_per_second(16, "cpu", rounds=1) > 0
    assert speed.matmul_flops_per_second(8, "cpu", rounds=1, batch=2) > 0
    routes = speed.peak_flops_per_second("cpu", n=32, rounds=1)
    assert routes["peak"] == max(v for k, v in routes.items() if k != "peak")
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        speed.median_times({"a": lambda: None}, 0)


def test_numpy_instruments_run_and_layouts_agree():
    assert speed.numpy_blas_seconds(3, 2, 4, 5, rounds=1) >= 0
    times = speed.median_times({layout: speed.gate_layout_call(2, 3, layout, repeats=2)
                                for layout in ("batch-major", "feature-major")}, 1)
    assert set(times) == {"batch-major", "feature-major"}
    with pytest.raises(ValueError, match="layout must be"):
        speed.gate_layout_call(2, 3, "diagonal")


def test_weights_of_rejects_what_the_versions_cannot_run():
    with pytest.raises(ValueError, match="one layer, one direction"):
        speed.Weights.of(torch.nn.LSTM(D, H, num_layers=2))
    with pytest.raises(ValueError, match="one layer, one direction"):
        speed.Weights.of(torch.nn.GRU(D, H))


def test_blas_seconds_runs_the_same_products_through_either_library():
    assert speed.numpy_blas_seconds(3, 2, 4, 5, rounds=1, library="torch") >= 0
    with pytest.raises(ValueError, match="library must be"):
        speed.numpy_blas_seconds(3, 2, 4, 5, rounds=1, library="mkl")
