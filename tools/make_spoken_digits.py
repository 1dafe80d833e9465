#!/usr/bin/env python
"""Synthesise "zero".."nine" with espeak-ng in many voices and save their log-mel features.

Run once; its output is committed, so nobody else needs espeak-ng:

    apt-get install espeak-ng          # Debian/Ubuntu (Homebrew: brew install espeak-ng)
    .venv/bin/python tools/make_spoken_digits.py

Writes ``lstm_ref/data/files/spoken_digits.npz`` (float16 log-mel frames of every utterance,
concatenated, with lengths, labels, voice ids and each utterance's speed, pitch, amplitude and
noise level) and ``spoken_digits.json`` (the settings, the voices, espeak-ng's phonemes).

A *voice* is an espeak-ng accent (``en-us``, ``en-gb-scotland``, ...) combined with one of
espeak-ng's voice variants (``+f3``, ``+klatt2``, ``+whisper``, ...: formant and breathiness
settings), given its own base pitch and speaking rate.  Each variant is used by one voice only,
so a voice held out for testing has a timbre the training voices never had.  Each voice says
every digit ``--takes`` times, each take with its speed, pitch and amplitude jittered around the
voice's base, trimmed of silence, and with white noise added at a random signal-to-noise ratio.
The audio is never stored, only the features (``lstm_ref.data.speech.log_mel_features``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from lstm_ref.data.speech import DIGIT_WORDS, log_mel_features, trim_silence  # noqa: E402

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
FEATURES = {"num_mels": 20, "frame_ms": 25.0, "hop_ms": 10.0, "pre_emphasis": 0.97,
            "f_min": 0.0, "f_max": 8000.0}
BASE_PITCH = (25, 75)        # espeak-ng -p, per voice
BASE_SPEED = (140, 200)      # espeak-ng -s, words per minute, per voice
JITTER = {"pitch": 8, "speed": 15}                # +- per take
AMPLITUDE = (60, 140)        # espeak-ng -a, per take (100 is the default)
SNR_DB = (15.0, 45.0)        # white noise, per take


def espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        sys.exit("espeak-ng was not found. It is a free speech synthesiser: install it with "
                 "`sudo apt-get install espeak-ng` (Debian/Ubuntu), `brew install espeak-ng` "
                 "(macOS) or from https://github.com/espeak-ng/espeak-ng, then run this "
                 "script again. (Only this generator needs it; the course loads the saved "
                 "features.)")
    return binary


def run(binary: str, *args: str) -> str:
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def synthesise(binary: str, voice: str, word: str, speed: int, pitch: int,
               amplitude: int) -> tuple[np.ndarray, int]:
    """Samples in [-1, 1] and the sample rate of ``word`` spoken by ``voice``."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav_file:
        run(binary, "-z", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude),
            "-w", wav_file.name, word)
        with wave.open(wav_file.name, "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise RuntimeError(f"expected 16-bit mono WAV from espeak-ng, got "
                                   f"{wav.getsampwidth()} bytes x {wav.getnchannels()} channels")
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return samples.astype(np.float64) / 32768.0, rate


def variants(binary: str) -> list[str]:
    """espeak-ng's voice variants (the names after ``+``) that sound different from each other.

    A variant whose probe word comes out byte for byte like the plain voice's or an earlier
    variant's (``fast`` only changes the rate, which ``-s`` overrides; ``klatt6`` equals
    ``klatt``) would be a second copy of one speaker, so it is left out.
    """
    listing = run(binary, "--voices=variant")
    names = sorted(set(re.findall(r"!v/(\S+)", listing)), key=str.lower)
    seen = {synthesise(binary, ACCENTS[0], "seven", 175, 50, 100)[0].tobytes()}
    distinct = []
    for name in names:
        probe = synthesise(binary, f"{ACCENTS[0]}+{name}", "seven", 175, 50, 100)[0].tobytes()
        if probe not in seen:
            seen.add(probe)
            distinct.append(name)
    return distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--takes", type=int, default=2, help="takes per voice and digit")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=ROOT / "lstm_ref/data/files")
    args = parser.parse_args()
    binary = espeak_binary()
    rng = np.random.default_rng(args.seed)

    names = variants(binary)
    voices = []
    for i, variant in enumerate(names):
        accent = ACCENTS[i % len(ACCENTS)]
        voices.append({"name": f"{accent}+{variant}", "accent": accent, "variant": variant,
                       "pitch": int(rng.integers(BASE_PITCH[0], BASE_PITCH[1] + 1)),
                       "speed": int(rng.integers(BASE_SPEED[0], BASE_SPEED[1] + 1))})

    frames, columns = [], {key: [] for key in
                           ("lengths", "labels", "voices", "speed", "pitch", "amplitude", "snr_db")}
    sample_rates = set()
    for voice_id, voice in enumerate(voices):
        print(f"{voice_id + 1:3d}/{len(voices)} {voice['name']}", flush=True)
        for label, word in enumerate(DIGIT_WORDS):
            for _ in range(args.takes):
                speed = int(np.clip(voice["speed"] + rng.integers(-JITTER["speed"],
                                                                  JITTER["speed"] + 1), 80, 400))
                pitch = int(np.clip(voice["pitch"] + rng.integers(-JITTER["pitch"],
                                                                  JITTER["pitch"] + 1), 0, 99))
                amplitude = int(rng.integers(AMPLITUDE[0], AMPLITUDE[1] + 1))
                snr_db = float(rng.uniform(*SNR_DB))
                samples, rate = synthesise(binary, voice["name"], word, speed, pitch, amplitude)
                sample_rates.add(rate)
                speech = trim_silence(samples, rate)
                noise_power = np.mean(speech ** 2) / 10 ** (snr_db / 10)
                noisy = speech + rng.normal(0.0, np.sqrt(noise_power), size=speech.shape)
                features = log_mel_features(noisy, rate, **FEATURES)
                frames.append(features.astype(np.float16))
                for key, value in zip(columns, (len(features), label, voice_id, speed, pitch,
                                                amplitude, snr_db)):
                    columns[key].append(value)

    if len(sample_rates) != 1:
        raise RuntimeError(f"expected one sample rate from espeak-ng, got {sample_rates}")
    args.out.mkdir(parents=True, exist_ok=True)
    dtypes = {"lengths": np.int16, "labels": np.int8, "voices": np.int16, "speed": np.int16,
              "pitch": np.int16, "amplitude": np.int16, "snr_db": np.float16}
    np.savez_compressed(args.out / "spoken_digits.npz", frames=np.concatenate(frames),
                        **{key: np.asarray(values, dtype=dtypes[key])
                           for key, values in columns.items()})
    settings = {
        "generator": "tools/make_spoken_digits.py",
        "synthesiser": run(binary, "--version").strip(),
        "seed": args.seed, "takes": args.takes, "words": list(DIGIT_WORDS),
        "sample_rate": sample_rates.pop(), "features": FEATURES,
        "trim_silence": {"threshold_db": 40.0, "margin_ms": 30.0},
        "base_pitch": BASE_PITCH, "base_speed": BASE_SPEED, "jitter": JITTER,
        "amplitude": AMPLITUDE, "snr_db": SNR_DB,
        "phonemes": {accent: dict(zip(DIGIT_WORDS, run(
            binary, "-q", "--ipa", "-v", accent, " ".join(DIGIT_WORDS)).split()))
            for accent in ACCENTS},
        "voices": voices,
    }
    (args.out / "spoken_digits.json").write_text(
        json.dumps(settings, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = (args.out / "spoken_digits.npz").stat().st_size
    print(f"{len(columns['labels'])} utterances from {len(voices)} voices, "
          f"{sum(columns['lengths'])} frames, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
