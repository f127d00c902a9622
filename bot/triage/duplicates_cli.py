"""``maintbot triage duplicates``: measure duplicate search on labelled pairs, build an index.

``eval`` answers "would the bot have found the duplicate?" on any tracker's data: for each
pair it ranks every other issue of the file for the pair's ``id`` and reports the share of
pairs whose ``duplicate_of`` is within the first 1, 5 and 10. ``index`` harvests a
repository's issues into the store, so the first new issue does not wait for it.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bot.cli_context import CapabilityGroup, pass_settings
from bot.errors import UsageError
from bot.settings import Settings

INPUT_FILE = click.Path(dir_okay=False, path_type=Path)
CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class EvalIssue:
    """One issue of an evaluation file."""

    id: str
    title: str
    body: str


def _missing(path: Path, what: str) -> UsageError:
    return UsageError(f"{what} file {path} does not exist", hint="check the path")


def read_eval_issues(path: Path) -> list[EvalIssue]:
    """Issues from CSV (``id,title,body``; backslash escapes as ``triage train`` reads
    them) or JSONL (one object per line with the same keys)."""
    if not path.is_file():
        raise _missing(path, "issues")
    issues: list[EvalIssue] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise UsageError(f"{path} line {line_no}: not JSON ({error.msg})") from error
                if not isinstance(record, dict) or "id" not in record:
                    raise UsageError(
                        f'{path} line {line_no}: no "id"',
                        hint="each line is an object with id, title and body",
                    )
                issues.append(
                    EvalIssue(str(record["id"]), str(record.get("title") or ""),
                              str(record.get("body") or ""))
                )  # fmt: skip
    else:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, escapechar="\\")
            columns = set(reader.fieldnames or [])
            lacking = [c for c in ("id", "title", "body") if c not in columns]
            if lacking:
                raise UsageError(
                    f"{path} has no column {', '.join(lacking)} (it has: "
                    f"{', '.join(sorted(columns)) or 'nothing'})",
                    hint="the issues file is CSV with id,title,body or JSONL",
                )
            for row in reader:
                issues.append(EvalIssue(row["id"], row["title"] or "", row["body"] or ""))
    seen: set[str] = set()
    for issue in issues:
        if issue.id in seen:
            raise UsageError(f"{path}: the id {issue.id!r} appears twice", hint="ids are unique")
        seen.add(issue.id)
    if not issues:
        raise UsageError(f"{path} holds no issue")
    return issues


def read_pairs(path: Path, known: set[str]) -> list[tuple[str, str]]:
    """``(id, duplicate_of)`` pairs from a CSV; every id must be in the issues file."""
    if not path.is_file():
        raise _missing(path, "pairs")
    pairs = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        lacking = [c for c in ("id", "duplicate_of") if c not in columns]
        if lacking:
            raise UsageError(
                f"{path} has no column {', '.join(lacking)} (it has: "
                f"{', '.join(sorted(columns)) or 'nothing'})",
                hint="the pairs file is CSV with id,duplicate_of",
            )
        for row in reader:
            line = reader.line_num
            for column in ("id", "duplicate_of"):
                if (row[column] or "") not in known:
                    raise UsageError(
                        f"{path} line {line}: {column} {row[column]!r} is not in the issues file"
                    )
            if row["id"] == row["duplicate_of"]:
                raise UsageError(f"{path} line {line}: an issue is paired with itself")
            pairs.append((row["id"], row["duplicate_of"]))
    if not pairs:
        raise UsageError(f"{path} holds no pair")
    return pairs


def duplicate_groups(pairs: Sequence[tuple[str, str]]) -> dict[str, set[str]]:
    """Issues linked by pairs, transitively: each id's group (itself included)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), set()).add(x)
    return {x: groups[find(x)] for x in parent}


def evaluate_pairs(
    issues: Sequence[EvalIssue],
    pairs: Sequence[tuple[str, str]],
    embeddings: Any,
    weights: Any,
) -> dict[str, Any]:
    """recall@1/5/10 of ``duplicate_of`` in the ranking of every other issue for ``id``.
    Other issues the pairs put in the same group are right answers too, not competitors:
    they are left out of that pair's ranking."""
    from bot.triage.duplicates import DuplicateIndex, IndexedIssue, issue_features, recall_at

    position = {issue.id: k for k, issue in enumerate(issues)}
    feats = [
        issue_features(i.title, i.body, None if embeddings is None else embeddings[k])
        for k, i in enumerate(issues)
    ]
    index = DuplicateIndex([IndexedIssue(k, i.title, feats[k]) for k, i in enumerate(issues)])
    groups = duplicate_groups(pairs)
    ranks: list[int | None] = []
    for query, target in pairs:
        exclude = {position[x] for x in groups[query] if x != target}
        matches = index.search(feats[position[query]], max(CUTOFFS), exclude=exclude,
                               weights=weights)  # fmt: skip
        found = [m.number for m in matches]
        ranks.append(found.index(position[target]) + 1 if position[target] in found else None)
    recall = recall_at(ranks, CUTOFFS)
    return {
        "recall_at_1": round(recall[1], 4),
        "recall_at_5": round(recall[5], 4),
        "recall_at_10": round(recall[10], 4),
        "pairs": len(pairs),
        "issues": len(issues),
        "weights": weights.to_json(),
    }


@click.group(cls=CapabilityGroup)
def duplicates() -> None:
    """Likely-duplicate search: evaluate it on labelled pairs, build a repository's index."""


@duplicates.command("eval")
@click.option(
    "--issues",
    "issues_path",
    type=INPUT_FILE,
    required=True,
    help="Issues: CSV with id,title,body or JSONL with the same keys.",
)
@click.option(
    "--pairs",
    "pairs_path",
    type=INPUT_FILE,
    required=True,
    help="Duplicate pairs: CSV with id,duplicate_of (both ids in the issues file).",
)
@click.option(
    "--lexical-only",
    is_flag=True,
    help="Score with TF-IDF alone (no embedding, no error channel), to compare.",
)
@click.option(
    "--model",
    "model_spec",
    default="",
    metavar="SPEC",
    help="The model whose embeddings to use (default: the built-in one).",
)
@pass_settings
def evaluate(
    settings: Settings, issues_path: Path, pairs_path: Path, lexical_only: bool, model_spec: str
) -> None:  # fmt: skip
    """Recall@1/5/10 of duplicate search on labelled pairs (the last line is JSON with --json)."""
    from bot.triage.duplicates import DEFAULT_WEIGHTS, LEXICAL_ONLY

    issues = read_eval_issues(issues_path)
    pairs = read_pairs(pairs_path, {i.id for i in issues})
    embeddings = None
    if not lexical_only:
        from bot.triage.duplicates_index import load_embedder

        embedder = load_embedder(model_spec)
        chunks = []
        for start in range(0, len(issues), 256):
            chunk = issues[start : start + 256]
            chunks.append(embedder.issue_embeddings([(i.title, i.body) for i in chunk]))
            if len(issues) > 256:
                click.echo(f"embedded {start + len(chunk)}/{len(issues)} issues", err=True)
        import numpy as np

        embeddings = np.vstack(chunks)
    result = evaluate_pairs(issues, pairs, embeddings, LEXICAL_ONLY if lexical_only else
                            DEFAULT_WEIGHTS)  # fmt: skip
    result["method"] = "lexical" if lexical_only else "combined"
    if settings.as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    click.echo(
        f"{result['method']}: recall@1 {result['recall_at_1']:.3f}  recall@5 "
        f"{result['recall_at_5']:.3f}  recall@10 {result['recall_at_10']:.3f}  "
        f"({result['pairs']} pairs, {result['issues']} issues)"
    )


@duplicates.command("index")
@click.option("--repo", required=True, metavar="OWNER/NAME", help="The repository to index.")
@click.option("--full", is_flag=True, help="Read every issue again, not only those updated since.")
@pass_settings
def index(settings: Settings, repo: str, full: bool) -> None:
    """Build or refresh a repository's duplicate index in the store (open issues and those
    closed within triage.duplicates.closed_within_days)."""
    from bot.triage.duplicates_index import harvest, load_embedder, model_key

    if repo.count("/") != 1:
        raise UsageError(f"{repo!r} is not a repository name", hint="use --repo OWNER/NAME")
    config = settings.config().triage
    github = settings.github()
    assert github is not None
    gh_repo = github.get_repo(repo)
    if settings.dry_run:
        from datetime import UTC, datetime, timedelta

        cutoff = datetime.now(UTC) - timedelta(days=config.duplicates.closed_within_days)
        from bot.github.listing import repo_issues, since_param
        from bot.triage.duplicates_index import issue_from_payload

        since = since_param(cutoff)
        listed = [issue_from_payload(i) for i in repo_issues(gh_repo, state="open")]
        listed += [issue_from_payload(i) for i in repo_issues(gh_repo, state="closed", since=since)]
        opened = sum(1 for t in listed if not t.is_pull and t.state == "open")
        closed = sum(
            1
            for t in listed
            if not t.is_pull and t.state == "closed" and t.closed_at and t.closed_at >= cutoff
        )
        data = {"repo": repo, "dry_run": True, "open": opened, "closed": closed}
        settings.emit(data, f"dry-run: would index {opened} open and {closed} recently closed "
                            f"issues of {repo} (the store is left as it is)")  # fmt: skip
        return
    embedder = load_embedder(config.model)

    def progress(count: int) -> None:
        if not settings.as_json:
            click.echo(f"{repo}: {count} issues read", err=True)

    result = harvest(
        settings.store(),
        gh_repo,
        repo,
        model_key(config.model, embedder),
        embedder,
        closed_within_days=config.duplicates.closed_within_days,
        progress=progress,
        full=full,
    )
    settings.emit(
        result.to_json(),
        f"{repo}: {result.read} issues read, {result.changed} indexed or updated, "
        f"{result.pruned} pruned; {result.issues} in the index ({result.seconds:.1f} s)",
    )
