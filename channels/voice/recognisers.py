"""Who listens to the caller: a strategy that turns a call step's ``Listen`` into the words of
the telephony protocol. Pure; no I/O.

Today Twilio listens (``TwilioGather``: ``<Gather input="dtmf speech">`` with the step's phrases
as hints, in the caller's language), or only the keypad does (``KeypadOnly``), or our own offline
recogniser does (``MediaStream``, "vosk"): ``<Connect action=...><Stream url=...>`` with a
short-lived token, and the media service (``channels.voice.media``) plays the step's clips into
the stream, listens, keeps the answer and closes the stream; Twilio then requests the action as
after a ``<Gather>``. The core gets ``Digits``, ``Text(text, confidence)`` or ``NoInput`` whoever
recognised them. A step that listens to keys only (a language without a model, a call whose
stream was lost, the second key after "*") is a keypad ``<Gather>`` under every strategy.
"""

from __future__ import annotations

from .callstep import Listen

__all__ = [
    "GATHER_LANGUAGES",
    "RECOGNISERS",
    "SAY_LANGUAGES",
    "KeypadOnly",
    "MediaStream",
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

    def bound(self, call_sid: str, n: int, conversation_id) -> TwilioGather:
        """The strategy for one request (ours needs the call to mint its token)."""
        return self

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


class MediaStream(KeypadOnly):
    """Our own recogniser, over Twilio Media Streams (``KAIFONG_VOICE_RECOGNISER=vosk``).

    ``stream_url``: the media service's ``wss://.../voice/stream``; ``mint(call_sid, n,
    conversation_id)``: a token for the stream; ``locales``: the languages with a model (any
    other is listened to by keys, and its prompts speak of keys only)."""

    name = "vosk"

    def __init__(self, stream_url: str = "", mint=None, locales: tuple[str, ...] = (),
                 _call: tuple | None = None):
        self.stream_url = stream_url
        self.mint = mint
        self.locales = tuple(locales)
        self._call = _call

    def hears(self, locale: str) -> bool:
        return locale in self.locales

    def bound(self, call_sid: str, n: int, conversation_id) -> MediaStream:
        return MediaStream(self.stream_url, self.mint, self.locales,
                           (call_sid, n, conversation_id))

    def streams(self, listen: Listen) -> bool:
        """Whether this step is a media stream (else a keypad ``<Gather>``)."""
        return bool(listen.speech and self.hears(listen.locale) and self._call is not None
                    and self._call[2] is not None and self.mint is not None)

    def listen(self, response, listen: Listen, action: str, speak) -> None:
        if not self.streams(listen):
            super().listen(response, listen, action, speak)   # keys, through Twilio
            return
        connect = response.connect(action=action, method="POST")
        stream = connect.stream(url=self.stream_url)
        stream.parameter(name="token", value=self.mint(*self._call))


RECOGNISERS = {"twilio": TwilioGather, "keypad": KeypadOnly, "vosk": MediaStream}


def recogniser_named(name: str, **options):
    return RECOGNISERS[name](**options)
