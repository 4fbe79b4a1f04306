"""The media stream's token: a websocket carries no Twilio signature, so the TwiML that opens a
stream (itself the answer to a signed request) passes a short-lived token as a ``<Parameter>``,
and the media service refuses any stream without a valid one. Pure; no I/O.

A token is ``payload.mac``, both base64url: the payload names the call (its CallSid), the step
``n`` whose answer the stream gives, the conversation it belongs to and when it expires; the mac
is HMAC-SHA256 over the payload with a key derived from ``TWILIO_AUTH_TOKEN`` (the secret the
web app and the media service share already). ``verify`` returns the claims, or None for any
fault, without saying which: a forged, expired or borrowed token (another call's) is refused the
same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

__all__ = ["TOKEN_SECONDS", "StreamClaims", "mint", "stream_key", "verify"]

#: Twilio opens the stream as soon as it reads the TwiML: a minute is ample, and short
TOKEN_SECONDS = 60


@dataclass(frozen=True)
class StreamClaims:
    call_sid: str
    n: int
    conversation_id: int
    expires: int


def stream_key(auth_token: str) -> bytes:
    """The token key, derived from Twilio's auth token (never the token itself)."""
    if not auth_token:
        raise ValueError("a stream token needs TWILIO_AUTH_TOKEN")
    return hmac.new(auth_token.encode("utf-8"), b"kaifong voice stream v1",
                    hashlib.sha256).digest()


def mint(key: bytes, call_sid: str, n: int, conversation_id: int,
         now: float | None = None, seconds: int = TOKEN_SECONDS) -> str:
    expires = int((time.time() if now is None else now) + seconds)
    payload = json.dumps({"c": call_sid, "n": int(n), "v": int(conversation_id), "e": expires},
                         separators=(",", ":")).encode("utf-8")
    return _b64(payload) + "." + _b64(hmac.new(key, payload, hashlib.sha256).digest())


def verify(key: bytes, token: str, call_sid: str, now: float | None = None) -> StreamClaims | None:
    """The claims of ``token`` if it is ours, unexpired, and for ``call_sid``; else None."""
    try:
        head, _, mac = (token or "").partition(".")
        payload = _unb64(head)
        expected = hmac.new(key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = json.loads(payload)
        claims = StreamClaims(str(data["c"]), int(data["n"]), int(data["v"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not hmac.compare_digest(claims.call_sid.encode(), (call_sid or "").encode()):
        return None
    if claims.expires < (time.time() if now is None else now):
        return None
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
