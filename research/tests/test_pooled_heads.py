"""Head combinations of research/triage/pooled_heads.py, on plain values."""

from __future__ import annotations

import numpy as np
import pytest


def test_neighbour_vote_weighs_the_k_most_similar_training_issues():
    from research.triage.pooled_heads import neighbour_vote

    similarity = np.array([[0.9, 0.8, 0.1, 0.7], [0.0, 0.1, 0.9, 0.2]])
    train_labels = np.array([0, 1, 2, 1])
    vote = neighbour_vote(similarity, train_labels, 3, k=2, sharpness=0.0)  # plain majority
    assert vote.tolist() == [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    soft = neighbour_vote(similarity, train_labels, 3, k=3, sharpness=1.0)
    assert soft[0].argmax() == 1 and soft[0, 2] == 0.0  # 0.8 + 0.7 outweigh 0.9
    sharp = neighbour_vote(similarity, train_labels, 3, k=3, sharpness=10.0)
    assert sharp[0].argmax() == 0  # the nearest outweighs the next two
    assert np.allclose(sharp.sum(1), 1.0)


def test_subset_means_average_every_ensemble_of_each_size():
    """Size 1 is the members' mean score, the largest size the whole ensemble's, and each size
    between is the mean over all its subsets. Here three members are each wrong on one issue,
    confidently: any pair follows the wrong one there, all three outvote it."""
    from research.triage.pooled_heads import subset_means

    truth = np.array([0, 0, 0])
    members = [np.array([[0.7, 0.3]] * 3) for _ in range(3)]
    for m in range(3):  # member m is wrong on issue m only
        members[m][m] = [0.2, 0.8]
    accuracy = lambda p: float((p.argmax(1) == truth).mean())  # noqa: E731
    by_size = subset_means(members, accuracy)
    assert by_size == pytest.approx({1: 2 / 3, 2: 1 / 3, 3: 1.0})
