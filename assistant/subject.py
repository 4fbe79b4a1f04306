"""Subject access and erasure (PDPO, Data Protection Principle 6): everything held for a phone
number or a reference, as one document, and its erasure.

``find_subject`` gathers, for a Hong Kong phone number, the conversations whose address is that
number or whose answers or transcript hold it, the appointments, problem reports and outbox
messages with it, and an opt-out; for a reference, the appointment or report with it and the
conversations that issued or mention it. Everything of those conversations comes with them: the
transcript, the answers, the events, their appointments, reports and messages. Nothing is masked:
this is the citizen's own data, given to a supervisor to hand over.

``erase_subject`` reduces all of it as the retention purge does past its period (transcripts,
stored replies, the channel's state and messages deleted; the conversation kept as its record:
reference, procedure, outcome, dates), at once and whatever the period; an open staff case is
closed. Appointments keep their reference and slot (the place stays booked) and lose the phone
number; reports keep their reference and category. An opt-out stays: it is the citizen's own
"do not text me", and erasing it would let texts reach them again.

The caller audits (``Desk.audit``): a look-up, an export and an erasure are each one row, which
names the kind of search and the counts, never the number searched for.

It must not import Flask or anything of a channel, and it logs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .errors import StaffActionError
from .outbox import opt_outs, outbox
from .retention import PURGED_PREFIX, PurgeResult, reduce_conversations
from .services import appointment_slots, appointments, normalise_reference, reports
from .store import Store, conversations, events, transcript_lines
from .understanding import parse_hk_phone

__all__ = ["SubjectData", "erase_subject", "find_subject", "subject_key"]

#: how many conversations one search gathers at most (a number shared by many is a question for
#: a person, not for one page)
LIMIT = 200


def subject_key(by: str, value: str) -> str:
    """The canonical phone number (8 digits) or reference; ``StaffActionError`` when ``value``
    is neither."""
    if by == "phone":
        key = parse_hk_phone(value or "")
    elif by == "reference":
        key = normalise_reference(value or "")
    else:
        raise StaffActionError("search by phone or by reference")
    if key is None:
        raise StaffActionError(f"not a {'Hong Kong phone number' if by == 'phone' else 'reference'}")
    return key


@dataclass
class SubjectData:
    by: str
    key: str
    generated_at: datetime
    conversations: list[dict] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    opted_out: list[dict] = field(default_factory=list)
    #: more conversations hold the number than one search gathers (``LIMIT``)
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not (self.conversations or self.appointments or self.reports or self.messages
                    or self.opted_out)

    def counts(self) -> dict[str, int]:
        return {"conversations": len(self.conversations),
                "transcript_lines": sum(len(c["transcript"]) for c in self.conversations),
                "appointments": len(self.appointments), "reports": len(self.reports),
                "messages": len(self.messages), "opted_out": len(self.opted_out)}

    def as_json(self) -> dict:
        """The export: plain JSON, dates in ISO 8601 (UTC)."""
        return _jsonable({"search": {"by": self.by, self.by: self.key},
                          "generated_at": self.generated_at,
                          "conversations": self.conversations,
                          "appointments": self.appointments, "reports": self.reports,
                          "messages": self.messages, "opted_out": self.opted_out})


def find_subject(store: Store, by: str, value: str, now: datetime | None = None) -> SubjectData:
    key = subject_key(by, value)
    data = SubjectData(by, key, now or datetime.now(UTC))
    with store._read() as conn:
        found = _matching(conn, by, key)
        data.truncated = found["truncated"]
        c, t, e = conversations.c, transcript_lines.c, events.c
        for row in conn.execute(sa.select(conversations).where(
                c.id.in_(found["conversations"])).order_by(c.id)):
            state = row.state or {}
            data.conversations.append({
                "id": row.id, "channel": row.channel,
                "address": None if row.address.startswith(PURGED_PREFIX) else row.address,
                "status": row.status, "locale": row.locale, "procedure": row.procedure,
                "reference": state.get("reference"), "answers": state.get("slots") or {},
                "created_at": row.created_at, "updated_at": row.updated_at,
                # staff's internal notes too (what is held about them), marked as notes
                "transcript": [{"at": x.at, "role": x.role, "text": x.text,
                                **({"note": True} if (x.meta or {}).get("note") else {})}
                               for x in conn.execute(sa.select(t.at, t.role, t.text, t.meta)
                                                     .where(t.conversation_id == row.id)
                                                     .order_by(t.seq))],
                "events": [{"at": x.at, "kind": x.kind, "data": x.data or {}}
                           for x in conn.execute(sa.select(e.at, e.kind, e.data).where(
                               e.conversation_id == row.id).order_by(e.id))]})
        a, s = appointments.c, appointment_slots.c
        for row in conn.execute(sa.select(a.reference, a.procedure, a.status, a.phone,
                                          a.created_at, a.conversation_id, s.office,
                                          s.starts_at)
                                .join(appointment_slots, s.id == a.slot_id)
                                .where(a.id.in_(found["appointments"])).order_by(a.id)):
            data.appointments.append(dict(row._mapping))
        r = reports.c
        for row in conn.execute(sa.select(r.reference, r.category, r.location, r.details,
                                          r.phone, r.created_at, r.conversation_id)
                                .where(r.id.in_(found["reports"])).order_by(r.id)):
            data.reports.append(dict(row._mapping))
        o = outbox.c
        for row in conn.execute(sa.select(o.created_at, o.kind, o.status, o.address, o.body,
                                          o.conversation_id)
                                .where(o.id.in_(found["outbox"])).order_by(o.id)):
            data.messages.append(dict(row._mapping))
        for channel, address, at in found["opt_outs"]:
            data.opted_out.append({"channel": channel, "address": address, "at": at})
    return data


def erase_subject(store: Store, by: str, value: str, now: datetime | None = None
                  ) -> PurgeResult:
    """Erase what ``find_subject`` would find, in one transaction; the counts of what went."""
    key = subject_key(by, value)
    now = now or datetime.now(UTC)
    result = PurgeResult(dry_run=False, days=0)
    everything = now + timedelta(seconds=1)       # every row, whatever its date
    c = conversations.c
    with store.transaction() as session:
        found = _matching(session, by, key)
        rows = session.execute(sa.select(c.id, c.status, c.state, c.updated_at, c.address)
                               .where(c.id.in_(found["conversations"]))
                               .order_by(c.id).with_for_update()).all()
        reduce_conversations(session, rows, everything, now, result, passed_only=False)
        session.execute(sa.update(conversations).where(
            c.id.in_([row.id for row in rows]), c.status.in_(("waiting", "with_staff")))
            .values(status="closed", priority=None, escalation_reason=None))
        a, r, o = appointments.c, reports.c, outbox.c
        result.appointments += session.execute(sa.update(appointments).where(
            a.id.in_(found["appointments"]), a.phone.is_not(None)).values(phone=None)).rowcount
        result.reports += session.execute(sa.update(reports).where(
            r.id.in_(found["reports"]), sa.or_(r.location.is_not(None), r.details.is_not(None),
                                               r.phone.is_not(None)))
            .values(location=None, details=None, phone=None)).rowcount
        result.outbox += session.execute(sa.delete(outbox).where(
            o.id.in_(found["outbox"]),
            sa.not_(sa.and_(o.status == "sending", o.lease_until > now)))).rowcount
    return result


# -- matching ------------------------------------------------------------------------------------

def _matching(conn, by: str, key: str) -> dict[str, Any]:
    """The ids of every row held for ``key``."""
    c, t, e = conversations.c, transcript_lines.c, events.c
    a, r, o, x = appointments.c, reports.c, outbox.c, opt_outs.c
    text = re.compile(_pattern(by, key))
    like = _like(by, key)
    ids: set[int] = set()
    if by == "phone":
        ids |= {row.id for row in conn.execute(sa.select(c.id, c.address).where(
            c.address.like(f"%{key}"))) if _digits_end(row.address, key)}
        appointment_ids = {row.id for row in conn.execute(sa.select(a.id, a.phone).where(
            a.phone.like(like))) if parse_hk_phone(row.phone) == key}
        report_ids = {row.id for row in conn.execute(sa.select(r.id, r.phone).where(
            r.phone.like(like))) if parse_hk_phone(row.phone) == key}
    else:
        appointment_ids = set(conn.scalars(sa.select(a.id).where(a.reference == key)))
        report_ids = set(conn.scalars(sa.select(r.id).where(r.reference == key)))
        ids |= {row.conversation_id for row in conn.execute(
            sa.select(e.conversation_id, e.data).where(
                e.kind == "ended", sa.type_coerce(e.data, sa.Text).like(f"%{key}%")))
            if (row.data or {}).get("reference") == key}
    # answers and transcripts that hold it
    ids |= {row.id for row in conn.execute(sa.select(c.id, c.state).where(
        sa.type_coerce(c.state, sa.Text).like(like))) if text.search(_flat(row.state))}
    ids |= {row.conversation_id for row in conn.execute(
        sa.select(t.conversation_id, t.text).where(t.text.like(like))) if text.search(row.text)}
    ids |= set(conn.scalars(sa.select(a.conversation_id).where(
        a.id.in_(appointment_ids), a.conversation_id.is_not(None))))
    ids |= set(conn.scalars(sa.select(r.conversation_id).where(
        r.id.in_(report_ids), r.conversation_id.is_not(None))))
    truncated = len(ids) > LIMIT
    ids = set(sorted(ids)[:LIMIT])
    # what those conversations hold besides
    appointment_ids |= set(conn.scalars(sa.select(a.id).where(a.conversation_id.in_(ids))))
    report_ids |= set(conn.scalars(sa.select(r.id).where(r.conversation_id.in_(ids))))
    outbox_ids = set(conn.scalars(sa.select(o.id).where(o.conversation_id.in_(ids))))
    found_opt_outs: list = []
    if by == "phone":
        outbox_ids |= {row.id for row in conn.execute(sa.select(o.id, o.address).where(
            o.address.like(f"%{key}"))) if _digits_end(row.address, key)}
        found_opt_outs = [tuple(row) for row in conn.execute(sa.select(
            x.channel, x.address, x.at).where(x.address.like(f"%{key}")))
            if _digits_end(row.address, key)]
    return {"conversations": ids, "appointments": appointment_ids, "reports": report_ids,
            "outbox": outbox_ids, "opt_outs": found_opt_outs, "truncated": truncated}


def _pattern(by: str, key: str) -> str:
    if by == "reference":
        return re.escape(key)
    # as people write it: 91234567, 9123 4567, 9123-4567, +852 9123 4567
    return rf"(?<!\d){key[:4]}[\s.\-]?{key[4:]}(?!\d)"


def _like(by: str, key: str) -> str:
    return f"%{key}%" if by == "reference" else f"%{key[:4]}%{key[4:]}%"


def _digits_end(address: str, key: str) -> bool:
    digits = re.sub(r"\D", "", address or "")
    return digits == key or digits == "852" + key


def _flat(state: Any) -> str:
    """Every text in a state, one per line (the pattern must not join two values)."""
    if isinstance(state, dict):
        return "\n".join(_flat(v) for v in state.values())
    if isinstance(state, list):
        return "\n".join(_flat(v) for v in state)
    return "" if state is None else str(state)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
