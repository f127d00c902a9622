"""Reading labelled issues: the NLBSE CSV dialect, JSONL, and the errors for bad files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.errors import UsageError
from bot.triage.data import LabelledIssue, by_repo, label_set, read_labelled


def test_csv_backslash_is_an_escape_character(tmp_path):
    path = tmp_path / "issues.csv"
    # as written by pandas with escapechar="\\": a quote inside a field is \" and a
    # literal backslash is \\ ; without the escape character both would be mangled
    path.write_text(
        "repo,created_at,label,title,body\n"
        'a/b,2024-01-01,bug,"Crash in \\"parse\\"","path C:\\\\tmp\\\\x fails"\n'
        'a/b,2024-01-02,question,How to?,"multi\nline"\n',
        encoding="utf-8",
    )
    issues = read_labelled(path)
    assert [i.title for i in issues] == ['Crash in "parse"', "How to?"]
    assert issues[0].body == "path C:\\tmp\\x fails"
    assert issues[1].body == "multi\nline"
    assert issues[0].repo == "a/b"


def test_real_nlbse_training_split(shared_dir):
    issues = read_labelled(shared_dir / "data/issues/nlbse24/issues_train.csv")
    # SOURCE.md: 1,500 issues, 100 per (project, label), five projects
    assert len(issues) == 1500
    assert set(Counter((i.repo, i.label) for i in issues).values()) == {100}
    assert len(by_repo(issues)) == 5
    assert label_set(issues) == ["bug", "feature", "question"]
    assert not any("\\\\" in i.body for i in issues[:50] if "\\" not in i.body)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("repo,title,text\na,b,c\n")
    with pytest.raises(UsageError, match="missing column.*body, label") as error:
        read_labelled(path)
    assert error.value.hint


def test_unknown_label_is_an_error(tmp_path):
    path = tmp_path / "issues.jsonl"
    lines = [{"title": "t1", "body": "b", "label": "bug"}, {"title": "t2", "label": "bgu"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.raises(UsageError, match="unknown label.*'bgu'"):
        read_labelled(path, labels=["bug", "feature", "question"])


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_files_are_errors(tmp_path, content):
    for name in ("empty.csv", "empty.jsonl"):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(UsageError, match="empty|no labelled issues"):
            read_labelled(path)


def test_header_only_csv_is_an_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("title,body,label\n")
    with pytest.raises(UsageError, match="no labelled issues"):
        read_labelled(path)


def test_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "issues.jsonl"
    path.write_text('{"title": "a", "label": "bug"}\n{not json}\n')
    with pytest.raises(UsageError, match=r"issues.jsonl:2: not valid JSON"):
        read_labelled(path)
    path.write_text('{"title": "a", "label": "bug"}\n{"title": "b"}\n')
    with pytest.raises(UsageError, match=r":2: missing label"):
        read_labelled(path)


def test_single_label_cannot_train(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('{"title": "a", "label": "bug"}\n{"title": "b", "label": "bug"}\n')
    with pytest.raises(UsageError, match="only one label"):
        read_labelled(path)


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_labelled(tmp_path / "nope.csv")
    other = tmp_path / "issues.txt"
    other.write_text("x")
    with pytest.raises(UsageError, match="unknown file type"):
        read_labelled(other)


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_pooled_sources_are_checked_together_and_count_an_issue_once(tmp_path):
    """A file of one label is refused alone but may join others (e.g. a maintainer's own
    `docs` issues beside the NLBSE split); an issue two sources hold (same repository and
    number) counts once, from the first; issues without a number are never merged."""
    from bot.triage.data import pool_issues

    docs = _jsonl(tmp_path / "docs.jsonl", [{"title": "Typo", "label": "docs", "repo": "o/r"}])
    export = _jsonl(
        tmp_path / "export.jsonl",
        [
            {"title": "Crash", "label": "bug", "repo": "o/r", "number": 7},
            {"title": "Add X", "label": "feature", "repo": "o/r", "number": 8},
            {"title": "How?", "label": "question", "repo": "o/r"},
        ],
    )
    with pytest.raises(UsageError, match="only one label"):
        read_labelled(docs)
    harvested = [
        LabelledIssue("Crash (edited)", "", "bug", "o/r", 7),
        LabelledIssue("How?", "", "question", "o/r"),
        LabelledIssue("Crash", "", "bug", "other/r", 7),
    ]
    sources = [
        ("export.jsonl", read_labelled(export, pooled=True)),
        ("docs.jsonl", read_labelled(docs, pooled=True)),
        ("o/r", harvested),
    ]
    pooled = pool_issues(sources)
    assert [(i.title, i.repo, i.number) for i in pooled] == [
        ("Crash", "o/r", 7),
        ("Add X", "o/r", 8),
        ("How?", "o/r", None),
        ("Typo", "o/r", None),
        ("How?", "o/r", None),
        ("Crash", "other/r", 7),
    ]
    assert label_set(pooled) == ["bug", "feature", "question", "docs"]
    with pytest.raises(UsageError, match=r"docs.jsonl \+ o/r: only one label"):
        pool_issues([sources[1], ("o/r", [LabelledIssue("Typo 2", "", "docs", "o/r", 9)])])
