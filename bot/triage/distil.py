"""A shallower encoder distilled from the base model on issue text: the fast base model.

Each of MiniLM's six transformer layers costs about a sixth of the encoder's time, and the
encoder is nearly all of a decision's time. Dropping layers and fine-tuning at once loses
0.03-0.05 macro-F1 (240 issues cannot re-teach half an encoder); a student that first
learns to reproduce the full encoder's token vectors on unlabelled issue text wins back
about half of that: 0.027-0.031 below six layers on two strict folds, for about half the
time per issue (docs/triage-why.md). The student is written as a base-model directory, so
``triage train --base-model DIR`` fine-tunes it like any other. Labels are never read.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.triage.data import LabelledIssue
from bot.triage.tokens import issue_ids, load_tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# every other layer of six, as DistilBERT was initialised: the student keeps the span of
# depths (the one set distilled and measured, on strict folds 0-1; 0, 1, 2 not tried)
DEFAULT_LAYERS = (0, 2, 4)
ISSUE_VIEW_TOKENS = 256  # the classifier's default issue view
TITLE_VIEW_TOKENS = 64
CROP_TOKENS = 128
# tokenised text this long holds every issue whole (the crop is drawn from all of it)
WHOLE_TEXT = 100_000
# files of the base model the student directory needs besides its weights and config
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def distillation_sequences(
    tokenizer: Tokenizer, issues: Sequence[LabelledIssue], seed: int
) -> list[list[int]]:
    """What the student learns from: each issue as the classifier reads it (title + head
    and tail of the body), its title alone (the title view), and, for an issue longer than
    that view, a window of ``CROP_TOKENS`` from a seeded random place of its whole text:
    the middle the issue view cuts, logs and code included."""
    rng = random.Random(seed)
    views = [issue_ids(tokenizer, i.title, i.body, ISSUE_VIEW_TOKENS) for i in issues]
    views += [issue_ids(tokenizer, i.title, "", TITLE_VIEW_TOKENS) for i in issues]
    for issue in issues:
        whole = issue_ids(tokenizer, issue.title, issue.body, WHOLE_TEXT)
        if len(whole) > CROP_TOKENS + 32:
            start = rng.randrange(1, len(whole) - CROP_TOKENS)
            views.append([whole[0], *whole[start : start + CROP_TOKENS - 2], whole[-1]])
    return views


@dataclass(frozen=True)
class DistilResult:
    """What distillation measured: the student's agreement with the teacher on issues it
    never saw, against the same layers without distillation."""

    layers: list[int]
    sequences: int
    heldout_issues: int
    # mean cosine of the student's embedding to the teacher's; None with under 10 issues
    heldout_cosine: float | None
    heldout_cosine_undistilled: float | None
    losses: list[float]
    seconds: float


def distil_base_model(
    issues: Sequence[LabelledIssue],
    out: Path,
    *,
    base_model: str,
    layers: Sequence[int] = DEFAULT_LAYERS,
    epochs: int = 5,
    seed: int = 0,
    heldout_share: float = 0.1,
    progress: bool = True,
) -> DistilResult:
    """Distils ``layers`` of ``base_model`` on the text of ``issues`` and writes the student
    to ``out`` as a base-model directory. A seeded ``heldout_share`` of the issues is kept
    out of training to measure the agreement the result reports."""
    from bot.triage.encoder import (
        distil,
        embed,
        keep_layers,
        load_encoder,
        seed_everything,
        token_states,
    )
    from bot.triage.train import progress_bar, tokenizer_file

    start = time.time()
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(tokenizer_file(base_model, out))
    order = list(range(len(issues)))
    random.Random(seed).shuffle(order)
    n_heldout = int(len(issues) * heldout_share) if len(issues) >= 10 else 0
    heldout = [issues[i] for i in order[:n_heldout]]
    learn = [issues[i] for i in order[n_heldout:]]
    sequences = distillation_sequences(tokenizer, learn, seed)

    seed_everything(seed)
    student = keep_layers(load_encoder(base_model), layers)  # bad layers fail here, first
    teacher = load_encoder(base_model)
    with progress_bar(len(sequences), "teacher's token vectors", progress, "sequence") as bar:
        targets = token_states(teacher, sequences, progress=bar.update)
    with progress_bar(
        epochs * len(sequences), f"distil {len(layers)} layers", progress, "sequence"
    ) as bar:
        losses = distil(student, sequences, targets, epochs=epochs, seed=seed, progress=bar.update)

    agreement: list[float | None] = [None, None]  # the student's, the undistilled layers'
    if heldout:
        views = [issue_ids(tokenizer, i.title, i.body, ISSUE_VIEW_TOKENS) for i in heldout]
        reference = embed(teacher, views)
        undistilled = keep_layers(load_encoder(base_model), layers)
        agreement = [
            float(np.mean(np.sum(reference * embed(encoder, views), axis=1)))
            for encoder in (student, undistilled)
        ]
    student.body.save_pretrained(out)
    for name in TOKENIZER_FILES:
        source = Path(base_model) / name
        if source.is_file() and source != out / name:
            shutil.copy(source, out / name)
    return DistilResult(
        layers=list(layers),
        sequences=len(sequences),
        heldout_issues=len(heldout),
        heldout_cosine=agreement[0],
        heldout_cosine_undistilled=agreement[1],
        losses=losses,
        seconds=time.time() - start,
    )
