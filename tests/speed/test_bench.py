"""Smoke test of lstm_ref.bench at tiny sizes (no timing assertions: this machine is shared)."""

import math

import pytest
import torch

from lstm_ref import bench


def test_cpu_benchmark_runs_every_candidate_at_tiny_size():
    rows = bench.cpu_benchmark(batch=2, steps=3, inputs=4, hidden=5, rounds=2)
    names = [row.name for row in rows]
    assert names[0] == "torch.nn.LSTM" and rows[0].ratio is None
    assert "lstm_ref.torch.LSTM" in names and "lstm_ref.numpy.LSTM" in names
    for row in rows[1:]:
        if bench.numpy_lstm_class() is None and row.name == "lstm_ref.numpy.LSTM":
            assert row.note == "not available yet"
            continue
        assert row.median_ms > 0 and math.isfinite(row.ratio) and row.ratio > 0
        assert row.target == bench.CPU_TARGETS[row.name]
    table = bench.format_table(rows, "tiny")
    assert all(name in table for name in names) and "(yardstick)" in table


def test_other_shapes_carry_no_target_and_the_gru_table_runs():
    rows = bench.cpu_benchmark(batch=1, steps=3, inputs=4, hidden=5, rounds=1,
                               targets=False)
    assert all(row.target is None for row in rows)
    assert bench.CPU_SHAPES[0][1:] == (32, 100, 64, 128)
    assert {shape[1:] for shape in bench.CPU_SHAPES[1:]} == {
        (1, 100, 64, 128), (256, 100, 64, 128), (32, 100, 64, 512)}
    rows = bench.gru_benchmark(batch=2, steps=3, inputs=4, hidden=5, rounds=2)
    assert [row.name for row in rows] == [
        "torch.nn.GRU", "lstm_ref.torch.GRU", "lstm_ref.torch.GRU loop",
        "lstm_ref.numpy.GRU", "lstm_ref.numpy.GRU loop"]
    assert all(row.ratio > 0 and math.isfinite(row.ratio) for row in rows[1:])
    table = bench.format_table(rows, "gru")
    assert "(yardstick)" in table and "MISSED" not in table and "met" not in table


def test_interleaved_rounds_rotate_the_order():
    calls = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times, wall_times = bench.interleaved_times(candidates, rounds=3)
    assert calls == list("abc") + list("abc") + list("bca") + list("cab")
    assert all(len(values) == 3 for values in times.values())
    assert all(len(values) == 3 for values in wall_times.values())


def test_rows_from_times_takes_medians_and_ratios():
    rows = bench.rows_from_times({"ours": [3.0, 4.0, 9.0], "ref": [1.0, 3.0, 2.0]},
                                 "ref", "cpu", 1.5)
    assert [row.name for row in rows] == ["ref", "ours"]     # yardstick first
    assert rows[0].median_ms == pytest.approx(2000.0) and rows[0].ratio is None
    assert rows[1].ratio == pytest.approx(2.0)
    assert "MISSED" in bench.format_table(rows, "t")


def test_bad_options_are_rejected():
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            bench.parse_args(["--device", "cuda"])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_benchmark_runs_at_small_size():
    rows = bench.cuda_benchmark(batch=4, steps=5, inputs=8, hidden=8, rounds=2)
    assert [row.name for row in rows] == ["torch.nn.LSTM", "lstm_ref.torch.LSTM"]
    assert rows[1].ratio > 0
