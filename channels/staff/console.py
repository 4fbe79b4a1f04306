"""The console's working pages: the queue, one conversation, the audit log, the voice messages
phone callers left, and their live updates (server-sent events).

A voice message (a phone caller's answer to a question wanting free words, see
``channels.voice.call``) is a transcript line whose meta holds Twilio's recording: the
conversation page lists each one with the question it answers and links to its audio, and
``/staff/voice-messages`` lists the latest across conversations (most never wait for a person: a
report given by voice ends with a reference like any other, and staff must still listen to it).

Views only: each one reads or acts through ``assistant.desk.Desk`` (which audits, masks and
delivers) and renders a template; the one exception, voice messages (their list, and the flag
in the queue), reads the phone's events through the desk's store, read-only, and shows nothing
personal. The blueprint's guard (``views._guard``) has already checked
the sign-in and the CSRF token. Citizens' words reach the page only through Jinja's escaping or,
live, as JSON put in place with ``textContent``: never as markup.

Live updates are server-sent events that end after ``STREAM_SECONDS`` (the browser reconnects on
its own), so an open console holds a server thread for a bounded time and a stream never outlives
the session that opened it. They do not count as activity for the session's idle expiry. Streams
hold threads only within the process's live-update budget (``channels.longpoll``): beyond it a
stream sends what there is now and a ``busy`` event, and the page comes back later.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from assistant import ClaimRefused, Desk, StaffActionError
from assistant.conversation import HONG_KONG
from assistant.desk import SYSTEM_STAFF
from assistant.i18n import format_when
from assistant.ready_replies import LANGUAGES as READY_LANGUAGES
from assistant.ready_replies import (
    add_ready_reply,
    edit_ready_reply,
    move_ready_reply,
    ready_replies,
    ready_reply,
    remove_ready_reply,
)
from assistant.staff import list_staff
from assistant.store import conversations
from assistant.store import events as event_rows

from ..i18n import N_
from ..kiosk.session import kiosk_of
from ..longpoll import hold, retry_seconds
from .views import _locale as staff_locale
from .views import bp
from .words import TEXTS as WORD_TEXTS
from .words import Words, hong_kong, waited_minutes

#: a stream ends after this long; EventSource reconnects by itself
STREAM_SECONDS = 55.0
#: the queue page shows this many (the most urgent, then the longest waiting) and says how
#: many more there are
QUEUE_ROWS = 1000

REASONS = {
    "asked": N_("Asked for a person"),
    "misses": N_("Not understood several times"),
    "distress": N_("Distress words: contact them first"),
    "service_failed": N_("A service failed"),
    "callback": N_("Asked to be called back"),
}
#: why a caller waits for a call-back (``assistant.desk.request_call_back``)
CALL_BACK_WHY = {
    "closed": N_("called outside office hours"),
    "no_answer": N_("no one answered the transfer"),
    "no_line": N_("no staff line to transfer to"),
    "distress": N_("asked for after an emergency call"),
}
AS_SOON_AS_POSSIBLE = N_("as soon as possible")
OUTCOME_LABELS = {
    "resolved": N_("Resolved"),
    "referred": N_("Referred to a department"),
    "no_response": N_("No response from the citizen"),
}
#: outcomes the system gives, not staff (not offered in the close form)
OUTCOME_LABELS_MORE = {"talked_on_phone": N_("Put through to staff on the phone"),
                       "left": N_("The citizen left")}
CHANNELS = {"sms": N_("SMS"), "voice": N_("Phone"), "kiosk": N_("Kiosk"), "chat": N_("Chat")}
ROLE_LABELS = {"user": N_("Citizen"), "assistant": N_("Assistant"), "staff": N_("Staff"),
               "system": N_("System")}
AUDIT_LABELS = {"viewed": N_("viewed"), "revealed": N_("revealed personal data"),
                "claimed": N_("took"), "replied": N_("replied"), "handed_back": N_("gave back"),
                "closed": N_("closed"), "purged": N_("purged past retention"),
                "looked_up": N_("looked up a person's data"),
                "exported": N_("exported a person's data"),
                "erased": N_("erased a person's data"),
                "closed_by_itself": N_("closed by itself"),
                "assigned": N_("assigned"), "noted": N_("wrote a note"),
                "ready_replies": N_("changed the ready replies")}
#: what a supervisor did to a ready reply (audit detail "what")
READY_REPLY_CHANGES = {"added": N_("added"), "edited": N_("edited"), "removed": N_("removed"),
                       "moved": N_("moved")}
#: why a conversation closed by itself (``assistant.desk.CLOSED_BY_ITSELF``)
CLOSED_WHY = {"kiosk_left": N_("the visitor left the kiosk"),
              "phone_transfer": N_("the call was put through to staff"),
              "no_reply": N_("nothing happened for too long")}
#: an audit entry's details, by key
AUDIT_DETAIL_LABELS = {"outcome": N_("Outcome"), "procedure": N_("Procedure"),
                       "note": N_("Note"), "why": N_("Why"), "minutes": N_("Minutes"),
                       "to": N_("To"), "from": N_("From"), "what": N_("What"),
                       "reply": N_("Ready reply"), "characters": N_("Characters")}
#: how many closed conversations ``/staff/closed`` lists, most recently closed first
CLOSED_ROWS = 200
#: how many voice messages ``/staff/voice-messages`` lists, newest first
VOICE_MESSAGE_ROWS = 200
VOICE_MESSAGE_LINE = N_("Voice message recorded")

def _desk() -> Desk:
    return current_app.extensions["kaifong_desk"]


def _t(msgid: str, locale: str | None = None) -> str:
    catalogue = current_app.extensions["kaifong"].catalogue
    return catalogue.gettext(locale or staff_locale(), msgid)


@bp.app_template_filter("where")
def _where(conv) -> str:
    """Where the citizen is: a number (masked unless revealed), or for the kiosk its id (the
    rest of a kiosk address is a hash of the visitor's session, of no use to staff)."""
    if conv.channel == "kiosk":
        return kiosk_of(conv.address)
    return conv.address


def _words() -> Words:
    if "staff_words" not in g:
        g.staff_words = Words(current_app.extensions["kaifong"].catalogue, staff_locale())
    return g.staff_words


@bp.app_template_filter("waited")
def _waited(since: datetime | None) -> str:
    return _words().waited(since)


@bp.app_template_filter("hk")
def _hk(value: datetime | None, form: str = "datetime") -> str:
    """A moment in Hong Kong time, in the staff member's language."""
    return _words().when(value, form)


@bp.app_template_filter("hk_iso")
def _hk_iso(value: datetime | None) -> str:
    """A ``<time datetime>``: the moment with Hong Kong's offset."""
    return hong_kong(value).isoformat() if value else ""


def _recording_of(line) -> dict | None:
    """A transcript line's voice message, for the page: what it answers (the step's label in the
    staff's language, the question as the caller heard it), its length, its audio. None for any
    other line."""
    recording = (line.meta or {}).get("recording")
    if not isinstance(recording, dict) or not _twilio_url(recording.get("url")):
        return None
    catalogue = current_app.extensions["kaifong"].catalogue
    proc = catalogue.procedures.get(recording.get("procedure") or "")
    step = proc.steps.get(recording.get("step") or "") if proc else None
    label = getattr(step, "label", None)
    url = recording["url"]
    return {"seq": line.seq, "at": line.at, "label": _t(label) if label else "-",
            "question": recording.get("question") or "",
            "seconds": int(recording.get("seconds") or 0), "sid": recording.get("sid"),
            "mp3": url + ".mp3", "wav": url + ".wav"}


@bp.context_processor
def _console_helpers():
    catalogue = current_app.extensions["kaifong"].catalogue

    def procedure_title(pid: str | None) -> str:
        proc = catalogue.procedures.get(pid) if pid else None
        return _t(proc.title) if proc else "-"

    def slot_label(pid: str | None, slot: str) -> str:
        proc = catalogue.procedures.get(pid) if pid else None
        label = proc.slot_labels().get(slot) if proc else None
        return _t(label) if label else slot

    words = _words()

    def reason_label(reason: str | None, procedure: str | None = None) -> str:
        # the core's own reasons, else the label the procedure's hand-off gives its reason
        return words.reason(reason, procedure, REASONS)

    def staff_name(name: str) -> str:
        return _t(ROLE_LABELS["system"]) if name == SYSTEM_STAFF else name

    def line_text(line, conv) -> tuple[str, bool]:
        """A transcript line's words, and whether they are the console's own (translated, in
        the staff member's language) rather than as written or said to the citizen."""
        shown = words.line(line.role, line.text, line.meta, conv.summary.get("procedure")
                           or conv.procedure)
        return shown, shown != line.text

    def audit_detail(detail: dict) -> str:
        parts = []
        for key, value in (detail or {}).items():
            if key == "outcome":
                value = _t(OUTCOME_LABELS.get(value, OUTCOME_LABELS_MORE.get(value, value)))
            elif key == "procedure":
                value = procedure_title(value) if value else "-"
            elif key == "why":
                value = _t(CLOSED_WHY.get(value, value))
            elif key == "what":
                value = _t(READY_REPLY_CHANGES.get(value, value))
            elif value is None:
                value = "-"
            label = AUDIT_DETAIL_LABELS.get(key)
            parts.append(f"{_t(label) if label else key}: {value}")
        return ", ".join(parts)

    def call_back_when(callback: dict) -> str:
        due = callback.get("due")
        if due is None:
            return _t(AS_SOON_AS_POSSIBLE)
        return format_when(due.astimezone(HONG_KONG), staff_locale())

    return {"procedure_title": procedure_title, "slot_label": slot_label,
            "slot_value": words.slot_value, "language_name": words.language,
            "step_label": words.step,
            "line_text": line_text, "audit_detail": audit_detail, "staff_name": staff_name,
            "recording_of": _recording_of,
            "reason_label": reason_label, "call_back_when": call_back_when,
            "call_back_why": CALL_BACK_WHY, "channels": CHANNELS,
            "role_labels": ROLE_LABELS, "outcomes": OUTCOME_LABELS,
            "audit_labels": AUDIT_LABELS, "status_filters": STATUS_FILTERS,
            "who_filters": WHO_FILTERS, "lateness_labels": LATENESS,
            "priority_labels": PRIORITY_LABELS, "outcome_more": OUTCOME_LABELS_MORE}


# -- the queue ------------------------------------------------------------------------------

@bp.get("/")
def home():
    return render_template("staff/queue.html", **_queue())


@bp.get("/queue")
def queue_fragment():
    """The queue's table alone, for the live page to put in place."""
    return render_template("staff/_queue_table.html", **_queue())


def _queue() -> dict:
    """The queue as the filters in the address ask for it (``status``, ``channel``,
    ``procedure``, ``lang``, ``who``: mine or unassigned, ``q``: a search of every
    conversation, closed ones too), each row against its waiting-time target, and how many wait
    on each channel (for the page's title and the supervisors' counts)."""
    desk = _desk()
    _close_stale(desk)
    limit = int(current_app.config.get("STAFF_QUEUE_ROWS", QUEUE_ROWS))
    queue = desk.queue(limit)
    wanted = _filters()
    rows = desk.search(wanted["q"]) if wanted["q"] else queue
    shown = [c for c in rows if _matches(c, wanted)]
    per_channel = {key: 0 for key in CHANNELS}
    for c in queue:
        if c.status == "waiting":
            per_channel[c.channel] = per_channel.get(c.channel, 0) + 1
    targets = wait_targets(current_app.config.get("STAFF_WAIT_TARGETS"))
    return {"queue": shown, "total": desk.queue_size(), "filters": wanted,
            "filtered": any(wanted.values()), "waiting": sum(per_channel.values()),
            "per_channel": per_channel, "targets": targets,
            "lateness": lambda c: lateness(c, targets),
            "filter_procedures": _procedure_choices(),
            "with_voice_messages": _with_voice_messages([c.id for c in shown])}


#: how often (seconds) the queue looks for stale entries, at most, in one process
STALE_SWEEP_SECONDS = 60.0


def _close_stale(desk: Desk) -> None:
    """With ``KAIFONG_STAFF_STALE_MINUTES`` set, conversations waiting with nothing happening
    for that long close by themselves (``Desk.close_stale``, audited), looked for when the
    queue is read and at most once a minute. Off (0) unless set."""
    minutes = int(current_app.config.get("STAFF_STALE_MINUTES") or 0)
    if minutes <= 0:
        return
    sweeps = current_app.extensions.setdefault("kaifong_stale_sweep", {"at": 0.0})
    now = time.monotonic()
    if now - sweeps["at"] < float(current_app.config.get("STAFF_STALE_SWEEP_SECONDS",
                                                         STALE_SWEEP_SECONDS)):
        return
    sweeps["at"] = now
    desk.close_stale(minutes)


#: the filters the queue page offers, and the values each may take
FILTERS = ("status", "channel", "procedure", "language", "who", "q")  # not "lang": the console's own language switch
STATUS_FILTERS = {"": N_("Waiting or with staff"), "waiting": N_("Waiting for a person"),
                  "with_staff": N_("With staff"), "closed": N_("Closed"), "all": N_("Any")}
WHO_FILTERS = {"": N_("Anyone"), "mine": N_("Mine"), "unassigned": N_("No one yet")}
#: the waiting-time targets, per priority (0 most urgent): amber after the first number of
#: minutes, red after the second (KAIFONG_STAFF_WAIT_TARGETS="0=2/5,1=5/10,2=10/20,3=15/30")
DEFAULT_WAIT_TARGETS = {0: (2, 5), 1: (5, 10), 2: (10, 20), 3: (15, 30)}
LATENESS = {"amber": N_("over target"), "red": N_("far over target")}
PRIORITY_LABELS = {0: N_("Urgent"), 1: N_("High"), 2: N_("Normal"), 3: N_("Low")}


def _filters() -> dict:
    args = request.args
    wanted = {name: " ".join(str(args.get(name, "")).split())[:100] for name in FILTERS}
    if wanted["status"] not in STATUS_FILTERS:
        wanted["status"] = ""
    if wanted["who"] not in WHO_FILTERS:
        wanted["who"] = ""
    return wanted


def _matches(c, wanted: dict) -> bool:
    status = wanted["status"] or ("all" if wanted["q"] else "")
    if status == "" and c.status not in ("waiting", "with_staff"):
        return False
    if status not in ("", "all") and c.status != status:
        return False
    if wanted["channel"] and c.channel != wanted["channel"]:
        return False
    if wanted["procedure"] and (c.summary.get("procedure") or c.procedure) != wanted["procedure"]:
        return False
    if wanted["language"] and (c.locale or "en") != wanted["language"]:
        return False
    if wanted["who"] == "mine" and c.claimed_by != g.staff.username:
        return False
    return not (wanted["who"] == "unassigned" and c.claimed_by)


def _procedure_choices() -> list[tuple[str, str]]:
    catalogue = current_app.extensions["kaifong"].catalogue
    return sorted(((pid, _t(p.title)) for pid, p in catalogue.procedures.items()),
                  key=lambda item: item[1])


def wait_targets(setting) -> dict[int, tuple[int, int]]:
    """Amber and red minutes per priority, from the setting (a mapping, or text as
    ``0=2/5,1=5/10``); priorities it leaves out keep their default. A wrong setting fails at
    the first page, saying which part."""
    targets = dict(DEFAULT_WAIT_TARGETS)
    if not setting:
        return targets
    items = setting.items() if isinstance(setting, dict) else (
        part.split("=", 1) for part in str(setting).split(",") if part.strip())
    for priority, value in items:
        amber, red = (value if isinstance(value, (tuple, list)) else str(value).split("/"))
        amber, red = int(amber), int(red)
        if not 0 < amber <= red:
            raise ValueError(f"KAIFONG_STAFF_WAIT_TARGETS: {priority}={amber}/{red}: amber "
                             "must be above 0 and not above red")
        targets[int(priority)] = (amber, red)
    return targets


def lateness(c, targets: dict[int, tuple[int, int]]) -> str:
    """"red", "amber" or "" for a conversation waiting against its priority's target."""
    if c.status != "waiting" or c.waiting_since is None:
        return ""
    amber, red = targets.get(c.priority if c.priority is not None else 3, targets[max(targets)])
    minutes = waited_minutes(c.waiting_since)
    return "red" if minutes >= red else "amber" if minutes >= amber else ""


@bp.get("/closed")
def closed():
    """Conversations closed lately, with their outcomes."""
    limit = int(current_app.config.get("STAFF_CLOSED_ROWS", CLOSED_ROWS))
    return render_template("staff/closed.html", closed=_desk().closed(limit))


def _with_voice_messages(ids: list[int]) -> set[int]:
    """Which of these conversations hold a phone caller's voice message (flagged in the queue:
    what they gave then reads "voice message", and someone must listen first)."""
    if not ids:
        return set()
    e = event_rows.c
    with _desk().store._read() as conn:
        return set(conn.scalars(sa.select(e.conversation_id).distinct().where(
            e.kind == "voice_recording", e.conversation_id.in_(ids))))


@bp.get("/events")
def events():
    """A "changed" event whenever the queue changes; the page then fetches the table."""
    return _stream(_desk().queue_version, lambda: ("changed", {}))


# -- one conversation ----------------------------------------------------------------------

@bp.get("/conversations/<int:cid>")
def conversation(cid: int):
    return _conversation_page(cid, reveal=False)


@bp.post("/conversations/<int:cid>/reveal")
def reveal(cid: int):
    """Personal data unmasked, for this page only; audited as revealed."""
    return _conversation_page(cid, reveal=True)


@bp.get("/conversations/<int:cid>/lines")
def lines(cid: int):
    """New transcript lines after ``after`` (masked), as JSON, for the live page."""
    after = request.args.get("after", type=int, default=0)
    return _lines_json(cid, after)


@bp.get("/conversations/<int:cid>/events")
def conversation_events(cid: int):
    after = request.args.get("after", type=int, default=0)
    state = {"after": after}

    def event():
        new = desk.transcript(cid, state["after"])
        if not new:
            return None
        state["after"] = new[-1].seq
        return "lines", _lines_payload(new)

    desk = _desk()
    return _stream(lambda: desk.conversation_version(cid), event, conversation_id=cid)


@bp.post("/conversations/<int:cid>/claim")
def claim(cid: int):
    return _act(cid, lambda desk, staff: desk.claim(cid, staff))


@bp.post("/conversations/<int:cid>/reply")
def reply(cid: int):
    """The staff member's words, or a ready reply (``ready``: its id) in the citizen's
    language."""
    text = request.form.get("text", "")
    ready = request.form.get("ready")
    if ready:
        chosen = ready_reply(_desk().store, int(ready)) if ready.isdigit() else None
        if chosen is None:
            abort(400)
        text = chosen.text(_citizen_locale(cid))
    return _act(cid, lambda desk, staff: desk.reply(cid, staff, text[:1600]))


@bp.post("/conversations/<int:cid>/assign")
def assign(cid: int):
    """To a colleague (an agent or a supervisor), with a note for them."""
    to = request.form.get("to", "")[:64]
    note = request.form.get("note", "")[:2000]
    supervisor = g.staff.role == "supervisor"
    return _act(cid, lambda desk, staff: desk.assign(cid, staff, to, note,
                                                     supervisor=supervisor), to_queue=True)


@bp.post("/conversations/<int:cid>/note")
def note(cid: int):
    """An internal note, at any time: never sent to the citizen."""
    text = request.form.get("text", "")[:2000]
    return _act(cid, lambda desk, staff: desk.note(cid, staff, text))


@bp.post("/conversations/<int:cid>/hand-back")
def hand_back(cid: int):
    procedure = request.form.get("procedure") or None
    note = request.form.get("note", "")[:2000]
    return _act(cid, lambda desk, staff: desk.hand_back(cid, staff, procedure, note),
                to_queue=True)


@bp.post("/conversations/<int:cid>/close")
def close(cid: int):
    outcome = request.form.get("outcome", "")
    note = request.form.get("note", "")[:2000]
    return _act(cid, lambda desk, staff: desk.close(cid, staff, outcome, note), to_queue=True)


# -- voice messages ---------------------------------------------------------------------------

@bp.get("/voice-messages")
def voice_messages():
    """The latest voice messages, newest first: when, which procedure and question, how long,
    and the conversation to open (where they are played; opening it is audited). No number,
    nothing the caller said, no link to the audio here."""
    return render_template("staff/voice_messages.html", messages=_voice_messages())


def _voice_messages() -> list[dict]:
    # The phone writes one "voice_recording" event per message (no address, no audio link) and
    # the line with the recording itself; events are indexed by conversation, and this reads
    # only the newest few. (Desk has no cross-conversation reading of events yet: a candidate
    # for it, kept read-only here.)
    e, c = event_rows.c, conversations.c
    limit = int(current_app.config.get("STAFF_VOICE_MESSAGE_ROWS", VOICE_MESSAGE_ROWS))
    query = (sa.select(e.id, e.conversation_id, e.data, e.at, c.status, c.locale)
             .join(conversations, c.id == e.conversation_id)
             .where(e.kind == "voice_recording").order_by(e.id.desc()).limit(limit))
    catalogue = current_app.extensions["kaifong"].catalogue
    with _desk().store._read() as conn:
        rows = conn.execute(query).all()
        # the reference each message's procedure ended with: the conversation's first end after
        ends = conn.execute(sa.select(e.id, e.conversation_id, e.data).where(
            e.kind == "ended", e.conversation_id.in_({r.conversation_id for r in rows}),
            e.id > min((r.id for r in rows), default=0)).order_by(e.id)).all() if rows else []
    out = []
    for row in rows:
        reference = next(((x.data or {}).get("reference") for x in ends
                          if x.conversation_id == row.conversation_id and x.id > row.id
                          and (x.data or {}).get("reference")), None)
        data = row.data or {}
        proc = catalogue.procedures.get(data.get("procedure") or "")
        step = proc.steps.get(data.get("step") or "") if proc else None
        label = getattr(step, "label", None)
        out.append({"conversation_id": row.conversation_id, "at": row.at,
                    "procedure": data.get("procedure"),
                    "label": _t(label) if label else "-",
                    "seconds": int(data.get("seconds") or 0), "status": row.status,
                    "locale": row.locale, "reference": reference})
    return out


def _twilio_url(url) -> bool:
    """Only Twilio's own recording addresses become links (the phone checks them on the way in;
    this keeps a stored line from becoming a link anywhere else)."""
    return isinstance(url, str) and url.startswith("https://api.twilio.com/")


# -- ready replies ------------------------------------------------------------------------------

@bp.get("/ready-replies")
def ready_replies_page():
    """Supervisors add, edit, remove and order the ready replies, in both languages."""
    _supervisor_only()
    return render_template("staff/ready_replies.html",
                           replies=ready_replies(_desk().store),
                           problem=request.args.get("problem"))


@bp.post("/ready-replies")
def ready_reply_add():
    _supervisor_only()
    return _ready_reply_act(lambda store, staff: add_ready_reply(store, staff, *_ready_form()))


@bp.post("/ready-replies/<int:rid>")
def ready_reply_edit(rid: int):
    _supervisor_only()
    return _ready_reply_act(lambda store, staff: edit_ready_reply(store, staff, rid,
                                                                  *_ready_form()))


@bp.post("/ready-replies/<int:rid>/remove")
def ready_reply_remove(rid: int):
    _supervisor_only()
    return _ready_reply_act(lambda store, staff: remove_ready_reply(store, staff, rid))


@bp.post("/ready-replies/<int:rid>/move")
def ready_reply_move(rid: int):
    _supervisor_only()
    by = -1 if request.form.get("by") == "up" else 1
    return _ready_reply_act(lambda store, staff: move_ready_reply(store, staff, rid, by))


def _supervisor_only() -> None:
    if g.staff.role != "supervisor":
        abort(403)


def _ready_form() -> tuple[dict, dict]:
    form = request.form
    return ({loc: form.get(f"label_{sfx}", "") for loc, sfx in READY_LANGUAGES.items()},
            {loc: form.get(f"text_{sfx}", "") for loc, sfx in READY_LANGUAGES.items()})


def _ready_reply_act(action):
    try:
        action(_desk().store, g.staff.username)
    except StaffActionError:
        return redirect(url_for("staff.ready_replies_page", problem="refused"), 303)
    return redirect(url_for("staff.ready_replies_page"), 303)


# -- the audit log ----------------------------------------------------------------------------

@bp.get("/audit")
def audit():
    if g.staff.role != "supervisor":
        abort(403)
    cid = request.args.get("conversation", type=int)
    return render_template("staff/audit.html", entries=_desk().audit_log(500, cid),
                           conversation_id=cid)


# -- helpers --------------------------------------------------------------------------------

def _conversation_page(cid: int, reveal: bool):
    try:
        conv, transcript = _desk().conversation(cid, g.staff.username, reveal=reveal)
    except StaffActionError:
        abort(404)
    catalogue = current_app.extensions["kaifong"].catalogue
    procedures = sorted(((pid, _t(p.title)) for pid, p in catalogue.procedures.items()),
                        key=lambda item: item[1])
    recordings = [r for r in map(_recording_of, transcript) if r]
    if recordings:
        # each message with the reference its procedure ended with (the report staff act on):
        # the first end at or after the message (they share a turn's time when it was the last
        # answer)
        ends = [(e.at, (e.data or {}).get("reference"))
                for e in _desk().store.events(cid) if e.kind == "ended"]
        for r in recordings:
            r["reference"] = next((ref for at, ref in ends if at >= r["at"] and ref), None)
    store = _desk().store
    citizen_locale = conv.locale or "en"
    replies = [(r.id, r.label(staff_locale()), r.text(citizen_locale))
               for r in ready_replies(store)]
    colleagues = [(u.username, u.role) for u in list_staff(store.engine)
                  if u.username != conv.claimed_by]
    return render_template("staff/conversation.html", conv=conv, lines=transcript,
                           related=_desk().related(cid), ready=replies, colleagues=colleagues,
                           revealed=reveal, procedures=procedures, recordings=recordings,
                           last_seq=transcript[-1].seq if transcript else 0,
                           problem=request.args.get("problem"))


def _act(cid: int, action, to_queue: bool = False):
    try:
        action(_desk(), g.staff.username)
    except StaffActionError as error:
        # the page says what went wrong in the staff member's words; nothing of the citizen's
        problem = "claimed" if isinstance(error, ClaimRefused) else "refused"
        return redirect(url_for("staff.conversation", cid=cid, problem=problem), 303)
    if to_queue:
        return redirect(url_for("staff.home"), 303)
    return redirect(url_for("staff.conversation", cid=cid), 303)


def _citizen_locale(cid: int) -> str:
    key = _desk().store.address_of(cid)
    if key is None:
        abort(404)
    state = _desk().store.state(*key) or {}
    return state.get("locale") or "en"


def _lines_payload(lines) -> list[dict]:
    return [_line_payload(x) for x in lines]


def _line_payload(x, procedure: str | None = None) -> dict:
    words = _words()
    text = words.line(x.role, x.text, x.meta, procedure)
    out = {"seq": x.seq, "role": x.role, "who": _t(ROLE_LABELS.get(x.role, x.role)),
           "staff": x.meta.get("staff"), "note": bool(x.meta.get("note")), "text": text,
           "own": text != x.text, "at": hong_kong(x.at).isoformat(),
           "time": words.when(x.at, "time")}
    recording = x.meta.get("recording")
    if isinstance(recording, dict) and _twilio_url(recording.get("url")):
        out["text"] = f"{_t(VOICE_MESSAGE_LINE)}, {int(recording.get('seconds') or 0)} s"
        out["recording"] = {"mp3": recording["url"] + ".mp3", "wav": recording["url"] + ".wav"}
    return out


def _lines_json(cid: int, after: int):
    return current_app.response_class(json.dumps(_lines_payload(_desk().transcript(cid, after)),
                                                 ensure_ascii=False),
                                      mimetype="application/json")


def _stream(version, event, conversation_id: int | None = None):
    """Server-sent events: ``event()`` returns (name, data) or None, at the start and after
    each change of ``version()``."""
    desk = _desk()
    seconds = float(current_app.config.get("STAFF_STREAM_SECONDS", STREAM_SECONDS))
    # a stream holds a thread: only within the live-update budget (channels.longpoll), so
    # that webhooks always find one. Beyond it the answer is what there is now and a "busy"
    # event: the page reconnects later, backing off, and so polls instead of streaming.
    slot = hold(current_app, "staff:" + g.staff.username, request.remote_addr)

    def busy():
        retry = retry_seconds()
        yield f"retry: {int(retry * 1000)}\n\n"
        first = event()
        if first:
            yield _sse(*first)
        yield _sse("busy", {"retry": retry})

    def generate():
        yield "retry: 1000\n\n"
        since = version()
        first = event()
        if first:
            yield _sse(*first)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            changed = desk.wait_for_change(version, since,
                                           timeout=min(15.0, deadline - time.monotonic()),
                                           conversation_id=conversation_id)
            if changed == since:
                yield ": still here\n\n"      # a comment: keeps proxies from closing the stream
                continue
            since = changed
            out = event()
            if out:
                yield _sse(*out)

    if slot is None:
        return Response(stream_with_context(busy()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    response = Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    # the server closes the response when the stream ends or the client goes, even if the
    # generator never started
    response.call_on_close(slot.release)
    return response


def _sse(name: str, data) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


#: every word this module adds to the pages (``kaifong validate`` checks their translations)
TEXTS = (VOICE_MESSAGE_LINE, *REASONS.values(), *CALL_BACK_WHY.values(), AS_SOON_AS_POSSIBLE, *AUDIT_LABELS.values(), *OUTCOME_LABELS.values(), *OUTCOME_LABELS_MORE.values(), *CHANNELS.values(), *ROLE_LABELS.values(),
         *READY_REPLY_CHANGES.values(), *AUDIT_DETAIL_LABELS.values(), *WORD_TEXTS,
         *STATUS_FILTERS.values(), *WHO_FILTERS.values(), *LATENESS.values(),
         *PRIORITY_LABELS.values(), *CLOSED_WHY.values())
