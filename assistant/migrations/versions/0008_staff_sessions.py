"""Staff sessions that can be ended: a per-user session version.

Revision ID: 0008_staff_sessions
Revises: 0007_desk
Create Date: 2026-12-05

``staff_users.session_version`` is copied into a member of staff's session cookie at sign-in and
compared on every console request: signing out and changing a password add one to it, so every
cookie issued before (a copied one included) stops working. Portable, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_staff_sessions"
down_revision: str | Sequence[str] | None = "0007_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer, nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("session_version")
