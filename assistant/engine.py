"""The step engine: ``advance(catalogue, state, input) -> (new state, reply)``.

Pure: no I/O, no clock unless the caller leaves ``today`` out, no knowledge of channels. Services
that a procedure calls (booking a time, issuing a reference) are not called here: the engine puts
an ``ActionRequest`` on the reply and waits for an ``ActionResult`` input, which the turn runner
(``assistant.conversation``) feeds back inside the same transaction.

The order in which an input is understood, at any step:
  1. a person has the conversation: nothing is said; waiting: an acknowledgement
  2. distress words: a person at once, with the emergency number
  3. an exact answer to the current question (so option words beat command words)
  4. global commands: help, repeat, back, start again, a person, stop, change language
  5. the current position: menu, candidates, consent, read-back, question, information
Misses escalate (VoiceXML style): each gives a more explicit prompt; the third offers a person;
the fifth hands over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rapidfuzz.distance import OSA

from . import understanding as u
from .catalogue import (
    COMMANDS,
    PLACEHOLDER_RE,
    Catalogue,
    OptionDef,
    Procedure,
    Step,
    per_catalogue,
)
from .errors import StaffActionError
from .i18n import format_day, format_when
from .model import (
    ActionRequest,
    ActionResult,
    Choose,
    Digits,
    Expect,
    HandBack,
    Input,
    NextSteps,
    NoInput,
    Option,
    Reply,
    Start,
    Summary,
    SummaryItem,
    Text,
    copy_state,
    new_state,
)
from .places import DISTRICTS, match_place, match_region
from .routing import router_for

MISSES_OFFER_PERSON = 3
MISSES_HAND_OFF = 5
#: understanding reads at most this much of one message; the transcript keeps all of it
MAX_UNDERSTOOD = 500
MAX_TEXT_SLOT = 1000

PRIORITY_DISTRESS, PRIORITY_MISSES, PRIORITY_ASKED = 0, 1, 2
#: a recognised answer heard with less confidence than this is read back to be confirmed
LOW_CONFIDENCE = 0.5
#: answers that are read back one character at a time
SPELLED_TYPES = frozenset({"hkid", "phone"})
#: at an appointment question, ``Choose(MORE_TIMES)`` asks for the times after those offered
#: (a kiosk's "Other days and times" button): the search runs again from the last one shown
MORE_TIMES = "more_times"

#: the oldest age a number question about an age takes outside a procedure (1950 is a year)
OLDEST = 130
#: number questions about money (where "none" is 0), besides those labelled with "$"
MONEY_SLOTS = frozenset({"income", "assets", "savings", "rent", "amount"})


@dataclass(frozen=True)
class Rough:
    """A number said only roughly (七十幾, "about 70"): read back, never kept as it is."""

    value: int


_FILLERS = re.compile(r"^(please|pls|plz|ok|okay|唔該|請|麻煩)\s*|\s*(please|pls|plz|呀|啊|啦|喇|吖|唔該)$")
_FULLWIDTH_KEYS = str.maketrans("０１２３４５６７８９＊＃　", "0123456789*# ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\ud800-\udfff]")
_YES_NO_GRAMMAR = {"en": ("yes", "no"), "zh-HK": ("係", "唔係", "好", "唔要")}


def advance(catalogue: Catalogue, state: dict | None, inp: Input,
            today: date | None = None, modality: str | None = None) -> tuple[dict, Reply]:
    """One turn. ``state`` is not modified; the new state is returned with the reply.

    ``modality`` (``voice``, ``screen`` or ``text``) is how the citizen meets the words: the
    catalogue gives each text's variant for it. It is kept in the state, so a turn that no
    channel starts (a member of staff handing back) speaks the same way."""
    s = copy_state(state) if state else new_state()
    if modality:
        s["modality"] = modality
    turn = _Turn(catalogue, s, today or date.today())
    turn.handle(inp)
    return s, turn.reply()


class _Turn:
    def __init__(self, cat: Catalogue, s: dict, today: date):
        self.cat, self.s, self.today = cat, s, today
        self.parts: list[str] = []
        self.prompt = ""
        self.options: list[Option] = []
        self.expect = Expect()
        self.flags: dict[str, bool] = {}
        self.action: ActionRequest | None = None
        self.tags: list[str] = []
        self.rendered = False
        self.written = ""      # what the citizen typed, as typed (for free-text answers)
        self.confidence: float | None = None   # the recogniser's, for what was said
        self.spell: list[str] = []
        self.private: list[str] = []
        self.summary: Summary | None = None
        #: what a number or date is for, when the caller says so (see ``understand_answer``)
        self.context: str | None = None
        #: a question asked outside any procedure (``understand_answer``)
        self.asked: Step | None = None
        self.next_steps: NextSteps | None = None
        #: how many of ``parts`` come before the summary and next steps (the end says these
        #: in their own order): None when the reply has neither
        self.before_end: int | None = None

    # -- small helpers -----------------------------------------------------------------------

    @property
    def locale(self) -> str:
        return self.s["locale"]

    @property
    def modality(self) -> str:
        return self.s.get("modality") or "text"

    def t(self, msgid: str) -> str:
        return self.cat.gettext(self.locale, msgid, self.modality)

    def say(self, msgid: str, **extra: Any) -> None:
        if msgid:
            self.parts.append(self.fill(self.t(msgid), extra))

    def proc(self) -> Procedure | None:
        pid = self.s["procedure"]
        return self.cat.procedures.get(pid) if pid else None

    def step(self) -> Step | None:
        if self.asked is not None:
            return self.asked
        proc = self.proc()
        return proc.steps.get(self.s["step"]) if proc and self.s["step"] else None

    def fill(self, text: str, extra: dict | None = None) -> str:
        """Fill ``{name}`` and ``{name.field}`` with values as people read them."""
        extra = extra or {}

        def value(m: re.Match) -> str:
            name, attr = m.group(1), m.group(2)
            if name in extra:
                return str(extra[name])
            if name in self.s["slots"]:
                return self.display(name, self.s["slots"][name], attr)
            if name == "reference" and self.s.get("reference"):
                return self.s["reference"]
            if name == "title" and self.proc():
                return self.t(self.proc().title)
            if name in self.cat.facts:
                return self.t(str(self.cat.facts[name])) if isinstance(
                    self.cat.facts[name], str) else str(self.cat.facts[name])
            return m.group(0)

        return PLACEHOLDER_RE.sub(value, text)

    def display(self, slot: str, raw: Any, attr: str | None = None) -> str:
        offices = self.cat.facts_info.get("offices", {})
        if isinstance(raw, dict):
            if attr:
                raw = raw.get(attr, "")
            elif "starts_at" in raw:
                raw = raw["starts_at"]
            else:
                raw = raw.get("reference") or raw.get("id") or ""
            if attr == "office" or (isinstance(raw, str) and raw in offices):
                return self.t(offices[raw]["name"]) if raw in offices else str(raw)
            return self._display_scalar(raw)
        if isinstance(raw, str) and raw in offices:
            office = offices[raw]
            return self.t(office[attr]) if attr in ("address", "hours", "name") else self.t(
                office["name"])
        step = self._question_for(slot)
        if step is not None:
            if step.type == "yes_no":
                return self.t("Yes") if raw else self.t("No")
            if step.type == "choice":
                for o in step.options:
                    if o.value == raw:
                        return self.t(o.label)
            if step.type == "date" and isinstance(raw, str):
                return format_day(date.fromisoformat(raw), self.locale)
            if step.type == "phone" and isinstance(raw, str) and len(raw) == 8:
                return f"{raw[:4]} {raw[4:]}"
        return self._display_scalar(raw)

    def _display_scalar(self, raw: Any) -> str:
        if isinstance(raw, str) and re.match(r"^\d{4}-\d\d-\d\dT", raw):
            try:
                return format_when(datetime.fromisoformat(raw), self.locale)
            except ValueError:
                return raw
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, bool):
            return self.t("Yes") if raw else self.t("No")
        return str(raw)

    def _question_for(self, slot: str) -> Step | None:
        """The question asking for ``slot``: the current procedure's, else the first procedure's
        that asks for it (a look-up, not a walk through every procedure's steps)."""
        current = self.proc()
        step = current.questions.get(slot) if current else None
        return step if step is not None else questions_by_slot(self.cat).get(slot)

    # -- the turn ----------------------------------------------------------------------------

    def handle(self, inp: Input) -> None:
        s = self.s
        if isinstance(inp, Start):
            return self.on_start()
        if isinstance(inp, HandBack):
            return self.on_hand_back(inp.procedure)
        if isinstance(inp, ActionResult):
            return self.on_action_result(inp)
        if s["status"] == "with_staff":
            self.flags["silent"] = True
            self.rendered = True
            return None
        if s["status"] == "closed":
            self.reopen()
        text, key = self.read(inp)
        s["turns"] += 1
        if s["status"] == "waiting":
            return self.on_waiting(text, key)
        if isinstance(inp, NoInput) or (not text and key is None and not isinstance(inp, Choose)):
            if (s["pending"] or {}).get("kind") == "ended":
                return self.close()     # silence after "anything else?": nothing else
            return self.miss(noinput=True)
        if text and self.is_distress(text):
            return self.escalate("distress", PRIORITY_DISTRESS)
        chosen = inp.value if isinstance(inp, Choose) else None
        if chosen is None and self.answers_exactly(text, key):
            return self.on_answer(text, key, None)
        if chosen is None and key is None and self.asks_for_person(text):
            return self.escalate("asked", PRIORITY_ASKED)
        if chosen is None and key is None and self.answers_yes_no(text):
            # "唔使喇，唔該" (no, thank you) answers the question: it is not STOP
            return self.on_answer(text, key, None)
        command = self.command(text, key) if chosen is None else None
        if command == "stop" and key is None and self.answers_question(text):
            command = None      # 唔使喇 to "what do you want to do?" is cancelling, not STOP
        if command == "stop" and key is None and self.declines_question(text):
            # "唔使喇，唔該" (no, thank you) to a question that is not yes or no: a polite no
            # may mean "not this one" as well as "goodbye"; ask, never close on a guess
            self.s["pending"], self.s["misses"] = {"kind": "want_stop"}, 0
            return None
        if command:
            return self.on_command(command, text)
        return self.on_answer(text, key, chosen)

    def read(self, inp: Input) -> tuple[str, str | None]:
        """(normalised text, keypad key or None)."""
        if isinstance(inp, Digits):
            raw = inp.digits.strip().rstrip("#")
        elif isinstance(inp, Text):
            raw = inp.text[:MAX_UNDERSTOOD * 4]
            self.written = inp.text
            self.confidence = inp.confidence
        else:
            return "", None
        text = u.normalise(raw)[:MAX_UNDERSTOOD]
        # keys are read before normalising, which would drop a leading "*" as punctuation
        keys = raw.translate(_FULLWIDTH_KEYS)
        if not re.fullmatch(r"[0-9*#\s]+", keys):
            return text, None
        return text, re.sub(r"[^0-9*#]", "", keys).rstrip("#") or None

    def reopen(self) -> None:
        locale = self.s["locale"]
        self.s.clear()
        self.s.update(new_state(locale))
        self.s["started"] = True
        self.say(self.cat.prompt("greeting"))

    def on_start(self) -> None:
        s = self.s
        if s["status"] == "closed":
            self.reopen()
        elif not s["started"] or not s["procedure"]:
            s["started"] = True
            self.say(self.cat.prompt("greeting"))
        else:
            # back after a while (a new call, an idle text conversation): say where we were,
            # and let the citizen carry on or start again
            self.say(self.cat.prompt("resume"))
            if s["status"] == "bot":
                s["pending"] = {"kind": "resume", "previous": s["pending"]}
        if s["status"] == "waiting":
            self.say(self.cat.prompt("handoff_still_waiting"))
            self.rendered = True

    def on_hand_back(self, procedure: str | None) -> None:
        s = self.s
        if procedure is not None and procedure not in self.cat.procedures:
            raise StaffActionError(f"no procedure {procedure!r} to hand back to")
        s["status"], s["escalation"], s["misses"] = "bot", None, 0
        s["started"] = True
        self.say(self.cat.prompt("handed_back"))
        if procedure is not None:
            return self.start_procedure(procedure)   # keeps the shared slots already given
        step = self.step()
        if step is None or step.kind not in ("question", "info"):
            # the procedure ended in the hand-off: carry on from the menu, keeping what was said
            s.update(procedure=None, step=None, history=[], pending=None)
        return None

    def on_waiting(self, text: str, key: str | None) -> None:
        if text and self.is_distress(text):
            return self.escalate("distress", PRIORITY_DISTRESS)
        if self.command(text, key, ("restart", "assistant")):
            self.s["status"], self.s["escalation"] = "bot", None
            self.say(self.cat.prompt("back_to_assistant"))
            return None
        self.say(self.cat.prompt("handoff_still_waiting"))
        self.flags["handed_off"] = True
        self.rendered = True
        return None

    # -- understanding -----------------------------------------------------------------------

    def understand(self, step: Step, inp: Text) -> Any:
        """The answer the turn would take from ``inp`` at question ``step`` (a ``Rough`` one
        included), or None when it would do something else: the order of ``handle``."""
        text, key = self.read(inp)
        if not text and key is None:
            return None
        if text and self.is_distress(text):
            return None
        if not self.answers_exactly(text, key):
            if key is None and self.asks_for_person(text):
                return None
            if not (key is None and self.answers_yes_no(text)):
                command = self.command(text, key)
                if command == "stop" and key is None and self.answers_question(text):
                    command = None
                if command:
                    return None
        value, _ = self.parse(step, text, key, None)
        return value

    def is_distress(self, text: str) -> bool:
        lex = lexicon(self.cat)
        plain = u.strip_punct(text)
        squeezed, padded = plain.replace(" ", ""), f" {plain} "
        return any(p in squeezed for p in lex.distress_cjk) or any(
            f" {p} " in padded for p in lex.distress_words)

    def command(self, text: str, key: str | None, names: tuple[str, ...] = ()) -> str | None:
        """The global command the text or key means (or one of ``names``), else None."""
        if key:
            for name, k in self.cat.keys.items():
                if key == k:
                    return name
            return None
        plain = _FILLERS.sub("", u.strip_punct(text)).strip()
        if not plain and text.strip() == "?":
            return "help"
        if not plain:
            return None
        lex = lexicon(self.cat)
        names = names or COMMANDS
        for name in names:
            if plain in lex.commands.get(name, ()):
                return name
        if plain.isascii():
            # one slip of the finger in a longer command word ("repaet", "hlep")
            for name in names:
                for p in lex.fuzzy.get(name, ()):
                    if abs(len(p) - len(plain)) <= 2 and OSA.distance(plain, p) <= (
                            1 if len(p) < 8 else 2):
                        return name
        return None

    def answers_exactly(self, text: str, key: str | None) -> bool:
        """True when the text is exactly an option of the current question (beats commands)."""
        opts = self.current_options()
        if key is not None:
            return any(o.key == key for o in opts) or self._zero_is_number(key)
        plain = u.strip_punct(text)
        return any(plain in {u.strip_punct(p) for p in (o.label, *o.phrases)}
                   for o in opts if o.value != "person")

    def asks_for_person(self, text: str) -> bool:
        """A request for a person, unless talking to a person is one of the question's own
        answers (then the question's path goes on, as the procedure says)."""
        if not u.asks_for_person(text):
            return False
        step = self.step()
        if self.s["pending"] or step is None or step.kind != "question":
            return True
        return not any(any(u.asks_for_person(p) for p in (o.label, *o.phrases))
                       for o in self.options_of(step))

    def answers_question(self, text: str) -> bool:
        """True when the text is an answer to the question being asked (a value it takes)."""
        step = self.step()
        if self.s["pending"] or step is None or step.kind != "question" or step.type == "text":
            return False
        value, _ = self.parse(step, text, None, None)
        return value is not None

    def declines_question(self, text: str) -> bool:
        """True when the text is a no ("唔使喇，唔該", "no thank you") to a question that does
        not ask yes or no."""
        step = self.step()
        return (not self.s["pending"] and step is not None and step.kind == "question"
                and step.type != "yes_no" and u.parse_yes_no(text) is False)

    def answers_yes_no(self, text: str) -> bool:
        """True when the current position asks yes or no and the text is a yes or a no."""
        pending = (self.s["pending"] or {}).get("kind")
        step = self.step()
        asks = pending in ("consent", "confirm", "ended", "want_stop") or (
            pending is None and step is not None and step.kind == "question"
            and step.type == "yes_no")
        return asks and self.yes_no(text, None, None) is not None

    def _zero_is_number(self, key: str) -> bool:
        step = self.step()
        return bool(key == "0" and step and step.kind == "question" and self.s["pending"] is None
                    and step.type == "number" and (step.min is None or step.min <= 0))

    # -- commands ----------------------------------------------------------------------------

    def on_command(self, command: str, text: str) -> None:
        s = self.s
        if command == "help":
            step = self.step()
            if step and step.help and not s["pending"]:
                self.say(step.help)
            self.say(self.cat.prompt("help_commands"))
            self.tags.append("help")
        elif command == "repeat":
            self.tags.append("repeat")
        elif command == "back":
            self.go_back()
        elif command == "restart":
            locale = s["locale"]
            s.clear()
            s.update(new_state(locale))
            s["started"] = True
            self.say(self.cat.prompt("at_start"))
        elif command == "person":
            self.escalate("asked", PRIORITY_ASKED)
        elif command == "stop":
            self.close()
        elif command == "language":
            self.switch_language(text)

    def close(self) -> None:
        """The citizen is done: say goodbye and close the conversation."""
        s = self.s
        s["status"] = "closed"
        s["pending"] = None
        self.say(self.cat.prompt("goodbye"))
        self.flags["ended"] = True
        self.flags["closed"] = True
        self.rendered = True

    def switch_language(self, text: str) -> None:
        plain = u.strip_punct(text)
        wanted = next((locale for locale, names in lexicon(self.cat).language.items()
                       if plain in names), None)
        if wanted is None or wanted == self.locale:
            others = [loc for loc in self.cat.locales if loc != self.locale]
            wanted = others[0] if wanted is None else wanted
        self.s["locale"] = wanted
        self.say(self.cat.prompt("language_changed"))

    def go_back(self) -> None:
        s = self.s
        s["misses"] = 0
        if s["pending"] and s["pending"].get("kind") in ("confirm", "consent", "want_stop"):
            s["pending"] = None
            return self.enter(s["step"])
        if s["pending"] and s["pending"].get("kind") == "resume":
            s["pending"] = s["pending"].get("previous")
            return None
        if s["pending"] and s["pending"].get("kind") in ("menu_group", "candidates", "ended"):
            s["pending"] = None
            return None
        proc = self.proc()
        if not proc:
            self.say(self.cat.prompt("at_start"))
            return None
        changing = s.pop("changing", None)
        if changing:
            # back from changing an answer: the answer as it was, and the review again
            s["slots"].update(changing["old"])
            s["pending"] = None
            while s["history"] and s["history"][-1] != changing["review"]:
                s["history"].pop()
            return self.enter(changing["review"])
        history = s["history"]
        if len(history) < 2:
            s.update(procedure=None, step=None, history=[], pending=None)
            self.say(self.cat.prompt("at_start"))
            return None
        history.pop()
        previous = history.pop()
        step = proc.steps[previous]
        if step.kind == "question":
            s["slots"].pop(step.slot, None)
        return self.enter(previous)

    # -- escalation --------------------------------------------------------------------------

    def escalate(self, reason: str, priority: int) -> None:
        s = self.s
        current = s.get("escalation") or {}
        if s["status"] in ("waiting", "with_staff") and current.get("priority", 9) <= priority:
            priority, reason = current["priority"], current["reason"]
        if reason == "distress":
            self.say(self.cat.prompt("distress"))
            self.flags["emergency"] = True
        if s["status"] != "with_staff":
            s["status"] = "waiting"
        s["escalation"] = {
            "reason": reason, "priority": priority, "since_turn": s["turns"],
            "summary": {"procedure": s["procedure"], "step": s["step"],
                        "slots": dict(s["slots"]), "misses": s["misses"]},
        }
        s["pending"] = None
        self.say(self.cat.prompt("handoff_waiting"))
        self.flags["handed_off"] = True
        self.rendered = True

    def miss(self, noinput: bool = False, message: str | None = None, **extra: Any) -> None:
        s = self.s
        s["misses"] += 1
        n = s["misses"]
        if n >= MISSES_HAND_OFF:
            return self.escalate("misses", PRIORITY_MISSES)
        self.tags.append("noinput" if noinput else "reprompt")
        if n >= MISSES_OFFER_PERSON:
            self.say(self.cat.prompt("miss_offer_person"))
            self.tags.append("offer_person")
        else:
            self.say(self.cat.prompt("noinput") if noinput else self.cat.prompt("miss"))
        if message:
            self.say(message, **extra)
        elif n >= 2:
            self.say(self.hint())
        return None

    def hint(self) -> str:
        step = self.step()
        pending = self.s["pending"]
        if pending and pending.get("kind") in ("confirm", "consent", "want_stop"):
            return self.cat.prompt("hint_yes_no")
        if step is None or step.kind != "question":
            return self.cat.prompt("hint_choice")
        if step.hint:
            return step.hint
        return self.cat.prompt(f"hint_{step.type}")

    # -- positions ---------------------------------------------------------------------------

    def on_answer(self, text: str, key: str | None, chosen: str | None) -> None:
        s = self.s
        pending = s["pending"] or {}
        kind = pending.get("kind")
        if kind == "resume":
            value = self.pick(self.current_options(), text, key, chosen)
            if value is None:
                return self.miss()
            s["misses"] = 0
            if value == "carry_on":
                s["pending"] = pending.get("previous")
                return None
            return self.on_command("restart", text)
        if kind in ("consent", "confirm"):
            yes = self.yes_no(text, key, chosen)
            if yes is None and kind == "confirm" and text:
                # not yes or no but the answer itself, given again ("七十八" after "about 70?")
                value, _ = self.parse(self.step(), text, None, chosen)
                if value is not None:
                    s["pending"] = None
                    return self.take(self.step(), value)
            if yes is None:
                return self.miss()
            s["pending"], s["misses"] = None, 0
            if kind == "consent":
                if yes:
                    s["consent"] = sorted(set(s["consent"] or []) | {s["procedure"]})
                    return self.enter(s["step"])
                self.say(self.cat.prompt("consent_declined"))
                s.update(procedure=None, step=None, history=[])
                return None
            if yes:
                return self.commit(self.step(), pending["value"])
            self.say(self.cat.prompt("confirm_again"))
            return None
        if kind == "ended":
            return self.on_anything_else(text, key, chosen)
        if kind == "want_stop":
            yes = self.yes_no(text, key, chosen)
            s["pending"], s["misses"] = None, 0
            if yes:
                return self.close()
            if yes is None and text:
                return self.on_answer(text, key, chosen)    # the question answered instead
            return None                                     # no: the question again
        if s["procedure"] is None:
            return self.on_menu(text, key, chosen)
        step = self.step()
        if step.kind == "info":
            return self.enter(step.next)
        if step.kind == "review":
            return self.on_review(step, text, key, chosen)
        return self.on_question(step, text, key, chosen)

    def on_anything_else(self, text: str, key: str | None, chosen: str | None) -> None:
        """After an end: "Is there anything else?" Yes (or a new request) goes on; no ends."""
        s = self.s
        value = self.pick(self.current_options(), text, key, chosen)
        if value is None and text and not key:
            yes = u.parse_yes_no(text)
            value = None if yes is None else ("yes" if yes else "no")
        if value == "no":
            return self.close()
        if value == "person":
            return self.escalate("asked", PRIORITY_ASKED)
        s["pending"], s["misses"] = None, 0
        if value == "yes":
            return None                       # the menu
        if text and not key:
            return self.on_menu(text, None, None)   # a new request, said at once
        return self.miss()

    def on_review(self, step: Step, text: str, key: str | None, chosen: str | None) -> None:
        s = self.s
        value = self.pick(self.current_options(), text, key, chosen)
        if value is None and text and not key:
            yes = u.parse_yes_no(text)
            value = "ok" if yes else None
        if value is None:
            return self.miss()
        s["misses"] = 0
        if value == "ok":
            s.pop("changing", None)
            return self.enter(step.next)
        slot = value.split(":", 1)[1]
        question = next(q for q in self.proc().steps.values()
                        if q.kind == "question" and q.slot == slot)
        old = {}
        for name in (slot, *self._sources_of(question)):
            if name in s["slots"]:
                old[name] = s["slots"].pop(name)
        # kept until the review is reached again, so that "back" puts the answer back
        s["changing"] = {"review": step.id, "old": old}
        return self.enter(question.id)

    def _sources_of(self, question: Step) -> list[str]:
        """Slots a changed answer makes stale: the appointment times found for an office are
        found again when the office changes, and the time chosen among them asked again."""
        out = []
        for q in self.proc().steps.values():
            if q.kind == "question" and q.type == "appointment":
                finder = next((a for a in self.proc().steps.values()
                               if a.kind == "action" and a.save == q.source), None)
                reads = {m.group(1) for v in (finder.args.values() if finder else ())
                         if isinstance(v, str) for m in PLACEHOLDER_RE.finditer(v)}
                if question.slot in reads:
                    out += [q.source, q.slot]
        return out

    def yes_no(self, text: str, key: str | None, chosen: str | None,
               options: list[Option] | None = None) -> bool | None:
        if chosen in ("yes", "no"):
            return chosen == "yes"
        if key in ("1", "2"):
            return key == "1"
        if not text:
            return None
        # the echo answers shown as the options (有 / 冇, 想 / 唔想, 有 / 未) are answers here,
        # said alone or with a final particle (想呀, 未呀), which the generic words do not cover
        said = u.strip_punct(text).rstrip("呀啊喇啦囉吖㗎嘅")
        options = options if options is not None else self.current_options()
        for option in options:
            if option.value in ("yes", "no") and said in {
                    u.strip_punct(p) for p in (option.label, *option.phrases)}:
                return option.value == "yes"
        # the echo with the question's own words: 冇問題 to 你有冇問題想問？ is "no questions",
        # not "no problem"
        step = self.step()
        question = u.strip_punct(self.fill(self.t(step.ask))) if (
            step is not None and step.kind == "question" and step.type == "yes_no"
            and step.ask and not self.s["pending"]) else ""
        if question and said.isascii():
            echoed = u.echoes_question(said, question)
            if echoed is not None:
                return echoed
        said = said.replace(" ", "")
        for option in options:
            for word in {u.strip_punct(p) for p in (option.label, *option.phrases)}:
                if (option.value in ("yes", "no") and u.has_chinese(word) and question
                        and said.startswith(word) and len(said) > len(word) + 1
                        and said[len(word):len(word) + 2] in question.replace(" ", "")):
                    return option.value == "yes"
        return u.parse_yes_no(text)

    def pick(self, options: list[Option], text: str, key: str | None,
             chosen: str | None) -> str | None:
        if chosen is not None:
            return chosen if any(o.value == chosen for o in options) else None
        if key is not None:
            return next((o.value for o in options if o.key == key), None)
        choices = [(o.value, [o.label, *o.phrases]) for o in options]
        value = u.match_choice(text, choices)
        if value is None and text and u.says_unsure(text) and not any(
                u.match_choice(text, [c]) for c in choices):
            # "dunno" where one of the options is itself "not sure" (and no other is named)
            unsure = [o.value for o in options if any(u.says_unsure(p) for p in o.phrases)]
            return unsure[0] if len(unsure) == 1 else None
        if value is None:
            # by its place in the list: "the second one", 第三個, "the last one"
            place = u.ordinal_choice(text)
            listed = [o for o in options if o.value != "person"]
            if place == -1 and listed:
                return listed[-1].value
            value = next((o.value for o in options if place and o.key == str(place)), None)
        return value

    def on_menu(self, text: str, key: str | None, chosen: str | None) -> None:
        s = self.s
        if chosen in self.cat.procedures:
            # a kiosk may show every procedure at once, not only the menu's groups
            return self.start_procedure(chosen)
        options = self.current_options()
        if key is not None or chosen is not None:
            value = self.pick(options, text, key, chosen)
        elif self.answers_exactly(text, None):
            value = self.pick(options, text, None, None)
        else:
            # free text: the request itself first ("old age living allowance" means that
            # procedure, not the "Allowances" group), the menu's own words only after
            value = self.route(text)
            if value is None:
                return None
        if value == "person":
            return self.escalate("asked", PRIORITY_ASKED)
        if value == "none":
            s["pending"] = None
            return None
        if value and value.startswith("group:"):
            group = self.cat.menu[int(value.split(":")[1])]
            if len(group.procedures) == 1:
                return self.start_procedure(group.procedures[0])
            s["pending"] = {"kind": "menu_group", "group": int(value.split(":")[1])}
            s["misses"] = 0
            return None
        if value:
            return self.start_procedure(value)
        return self.miss()

    def route(self, text: str) -> str | None:
        """Free text at the menu. Returns a menu option's value to act on, or None when the
        reply is already decided (candidates offered, or nothing here for that request)."""
        s = self.s
        if self.locale == "en" and u.has_chinese(text) and "zh-HK" in self.cat.locales:
            s["locale"] = "zh-HK"
        result = router_for(self.cat).route(text)
        if result.decision == "start":
            return result.top
        if result.decision == "candidates":
            s["pending"] = {"kind": "candidates", "ids": [pid for pid, _ in result.ranked[:3]]}
            s["misses"] = 0
            return None
        value = self.pick(self.current_options(), text, None, None)
        if value:
            return value
        s["pending"] = None
        s["misses"] += 1
        self.say(self.cat.prompt("not_understood_menu"))
        self.tags.append("offer_person")
        if s["misses"] >= MISSES_HAND_OFF:
            self.escalate("misses", PRIORITY_MISSES)
        return None

    def start_procedure(self, pid: str) -> None:
        s = self.s
        keep = set(self.cat.shared_slots)
        s["slots"] = {k: v for k, v in s["slots"].items() if k in keep}
        s.update(procedure=pid, step=None, history=[], pending=None, misses=0, reference=None)
        self.enter(self.cat.procedures[pid].start)

    def on_question(self, step: Step, text: str, key: str | None, chosen: str | None) -> None:
        if step.type == "appointment" and chosen == MORE_TIMES:
            return self.more_times(step)
        value, problem = self.parse(step, text, key, chosen)
        if value is None and problem is None and text and key is None and (
                step.type in ("number", "date", "choice") and u.offers_alternatives(text)):
            problem = (self.cat.prompt("one_answer"), {})      # say what was unclear
        if value is None:
            return self.miss(message=problem[0] if problem else None,
                             **(problem[1] if problem else {}))
        return self.take(step, value)

    def take(self, step: Step, value: Any) -> None:
        """An answer understood: read back when it must be (the step says so, it was heard
        badly, or it was only rough: 七十幾, "about 70"), else kept."""
        heard_badly = self.confidence is not None and self.confidence < LOW_CONFIDENCE
        if isinstance(value, Rough):
            self.s["pending"] = {"kind": "confirm", "value": value.value, "rough": True}
            self.s["misses"] = 0
            return None
        if step.confirm or heard_badly:
            self.s["pending"] = {"kind": "confirm", "value": value}
            self.s["misses"] = 0
            return None
        return self.commit(step, value)

    def more_times(self, step: Step) -> None:
        """The times after the last one offered: the search that found them, run again with
        ``after``. When there are none, the same times are offered again, tagged
        "no_more_times"."""
        shown = self._appointment_times(step)
        finder = next((a for a in self.proc().steps.values()
                       if a.kind == "action" and a.save == step.source), None)
        if finder is None or not shown:
            return self.miss()
        self.s["pending"] = {"kind": "action", "step": finder.id, "more": True}
        self.action = ActionRequest(finder.service,
                                    {**self.args(finder.args), "after": shown[-1]["starts_at"]})
        self.rendered = True
        return None

    def parse(self, step: Step, text: str, key: str | None,
              chosen: str | None) -> tuple[Any, tuple[str, dict] | None]:
        qtype = step.type
        if qtype in ("choice", "appointment"):
            options = self.options_of(step)
            if qtype == "choice" and key is None and chosen is None and u.splits_answer(text):
                return None, (self.cat.prompt("one_answer"), {})
            if qtype == "choice" and key is None and chosen is None and text:
                place = match_place(text, [(o.value, [o.label, *o.phrases]) for o in options])
                if place is not None:
                    if place.value is None:
                        return None, (self.cat.prompt("place_not_offered"),
                                      {"place": DISTRICTS[place.district].name(self.locale)})
                    return place.value, None
            value = self.pick(options, text, key, chosen)
            if value is None and qtype == "choice" and key is None and chosen is None and text:
                # a city or a country for a question of where: 東莞, Canada
                value = match_region(text, [(o.value, [o.label, *o.phrases]) for o in options])
            if value is not None and qtype == "appointment":
                value = next(dict(x) for x in self._appointment_times(step) if x["id"] == value)
            return value, None
        if qtype == "yes_no":
            return self.yes_no(text, key, chosen, self.options_of(step)), None
        if chosen is not None:
            text = u.normalise(chosen)
        context = self.context_of(step)
        if qtype == "number":
            found = u.read_number(text, context)
            if found is None:
                return None, None
            n = found.value
            if (step.min is not None and n < step.min) or (step.max is not None and n > step.max):
                return None, (self.cat.prompt("number_range"),
                              {"min": int(step.min or 0), "max": int(step.max or 0)})
            return (Rough(n) if found.approximate else n), None
        if qtype == "date":
            d = u.parse_date(text, self.today, context)
            return (d.isoformat() if d else None), None
        if qtype == "hkid":
            value = u.parse_hkid(text)
            if value is None and u.hkid_problem(text) == "check_digit":
                return None, (self.cat.prompt("hint_hkid_check"), {})
            return value, None
        if qtype == "phone":
            return u.parse_hk_phone(text), None
        if qtype == "text":
            # kept as written (case, full-width forms), only without control characters and
            # runs of spaces: staff read it, and a reference like "KF0000422" stays legible
            written = " ".join(_CONTROL.sub(" ", self.written).split()) or text
            return (written[:MAX_TEXT_SLOT] if written.strip() else None), None
        return None, None

    def commit(self, step: Step, value: Any) -> None:
        s = self.s
        s["slots"][step.slot] = value
        s["misses"] = 0
        nxt = self.next_of(step, value)
        if s.get("changing"):
            nxt = self._back_to_review(nxt)
        self.enter(nxt)

    def _back_to_review(self, sid: str) -> str:
        """After an answer is changed at the review: the review again, unless the new answer
        leads to a question not yet answered or a service to call, where the walk stops."""
        s, proc = self.s, self.proc()
        for _ in range(len(proc.steps) + 1):
            step = proc.steps[sid]
            if step.kind == "review":
                return sid
            if step.kind == "info":
                sid = step.next
            elif step.kind == "branch":
                sid = next((target for cond, target in step.cases
                            if cond.holds(s["slots"], self.cat.facts)), step.otherwise)
            elif step.kind == "question" and s["slots"].get(step.slot) is not None:
                sid = self.next_of(step, s["slots"][step.slot])
            else:
                return sid
        return sid

    def next_of(self, step: Step, value: Any) -> str:
        if step.type == "choice":
            for o in step.options:
                if o.value == value and o.next:
                    return o.next
        for cond, target in step.cases:
            if cond.holds(self.s["slots"], self.cat.facts):
                return target
        return step.next

    def enter(self, sid: str) -> None:
        """Walk from step ``sid`` through steps that need no input, to one that does."""
        s, proc = self.s, self.proc()
        for _ in range(len(proc.steps) + 1):
            step = proc.steps[sid]
            s["step"], s["misses"] = sid, 0
            if step.kind == "info":
                self._note(sid)
                if step.wait:
                    self._visit(sid)      # its text is the prompt: see render_position
                    return None
                self.say(step.say)
                sid = step.next
            elif step.kind == "review":
                self._visit(sid)
                s.pop("changing", None)
                return None
            elif step.kind == "question":
                if s["slots"].get(step.slot) is not None:
                    sid = self.next_of(step, s["slots"][step.slot])
                    continue
                if step.personal and proc.personal_data and proc.id not in (s["consent"] or []):
                    s["pending"] = {"kind": "consent"}
                    return None
                self._visit(sid)
                if step.say:
                    self.say(step.say)
                return None
            elif step.kind == "branch":
                sid = next((target for cond, target in step.cases
                            if cond.holds(s["slots"], self.cat.facts)), step.otherwise)
            elif step.kind == "action":
                if step.say:
                    self.say(step.say)
                s["pending"] = {"kind": "action", "step": sid}
                self.action = ActionRequest(step.service, self.args(step.args))
                self.rendered = True
                return None
            elif step.kind == "handoff":
                self.say(step.say)
                return self.escalate(step.reason, step.priority)
            elif step.kind == "end":
                return self.finish(step)
        raise RuntimeError(f"{proc.id}: steps loop without asking anything (at {sid})")

    def step_kind(self, sid: str) -> str:
        return self.proc().steps[sid].kind

    def _note(self, sid: str) -> None:
        """Remember an info step that lists what to bring: the end says the list again."""
        step = self.proc().steps[sid]
        if step.bring or step.fee:
            noted = self.s.setdefault("noted", [])
            if sid not in noted:
                noted.append(sid)

    def _visit(self, sid: str) -> None:
        history = self.s["history"]
        if sid in history and not (self.s.get("changing") and self.step_kind(sid) != "review"):
            # back at a step met before (a time taken while choosing, a change at the review):
            # the path since then is undone, so "back" and the review follow the path as it is
            del history[history.index(sid) + 1:]
        else:
            history.append(sid)

    def args(self, raw: dict) -> dict:
        out = {}
        for name, value in raw.items():
            if isinstance(value, str):
                m = re.fullmatch(r"\{([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?\}", value)
                if m:
                    v = self.s["slots"].get(m.group(1))
                    if isinstance(v, dict):
                        v = v.get(m.group(2) or "id", v.get("reference"))
                    out[name] = v
                    continue
            out[name] = value
        return out

    def on_action_result(self, result: ActionResult) -> None:
        s = self.s
        pending = s["pending"] or {}
        if pending.get("kind") != "action":
            return None
        s["pending"] = None
        step = self.proc().steps[pending["step"]]
        if pending.get("end"):
            if result.ok:
                s["reference"] = result.data["reference"]
                return self.finish(step)
            self.say(self.cat.prompt("action_failed"))
            return self.escalate("service_failed", PRIORITY_ASKED)
        if pending.get("more") and not result.ok:
            self.tags.append("no_more_times")     # the times already offered, again
            return None
        if result.ok:
            if step.save:
                s["slots"][step.save] = result.data
            return self.enter(step.next)
        if step.on_failure:
            # what the failed call was given must be asked again (a time just taken, a
            # reference not found), except what the citizen shares across procedures
            keep = set(self.cat.shared_slots)
            for value in step.args.values():
                m = isinstance(value, str) and PLACEHOLDER_RE.fullmatch(value)
                if m and m.group(1) not in keep:
                    s["slots"].pop(m.group(1), None)
            return self.enter(step.on_failure)
        self.say(self.cat.prompt("action_failed"))
        return self.escalate("service_failed", PRIORITY_ASKED)

    def finish(self, step: Step) -> None:
        """The end: the reference first (only where something was booked, reported or applied
        for), then what to do next (bring, where, when), the end's words, the answers given."""
        s = self.s
        found = [v["reference"] for v in s["slots"].values()
                 if isinstance(v, dict) and v.get("reference")]
        s["reference"] = found[-1] if found else None
        if s["reference"]:
            self.say(self.cat.prompt("reference"))
            self.spell.append(s["reference"])
        self.say(step.say)
        self.before_end = len(self.parts)
        self.next_steps = self.gather_next_steps(step)
        if self.next_steps:
            self.parts.append("\n".join([self.next_steps.heading, *(
                text for _, text in self.next_steps.lines())]))
        self.summary = self.make_summary(self.t(self.cat.prompt("summary_heading")),
                                         [n for n in step.summary if s["slots"].get(n) is not None])
        if self.summary.items:
            line = self.t(self.cat.prompt("summary_line"))
            self.parts.append("\n".join([self.summary.heading, *(
                line.format(label=i.label, value=i.value) for i in self.summary.items)]))
        self.flags["ended"] = True
        keep = set(self.cat.shared_slots)
        s["slots"] = {k: v for k, v in s["slots"].items() if k in keep}
        s.update(procedure=None, step=None, history=[], pending={"kind": "ended"}, misses=0,
                 noted=[])
        s.pop("changing", None)

    def make_summary(self, heading: str, names: list[str], change: bool = False) -> Summary:
        labels = self.proc().slot_labels()
        items = []
        for name in names:
            value = self.display(name, self.s["slots"][name])
            question = self._question_for(name)
            qtype = question.type if question is not None else None
            if qtype == "hkid":
                value = mask_hkid(value)
            spelled = qtype in SPELLED_TYPES
            personal = spelled or (question is not None and (question.personal or qtype == "text"))
            if spelled:
                self.spell.append(value)
            elif personal:
                self.private.append(value)
            items.append(SummaryItem(name, self.t(labels.get(name, name)), value, personal,
                                     spelled, f"change:{name}" if change else None))
        return Summary(heading, tuple(items))

    def gather_next_steps(self, step: Step) -> NextSteps:
        """What to bring (from the info steps passed on the way, then the end's own list),
        where, when, the fee and whom to call, filled and translated."""
        proc, s = self.proc(), self.s
        bring: list[str] = []
        fee = step.fee
        for sid in s.get("noted") or []:
            if sid in proc.steps:
                bring += [self.fill(self.t(b)) for b in proc.steps[sid].bring]
                fee = fee or proc.steps[sid].fee
        bring += [self.fill(self.t(b)) for b in step.bring]
        where = hours = ""
        if step.where:
            m = PLACEHOLDER_RE.fullmatch(step.where)
            office = self._office_of(m.group(1)) if m else None
            if office is not None:
                where = self.fill(self.t(self.cat.prompt("where_line")), {
                    "place": f"{self.t(office['name'])}, {self.t(office['address'])}"})
                hours = self.fill(self.t(self.cat.prompt("hours_line")),
                                  {"hours": self.t(office["hours"])})
            else:
                where = self.fill(self.t(self.cat.prompt("where_line")),
                                  {"place": self.fill(self.t(step.where))})
        if step.hours:
            hours = self.fill(self.t(self.cat.prompt("hours_line")),
                              {"hours": self.fill(self.t(step.hours))})
        line = self.t(self.cat.prompt("bring_line"))

        def said(key: str, text) -> str:
            return self.fill(self.t(self.cat.prompt(key)), {key.split("_")[0]: self.fill(
                self.t(text))}) if text else ""

        return NextSteps(
            heading=self.t(self.cat.prompt("next_steps_heading")),
            bring=tuple(line.format(item=b) for b in dict.fromkeys(bring)),
            where=where, hours=hours, when=said("when_line", step.when),
            fee=said("fee_line", fee), call=said("call_line", step.call))

    def _office_of(self, name: str) -> dict | None:
        offices = self.cat.facts_info.get("offices", {})
        raw = self.s["slots"].get(name)
        if isinstance(raw, dict):
            raw = raw.get("office")
        if isinstance(raw, str) and raw in offices:
            return offices[raw]
        return offices.get(name) if isinstance(self.cat.facts.get(name), str) else None

    # -- rendering ---------------------------------------------------------------------------

    def current_options(self) -> list[Option]:
        s = self.s
        pending = s["pending"] or {}
        kind = pending.get("kind")
        if self.asked is not None and not kind:
            return self.options_of(self.asked)
        person = Option("0", "person", self.t(self.cat.prompt("person")),
                        self._phrases_of_command("person"))
        if kind in ("consent", "confirm", "want_stop"):
            return self.yes_no_options(self.cat.prompt(kind))
        if kind == "ended":
            return self.yes_no_options(self.cat.prompt("ended_next"), (
                self.cat.prompt("something_else"), self.cat.prompt("thats_all"))) + [person]
        if kind == "resume":
            return [Option("1", "carry_on", self.t(self.cat.prompt("carry_on")),
                           self._phrases_of_command("carry_on")),
                    Option("2", "start_again", self.t(self.cat.prompt("start_again")),
                           self._phrases_of_command("restart"))]
        if kind == "candidates":
            opts = [self.procedure_option(str(i + 1), pid) for i, pid in enumerate(pending["ids"])]
            return opts + [Option(str(len(opts) + 1), "none", self.t(
                self.cat.prompt("none_of_these"))), person]
        if kind == "menu_group":
            group = self.cat.menu[pending["group"]]
            return [self.procedure_option(str(i + 1), pid)
                    for i, pid in enumerate(group.procedures)] + [person]
        if s["procedure"] is None:
            return [Option(str(i + 1), f"group:{i}", self.t(g.label))
                    for i, g in enumerate(self.cat.menu)] + [person]
        step = self.step()
        if step is None:
            return []
        if step.kind == "info":
            return [Option("1", "next", self.t(self.cat.prompt("next")))]
        if step.kind == "review":
            labels = self.proc().slot_labels()
            change = self.t(self.cat.prompt("review_change"))
            return [Option("1", "ok", self.t(self.cat.prompt("review_ok")),
                           self._phrases_of_command("carry_on"))] + [
                Option(str(i + 2), f"change:{name}",
                       self.fill(change, {"label": self.t(labels.get(name, name))}))
                for i, name in enumerate(self.review_slots(step))]
        return self.options_of(step)

    def options_of(self, step: Step) -> list[Option]:
        """The options of a question step (whether or not it is the current one)."""
        if step.type == "yes_no":
            return self.yes_no_options(step.ask)
        if step.type == "choice":
            # every language's words count: people mix them ("揀紅色 please")
            return [Option(str(i + 1), o.value, self.t(o.label), tuple(dict.fromkeys(
                        [*o.phrases.get(self.locale, ()), o.label,
                         *(p for phrases in o.phrases.values() for p in phrases)])))
                    for i, o in enumerate(step.options)]
        if step.type == "appointment":
            return [Option(str(i + 1), x["id"], format_when(
                datetime.fromisoformat(x["starts_at"]), self.locale))
                    for i, x in enumerate(self._appointment_times(step))]
        return []

    def context_of(self, step: Step) -> str | None:
        """What a number or a date is for, which decides how it is read: an age, an amount of
        money (where having none is 0), a birth date (in the past) or an appointment (not)."""
        if self.context:
            return self.context
        slot, label = step.slot or "", step.label or ""
        if step.type == "number":
            if slot == "age" or slot.endswith("_age") or "age" in label.lower().split():
                return "age"
            if "$" in label or slot in MONEY_SLOTS:
                return "money"
        if step.type == "date":
            if "birth" in slot or "born" in slot:
                return "birth_date"
            if any(w in slot for w in ("appointment", "visit", "booking")):
                return "appointment"
        return None

    def _appointment_times(self, step: Step) -> list[dict]:
        saved = self.s["slots"].get(step.source) or {}
        return list(saved.get("slots") or [])[:5]

    def _phrases_of_command(self, name: str) -> tuple[str, ...]:
        return tuple(self.cat.commands.get(name, {}).get(self.locale, ()))

    def yes_no_options(self, question: str | None = None,
                       labels: tuple[str, str] | None = None) -> list[Option]:
        """Yes (1) and no (2), labelled the way people answer the question: in Cantonese the
        echo of its verb (有冇 -> 有 / 冇, 想唔想 -> 想 / 唔想, ...), in English Yes and No."""
        yes_label, no_label = (self.t(labels[0]), self.t(labels[1])) if labels else (
            self.t(self.cat.prompt("yes")), self.t(self.cat.prompt("no")))
        echo = echo_answers(self.fill(self.t(question))) if (
            question and self.locale != "en") else None
        yes_words, no_words = _YES_NO_GRAMMAR.get(self.locale, ("yes", "no"))[:2], ()
        if echo:
            if not labels:
                yes_label, no_label = echo
            yes_words, no_words = (echo[0], *yes_words[:1]), (echo[1],)
        else:
            yes_words, no_words = yes_words[:1], yes_words[1:2]
        return [Option("1", "yes", yes_label, tuple(dict.fromkeys((*yes_words, "yes")))),
                Option("2", "no", no_label, tuple(dict.fromkeys((*no_words, "no"))))]

    def review_slots(self, step: Step) -> list[str]:
        """The answers a review lists: every question asked in this procedure, in the order
        asked, that has an answer (appointment times found by a service are not answers)."""
        proc, s = self.proc(), self.s
        names = []
        for sid in s["history"]:
            q = proc.steps.get(sid)
            if q is not None and q.kind == "question" and s["slots"].get(q.slot) is not None:
                names.append(q.slot)
        return list(dict.fromkeys(names))

    def procedure_option(self, key: str, pid: str) -> Option:
        proc = self.cat.procedures[pid]
        return Option(key, pid, self.t(proc.title), tuple(proc.synonyms.get(self.locale, ())[:3]))

    def render_position(self) -> None:
        s = self.s
        pending = s["pending"] or {}
        kind = pending.get("kind")
        step = self.step()
        self.options = self.current_options()
        expect_kind = "choice"
        if kind == "consent":
            proc = self.proc()
            self.prompt = self.fill(self.t(self.cat.prompt("consent")), {
                "what": self.t(proc.personal_data["what"]),
                "why": self.t(proc.personal_data["why"]),
                # the period this procedure's data is kept, as ``assistant.retention`` keeps it
                "retention_days": str(self.cat.retention_for(proc.id))})
            expect_kind = "yes_no"
        elif kind == "confirm":
            value = self.display(step.slot, pending["value"])
            self.prompt = self.fill(self.t(self.cat.prompt(
                "confirm_rough" if pending.get("rough") else "confirm")), {"value": value})
            expect_kind = "yes_no"
            self.tags.append("confirm")
            if step.type in SPELLED_TYPES:
                self.spell.append(value)
            elif step.personal or step.type == "text":
                self.private.append(value)
        elif kind == "want_stop":
            self.prompt = self.t(self.cat.prompt("want_stop"))
            expect_kind = "yes_no"
        elif kind == "resume":
            self.prompt = self.t(self.cat.prompt("resume_choice"))
        elif kind == "candidates":
            self.prompt = self.t(self.cat.prompt("candidates"))
        elif kind == "menu_group":
            self.prompt = self.t(self.cat.prompt("menu_group"))
        elif kind == "ended":
            self.prompt = self.t(self.cat.prompt("ended_next"))
            self.tags.append("anything_else")
        elif s["procedure"] is None:
            self.prompt = self.t(self.cat.prompt("menu"))
        elif step is not None and step.kind == "question":
            self.prompt = self.fill(self.t(step.ask))
            expect_kind = {"appointment": "choice"}.get(step.type, step.type)
        elif step is not None and step.kind == "info":
            self.prompt = self.fill(self.t(step.say))
        elif step is not None and step.kind == "review":
            names = self.review_slots(step)
            self.summary = self.make_summary(self.t(step.say or self.cat.prompt("review")),
                                             names, change=True)
            self.before_end = len(self.parts)
            line = self.t(self.cat.prompt("summary_line"))
            self.parts.append("\n".join([self.summary.heading, *(
                line.format(label=i.label, value=i.value) for i in self.summary.items)]))
            self.prompt = self.t(self.cat.prompt("review_question"))
            self.tags.append("review")
        if self.prompt:
            self.parts.append(self.prompt)
        grammar = [p for o in self.options for p in (o.label, *o.phrases)]
        if expect_kind == "yes_no":
            grammar += list(_YES_NO_GRAMMAR.get(self.locale, ()))
        if kind == "ended":
            expect_kind = "yes_no"
        for name in self.cat.commands:
            grammar += self._phrases_of_command(name)[:3]
        digits = [o.key for o in self.options] + list(self.cat.keys.values())
        self.expect = Expect(expect_kind, tuple(o.value for o in self.options),
                             tuple(dict.fromkeys(grammar)), tuple(dict.fromkeys(digits)))

    def reply(self) -> Reply:
        if not self.rendered:
            self.render_position()
        s = self.s
        cut = self.before_end if self.before_end is not None else len(self.parts)
        before = [p for p in self.parts[:cut] if p and p != self.prompt]
        return Reply(
            before=tuple(before),
            summary=self.summary,
            next_steps=self.next_steps or None,
            closed=self.flags.get("closed", False),
            parts=tuple(p for p in self.parts if p),
            options=tuple(self.options),
            expect=self.expect,
            prompt=self.prompt,
            ended=self.flags.get("ended", False),
            handed_off=self.flags.get("handed_off", False) or s["status"] in ("waiting",
                                                                               "with_staff"),
            silent=self.flags.get("silent", False),
            emergency=self.flags.get("emergency", False),
            locale=self.locale,
            procedure=s["procedure"],
            step=s["step"],
            reference=s.get("reference"),
            action=self.action,
            tags=tuple(self.tags),
            progress=self.progress(),
            spell=tuple(dict.fromkeys(v for v in self.spell if v)),
            private=tuple(dict.fromkeys(v for v in self.private if v)),
        )

    def progress(self) -> tuple[int, int] | None:
        s, step = self.s, self.step()
        if s["status"] != "bot" or step is None or step.kind != "question":
            return None
        if (s["pending"] or {}).get("kind") not in (None, "confirm"):
            return None
        proc = self.proc()
        asked = sum(1 for sid in s["history"]
                    if sid in proc.steps and proc.steps[sid].kind == "question")
        asked = max(asked, 1)
        return asked, asked - 1 + questions_ahead(self.cat)[proc.id][step.id]


#: the kinds of answer ``understand_answer`` reads, as ``kaifong eval-answers`` names them
ANSWER_KINDS = ("yes_no", "number", "date", "hkid", "phone", "choice")
#: a step's type as the kind of answer it reads (an appointment time is chosen like an option)
_KIND_OF_TYPE = {"appointment": "choice"}


def understand_answer(cat: Catalogue, kind: str, text: str, locale: str = "en", *,
                      procedure: str | None = None, step: str | None = None,
                      choices: list[str] | None = None, context: str | None = None,
                      today: date | None = None) -> Any:
    """What the engine would keep as the answer to a question, or None when it would not
    keep one at once (it asks again, reads a rough answer back, or acts on a command).

    The question is the real step ``step`` of ``procedure`` when given (its options, phrases
    and echo answers), else one of ``kind`` with ``choices`` as its options' labels. A choice's
    answer is the 0-based index of the option. The text goes through the same order as a turn:
    distress, an exact option, a person asked for, a yes or no, a command, then the answer."""
    s = new_state(locale)
    turn = _Turn(cat, s, today or date.today())
    turn.context = context
    real = cat.procedures[procedure].steps[step] if procedure and step else None
    if real is not None and _KIND_OF_TYPE.get(real.type, real.type) != kind:
        # a date named at the step that offers appointment times: read as a date, in the
        # step's context (an appointment is not in the past), not as one of the times offered
        turn.context = context or ("appointment" if real.type == "appointment" else None)
        real = None
    if real is not None:
        asked = real
        s.update(procedure=procedure, step=step, history=[step], consent=[procedure],
                 started=True)
    else:
        asked = Step(id="answer", kind="question", slot="answer", type=kind,
                     options=tuple(OptionDef(str(i), label) for i, label in enumerate(
                         choices or ())),
                     min=0 if context in ("money", "age") else None,
                     max=OLDEST if context == "age" else None)
        turn.asked = asked
    s["modality"] = "text"
    value = turn.understand(asked, Text(text))
    if value is None or isinstance(value, Rough):
        return None
    if asked.type == "choice":
        return next((i for i, o in enumerate(asked.options) if o.value == value), None)
    return value


@per_catalogue
def questions_by_slot(cat: Catalogue) -> dict[str, Step]:
    """Each slot's question in the first procedure (in catalogue order) that asks for it."""
    out: dict[str, Step] = {}
    for proc in cat.procedures.values():
        for slot, step in proc.questions.items():
            out.setdefault(slot, step)
    return out


class _QuestionsAhead(dict):
    """Procedure id -> its steps' questions ahead, each procedure worked out when first asked
    for: a process's first turn does not pay for the two hundred procedures it is not in."""

    def __init__(self, procedures: dict[str, Procedure]):
        super().__init__()
        # the procedures, not the catalogue: a value held for a catalogue must not keep it alive
        self.procedures = procedures

    def __missing__(self, pid: str) -> dict[str, int]:
        value = self[pid] = _questions_ahead(self.procedures[pid])
        return value


@per_catalogue
def questions_ahead(cat: Catalogue) -> dict[str, dict[str, int]]:
    """For every step of every procedure: the most questions a citizen can still be asked from
    it, itself included (a loop back, as an action's on_failure, counts once)."""
    return _QuestionsAhead(cat.procedures)


def _questions_ahead(proc: Procedure) -> dict[str, int]:
    memo: dict[str, int] = {}

    def ahead(sid: str, path: frozenset) -> int:
        if sid in memo:
            return memo[sid]
        step = proc.steps.get(sid)
        if step is None or sid in path:
            return 0
        best = max((ahead(t, path | {sid}) for t in step.targets()), default=0)
        memo[sid] = best + (step.kind == "question")
        return memo[sid]

    return {sid: ahead(sid, frozenset()) for sid in proc.steps}


def mask_hkid(value: str) -> str:
    """``A123456(3)`` -> ``A123***(*)``: enough for the citizen to recognise, not to misuse."""
    m = re.match(r"^([A-Z]{1,2}\d{3})\d{3}\((.)\)$", value)
    return f"{m.group(1)}***(*)" if m else "***"


#: Cantonese yes/no questions and how people answer them: the echo of the question's verb.
#: The first pattern found decides; 係唔係 is only one of them.
_ECHO_PATTERNS = (
    (re.compile(r"有冇"), ("有", "冇")),
    (re.compile(r"可唔可以"), ("可以", "唔可以")),
    (re.compile(r"係咪"), ("係", "唔係")),
    (re.compile(r"(.)唔\1"), None),          # A-not-A: 想唔想, 要唔要, 啱唔啱, 係唔係
    (re.compile(r"咗.{0,30}未[？?。]*$"), ("有", "未")),
)


def echo_answers(question: str) -> tuple[str, str] | None:
    """(yes, no) as a Cantonese speaker answers ``question``, or None when it has no yes/no
    pattern of its own. The question is the last sentence with such a pattern (earlier ones may
    say something else), and its first pattern is the main verb's (想唔想 in 你想唔想職員幫你查吓
    可唔可以免費打？)."""
    for sentence in reversed(re.split(r"(?<=[。！？?!])", question)):
        found = []
        for pattern, answers in _ECHO_PATTERNS:
            m = pattern.search(sentence)
            if m:
                found.append((m.start(), answers or (m.group(1), "唔" + m.group(1))))
        if found:
            return min(found, key=lambda f: f[0])[1]    # a tie: the first pattern listed
    return None


@dataclass(frozen=True)
class _Lexicon:
    """The catalogue's command and distress phrases, normalised once (not on every turn)."""

    commands: dict[str, frozenset[str]]
    fuzzy: dict[str, tuple[str, ...]]
    language: dict[str, frozenset[str]]
    distress_cjk: tuple[str, ...]
    distress_words: tuple[str, ...]


#: words that ask to change language without naming one: they switch to the other language
_LANGUAGE_ONLY = frozenset({"language", "change language", "語言", "轉語言"})


@per_catalogue
def lexicon(cat: Catalogue) -> _Lexicon:
    commands, fuzzy = {}, {}
    for name, by_locale in cat.commands.items():
        phrases = {u.strip_punct(p) or p for ps in by_locale.values() for p in ps}
        commands[name] = frozenset(phrases)
        fuzzy[name] = tuple(p for p in phrases if p.isascii() and len(p) >= 4)
    language = {locale: frozenset(u.strip_punct(p) for p in cat.commands.get(
        "language", {}).get(locale, ())) - _LANGUAGE_ONLY for locale in cat.locales}
    distress = [u.strip_punct(p) for ps in cat.distress.values() for p in ps]
    return _Lexicon(commands, fuzzy, language,
                    tuple(p.replace(" ", "") for p in distress if u.has_chinese(p)),
                    tuple(p for p in distress if not u.has_chinese(p)))
