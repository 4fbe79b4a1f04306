"""Initial schema: conversations, transcript lines, events, appointments, reports.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Written by hand to stay portable across SQLite and PostgreSQL: plain types, named constraints,
timestamps with time zone (stored as UTC; SQLite keeps them as naive UTC text).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("state", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, server_default="bot"),
        sa.Column("locale", sa.String(16)),
        sa.Column("procedure", sa.String(64)),
        sa.Column("step", sa.String(64)),
        sa.Column("escalation_reason", sa.String(64)),
        sa.Column("priority", sa.Integer),
        sa.Column("waiting_since", TS),
        sa.Column("turns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("channel", "address", name="uq_conversations_channel_address"),
    )
    op.create_index("ix_conversations_queue", "conversations",
                    ["status", "priority", "waiting_since"])
    op.create_table(
        "transcript_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("meta", sa.Text),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_transcript_lines_conversation_seq"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("data", sa.Text),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_events_conversation_id", "events", ["conversation_id"])
    op.create_table(
        "appointment_slots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("office", sa.String(64), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("booked", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("office", "starts_at", name="uq_appointment_slots_office_starts_at"),
    )
    op.create_index("ix_appointment_slots_starts_at", "appointment_slots", ["starts_at"])
    # One sequence for every reference (appointments, reports, bare ones), so none repeats.
    op.create_table(
        "reference_numbers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("issued_at", TS, nullable=False),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("slot_id", sa.Integer, sa.ForeignKey("appointment_slots.id"), nullable=False),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("procedure", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("reference", name="uq_appointments_reference"),
    )
    op.create_index("ix_appointments_slot_id", "appointments", ["slot_id"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("details", sa.Text),
        sa.Column("phone", sa.String(32)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("reference", name="uq_reports_reference"),
    )


def downgrade() -> None:
    for table in ("reports", "appointments", "reference_numbers", "appointment_slots", "events",
                  "transcript_lines", "conversations"):
        op.drop_table(table)
