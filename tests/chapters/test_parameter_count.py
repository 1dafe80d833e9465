"""lstm_ref.chapters.parameter_count agrees with torch.nn's modules for random sizes."""

import numpy as np
import pytest
import torch

from lstm_ref.chapters.parameter_count import (count_with_head, matched_hidden_size,
                                      parameter_count)

TORCH_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


@pytest.mark.parametrize("kind", sorted(TORCH_MODULES))
@pytest.mark.parametrize("seed", range(4))
def test_matches_torch_nn(kind, seed):
    rng = np.random.default_rng(seed)
    for bidirectional in (False, True):
        sizes = dict(input_size=int(rng.integers(1, 9)), hidden_size=int(rng.integers(1, 9)),
                     num_layers=int(rng.integers(1, 4)))
        module = TORCH_MODULES[kind](**sizes, bidirectional=bidirectional)
        expected = sum(p.numel() for p in module.parameters())
        assert parameter_count(kind, **sizes, bidirectional=bidirectional) == expected


def test_peephole_adds_three_vectors_per_layer_and_direction():
    lstm = parameter_count("lstm", 3, 5, num_layers=2, bidirectional=True)
    assert parameter_count("peephole", 3, 5, num_layers=2, bidirectional=True) == lstm + 4 * 3 * 5


@pytest.mark.parametrize("args, match", [
    (("transformer", 3, 4), "kind"), (("lstm", 0, 4), "input_size"),
    (("lstm", 3, 2.5), "hidden_size"), (("gru", 3, 4, 0), "num_layers"),
])
def test_bad_arguments_raise_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        parameter_count(*args)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm", "peephole"])
def test_matched_hidden_size_is_the_nearest_count(kind):
    target = parameter_count("lstm", 8, 32) + 8 * (32 + 1)   # LSTM tagger, width 32
    hidden = matched_hidden_size(kind, target, 8, num_classes=8)
    count = count_with_head(kind, 8, hidden, 8)
    for other in range(1, 200):
        assert abs(count - target) <= abs(count_with_head(kind, 8, other, 8) - target)
    if kind in ("lstm", "peephole"):
        assert hidden == 32
    # without a head the count is parameter_count's
    goal = parameter_count("lstm", 8, 32, 2, True)
    bare = matched_hidden_size(kind, goal, 8, 2, True)
    for other in (bare - 1, bare + 1):
        assert (abs(parameter_count(kind, 8, bare, 2, True) - goal)
                <= abs(parameter_count(kind, 8, other, 2, True) - goal))


def test_matched_sizes_are_ordered_by_gate_count_and_count_with_head_matches_a_tagger():
    from lstm_ref.chapters.variants import Tagger, count_parameters, make_body

    sizes = {k: matched_hidden_size(k, 20_000, 5, num_classes=3)
             for k in ("rnn", "gru", "lstm")}
    assert sizes["rnn"] > sizes["gru"] > sizes["lstm"]
    for kind, hidden in sizes.items():
        tagger = Tagger(make_body(kind, 5, hidden), 3)
        assert count_parameters(tagger) == count_with_head(kind, 5, hidden, 3)
    assert matched_hidden_size("lstm", 3, 5) == 1    # smaller than any network: H = 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(target_params=0), "target_params"), (dict(num_classes=-1), "num_classes"),
    (dict(num_classes=1.5), "num_classes"),
])
def test_matched_hidden_size_rejects_bad_arguments(kwargs, match):
    arguments = dict(kind="lstm", target_params=1000, input_size=4) | kwargs
    with pytest.raises(ValueError, match=match):
        matched_hidden_size(**arguments)
