"""The shapes that cross the core's boundary: inputs, replies and conversation state.

Every channel maps what it receives to one of the ``Input`` types and renders a ``Reply``;
the engine never learns which channel it talks to. State is a plain JSON-serialisable dict
(see ``new_state``) so that the store can keep it in one column and any process can resume it.

Nothing here does I/O.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------
# Inputs. Control signals are their own types, never fake text.


@dataclass(frozen=True)
class Text:
    """Something the citizen typed or said (already transcribed). ``confidence`` is a speech
    recogniser's, from 0 to 1 (None when typed): an answer heard with little confidence is read
    back for the citizen to confirm."""

    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class Digits:
    """Keys pressed on a keypad, e.g. ``"1"``, ``"0"``, ``"*"`` or ``"12345678#"``."""

    digits: str


@dataclass(frozen=True)
class Choose:
    """An option picked directly (a kiosk button): the option's ``value``."""

    value: str


@dataclass(frozen=True)
class NoInput:
    """The citizen said or typed nothing before the channel's timeout."""


@dataclass(frozen=True)
class Start:
    """A new session begins (a call is answered, a kiosk wakes up, ``kaifong chat`` starts)."""


@dataclass(frozen=True)
class HandBack:
    """Staff hand the conversation back to the assistant: where it was (``procedure`` None), or
    at the start of the procedure the member of staff picked."""

    note: str = ""
    procedure: str | None = None


@dataclass(frozen=True)
class ActionResult:
    """What a service called by an action step returned; fed back by the turn runner."""

    ok: bool
    data: Any = None


Input = Text | Digits | Choose | NoInput | Start | HandBack | ActionResult


# ---------------------------------------------------------------------------------------------
# Replies: what they mean, not how they look.

#: The kinds of input a reply can expect. Part of the ``kaifong chat --json`` contract.
EXPECT_KINDS = ("choice", "yes_no", "number", "date", "hkid", "phone", "text", "none")


@dataclass(frozen=True)
class Option:
    """One numbered choice. ``key`` is what the citizen types or presses to pick it."""

    key: str
    value: str
    label: str
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expect:
    """What input the reply waits for.

    ``grammar`` lists phrases a speech recogniser can use as a grammar; ``digits`` lists the keys
    that mean something here (option keys and the global ones).
    """

    kind: str = "none"
    choices: tuple[str, ...] = ()
    grammar: tuple[str, ...] = ()
    digits: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionRequest:
    """A service the turn runner must call (inside the turn's transaction) before replying."""

    service: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SummaryItem:
    """One answer in a summary: its label and value as people read them. ``personal`` values are
    never kept where the next citizen could meet them; ``spell`` ones are read one character at
    a time; ``change`` is the option value that changes this answer (a review), else None."""

    slot: str
    label: str
    value: str
    personal: bool = False
    spell: bool = False
    change: str | None = None


@dataclass(frozen=True)
class Summary:
    heading: str
    items: tuple[SummaryItem, ...] = ()


@dataclass(frozen=True)
class NextSteps:
    """What the citizen does next, said at the end: what to bring, where to go (an office's
    name and address, or a text), its opening hours, when (an appointment's time), the fee,
    and whom to call. Each is in the conversation's language; empty when it does not apply."""

    heading: str = ""
    bring: tuple[str, ...] = ()
    where: str = ""
    hours: str = ""
    when: str = ""
    fee: str = ""
    call: str = ""

    def lines(self) -> list[tuple[str, str]]:
        """(field, text) pairs in the order they are said, the bring list as one line each."""
        out = [("bring", b) for b in self.bring]
        out += [(name, getattr(self, name)) for name in ("when", "where", "hours", "fee", "call")
                if getattr(self, name)]
        return out

    def __bool__(self) -> bool:
        return bool(self.lines())


@dataclass(frozen=True)
class Reply:
    """One reply of the assistant, for any channel.

    ``parts`` are separate messages (paragraphs) in the conversation's language; ``prompt`` is the
    question the citizen must answer now (also among ``parts``, last), so a channel can re-speak
    it alone. ``ended`` means the procedure reached its end; ``handed_off`` that a person will take
    over (or has). ``silent`` means the assistant must say nothing (a person has the conversation).
    ``emergency`` asks the channel to make the emergency number prominent.

    Channels render from the fields, never by taking ``parts`` apart: ``before`` is what is said
    before the question, ``question`` (``prompt``) the question itself, ``summary`` the answers
    (at a review or at the end), ``next_steps`` what to bring, where and when (at the end), and
    ``options`` the choices. ``parts`` is the same reply as plain paragraphs in order, for
    transcripts and the simplest channels.
    """

    parts: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    expect: Expect = Expect()
    prompt: str = ""
    ended: bool = False
    handed_off: bool = False
    silent: bool = False
    emergency: bool = False
    locale: str = "en"
    procedure: str | None = None
    step: str | None = None
    reference: str | None = None
    action: ActionRequest | None = None
    #: hints for channels: "help", "repeat", "reprompt", "confirm", "consent", "review",
    #: "anything_else" (the question after an end, where "no" closes) and similar
    tags: tuple[str, ...] = ()
    #: (this question's number, the most questions this procedure can still ask, counting this
    #: one and those before it) while a procedure asks something; None elsewhere
    progress: tuple[int, int] | None = None
    #: values in ``parts`` to be spoken one character at a time (an identity card number or phone
    #: number read back, the reference): personal, or meant to be written down
    spell: tuple[str, ...] = ()
    #: other personal values in ``parts`` (an address or a description read back, in the
    #: summary): spoken whole, but never kept where the next citizen's words could find them
    private: tuple[str, ...] = ()
    #: what is said before the question (its paragraphs), without the summary and next steps
    before: tuple[str, ...] = ()
    summary: Summary | None = None
    next_steps: NextSteps | None = None
    #: the conversation is over (the citizen said that was all, or stopped): nothing more is
    #: asked, and a channel may end the call or session
    closed: bool = False

    @property
    def question(self) -> str:
        return self.prompt

    @property
    def text(self) -> str:
        """All parts joined as paragraphs (a plain rendering, without the options)."""
        return "\n\n".join(p for p in self.parts if p)


# ---------------------------------------------------------------------------------------------
# Conversation state.

STATUSES = ("bot", "waiting", "with_staff", "closed")
STATE_VERSION = 1


def new_state(locale: str = "en") -> dict:
    """A fresh conversation: at the main menu, talking to the assistant."""
    return {
        "v": STATE_VERSION,
        "locale": locale,
        "status": "bot",
        "procedure": None,
        "step": None,
        "slots": {},
        "history": [],
        "misses": 0,
        "pending": None,
        "consent": None,
        "reference": None,
        "escalation": None,
        "turns": 0,
        "started": False,
    }


def copy_state(state: dict) -> dict:
    return copy.deepcopy(state)
