"""The end of a procedure as the text messages sent to a phone: one renderer for every channel.

The kiosk (a visitor keys in their mobile number) and the phone (a caller asks for it at the end
of a call) both send the citizen what a finished procedure means for them by SMS, and the SMS
channel ends a procedure the same way: the reference first (only where something was booked or
reported), then what to do next (what to bring, when, where, the office's hours, the fee, whom
to call), then the end's own words. ``summary_messages`` gives the messages to queue, each of at
most two segments, numbered "(1/2)" when there are more than one: they are all sent at once (a
caller or a kiosk visitor cannot reply "M" for more). Pure; no I/O.
"""

from __future__ import annotations

from assistant.model import Reply

from ..i18n import N_
from .pages import LAST_PAGE, paginate
from .render import end_paragraphs

__all__ = ["ANSWER_LINE", "summary_messages", "summary_paragraphs"]

#: one answer, with the answers asked for (the same words as the core's ``summary_line``, so
#: that its translation, "{label}：{value}", serves both)
ANSWER_LINE = N_("{label}: {value}")


def summary_paragraphs(reply: Reply, gettext, heading: str | None = None,
                       answers: bool = False) -> tuple[str, ...]:
    """The end ``reply`` as paragraphs: ``heading`` (a line saying where this comes from, in
    the reply's language) if given, the reference and what to do next, the end's words, and,
    with ``answers``, the answers given (identity card numbers come masked from the core)."""
    paragraphs = [heading] if heading else []
    paragraphs += end_paragraphs(reply)
    summary = reply.summary
    if answers and summary is not None and summary.items:
        line = gettext(reply.locale, ANSWER_LINE)
        paragraphs.append("\n".join([summary.heading, *(
            line.format(label=i.label, value=i.value) for i in summary.items)]))
    return tuple(p for p in paragraphs if p)


def summary_messages(reply: Reply, gettext, heading: str | None = None,
                     answers: bool = False) -> list[str]:
    """The text messages to send for the end ``reply`` (all of them, in order): see
    ``summary_paragraphs``. ``gettext(locale, msgid)`` is the catalogue's."""
    marker = gettext(reply.locale, LAST_PAGE)
    return paginate(summary_paragraphs(reply, gettext, heading, answers),
                    lambda page, pages: marker.format(page=page, pages=pages))
