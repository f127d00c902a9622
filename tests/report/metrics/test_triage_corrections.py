"""The report's "labels kept by maintainers" from the same records as `triage stats`.

An Action has no lasting store: the collector keeps maintbot's prediction markers and the
issues' label events from the listings it reads anyway, and the precision is derived from
them; with a store, its predictions and corrections stand and GitHub completes them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.github.client import build_github
from bot.report.collect import collect_repository
from bot.report.metrics.triage import triage_precision
from bot.report.records import Dataset
from bot.report.storage import RecordStore, triage_predictions
from bot.report.window import Window
from bot.store.database import Store
from bot.store.predictions import record_prediction
from tests.fixtures.sandbox import DEFAULT_REPO
from tests.triage.test_stats_cli import seed_history

MAY = Window(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))


def collected(sandbox, tmp_path) -> tuple[Store, object]:
    store = Store.open(f"sqlite:///{tmp_path / 'report.sqlite3'}")
    github = build_github(token="t", api_url=sandbox.base_url)
    _, summary = collect_repository(github, RecordStore(store, DEFAULT_REPO), reviews_horizon=None)
    return store, summary


def test_precision_derived_from_github_when_the_store_has_no_predictions(sandbox, tmp_path):
    seed_history(sandbox)
    store, summary = collected(sandbox, tmp_path)
    found = {p.number: (p.label, p.corrected_to) for p in triage_predictions(store, DEFAULT_REPO)}
    # #10 bug kept, #11 bug -> question, #12 feature confirmed, #14 question -> feature
    # (by /type: only the marker knows); #13 needs-triage is not a prediction here
    assert found == {
        10: ("bug", None),
        11: ("bug", "question"),
        12: ("feature", None),
        14: ("question", "feature"),
    }
    dataset = Dataset(predictions=triage_predictions(store, DEFAULT_REPO), repos=(DEFAULT_REPO,))
    per_label, overall = triage_precision(dataset, MAY)
    assert [(p.label, p.predicted, p.kept) for p in per_label] == [
        ("bug", 2, 1),
        ("feature", 1, 1),
        ("question", 1, 0),
    ]
    assert (overall.predicted, overall.kept) == (4, 2)
    # maintbot's comments still are not conversation
    assert all(c.author.name != "maintbot[bot]" for c in dataset.comments)
    # the markers and events came with the listings the collector reads anyway
    assert summary.requests.get("issue events") == 1


def test_the_stores_record_stands_and_github_completes_it(sandbox, tmp_path):
    seed_history(sandbox)
    store, _ = collected(sandbox, tmp_path)
    with store.session() as session:
        for number in (10, 11, 30):  # #30: known to the store only
            record_prediction(
                session,
                repo=DEFAULT_REPO,
                issue_number=number,
                model_id="built-in",
                model_version="v1",
                label="bug",
                probabilities={"bug": 0.95},
                decision="bug",
                created_at=datetime(2024, 5, 1, 10, tzinfo=UTC),
            )
    found = {p.number: p.corrected_to for p in triage_predictions(store, DEFAULT_REPO)}
    # #11's correction is not in the store: GitHub's events complete it
    assert found == {10: None, 11: "question", 12: None, 14: "feature", 30: None}


def test_custom_label_names_are_read_through_the_configured_types(sandbox, tmp_path):
    seed_history(sandbox)
    store, _ = collected(sandbox, tmp_path)
    types = {"bug": "bug", "feature": "enhancement", "question": "support"}
    found = {p.number: p.corrected_to for p in triage_predictions(store, DEFAULT_REPO, types)}
    # "question" is not a type label under these names: #11's relabel is to no type
    assert found[11] == ""
