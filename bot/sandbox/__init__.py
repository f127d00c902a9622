"""A stateful fake of GitHub's REST API on loopback, for tests, demos and benchmarks.

``bot.sandbox.server.Sandbox`` serves it; ``Sandbox.state`` builds histories (``add_repo``,
``add_issue``...); ``Sandbox.requests`` / ``request_counts()`` count the API calls;
``inject_fault`` makes it fail like GitHub does. See ``bot/sandbox/README.md``. This package
file re-exports nothing, so importing one of its modules does not start the others.
"""
