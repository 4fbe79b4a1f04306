"""The phone channel's settings, each parsed from its ``KAIFONG_*`` string with a clear error,
and the office hours during which a caller can be put through to staff. Pure; no I/O.

``KAIFONG_OFFICE_HOURS`` reads as people write it: ``"Mon-Fri 09:00-17:00, Sat 09:00-12:00"``,
in Hong Kong time; ``"closed"`` (or empty) means never (every request for a person becomes a
call-back). Public holidays are not known here: on a holiday the service would still dial.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_OFFICE_HOURS", "HONG_KONG", "OfficeHours", "VoiceSettings", "parse_settings"]

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
DEFAULT_OFFICE_HOURS = "Mon-Fri 09:00-17:00, Sat 09:00-12:00"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?)\s+"
                   r"(?P<start>\d{1,2}:\d\d)\s*-\s*(?P<end>\d{1,2}:\d\d)\s*$")
_NUMBER = re.compile(r"^\+?[0-9]{3,15}$|^sip:[^\s]+$")


@dataclass(frozen=True)
class OfficeHours:
    """Opening times per weekday (0 = Monday): ``{weekday: ((start, end), ...)}``."""

    spans: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    text: str = ""

    @classmethod
    def parse(cls, value: str | None) -> OfficeHours:
        text = DEFAULT_OFFICE_HOURS if value is None else str(value)
        if text.strip().lower() in ("", "closed", "none", "never"):
            return cls({}, text)
        spans: dict[int, list[tuple[time, time]]] = {}
        for piece in text.lower().split(","):
            m = _SPAN.match(piece)
            if not m:
                raise ValueError(f"KAIFONG_OFFICE_HOURS: cannot read {piece.strip()!r}; write "
                                 f"it like {DEFAULT_OFFICE_HOURS!r} (Hong Kong time), or 'closed'")
            first, _, last = (d.strip() for d in m["days"].partition("-"))
            last = last or first
            if first not in _DAYS or last not in _DAYS:
                raise ValueError(f"KAIFONG_OFFICE_HOURS: unknown day in {piece.strip()!r} "
                                 f"(Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
            start, end = _clock(m["start"]), _clock(m["end"])
            if end <= start:
                raise ValueError(f"KAIFONG_OFFICE_HOURS: {piece.strip()!r} ends before it starts")
            a, b = _DAYS.index(first), _DAYS.index(last)
            for day in range(a, (b if b >= a else b + 7) + 1):
                spans.setdefault(day % 7, []).append((start, end))
        return cls({d: tuple(sorted(s)) for d, s in spans.items()}, text)

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(HONG_KONG)
        return any(start <= local.time() < end for start, end in self.spans.get(local.weekday(), ()))

    def next_opening(self, when: datetime) -> datetime | None:
        """The next moment the office opens after ``when`` (Hong Kong time), None if never."""
        local = when.astimezone(HONG_KONG)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for start, _end in self.spans.get(day.weekday(), ()):
                opening = datetime.combine(day, start, HONG_KONG)
                if opening > local:
                    return opening
        return None


@dataclass(frozen=True)
class VoiceSettings:
    #: seconds of silence before a question counts as not answered (Twilio's default is 5)
    timeout: int = 10
    #: where ``<Dial>`` puts a caller through to staff; None: call-backs only
    staff_number: str | None = None
    office_hours: OfficeHours = field(default_factory=lambda: OfficeHours.parse(None))
    #: how long ``<Dial>`` rings the staff line before giving up
    dial_timeout: int = 30
    #: the expected wait is (callers waiting + 1) x this; an estimate, and said as one
    minutes_per_caller: float = 4.0
    #: "twilio" (``<Gather input="dtmf speech">``), "keypad" (keys only) or "vosk" (our own
    #: recogniser, over a media stream)
    recogniser: str = "twilio"
    #: (locale, Vosk model directory) for the languages "vosk" hears; any other: keys only
    vosk_models: tuple[tuple[str, str], ...] = ()
    #: the media service's address as Twilio reaches it (``wss://.../voice/stream``); None:
    #: the public address's, with ``wss``
    media_url: str | None = None
    #: the longest voice message a caller can leave for a question wanting free words
    record_seconds: int = 60


def parse_settings(config) -> VoiceSettings:
    """From the app's config (``VOICE_TIMEOUT_SECONDS``, ``STAFF_NUMBER``, ``OFFICE_HOURS``,
    ``DIAL_TIMEOUT_SECONDS``, ``VOICE_MINUTES_PER_CALLER``, ``VOICE_RECOGNISER``,
    ``VOICE_RECORD_SECONDS``)."""
    staff = (config.get("STAFF_NUMBER") or "").strip().replace(" ", "") or None
    if staff is not None and not _NUMBER.match(staff):
        raise ValueError("KAIFONG_STAFF_NUMBER must be a telephone number such as +85221234567 "
                         "(or a sip: address)")
    recogniser = (config.get("VOICE_RECOGNISER") or "twilio").strip().lower()
    if recogniser not in ("twilio", "keypad", "vosk"):
        raise ValueError("KAIFONG_VOICE_RECOGNISER must be 'twilio' (keys and Twilio's speech "
                         "recognition), 'keypad' (keys only) or 'vosk' (keys and our own "
                         "recogniser, over a media stream)")
    media_url = (config.get("MEDIA_URL") or "").strip() or None
    if media_url is not None and not media_url.startswith(("ws://", "wss://")):
        raise ValueError("KAIFONG_MEDIA_URL must be the media service's address as Twilio "
                         "reaches it, wss://host/voice/stream")
    models = []
    for locale, name in (("en", "VOSK_MODEL_EN"), ("zh-HK", "VOSK_MODEL_ZH_HK")):
        path = (config.get(name) or "").strip()
        if path:
            if not Path(path, "am").is_dir() and not Path(path, "conf").is_dir():
                raise ValueError(f"KAIFONG_{name}: {path!r} is not a Vosk model directory "
                                 "(see the README for where to get one)")
            models.append((locale, path))
    if recogniser == "vosk" and not models:
        raise ValueError("KAIFONG_VOICE_RECOGNISER=vosk needs a model: set KAIFONG_VOSK_MODEL_EN "
                         "or KAIFONG_VOSK_MODEL_ZH_HK to a Vosk model directory (see the README)")
    return VoiceSettings(
        timeout=_whole("VOICE_TIMEOUT_SECONDS", config.get("VOICE_TIMEOUT_SECONDS"), 10, 3, 60),
        staff_number=staff,
        office_hours=OfficeHours.parse(config.get("OFFICE_HOURS")),
        dial_timeout=_whole("DIAL_TIMEOUT_SECONDS", config.get("DIAL_TIMEOUT_SECONDS"), 30, 5,
                            600),
        minutes_per_caller=_minutes(config.get("VOICE_MINUTES_PER_CALLER")),
        recogniser=recogniser,
        vosk_models=tuple(models),
        media_url=media_url,
        # an older caller describing a place may pause and start again: a minute, by default
        record_seconds=_whole("VOICE_RECORD_SECONDS", config.get("VOICE_RECORD_SECONDS"), 60,
                              10, 600),
    )


def _whole(name: str, value, default: int, low: int, high: int) -> int:
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ValueError(f"KAIFONG_{name} must be a whole number of seconds from {low} to "
                         f"{high}, not {value!r}")
    return number


def _minutes(value) -> float:
    if value is None or str(value).strip() == "":
        return 4.0
    try:
        minutes = float(str(value).strip())
    except ValueError:
        minutes = math.nan
    if not (math.isfinite(minutes) and 0 < minutes <= 120):
        raise ValueError("KAIFONG_VOICE_MINUTES_PER_CALLER must be minutes per waiting caller "
                         f"(more than 0, at most 120), not {value!r}")
    return minutes


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"KAIFONG_OFFICE_HOURS: {text!r} is not a time of day")
    return time(hours, minutes)
