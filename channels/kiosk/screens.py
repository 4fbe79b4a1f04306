"""Reply -> kiosk screen: what one screen shows, decided without any HTML. Pure; no I/O.

A ``Screen`` is one question per page, as GOV.UK's question pages are: a heading, what was said
before it (``notes``), the choices as large buttons, and what kind of entry it needs (a keypad,
date pickers, free text). The templates draw it; the views keep the reply between the POST that
made it and the GET that shows it (``reply_to_data`` / ``reply_from_data``).

Kiosk decisions made here:
- at the main menu every procedure is a button of its own (title and summary), not the menu's
  groups: on a screen there is room, and one touch less;
- a reply the core tags "confirm" is the "Check your answer" screen;
- the "person" option is not repeated as a choice: "Ask a member of staff" is on every screen;
- the end of a procedure is the summary screen: the reference, what to bring and where to go,
  the answers, and the next steps.
It must not parse or judge answers (the core does), and it never sees a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.catalogue import Catalogue
from assistant.model import Expect, Option, Reply

from ..sms.pages import sentences
from . import texts as T

__all__ = ["Button", "Screen", "procedure_buttons", "reply_from_data", "reply_to_data",
           "screen_for", "welcome_screen"]

#: what each kind of screen is: the templates have one block per kind
KINDS = ("welcome", "menu", "choice", "check", "info", "number", "phone", "hkid", "date",
         "text", "describe", "end", "staff")


@dataclass(frozen=True)
class Button:
    """One large button. ``do`` is what the form sends ("choose:yes"); ``icon`` a glyph shown
    beside the words (never instead of them): "yes", "no" or ""."""

    do: str
    label: str
    description: str = ""
    icon: str = ""


@dataclass(frozen=True)
class Screen:
    kind: str
    locale: str
    heading: str
    notes: tuple[str, ...] = ()
    body: str = ""
    buttons: tuple[Button, ...] = ()
    progress: tuple[int, int] | None = None
    title: str = ""
    back: bool = False
    #: the last answer was not understood: the notes say why, shown as a problem
    problem: bool = False
    emergency: bool = False
    reference: str | None = None
    details: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()
    #: values to be spoken one character at a time, never cached whole
    spell: tuple[str, ...] = ()
    #: personal words on the screen (an address, a description): read aloud from audio made
    #: for this visitor only, never cached
    private: tuple[str, ...] = ()

    @property
    def spoken(self) -> tuple[str, ...]:
        """What the read-aloud button says, in order: everything the screen shows in words."""
        said = [*self.notes, self.heading, self.body]
        if self.reference:
            said.append(self.reference)
        said += [*self.details, *self.summary]
        said += [b.label for b in self.buttons]
        return tuple(s for s in said if s)


def procedure_buttons(cat: Catalogue, locale: str) -> tuple[Button, ...]:
    """Every procedure, in the order of the main menu, with its plain summary."""
    seen: list[str] = []
    for group in cat.menu:
        seen += [pid for pid in group.procedures if pid not in seen]
    seen += [pid for pid in cat.procedures if pid not in seen]
    return tuple(Button(f"choose:{pid}", cat.gettext(locale, cat.procedures[pid].title),
                        cat.gettext(locale, cat.procedures[pid].summary)) for pid in seen)


def welcome_screen(cat: Catalogue, locale: str) -> Screen:
    t = lambda msgid: cat.gettext(locale, msgid)
    return Screen("welcome", locale, t(T.WELCOME_HEADING), notes=(t(T.WELCOME_INTRO),),
                  buttons=procedure_buttons(cat, locale))


def screen_for(reply: Reply, cat: Catalogue) -> Screen:
    """The screen for a reply of the core."""
    locale = reply.locale
    t = lambda msgid: cat.gettext(locale, msgid)
    parts = [p for p in reply.parts if p]
    if reply.prompt and parts and parts[-1] == reply.prompt:
        parts.pop()
    proc = cat.procedures.get(reply.procedure) if reply.procedure else None
    common = {"locale": locale, "progress": reply.progress,
              "title": t(proc.title) if proc else "", "emergency": reply.emergency,
              "spell": tuple(reply.spell), "private": tuple(reply.private),
              "problem": bool({"reprompt", "noinput"} & set(reply.tags))}
    if reply.handed_off:
        return Screen("staff", heading=t(T.STAFF_HEADING), notes=tuple(parts),
                      body=t(T.STAFF_BODY), **common)
    if reply.ended and reply.reference:
        return _end_screen(reply, parts, t, t(cat.prompt("summary_heading")), common)
    options = [o for o in reply.options if o.value != "person"]
    if any(o.value.startswith("group:") for o in options):
        return Screen("menu", heading=t(T.WELCOME_HEADING), notes=tuple(parts),
                      buttons=procedure_buttons(cat, locale), **common)
    kind = reply.expect.kind
    if "confirm" in reply.tags:
        return Screen("check", heading=t(T.CHECK_HEADING), notes=tuple(parts),
                      body=reply.prompt, buttons=_buttons(options), back=True, **common)
    if len(options) == 1 and options[0].value == "next":
        # an information step: its text is the page, "Continue" the only way on
        return Screen("info", heading=common["title"] or reply.prompt, notes=tuple(parts),
                      body=reply.prompt if common["title"] else "",
                      buttons=(Button("choose:next", t(T.CONTINUE)),), back=True, **common)
    heading, body = split_question(reply.prompt)
    if kind in ("number", "phone", "hkid", "date", "text"):
        return Screen(kind, heading=heading, body=body, notes=tuple(parts), back=True, **common)
    return Screen("choice", heading=heading, body=body, notes=tuple(parts),
                  buttons=_buttons(options), back=proc is not None or bool(options), **common)


def split_question(prompt: str) -> tuple[str, str]:
    """(heading, body): a prompt of several sentences is headed by its question, as a GOV.UK
    question page is ("Is that OK?"), with the other sentences under it; one without a
    question stays whole."""
    said = sentences(prompt)
    asked = [s for s in said if s.rstrip().endswith(("?", "？"))]
    if len(said) < 2 or not asked:
        return prompt, ""
    question = asked[-1]
    return question.strip(), " ".join(s.strip() for s in said if s is not question)


def _buttons(options) -> tuple[Button, ...]:
    icons = {"yes": "yes", "no": "no"}
    return tuple(Button(f"choose:{o.value}", o.label, icon=icons.get(o.value, ""))
                 for o in options)


def _end_screen(reply: Reply, parts: list[str], t, heading_of_summary: str,
                common: dict) -> Screen:
    """The core ends with: the reference sentence, what the procedure says (what to bring,
    where to go), then the summary ("Your summary:" and one line per answer)."""
    details, summary = [], []
    for part in parts:
        if reply.reference in part:
            continue                       # shown large, on its own
        if part.startswith(heading_of_summary):
            summary += [line for line in part.splitlines()[1:] if line.strip()]
            continue
        details.append(part)
    return Screen("end", heading=t(T.END_HEADING), reference=reply.reference,
                  details=tuple(details), summary=tuple(summary),
                  buttons=(Button("something_else", t(T.SOMETHING_ELSE)),), **common)


# -- keeping a reply between the POST that made it and the GET that shows it ----------------

def reply_to_data(reply: Reply) -> dict:
    """What the screen needs of a reply, as JSON for the conversation's channel state."""
    return {"parts": list(reply.parts), "prompt": reply.prompt,
            "options": [[o.key, o.value, o.label] for o in reply.options],
            "expect": reply.expect.kind, "ended": reply.ended, "handed_off": reply.handed_off,
            "emergency": reply.emergency, "locale": reply.locale, "procedure": reply.procedure,
            "step": reply.step, "reference": reply.reference, "tags": list(reply.tags),
            "progress": list(reply.progress) if reply.progress else None,
            "spell": list(reply.spell), "private": list(reply.private)}


def reply_from_data(data: dict) -> Reply:
    return Reply(parts=tuple(data.get("parts") or ()), prompt=data.get("prompt") or "",
                 options=tuple(Option(k, v, label) for k, v, label in data.get("options") or ()),
                 expect=Expect(kind=data.get("expect") or "none"),
                 ended=bool(data.get("ended")), handed_off=bool(data.get("handed_off")),
                 emergency=bool(data.get("emergency")), locale=data.get("locale") or "en",
                 procedure=data.get("procedure"), step=data.get("step"),
                 reference=data.get("reference"), tags=tuple(data.get("tags") or ()),
                 progress=tuple(data["progress"]) if data.get("progress") else None,
                 spell=tuple(data.get("spell") or ()),
                 private=tuple(data.get("private") or ()))
