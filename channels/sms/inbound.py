"""One inbound text message, handled in one transaction of the store.

Inside the conversation's lock, in this order:
  1. a ``MessageSid`` seen before gets the answer it got then, and nothing moves (Twilio sends a
     message again when we answered slowly);
  2. an opt-out keyword opts the number out and is confirmed once; while a number is opted out
     only an opt-in keyword gets an answer (what else it sends is kept in the transcript);
  3. HELP, the next page ("M", while there is one), a picture message: answered by the channel,
     with the question asked again; the procedure does not move;
  4. everything else goes to the core: the first message of a conversation after the greeting;
     a message after ``idle`` mid-procedure as a session start, so that the citizen hears where
     they left off (their text is kept in the transcript all the same).
Every answer is cut into pages of at most two segments: the first is sent, the rest are kept in
the conversation's channel state until the citizen asks for them. A first message gets the
greeting with the answer, or, when both do not fit in one message, the greeting as a message of
its own followed by the answer (not a first page that says only hello and "reply M"). Every turn
reaches the core as modality ``text``.

``kaifong chat --channel sms`` and the webhook both call ``receive``, so the terminal shows what a
phone would. Nothing here logs; numbers and message text go to the store only.
"""

from __future__ import annotations

import math
from datetime import timedelta

from assistant import Assistant, NoInput, Start, Text
from assistant.conversation import storable
from assistant.outbox import opt_in, opt_out

from ..i18n import N_
from .keywords import HELP, MORE, OPT_IN, OPT_OUT, keyword
from .mapping import InboundSms, guess_locale
from .pages import fits, footer_for, paginate
from .render import SmsText, sms_text

__all__ = ["CHANNEL", "DEFAULT_IDLE", "MODALITY", "HELP_TEXT", "HELP_TEXT_NO_NUMBER", "MEDIA_NOT_READ",
           "OPTED_IN", "OPTED_OUT", "UNAVAILABLE", "parse_idle", "receive"]

CHANNEL = "sms"
#: how the citizen meets the words: read on a phone's screen, answered by typing
MODALITY = "text"
DEFAULT_IDLE = timedelta(minutes=60)

HELP_TEXT = N_("Kaifong helps you with government services by text, one step at a time. To talk "
               "to a person, reply 0 or call {staff_number}. To stop all messages, reply STOP.")
HELP_TEXT_NO_NUMBER = N_("Kaifong helps you with government services by text, one step at a "
                         "time. To talk to a person, reply 0. To stop all messages, reply STOP.")
OPTED_OUT = N_("You will get no more messages from Kaifong. To get them again, reply START.")
OPTED_IN = N_("Welcome back. You will get messages from Kaifong again.")
MEDIA_NOT_READ = N_("Sorry, I can only read text, not pictures or other files. Please type your "
                    "message.")
#: the answer when the database cannot be reached in time (the message was not kept)
UNAVAILABLE = N_("Sorry, Kaifong cannot answer just now. Please send your message again in a few "
                 "minutes.")


def receive(assistant: Assistant, sms: InboundSms, idle: timedelta = DEFAULT_IDLE,
            locale: str | None = None) -> list[str]:
    """The messages to send back for ``sms``: none, one, or for a first message whose greeting
    and answer do not fit in one, the greeting and then the answer. ``locale``: the language of
    a new conversation (by default, that of its first message)."""
    # the MessageSid is read with the conversation, under its lock (one statement, not two)
    with assistant.store.turn(CHANNEL, sms.address, key=sms.sid or None) as t:
        if sms.sid:
            earlier = t.replay(sms.sid)
            if earlier is not None:
                return list(earlier["messages"])
        messages = _Inbound(assistant, t, sms, idle, locale).handle()
        if sms.sid:
            t.remember(sms.sid, {"messages": messages})
    return messages


class _Inbound:
    def __init__(self, assistant: Assistant, t, sms: InboundSms, idle: timedelta,
                 locale: str | None):
        self.assistant, self.t, self.sms, self.idle = assistant, t, sms, idle
        self.gettext = assistant.catalogue.gettext
        self.body = storable(sms.body)
        self.kept = t.channel_data()          # {"pages": [...], "question": "..."}
        self.locale = (t.state or {}).get("locale") or locale or guess_locale(sms.body)

    # -- what the message is ----------------------------------------------------------------

    def handle(self) -> list[str]:
        t, sms = self.t, self.sms
        kind = keyword(sms.body, sms.opt_out_type)
        opted_out = t.opted_out           # read with the conversation
        if kind == OPT_OUT:
            self.received(OPT_OUT)
            if opted_out:
                return self.send(SmsText())      # confirmed the first time; nothing more
            opt_out(t.session, CHANNEL, sms.address, t.now)
            t.opted_out = True
            return self.answer(OPT_OUT, SmsText((self.say(OPTED_OUT),)))
        if opted_out:
            if kind != OPT_IN:
                self.received("while_opted_out")
                return self.send(SmsText())
            opt_in(t.session, CHANNEL, sms.address)
            t.opted_out = False
            self.received(OPT_IN)
            return self.answer(OPT_IN, SmsText((self.say(OPTED_IN),), self.question()))
        if kind == HELP:
            self.received(HELP)
            number = self.assistant.catalogue.facts.get("staff_number")
            said = (self.say(HELP_TEXT, staff_number=number) if number
                    else self.say(HELP_TEXT_NO_NUMBER))
            return self.answer(HELP, SmsText((said,), self.question()))
        if kind == MORE and self.kept.get("pages"):
            self.received(MORE)
            pages = list(self.kept["pages"])
            self.keep(pages[1:], self.kept.get("question", ""))
            return pages[:1]
        if sms.media:
            return self.media()
        return self.core()

    def media(self) -> list[str]:
        t = self.t
        t.add_event("sms_media", {"count": self.sms.media})
        if self.body.strip():
            t.add_line("user", self.body, {"sms": "media"})
        else:
            t.add_line("system", "(a picture or file, not read)", {"sms": "media"})
        before, question = (), self.question()
        if self.is_new():                # a first message: greet as the core does, then explain
            greeting = sms_text(self.assistant.advance_in(t, Start(), self.locale, MODALITY),
                                self.gettext)
            before, question = greeting.paragraphs, greeting.question
        notice = self.say(MEDIA_NOT_READ)
        t.add_line("assistant", notice, {"sms": "media"})
        return self.send(SmsText((*before, notice), question), question)

    def core(self) -> list[str]:
        t, text = self.t, self.body.strip()
        if self.is_new():
            inputs = [Start()] + ([Text(self.sms.body)] if text else [])
        elif self.is_idle():
            if text:
                t.add_line("user", self.body, {"sms": "before_resume"})
            t.add_event("sms_resume", {"idle_minutes": int(self.idle.total_seconds() // 60)})
            inputs = [Start()]
        else:
            inputs = [Text(self.sms.body) if text else NoInput()]
        replies = [self.assistant.advance_in(t, inp, self.locale, MODALITY) for inp in inputs]
        reply = replies[-1]
        out = sms_text(reply, self.gettext)
        self.locale = reply.locale
        if len(replies) == 1:
            return self.send(out, out.question)
        # a first message: the greeting, then the answer to what it said (without the greeting's
        # own question, which the answer replaces); the greeting as a message of its own when
        # both do not fit in one but the answer does, rather than a first page saying only hello
        # and "reply M" (an answer that needs pages itself is paged with the greeting first)
        greeting = "\n\n".join(p for p in replies[0].before if p)
        together = SmsText((greeting, *out.paragraphs), out.question)
        if not greeting or fits(together.text) or not fits(greeting) or not fits(out.text):
            return self.send(together, out.question)
        return [greeting, *self.send(out, out.question)]

    # -- helpers ----------------------------------------------------------------------------

    def is_new(self) -> bool:
        return not (self.t.state or {}).get("started")

    def is_idle(self) -> bool:
        state, last = self.t.state or {}, self.t.last_active
        return (state.get("status") == "bot" and state.get("procedure") is not None
                and last is not None and self.t.now - last >= self.idle)

    def question(self) -> str:
        """The question last asked, while the assistant (not a person) has the conversation."""
        if (self.t.state or {}).get("status", "bot") != "bot":
            return ""
        return self.kept.get("question", "")

    def say(self, msgid: str, **values) -> str:
        return self.gettext(self.locale, msgid).format(**values)

    def received(self, kind: str) -> None:
        self.t.add_line("user", self.body, {"sms": kind})
        self.t.add_event("sms_keyword", {"keyword": kind})

    def answer(self, kind: str, text: SmsText) -> list[str]:
        """A reply of the channel's own (not the core's): into the transcript, then sent."""
        self.t.add_line("assistant", text.text, {"sms": kind})
        return self.send(text)

    def send(self, text: SmsText, question: str | None = None) -> list[str]:
        """The first page now; the others kept for "M". ``question``: what a later HELP or
        picture message asks again (unchanged if None)."""
        return first_page(self.t, text, self.gettext, self.locale,
                          self.kept.get("question", "") if question is None else question)

    def keep(self, pages: list[str], question: str) -> None:
        keep_pages(self.t, pages, question)


def first_page(t, text: SmsText, gettext, locale: str, question: str) -> list[str]:
    """``text`` cut into pages: the first to send now (none for an empty text), the others
    kept in the conversation's channel state for "M", with ``question`` (what a later HELP or
    picture message asks again). Used for replies and for what staff send."""
    pages = paginate(text.groups, footer_for(gettext, locale))
    keep_pages(t, pages[1:], question)
    return pages[:1]


def keep_pages(t, pages: list[str], question: str) -> None:
    t.keep_channel_data({k: v for k, v in (("pages", pages), ("question", question)) if v})


def parse_idle(value) -> timedelta:
    """``KAIFONG_SMS_IDLE_MINUTES``: minutes (0 or more, fractions allowed); unset -> 60."""
    if value is None or str(value).strip() == "":
        return DEFAULT_IDLE
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = math.nan
    if not (math.isfinite(minutes) and minutes >= 0):
        raise ValueError("KAIFONG_SMS_IDLE_MINUTES must be a number of minutes (0 or more)")
    return timedelta(minutes=minutes)
