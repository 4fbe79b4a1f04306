"""Twilio's Messaging webhook, in and out: form -> ``InboundSms``, messages -> TwiML. Pure; no I/O.

Nothing here logs, and nothing returned to a caller that failed a check carries request data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from twilio.twiml.messaging_response import MessagingResponse

from assistant.understanding import has_chinese

from ..twilio_auth import signed_url  # re-exported: the SMS channel's public helper since issue 3

__all__ = ["BadInbound", "InboundSms", "guess_locale", "inbound_from_form", "signed_url",
           "twiml"]


class BadInbound(ValueError):
    """A signed request that is not an inbound message (no sender). Says nothing of its content."""


@dataclass(frozen=True)
class InboundSms:
    """One text message from a citizen, as the channel needs it."""

    address: str                   # the citizen's number, E.164 ("+85291234567")
    body: str = ""
    sid: str | None = None         # Twilio's MessageSid: a retry carries the same one
    media: int = 0                 # pictures or other files attached (MMS)
    opt_out_type: str | None = None  # Twilio acted on a keyword (Advanced Opt-Out)


def inbound_from_form(form: Mapping[str, str]) -> InboundSms:
    address = (form.get("From") or "").strip()
    if not address:
        raise BadInbound("no sender")
    try:
        media = max(0, int(form.get("NumMedia") or 0))
    except ValueError:
        media = 0
    return InboundSms(address=address, body=form.get("Body") or "",
                      sid=(form.get("MessageSid") or form.get("SmsSid") or None),
                      media=media, opt_out_type=form.get("OptOutType") or None)


def twiml(messages: Sequence[str]) -> str:
    """A TwiML reply with one ``<Message>`` per text (none: Twilio sends nothing)."""
    response = MessagingResponse()
    for body in messages:
        response.message(body)
    return response.to_xml()


def guess_locale(body: str) -> str:
    """The language of a first message, before the conversation has one: any Chinese -> zh-HK."""
    return "zh-HK" if has_chinese(body) else "en"
