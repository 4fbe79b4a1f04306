"""One visitor at a kiosk, in the store: start, read, touch, send the summary to a phone, wipe.

The conversation's channel state (``Turn.keep_channel_data``) holds what the screen needs
between the POST that changed it and the GET that shows it:
  ``screen``  the core's last reply, as ``screens.reply_to_data`` keeps it;
  ``mode``    a kiosk-only screen over it: "describe" (free text for routing), "send_phone",
              or "finish" (are you sure you want to clear the screen?);
  ``entry``   the keypad entry so far, ``date`` the date being picked;
  ``touched`` when the citizen last touched the screen (seconds since the epoch);
  ``staff_after`` the transcript line after which the staff screen shows messages;
  ``sent``    the number the summary was sent to; ``wiped`` once the session has ended.
Every change is one store turn, so it is serialised with staff actions on the same
conversation. The wipe keeps nothing of it but ``wiped``.

Every turn is given the modality "screen": the core words it for a screen one touches. A
keypad entry or a picked date is given to the core as ``Choose(value)``, the answer to the
question on the screen: never as keys, so a 0 keyed as an age is the number 0, not the
person key ``0`` (a person is the staff button). A reference number is keyed after "KF" and
given as text ("KF0000422").

Nothing here logs: numbers, entries and what people wrote go to the store only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from assistant import Assistant, Choose, Digits, Reply, Start, Text
from assistant.desk import close_by_itself
from assistant.outbox import enqueue
from assistant.services import HONG_KONG
from assistant.store import Line, Turn, channel_state, conversations
from assistant.understanding import parse_hk_phone, phone_kind

from ..sms.pages import LAST_PAGE, paginate
from . import texts as T
from .entry import DateEntry, entry_text, press, shift_date
from .screens import entry_kind, reply_from_data, reply_to_data
from .session import CHANNEL, KioskConfig, address_for
from .touches import core_input

__all__ = ["Visit", "deliverer", "read_visit", "send_summary", "start_visit",
           "sweep_expired_visits", "touch", "wipe"]

#: the kinds of entry a screen can be typing into (``send_phone`` types a phone number)
KEYPAD_SCREENS = ("number", "phone", "hkid", "reference")
#: how the kiosk shows words: the core's "screen" variants
MODALITY = "screen"
#: summaries one session may send by SMS: a kiosk must not become a way to text strangers
MAX_SENDS = 2
#: a kiosk's line in the transcript when its session ends, for staff (never the citizen's words)
SESSION_ENDED = "(the kiosk session ended: the screen was cleared)"
#: the same, when the visitor leaves while waiting for or talking with staff
LEFT_WHILE_WAITING = ("(the visitor left the kiosk: the screen was cleared while waiting for "
                      "staff)")


@dataclass
class Visit:
    kiosk_id: str
    address: str
    conversation_id: int
    state: dict
    data: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.state.get("status") or "bot"

    @property
    def locale(self) -> str:
        return self.state.get("locale") or "en"

    @property
    def reply(self) -> Reply | None:
        screen = self.data.get("screen")
        return reply_from_data(screen) if screen else None

    @property
    def with_staff(self) -> bool:
        """The staff screen: waiting for or with a person, or closed by one."""
        return "staff_after" in self.data


def _now_seconds(now: datetime) -> float:
    return now.timestamp()


def read_visit(assistant: Assistant, config: KioskConfig, kiosk_id: str, token: str,
               now: datetime) -> Visit | None:
    """The visitor's session, or None: unknown token, wiped, or idle past its time (which is
    then wiped, so that it can never come back)."""
    address = address_for(kiosk_id, token)
    c, k = conversations.c, channel_state.c
    query = (sa.select(c.id, c.state, k.data.label("data"))
             .select_from(conversations.outerjoin(channel_state, k.conversation_id == c.id))
             .where(c.channel == CHANNEL, c.address == address))
    with assistant.store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or not row.state:
        return None
    data = row.data or {}
    if data.get("wiped") or "touched" not in data:
        return None
    idle = _now_seconds(now) - float(data["touched"])
    if (row.state.get("status") or "bot") in WAITING:
        # "Please stay here": a visitor waiting for staff is never timed out. The time starts
        # again from now, so that when staff finish the screen has its whole idle time.
        if idle > config.idle_seconds:
            _keep_alive(assistant, address, now)
    elif idle > config.expiry_seconds:
        wipe(assistant, address)
        return None
    return Visit(kiosk_id, address, row.id, row.state, data)


#: the channel document of a wiped visit, as the store keeps it (compact JSON)
WIPED_DOCUMENT = '{"wiped":true}'
#: statuses in which the screen says "please stay here" and nothing times out
WAITING = ("waiting", "with_staff")


def _keep_alive(assistant: Assistant, address: str, now: datetime) -> None:
    with assistant.store.turn(CHANNEL, address) as t:
        data = t.channel_data()
        if not data.get("wiped"):
            data["touched"] = _now_seconds(now)
            t.keep_channel_data(data)


def start_visit(assistant: Assistant, kiosk_id: str, token: str, locale: str, do: str,
                today: date, now: datetime) -> None:
    """The first touch at the welcome screen: a new conversation, greeted, then what was
    touched (a procedure, "not sure", a person) as a touch of its own."""
    address = address_for(kiosk_id, token)
    with assistant.store.turn(CHANNEL, address) as t:
        reply = assistant.advance_in(t, Start(), locale, MODALITY)
        data = {"kiosk": kiosk_id}
        _show(t, data, reply)
        data["touched"] = _now_seconds(now)
        t.keep_channel_data(data)
    if do:
        # a turn of its own, so that what the staff screen shows starts after committed lines
        visit = Visit(kiosk_id, address, 0, {"locale": locale}, data)
        touch(assistant, visit, do, {}, today, now)


def touch(assistant: Assistant, visit: Visit, do: str, form, today: date,
          now: datetime) -> bool:
    """One touch on a screen of a live session. True when the conversation is over (the
    visitor said that was all): the views then end the session."""
    cat = assistant.catalogue
    with assistant.store.turn(CHANNEL, visit.address) as t:
        data = t.channel_data()
        if data.get("wiped"):
            return False
        locale = (t.state or {}).get("locale") or "en"
        mode = data.get("mode")
        reply = reply_from_data(data["screen"]) if data.get("screen") else None
        screen_kind = "phone" if mode == "send_phone" else (
            entry_kind(reply, cat) if reply is not None else "none")
        inp = None
        if do in ("back",) and mode:
            data.pop("mode", None)            # leave the kiosk's own screen, nothing else
            data.pop("entry", None)
            data.pop("problem", None)
        elif do.startswith("key:") or do in ("delete", "clear"):
            key = do.removeprefix("key:")
            if screen_kind in KEYPAD_SCREENS:
                data["entry"] = press(screen_kind, data.get("entry", ""), key)
        elif do.startswith("date:") and screen_kind == "date":
            picked = DateEntry.from_iso(data.get("date"), today)
            data["date"] = shift_date(picked, do[len("date:"):]).iso()
        elif do == "done":
            if mode == "send_phone":
                send_summary(t, data, cat, locale)
            elif screen_kind == "date":
                inp = Choose(DateEntry.from_iso(data.get("date"), today).iso())
            elif screen_kind in KEYPAD_SCREENS:
                # an incomplete entry is kept as it is: the screen says what is missing
                text = entry_text(screen_kind, data.get("entry", ""))
                if text and screen_kind == "reference":
                    inp = Text(text)        # a text question: the core reads it as written
                elif text:
                    inp = Choose(text)
        elif do == "text":
            written = " ".join(str(form.get("text", ""))[:1000].split())
            if written:
                inp = Text(written)
        elif do == "describe":
            data["mode"] = "describe"
        elif do == "finish":
            data["mode"] = "finish"           # are you sure? (the wipe is POST /end)
        elif do == "send_phone" and reply is not None and reply.ended:
            if data.get("sends", 0) >= MAX_SENDS:
                data["problem"] = "sent_enough"
            else:
                data.update(mode="send_phone", entry="")
                data.pop("problem", None)
        elif do in ("more_time", "refresh"):
            pass                                # a touch, nothing more
        else:
            inp = core_input(do, cat, locale)
        closed = False
        if inp is not None:
            before = _last_seq(t)
            answer = assistant.advance_in(t, inp, modality=MODALITY,
                                          line_meta=_touch_meta(do, reply))
            data.pop("mode", None)
            # switching language keeps a half-typed entry: the same question, other words
            _show(t, data, answer, before=before, keep_entry=do == "language")
            closed = answer.closed
        data["touched"] = _now_seconds(now)
        t.keep_channel_data(data)
    return closed


def _touch_meta(do: str, reply: Reply | None) -> dict | None:
    """What the visitor pressed, for staff reading the transcript (the button, and the screen
    it was on: its procedure and step, to name an option in the staff member's language); None
    for what the visitor typed or entered on a keypad."""
    if do in ("text", "done"):
        return None
    meta = {"touch": do}
    if reply is not None:
        meta.update(procedure=reply.procedure, step=reply.step)
        value = do[len("choose:"):] if do.startswith("choose:") else None
        # the option's words as the visitor saw them: shown to staff when the catalogue has
        # none for the value (an appointment time)
        shown = next((o.label for o in reply.options if value and o.value == value), None)
        if shown:
            meta["shown"] = shown
    return meta


def _last_seq(t: Turn) -> int:
    return t.session.scalar(sa.select(conversations.c.last_seq)
                            .where(conversations.c.id == t.conversation_id)) or 0


def _show(t: Turn, data: dict, reply: Reply, before: int | None = None,
          keep_entry: bool = False) -> None:
    """Keep ``reply`` as the screen; clear what belonged to the screen before it (the entry
    too, unless ``keep_entry`` and the screen asks the same question). A reply to a person who
    has the conversation is silent: the staff screen stays as it is."""
    if reply.silent:
        return
    status = (t.state or {}).get("status")
    if reply.handed_off or status in ("waiting", "with_staff"):
        if "staff_after" not in data:
            # messages shown from the hand-off on: this turn added the citizen's input and
            # the assistant's words, which the screen shows itself
            data["staff_after"] = (before if before is not None else _last_seq(t)) + 2
    else:
        data.pop("staff_after", None)
    old = data.get("screen") or {}
    same = (old.get("procedure"), old.get("step"), old.get("expect")) == (
        reply.procedure, reply.step, reply.expect.kind)
    for key in ("problem", "sent") if keep_entry and same else ("entry", "date", "problem",
                                                                   "sent"):
        data.pop(key, None)
    data["screen"] = reply_to_data(reply)


def send_summary(t: Turn, data: dict, cat, locale: str) -> bool:
    """The finished procedure's summary to the number keyed in, through the SMS outbox (in this
    turn's transaction): all of it, in as many messages as it takes, each marked (1/2) ...
    Only a Hong Kong mobile number is accepted; otherwise the screen says so."""
    digits = parse_hk_phone(data.get("entry", ""))
    if digits is None or phone_kind(digits) != "mobile":
        data["problem"] = "not_mobile"
        return False
    reply = reply_from_data(data["screen"])
    groups = [cat.gettext(locale, T.SMS_HEADING), *summary_paragraphs(reply, cat, locale)]
    last = cat.gettext(locale, LAST_PAGE)
    for page in paginate(groups, lambda page, pages: last.format(page=page, pages=pages)):
        enqueue(t.session, "sms", f"+852{digits}", page, "kiosk_summary", t.now,
                conversation_id=t.conversation_id)
    data["sent"] = f"{digits[:4]} {digits[4:]}"
    data["sends"] = data.get("sends", 0) + 1
    for key in ("mode", "entry", "problem"):
        data.pop(key, None)
    return True


def wipe(assistant: Assistant, address: str) -> None:
    """End a visitor's session: nothing of it stays in the channel state, the transcript says
    the screen was cleared, and a conversation still with the assistant is closed. One waiting
    for a person closes by itself (``close_by_itself``: the audit log says the visitor left);
    one with a member of staff stays with them (they see the kiosk and close it)."""
    with assistant.store.turn(CHANNEL, address) as t:
        if t.channel_data().get("wiped") or t.state is None:
            if t.state is None:
                t.keep_channel_data({"wiped": True})
            return
        _wipe_in(assistant, t)


def _wipe_in(assistant: Assistant, t: Turn) -> None:
    """The wipe, inside the conversation's turn (its state is there and not wiped yet)."""
    status = t.state.get("status") or "bot"
    if status == "bot":
        assistant.advance_in(t, Digits(assistant.catalogue.keys["stop"]), modality=MODALITY)
    if status in WAITING:
        # staff see in the console that nobody is at the kiosk any more
        # one still waiting leaves the queue by itself (the audit log says why), one a member
        # of staff has taken stays with them to close
        t.add_line("system", LEFT_WHILE_WAITING)
        t.add_event("kiosk_left", {"status": status})
        if status == "waiting":
            close_by_itself(t, "kiosk_left")
    else:
        t.add_line("system", SESSION_ENDED)
    t.keep_channel_data({"wiped": True})


def sweep_expired_visits(assistant: Assistant, config: KioskConfig, now: datetime) -> int:
    """Wipe every visit left without Finish whose time is over (as ``read_visit`` does when its
    cookie comes back, which it may never do): the partial answers go now, not on a return.
    Safe with several processes: each wipe is a turn that looks again, under the lock, whether
    the visit is still over. Returns how many were wiped."""
    c, k = conversations.c, channel_state.c
    # the visits not wiped yet (a wiped one keeps exactly this document), not waiting for staff
    query = (sa.select(c.address).select_from(conversations.join(
        channel_state, k.conversation_id == c.id))
        .where(c.channel == CHANNEL, c.status.notin_(WAITING),
               sa.type_coerce(k.data, sa.Text) != WIPED_DOCUMENT))
    with assistant.store.engine.connect() as conn:
        addresses = list(conn.scalars(query))
    wiped = 0
    for address in addresses:
        with assistant.store.turn(CHANNEL, address) as t:
            data = t.channel_data()
            status = (t.state or {}).get("status") or "bot"
            over = ("touched" in data and not data.get("wiped") and status not in WAITING
                    and _now_seconds(now) - float(data["touched"]) > config.expiry_seconds)
            if over:
                _wipe_in(assistant, t)
                wiped += 1
    return wiped


def summary_paragraphs(reply: Reply, cat, locale: str) -> list[str]:
    """What the end screen says, as paragraphs for a text message, in the end screen's order:
    the reference first, what to do next (bring, when, where, hours, fee), the end's words,
    then the answers. Nothing is taken apart: each paragraph is a field of the reply."""
    before = [p for p in reply.before if p]
    given = [p for p in before if reply.reference and reply.reference in p][:1]
    out = list(given)
    steps = reply.next_steps
    if steps:
        out.append("\n".join([steps.heading, *(text for _, text in steps.lines())]))
    out += [p for p in before if p not in given]
    if reply.summary and reply.summary.items:
        line = cat.text("summary_line", locale, MODALITY)
        out.append("\n".join([reply.summary.heading, *(
            line.format(label=i.label, value=i.value) for i in reply.summary.items)]))
    return out


def staff_lines(assistant: Assistant, visit: Visit, after: int = 0) -> list[Line]:
    """What the staff screen shows: staff members' messages (never their internal notes), the
    assistant's words about the hand-off, and the citizen's own messages, after the hand-off."""
    start = max(after, int(visit.data.get("staff_after", 0)))
    lines = assistant.store.transcript(visit.conversation_id, start)
    return [line for line in lines
            if (line.role == "staff" and not line.meta.get("note"))
            or line.role == "user"
            or (line.role == "assistant" and line.meta.get("desk"))]


def deliverer(assistant: Assistant):
    """What the staff desk sends to a kiosk citizen. Staff words need nothing: the staff screen
    reads them from the transcript. A hand-back's reply becomes the screen, so the citizen is
    where the assistant is."""
    def deliver(t: Turn, message: str | Reply, kind: str) -> None:
        if not isinstance(message, Reply):
            return
        data = t.channel_data()
        if data.get("wiped"):
            return
        _show(t, data, message)
        t.keep_channel_data(data)

    return deliver


def today_in_hong_kong(now: datetime) -> date:
    return now.astimezone(HONG_KONG).date()
