"""Delivery claims and rate-limit waits; one job row per attempt at a delivery.

A worker claims a delivery with a lease (``lease_owner``, ``lease_expires_at``) that its
heartbeat extends, so that exactly one worker handles it and a dead worker's claim expires.
``not_before`` and ``deferrals`` record a wait for a rate limit's reset. ``jobs.attempt``
with a unique (delivery_id, attempt) keeps a rerun from adding a second row.

Revision ID: 0003_delivery_claims
Revises: 0002_duplicate_index
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_delivery_claims"
down_revision: str | None = "0002_duplicate_index"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", TIMESTAMP, nullable=True))
        batch.add_column(
            sa.Column("lost_leases", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("not_before", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("deferrals", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        op.f("ix_webhook_deliveries_installation_id_not_before"),
        "webhook_deliveries",
        ["installation_id", "not_before"],
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
    # Rows from before have no attempt: NULLs never clash in a unique index on either backend.
    op.create_index(
        op.f("ix_jobs_delivery_id_attempt"), "jobs", ["delivery_id", "attempt"], unique=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_delivery_id_attempt"), table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("attempt")
    op.drop_index(
        op.f("ix_webhook_deliveries_installation_id_not_before"), table_name="webhook_deliveries"
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("deferrals")
        batch.drop_column("not_before")
        batch.drop_column("lost_leases")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
