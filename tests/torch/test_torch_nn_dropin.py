"""lstm_ref.torch.{RNN, LSTM, GRU} are drop-ins for torch.nn's: the same call builds both.

Every case builds torch.nn's module and ours from the SAME constructor call (positional
and keyword arguments alike), copies torch.nn's state_dict into ours, runs both on the
same input (time-major, batch-first, unbatched, packed, empty batch; with or without
``hx``) and compares outputs, final states and the gradients of every parameter, of the
input and of ``hx`` (float64 to 1e-10). Then: signatures and attributes, dropout, errors
(RuntimeError and ValueError), contiguous outputs. Higher-order gradients and torch.func:
``test_torch_func.py``.
"""

import inspect
import warnings

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import lstm_ref.torch as ours

D, H = 4, 5
TOL64 = dict(rtol=1e-10, atol=1e-10)
TOL32 = dict(rtol=2e-5, atol=2e-5)

#: (class name, positional arguments, keyword arguments): each call is made on both
SIGNATURES = [
    ("LSTM", (D, H), {}),
    ("LSTM", (D, H, 2), {}),
    ("LSTM", (D, H, 2, False), {}),                          # bias is the 4th argument
    ("LSTM", (D, H, 1, True, True), {}),                     # batch_first the 5th
    ("LSTM", (D, H, 3, True, False, 0.0, True), {}),         # bidirectional the 7th
    ("LSTM", (D, H), {"bidirectional": True, "batch_first": True}),
    ("LSTM", (D, H), {"bias": False, "num_layers": 2, "bidirectional": True}),
    ("LSTM", (D, H), {"proj_size": 3}),
    ("LSTM", (D, H, 2, True, True, 0.0, True, 2), {}),      # proj_size the 8th
    ("LSTM", (D, H), {"proj_size": 2, "bias": False, "num_layers": 3}),
    ("GRU", (D, H), {}),
    ("GRU", (D, H, 2, False), {}),
    ("GRU", (D, H, 3, True, True, 0.0, True), {}),
    ("GRU", (D, H), {"bias": False, "bidirectional": True, "batch_first": True}),
    ("RNN", (D, H), {}),
    ("RNN", (D, H, 1, "relu"), {}),                          # nonlinearity the 4th
    ("RNN", (D, H, 2, "tanh", False), {}),
    ("RNN", (D, H, 2, "relu", True, True, 0.0, True), {}),
    ("RNN", (D, H), {"nonlinearity": "relu", "num_layers": 3, "bidirectional": True}),
    ("RNN", (D, H), {"bias": False, "batch_first": True}),
]

INPUTS = ["batched", "unbatched", "packed_unsorted", "packed_sorted", "empty_batch"]


def case_id(signature):
    name, args, kwargs = signature
    return f"{name}{args}" + "".join(f",{k}={v}" for k, v in kwargs.items())


def build(name, args, kwargs, dtype=torch.float64, **extra):
    """torch.nn's module and ours from the same call, holding torch.nn's parameters."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs, dtype=dtype)
    model = getattr(ours, name)(*args, **kwargs, **extra, dtype=dtype)
    assert list(model.state_dict()) == list(reference.state_dict())
    model.load_state_dict(reference.state_dict())
    return reference, model


def make_input(reference, mode, batch, steps, dtype, generator):
    """A function making the input (a tensor or a PackedSequence, afresh each call, since
    packing is part of the graph) and the leaf to take the input gradient of."""
    if mode == "unbatched":
        leaf = torch.randn(steps, D, generator=generator, dtype=dtype).requires_grad_()
        return (lambda: leaf), leaf
    batch = 0 if mode == "empty_batch" else batch
    shape = (batch, steps, D) if reference.batch_first else (steps, batch, D)
    leaf = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
    if not mode.startswith("packed"):
        return (lambda: leaf), leaf
    lengths = torch.tensor([3, steps, 1, 4][:batch])
    if mode == "packed_sorted":
        lengths = lengths.sort(descending=True).values
    return (lambda: pack_padded_sequence(leaf, lengths, batch_first=reference.batch_first,
                                         enforce_sorted=mode == "packed_sorted")), leaf


def make_hx(reference, mode, batch, dtype, generator):
    """Random initial states of torch.nn's shapes (leaves), or None."""
    rows = reference.num_layers * (2 if reference.bidirectional else 1)
    batch = 0 if mode == "empty_batch" else batch
    hidden_out = getattr(reference, "proj_size", 0) or reference.hidden_size
    sizes = [hidden_out, reference.hidden_size] if isinstance(reference, torch.nn.LSTM) \
        else [hidden_out]
    shapes = [(rows, size) if mode == "unbatched" else (rows, batch, size) for size in sizes]
    return [torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
            for shape in shapes]


def forward_backward(module, make_x, leaf, hx, seed=1):
    """Outputs, final states and the gradients of a fixed random weighting of both."""
    x = make_x()
    module.zero_grad()
    for tensor in [leaf] + (hx or []):
        tensor.grad = None
    if hx is None:
        out, final = module(x)
    elif isinstance(module, (torch.nn.LSTM, ours.LSTM)):
        out, final = module(x, hx=tuple(hx))
    else:
        out, final = module(x, hx[0])
    finals = list(final) if isinstance(final, tuple) else [final]
    data = out.data if isinstance(out, PackedSequence) else out
    generator = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=generator, dtype=t.dtype)).sum()
               for t in [data] + finals)
    loss.backward()
    grads = {"input": leaf.grad}
    grads.update({f"hx{k}": tensor.grad for k, tensor in enumerate(hx or [])})
    grads.update({name: p.grad for name, p in module.named_parameters()})
    return out, finals, grads


def assert_same(expected, actual, tol):
    out_ref, finals_ref, grads_ref = expected
    out, finals, grads = actual
    assert type(out) is type(out_ref)
    if isinstance(out_ref, PackedSequence):
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            ref_field, our_field = getattr(out_ref, field), getattr(out, field)
            assert (ref_field is None and our_field is None) or torch.equal(ref_field, our_field)
        out_ref, out = out_ref.data, out.data
    assert out.shape == out_ref.shape and out.is_contiguous()
    torch.testing.assert_close(out, out_ref, **tol)
    assert len(finals) == len(finals_ref)
    for final, final_ref in zip(finals, finals_ref):
        torch.testing.assert_close(final, final_ref, **tol)
    assert grads.keys() == grads_ref.keys()
    for name in grads_ref:
        if grads_ref[name] is None:                # e.g. no gradient reaches an empty batch
            assert grads[name] is None or not grads[name].any(), name
            continue
        torch.testing.assert_close(grads[name], grads_ref[name], **tol, msg=name)


@pytest.mark.parametrize("hx_given", [False, True], ids=["hx=None", "hx"])
@pytest.mark.parametrize("mode", INPUTS)
@pytest.mark.parametrize("signature", SIGNATURES, ids=case_id)
def test_same_call_same_numbers_float64(signature, mode, hx_given):
    reference, model = build(*signature)
    generator = torch.Generator().manual_seed(2)
    x, leaf = make_input(reference, mode, 4, 6, torch.float64, generator)
    hx = make_hx(reference, mode, 4, torch.float64, generator) if hx_given else None
    expected = forward_backward(reference, x, leaf, hx)
    models = [model]
    if signature[0] == "LSTM":              # the step loop too, not only the fast path
        models.append(build(*signature, fast=False)[1])
    for module in models:
        assert_same(expected, forward_backward(module, x, leaf, hx), TOL64)


@pytest.mark.parametrize("mode", ["batched", "packed_unsorted", "unbatched"])
@pytest.mark.parametrize("signature", SIGNATURES[::3], ids=case_id)
def test_same_call_same_numbers_float32(signature, mode):
    reference, model = build(*signature, dtype=torch.float32)
    generator = torch.Generator().manual_seed(3)
    x, leaf = make_input(reference, mode, 3, 5, torch.float32, generator)
    hx = make_hx(reference, mode, 3, torch.float32, generator)
    assert_same(forward_backward(reference, x, leaf, hx),
                forward_backward(model, x, leaf, hx), TOL32)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_constructor_signature_is_torch_nn_s(name):
    """Same parameter names, order and defaults as torch.nn (ours may add keyword-only ones)."""
    base = inspect.signature(torch.nn.RNNBase.__init__).parameters
    expected = [(p.name, p.default) for p in base.values() if p.name not in ("self", "mode")]
    if name != "LSTM":
        expected = [p for p in expected if p[0] != "proj_size"]
    if name == "RNN":
        expected.insert(3, ("nonlinearity", "tanh"))
    ours_parameters = inspect.signature(getattr(ours, name).__init__).parameters.values()
    positional = [(p.name, p.default) for p in ours_parameters
                  if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == expected
    forward = list(inspect.signature(getattr(ours, name).forward).parameters.items())
    assert [(n, p.default) for n, p in forward[1:]] == [("input", inspect.Parameter.empty),
                                                        ("hx", None)]


def test_peephole_lstm_follows_lstm_s_signature():
    lstm = inspect.signature(ours.LSTM.__init__).parameters
    peephole = inspect.signature(ours.PeepholeLSTM.__init__).parameters
    assert [(p.name, p.default) for p in peephole.values()] == \
        [(p.name, p.default) for p in lstm.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    model = ours.PeepholeLSTM(D, H, 2, False, True, 0.0, True, 3)
    assert not model.bias and model.batch_first and model.bidirectional and model.proj_size == 3
    assert "bias_ih_l0" not in dict(model.named_parameters())
    assert model.weight_hr_l1_reverse.shape == (3, H) and model.weight_ci_l1.shape == (H,)
    out, (h_n, c_n) = model(torch.randn(2, 6, D))
    assert out.shape == (2, 6, 6) and h_n.shape == (4, 2, 3) and c_n.shape == (4, 2, H)
    # without peephole weights it is exactly the LSTM, projection included
    lstm = ours.LSTM(D, H, 2, False, True, 0.0, True, 3, dtype=torch.float64)
    peephole = ours.PeepholeLSTM(D, H, 2, False, True, 0.0, True, 3, dtype=torch.float64)
    state = {k: v for k, v in peephole.state_dict().items() if not k.startswith("weight_c")}
    lstm.load_state_dict(state)
    with torch.no_grad():
        for name, parameter in peephole.named_parameters():
            if name.startswith("weight_c"):
                parameter.zero_()
        x = torch.randn(2, 6, D, dtype=torch.float64)
        torch.testing.assert_close(peephole(x)[0], lstm(x)[0], **TOL64)


@pytest.mark.parametrize("signature", SIGNATURES, ids=case_id)
def test_attributes_repr_and_state_dict_both_ways(signature):
    reference, model = build(*signature)
    for attribute in ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                      "dropout", "bidirectional", "proj_size", "mode"):
        assert getattr(model, attribute) == getattr(reference, attribute), attribute
    if signature[0] == "RNN":
        assert model.nonlinearity == reference.nonlinearity
    assert repr(model) == repr(reference)
    assert [[tuple(p.shape) for p in group] for group in model.all_weights] == \
        [[tuple(p.shape) for p in group] for group in reference.all_weights]
    model.flatten_parameters()                     # accepted, as torch.nn's
    fresh = getattr(torch.nn, signature[0])(*signature[1], **signature[2], dtype=torch.float64)
    fresh.load_state_dict(model.state_dict())      # strict: same keys and shapes
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_default_layout_is_time_major_and_outputs_are_contiguous(name):
    model = getattr(ours, name)(D, H, bidirectional=True)
    assert model.batch_first is False
    out, _ = model(torch.randn(7, 3, D))                 # (T, B, D)
    assert out.shape == (7, 3, 2 * H) and out.is_contiguous()
    assert out.view(-1, 2 * H).shape == (21, 2 * H)
    out, _ = getattr(ours, name)(D, H, batch_first=True)(torch.randn(3, 7, D))
    assert out.shape == (3, 7, H) and out.is_contiguous()


def test_dropout_zero_in_training_and_any_dropout_in_eval_equal_torch_nn():
    for name, args in [("LSTM", (D, H, 3)), ("GRU", (D, H, 2)), ("RNN", (D, H, 2, "relu"))]:
        for dropout, train in [(0.0, True), (0.4, False)]:
            reference, model = build(name, args, {"dropout": dropout})
            reference.train(train), model.train(train)
            x = torch.randn(6, 3, D, dtype=torch.float64)
            torch.testing.assert_close(model(x)[0], reference(x)[0], **TOL64)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_one_drops_every_layer_but_the_last(name):
    """With p = 1 dropout is deterministic (zeros), so torch.nn's numbers can be matched."""
    reference, model = build(name, (D, H, 3), {"dropout": 1.0, "bidirectional": True})
    x = torch.randn(6, 3, D, dtype=torch.float64)
    out, _ = model(x)
    torch.testing.assert_close(out, reference(x)[0], **TOL64)
    assert out.abs().sum() > 0                     # the last layer's output is not dropped


def test_dropout_statistics_match_torch_nn():
    """A 2-layer ReLU RNN whose second layer copies its input shows the dropout mask."""
    p, rows = 0.3, 400
    fractions, scales = [], []
    for module in build("RNN", (D, H, 2, "relu", False), {"dropout": p}):
        with torch.no_grad():
            module.weight_hh_l1.zero_()
            module.weight_ih_l1.copy_(torch.eye(H, dtype=torch.float64))
        module.train()
        torch.manual_seed(4)
        x = torch.randn(5, rows, D, dtype=torch.float64)
        with torch.no_grad():
            module.eval()
            kept_all, _ = module(x)                # eval: no dropout
            module.train()
            dropped, _ = module(x)
        live = kept_all > 0
        fractions.append((dropped[live] == 0).double().mean().item())
        kept = live & (dropped > 0)
        scales.append((dropped[kept] / kept_all[kept]).mean().item())
    assert fractions[0] == pytest.approx(p, abs=0.03) and fractions[1] == pytest.approx(p, abs=0.03)
    assert scales[0] == pytest.approx(1 / (1 - p)) and scales[1] == pytest.approx(1 / (1 - p))


def test_dropout_is_checked_and_warns_as_torch_nn():
    for module_class in (torch.nn.LSTM, ours.LSTM):
        with pytest.warns(UserWarning, match="dropout"):
            module_class(D, H, dropout=0.5)
        for bad in (-0.1, 1.5, True):
            with pytest.raises(ValueError, match="dropout"):
                module_class(D, H, 2, dropout=bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.LSTM(D, H, 2, dropout=0.5)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bad_constructor_arguments_raise_torch_nn_s_exception_classes(name):
    bad_calls = [((0, H), {}), ((D, 0), {}), ((D, H, 0), {}), ((D, H), {"bias": 1}),
                 ((D, H), {"batch_first": "yes"})]
    if name == "LSTM":
        bad_calls += [((D, H), {"proj_size": H}), ((D, H), {"proj_size": -1})]
    if name == "RNN":
        bad_calls += [((D, H, 1, "sigmoid"), {})]
    for args, kwargs in bad_calls:
        with pytest.raises(Exception) as torch_error:
            getattr(torch.nn, name)(*args, **kwargs)
        with pytest.raises(Exception) as our_error:
            getattr(ours, name)(*args, **kwargs)
        assert isinstance(our_error.value, type(torch_error.value)), (args, kwargs)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bad_input_raises_what_torch_nn_raises_and_value_error(name):
    reference, model = build(name, (D, H, 2), {}, dtype=torch.float32)
    x = torch.randn(6, 3, D)
    state_count = 2 if name == "LSTM" else 1

    def states(*shape):
        tensors = tuple(torch.zeros(shape) for _ in range(state_count))
        return tensors if name == "LSTM" else tensors[0]

    bad_calls = [
        (torch.randn(6, 3, D + 1), None),            # input_size
        (torch.randn(6, 3, 2, D), None),             # rank 4
        (torch.randn(0, 3, D), None),                # no time step
        (x.double(), None),                          # dtype of the parameters
        (x, states(4, 3, H)),                        # 2 layers x 1 direction = 2 rows
        (x, states(2, 4, H)),                        # batch of hx
        (x, states(2, H)),                           # 2-D hx for batched input
        (torch.randn(6, D), states(2, 1, H)),        # 3-D hx for unbatched input
    ]
    for args in bad_calls:
        with pytest.raises((RuntimeError, ValueError)) as torch_error:
            reference(*args)
        with pytest.raises(ours.InputError) as our_error:
            model(*args)
        assert isinstance(our_error.value, RuntimeError)
        assert isinstance(our_error.value, ValueError)
        assert isinstance(our_error.value, type(torch_error.value))
        assert "expected" in str(our_error.value) and "got" in str(our_error.value)


def test_error_messages_name_expected_and_given():
    model = ours.LSTM(D, H, 2)
    with pytest.raises(RuntimeError, match=r"input_size == 4.*\(T, B, D\).*\(6, 3, 7\)"):
        model(torch.zeros(6, 3, 7))
    with pytest.raises(RuntimeError, match=r"h0 of shape \(2, 3, 5\).*got \(2, 4, 5\)"):
        model(torch.zeros(6, 3, D), (torch.zeros(2, 4, H), torch.zeros(2, 3, H)))
    with pytest.raises(RuntimeError, match=r"c0 of shape \(2, 3, 5\).*got \(2, 3, 4\)"):
        model(torch.zeros(6, 3, D), (torch.zeros(2, 3, H), torch.zeros(2, 3, H - 1)))
    with pytest.raises(ValueError, match=r"pair \(h0, c0\), got Tensor"):
        model(torch.zeros(6, 3, D), torch.zeros(2, 3, H))


def test_empty_batch_runs_the_fast_path():
    model = ours.LSTM(D, H, 2, bidirectional=True)
    x = torch.randn(6, 0, D, requires_grad=True)
    out, (h_n, c_n) = model(x)
    assert out.shape == (6, 0, 2 * H) and h_n.shape == (4, 0, H) and c_n.shape == (4, 0, H)
    out.sum().backward()
    assert x.grad.shape == x.shape
