"""The GitHub layer: one client factory, retries and rate limits, and safe idempotent writes.

Everything that talks to GitHub gets its client from :func:`build_github` and writes through
the helpers here (sticky comments, labels), echoing untrusted text only through
:func:`neutralize` / :func:`inline`.
"""

from bot.github.app_auth import InstallationAuth, InstallationTokenCache, MintedToken
from bot.github.client import (
    DEFAULT_API_URL,
    DEFAULT_USER_AGENT,
    GitHubCredentials,
    build_github,
    credentials_from_env,
)
from bot.github.comments import StickyResult, marker, upsert_sticky_comment
from bot.github.errors import explain_github_error
from bot.github.http_retry import PolicyRetry
from bot.github.labels import LabelResult, apply_labels, default_color
from bot.github.retry import Attempt, RetryDecision, RetryPolicy, decide_retry
from bot.sanitize import inline, neutralize

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_USER_AGENT",
    "Attempt",
    "GitHubCredentials",
    "InstallationAuth",
    "InstallationTokenCache",
    "LabelResult",
    "MintedToken",
    "PolicyRetry",
    "RetryDecision",
    "RetryPolicy",
    "StickyResult",
    "apply_labels",
    "build_github",
    "credentials_from_env",
    "decide_retry",
    "default_color",
    "explain_github_error",
    "inline",
    "marker",
    "neutralize",
    "upsert_sticky_comment",
]
