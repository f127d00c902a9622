"""Reads a repository's ``.github/maintbot.yml`` through the GitHub API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from github import GithubException, UnknownObjectException
from requests import RequestException

from bot.config.loader import decode_config_bytes, parse_config
from bot.config.schema import REPO_CONFIG_PATH, Config
from bot.errors import ConfigError
from bot.github.errors import explain_github_error

if TYPE_CHECKING:
    from github.Repository import Repository


def fetch_repo_config(repo: Repository, ref: str | None = None) -> Config:
    """The configuration a repository holds at ``ref`` (default branch when None).

    No file (404) means the defaults: most repositories never write one. ``ref`` matters for
    pull requests: the base branch's file is the trusted one, never the head's.
    """
    source = f"{repo.full_name}:{REPO_CONFIG_PATH}"
    try:
        if ref is None:
            contents = repo.get_contents(REPO_CONFIG_PATH)
        else:
            contents = repo.get_contents(REPO_CONFIG_PATH, ref=ref)
    except UnknownObjectException:
        return Config.default()
    except (GithubException, RequestException) as exc:
        # Not the defaults: running with a config the repository did not ask for is worse.
        raise explain_github_error(exc, action=f"read {source}") from exc
    if isinstance(contents, list) or contents.type != "file":
        raise ConfigError(
            f"{REPO_CONFIG_PATH} is not a file",
            source=source,
            hint=f"Make {REPO_CONFIG_PATH} a YAML file (not a directory, link or submodule).",
        )
    if contents.encoding != "base64":  # GitHub leaves files over 1 MB out of this response
        raise ConfigError(
            f"the file is too large for the contents API ({contents.size} bytes)",
            source=source,
            hint="A maintbot.yml is a few dozen lines; remove what does not belong in it.",
        )
    return parse_config(decode_config_bytes(contents.decoded_content, source=source), source=source)
