"""Set-up of the lab's tests: the NLBSE issues from ``../shared`` and an offline base model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.triage.data import LabelledIssue, read_labelled

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MAINTBOT_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The base model is read from its package, never fetched."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def nlbse() -> list[LabelledIssue]:
    """The NLBSE'24 training split the recipe search was run on."""
    path = SHARED / "data/issues/nlbse24/issues_train.csv"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the lab's tests read the NLBSE issues from ../shared")
    return read_labelled(path)
