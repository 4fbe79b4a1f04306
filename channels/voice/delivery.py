"""What reaches a phone caller when they are not on the line: by text message to the calling
number, through the SMS outbox (queued in the caller's conversation's transaction, sent by the
SMS worker, which skips numbers that opted out).

Two things go this way: the summary a caller asked for at the end of a call, and the words a
member of staff writes to a phone caller in the console (say, "we will call you back tomorrow").
The console's other notices (a person has joined, the assistant is back) are not sent: a phone
caller is called back, not written to. Texts are cut into pages of at most two segments, each
numbered "(1/2)", and all are sent (a caller cannot ask for "more" in a conversation they never
texted).
"""

from __future__ import annotations

from assistant import Reply
from assistant.outbox import enqueue
from assistant.store import Turn

from ..sms.pages import LAST_PAGE, paginate
from ..sms.render import sms_text
from .mapping import textable

__all__ = ["send_by_sms", "summary_paragraphs", "voice_deliverer"]

def send_by_sms(t: Turn, gettext, locale: str, paragraphs: tuple[str, ...], kind: str) -> int:
    """Queue ``paragraphs`` for the conversation's number; returns how many messages."""
    marker = gettext(locale, LAST_PAGE)
    pages = paginate(tuple(p for p in paragraphs if p),
                     lambda page, pages: marker.format(page=page, pages=pages))
    for page in pages:
        enqueue(t.session, "sms", t.address, page, kind, t.now,
                conversation_id=t.conversation_id)
    return len(pages)


def summary_paragraphs(reply: Reply, gettext) -> tuple[str, ...]:
    """The end of a procedure as a text message, from the reply's fields: the reference first,
    then what to do next (bring, when, where, the office's hours, the fee, whom to call), then
    the end's other words, then the answers given (without the question that followed)."""
    from .callstep import ANSWER

    reference = tuple(p for p in reply.before if reply.reference and reply.reference in p)
    steps = reply.next_steps
    answers = reply.summary
    line = gettext(reply.locale, ANSWER)
    parts = (*reference,
             "\n".join([steps.heading, *(text for _, text in steps.lines())]) if steps else "",
             *(p for p in reply.before if p not in reference),
             "\n".join([answers.heading, *(line.format(label=i.label, value=i.value)
                                           for i in answers.items)])
             if answers and answers.items else "")
    return sms_text(Reply(parts=tuple(p for p in parts if p), locale=reply.locale),
                    gettext).paragraphs


def voice_deliverer(assistant):
    gettext = assistant.catalogue.gettext

    def deliver(t: Turn, message, kind: str) -> None:
        if kind != "staff_reply" or not isinstance(message, str) or not textable(t.address):
            return
        locale = (t.state or {}).get("locale") or "en"
        send_by_sms(t, gettext, locale, (message,), kind)

    return deliver
