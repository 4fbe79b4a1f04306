"""The phone's speech: a call step's words as 8 kHz clips of the shared speech service, and
every clip the phone can be known to need ahead of time (``phone_clips``, a static source).

``PhoneAudio.sounds`` synthesises what is missing now (Twilio fetches the URL as soon as it
reads the TwiML) and falls back to Twilio's ``<Say>`` for a piece that cannot be synthesised (the
speech service logs the failure, without the text). Spelled pieces are one clip per character, so
no clip, file or clip id holds a personal value.
"""

from __future__ import annotations

from assistant.catalogue import PLACEHOLDER_RE
from assistant.model import Option

from ..speech import Clip, Speech
from ..speech.normalise import spoken
from .callstep import (
    FIRST_ANSWERS,
    FIRST_OPTIONS,
    KEYS_RANGE,
    MORE_ANSWERS,
    MORE_KEY,
    MORE_OPTIONS,
    PROGRESS,
    REVIEW_CHANGE,
    REVIEW_OK,
    CallStep,
    Speak,
    option_line,
)
from .callstep import TEXTS as STEP_TEXTS
from .twiml import Sound

__all__ = ["FORMAT", "PhoneAudio", "phone_clips"]

FORMAT = "phone"
#: what a spelled value can be made of (identity card numbers, phone numbers, references)
SPELLING = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class PhoneAudio:
    def __init__(self, speech: Speech, base_url: str):
        self.speech = speech
        self.base_url = base_url.rstrip("/")

    def clips(self, speak: Speak) -> list[Clip]:
        """A sentence a clip (the speech service's ``say``), or a character a clip."""
        if speak.spell:
            return self.speech.spell(speak.text.upper(), speak.locale, FORMAT)
        said = spoken(speak.text, speak.locale)      # "$370" as money, "2/F" as a floor ...
        if speak.private:
            return [self.speech.once(said, speak.locale, FORMAT)]
        return self.speech.say(said, speak.locale, FORMAT)

    def sounds(self, step: CallStep) -> list[Sound]:
        out: list[Sound] = []
        for speak in step.speak:
            for clip in self.clips(speak):
                if self.speech.ensure(clip) is not None:
                    out.append(Sound(url=self.base_url + clip.url))
                else:
                    out.append(Sound(text=clip.text, locale=clip.locale))
        return out


def phone_clips(catalogue, speech: Speech):
    """Every clip the phone says that does not depend on the caller: the catalogue's prompts and
    steps (with facts filled in, as the core fills them), each choice as "For X, press N", the
    channel's own words, where a question stands, and the characters values are spelled with."""
    for locale in catalogue.locales:
        yield from _clips_in(catalogue, speech, locale)


def _clips_in(catalogue, speech: Speech, locale: str):
    from assistant.engine import echo_answers

    from .call import MODALITY
    from .call import TEXTS as CALL_TEXTS

    def t(msgid: str) -> str:
        return catalogue.gettext(locale, msgid, MODALITY)

    def say(text: str):
        yield from speech.say(spoken(text, locale), locale, FORMAT)

    def said(text: str):
        filled = _fill_facts(catalogue, locale, t(text))
        if filled is not None and filled.strip():
            yield from say(filled)

    def option(label: str, key: str, value: str = ""):
        yield from say(option_line(Option(key, value, t(label)), locale, catalogue.gettext))

    for msgid in catalogue.prompts.values():
        yield from said(msgid)
    # the words around a value that is spelled (the reference; an identity card or phone number
    # read back): the value is cut out of the sentence, the words either side are clips
    for name, value in (("reference", "reference"), ("confirm", "value")):
        for piece in t(catalogue.prompt(name)).split("{" + value + "}"):
            if any(ch.isalnum() for ch in piece):
                yield from say(piece)
    for msgid in (*STEP_TEXTS, *CALL_TEXTS):
        if not PLACEHOLDER_RE.search(msgid):
            yield from said(msgid)
    for msgid in (MORE_OPTIONS, FIRST_OPTIONS, MORE_ANSWERS, FIRST_ANSWERS):
        yield from say(t(msgid).format(key=MORE_KEY))
    yield from say(t(REVIEW_OK).format(key="1"))
    for key in range(2, 10):
        yield from say(t(REVIEW_CHANGE).format(key=key))
        yield from say(t(KEYS_RANGE).format(last=key))
    for key, name in (("1", "yes"), ("2", "no"), ("1", "next"), ("1", "carry_on"),
                      ("2", "start_again"), ("0", "person"), ("1", "something_else")):
        yield from option(catalogue.prompt(name), key, name)
    for i, group in enumerate(catalogue.menu, 1):
        yield from option(group.label, str(i))
        for j, pid in enumerate(group.procedures, 1):
            yield from option(catalogue.procedures[pid].title, str(j))
    for proc in catalogue.procedures.values():
        for key in "123":                # a candidate list offers up to three procedures
            yield from option(proc.title, key)
        for step in proc.steps.values():
            for text in (step.say, step.ask, step.help, step.hint):
                if text:
                    yield from said(text)
            for i, opt in enumerate(step.options, 1):
                yield from option(opt.label, str(i))
            echo = echo_answers(t(step.ask)) if step.ask and locale != "en" else None
            if echo and step.type == "yes_no":      # 有 / 冇, 想 / 唔想 ... read as the choices
                yield from say(option_line(Option("1", "yes", echo[0]), locale,
                                           catalogue.gettext))
                yield from say(option_line(Option("2", "no", echo[1]), locale,
                                           catalogue.gettext))
    yield from _next_steps_clips(catalogue, locale, t, said)
    most = max((sum(1 for st in p.steps.values() if st.kind == "question")
                for p in catalogue.procedures.values()), default=0)
    for total in range(2, most + 1):
        for number in range(1, total + 1):
            yield from say(t(PROGRESS).format(number=number, total=total))
    for ch in SPELLING:
        yield speech.clip(ch, locale, FORMAT)


def _next_steps_clips(catalogue, locale: str, t, said):
    """The end's lines that do not depend on the caller, as the core words them: what to bring,
    an office's address and hours, the fee, whom to call (an appointment's time is the caller's
    own, and is made when first said)."""
    def line(prompt: str, name: str, value: str):
        filled = _fill_facts(catalogue, locale, value)
        if filled is not None:
            yield from said(t(catalogue.prompt(prompt)).replace("{" + name + "}", filled))

    for office in (catalogue.facts_info.get("offices") or {}).values():
        place = f"{t(office['name'])}, {t(office['address'])}"
        yield from line("where_line", "place", place)
        yield from line("hours_line", "hours", t(office["hours"]))
    for proc in catalogue.procedures.values():
        for step in proc.steps.values():
            for item in step.bring:
                yield from line("bring_line", "item", t(item))
            if step.fee:
                yield from line("fee_line", "fee", t(step.fee))
            if step.call:
                yield from line("call_line", "call", t(step.call))
            if step.hours:
                yield from line("hours_line", "hours", t(step.hours))
            if step.where:                  # a fact's place (an office chosen is the caller's)
                yield from line("where_line", "place", t(step.where))


def _fill_facts(catalogue, locale: str, text: str) -> str | None:
    """The text with facts filled in as the core fills them; None if it needs anything else (a
    slot, a reference): that is said from the cache after its first use, not before."""
    missing = False

    def value(m):
        nonlocal missing
        name = m.group(1)
        if m.group(2) is None and name in catalogue.facts:
            fact = catalogue.facts[name]
            return catalogue.gettext(locale, fact) if isinstance(fact, str) else str(fact)
        missing = True
        return m.group(0)

    filled = PLACEHOLDER_RE.sub(value, text)
    return None if missing else filled
