"""Report metrics over the hand-built scenario in tests/report_scenario.py.

Each expected value is worked out by hand from the scenario's lists (see the comments).
"""

from __future__ import annotations

from collections import Counter
from datetime import time

import pytest

from bot.report.business_hours import BusinessHours, business_seconds
from bot.report.compose import ReportOptions, compose_report, to_plain
from bot.report.metrics.absence_factor import absence, absence_factor
from bot.report.metrics.activity import activity
from bot.report.metrics.backlog import backlog
from bot.report.metrics.bench_trend import bench_trend
from bot.report.metrics.contributors import contributor_counts
from bot.report.metrics.first_response import response_histogram, time_to_first_response
from bot.report.metrics.retention import first_timer_retention
from bot.report.metrics.review_load import review_load
from bot.report.metrics.time_to_close import time_to_close
from bot.report.metrics.triage import triage
from bot.report.people import PeoplePolicy
from bot.report.records import Dataset
from bot.report.stats import DurationStats, humanize_seconds, percentile
from bot.report.window import Window, parse_moment, resolve_window
from tests.report_scenario import REPO, scenario, t

MARCH = Window(t("2024-03-01 00:00"), t("2024-04-01 00:00"))
POLICY = PeoplePolicy.build(["spammer"])
H = 3600.0
D = 86400.0
TYPE_LABELS = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
}


def assert_stats(actual: DurationStats, count, mean, median, p90):
    expected = (count, mean, median, p90)
    assert (actual.count, actual.mean, actual.median, actual.p90) == pytest.approx(expected)


def test_time_to_first_response_follows_the_published_definition():
    result = time_to_first_response(scenario(), MARCH, POLICY)
    # Issues opened in March: #1 carol 10:00, the bot (10:05) and carol herself (11:00) do not
    # count, alice at 13:00 does: 3 h. #2: spammer is ignored, bob a day later: 24 h.
    # #3 (ghost) gets no answer. #7 opens exactly at the end: outside.
    assert_stats(result.issues, 2, (3 * H + 24 * H) / 2, (3 * H + 24 * H) / 2, 3 * H + 0.9 * 21 * H)
    # Pull requests: #10 bob's diff comment at 12:00 comes before alice's review: 3 h.
    # #11 leaves draft 03-06 00:00 (bob's comment before that does not count); alice 02:00: 2 h.
    # #12 no answer. #13 a bot's: left out. #14 still a draft. #15 bob's own review does not
    # count, alice's comment a day later: 24 h. #16 bob's review after 12 h.
    # Sorted [2, 3, 12, 24] h: mean 10.25 h, median 7.5 h, p90 at rank 2.7 → 12 + 0.7·12 h.
    assert_stats(result.pulls, 4, 10.25 * H, 7.5 * H, 12 * H + 0.7 * 12 * H)
    # All six: [2, 3, 3, 12, 24, 24] h: mean 68/6 h, median 7.5 h, p90 at rank 4.5 → 24 h.
    assert_stats(result.overall, 6, 68 / 6 * H, 7.5 * H, 24 * H)
    assert result.without_response == 2  # #3 and #12
    assert result.drafts == 1  # #14
    assert result.business_hours is None


def test_business_hours_response_time_counts_only_working_time():
    hours = BusinessHours.build("UTC", ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00")
    result = time_to_first_response(scenario(), MARCH, POLICY, hours=hours)
    # #1 Sat, #2 Sun→Mon 00:00, #10 Sun, #11 Wed 00:00→02:00: no working time at all.
    # #15 Mon 00:00 → Tue 00:00: Monday's 8 h. #16 Thu 00:00 → 12:00: 09:00–12:00 = 3 h.
    # [0, 0, 0, 0, 3, 8] h: mean 11/6 h, median 0, p90 at rank 4.5 → 3 + 0.5·5 h.
    assert_stats(result.business_hours, 6, 11 / 6 * H, 0.0, 5.5 * H)


@pytest.mark.parametrize(
    ("zone", "start", "end", "expected_hours"),
    [
        ("UTC", "2024-03-01 16:00", "2024-03-04 10:00", 2),  # Fri 1 h + Mon 1 h
        ("UTC", "2024-03-02 08:00", "2024-03-03 20:00", 0),  # a weekend
        ("UTC", "2024-03-04 08:00", "2024-03-04 18:00", 8),  # a whole Monday
        ("UTC", "2024-03-04 12:00", "2024-03-04 12:00", 0),
        ("UTC", "2024-01-01 09:00", "2025-01-06 09:00", 265 * 8),  # 53 weeks of 5 days
        # Berlin: 16:00 CET Friday is 15:00 UTC; clocks jump on Sunday 31 March; Tuesday
        # 10:00 CEST is 08:00 UTC. Friday 1 h + Monday 8 h + Tuesday 1 h.
        ("Europe/Berlin", "2024-03-29 15:00", "2024-04-02 08:00", 10),
    ],
)
def test_business_seconds(zone, start, end, expected_hours):
    hours = BusinessHours.build(zone, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00")
    assert business_seconds(t(start), t(end), hours) == expected_hours * H


def test_business_hours_read_the_configured_spelling():
    hours = BusinessHours.build("UTC", ["Monday", "wed"], "08:30", "12:00")
    assert hours.working_days == frozenset({0, 2})
    assert (hours.start, hours.end) == (time(8, 30), time(12, 0))


def test_time_to_close_and_merge():
    result = time_to_close(scenario(), MARCH, POLICY)
    # Closed in March: #1 after 3 days; #4 on 2024-03-01 00:00 exactly (inside, the start is
    # included) after Feb 10 → Mar 1 of a leap year = 20 days.
    assert_stats(result.time_to_close, 2, 11.5 * D, 11.5 * D, 3 * D + 0.9 * 17 * D)
    # Merged: #10 24 h; #11 24 h from leaving draft; #12 6 h; #13 is a bot's.
    assert_stats(result.time_to_merge, 3, 18 * H, 24 * H, 24 * H)
    assert result.closed_unmerged == 1  # #16


def test_backlog_at_the_end_of_the_window():
    result = backlog(scenario(), MARCH, POLICY)
    # Open on 2024-04-01: issues #2 (22 d), #3 (16.5 d), #5 (56 d), #6 (> 1 year); #7 opens at
    # the end. Pull requests #14 (12 d), #15 (7 d exactly: the 7–30 bucket), #17 (41 d).
    assert (result.open_issues, result.open_pulls) == (4, 3)
    buckets = {b.label: (b.issues, b.pulls) for b in result.buckets}
    assert buckets == {
        "< 7 days": (0, 0),
        "7–30 days": (2, 2),
        "30–90 days": (1, 1),
        "90–365 days": (0, 0),
        "≥ 1 year": (1, 0),
    }
    # Unanswered: #5 (oldest, Feb 5 → Apr 1 = 56 days) then #3; #2 and #6 got answers.
    assert [(w.number, w.waiting_seconds) for w in result.unanswered_issues] == [
        (5, 56 * D),
        (3, 16.5 * D),
    ]
    assert result.unanswered_issues[1].author == "ghost"
    # Awaiting review: #15 (only its author reviewed it), 7 days. #14 is a draft; #17 was
    # reviewed by a deleted account, which still is a review.
    assert [(w.number, w.waiting_seconds) for w in result.awaiting_review] == [(15, 7 * D)]
    assert (result.unanswered_issues_total, result.awaiting_review_total) == (2, 1)


def test_backlog_lists_are_capped_but_totals_are_not():
    result = backlog(scenario(), MARCH, POLICY, listed=1)
    assert [w.number for w in result.unanswered_issues] == [5]
    assert result.unanswered_issues_total == 2


def test_new_returning_and_top_contributors():
    result = contributor_counts(scenario(), MARCH, POLICY)
    # Active in March: alice, bob, frank (since 2023), dave (since February), carol and Zed
    # (first ever in March). ghost, the bot and spammer are never counted.
    assert (result.active, result.new, result.returning) == (6, 2, 4)
    assert result.new_names == ("carol", "Zed Example")
    # All kinds: alice 4 commits + 2 reviews + 2 comments + #16 = 9; bob 2 + 1 + 3 + #15 = 7;
    # carol #1 + #10 + #14 + 1 commit + 1 comment = 5; frank #2 + #12 = 2; dave #11; Zed 1.
    assert [tuple(c) for c in result.most_active] == [
        ("alice", 9),
        ("bob", 7),
        ("carol", 5),
        ("frank", 2),
        ("dave", 1),
        ("Zed Example", 1),
    ]
    top = {kind: [tuple(c) for c in counts] for kind, counts in result.top.items()}
    assert top == {
        "commits": [("alice", 4), ("bob", 2), ("carol", 1), ("Zed Example", 1)],
        "pulls_merged": [("carol", 1), ("dave", 1), ("frank", 1)],
        "reviews": [("alice", 2), ("bob", 1)],  # bob's review of his own #15 is not one
        "issues": [("carol", 1), ("frank", 1)],
        # carol and alice on #1, bob on #2, #10 (diff) and #11, alice on #15.
        "comments": [("bob", 3), ("alice", 2), ("carol", 1)],
    }


def test_first_timer_retention():
    result = first_timer_retention(scenario(), MARCH, POLICY)
    # New in February (2024-01-30 – 2024-02-29): erin (Feb 5) and dave (Feb 10); alice's
    # February commit is not her first. dave is back in March (#11), erin is not.
    assert (result.previous_new, result.retained, result.rate) == (2, 1, 0.5)
    assert result.retained_names == ("dave",)


def test_absence_factor():
    result = absence_factor(scenario(), MARCH, POLICY)
    # Commits by people in March: alice 4, bob 2, carol 1, Zed 1 (the bot's is not counted):
    # alice alone holds 4 of 8, which reaches 50 %.
    assert (result.commits.factor, result.commits.total) == (1, 8)
    assert [tuple(h) for h in result.commits.holders] == [("alice", 4)]
    # Reviews: alice 2, bob 1; 2 ≥ 1.5.
    assert (result.reviews.factor, result.reviews.total) == (1, 3)


@pytest.mark.parametrize(
    ("counts", "factor"),
    [
        ({"a": 1, "b": 1, "c": 1, "d": 1}, 2),  # 2 of 4 is exactly half
        ({"a": 3, "b": 3, "c": 2, "d": 2, "e": 2}, 2),  # 6 of 12
        ({"a": 1, "b": 1, "c": 1}, 2),  # 1 of 3 is not enough, 2 of 3 is
        ({"a": 10}, 1),
    ],
)
def test_absence_is_the_fewest_people_holding_half(counts, factor):
    assert absence(Counter(counts)).factor == factor


def test_absence_of_nothing_is_none():
    assert absence(Counter()).factor is None


def test_review_load():
    result = review_load(scenario(), MARCH, POLICY)
    assert (result.reviews, result.reviewers) == (3, 2)
    assert [tuple(r) for r in result.per_reviewer] == [("alice", 2), ("bob", 1)]
    # Merged in March by people: #10, #11 (both reviewed by alice before the merge), #12 (none).
    assert (result.merged, result.merged_without_review) == (3, 1)
    assert [m.number for m in result.unreviewed] == [12]


def test_triage_distribution_and_precision():
    result = triage(scenario(), MARCH, POLICY, TYPE_LABELS)
    # Issues opened in March: #1 bug, #2 question, #3 no type label.
    assert result.type_counts == (
        ("bug", 1),
        ("feature", 0),
        ("question", 1),
        ("docs", 0),
        ("unlabelled", 1),
    )
    # March predictions: bug on #1 kept, question on #2 corrected, bug on #3 kept.
    per_label = {p.label: (p.predicted, p.kept, p.precision) for p in result.precision}
    assert per_label == {"bug": (2, 2, 1.0), "question": (1, 0, 0.0)}
    assert (result.overall.predicted, result.overall.kept) == (3, 2)
    assert result.overall.precision == pytest.approx(2 / 3)


def test_bench_trend():
    trends = {t.model: t for t in bench_trend(scenario(), MARCH)}
    # mnist_mlp in March: 97.56 % then 97.12 %: −0.44 points. The February point is outside.
    assert [p[2] for p in trends["mnist_mlp"].points] == [0.9756, 0.9712]
    assert trends["mnist_mlp"].change_points == pytest.approx(-0.44)
    assert trends["mnist_cnn"].change_points is None


def test_activity_per_day():
    result = activity(scenario(), MARCH, POLICY)
    assert result.period_days == 1 and len(result.periods) == 31
    totals = Counter()
    for period in result.periods:
        totals.update(period.counts)
    # issues #1 #2 #3; pulls #10 #11 #12 #14 #15 #16 (not the bot's #13); closed #1 #4;
    # merged #10 #11 #12; comments: 6 (not the bot's, not spammer's, nothing outside March).
    assert dict(totals) == {
        "issues_opened": 3,
        "pulls_opened": 6,
        "issues_closed": 2,
        "pulls_merged": 3,
        "comments": 6,
    }
    assert result.periods[0].counts["issues_closed"] == 1  # #4 at the very start
    assert result.periods[1].counts["issues_opened"] == 1  # #1 on March 2


def test_response_histogram():
    assert response_histogram((0.0, 3599.0, 3600.0, 5 * D, 40 * D)) == (
        ("< 1 h", 2),
        ("1–4 h", 1),
        ("4–24 h", 0),
        ("1–3 d", 0),
        ("3–7 d", 1),
        ("7–30 d", 0),
        ("≥ 30 d", 1),
    )


def test_bots_counted_as_people_when_configured():
    policy = PeoplePolicy.build(["spammer"], bots_excluded=False)
    result = contributor_counts(scenario(), MARCH, policy)
    # dependabot[bot] opened #13, committed once, and commented on #1: a 7th active, new.
    assert (result.active, result.new) == (7, 3)


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


def test_ignored_users_items_are_left_out():
    policy = PeoplePolicy.build(["spammer", "carol"])
    result = time_to_first_response(scenario(), MARCH, policy)
    # Without carol's #1 and #10 (both 3 h) and her draft #14.
    assert (result.overall.count, result.drafts) == (4, 0)


def test_report_json_is_plain_data():
    report = compose_report(
        scenario(), MARCH, ReportOptions(policy=POLICY), generated_at=t("2024-04-02 00:00")
    )
    plain = to_plain(report)
    assert plain["window"] == {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    assert plain["contributors"]["top"]["reviews"][0] == {"name": "alice", "count": 2}
    assert "durations" not in plain["first_response"]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 90, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 90, 4.6),
        ([3.0, 1.0, 2.0], 0, 1.0),
    ],
)
def test_percentile_interpolates_linearly(values, p, expected):
    assert percentile(values, p) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (15, "15s"),
        (42 * 60, "42m"),
        (5 * H + 12 * 60, "5h 12m"),
        (3 * D + 4 * H, "3d 4h"),
        (2 * D, "2d"),
    ],
)
def test_humanize_seconds(seconds, text):
    assert humanize_seconds(seconds) == text


def test_window_edges_and_parsing():
    assert t("2024-03-01 00:00") in MARCH
    assert t("2024-04-01 00:00") not in MARCH
    assert MARCH.previous() == Window(t("2024-01-30 00:00"), t("2024-03-01 00:00"))
    assert MARCH.label == "2024-03-01 – 2024-03-31"
    assert parse_moment("2024-03-31", end_of_day=True) == t("2024-04-01 00:00")
    assert parse_moment("2024-03-31T12:00:00+02:00") == t("2024-03-31 10:00")
    now = t("2024-04-15 13:45")
    assert resolve_window("2024-03-01", "2024-03-31", window_days=30, now=now) == MARCH
    assert resolve_window(None, None, window_days=30, now=now) == Window(
        t("2024-03-16 00:00"), t("2024-04-15 00:00")
    )
    assert resolve_window("2024-04-01", None, window_days=30, now=now).end == now


def test_bad_window_is_a_usage_error():
    from bot.errors import UsageError

    with pytest.raises(UsageError, match="not a date"):
        parse_moment("March")
    with pytest.raises(UsageError, match="empty"):
        resolve_window("2024-03-31", "2024-03-01", window_days=30, now=t("2024-04-15 00:00"))
