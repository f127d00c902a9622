"""Where the tests find the repository, wherever in tests/ they live."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
