"""The console's ready replies, managed by supervisors (``assistant.ready_replies``).

Revision ID: 0010_console
Revises: 0009_retention
Create Date: 2026-12-05

Creates ``ready_replies`` and puts in it the four replies the console had as fixed ones, in
English and Chinese as the catalogs had them. Portable across SQLite and PostgreSQL, like 0001.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010_console"
down_revision: str | Sequence[str] | None = "0009_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (label en, label zh-HK, text en, text zh-HK): the console's fixed replies before 0010
FIRST = (
    ("Greeting", "問候",
     "Hello, I am a member of staff. I have read what you told the assistant. How can I help?",
     "你好，我係職員。我已經睇過你同助手講嘅嘢。有咩可以幫到你？"),
    ("Please wait", "請稍等", "Thank you. Please wait a moment while I check.",
     "多謝你。請等一等，我幫你查吓。"),
    ("We will call back", "我們會回電",
     "We will call you back on this number within one working day.",
     "我哋會喺一個工作天內打呢個號碼覆你。"),
    ("Visit the office", "親身到辦事處",
     "Please visit the office with your identity card. Staff at the counter will help you.",
     "請帶同身份證親身去辦事處。櫃位職員會幫你。"),
)


def upgrade() -> None:
    table = op.create_table(
        "ready_replies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label_en", sa.String(60), nullable=False),
        sa.Column("label_zh_hk", sa.String(60), nullable=False),
        sa.Column("text_en", sa.Text, nullable=False),
        sa.Column("text_zh_hk", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":     # as the store keeps times there: naive UTC
        now = now.replace(tzinfo=None)
    op.bulk_insert(table, [
        {"position": i, "label_en": le, "label_zh_hk": lz, "text_en": te, "text_zh_hk": tz,
         "updated_at": now, "updated_by": "(system)"}
        for i, (le, lz, te, tz) in enumerate(FIRST, start=1)])


def downgrade() -> None:
    op.drop_table("ready_replies")
