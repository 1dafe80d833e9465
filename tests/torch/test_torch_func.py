"""Higher-order gradients and torch.func through lstm_ref.torch, as through torch.nn.

The LSTM's default fast path is an ``autograd.Function`` with a hand-written backward;
it must still give double backward (``create_graph=True``, ``gradgradcheck``) and work
under ``torch.func`` transforms (grad, vmap, jacrev, jvp) with torch.nn's numbers.
"""

from functools import partial

import pytest
import torch

import lstm_ref.torch as ours
from lstm_ref.torch.lstm import lstm_cell
from lstm_ref.torch.lstm_fast import LSTMLayer
from lstm_ref.torch.stack import scan

TOL64 = dict(rtol=1e-10, atol=1e-10)


def build(name, args, kwargs, **extra):
    """torch.nn's module and ours from the same call, holding torch.nn's parameters."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    model = getattr(ours, name)(*args, **kwargs, **extra, dtype=torch.float64)
    model.load_state_dict(reference.state_dict())
    return reference, model



def small_pair(name, **kwargs):
    return build(name, (3, 2), {"num_layers": 2, "bidirectional": True, **kwargs})


@pytest.mark.parametrize("fast", [True, False])
def test_double_backward_equals_torch_nn(fast):
    reference, model = build("LSTM", (3, 4), {"num_layers": 2, "bidirectional": True},
                             fast=fast)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    results = []
    for module in (reference, model):
        leaf = x.clone().requires_grad_()
        out, (h_n, c_n) = module(leaf)
        loss = (out ** 2).sum() + (c_n ** 3).sum()
        (grad_x,) = torch.autograd.grad(loss, leaf, create_graph=True)
        penalty = (grad_x ** 2).sum()
        results.append([grad_x] + list(torch.autograd.grad(penalty,
                                                           [leaf, *module.parameters()])))
    for ours_value, torch_value in zip(results[1], results[0]):
        torch.testing.assert_close(ours_value, torch_value, **TOL64)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_gradgradcheck(name):
    _, model = small_pair(name)
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(3, 2, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    parameters = dict(model.named_parameters())

    def function(x, *weights):
        outputs = torch.func.functional_call(model, dict(zip(parameters, weights)), (x,))
        return outputs[0]

    inputs = (x, model.weight_ih_l0, model.weight_hh_l1_reverse)

    def selected(x, w_ih, w_hh):
        weights = [w_ih if n == "weight_ih_l0" else w_hh if n == "weight_hh_l1_reverse"
                   else p for n, p in parameters.items()]
        return function(x, *weights)

    assert torch.autograd.gradgradcheck(selected, inputs)


def test_fast_lstm_layer_passes_gradgradcheck():
    generator = torch.Generator().manual_seed(6)

    def leaf(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64,
                           requires_grad=True)

    inputs = (leaf(3, 2, 2), leaf(2, 2), leaf(2, 2), leaf(8, 2), leaf(8, 2), leaf(8), leaf(8))
    for reverse in (False, True):
        def function(*tensors, reverse=reverse):
            return LSTMLayer.apply(*tensors, reverse, partial(scan, lstm_cell))

        assert torch.autograd.gradgradcheck(function, inputs)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_torch_func_grad_equals_torch_nn(name):
    reference, model = small_pair(name)
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    gradients = []
    for module in (reference, model):
        parameters = {k: v.detach() for k, v in module.named_parameters()}

        def loss(parameters, x):
            out, _ = torch.func.functional_call(module, parameters, (x,))
            return (out ** 2).sum()

        gradients.append(torch.func.grad(loss, argnums=(0, 1))(parameters, x))
    (torch_params, torch_x), (our_params, our_x) = gradients
    torch.testing.assert_close(our_x, torch_x, **TOL64)
    for key in torch_params:
        torch.testing.assert_close(our_params[key], torch_params[key], **TOL64, msg=key)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_vmap_over_unbatched_sequences_equals_a_batch(name):
    reference, model = small_pair(name, batch_first=True)
    x = torch.randn(4, 5, 3, dtype=torch.float64)         # 4 sequences (T, D)
    mapped = torch.func.vmap(lambda sequence: model(sequence)[0])(x)
    torch.testing.assert_close(mapped, reference(x)[0], **TOL64)


def test_jacrev_and_forward_mode_through_the_default_lstm():
    reference, model = small_pair("LSTM")
    x = torch.randn(3, 2, 3, dtype=torch.float64)
    jacobians = [torch.func.jacrev(lambda v, m=m: m(v)[0])(x) for m in (reference, model)]
    torch.testing.assert_close(jacobians[1], jacobians[0], **TOL64)
    tangent = torch.randn_like(x)
    _, ours_jvp = torch.func.jvp(lambda v: model(v)[0], (x,), (tangent,))
    expected = torch.einsum("tbhsce,sce->tbh", jacobians[0], tangent)
    torch.testing.assert_close(ours_jvp, expected, **TOL64)
