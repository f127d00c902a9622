"""Hashed term features of an issue: cleaned words, raw words and characters.

The words of an issue template ("Feature request", "Describe the bug", "Issue type: Support")
and of a title ("How to", "[Bug]") are strong, cheap signals that a sentence encoder blurs.
Three views read them differently and fail on different projects (docs/triage-why.md):

- ``words``: words and word pairs of the cleaned text, title words marked apart;
- ``raw-words``: the same on the raw text, where the template's own markup (headings,
  check boxes, HTML comments, code fences) is still there: how an issue was filed says
  what it is;
- ``chars``: character 3- to 5-grams of the cleaned title and body start, which match
  across inflections, identifiers and typos that words miss.

Hashing keeps the vocabulary out of the model directory and the code free of any
library: NumPy and a stable hash (CRC-32) give the same vector in every process.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from bot.triage.text import clean_body, clean_title

DEFAULT_DIM = 2**15
_WORD = re.compile(r"[a-z][a-z0-9_']+|\?|!")
_RAW_WORD = re.compile(r"[a-z][a-z0-9_']+|\?|!|#+|```|<!--|\[x\]|\[ \]")
CHAR_NGRAMS = (3, 4, 5)
CHAR_BODY_LIMIT = 3000  # characters of the cleaned body read for character n-grams


def _words_and_pairs(words: list[str], prefix: str) -> Iterator[str]:
    yield from (prefix + w for w in words)
    yield from (f"{prefix}{a} {b}" for a, b in zip(words, words[1:], strict=False))


def word_terms(title: str, body: str) -> Counter[str]:
    """Unigrams and bigrams of the cleaned body, plus title words marked ``t:`` (a word in
    the title says more about the issue's type than the same word deep in a log)."""
    counts: Counter[str] = Counter()
    counts.update(_words_and_pairs(_WORD.findall(clean_title(title).lower()), "t:"))
    counts.update(_words_and_pairs(_WORD.findall(clean_body(body).lower()), ""))
    return counts


def raw_word_terms(title: str, body: str) -> Counter[str]:
    """Unigrams and bigrams of the uncleaned text, template markup included."""
    counts: Counter[str] = Counter()
    counts.update(_words_and_pairs(_RAW_WORD.findall(title.lower()), "t:"))
    counts.update(_words_and_pairs(_RAW_WORD.findall(body.lower()), ""))
    return counts


def _char_ngrams(text: str, prefix: str) -> list[str]:
    padded = f" {text} "
    grams = [padded[k : k + n] for n in CHAR_NGRAMS for k in range(len(padded) - n + 1)]
    return [prefix + gram for gram in grams] if prefix else grams


def char_terms(title: str, body: str) -> Counter[str]:
    """Character n-grams of the cleaned title (marked ``t``) and of the start of the cleaned
    body, whitespace folded."""
    body_text = " ".join(clean_body(body).lower().split())[:CHAR_BODY_LIMIT]
    counts: Counter[str] = Counter(_char_ngrams(clean_title(title).lower(), "t"))
    counts.update(_char_ngrams(body_text, ""))
    return counts


TERM_VIEWS: dict[str, Callable[[str, str], Counter[str]]] = {
    "words": word_terms,
    "raw-words": raw_word_terms,
    "chars": char_terms,
}


def _entries(
    texts: Sequence[tuple[str, str]], dim: int, view: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, sublinear tf) arrays of the hashed terms of each issue. A Counter per
    issue, then NumPy over its distinct terms: the per-term Python work is only the hash
    (inference spends a fifth of a 128-token decision here)."""
    if view not in TERM_VIEWS:
        raise ValueError(f"unknown lexical view {view!r}; known: {', '.join(TERM_VIEWS)}")
    rows, cols, values = [], [], []
    for row, (title, body) in enumerate(texts):
        counts = TERM_VIEWS[view](title, body)
        n = len(counts)
        rows.append(np.full(n, row, dtype=np.int64))
        cols.append(
            np.fromiter((zlib.crc32(term.encode("utf-8")) for term in counts), np.int64, n) % dim
        )
        values.append(1.0 + np.log(np.fromiter(counts.values(), np.float64, n)))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def hashed_counts(
    texts: Sequence[tuple[str, str]], dim: int = DEFAULT_DIM, view: str = "words"
) -> np.ndarray:
    """Sublinear term frequencies (1 + log tf) of each issue, hashed into ``dim`` columns
    (dense: for the few issues that inference sees at once)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    rows, cols, values = _entries(texts, dim, view)
    np.add.at(out, (rows, cols), values)
    return out


def hashed_counts_sparse(
    texts: Sequence[tuple[str, str]], dim: int = DEFAULT_DIM, view: str = "words"
) -> Any:
    """:func:`hashed_counts` as a SciPy CSR matrix, for training on thousands of issues."""
    from scipy import sparse

    rows, cols, values = _entries(texts, dim, view)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), dim), dtype=np.float64)


def fit_idf(counts: Any) -> np.ndarray:
    """Smoothed inverse document frequency of each hashed column over the training issues
    (``counts`` dense or sparse)."""
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    return (np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0).astype(np.float32)


def tfidf(counts: Any, idf: np.ndarray) -> Any:
    """TF-IDF rows scaled to unit length, so long issues do not dominate; sparse in, sparse
    out."""
    if isinstance(counts, np.ndarray):
        weighted = counts * idf
        norms = np.linalg.norm(weighted, axis=1, keepdims=True)
        return weighted / np.maximum(norms, 1e-12)
    from scipy import sparse

    weighted = counts.multiply(idf.astype(np.float64)).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted).tocsr()
