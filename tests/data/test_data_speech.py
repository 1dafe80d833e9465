"""The NumPy speech front end (lstm_ref.data.speech) and the committed spoken-digit set."""

import numpy as np
import pytest

from lstm_ref.data import speech

RATE = 16_000


def tone(frequency, seconds=0.5, rate=RATE, amplitude=0.5):
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


def test_mel_scale_round_trip_and_anchor():
    frequencies = np.array([0.0, 300.0, 1000.0, 4000.0, 8000.0])
    assert np.allclose(speech.mel_to_hz(speech.hz_to_mel(frequencies)), frequencies)
    assert abs(speech.hz_to_mel(1000.0) - 1000.0) < 0.5      # the scale's anchor point
    assert np.all(np.diff(speech.hz_to_mel(frequencies)) > 0)


def test_filterbank_triangles_peak_at_their_centres_and_widen_with_frequency():
    bank = speech.mel_filterbank(20, 512, RATE, f_max=8000.0)
    assert bank.shape == (20, 257) and bank.min() >= 0.0
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) > 0)                        # bands in increasing frequency
    widths = (bank > 0).sum(axis=1)
    assert widths[-1] > 4 * widths[1]                        # high bands are much wider
    # the triangle is 1 at its centre: the centre frequency lies within half a bin of a peak bin
    centres = speech.mel_to_hz(np.linspace(0, speech.hz_to_mel(8000.0), 22))[1:-1]
    assert np.all(np.abs(peaks * RATE / 512 - centres) <= RATE / 512)
    with pytest.raises(ValueError, match="f_max"):
        speech.mel_filterbank(20, 512, RATE, f_max=9000.0)


@pytest.mark.parametrize("frequency", [440.0, 1000.0, 2500.0, 6000.0])
def test_a_tone_lands_in_the_band_whose_triangle_is_highest_at_its_frequency(frequency):
    features = speech.log_mel_features(tone(frequency), RATE, num_mels=24, pre_emphasis=0.0)
    bank = speech.mel_filterbank(24, 512, RATE)
    expected = int(np.argmax(bank[:, int(round(frequency * 512 / RATE))]))
    loudest = features.argmax(axis=1)
    assert np.all(loudest == expected), (frequency, expected, np.unique(loudest))
    # and the band's energy stands far above bands away from the tone
    far = [k for k in range(24) if abs(k - expected) > 2]
    assert np.all(features[:, expected] > features[:, far].max(axis=1) + 5.0)


def test_frame_count_dtype_and_silence_floor():
    features = speech.log_mel_features(tone(1000.0, seconds=1.0), RATE)
    assert features.shape == (1 + (RATE - 400) // 160, 20) and features.dtype == np.float32
    silent = speech.log_mel_features(np.zeros(800), RATE)
    assert np.all(silent == np.float32(np.log(1e-10)))       # floored, not -inf
    # integer samples work too; a louder copy of a sound shifts every log energy by log(gain^2)
    quiet = speech.log_mel_features(tone(700.0), RATE)
    loud = speech.log_mel_features(3.0 * tone(700.0), RATE)
    above_floor = quiet > np.log(1e-10) + 1.0              # far bands sit on the floor
    assert above_floor.sum() > quiet.size // 4
    assert np.allclose((loud - quiet)[above_floor], np.log(9.0), atol=1e-3)
    assert speech.log_mel_features((tone(700.0) * 10000).astype(np.int16), RATE).shape == quiet.shape


def test_pre_emphasis_lifts_high_frequencies():
    low, high = tone(300.0), tone(5000.0)
    difference = []
    for emphasis in (0.0, 0.97):
        low_energy = speech.log_mel_features(low, RATE, pre_emphasis=emphasis).max()
        high_energy = speech.log_mel_features(high, RATE, pre_emphasis=emphasis).max()
        difference.append(high_energy - low_energy)
    assert difference[1] > difference[0] + 2.0


def test_mfcc_is_an_orthonormal_dct():
    basis = speech.dct_matrix(20, 20)
    assert np.allclose(basis @ basis.T, np.eye(20), atol=1e-12)
    flat = np.full((5, 20), 3.0)
    coefficients = speech.mfcc(flat, 13)
    assert coefficients.shape == (5, 13)
    assert np.allclose(coefficients[:, 0], 3.0 * np.sqrt(20)) and np.allclose(coefficients[:, 1:], 0)
    # agrees with the DCT-II written as a sum
    rng = np.random.default_rng(0)
    log_mel = rng.normal(size=20)
    k, n = 4, np.arange(20)
    by_hand = np.sqrt(2 / 20) * np.sum(log_mel * np.cos(np.pi * k * (2 * n + 1) / 40))
    assert np.isclose(speech.mfcc(log_mel, 13)[k], by_hand)


def test_trim_silence_keeps_the_sound_and_a_margin():
    signal = np.concatenate([np.zeros(RATE), tone(1000.0, seconds=0.3), np.zeros(RATE)])
    trimmed = speech.trim_silence(signal, RATE, margin_ms=30.0)
    assert abs(len(trimmed) - (int(0.3 * RATE) + 2 * 480)) <= 2 * 160


@pytest.mark.parametrize("signal, rate, message", [
    (np.zeros((2, 100)), RATE, "1-D array"),
    (np.zeros(100), 0, "sample_rate"),
    (np.zeros(100), 16000.0, "sample_rate"),
    (np.array([], dtype=float), RATE, "empty"),
    (np.array(["a", "b"]), RATE, "real numbers"),
])
def test_bad_input_raises_value_error(signal, rate, message):
    with pytest.raises(ValueError, match=message):
        speech.log_mel_features(signal, rate)


def test_committed_spoken_digits():
    data = speech.spoken_digits()
    n, t_max, num_mels = data.features.shape
    assert num_mels == data.settings["features"]["num_mels"] == 20 and data.features.dtype == np.float32
    assert n == len(data.lengths) == len(data.labels) == len(data.voices) > 1500
    assert data.lengths.max() == t_max and data.lengths.min() >= 10
    assert np.bincount(data.labels, minlength=10).min() == n // 10   # balanced digits
    assert len(data.voice_names) == len(set(data.voice_names)) == data.voices.max() + 1 > 50
    # every voice says every digit
    for voice in range(len(data.voice_names)):
        assert set(data.labels[data.voices == voice]) == set(range(10))
    padding = np.arange(t_max)[None, :] >= data.lengths[:, None]
    assert np.all(data.features[padding] == 0)
    assert np.all(np.isfinite(data.features)) and data.features[~padding].max() < 10
    for key in ("speed", "pitch", "amplitude", "snr_db"):
        assert data.settings["utterances"][key].shape == (n,)
    assert data.settings["phonemes"]["en-us"]["five"].endswith("aɪv")
