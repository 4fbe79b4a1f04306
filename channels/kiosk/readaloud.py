"""Read-aloud: the clips that speak one kiosk screen, and every clip the kiosk will need, for
the speech service to render ahead of time. No synthesis here: the shared speech service
(``channels.speech``) synthesises and caches; this module only decides what is said.

A personal value on the screen (an identity card number being checked, a phone number, a
reference) is spoken one character at a time (``Speech.spell``), so that no audio file and no
clip id holds it whole. The screen's ``spell`` (from the core's ``Reply.spell``) and the keypad
entry name those values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from assistant.catalogue import PLACEHOLDER_RE, Catalogue

from .screens import Screen, procedure_buttons
from .texts import TEXTS

__all__ = ["FORMAT", "screen_clips", "spoken_clips", "static_clips"]

FORMAT = "kiosk"
#: the characters a spelled value is made of (identity cards, phone numbers, references)
SPELLED = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: the shared prompts a kiosk screen can show as they are (the others carry values)
_STATIC_PROMPTS = ("greeting", "menu", "menu_group", "not_understood_menu", "candidates",
                   "none_of_these", "miss", "miss_offer_person", "noinput", "at_start",
                   "handoff_waiting", "handoff_still_waiting", "handed_back", "consent_declined",
                   "confirm_again", "language_changed", "resume_choice", "carry_on",
                   "start_again", "next", "yes", "no", "person", "ended_next",
                   "back_to_assistant", "action_failed", "hint_yes_no", "hint_choice",
                   "hint_date", "hint_hkid", "hint_hkid_check", "hint_phone", "hint_text",
                   "hint_appointment", "staff_joined", "staff_closed", "review",
                   "review_question", "review_ok", "something_else", "thats_all",
                   "summary_heading", "next_steps_heading", "goodbye", "help_commands")


def spoken_clips(speech, text: str, locale: str, spell: Iterable[str] = (),
                 private: Iterable[str] = ()) -> list:
    """``text`` as the speech service says it: a clip per sentence, the values in ``spell`` one
    character at a time, those in ``private`` in a clip for this visitor only."""
    return list(speech.say(text, locale, FORMAT, spell=tuple(v for v in spell if v),
                           private=tuple(v for v in private if v)))


def screen_clips(speech, screen: Screen, extra: Iterable[str] = (),
                 spell_extra: Iterable[str] = ()) -> list:
    """Every clip of a screen, in reading order; ``extra`` adds words the template shows
    beyond the screen model (the entry so far is spelled, as ``spell_extra``)."""
    spell = (*screen.spell, *spell_extra, *([screen.reference] if screen.reference else ()))
    clips = []
    for text in (*screen.spoken, *extra):
        clips += spoken_clips(speech, text, screen.locale, spell, screen.private)
    for value in spell_extra:
        clips += speech.spell(value, screen.locale, FORMAT)
    return clips


def _fill_facts(cat: Catalogue, locale: str, text: str) -> str | None:
    """A prompt with its facts filled in as the engine fills them; None when it needs a value
    only a conversation has (those are synthesised when first shown)."""
    def value(m: re.Match) -> str:
        name = m.group(1)
        if m.group(2) is None and name in cat.facts:
            fact = cat.facts[name]
            return cat.gettext(locale, fact) if isinstance(fact, str) else str(fact)
        raise KeyError(name)

    try:
        # a Wording gives its screen variant: what the kiosk shows is what it reads aloud
        return PLACEHOLDER_RE.sub(value, cat.gettext(locale, text, "screen"))
    except KeyError:
        return None


def _catalogue_texts(cat: Catalogue) -> Iterator[str]:
    for key in _STATIC_PROMPTS:
        if key in cat.prompts:
            yield cat.prompts[key]
    for proc in cat.procedures.values():
        yield proc.title
        yield proc.summary
        for step in proc.steps.values():
            for text in (step.ask, step.say, step.help, step.hint):
                if text:
                    yield text
            for option in step.options:
                yield option.label


def static_clips(cat: Catalogue, speech) -> Iterator:
    """Every prompt of every procedure, the shared prompts and the kiosk's own words, in every
    language, as the kiosk speaks them (a static source for ``speech.static_sources``); and
    every letter and digit, of which spelled values (references, numbers) are made."""
    for locale in cat.locales:
        yield from speech.spell(SPELLED, locale, FORMAT)
        texts = [*TEXTS, *_catalogue_texts(cat)]
        texts += [b.label for b in procedure_buttons(cat, locale)]
        for text in texts:
            filled = _fill_facts(cat, locale, text)
            if filled and "{" not in filled:
                yield from spoken_clips(speech, filled, locale)
