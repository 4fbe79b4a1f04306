"""CSRF tokens for the staff console's forms: one random token per session, compared in
constant time. Pure functions over a session mapping: no Flask request in here."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping

KEY = "csrf"
FIELD = "csrf_token"


def csrf_token(session: MutableMapping) -> str:
    """The session's token, made on first use (a new session after sign-in gets a new one)."""
    token = session.get(KEY)
    if not isinstance(token, str) or not token:
        token = session[KEY] = secrets.token_urlsafe(32)
    return token


def valid_csrf(session: MutableMapping, sent: str | None) -> bool:
    """Fails closed: no token in the session, none sent, or any difference is a refusal."""
    expected = session.get(KEY)
    if not isinstance(expected, str) or not expected or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
