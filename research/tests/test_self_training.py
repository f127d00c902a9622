"""The pseudo-label selection of stage 22 (``research.triage.self_training``)."""

import numpy as np

from research.triage.self_training import confident


def test_confident_keeps_the_most_confident_share_of_each_predicted_label():
    probabilities = np.array(
        [[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8], [0.45, 0.55]]
    )  # predicted: 0, 0, 0, 1, 1
    assert confident(probabilities, 0.34).tolist() == [0, 3]
    assert confident(probabilities, 0.67).tolist() == [0, 2, 3]
    assert confident(probabilities, 1.0).tolist() == [0, 1, 2, 3, 4]
