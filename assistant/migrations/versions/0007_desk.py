"""The staff desk: an append-only audit log of what staff did, and an index for the console's
"has anything changed?" question.

Revision ID: 0007_desk
Revises: 0006_staff
Create Date: 2026-11-26

``staff_audit`` gets rows and nothing else: no code updates or deletes them (the console has no
such route). ``ix_conversations_updated_at`` lets the console ask for the newest change without
reading every conversation. ``staff_users.must_change_password`` marks a password someone
else chose (the demo supervisor's), to be replaced at the first sign-in. Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_desk"
down_revision: str | Sequence[str] | None = "0006_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.Integer,
                  sa.ForeignKey("conversations.id", ondelete="SET NULL")),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_staff_audit_conversation", "staff_audit", ["conversation_id"])
    op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("must_change_password")
    op.drop_index("ix_conversations_updated_at", "conversations")
    op.drop_index("ix_staff_audit_conversation", "staff_audit")
    op.drop_table("staff_audit")
