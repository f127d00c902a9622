"""The built-in model, as a maintainer meets it: shipped in the package, labelling with no
configuration, no training, no network and no torch."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

from bot.triage.data import read_labelled
from bot.triage.model_source import BUILTIN_DIR
from bot.triage.modeldir import MANIFEST
from tests.paths import REPO_ROOT
from tests.triage.test_model_source import BUG_BODY, BUG_TITLE

pytestmark = pytest.mark.skipif(
    not (BUILTIN_DIR / MANIFEST).is_file(), reason="the built-in model is not built here"
)


def maintbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command in a clean environment: no token, no configuration, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MAINTBOT_"))}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
    )


def test_the_card_names_the_data_it_was_trained_on(shared_dir):
    card = json.loads((BUILTIN_DIR / "model_card.json").read_text())
    data = shared_dir / "data" / "issues" / "nlbse24" / "issues_train.csv"
    assert card["training_data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert card["seed"] == 0 and card["training_data"]["issues"] == 1500
    assert "NLBSE" in card["training_data"]["citation"]
    assert "licence" in card["training_data"]
    text = (BUILTIN_DIR / "MODEL_CARD.md").read_text()
    assert card["training_data"]["sha256"] in text and "Licence" in text
    assert not (BUILTIN_DIR / "encoder.onnx").exists()  # int8 only


def test_it_labels_a_bug_report_without_torch():
    script = (
        "import json, sys\n"
        "from bot.triage.model_source import resolve_model\n"
        "from bot.triage.runtime import Predictor\n"
        "(p,) = Predictor(resolve_model('')).predict([(sys.argv[1], sys.argv[2])])\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "print(json.dumps({'label': p.label, 'heavy': heavy}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, BUG_TITLE, BUG_BODY],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {"label": "bug", "heavy": []}


def test_with_no_configuration_a_replayed_issue_gets_a_planned_label(shared_dir, tmp_path):
    """GitHub's example arrives labelled ``bug`` (the bot rightly leaves that alone): without
    its labels, the built-in model decides, and dry-run only plans the write."""
    payload = json.loads((shared_dir / "github/webhooks/issues/opened.json").read_text())
    payload["issue"]["labels"] = []
    path = tmp_path / "opened.json"
    path.write_text(json.dumps(payload))
    out = maintbot("--dry-run", "--json", "replay", "--event", "issues", "--payload", str(path))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    (handler,) = [h for h in summary["handlers"] if h["handler"].endswith(".label_new_issue")]
    assert handler["status"] == "ok", handler
    planned = [p for p in summary["planned"] if p["action"] == "label"][0]  # the type's, first
    assert planned["labels"] and planned["labels"][0] in (
        "bug",
        "enhancement",
        "question",
        "needs-triage",
    )
    assert handler["result"]["prediction"]["label"] in ("bug", "feature", "question")

    # left labelled as GitHub sends it: skipped, with the reason, never "ok"
    out = maintbot(
        "--dry-run",
        "--json",
        "replay",
        "--event",
        "issues",
        "--payload",
        str(shared_dir / "github/webhooks/issues/opened.json"),
    )
    handlers = json.loads(out.stdout.strip().splitlines()[-1])["handlers"]
    (handler,) = [h for h in handlers if h["handler"].endswith(".label_new_issue")]
    assert handler["status"] == "skipped" and handler["reason"] == "already triaged by a person"


def test_eval_without_a_model_scores_the_built_in_one(shared_dir, tmp_path):
    """A few known issues of the training projects: the figures must come back, well above
    chance (the model saw these issues, so this checks the wiring, not the quality)."""
    source = shared_dir / "data/issues/nlbse24/issues_train.csv"
    rows = read_labelled(source)
    sample = [r for r in rows if r.repo == "tensorflow/tensorflow"][:20]
    sample += [r for r in rows if r.repo == "microsoft/vscode"][:20]
    data = tmp_path / "sample.jsonl"
    data.write_text(
        "".join(
            json.dumps({"title": r.title, "body": r.body, "label": r.label, "repo": r.repo}) + "\n"
            for r in sample
        )
    )
    out = maintbot("triage", "eval", "--data", str(data), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 40 and set(result["per_repo"]) == {
        "tensorflow/tensorflow",
        "microsoft/vscode",
    }
    assert result["macro_f1"] > 0.6


@pytest.mark.slow
def test_the_wheel_holds_the_model_and_stays_small(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("maintbot-*.whl")
    with zipfile.ZipFile(wheel) as zipped:
        names = set(zipped.namelist())
    shipped = {f"bot/triage/builtin_model/{p.name}" for p in BUILTIN_DIR.iterdir()}
    assert shipped <= names
    assert wheel.stat().st_size < 40 * 2**20
