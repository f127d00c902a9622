"""``maintbot triage stats``: live precision and coverage, from the store or from GitHub alone.

GitHub is the sandbox on loopback, seeded with maintbot's marker comments and the label
events a real history leaves; the store is a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from bot.config.schema import Config
from bot.settings import Settings
from bot.store.database import Store
from bot.store.predictions import record_correction, record_prediction
from bot.triage.data import read_labelled
from bot.triage.stats_cli import stats
from tests.fixtures.sandbox import DEFAULT_REPO

BOT = "maintbot[bot]"


def marker(label: str, labels: list[str], **extra: Any) -> str:
    record = {"model": "built-in", "version": "v1", "label": label, "confidence": 0.9}
    record.update(labels=labels, **extra)
    return (
        "<!-- maintbot:triage -->\n<!-- maintbot-section:type -->\nmaintbot labelled this.\n\n"
        f"<!-- maintbot-prediction {json.dumps(record, sort_keys=True)} -->\n"
        "<!-- /maintbot-section:type -->"
    )


def seed_history(sb) -> None:
    """#10 bug kept; #11 bug relabelled question by a maintainer; #12 feature confirmed
    (removed and put back); #13 left needs-triage (no comment); #14 question changed to
    feature through ``/type`` (the marker says so; the label events are maintbot's)."""
    state = sb.state
    state.add_user(BOT)

    def issue(number: int, title: str, labels: list[str]) -> None:
        state.add_issue(
            DEFAULT_REPO,
            number=number,
            title=title,
            body=f"body of {title}",
            user="alice",
            labels=labels,
            created_at="2024-05-01T09:00:00Z",
        )

    def label(number: int, event: str, name: str, who: str, minute: int) -> None:
        state.add_issue_event(
            DEFAULT_REPO,
            number,
            event=event,
            label=name,
            actor=who,
            created_at=f"2024-05-01T10:{minute:02d}:00Z",
        )

    def comment(number: int, body: str) -> None:
        state.add_issue_comment(
            DEFAULT_REPO, number, body=body, user=BOT, created_at="2024-05-01T10:00:30Z"
        )

    issue(10, "Crash on load", ["bug"])
    label(10, "labeled", "bug", BOT, 0)
    comment(10, marker("bug", ["bug"]))
    issue(11, "How to configure the optimizer?", ["question"])
    label(11, "labeled", "bug", BOT, 0)
    comment(11, marker("bug", ["bug"]))
    label(11, "unlabeled", "bug", "maintainer", 5)
    label(11, "labeled", "question", "maintainer", 5)
    issue(12, "Add mixed precision", ["enhancement"])
    label(12, "labeled", "enhancement", BOT, 0)
    comment(12, marker("feature", ["enhancement"]))
    label(12, "unlabeled", "enhancement", "maintainer", 6)
    label(12, "labeled", "enhancement", "maintainer", 8)
    issue(13, "Something odd", ["needs-triage"])
    label(13, "labeled", "needs-triage", BOT, 0)
    issue(14, "Please support ONNX export", ["enhancement"])
    label(14, "labeled", "question", BOT, 0)
    comment(
        14,
        marker(
            "question",
            ["question"],
            corrected_to="feature",
            corrected_by="maintainer",
            corrected_at="2024-05-01T10:09:00Z",
        ),
    )
    label(14, "unlabeled", "question", BOT, 9)
    label(14, "labeled", "enhancement", BOT, 9)


@pytest.fixture
def settings(sandbox, tmp_path):
    seed_history(sandbox)
    settings = Settings(api_url=sandbox.base_url, token="t")
    settings._cache["config"] = Config.default()
    settings._cache["store"] = Store.open(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    return settings


def invoke(settings: Settings, *args: str) -> Any:
    done = CliRunner().invoke(stats, ["--repo", DEFAULT_REPO, *args], obj=settings)
    assert done.exit_code == 0, (done.output, done.exception)
    return done


def test_stats_from_github_alone(settings, sandbox):
    sandbox.clear_requests()
    done = invoke(settings, "--json")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["source"] == "github"
    assert {label: (s["predicted"], s["kept"]) for label, s in result["labels"].items()} == {
        "bug": (2, 1),
        "feature": (1, 1),
        "question": (1, 0),
    }
    assert result["labels"]["feature"]["confirmed"] == 1
    assert result["overall"]["precision"] == 0.5
    assert (result["triaged"], result["labelled"], result["needs_triage"]) == (5, 4, 1)
    assert result["coverage"] == 0.8
    assert [(c["issue"], c["corrected_to"], c["actor"]) for c in result["corrections"]] == [
        (11, "question", "maintainer"),
        (14, "feature", "maintainer"),
    ]
    # two listings, one page each: no request per issue (and, once per process, GET /user:
    # which account the token is, so that a marker pasted by someone else is not read)
    listings = [r for r in sandbox.requests if r.route != "GET /user"]
    assert result["requests"] == 2 == len(listings)
    assert f"triage stats {DEFAULT_REPO}: events, page 1" in done.stderr


def test_stats_text_and_export_as_training_data(settings, tmp_path):
    out = tmp_path / "corrected.jsonl"
    done = invoke(settings, "--export", str(out))
    assert "bug        kept  50% of 2 (1 corrected, 0 confirmed)" in done.stdout
    assert "coverage: 80% (4 of 5 triaged issues labelled; 1 left needs-triage)" in done.stdout
    assert "#11: bug -> question by maintainer at 2024-05-01T10:05:00Z" in done.stdout
    exported = read_labelled(out)
    assert [(i.number, i.label, i.title) for i in exported] == [
        (11, "question", "How to configure the optimizer?"),
        (12, "feature", "Add mixed precision"),
        (14, "feature", "Please support ONNX export"),
    ]
    as_csv = tmp_path / "corrected.csv"
    invoke(settings, "--export", str(as_csv))
    assert read_labelled(as_csv) == exported


def test_stats_prefer_the_store_when_it_has_predictions(settings):
    store = settings.store()
    at = datetime(2024, 6, 1, tzinfo=UTC)
    with store.session() as session:
        for number, decision in ((20, "bug"), (21, "bug"), (22, "needs-triage")):
            row = record_prediction(
                session,
                repo=DEFAULT_REPO,
                issue_number=number,
                model_id="built-in",
                model_version="v1",
                label=decision,
                probabilities={"bug": 0.6},
                decision=decision,
                created_at=at,
            )
            if number == 21:
                record_correction(
                    session, row.id, from_label="bug", to_label="feature", actor="m", at=at
                )
    result = json.loads(invoke(settings, "--json").stdout.strip().splitlines()[-1])
    assert result["source"] == "store" and "requests" not in result
    assert result["labels"] == {
        "bug": {"predicted": 2, "kept": 1, "corrected": 1, "confirmed": 0, "precision": 0.5}
    }
    assert result["coverage"] == pytest.approx(2 / 3, abs=1e-4)
    forced = json.loads(invoke(settings, "--json", "--source", "github").stdout.splitlines()[-1])
    assert forced["source"] == "github" and forced["triaged"] == 5


def test_stats_refuses_bad_arguments(settings):
    done = CliRunner().invoke(stats, ["--repo", "nonsense", "--json"], obj=settings)
    assert done.exit_code != 0 and "is not a repository name" in str(done.exception)
    done = CliRunner().invoke(stats, ["--repo", DEFAULT_REPO, "--export", "out.txt"], obj=settings)
    assert done.exit_code != 0 and "name the file .csv or .jsonl" in str(done.exception.hint)
