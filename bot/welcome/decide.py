"""Is this a person's first issue or pull request here? Pure rules over what GitHub says.

``author_association`` is a cheap first filter, not the answer: GitHub derives it from
*commits* (``FIRST_TIMER``: never committed to GitHub; ``FIRST_TIME_CONTRIBUTOR``: never
committed to this repository; ``NONE``: no association; ``CONTRIBUTOR``: has committed
here), so someone who opened ten issues and never committed is still ``NONE``. An owner,
member, collaborator or contributor is known and not welcomed; for everyone else GitHub's
search is asked for the person's other issues and pull requests in the repository, so the
answer survives an Action run that keeps no store. Search is eventually consistent: two
issues opened by a newcomer within seconds may both be welcomed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote_plus

KNOWN_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "MANNEQUIN"})
"""People who are already part of the project (a mannequin is an imported placeholder)."""
CONTRIBUTING_PATHS = (".github/CONTRIBUTING.md", "CONTRIBUTING.md", "docs/CONTRIBUTING.md")
"""Where GitHub looks for the contributing guide, in its order."""
GOOD_FIRST_ISSUE = "good first issue"
KINDS = {"issues": "issue", "pull_request": "pull request"}

_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")


def known_contributor(association: str | None) -> bool:
    """True when the association alone says the person is not new here."""
    return (association or "").upper() in KNOWN_ASSOCIATIONS


def plain_login(login: str) -> bool:
    """A person's GitHub login (what search and a mention can take safely)."""
    return bool(_LOGIN.fullmatch(login))


def plain_repo(full_name: str) -> bool:
    return bool(_REPO.fullmatch(full_name))


def search_queries(repo: str, login: str) -> tuple[str, str]:
    """The person's issues, then pull requests, in ``repo`` (GitHub's search requires
    ``is:issue`` or ``is:pull-request`` in every query)."""
    return (f"repo:{repo} author:{login} is:issue", f"repo:{repo} author:{login} is:pull-request")


def earlier_work(numbers: Iterable[int], this: int) -> int | None:
    """An issue or pull request other than ``this`` among ``numbers``, or None."""
    return next((n for n in numbers if n != this), None)


def good_first_issues_url(repo_html_url: str, label: str = GOOD_FIRST_ISSUE) -> str:
    """The repository's open issues carrying the good-first-issue label."""
    query = quote_plus(f'is:issue is:open label:"{label}"')
    return f"{repo_html_url.rstrip('/')}/issues?q={query}"
