"""A stateful fake of GitHub's REST API on loopback, for tests, demos and benchmarks.

``Sandbox`` serves it; ``Sandbox.state`` builds histories (``add_repo``, ``add_issue``...);
``Sandbox.requests`` / ``request_counts()`` count the API calls; ``inject_fault`` makes it
fail like GitHub does. See ``bot/sandbox/README.md``.
"""

from __future__ import annotations

from bot.sandbox.faults import FAULT_KINDS, Fault
from bot.sandbox.recorder import RequestRecord
from bot.sandbox.server import Sandbox
from bot.sandbox.state import SandboxState

__all__ = ["FAULT_KINDS", "Fault", "RequestRecord", "Sandbox", "SandboxState"]
