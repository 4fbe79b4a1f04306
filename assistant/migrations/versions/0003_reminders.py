"""Appointment reminders: which appointments have had their reminder queued; outbox expiry.

Revision ID: 0003_reminders
Revises: 0002
Create Date: 2026-11-25

``appointment_reminders`` has one row per appointment whose reminder was queued, so that a
reminder is queued once however many workers look. ``outbox.expires_at``: a message not sent by
then is not sent at all (a reminder that says "tomorrow" is wrong the day after). Portable across
SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reminders"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("expires_at", TS))
    op.create_table(
        "appointment_reminders",
        sa.Column("appointment_id", sa.Integer,
                  sa.ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="SET NULL")),
        sa.Column("queued_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appointment_reminders")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("expires_at")
