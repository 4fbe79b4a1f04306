"""The sequence number of a conversation's last transcript line, kept on the conversation.

Revision ID: 0005_last_seq
Revises: 0004_channel_state
Create Date: 2026-11-25

A turn numbers its new lines from ``conversations.last_seq`` (the row it has locked anyway)
instead of asking ``max(seq)`` of ``transcript_lines`` on every turn. Existing conversations get
the number of their last line. Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_last_seq"
down_revision: str | Sequence[str] | None = "0004_channel_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE conversations SET last_seq = COALESCE((SELECT MAX(seq) FROM transcript_lines"
               " WHERE transcript_lines.conversation_id = conversations.id), 0)")


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_seq")
