"""Word and word-pair features of the cleaned issue text, hashed into a fixed-size vector.

The words of an issue template ("Feature request", "Describe the bug", "Issue type: Support")
and of a title ("How to", "[Bug]") are strong, cheap signals that a sentence encoder blurs.
Hashing keeps the vocabulary out of the model directory and the code free of any
library: NumPy and a stable hash (CRC-32) give the same vector in every process.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.triage.text import clean_body, clean_title

DEFAULT_DIM = 2**15
_WORD = re.compile(r"[a-z][a-z0-9_']+|\?|!")


def terms(title: str, body: str) -> Counter[str]:
    """Unigrams and bigrams of the cleaned body, plus title words marked ``t:`` (a word in
    the title says more about the issue's type than the same word deep in a log)."""
    title_words = _WORD.findall(clean_title(title).lower())
    body_words = _WORD.findall(clean_body(body).lower())
    counts: Counter[str] = Counter()
    for words, prefix in ((title_words, "t:"), (body_words, "")):
        counts.update(prefix + w for w in words)
        counts.update(f"{prefix}{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return counts


def hashed_counts(texts: Sequence[tuple[str, str]], dim: int = DEFAULT_DIM) -> np.ndarray:
    """Sublinear term frequencies (1 + log tf) of each issue, hashed into ``dim`` columns."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, (title, body) in enumerate(texts):
        for term, count in terms(title, body).items():
            out[row, zlib.crc32(term.encode("utf-8")) % dim] += 1.0 + np.log(count)
    return out


def fit_idf(counts: np.ndarray) -> np.ndarray:
    """Smoothed inverse document frequency of each hashed column over the training issues."""
    df = (counts > 0).sum(axis=0)
    return (np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0).astype(np.float32)


def tfidf(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """TF-IDF rows scaled to unit length, so long issues do not dominate."""
    weighted = counts * idf
    norms = np.linalg.norm(weighted, axis=1, keepdims=True)
    return weighted / np.maximum(norms, 1e-12)
