"""The seed knob every notebook reads (lstm_ref.training.course_seed / derive_seed)."""

import numpy as np
import pytest

from lstm_ref.training import SEED_ENV, course_seed, derive_seed, set_seed


def test_course_seed_defaults_to_zero(monkeypatch):
    monkeypatch.delenv(SEED_ENV, raising=False)
    assert course_seed() == 0


def test_course_seed_reads_environment(monkeypatch):
    monkeypatch.setenv(SEED_ENV, " 3 ")
    assert course_seed() == 3


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5"])
def test_course_seed_rejects_bad_values(monkeypatch, raw):
    monkeypatch.setenv(SEED_ENV, raw)
    with pytest.raises(ValueError, match=SEED_ENV):
        course_seed()


def test_derived_seeds_differ_by_key_and_by_course_seed(monkeypatch):
    monkeypatch.setenv(SEED_ENV, "0")
    under_zero = [derive_seed(k) for k in range(5)]
    assert len(set(under_zero)) == 5
    assert derive_seed(2) == under_zero[2]            # deterministic
    monkeypatch.setenv(SEED_ENV, "1")
    under_one = [derive_seed(k) for k in range(5)]
    assert not set(under_zero) & set(under_one)
    assert all(0 <= s < 2**31 for s in under_zero + under_one)


def test_derive_seed_rejects_negative_keys():
    with pytest.raises(ValueError):
        derive_seed(-1)


def test_set_seed_makes_draws_repeatable():
    import torch

    a = (set_seed(7).random(3), torch.rand(3))
    b = (set_seed(7).random(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
