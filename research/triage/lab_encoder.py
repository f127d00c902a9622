"""Encoder training steps the recipe search tried and the shipped recipe does not use.

Each is built on the product's encoder (bot/triage/encoder.py) through its public pieces:
the batch inputs, the optimiser step and learning-rate schedule, and the fine-tuning layer
that ``classify_finetune`` accepts; none of the product's loops is copied here. What each
step scored is in the lab notebook (README.md beside this file):

- ``contrastive_finetune``: SetFit's pair step before fine-tuning (stage 2: no gain);
- ``masked_lm_adapt``: masked-LM training on the issues' own text first (stage 12: none);
- ``lab_classify_finetune``: the shipped fine-tune with a fine-tuning layer that has a
  correction per repository (stage 9), fixed logits added per issue (stage 16), or a start
  at given prototypes (stage 17).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from bot.triage.encoder import (
    CosineClassifier,
    MeanPooledEncoder,
    ProgressFn,
    classify_finetune,
    encoder_inputs,
    linear_warmup_decay,
    optimiser_step,
)
from bot.triage.tokens import length_batches


def contrastive_pairs(
    labels: Sequence[int], n_pairs: int, rng: random.Random
) -> list[tuple[int, int, float]]:
    """SetFit-style pairs: half same-label (target 1), half different-label (target 0),
    drawn evenly over the labels so a rare label gets its share."""
    by_label: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(y, []).append(i)
    classes = sorted(by_label)
    pairs = []
    for k in range(n_pairs):
        if k % 2 == 0:
            y = classes[(k // 2) % len(classes)]
            a, b = rng.sample(by_label[y], 2) if len(by_label[y]) > 1 else (by_label[y][0],) * 2
            pairs.append((a, b, 1.0))
        else:
            ya, yb = rng.sample(classes, 2)
            pairs.append((rng.choice(by_label[ya]), rng.choice(by_label[yb]), 0.0))
    rng.shuffle(pairs)
    return pairs


def contrastive_finetune(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    labels: Sequence[int],
    *,
    n_pairs: int,
    seed: int,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    progress: ProgressFn | None = None,
) -> list[float]:
    """The SetFit body step: cosine similarity of a pair regressed to 1 (same label) or 0.

    Returns the loss per batch, so a caller can see it fall."""
    rng = random.Random(seed)
    pairs = contrastive_pairs(labels, n_pairs, rng)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=learning_rate, weight_decay=0.01)
    scheduler = linear_warmup_decay(optimizer, math.ceil(len(pairs) / batch_size))
    losses = []
    encoder.train()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        left = encoder(**encoder_inputs([sequences[a] for a, _, _ in chunk]))
        right = encoder(**encoder_inputs([sequences[b] for _, b, _ in chunk]))
        target = torch.tensor([t for _, _, t in chunk])
        loss = nn.functional.mse_loss((left * right).sum(dim=-1), target)
        losses.append(optimiser_step(loss, optimizer, scheduler))
        if progress:
            progress(len(chunk))
    encoder.eval()
    return losses


class LabLayer(CosineClassifier):
    """The product's fine-tuning layer with the options the recipe search tried.

    ``domains`` (a repository index per sequence): a correction per repository, started at
    zero, as the head has, so the encoder need not map every project's labels to the same
    places. ``offsets`` (fixed logits per sequence, e.g. another model's): the layer learns
    only what they leave unexplained. ``prototypes`` (a unit vector per label, e.g. the
    untuned encoder's mean embedding of the label's issues): the layer starts there instead
    of at random, so encoders tuned with different seeds share their start and differ only
    by the order of the batches and dropout. The linear layer is drawn first, as the
    product's is, so the same seed gives the same draws."""

    def __init__(
        self,
        hidden: int,
        n_labels: int,
        *,
        domains: Sequence[int] | None = None,
        offsets: np.ndarray | None = None,
        prototypes: np.ndarray | None = None,
    ) -> None:
        super().__init__(hidden, n_labels)
        if prototypes is not None:
            weight = self.linear.weight
            with torch.no_grad():
                weight.copy_(torch.as_tensor(prototypes, dtype=weight.dtype))
                self.linear.bias.zero_()
        self.domain_of = None if domains is None else torch.tensor(list(domains))
        if self.domain_of is not None:
            shape = (int(self.domain_of.max()) + 1, n_labels, hidden)
            self.corrections = nn.Parameter(torch.zeros(shape))
        self.offsets = offsets

    def forward(self, embedding: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        logits = self.linear(embedding)
        if self.domain_of is not None:
            own = self.corrections[self.domain_of[rows]]  # (batch, labels, hidden)
            logits = logits + torch.einsum("bh,blh->bl", embedding, own)
        if self.offsets is not None:
            logits = logits + torch.as_tensor(self.offsets[rows], dtype=logits.dtype)
        return logits


def lab_classify_finetune(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    labels: Sequence[int],
    *,
    n_labels: int,
    epochs: int,
    domains: Sequence[int] | None = None,
    offsets: np.ndarray | None = None,
    prototypes: np.ndarray | None = None,
    **options: object,
) -> list[float]:
    """``classify_finetune`` with a ``LabLayer`` of these options (``options``: the product
    function's other arguments). Without any option it computes what the product's does."""
    if epochs <= 0 or not sequences:
        return []  # as the product's: no layer drawn, the random generators untouched
    layer = LabLayer(
        encoder.body.config.hidden_size,
        n_labels,
        domains=domains,
        offsets=offsets,
        prototypes=prototypes,
    )
    return classify_finetune(
        encoder, sequences, labels, n_labels=n_labels, epochs=epochs, layer=layer, **options
    )


MASK_SHARE = 0.15  # BERT's: of the ordinary tokens, 80 % [MASK], 10 % random, 10 % kept


def mask_tokens(
    ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of a padded batch: the corrupted ids, and the positions to predict
    (never a special or padding token, where ``special`` is true; at least one per batch
    that has an ordinary token)."""
    chosen = (torch.rand(ids.shape, generator=generator) < MASK_SHARE) & ~special
    if not chosen.any() and not special.all():
        chosen[tuple((~special).nonzero()[0])] = True
    corrupted = ids.clone()
    roll = torch.rand(ids.shape, generator=generator)
    corrupted[chosen & (roll < 0.8)] = mask_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    corrupted[swap] = torch.randint(vocab, (int(swap.sum()),), generator=generator)
    return corrupted, chosen


def masked_lm_adapt(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    *,
    special_ids: Sequence[int],
    mask_id: int,
    epochs: int,
    seed: int,
    head_epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    head_learning_rate: float = 1e-3,
    progress: ProgressFn | None = None,
) -> list[float]:
    """Task-adaptive pre-training: masked-LM training of the encoder on the training issues'
    own text, labels unused (stack traces, template markup and project jargon are little of
    what a sentence model read). The checkpoint ships no masked-LM head, so one is started
    here (dense + GELU + LayerNorm, the decoder tied to the word embeddings, as BERT's) and
    trained alone for ``head_epochs`` with the encoder frozen, so its first noise does not
    reach the encoder, then ``epochs`` with it. Logits only at the masked positions (the
    vocabulary projection of every token would cost a quarter of a step). Returns the loss
    per batch."""
    if epochs <= 0 or not sequences:
        return []
    body = encoder.body
    hidden = body.config.hidden_size
    words = body.get_input_embeddings().weight  # (vocab, hidden): the decoder, tied
    transform = nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden, eps=body.config.layer_norm_eps)
    )
    bias = nn.Parameter(torch.zeros(words.shape[0]))
    head = [*transform.parameters(), bias]
    generator = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    special = torch.tensor(sorted({*special_ids, 0}))  # 0: padding
    steps = math.ceil(len(sequences) / batch_size)
    losses: list[float] = []

    def run(n_epochs: int, optimizer: torch.optim.Optimizer) -> None:
        scheduler = linear_warmup_decay(optimizer, max(1, n_epochs * steps))
        for _ in range(n_epochs):
            batches = list(length_batches(sequences, batch_size, jitter=rng))
            rng.shuffle(batches)
            for idx in batches:
                inputs = encoder_inputs([sequences[i] for i in idx])
                ids = inputs["input_ids"]
                corrupted, chosen = mask_tokens(
                    ids, torch.isin(ids, special), mask_id, words.shape[0], generator
                )
                if chosen.any():  # not when no issue of the batch has title or body text
                    states = body(**{**inputs, "input_ids": corrupted}).last_hidden_state
                    logits = transform(states[chosen]) @ words.T + bias
                    loss = nn.functional.cross_entropy(logits, ids[chosen])
                    losses.append(optimiser_step(loss, optimizer, scheduler))
                if progress:
                    progress(len(idx))

    body.train()
    encoder_parameters = [p for p in body.parameters() if p.requires_grad]
    for p in encoder_parameters:
        p.requires_grad_(False)
    run(head_epochs, torch.optim.AdamW(head, lr=head_learning_rate, weight_decay=0.01))
    for p in encoder_parameters:
        p.requires_grad_(True)
    groups = [
        {"params": encoder_parameters, "lr": learning_rate},
        {"params": head, "lr": head_learning_rate / 10},
    ]
    run(epochs, torch.optim.AdamW(groups, weight_decay=0.01))
    body.eval()
    return losses
