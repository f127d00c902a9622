"""Pure decision logic: metrics, thresholds for a target precision, the linear head."""

from __future__ import annotations

import numpy as np
import pytest

from bot.triage.head import fit_head, fit_temperature, softmax
from bot.triage.metrics import (
    NEEDS_TRIAGE,
    calibration,
    combine_coverage,
    confusion,
    coverage_report,
    macro_f1,
    per_class,
)
from bot.triage.policy import decide
from bot.triage.thresholds import NEVER, choose_thresholds, threshold_for_precision

LABELS = ["bug", "feature", "question"]


def test_macro_f1_by_hand():
    truth = ["bug", "bug", "feature", "question", "question", "question"]
    pred = ["bug", "feature", "feature", "question", "bug", "question"]
    # bug: P 1/2 R 1/2 F 1/2; feature: P 1/2 R 1 F 2/3; question: P 1 R 2/3 F 4/5
    assert macro_f1(truth, pred, LABELS) == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert per_class(truth, pred, LABELS)["feature"]["recall"] == 1.0
    assert confusion(truth, pred, LABELS) == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_macro_f1_agrees_with_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    truth = list(rng.choice(LABELS, 200))
    pred = list(rng.choice(LABELS, 200))
    pred[:5] = ["bug"] * 5
    expected = sklearn_metrics.f1_score(truth, pred, labels=LABELS, average="macro")
    assert macro_f1(truth, pred, LABELS) == pytest.approx(expected)


def test_calibration_by_hand():
    truth = ["bug", "feature", "question", "bug"]
    probs = [
        {"bug": 0.9, "feature": 0.05, "question": 0.05},  # right at 0.9
        {"bug": 0.7, "feature": 0.2, "question": 0.1},  # wrong at 0.7
        {"bug": 0.1, "feature": 0.25, "question": 0.65},  # right at 0.65
        {"bug": 0.95, "feature": 0.03, "question": 0.02},  # right at 0.95
    ]
    result = calibration(truth, probs, LABELS)
    # bins (0.6, 0.7]: 0.65 right, 0.7 wrong; (0.8, 0.9]: 0.9 right; (0.9, 1]: 0.95 right
    bins = [(r["n"], r["accuracy"]) for r in result["reliability"]]
    assert bins == [(2, 0.5), (1, 1.0), (1, 1.0)]
    gaps = 2 * abs(0.675 - 0.5) + abs(0.9 - 1) + abs(0.95 - 1)
    assert result["ece"] == pytest.approx(gaps / 4)


def test_calibration_agrees_with_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    truth = list(rng.choice(LABELS, 300))
    p = rng.dirichlet([1, 1, 1], 300)
    probs = [dict(zip(LABELS, map(float, row), strict=True)) for row in p]
    result = calibration(truth, probs, LABELS)
    assert result["log_loss"] == pytest.approx(sklearn_metrics.log_loss(truth, p, labels=LABELS))
    one_hot = np.array([[t == label for label in LABELS] for t in truth], float)
    assert result["brier"] == pytest.approx(((p - one_hot) ** 2).sum(1).mean())
    assert sum(r["n"] for r in result["reliability"]) == 300


def test_temperature_lowers_the_calibration_error_of_an_overconfident_head():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    pred = np.where(rng.random(600) > 0.75, (y + 1) % 3, y)  # right 75 % of the time
    logits = np.eye(3)[pred] * 8 + rng.normal(0, 0.5, (600, 3))
    truth = [LABELS[k] for k in y]

    def ece(p: np.ndarray) -> float:
        rows = [dict(zip(LABELS, map(float, r), strict=True)) for r in p]
        return calibration(truth, rows, LABELS)["ece"]

    before = ece(softmax(logits))
    after = ece(softmax(logits / fit_temperature(logits, y)))
    assert before > 0.2  # claims ~100 %, right 75 %
    assert after < 0.05


def test_threshold_reaches_the_target_precision():
    confidence = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, True, True, False, True, False]
    # kept above 0.8: 4/4 correct; above 0.6: 5/6 = 0.83; above 0.5: 5/7
    counted = {"min_support": 2, "stated": False}
    assert threshold_for_precision(confidence, correct, 0.9, **counted) == 0.8
    assert threshold_for_precision(confidence, correct, 0.8, **counted) == 0.6
    assert threshold_for_precision(confidence, correct, 0.7, **counted) == 0.5
    assert threshold_for_precision(confidence, correct, 0.9, min_support=5) == NEVER
    assert threshold_for_precision([], [], 0.9) == NEVER
    # a more cautious estimate (one pseudo-error): above 0.6 only 5/7 = 0.71, above 0.8 4/5
    cautious = {**counted, "estimate": lambda right, kept: right / (kept + 1)}
    assert threshold_for_precision(confidence, correct, 0.8, **cautious) == 0.8
    assert threshold_for_precision(confidence, correct, 0.9, **cautious) == NEVER


def test_stated_confidence_must_reach_the_target_too():
    # five right predictions: counted, any cut reaches 0.9; stated, the kept must claim 0.9
    # on average (above 0.6 they claim 0.82, above 0.9 0.925)
    confidence, correct = [0.95, 0.9, 0.6, 0.55, 0.5], [True] * 5
    assert threshold_for_precision(confidence, correct, 0.9, min_support=2, stated=False) == 0.5
    assert threshold_for_precision(confidence, correct, 0.9, min_support=2) == 0.9
    # ten right predictions that the model itself gave about even odds: a lucky sample
    lucky = [0.62, 0.6, 0.58, 0.57, 0.55, 0.54, 0.53, 0.52, 0.51, 0.5]
    assert threshold_for_precision(lucky, [True] * 10, 0.9, stated=False) == 0.5
    assert threshold_for_precision(lucky, [True] * 10, 0.9) == NEVER


def test_sparse_labels_share_the_threshold_of_all_predictions():
    # (label predicted, confidence, right): bug 6 predictions at 0.5, all right (a lucky
    # sample); feature 5 right at 0.95, 1 wrong at 0.5; question 36 right at 0.95, 5 wrong
    # at 0.5
    rows = [(0, 0.5, True)] * 6 + [(1, 0.95, True)] * 5 + [(1, 0.5, False)]
    rows += [(2, 0.95, True)] * 36 + [(2, 0.5, False)] * 5
    probs = np.zeros((len(rows), 3))
    truth = []
    for r, (label, confidence, right) in enumerate(rows):
        probs[r, label] = confidence
        probs[r, (label + 1) % 3] = (1 - confidence) / 2
        probs[r, (label + 2) % 3] = (1 - confidence) / 2
        truth.append(label if right else (label + 1) % 3)
    counted = {"own_support": 0, "stated": False}
    # each label on its own: bug's six lucky predictions let everything through
    assert choose_thresholds(probs, truth, LABELS, 0.9, **counted) == {
        "bug": 0.5,
        "feature": 0.95,
        "question": 0.95,
    }
    # question's 41 predictions give its own; bug and feature (6 each) share the curve of
    # all 53, where below 0.95 only 47/53 = 0.89 are right
    shared = choose_thresholds(probs, truth, LABELS, 0.9, own_support=30, stated=False)
    assert shared == {"bug": 0.95, "feature": 0.95, "question": 0.95}
    # and a label of enough predictions is not pulled to the shared cut: for 0.88, question
    # alone still needs 0.95 (36/41 = 0.878 below), while the shared curve allows 0.5
    at_88 = choose_thresholds(probs, truth, LABELS, 0.88, own_support=30, stated=False)
    assert at_88 == {"bug": 0.5, "feature": 0.5, "question": 0.95}


def test_ties_are_kept_or_dropped_together():
    # two predictions at 0.9, one right one wrong: no cut can separate them
    assert (
        threshold_for_precision([0.9, 0.9, 0.5], [True, False, True], 0.9, min_support=1) == NEVER
    )


def test_choose_thresholds_and_decide():
    probs = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])
    truth = [0, 0, 1, 1]
    thresholds = choose_thresholds(
        probs, truth, LABELS, 0.9, min_support=1, own_support=0, stated=False
    )
    assert thresholds == {"bug": 0.8, "feature": 0.8, "question": NEVER}
    assert decide({"bug": 0.85, "feature": 0.1, "question": 0.05}, thresholds) == ("bug", 0.85)
    assert decide({"bug": 0.7, "feature": 0.2, "question": 0.1}, thresholds)[0] == NEEDS_TRIAGE
    cov = coverage_report(["bug", "feature", "bug"], ["bug", NEEDS_TRIAGE, "feature"], LABELS)
    assert cov["n"] == 3
    assert (cov["coverage"], cov["precision"], cov["labelled"], cov["correct"]) == (
        2 / 3,
        0.5,
        2,
        1,
    )
    assert cov["per_label"] == {
        "bug": {"precision": 1.0, "labelled": 1, "correct": 1},
        "feature": {"precision": 0.0, "labelled": 1, "correct": 0},
        "question": {"precision": 0.0, "labelled": 0, "correct": 0},
    }


def test_coverage_of_several_test_sets_adds_their_counts():
    first = coverage_report(["bug", "bug", "feature"], ["bug", "bug", NEEDS_TRIAGE])
    second = coverage_report(["bug", "question"], ["feature", "question"])
    both = combine_coverage([first, second])
    alone = coverage_report(
        ["bug", "bug", "feature", "bug", "question"],
        ["bug", "bug", NEEDS_TRIAGE, "feature", "question"],
    )
    assert both["n"] == 5
    assert both == alone  # not the mean of the two precisions (1.0 and 0.5), but 3 of 4
    assert both["precision"] == 0.75
    assert combine_coverage([]) == {
        "n": 0,
        "coverage": 0.0,
        "precision": 0.0,
        "labelled": 0,
        "correct": 0,
        "per_label": {},
    }


def test_head_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    centers = np.eye(3) * 3
    y = np.repeat([0, 1, 2], 40)
    x = centers[y] + rng.normal(0, 0.5, (120, 3))
    head = fit_head(x, y, 3, l2=0.1)
    assert (head.logits(x).argmax(1) == y).mean() > 0.95
    probs = head.probabilities(x)
    assert np.allclose(probs.sum(1), 1.0)


def _two_repository_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature 0 means "bug" in repo a and "feature" in repo b; feature 1 means "question"
    everywhere. One shared weight vector cannot fit both repos; the corrections can."""
    rng = np.random.default_rng(2)
    n = 300
    repos = np.array(["a", "b"])[rng.integers(0, 2, n)]
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 2))
    x[y == 2, 1] += 3
    x[(y == 0) & (repos == "a"), 0] += 3
    x[(y == 1) & (repos == "b"), 0] += 3
    x[(y == 0) & (repos == "b"), 0] -= 3
    x[(y == 1) & (repos == "a"), 0] -= 3
    return x, y, repos


def test_head_learns_per_repository_corrections():
    x, y, repos = _two_repository_problem()
    n = len(y)
    shared = fit_head(x, y, 3, l2=0.1)
    adapted = fit_head(x, y, 3, l2=0.1, domains=list(repos))
    assert sorted(adapted.deltas) == ["a", "b"]
    accuracy_shared = (shared.logits(x).argmax(1) == y).mean()
    accuracy_adapted = (adapted.logits(x, list(repos)).argmax(1) == y).mean()
    assert accuracy_shared < 0.75 < 0.95 < accuracy_adapted
    # an unknown or missing repository gets the shared weights alone
    assert np.allclose(adapted.logits(x[:5], ["c"] * 5), adapted.logits(x[:5]))
    assert np.allclose(adapted.logits(x[:5], [None] * 5), adapted.logits(x[:5]))
    # one repository only: no corrections, the plain head
    assert fit_head(x, y, 3, l2=0.1, domains=["a"] * n).deltas == {}


def test_domain_scale_makes_corrections_cheaper():
    # the same two-repository problem as above under a heavy penalty: at scale 1 the
    # corrections stay small; scaled up, they carry the per-repository habit
    x, y, repos = _two_repository_problem()
    plain = fit_head(x, y, 3, l2=100.0, domains=list(repos))
    scaled = fit_head(x, y, 3, l2=100.0, domains=list(repos), domain_scale=4.0)
    norm = {name: np.linalg.norm(plain.deltas[name]) for name in plain.deltas}
    norm_scaled = {name: np.linalg.norm(scaled.deltas[name]) for name in scaled.deltas}
    assert all(norm_scaled[name] > 2 * norm[name] for name in norm)
    rows = np.arange(len(y))
    likelihood = plain.probabilities(x, list(repos))[rows, y].mean()
    likelihood_scaled = scaled.probabilities(x, list(repos))[rows, y].mean()
    assert likelihood + 0.05 < likelihood_scaled


def test_head_takes_sparse_features():
    from scipy import sparse

    rng = np.random.default_rng(4)
    y = np.repeat([0, 1, 2], 30)
    x = np.zeros((90, 50))
    x[np.arange(90), y * 10 + rng.integers(0, 10, 90)] = 1.0
    dense = fit_head(x, y, 3)
    from_sparse = fit_head(sparse.csr_matrix(x), y, 3)
    assert np.allclose(dense.weights, from_sparse.weights, atol=1e-4)
    assert (from_sparse.logits(sparse.csr_matrix(x)).argmax(1) == y).all()


def test_temperature_softens_overconfident_logits():
    # logits that are right only 70 % of the time but claim ~100 %: temperature > 1
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500)
    wrong = rng.random(500) > 0.7
    pred = np.where(wrong, (y + 1) % 3, y)
    logits = np.eye(3)[pred] * 20
    t = fit_temperature(logits, y)
    assert t > 5
    calibrated = softmax(logits / t).max(1).mean()
    assert 0.6 < calibrated < 0.8


def test_label_plan_maps_decisions_onto_the_repositorys_labels():
    from bot.config.loader import parse_config
    from bot.triage.policy import plan_issue_labels

    config = parse_config("labels:\n  types:\n    bug: 'Type: Bug'\n    feature: enhancement\n")
    assert plan_issue_labels(config, "bug", []).labels == ("Type: Bug",)
    assert plan_issue_labels(config, NEEDS_TRIAGE, []).labels == ("needs-triage",)
    # a type the repository does not map is left to a person
    assert plan_issue_labels(config, "performance", []).labels == ("needs-triage",)
    assert plan_issue_labels(config, "bug", ["wontfix"]).labels == ()
    assert plan_issue_labels(config, "bug", ["type: bug"]).labels == ()


def test_fine_tuning_epochs_follow_the_data_size():
    from bot.triage.train import Recipe

    assert Recipe().finetune_epochs(192) == 5  # a project's fit split: 12 batches
    assert Recipe().finetune_epochs(960) == 2  # five projects: 60 batches
    assert Recipe().finetune_epochs(20) == 6  # tiny data: capped
    assert Recipe(epochs=0).finetune_epochs(960) == 0


def test_title_view_is_for_a_model_of_one_repository():
    from bot.triage.train import Recipe

    assert Recipe().uses_title_view(1)
    assert Recipe().uses_title_view(0)  # issues without a repository column
    assert not Recipe().uses_title_view(5)  # a pooled model: measured better without it
    assert Recipe(title_view=True).uses_title_view(5)
    assert not Recipe(title_view=False).uses_title_view(1)


def test_int8_ships_unless_it_is_wrong_on_significantly_more_validation_issues():
    from bot.triage.train import choose_runtime

    truth = [0] * 40
    right = [0] * 40

    def wrong_on(n: int, start: int = 0) -> list[int]:
        return [1 if start <= k < start + n else 0 for k in range(40)]

    assert choose_runtime(truth, right, right) == (
        "int8",
        {"only_int8_wrong": 0, "only_fp32_wrong": 0},
    )
    # one or two issues of 40 are noise (a macro-F1 margin of 0.01 would have sent these to fp32)
    assert choose_runtime(truth, right, wrong_on(2))[0] == "int8"
    # four against none: p = 1/16, not yet significant; five against none: p = 1/32
    assert choose_runtime(truth, right, wrong_on(4))[0] == "int8"
    assert choose_runtime(truth, right, wrong_on(5)) == (
        "fp32",
        {"only_int8_wrong": 5, "only_fp32_wrong": 0},
    )
    # issues both get wrong say nothing: 3 shared + 4 of int8's own is still 4 against none
    assert choose_runtime(truth, wrong_on(3), wrong_on(7)) == (
        "int8",
        {"only_int8_wrong": 4, "only_fp32_wrong": 0},
    )
    # issues only fp32 gets wrong weigh against int8's: 7 against 6 is a draw
    assert choose_runtime(truth, wrong_on(6, start=10), wrong_on(7))[0] == "int8"


def _card(recipe: dict, validation: dict, features: list | None = None) -> str:
    from bot.triage.card import render_card

    return render_card(
        {
            "created": "2026-11-23T00:00:00+00:00",
            "maintbot_version": "0",
            "base_model": "minilm",
            "encoder": {"parameters": 22_713_216},
            "training_data": {"issues": 300, "per_label": {}, "per_repo": {}},
            "recipe": recipe,
            "features": features or [],
            "seed": 0,
            "torch_version": "2",
            "labels": ["bug", "feature", "question"],
            "validation": validation,
            "temperature": 1.0,
            "target_precision": 0.9,
            "thresholds": {"bug": 0.5},
            "runtime": "int8",
            "domains": [],
            "seconds": {"total": 200.0},
        }
    )


def test_model_card_says_how_the_encoder_was_trained():
    tuned = _card(
        {"epochs": None, "epochs_run": {"finetune": 5, "refit": 4}},
        {"n": 60, "int8_macro_f1": 0.8, "encoder_saw_validation": 1},
    )
    assert "fine-tuned on the labels (on the fit split: 5 epoch(s); then afresh on every" in tuned
    assert "fine-tuned again on every issue" in tuned
    frozen = _card({"epochs": 0, "epochs_run": {}}, {"n": 60, "int8_macro_f1": 0.8})
    assert "frozen encoder (no fine-tuning)" in frozen
    assert "fine-tuned again" not in frozen


def test_model_card_says_what_the_head_reads():
    features = [
        {"kind": "embedding", "view": "issue", "size": 128, "weight": 1.0},
        {"kind": "embedding", "view": "title", "size": 64, "weight": 1.0},
        {"kind": "lexical", "view": "words", "size": 32768, "weight": 1.5},
        {"kind": "lexical", "view": "chars", "size": 65536, "weight": 2.0},
    ]
    card = _card({"epochs": 0}, {"n": 60}, features)
    assert (
        "a linear head over the (title + body) embedding (128 tokens), the title embedding "
        "(64 tokens) and words, chars term features" in card
    )
    alone = _card({"epochs": 0}, {"n": 60}, [dict(features[0], size=256)])
    assert "a linear head over the (title + body) embedding (256 tokens)\n" in alone
