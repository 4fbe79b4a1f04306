"""Twilio's request signatures, for every Twilio webhook of the service (SMS and the phone).

One place decides whether a request came from Twilio: ``signed(validator, public_url)`` checks the
``X-Twilio-Signature`` of the request being handled against the address Twilio called, which is
``KAIFONG_PUBLIC_URL`` (the public address of the app's root, for a server behind a proxy) with
the request's path and query string, or the URL as this server received it when no public URL is
set. A request without a signature is refused; there is no setting that skips the check, and a
channel without ``TWILIO_AUTH_TOKEN`` registers no webhook at all.

What it must not do: answer a refusal with anything of the request (the body is fixed), or log
what was posted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

if TYPE_CHECKING:
    from flask import Response

# Flask is imported by the two functions that answer a request, not here: ``signed_url`` is
# also the SMS mapping's, which ``kaifong chat`` uses without any web server.

__all__ = ["forbidden", "parse_public_url", "signed", "signed_url", "webhook_db_seconds"]


def signed_url(public_base: str | None, request_url: str, path: str, query: str) -> str:
    """The address Twilio signed: behind a proxy, the public base (``KAIFONG_PUBLIC_URL``) with
    this request's path and query string; without one, the URL as this server received it."""
    if not public_base:
        return request_url
    return public_base.rstrip("/") + path + (f"?{query}" if query else "")


def signed(validator: RequestValidator, public_url: str | None) -> bool:
    """True only when the current request carries a valid signature for its form."""
    from flask import request

    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        return False
    url = signed_url(public_url, request.url, request.path,
                     request.query_string.decode("latin-1"))
    return validator.validate(url, request.form, signature)


def forbidden() -> Response:
    from flask import Response

    return Response("forbidden\n", 403, mimetype="text/plain")   # never anything of the request


def parse_public_url(value: str | None) -> str | None:
    """``KAIFONG_PUBLIC_URL``: unset, or an http(s) address without a query string."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValueError("KAIFONG_PUBLIC_URL must be the address Twilio calls, such as "
                         "https://kaifong.example.org")
    return value


def webhook_db_seconds(config) -> float:
    """``WEBHOOK_DB_SECONDS``: how long a Twilio webhook waits for the database (1.5 s; Twilio
    waits 15 s for the whole answer). A value that makes no sense stops the start-up."""
    raw = str(config.get("WEBHOOK_DB_SECONDS") or "").strip()
    if not raw:
        return 1.5
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 10:
        raise ValueError(f"KAIFONG_WEBHOOK_DB_SECONDS must be seconds between 0 and 10, "
                         f"not {raw!r}")
    return seconds
