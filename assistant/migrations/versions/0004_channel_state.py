"""Channel state: a small JSON document a channel keeps per conversation.

Revision ID: 0004_channel_state
Revises: 0003_reminders
Create Date: 2026-11-25

SMS keeps there the pages of a long reply that are not sent yet, and the question last asked
(to ask it again after HELP or a picture message). One row per conversation, removed with it.
Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_channel_state"
down_revision: str | Sequence[str] | None = "0003_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
