"""Shared pytest set-up. Each fixture family lives in its own module under tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.databases",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MAINTBOT_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout: real GitHub payloads, the REST schema subset, data."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the tests read GitHub's real material from ../shared")
    return SHARED


@pytest.fixture(autouse=True)
def _no_real_github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach api.github.com or pick up a developer's token or secrets by accident."""
    for var in (
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITHUB_API_URL",
        "MAINTBOT_DATABASE_URL",
        "MAINTBOT_WEBHOOK_SECRET",
        "MAINTBOT_APP_ID",
        "MAINTBOT_APP_PRIVATE_KEY",
        "MAINTBOT_APP_PRIVATE_KEY_FILE",
        "MAINTBOT_APP_INSTALLATION_ID",
        "MAINTBOT_REDIS_URL",
        "MAINTBOT_CONFIG",
        "MAINTBOT_DRY_RUN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # the default store and caches of a command a test runs land in the test's own folder
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
