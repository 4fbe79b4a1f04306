"""Reply -> kiosk screen: what one screen shows, decided without any HTML. Pure; no I/O.

A ``Screen`` is one question per page, as GOV.UK's question pages are: a heading, what was said
before it (``notes``), the choices as large buttons, and what kind of entry it needs (a keypad,
date pickers, free text). The templates draw it; the views keep the reply between the POST that
made it and the GET that shows it (``reply_to_data`` / ``reply_from_data``).

Everything comes from the reply's own fields (``before``, ``question``, ``options``,
``summary``, ``next_steps``, ``reference``, ``closed``): nothing here takes ``parts`` apart or
matches a heading's words. Kiosk decisions made here:
- at the main menu every procedure is a button of its own (title and summary), not the menu's
  groups: on a screen there is room, and one touch less;
- a reply the core tags "confirm" is the "Check your answer" screen; one tagged "review" lists
  every answer, each with its own Change button (GOV.UK's "Check your answers");
- the "person" option is never a choice on a screen: "Ask a member of staff" is a button of its
  own on every screen, so nothing says "choose 0";
- the end of a procedure is the summary screen: the reference (only when the core gives one),
  the end's words, what to do next (bring, when, where, hours, fee), the answers, then
  "Is there anything else?" with its two answers;
- a reference number is keyed on the keypad, "KF" already there (``REFERENCE_SLOTS``);
- appointment times end with "Other days and times" (the core's ``more_times``).
It must not parse or judge answers (the core does), and it never sees a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.catalogue import Catalogue
from assistant.engine import MORE_TIMES
from assistant.model import Expect, NextSteps, Option, Reply, Summary, SummaryItem

from ..sms.pages import sentences
from . import texts as T

__all__ = ["Button", "Row", "Screen", "procedure_buttons", "reply_from_data", "reply_to_data",
           "screen_for", "welcome_screen"]

#: what each kind of screen is: the templates have one block per kind
KINDS = ("welcome", "menu", "choice", "check", "review", "info", "number", "phone", "hkid",
         "reference", "date", "text", "describe", "end", "staff", "finish")
#: text questions whose answer is one of our reference numbers: keyed as digits after "KF"
REFERENCE_SLOTS = frozenset({"old_reference", "reference"})


@dataclass(frozen=True)
class Button:
    """One large button. ``do`` is what the form sends ("choose:yes"); ``icon`` a glyph shown
    beside the words (never instead of them): "yes", "no" or ""."""

    do: str
    label: str
    description: str = ""
    icon: str = ""


@dataclass(frozen=True)
class Row:
    """One answer in a summary: its label and value, and at a review the button to change it."""

    label: str
    value: str
    change: Button | None = None


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
    #: the sentence that gives the reference (shown in the reference's box)
    reference_line: str = ""
    #: what to do next: a heading and its lines (bring, when, where, hours, fee, call)
    next_heading: str = ""
    next_steps: tuple[str, ...] = ()
    #: the answers (a review, or the end) under their heading
    rows_heading: str = ""
    rows: tuple[Row, ...] = ()
    #: the question asked at the end of a screen that shows something first (the end's
    #: "Is there anything else?"), answered by ``buttons``
    ask: str = ""
    #: values to be spoken one character at a time, never cached whole
    spell: tuple[str, ...] = ()
    #: personal words on the screen (an address, a description): read aloud from audio made
    #: for this visitor only, never cached
    private: tuple[str, ...] = ()

    @property
    def spoken(self) -> tuple[str, ...]:
        """What the read-aloud button says, in order: everything the screen shows in words."""
        said = [*self.notes, self.heading, self.body]
        if self.reference_line:
            said.append(self.reference_line)
        said += [self.next_heading, *self.next_steps, self.rows_heading]
        for row in self.rows:
            said += [row.label, row.value]
            if row.change:
                said.append(row.change.label)
        said.append(self.ask)
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


def _question(reply: Reply, cat: Catalogue):
    proc = cat.procedures.get(reply.procedure) if reply.procedure else None
    step = proc.steps.get(reply.step) if proc and reply.step else None
    return step if step is not None and step.kind == "question" else None


def entry_kind(reply: Reply, cat: Catalogue) -> str:
    """The kind of entry a question needs on the kiosk: the core's kind, except a text question
    that asks for one of our reference numbers, which is keyed on the keypad."""
    kind = reply.expect.kind
    if kind == "text" and not reply.options:
        step = _question(reply, cat)
        if step is not None and step.slot in REFERENCE_SLOTS:
            return "reference"
    return kind


def screen_for(reply: Reply, cat: Catalogue) -> Screen:
    """The screen for a reply of the core."""
    locale = reply.locale
    t = lambda msgid: cat.gettext(locale, msgid)
    before = tuple(p for p in reply.before if p)
    proc = cat.procedures.get(reply.procedure) if reply.procedure else None
    common = {"locale": locale, "progress": reply.progress,
              "title": t(proc.title) if proc else "", "emergency": reply.emergency,
              "spell": tuple(reply.spell), "private": tuple(reply.private),
              "problem": bool({"reprompt", "noinput"} & set(reply.tags))}
    if reply.handed_off:
        return Screen("staff", heading=t(T.STAFF_HEADING), notes=before,
                      body=t(T.STAFF_BODY), **common)
    options = [o for o in reply.options if o.value != "person"]
    if reply.ended and not reply.closed and (reply.summary or reply.next_steps
                                              or reply.reference):
        return _end_screen(reply, before, options, t, common)
    if any(o.value.startswith("group:") for o in options):
        return Screen("menu", heading=t(T.WELCOME_HEADING), notes=before,
                      buttons=procedure_buttons(cat, locale), **common)
    if "review" in reply.tags and reply.summary is not None:
        return _review_screen(reply, before, options, t, common)
    if "confirm" in reply.tags:
        return Screen("check", heading=t(T.CHECK_HEADING), notes=before,
                      body=reply.question, buttons=_buttons(options), back=True, **common)
    if len(options) == 1 and options[0].value == "next":
        # an information step: its text is the page, "Continue" the only way on
        return Screen("info", heading=common["title"] or reply.question, notes=before,
                      body=reply.question if common["title"] else "",
                      buttons=(Button("choose:next", t(T.CONTINUE)),), back=True, **common)
    heading, body = split_question(reply.question)
    kind = entry_kind(reply, cat)
    if kind in ("number", "phone", "hkid", "reference", "date", "text"):
        return Screen(kind, heading=heading, body=body, notes=before, back=True, **common)
    buttons = _buttons(options)
    step = _question(reply, cat)
    if step is not None and step.type == "appointment" and "confirm" not in reply.tags:
        if "no_more_times" in reply.tags:
            before = (*before, t(T.NO_MORE_TIMES))
        else:
            buttons += (Button(f"choose:{MORE_TIMES}", t(T.MORE_TIMES), icon="more"),)
    return Screen("choice", heading=heading, body=body, notes=before,
                  buttons=buttons, back=proc is not None or bool(options), **common)


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
    """The options as buttons, with the labels the core gives: in Cantonese a yes/no question's
    own echo (有 / 冇, 想 / 唔想), never a generic yes and no."""
    icons = {"yes": "yes", "no": "no"}
    return tuple(Button(f"choose:{o.value}", o.label, icon=icons.get(o.value, ""))
                 for o in options)


def _rows(summary: Summary | None, options: list[Option]) -> tuple[Row, ...]:
    if summary is None:
        return ()
    labels = {o.value: o.label for o in options}
    return tuple(Row(item.label, item.value,
                     Button(f"choose:{item.change}", labels[item.change])
                     if item.change and item.change in labels else None)
                 for item in summary.items)


def _review_screen(reply: Reply, before: tuple[str, ...], options: list[Option], t,
                   common: dict) -> Screen:
    """GOV.UK's "Check your answers": the summary's heading, every answer with a Change button
    of its own, then the question ("Is everything right?") over "All correct, go on"."""
    changes = {item.change for item in reply.summary.items if item.change}
    go_on = tuple(b for b in _buttons(options) if b.do[len("choose:"):] not in changes)
    return Screen("review", heading=reply.summary.heading.rstrip(":：").strip(), notes=before,
                  rows=_rows(reply.summary, options), ask=reply.question, buttons=go_on,
                  back=True, **common)


def _end_screen(reply: Reply, before: tuple[str, ...], options: list[Option], t,
                common: dict) -> Screen:
    """The reference first (in its own box, with the sentence that gives it), the end's words,
    what to do next, the answers, then "Is there anything else?"."""
    notes, reference_line = list(before), ""
    if reply.reference:
        given = [p for p in notes if reply.reference in p]
        if given:
            reference_line = given[0]
            notes.remove(reference_line)
    steps = reply.next_steps or NextSteps()
    summary = reply.summary
    heading = t(T.END_HEADING) if reply.reference else t(T.END_INFO_HEADING)
    return Screen("end", heading=heading, notes=tuple(notes), reference=reply.reference,
                  reference_line=reference_line,
                  next_heading=steps.heading.rstrip(":：").strip() if steps else "",
                  next_steps=tuple(text for _, text in steps.lines()),
                  rows_heading=summary.heading.rstrip(":：").strip() if summary else "",
                  rows=_rows(summary, options), ask=reply.question,
                  buttons=_buttons(options), **common)


# -- keeping a reply between the POST that made it and the GET that shows it ----------------

def reply_to_data(reply: Reply) -> dict:
    """What the screen needs of a reply, as JSON for the conversation's channel state."""
    steps = reply.next_steps
    return {"parts": list(reply.parts), "prompt": reply.prompt, "before": list(reply.before),
            "options": [[o.key, o.value, o.label] for o in reply.options],
            "expect": reply.expect.kind, "ended": reply.ended, "handed_off": reply.handed_off,
            "emergency": reply.emergency, "locale": reply.locale, "procedure": reply.procedure,
            "step": reply.step, "reference": reply.reference, "tags": list(reply.tags),
            "progress": list(reply.progress) if reply.progress else None,
            "spell": list(reply.spell), "private": list(reply.private), "closed": reply.closed,
            "summary": None if reply.summary is None else {
                "heading": reply.summary.heading,
                "items": [[i.slot, i.label, i.value, i.personal, i.spell, i.change]
                          for i in reply.summary.items]},
            "next_steps": None if not steps else {
                "heading": steps.heading, "bring": list(steps.bring), "where": steps.where,
                "hours": steps.hours, "when": steps.when, "fee": steps.fee, "call": steps.call}}


def reply_from_data(data: dict) -> Reply:
    summary = data.get("summary")
    steps = data.get("next_steps")
    return Reply(parts=tuple(data.get("parts") or ()), prompt=data.get("prompt") or "",
                 before=tuple(data.get("before") or ()),
                 options=tuple(Option(k, v, label) for k, v, label in data.get("options") or ()),
                 expect=Expect(kind=data.get("expect") or "none"),
                 ended=bool(data.get("ended")), handed_off=bool(data.get("handed_off")),
                 emergency=bool(data.get("emergency")), locale=data.get("locale") or "en",
                 procedure=data.get("procedure"), step=data.get("step"),
                 reference=data.get("reference"), tags=tuple(data.get("tags") or ()),
                 progress=tuple(data["progress"]) if data.get("progress") else None,
                 spell=tuple(data.get("spell") or ()),
                 private=tuple(data.get("private") or ()), closed=bool(data.get("closed")),
                 summary=None if summary is None else Summary(
                     summary["heading"], tuple(SummaryItem(*item) for item in summary["items"])),
                 next_steps=None if not steps else NextSteps(
                     steps["heading"], tuple(steps["bring"]), steps["where"], steps["hours"],
                     steps["when"], steps["fee"], steps["call"]))
