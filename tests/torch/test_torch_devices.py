"""lstm_ref.torch runs wherever its parameters are.

The CUDA tests (marked ``cuda``) run each model on the GPU and compare with the CPU; they
are skipped without a GPU. The ``meta`` device test runs everywhere: meta tensors carry
shapes but no data, and a CPU tensor met on the way either raises or turns the result
into a CPU tensor, so it catches any tensor created inside a model without the input's
device (the seed document's ``torch.zeros(...)`` initial state, for instance).
"""

from functools import partial

import pytest
import torch

import lstm_ref.torch as ours

B, T, D, H = 3, 7, 4, 6

# name: (constructor, number of state tensors); batch-first inputs (B, T, D) here
MODELS = {
    "RNN": (partial(ours.RNN, batch_first=True), 1),
    "RNN_relu": (partial(ours.RNN, nonlinearity="relu", batch_first=True), 1),
    "LSTM": (partial(ours.LSTM, batch_first=True), 2),
    "LSTM_plain": (partial(ours.LSTM, fast=False, batch_first=True), 2),
    "GRU": (partial(ours.GRU, batch_first=True), 1),
    "GRU_classic": (partial(ours.GRU, reset_after=False, batch_first=True), 1),
    "PeepholeLSTM": (partial(ours.PeepholeLSTM, batch_first=True), 2),
}

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def run(model, x, state, n_state, weights):
    """Forward (state None: zeros made by the model), backward a weighting of out.

    Returns the outputs and final states, and the gradients of x, the given initial
    states and every parameter.
    """
    x = x.clone().requires_grad_(True)
    state = [s.clone().requires_grad_(True) for s in state or ()]
    if not state:
        out, final = model(x)
    else:
        out, final = model(x, state[0] if n_state == 1 else tuple(state))
    finals = [final] if n_state == 1 else list(final)
    model.zero_grad()
    (out * weights).sum().backward()
    grads = [x.grad, *(s.grad for s in state), *(p.grad for p in model.parameters())]
    return [out, *finals], grads


@pytest.mark.parametrize("name", sorted(MODELS))
def test_meta_device_creates_nothing_on_the_cpu(name):
    constructor, n_state = MODELS[name]
    model = constructor(D, H, num_layers=2, bidirectional=True, device="meta")
    x = torch.empty(B, T, D, device="meta")
    out, final = model(x)
    finals = [final] if n_state == 1 else list(final)
    assert out.device.type == "meta" and out.shape == (B, T, 2 * H)
    assert all(f.device.type == "meta" and f.shape == (4, B, H) for f in finals)


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_cuda_matches_cpu(name, with_state):
    constructor, n_state = MODELS[name]
    torch.manual_seed(0)
    cpu_model = constructor(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    cuda_model = constructor(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    cuda_model.load_state_dict(cpu_model.state_dict())
    cuda_model.to("cuda")
    assert all(p.device.type == "cuda" for p in cuda_model.parameters())

    x = torch.randn(B, T, D, dtype=torch.float64)
    state = [torch.randn(4, B, H, dtype=torch.float64) for _ in range(n_state)]
    weights = torch.randn(B, T, 2 * H, dtype=torch.float64)
    cpu_values, cpu_grads = run(cpu_model, x, state if with_state else None, n_state, weights)
    cuda_values, cuda_grads = run(cuda_model, x.cuda(),
                                  [s.cuda() for s in state] if with_state else None,
                                  n_state, weights.cuda())
    assert all(v.device.type == "cuda" for v in cuda_values + cuda_grads)
    for cpu_value, cuda_value in zip(cpu_values + cpu_grads, cuda_values + cuda_grads):
        torch.testing.assert_close(cuda_value.cpu(), cpu_value, rtol=1e-9, atol=1e-9)


@pytest.mark.cuda
@requires_cuda
def test_cuda_lstm_matches_cudnn_float32():
    torch.manual_seed(0)
    model = ours.LSTM(D, H, 2, bidirectional=True, batch_first=True, device="cuda")
    reference = torch.nn.LSTM(D, H, 2, bidirectional=True, batch_first=True, device="cuda")
    reference.load_state_dict(model.state_dict())
    x = torch.randn(B, T, D, device="cuda")
    out, (h_n, c_n) = model(x)
    ref_out, (ref_h_n, ref_c_n) = reference(x)
    for value, ref_value in ((out, ref_out), (h_n, ref_h_n), (c_n, ref_c_n)):
        torch.testing.assert_close(value, ref_value, rtol=1e-4, atol=1e-5)


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("name,options", [
    ("LSTM", {"proj_size": 3, "num_layers": 2, "bidirectional": True}),
    ("LSTM", {"bias": False, "num_layers": 2}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
])
def test_cuda_packed_and_unbatched_inputs_match_cudnn(name, options):
    """torch.nn's inputs (time-major, packed with unsorted lengths, unbatched) on the GPU."""
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(D, H, **options, device="cuda")
    model = getattr(ours, name)(D, H, **options, device="cuda")
    model.load_state_dict(reference.state_dict())
    x = torch.randn(T, B, D, device="cuda")
    packed = pack_padded_sequence(x, torch.tensor([4, T, 2]), enforce_sorted=False)
    for given in (x, packed, x[:, 0]):
        out, final = model(given)
        ref_out, ref_final = reference(given)
        if not isinstance(out, torch.Tensor):
            out, ref_out = out.data, ref_out.data
        assert out.is_cuda and out.is_contiguous()
        torch.testing.assert_close(out, ref_out, rtol=1e-4, atol=1e-5)
        finals = final if isinstance(final, tuple) else (final,)
        ref_finals = ref_final if isinstance(ref_final, tuple) else (ref_final,)
        for value, ref_value in zip(finals, ref_finals):
            torch.testing.assert_close(value, ref_value, rtol=1e-4, atol=1e-5)
