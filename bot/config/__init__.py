"""maintbot's configuration: ``.github/maintbot.yml`` validated into typed, frozen objects.

``loader`` parses and validates, ``schema`` holds the typed objects and their defaults,
``remote`` fetches a repository's file through the GitHub API. Import from those modules:
this package file re-exports nothing, so reading a config does not load PyGithub.
"""
