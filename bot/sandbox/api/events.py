"""Issue events: the labeled / unlabeled / closed / reopened history of issues."""

from __future__ import annotations

from bot.sandbox.api.common import issue_record, paginated, repo_record, sort_by
from bot.sandbox.routing import ApiRequest, Reply, RouteTable, not_found

routes = RouteTable()


@routes.add("GET", "/repos/{owner}/{repo}/issues/events")
def list_repo_issue_events(req: ApiRequest) -> Reply:
    """Every issue's events, newest first, each with its ``issue`` as GitHub embeds it."""
    repo = repo_record(req)
    events = [e for issue in repo["issues"].values() for e in issue["events"]]
    ordered = sort_by(events, lambda e: e["created_at"], "desc")
    return paginated(req, ordered, lambda e: req.shapes.issue_event(e, with_issue=True))


@routes.add("GET", "/repos/{owner}/{repo}/issues/events/{event_id}")
def get_issue_event(req: ApiRequest) -> Reply:
    """One event (PyGithub fetches it to complete an event listed without ``label``)."""
    wanted = req.int_param("event_id")
    for issue in repo_record(req)["issues"].values():
        for event in issue["events"]:
            if event["id"] == wanted:
                return Reply(200, req.shapes.issue_event(event, with_issue=True))
    raise not_found()


@routes.add("GET", "/repos/{owner}/{repo}/issues/{issue_number}/events")
def list_issue_events(req: ApiRequest) -> Reply:
    issue = issue_record(req)
    ordered = sort_by(issue["events"], lambda e: e["created_at"], "asc")
    return paginated(req, ordered, req.shapes.issue_event)
