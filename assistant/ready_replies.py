"""Ready replies: words staff send again and again, kept in the database and managed by
supervisors in the console (add, edit, remove, put in order). Each has, in English and in
Chinese, a short label (what the button says, in the staff member's language) and the text the
citizen receives (in the citizen's language). Migration 0010 creates the table with the four
replies the console had before.

Supervisors' changes are audited (``staff_audit``, action ``ready_replies``) with what was done
and to which reply, never its words (they are staff's, but the log holds no free text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from .desk import staff_audit
from .errors import StaffActionError
from .store import Store, UTCDateTime, metadata

__all__ = ["LANGUAGES", "ReadyReply", "add_ready_reply", "move_ready_reply", "ready_replies",
           "ready_reply", "remove_ready_reply", "edit_ready_reply", "ready_replies_table"]

#: the languages every ready reply is written in, with their columns' suffixes
LANGUAGES = {"en": "en", "zh-HK": "zh_hk"}
LABEL_LENGTH, TEXT_LENGTH = 60, 1600

ready_replies_table = sa.Table(
    "ready_replies", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("label_en", sa.String(LABEL_LENGTH), nullable=False),
    sa.Column("label_zh_hk", sa.String(LABEL_LENGTH), nullable=False),
    sa.Column("text_en", sa.Text, nullable=False),
    sa.Column("text_zh_hk", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)


@dataclass(frozen=True)
class ReadyReply:
    id: int
    position: int
    labels: dict[str, str]
    texts: dict[str, str]

    def label(self, locale: str | None) -> str:
        return self.labels.get(locale or "en") or self.labels["en"]

    def text(self, locale: str | None) -> str:
        return self.texts.get(locale or "en") or self.texts["en"]


def _reply(row) -> ReadyReply:
    return ReadyReply(row.id, row.position,
                      {loc: row._mapping[f"label_{sfx}"] for loc, sfx in LANGUAGES.items()},
                      {loc: row._mapping[f"text_{sfx}"] for loc, sfx in LANGUAGES.items()})


def ready_replies(store: Store) -> list[ReadyReply]:
    """In the order supervisors gave them."""
    r = ready_replies_table.c
    with store._read() as conn:
        return [_reply(row) for row in conn.execute(
            sa.select(ready_replies_table).order_by(r.position, r.id))]


def ready_reply(store: Store, reply_id: int) -> ReadyReply | None:
    with store._read() as conn:
        row = conn.execute(sa.select(ready_replies_table).where(
            ready_replies_table.c.id == reply_id)).first()
    return _reply(row) if row else None


def _values(labels: dict[str, str], texts: dict[str, str]) -> dict:
    values = {}
    for locale, sfx in LANGUAGES.items():
        label = " ".join(str(labels.get(locale) or "").split())
        text = str(texts.get(locale) or "").strip()
        if not label or not text:
            raise StaffActionError("a ready reply needs a label and a text in every language")
        if len(label) > LABEL_LENGTH or len(text) > TEXT_LENGTH:
            raise StaffActionError("a ready reply's label or text is too long")
        values[f"label_{sfx}"], values[f"text_{sfx}"] = label, text
    return values


def add_ready_reply(store: Store, staff: str, labels: dict[str, str],
                    texts: dict[str, str]) -> int:
    """A new ready reply, last in the order; its id."""
    values = _values(labels, texts)
    r = ready_replies_table.c
    with store.transaction() as session:
        position = (session.scalar(sa.select(sa.func.max(r.position))) or 0) + 1
        new_id = session.execute(sa.insert(ready_replies_table).values(
            position=position, updated_at=datetime.now(UTC), updated_by=staff,
            **values)).inserted_primary_key[0]
        _audit(session, staff, "added", new_id)
    return new_id


def edit_ready_reply(store: Store, staff: str, reply_id: int, labels: dict[str, str],
                     texts: dict[str, str]) -> None:
    values = _values(labels, texts)
    with store.transaction() as session:
        done = session.execute(sa.update(ready_replies_table).where(
            ready_replies_table.c.id == reply_id).values(
            updated_at=datetime.now(UTC), updated_by=staff, **values)).rowcount
        if not done:
            raise StaffActionError("no such ready reply")
        _audit(session, staff, "edited", reply_id)


def remove_ready_reply(store: Store, staff: str, reply_id: int) -> None:
    with store.transaction() as session:
        done = session.execute(sa.delete(ready_replies_table).where(
            ready_replies_table.c.id == reply_id)).rowcount
        if not done:
            raise StaffActionError("no such ready reply")
        _audit(session, staff, "removed", reply_id)


def move_ready_reply(store: Store, staff: str, reply_id: int, by: int) -> None:
    """One place up (``by`` -1) or down (+1): it swaps places with its neighbour, and the
    order is written again as 1, 2, 3... (so that two replies never share a place)."""
    r = ready_replies_table.c
    with store.transaction() as session:
        ids = list(session.scalars(sa.select(r.id).order_by(r.position, r.id)))
        if reply_id not in ids:
            raise StaffActionError("no such ready reply")
        at = ids.index(reply_id)
        to = min(max(at + (1 if by > 0 else -1), 0), len(ids) - 1)
        ids[at], ids[to] = ids[to], ids[at]
        for position, rid in enumerate(ids, start=1):
            session.execute(sa.update(ready_replies_table).where(r.id == rid).values(
                position=position))
        _audit(session, staff, "moved", reply_id)


def _audit(session, staff: str, what: str, reply_id: int) -> None:
    session.execute(sa.insert(staff_audit).values(
        at=datetime.now(UTC), staff=staff, action="ready_replies", conversation_id=None,
        detail={"what": what, "reply": reply_id}))
