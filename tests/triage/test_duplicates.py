"""The pure duplicate search: error signatures, channels, weighting, filters, with plain values."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bot.triage.duplicates import (
    LEXICAL_ONLY,
    DuplicateIndex,
    IndexedIssue,
    Weights,
    error_signatures,
    hash_terms,
    issue_features,
    normalise_message,
    rank_of,
    recall_at,
)

TRACE = """Traceback (most recent call last):
  File "/home/ana/project/train.py", line 40, in main
    model.fit(x, y)
  File "/opt/venv/lib/python3.11/site-packages/keras/engine/training.py", line 1184, in fit
    tmp_logs = self.train_function(iterator)
ValueError: Input 0 of layer "dense" is incompatible with the layer: expected shape=(None, 784), found shape=(None, 28, 28)
"""  # noqa: E501


def index_of(*issues: tuple[int, str, str], **kwargs) -> DuplicateIndex:
    return DuplicateIndex(
        [IndexedIssue(n, t, issue_features(t, b), **kwargs) for n, t, b in issues]
    )


def test_signatures_keep_what_two_reports_of_one_error_share():
    one = error_signatures("", TRACE)
    other = error_signatures("", TRACE.replace("line 40", "line 52").replace("784", "1024"))
    assert "exc:ValueError" in one
    assert "frame:train.py:main" in one and "frame:training.py:fit" in one
    assert {k for k in one if k.startswith("msg:")} == {k for k in other if k.startswith("msg:")}
    assert error_signatures("Add dark mode", "It would be nice.") == {}


def test_signatures_of_cuda_and_tensorflow_lines():
    found = error_signatures(
        "GPU crash",
        "RuntimeError: CUDA error: an illegal memory access was encountered\n"
        "2024-01-02 10:11:12.000001: E tensorflow/core/common_runtime/bfc_allocator.cc:1020] "
        "OOM when allocating tensor with shape[64,3,224,224]\n"
        "CUDNN_STATUS_NOT_INITIALIZED",
    )
    assert "native:cuda error: an illegal memory access was encountered" in found
    assert "frame:bfc_allocator.cc" in found
    assert "native:cudnn_status_not_initialized" in found


def test_messages_are_normalised_for_what_varies():
    assert normalise_message("No such file: '/home/a/x.csv' at 0x7f3a (line 12)") == (
        "no such file: <q> at 0 (line 0)"
    )


def test_hash_terms_sums_collisions_and_sorts():
    cols, tf = hash_terms({"a": 1, "b": 3}, dim=1)
    assert cols.tolist() == [0] and np.isclose(tf[0], 1.0 + 1.0 + np.log(3))


def test_a_shared_traceback_outranks_a_lexically_similar_unrelated_issue():
    index = index_of(
        (1, "Training fails with an error on my data", f"I train my model:\n{TRACE}"),
        (2, "Training fails with an error on my data set", "Training on my data fails, loss nan"),
        (3, "Add dark mode", "please"),
    )
    query = issue_features("Keras fit raises", f"Copying the tutorial:\n{TRACE}")
    lexical = index.search(query, 3, weights=LEXICAL_ONLY)
    combined = index.search(query, 3)
    assert combined[0].number == 1 and combined[0].parts["errors"] > 0.9
    assert combined[0].score > combined[1].score
    assert lexical[0].score <= 1.0 and all(0.0 <= m.score <= 1.0 for m in combined)


def test_without_an_error_in_the_query_the_error_channel_does_not_count():
    index = index_of((1, "Loss is nan", f"{TRACE}"), (2, "Add dark mode", "please"))
    query = issue_features("Loss is nan", "")
    (best,) = index.search(query, 1, weights=Weights(lexical=1.0, embedding=0.0, errors=1.0))
    assert best.number == 1 and np.isclose(best.score, best.parts["lexical"])


def test_embeddings_combine_with_words():
    vectors = {1: [1.0, 0.0], 2: [0.0, 1.0]}
    titles = {1: "Slow import", 2: "Import is slow"}
    issues = [
        IndexedIssue(n, t, issue_features(t, "", np.array(vectors[n]))) for n, t in titles.items()
    ]
    index = DuplicateIndex(issues)
    query = issue_features("Import slow", "", np.array([0.0, 2.0]))  # normalised on the way in
    matches = index.search(query, 2, weights=Weights(lexical=0.5, embedding=0.5, errors=0.0))
    assert matches[0].number == 2 and np.isclose(matches[0].parts["embedding"], 1.0)
    assert index.has_embeddings


def test_exclusions_and_the_closed_window():
    old = datetime(2020, 1, 1, tzinfo=UTC)
    index = DuplicateIndex(
        [
            IndexedIssue(1, "Crash on start", issue_features("Crash on start", "")),
            IndexedIssue(2, "Crash on start", issue_features("Crash on start", ""), "closed", old),
            IndexedIssue(3, "Crash on start!", issue_features("Crash on start!", "")),
        ]
    )
    query = issue_features("Crash on start", "")
    numbers = [m.number for m in index.search(query, 5, exclude={1})]
    assert sorted(numbers) == [2, 3]
    recent = index.search(query, 5, exclude={1}, closed_after=datetime(2021, 1, 1, tzinfo=UTC))
    assert [m.number for m in recent] == [3]
    assert index.search(query, 5, exclude={1, 2, 3}) == []
    assert DuplicateIndex([]).search(query, 5) == []


def test_common_terms_are_skipped_only_in_a_large_index():
    many = [(n, f"common words here {n}", "") for n in range(2500)]
    index = index_of(*many, (9999, "rare thing", "common words"))
    (best,) = index.search(issue_features("rare thing common", ""), 1)
    assert best.number == 9999


def test_ranks_and_recall():
    assert rank_of([], 3) is None
    assert recall_at([1, 3, None, 7], (1, 5, 10)) == {1: 0.25, 5: 0.5, 10: 0.75}
