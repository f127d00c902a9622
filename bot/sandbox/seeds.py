"""Load repository data into the sandbox from a seed: a directory, a JSON file or a JSONL file.

A seed is a list of *records*, each the keyword arguments of one ``SandboxState.add_*``
method plus a ``kind``:

=================  ===========================  ======================================
kind               method                       required keys
=================  ===========================  ======================================
``user``           ``add_user``                 ``login``
``repo``           ``add_repo``                 ``full_name``
``label``          ``add_label``                ``repo``, ``name``
``commit``         ``add_commit``               ``repo``, ``message``
``issue``          ``add_issue``                ``repo``, ``title``
``pull``           ``add_pull``                 ``repo``, ``title``
``issue_comment``  ``add_issue_comment``        ``repo``, ``issue_number``, ``body``
``issue_event``    ``add_issue_event``          ``repo``, ``issue_number``, ``event``
``review``         ``add_review``               ``repo``, ``pull_number``
``review_comment`` ``add_review_comment``       ``repo``, ``pull_number``, ``body``, ``path``
``check_run``      ``add_check_run``            ``repo``, ``name``, ``head_sha``
``installation``   ``add_installation``         ``account``
``content``        ``set_content``              ``repo``, ``path``, ``text``
=================  ===========================  ======================================

Three containers hold records:

* a **JSONL file**: one record per line, each with its ``kind``;
* a **JSON file**: a list of records, or an object whose keys are plural kinds
  (``{"users": [...], "repos": [...], "issues": [...]}``, ``kind`` then implied);
* a **directory** of such files named by plural kind (``repos.json``, ``issues.jsonl``...),
  loaded in dependency order (users, repos, labels, commits, issues, pulls, comments...).

Nesting saves repeating ``repo``: a repo record may hold ``labels``, ``commits``, ``issues``,
``pulls``, ``check_runs`` lists and a ``contents`` mapping; an issue or pull record may hold
``comments`` and ``events``; a pull record may hold ``reviews`` and ``review_comments``.
Timestamps are ISO 8601 strings. ``demo`` names the embedded ``seeds/demo.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.errors import UsageError
from bot.sandbox.state import SandboxState, SandboxStateError

DEMO_SEED = Path(__file__).with_name("seeds") / "demo.json"

# Plural file/section name -> record kind, in the order a directory is loaded.
PLURALS = {
    "users": "user",
    "repos": "repo",
    "labels": "label",
    "commits": "commit",
    "issues": "issue",
    "pulls": "pull",
    "issue_comments": "issue_comment",
    "issue_events": "issue_event",
    "reviews": "review",
    "review_comments": "review_comment",
    "check_runs": "check_run",
    "installations": "installation",
    "contents": "content",
}

SEED_HINT = "See bot/sandbox/README.md for the seed format, or use --data demo."


def load_seed(state: SandboxState, source: str | Path | dict[str, Any] | list[Any]) -> int:
    """Add everything in ``source`` to ``state``; returns the number of records loaded."""
    if isinstance(source, dict | list):
        return apply_records(state, records_of_document(source, "<seed>"), "<seed>")
    if str(source) == "demo":
        source = DEMO_SEED
    path = Path(source)
    if path.is_dir():
        total = 0
        for plural in PLURALS:
            for suffix in (".json", ".jsonl"):
                file = path / f"{plural}{suffix}"
                if file.is_file():
                    total += apply_records(state, read_file(file, PLURALS[plural]), str(file))
        if total == 0:
            raise UsageError(
                f"seed directory {path} holds no records (expected e.g. repos.json, issues.jsonl)",
                hint=SEED_HINT,
            )
        return total
    if not path.is_file():
        raise UsageError(f"seed {path} does not exist", hint=SEED_HINT)
    return apply_records(state, read_file(path, None), str(path))


def read_file(path: Path, kind: str | None) -> list[tuple[int, dict[str, Any]]]:
    """Records of one file with the line they start on (for error messages)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(
                    f"{path}:{number}: not valid JSON: {exc.msg}", hint=SEED_HINT
                ) from exc
            if not isinstance(record, dict):
                raise UsageError(f"{path}:{number}: a record must be a JSON object", hint=SEED_HINT)
            if kind is not None:
                record.setdefault("kind", kind)
            records.append((number, record))
        return records
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}", hint=SEED_HINT) from exc
    if kind is not None and isinstance(document, list):
        document = [{"kind": kind, **r} if isinstance(r, dict) else r for r in document]
    return list(records_of_document(document, str(path)))


def records_of_document(document: Any, where: str) -> list[tuple[int, dict[str, Any]]]:
    """Flatten a JSON seed document (list of records or ``{plural: [...]}``) in load order."""
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict):
        unknown = set(document) - set(PLURALS) - {"$schema", "description"}
        if unknown:
            raise UsageError(
                f"{where}: unknown seed section(s) {', '.join(sorted(unknown))}; "
                f"expected {', '.join(PLURALS)}",
                hint=SEED_HINT,
            )
        items = []
        for plural, kind in PLURALS.items():
            for record in document.get(plural, []):
                items.append({"kind": kind, **record} if isinstance(record, dict) else record)
    else:
        raise UsageError(f"{where}: a seed is a list of records or an object", hint=SEED_HINT)
    records = []
    for index, record in enumerate(items):
        if not isinstance(record, dict):
            raise UsageError(f"{where}: record {index + 1} is not a JSON object", hint=SEED_HINT)
        records.append((0, record))
    return records


def apply_records(
    state: SandboxState, records: Iterable[tuple[int, dict[str, Any]]], where: str
) -> int:
    """Call the ``add_*`` method of each record (and of the children nested in it)."""
    count = 0
    for line, record in records:
        location = f"{where}:{line}" if line else where
        try:
            count += apply_nested(state, record)
        except (SandboxStateError, TypeError, KeyError, ValueError) as exc:
            raise UsageError(
                f"{location}: cannot load {record.get('kind', '?')} record: {exc}",
                hint=SEED_HINT,
            ) from exc
    return count


# Children a record may nest: list key -> (child kind, key naming the parent's number).
NESTED = {
    "repo": {
        "labels": ("label", None),
        "commits": ("commit", None),
        "issues": ("issue", None),
        "pulls": ("pull", None),
        "check_runs": ("check_run", None),
    },
    "issue": {
        "comments": ("issue_comment", "issue_number"),
        "events": ("issue_event", "issue_number"),
    },
    "pull": {
        "comments": ("issue_comment", "issue_number"),
        "events": ("issue_event", "issue_number"),
        "reviews": ("review", "pull_number"),
        "review_comments": ("review_comment", "pull_number"),
    },
}


def apply_nested(state: SandboxState, record: dict[str, Any]) -> int:
    """Add one record, then its nested children, which inherit ``repo`` and its number."""
    fields = dict(record)
    kind = fields.get("kind")
    children = []
    for key, (child_kind, number_key) in NESTED.get(kind, {}).items():
        for child in fields.pop(key, None) or []:
            children.append((child_kind, number_key, child))
    result = apply_record(state, fields)
    repo = fields.get("full_name") if kind == "repo" else fields.get("repo")
    count = 1
    for child_kind, number_key, child in children:
        if not isinstance(child, dict):
            raise ValueError(f"a nested {child_kind} must be a JSON object")
        flat = {"kind": child_kind, "repo": repo, **child}
        if number_key is not None and result is not None:
            flat[number_key] = result["number"]
        count += apply_nested(state, flat)
    return count


def apply_record(state: SandboxState, record: dict[str, Any]) -> dict[str, Any] | None:
    """Dispatch one flat record to its ``add_*`` method."""
    fields = dict(record)
    kind = fields.pop("kind", None)
    if kind == "user":
        return state.add_user(fields.pop("login"), **fields)
    if kind == "repo":
        return state.add_repo(fields.pop("full_name"), **fields)
    if kind == "label":
        return state.add_label(fields.pop("repo"), fields.pop("name"), **fields)
    if kind == "commit":
        return state.add_commit(fields.pop("repo"), **fields)
    if kind == "issue":
        return state.add_issue(fields.pop("repo"), **fields)
    if kind == "pull":
        return state.add_pull(fields.pop("repo"), **fields)
    if kind == "issue_comment":
        return state.add_issue_comment(fields.pop("repo"), fields.pop("issue_number"), **fields)
    if kind == "issue_event":
        return state.add_issue_event(fields.pop("repo"), fields.pop("issue_number"), **fields)
    if kind == "review":
        return state.add_review(fields.pop("repo"), fields.pop("pull_number"), **fields)
    if kind == "review_comment":
        return state.add_review_comment(fields.pop("repo"), fields.pop("pull_number"), **fields)
    if kind == "check_run":
        return state.add_check_run(fields.pop("repo"), **fields)
    if kind == "installation":
        return state.add_installation(**fields)
    if kind == "content":
        state.set_content(fields["repo"], fields["path"], fields["text"])
        return None
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(PLURALS.values())}")
