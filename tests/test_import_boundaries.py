"""Pure code stays pure: importing a policy, a renderer or the config loader loads no edge.

The functional core (label policy, benchmark verdicts, report metrics, rendering, sanitising)
must not pull in the GitHub client, HTTP, the database or a deep-learning runtime: each costs
start-up time on every Action run (PyGithub alone was ~0.3 s, through a package ``__init__``
that re-exported it), and a decision that can reach them is no longer obviously free of I/O.
Each module is imported in a fresh interpreter, so what another test imported cannot hide it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

PURE_MODULES = [
    "bot.report.compose",
    "bot.report.render",
    "bot.bench.compare",  # what counts as a regression
    "bot.bench.render",
    "bot.triage.policy",  # what to label
    "bot.github.comments",  # when to comment: the sticky plan (its upsert takes a client)
    "bot.config.loader",
    "bot.config.schema",
    "bot.sanitize",
    "bot.commands.parse",  # what a comment asks for
    "bot.commands.decide",  # who may, and what the bot answers
    "bot.welcome.decide",  # who is welcomed
    "bot.welcome.render",
    "bot.triage.corrections",  # what counts as a correction
    "bot.triage.missing_info",  # what a bug report lacks
    "bot.triage.issue_templates",
    "bot.triage.duplicates",  # the search engine (numpy only)
]
EDGES = ["github", "requests", "sqlalchemy", "torch", "transformers", "tensorflow"]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def top_level_modules_after_importing(module: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_loads_no_edge(module):
    loaded = top_level_modules_after_importing(module)
    assert module.split(".")[0] in loaded  # the probe did import it
    assert sorted(loaded & set(EDGES)) == []


def test_the_probe_sees_an_edge_when_there_is_one():
    # bot.config.remote fetches a repository's config through PyGithub: it must show up
    assert "github" in top_level_modules_after_importing("bot.config.remote")


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in REPO_ROOT.glob("bot/*/__init__.py"))
)
def test_package_init_files_re_export_nothing(package):
    """A name re-exported by ``bot/<package>/__init__.py`` drags its module into every import
    of a sibling; import from the defining module instead."""
    source = (REPO_ROOT / "bot" / package / "__init__.py").read_text(encoding="utf-8")
    statements = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert statements in ([], ["from __future__ import annotations"])
