"""The outbox: messages the service sends on its own (a summary, a staff reply, a reminder).

A message is enqueued in the same transaction as the state change that causes it, so it exists
exactly when the change does. A channel's worker claims due messages (one at a time: a worker
that dies holds no more than the one it was sending), sends them and records the result of
each: a message the provider refuses for good fails, one refused for a reason of its own is
retried with backoff (``mark_failed``), and one not sent because the provider is out waits
without the try counting as an attempt (``defer``), so nothing is dropped and nothing burns its
attempts while the provider is down. Claims carry a lease: two workers never hold the same
message, and a worker that dies mid-send gives its message back when the lease ends (the one
case where a message may go out twice, because the provider may have taken it before the
worker died: the at-least-once window).

A message may carry an expiry (a reminder saying "tomorrow" is wrong the day after): once it
has passed, the message is not sent. A message that keeps failing for a passing reason (the
provider is down) is retried for ``GIVE_UP_AFTER``, long enough to ride out an outage; one that
can never succeed (an invalid number) fails at once.

The results of a send are written with the claim as a fence (the ``attempts`` it was claimed
with): a worker whose lease ran out cannot overwrite what the worker that took the message over
recorded. Delivery reports only ever move a message forward (sent -> delivered), so a report
that arrives late or out of order changes nothing, and no report puts a message back in the
queue.

Opt-outs live here too: a citizen who opted out gets nothing from the outbox, not even staff
replies, until they opt in again. No message text is ever logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .store import UTCDateTime, metadata

__all__ = ["DELIVERY_STATUSES", "FINAL", "GIVE_UP_AFTER", "OutboundMessage", "backoff", "claim",
           "defer", "enqueue", "is_opted_out", "mark_failed", "mark_sent", "opt_in", "opt_out", "opt_outs",
           "outbox", "record_status", "release"]

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
    sa.Column("expires_at", UTCDateTime),  # migration 0003_reminders
    sa.UniqueConstraint("provider_id", name="uq_outbox_provider_id"),
    sa.Index("ix_outbox_due", "channel", "status", "next_attempt_at"),
    sa.Index("ix_outbox_conversation", "conversation_id"),   # migration 0009
)
opt_outs = sa.Table(
    "opt_outs", metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("address", sa.String(255), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

#: statuses: queued -> sending -> sent -> delivered | undelivered | failed (by the provider);
#: queued -> failed (gave up) | cancelled (opted out) | expired (not sent in time)
FINAL = ("delivered", "undelivered", "failed", "cancelled", "expired")
#: what a provider's delivery report may set, with how far along each one is
DELIVERY_STATUSES = {"sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}
#: a message failing for passing reasons is retried this long after it was queued (backoff is
#: capped at 10 minutes, so a provider that comes back is used within minutes)
GIVE_UP_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    channel: str
    address: str
    body: str
    kind: str
    attempts: int
    conversation_id: int | None
    created_at: datetime | None = None
    expires_at: datetime | None = None


def enqueue(session: Session | Connection, channel: str, address: str, body: str, kind: str,
            now: datetime, conversation_id: int | None = None,
            expires_at: datetime | None = None) -> int:
    """Queue a message inside the caller's transaction; returns its id. ``expires_at``: not
    sent at all after this moment."""
    return session.execute(sa.insert(outbox).values(
        channel=channel, address=address, body=body, kind=kind, conversation_id=conversation_id,
        status="queued", attempts=0, next_attempt_at=now, created_at=now, updated_at=now,
        expires_at=expires_at,
    ).returning(outbox.c.id)).scalar_one()


def claim(session: Session, channel: str, now: datetime, limit: int = 10,
          lease: timedelta = timedelta(seconds=60)) -> list[OutboundMessage]:
    """Take up to ``limit`` due messages for this worker, in the order they were queued (the
    SMS worker takes one at a time).

    Due: queued and ``next_attempt_at`` passed, or sending with an expired lease. The caller
    commits right after, before sending anything, so that the claim is visible to others.
    PostgreSQL skips rows another worker has locked; SQLite's write lock serialises claims.
    Due messages to an opted-out address are cancelled, and those past their expiry expire,
    instead of being claimed. The lease must outlast the sending of the whole batch.
    """
    c = outbox.c
    due = sa.or_(sa.and_(c.status == "queued", c.next_attempt_at <= now),
                 sa.and_(c.status == "sending", c.lease_until <= now))
    query = (sa.select(outbox).where(c.channel == channel, due)
             .order_by(c.next_attempt_at, c.id).with_for_update(skip_locked=True))
    claimed: list[OutboundMessage] = []
    # expired and opted-out messages leave the queue as they are met: look further until
    # ``limit`` are claimed or nothing is due
    while len(claimed) < limit:
        rows = session.execute(query.limit(limit - len(claimed))).all()
        if not rows:
            break
        for row in rows:
            if row.expires_at is not None and row.expires_at <= now:
                session.execute(sa.update(outbox).where(c.id == row.id).values(
                    status="expired", lease_until=None, updated_at=now))
                continue
            if is_opted_out(session, channel, row.address):
                session.execute(sa.update(outbox).where(c.id == row.id).values(
                    status="cancelled", last_error="opted_out", lease_until=None,
                    updated_at=now))
                continue
            session.execute(sa.update(outbox).where(c.id == row.id).values(
                status="sending", attempts=row.attempts + 1, lease_until=now + lease,
                updated_at=now))
            claimed.append(OutboundMessage(row.id, row.channel, row.address, row.body,
                                           row.kind, row.attempts + 1, row.conversation_id,
                                           row.created_at, row.expires_at))
    return claimed


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 minutes: a provider outage costs little, and a message
    goes out soon after the provider is back."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


def mark_sent(session: Session, message_id: int, provider_id: str | None,
              now: datetime) -> bool:
    """The provider took the message. Recorded even if this worker's lease ran out meanwhile
    (the message did go out); never over a delivery report. Returns False if nothing changed."""
    c = outbox.c
    result = session.execute(sa.update(outbox).where(
        c.id == message_id, c.status.in_(("sending", "queued"))).values(
        status="sent", provider_id=provider_id, sent_at=now, lease_until=None, updated_at=now,
        last_error=None))
    return result.rowcount > 0


def mark_failed(session: Session, message: OutboundMessage, error: str, now: datetime,
                permanent: bool = False) -> str | None:
    """A send failed: retry later with backoff, or give up (a permanent error, or a message
    queued more than ``GIVE_UP_AFTER`` ago, or one whose retry would come after its expiry).
    ``error`` is a code, never the provider's message (it may quote the number). Returns the
    status written ("queued" or "failed"), or None when the claim was lost (another worker has
    the message now) and nothing was written."""
    retry_at = now + backoff(message.attempts)
    give_up = (permanent
               or (message.created_at is not None and now - message.created_at >= GIVE_UP_AFTER)
               or (message.expires_at is not None and retry_at >= message.expires_at))
    status = "failed" if give_up else "queued"
    result = session.execute(sa.update(outbox).where(*_held(message)).values(
        status=status, lease_until=None, last_error=error[:255], next_attempt_at=retry_at,
        updated_at=now))
    return status if result.rowcount > 0 else None


def defer(session: Session, message: OutboundMessage, error: str, now: datetime) -> str | None:
    """The provider is out (no connection, 5xx, rate-limited): the message goes back to the
    queue as it was, due at once and in its place (so that it still goes before the messages
    queued after it), and the try does not count as an attempt: an outage says nothing about
    the message. The worker pauses instead (the channel's business). A message queued more
    than ``GIVE_UP_AFTER`` ago fails. Returns the status written, or None when the claim was
    lost."""
    give_up = message.created_at is not None and now - message.created_at >= GIVE_UP_AFTER
    status = "failed" if give_up else "queued"
    result = session.execute(sa.update(outbox).where(*_held(message)).values(
        status=status, attempts=message.attempts - 1, lease_until=None,
        last_error=error[:255], updated_at=now))
    return status if result.rowcount > 0 else None


def release(session: Session, message: OutboundMessage, now: datetime) -> bool:
    """Give a claimed message back untried (the worker ran short of lease, or is stopping): it
    is due again at once, and the claim does not count as an attempt."""
    result = session.execute(sa.update(outbox).where(*_held(message)).values(
        status="queued", attempts=message.attempts - 1, lease_until=None, updated_at=now))
    return result.rowcount > 0


def _held(message: OutboundMessage) -> tuple:
    """The claim as a fence: still sending, under the claim this worker made."""
    c = outbox.c
    return c.id == message.id, c.status == "sending", c.attempts == message.attempts


def record_status(session: Session, provider_id: str, status: str, now: datetime,
                  error: str | None = None) -> bool:
    """A delivery report from the provider, in our words (``DELIVERY_STATUSES``: the channel
    maps the provider's). It only moves a message forward: a late "sent" after "delivered"
    changes nothing, and no report makes a message due again. Returns False for an unknown
    provider id."""
    if status not in DELIVERY_STATUSES:
        raise ValueError(f"not a delivery status: {status!r}")
    behind = [s for s, rank in DELIVERY_STATUSES.items() if rank < DELIVERY_STATUSES[status]]
    values = {"status": status, "updated_at": now}
    if error and status in ("undelivered", "failed"):
        values["last_error"] = error[:255]
    c = outbox.c
    result = session.execute(sa.update(outbox).where(
        c.provider_id == provider_id, c.status.in_(behind)).values(**values))
    if result.rowcount > 0:
        return True
    return session.scalar(sa.select(sa.func.count()).select_from(outbox).where(
        c.provider_id == provider_id)) > 0


# Built once: an inbound SMS asks on every message whether its number opted out.
_OPT_OUT_KEY = (opt_outs.c.channel == sa.bindparam("channel"),
                opt_outs.c.address == sa.bindparam("address"))
_IS_OPTED_OUT = sa.select(sa.func.count()).select_from(opt_outs).where(*_OPT_OUT_KEY)
_DROP_OPT_OUT = sa.delete(opt_outs).where(*_OPT_OUT_KEY)
_ADD_OPT_OUT = sa.insert(opt_outs)


def opt_out(session: Session | Connection, channel: str, address: str, now: datetime) -> None:
    session.execute(_DROP_OPT_OUT, {"channel": channel, "address": address})
    session.execute(_ADD_OPT_OUT, {"channel": channel, "address": address, "at": now})


def opt_in(session: Session | Connection, channel: str, address: str) -> None:
    session.execute(_DROP_OPT_OUT, {"channel": channel, "address": address})


def is_opted_out(session: Session | Connection, channel: str, address: str) -> bool:
    return session.scalar(_IS_OPTED_OUT, {"channel": channel, "address": address}) > 0


def now_utc() -> datetime:
    return datetime.now(UTC)
