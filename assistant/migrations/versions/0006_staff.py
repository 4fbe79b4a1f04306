"""Staff accounts for the console: who may sign in, with which role.

Revision ID: 0006_staff
Revises: 0005_last_seq
Create Date: 2026-11-26

Only an Argon2 hash of each password is kept. ``failed_logins`` and ``locked_until`` carry the
lock-out after repeated failed sign-ins. Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_staff"
down_revision: str | Sequence[str] | None = "0005_last_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )


def downgrade() -> None:
    op.drop_table("staff_users")
