"""The outbox: messages the service sends on its own (a summary, a staff reply, a reminder).

A message is enqueued in the same transaction as the state change that causes it, so it exists
exactly when the change does. A channel's worker claims due messages, sends them and records
the result; a failed send is retried with backoff, and nothing is dropped while the provider is
down. Claims carry a lease: two workers never hold the same message, and a worker that dies
mid-send gives its messages back when the lease ends (the one case where a message may go out
twice, because the provider may have taken it before the worker died).

Opt-outs live here too: a citizen who opted out gets nothing from the outbox, not even staff
replies, until they opt in again. No message text is ever logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .store import UTCDateTime, metadata

__all__ = ["OutboundMessage", "backoff", "claim", "enqueue", "is_opted_out", "mark_failed",
           "mark_sent", "opt_in", "opt_out", "outbox", "opt_outs", "record_status"]

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.Integer,
              sa.ForeignKey("conversations.id", ondelete="SET NULL")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("provider_id", sa.String(64)),
    sa.Column("last_error", sa.String(255)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("provider_id", name="uq_outbox_provider_id"),
    sa.Index("ix_outbox_due", "channel", "status", "next_attempt_at"),
)
opt_outs = sa.Table(
    "opt_outs", metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("address", sa.String(255), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

#: statuses: queued -> sending -> sent -> delivered | undelivered | failed (by the provider);
#: queued -> failed (gave up) | cancelled (opted out)
FINAL = ("delivered", "undelivered", "failed", "cancelled")
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    channel: str
    address: str
    body: str
    kind: str
    attempts: int
    conversation_id: int | None


def enqueue(session: Session, channel: str, address: str, body: str, kind: str,
            now: datetime, conversation_id: int | None = None) -> int:
    """Queue a message inside the caller's transaction; returns its id."""
    return session.execute(sa.insert(outbox).values(
        channel=channel, address=address, body=body, kind=kind, conversation_id=conversation_id,
        status="queued", attempts=0, next_attempt_at=now, created_at=now, updated_at=now,
    ).returning(outbox.c.id)).scalar_one()


def claim(session: Session, channel: str, now: datetime, limit: int = 10,
          lease: timedelta = timedelta(seconds=60)) -> list[OutboundMessage]:
    """Take up to ``limit`` due messages for this worker, in the order they were queued.

    Due: queued and ``next_attempt_at`` passed, or sending with an expired lease. The caller
    commits right after, before sending anything, so that the claim is visible to others.
    PostgreSQL skips rows another worker has locked; SQLite's write lock serialises claims.
    """
    c = outbox.c
    due = sa.or_(sa.and_(c.status == "queued", c.next_attempt_at <= now),
                 sa.and_(c.status == "sending", c.lease_until <= now))
    query = (sa.select(outbox).where(c.channel == channel, due)
             .order_by(c.next_attempt_at, c.id).limit(limit)
             .with_for_update(skip_locked=True))
    rows = session.execute(query).all()
    claimed = []
    for row in rows:
        if is_opted_out(session, channel, row.address):
            session.execute(sa.update(outbox).where(c.id == row.id).values(
                status="cancelled", last_error="opted_out", updated_at=now))
            continue
        session.execute(sa.update(outbox).where(c.id == row.id).values(
            status="sending", attempts=row.attempts + 1, lease_until=now + lease, updated_at=now))
        claimed.append(OutboundMessage(row.id, row.channel, row.address, row.body, row.kind,
                                       row.attempts + 1, row.conversation_id))
    return claimed


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 minutes: a provider outage costs little, and a message
    goes out soon after the provider is back."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


def mark_sent(session: Session, message_id: int, provider_id: str, now: datetime) -> None:
    session.execute(sa.update(outbox).where(outbox.c.id == message_id).values(
        status="sent", provider_id=provider_id, sent_at=now, lease_until=None, updated_at=now,
        last_error=None))


def mark_failed(session: Session, message: OutboundMessage, error: str, now: datetime,
                permanent: bool = False) -> None:
    """A send failed: retry later with backoff, or give up (a permanent error, or too many)."""
    give_up = permanent or message.attempts >= MAX_ATTEMPTS
    session.execute(sa.update(outbox).where(outbox.c.id == message.id).values(
        status="failed" if give_up else "queued", lease_until=None, last_error=error[:255],
        next_attempt_at=now + backoff(message.attempts), updated_at=now))


def record_status(session: Session, provider_id: str, status: str, now: datetime,
                  error: str | None = None) -> bool:
    """A delivery report from the provider. Returns False for an unknown message id."""
    values = {"status": status, "updated_at": now}
    if error:
        values["last_error"] = error[:255]
    result = session.execute(sa.update(outbox).where(outbox.c.provider_id == provider_id)
                             .values(**values))
    return result.rowcount > 0


def opt_out(session: Session, channel: str, address: str, now: datetime) -> None:
    session.execute(sa.delete(opt_outs).where(opt_outs.c.channel == channel,
                                              opt_outs.c.address == address))
    session.execute(sa.insert(opt_outs).values(channel=channel, address=address, at=now))


def opt_in(session: Session, channel: str, address: str) -> None:
    session.execute(sa.delete(opt_outs).where(opt_outs.c.channel == channel,
                                              opt_outs.c.address == address))


def is_opted_out(session: Session, channel: str, address: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(opt_outs).where(
        opt_outs.c.channel == channel, opt_outs.c.address == address)) > 0


def now_utc() -> datetime:
    return datetime.now(UTC)
