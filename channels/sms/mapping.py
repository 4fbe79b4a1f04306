"""Twilio's Messaging webhook, in and out: form -> ``InboundSms``, messages -> TwiML. Pure; no I/O.

Nothing here logs, and nothing returned to a caller that failed a check carries request data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from twilio.twiml.messaging_response import MessagingResponse

from assistant.understanding import has_chinese

from ..twilio_auth import signed_url  # re-exported: the SMS channel's public helper since issue 3

__all__ = ["MAX_ADDRESS", "MAX_SID", "BadInbound", "InboundSms", "guess_locale",
           "inbound_from_form", "locales_of", "signed_url", "twiml"]

#: the longest sender (E.164 is at most 16 characters; "whatsapp:" and the like fit too) and
#: MessageSid (Twilio's are 34) taken; longer ones are refused here, on every database alike,
#: before they reach a column (the store's are 255 and 128)
MAX_ADDRESS = 64
MAX_SID = 64


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
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip() or None
    if len(address) > MAX_ADDRESS or (sid is not None and len(sid) > MAX_SID):
        raise BadInbound("a field is longer than any Twilio sends")
    try:
        media = max(0, int(form.get("NumMedia") or 0))
    except ValueError:
        media = 0
    return InboundSms(address=address, body=form.get("Body") or "",
                      sid=sid,
                      media=media, opt_out_type=form.get("OptOutType") or None)


def twiml(messages: Sequence[str]) -> str:
    """A TwiML reply with one ``<Message>`` per text (none: Twilio sends nothing)."""
    response = MessagingResponse()
    for body in messages:
        response.message(body)
    return response.to_xml()


def locales_of(body: str) -> tuple[str, ...]:
    """The languages to answer ``body`` in when the conversation's own cannot be read: Chinese
    for any Chinese, English for words in Latin letters, else (digits, nothing) both."""
    if has_chinese(body):
        return ("zh-HK",)
    if sum(c.isascii() and c.isalpha() for c in body) >= 2:
        return ("en",)
    return ("zh-HK", "en")


def guess_locale(body: str) -> str:
    """The language of a first message, before the conversation has one: any Chinese -> zh-HK."""
    return "zh-HK" if has_chinese(body) else "en"
