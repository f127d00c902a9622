"""Alembic migrations of the store; the scripts in versions/ run in order at Store.open."""
