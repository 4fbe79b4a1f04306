"""The staff desk: what members of staff do with conversations the assistant handed over.

Claim a waiting conversation (one member of staff at a time), reply to the citizen, hand the
conversation back to the assistant (where it was, or at the start of a procedure), or close it
with an outcome; read the queue and a transcript, with personal data masked unless someone
asks to reveal it. Every one of these is written to ``staff_audit``, which nothing here (and
nothing in the console) updates or deletes.

Each change runs in the conversation's own turn (``Store.turn``), so it is serialised with the
citizen's messages and with other staff: two members of staff claiming at once get one claim
and one ``ClaimRefused``. What the citizen must hear (a person has joined, a staff reply, the
assistant's next question after a hand-back) goes to the deliverer that the citizen's channel
registered (``Desk.deliver_with``), called inside that same transaction, so that for SMS the
outbox row exists exactly when the transcript line does. A channel with no deliverer (the kiosk
shows the transcript on its screen) needs none.

It must not import Flask or anything of a channel, and it logs nothing: staff names, numbers
and messages stay in the database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .conversation import Assistant
from .errors import ClaimRefused, StaffActionError
from .model import HandBack, Reply
from .services import normalise_reference
from .staff import find_staff
from .store import (
    JSONText,
    Line,
    Turn,
    UTCDateTime,
    conversations,
    metadata,
    queue_query,
    transcript_lines,
)
from .store import events as event_rows

__all__ = ["AUDIT_ACTIONS", "CLOSED_BY_ITSELF", "OUTCOMES", "SYSTEM_STAFF", "close_by_itself", "AuditEntry", "Deliverer", "Desk", "DeskConversation",
           "TRANSFERRED_OUTCOME", "close_transferred", "mask_personal", "request_call_back",
           "staff_audit"]

#: how a member of staff may close a conversation
OUTCOMES = ("resolved", "referred", "no_response")
#: the outcome of a call put through to staff and answered: the citizen talked to a person on
#: the phone, and the conversation leaves the queue (not one staff choose in the console)
TRANSFERRED_OUTCOME = "talked_on_phone"
AUDIT_ACTIONS = ("viewed", "revealed", "claimed", "replied", "handed_back", "closed",
                 "assigned", "noted", "ready_replies",
                 # retention and subject access (assistant.retention, assistant.subject)
                 "purged", "looked_up", "exported", "erased",
                 "closed_by_itself")
#: who the audit log names for what the system did by itself (``close_by_itself``)
SYSTEM_STAFF = "(system)"
#: why an entry closed by itself, and the outcome it closed with: the kiosk visitor left (the
#: kiosk's session ended while they waited), the phone put the call through to staff, nothing
#: happened for longer than the console's limit (``Desk.close_stale``)
CLOSED_BY_ITSELF = {"kiosk_left": "left", "phone_transfer": TRANSFERRED_OUTCOME,
                    "no_reply": "no_response"}
#: statuses the console's queue shows: waiting for a person, or with one
QUEUE_STATUSES = ("waiting", "with_staff")

staff_audit = sa.Table(
    "staff_audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("staff", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.Integer,
              sa.ForeignKey("conversations.id", ondelete="SET NULL")),
    sa.Column("detail", JSONText),
    sa.Index("ix_staff_audit_conversation", "conversation_id"),
)

#: called inside the conversation's transaction with what the citizen must receive: a staff
#: member's own words (str) or the assistant's reply after a hand-back (Reply), and its kind
Deliverer = Callable[[Turn, "str | Reply", str], None]


@dataclass(frozen=True)
class DeskConversation:
    id: int
    channel: str
    address: str
    status: str
    locale: str | None
    procedure: str | None
    step: str | None
    reason: str | None
    priority: int | None
    waiting_since: datetime | None
    claimed_by: str | None
    #: what the citizen already gave: procedure, step, slots (values masked unless revealed)
    summary: dict
    updated_at: datetime | None
    #: a call-back the citizen is waiting for: {"number" (masked unless revealed), "due" (an
    #: aware datetime or None: as soon as staff can), "why"}; None when none was asked for
    callback: dict | None = None
    #: how it was closed (``OUTCOMES``, or ``TRANSFERRED_OUTCOME``), when it was
    outcome: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    staff: str
    action: str
    conversation_id: int | None
    detail: dict


class Desk:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.store = assistant.store
        self._deliverers: dict[str, Deliverer] = {}

    def deliver_with(self, channel: str, deliverer: Deliverer) -> None:
        """A channel says how what staff send reaches its citizens (at start-up)."""
        self._deliverers[channel] = deliverer

    # -- reading ------------------------------------------------------------------------------

    def queue(self, limit: int = 1000) -> list[DeskConversation]:
        """Conversations waiting for a person or with one: the most urgent first (priority 0
        before 1), then whoever has waited longest. Personal data masked."""
        with self.store._read() as conn:
            return [_conversation(row, reveal=False)
                    for row in conn.execute(queue_query(QUEUE_STATUSES, limit))]

    def conversation(self, conversation_id: int, staff: str, *, reveal: bool = False
                     ) -> tuple[DeskConversation, list[Line]]:
        """One conversation and its whole transcript, for ``staff`` (audited as viewed, or as
        revealed when ``reveal``: personal data shown unmasked)."""
        with self.store._read() as conn:
            row = conn.execute(sa.select(conversations)
                               .where(conversations.c.id == conversation_id)).first()
        if row is None:
            raise StaffActionError("no such conversation")
        lines = self.transcript(conversation_id, reveal=reveal)
        self.audit(staff, "revealed" if reveal else "viewed", conversation_id)
        return _conversation(row, reveal), lines

    def transcript(self, conversation_id: int, after_seq: int = 0, *, reveal: bool = False
                   ) -> list[Line]:
        """Lines after ``after_seq`` (the live view asks for what is new). Not audited: the
        view that shows them was."""
        lines = self.store.transcript(conversation_id, after_seq)
        if reveal:
            return lines
        return [Line(x.seq, x.role, mask_personal(x.text), x.at, x.meta) for x in lines]

    def closed(self, limit: int = 200) -> list[DeskConversation]:
        """Conversations closed (by staff, or by the phone putting the call through), the most
        recently closed first, with their outcome. One that the citizen has started again
        since is with the assistant, no longer here. Personal data masked."""
        c = conversations.c
        query = (sa.select(conversations).where(c.status == "closed")
                 .order_by(c.updated_at.desc(), c.id.desc()).limit(limit))
        with self.store._read() as conn:
            return [_conversation(row, reveal=False) for row in conn.execute(query)]

    def search(self, query: str, limit: int = 50) -> list[DeskConversation]:
        """Conversations in any state whose reference (``KF1234567``), number (its last
        digits, as a masked number shows them: ``67``, ``4567``) or words (what anyone wrote
        in it) match ``query``; the most recently active first. Personal data masked."""
        query = " ".join(query.split())[:100]
        if not query:
            return []
        c, x = conversations.c, transcript_lines.c
        matches = []
        reference = normalise_reference(query)
        digits = re.sub(r"[\s+\-*.()]", "", query)
        if reference:
            e = event_rows.c
            matches.append(c.id.in_(sa.select(e.conversation_id).where(
                e.kind == "ended", sa.type_coerce(e.data, sa.Text).contains(reference,
                                                                             autoescape=True))))
            matches.append(c.id.in_(sa.select(x.conversation_id).where(
                x.text.contains(reference, autoescape=True))))
        if digits.isdigit() and len(digits) >= 2:
            matches.append(c.address.endswith(digits, autoescape=True))
        if not matches:
            words = query.lower()
            matches.append(c.id.in_(sa.select(x.conversation_id).where(
                sa.func.lower(x.text).contains(words, autoescape=True))))
        select = (sa.select(conversations).where(sa.or_(*matches))
                  .order_by(c.updated_at.desc(), c.id.desc()).limit(limit))
        with self.store._read() as conn:
            return [_conversation(row, reveal=False) for row in conn.execute(select)]

    def close_stale(self, minutes: int, now: datetime | None = None) -> int:
        """Close, by itself, every conversation waiting for a person in which nothing has
        happened (no line, no change) for ``minutes``: its citizen has gone. One waiting for a
        call-back is not stale (it waits for staff, not for the citizen). How many closed."""
        now = now or datetime.now(UTC)
        c = conversations.c
        with self.store._read() as conn:
            stale = conn.execute(sa.select(c.channel, c.address).where(
                c.status == "waiting",
                c.updated_at < now - timedelta(minutes=minutes))).all()
        closed = 0
        for channel, address in stale:
            with self.store.turn(channel, address) as t:
                state = t.state or {}
                if (state.get("escalation") or {}).get("callback"):
                    continue
                # checked again inside the turn: the citizen may have written meanwhile
                updated = t.session.scalar(sa.select(c.updated_at).where(
                    c.id == t.conversation_id))
                if updated is not None and updated.tzinfo is None:
                    updated = updated.replace(tzinfo=UTC)
                if updated is not None and updated >= now - timedelta(minutes=minutes):
                    continue
                closed += close_by_itself(t, "no_reply", {"minutes": minutes})
        return closed

    def audit_log(self, limit: int = 200, conversation_id: int | None = None
                  ) -> list[AuditEntry]:
        """Newest first."""
        a = staff_audit.c
        query = sa.select(staff_audit).order_by(a.id.desc()).limit(limit)
        if conversation_id is not None:
            query = query.where(a.conversation_id == conversation_id)
        with self.store._read() as conn:
            return [AuditEntry(r.id, r.at, r.staff, r.action, r.conversation_id, r.detail or {})
                    for r in conn.execute(query)]

    def queue_version(self) -> tuple:
        """Changes whenever the queue does: someone joins or leaves it, or a conversation in it
        moves. Conversations the assistant handles alone do not change it."""
        c = conversations.c
        with self.store._read() as conn:
            row = conn.execute(sa.select(sa.func.count(), sa.func.max(c.updated_at))
                               .where(c.status.in_(QUEUE_STATUSES))).one()
        return tuple(row)

    def conversation_version(self, conversation_id: int) -> tuple:
        """Changes whenever the conversation does (a line, a status)."""
        c = conversations.c
        with self.store._read() as conn:
            row = conn.execute(sa.select(c.last_seq, c.status, c.updated_at)
                               .where(c.id == conversation_id)).first()
        return tuple(row) if row else ()

    def wait_for_change(self, version: Callable[[], Any], since: Any, timeout: float,
                        poll: float = 0.5, conversation_id: int | None = None) -> Any:
        """Block until ``version()`` differs from ``since`` (or ``timeout`` seconds pass), and
        return it. Turns in this process wake the wait at once, and so do other processes'
        on PostgreSQL (LISTEN/NOTIFY); otherwise they are seen within ``poll`` seconds, from
        the database. With ``conversation_id`` (the version is that conversation's), a wake-up
        by another conversation's commit reads nothing: many waiting live views must not each
        read the database on every turn of every citizen."""
        deadline = time.monotonic() + timeout
        mark = self.store.change_mark()
        now = version()
        while True:
            if now != since:
                return now
            left = deadline - time.monotonic()
            if left <= 0:
                return now
            # with other processes heard, the period only covers a lost notification
            period = poll * 10 if self.store.hears_other_processes else poll
            woken = self.store.wait_committed(min(period, left))
            if conversation_id is not None and woken:
                mark, touched = self.store.changed_since(mark)
                if touched is not None and conversation_id not in touched:
                    continue
            else:
                mark = self.store.change_mark()
            now = version()

    def related(self, conversation_id: int, limit: int = 20) -> list[DeskConversation]:
        """The citizen's other conversations, on any channel: the same number (SMS and phone
        share it; a kiosk address is a visitor's session, never a number), and any that
        ended with or mention a reference number that these ended with or the citizen gave in
        them. Most recently active first; personal data masked."""
        c, e, x = conversations.c, event_rows.c, transcript_lines.c
        with self.store._read() as conn:
            row = conn.execute(sa.select(c.channel, c.address)
                               .where(c.id == conversation_id)).first()
            if row is None:
                return []
            ids = {conversation_id}
            if row.channel != "kiosk":
                ids.update(conn.scalars(sa.select(c.id).where(
                    c.address == row.address, c.channel != "kiosk")))
            references = {ref for ref in (
                (data or {}).get("reference") for data in conn.scalars(sa.select(e.data).where(
                    e.conversation_id.in_(ids), e.kind == "ended"))) if ref}
            for text in conn.scalars(sa.select(x.text).where(
                    x.conversation_id.in_(ids), x.role == "user")):
                references.update(_REFERENCE.findall(text.upper()))
            matches = [c.id.in_(ids)]
            for reference in sorted(references)[:10]:
                matches.append(c.id.in_(sa.select(e.conversation_id).where(
                    e.kind == "ended", sa.type_coerce(e.data, sa.Text).contains(
                        reference, autoescape=True))))
                matches.append(c.id.in_(sa.select(x.conversation_id).where(
                    x.role == "user", x.text.contains(reference, autoescape=True))))
            query = (sa.select(conversations).where(sa.or_(*matches), c.id != conversation_id)
                     .order_by(c.updated_at.desc(), c.id.desc()).limit(limit))
            return [_conversation(r, reveal=False) for r in conn.execute(query)]

    def queue_size(self) -> int:
        """How many are waiting for a person or with one (the queue page may show fewer)."""
        return self.queue_version()[0]

    # -- acting -------------------------------------------------------------------------------

    def claim(self, conversation_id: int, staff: str) -> None:
        """Take a waiting conversation; the citizen is told a person is with them. Raises
        ``ClaimRefused`` when someone else has it or it is not waiting for a person."""
        with self._turn(conversation_id) as t:
            state = t.state or {}
            escalation = state.get("escalation") or {}
            if state.get("status") == "with_staff" and escalation.get("claimed_by") == staff:
                return                    # claimed already, by the same person: nothing to do
            if state.get("status") != "waiting":
                raise ClaimRefused("the conversation is not waiting for a person")
            state["status"] = "with_staff"
            state["escalation"] = {**escalation, "claimed_by": staff,
                                   "claimed_at": t.now.isoformat()}
            t.add_event("status", {"from": "waiting", "to": "with_staff", "staff": staff})
            said = self._prompt(state, "staff_joined")
            t.add_line("assistant", said, {"desk": "claimed"})
            t.state = state
            self._deliver(t, said, "staff_joined")
            self._audit_in(t, staff, "claimed")

    def assign(self, conversation_id: int, staff: str, to: str, note: str = "", *,
               supervisor: bool = False) -> None:
        """Give a conversation to the member of staff ``to`` (an agent or a supervisor), with
        an internal note: a waiting one by anyone, one with staff by whoever has it (or a
        supervisor). It is then ``to``'s, in the queue's "who has it" and "mine"; if it was
        waiting, the citizen is told a person is with them. Audited as assigned."""
        if find_staff(self.store.engine, to) is None:
            raise StaffActionError("no such member of staff")
        with self._turn(conversation_id) as t:
            state = t.state or {}
            escalation = state.get("escalation") or {}
            status, holder = state.get("status"), escalation.get("claimed_by")
            if status not in QUEUE_STATUSES:
                raise StaffActionError("the conversation is not waiting for a person")
            if status == "with_staff" and holder != staff and not supervisor:
                raise ClaimRefused("someone else has the conversation")
            if status == "with_staff" and holder == to:
                raise StaffActionError("they have it already")
            state["status"] = "with_staff"
            state["escalation"] = {**escalation, "claimed_by": to,
                                   "claimed_at": t.now.isoformat(), "assigned_by": staff}
            t.add_event("status", {"from": status, "to": "with_staff", "staff": to,
                                   "assigned_by": staff})
            if note.strip():
                t.add_line("staff", note.strip(), {"staff": staff, "note": True,
                                                   "assigned_to": to})
            if status == "waiting":
                said = self._prompt(state, "staff_joined")
                t.add_line("assistant", said, {"desk": "claimed"})
                self._deliver(t, said, "staff_joined")
            t.state = state
            self._audit_in(t, staff, "assigned", {"to": to, "from": holder})

    def note(self, conversation_id: int, staff: str, text: str) -> None:
        """An internal note in the transcript, at any time and by anyone on staff: never sent
        to the citizen (no deliverer is called; the kiosk's screen leaves notes out), shown to
        staff as a note, exported and purged with the transcript. Audited as noted."""
        text = text.strip()
        if not text:
            raise StaffActionError("an empty note")
        with self._turn(conversation_id) as t:
            t.add_line("staff", text, {"staff": staff, "note": True})
            self._audit_in(t, staff, "noted", {"characters": len(text)})

    def reply(self, conversation_id: int, staff: str, text: str) -> None:
        """Words of the member of staff who has the conversation, to the citizen."""
        text = text.strip()
        if not text:
            raise StaffActionError("an empty reply")
        with self._turn(conversation_id) as t:
            self._require_claimant(t, staff)
            t.add_line("staff", text, {"staff": staff})
            self._deliver(t, text, "staff_reply")
            self._audit_in(t, staff, "replied", {"characters": len(text)})

    def hand_back(self, conversation_id: int, staff: str, procedure: str | None = None,
                  note: str = "") -> Reply:
        """Back to the assistant: where the citizen was (``procedure`` None) or at the start of
        ``procedure``. The citizen gets the assistant's next question at once."""
        if procedure is not None and procedure not in self.assistant.catalogue.procedures:
            raise StaffActionError("no such procedure")
        with self._turn(conversation_id) as t:
            self._require_claimant(t, staff)
            if note.strip():
                t.add_line("staff", note.strip(), {"staff": staff, "note": True})
            reply = self.assistant.advance_in(t, HandBack("", procedure))
            self._deliver(t, reply, "hand_back")
            self._audit_in(t, staff, "handed_back", {"procedure": procedure})
        return reply

    def close(self, conversation_id: int, staff: str, outcome: str, note: str = "") -> None:
        """Close with an outcome. The next message from the citizen starts with the assistant;
        the transcript, with the note, stays."""
        if outcome not in OUTCOMES:
            raise StaffActionError(f"outcome must be one of {', '.join(OUTCOMES)}")
        with self._turn(conversation_id) as t:
            self._require_claimant(t, staff)
            state = t.state
            if note.strip():
                t.add_line("staff", note.strip(), {"staff": staff, "note": True})
            said = self._prompt(state, "staff_closed")
            t.add_line("assistant", said, {"desk": "closed"})
            self._deliver(t, said, "staff_closed")
            t.add_event("status", {"from": state["status"], "to": "closed", "staff": staff,
                                   "outcome": outcome})
            state["status"] = "closed"
            state["escalation"] = {**(state.get("escalation") or {}), "outcome": outcome}
            t.state = state
            self._audit_in(t, staff, "closed", {"outcome": outcome})

    def audit(self, staff: str, action: str, conversation_id: int | None,
              detail: dict | None = None) -> None:
        """Write one audit row in a transaction of its own (for reads: viewed, revealed)."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with self.store.transaction() as session:
            session.execute(sa.insert(staff_audit).values(
                at=datetime.now(UTC), staff=staff, action=action,
                conversation_id=conversation_id, detail=detail or {}))

    # -- helpers ------------------------------------------------------------------------------

    def _turn(self, conversation_id: int):
        key = self.store.address_of(conversation_id)
        if key is None:
            raise StaffActionError("no such conversation")
        return self.store.turn(*key)

    @staticmethod
    def _require_claimant(t: Turn, staff: str) -> None:
        state = t.state or {}
        if state.get("status") != "with_staff" or \
                (state.get("escalation") or {}).get("claimed_by") != staff:
            raise StaffActionError("claim the conversation first")

    def _prompt(self, state: dict, name: str) -> str:
        catalogue, locale = self.assistant.catalogue, state.get("locale") or "en"
        # in the words of the citizen's channel (kept in the state by the channel's turns)
        return catalogue.text(name, locale, state.get("modality"))

    def _deliver(self, t: Turn, message: str | Reply, kind: str) -> None:
        deliverer = self._deliverers.get(t.channel)
        if deliverer is not None:
            deliverer(t, message, kind)

    @staticmethod
    def _audit_in(t: Turn, staff: str, action: str, detail: dict | None = None) -> None:
        t.session.execute(sa.insert(staff_audit).values(
            at=t.now, staff=staff, action=action, conversation_id=t.conversation_id,
            detail=detail or {}))


def request_call_back(t: Turn, number: str, due: datetime | None, why: str) -> None:
    """Inside a channel's turn of a conversation that is waiting for a person: the citizen will
    be called back on ``number`` (from ``due``, or as soon as staff can when None). ``why``:
    "closed" (outside office hours), "no_answer" (no one took the transfer), "no_line" (no staff
    number to transfer to). The queue shows it, with the number masked until revealed."""
    state = t.state or {}
    escalation = dict(state.get("escalation") or {})
    if state.get("status") != "waiting" or not escalation:
        raise StaffActionError("a call-back needs a conversation waiting for a person")
    if escalation.get("reason") != "distress":      # distress stays the reason, and first
        escalation["asked_reason"] = escalation.get("reason")
        escalation["reason"] = "callback"
    escalation["callback"] = {"number": number, "due": due.isoformat() if due else None,
                              "why": why, "asked_at": t.now.isoformat()}
    t.state = {**state, "escalation": escalation}
    t.add_event("callback", {"why": why, "due": escalation["callback"]["due"]})
    t.add_line("system", "(asked to be called back)", {"callback": why})


def close_by_itself(t: Turn, why: str, detail: dict | None = None) -> bool:
    """Inside a channel's turn: a conversation waiting for a person (or with one) whose citizen
    is gone closes by itself, ``why`` (a key of ``CLOSED_BY_ITSELF``) given in its events and
    in the audit log (as ``SYSTEM_STAFF``), so that staff see why it left the queue. False when
    it was not in the queue."""
    state = t.state or {}
    if state.get("status") not in QUEUE_STATUSES:
        return False
    outcome = CLOSED_BY_ITSELF[why]
    t.add_event("status", {"from": state["status"], "to": "closed", "outcome": outcome,
                           "why": why})
    t.state = {**state, "status": "closed", "pending": None,
               "escalation": {**(state.get("escalation") or {}), "outcome": outcome,
                              "closed_why": why}}
    Desk._audit_in(t, SYSTEM_STAFF, "closed_by_itself",
                   {"outcome": outcome, "why": why, **(detail or {})})
    return True


def close_transferred(t: Turn) -> None:
    """Inside a channel's turn: the call was put through to staff and answered, so the citizen
    has talked to a person. The conversation closes with ``TRANSFERRED_OUTCOME``: it leaves the
    queue, the next call starts with the assistant (not straight to staff), and the expected
    wait counts only the people still waiting. The audit log says it closed by itself."""
    close_by_itself(t, "phone_transfer")


def _conversation(row, reveal: bool) -> DeskConversation:
    state = row.state or {}
    escalation = state.get("escalation") or {}
    summary = dict(escalation.get("summary") or {})
    if not summary and state.get("procedure"):
        summary = {"procedure": state.get("procedure"), "step": state.get("step"),
                   "slots": dict(state.get("slots") or {})}
    if not reveal:
        summary["slots"] = {k: _mask_value(v) for k, v in (summary.get("slots") or {}).items()}
    return DeskConversation(
        id=row.id, channel=row.channel,
        address=row.address if reveal else mask_personal(row.address),
        status=row.status, locale=row.locale, procedure=row.procedure, step=row.step,
        reason=row.escalation_reason, priority=row.priority, waiting_since=row.waiting_since,
        claimed_by=escalation.get("claimed_by"), summary=summary, updated_at=row.updated_at,
        callback=_callback(escalation.get("callback"), reveal),
        outcome=escalation.get("outcome") if row.status == "closed" else None)


def _callback(callback: dict | None, reveal: bool) -> dict | None:
    if not callback:
        return None
    due = callback.get("due")
    return {"number": callback.get("number") if reveal else mask_personal(
                callback.get("number") or ""),
            "due": datetime.fromisoformat(due) if due else None, "why": callback.get("why")}


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return value


# a reference number as citizens type it back (``KF`` and 7 or more digits)
_REFERENCE = re.compile(r"KF\d{7,}")

# an identity card number as people type it: A123456(7), a1234567, AB 123456 (A), Ａ１２３４５６（７）
_LETTER = "A-Za-zＡ-Ｚａ-ｚ"
_HKID = re.compile(rf"(?<![{_LETTER}])([{_LETTER}]{{1,2}})\s*(\d{{6}})"
                   r"\s*[(（]?\s*([\dAaＡａ])\s*[)）]?(?!\d)")
# a run of 6 or more digits, with spaces, dashes or dots between (phone numbers, dates of birth,
# account numbers), not one that follows a letter (a reference such as KF12345678 is not
# personal); the last two digits stay, so staff can tell numbers apart
_DIGITS = re.compile(r"(?<![A-Za-z0-9])\+?\d(?:[\s\-.]?\d){5,}")


def mask_personal(text: str) -> str:
    """``text`` with identity card numbers and long numbers masked: "A123456(3)" becomes
    "A******(*)", "+852 9123 4567" becomes "+*** **** **67". Full-width digits are masked
    like ASCII ones."""
    if not text:
        return text
    text = _HKID.sub(_mask_hkid, text)
    return _DIGITS.sub(_mask_digits, text)


def _mask_hkid(m: re.Match) -> str:
    # "KF0000018" has an identity card's shape, but it is one of our references: not personal
    if m.group(1).upper() == "KF" and normalise_reference(m.group(0)):
        return m.group(0)
    return m.group(1)[0] + "*" * (len(m.group(1)) - 1) + "******(*)"


def _mask_digits(m: re.Match) -> str:
    s = m.group(0)
    digits = [i for i, ch in enumerate(s) if ch.isdigit()]
    keep = set(digits[-2:])
    return "".join("*" if ch.isdigit() and i not in keep else ch for i, ch in enumerate(s))
