"""Reply -> SMS text: plain text, numbered options, no markup. Pure; no I/O.

A reply becomes ``SmsText``: the paragraphs said before the question, then the question with one
line per option ("Reply 1 for Yes" / "回覆 1：係"). ``channels.sms.pages`` turns that into
messages of at most two segments, keeping the question with its options when they fit.

Everything is rendered from the reply's fields (``before``, ``question``, ``options``,
``summary``, ``next_steps``, ``reference``), never by taking ``parts`` apart. Two replies are
laid out for text messages in particular, where every segment costs and a Chinese message holds
67 characters a segment:

- the review: every answer on a line of its own, numbered with the key that changes it
  ("3. Phone number: 9123 4567"), then the question and one line saying how to answer ("Reply
  1 if all is right, or the number of an answer to change it"), instead of a second list of
  "Reply 3 for Change: Phone number" lines that would say every label twice;
- the end: the reference and what to do next first (``end_paragraphs``, also what the kiosk
  and the phone send as their summary), then the end's own words, then "anything else?". The
  answers are not repeated: the citizen checked them at the review a moment before.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.model import Reply

from ..i18n import N_
from .pages import fits

__all__ = ["OPTION_LINE", "REVIEW_KEYS", "REVIEW_LINE", "SmsText", "end_paragraphs",
           "question_text", "render_sms", "review_text", "sms_text"]

OPTION_LINE = N_("Reply {key} for {label}")
#: one answer at the review: its key (what changes it), its label and its value
REVIEW_LINE = N_("{key}. {label}: {value}")
REVIEW_KEYS = N_("Reply {ok} if so, or the number of an answer to change it.")


@dataclass(frozen=True)
class SmsText:
    """What one reply says by SMS, before it is cut into pages."""

    paragraphs: tuple[str, ...] = ()
    #: the question and its option lines, to be kept together (empty when nothing is asked)
    question: str = ""

    @property
    def groups(self) -> tuple[str, ...]:
        """Blocks that each stay on one page when they fit on one."""
        return tuple(p for p in (*self.paragraphs, self.question) if p)

    @property
    def text(self) -> str:
        return "\n\n".join(self.groups)


def question_text(prompt: str, options, locale: str, gettext) -> str:
    """The question with one numbered line per option; ``options`` are ``(key, label)`` pairs."""
    lines = [gettext(locale, OPTION_LINE).format(key=key, label=label) for key, label in options]
    return "\n\n".join(block for block in (prompt, "\n".join(lines)) if block)


def sms_text(reply: Reply, gettext) -> SmsText:
    """``gettext(locale, msgid)`` translates the few words the channel adds."""
    if reply.silent:
        return SmsText()
    if _plain(reply):
        # a reply made of paragraphs only (a channel's own words wrapped in a Reply)
        return SmsText(tuple(p for p in reply.parts if p))
    if "review" in reply.tags and reply.summary is not None:
        return SmsText(tuple(p for p in reply.before if p), review_text(reply, gettext))
    options = [(o.key, o.label) for o in reply.options]
    question = question_text(reply.question, options, reply.locale, gettext)
    if reply.ended:
        return SmsText(end_paragraphs(reply), question)
    return SmsText(tuple(p for p in reply.before if p), question)


def render_sms(reply: Reply, gettext) -> str:
    """The whole reply as one text (before paging)."""
    return sms_text(reply, gettext).text


def review_text(reply: Reply, gettext) -> str:
    """Every answer, numbered with the key that changes it, then the question and how to
    answer it. Without the heading when that is what keeps it on one page (two segments)."""
    locale = reply.locale
    keys = {o.value: o.key for o in reply.options}
    line = gettext(locale, REVIEW_LINE)
    items = [line.format(key=keys.get(i.change, "-"), label=i.label, value=i.value)
             for i in reply.summary.items]
    ok = keys.get("ok", "1")
    ask = "\n".join(p for p in (reply.question, gettext(locale, REVIEW_KEYS).format(ok=ok)) if p)
    whole = "\n".join([reply.summary.heading, *items, ask])
    before = [p for p in reply.before if p]       # "Sorry, I did not understand." and such
    if fits("\n\n".join([*before, whole])):
        return whole
    without_heading = "\n".join([*items, ask])
    return without_heading if fits("\n\n".join([*before, without_heading])) else whole


def end_paragraphs(reply: Reply) -> tuple[str, ...]:
    """The end of a procedure as text: the reference (only where something was booked or
    reported), what to do next (bring, when, where, hours, fee, call), then the end's own words.
    Shared with the summary the kiosk and the phone send by SMS (``channels.sms.summary``)."""
    before = [p for p in reply.before if p]
    first = [p for p in before if reply.reference and reply.reference in p]
    rest = [p for p in before if p not in first]
    steps = reply.next_steps
    lines = [steps.heading, *(text for _, text in steps.lines())] if steps else []
    # one paragraph, so that a page is filled with it line by line rather than the whole of
    # what to do next moved after the reference, to the next page
    head = "\n".join([*first, *lines])
    return tuple(p for p in (head, *rest) if p)


def _plain(reply: Reply) -> bool:
    return bool(reply.parts) and not (reply.before or reply.question or reply.summary
                                      or reply.next_steps or reply.options)
