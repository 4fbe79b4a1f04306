"""The wording lint for the phone's own words (``channels.voice.TEXTS``), as ``kaifong validate``
runs ``assistant.wording`` over the catalogue's: nothing a caller hears asks them to write, and
what a re-prompt adds to its question fits the phone's spoken budget, in every language. Pure."""

from __future__ import annotations

from assistant.catalogue import Catalogue
from assistant.wording import FORBIDDEN, VOICE_BUDGET_SECONDS, spoken_seconds

__all__ = ["voice_text_problems"]


def voice_text_problems(catalogue: Catalogue) -> list[tuple[str, str, str]]:
    from . import TEXTS
    from .callstep import REPROMPT_TEXTS

    pattern, what = FORBIDDEN["voice"]
    out = []
    for msgid in TEXTS:
        for locale in catalogue.locales:
            said = catalogue.gettext(locale, msgid)
            m = pattern.search(said)
            if m:
                out.append(("channels/voice", "", f"{what} (voice, {locale}: {m.group(0)!r} in "
                                                  f"{said[:50]!r})"))
            seconds = spoken_seconds(said, locale)
            if msgid in REPROMPT_TEXTS and seconds > VOICE_BUDGET_SECONDS:
                out.append(("channels/voice", "", f"too long to say on the phone ({locale}: "
                                                  f"about {seconds:.1f} s, at most "
                                                  f"{VOICE_BUDGET_SECONDS:.0f} s): {msgid[:40]!r}"))
    return out
