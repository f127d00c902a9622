"""Duplicate-search index: one state row per repository and its issues' features as bytes.

Revision ID: 0002_duplicate_index
Revises: 0001_initial_schema
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_duplicate_index"
down_revision: str | None = "0001_initial_schema"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duplicate_indexes",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("harvested_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("repo", name=op.f("pk_duplicate_indexes")),
    )
    op.create_table(
        "duplicate_index_issues",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("html_url", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.LargeBinary(), nullable=False),
        sa.Column("errors", sa.LargeBinary(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["repo"],
            ["duplicate_indexes.repo"],
            name=op.f("fk_duplicate_index_issues_repo_duplicate_indexes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo", "number", name=op.f("pk_duplicate_index_issues")),
    )


def downgrade() -> None:
    op.drop_table("duplicate_index_issues")
    op.drop_table("duplicate_indexes")
