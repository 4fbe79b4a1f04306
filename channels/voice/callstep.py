"""What one turn of a call does, as data: what to say, then whether and how to listen, put the
caller through, or hang up (``CallStep``). Built from a core ``Reply`` and the channel's own few
words. Pure: no I/O, no Twilio, no Flask.

The model does not assume a recogniser: ``Listen`` says what is expected (a menu key or an entry
ended by ``#``, the phrases a speech grammar may use, the language, the no-input timeout), and a
recogniser strategy (``channels.voice.recognisers``) turns it into Twilio's ``<Gather>`` today,
or into our own stream later. ``Speak`` pieces marked ``spell`` are personal values or
references, said one character at a time and never synthesised whole.

A question that wants free words ("text": where a problem is, what is wrong) can be answered in
words, or, for a caller who cannot or will not speak to a recogniser, by a voice message: "1"
and "#" there start ``record_step`` (``Record``: after the tone, up to a minute by default, ended
by ``#``), and the message answers the question (the call flow gives the core a fixed
placeholder; staff listen). It stays an entry ended by "#", not a one-key menu, because some
"text" questions take keys too (an appointment's reference, as its digits: "0000422#"); "1" alone
is no answer to any of them. A caller who presses 1 and waits gets the recording after the
no-input timeout.

Phone conventions (ISO/IEC 13714): 1 yes, 2 no, 0 a person, * back, # ends an entry; at most
five choices are read at once ("For more choices, press 9"); each is read as "For X, press N".
A review reads each answer with "To change it, press N", at most five keys at once. A re-prompt
(the core's "noinput" / "reprompt" tags) is brief: the core's words, the question and its keys
("Press 1 to 5", "Then press the hash key"), within the phone's 8 s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from assistant.model import Expect, NextSteps, Option, Reply, Summary, SummaryItem

from ..i18n import N_
from ..speech.cache import split_values

__all__ = [
    "ENTRY_KINDS",
    "MAX_OPTIONS",
    "MORE_KEY",
    "RECORD_KEY",
    "TEXTS",
    "CallStep",
    "Listen",
    "Record",
    "Speak",
    "Transfer",
    "language_step",
    "option_line",
    "option_pages",
    "page_count",
    "pieces",
    "record_step",
    "reply_from_dict",
    "reply_step",
    "reply_to_dict",
    "say_step",
    "spoken_key",
    "star_step",
    "wants_words",
]

Gettext = Callable[[str, str], str]

#: at most this many choices are read in one go (the key for more choices comes on top)
MAX_OPTIONS = 5
#: the key that reads the next choices, when there are more than ``MAX_OPTIONS``
MORE_KEY = "9"
#: how long after "*" the channel waits for a second key ("*2" repeats) before it means "back"
STAR_SECONDS = 3
#: expected kinds answered by keys ended with "#", rather than by one key
ENTRY_KINDS = ("number", "date", "hkid", "phone", "text")
#: at a question wanting free words ("text"), the entry that leaves a voice message instead
RECORD_KEY = "1"

LANGUAGE_ZH = N_("Kaifong. For Cantonese, press 1.")
LANGUAGE_EN = N_("Kaifong. For English, press 2.")
OPTION = N_("For {label}, press {key}.")
#: "a person" and "next" read as what they do ("For Talk to a person, press 0" would not)
PERSON = N_("To talk to a person, press 0.")
NEXT = N_("To go on, press {key}.")
MORE_OPTIONS = N_("For more choices, press {key}.")
FIRST_OPTIONS = N_("To hear the first choices again, press {key}.")
ENTRY_NUMBER = N_("Press the number on your keypad, then the hash key.")
ENTRY_PHONE = N_("Press the 8 digits, then the hash key.")
ENTRY_DATE = N_("Press the day and the month, 2 digits each, then the year in 4 digits, then the "
                "hash key.")
ENTRY_HKID = N_("You can say it, or press it. For a letter, press the key that shows it, then 1, "
                "2, 3 or 4 for its place on that key: for A press 2 then 1, for Z press 9 then 4. "
                "Then press the numbers, and the hash key.")
ENTRY_TEXT = N_("Please say it in a few words. To leave a message instead, press 1 and the hash "
                "key, speak after the tone, then press the hash key again.")
#: the same, where only the keypad listens: a voice message is the only way to give free words
ENTRY_TEXT_KEYS = N_("To answer, leave a message: press 1 and the hash key, speak after the tone, "
                     "then press the hash key again.")
#: what the key does, for ``kaifong chat --channel voice`` (not said: ENTRY_TEXT says it)
RECORD_LABEL = N_("Leave a voice message")
RECORD_NOW = N_("Please speak after the tone. When you have finished, press the hash key.")
#: where the caller is in a procedure, said before each question (a listener cannot glance at
#: a progress bar); the total is the most questions that can still come, hence "about"
PROGRESS = N_("Question {number} of about {total}.")
KEY_STAR = N_("star")
KEY_HASH = N_("hash")
#: a review: each answer ("{label}: {value}", the core's summary line) with the key that
#: changes it, then the key that says all is right
ANSWER = N_("{label}: {value}")
REVIEW_CHANGE = N_("To change it, press {key}.")
REVIEW_OK = N_("If everything is right, press {key}.")
MORE_ANSWERS = N_("For more of your answers, press {key}.")
FIRST_ANSWERS = N_("To hear your first answers again, press {key}.")
#: a re-prompt of a question with many choices: the keys, not every choice again
KEYS_RANGE = N_("Press 1 to {last}.")
#: a review asked again: its answers are not all read again, unless asked for
HEAR_AGAIN = N_("To hear your answers again, press star 2.")
#: an entry asked again: how to end it, not the whole explanation again
ENTRY_AGAIN = N_("Then press the hash key.")
ENTRY_TEXT_AGAIN = N_("Or, for a message, press 1 and the hash key.")
ENTRY_TEXT_KEYS_AGAIN = N_("For a message, press 1 and the hash key.")
#: "Anything else?" after an end: no (2) or the hash key ends the call
THATS_ALL = N_("If that is all, press 2 or the hash key.")
#: at the language menu, in each language: a person without choosing one
LANGUAGE_PERSON = N_("For a person, press 0.")
TEXTS = (LANGUAGE_ZH, LANGUAGE_EN, OPTION, PERSON, NEXT, MORE_OPTIONS, FIRST_OPTIONS,
         ENTRY_NUMBER, ENTRY_PHONE, ENTRY_DATE, ENTRY_HKID, ENTRY_TEXT, PROGRESS, KEY_STAR,
         KEY_HASH, RECORD_LABEL, RECORD_NOW, ENTRY_TEXT_KEYS, ANSWER, REVIEW_CHANGE, REVIEW_OK,
         MORE_ANSWERS, FIRST_ANSWERS, KEYS_RANGE, HEAR_AGAIN, THATS_ALL, LANGUAGE_PERSON, ENTRY_AGAIN,
         ENTRY_TEXT_AGAIN, ENTRY_TEXT_KEYS_AGAIN)
#: what a re-prompt may add to the question: each must fit the spoken budget on its own
#: (``kaifong validate``; the first explanations of an entry and the words of a transfer or a
#: goodbye are said once, not again and again, and are measured by the benchmark instead)
REPROMPT_TEXTS = (OPTION, PERSON, NEXT, KEYS_RANGE, HEAR_AGAIN, ENTRY_AGAIN, ENTRY_TEXT_AGAIN,
                  ENTRY_TEXT_KEYS_AGAIN, REVIEW_OK, THATS_ALL, PROGRESS)
#: a re-prompt reads its choices again when there are at most this many (yes and no)
BRIEF_CHOICES = 2


@dataclass(frozen=True)
class Speak:
    """Words to say in ``locale``; ``spell``: one character at a time (a personal value)."""

    text: str
    locale: str
    spell: bool = False
    #: the caller's own words read back (an address, a description): said whole, from audio
    #: made for this call only and never cached
    private: bool = False


@dataclass(frozen=True)
class Listen:
    """What the caller is expected to do next.

    ``kind``: the core's expected kind, or the channel's own ("language", "star", "offer").
    ``max_keys``: 1 for a menu (the first key answers); None for an entry, ended by ``end_key``.
    """

    kind: str
    locale: str
    keys: tuple[str, ...] = ()
    max_keys: int | None = 1
    end_key: str | None = None
    timeout: int = 10
    phrases: tuple[str, ...] = ()
    speech: bool = True


@dataclass(frozen=True)
class Transfer:
    """Put the caller through to ``number``, ringing for ``timeout`` seconds."""

    number: str
    timeout: int


@dataclass(frozen=True)
class Record:
    """Record a voice message in ``locale``: after a tone, until ``end_key``, ``max_seconds``, or
    ``timeout`` seconds of silence. What was recorded answers the question being asked."""

    locale: str
    max_seconds: int = 60
    end_key: str = "#"
    timeout: int = 10


@dataclass(frozen=True)
class CallStep:
    """``n``: the number of the request that answers this step (replays carry an older one).
    A step listens (``listen``), records (``record``), puts through (``transfer``) or hangs up."""

    speak: tuple[Speak, ...] = ()
    listen: Listen | None = None
    transfer: Transfer | None = None
    hangup: bool = False
    #: (key, what it does), for ``kaifong chat --channel voice`` and the tests
    keys: tuple[tuple[str, str], ...] = ()
    n: int = 0
    record: Record | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CallStep:
        listen = data.get("listen")
        transfer = data.get("transfer")
        record = data.get("record")
        return cls(
            speak=tuple(Speak(**s) for s in data.get("speak", ())),
            listen=Listen(**{**listen, "keys": tuple(listen["keys"]),
                             "phrases": tuple(listen["phrases"])}) if listen else None,
            transfer=Transfer(**transfer) if transfer else None,
            hangup=bool(data.get("hangup")),
            keys=tuple(tuple(k) for k in data.get("keys", ())),
            n=int(data.get("n", 0)),
            record=Record(**record) if record else None)

    @property
    def text(self) -> str:
        """What the caller hears, as text (spelled values with spaces between characters)."""
        return " ".join(" ".join(ch for ch in s.text if ch.isalnum()) if s.spell else s.text
                        for s in self.speak)


# -- pieces of speech ---------------------------------------------------------------------------

def pieces(text: str, locale: str, spell: tuple[str, ...] = (),
           private: tuple[str, ...] = ()) -> list[Speak]:
    """``text`` as pieces to say, with each of the ``spell`` values in it cut out and marked to be
    spelled, so that a personal value is never one clip, and each ``private`` value cut out and
    marked as the caller's own words (never a cached clip)."""
    out = [Speak(piece, locale, spell=kind == "spell", private=kind == "private")
           for piece, kind in split_values(text, spell, private)]
    return [p for p in out if p.spell or p.private or p.text.strip(" \n\t")]


def spoken_key(key: str, locale: str, gettext: Gettext) -> str:
    """ "*2" -> "star 2", "#" -> "hash", in the caller's language."""
    return " ".join(gettext(locale, KEY_STAR) if ch == "*" else gettext(locale, KEY_HASH)
                    if ch == "#" else ch for ch in key)


# -- the core's reply as a call step -----------------------------------------------------------

def option_pages(options: tuple[Option, ...]) -> list[list[Option]]:
    """The choices in groups of at most ``MAX_OPTIONS``; "a person" (key 0) is not one of them:
    it is always there, and said after each group."""
    choices = [o for o in options if o.key != "0"]
    if len(choices) <= MAX_OPTIONS:
        return [choices]
    per_page = MAX_OPTIONS - 1      # room for "for more choices, press 9"
    return [choices[i:i + per_page] for i in range(0, len(choices), per_page)]


def review_pages(reply: Reply) -> list[list[tuple[SummaryItem, Option]]]:
    """A review's answers, each with the option that changes it, in groups a caller can hold:
    with "if everything is right, press 1" (and "for more, press 9"), at most five keys are
    heard at once."""
    by_value = {o.value: o for o in reply.options}
    items = [(i, by_value[i.change]) for i in (reply.summary.items if reply.summary else ())
             if i.change in by_value]
    per_page = MAX_OPTIONS - 1 if len(items) <= MAX_OPTIONS - 1 else MAX_OPTIONS - 2
    return [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]


def page_count(reply: Reply) -> int:
    return len(review_pages(reply)) if is_review(reply) else len(option_pages(reply.options))


def is_review(reply: Reply) -> bool:
    return "review" in reply.tags and reply.summary is not None


def is_reprompt(reply: Reply) -> bool:
    """A question asked again after silence or a miss: said briefly (DESIGN: the question and
    its keys, under 8 s), never the whole menu and its explanations again."""
    return bool({"noinput", "reprompt"} & set(reply.tags))


def reply_step(reply: Reply, gettext: Gettext, *, timeout: int, page: int = 0,
               before: tuple[Speak, ...] = (), words: bool = True) -> CallStep:
    """The reply said from its fields (what comes before the question, the answers at a
    review, the question, its choices), then listening for the answer.

    ``page`` > 0 reads only that group of choices (the caller pressed 9); ``before`` comes
    first; ``words``: whether spoken answers are heard (False where only the keypad listens:
    the entry help then speaks of keys). A re-prompt (silence, a miss) is the core's few words
    and the question with its keys, briefly."""
    locale = reply.locale
    spell = reply.spell + ((reply.reference,) if reply.reference else ())
    say: list[Speak] = list(before)
    brief = is_reprompt(reply)
    info = _is_info(reply)
    pages = review_pages(reply) if is_review(reply) else option_pages(reply.options)
    page = page % len(pages)
    if page == 0:
        for paragraph in reply.before:
            say += pieces(paragraph, locale, spell, reply.private)
        progress = reply.progress
        if not brief and reply.question and progress and "confirm" not in reply.tags \
                and progress[1] > 1 and not info:
            say.append(Speak(gettext(locale, PROGRESS).format(number=progress[0],
                                                              total=progress[1]), locale))
        if is_review(reply) and not brief:
            say += pieces(reply.summary.heading, locale)
        if reply.question and not (brief and info) and not is_review(reply):
            say += pieces(reply.question, locale, spell, reply.private)
    if is_review(reply):
        say += _review_page(reply, pages, page, gettext, brief)
    elif brief and len(pages[0]) > BRIEF_CHOICES:
        last = max((o.key for o in reply.options if o.key.isdigit() and o.key != "0"),
                   key=int, default="1")
        say.append(Speak(gettext(locale, KEYS_RANGE).format(last=last), locale))
    else:
        say += _choices(reply, pages, page, gettext, brief)
    kind = reply.expect.kind
    entry = kind in ENTRY_KINDS and not reply.options
    if kind in _ENTRY_HELP and not reply.options:
        if brief:
            help_ = ENTRY_AGAIN if kind != "text" else (
                ENTRY_TEXT_AGAIN if words else ENTRY_TEXT_KEYS_AGAIN)
        else:
            help_ = _ENTRY_HELP[kind] if words or kind != "text" else ENTRY_TEXT_KEYS
        say.append(Speak(gettext(locale, help_), locale))
    keys = [(o.key, o.label) for o in reply.options]
    if len(pages) > 1:
        keys.append((MORE_KEY, gettext(locale, MORE_OPTIONS).format(key=MORE_KEY)))
    if "anything_else" in reply.tags:
        keys.append(("#", gettext(locale, THATS_ALL)))
    if wants_words(reply):
        # free words: said, or a voice message (a keypad cannot spell a street)
        keys.append((RECORD_KEY + "#", gettext(locale, RECORD_LABEL)))
    listen = Listen(
        kind=kind, locale=locale,
        keys=tuple(dict.fromkeys([k for k, _ in keys] + list(reply.expect.digits))),
        max_keys=None if entry else 1, end_key="#" if entry else None, timeout=timeout,
        phrases=tuple(reply.expect.grammar))
    return CallStep(tuple(say), listen, keys=tuple(keys))


def wants_words(reply: Reply) -> bool:
    """A question answered in free words (no choices): the caller may leave a voice message."""
    return reply.expect.kind == "text" and not reply.options


def record_step(locale: str, gettext: Gettext, *, max_seconds: int, timeout: int) -> CallStep:
    """ "Please speak after the tone ..." then a recording, ended by the hash key."""
    return CallStep((Speak(gettext(locale, RECORD_NOW), locale),),
                    record=Record(locale, max_seconds, "#", timeout))


_ENTRY_HELP = {"number": ENTRY_NUMBER, "phone": ENTRY_PHONE, "date": ENTRY_DATE,
               "hkid": ENTRY_HKID, "text": ENTRY_TEXT}


def _is_info(reply: Reply) -> bool:
    """Information with "to go on, press 1": its words are not a question to ask again."""
    return [o.value for o in reply.options if o.key != "0"] == ["next"]


def _review_page(reply: Reply, pages, page: int, gettext, brief: bool) -> list[Speak]:
    """Each answer with its key to change it, "if everything is right, press 1", and the key
    for the other answers. Spelled values one character at a time; personal ones never in a
    shared clip."""
    locale = reply.locale
    said: list[Speak] = []
    ok = next((o for o in reply.options if o.value == "ok"), None)
    if not brief:
        for item, option in pages[page]:
            said += pieces(answer_line(item, locale, gettext), locale,
                           (item.value,) if item.spell else (),
                           (item.value,) if item.personal and not item.spell else ())
            said.append(Speak(gettext(locale, REVIEW_CHANGE).format(key=option.key), locale))
    if ok is not None:
        said.append(Speak(gettext(locale, REVIEW_OK).format(key=ok.key), locale))
    if brief:
        said.append(Speak(gettext(locale, HEAR_AGAIN), locale))
    elif len(pages) > 1:
        msgid = MORE_ANSWERS if page + 1 < len(pages) else FIRST_ANSWERS
        said.append(Speak(gettext(locale, msgid).format(key=MORE_KEY), locale))
    return said


def answer_line(item: SummaryItem, locale: str, gettext: Gettext) -> str:
    """ "Age: 70", as the core's summary lines say an answer."""
    return gettext(locale, ANSWER).format(label=item.label, value=item.value)


def _choices(reply: Reply, pages: list[list[Option]], page: int, gettext,
             brief: bool = False) -> list[Speak]:
    locale = reply.locale
    anything_else = "anything_else" in reply.tags
    said = []
    for o in pages[page]:
        if anything_else and o.value == "no":
            said.append(Speak(gettext(locale, THATS_ALL), locale))
        else:
            said.append(Speak(option_line(o, locale, gettext), locale))
    if len(pages) > 1:
        msgid = MORE_OPTIONS if page + 1 < len(pages) else FIRST_OPTIONS
        said.append(Speak(gettext(locale, msgid).format(key=MORE_KEY), locale))
    person = next((o for o in reply.options if o.key == "0"), None)
    if person is not None and not brief and not anything_else:
        said.append(Speak(gettext(locale, PERSON), locale))
    return said


def option_line(option: Option, locale: str, gettext: Gettext) -> str:
    """ "For Sham Shui Po District Office, press 1." (and the two that read as actions)."""
    if option.key == "0" and option.value == "person":
        return gettext(locale, PERSON)
    key = spoken_key(option.key, locale, gettext)
    if option.value == "next":
        return gettext(locale, NEXT).format(key=key)
    return gettext(locale, OPTION).format(label=option.label, key=key)


# -- the channel's own steps --------------------------------------------------------------------

def language_step(gettext: Gettext, timeout: int, before: tuple[Speak, ...] = ()) -> CallStep:
    """ "For Cantonese, press 1" in Cantonese, "For English, press 2" in English; then, in
    each, that 0 (or saying 真人 / person) reaches a person."""
    say = (*before, Speak(gettext("zh-HK", LANGUAGE_ZH), "zh-HK"),
           Speak(gettext("en", LANGUAGE_EN), "en"),
           Speak(gettext("zh-HK", LANGUAGE_PERSON), "zh-HK"),
           Speak(gettext("en", LANGUAGE_PERSON), "en"))
    listen = Listen("language", "zh-HK", keys=("1", "2", "0"), timeout=timeout,
                    phrases=("廣東話", "中文", "English", "Cantonese", "真人", "person"))
    return CallStep(say, listen, keys=(("1", "廣東話"), ("2", "English"),
                                       ("0", "真人 / " + gettext("en", LANGUAGE_PERSON))))


def star_step(locale: str) -> CallStep:
    """Nothing said: a second key after "*" within a few seconds ("*2" repeats); none: back."""
    return CallStep((), Listen("star", locale, keys=tuple("12345"), max_keys=1,
                               timeout=STAR_SECONDS, speech=False))


def say_step(speak: tuple[Speak, ...] | list[Speak], *, hangup: bool = False,
             transfer: Transfer | None = None, listen: Listen | None = None,
             keys: tuple[tuple[str, str], ...] = ()) -> CallStep:
    return CallStep(tuple(speak), listen, transfer, hangup, keys)


# -- a reply kept between requests (channel data is JSON) --------------------------------------

def reply_to_dict(reply: Reply) -> dict:
    """The reply as JSON-able data, without its action (a call keeps only what it says)."""
    data = asdict(replace(reply, action=None))
    data.pop("action")
    return data


def reply_from_dict(data: dict) -> Reply:
    data = dict(data)
    expect = data.pop("expect", None) or {}
    summary = data.pop("summary", None)
    next_steps = data.pop("next_steps", None)
    tuples = ("parts", "tags", "spell", "private", "before")
    return Reply(
        **{k: tuple(v) if k in tuples else v for k, v in data.items()
           if k in _REPLY_FIELDS and k not in ("options", "progress")},
        options=tuple(Option(o["key"], o["value"], o["label"], tuple(o.get("phrases") or ()))
                      for o in data.get("options") or ()),
        expect=Expect(expect.get("kind", "none"), tuple(expect.get("choices", ())),
                      tuple(expect.get("grammar", ())), tuple(expect.get("digits", ()))),
        progress=tuple(data["progress"]) if data.get("progress") else None,
        summary=Summary(summary["heading"], tuple(SummaryItem(**i) for i in summary["items"]))
        if summary else None,
        next_steps=NextSteps(**{**next_steps, "bring": tuple(next_steps["bring"])})
        if next_steps else None)


_REPLY_FIELDS = {f.name for f in fields(Reply)}
