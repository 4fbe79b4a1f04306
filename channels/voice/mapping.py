"""Twilio's voice webhook in: the form Twilio posts -> ``CallRequest`` -> one core ``Input``.
Pure; no I/O, no logging.

What the caller did reaches us in four shapes: keys (``Digits``, without the ``#`` that ended
them), words (``SpeechResult`` with the recogniser's ``Confidence``, 0 to 1), a voice message
(``RecordingUrl``, ``RecordingSid`` and ``RecordingDuration`` after a ``<Record>``: ``Recording``,
which the call flow turns into the core's ``Text`` of a fixed placeholder), or nothing (the
``<Gather>`` timed out, or a ``<Record>`` heard nothing, and Twilio followed the ``<Redirect>``
after it). Each becomes ``Digits``, ``Text(text, confidence)`` or ``NoInput``. A recording is
kept only when its URL is Twilio's own (``https://api.twilio.com/...``) and its SID looks like
one: staff follow that link, so nothing else may become one. Where keys
stand for something other than digits, they are read here, as the caller was told:

* an identity card number: each letter is the key that shows it, then its place on that key
  ("A" is 2 1, "Z" is 9 4); the length says where the letters are (9 to 12 keys);
* a date: the day, the month and the year as ``DDMMYYYY`` (or ``DDMM``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.model import Digits, Input, NoInput, Text

__all__ = [
    "KEYPAD_LETTERS",
    "BadCall",
    "CallRequest",
    "Recording",
    "call_from_form",
    "date_from_keys",
    "hkid_from_keys",
    "input_for",
    "recording_from",
]

KEYPAD_LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS",
                  "8": "TUV", "9": "WXYZ"}
_TEXTABLE = re.compile(r"^\+?[0-9]{3,15}$")
_RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
#: where Twilio keeps recordings (the media is fetched with the account's credentials)
_RECORDING_URL = re.compile(r"^https://api\.twilio\.com/[A-Za-z0-9/._-]+$")


class BadCall(ValueError):
    """A signed request that is not a call Twilio is making (no CallSid or no caller)."""


@dataclass(frozen=True)
class Recording:
    """A voice message Twilio recorded: its resource ``url`` (without an extension: add ``.mp3``
    or ``.wav`` for the audio), its ``sid`` and its length in whole ``seconds``."""

    url: str
    sid: str
    seconds: int


@dataclass(frozen=True)
class CallRequest:
    call_sid: str
    caller: str                     # From: the conversation's address
    to: str = ""
    status: str = ""                # CallStatus
    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    dial_status: str | None = None  # DialCallStatus, on a <Dial action>
    #: a voice message of at least a second, on a <Record action>; None for an empty one
    recording: Recording | None = None
    #: the media stream of this step left no answer (dropped, or refused): see ``media``
    stream_lost: bool = False

    @property
    def textable(self) -> bool:
        """Whether the caller's number can get a text message (not withheld, not a client)."""
        return textable(self.caller)


def textable(number: str) -> bool:
    """A number a text message can go to (not withheld, not a SIP or client address)."""
    return bool(_TEXTABLE.match(number or ""))


def call_from_form(form: Mapping[str, str]) -> CallRequest:
    call_sid = (form.get("CallSid") or "").strip()
    caller = (form.get("From") or form.get("Caller") or "").strip()
    if not call_sid or not caller:
        raise BadCall("not a call")
    digits = form.get("Digits")
    speech = form.get("SpeechResult")
    confidence = None
    if speech is not None and form.get("Confidence") not in (None, ""):
        try:
            confidence = min(1.0, max(0.0, float(form["Confidence"])))
        except ValueError:
            confidence = None
    return CallRequest(call_sid=call_sid[:64], caller=caller[:64], to=form.get("To") or "",
                       status=form.get("CallStatus") or "",
                       digits=digits if digits else None,
                       speech=speech.strip() if speech and speech.strip() else None,
                       confidence=confidence, dial_status=form.get("DialCallStatus") or None,
                       recording=recording_from(form))


def recording_from(form: Mapping[str, str]) -> Recording | None:
    """The voice message in a ``<Record>``'s request, or None when there is none that counts:
    no URL, a URL that is not Twilio's, no SID, or under a second (nothing was said)."""
    url = (form.get("RecordingUrl") or "").strip()
    sid = (form.get("RecordingSid") or "").strip()
    try:
        seconds = int((form.get("RecordingDuration") or "0").strip())
    except ValueError:
        seconds = 0
    if not (_RECORDING_URL.match(url) and _RECORDING_SID.match(sid)) or seconds < 1:
        return None
    return Recording(url, sid, seconds)


def input_for(call: CallRequest, expect_kind: str = "choice") -> Input:
    """What the caller did, as the core's input for a question of ``expect_kind``."""
    if call.digits is not None:
        keys = call.digits.strip()
        if expect_kind == "hkid" and not keys.startswith(("*", "0")):
            decoded = hkid_from_keys(keys)
            if decoded is not None:
                return Text(decoded)
        if expect_kind == "date" and not keys.startswith("*"):
            decoded = date_from_keys(keys)
            if decoded is not None:
                return Text(decoded)
        return Digits(keys)
    if call.speech is not None:
        return Text(call.speech, call.confidence)
    return NoInput()


def hkid_from_keys(keys: str) -> str | None:
    """``"21123456" + "3"`` -> ``"A1234563"``: letters as (key, place on the key) pairs, then
    six digits and the check digit (itself a letter pair when it is "A"). None when the keys
    cannot be read so (the core then hears them as they are and asks again)."""
    keys = keys.rstrip("#")
    if not keys.isdigit():
        return None
    # 1 or 2 letters (2 keys each), 6 digits, a check digit (1 key, or "A" as 2 keys)
    for letters, check in ((1, 1), (1, 2), (2, 1), (2, 2)):
        if len(keys) != letters * 2 + 6 + check:
            continue
        head, body, tail = keys[:letters * 2], keys[letters * 2:letters * 2 + 6], \
            keys[letters * 2 + 6:]
        prefix = "".join(_letter(head[i:i + 2]) or "?" for i in range(0, len(head), 2))
        last = tail if check == 1 else (_letter(tail) or "?")
        if "?" in prefix + last or (check == 2 and last != "A"):
            continue
        return f"{prefix}{body}{last}"
    return None


def date_from_keys(keys: str) -> str | None:
    """``"15031950"`` -> ``"15/03/1950"``, ``"1503"`` -> ``"15/03"``; None otherwise."""
    keys = keys.rstrip("#")
    if not keys.isdigit() or len(keys) not in (4, 6, 8):
        return None
    day, month, year = keys[:2], keys[2:4], keys[4:]
    return f"{day}/{month}" + (f"/{year}" if year else "")


def _letter(pair: str) -> str | None:
    if len(pair) != 2 or pair[0] not in KEYPAD_LETTERS:
        return None
    letters = KEYPAD_LETTERS[pair[0]]
    place = int(pair[1]) if pair[1].isdigit() else 0
    return letters[place - 1] if 1 <= place <= len(letters) else None
