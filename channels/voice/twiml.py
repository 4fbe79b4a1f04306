"""A call step as TwiML, built with the twilio library's ``VoiceResponse``. Pure; no I/O.

Every piece of speech is a ``<Play>`` of a clip from the speech service, or, for a piece whose
clip could not be synthesised, a ``<Say>`` in the caller's language (``Sound``). How a step that
listens is written is the recogniser strategy's (``recognisers``): Twilio's is a ``<Gather>``
holding what is said, followed by a ``<Redirect>`` to the same action, which Twilio follows when
the caller does nothing (the request without ``Digits`` or ``SpeechResult`` is ``NoInput``).
A step that records says what it says, then ``<Record>`` (a tone, until ``#``; its action the
record URL), then a ``<Redirect>`` to that same URL: Twilio requests the action only when it has
a recording, and goes on to the next verb when the caller said nothing (no input).
Otherwise the step puts the caller through (``<Dial>``, its action the dial URL) or hangs up.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from .callstep import CallStep
from .recognisers import SAY_LANGUAGES

__all__ = ["Sound", "build_twiml"]


@dataclass(frozen=True)
class Sound:
    """A clip to play (``url``), or, without one, ``text`` for Twilio to say in ``locale``."""

    url: str | None = None
    text: str = ""
    locale: str = "en"


def build_twiml(step: CallStep, sounds: list[Sound], recogniser, action: str,
                dial_action: str, record_action: str = "") -> str:
    response = VoiceResponse()
    if step.listen is not None:
        recogniser.listen(response, step.listen, action, lambda verb: _add_sounds(verb, sounds))
        return response.to_xml()
    _add_sounds(response, sounds)
    if step.record is not None:
        record = step.record
        response.record(action=record_action, method="POST", max_length=record.max_seconds,
                        finish_on_key=record.end_key, play_beep=True, timeout=record.timeout)
        response.redirect(record_action, method="POST")
        return response.to_xml()
    if step.transfer is not None:
        response.dial(step.transfer.number, action=dial_action, method="POST",
                      timeout=step.transfer.timeout)
        return response.to_xml()
    response.hangup()
    return response.to_xml()


def _add_sounds(verb, sounds: list[Sound]) -> None:
    for sound in sounds:
        if sound.url:
            verb.play(sound.url)
        elif sound.text:
            verb.say(sound.text, language=SAY_LANGUAGES.get(sound.locale, "en-GB"))
