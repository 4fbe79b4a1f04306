"""Development helper: send a text to the SMS webhook as Twilio would, and read the reply.

The form carries the fields Twilio sends for an inbound message, and the ``X-Twilio-Signature``
is computed with the twilio library's own ``RequestValidator.compute_signature`` over the exact
URL given, so a server that accepts it would accept Twilio. Used by ``kaifong sms-send`` and the
tests; the service itself never calls it.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from twilio.request_validator import RequestValidator

from assistant.errors import AssistantError

from .segments import count_segments

__all__ = ["SendError", "messages_in", "send_as_twilio", "sign", "twilio_form"]


class SendError(AssistantError, ConnectionError):
    """The webhook could not be reached, refused the message, or did not answer with TwiML."""


def twilio_form(sender: str, to: str, body: str, sid: str | None = None, media: int = 0,
                account_sid: str | None = None) -> dict[str, str]:
    sid = sid or "SM" + uuid.uuid4().hex
    form = {
        "ApiVersion": "2010-04-01", "AccountSid": account_sid or "AC" + "0" * 32,
        "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "SmsStatus": "received",
        "From": sender, "To": to, "Body": body, "NumMedia": str(media),
        "NumSegments": str(max(1, count_segments(body).segments)),
    }
    for i in range(media):
        form[f"MediaContentType{i}"] = "image/jpeg"
        form[f"MediaUrl{i}"] = f"https://api.twilio.com/2010-04-01/Media/ME{uuid.uuid4().hex}"
    return form


def sign(url: str, token: str, form: dict[str, str]) -> str:
    return RequestValidator(token).compute_signature(url, form)


def messages_in(twiml: str) -> list[str]:
    """The text of each ``<Message>`` of a TwiML reply."""
    root = ET.fromstring(twiml)
    if root.tag != "Response":
        raise ValueError("not a TwiML <Response>")
    return [message.findtext("Body") or message.text or "" for message in root.iter("Message")]


def send_as_twilio(url: str, token: str, *, sender: str, to: str, body: str,
                   sid: str | None = None, media: int = 0, account_sid: str | None = None,
                   timeout: float = 30) -> list[str]:
    form = twilio_form(sender, to, body, sid, media, account_sid)
    request = Request(url, data=urlencode(form).encode("utf-8"), method="POST", headers={
        "X-Twilio-Signature": sign(url, token, form),
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": "TwilioProxy/1.1 (kaifong sms-send)"})
    try:
        with urlopen(request, timeout=timeout) as response:
            answer = response.read().decode("utf-8")
    except HTTPError as error:
        error.close()
        raise SendError(f"{url} answered {error.code} {error.reason}") from error
    except (URLError, OSError) as error:
        raise SendError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from error
    try:
        return messages_in(answer)
    except (ET.ParseError, ValueError) as error:
        raise SendError(f"{url} did not answer with TwiML") from error
