"""Who listens to the caller: a strategy that turns a call step's ``Listen`` into the words of
the telephony protocol. Pure; no I/O.

Today Twilio listens (``TwilioGather``: ``<Gather input="dtmf speech">`` with the step's phrases
as hints, in the caller's language), or only the keypad does (``KeypadOnly``). Our own offline
recogniser (Vosk over a media stream) will be a third strategy; nothing outside this module, and
nothing in the core, needs to change for it: the core gets ``Digits``, ``Text(text, confidence)``
or ``NoInput`` whoever recognised them.
"""

from __future__ import annotations

from .callstep import Listen

__all__ = [
    "GATHER_LANGUAGES",
    "RECOGNISERS",
    "SAY_LANGUAGES",
    "KeypadOnly",
    "TwilioGather",
    "recogniser_named",
]

#: Twilio's speech recognition languages (Google's tags): Cantonese as written in Hong Kong
GATHER_LANGUAGES = {"zh-HK": "yue-Hant-HK", "en": "en-GB"}
#: Twilio's ``<Say>`` languages, for the fallback when a clip could not be synthesised
SAY_LANGUAGES = {"zh-HK": "zh-HK", "en": "en-GB"}
#: Twilio accepts up to 500 hints; a few dozen keep recognition focused
MAX_HINTS = 60


class TwilioGather:
    """Keys and speech, recognised by Twilio.

    ``listen(response, listen, action, speak)`` adds the verbs that say the step (``speak(verb)``
    puts the clips inside a verb) and wait for the caller; the request that follows reaches
    ``action``. Ours will start a media stream here instead and answer through the same URL."""

    name = "twilio"

    def listen(self, response, listen: Listen, action: str, speak) -> None:
        gather = response.gather(**self.gather(listen, action))
        speak(gather)                      # said inside the Gather: a key cuts it short
        # followed when the caller does nothing: the request without Digits is NoInput
        response.redirect(action, method="POST")

    def gather(self, listen: Listen, action: str) -> dict:
        attrs = {"input": "dtmf speech" if listen.speech else "dtmf", "action": action,
                 "method": "POST", "timeout": listen.timeout}
        if listen.max_keys:
            attrs["num_digits"] = listen.max_keys
        attrs["finish_on_key"] = listen.end_key or ""
        if listen.speech:
            attrs["language"] = GATHER_LANGUAGES.get(listen.locale, "en-GB")
            attrs["speech_timeout"] = "auto"
            hints = [p for p in listen.phrases if p and "," not in p][:MAX_HINTS]
            if hints:
                attrs["hints"] = ", ".join(hints)
        return attrs


class KeypadOnly(TwilioGather):
    """Keys only (a deployment that does not send callers' voices to Twilio's recogniser)."""

    name = "keypad"

    def gather(self, listen: Listen, action: str) -> dict:
        attrs = super().gather(Listen(**{**listen.__dict__, "speech": False}), action)
        return attrs


RECOGNISERS = {"twilio": TwilioGather, "keypad": KeypadOnly}


def recogniser_named(name: str):
    return RECOGNISERS[name]()
