"""New, returning and top contributors (bot/report/metrics/contributors.py) in the scenario."""

from __future__ import annotations

from bot.report.metrics.contributors import contributor_counts
from bot.report.people import PeoplePolicy
from tests.report.scenario import MARCH, POLICY, scenario


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


def test_bots_counted_as_people_when_configured():
    policy = PeoplePolicy.build(["spammer"], bots_excluded=False)
    result = contributor_counts(scenario(), MARCH, policy)
    # dependabot[bot] opened #13, committed once, and commented on #1: a 7th active, new.
    assert (result.active, result.new) == (7, 3)
