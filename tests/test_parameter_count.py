"""lstm_ref.parameter_count agrees with torch.nn's modules for random sizes."""

import numpy as np
import pytest
import torch

from lstm_ref.parameter_count import parameter_count

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
