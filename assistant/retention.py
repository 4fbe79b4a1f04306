"""Retention: what the collection statement promises ("we keep it for N days, then delete it"),
kept by the code. ``purge`` deletes, or reduces to what the record must keep, everything held
about citizens past its period.

The period of a conversation is the longest of the periods of the procedures it collected data
for (those it consented to, the one it is in, those it finished), or the service's period
(``Catalogue.retention_days``: facts.yaml, replaced by KAIFONG_RETENTION_DAYS) when it touched
none; ``older_than`` (``kaifong purge --older-than DAYS``) puts one period on everything. It is
counted from each row's own date, so a number that texts every month still loses what it said a
year ago. A conversation with an open staff case (waiting for a person, or with one) is kept
whole until the case is closed, and then counted from the close.

Past its period:
- transcript lines, stored replies (``inbound_messages``), the channel's document
  (``channel_state``: the kiosk's keyed entries, SMS pages) and outbox messages (but one a
  worker is sending at this moment) are deleted;
- events keep their kind, date and codes (procedure, step, outcome, reference ...), and lose
  anything else;
- a conversation idle past its period keeps its reference, procedure, status, outcome, language
  and dates: its address (a phone number) and its state (slots, answers) are replaced;
- appointments lose their phone number once the appointment has passed; problem reports lose
  their location, details and phone number.
Kept: reference numbers, appointment slots, staff accounts, the audit log (which names staff and
holds counts, never a citizen's values), and opt-outs (a citizen's own "do not text me", which
must outlive everything else to be kept).

Every purge writes one ``staff_audit`` row (action ``purged``) with its counts, also a dry run
(``dry_run``: everything is done and rolled back, so the counts are exactly what a real run
would do). Conversations are purged in batches, each in its own transaction with the rows
locked, so that a citizen's turn waits at most one batch and never meets half a purge. Running
twice, or in two processes at once, deletes nothing twice: every statement only matches what is
still past its period and not yet reduced. ``purge_if_due`` is the daily run: one process of
many does it (PostgreSQL: an advisory lock; SQLite: a lock on a file beside the database), and
the audit log says whether today's run has been done.

It must not import Flask or anything of a channel, and logs counts only.
"""

from __future__ import annotations

import fcntl
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .catalogue import Catalogue
from .desk import mask_personal, staff_audit
from .outbox import outbox
from .services import appointment_slots, appointments, reports
from .store import Store, channel_state, conversations, events, inbound_messages, transcript_lines

__all__ = ["DAILY_STAFF", "PURGED_PREFIX", "PurgeResult", "Retention", "last_purge", "purge",
           "purge_if_due", "retention_from_env"]

log = logging.getLogger(__name__)

#: a reduced conversation's address: its own id, so that (channel, address) stays unique and a
#: citizen who writes again starts a new conversation
PURGED_PREFIX = "purged:"
#: who the audit log names for the service's own daily run
DAILY_STAFF = "kaifong (daily)"
#: a status that means a person has the case or is about to
OPEN_CASE = ("waiting", "with_staff")
#: conversations per transaction
BATCH = 200
#: the daily run is due when the last one is older than this
DAILY_EVERY = timedelta(hours=23)
_ADVISORY_KEY = 4242015
#: what an event may keep past its period: codes the oversight counts read, never values
_EVENT_KEYS = frozenset({"procedure", "step", "from", "to", "reason", "priority", "outcome",
                         "service", "ok", "why", "reference", "kind", "staff", "channel"})
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True)
class Retention:
    """How long things are kept: the service's period and the procedures' own."""

    default_days: int
    procedures: dict[str, int] = field(default_factory=dict)
    #: one period for everything (``kaifong purge --older-than DAYS``)
    uniform_days: int | None = None

    @classmethod
    def of(cls, catalogue: Catalogue, older_than: int | None = None) -> Retention:
        return cls(catalogue.retention_days,
                   {pid: catalogue.retention_for(pid) for pid in catalogue.procedures},
                   older_than)

    def days_for(self, procedures: Iterable[str]) -> int:
        if self.uniform_days is not None:
            return self.uniform_days
        periods = [self.procedures.get(p, self.default_days) for p in procedures if p]
        return max(periods) if periods else self.default_days

    @property
    def shortest(self) -> int:
        if self.uniform_days is not None:
            return self.uniform_days
        return min([self.default_days, *self.procedures.values()])


@dataclass
class PurgeResult:
    """What a purge did (or, in a dry run, would do): counts only."""

    dry_run: bool
    days: int | None                      # the uniform period, or None: each one's own
    conversations: int = 0                # reduced to their record
    transcript_lines: int = 0
    stored_replies: int = 0
    channel_state: int = 0
    events: int = 0                       # events whose values were dropped
    outbox: int = 0
    appointments: int = 0                 # phone numbers removed
    reports: int = 0                      # locations, details and phone numbers removed
    kept_open_cases: int = 0              # conversations kept whole: a person has the case
    files: int = 0                        # once-clips and other files (counted by the channels)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in (
            "conversations", "transcript_lines", "stored_replies", "channel_state", "events",
            "outbox", "appointments", "reports", "kept_open_cases", "files")}

    def detail(self) -> dict:
        return {"dry_run": self.dry_run, "older_than_days": self.days, **self.counts()}


def retention_from_env(environ, default: int | None = None) -> int | None:
    """KAIFONG_RETENTION_DAYS as a number of days (None when unset). Anything but a whole
    number of at least 1 is refused: a typo must not mean "keep nothing"."""
    raw = (environ.get("KAIFONG_RETENTION_DAYS") or "").strip()
    if not raw:
        return default
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days < 1:
        raise ValueError(f"KAIFONG_RETENTION_DAYS must be a whole number of days, at least 1, "
                         f"not {raw!r}")
    return days


def purge(store: Store, retention: Retention, *, now: datetime | None = None,
          dry_run: bool = False, staff: str = "kaifong purge", files: int = 0) -> PurgeResult:
    """Delete or reduce everything past its period (see the module's docstring) and write the
    audit row. ``files``: what the caller removed outside the database (once-clips), for the
    audit row's counts."""
    now = now or datetime.now(UTC)
    result = PurgeResult(dry_run, retention.uniform_days, files=files)
    oldest_kept = now - timedelta(days=retention.shortest)
    c = conversations.c
    with store._read() as conn:
        # every conversation that may hold something past the shortest period; open cases are
        # counted, and their ids not even read further
        result.kept_open_cases = conn.scalar(sa.select(sa.func.count()).where(
            c.status.in_(OPEN_CASE), c.created_at < oldest_kept)) or 0
        ids = list(conn.scalars(sa.select(c.id).where(
            c.created_at < oldest_kept, c.status.not_in(OPEN_CASE),
            ~c.address.startswith(PURGED_PREFIX)).order_by(c.id)))
    for start in range(0, len(ids), BATCH):
        with _batch(store, dry_run) as session:
            _purge_batch(session, ids[start:start + BATCH], retention, now, result)
    with _batch(store, dry_run) as session:
        _purge_leftovers(session, retention, now, result)
    with store.transaction() as session:      # the audit row is written even for a dry run
        session.execute(sa.insert(staff_audit).values(
            at=now, staff=staff, action="purged", conversation_id=None,
            detail=result.detail()))
    log.info("purge%s: %s", " (dry run)" if dry_run else "",
             ", ".join(f"{k} {v}" for k, v in result.counts().items()))
    return result


def last_purge(store: Store, staff: str | None = DAILY_STAFF) -> datetime | None:
    """When the last real purge (by ``staff``, or anyone's when None) was done."""
    a = staff_audit.c
    query = sa.select(a.at, a.detail).where(a.action == "purged").order_by(a.id.desc())
    if staff is not None:
        query = query.where(a.staff == staff)
    with store._read() as conn:
        for row in conn.execute(query.limit(20)):
            if not (row.detail or {}).get("dry_run"):
                return row.at
    return None


def purge_if_due(store: Store, retention: Retention, *, now: datetime | None = None,
                 files: int = 0) -> PurgeResult | None:
    """The daily run: purge unless a daily purge was done in the last ``DAILY_EVERY``, or
    another process is doing it now (PostgreSQL: an advisory lock held for the whole run).
    Returns the result, or None when there was nothing to do."""
    now = now or datetime.now(UTC)
    with _only_one(store) as mine:
        if not mine:
            return None
        last = last_purge(store)
        if last is not None and now - last < DAILY_EVERY:
            return None
        return purge(store, retention, now=now, staff=DAILY_STAFF, files=files)


# -- the work ------------------------------------------------------------------------------------

class _Rollback(Exception):
    pass


@contextmanager
def _batch(store: Store, dry_run: bool) -> Iterator[Any]:
    try:
        with store.transaction() as session:
            yield session
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass


@contextmanager
def _only_one(store: Store) -> Iterator[bool]:
    """True for the one caller (thread or process) that may run the daily purge now."""
    if store.sqlite:
        yield from _file_lock(store)
        return
    with store.engine.connect() as conn:
        mine = bool(conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                {"key": _ADVISORY_KEY}))
        conn.commit()
        try:
            yield mine
        finally:
            if mine:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
                conn.commit()


def _file_lock(store: Store) -> Iterator[bool]:
    """SQLite: an exclusive lock on a file beside the database (``flock``: processes and threads
    alike, since each call opens its own descriptor). An in-memory database has one process."""
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    with open(f"{database}.purge-lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _purge_batch(session, ids: list[int], retention: Retention, now: datetime,
                 result: PurgeResult) -> None:
    c, e = conversations.c, events.c
    # locked, and read again: a turn may have moved them since the list was made
    rows = [row for row in session.execute(
        sa.select(c.id, c.status, c.state, c.updated_at, c.address)
        .where(c.id.in_(ids)).order_by(c.id).with_for_update()).all()
        if not row.address.startswith(PURGED_PREFIX)]
    # the procedures each finished, and when a staff case was last closed (a status event
    # from waiting or with_staff): read by conversation, the one index every backend uses here
    ended: dict[int, set] = defaultdict(set)
    closed: dict[int, datetime] = {}
    for cid, kind, data, at in session.execute(sa.select(e.conversation_id, e.kind, e.data, e.at)
                                               .where(e.conversation_id.in_(ids))):
        if not isinstance(data, dict):
            continue
        if kind == "ended" and data.get("procedure"):
            ended[cid].add(data["procedure"])
        elif kind == "status" and data.get("from") in OPEN_CASE:
            closed[cid] = max(at, closed.get(cid, at))
    by_cutoff: dict[datetime, list] = defaultdict(list)
    for row in rows:
        if row.status in OPEN_CASE:
            result.kept_open_cases += 1
            continue
        state = row.state or {}
        procedures = {*(state.get("consent") or []), state.get("procedure"), *ended[row.id]}
        cutoff = now - timedelta(days=retention.days_for(p for p in procedures if p))
        # a staff case is counted from its close: until then nothing of it goes
        if closed.get(row.id) is not None and closed[row.id] >= cutoff:
            result.kept_open_cases += 1
            continue
        by_cutoff[cutoff].append(row)
    for cutoff, same in by_cutoff.items():
        reduce_conversations(session, same, cutoff, now, result)


def reduce_conversations(session, rows: list, cutoff: datetime, now: datetime,
                         result: PurgeResult, *, passed_only: bool = True) -> None:
    """Everything of the conversations ``rows`` (id, state, updated_at; locked by the caller)
    dated before ``cutoff``: deleted or reduced; a conversation itself reduced to its record
    when it was last active before ``cutoff``. ``passed_only``: appointments still to come keep
    their phone number (for the reminder); an erasure passes False."""
    if not rows:
        return
    ids = [row.id for row in rows]
    e, t, i, k, o = (events.c, transcript_lines.c, inbound_messages.c, channel_state.c,
                     outbox.c)
    result.transcript_lines += session.execute(sa.delete(transcript_lines).where(
        t.conversation_id.in_(ids), t.at < cutoff)).rowcount
    result.stored_replies += session.execute(sa.delete(inbound_messages).where(
        i.conversation_id.in_(ids), i.received_at < cutoff)).rowcount
    result.channel_state += session.execute(sa.delete(channel_state).where(
        k.conversation_id.in_(ids), k.updated_at < cutoff)).rowcount
    result.outbox += session.execute(sa.delete(outbox).where(
        o.conversation_id.in_(ids), o.created_at < cutoff, _not_in_hand(now))).rowcount
    changed = []
    for event_id, data in session.execute(sa.select(e.id, e.data).where(
            e.conversation_id.in_(ids), e.at < cutoff)).all():
        reduced = _reduce_event(data)
        if reduced != (data or {}):
            changed.append({"_id": event_id, "_data": reduced})
    if changed:
        session.execute(sa.update(events).where(e.id == sa.bindparam("_id"))
                        .values(data=sa.bindparam("_data")), changed)
        result.events += len(changed)
    _reduce_records(session, cutoff, now, result, appointments.c.conversation_id.in_(ids),
                    reports.c.conversation_id.in_(ids), passed_only=passed_only)
    idle = [{"_id": row.id, "_address": f"{PURGED_PREFIX}{row.id}",
             "_state": _reduce_state(row.state or {}, now)}
            for row in rows if row.updated_at < cutoff]
    if idle:
        c = conversations.c
        session.execute(sa.update(conversations).where(c.id == sa.bindparam("_id")).values(
            address=sa.bindparam("_address"), state=sa.bindparam("_state"),
            waiting_since=None), idle)
        result.conversations += len(idle)


def _purge_leftovers(session, retention: Retention, now: datetime,
                     result: PurgeResult) -> None:
    """What no live conversation holds: rows whose conversation was deleted, outbox messages
    sent to no conversation, and the phone numbers of appointments that have passed since
    their conversation was reduced."""
    cutoff = now - timedelta(days=retention.days_for(()))
    c, o = conversations.c, outbox.c
    purged = sa.select(c.id).where(c.address.startswith(PURGED_PREFIX))
    result.outbox += session.execute(sa.delete(outbox).where(
        o.conversation_id.is_(None), o.created_at < cutoff, _not_in_hand(now))).rowcount
    a, r = appointments.c, reports.c
    _reduce_records(session, cutoff, now, result,
                    sa.or_(a.conversation_id.is_(None), a.conversation_id.in_(purged)),
                    sa.or_(r.conversation_id.is_(None), r.conversation_id.in_(purged)))


def _reduce_records(session, cutoff: datetime, now: datetime, result: PurgeResult,
                    appointment_of, report_of, passed_only: bool = True) -> None:
    a, s, r = appointments.c, appointment_slots.c, reports.c
    passed = a.slot_id.in_(sa.select(s.id).where(s.starts_at < now)) if passed_only \
        else sa.true()
    result.appointments += session.execute(sa.update(appointments).where(
        appointment_of, a.created_at < cutoff, a.phone.is_not(None), passed)
        .values(phone=None)).rowcount
    result.reports += session.execute(sa.update(reports).where(
        report_of, r.created_at < cutoff,
        sa.or_(r.location.is_not(None), r.details.is_not(None), r.phone.is_not(None)))
        .values(location=None, details=None, phone=None)).rowcount


def _not_in_hand(now: datetime):
    """An outbox message that no worker is sending right now (a message still queued after the
    whole period is as stale as a sent one: the outbox gives up long before)."""
    o = outbox.c
    return sa.not_(sa.and_(o.status == "sending", o.lease_until > now))


def _reduce_state(state: dict, now: datetime) -> dict:
    """What the record keeps of a conversation's state: codes and the reference, no values."""
    escalation = state.get("escalation") or {}
    kept = {"status": state.get("status") or "closed", "locale": state.get("locale"),
            "procedure": state.get("procedure"), "reference": state.get("reference"),
            "outcome": escalation.get("outcome"), "reason": escalation.get("reason"),
            "purged_at": now.isoformat()}
    return {k: v for k, v in kept.items() if _is_code(v) or k == "purged_at"}


def _reduce_event(data: Any) -> dict:
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in _EVENT_KEYS and _is_code(v)}


def _is_code(value: Any) -> bool:
    """A value the record may keep: a number, a flag, or a short code (a procedure id, a step,
    a status, a reference), never anything a citizen typed that looks like a number of theirs."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return (isinstance(value, str) and bool(_CODE.fullmatch(value))
            and mask_personal(value) == value)
