"""The GitHub layer: one client factory, retries and rate limits, and safe idempotent writes.

Everything that talks to GitHub gets its client from ``bot.github.client.build_github`` and
writes through the helpers beside it (``comments``: sticky comments, ``labels``), echoing
untrusted text only through ``bot.sanitize``. Import from those modules: this package file
re-exports nothing, so pure code that needs one helper does not load PyGithub.
"""
