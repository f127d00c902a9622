"""Developer commands for the store's schema: ``python -m bot.store upgrade|current|revision``.

``revision "what changed"`` writes ``versions/NNNN_what_changed.py`` from the difference
between the models and a scratch database at head, so no real database is needed.
"""

from __future__ import annotations

import argparse
import re
import sys

from alembic import command
from sqlalchemy import create_engine

from bot.errors import MaintbotError
from bot.store.database import Store
from bot.store.migrate import alembic_config, current_revisions, script_directory


def next_revision_id(message: str, existing: int) -> str:
    """``0002_add_triage_thresholds`` for the second migration, from its message."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_")
    return f"{existing + 1:04d}_{slug or 'change'}"


def make_revision(message: str) -> None:
    """Autogenerates a migration from the models' difference to the current head."""
    existing = sum(1 for _ in script_directory().walk_revisions())
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            command.revision(
                config, message, autogenerate=True, rev_id=next_revision_id(message, existing)
            )
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Runs one developer command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot.store", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="migrate MAINTBOT_DATABASE_URL (or the default file)")
    commands.add_parser("current", help="print the schema revision of that database")
    revision = commands.add_parser("revision", help="autogenerate a new migration")
    revision.add_argument("message", help="what the migration changes, in a few words")
    args = parser.parse_args(argv)
    try:
        if args.command == "revision":
            make_revision(args.message)
            return 0
        with Store.open(migrate=args.command == "upgrade") as store:
            with store.engine.connect() as connection:
                revisions = current_revisions(connection)
            print(f"{store.target.display()}: {', '.join(revisions) or '(empty)'}")
    except MaintbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
