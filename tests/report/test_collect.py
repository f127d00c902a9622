"""Collection through PyGithub from the sandbox GitHub into the store, and the report from it.

The sandbox holds the hand-built scenario of tests/report_scenario.py; the expected values
are the ones worked out by hand in tests/test_report_metrics.py (repeated in the comments).
"""

from __future__ import annotations

import pytest

from bot.github.client import build_github
from bot.report.collect import collect_repository
from bot.report.compose import ReportOptions, compose_report, to_plain
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.storage import RecordStore
from bot.report.window import Window
from bot.store.database import Store
from tests.report.scenario import REPO, scenario, seed_sandbox, t

MARCH = Window(t("2024-03-01 00:00"), t("2024-04-01 00:00"))
POLICY = PeoplePolicy.build(["spammer"])
H = 3600.0
ISSUES = "GET /repos/{owner}/{repo}/issues"
REVIEWS = "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews"


def seeded_scenario() -> Dataset:
    """The scenario as GitHub holds it: without the triage and benchmark history, which live
    in maintbot's own store."""
    data = scenario()
    data.predictions, data.bench = [], []
    return data


@pytest.fixture
def seeded(make_sandbox):
    sb = make_sandbox()
    seed_sandbox(sb.state, seeded_scenario())
    return sb


def sqlite_store(tmp_path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'report.sqlite3'}")


def github_for(sb):
    return build_github(token="test-token", api_url=sb.base_url)


def without_urls(plain):
    """The report without links (the sandbox's differ from github.com's)."""
    if isinstance(plain, dict):
        return {k: without_urls(v) for k, v in plain.items() if k != "url"}
    if isinstance(plain, list):
        return [without_urls(v) for v in plain]
    return plain


def record_keys(data: Dataset) -> dict[str, set]:
    """What must survive the trip through GitHub's API and the store, ids aside."""
    return {
        "items": {
            (
                i.number,
                i.kind,
                i.title,
                i.author,
                i.created_at,
                i.closed_at,
                i.merged_at,
                i.labels,
                i.draft,
                i.ready_for_review_at,
            )
            for i in data.items
        },
        "comments": {(c.number, c.author, c.created_at, c.kind) for c in data.comments},
        "reviews": {(r.number, r.author, r.submitted_at, r.state) for r in data.reviews},
        "commits": {(c.sha, c.author, c.committed_at) for c in data.commits},
    }


def test_collection_keeps_every_record(seeded, store):
    collected, summary = collect_repository(
        github_for(seeded), RecordStore(store, REPO), reviews_horizon=None
    )
    assert record_keys(collected) == record_keys(seeded_scenario())
    # 15 items, 11 comments (10 conversation + 1 diff), 11 commits, and the reviews of all 8
    # pull requests (no horizon): one list request each, everything fits one page.
    assert (summary.items, summary.comments, summary.commits) == (15, 11, 11)
    assert summary.requests["reviews"] == 8
    assert summary.requests["issues"] == 1


def test_report_from_the_sandbox_matches_the_hand_computed_values(seeded, tmp_path):
    collected, _ = collect_repository(
        github_for(seeded), RecordStore(sqlite_store(tmp_path), REPO), reviews_horizon=None
    )
    report = compose_report(
        collected, MARCH, ReportOptions(policy=POLICY), generated_at=t("2024-04-02 00:00")
    )
    first = report.first_response
    # Pull requests: #10 3 h, #11 2 h after leaving draft (its ready_for_review event),
    # #15 24 h, #16 12 h → sorted [2, 3, 12, 24] h; issues #1 3 h, #2 24 h.
    assert (first.pulls.count, first.pulls.mean, first.pulls.median) == (4, 10.25 * H, 7.5 * H)
    assert first.pulls.p90 == pytest.approx(12 * H + 0.7 * 12 * H)
    assert (first.issues.count, first.issues.median) == (2, 13.5 * H)
    assert (first.overall.count, first.without_response, first.drafts) == (6, 2, 1)
    # Merged: #10 24 h, #11 24 h from leaving draft, #12 6 h → mean 18 h, median 24 h.
    closing = report.closing
    assert (closing.time_to_merge.count, closing.time_to_merge.mean) == (3, 18 * H)
    assert closing.time_to_merge.median == 24 * H
    # Closed issues #1 (3 d) and #4 (20 d, closed at the window's first instant).
    assert (closing.time_to_close.count, closing.time_to_close.mean) == (2, 11.5 * 86400)
    assert closing.closed_unmerged == 1
    # Backlog at 2024-04-01: issues #2 #3 #5 #6, pull requests #14 #15 #17.
    assert (report.backlog.open_issues, report.backlog.open_pulls) == (4, 3)
    assert [w.number for w in report.backlog.unanswered_issues] == [5, 3]
    assert report.backlog.unanswered_issues[1].author == "ghost"
    assert [w.number for w in report.backlog.awaiting_review] == [15]
    # People: alice, bob, frank, dave returning; carol and Zed Example (unlinked commit) new.
    assert (report.contributors.active, report.contributors.new) == (6, 2)
    assert report.contributors.new_names == ("carol", "Zed Example")
    assert (report.retention.previous_new, report.retention.retained) == (2, 1)
    assert (report.absence_factor.commits.factor, report.absence_factor.commits.total) == (1, 8)
    assert (report.review_load.reviews, report.review_load.merged_without_review) == (3, 1)
    # And every other number is what the metrics give on the records as seeded.
    direct = compose_report(
        seeded_scenario(), MARCH, ReportOptions(policy=POLICY), generated_at=t("2024-04-02 00:00")
    )
    assert without_urls(to_plain(report)) == without_urls(to_plain(direct))


def test_second_run_fetches_only_what_changed(seeded, tmp_path):
    records = RecordStore(sqlite_store(tmp_path), REPO)
    gh = github_for(seeded)
    collect_repository(gh, records, reviews_horizon=MARCH.previous().start)
    # Something happens on #15: alice reviews it, which updates the pull request.
    seeded.state.add_review(
        REPO, 15, user="alice", state="APPROVED", submitted_at="2024-04-02T09:00:00Z"
    )
    seeded.state.pull(REPO, 15)["updated_at"] = t("2024-04-02 09:00")
    seeded.clear_requests()
    collected, summary = collect_repository(gh, records, reviews_horizon=MARCH.previous().start)
    counts = seeded.request_counts()
    assert counts[ISSUES] == 1  # one page: what changed since the last run
    assert counts[REVIEWS] == 1  # only #15's reviews
    assert summary.items == 2  # #15, and #7 again (its updated_at is the newest seen, inclusive)
    assert any(r.number == 15 and r.author.name == "alice" for r in collected.reviews)
    # A third run right away: one request per listing; those whose `since` did not move
    # are answered 304 Not Modified to their ETag.
    seeded.clear_requests()
    collect_repository(gh, records, reviews_horizon=MARCH.previous().start)
    unchanged = {r.route for r in seeded.requests if r.not_modified}
    assert unchanged == {
        "GET /repos/{owner}/{repo}/issues/comments",
        "GET /repos/{owner}/{repo}/pulls/comments",
        "GET /repos/{owner}/{repo}/commits",
        "GET /repos/{owner}/{repo}/issues/events",
    }
    assert seeded.request_counts()[ISSUES] == 1 and REVIEWS not in seeded.request_counts()
    # A fourth: nothing moved since the third, so every listing is a 304.
    seeded.clear_requests()
    _, summary = collect_repository(gh, records, reviews_horizon=MARCH.previous().start)
    assert ISSUES in {r.route for r in seeded.requests if r.not_modified}
    assert summary.not_modified == 5 and summary.items == 0


def test_reviews_older_than_the_horizon_are_not_fetched(seeded, tmp_path):
    records = RecordStore(sqlite_store(tmp_path), REPO)
    _, summary = collect_repository(
        github_for(seeded), records, reviews_horizon=t("2024-03-20 00:00")
    )
    # Pull requests last updated on or after March 20: #14 (03-20), #15 (03-26), #16 (03-29).
    assert summary.requests["reviews"] == 3


def test_repository_without_anything(make_sandbox, tmp_path):
    sb = make_sandbox()
    sb.state.add_repo("octo/empty")
    collected, summary = collect_repository(
        github_for(sb), RecordStore(sqlite_store(tmp_path), "octo/empty"), reviews_horizon=None
    )
    assert (collected.items, collected.comments, collected.commits) == ([], [], [])
    report = compose_report(collected, MARCH, ReportOptions(), generated_at=t("2024-04-02 00:00"))
    assert report.backlog.open_issues == 0 and report.contributors.active == 0


def test_maintbot_posts_are_not_collected(make_sandbox, tmp_path):
    sb = make_sandbox()
    sb.state.add_repo("octo/bot")
    sb.state.add_issue(
        "octo/bot", title="Community report", body="<!-- maintbot:report:x -->\nhi", user="alice"
    )
    sb.state.add_issue("octo/bot", title="A bug", body="It breaks", user="bob")
    sb.state.add_issue_comment(
        "octo/bot", 2, body="<!-- maintbot:triage -->\nLabelled bug", user="alice"
    )
    sb.state.add_issue_comment("octo/bot", 2, body="Thanks, looking", user="alice")
    collected, _ = collect_repository(
        github_for(sb), RecordStore(sqlite_store(tmp_path), "octo/bot"), reviews_horizon=None
    )
    assert [i.number for i in collected.items] == [2]
    assert len(collected.comments) == 1


def test_triage_and_benchmark_history_come_from_the_store(tmp_path):
    from bot.report.storage import bench_points, triage_predictions
    from bot.store.bench import add_bench_result
    from bot.store.predictions import record_correction, record_prediction

    store = sqlite_store(tmp_path)
    with store.session() as session:
        common = {"repo": REPO, "model_id": "m", "model_version": "1", "probabilities": {}}
        kept = record_prediction(session, issue_number=1, label="bug", decision="bug", **common)
        moved = record_prediction(session, issue_number=2, label="bug", decision="bug", **common)
        record_correction(session, moved.id, from_label="bug", to_label="question", actor="alice")
        removed = record_prediction(
            session, issue_number=3, label="docs", decision="docs", **common
        )
        record_correction(session, removed.id, from_label="docs", to_label=None, actor="alice")
        record_prediction(session, issue_number=4, label="bug", decision="needs-triage", **common)
        for branch, accuracy in (("main", 0.9756), ("feature", 0.5)):
            add_bench_result(
                session, repo=REPO, ref=branch, sha="a" * 40, branch=branch, model_name="mnist_mlp",
                metrics={"test_accuracy": accuracy, "test_loss": 0.08}, environment={},
            )  # fmt: skip
    found = {p.number: p.corrected_to for p in triage_predictions(store, REPO)}
    # #1 kept; #2 moved to question; #3's label removed; #4 applied no label (needs-triage).
    assert found == {1: None, 2: "question", 3: ""}
    assert kept.id and [p.accuracy for p in bench_points(store, REPO, "main")] == [0.9756]
