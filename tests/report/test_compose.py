"""The composed report (bot/report/compose.py): every metric at once, and its plain data."""

from __future__ import annotations

from bot.report.compose import ReportOptions, compose_report, to_plain
from bot.report.records import Dataset
from bot.report.stats import DurationStats
from bot.report.window import Window
from tests.report.scenario import MARCH, POLICY, REPO, scenario, t


def test_empty_window_gives_empty_metrics():
    empty = Window(t("2030-01-01 00:00"), t("2030-02-01 00:00"))
    report = compose_report(
        scenario(), empty, ReportOptions(policy=POLICY), generated_at=t("2030-02-02 00:00")
    )
    assert report.first_response.overall == DurationStats(0, None, None, None)
    assert report.closing.time_to_merge.count == 0
    assert (report.contributors.active, report.contributors.new) == (0, 0)
    assert report.retention.rate is None
    assert report.absence_factor.commits.factor is None
    assert report.review_load.reviews == 0
    # Still open in 2030: #2 #3 #5 #6 #7 and #14 #15 #17, all more than a year old.
    assert (report.backlog.open_issues, report.backlog.open_pulls) == (5, 3)


def test_repository_without_any_issue():
    nothing = Dataset(repos=(REPO,))
    report = compose_report(nothing, MARCH, ReportOptions(), generated_at=t("2024-04-02 00:00"))
    assert report.first_response.without_response == 0
    assert report.backlog.open_issues == 0
    assert report.triage.overall.precision is None
    assert report.bench == ()
    assert to_plain(report)["contributors"]["active"] == 0


def test_report_json_is_plain_data():
    report = compose_report(
        scenario(), MARCH, ReportOptions(policy=POLICY), generated_at=t("2024-04-02 00:00")
    )
    plain = to_plain(report)
    assert plain["window"] == {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    assert plain["contributors"]["top"]["reviews"][0] == {"name": "alice", "count": 2}
    assert "durations" not in plain["first_response"]
