"""What the console shows staff instead of codes: Hong Kong times in the staff member's language,
waiting times, hand-off reasons, slot values, choices and kiosk touches as words from the
catalogue, and the transcript's own system lines translated.

Pure functions of the catalogue, the staff member's locale and a value; no request, no I/O, so
each can be tested on its own. Nothing here reads or writes a citizen's words: a value that is
not a code (a name, a masked number, what they typed) is shown as it came.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from assistant.catalogue import Catalogue
from assistant.i18n import babel_name, format_day, format_when

from ..i18n import N_

HONG_KONG = ZoneInfo("Asia/Hong_Kong")

YES, NO = N_("Yes"), N_("No")
MINUTES = N_("%(minutes)s min")
HOURS_MINUTES = N_("%(hours)s h %(minutes)s min")
PRESSED = N_("Pressed: %(label)s")
CHOSE = N_("Chose: %(label)s")
CHANGE = N_("Change: %(label)s")
STAFF_BUTTON = N_("Pressed the staff button")
LANGUAGE_BUTTON = N_("Pressed the language button")
BACK = N_("Back")
START_AGAIN = N_("Start again")
BACK_TO_ASSISTANT = N_("Back to the assistant")
LANGUAGES = {"en": N_("English"), "zh-HK": N_("Chinese")}
#: the transcript's own lines (written by the core and the channels, in English), as staff read
#: them in their language
SYSTEM_LINES = {
    "(session start)": N_("(the conversation started)"),
    "(no input)": N_("(no answer)"),
    "(handed back to the assistant)": N_("(given back to the assistant)"),
    "(asked to be called back)": N_("(asked to be called back)"),
    "(the kiosk session ended: the screen was cleared)":
        N_("(the kiosk session ended: the screen was cleared)"),
    "(the visitor left the kiosk: the screen was cleared while waiting for staff)":
        N_("(the visitor left the kiosk: the screen was cleared while waiting for staff)"),
    "(voice message recorded)": N_("(voice message recorded)"),
    "(the call was put through to staff)": N_("(the call was put through to staff)"),
    "(a picture or file, not read)": N_("(a picture or file, not read)"),
}
#: a choice's value that the engine itself offers, and the shared prompt that labels it
ENGINE_CHOICES = {"next": "next", "ok": "review_ok", "carry_on": "carry_on",
                  "start_again": "start_again", "none": "none_of_these", "person": "person"}
#: a kiosk touch that is not an option, as staff read it (see ``channels.kiosk.touches``)
TOUCHES = {"back": BACK, "restart": START_AGAIN, "assistant": BACK_TO_ASSISTANT}
_CHOICE_LINE = re.compile(r"\[(.+)\]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TEXTS = (YES, NO, MINUTES, HOURS_MINUTES, PRESSED, CHOSE, CHANGE, STAFF_BUTTON, LANGUAGE_BUTTON,
         BACK, START_AGAIN, BACK_TO_ASSISTANT, *LANGUAGES.values(), *SYSTEM_LINES.values())


class Words:
    """The console's words for one staff member's locale."""

    def __init__(self, catalogue: Catalogue, locale: str):
        self.cat = catalogue
        self.locale = locale

    def t(self, msgid: str, **values) -> str:
        text = self.cat.gettext(self.locale, msgid)
        return text % values if values else text

    # -- time -----------------------------------------------------------------------------

    def when(self, value: datetime | None, form: str = "datetime") -> str:
        """A moment in Hong Kong time, as the staff member's language writes the date, with a
        24-hour clock as contact centres read it: ``time`` (``00:15``), ``datetime`` (``Friday
        27 November 2026 00:15`` / ``11月27日（星期五）00:15``), ``full`` (a short date, with
        seconds: ``27 Nov 2026 00:15:00`` / ``2026年11月27日 00:15:00``)."""
        if value is None:
            return "-"
        local = hong_kong(value)
        loc = "en_HK" if self.locale == "en" else babel_name(self.locale)
        if form == "time":
            return format_time(local, "HH:mm", locale=loc)
        if form == "full":
            return f"{format_date(local.date(), 'medium', locale=loc)} " \
                   f"{format_time(local, 'HH:mm:ss', locale=loc)}"
        space = "" if self.locale == "zh-HK" else " "
        return f"{format_day(local.date(), self.locale)}{space}{format_time(local, 'HH:mm', locale=loc)}"

    def waited(self, since: datetime | None, now: datetime | None = None) -> str:
        if since is None:
            return "-"
        minutes = waited_minutes(since, now)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return self.t(HOURS_MINUTES, hours=hours, minutes=minutes)
        return self.t(MINUTES, minutes=minutes)

    # -- codes as words -----------------------------------------------------------------------

    def language(self, locale: str | None) -> str:
        return self.t(LANGUAGES.get(locale or "en", LANGUAGES["en"]))

    def reason(self, reason: str | None, procedure: str | None, core: dict[str, str]) -> str:
        """A hand-off reason: the core's own (``core``), else the label its procedure gives it,
        else any procedure's label for it; a code no one labels is shown as words."""
        if not reason:
            return "-"
        if reason in core:
            return self.t(core[reason])
        procs = self.cat.procedures
        first = procs.get(procedure or "")
        for proc in ([first] if first else []) + list(procs.values()):
            label = proc.reason_labels.get(reason)
            if label:
                return self.t(label)
        return reason.replace("_", " ")

    def slot_value(self, procedure: str | None, slot: str, value) -> str:
        """What the citizen gave, as they were offered it: yes/no as words, a choice as its
        label, a date in words, a saved result by its reference or time."""
        proc = self.cat.procedures.get(procedure or "")
        question = proc.questions.get(slot) if proc else None
        if isinstance(value, bool):
            return self.t(YES if value else NO)
        if isinstance(value, dict):
            if value.get("reference"):
                return str(value["reference"])
            if value.get("starts_at"):
                return self._moment(value["starts_at"])
            return ", ".join(str(v) for v in value.values() if isinstance(v, (str, int)))
        if isinstance(value, list):
            return ", ".join(self.slot_value(procedure, slot, v) for v in value)
        if question is not None and isinstance(value, str):
            if question.type == "yes_no" and value in ("yes", "no"):
                return self.t(YES if value == "yes" else NO)
            for option in question.options:
                if option.value == value:
                    return self.t(option.label)
            if question.type == "date" and _ISO_DATE.fullmatch(value):
                return format_day(date.fromisoformat(value), self.locale)
            if question.type == "appointment":
                return self._moment(value)
        return "-" if value is None else str(value)

    def step(self, procedure: str | None, step: str | None) -> str | None:
        """Where in a procedure someone was, as words: a question's label, a hand-off's reason
        label; None for a step with no words of its own (an info screen, a branch)."""
        proc = self.cat.procedures.get(procedure or "")
        found = proc.steps.get(step or "") if proc else None
        if found is None:
            return None
        label = found.label if found.kind == "question" else found.reason_label
        return self.t(label) if label else None

    def choice(self, value: str, procedure: str | None = None, step: str | None = None) -> str:
        """A choice's value (``next``, ``hkid_replacement``, ``cssa``, ``change:phone``) as the
        words of its button or option."""
        cat = self.cat
        if value in ("yes", "no"):
            return self.t(YES if value == "yes" else NO)
        if value in ENGINE_CHOICES and ENGINE_CHOICES[value] in cat.prompts:
            return self.t(cat.prompt(ENGINE_CHOICES[value]))
        if value in cat.procedures:
            return self.t(cat.procedures[value].title)
        if value.startswith("group:") and value[6:].isdigit() and int(value[6:]) < len(cat.menu):
            return self.t(cat.menu[int(value[6:])].label)
        proc = cat.procedures.get(procedure or "")
        if value.startswith("change:"):
            slot = value[len("change:"):]
            label = proc.slot_labels().get(slot) if proc else None
            return self.t(CHANGE, label=self.t(label) if label else slot)
        if _ISO_DATE.fullmatch(value):
            return format_day(date.fromisoformat(value), self.locale)
        # an option: of the step shown, else of the procedure, else of any procedure
        steps = []
        if proc is not None:
            if step in proc.steps:
                steps.append(proc.steps[step])
            steps += list(proc.steps.values())
        for other in cat.procedures.values():
            steps += list(other.steps.values())
        for s in steps:
            for option in s.options:
                if option.value == value:
                    return self.t(option.label)
        return value.replace("_", " ")

    def line(self, role: str, text: str, meta: dict | None, procedure: str | None) -> str:
        """A transcript line as staff read it: a kiosk touch as the button pressed, a choice as
        its label, the system's own lines in the staff member's language; anything else (what
        a citizen or a member of staff wrote, what the assistant said) as it is."""
        meta = meta or {}
        touch = meta.get("touch")
        if role == "user" and isinstance(touch, str):
            if touch == "person":
                return self.t(STAFF_BUTTON)
            if touch == "language":
                return self.t(LANGUAGE_BUTTON)
            if touch in TOUCHES:
                return self.t(PRESSED, label=self.t(TOUCHES[touch]))
            if touch.startswith("choose:"):
                value = touch[len("choose:"):]
                label = self.choice(value, meta.get("procedure") or procedure, meta.get("step"))
                if label == value.replace("_", " ") and meta.get("shown"):
                    label = str(meta["shown"])      # no words for it here: the button's own
                return self.t(PRESSED, label=label)
        if role in ("system", "staff") and text in SYSTEM_LINES:
            return self.t(SYSTEM_LINES[text])
        if role == "user":
            m = _CHOICE_LINE.fullmatch(text or "")
            if m:
                return self.t(CHOSE, label=self.choice(m.group(1), procedure))
        return text

    def _moment(self, value) -> str:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=HONG_KONG)
        return format_when(moment.astimezone(HONG_KONG), self.locale)


def hong_kong(value: datetime) -> datetime:
    """``value`` in Hong Kong time (a naive value from the database is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(HONG_KONG)


def waited_minutes(since: datetime, now: datetime | None = None) -> int:
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max(int(((now or datetime.now(UTC)) - since).total_seconds() // 60), 0)
