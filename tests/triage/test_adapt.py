"""Adapting a model to one repository (bot/triage/adapt.py, bot/triage/adapt_cli.py).

The base is the built-in model (it ships in the package: no training here); the repository is
a slice of real NLBSE issues whose labels are permuted, so what the base model predicts is
wrong on it and the adaptation has something to learn. Everything runs in seconds and, in a
subprocess, without torch.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import MaintbotGroup
from bot.errors import UsageError
from bot.settings import Settings
from bot.triage.adapt import adapt, fit_correction, out_of_fold
from bot.triage.adapt_cli import adapt as adapt_command
from bot.triage.data import LabelledIssue, read_labelled
from bot.triage.head import softmax
from bot.triage.model_source import BUILTIN_DIR
from bot.triage.modeldir import read_manifest
from bot.triage.runtime import Predictor

PERMUTED = {"bug": "feature", "feature": "question", "question": "bug"}


def _objective(gram, base, y, a, beta, l2, bias_l2):
    n, c = base.shape
    counts = np.bincount(y, minlength=c)
    weight = (n / (np.count_nonzero(counts) * np.maximum(counts, 1)))[y]
    log_p = np.log(softmax(base + gram @ a + beta))
    return -(weight * log_p[np.arange(n), y]).sum() + 0.5 * (
        l2 * np.sum(a * (gram @ a)) + bias_l2 * beta @ beta
    )


def test_fit_correction_is_the_penalised_optimum():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 12))
    gram = x @ x.T
    base = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40)
    a, beta = fit_correction(gram, base, y, l2=2.0, bias_l2=0.5)
    best = _objective(gram, base, y, a, beta, 2.0, 0.5)
    # any small move of the primal correction (delta = x' a) or of beta costs more
    for _ in range(20):
        da = rng.normal(scale=1e-3, size=a.shape)
        db = rng.normal(scale=1e-3, size=beta.shape)
        assert _objective(gram, base, y, a + da, beta + db, 2.0, 0.5) >= best - 1e-9
    # a prior shift alone moves the labels' balance, not single issues
    a0, shift = fit_correction(gram, base, y, use_features=False)
    assert not a0.any() and shift.shape == (3,)


def test_a_larger_penalty_stays_closer_to_the_base():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 8))
    gram, base, y = x @ x.T, rng.normal(size=(30, 3)), rng.integers(0, 3, 30)
    moves = []
    for l2 in (0.1, 1.0, 10.0):
        a, beta = fit_correction(gram, base, y, l2=l2, bias_l2=l2)
        moves.append(np.abs(gram @ a + beta).mean())
    assert moves[0] > moves[1] > moves[2]


def test_out_of_fold_never_scores_an_issue_with_its_own_fit():
    # every issue carries a feature of its own: fitted with it, its label is learnt; out of
    # fold, nothing in the other issues tells it, so the base prediction stays
    n = 30
    gram = np.eye(n)
    base = np.zeros((n, 3))
    y = np.arange(n) % 3
    oof = out_of_fold(gram, base, y, folds=5, l2=0.01, bias_l2=100.0)
    assert np.allclose(oof, 1 / 3, atol=0.02)
    a, beta = fit_correction(gram, base, y, l2=0.01, bias_l2=100.0)
    assert (softmax(base + gram @ a + beta).argmax(1) == y).all()


@pytest.fixture(scope="module")
def repository(shared_dir) -> list[LabelledIssue]:
    """60 react issues (20 per label) with permuted labels: a repository whose habits the
    built-in model does not know."""
    issues = read_labelled(shared_dir / "data/issues/nlbse24/issues_train.csv")
    out = []
    for label in ("bug", "feature", "question"):
        mine = [i for i in issues if i.repo == "facebook/react" and i.label == label][:20]
        out += [
            LabelledIssue(i.title, i.body, PERMUTED[i.label], "example/app", n)
            for n, i in enumerate(mine, start=len(out))
        ]
    return out


def write_csv(path: Path, issues: list[LabelledIssue]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, escapechar="\\", doublequote=False)
        writer.writerow(["repo", "label", "title", "body"])
        for i in issues:
            writer.writerow([i.repo, i.label, i.title, i.body])
    return path


def test_adapting_moves_the_repository_predictions(repository, tmp_path):
    out = tmp_path / "adapted"
    result = adapt(BUILTIN_DIR, repository, out)
    assert result.n_issues == 60 and result.per_label == {"bug": 20, "feature": 20, "question": 20}
    # out of fold (each issue predicted by a correction fitted without it), far above the
    # base model, which predicts the original labels
    assert result.base_oof_macro_f1 < 0.3
    assert result.oof_macro_f1 > result.base_oof_macro_f1 + 0.2
    assert result.thresholds_from == "repository"  # chosen on the out-of-fold predictions
    texts = [(i.title, i.body) for i in repository]
    truth = np.array([["bug", "feature", "question"].index(i.label) for i in repository])
    before = Predictor(BUILTIN_DIR).probabilities(texts).argmax(1)
    after = Predictor(out).probabilities(texts).argmax(1)
    assert (after == truth).mean() > (before == truth).mean() + 0.5
    # the directory is an ordinary model directory: one repository, no corrections left
    manifest = read_manifest(out)
    assert manifest.domains == [] and manifest.files["int8"] == "encoder.int8.onnx"
    same = (
        os.stat(out / "encoder.int8.onnx").st_ino
        == os.stat(BUILTIN_DIR / "encoder.int8.onnx").st_ino
    )
    assert same or result.encoder == "copied"
    card = json.loads((out / "model_card.json").read_text())
    assert card["adapted"]["repository"] == "example/app" and card["adapted"]["issues"] == 60
    # a second run over the same directory replaces it
    again = adapt(BUILTIN_DIR, repository[:30], out)
    assert again.n_issues == 30 and read_manifest(out).thresholds == again.thresholds


def test_thresholds_of_the_repository_or_of_the_base(repository, tmp_path):
    result = adapt(BUILTIN_DIR, repository, tmp_path / "own", target_precision=0.6)
    assert result.thresholds_from == "repository"
    assert Predictor(tmp_path / "own").thresholds == result.thresholds
    assert read_manifest(tmp_path / "own").target_precision == 0.6
    # fewer issues than MIN_OWN_THRESHOLD_ISSUES: the base model's thresholds
    few = [i for k, i in enumerate(repository) if k % 20 < 7]
    small = adapt(BUILTIN_DIR, few, tmp_path / "few")
    assert small.n_issues == 21 and small.thresholds_from == "base"
    assert small.thresholds == Predictor(BUILTIN_DIR).thresholds


def test_adapt_refuses_what_it_cannot_use(repository, tmp_path):
    odd = [LabelledIssue("Typo", "", "docs", "example/app")] * 10
    with pytest.raises(UsageError, match="not labels of the base model"):
        adapt(BUILTIN_DIR, odd, tmp_path / "x")
    with pytest.raises(UsageError, match="too few"):
        adapt(BUILTIN_DIR, repository[:3], tmp_path / "x")


class _Root(MaintbotGroup):
    """The root group with only ``adapt`` under it (``triage`` will hold it in the product),
    so errors become exit codes as in ``maintbot``."""

    def list_commands(self, ctx):
        return ["adapt"]

    def get_command(self, ctx, cmd_name):
        return adapt_command if cmd_name == "adapt" else None


ROOT = _Root(name="maintbot")


def run(*args: str):
    return CliRunner().invoke(ROOT, ["adapt", *args], obj=Settings())


def test_adapt_command(repository, tmp_path):
    data = write_csv(tmp_path / "issues.csv", repository)
    out = tmp_path / "adapted"
    done = run("--data", str(data), "--out", str(out), "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["issues"] == 60 and summary["out"] == str(out)
    assert summary["encoder"] in ("linked", "copied")
    assert read_manifest(out).labels == ["bug", "feature", "question"]
    text = run("--data", str(data), "--out", str(tmp_path / "b"), "--l2", "3")
    assert text.exit_code == 0 and "out-of-fold macro-F1" in text.stdout
    neither = run("--out", str(out))
    assert neither.exit_code == 2 and "give --data FILE or --repo OWNER/NAME" in neither.output
    both = run("--data", str(data), "--repo", "a/b", "--out", str(out))
    assert both.exit_code == 2


ADAPT_WITHOUT_TORCH = textwrap.dedent(
    """
    import json, sys
    from bot.cli import cli
    from bot.triage.adapt_cli import adapt
    from bot.triage.cli import triage
    triage.add_command(adapt)  # test-local: the product wires it in bot/triage/cli.py
    data, out = sys.argv[1:3]
    for args in (["triage", "adapt", "--data", data, "--out", out, "--json"],
                 ["triage", "predict", "--model", out, "--title", "Crash on start", "--json"]):
        cli.main(args=args, prog_name="maintbot", standalone_mode=False)
    heavy = sorted(m for m in ("torch", "transformers", "scipy") if m in sys.modules)
    print(json.dumps({"heavy_modules": heavy}))
    """
)


def test_adapt_and_predict_never_import_torch(repository, tmp_path):
    data = write_csv(tmp_path / "issues.csv", repository)
    out = tmp_path / "adapted"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    result = subprocess.run(
        [sys.executable, "-c", ADAPT_WITHOUT_TORCH, str(data), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    *_, summary, prediction, modules = result.stdout.strip().splitlines()
    assert json.loads(summary)["issues"] == 60
    assert json.loads(prediction)["label"] in ("bug", "feature", "question")
    assert json.loads(modules) == {"heavy_modules": []}


def test_card_states_new_and_known_repositories(tmp_path):
    from bot.triage.card import EXPECTATIONS_HEADING, write_expectations

    (tmp_path / "MODEL_CARD.md").write_text("# card\n\n## Recipe\n\ntext\n")
    (tmp_path / "model_card.json").write_text('{"labels": ["bug"]}')
    expected = {
        "new_repository": {"macro_f1": 0.7, "precision": 0.85, "coverage": 0.3, "how": "a"},
        "known_repository": {"macro_f1": 0.8, "precision": 0.9, "coverage": 0.7, "how": "b"},
        "adapted": [{"k": 50, "macro_f1": 0.75, "precision": 0.88, "coverage": 0.4}],
    }
    write_expectations(tmp_path, expected)
    write_expectations(tmp_path, expected)  # replaced, not appended twice
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert text.count(EXPECTATIONS_HEADING) == 1 and "## Recipe" in text
    assert "| **new** (none of the training projects) | 0.700 | 0.850 | 30% | a |" in text
    assert "| 50 | 0.750 | 0.880 | 40% |" in text
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["expected"] == expected and card["labels"] == ["bug"]


def test_builtin_card_states_new_and_known_repositories():
    from bot.triage.builtin import EXPECTED
    from bot.triage.card import EXPECTATIONS_HEADING

    card = json.loads((BUILTIN_DIR / "model_card.json").read_text())
    assert card["expected"] == EXPECTED  # `make default-model` writes the same section
    assert EXPECTED["new_repository"]["precision"] < EXPECTED["known_repository"]["precision"]
    assert EXPECTATIONS_HEADING in (BUILTIN_DIR / "MODEL_CARD.md").read_text()
