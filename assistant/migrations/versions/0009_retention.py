"""Retention and subject access: indexes for finding a conversation's rows, and recent events.

Revision ID: 0009_retention
Revises: 0008_staff_sessions
Create Date: 2026-12-05

The purge and an erasure delete or reduce every row of a batch of conversations in stored
replies, outbox messages, appointments and problem reports: without an index on their
``conversation_id`` each statement reads the whole table. ``ix_events_kind_at`` serves the
transparency record's figures (events of a few kinds in the last 30 days). Indexes only: no
data changes. Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0009_retention"
down_revision: str | Sequence[str] | None = "0008_staff_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_inbound_messages_conversation", "inbound_messages", ["conversation_id"]),
    ("ix_outbox_conversation", "outbox", ["conversation_id"]),
    ("ix_appointments_conversation", "appointments", ["conversation_id"]),
    ("ix_reports_conversation", "reports", ["conversation_id"]),
    ("ix_events_kind_at", "events", ["kind", "at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table)
