r"""Log-mel features of speech in NumPy, and the committed spoken-digit data set.

The features are the classic front end of speech recognisers, one step at a time:

1. **pre-emphasis** ``y[n] = x[n] - 0.97 x[n-1]`` lifts the high frequencies, which voiced speech
   has little of;
2. **framing**: windows of 25 ms every 10 ms (a frame is short enough for the vocal tract to be
   nearly still within it);
3. a **Hann window** on each frame, so the frame's edges do not leak energy across the spectrum;
4. the **power spectrum** ``|FFT|^2 / n_fft`` on ``n_fft`` points (the next power of two);
5. a **mel filterbank**: triangles equally spaced on the mel scale
   :math:`m = 2595 \log_{10}(1 + f / 700)`, narrow at low frequencies, wide at high ones, as the
   ear resolves pitch;
6. the **natural log** of each band's energy (with a floor, so silence does not give ``-inf``);
7. optionally a **DCT-II** of the log-mel vector, whose first 13 coefficients are the MFCCs.

:func:`spoken_digits` loads ``files/spoken_digits.npz``: the words "zero" to "nine" spoken by
synthetic voices of the speech synthesiser espeak-ng, turned into log-mel features by this
module.  ``tools/make_spoken_digits.py`` made the file (it needs espeak-ng; loading does not).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np

from ._files import committed_file

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FEATURES_FILE = "spoken_digits.npz"
SETTINGS_FILE = "spoken_digits.json"


def _check_signal(signal, sample_rate) -> np.ndarray:
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be a 1-D array of samples, got shape {signal.shape}")
    if not (np.issubdtype(signal.dtype, np.floating) or np.issubdtype(signal.dtype, np.integer)):
        raise ValueError(f"signal must hold real numbers, got dtype {signal.dtype}")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return signal.astype(np.float64)


def hz_to_mel(frequency):
    """Frequency in Hz to mels (the HTK formula: 1000 Hz is about 1000 mel)."""
    return 2595.0 * np.log10(1.0 + np.asarray(frequency, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(num_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0,
                   f_max: float | None = None) -> np.ndarray:
    """Triangular filters ``(num_mels, n_fft // 2 + 1)`` on the FFT bins.

    Filter ``k`` rises from the ``k``-th to the ``(k+1)``-th of ``num_mels + 2`` points equally
    spaced in mels between ``f_min`` and ``f_max``, and falls to the ``(k+2)``-th; its peak is 1.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    if num_mels < 1 or n_fft < 2 or not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"expected num_mels >= 1, n_fft >= 2 and 0 <= f_min < f_max <= "
                         f"sample_rate / 2 = {sample_rate / 2}, got {num_mels}, {n_fft}, "
                         f"{f_min}, {f_max}")
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), num_mels + 2))
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft           # bin frequencies, Hz
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def frame_signal(signal: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Overlapping frames ``(num_frames, frame_length)``; a short signal is zero-padded to one frame."""
    if frame_length < 1 or hop_length < 1:
        raise ValueError(f"frame_length and hop_length must be >= 1, got {frame_length}, "
                         f"{hop_length}")
    if len(signal) < frame_length:
        signal = np.pad(signal, (0, frame_length - len(signal)))
    num_frames = 1 + (len(signal) - frame_length) // hop_length
    starts = hop_length * np.arange(num_frames)
    return signal[starts[:, None] + np.arange(frame_length)[None, :]]


def log_mel_features(signal, sample_rate: int, num_mels: int = 20, frame_ms: float = 25.0,
                     hop_ms: float = 10.0, pre_emphasis: float = 0.97, f_min: float = 0.0,
                     f_max: float | None = None, floor: float = 1e-10) -> np.ndarray:
    """Log mel-band energies ``(num_frames, num_mels)`` float32 of a mono signal.

    ``signal``: 1-D samples (any scale; WAV samples divided by 32768 lie in [-1, 1]).
    Frames of ``frame_ms`` every ``hop_ms``; a signal of ``N`` samples gives
    ``1 + (N - frame_length) // hop_length`` frames.
    """
    signal = _check_signal(signal, sample_rate)
    if signal.size == 0:
        raise ValueError("signal is empty; expected at least one sample")
    frame_length = int(round(sample_rate * frame_ms / 1000))
    hop_length = int(round(sample_rate * hop_ms / 1000))
    emphasised = np.append(signal[:1], signal[1:] - pre_emphasis * signal[:-1])
    frames = frame_signal(emphasised, frame_length, hop_length) * np.hanning(frame_length)
    n_fft = 1 << (frame_length - 1).bit_length()                     # next power of two
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2 / n_fft
    energies = power @ mel_filterbank(num_mels, n_fft, sample_rate, f_min, f_max).T
    return np.log(np.maximum(energies, floor)).astype(np.float32)


def dct_matrix(num_coefficients: int, num_inputs: int) -> np.ndarray:
    """Orthonormal DCT-II rows ``(num_coefficients, num_inputs)``."""
    if not 1 <= num_coefficients <= num_inputs:
        raise ValueError(f"expected 1 <= num_coefficients <= num_inputs, got "
                         f"{num_coefficients} and {num_inputs}")
    n = np.arange(num_inputs)
    k = np.arange(num_coefficients)[:, None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * num_inputs)) * np.sqrt(2.0 / num_inputs)
    basis[0] /= np.sqrt(2.0)
    return basis


def mfcc(log_mel: np.ndarray, num_coefficients: int = 13) -> np.ndarray:
    """MFCCs ``(..., num_coefficients)``: the DCT-II of log-mel vectors along the last axis."""
    log_mel = np.asarray(log_mel)
    if log_mel.ndim < 1 or not np.issubdtype(log_mel.dtype, np.floating):
        raise ValueError(f"log_mel must be a float array (..., num_mels), got dtype "
                         f"{log_mel.dtype} and shape {log_mel.shape}")
    return (log_mel @ dct_matrix(num_coefficients, log_mel.shape[-1]).T).astype(log_mel.dtype)


def trim_silence(signal, sample_rate: int, threshold_db: float = 40.0,
                 margin_ms: float = 30.0) -> np.ndarray:
    """The part of ``signal`` whose 10 ms frames are within ``threshold_db`` of the loudest,
    plus ``margin_ms`` either side."""
    signal = _check_signal(signal, sample_rate)
    hop = max(1, sample_rate // 100)
    frames = frame_signal(signal, hop, hop)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(level > level.max() - threshold_db)
    margin = int(sample_rate * margin_ms / 1000)
    start = max(0, loud[0] * hop - margin)
    stop = min(len(signal), (loud[-1] + 1) * hop + margin)
    return signal[start:stop]


class SpokenDigits(NamedTuple):
    """The spoken-digit set: ``features[i, :lengths[i]]`` are utterance ``i``'s frames."""

    features: np.ndarray      # (N, T_max, num_mels) float32, zero after each length
    lengths: np.ndarray       # (N,) int64 frame counts
    labels: np.ndarray        # (N,) int64 digit 0-9
    voices: np.ndarray        # (N,) int64 index into voice_names
    voice_names: list         # espeak-ng voice of each speaker, e.g. "en-gb-scotland+f3"
    settings: dict            # how the set was made (spoken_digits.json), with per-utterance arrays


def spoken_digits() -> SpokenDigits:
    """Load the committed spoken-digit features (no espeak-ng needed).

    ``settings`` holds the generator's settings (feature parameters, voices, the words'
    phonemes) and, under ``"utterances"``, per-utterance arrays ``speed`` (words per minute),
    ``pitch`` (espeak-ng's 0-99), ``amplitude`` and ``snr_db`` (``inf`` when no noise was added).
    """
    with np.load(committed_file(FEATURES_FILE)) as archive:
        frames = archive["frames"].astype(np.float32)      # all utterances' frames, concatenated
        lengths = archive["lengths"].astype(np.int64)
        labels = archive["labels"].astype(np.int64)
        voices = archive["voices"].astype(np.int64)
        utterances = {key: archive[key].astype(np.float64)
                      for key in ("speed", "pitch", "amplitude", "snr_db")}
    settings = json.loads(committed_file(SETTINGS_FILE).read_text(encoding="utf-8"))
    settings["utterances"] = utterances
    features = np.zeros((len(lengths), int(lengths.max()), frames.shape[1]), dtype=np.float32)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for i, length in enumerate(lengths):
        features[i, :length] = frames[offsets[i]:offsets[i + 1]]
    names = [voice["name"] for voice in settings["voices"]]
    return SpokenDigits(features, lengths, labels, voices, names, settings)
