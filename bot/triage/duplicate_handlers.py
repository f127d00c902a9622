"""Points out likely duplicates of a new issue in the ``duplicates`` section of the bot's comment.

On ``issues.opened`` (and ``edited`` / ``reopened``, to check again) the issue is added to
the repository's index (:mod:`bot.triage.duplicates_index`, built by a harvest the first
time) and searched for (:mod:`bot.triage.duplicates`); the issues scoring
``triage.duplicates.similarity_threshold`` or more, at most ``max_candidates``, are listed
with links and scores, and with ``add_label`` the issue gets ``labels.possible_duplicate``.
``closed`` / ``deleted`` / ``transferred`` keep the index up to date. Without a store the
index is read from the API for the one event (the most recently updated issues, bounded).
A replayed event changes nothing: an unchanged text is not indexed again, an unchanged
section is not rewritten and a label already there is not added again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.events.context import HandlerContext
from bot.events.router import Event, Router, Skipped
from bot.sanitize import inline
from bot.triage.comment import write_section
from bot.triage.duplicates import Match, issue_features
from bot.triage.policy import skip_reason

router = Router()

SECTION = "duplicates"
REFRESH_AFTER = timedelta(hours=1)
"""A stored index older than this asks the API for the issues updated since (one request
when nothing changed), so issues missed while no bot ran still get in."""


def render_section(matches: Sequence[Match], repo: str) -> str | None:
    """The comment section listing ``matches`` (None when there are none). Titles are the
    authors' text, made inert; links are GitHub's own."""
    if not matches:
        return None
    lines = [
        "**Possible duplicates.** These issues look much like this one (score from 0 to 1, "
        "from the wording, the meaning and any error message):",
        "",
    ]
    for match in matches:
        url = match.html_url or f"https://github.com/{repo}/issues/{match.number}"
        state = "" if match.state == "open" else f" ({match.state})"
        lines.append(
            f"- #{match.number} {inline(match.title, 100)}{state}: score {match.score:.2f}, {url}"
        )
    lines += [
        "",
        "If one of them is the same problem, please add what is new there; if not, no action "
        "is needed.",
    ]
    return "\n".join(lines)


def _issue(event: Event) -> dict[str, Any] | None:
    issue = event.payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("number"), int):
        return None
    return issue


def _store_index(
    ctx: HandlerContext, repo: str, issue: Any, embedder: Any, model: str
) -> tuple[Any, str]:
    """The stored index with this issue in it, harvested first if none was built."""
    from bot.triage.duplicates_index import harvest, index_status, load_index, upsert_issues

    config = ctx.config.triage.duplicates
    assert ctx.store is not None
    status = index_status(ctx.store, repo)
    harvested = status.harvested_at if status is not None and status.model == model else None
    built = harvested is not None
    stale = harvested is not None and harvested < datetime.now(UTC) - REFRESH_AFTER
    note = "store"
    if ctx.github is not None and (not built or stale):
        result = harvest(
            ctx.store,
            ctx.repo(repo),
            repo,
            model,
            embedder,
            closed_within_days=config.closed_within_days,
        )
        note = f"store (harvested {result.read} issues)" if not built else "store (refreshed)"
    upsert_issues(ctx.store, repo, model, [issue], embedder)
    index = load_index(ctx.store, repo)
    return index, f"{note}, {len(index) if index else 0} issues"


@router.on("issues", "opened", "edited", "reopened")
def find_duplicates(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """Lists the open and recently closed issues most like this one, above the threshold."""
    from bot.triage.duplicates_index import (
        index_from_api,
        issue_from_payload,
        load_embedder,
        model_key,
    )

    triage = ctx.config.triage
    config = triage.duplicates
    payload_issue = _issue(event)
    repo = event.repo_full_name
    if payload_issue is None or not repo:
        return Skipped("the payload has no issue number or repository")
    skipped = skip_reason(triage, payload_issue, sender_is_bot=event.sender_is_bot)
    if skipped is not None:
        return Skipped(skipped)
    if not config.enabled:
        return Skipped("triage.duplicates.enabled is false")
    if event.action == "edited":
        changes = event.payload.get("changes")
        if not isinstance(changes, dict) or not ({"title", "body"} & set(changes)):
            return Skipped("the edit changed neither the title nor the body")
    if ctx.store is None and ctx.github is None:
        return Skipped("no store and no GitHub access: no issues to compare with")
    issue = issue_from_payload(payload_issue)
    if ctx.github is not None:
        # the text as it is now: a redelivery of an old event must not search with old words
        issue = issue_from_payload(ctx.issue(repo, issue.number).raw_data)
    embedder = load_embedder(triage.model, triage.min_precision)
    model = model_key(triage.model, embedder)
    if ctx.store is not None:
        index, where = _store_index(ctx, repo, issue, embedder, model)
    else:
        index = index_from_api(
            ctx.repo(repo), embedder, closed_within_days=config.closed_within_days
        )
        where = f"in memory for this event (no store), {len(index)} most recently updated issues"
    (vector,) = embedder.issue_embeddings([(issue.title, issue.body)])
    query = issue_features(issue.title, issue.body, vector)
    closed_after = datetime.now(UTC) - timedelta(days=config.closed_within_days)
    found: list[Match] = []
    if index is not None:
        found = index.search(
            query, config.max_candidates, exclude={issue.number}, closed_after=closed_after
        )
    matches = [m for m in found if m.score >= config.similarity_threshold]
    comment = write_section(ctx, repo, issue.number, SECTION, render_section(matches, repo))
    result: dict[str, Any] = {
        "matches": [m.to_json() for m in matches],
        "threshold": config.similarity_threshold,
        "index": where,
        "comment": comment,
        "labels": [],
    }
    if not matches:
        best = f" (best: #{found[0].number} at {found[0].score:.2f})" if found else ""
        return Skipped(
            f"no issue scores {config.similarity_threshold:.2f} or more{best}",
            {**result, "best": found[0].to_json() if found else None},
        )
    label = ctx.config.labels.possible_duplicate
    if config.add_label and label:
        result["labels"] = [label]
        if ctx.github is None or ctx.dry_run:
            ctx.plan("label", repo=repo, issue=issue.number, labels=[label])
        if ctx.github is not None:
            ctx.apply_labels(repo, issue.number, add=[label])
    return result


@router.on("issues", "closed", "deleted", "transferred")
def keep_index_current(event: Event, ctx: HandlerContext) -> dict[str, Any] | Skipped:
    """A closed issue stays searchable (as closed); a deleted or transferred one leaves."""
    from bot.triage.duplicates_index import (
        index_status,
        issue_from_payload,
        load_embedder,
        model_key,
        remove_issue,
        upsert_issues,
    )

    triage = ctx.config.triage
    payload_issue = _issue(event)
    repo = event.repo_full_name
    if payload_issue is None or not repo:
        return Skipped("the payload has no issue number or repository")
    if not (triage.enabled and triage.duplicates.enabled):
        return Skipped("duplicate search is off (triage.enabled / triage.duplicates.enabled)")
    if ctx.store is None:
        return Skipped("no store: no duplicate index to keep up to date")
    status = index_status(ctx.store, repo)
    if status is None:
        return Skipped(f"no duplicate index of {repo} yet: the next new issue builds it")
    issue = issue_from_payload(payload_issue)
    if event.action in ("deleted", "transferred"):
        removed = remove_issue(ctx.store, repo, issue.number)
        return {"index": "removed" if removed else "absent", "issue": issue.number}
    embedder = load_embedder(triage.model, triage.min_precision)
    changed = upsert_issues(ctx.store, repo, model_key(triage.model, embedder), [issue], embedder)
    return {"index": "updated" if changed else "unchanged", "issue": issue.number}
