"""Reply -> SMS text: plain text, numbered options, no markup. Pure; no I/O.

A reply becomes ``SmsText``: the paragraphs said before the question, then the question with one
line per option ("Reply 1 for Yes" / "回覆 1：係"). ``channels.sms.pages`` turns that into
messages of at most two segments, keeping the question with its options when they fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.model import Reply

from ..i18n import N_

__all__ = ["OPTION_LINE", "SmsText", "question_text", "render_sms", "sms_text"]

OPTION_LINE = N_("Reply {key} for {label}")


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
    parts = [p for p in reply.parts if p]
    prompt = ""
    if reply.prompt and parts and parts[-1] == reply.prompt:
        prompt = parts.pop()
    question = question_text(prompt, [(o.key, o.label) for o in reply.options], reply.locale,
                             gettext)
    return SmsText(tuple(parts), question)


def render_sms(reply: Reply, gettext) -> str:
    """The whole reply as one text (before paging)."""
    return sms_text(reply, gettext).text
