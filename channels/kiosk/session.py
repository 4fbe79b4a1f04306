"""The kiosk's settings and its visitors' sessions: which kiosk ids exist, how long a screen
waits before asking "Do you need more time?", and the session token of the person at the screen.

One conversation per visitor, not per kiosk: the first touch at the welcome screen makes a random
token, kept in an HttpOnly, SameSite=Strict cookie scoped to ``/kiosk/<kiosk_id>/``. The
conversation's address is the kiosk id and a hash of the token (``"demo:3f2a..."``): staff see
which kiosk it is, and the address they see cannot be turned back into the cookie.

Fails closed: a kiosk id that is not configured is refused, a malformed setting stops the start,
and a token that is malformed, unknown, wiped or idle past its time is no session at all.
Pure; no I/O.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from assistant.i18n import canonical_locale

__all__ = ["COOKIE", "KioskConfig", "address_for", "new_token", "parse_config", "valid_token"]

COOKIE = "kaifong_kiosk"
CHANNEL = "kiosk"
DEFAULT_IDS = "demo"
DEFAULT_IDLE_SECONDS = 90
DEFAULT_WARNING_SECONDS = 30
#: WCAG 2.2.1: at least 20 seconds to ask for more time with one action
MIN_WARNING_SECONDS = 20
#: a request this late after the warning ran out still counts (the page's own timer, a slow
#: network): the server never ends a session before the screen has said it would
GRACE_SECONDS = 5
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
#: words under /kiosk/ that are not kiosk ids
RESERVED = frozenset({"static"})


@dataclass(frozen=True)
class KioskConfig:
    ids: frozenset[str]
    idle_seconds: int
    warning_seconds: int
    locale: str
    secure_cookie: bool

    @property
    def expiry_seconds(self) -> int:
        """After the last touch, a session is over: the idle time, the warning, and a grace."""
        return self.idle_seconds + self.warning_seconds + GRACE_SECONDS


def parse_config(config) -> KioskConfig:
    """``KIOSK_IDS`` (comma-separated; default "demo"), ``KIOSK_IDLE_SECONDS`` (90),
    ``KIOSK_WARNING_SECONDS`` (30, at least 20), ``KIOSK_LOCALE`` (the welcome screen's first
    language: zh-HK). Raises ValueError naming the variable when one is wrong."""
    raw = config.get("KIOSK_IDS", DEFAULT_IDS)
    ids = frozenset(part.strip() for part in str(raw).split(",") if part.strip())
    bad = sorted(i for i in ids if not _ID.fullmatch(i) or i in RESERVED)
    if not ids or bad:
        raise ValueError("KAIFONG_KIOSK_IDS must be kiosk ids separated by commas (lower-case "
                         "letters, digits and '-', up to 40 characters; not 'static'), such as "
                         f"'ssp-1,ssp-2'; refused: {', '.join(bad) or 'nothing given'}")
    idle = _seconds(config, "KIOSK_IDLE_SECONDS", DEFAULT_IDLE_SECONDS, 1)
    warning = _seconds(config, "KIOSK_WARNING_SECONDS", DEFAULT_WARNING_SECONDS,
                       MIN_WARNING_SECONDS)
    try:
        locale = canonical_locale(str(config.get("KIOSK_LOCALE") or "zh-HK"))
    except ValueError:
        raise ValueError("KAIFONG_KIOSK_LOCALE must be zh-HK or en, not "
                         f"{config.get('KIOSK_LOCALE')!r}") from None
    # Secure as the staff console decides it (only a declared plain-http deployment drops it)
    public = str(config.get("PUBLIC_URL") or "").strip().lower()
    return KioskConfig(ids, idle, warning, locale, not public.startswith("http://"))


def _seconds(config, key: str, default: int, minimum: int) -> int:
    value = config.get(key, default)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"KAIFONG_{key} must be a whole number of seconds, not {value!r}") \
            from None
    if number < minimum:
        raise ValueError(f"KAIFONG_{key} must be at least {minimum} seconds, not {number}")
    return number


def new_token() -> str:
    return secrets.token_urlsafe(32)       # 43 characters, 256 bits


def valid_token(token: str | None) -> bool:
    return bool(token) and bool(_TOKEN.fullmatch(token))


def address_for(kiosk_id: str, token: str) -> str:
    """The conversation's address: readable kiosk id, then a hash of the token (so that the
    address shown to staff, or kept in the database, does not open the session)."""
    return f"{kiosk_id}:{hashlib.sha256(token.encode('ascii')).hexdigest()[:32]}"


def kiosk_of(address: str) -> str:
    """The kiosk id in a kiosk conversation's address (what the staff queue should show)."""
    return address.split(":", 1)[0]
