"""Actions artifacts: a workflow run's uploads, listed, described and downloaded as a zip.

As on GitHub, ``GET .../actions/artifacts/{id}/zip`` answers 302 to a short-lived blob URL
(here ``/_blobs/artifacts/{id}?sig=...`` on the sandbox itself, served without a token as
a signed storage URL is) and an expired artifact answers 410. Records are added with
``state.add_artifact``; answers follow the ``artifact`` schema of GitHub's OpenAPI.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from bot.sandbox.api.common import repo_record
from bot.sandbox.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, link_header, page_slice
from bot.sandbox.routing import ApiError, ApiRequest, Reply, RouteTable, not_found
from bot.sandbox.shapes import node_id
from bot.sandbox.timeutil import format_time

routes = RouteTable()

RETENTION = timedelta(days=90)  # GitHub's default artifact retention


def artifact_shape(req: ApiRequest, record: dict[str, Any]) -> dict[str, Any]:
    """An ``artifact``: its size is the zip's, its run the one it was uploaded by."""
    repo = req.state.repo(record["repo"])
    api = f"{req.shapes.repo_url(record['repo'])}/actions/artifacts/{record['id']}"
    return {
        "id": record["id"],
        "node_id": node_id("Artifact", record["id"]),
        "name": record["name"],
        "size_in_bytes": len(record["zip"]),
        "url": api,
        "archive_download_url": f"{api}/zip",
        "expired": record["expired"],
        "created_at": format_time(record["created_at"]),
        "expires_at": format_time(record["created_at"] + RETENTION),
        "updated_at": format_time(record["created_at"]),
        "digest": "sha256:" + hashlib.sha256(record["zip"]).hexdigest(),
        "workflow_run": {
            "id": record["run_id"],
            "repository_id": repo["id"],
            "head_repository_id": repo["id"],
            "head_branch": repo["default_branch"],
            "head_sha": record["head_sha"],
        },
    }


def _artifacts(req: ApiRequest) -> dict[int, dict[str, Any]]:
    return repo_record(req).get("artifacts", {})


def _artifact(req: ApiRequest) -> dict[str, Any]:
    try:
        wanted = int(req.params["artifact_id"])
    except ValueError as exc:
        raise not_found() from exc
    found = _artifacts(req).get(wanted)
    if found is None:
        raise not_found()
    return found


@routes.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts")
def list_run_artifacts(req: ApiRequest) -> Reply:
    """``{"total_count", "artifacts"}`` of one run, newest first; ``name`` filters exactly."""
    try:
        run_id = int(req.params["run_id"])
    except ValueError as exc:
        raise not_found() from exc
    found = [a for a in _artifacts(req).values() if a["run_id"] == run_id]
    name = req.query.get("name")
    if name:
        found = [a for a in found if a["name"] == name]
    found.sort(key=lambda a: a["id"], reverse=True)
    per_page = req.query_int("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    page = req.query_int("page", 1)
    reply = Reply(
        200,
        {
            "total_count": len(found),
            "artifacts": [artifact_shape(req, a) for a in page_slice(found, page, per_page)],
        },
    )
    link = link_header(req.base_url + req.path, req.query, page, per_page, len(found))
    if link:
        reply.headers["Link"] = link
    return reply


@routes.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}")
def get_artifact(req: ApiRequest) -> Reply:
    return Reply(200, artifact_shape(req, _artifact(req)))


@routes.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}")
def download_artifact(req: ApiRequest) -> Reply:
    """302 to the zip's blob URL; 410 once the artifact has expired (GitHub's answers)."""
    record = _artifact(req)
    if req.params["archive_format"] != "zip":
        raise not_found()
    if record["expired"]:
        raise ApiError(410, "Artifact has expired")
    blob = f"{req.shapes.web}/_blobs/artifacts/{record['id']}?sig={record['blob_key']}"
    return Reply(302, None, {"Location": blob})


@routes.add("GET", "/_blobs/artifacts/{artifact_id}", resource=None)
def artifact_blob(req: ApiRequest) -> Reply:
    """The zip itself, for whoever holds the signed URL (no token, no API quota)."""
    try:
        wanted = int(req.params["artifact_id"])
    except ValueError as exc:
        raise not_found() from exc
    for repo in req.state.repos.values():
        record = repo.get("artifacts", {}).get(wanted)
        if record is not None and req.query.get("sig") == record["blob_key"]:
            return Reply(200, record["zip"], {"Content-Type": "application/zip"})
    raise ApiError(403, "Server failed to authenticate the request.")
