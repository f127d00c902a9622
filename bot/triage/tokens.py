"""Token ids for an issue: title, then the head and the tail of the cleaned body.

One function used by training and by inference, with the ``tokenizers`` library only, so the
exported model sees exactly the token ids it was trained on. Long bodies keep their
beginning (what the reporter says) and their end (often the error or the question), rather
than being cut at the budget.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.triage.text import clean_body, clean_title

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_TITLE_TOKENS = 48
TAIL_SHARE = 0.3  # share of the body's budget given to its last tokens


@dataclass(frozen=True)
class Encoding:
    """A batch ready for the encoder: int64 arrays of shape (batch, length)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray


def load_tokenizer(path: Path) -> Tokenizer:
    """A ``tokenizers`` tokenizer with its own truncation and padding off (we do both)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def head_tail(ids: Sequence[int], budget: int, tail_share: float = TAIL_SHARE) -> list[int]:
    """At most ``budget`` ids: all of them if they fit, else the first and the last ones."""
    ids = list(ids)
    if budget <= 0:
        return []
    if len(ids) <= budget:
        return ids
    tail = int(budget * tail_share)
    head = budget - tail
    return ids[:head] + (ids[len(ids) - tail :] if tail else [])


def issue_ids(
    tokenizer: Tokenizer, title: str, body: str, max_tokens: int, *, clean: bool = True
) -> list[int]:
    """``[CLS] title [SEP] body-head body-tail [SEP]`` within ``max_tokens``."""
    cls_id = tokenizer.token_to_id("[CLS]")
    sep_id = tokenizer.token_to_id("[SEP]")
    title_text = clean_title(title) if clean else title
    body_text = clean_body(body) if clean else body
    title_ids = tokenizer.encode(title_text, add_special_tokens=False).ids[:MAX_TITLE_TOKENS]
    body_ids = tokenizer.encode(body_text, add_special_tokens=False).ids if body_text else []
    budget = max_tokens - len(title_ids) - 3
    return [cls_id, *title_ids, sep_id, *head_tail(body_ids, budget), sep_id]


def length_batches(
    sequences: Sequence[Sequence[int]], batch_size: int, jitter: random.Random | None = None
) -> Iterator[list[int]]:
    """Indices of ``sequences`` in batches of similar length, shortest first: a batch pads
    only to its own longest sequence, so sorting first wastes little on padding. With
    ``jitter``, lengths within about 8 tokens mix, so training batches differ by epoch."""
    order = sorted(
        range(len(sequences)),
        key=lambda i: len(sequences[i]) + (8 * jitter.random() if jitter else 0),
    )
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def batch(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> Encoding:
    """Pads to the longest sequence of the batch (not to the maximum: shorter is faster)."""
    length = max(len(s) for s in sequences)
    ids = np.full((len(sequences), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return Encoding(ids, mask, np.zeros_like(ids))
