"""Check runs: what the benchmark reports on a pull request's head commit."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.commits import find_commit
from bot.sandbox.api.common import now, repo_record, require_auth
from bot.sandbox.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, link_header, page_slice
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, invalid, not_found
from bot.sandbox.timeutil import parse_time

routes = RouteTable()

STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
)


def _check_run(req: ApiRequest) -> dict[str, Any]:
    found = repo_record(req)["check_runs"].get(req.int_param("check_run_id"))
    if found is None:
        raise not_found()
    return found


def _apply(record: dict[str, Any], body: dict[str, Any]) -> None:
    """Update fields as GitHub does: a conclusion completes the run."""
    for key in ("name", "details_url", "external_id"):
        if key in body:
            record[key] = body[key]
    if "status" in body:
        if body["status"] not in STATUSES:
            raise invalid("CheckRun", "status")
        record["status"] = body["status"]
    if body.get("conclusion") is not None:
        if body["conclusion"] not in CONCLUSIONS:
            raise invalid("CheckRun", "conclusion")
        record["conclusion"] = body["conclusion"]
        record["status"] = "completed"
    for key in ("started_at", "completed_at"):
        if body.get(key):
            try:
                record[key] = parse_time(body[key])
            except ValueError as exc:
                raise invalid("CheckRun", key) from exc
    if record["status"] == "completed" and record["completed_at"] is None:
        record["completed_at"] = now()
    if record["status"] == "completed" and record["conclusion"] is None:
        raise invalid("CheckRun", "conclusion", "missing_field")
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            raise invalid("CheckRun", "output")
        if not record["output"] and not (output.get("title") and output.get("summary")):
            raise invalid("CheckRun", "output", "missing_field", "output needs title and summary")
        merged = dict(record["output"])
        merged.update({k: v for k, v in output.items() if k != "annotations"})
        merged["annotations"] = list(record["output"].get("annotations", [])) + list(
            output.get("annotations", [])
        )
        record["output"] = merged


@routes.add("POST", "/repos/{owner}/{repo}/check-runs")
def create_check_run(req: ApiRequest) -> Reply:
    require_auth(req)
    repo = repo_record(req)
    body = req.body_dict()
    for required in ("name", "head_sha"):
        if not isinstance(body.get(required), str) or not body[required]:
            raise invalid("CheckRun", required, "missing_field")
    record = req.state.add_check_run(
        repo["full_name"],
        name=body["name"],
        head_sha=body["head_sha"],
        app_id=req.state.app["id"] if req.state.app else None,
    )
    record["completed_at"] = None
    record["status"] = "queued"
    _apply(record, {k: v for k, v in body.items() if k not in ("name", "head_sha")})
    return Reply(201, req.shapes.check_run(record))


@routes.add("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(req: ApiRequest) -> Reply:
    return Reply(200, req.shapes.check_run(_check_run(req)))


@routes.add("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check_run(req: ApiRequest) -> Reply:
    require_auth(req)
    record = _check_run(req)
    _apply(record, req.body_dict())
    return Reply(200, req.shapes.check_run(record))


@routes.add("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_check_runs_for_ref(req: ApiRequest) -> Reply:
    """``{"total_count", "check_runs"}`` for a sha (or a branch's tip)."""
    repo = repo_record(req)
    ref = req.params["ref"]
    commit = find_commit(repo, ref)
    sha = commit["sha"] if commit else ref
    found = [r for r in repo["check_runs"].values() if r["head_sha"] == sha]
    name = req.query.get("check_name")
    if name:
        found = [r for r in found if r["name"] == name]
    found.sort(key=lambda r: r["id"], reverse=True)
    per_page = req.query_int("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    page = req.query_int("page", 1)
    reply = Reply(
        200,
        {
            "total_count": len(found),
            "check_runs": [req.shapes.check_run(r) for r in page_slice(found, page, per_page)],
        },
    )
    link = link_header(req.base_url + req.path, req.query, page, per_page, len(found))
    if link:
        reply.headers["Link"] = link
    return reply
