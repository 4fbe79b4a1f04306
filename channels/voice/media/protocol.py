"""Twilio Media Streams, bidirectional, as small events and back. Pure; no I/O.

Twilio sends JSON text frames: ``connected``, ``start`` (the stream's and the call's SIDs, the
audio format and the ``<Parameter>`` values of the TwiML as ``customParameters``), ``media`` (20 ms
of 8 kHz mu-law, base64), ``dtmf`` (a key), ``mark`` (a mark we sent has been played) and ``stop``.
``parse`` turns each into an event (``Connected``, ``Start``, ``Media``, ``Dtmf``, ``Mark``,
``Stop``; anything else is ``Unknown`` and ignored). We send ``media`` (audio to play), ``mark``
(tell me when the audio before this has been played) and ``clear`` (drop what is queued: the
caller spoke over it): ``media_frame``, ``mark_frame``, ``clear_frame``.

Telephone audio is G.711 mu-law; ``audioop`` left the standard library in Python 3.13, so the
conversion is two numpy tables: 256 mu-law bytes -> 16-bit samples, and 65,536 samples -> bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "SAMPLE_RATE",
    "BadFrame",
    "Connected",
    "Dtmf",
    "Mark",
    "Media",
    "Start",
    "Stop",
    "Unknown",
    "clear_frame",
    "mark_frame",
    "media_frame",
    "parse",
    "pcm_to_ulaw",
    "ulaw_to_pcm",
]

SAMPLE_RATE = 8000
FRAME_MS = 20
#: one 20 ms frame of 8 kHz mu-law: 160 bytes
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000


class BadFrame(ValueError):
    """A frame that is not Twilio's JSON (the stream is closed)."""


@dataclass(frozen=True)
class Connected:
    pass


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    #: the TwiML's ``<Parameter name=... value=...>`` pairs
    parameters: dict = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True)
class Media:
    #: mu-law bytes (160 for 20 ms)
    payload: bytes
    #: milliseconds since the stream started, by Twilio's clock
    timestamp: int = 0


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Unknown:
    event: str


def parse(text: str | bytes):
    """One frame of Twilio's as an event; ``BadFrame`` if it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadFrame("not JSON") from exc
    if not isinstance(data, dict):
        raise BadFrame("not an object")
    event = data.get("event")
    try:
        if event == "media":
            media = data["media"]
            if media.get("track", "inbound") != "inbound":
                return Unknown("media:" + str(media.get("track")))
            return Media(base64.b64decode(media["payload"], validate=True),
                         int(media.get("timestamp") or 0))
        if event == "dtmf":
            return Dtmf(str(data["dtmf"]["digit"])[:1])
        if event == "mark":
            return Mark(str(data["mark"]["name"]))
        if event == "start":
            start = data["start"]
            fmt = start.get("mediaFormat") or {}
            params = start.get("customParameters") or {}
            return Start(str(start.get("streamSid") or data.get("streamSid") or ""),
                         str(start.get("callSid") or ""),
                         {str(k): str(v) for k, v in params.items()} if isinstance(
                             params, dict) else {},
                         str(fmt.get("encoding") or "audio/x-mulaw"),
                         int(fmt.get("sampleRate") or SAMPLE_RATE))
        if event == "connected":
            return Connected()
        if event == "stop":
            return Stop()
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise BadFrame(f"a {event} frame without its fields") from exc
    return Unknown(str(event))


def media_frame(stream_sid: str, ulaw: bytes) -> str:
    return json.dumps({"event": "media", "streamSid": stream_sid,
                       "media": {"payload": base64.b64encode(ulaw).decode("ascii")}})


def mark_frame(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_frame(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})


# -- G.711 mu-law ----------------------------------------------------------------------------

_BIAS = 0x84
_CLIP = 32635


def _decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _encode_table() -> np.ndarray:
    # as the G.711 reference (and CPython's audioop) does it: 14 bits, biased, a segment search
    sample = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(sample < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(sample), _CLIP >> 2) + (_BIAS >> 2)
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]),
                              magnitude)
    value = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    return ((value ^ mask) & 0xFF).astype(np.uint8)


_DECODE = _decode_table()
_ENCODE = _encode_table()


def ulaw_to_pcm(ulaw: bytes) -> np.ndarray:
    """mu-law bytes -> 16-bit samples."""
    return _DECODE[np.frombuffer(ulaw, dtype=np.uint8)]


def pcm_to_ulaw(pcm: np.ndarray) -> bytes:
    """16-bit samples -> mu-law bytes."""
    return _ENCODE[np.asarray(pcm, dtype=np.int16).astype(np.int32) + 32768].tobytes()
