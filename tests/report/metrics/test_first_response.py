"""Time to first response (bot/report/metrics/first_response.py) over the hand-built scenario.

Each expected value is worked out by hand from the scenario's lists (see the comments).
"""

from __future__ import annotations

from bot.report.business_hours import BusinessHours
from bot.report.metrics.first_response import response_histogram, time_to_first_response
from bot.report.people import PeoplePolicy
from tests.report.scenario import MARCH, POLICY, D, H, assert_stats, scenario


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


def test_ignored_users_items_are_left_out():
    policy = PeoplePolicy.build(["spammer", "carol"])
    result = time_to_first_response(scenario(), MARCH, policy)
    # Without carol's #1 and #10 (both 3 h) and her draft #14.
    assert (result.overall.count, result.drafts) == (4, 0)


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
