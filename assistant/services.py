"""The services that procedures' action steps call: references, appointments, problem reports.

Each service is ``service(ctx, args) -> ActionResult``, registered by name in ``SERVICES``. It runs
inside the caller's transaction (``ctx.session``, normally a ``Store.turn``'s), so what it writes
commits or rolls back with the conversation's state. Arguments are dicts of strings and ints;
results are JSON-serialisable dicts. A citizen-facing failure is
``ActionResult(ok=False, {"error": code})`` with a stable code; a wrong call (a missing argument)
raises.

Times are UTC in the database and ISO 8601 in Hong Kong time (``+08:00``) in results.

It must not import Flask, Twilio or anything of a channel, and never logs personal data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from assistant import outbox as _outbox  # noqa: F401  (a reminder's foreign key names its table)
from assistant.model import ActionResult
from assistant.store import UTCDateTime, metadata

__all__ = ["SERVICES", "ServiceContext", "appointment_reminders", "appointment_slots",
           "appointments", "normalise_reference", "reference_is_valid", "reports", "seed_slots"]

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
_REFERENCE = re.compile(r"KF(\d{6,})(\d)")


def _conversation_id() -> sa.Column:
    """Who asked; kept when a conversation is purged, so the record outlives the transcript."""
    return sa.Column("conversation_id", sa.Integer,
                     sa.ForeignKey("conversations.id", ondelete="SET NULL"))


# The services' tables, on the store's MetaData so that it mirrors the whole schema (see 0001).
appointment_slots = sa.Table(
    "appointment_slots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("office", sa.String(64), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False, index=True),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("office", "starts_at", name="uq_appointment_slots_office_starts_at"),
)
reference_numbers = sa.Table(
    "reference_numbers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _conversation_id(),
    sa.Column("issued_at", UTCDateTime, nullable=False),
)
appointments = sa.Table(
    "appointments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(16), nullable=False),
    sa.Column("slot_id", sa.Integer, sa.ForeignKey("appointment_slots.id"), nullable=False,
              index=True),
    _conversation_id(),
    sa.Column("procedure", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("phone", sa.String(32)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("reference", name="uq_appointments_reference"),
    sa.Index("ix_appointments_conversation", "conversation_id"),   # migration 0009
)
#: appointments whose reminder has been queued (migration 0003_reminders), so that it is queued once;
#: ``outbox_id`` finds the message again if the appointment is cancelled before it goes out
appointment_reminders = sa.Table(
    "appointment_reminders", metadata,
    sa.Column("appointment_id", sa.Integer, sa.ForeignKey("appointments.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="SET NULL")),
    sa.Column("queued_at", UTCDateTime, nullable=False),
)
reports = sa.Table(
    "reports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(16), nullable=False),
    _conversation_id(),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("location", sa.Text),
    sa.Column("details", sa.Text),
    sa.Column("phone", sa.String(32)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("reference", name="uq_reports_reference"),
    sa.Index("ix_reports_conversation", "conversation_id"),   # migration 0009
)
slots = appointment_slots  # the short name, for the queries below


@dataclass
class ServiceContext:
    session: Any  # a SQLAlchemy Session (or Connection) inside an open transaction
    conversation_id: int | None
    now: datetime  # aware UTC; the turn's clock, so that a turn sees one "now"

    @classmethod
    def from_turn(cls, turn) -> ServiceContext:
        return cls(turn.session, turn.conversation_id, turn.now)


# -- references: "KF" + a sequence number of 6 digits or more + a Luhn check digit -----------------

def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # the payload's last digit sits next to the check digit: doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def normalise_reference(text: str) -> str | None:
    """The canonical reference in what someone typed ("kf 000042-2" -> "KF0000422"; the digits
    alone, "0000422", as keyed on a phone, too), or None."""
    ref = re.sub(r"[\s-]", "", str(text)).upper()
    if ref.isdigit():      # keyed on a phone, where letters are hard: "KF" is implied
        ref = "KF" + ref
    match = _REFERENCE.fullmatch(ref)
    return ref if match and _luhn_digit(match[1]) == match[2] else None


def reference_is_valid(ref: str) -> bool:
    return normalise_reference(ref) is not None


def _new_reference(ctx: ServiceContext) -> str:
    number = ctx.session.execute(sa.insert(reference_numbers).values(
        conversation_id=ctx.conversation_id, issued_at=ctx.now)).inserted_primary_key[0]
    payload = f"{number:06d}"
    return f"KF{payload}{_luhn_digit(payload)}"


def _phone_key(phone: str | None) -> str:
    """Digits only, without Hong Kong's country code, so "+852 9123 4567" matches "91234567"."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[3:] if len(digits) == 11 and digits.startswith("852") else digits


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _local(moment: datetime) -> str:
    return moment.astimezone(HONG_KONG).isoformat()


# -- the services -------------------------------------------------------------------------------

def issue_reference(ctx: ServiceContext, args: dict) -> ActionResult:
    return ActionResult(True, {"reference": _new_reference(ctx)})


def find_slots(ctx: ServiceContext, args: dict) -> ActionResult:
    """Future slots with a free place at ``office``, soonest first; with ``after`` (an ISO
    time with its offset), only those after it (the times after those already offered)."""
    since = ctx.now
    if args.get("after"):
        try:
            after = datetime.fromisoformat(str(args["after"]))
        except ValueError:
            after = None
        if after is not None and after.tzinfo is not None:
            since = max(since, after)
    query = (sa.select(slots.c.id, slots.c.office, slots.c.starts_at)
             .where(slots.c.office == args["office"], slots.c.starts_at > since,
                    slots.c.booked < slots.c.capacity)
             .order_by(slots.c.starts_at, slots.c.id)
             .limit(_int(args.get("limit")) or 4))
    found = [{"id": str(r.id), "starts_at": _local(r.starts_at), "office": r.office}
             for r in ctx.session.execute(query)]
    if not found:
        return ActionResult(False, {"error": "no_slots"})
    return ActionResult(True, {"slots": found})


def book_slot(ctx: ServiceContext, args: dict) -> ActionResult:
    slot_id = _int(args["slot_id"])
    # One conditional UPDATE takes the place: of two turns racing for the last one, exactly one
    # matches a row (PostgreSQL re-checks the condition after the row lock; SQLite serialises).
    taken = ctx.session.execute(
        sa.update(slots)
        .where(slots.c.id == slot_id, slots.c.booked < slots.c.capacity,
               slots.c.starts_at > ctx.now)
        .values(booked=slots.c.booked + 1))
    if taken.rowcount != 1:
        return ActionResult(False, {"error": "slot_taken"})
    slot = ctx.session.execute(
        sa.select(slots.c.office, slots.c.starts_at).where(slots.c.id == slot_id)).one()
    reference = _new_reference(ctx)
    ctx.session.execute(sa.insert(appointments).values(
        reference=reference, slot_id=slot_id, conversation_id=ctx.conversation_id,
        procedure=args.get("procedure"), status="booked", phone=args.get("phone") or None,
        created_at=ctx.now))
    return ActionResult(True, {"reference": reference, "starts_at": _local(slot.starts_at),
                               "office": slot.office})


def _booking(ctx: ServiceContext, args: dict, lock: bool = False):
    """The appointment and its slot for ``args["reference"]`` (and ``args["phone"]``), or None."""
    reference = normalise_reference(args["reference"])
    if reference is None:
        return None
    a = appointments.c
    query = (sa.select(a.id, a.reference, a.status, a.phone, a.slot_id, slots.c.office,
                       slots.c.starts_at)
             .join(slots, slots.c.id == a.slot_id)
             .where(a.reference == reference))
    row = ctx.session.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None or (args.get("phone") and _phone_key(args["phone"]) != _phone_key(row.phone)):
        return None  # a wrong phone looks like a wrong reference: nothing is revealed
    return row


def _describe(row, status: str) -> dict:
    return {"reference": row.reference, "starts_at": _local(row.starts_at), "office": row.office,
            "status": status}


def find_booking(ctx: ServiceContext, args: dict) -> ActionResult:
    row = _booking(ctx, args)
    if row is None:
        return ActionResult(False, {"error": "not_found"})
    return ActionResult(True, _describe(row, row.status))


def cancel_booking(ctx: ServiceContext, args: dict) -> ActionResult:
    row = _booking(ctx, args, lock=True)
    if row is None:
        return ActionResult(False, {"error": "not_found"})
    if row.status == "cancelled":
        return ActionResult(False, {"error": "already_cancelled"})
    if row.starts_at <= ctx.now:
        return ActionResult(False, {"error": "too_late"})
    ctx.session.execute(
        sa.update(appointments).where(appointments.c.id == row.id).values(status="cancelled"))
    ctx.session.execute(sa.update(slots).where(slots.c.id == row.slot_id, slots.c.booked > 0)
                        .values(booked=slots.c.booked - 1))
    return ActionResult(True, _describe(row, "cancelled"))


def file_report(ctx: ServiceContext, args: dict) -> ActionResult:
    reference = _new_reference(ctx)
    ctx.session.execute(sa.insert(reports).values(
        reference=reference, conversation_id=ctx.conversation_id, category=args["category"],
        location=args.get("location"), details=args.get("details"),
        phone=args.get("phone") or None, created_at=ctx.now))
    return ActionResult(True, {"reference": reference})


SERVICES: dict[str, Callable[[ServiceContext, dict], ActionResult]] = {
    "issue_reference": issue_reference,
    "find_slots": find_slots,
    "book_slot": book_slot,
    "find_booking": find_booking,
    "cancel_booking": cancel_booking,
    "file_report": file_report,
}


def seed_slots(session, offices: list[str], start: date, days: int, times: list[str],
               capacity: int, tz: str = "Asia/Hong_Kong") -> int:
    """Create the slots of ``days`` days from ``start`` (local ``times`` like "09:30"), Sundays
    excepted. Slots that already exist are left as they are. Returns how many were created.

    Safe when several processes seed the same database at once: the insert is
    ``INSERT ... ON CONFLICT DO NOTHING`` on (office, starts_at), so a slot another process made
    between our read and our insert is skipped, not an error."""
    zone = ZoneInfo(tz)
    wanted = {(office, datetime.combine(start + timedelta(days=i), time.fromisoformat(t), zone))
              for i in range(days) if (start + timedelta(days=i)).weekday() != 6
              for office in offices for t in times}
    if not wanted:
        return 0
    moments = [moment for _, moment in wanted]
    existing = {(r.office, r.starts_at) for r in session.execute(
        sa.select(slots.c.office, slots.c.starts_at).where(
            slots.c.office.in_(offices), slots.c.starts_at.between(min(moments), max(moments))))}
    # Aware datetimes compare and hash by instant, so local wanted times match the UTC stored ones.
    new = [{"office": o, "starts_at": m, "capacity": capacity, "booked": 0}
           for o, m in sorted(wanted) if (o, m) not in existing]
    if not new:
        return 0
    # RETURNING names the rows this insert made (a skipped conflict returns nothing)
    return len(session.execute(_insert_slot(session).returning(slots.c.id), new).all())


def _insert_slot(session):
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:   # another database: the plain insert (its conflicts are not handled)
        return sa.insert(slots)
    return insert(slots).on_conflict_do_nothing(index_elements=["office", "starts_at"])
