"""What the staff desk sends to a citizen by SMS: a person has joined, a staff member's words,
the assistant's next question after a hand-back, the closing words.

Called by ``assistant.desk.Desk`` inside the conversation's transaction, so the outbox row is
committed with the transcript line or not at all; the outbox worker sends it (and cancels it if
the number has opted out). Cut into pages as the webhook's replies are: the first page is queued
now, the others wait for "M", like any long reply.
"""

from __future__ import annotations

from assistant import Assistant, Reply
from assistant.outbox import enqueue
from assistant.store import Turn

from .inbound import CHANNEL, first_page
from .render import SmsText, sms_text

__all__ = ["sms_deliverer"]


def sms_deliverer(assistant: Assistant):
    gettext = assistant.catalogue.gettext

    def deliver(t: Turn, message: str | Reply, kind: str) -> None:
        locale = (t.state or {}).get("locale") or "en"
        if isinstance(message, Reply):
            text = sms_text(message, gettext)
            question = text.question
        else:
            text = SmsText((message,))
            question = t.channel_data().get("question", "")
        for page in first_page(t, text, gettext, locale, question):
            enqueue(t.session, CHANNEL, t.address, page, kind, t.now,
                    conversation_id=t.conversation_id)

    return deliver
