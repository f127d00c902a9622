"""Builds the labelled duplicate pairs we can honestly have offline, as eval input files.

Two sets, written as ``issues.jsonl`` + ``pairs.csv`` pairs for ``maintbot triage
duplicates eval`` (the NLBSE text stays out of the repository: its SOURCE.md allows only a
small sample, so the files go to ``--out``):

- ``nlbse``: the 1,500 NLBSE'24 issues as the haystack; pairs are issues of one project
  whose titles are the same once digits, quotes and punctuation are removed (four words or
  more): the React DevTools crash reports filed automatically with the error in the title
  ("Cannot add node "792" because a node with that id is already in the Store"), a few
  issues posted twice. Each later report -> the first one. Real duplicates, but easy: the
  title says it all.
- ``nlbse-untitled``: the same pairs with the later reports' titles removed, as if their
  authors had written their own: only the body (template, error message, stack) is left
  to find the first report by. Harder, still easier than a real tracker (the DevTools
  template is shared by every DevTools report of the haystack, which makes it harder).
- ``demo``: the embedded demo repository (bot/sandbox/seeds/demo.json), 25 issues, one of
  them closed by its maintainer as "Duplicate of #1". One pair.

Usage: ``.venv/bin/python -m research.duplicates.build_pairs --out /tmp/dups``
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NLBSE = REPO_ROOT.parent / "shared" / "data" / "issues" / "nlbse24" / "issues_train.csv"
DEMO = REPO_ROOT / "bot" / "sandbox" / "seeds" / "demo.json"
MIN_TITLE_WORDS = 4


def title_key(title: str) -> str:
    """A title with digits, quotes and punctuation removed, lower case."""
    return " ".join(re.findall(r"[a-z]+", re.sub(r"[\d\"'`]+", "", title.lower())))


def nlbse_sets(path: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, escapechar="\\"))
    issues = [
        {"id": f"n{k}", "title": r["title"], "body": r["body"], "created": r["created_at"]}
        for k, r in enumerate(rows)
    ]
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        key = title_key(row["title"])
        if len(key.split()) >= MIN_TITLE_WORDS:
            groups[(row["repo"], key)].append(k)
    pairs = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda k: (rows[k]["created_at"], k))
        first = members[0]
        pairs += [(f"n{k}", f"n{first}") for k in members[1:]]
    return issues, pairs


def demo_sets(path: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    seed = json.loads(path.read_text(encoding="utf-8"))
    issues, pairs = [], []
    for repo in seed["repos"]:
        for issue in repo.get("issues", []):
            issues.append(
                {"id": str(issue["number"]), "title": issue["title"], "body": issue.get("body", "")}
            )
            for comment in issue.get("comments", []):
                found = re.search(r"[Dd]uplicate of #(\d+)", comment.get("body", ""))
                if found:
                    pairs.append((str(issue["number"]), found.group(1)))
    return issues, pairs


def write(out: Path, name: str, issues: list[dict], pairs: list[tuple[str, str]]) -> None:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "issues.jsonl", "w", encoding="utf-8") as handle:
        for issue in issues:
            handle.write(json.dumps({k: issue[k] for k in ("id", "title", "body")}) + "\n")
    with open(folder / "pairs.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "duplicate_of"])
        writer.writerows(pairs)
    print(f"{name}: {len(issues)} issues, {len(pairs)} pairs -> {folder}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--nlbse", type=Path, default=NLBSE)
    args = parser.parse_args(argv)
    issues, pairs = nlbse_sets(args.nlbse)
    write(args.out, "nlbse", issues, pairs)
    queries = {q for q, _ in pairs}
    untitled = [{**i, "title": ""} if i["id"] in queries else i for i in issues]
    write(args.out, "nlbse-untitled", untitled, pairs)
    write(args.out, "demo", *demo_sets(DEMO))


if __name__ == "__main__":
    main()
